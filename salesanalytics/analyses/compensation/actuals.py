"""Actuals of the plan measures, computed from the canonical CRM tables.

Two kinds of measures (see :data:`MEASURES`):

* **deal measures** are credited deal by deal (won opportunities closed in the period), so per-deal
  caps, boosters and clawbacks apply: :func:`deal_credits` returns one row per deal and measure;
* **portfolio measures** are ratios over the accounts a rep is responsible for (retention,
  growth, contact quality): :func:`portfolio_actuals` returns one value per rep and measure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesanalytics.errors import require_columns
from salesanalytics.present.i18n import N_
from salesanalytics.present.i18n import gettext as _

if TYPE_CHECKING:
    from salesanalytics.aggregate.catalogue import Aggregator

__all__ = [
    "CREDIT_BASIS",
    "MEASURES",
    "EngineContacts",
    "contacted_accounts",
    "credit_basis_text",
    "credit_notes",
    "deal_credits",
    "mrr_at",
    "period_revenue",
    "portfolio_actuals",
    "portfolio_owners",
    "route_credits",
    "serving_reps",
    "with_team_deals",
]

MEASURES: dict[str, dict[str, str]] = {
    "new_arr": {
        "kind": "deal",
        "name": N_("New ARR"),
        "description": "First-year value of won new-business deals (new customers).",
    },
    "upsell_arr": {
        "kind": "deal",
        "name": N_("Upsell ARR"),
        "description": "First-year value of won upsell deals with existing customers.",
    },
    "new_business_value": {
        "kind": "deal",
        "name": N_("Sales value (new + upsell)"),
        "description": "First-year value of all won new-business and upsell deals.",
    },
    "new_product_arr": {
        "kind": "deal",
        "name": N_("New-product ARR"),
        "description": "First-year value of won deals for recently launched products.",
    },
    "net_revenue_retention": {
        "kind": "portfolio",
        "name": N_("Net revenue retention"),
        "description": "MRR at period end of the accounts that were customers at period start, "
        "divided by their MRR at period start (upsell counts, churn and downgrades reduce it).",
    },
    "gross_retention": {
        "kind": "portfolio",
        "name": N_("Gross revenue retention"),
        "description": "Share of period-start MRR kept (churn and downgrades reduce it, upsell "
        "does not count).",
    },
    "portfolio_growth": {
        "kind": "portfolio",
        "name": N_("Portfolio growth"),
        "description": "MRR of the whole portfolio at period end divided by its MRR at period start.",
    },
    "activity_quality": {
        "kind": "portfolio",
        "name": N_("Customer contact quality"),
        "description": "Share of the portfolio's customers with at least one qualified contact "
        "(visit, online session or call of 5 minutes or more) in the period.",
    },
}
"""Measures the payout engine can compute: id -> kind (deal | portfolio), name, description."""

_DEAL_TYPES = {
    "new_arr": ("new_business",),
    "upsell_arr": ("upsell",),
    "new_business_value": ("new_business", "upsell"),
    "new_product_arr": ("new_business", "upsell"),
}


def mrr_at(contracts: pd.DataFrame, date: pd.Timestamp) -> pd.Series:
    """MRR per account of the contracts active on ``date``.

    Parameters
    ----------
    contracts
        Columns ``account_id``, ``start_date``, ``end_date`` (empty while active), ``mrr``.
    date
        The reference day; a contract is active if ``start_date <= date`` and it has not ended
        (``end_date`` empty or after ``date``).

    Returns
    -------
    pandas.Series
        MRR indexed by ``account_id`` (accounts without an active contract are absent).
    """
    require_columns(contracts, ["account_id", "start_date", "end_date", "mrr"], "contracts")
    d = pd.Timestamp(date)
    active = (contracts["start_date"] <= d) & (
        contracts["end_date"].isna() | (contracts["end_date"] > d)
    )
    return contracts.loc[active].groupby("account_id")["mrr"].sum()


def _isin_ids(ids: Iterable, known: Iterable) -> np.ndarray:
    """``ids.isin(known)`` for string ids (missing matches missing), as a boolean array.

    pandas converts the values of ``known`` one by one for string data (about 0.1 s per 10,000);
    Arrow's ``is_in`` gives the same answer directly.
    """
    left = pa.array(pd.array(ids, dtype="string"))
    right = pa.array(pd.array(known, dtype="string"))
    return pc.is_in(left, value_set=right).to_numpy(zero_copy_only=False).astype(bool)


def deal_credits(
    opportunities: pd.DataFrame,
    contracts: pd.DataFrame,
    products: pd.DataFrame | None,
    period_start: pd.Timestamp,
    period_end: pd.Timestamp,
    as_of: pd.Timestamp | None = None,
    new_product_months: int = 24,
    multi_year_months: int = 24,
) -> pd.DataFrame:
    """One row per won deal closed in the period and deal measure it counts towards.

    Parameters
    ----------
    opportunities
        Columns ``opportunity_id``, ``account_id``, ``owner_id``, ``type``, ``status``, ``amount``,
        ``close_date``; optional ``product_id``.
    contracts
        Columns ``account_id``, ``start_date``, ``end_date``, ``term_months``, ``mrr``; optional
        ``product_id``. Used for the multi-year flag (term of the contract the deal started) and the
        date the customer was lost (clawback).
    products
        Columns ``product_id``, ``launch_date`` (for the new-product flag); may be ``None``.
    period_start, period_end
        Deals with ``close_date`` in ``[period_start, period_end]`` are credited.
    as_of
        Today; an account without an active contract on that day counts as lost on the last end
        date of its contracts. Default ``period_end``.
    new_product_months
        A product launched at most this many months before the deal is "new".
    multi_year_months
        A deal whose contract runs at least this many months is "multi-year".

    Returns
    -------
    pandas.DataFrame
        ``deal_id, rep_id, account_id, measure, amount, close_date, multi_year, new_product,
        lost_date``. Won deals without owner or amount are left out; their number is in
        ``df.attrs["excluded"]``.
    """
    require_columns(
        opportunities,
        ["opportunity_id", "account_id", "owner_id", "type", "status", "amount", "close_date"],
        "opportunities",
    )
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    as_of = end if as_of is None else pd.Timestamp(as_of)
    o = opportunities
    won = o[(o["status"] == "won") & o["close_date"].between(start, end)]
    bad = won["owner_id"].isna() | won["amount"].isna()
    excluded = int(bad.sum())
    won = won[~bad]
    d = pd.DataFrame(
        {
            "deal_id": won["opportunity_id"].astype("string").to_numpy(),
            "rep_id": won["owner_id"].astype("string").to_numpy(),
            "account_id": won["account_id"].astype("string").to_numpy(),
            "type": won["type"].astype("string").to_numpy(),
            "amount": won["amount"].astype(float).to_numpy(),
            "close_date": pd.to_datetime(won["close_date"]).astype("datetime64[ns]").to_numpy(),
            "product_id": (
                won["product_id"].astype("string").to_numpy()
                if "product_id" in won.columns
                else pd.array([pd.NA] * len(won), dtype="string")
            ),
        }
    )
    for col in ("deal_id", "rep_id", "account_id", "type", "product_id"):
        d[col] = d[col].astype("string")
    d["multi_year"] = _contract_terms(d, contracts) >= multi_year_months
    d["new_product"] = _new_product(d, products, new_product_months)
    d["lost_date"] = _lost_dates(d["account_id"], contracts, as_of)
    parts = []
    for measure, types in _DEAL_TYPES.items():
        sel = d["type"].isin(types)
        if measure == "new_product_arr":
            sel &= d["new_product"]
        part = d.loc[sel].drop(columns=["type", "product_id"])
        part.insert(3, "measure", measure)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["measure"] = out["measure"].astype("string")
    out.attrs["excluded"] = excluded
    return out


def _contract_terms(d: pd.DataFrame, contracts: pd.DataFrame) -> np.ndarray:
    """Term (months) of the account's contract starting nearest after each deal's close.

    Within 120 days of the close date; 0 where there is none (``d``: ``deal_id, account_id,
    close_date``).
    """
    c = contracts.dropna(subset=["account_id", "start_date"])
    c = pd.DataFrame(
        {
            "account_id": c["account_id"].astype("string"),
            "start_date": pd.to_datetime(c["start_date"]).astype("datetime64[ns]"),
            "term_months": pd.to_numeric(c["term_months"], errors="coerce").astype(float),
        }
    ).sort_values("start_date")
    dd = d.dropna(subset=["account_id"]).sort_values("close_date")
    m = pd.merge_asof(
        dd[["deal_id", "account_id", "close_date"]],
        c,
        left_on="close_date",
        right_on="start_date",
        by="account_id",
        direction="forward",
        tolerance=pd.Timedelta(days=120),
    )
    term = m.set_index("deal_id")["term_months"]
    return d["deal_id"].map(term).fillna(0).to_numpy()


def _new_product(
    d: pd.DataFrame, products: pd.DataFrame | None, new_product_months: int
) -> np.ndarray | bool:
    """True where the deal's product was launched at most ``new_product_months`` before it closed.

    False throughout without products or launch dates (``d``: ``product_id, close_date``).
    """
    if products is None or "launch_date" not in products.columns:
        return False
    launch = products.set_index(products["product_id"].astype("string"))["launch_date"]
    ld = pd.to_datetime(d["product_id"].map(launch))
    age_days = (d["close_date"] - ld).dt.days
    return (age_days.notna() & (age_days <= new_product_months * 30.4375)).to_numpy(dtype=bool)


def _lost_dates(account_id: pd.Series, contracts: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
    """Date each account was lost: its last contract end when no contract is active at ``as_of``.

    NaT for accounts still customers.
    """
    active_now = mrr_at(contracts, as_of)
    last_end = contracts.groupby("account_id")["end_date"].max()
    lost = last_end[~_isin_ids(last_end.index, active_now.index)].dropna()
    lost.index = lost.index.astype("string")
    # reindex, not map: mapping onto an empty datetime Series fails in pandas (cannot cast
    # DatetimeArray to float64) when no account was lost
    return (
        pd.to_datetime(lost)
        .astype("datetime64[ns]")
        .reindex(account_id.astype("string").to_numpy())
        .to_numpy()
    )


QUALIFIED_TYPES = ("visit", "online_session")
"""Activity types that are a qualified contact whatever their length (calls need a minimum)."""


def contacted_accounts(
    activities: pd.DataFrame,
    period_start: pd.Timestamp,
    period_end: pd.Timestamp,
    qualified_call_minutes: float = 5.0,
) -> pd.Index:
    """Accounts with a qualified contact in the period (both days included).

    A qualified contact is a visit, an online session or a call of at least
    ``qualified_call_minutes``.

    Parameters
    ----------
    activities
        Columns ``account_id``, ``date``, ``type``, ``minutes``.
    period_start, period_end
        The period.
    qualified_call_minutes
        Minimum length of a qualified call.

    Returns
    -------
    pandas.Index
        The account ids (``string``), sorted.
    """
    require_columns(activities, ["account_id", "date", "type", "minutes"], "activities")
    act = activities[activities["date"].between(period_start, period_end)]
    qualified = act["type"].isin(list(QUALIFIED_TYPES)) | (
        (act["type"] == "call") & (act["minutes"] >= qualified_call_minutes)
    )
    ids = act.loc[qualified, "account_id"].dropna().astype("string").unique()
    return pd.Index(ids, dtype="string", name="account_id").sort_values()


class EngineContacts:
    """The accounts with a qualified contact, found by the run's aggregation layer.

    What :func:`portfolio_actuals` needs of the activity log, so that the compensation phase
    never loads the log (its ``contacted_accounts`` aggregation, DuckDB or Spark).

    Parameters
    ----------
    aggregator
        The run's aggregation layer (``Workspace.aggregator()``).
    """

    def __init__(self, aggregator: Aggregator) -> None:
        self.aggregator = aggregator

    def accounts(
        self,
        period_start: pd.Timestamp,
        period_end: pd.Timestamp,
        qualified_call_minutes: float = 5.0,
    ) -> pd.Index:
        """As :func:`contacted_accounts` of the log (same ids, sorted)."""
        df = self.aggregator.frame(
            "contacted_accounts",
            start=pd.Timestamp(period_start).to_pydatetime(),
            end=pd.Timestamp(period_end).to_pydatetime(),
            call_minutes=float(qualified_call_minutes),
        )
        return pd.Index(df["account_id"].to_numpy(), dtype="string", name="account_id")


def portfolio_actuals(
    contracts: pd.DataFrame,
    activities: pd.DataFrame | EngineContacts | None,
    owner: pd.DataFrame,
    period_start: pd.Timestamp,
    period_end: pd.Timestamp,
    qualified_call_minutes: float = 5.0,
) -> pd.DataFrame:
    """Portfolio measures per rep: retention, growth and contact quality of the rep's accounts.

    Parameters
    ----------
    contracts
        Columns ``account_id``, ``start_date``, ``end_date``, ``mrr``.
    activities
        Columns ``account_id``, ``date``, ``type``, ``minutes``, or the accounts with a qualified
        contact found by the run's engine (:class:`EngineContacts`); ``None``: no contact
        measure.
    owner
        Which rep is responsible for which account: columns ``account_id``, ``rep_id`` (today's
        owners, or the new territory assignment; an account may be in several reps' portfolios,
        see :func:`portfolio_owners`).
    period_start, period_end
        Measurement period.
    qualified_call_minutes
        Minimum length of a call to count as a qualified contact.

    Returns
    -------
    pandas.DataFrame
        Long format ``rep_id, measure, actual, accounts`` for the measures ``net_revenue_retention``,
        ``gross_retention``, ``portfolio_growth`` and ``activity_quality``; a rep whose portfolio
        had no MRR at period start gets no row for the ratio measures (nothing to retain).
    """
    require_columns(owner, ["account_id", "rep_id"], "owner")
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    m0 = mrr_at(contracts, start).rename("m0")
    m1 = mrr_at(contracts, end).rename("m1")
    own = owner[["account_id", "rep_id"]].dropna().drop_duplicates()
    own = own.astype({"account_id": "string", "rep_id": "string"}).set_index("account_id")
    m0.index = m0.index.astype("string")
    m1.index = m1.index.astype("string")
    a = own.join(m0, how="left").join(m1, how="left").fillna({"m0": 0.0, "m1": 0.0})
    base = a[a["m0"] > 0]
    g0 = base.groupby("rep_id")
    kept = base.assign(kept=base[["m0", "m1"]].min(axis=1)).groupby("rep_id")["kept"].sum()
    nrr = g0["m1"].sum() / g0["m0"].sum()
    grr = kept / g0["m0"].sum()
    gall = a.groupby("rep_id")
    tot0 = gall["m0"].sum()
    growth = (gall["m1"].sum() / tot0)[tot0 > 0]
    parts = [
        pd.DataFrame({"measure": "net_revenue_retention", "actual": nrr, "accounts": g0.size()}),
        pd.DataFrame({"measure": "gross_retention", "actual": grr, "accounts": g0.size()}),
        pd.DataFrame(
            {"measure": "portfolio_growth", "actual": growth, "accounts": gall.size()[tot0 > 0]}
        ),
    ]
    if activities is not None:
        touched = (
            activities.accounts(start, end, qualified_call_minutes)
            if isinstance(activities, EngineContacts)
            else contacted_accounts(activities, start, end, qualified_call_minutes)
        )
        hit = pd.Series(_isin_ids(base.index, touched), index=base.index).astype(float)
        q = hit.groupby(base["rep_id"]).mean()
        parts.append(
            pd.DataFrame({"measure": "activity_quality", "actual": q, "accounts": g0.size()})
        )
    out = pd.concat(parts).rename_axis("rep_id").reset_index()
    out["rep_id"] = out["rep_id"].astype("string")
    out["measure"] = out["measure"].astype("string")
    out["accounts"] = out["accounts"].astype(int)
    return out.sort_values(["rep_id", "measure"], ignore_index=True)


def period_revenue(
    contracts: pd.DataFrame, period_start: pd.Timestamp, period_end: pd.Timestamp
) -> float:
    """Recurring revenue booked in the period: MRR x months each contract was active in it.

    Parameters
    ----------
    contracts
        Columns ``start_date``, ``end_date`` (empty while active), ``mrr``.
    period_start, period_end
        The period (inclusive).
    """
    require_columns(contracts, ["start_date", "end_date", "mrr"], "contracts")
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end) + pd.Timedelta(days=1)
    s = contracts["start_date"].where(contracts["start_date"] > start, start)
    e = contracts["end_date"].fillna(end)
    e = e.where(e < end, end)
    days = (e - s).dt.days.clip(lower=0)
    return float((contracts["mrr"].fillna(0.0) * days / (365.25 / 12)).sum())


def portfolio_owners(
    owner: pd.DataFrame, contracts: pd.DataFrame, reps: pd.DataFrame
) -> pd.DataFrame:
    """Which accounts count in which rep's portfolio, for every role.

    * field reps and key-account managers: the accounts they own (``owner``);
    * tele and online reps (who own no accounts): the accounts whose most recent contract they sold;
    * team leads: every account in the portfolios of the reps they manage.

    Parameters
    ----------
    owner
        Columns ``account_id``, ``rep_id`` (today's owners or the new territory assignment).
    contracts
        Columns ``account_id``, ``start_date``, ``owner_id`` (seller).
    reps
        Columns ``rep_id``, ``role``; optional ``manager_id``.

    Returns
    -------
    pandas.DataFrame
        ``account_id, rep_id`` pairs (unique; an account can be in several portfolios).
    """
    require_columns(owner, ["account_id", "rep_id"], "owner")
    require_columns(contracts, ["account_id", "start_date", "owner_id"], "contracts")
    require_columns(reps, ["rep_id", "role"], "reps")
    role = reps.set_index(reps["rep_id"].astype("string"))["role"]
    base = owner[["account_id", "rep_id"]].dropna().astype("string")
    last = (
        contracts.dropna(subset=["owner_id"])
        .sort_values(["account_id", "start_date"])
        .drop_duplicates("account_id", keep="last")
    )
    sold = pd.DataFrame(
        {
            "account_id": last["account_id"].astype("string"),
            "rep_id": last["owner_id"].astype("string"),
        }
    )
    sold = sold[sold["rep_id"].map(role).isin(["tele", "online"])]
    pairs = pd.concat([base, sold], ignore_index=True)
    if "manager_id" in reps.columns:
        mgr = reps.set_index(reps["rep_id"].astype("string"))["manager_id"].astype("string")
        leads = pairs.assign(rep_id=pairs["rep_id"].map(mgr)).dropna()
        leads = leads[leads["rep_id"].map(role) == "team_lead"]
        pairs = pd.concat([pairs, leads], ignore_index=True)
    return pairs.drop_duplicates(ignore_index=True)


def with_team_deals(deals: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Deals plus a copy of each team member's deal credited to the member's team lead.

    A team lead is paid on the team's results; the copies keep ``deal_id`` and carry
    ``team_credit = True`` (the members' own rows have ``False``).

    Parameters
    ----------
    deals
        Deal credits with column ``rep_id``.
    reps
        Columns ``rep_id``, ``role``, ``manager_id`` (without ``manager_id`` nothing is added).
    """
    out = deals.assign(team_credit=False)
    if "manager_id" not in reps.columns or deals.empty:
        return out
    rid = reps["rep_id"].astype("string")
    mgr = pd.Series(reps["manager_id"].astype("string").to_numpy(), index=rid)
    role = pd.Series(reps["role"].astype("string").to_numpy(), index=rid)
    lead = out["rep_id"].astype("string").map(mgr)
    sel = lead.notna() & lead.map(role).eq("team_lead").fillna(False).astype(bool)
    copies = out[sel].assign(rep_id=lead[sel].astype("string"), team_credit=True)
    return pd.concat([out, copies], ignore_index=True)


CREDIT_BASIS: dict[str, str] = {
    "own_channel": N_("sold by the rep in the channel the matrix routes the product group to"),
    "field_owner": N_(
        "credited to the account's field owner (the matrix routes the product group to the field)"
    ),
    "channel_rep": N_(
        "credited to the account's {channel} rep (the matrix routes the product group to {channel})"
    ),
    "team_channel": N_(
        "shared among the team's {channel} reps (the matrix routes the product group to "
        "{channel}; the account has no {channel} rep yet)"
    ),
    "unrouted": N_(
        "credited to the deal owner (account or product group not in the channel matrix)"
    ),
    "no_rep": N_("credited to the deal owner (no rep of the routed channel for the account)"),
}
"""How a deal's credit was assigned under channel-matrix credit (:func:`route_credits`); the
English catalogue texts (:func:`credit_basis_text` gives one in the run's language)."""


def credit_basis_text(basis: str, channel: Any = None) -> str:
    """The :data:`CREDIT_BASIS` text of ``basis`` in the run's language, ``{channel}`` filled in.

    ``{channel}`` is the routed channel's name; ``routed`` when there is none.
    """
    ch = _(channel) if isinstance(channel, str) and channel else _("routed")
    return _(CREDIT_BASIS[basis]).format(channel=ch)


_BASIS_SHORT: dict[str, str] = {
    "own_channel": N_("sold by you in the routed channel"),
    "field_owner": N_("as the account's field owner"),
    "channel_rep": N_("as the account's {channel} rep"),
    "team_channel": N_("shared among your team's {channel} reps"),
    "unrouted": N_("sold by you, not in the channel matrix"),
    "no_rep": N_("sold by you, no rep of the routed channel"),
    "team": N_("won by your team"),
}


def serving_reps(contracts: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """The tele and online rep serving each account.

    The rep of that channel who sold the account's most recent contract in the channel.

    Parameters
    ----------
    contracts
        ``account_id``, ``start_date``, ``owner_id`` (the seller).
    reps
        ``rep_id``, ``role``.

    Returns
    -------
    pandas.DataFrame
        ``account_id, channel, rep_id`` (one row per account and channel, tele and online only).
    """
    from salesanalytics.ingest.schema import ROLE_CHANNEL

    require_columns(contracts, ["account_id", "start_date", "owner_id"], "contracts")
    require_columns(reps, ["rep_id", "role"], "reps")
    role = pd.Series(
        reps["role"].astype("string").map(ROLE_CHANNEL).to_numpy(),
        index=reps["rep_id"].astype("string").to_numpy(),
    )
    c = contracts.dropna(subset=["account_id", "owner_id"])
    c = pd.DataFrame(
        {
            "account_id": c["account_id"].astype("string").to_numpy(),
            "rep_id": c["owner_id"].astype("string").to_numpy(),
            "start": pd.to_datetime(c["start_date"]).to_numpy(),
        }
    )
    c["channel"] = c["rep_id"].map(role)
    c = c[c["channel"].isin(["tele", "online"])]
    last = c.sort_values("start", kind="stable").drop_duplicates(
        ["account_id", "channel"], keep="last"
    )
    return last[["account_id", "channel", "rep_id"]].reset_index(drop=True)


def route_credits(
    deals: pd.DataFrame,
    routing: pd.DataFrame,
    deal_groups: pd.Series,
    reps: pd.DataFrame,
    field_owner: pd.DataFrame,
    serving: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Deal credits assigned by the channel matrix.

    The channel that sells a product group to an account earns the credit.

    The routing is the channel phase's account × product group → channel table, read as it is
    (never decided here). For each credited deal, with the channel the matrix routes its
    account and product group to:

    * the deal owner works in that channel: the owner keeps the credit (``own_channel``);
    * field: the account's field owner (new territory, else today's owner) earns it
      (``field_owner``): the field rep owns the complex groups of the account;
    * tele or online: the account's rep of that channel (:func:`serving_reps`; ``channel_rep``),
      else the credit is shared equally among the channel's reps of the account's team (the
      field owner's, else the deal owner's; ``team_channel``);
    * no routing for the account or group (``unrouted``), or no active rep of the routed
      channel (``no_rep``): the deal owner keeps it.

    Credit is moved, never created or lost: the credited amounts add up to the deals' amounts.

    Parameters
    ----------
    deals
        :func:`deal_credits` (``deal_id, rep_id, account_id, measure, amount``, ...).
    routing
        The channel phase's ``account_product_channel``: ``account_id, product_group,
        channel``.
    deal_groups
        Product group per deal id (the deal's product's group).
    reps
        Reps who can be credited (active, paid): ``rep_id, role``; optional ``team``.
    field_owner
        ``account_id, rep_id``: the account's field owner (territory assignment or today's
        owner).
    serving
        :func:`serving_reps` (``account_id, channel, rep_id``); optional.

    Returns
    -------
    pandas.DataFrame
        ``deals`` with ``rep_id`` the credited rep, ``amount`` the credited amount (a shared
        credit is split), and ``sold_by`` (the deal owner), ``routed_channel``,
        ``credit_basis`` (a key of :data:`CREDIT_BASIS`), ``credit_share`` (1, or 1/k when
        shared among k reps).

    Raises
    ------
    KeyError
        If a required column is missing.
    """
    from salesanalytics.ingest.schema import ROLE_CHANNEL

    require_columns(deals, ["deal_id", "rep_id", "account_id", "amount"], "deals")
    require_columns(routing, ["account_id", "product_group", "channel"], "routing")
    require_columns(reps, ["rep_id", "role"], "reps")
    require_columns(field_owner, ["account_id", "rep_id"], "field_owner")
    d = deals.reset_index(drop=True).copy()
    d["sold_by"] = d["rep_id"].astype("string")
    rid = reps["rep_id"].astype("string")
    rep_channel = pd.Series(reps["role"].astype("string").map(ROLE_CHANNEL).to_numpy(), index=rid)
    team = (
        pd.Series(reps["team"].astype("string").to_numpy(), index=rid)
        if "team" in reps.columns
        else pd.Series(pd.NA, index=rid, dtype="string")
    )
    known = set(rid)
    key = pd.MultiIndex.from_arrays(
        [routing["account_id"].astype("string"), routing["product_group"].astype("string")]
    )
    route = pd.Series(routing["channel"].astype("string").to_numpy(), index=key)
    route = route[~route.index.duplicated()]
    group = d["deal_id"].astype("string").map(deal_groups.astype("string"))
    look = pd.MultiIndex.from_arrays([d["account_id"].astype("string"), group])
    d["routed_channel"] = pd.array(route.reindex(look).to_numpy(), dtype="string")
    fo = field_owner.dropna(subset=["rep_id"]).astype({"account_id": "string", "rep_id": "string"})
    fo = fo.drop_duplicates("account_id").set_index("account_id")["rep_id"]
    own = d["account_id"].astype("string").map(fo)
    serve = pd.Series(dtype="string")
    if serving is not None and len(serving):
        sv = serving.astype({"account_id": "string", "channel": "string", "rep_id": "string"})
        sv = sv[sv["rep_id"].isin(known)]
        serve = pd.Series(
            sv["rep_id"].to_numpy(),
            index=pd.MultiIndex.from_arrays([sv["account_id"], sv["channel"]]),
        )
    team_reps: dict[tuple[str, str], list[str]] = {}
    for r_id, ch, tm in zip(rid, rep_channel.to_numpy(), team.to_numpy(), strict=True):
        if pd.notna(tm) and ch in ("tele", "online"):
            team_reps.setdefault((str(tm), str(ch)), []).append(str(r_id))
    ctx = _RouteContext(rep_channel, known, serve, team, team_reps)
    out_rows: list[dict] = []
    for rec, ch, owner in zip(d.to_dict("records"), d["routed_channel"], own, strict=True):
        out_rows += _credit_rows(rec, ch, owner, ctx)
    out = pd.DataFrame(out_rows, columns=[*d.columns, "credit_share", "credit_basis"])
    for col in ("rep_id", "sold_by", "routed_channel", "credit_basis"):
        out[col] = out[col].astype("string")
    out["amount"] = out["amount"].astype(float)
    out.attrs = dict(deals.attrs)
    return out


@dataclass
class _RouteContext:
    """What :func:`_credit_rows` looks up.

    Each rep's channel, the creditable reps, the account's tele/online rep (by account and channel),
    each rep's team and the team's reps per channel.
    """

    rep_channel: pd.Series
    known: set
    serve: pd.Series
    team: pd.Series
    team_reps: dict


def _credit_rows(rec: dict, ch: Any, owner: Any, ctx: _RouteContext) -> list[dict]:
    """The credit row(s) of one deal (see :func:`route_credits` for the rule)."""
    seller = rec["sold_by"]
    base = {**rec, "credit_share": 1.0}
    if pd.isna(ch):
        return [{**base, "credit_basis": "unrouted"}]
    if ctx.rep_channel.get(seller) == ch:
        return [{**base, "credit_basis": "own_channel"}]
    if ch == "field":
        if pd.notna(owner) and owner in ctx.known:
            return [{**base, "rep_id": owner, "credit_basis": "field_owner"}]
        return [{**base, "credit_basis": "no_rep"}]
    rep = ctx.serve.get((rec["account_id"], ch)) if len(ctx.serve) else None
    if rep is not None and pd.notna(rep):
        return [{**base, "rep_id": rep, "credit_basis": "channel_rep"}]
    tm = ctx.team.get(owner) if pd.notna(owner) else None
    if tm is None or pd.isna(tm):
        tm = ctx.team.get(seller)
    pool = ctx.team_reps.get((str(tm), str(ch)), []) if tm is not None and pd.notna(tm) else []
    if not pool:
        return [{**base, "credit_basis": "no_rep"}]
    k = len(pool)
    return [
        {
            **base,
            "rep_id": r_,
            "amount": float(rec["amount"]) / k,
            "credit_share": 1.0 / k,
            "credit_basis": "team_channel",
        }
        for r_ in pool
    ]


def credit_notes(deals: pd.DataFrame) -> pd.Series:
    """How each rep's credit per measure was assigned, in words for the statement.

    For example ``"credit by the channel matrix: 9 deal(s) as the account's field owner, 3 sold by
    you in the routed channel"``.

    Parameters
    ----------
    deals
        Credits with ``rep_id, measure, deal_id, credit_basis, routed_channel``; optional
        ``team_credit`` (a team lead's copies of the team's deals).

    Returns
    -------
    pandas.Series
        Text indexed by (``rep_id``, ``measure``); empty without ``credit_basis``.
    """
    if "credit_basis" not in deals.columns or deals.empty:
        return pd.Series(dtype="string")
    d = deals.assign(
        _b=np.where(
            deals["team_credit"].fillna(False).astype(bool)
            if "team_credit" in deals.columns
            else False,
            "team",
            deals["credit_basis"].astype("string").fillna("unrouted"),
        ),
        _c=deals["routed_channel"].astype("string").fillna(""),
    )
    counts = d.groupby(["rep_id", "measure", "_b", "_c"], observed=True)["deal_id"].nunique()
    parts: dict[tuple[str, str], list[str]] = {}
    order = list(_BASIS_SHORT)
    for (r, m, b, c), n in sorted(
        counts.items(), key=lambda kv: (kv[0][0], kv[0][1], order.index(kv[0][2]), kv[0][3])
    ):
        parts.setdefault((str(r), str(m)), []).append(
            f"{n} {_(_BASIS_SHORT[b]).format(channel=_(c) if c else _('routed'))}"
        )
    return pd.Series(
        {k: _("credit by the channel matrix: ") + ", ".join(v) for k, v in parts.items()},
        dtype="string",
    )
