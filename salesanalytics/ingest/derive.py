"""Canonical tables derived from others when the export lacks them, each derivation declared here.

A real CRM export is rarely complete: revenue sits in won deals instead of subscriptions, the
account status is not kept, accounts have no owner. Where the missing content follows from other
tables, :func:`derive_tables` derives it and returns a :class:`Derivation` record per step
(name, table, rows produced, what was done in plain words) that the intake report lists. Nothing
is derived where the export has the table or column filled: derivations only fill gaps.

The derivations, in the order they run (:data:`DERIVATIONS`):

``contracts_from_won_deals``
    No contracts, but won deals with an account: every won deal becomes a contract starting on its
    close date. With ``revenue: recurring`` (default) the deal amount is the value of a
    subscription of ``term_months`` (MRR = amount / term); the contract ends after its term unless
    that lies after the reference date (then it is active). With ``revenue: one_off`` the deal is
    a one-time sale counted as revenue for the 12 months after it (MRR = amount / 12). A
    customer relationship thus lasts from the first won deal to the end of the last one's term.
``account_status_from_deals``
    Contracts were derived (or the mapping asks for it): an account with an active contract at
    the reference date is a ``customer``, one with only ended contracts a ``former_customer``,
    every other a ``prospect``; ``customer_since`` = start of its first contract.
``account_owner_from_deals``
    No account has an owner: the owner of the account's latest won deal (else latest deal) is
    taken as today's account owner.
``workload_from_deals``
    No activity log and the mapping sets a norm per deal (``workload_minutes_per_deal``): every
    deal becomes one activity of that length, so that workload follows the deal counts.

Besides a CRM, the intake reads two other shapes of export through a mapping block, derived here
before the steps above: a flat customer extract (``customer_extract``, :func:`tables_from_extract`:
``contracts_from_customer_extract``) and invoice or order lines (``transactions``,
:func:`tables_from_transactions`: ``deals_from_invoice_lines``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from salesanalytics.errors import MappingError
from salesanalytics.ingest import schema
from salesanalytics.ingest.problems import N_

__all__ = [
    "DERIVATIONS",
    "CustomerExtract",
    "DeriveOptions",
    "Transactions",
    "Derivation",
    "Text",
    "derivation_frame",
    "derive_tables",
    "parse_flag",
    "tables_from_extract",
    "tables_from_transactions",
]

DERIVATIONS: dict[str, str] = {
    "deals_from_invoice_lines": "accounts, products and won deals from invoice lines",
    "contracts_from_customer_extract": "accounts and contracts from a flat customer extract",
    "contracts_from_won_deals": "contracts (revenue, customers) from won deals",
    "account_status_from_deals": "account status and customer-since date from the contracts",
    "account_owner_from_deals": "account owner from the owner of the latest won deal",
    "workload_from_deals": "activities (workload) from deal counts and a norm per deal",
}
"""Every derivation the intake knows: name -> what it produces."""


class DeriveOptions(BaseModel):
    """Options of the derivations (``derive:`` block of a mapping).

    Parameters
    ----------
    revenue
        ``recurring``: a won deal is a subscription of ``term_months``; ``one_off``: a one-time
        sale, counted as revenue for the 12 months after it.
    term_months
        Term of a subscription derived from a won deal (``revenue: recurring``).
    account_status
        ``auto``: derive the account status when contracts were derived; ``deals``: always derive
        it from the contracts; ``export``: keep the export's status.
    workload_minutes_per_deal
        Without an activity log: the sales work one deal takes (minutes, the client's norm). When
        set, every deal with account and owner becomes one activity of that length on its close
        (or creation) date, in the deal's channel or the owner's, so that workload follows the
        deal counts of each account. Off (``None``) unless the mapping or project sets it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    revenue: Literal["recurring", "one_off"] = "recurring"
    term_months: int = Field(12, ge=1, le=120)
    account_status: Literal["auto", "deals", "export"] = "auto"
    workload_minutes_per_deal: float | None = Field(None, gt=0, le=6000)


FLAG_TRUE = frozenset({"yes", "y", "true", "t", "1", "1.0", "ja", "oui", "si", "x"})
FLAG_FALSE = frozenset({"no", "n", "false", "f", "0", "0.0", "nein", "non"})
CHURN_TRUE = FLAG_TRUE | {"churned", "churn", "exited", "left", "lost", "cancelled", "canceled"}
CHURN_FALSE = FLAG_FALSE | {"stayed", "retained", "active", "current", "kept", "not churned"}


def parse_flag(s: pd.Series, churn: bool = False) -> pd.Series | None:
    """0/1 floats (NaN where empty) when every filled value of ``s`` is a flag, else ``None``.

    Flag spellings: Yes/No, 1/0, True/False, ...; with ``churn`` also "Churned"/"Stayed",
    "Exited"/"Retained", .... Case and surrounding blanks are ignored.
    """
    true, false = (CHURN_TRUE, CHURN_FALSE) if churn else (FLAG_TRUE, FLAG_FALSE)
    if pd.api.types.is_bool_dtype(s):
        return s.astype("Float64").astype(float)
    txt = s.astype("string").str.strip().str.lower()
    values = set(txt.dropna().unique())
    if not values or not values <= (true | false):
        return None
    return txt.map(lambda v: np.nan if pd.isna(v) else float(v in true)).astype(float)


class CustomerExtract(BaseModel):
    """A flat customer extract (``customer_extract:`` block of a mapping).

    One row per customer with a tenure (or start date) and a churn flag, instead of a CRM export.

    Parameters
    ----------
    source
        The mapping's source holding the extract.
    id, name
        Customer id column; optional name column (default: the id).
    tenure, tenure_unit
        Tenure column and its unit (``months``, ``years`` or ``days``); or ``start_date``.
    start_date
        Column with the customer's start date (instead of a tenure).
    churned
        Churn flag column (1/0, Yes/No, True/False, Churned/Stayed, ...).
    churn_date
        Optional column with the date a churned customer left (default: the reference date).
    as_of
        Reference date of the extract (when it was taken); required unless a date column gives it.
    revenue, revenue_period
        Optional revenue column per ``month`` or ``year`` (becomes the contracts' MRR).
    attributes
        Columns describing the customer (plan, services, charges, demographics) used as churn
        covariates; numbers stored as text are read as numbers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    id: str
    name: str | None = None
    tenure: str | None = None
    tenure_unit: Literal["months", "years", "days"] = "months"
    start_date: str | None = None
    churned: str
    churn_date: str | None = None
    as_of: dt.date | None = None
    revenue: str | None = None
    revenue_period: Literal["month", "year"] = "month"
    attributes: list[str] = []

    @model_validator(mode="after")
    def _start(self) -> CustomerExtract:
        if (self.tenure is None) == (self.start_date is None):
            raise ValueError("give either 'tenure' (with 'tenure_unit') or 'start_date'")
        return self

    @property
    def columns(self) -> list[str]:
        """Every column of the source the extract reads."""
        cols = [self.id, self.name, self.tenure, self.start_date, self.churned, self.churn_date]
        cols += [self.revenue, *self.attributes]
        return [c for c in dict.fromkeys(cols) if c]


def _english_number(n: float) -> str:
    return f"{n:,}"


@dataclass(frozen=True)
class Text:
    """A sentence for a reader: a catalogue template and its values, rendered in any language.

    ``ingest`` does not import the presentation layer; the intake report renders the text with
    the run's translation and number format, the console and the analyst with the defaults.
    Values are numbers (formatted by ``number``), strings (shown as they are) or nested texts.
    """

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def render(
        self,
        translate: Callable[[str], str] = str,
        number: Callable[[float], str] = _english_number,
    ) -> str:
        """The sentence: ``translate(template)`` filled with the rendered values."""
        vals = {}
        for key, v in self.values.items():
            if isinstance(v, Text):
                vals[key] = v.render(translate, number)
            elif isinstance(v, int | np.integer) and not isinstance(v, bool):
                vals[key] = number(int(v))
            elif isinstance(v, float | np.floating):
                vals[key] = number(float(v))
            else:
                vals[key] = v
        return translate(self.template).format(**vals)


@dataclass(frozen=True)
class Derivation:
    """One derivation that ran: its name, the table it filled, rows produced and what it did."""

    name: str
    table: str
    rows: int
    text: Text

    @property
    def description(self) -> str:
        """What the derivation did, in English."""
        return self.text.render()


def derivation_frame(
    derivations: list[Derivation],
    translate: Callable[[str], str] = str,
    number: Callable[[float], str] = _english_number,
) -> pd.DataFrame:
    """The derivations as a table: ``name``, ``table``, ``rows``, ``description``.

    ``translate`` and ``number`` render the descriptions in the reader's language and number
    format (the intake report passes the run's ``gettext`` and number format).
    """
    rows = [
        {
            "name": d.name,
            "table": d.table,
            "rows": d.rows,
            "description": d.text.render(translate, number),
        }
        for d in derivations
    ]
    return pd.DataFrame(rows, columns=["name", "table", "rows", "description"]).astype(
        {"name": "string", "table": "string", "rows": "int64", "description": "string"}
    )


def _contracts_from_deals(
    opps: pd.DataFrame, accounts: pd.DataFrame, as_of: pd.Timestamp, opts: DeriveOptions
) -> tuple[pd.DataFrame, Text]:
    won = opps[opps["status"].eq("won").fillna(False).to_numpy(bool)]
    n_won = len(won)
    known = set(accounts["account_id"].dropna())
    usable = won["account_id"].notna() & won["account_id"].isin(known) & won["close_date"].notna()
    usable &= won["close_date"] <= as_of
    amount = won["amount"].fillna(0.0)
    usable &= amount > 0
    w = won[usable.to_numpy(bool)]
    term = opts.term_months if opts.revenue == "recurring" else 12
    start = w["close_date"].astype("datetime64[ns]")
    end = start + pd.DateOffset(months=term)
    out = pd.DataFrame(
        {
            "contract_id": ("deal:" + w["opportunity_id"].astype("string")).to_numpy(),
            "account_id": w["account_id"].to_numpy(),
            "product_id": (w["product_id"] if "product_id" in w else pd.NA),
            "start_date": start.to_numpy(),
            "end_date": end.where(end <= as_of).to_numpy(),
            "term_months": term,
            "auto_renewal": False,
            "mrr": (w["amount"] / term).to_numpy(),
            "channel": (w["channel"] if "channel" in w else pd.NA),
            "owner_id": w["owner_id"].to_numpy(),
        }
    )
    out = schema.coerce_table("contracts", out.reset_index(drop=True))
    left = n_won - len(out)
    kind = (
        Text(
            N_("a subscription of {term} months (monthly revenue = amount / {term})"),
            {"term": term},
        )
        if opts.revenue == "recurring"
        else Text(N_("a one-time sale counted as revenue for the 12 months after it"))
    )
    left_out = (
        Text(
            N_(
                ", {left} won deal(s) left out (no known account, no close date, a close date "
                "after the reference date or no amount)"
            ),
            {"left": left},
        )
        if left
        else ""
    )
    desc = Text(
        N_(
            "The export has no contracts: each of the {n_won} won deals is taken as {kind}, "
            "starting on its close date; {n} contracts derived{left_out}."
        ),
        {"n_won": n_won, "kind": kind, "n": len(out), "left_out": left_out},
    )
    return out, desc


def _status_from_contracts(
    accounts: pd.DataFrame, contracts: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, Text]:
    c = contracts[contracts["start_date"] <= as_of]
    active = c["end_date"].isna() | (c["end_date"] > as_of)
    n_active = active.groupby(c["account_id"]).sum()
    first = c.groupby("account_id")["start_date"].min()
    acc = accounts.copy()
    ids = acc["account_id"]
    has = ids.isin(first.index)
    act = ids.map(n_active).fillna(0).to_numpy() > 0
    status = np.where(act, "customer", np.where(has.to_numpy(bool), "former_customer", "prospect"))
    acc["status"] = pd.Series(status, index=acc.index, dtype="string")
    acc["customer_since"] = ids.map(first).astype("datetime64[ns]")
    counts = acc["status"].value_counts()
    desc = Text(
        N_(
            "Account status from the contracts at the reference date: {customers} customers "
            "(a contract active), {former} former customers (contracts all ended), {prospects} "
            "prospects (never a contract); customer since = start of the first contract."
        ),
        {
            "customers": int(counts.get("customer", 0)),
            "former": int(counts.get("former_customer", 0)),
            "prospects": int(counts.get("prospect", 0)),
        },
    )
    return acc, desc


def _owner_from_deals(accounts: pd.DataFrame, opps: pd.DataFrame) -> tuple[pd.DataFrame, Text, int]:
    o = opps[opps["account_id"].notna() & opps["owner_id"].notna()].copy()
    o["_won"] = o["status"].eq("won").fillna(False).astype(int)
    o["_date"] = o["close_date"].fillna(o["created_date"])
    o = o.sort_values(["account_id", "_won", "_date", "opportunity_id"])
    latest = o.drop_duplicates("account_id", keep="last").set_index("account_id")["owner_id"]
    acc = accounts.copy()
    acc["owner_id"] = acc["account_id"].map(latest).astype("string")
    n = int(acc["owner_id"].notna().sum())
    desc = Text(
        N_(
            "No account has an owner in the export: the owner of each account's latest won deal "
            "(or latest deal) is taken as today's account owner ({n} of {total} accounts)."
        ),
        {"n": n, "total": len(acc)},
    )
    return acc, desc, n


_ROLE_CHANNEL = {"field": "field", "key_account": "field", "team_lead": "field", "tele": "tele"}
_CHANNEL_TYPE = {"field": "visit", "tele": "call", "online": "online_session"}


def _workload_from_deals(
    opps: pd.DataFrame, reps: pd.DataFrame | None, minutes: float
) -> tuple[pd.DataFrame, Text]:
    o = opps[opps["account_id"].notna() & opps["owner_id"].notna()]
    date = o["close_date"].where(o["status"].ne("open").fillna(False), o["created_date"])
    date = date.fillna(o["created_date"])
    o, date = o[date.notna()], date[date.notna()]
    role = (
        reps.set_index("rep_id")["role"]
        if reps is not None and len(reps)
        else pd.Series(dtype="string")
    )
    by_role = o["owner_id"].map(role).map(_ROLE_CHANNEL).fillna("online")
    channel = (o["channel"] if "channel" in o else pd.Series(pd.NA, index=o.index)).fillna(by_role)
    act = pd.DataFrame(
        {
            "activity_id": ("deal:" + o["opportunity_id"].astype("string")).to_numpy(),
            "rep_id": o["owner_id"].to_numpy(),
            "account_id": o["account_id"].to_numpy(),
            "date": date.astype("datetime64[ns]").to_numpy(),
            "type": channel.map(_CHANNEL_TYPE).to_numpy(),
            "channel": channel.to_numpy(),
            "minutes": float(minutes),
        }
    )
    desc = Text(
        N_(
            "The export has no activity log: each of the {n} deals with account and owner is "
            "taken as {minutes} minutes of sales work (the norm per deal set in the mapping) on "
            "its close date (open deals: creation date), in the deal's channel or its owner's; "
            "the workload of an account thus follows its number of deals."
        ),
        {"n": len(act), "minutes": f"{minutes:g}"},
    )
    return schema.coerce_table("activities", act), desc


def derive_tables(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp | None,
    options: DeriveOptions | None = None,
) -> tuple[dict[str, pd.DataFrame], list[Derivation]]:
    """Fill canonical tables that the export lacks but that follow from other tables.

    Parameters
    ----------
    tables
        The canonical tables (``schema.coerce_table`` dtypes): ``accounts`` (``account_id``,
        ``status``, ``owner_id``), ``opportunities`` (``opportunity_id``, ``account_id``,
        ``owner_id``, ``status``, ``amount``, ``close_date``, ``created_date``, ``product_id``,
        ``channel``), ``contracts``.
    as_of
        Reference date of the export; without it nothing is derived.
    options
        Derivation options (mapping ``derive:`` block).

    Returns
    -------
    tuple
        The tables (input frames are not modified) and the derivations that ran.
    """
    opts = options or DeriveOptions()
    out = dict(tables)
    done: list[Derivation] = []
    if as_of is None:
        return out, done
    as_of = pd.Timestamp(as_of)
    acc = out.get("accounts")
    opps = out.get("opportunities")
    con = out.get("contracts")
    if acc is None or opps is None:
        return out, done
    derived_contracts = False
    won = opps["status"].eq("won").fillna(False) if len(opps) else pd.Series([], dtype=bool)
    if (con is None or len(con) == 0) and bool(won.any()):
        con, desc = _contracts_from_deals(opps, acc, as_of, opts)
        out["contracts"] = con
        derived_contracts = True
        done.append(Derivation("contracts_from_won_deals", "contracts", len(con), desc))
    if (
        con is not None
        and len(con)
        and (
            opts.account_status == "deals" or (opts.account_status == "auto" and derived_contracts)
        )
    ):
        acc, desc = _status_from_contracts(acc, con, as_of)
        out["accounts"] = acc
        done.append(Derivation("account_status_from_deals", "accounts", len(acc), desc))
    act = out.get("activities")
    if opts.workload_minutes_per_deal and (act is None or len(act) == 0) and len(opps):
        act, desc = _workload_from_deals(opps, out.get("reps"), opts.workload_minutes_per_deal)
        out["activities"] = act
        done.append(Derivation("workload_from_deals", "activities", len(act), desc))
    if len(acc) and acc["owner_id"].isna().all() and bool(opps["owner_id"].notna().any()):
        acc, desc, n = _owner_from_deals(acc, opps)
        out["accounts"] = acc
        done.append(Derivation("account_owner_from_deals", "accounts", n, desc))
    return out, done


_DAYS_PER_MONTH = 365.25 / 12


def _numbers(s: pd.Series) -> pd.Series:
    return pd.to_numeric(
        s.astype("string").str.strip().str.replace("'", "", regex=False), errors="coerce"
    )


@dataclass
class _ExtractRows:
    """A customer extract being read: its rows, the problems found and the rows left out."""

    raw: pd.DataFrame
    file: str
    first_row: int
    problems: list[dict[str, Any]] = field(default_factory=list)
    bad: pd.Series = field(init=False)

    def __post_init__(self) -> None:
        self.bad = pd.Series(False, index=self.raw.index)

    def problem(self, col: str, mask: pd.Series, message: str, hint: str) -> None:
        """An error for the rows of ``mask`` in column ``col`` (nothing when there are none)."""
        m = mask.to_numpy(bool)
        if m.any():
            rows = np.arange(len(self.raw)) + self.first_row
            self.problems.append(
                {
                    "severity": "error",
                    "check": "customer_extract",
                    "message": message,
                    "hint": hint,
                    "file": self.file,
                    "column": col,
                    "row": rows[m].tolist(),
                    "value": self.raw.loc[m, col].astype("string").fillna("").tolist(),
                }
            )

    def whole(self, check: str, message: str, hint: str, column: str = "") -> None:
        """An error of the whole extract."""
        self.problems.append(
            {
                "severity": "error",
                "check": check,
                "message": message,
                "hint": hint,
                "file": self.file,
                "column": column,
                "row": [],
                "value": [],
            }
        )


def _extract_ids(ex: _ExtractRows, spec: CustomerExtract) -> pd.Series:
    """The customer ids; rows without one or with a repeated one are left out."""
    ids = ex.raw[spec.id].astype("string").str.strip()
    ex.problem(spec.id, ids.isna(), "customer without id", "Fill the id or remove the row.")
    dup = ids.duplicated(keep=False) & ids.notna()
    ex.problem(spec.id, dup, "the same customer id on several rows", "Keep one row per customer.")
    ex.bad |= ids.isna() | dup
    return ids


def _extract_churn_flag(ex: _ExtractRows, spec: CustomerExtract) -> pd.Series:
    """The churn flag (1.0 churned, 0.0 stayed).

    Rows with an unknown or empty flag are left out.
    """
    raw = ex.raw
    flag = parse_flag(raw[spec.churned], churn=True)
    if flag is None:
        txt = raw[spec.churned].astype("string").str.strip().str.lower()
        odd = ~txt.isin(list(CHURN_TRUE | CHURN_FALSE)) & txt.notna()
        ex.problem(
            spec.churned,
            odd,
            "not a churn flag",
            "Use 1/0, Yes/No, True/False or Churned/Stayed.",
        )
        flag = txt.map(
            lambda v: float(v in CHURN_TRUE) if v in CHURN_TRUE | CHURN_FALSE else np.nan
        )
        ex.bad |= odd
    ex.problem(spec.churned, flag.isna() & ~ex.bad, "churn flag is empty", "Fill the churn flag.")
    ex.bad |= flag.isna()
    return flag


def _start_from_tenure(ex: _ExtractRows, spec: CustomerExtract, as_of: pd.Timestamp) -> pd.Series:
    """Start dates = reference date minus the tenure (calendar months where whole, else days).

    Rows without a tenure of 0 or more are left out.
    """
    assert spec.tenure is not None
    tenure = _numbers(ex.raw[spec.tenure])
    neg = tenure.isna() | (tenure < 0)
    ex.problem(
        spec.tenure, neg & ~ex.bad, "tenure is not a number of 0 or more", "Correct the tenure."
    )
    ex.bad |= neg
    factor = {"months": 1.0, "years": 12.0, "days": 1 / _DAYS_PER_MONTH}[spec.tenure_unit]
    months = tenure * factor

    def back(m: float) -> pd.Timestamp:  # calendar months where whole, else days
        if pd.isna(m):
            return pd.NaT
        if float(m).is_integer():
            return as_of - pd.DateOffset(months=int(m))
        return as_of - pd.Timedelta(days=round(m * _DAYS_PER_MONTH))

    lut = {m: back(m) for m in months.dropna().unique()}
    return months.map(lut).astype("datetime64[ns]")


def _extract_attributes(raw: pd.DataFrame, spec: CustomerExtract, ids: pd.Series) -> pd.DataFrame:
    """``account_id`` and the attribute columns of the kept rows (``ids``' index).

    A column of numbers stored as text (95% of its filled cells) is read as numbers.
    """
    k = ids.index
    attrs = pd.DataFrame({"account_id": ids.astype("string").to_numpy()})
    for col in spec.attributes:
        v = raw.loc[k, col]
        txt = v.astype("string").str.strip()
        num = _numbers(txt)
        filled = txt.notna() & (txt != "")
        if filled.any() and num[filled].notna().mean() >= 0.95:
            attrs[col] = num.astype(float).to_numpy()
        else:
            attrs[col] = txt.to_numpy()
    return attrs


def _extract_description(
    spec: CustomerExtract, file: str, as_of: pd.Timestamp, n_kept: int, n_churned: int, n_bad: int
) -> Text:
    """The derivation's description: how start and end were taken, rows left out."""
    how = (
        Text(
            N_("start = reference date {date} minus the tenure ({tenure}, {unit})"),
            {"date": f"{as_of:%d.%m.%Y}", "tenure": spec.tenure, "unit": spec.tenure_unit},
        )
        if spec.tenure
        else Text(N_("start = {column}"), {"column": str(spec.start_date)})
    )
    end_how = (
        Text(N_("end = {column} (or the reference date)"), {"column": spec.churn_date})
        if spec.churn_date
        else Text(N_("end = the reference date"))
    )
    bad = Text(N_("; {n} row(s) left out (see the problems)"), {"n": n_bad}) if n_bad else ""
    return Text(
        N_(
            "Flat customer extract {file}: one contract per customer, {how}; {end_how} for the "
            "{churned} churned customers ({flag}), open for the {others} others; {attributes} "
            "attribute column(s) kept for the churn models{bad}."
        ),
        {
            "file": file,
            "how": how,
            "end_how": end_how,
            "churned": n_churned,
            "flag": spec.churned,
            "others": n_kept - n_churned,
            "attributes": len(spec.attributes),
            "bad": bad,
        },
    )


def tables_from_extract(
    raw: pd.DataFrame, spec: CustomerExtract, file: str = "", first_row: int = 2
) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]], Derivation | None, pd.Timestamp | None]:
    """Canonical ``accounts``, ``contracts``, ``customer_attributes`` from a customer extract.

    One contract per customer from its start (reference date minus tenure, or the start date) to its
    churn date (or the reference date) when it churned, open otherwise.

    Parameters
    ----------
    raw
        The extract as read (text columns); the columns named in ``spec``.
    spec
        The mapping's ``customer_extract`` block.
    file, first_row
        File name and spreadsheet row of the first data row, for problems.

    Returns
    -------
    tuple
        Tables by name (``accounts``, ``contracts``, ``customer_attributes``: ``account_id`` and
        the attribute columns, numbers stored as text read as numbers), problems (dicts with
        ``severity, check, message, hint, file, column, row, value``; rows with a problem are left
        out), the derivation record and the reference date.
    """
    ex = _ExtractRows(raw, file, first_row)
    missing = [c for c in spec.columns if c not in raw.columns]
    if missing:
        ex.whole(
            "missing_column",
            "the customer extract has no column(s) " + ", ".join(missing),
            "Correct the column names in the mapping's customer_extract block.",
            column=", ".join(missing),
        )
        return {}, ex.problems, None, None
    ids = _extract_ids(ex, spec)
    flag = _extract_churn_flag(ex, spec)
    churn_date = pd.to_datetime(raw[spec.churn_date], errors="coerce") if spec.churn_date else None
    start = pd.to_datetime(raw[spec.start_date], errors="coerce") if spec.start_date else None
    as_of = pd.Timestamp(spec.as_of) if spec.as_of else None
    if as_of is None:
        dates = [d.max() for d in (churn_date, start) if d is not None and d.notna().any()]
        as_of = max(dates).normalize() if dates else None
    if as_of is None:
        ex.whole(
            "customer_extract",
            "the extract has no date from which to take the reference date",
            "Set 'as_of' (the date the extract was taken) in the customer_extract "
            "block of the mapping.",
        )
        return {}, ex.problems, None, None
    if spec.tenure:
        start = _start_from_tenure(ex, spec, as_of)
    assert start is not None
    nostart = start.isna()
    ex.problem(
        spec.start_date or "", nostart & ~ex.bad, "start date missing", "Fill the start date."
    )
    ex.bad |= nostart
    churned = flag.fillna(0).astype(bool)
    end = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    end[churned] = as_of
    if churn_date is not None:
        end = churn_date.where(churned & churn_date.notna(), end)
    keep = ~ex.bad.to_numpy(bool)
    revenue = _numbers(raw[spec.revenue]) if spec.revenue else pd.Series(np.nan, index=raw.index)
    mrr = revenue / (12.0 if spec.revenue_period == "year" else 1.0)
    k = raw.index[keep]
    accounts = pd.DataFrame(
        {
            "account_id": ids[k].to_numpy(),
            "name": (raw.loc[k, spec.name] if spec.name else ids[k]).astype("string").to_numpy(),
            "postal_code": pd.NA,
            "status": np.where(churned[k], "former_customer", "customer"),
            "customer_since": start[k].astype("datetime64[ns]").to_numpy(),
        }
    )
    contracts = pd.DataFrame(
        {
            "contract_id": ("extract:" + ids[k]).to_numpy(),
            "account_id": ids[k].to_numpy(),
            "product_id": pd.NA,
            "start_date": start[k].astype("datetime64[ns]").to_numpy(),
            "end_date": end[k].astype("datetime64[ns]").to_numpy(),
            "term_months": 0,
            "mrr": mrr[k].to_numpy(),
        }
    )
    tables = {
        "accounts": schema.coerce_table("accounts", accounts),
        "contracts": schema.coerce_table("contracts", contracts),
        "customer_attributes": _extract_attributes(raw, spec, ids[k]),
    }
    n_churned = int(churned[k].sum())
    desc = _extract_description(spec, file, as_of, len(k), n_churned, int(ex.bad.sum()))
    return (
        tables,
        ex.problems,
        Derivation("contracts_from_customer_extract", "contracts", len(k), desc),
        as_of,
    )


class Transactions(BaseModel):
    """Invoice or order lines instead of a CRM (``transactions:`` block of a mapping).

    One row per line with invoice, customer, date, product, quantity and unit price.

    Parameters
    ----------
    source
        The mapping's source holding the lines.
    invoice, customer, date, product, quantity, price
        Columns: invoice / order number, customer id, invoice date, product code, quantity and
        unit price (line value = quantity x price).
    product_name
        Optional product description column (the most frequent one per product is its name).
    cancellation_prefix
        Invoice numbers starting with it are cancellations / credit notes (left out, counted).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    invoice: str
    customer: str
    date: str
    product: str
    quantity: str
    price: str
    product_name: str | None = None
    cancellation_prefix: str | None = "C"

    @property
    def columns(self) -> list[str]:
        """Every column of the source the block reads."""
        cols = [self.invoice, self.customer, self.date, self.product, self.quantity, self.price]
        return [c for c in dict.fromkeys([*cols, self.product_name]) if c]


def _transactions_description(spec: Transactions, file: str, counts: dict[str, int]) -> Text:
    """The derivation's description: lines read, left out and taken as won deals."""
    nonpositive = (
        Text(N_("; {n} invoices of zero or negative value left out"), {"n": counts["nonpositive"]})
        if counts["nonpositive"]
        else ""
    )
    return Text(
        N_(
            "Invoice lines {file}: {lines} lines, of which {duplicates} exact duplicates, "
            "{cancellations} lines of cancellations (invoices starting with '{prefix}') and "
            "{no_customer} lines without customer left out; {invoices} invoices of {customers} "
            "customers taken as won deals (amount = sum of quantity x price of the lines"
            "{nonpositive})."
        ),
        {**counts, "file": file, "prefix": spec.cancellation_prefix, "nonpositive": nonpositive},
    )


def tables_from_transactions(
    raw: pd.DataFrame, spec: Transactions, file: str = ""
) -> tuple[dict[str, pd.DataFrame], list[Derivation]]:
    """Canonical ``accounts``, ``products`` and ``opportunities`` from invoice lines.

    One won deal per invoice of a known customer (amount = sum of its lines, the customer's first
    invoice ``new_business``, later ones ``upsell``, main product = the line of highest value), one
    account per customer, one product per product code. Exact duplicate lines, lines without
    customer, cancellations and invoices of zero or negative value are left out and counted in the
    derivation's description.

    Parameters
    ----------
    raw
        The lines as read (text columns).
    spec
        The mapping's ``transactions`` block.
    file
        File name, for the description.
    """
    missing = [c for c in spec.columns if c not in raw.columns]
    if missing:
        raise MappingError(
            f"{file}: the transaction lines have no column(s) {', '.join(missing)}; correct the "
            "mapping's transactions block"
        )
    d = raw[spec.columns].copy()
    n_lines = len(d)
    dup = d.duplicated()
    d = d[~dup]
    inv = d[spec.invoice].astype("string").str.strip()
    cust = d[spec.customer].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    cancelled = (
        inv.str.startswith(spec.cancellation_prefix).fillna(False)
        if spec.cancellation_prefix
        else pd.Series(False, index=d.index)
    )
    no_cust = cust.isna() | (cust == "")
    value = _numbers(d[spec.quantity]) * _numbers(d[spec.price])
    date = pd.to_datetime(d[spec.date], errors="coerce")
    keep = ~cancelled & ~no_cust & date.notna() & value.notna()
    lines = pd.DataFrame(
        {
            "invoice": inv[keep],
            "customer": cust[keep],
            "date": date[keep],
            "product": d.loc[keep, spec.product].astype("string").str.strip(),
            "value": value[keep],
        }
    )
    g = lines.groupby("invoice", sort=False)
    deals = pd.DataFrame(
        {
            "customer": g["customer"].first(),
            "date": g["date"].min(),
            "amount": g["value"].sum(),
        }
    )
    top = lines.sort_values(["invoice", "value"], ascending=[True, False])
    deals["product"] = top.drop_duplicates("invoice").set_index("invoice")["product"]
    nonpos = deals["amount"] <= 0
    deals = deals[~nonpos].sort_values(["customer", "date"]).reset_index()
    first = ~deals["customer"].duplicated()
    opps = pd.DataFrame(
        {
            "opportunity_id": deals["invoice"],
            "account_id": deals["customer"],
            "owner_id": pd.NA,
            "type": np.where(first, "new_business", "upsell"),
            "product_id": deals["product"],
            "amount": deals["amount"].round(2),
            "created_date": deals["date"].dt.normalize(),
            "close_date": deals["date"].dt.normalize(),
            "status": "won",
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": sorted(lines["customer"].unique()),
        }
    )
    accounts["name"] = "Customer " + accounts["account_id"]
    accounts["postal_code"] = pd.NA
    accounts["status"] = "prospect"  # set from the derived contracts
    prod = d[[spec.product] + ([spec.product_name] if spec.product_name else [])].astype("string")
    prod.columns = ["product_id", *(["name"] if spec.product_name else [])]
    prod["product_id"] = prod["product_id"].str.strip()
    if spec.product_name:
        names = (
            prod.dropna()
            .groupby("product_id")["name"]
            .agg(lambda s: s.str.strip().value_counts().index[0])
        )
    else:
        names = pd.Series(dtype="string")
    ids = sorted(set(prod["product_id"].dropna()))
    products = pd.DataFrame({"product_id": ids})
    products["name"] = products["product_id"].map(names).fillna(products["product_id"])
    tables = {
        "accounts": schema.coerce_table("accounts", accounts),
        "products": schema.coerce_table("products", products),
        "opportunities": schema.coerce_table("opportunities", opps),
    }
    desc = _transactions_description(
        spec,
        file,
        {
            "lines": n_lines,
            "duplicates": int(dup.sum()),
            "cancellations": int((cancelled & ~no_cust).sum()),
            "no_customer": int(no_cust.sum()),
            "invoices": len(opps),
            "customers": len(accounts),
            "nonpositive": int(nonpos.sum()),
        },
    )
    return tables, [Derivation("deals_from_invoice_lines", "opportunities", len(opps), desc)]
