"""Canonical CRM data model: the tables every phase reads, and their pandera schemas.

The model is declared once, as data (:data:`TABLES`), and everything else is derived from it:
the pandera schemas used for validation (:func:`table_schema`), the empty frames used in tests
(:func:`empty_frame`) and the documentation in ``docs/data-model.md``
(:func:`data_model_markdown`).

Conventions
-----------
* Identifiers are strings (``str``), never numbers: CRM ids such as Salesforce's 18-character
  ``001...`` ids and Swiss postal codes ("0000"-style, leading zeros kept) must survive a round trip.
* Dates are ``datetime64[ns]`` (timezone-naive, local Swiss time).
* Money is in CHF, ``float64``.
* Categorical values are lower-case snake_case tokens listed in :data:`CHANNELS`, ... .
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

__all__ = [
    "ACCOUNT_STATUSES",
    "ACTIVITY_TYPES",
    "CHANNELS",
    "OPPORTUNITY_STATUSES",
    "OPPORTUNITY_TYPES",
    "REP_ROLES",
    "ROLE_CHANNEL",
    "TABLES",
    "Column",
    "Table",
    "coerce_table",
    "data_model_markdown",
    "empty_frame",
    "table_schema",
]

CHANNELS: tuple[str, ...] = ("field", "tele", "online")
"""Sales channels: field sales (visits), tele sales (phone), online/inside sales (self-service, web)."""

ACCOUNT_STATUSES: tuple[str, ...] = ("customer", "prospect", "former_customer")
REP_ROLES: tuple[str, ...] = ("field", "tele", "online", "key_account", "team_lead")
ROLE_CHANNEL: dict[str, str] = {
    "field": "field",
    "key_account": "field",
    "team_lead": "field",
    "tele": "tele",
    "online": "online",
}
"""Channel a rep's role works in (for capacity and as a fallback for an account's channel)."""
OPPORTUNITY_TYPES: tuple[str, ...] = ("new_business", "upsell", "renewal")
OPPORTUNITY_STATUSES: tuple[str, ...] = ("won", "lost", "open")
ACTIVITY_TYPES: tuple[str, ...] = ("visit", "call", "email", "online_session")


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Parameters
    ----------
    name
        Canonical column name (snake_case).
    dtype
        One of ``"str"``, ``"int"``, ``"float"``, ``"bool"``, ``"date"``.
    description
        What the column means, in one sentence.
    example
        A typical value, for the documentation.
    required
        Whether the column must be present in every export. Optional columns are added (empty)
        when missing.
    nullable
        Whether missing values are allowed.
    unique
        Whether values must be unique (primary keys).
    allowed
        Closed set of allowed values (categorical columns).
    min_value, max_value
        Inclusive numeric bounds.
    references
        ``"table.column"`` this column points to (foreign key), checked across tables.
    """

    name: str
    dtype: str
    description: str
    example: str
    required: bool = True
    nullable: bool = False
    unique: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    references: str | None = None


@dataclass(frozen=True)
class Table:
    """A canonical table: its name, meaning, primary key and columns."""

    name: str
    description: str
    key: str | None
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        """Names of all columns, in canonical order."""
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        """Names of the columns every export must provide."""
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        """Return the column called ``name``; raise ``KeyError`` naming the table otherwise."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table '{self.name}' has no column '{name}'")


C = Column

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            "Customers, prospects and former customers of the client (one row per company).",
            "account_id",
            (
                C(
                    "account_id",
                    "str",
                    "Unique account id from the CRM.",
                    "001Ab00000XyZ01",
                    unique=True,
                ),
                C("name", "str", "Company name as written in the CRM.", "Bäckerei Müller GmbH"),
                C(
                    "postal_code",
                    "str",
                    "Postal code of the billing address in the account's country (Swiss, "
                    "Austrian, Liechtenstein: 4 digits; German: 5 digits, leading zero kept).",
                    "8004",
                    nullable=True,
                ),
                C(
                    "country",
                    "str",
                    "Country of the billing address (ISO 3166 alpha-2: CH, LI, DE, AT; names "
                    "such as Deutschland or Schweiz are recognised); empty = the project's "
                    "default country.",
                    "CH",
                    required=False,
                    nullable=True,
                ),
                C(
                    "municipality",
                    "str",
                    "Municipality / city of the billing address.",
                    "Zürich",
                    required=False,
                    nullable=True,
                ),
                C("canton", "str", "Two-letter canton code.", "ZH", required=False, nullable=True),
                C(
                    "latitude",
                    "float",
                    "WGS84 latitude of the address (filled from the postal code if missing).",
                    "47.3769",
                    required=False,
                    nullable=True,
                    min_value=-90,
                    max_value=90,
                ),
                C(
                    "longitude",
                    "float",
                    "WGS84 longitude of the address.",
                    "8.5417",
                    required=False,
                    nullable=True,
                    min_value=-180,
                    max_value=180,
                ),
                C(
                    "industry",
                    "str",
                    "Industry / sector of the company.",
                    "hospitality",
                    required=False,
                    nullable=True,
                ),
                C(
                    "employees",
                    "int",
                    "Number of employees.",
                    "12",
                    required=False,
                    nullable=True,
                    min_value=0,
                ),
                C(
                    "company_revenue",
                    "float",
                    "Yearly turnover of the company itself in CHF, where known.",
                    "1800000",
                    required=False,
                    nullable=True,
                    min_value=0,
                ),
                C("status", "str", "Relationship status.", "customer", allowed=ACCOUNT_STATUSES),
                C(
                    "customer_since",
                    "date",
                    "Start of the first contract.",
                    "2021-03-01",
                    required=False,
                    nullable=True,
                ),
                C(
                    "owner_id",
                    "str",
                    "Current account owner (rep id): today's territory assignment.",
                    "005Ab00000Rep07",
                    required=False,
                    nullable=True,
                    references="reps.rep_id",
                ),
                C(
                    "channel_preference",
                    "str",
                    "Channel the customer prefers, where known.",
                    "tele",
                    required=False,
                    nullable=True,
                    allowed=CHANNELS,
                ),
                C(
                    "parent_account_id",
                    "str",
                    "Parent company (for groups with several locations).",
                    "001Ab00000XyZ00",
                    required=False,
                    nullable=True,
                    references="accounts.account_id",
                ),
            ),
        ),
        Table(
            "reps",
            "Sales representatives and their managers (one row per person).",
            "rep_id",
            (
                C("rep_id", "str", "Unique user id from the CRM.", "005Ab00000Rep07", unique=True),
                C("name", "str", "Full name.", "Anna Meier"),
                C("role", "str", "Sales role.", "field", allowed=REP_ROLES),
                C(
                    "home_postal_code",
                    "str",
                    "Postal code of the rep's home base / office.",
                    "3011",
                    required=False,
                    nullable=True,
                ),
                C(
                    "home_country",
                    "str",
                    "Country of the home base (ISO alpha-2); empty = the project's default "
                    "country.",
                    "CH",
                    required=False,
                    nullable=True,
                ),
                C(
                    "home_latitude",
                    "float",
                    "WGS84 latitude of the home base.",
                    "46.948",
                    required=False,
                    nullable=True,
                    min_value=-90,
                    max_value=90,
                ),
                C(
                    "home_longitude",
                    "float",
                    "WGS84 longitude of the home base.",
                    "7.4474",
                    required=False,
                    nullable=True,
                    min_value=-180,
                    max_value=180,
                ),
                C(
                    "fte",
                    "float",
                    "Full-time equivalent (1.0 = full time).",
                    "0.8",
                    required=False,
                    nullable=True,
                    min_value=0,
                    max_value=1.5,
                ),
                C(
                    "capacity_hours",
                    "float",
                    "Yearly selling capacity in hours (after admin, travel, holidays).",
                    "1200",
                    required=False,
                    nullable=True,
                    min_value=0,
                ),
                C("team", "str", "Team name.", "Team Mittelland", required=False, nullable=True),
                C(
                    "manager_id",
                    "str",
                    "Rep id of the manager.",
                    "005Ab00000Rep01",
                    required=False,
                    nullable=True,
                    references="reps.rep_id",
                ),
                C(
                    "hire_date",
                    "date",
                    "Start date of the rep.",
                    "2019-04-01",
                    required=False,
                    nullable=True,
                ),
                C(
                    "active",
                    "bool",
                    "Whether the rep is currently active.",
                    "True",
                    required=False,
                    nullable=True,
                ),
            ),
        ),
        Table(
            "products",
            "Products and services the client sells (one row per product).",
            "product_id",
            (
                C("product_id", "str", "Unique product id.", "01tAb0000Web01", unique=True),
                C("name", "str", "Product name.", "Website Pro"),
                C(
                    "product_group",
                    "str",
                    "Product group / family.",
                    "website",
                    required=False,
                    nullable=True,
                ),
                C(
                    "list_price",
                    "float",
                    "List price in CHF per month (subscriptions) or per unit.",
                    "89",
                    required=False,
                    nullable=True,
                    min_value=0,
                ),
                C(
                    "complexity",
                    "int",
                    "How much explanation the product needs: 1 (self-explanatory) to 5 (consultative).",
                    "4",
                    required=False,
                    nullable=True,
                    min_value=1,
                    max_value=5,
                ),
                C(
                    "cost_share",
                    "float",
                    "Direct product cost as a share of revenue (0-1), for contribution margins.",
                    "0.25",
                    required=False,
                    nullable=True,
                    min_value=0,
                    max_value=1,
                ),
                C(
                    "launch_date",
                    "date",
                    "Market launch of the product (for 'share of new products').",
                    "2024-01-01",
                    required=False,
                    nullable=True,
                ),
            ),
        ),
        Table(
            "contracts",
            "Subscriptions: one row per contract of an account for a product.",
            "contract_id",
            (
                C("contract_id", "str", "Unique contract id.", "800Ab0000C0001", unique=True),
                C(
                    "account_id",
                    "str",
                    "Account holding the contract.",
                    "001Ab00000XyZ01",
                    references="accounts.account_id",
                ),
                C(
                    "product_id",
                    "str",
                    "Product subscribed.",
                    "01tAb0000Web01",
                    nullable=True,
                    references="products.product_id",
                ),
                C("start_date", "date", "Contract start.", "2022-05-01"),
                C(
                    "end_date",
                    "date",
                    "Effective end or cancellation date; empty while active.",
                    "2024-04-30",
                    nullable=True,
                ),
                C(
                    "term_end_date",
                    "date",
                    "End of the current contract term (Salesforce EndDate); checked, not an end.",
                    "2025-04-30",
                    required=False,
                    nullable=True,
                ),
                C(
                    "term_months",
                    "int",
                    "Contract term in months (1 = month-to-month).",
                    "12",
                    min_value=0,
                ),
                C(
                    "auto_renewal",
                    "bool",
                    "Whether the contract renews automatically.",
                    "True",
                    required=False,
                    nullable=True,
                ),
                C("mrr", "float", "Monthly recurring revenue in CHF.", "149", min_value=0),
                C(
                    "channel",
                    "str",
                    "Channel that sold the contract.",
                    "field",
                    required=False,
                    nullable=True,
                    allowed=CHANNELS,
                ),
                C(
                    "owner_id",
                    "str",
                    "Rep who sold the contract.",
                    "005Ab00000Rep07",
                    required=False,
                    nullable=True,
                    references="reps.rep_id",
                ),
            ),
        ),
        Table(
            "opportunities",
            "Sales opportunities (deals), won, lost and open.",
            "opportunity_id",
            (
                C(
                    "opportunity_id",
                    "str",
                    "Unique opportunity id.",
                    "006Ab0000Op0001",
                    unique=True,
                ),
                C(
                    "account_id",
                    "str",
                    "Account of the deal (may be missing in dirty exports; counted).",
                    "001Ab00000XyZ01",
                    nullable=True,
                    references="accounts.account_id",
                ),
                C(
                    "owner_id",
                    "str",
                    "Rep owning the deal.",
                    "005Ab00000Rep07",
                    nullable=True,
                    references="reps.rep_id",
                ),
                C(
                    "type",
                    "str",
                    "New business, upsell or renewal.",
                    "new_business",
                    allowed=OPPORTUNITY_TYPES,
                ),
                C(
                    "channel",
                    "str",
                    "Channel working the deal.",
                    "tele",
                    required=False,
                    nullable=True,
                    allowed=CHANNELS,
                ),
                C(
                    "product_id",
                    "str",
                    "Main product of the deal.",
                    "01tAb0000Web01",
                    required=False,
                    nullable=True,
                    references="products.product_id",
                ),
                C(
                    "amount",
                    "float",
                    "Deal value in CHF (for subscriptions: first-year value); empty for open deals without estimate.",
                    "1788",
                    nullable=True,
                    min_value=0,
                ),
                C("created_date", "date", "When the opportunity was created.", "2024-02-12"),
                C(
                    "close_date",
                    "date",
                    "Actual close date (won/lost) or expected close date (open).",
                    "2024-03-30",
                    nullable=True,
                ),
                C("status", "str", "Outcome.", "won", allowed=OPPORTUNITY_STATUSES),
                C(
                    "stage",
                    "str",
                    "Current stage name.",
                    "Closed Won",
                    required=False,
                    nullable=True,
                ),
            ),
        ),
        Table(
            "opportunity_stages",
            "Stage history: one row each time an opportunity entered a stage.",
            None,
            (
                C(
                    "opportunity_id",
                    "str",
                    "Opportunity.",
                    "006Ab0000Op0001",
                    references="opportunities.opportunity_id",
                ),
                C("stage", "str", "Stage name entered.", "Proposal"),
                C("entered_at", "date", "When the stage was entered.", "2024-02-20"),
            ),
        ),
        Table(
            "activities",
            "Sales activities: visits, calls, e-mails and online sessions.",
            "activity_id",
            (
                C("activity_id", "str", "Unique activity id.", "00TAb0000Ac0001", unique=True),
                C(
                    "rep_id",
                    "str",
                    "Rep who performed the activity.",
                    "005Ab00000Rep07",
                    nullable=True,
                    references="reps.rep_id",
                ),
                C(
                    "account_id",
                    "str",
                    "Account the activity was for.",
                    "001Ab00000XyZ01",
                    nullable=True,
                    references="accounts.account_id",
                ),
                C("date", "date", "Date of the activity.", "2024-02-14"),
                C("type", "str", "Kind of activity.", "call", allowed=ACTIVITY_TYPES),
                C("channel", "str", "Channel of the activity.", "tele", allowed=CHANNELS),
                C(
                    "minutes",
                    "float",
                    "Duration in minutes (travel for visits excluded).",
                    "25",
                    min_value=0,
                ),
            ),
        ),
        Table(
            "channel_rates",
            "Cost rates per channel for time-driven activity-based costing (from finance).",
            "channel",
            (
                C("channel", "str", "Channel.", "field", unique=True, allowed=CHANNELS),
                C(
                    "cost_per_year",
                    "float",
                    "Fully loaded yearly cost of one FTE in the channel (salary, social charges, car, IT, office), CHF.",
                    "165000",
                    min_value=0,
                ),
                C(
                    "capacity_hours",
                    "float",
                    "Practical capacity of one FTE in hours per year (time actually available for customers).",
                    "1350",
                    min_value=0,
                ),
                C(
                    "travel_cost_per_km",
                    "float",
                    "Cost per km driven (field only).",
                    "0.7",
                    required=False,
                    nullable=True,
                    min_value=0,
                ),
            ),
        ),
    )
}
"""The canonical tables by name."""

_PANDERA_DTYPES: dict[str, Any] = {
    "str": pd.StringDtype(),
    "int": pd.Int64Dtype(),
    "float": "float64",
    "bool": pd.BooleanDtype(),
    "date": "datetime64[ns]",
}


def _column_checks(col: Column) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if col.allowed is not None:
        checks.append(pa.Check.isin(list(col.allowed)))
    if col.min_value is not None:
        checks.append(pa.Check.ge(col.min_value))
    if col.max_value is not None:
        checks.append(pa.Check.le(col.max_value))
    return checks


def table_schema(name: str) -> pa.DataFrameSchema:
    """Return the pandera schema of the canonical table ``name``.

    The schema checks presence, dtype, nullability, uniqueness, allowed values and bounds of every
    column. Cross-table rules (orphan references, dates out of order) are checked by
    :mod:`salesanalytics.ingest.validation`, not here.

    Parameters
    ----------
    name
        A key of :data:`TABLES`.

    Returns
    -------
    pandera.pandas.DataFrameSchema
        Schema with ``strict=False`` (extra columns are kept) and ``coerce=False``.

    Raises
    ------
    KeyError
        If ``name`` is not a canonical table; the message lists the known tables.
    """
    if name not in TABLES:
        raise KeyError(f"unknown table '{name}'; known tables: {', '.join(TABLES)}")
    table = TABLES[name]
    columns = {
        c.name: pa.Column(
            _PANDERA_DTYPES[c.dtype],
            checks=_column_checks(c),
            nullable=c.nullable,
            unique=c.unique,
            required=c.required,
            description=c.description,
        )
        for c in table.columns
    }
    return pa.DataFrameSchema(columns, name=name, strict=False, coerce=False)


_CANONICAL_DTYPES: dict[str, Any] = {
    "str": pd.StringDtype(),
    "int": pd.Int64Dtype(),
    "float": np.dtype("float64"),
    "bool": pd.BooleanDtype(),
    "date": np.dtype("datetime64[ns]"),
}
"""The pandas dtype :func:`coerce_table` gives each canonical type."""


def coerce_table(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``df`` with canonical dtypes and every optional column present.

    Values that cannot be converted become missing; use :mod:`salesanalytics.ingest.validation` to find
    and report them *before* coercion. Column order follows :data:`TABLES`, extra columns are kept
    at the end.

    Parameters
    ----------
    name
        A key of :data:`TABLES`.
    df
        A frame with (at least) the table's required columns.
    """
    table = TABLES[name]
    out = df.copy(deep=False)  # copy-on-write: new columns never reach ``df``
    for c in table.columns:
        if c.name not in out.columns:
            out[c.name] = pd.Series(pd.NA, index=out.index, dtype="object")
        s = out[c.name]
        if s.dtype == _CANONICAL_DTYPES[c.dtype]:
            continue  # already canonical (e.g. mapped tables): nothing to convert
        if c.dtype == "str":
            out[c.name] = s.astype("string")
        elif c.dtype == "int":
            out[c.name] = pd.to_numeric(s, errors="coerce").round().astype("Int64")
        elif c.dtype == "float":
            out[c.name] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif c.dtype == "bool":
            out[c.name] = s.astype("boolean")
        elif c.dtype == "date":
            out[c.name] = pd.to_datetime(s, errors="coerce").astype("datetime64[ns]")
    extra = [c for c in out.columns if c not in table.column_names]
    return out[table.column_names + extra]


def empty_frame(name: str) -> pd.DataFrame:
    """Return an empty frame with the columns and dtypes of canonical table ``name``."""
    return _empty_frame(name).copy()


@cache
def _empty_frame(name: str) -> pd.DataFrame:
    return coerce_table(name, pd.DataFrame())


def data_model_markdown() -> str:
    """Render the data model as Markdown (the body of ``docs/data-model.md``)."""
    lines = [
        "# Canonical data model",
        "",
        "Generated from `salesanalytics/ingest/schema.py` by `salesanalytics.ingest.schema.data_model_markdown()`;",
        "a test keeps this file in step with the code. Types: `str` (text, ids), `int`, `float`, `bool`,",
        "`date` (day precision, dd.mm.yyyy accepted on import). Money is CHF.",
        "",
    ]
    for t in TABLES.values():
        key = f" Primary key: `{t.key}`." if t.key else ""
        lines += [f"## {t.name}", "", f"{t.description}{key}", ""]
        lines += [
            "| column | type | required | meaning | rules | example |",
            "|---|---|---|---|---|---|",
        ]
        for c in t.columns:
            rules = []
            if not c.nullable:
                rules.append("not empty")
            if c.unique:
                rules.append("unique")
            if c.allowed:
                rules.append("one of " + ", ".join(f"`{a}`" for a in c.allowed))
            if c.min_value is not None:
                rules.append(f"≥ {c.min_value:g}")
            if c.max_value is not None:
                rules.append(f"≤ {c.max_value:g}")
            if c.references:
                rules.append(f"→ `{c.references}`")
            req = "yes" if c.required else "no"
            lines.append(
                f"| `{c.name}` | {c.dtype} | {req} | {c.description} | {'; '.join(rules)} | `{c.example}` |"
            )
        lines.append("")
    lines += [
        "## Cross-table checks",
        "",
        "Run by `salesanalytics.ingest.validation` on every import, all at once:",
        "",
        "- duplicate ids in every primary key;",
        "- orphan references (every `→` above), e.g. a contract whose account is not in `accounts`;",
        "- dates out of order: contract `end_date` or `term_end_date` before `start_date`, opportunity",
        "  `close_date` before `created_date`, stage history entered before the opportunity was created",
        "  or out of order, dates in the future (see `docs/validation.md` for every rule and severity);",
        "- dates outside 1900-2099, control characters in text and ids, unknown picklist values;",
        "- negative amounts, MRR, prices or minutes;",
        "- postal codes that are not postal codes of the row's country (checked against the GeoNames lists shipped in",
        "  `salesanalytics/data/geo/`).",
        "",
    ]
    return "\n".join(lines)
