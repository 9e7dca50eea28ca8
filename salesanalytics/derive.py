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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from salesanalytics import schema

__all__ = [
    "DERIVATIONS",
    "DeriveOptions",
    "Derivation",
    "derivation_frame",
    "derive_tables",
]

DERIVATIONS: dict[str, str] = {
    "contracts_from_won_deals": "contracts (revenue, customers) from won deals",
    "account_status_from_deals": "account status and customer-since date from the contracts",
    "account_owner_from_deals": "account owner from the owner of the latest won deal",
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
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    revenue: Literal["recurring", "one_off"] = "recurring"
    term_months: int = Field(12, ge=1, le=120)
    account_status: Literal["auto", "deals", "export"] = "auto"


@dataclass(frozen=True)
class Derivation:
    """One derivation that ran: its name, the table it filled, rows produced and a description."""

    name: str
    table: str
    rows: int
    description: str


def derivation_frame(derivations: list[Derivation]) -> pd.DataFrame:
    """The derivations as a table: ``name``, ``table``, ``rows``, ``description``."""
    return pd.DataFrame(
        [asdict(d) for d in derivations], columns=["name", "table", "rows", "description"]
    ).astype({"name": "string", "table": "string", "rows": "int64", "description": "string"})


def _add_months(dates: pd.Series, months: int) -> pd.Series:
    return dates + pd.DateOffset(months=months)


def _contracts_from_deals(
    opps: pd.DataFrame, accounts: pd.DataFrame, as_of: pd.Timestamp, opts: DeriveOptions
) -> tuple[pd.DataFrame, str]:
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
    end = _add_months(start, term)
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
        f"a subscription of {term} months (monthly revenue = amount / {term})"
        if opts.revenue == "recurring"
        else "a one-time sale counted as revenue for the 12 months after it"
    )
    desc = (
        f"The export has no contracts: each of the {n_won:,} won deals is taken as {kind}, "
        f"starting on its close date; {len(out):,} contracts derived"
        + (
            f", {left:,} won deal(s) left out (no known account, no close date, "
            "a close date after the reference date or no amount)"
            if left
            else ""
        )
        + "."
    )
    return out, desc


def _status_from_contracts(
    accounts: pd.DataFrame, contracts: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, str]:
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
    desc = (
        "Account status from the contracts at the reference date: "
        f"{int(counts.get('customer', 0)):,} customers (a contract active), "
        f"{int(counts.get('former_customer', 0)):,} former customers (contracts all ended), "
        f"{int(counts.get('prospect', 0)):,} prospects (never a contract); "
        "customer since = start of the first contract."
    )
    return acc, desc


def _owner_from_deals(accounts: pd.DataFrame, opps: pd.DataFrame) -> tuple[pd.DataFrame, str, int]:
    o = opps[opps["account_id"].notna() & opps["owner_id"].notna()].copy()
    o["_won"] = o["status"].eq("won").fillna(False).astype(int)
    o["_date"] = o["close_date"].fillna(o["created_date"])
    o = o.sort_values(["account_id", "_won", "_date", "opportunity_id"])
    latest = o.drop_duplicates("account_id", keep="last").set_index("account_id")["owner_id"]
    acc = accounts.copy()
    acc["owner_id"] = acc["account_id"].map(latest).astype("string")
    n = int(acc["owner_id"].notna().sum())
    desc = (
        "No account has an owner in the export: the owner of each account's latest won deal "
        f"(or latest deal) is taken as today's account owner ({n:,} of {len(acc):,} accounts)."
    )
    return acc, desc, n


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
    if len(acc) and acc["owner_id"].isna().all() and bool(opps["owner_id"].notna().any()):
        acc, desc, n = _owner_from_deals(acc, opps)
        out["accounts"] = acc
        done.append(Derivation("account_owner_from_deals", "accounts", n, desc))
    return out, done


def options_from_mapping(derive: dict[str, Any] | None) -> DeriveOptions:
    """:class:`DeriveOptions` from a mapping's ``derive:`` block (``None`` = defaults)."""
    return DeriveOptions(**(derive or {}))
