"""Custom fields on Account that the reps see, and the Data Loader file that fills them.

:data:`ACCOUNT_FIELDS` is the project's Salesforce mapping of the engagement's results: for every
field its API name, type, label and (for picklists) the declared values with the canonical token
each stands for. The same mapping writes the fields' metadata, formats the update file and reads it
back (:func:`read_account_update`), so a value that leaves the project comes back unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from salesanalytics.errors import InputFileError, ParameterError, require_columns
from salesanalytics.ingest import io as sio
from salesanalytics.ingest.mapping import load_mapping
from salesanalytics.salesforce.metadata import Field
from salesanalytics.salesforce.names import check_developer_name

__all__ = [
    "ACCOUNT_FIELDS",
    "AccountField",
    "account_update",
    "account_values",
    "field_metadata",
    "read_account_update",
]


@dataclass(frozen=True)
class AccountField:
    """One custom field on Account.

    Attributes
    ----------
    api_name
        ``Name__c``.
    column
        Canonical column of :func:`account_values` it is filled from.
    type
        Salesforce field type: ``Currency``, ``Checkbox``, ``Picklist``, ``Text``, ``Date``.
    label, description, help
        Label on the page layout, description for the administrator, help text for the rep.
    values
        Picklist only: declared value (API name = label) -> canonical token.
    length, precision, scale
        Text length; number precision and scale.
    """

    api_name: str
    column: str
    type: str
    label: str
    description: str
    help: str
    values: dict[str, str] = field(default_factory=dict)
    length: int = 0
    precision: int = 0
    scale: int = 0

    @property
    def restricted(self) -> bool:
        """Picklists are restricted: Salesforce rejects a value that is not declared."""
        return self.type == "Picklist"


def _picklist(tokens: Sequence[str]) -> dict[str, str]:
    return {t[:1].upper() + t[1:]: t for t in tokens}


CHANNEL_VALUES = _picklist(("field", "tele", "online"))
PORTFOLIO_VALUES = _picklist(("develop", "defend", "maintain", "serve efficiently"))
RISK_VALUES = _picklist(("low", "medium", "high"))

ACCOUNT_FIELDS: tuple[AccountField, ...] = (
    AccountField(
        "Potential_MRR__c", "potential_mrr", "Currency", "Potential MRR",
        "Monthly revenue the account could reach with the full product range (potential phase).",
        "What this company could buy from us per month (CHF), estimated from similar companies.",
        precision=16, scale=2,
    ),
    AccountField(
        "White_Space__c", "white_space_mrr", "Currency", "White Space MRR",
        "Potential MRR minus current MRR (potential phase).",
        "Monthly revenue still open with this company (CHF): potential minus what it buys today.",
        precision=16, scale=2,
    ),
    AccountField(
        "Key_Account__c", "key_account", "Checkbox", "Key Account",
        "Key account of the portfolio analysis (portfolio phase).",
        "A key account: looked after by a key-account manager.",
    ),
    AccountField(
        "Proposed_Channel__c", "proposed_channel", "Picklist", "Proposed Channel",
        "Sales channel proposed by the channel-mix analysis (channels phase).",
        "How this account should be served: field visits, tele sales or online.",
        values=CHANNEL_VALUES,
    ),
    AccountField(
        "Portfolio_Class__c", "portfolio_class", "Picklist", "Portfolio Class",
        "Cell of the portfolio matrix (current revenue against potential; portfolio phase).",
        "Develop: invest selling time. Defend: protect a valuable relationship. Maintain: secure "
        "renewals efficiently. Serve efficiently: online and tele, no visits.",
        values=PORTFOLIO_VALUES,
    ),
    AccountField(
        "Churn_Risk__c", "churn_risk", "Picklist", "Churn Risk",
        "Churn-risk band of the churn model (churn phase); empty for non-customers.",
        "How likely this customer is to cancel in the coming months (low, medium, high).",
        values=RISK_VALUES,
    ),
    AccountField(
        "Territory_Name__c", "territory", "Text", "Territory Name",
        "Territory of the territory proposal (territory phase), as named in the territory model.",
        "The sales territory this account belongs to.",
        length=80,
    ),
    AccountField(
        "Analysis_Date__c", "as_of", "Date", "Analysis Date",
        "Reference date of the data the other analysis fields were computed from.",
        "Date of the data behind potential, portfolio class, channel and churn risk.",
    ),
)  # fmt: skip
"""The custom Account fields, in the order of the update file."""

COLUMNS = [f.column for f in ACCOUNT_FIELDS]


def field_metadata(f: AccountField) -> list[Field]:
    """The ``CustomField`` metadata (source format) of ``f``, children in schema order."""
    problems = check_developer_name(f.api_name.removesuffix("__c"))
    if problems or not f.api_name.endswith("__c"):
        raise ParameterError(
            f"field API name {f.api_name!r}: {'; '.join(problems) or 'must end in __c'}"
        )
    out: list[Field] = [("fullName", f.api_name)]
    if f.type == "Checkbox":
        out.append(("defaultValue", False))
    out += [("description", f.description), ("externalId", False), ("inlineHelpText", f.help)]
    out.append(("label", f.label))
    if f.type == "Text":
        out.append(("length", f.length))
    if f.type == "Currency":
        out.append(("precision", f.precision))
    if f.type != "Checkbox":
        out.append(("required", False))
    if f.type == "Currency":
        out.append(("scale", f.scale))
    out += [("trackHistory", False), ("type", f.type)]
    if f.type == "Text":
        out.append(("unique", False))
    if f.type == "Picklist":
        values: list[Field] = [
            ("value", [("fullName", v), ("default", False), ("label", v)]) for v in f.values
        ]
        out.append(
            (
                "valueSet",
                [("restricted", True), ("valueSetDefinition", [("sorted", False), *values])],
            )
        )
    return out


def account_values(
    accounts: pd.DataFrame,
    potential: pd.DataFrame,
    key_accounts: pd.DataFrame,
    channels: pd.DataFrame,
    segments: pd.DataFrame,
    churn: pd.DataFrame,
    territory: pd.Series,
    as_of: str,
) -> pd.DataFrame:
    """The field values per account, as canonical tokens, from the phases' outputs.

    Parameters
    ----------
    accounts
        Intake ``accounts``: ``account_id`` (one row per account of the update file).
    potential
        Potential ``account_potential``: ``account_id``, ``potential_mrr``, ``white_space_mrr``.
    key_accounts
        The potential phase's ``key_accounts`` (the engagement's one list): ``account_id``.
    channels
        Channels ``account_channel``: ``account_id``, ``proposed_channel``.
    segments
        Portfolio ``account_segments``: ``account_id``, ``matrix_cell``.
    churn
        Churn ``customer_churn``: ``account_id``, ``risk_band``.
    territory
        Territory label per account id (:attr:`TerritoryModel.account_territory`).
    as_of
        Reference date ``YYYY-MM-DD``.

    Returns
    -------
    pandas.DataFrame
        ``account_id`` and one column per field (:data:`COLUMNS`).

    Raises
    ------
    ValueError
        Listing every value a restricted picklist does not declare.
    """
    require_columns(accounts, ["account_id"], "accounts")
    require_columns(
        potential, ["account_id", "potential_mrr", "white_space_mrr"], "account_potential"
    )
    require_columns(key_accounts, ["account_id"], "key_accounts")
    require_columns(channels, ["account_id", "proposed_channel"], "account_channel")
    require_columns(segments, ["account_id", "matrix_cell"], "account_segments")
    require_columns(churn, ["account_id", "risk_band"], "customer_churn")
    ids = accounts["account_id"].astype(str)

    def per_account(df: pd.DataFrame, col: str) -> pd.Series:
        s = df.assign(account_id=df["account_id"].astype(str)).drop_duplicates("account_id")
        return ids.map(s.set_index("account_id")[col])

    out = pd.DataFrame({"account_id": ids.to_numpy()})
    out["potential_mrr"] = per_account(potential, "potential_mrr").astype("float64").to_numpy()
    out["white_space_mrr"] = per_account(potential, "white_space_mrr").astype("float64").to_numpy()
    out["key_account"] = ids.isin(set(key_accounts["account_id"].astype(str))).to_numpy()
    out["proposed_channel"] = per_account(channels, "proposed_channel").astype("string").to_numpy()
    out["portfolio_class"] = per_account(segments, "matrix_cell").astype("string").to_numpy()
    out["churn_risk"] = per_account(churn, "risk_band").astype("string").to_numpy()
    out["territory"] = ids.map(territory).astype("string").to_numpy()
    out["as_of"] = as_of
    problems = []
    for f in ACCOUNT_FIELDS:
        if f.type != "Picklist":
            continue
        bad = out[f.column].dropna()
        bad = bad[~bad.isin(list(f.values.values()))]
        if len(bad):
            problems.append(
                f"{f.api_name}: value(s) {', '.join(sorted(set(bad))[:5])} not among the declared "
                f"values {', '.join(f.values.values())} ({len(bad)} accounts, e.g. "
                f"{out.loc[bad.index[0], 'account_id']})"
            )
    if problems:
        raise InputFileError("cannot write the Account fields: " + "; ".join(problems))
    return out


def _money(s: pd.Series) -> pd.Series:
    v = s.astype("float64")
    return v.map(lambda x: "" if pd.isna(x) else f"{x:.2f}").astype("string")


def account_update(values: pd.DataFrame) -> pd.DataFrame:
    """The Data Loader update file (Account).

    ``Id`` and the fields' API names, values as Salesforce expects them (numbers with a point and no
    thousands separator, ``true``/``false``, picklist values as declared, dates ``YYYY-MM-DD``,
    empty = no value).

    Parameters
    ----------
    values
        From :func:`account_values`.
    """
    require_columns(values, ["account_id", *COLUMNS], "account values")
    out = pd.DataFrame({"Id": values["account_id"].astype(str).to_numpy()})
    for f in ACCOUNT_FIELDS:
        v = values[f.column]
        if f.type == "Currency":
            col = _money(v)
        elif f.type == "Checkbox":
            col = v.astype(bool).map({True: "true", False: "false"})
        elif f.type == "Picklist":
            label_of = {tok: lab for lab, tok in f.values.items()}
            col = v.astype("string").map(label_of)
        elif f.type == "Date":
            col = pd.to_datetime(v).dt.strftime("%Y-%m-%d")
        else:
            col = v.astype("string").str.slice(0, f.length)
        out[f.api_name] = col.fillna("").astype(str).to_numpy()
    return out


def read_account_update(path: str | Path) -> pd.DataFrame:
    """Read an Account update file (or an Account export with these fields) as canonical values.

    As the project reads a client's export: the file through
    :func:`salesanalytics.ingest.io.read_file` (any CSV dialect Excel writes), the channel through
    the built-in ``salesforce`` mapping's channel values, the other picklists through
    :data:`ACCOUNT_FIELDS`.

    Returns
    -------
    pandas.DataFrame
        ``account_id`` and the columns of :func:`account_values` present in the file.

    Raises
    ------
    ValueError
        Listing every cell that is not a valid value (field, row, value).
    """
    raw = sio.read_file(path)[0]
    data = raw.data
    if "Id" not in data.columns:
        raise InputFileError(f"{raw.file}: no column 'Id' (has: {', '.join(data.columns)})")
    sf_map = load_mapping("salesforce").tables["accounts"].inputs[0].column("channel_preference")
    channel_values = {str(k).lower(): v for k, v in (sf_map.values or {}).items()}
    out = pd.DataFrame({"account_id": data["Id"].astype("string").to_numpy()})
    problems: list[str] = []
    for f in ACCOUNT_FIELDS:
        if f.api_name not in data.columns:
            continue
        txt = data[f.api_name].astype("string").str.strip()
        blank = txt.isna() | (txt == "")
        if f.type == "Currency":
            conv = sio.convert(data[f.api_name], "float")
            vals, failed = conv.values, conv.failed
        elif f.type == "Checkbox":
            conv = sio.convert(data[f.api_name], "bool")
            vals, failed = conv.values, conv.failed
        elif f.type == "Date":
            conv = sio.convert(data[f.api_name], "date")
            vals = conv.values.dt.strftime("%Y-%m-%d").astype("string")
            failed = conv.failed
        elif f.type == "Picklist":
            lookup = (
                channel_values
                if f.column == "proposed_channel"
                else {k.lower(): v for k, v in f.values.items()}
            )
            vals = txt.str.lower().map(lookup).astype("string")
            failed = ~blank & vals.isna()
        else:
            vals, failed = txt.where(~blank), pd.Series(False, index=txt.index)
        for i in list(failed[failed].index[:5]):
            problems.append(f"{f.api_name} row {raw.rows[i]}: {data[f.api_name].iloc[i]!r}")
        out[f.column] = pd.Series(vals).to_numpy()
    if problems:
        raise InputFileError(f"{raw.file}: invalid value(s): " + "; ".join(problems))
    return out
