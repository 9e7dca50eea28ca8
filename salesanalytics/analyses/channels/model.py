"""Channel mix: cost-to-serve per account, contribution levels, whale curve and channel assignment.

Cost-to-serve follows time-driven activity-based costing (Kaplan & Anderson): each channel has a
cost rate per minute = fully loaded yearly cost of one FTE ÷ (practical capacity in hours × 60);
an activity costs its minutes × the rate of its channel. A visit also costs the travel: the
distance from the rep's home base to the account (great circle × road factor, there and back),
driven at an average speed (time at the field rate) and paid per km.

Contribution levels per account (yearly):

* contribution I   = revenue − product cost (``products.cost_share`` × revenue)
* contribution II  = contribution I − selling cost (the activity cost-to-serve above)
* contribution III = contribution II − service cost (``service_cost_share`` × revenue: support,
  onboarding, billing; the CRM export holds no service times, so this is a stated assumption)

The *whale curve* plots cumulative contribution III over customers ranked from most to least
profitable: it typically rises above 100% (the profitable customers) and falls back to 100% (the
unprofitable ones give profit away).

Channel assignment (:func:`assign_channels`) proposes field, tele or online per account from its
value (revenue plus part of its untapped potential), the complexity of its products and its stated
channel preference, with the break-even values at which the more personal channel pays for its
extra cost, and under the field capacity available; moves are grouped in migration waves. The
channel phase's proposal comes from :mod:`salesanalytics.analyses.channels.matrix` (a channel per customer
segment and product group, measured from the deals), which overwrites ``proposed_channel`` of the
per-account table; the account-value rule here is kept for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.channels.effort import (
    ActivityAggregates,
    aggregate_activities,
    channel_costs,
    check_travel,
    costing_window,
)
from salesanalytics.errors import require_columns
from salesanalytics.ingest.schema import CHANNELS, ROLE_CHANNEL
from salesanalytics.present import formats
from salesanalytics.present.i18n import gettext as _
from salesanalytics.reference.geo import ROAD_FACTOR, SPEED_KMH, haversine_km

__all__ = [
    "ROLE_CHANNEL",
    "AssignmentRules",
    "ChannelMix",
    "ChannelMixSettings",
    "account_channel_table",
    "account_value",
    "analyse_channel_mix",
    "account_revenue",
    "activity_costs",
    "assign_channels",
    "break_even",
    "channel_rates",
    "channel_sentence",
    "channel_summary",
    "contribution_by_channel",
    "contribution_levels",
    "cost_to_serve",
    "current_channel",
    "migration_waves",
    "move_effect",
    "planted_checks",
    "service_model",
    "visit_travel",
    "wave_summary",
    "whale_curve",
    "whale_summary",
]

_RANK = {"online": 0, "tele": 1, "field": 2}


# --------------------------------------------------------------------------- rates & costs
def channel_rates(rates: pd.DataFrame) -> pd.DataFrame:
    """Cost rates per channel for time-driven activity-based costing.

    Parameters
    ----------
    rates
        Canonical ``channel_rates``: ``channel``, ``cost_per_year``, ``capacity_hours`` and
        optionally ``travel_cost_per_km``.

    Returns
    -------
    pandas.DataFrame
        Index ``channel``; ``cost_per_year, capacity_hours, travel_cost_per_km, cost_per_hour,
        cost_per_minute``.

    Raises
    ------
    ValueError
        Listing every problem at once: a channel missing, a capacity that is not positive, a
        negative cost, a channel given twice.
    """
    require_columns(rates, ["channel", "cost_per_year", "capacity_hours"], "channel_rates")
    r = rates.copy()
    r["channel"] = r["channel"].astype("string").str.strip().str.lower()
    if "travel_cost_per_km" not in r.columns:
        r["travel_cost_per_km"] = 0.0
    problems = []
    dup = r["channel"][r["channel"].duplicated()].unique()
    if len(dup):
        problems.append(f"channel(s) given twice: {', '.join(map(str, dup))}")
    missing = [c for c in CHANNELS if c not in set(r["channel"].dropna())]
    if missing:
        problems.append(f"no rate for channel(s) {', '.join(missing)}")
    for row in r.itertuples(index=False):
        if not (pd.notna(row.capacity_hours) and row.capacity_hours > 0):
            problems.append(f"{row.channel}: capacity_hours must be > 0, got {row.capacity_hours}")
        if not (pd.notna(row.cost_per_year) and row.cost_per_year >= 0):
            problems.append(f"{row.channel}: cost_per_year must be ≥ 0, got {row.cost_per_year}")
    if problems:
        raise ValueError(
            "channel cost rates are not usable: "
            + "; ".join(problems)
            + ". Fix Channel_Cost_Rates (one row per channel: field, tele, online)."
        )
    r = r.set_index("channel")[["cost_per_year", "capacity_hours", "travel_cost_per_km"]]
    r["travel_cost_per_km"] = r["travel_cost_per_km"].fillna(0.0).astype("float64")
    r["cost_per_hour"] = r["cost_per_year"] / r["capacity_hours"]
    r["cost_per_minute"] = r["cost_per_hour"] / 60.0
    return r.reindex(list(CHANNELS)).astype("float64")


def visit_travel(
    activities: pd.DataFrame,
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
) -> pd.DataFrame:
    """Travel of every visit: rep home → account and back.

    Parameters
    ----------
    activities
        Canonical activities: ``activity_id, rep_id, account_id, type``.
    accounts
        ``account_id, latitude, longitude``.
    reps
        ``rep_id, home_latitude, home_longitude``.
    road_factor
        Road distance ÷ great-circle distance (1.3 in Switzerland is a common rule of thumb).
    speed_kmh
        Average driving speed.

    Returns
    -------
    pandas.DataFrame
        Same rows as ``activities``: ``travel_km`` (return trip) and ``travel_minutes``; 0 for
        activities that are not visits, NaN for visits whose rep or account has no coordinates
        (their number is in ``attrs["visits_without_coordinates"]``).
    """
    check_travel(road_factor, speed_kmh)
    require_columns(activities, ["rep_id", "account_id", "type"], "activities")
    require_columns(accounts, ["account_id", "latitude", "longitude"], "accounts")
    require_columns(reps, ["rep_id", "home_latitude", "home_longitude"], "reps")
    is_visit = activities["type"].eq("visit").fillna(False).to_numpy(bool)
    v = np.flatnonzero(is_visit)
    acc_idx = pd.Index(accounts["account_id"]).get_indexer(activities["account_id"].iloc[v])
    rep_idx = pd.Index(reps["rep_id"]).get_indexer(activities["rep_id"].iloc[v])
    alat = np.append(accounts["latitude"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    alon = np.append(accounts["longitude"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    rlat = np.append(reps["home_latitude"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    rlon = np.append(reps["home_longitude"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    km = np.zeros(len(activities))
    d = haversine_km(rlat[rep_idx], rlon[rep_idx], alat[acc_idx], alon[acc_idx])
    km[v] = 2.0 * road_factor * d
    out = pd.DataFrame(
        {"travel_km": km, "travel_minutes": km / speed_kmh * 60.0}, index=activities.index
    )
    out.attrs["visits_without_coordinates"] = int(np.isnan(km).sum())
    return out


def activity_costs(
    activities: pd.DataFrame,
    rates: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
) -> pd.DataFrame:
    """Cost of every activity: time at its channel's rate, plus travel for visits.

    Parameters
    ----------
    activities
        Canonical activities: ``activity_id, rep_id, account_id, date, type, channel, minutes``.
    rates
        Canonical ``channel_rates`` (see :func:`channel_rates`).
    accounts, reps
        For travel (see :func:`visit_travel`); without them visits cost their minutes only.
    road_factor, speed_kmh
        Travel assumptions.

    Returns
    -------
    pandas.DataFrame
        ``activity_id, account_id, rep_id, date, type, channel, minutes, travel_km,
        travel_minutes, time_cost, travel_cost, cost`` where ``time_cost`` = (minutes + travel
        minutes) × the channel's cost per minute and ``travel_cost`` = km × cost per km.
        Visits without coordinates get no travel cost (counted in
        ``attrs["visits_without_coordinates"]``).

    Raises
    ------
    ValueError
        If activities use a channel that has no rate.
    """
    require_columns(
        activities,
        ["activity_id", "rep_id", "account_id", "date", "type", "channel", "minutes"],
        "activities",
    )
    r = channel_rates(rates)
    ch_codes, ch_uniques = pd.factorize(activities["channel"], use_na_sentinel=True)
    lut = np.append(pd.Index(r.index).get_indexer(pd.Index(ch_uniques).astype("string")), -1)
    code = lut[ch_codes]  # -1 (the sentinel) maps to the appended -1: missing channel
    if (code < 0).any():
        bad = sorted({str(x) for x in activities["channel"][code < 0].unique()})
        raise ValueError(
            f"{int((code < 0).sum())} activities have a channel without a cost rate: "
            f"{', '.join(bad)}; channels with rates: {', '.join(r.index)}."
        )
    minutes = pd.to_numeric(activities["minutes"], errors="coerce").fillna(0.0).to_numpy()
    if accounts is not None and reps is not None:
        tr = visit_travel(activities, accounts, reps, road_factor, speed_kmh)
        no_coord = tr.attrs["visits_without_coordinates"]
        km = np.nan_to_num(tr["travel_km"].to_numpy())
        tmin = np.nan_to_num(tr["travel_minutes"].to_numpy())
    else:
        no_coord = 0
        km = np.zeros(len(activities))
        tmin = np.zeros(len(activities))
    cpm = r["cost_per_minute"].to_numpy()[code]
    cpk = r["travel_cost_per_km"].to_numpy()[code]
    time_cost = (minutes + tmin) * cpm
    travel_cost = km * cpk
    # keep the id/text columns as they are (no copies into Python objects)
    out = activities[["activity_id", "account_id", "rep_id", "date", "type", "channel"]].copy()
    out["minutes"] = minutes
    out["travel_km"] = km
    out["travel_minutes"] = tmin
    out["time_cost"] = time_cost
    out["travel_cost"] = travel_cost
    out["cost"] = time_cost + travel_cost
    out = out.reset_index(drop=True)
    out.attrs["visits_without_coordinates"] = no_coord
    return out


def cost_to_serve(
    costs: pd.DataFrame,
    as_of: str | pd.Timestamp,
    window_days: int = 365,
    account_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Yearly cost-to-serve per account from the activities of the last ``window_days``.

    Parameters
    ----------
    costs
        Output of :func:`activity_costs` (one row per activity: ``account_id, date, channel,
        minutes, travel_minutes, cost``), or the window's activities priced per account and
        channel (:attr:`salesanalytics.analyses.channels.effort.ChannelCosts.accounts`: no
        ``date``, ``activities`` per row).
    as_of
        Reference date; the window is ``(as_of − window_days, as_of]``.
    window_days
        Length of the window; amounts are scaled to one year (× 365.25 / window_days).
    account_ids
        Accounts to return (zeros for those without activities); default: those with activities.

    Returns
    -------
    pandas.DataFrame
        Index ``account_id``; ``cost_to_serve`` (CHF per year), ``hours`` (activity + travel hours
        per year), ``activities`` (per year), and ``cost_<channel>`` / ``hours_<channel>`` per
        channel. Activities without an account are left out and counted in
        ``attrs["without_account"]``.
    """
    start, as_of = costing_window(as_of, window_days)
    require_columns(
        costs, ["account_id", "channel", "minutes", "travel_minutes", "cost"], "activity costs"
    )
    if "date" in costs.columns:  # one row per activity (activity_costs)
        inw = ((costs["date"] > start) & (costs["date"] <= as_of)).fillna(False).to_numpy(bool)
        c = costs[inw]
        n = np.ones(len(c))
    else:  # per account and channel, in the window (ChannelCosts.accounts)
        require_columns(costs, ["activities"], "activity costs")
        c = costs
        n = c["activities"].to_numpy(dtype="float64")
    codes, uniques = pd.factorize(c["account_id"], use_na_sentinel=True)
    no_acc = codes < 0
    keep = ~no_acc
    codes = codes[keep]
    k = len(uniques)
    scale = 365.25 / window_days
    cost = c["cost"].to_numpy(dtype="float64")[keep] * scale
    hours = (
        c["minutes"].to_numpy(dtype="float64") + c["travel_minutes"].to_numpy(dtype="float64")
    )[keep] * (scale / 60.0)
    ch_codes, ch_uniques = pd.factorize(c["channel"], use_na_sentinel=True)
    lut = np.append(pd.Index(list(CHANNELS)).get_indexer(pd.Index(ch_uniques).astype("string")), -1)
    ch = lut[ch_codes][keep]
    res = pd.DataFrame(index=pd.Index(uniques, dtype="string", name="account_id"))
    res["cost_to_serve"] = np.bincount(codes, weights=cost, minlength=k)
    res["hours"] = np.bincount(codes, weights=hours, minlength=k)
    res["activities"] = np.bincount(codes, weights=n[keep], minlength=k) * scale
    for j, name in enumerate(CHANNELS):
        m = ch == j
        res[f"cost_{name}"] = np.bincount(codes[m], weights=cost[m], minlength=k)
    for j, name in enumerate(CHANNELS):
        m = ch == j
        res[f"hours_{name}"] = np.bincount(codes[m], weights=hours[m], minlength=k)
    if account_ids is not None:
        res = res.reindex(pd.Index(account_ids, dtype="string", name="account_id"), fill_value=0.0)
    res.attrs["without_account"] = int(n[no_acc].sum())
    res.attrs["window"] = (start.strftime("%Y-%m-%d"), as_of.strftime("%Y-%m-%d"))
    return res


def account_revenue(
    contracts: pd.DataFrame,
    products: pd.DataFrame,
    as_of: str | pd.Timestamp,
    window_days: int = 365,
    default_cost_share: float = 0.3,
) -> pd.DataFrame:
    """Yearly revenue and product cost per account, realised in the last ``window_days``.

    Parameters
    ----------
    contracts
        Canonical contracts: ``account_id, product_id, start_date, end_date, mrr``.
    products
        ``product_id, cost_share`` (and ``complexity``).
    as_of, window_days
        The window ``(as_of − window_days, as_of]``; revenue = MRR × months active in it, scaled
        to one year.
    default_cost_share
        Product cost share for products without one (counted in ``attrs``).

    Returns
    -------
    pandas.DataFrame
        Index ``account_id``; ``revenue``, ``product_cost``, ``mrr_now`` (MRR active at
        ``as_of``), ``complexity`` (highest complexity of the products held in the window).
    """
    if not 0 <= default_cost_share <= 1:
        raise ValueError(f"default_cost_share must be between 0 and 1, got {default_cost_share}")
    require_columns(
        contracts, ["account_id", "product_id", "start_date", "end_date", "mrr"], "contracts"
    )
    require_columns(products, ["product_id"], "products")
    as_of = pd.Timestamp(as_of)
    start = as_of - pd.Timedelta(days=window_days)
    s = contracts["start_date"].clip(lower=start)
    e = contracts["end_date"].fillna(as_of).clip(upper=as_of)
    days = (e - s).dt.days.clip(lower=0).fillna(0).to_numpy(dtype="float64")
    mrr = pd.to_numeric(contracts["mrr"], errors="coerce").fillna(0.0).to_numpy()
    rev = mrr * 12.0 * days / window_days
    prod = products.assign(product_id=products["product_id"].astype("string")).set_index(
        "product_id"
    )
    pid = contracts["product_id"].astype("string")
    share = (
        pid.map(prod["cost_share"]).astype("float64")
        if "cost_share" in prod.columns
        else pd.Series(np.nan, index=pid.index)
    )
    n_default = int(share.isna().sum())
    share = share.fillna(default_cost_share).to_numpy()
    comp = (
        pid.map(prod["complexity"]).astype("float64").to_numpy()
        if "complexity" in prod.columns
        else np.full(len(pid), np.nan)
    )
    active_now = (
        ((contracts["start_date"] <= as_of) & ~(contracts["end_date"] < as_of))
        .fillna(False)
        .to_numpy(bool)
    )
    df = pd.DataFrame(
        {
            "account_id": contracts["account_id"].astype("string").to_numpy(),
            "revenue": rev,
            "product_cost": rev * share,
            "mrr_now": np.where(active_now, mrr, 0.0),
            "complexity": np.where(days > 0, comp, np.nan),
        }
    )
    res = df.groupby("account_id").agg(
        revenue=("revenue", "sum"),
        product_cost=("product_cost", "sum"),
        mrr_now=("mrr_now", "sum"),
        complexity=("complexity", "max"),
    )
    res.index = res.index.astype("string")
    res.attrs["contracts_with_default_cost_share"] = n_default
    return res


def contribution_levels(
    revenue: pd.DataFrame, cts: pd.DataFrame, service_cost_share: float = 0.08
) -> pd.DataFrame:
    """Contribution I, II and III per account.

    Parameters
    ----------
    revenue
        :func:`account_revenue` (index ``account_id``; ``revenue``, ``product_cost``).
    cts
        :func:`cost_to_serve` (index ``account_id``; ``cost_to_serve``).
    service_cost_share
        Service cost as a share of revenue (support, onboarding, billing).

    Returns
    -------
    pandas.DataFrame
        Index ``account_id`` (union of both inputs); ``revenue, product_cost, contribution_1,
        selling_cost, contribution_2, service_cost, contribution_3``.
    """
    if not 0 <= service_cost_share <= 1:
        raise ValueError(f"service_cost_share must be between 0 and 1, got {service_cost_share}")
    require_columns(revenue, ["revenue", "product_cost"], "account revenue")
    require_columns(cts, ["cost_to_serve"], "cost to serve")
    idx = revenue.index.union(cts.index)
    rev = revenue["revenue"].reindex(idx).fillna(0.0)
    pc = revenue["product_cost"].reindex(idx).fillna(0.0)
    sell = cts["cost_to_serve"].reindex(idx).fillna(0.0)
    res = pd.DataFrame(index=idx)
    res["revenue"] = rev
    res["product_cost"] = pc
    res["contribution_1"] = rev - pc
    res["selling_cost"] = sell
    res["contribution_2"] = res["contribution_1"] - sell
    res["service_cost"] = rev * service_cost_share
    res["contribution_3"] = res["contribution_2"] - res["service_cost"]
    res.index.name = "account_id"
    return res


def whale_curve(profit: pd.Series) -> pd.DataFrame:
    """Cumulative profit over customers ranked from most to least profitable.

    Parameters
    ----------
    profit
        Profit per customer (e.g. ``contribution_3``), index = account id.

    Returns
    -------
    pandas.DataFrame
        ``rank`` (1 = most profitable), ``account_id``, ``profit``, ``customer_share`` (rank /
        customers) and ``cumulative_share`` (cumulative profit / total profit; peaks above 1 when
        some customers lose money). Empty input gives an empty frame.
    """
    p = profit.dropna().sort_values(ascending=False, kind="stable")
    total = p.sum()
    n = len(p)
    cum = p.cumsum().to_numpy()
    return pd.DataFrame(
        {
            "rank": np.arange(1, n + 1),
            "account_id": p.index.astype("string"),
            "profit": p.to_numpy(),
            "customer_share": np.arange(1, n + 1) / max(n, 1),
            "cumulative_share": cum / total if total != 0 else np.full(n, np.nan),
        }
    )


def whale_summary(curve: pd.DataFrame) -> dict[str, float]:
    """Key figures of a whale curve: peak, where it is reached, share of loss-making customers.

    Returns
    -------
    dict
        ``customers``, ``total_profit``, ``peak_share`` (highest cumulative share),
        ``peak_customer_share`` (share of customers at the peak), ``loss_making_share`` (share of
        customers with negative profit) and ``profit_given_away`` (sum of their losses, positive).
    """
    if curve.empty:
        return {
            "customers": 0,
            "total_profit": 0.0,
            "peak_share": float("nan"),
            "peak_customer_share": float("nan"),
            "loss_making_share": float("nan"),
            "profit_given_away": 0.0,
        }
    i = (
        int(np.nanargmax(curve["cumulative_share"].to_numpy()))
        if curve["cumulative_share"].notna().any()
        else 0
    )
    neg = curve["profit"] < 0
    return {
        "customers": int(len(curve)),
        "total_profit": float(curve["profit"].sum()),
        "peak_share": float(curve["cumulative_share"].iloc[i]),
        "peak_customer_share": float(curve["customer_share"].iloc[i]),
        "loss_making_share": float(neg.mean()),
        "profit_given_away": float(-curve.loc[neg, "profit"].sum()),
    }


# --------------------------------------------------------------------------- channel today
def current_channel(
    accounts: pd.DataFrame,
    cts: pd.DataFrame,
    contracts: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The channel serving each account today.

    Rule: the channel with the most activity hours in the window; without activities the channel
    of the account's latest contract; otherwise the channel of the owner's role; otherwise the
    stated preference; otherwise ``online``.

    Parameters
    ----------
    accounts
        ``account_id`` and optionally ``owner_id``, ``channel_preference``.
    cts
        :func:`cost_to_serve` with ``hours_<channel>`` columns.
    contracts
        ``account_id, start_date, channel`` (optional).
    reps
        ``rep_id, role`` (optional).

    Returns
    -------
    pandas.DataFrame
        ``account_id, current_channel, channel_source`` (``activities``, ``contract``,
        ``owner role``, ``preference``, ``default``).
    """
    require_columns(accounts, ["account_id"], "accounts")
    ids = accounts["account_id"].astype("string")
    n = len(ids)
    chan = np.full(n, None, dtype=object)
    src = np.full(n, None, dtype=object)
    hcols = [f"hours_{c}" for c in CHANNELS]
    if all(c in cts.columns for c in hcols):
        h = cts[hcols].reindex(ids).to_numpy(dtype="float64")
        h = np.nan_to_num(h)
        has = h.sum(axis=1) > 0
        best = np.array(CHANNELS, dtype=object)[np.argmax(h, axis=1)]
        chan[has] = best[has]
        src[has] = "activities"
    if contracts is not None and {"account_id", "start_date", "channel"} <= set(contracts.columns):
        c = contracts.dropna(subset=["channel"]).sort_values("start_date", kind="stable")
        last = c.groupby(c["account_id"].astype("string"))["channel"].last()
        v = ids.map(last).to_numpy(dtype=object, na_value=None)
        fill = (chan == None) & (v != None)  # noqa: E711 - element-wise on object arrays
        chan[fill] = v[fill]
        src[fill] = "contract"
    if reps is not None and "owner_id" in accounts.columns and "role" in reps.columns:
        role = pd.Series(
            reps["role"].astype("string").map(ROLE_CHANNEL).to_numpy(),
            index=reps["rep_id"].astype("string").to_numpy(),
        )
        v = accounts["owner_id"].astype("string").map(role).to_numpy(dtype=object, na_value=None)
        fill = (chan == None) & (v != None)  # noqa: E711
        chan[fill] = v[fill]
        src[fill] = "owner role"
    if "channel_preference" in accounts.columns:
        v = accounts["channel_preference"].astype("string").to_numpy(dtype=object, na_value=None)
        fill = (chan == None) & (v != None)  # noqa: E711
        chan[fill] = v[fill]
        src[fill] = "preference"
    fill = chan == None  # noqa: E711
    chan[fill] = "online"
    src[fill] = "default"
    return pd.DataFrame(
        {
            "account_id": ids.to_numpy(),
            "current_channel": pd.array(chan, dtype="string"),
            "channel_source": pd.array(src, dtype="string"),
        }
    )


def service_model(cts: pd.DataFrame, channel: pd.Series, status: pd.Series) -> pd.DataFrame:
    """Typical yearly workload and cost of serving an account in each channel, by status.

    The mean over the accounts served in the channel today (accounts without activities count
    as zero), so it reflects how the channel actually works.

    Parameters
    ----------
    cts
        :func:`cost_to_serve` (index ``account_id``; ``cost_to_serve``, ``hours``).
    channel
        Current channel per account (index ``account_id``).
    status
        Account status per account (index ``account_id``).

    Returns
    -------
    pandas.DataFrame
        Index ``(channel, status)``; ``accounts``, ``hours`` and ``cost`` per account and year.
        Combinations without accounts fall back to the channel's mean over all statuses scaled by
        the status' overall ratio to customers.
    """
    idx = channel.index
    df = pd.DataFrame(
        {
            "channel": channel.to_numpy(),
            "status": status.reindex(idx).to_numpy(),
            "hours": cts["hours"].reindex(idx).fillna(0.0).to_numpy(),
            "cost": cts["cost_to_serve"].reindex(idx).fillna(0.0).to_numpy(),
        }
    )
    g = df.groupby(["channel", "status"]).agg(
        accounts=("hours", "size"), hours=("hours", "mean"), cost=("cost", "mean")
    )
    statuses = sorted(df["status"].dropna().unique())
    full = g.reindex(
        pd.MultiIndex.from_product([list(CHANNELS), statuses], names=["channel", "status"])
    )
    full["accounts"] = full["accounts"].fillna(0).astype("int64")
    # fallback: channel mean × status ratio (status mean / overall mean)
    ch_mean = df.groupby("channel")[["hours", "cost"]].mean()
    st_ratio = df.groupby("status")[["hours", "cost"]].mean() / df[["hours", "cost"]].mean()
    for col in ("hours", "cost"):
        miss = full[col].isna()
        if miss.any():
            ch = full.index.get_level_values(0)[miss]
            st = full.index.get_level_values(1)[miss]
            full.loc[miss, col] = (
                ch_mean[col].reindex(ch).to_numpy() * st_ratio[col].reindex(st).to_numpy()
            )
    return full


# --------------------------------------------------------------------------- assignment
@dataclass(frozen=True)
class AssignmentRules:
    """Rules of the channel assignment.

    Parameters
    ----------
    white_space_weight
        Share of the untapped potential counted in an account's value (0 = revenue only).
    field_uplift
        Extra revenue a field rep wins compared with tele (0.2 = +20%): what pays for field.
    tele_uplift
        Extra revenue tele wins compared with online.
    field_min_complexity
        Products at least this complex (1-5) need field; simpler ones are sold by tele.
    online_max_complexity
        Products at most this complex can be sold online.
    preference_tolerance
        A stated preference for a more personal channel is honoured when the account's value is
        at least this share of that channel's break-even value. A preference for a less personal
        channel is always honoured.
    field_capacity_hours
        Yearly hours the field force has for customers; field accounts beyond it (lowest value
        first) go to tele. 0 = no limit.
    """

    white_space_weight: float = 0.5
    field_uplift: float = 0.2
    tele_uplift: float = 0.1
    field_min_complexity: int = 3
    online_max_complexity: int = 2
    preference_tolerance: float = 0.75
    field_capacity_hours: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.white_space_weight <= 1:
            problems.append(
                f"white_space_weight must be between 0 and 1, got {self.white_space_weight}"
            )
        if self.field_uplift <= 0:
            problems.append(f"field_uplift must be > 0, got {self.field_uplift}")
        if self.tele_uplift <= 0:
            problems.append(f"tele_uplift must be > 0, got {self.tele_uplift}")
        if not 1 <= self.online_max_complexity <= self.field_min_complexity <= 5:
            problems.append(
                "complexities must satisfy 1 ≤ online_max_complexity ≤ field_min_complexity ≤ 5, "
                f"got {self.online_max_complexity} and {self.field_min_complexity}"
            )
        if self.preference_tolerance < 0:
            problems.append(f"preference_tolerance must be ≥ 0, got {self.preference_tolerance}")
        if self.field_capacity_hours < 0:
            problems.append(f"field_capacity_hours must be ≥ 0, got {self.field_capacity_hours}")
        if problems:
            raise ValueError("invalid channel assignment rules: " + "; ".join(problems))


def break_even(
    channel_cost: Mapping[str, float], margin: float, rules: AssignmentRules
) -> dict[str, float]:
    """Yearly account value above which the more personal channel pays for itself.

    Field pays when its extra contribution (``field_uplift`` × margin × value) covers its extra
    cost over tele; tele pays over online likewise with ``tele_uplift``.

    Parameters
    ----------
    channel_cost
        Yearly cost to serve a (customer) account per channel: ``{"field": .., "tele": ..,
        "online": ..}``.
    margin
        Contribution-I margin (contribution I ÷ revenue), e.g. 0.7.
    rules
        Uplifts.

    Returns
    -------
    dict
        ``field`` and ``tele`` break-even values (CHF per year); ``online`` 0. Also
        ``field_covers_cost``: the value at which a field account's contribution I covers its
        field cost at all.
    """
    if not 0 < margin <= 1:
        raise ValueError(f"margin must be in (0, 1], got {margin}")
    f, t, o = (float(channel_cost[c]) for c in ("field", "tele", "online"))
    return {
        "field": max(f - t, 0.0) / (rules.field_uplift * margin),
        "tele": max(t - o, 0.0) / (rules.tele_uplift * margin),
        "online": 0.0,
        "field_covers_cost": f / margin,
    }


def assign_channels(
    value: pd.Series,
    complexity: pd.Series,
    preference: pd.Series,
    thresholds: Mapping[str, float],
    rules: AssignmentRules,
    field_hours: pd.Series | None = None,
) -> pd.DataFrame:
    """Propose a channel per account.

    Rule, per account: ``field`` if value ≥ the field break-even and its products are complex
    (≥ ``field_min_complexity``); ``online`` if value < the tele break-even and its products are
    simple (≤ ``online_max_complexity``); ``tele`` otherwise. A stated preference for a less
    personal channel is honoured; one for a more personal channel when value ≥
    ``preference_tolerance`` × that channel's break-even. Then, if the field hours needed exceed
    ``field_capacity_hours``, the lowest-value field accounts move to tele until it fits.

    Parameters
    ----------
    value
        Yearly value per account (revenue + weighted white space), index = account id.
    complexity
        Highest product complexity (1-5) per account; missing counts as 3 (needs explanation).
    preference
        Stated channel preference (``field``, ``tele``, ``online`` or missing).
    thresholds
        :func:`break_even` output (``field``, ``tele``).
    rules
        :class:`AssignmentRules`.
    field_hours
        Yearly field hours each account would need (for the capacity check).

    Returns
    -------
    pandas.DataFrame
        Index = account id; ``rule_channel`` (before preference and capacity),
        ``proposed_channel``, ``reason``.
    """
    idx = value.index
    v = value.to_numpy(dtype="float64", na_value=np.nan)
    v = np.nan_to_num(v, nan=0.0)
    comp = complexity.reindex(idx).to_numpy(dtype="float64", na_value=np.nan)
    comp = np.where(np.isnan(comp), 3.0, comp)
    be_f, be_t = float(thresholds["field"]), float(thresholds["tele"])
    rule = np.where(
        (v >= be_f) & (comp >= rules.field_min_complexity),
        "field",
        np.where((v < be_t) & (comp <= rules.online_max_complexity), "online", "tele"),
    ).astype(object)
    reason = np.where(
        rule == "field",
        "high value, complex products",
        np.where(rule == "online", "low value, simple products", "medium value or complexity"),
    ).astype(object)
    pref = (
        preference.reindex(idx).astype("string").str.lower().to_numpy(dtype=object, na_value=None)
    )
    order = sorted(_RANK, key=_RANK.get)  # online, tele, field

    def rank(values: np.ndarray) -> np.ndarray:
        return pd.Categorical(values, categories=order).codes.astype(np.int64)  # -1 = none

    r_rule = rank(rule)
    r_pref = rank(pref)
    be = np.where(pref == "field", be_f, np.where(pref == "tele", be_t, 0.0))
    take_lower = (r_pref >= 0) & (r_pref < r_rule)
    take_higher = (r_pref > r_rule) & (v >= rules.preference_tolerance * be)
    prop = rule.copy()
    prop[take_lower | take_higher] = pref[take_lower | take_higher]
    reason[take_lower | take_higher] = "customer's stated preference"
    if rules.field_capacity_hours > 0 and field_hours is not None:
        fh = field_hours.reindex(idx).fillna(0.0).to_numpy(dtype="float64")
        is_f = prop == "field"
        order = np.argsort(-v[is_f], kind="stable")
        cum = np.cumsum(fh[is_f][order])
        over = np.zeros(is_f.sum(), dtype=bool)
        over[order] = cum > rules.field_capacity_hours
        fi = np.flatnonzero(is_f)[over]
        prop[fi] = "tele"
        reason[fi] = "field capacity full (lowest value moved to tele)"
    return pd.DataFrame(
        {
            "rule_channel": pd.array(rule, dtype="string"),
            "proposed_channel": pd.array(prop, dtype="string"),
            "reason": pd.array(reason, dtype="string"),
        },
        index=idx,
    )


def migration_waves(delta: pd.Series, moving: pd.Series, n_waves: int = 3) -> pd.Series:
    """Group channel moves in waves: wave 1 = the moves with the biggest yearly gain.

    Parameters
    ----------
    delta
        Expected yearly contribution gain of the move per account.
    moving
        True where proposed channel ≠ current channel.
    n_waves
        Number of waves (1-12), of (nearly) equal size.

    Returns
    -------
    pandas.Series
        ``Int64`` wave number per account (missing for accounts that stay).
    """
    if not 1 <= n_waves <= 12:
        raise ValueError(f"n_waves must be between 1 and 12, got {n_waves}")
    m = moving.reindex(delta.index).fillna(False).to_numpy(bool)
    out = pd.array(np.full(len(delta), pd.NA), dtype="Int64")
    if m.any():
        d = delta.to_numpy(dtype="float64")[m]
        order = np.argsort(-d, kind="stable")
        ranks = np.empty(len(d), dtype=np.int64)
        ranks[order] = np.arange(len(d))
        wave = ranks * n_waves // len(d) + 1
        out[np.flatnonzero(m)] = wave
    return pd.Series(out, index=delta.index, name="migration_wave")


def account_channel_table(
    accounts: pd.DataFrame,
    contributions: pd.DataFrame,
    current: pd.DataFrame,
    model: pd.DataFrame,
    potential_yearly: pd.Series | None,
    complexity: pd.Series,
    rules: AssignmentRules,
    margin: float | None = None,
    n_waves: int = 3,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Today's against the proposed channel for every account, with costs, contributions, waves.

    Parameters
    ----------
    accounts
        ``account_id, status`` and optionally ``channel_preference``.
    contributions
        :func:`contribution_levels` (index ``account_id``).
    current
        :func:`current_channel`.
    model
        :func:`service_model`.
    potential_yearly
        Yearly potential per account (12 × potential MRR); None = revenue only.
    complexity
        Highest product complexity per account.
    rules
        :class:`AssignmentRules`.
    margin
        Contribution-I margin; default the portfolio's (contribution I ÷ revenue).
    n_waves
        Migration waves.

    Returns
    -------
    tuple
        (``account_channel`` frame with ``account_id, status, current_channel, proposed_channel,
        reason, value, complexity, revenue, cost_to_serve, contribution_1, contribution_2,
        contribution_3, proposed_cost, delta_contribution, migration_wave``; the break-even
        values dict).
    """
    require_columns(accounts, ["account_id", "status"], "accounts")
    ids = accounts["account_id"].astype("string")
    ids_np = ids.to_numpy()
    ids_ix = pd.Index(ids_np)  # one index shared by the per-account series below
    status = pd.Series(accounts["status"].astype("string").to_numpy(), index=ids_ix)
    con = contributions.reindex(ids).fillna(0.0)
    con.index = ids_ix
    cur = pd.Series(
        current["current_channel"].to_numpy(), index=current["account_id"].to_numpy()
    ).reindex(ids)
    cur.index = ids_ix
    value = account_value(con["revenue"], potential_yearly, rules.white_space_weight)
    margin = _portfolio_margin(con, margin)
    cust_cost = {
        c: float(model.loc[(c, "customer"), "cost"])
        if (c, "customer") in model.index
        else float(model.xs(c, level=0)["cost"].mean())
        for c in CHANNELS
    }
    th = break_even(cust_cost, margin, rules)
    pref = (
        pd.Series(accounts["channel_preference"].astype("string").to_numpy(), index=ids_ix)
        if "channel_preference" in accounts.columns
        else pd.Series(pd.NA, index=ids_ix, dtype="string")
    )
    key = pd.MultiIndex.from_arrays([np.full(len(ids), "field"), status.to_numpy()])
    field_hours = pd.Series(model["hours"].reindex(key).to_numpy(), index=ids_ix)
    comp = complexity.reindex(ids)
    comp.index = ids_ix
    asg = assign_channels(value, comp, pref, th, rules, field_hours)
    prop = asg["proposed_channel"]
    new_cost, delta, moving = move_effect(con, cur, prop, status, model, rules)
    waves = migration_waves(
        pd.Series(delta, index=ids_ix), pd.Series(moving, index=ids_ix), n_waves
    )
    out = pd.DataFrame(
        {
            "account_id": ids_np,
            "status": status.to_numpy(),
            "current_channel": pd.array(cur.to_numpy(), dtype="string"),
            "proposed_channel": pd.array(prop.to_numpy(), dtype="string"),
            "reason": asg["reason"].to_numpy(),
            "value": value.to_numpy(),
            "complexity": comp.to_numpy(dtype="float64", na_value=np.nan),
            "revenue": con["revenue"].to_numpy(),
            "cost_to_serve": con["selling_cost"].to_numpy(),
            "contribution_1": con["contribution_1"].to_numpy(),
            "contribution_2": con["contribution_2"].to_numpy(),
            "contribution_3": con["contribution_3"].to_numpy(),
            "proposed_cost": new_cost,
            "delta_contribution": delta,
            "migration_wave": waves.to_numpy(),
        }
    )
    return out, {**th, "margin": margin}


def account_value(
    revenue: pd.Series, potential_yearly: pd.Series | None, white_space_weight: float
) -> pd.Series:
    """An account's value for the channel choice: revenue plus weighted white space.

    Parameters
    ----------
    revenue
        Yearly revenue per account (index account id).
    potential_yearly
        Yearly potential per account (12 × potential MRR); None = revenue only.
    white_space_weight
        Weight of the white space (potential above revenue, never below 0).

    Returns
    -------
    pandas.Series
        Value per account, on ``revenue``'s index.
    """
    pot = (
        potential_yearly.reindex(revenue.index).to_numpy(dtype="float64", na_value=np.nan)
        if potential_yearly is not None
        else np.full(len(revenue), np.nan)
    )
    ws = np.clip(np.nan_to_num(pot, nan=0.0) - revenue.to_numpy(), 0, None)
    return pd.Series(revenue.to_numpy() + white_space_weight * ws, index=revenue.index)


def _portfolio_margin(con: pd.DataFrame, margin: float | None) -> float:
    """The contribution-I margin: given, else the portfolio's (0.7 without revenue); 5% to 100%."""
    if margin is None:
        total = con["revenue"].sum()
        margin = float(con["contribution_1"].sum() / total) if total > 0 else 0.7
    return min(max(margin, 0.05), 1.0)


def move_effect(
    contributions: pd.DataFrame,
    current: pd.Series,
    proposed: pd.Series,
    status: pd.Series,
    model: pd.DataFrame,
    rules: AssignmentRules,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cost and contribution effect of moving each account to its proposed channel.

    After a move revenue scales with the channel's uplift and the cost becomes the typical
    cost of the proposed channel for the account's status.

    Parameters
    ----------
    contributions
        :func:`contribution_levels` per account (``selling_cost, contribution_1,
        contribution_2``), aligned with the other arguments.
    current, proposed
        Today's and the proposed channel per account.
    status
        Account status per account.
    model
        :func:`service_model` indexed by ``(channel, status)`` (``cost``).
    rules
        :class:`AssignmentRules` (``tele_uplift``, ``field_uplift``).

    Returns
    -------
    tuple of numpy.ndarray
        (proposed cost, change of contribution II (0 where the account stays), moving or not).
    """
    con = contributions
    mult = {
        "online": 1.0,
        "tele": 1 + rules.tele_uplift,
        "field": (1 + rules.tele_uplift) * (1 + rules.field_uplift),
    }
    m_cur = current.map(mult).astype("float64").to_numpy()
    m_new = proposed.map(mult).astype("float64").to_numpy()
    new_cost = (
        model["cost"]
        .reindex(pd.MultiIndex.from_arrays([proposed.to_numpy(dtype=object), status.to_numpy()]))
        .to_numpy()
    )
    moving = proposed.to_numpy(dtype=object) != current.to_numpy(dtype=object)
    new_cost = np.where(moving, new_cost, con["selling_cost"].to_numpy())
    c1_new = con["contribution_1"].to_numpy() * m_new / m_cur
    delta = (c1_new - new_cost) - con["contribution_2"].to_numpy()
    delta = np.where(moving, delta, 0.0)
    return new_cost, delta, moving


def channel_summary(
    account_channel: pd.DataFrame,
    rates: pd.DataFrame,
    model: pd.DataFrame,
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Accounts, workload, FTE, cost and contribution per channel, today and proposed.

    Parameters
    ----------
    account_channel
        :func:`account_channel_table` output.
    rates
        Canonical ``channel_rates``.
    model
        :func:`service_model` (hours per account by channel and status).
    reps
        ``role``, ``fte`` and ``active`` of the reps (FTE available per channel); optional.

    Returns
    -------
    pandas.DataFrame
        ``scenario`` (``today``/``proposed``), ``channel, accounts, workload_hours, fte_needed,
        fte_available, cost, contribution`` (contribution II).
    """
    r = channel_rates(rates)
    ac = account_channel
    rows = []
    fte_avail = pd.Series(0.0, index=list(CHANNELS))
    if reps is not None and "role" in reps.columns:
        rr = reps
        if "active" in rr.columns:
            rr = rr[rr["active"].fillna(True).astype(bool).to_numpy()]
        ch = rr["role"].astype("string").map(ROLE_CHANNEL)
        fte = rr["fte"].fillna(1.0) if "fte" in rr.columns else pd.Series(1.0, index=rr.index)
        fte_avail = fte.groupby(ch.to_numpy()).sum().reindex(list(CHANNELS)).fillna(0.0)
    for scen, col in (("today", "current_channel"), ("proposed", "proposed_channel")):
        ch = ac[col].astype("string")
        if scen == "today":
            cost = ac["cost_to_serve"].to_numpy()
            contrib = ac["contribution_2"].to_numpy()
            hours = (
                model["hours"]
                .reindex(
                    pd.MultiIndex.from_arrays(
                        [ch.to_numpy(dtype=object), ac["status"].to_numpy(dtype=object)]
                    )
                )
                .to_numpy()
            )
        else:
            cost = ac["proposed_cost"].to_numpy()
            contrib = (ac["contribution_2"] + ac["delta_contribution"]).to_numpy()
            hours = (
                model["hours"]
                .reindex(
                    pd.MultiIndex.from_arrays(
                        [ch.to_numpy(dtype=object), ac["status"].to_numpy(dtype=object)]
                    )
                )
                .to_numpy()
            )
        df = pd.DataFrame(
            {"channel": ch.to_numpy(), "cost": cost, "contribution": contrib, "hours": hours}
        )
        g = (
            df.groupby("channel")
            .agg(
                accounts=("cost", "size"),
                workload_hours=("hours", "sum"),
                cost=("cost", "sum"),
                contribution=("contribution", "sum"),
            )
            .reindex(list(CHANNELS))
            .fillna(0.0)
        )
        g["fte_needed"] = g["workload_hours"] / r["capacity_hours"]
        g["fte_available"] = fte_avail.to_numpy()
        g.insert(0, "scenario", scen)
        rows.append(g.reset_index(names="channel"))
    out = pd.concat(rows, ignore_index=True)
    out["accounts"] = out["accounts"].astype("int64")
    return out[
        [
            "scenario",
            "channel",
            "accounts",
            "workload_hours",
            "fte_needed",
            "fte_available",
            "cost",
            "contribution",
        ]
    ]


def channel_sentence(
    summary: pd.DataFrame, account_channel: pd.DataFrame, thresholds: Mapping[str, float]
) -> str:
    """Plain-language summary of the channel proposal for the report."""
    moves = account_channel["migration_wave"].notna().sum()
    s = summary.set_index(["scenario", "channel"])
    gain = s.xs("proposed")["contribution"].sum() - s.xs("today")["contribution"].sum()
    parts = [
        _("The proposal moves {n} of {total} accounts to another channel").format(
            n=formats.num(moves), total=formats.num(len(account_channel))
        ),
        _("and raises the contribution after selling cost by {gain} a year.").format(
            gain=formats.chf(gain, compact=True)
        ),
        _(
            "A field rep pays above a yearly account value of {field}; tele pays over online "
            "above {tele}."
        ).format(field=formats.chf(thresholds["field"]), tele=formats.chf(thresholds["tele"])),
    ]
    return " ".join(parts)


# --------------------------------------------------------------------------- the whole analysis
@dataclass
class ChannelMix:
    """Everything the channel-mix report shows (see :func:`analyse_channel_mix`)."""

    account_channel: pd.DataFrame
    summary: pd.DataFrame
    matrix: pd.DataFrame
    whale: pd.DataFrame
    whale_stats: dict[str, float]
    model: pd.DataFrame
    thresholds: dict[str, float]
    rates: pd.DataFrame
    cost_by_type: pd.DataFrame
    counts: dict[str, int]
    cost_to_serve: pd.DataFrame | None = None
    """Per account (index ``account_id``): :func:`cost_to_serve` with cost and hours per channel."""
    activity_rows: int = 0
    """Activities in the whole log (the matrix notes a log without any)."""


@dataclass(frozen=True)
class ChannelMixSettings:
    """Settings of :func:`analyse_channel_mix` (today's defaults), apart from the tables.

    Parameters
    ----------
    window_days
        Days of activities and revenue looked at, ending on the reference date.
    road_factor, speed_kmh
        Travel assumptions of a visit (see :func:`visit_travel`).
    service_cost_share
        Share of revenue spent on serving the customer (see :func:`contribution_levels`).
    default_cost_share
        Cost share of products without one (see :func:`account_revenue`).
    rules
        :class:`AssignmentRules`; ``None`` = the defaults. ``field_capacity_hours`` 0 means: the
        capacity hours of the active field and key-account reps.
    n_waves
        Migration waves.
    """

    window_days: int = 365
    road_factor: float = ROAD_FACTOR
    speed_kmh: float = SPEED_KMH
    service_cost_share: float = 0.08
    default_cost_share: float = 0.3
    rules: AssignmentRules | None = None
    n_waves: int = 3


def _with_field_capacity(rules: AssignmentRules, reps: pd.DataFrame) -> AssignmentRules:
    """``rules`` with the field capacity of the active field and key-account reps.

    Only where the rules leave it at 0 (and the reps give capacity hours).
    """
    if rules.field_capacity_hours == 0 and {"role", "capacity_hours"} <= set(reps.columns):
        rr = reps
        if "active" in rr.columns:
            rr = rr[rr["active"].fillna(True).astype(bool).to_numpy()]
        is_field = rr["role"].astype("string").isin(["field", "key_account"]).fillna(False)
        cap = float(rr.loc[is_field.to_numpy(bool), "capacity_hours"].fillna(0).sum())
        if cap > 0:
            rules = AssignmentRules(**{**rules.__dict__, "field_capacity_hours": cap})
    return rules


def analyse_channel_mix(
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    products: pd.DataFrame,
    contracts: pd.DataFrame,
    activities: pd.DataFrame | ActivityAggregates,
    rates: pd.DataFrame,
    as_of: str | pd.Timestamp,
    potential: pd.DataFrame | None = None,
    settings: ChannelMixSettings | None = None,
) -> ChannelMix:
    """Run the channel-mix analysis on the canonical tables.

    Parameters
    ----------
    accounts
        Canonical accounts (``account_id, status, latitude, longitude, owner_id,
        channel_preference``).
    reps
        Canonical reps (``rep_id, role, home_latitude, home_longitude, fte, capacity_hours,
        active``).
    products, contracts, rates
        Canonical tables (see :func:`account_revenue`, :func:`channel_rates`).
    activities
        The activity log aggregated by the run's engine
        (:func:`salesanalytics.analyses.channels.effort.engine_activities` for the settings'
        window), or the canonical activities (aggregated here in pandas, to the same figures).
    as_of
        Reference date.
    potential
        Potential phase ``account_potential`` (``account_id, potential_mrr``); optional.
    settings
        :class:`ChannelMixSettings` (window, travel, cost shares, assignment rules, waves);
        ``None`` = today's defaults.
    """
    cfg = settings or ChannelMixSettings()
    window_days, n_waves = cfg.window_days, cfg.n_waves
    rules = cfg.rules or AssignmentRules()
    rules = _with_field_capacity(rules, reps)
    if isinstance(activities, ActivityAggregates):
        agg = activities
        if agg.window != costing_window(as_of, window_days):
            raise ValueError(
                f"the activity aggregates cover {agg.window[0]:%Y-%m-%d} to {agg.window[1]:%Y-%m-%d}"
                f", the channel mix costs {window_days} days up to {pd.Timestamp(as_of):%Y-%m-%d}: "
                "aggregate them with the same window (engine_activities(..., window_days))"
            )
    else:
        agg = aggregate_activities(activities, as_of, window_days)
    priced = channel_costs(
        agg, channel_rates(rates), accounts, reps, cfg.road_factor, cfg.speed_kmh
    )
    ids = accounts["account_id"].astype("string")
    cts = cost_to_serve(priced.accounts, as_of, window_days, ids)
    rev = account_revenue(contracts, products, as_of, window_days, cfg.default_cost_share)
    con = contribution_levels(rev, cts, cfg.service_cost_share)
    cur = current_channel(accounts, cts, contracts, reps)
    status = pd.Series(accounts["status"].astype("string").to_numpy(), index=ids.to_numpy())
    model = service_model(cts, cur.set_index("account_id")["current_channel"], status)
    pot = None
    if potential is not None:
        pot = pd.Series(
            12.0 * potential["potential_mrr"].to_numpy(dtype="float64"),
            index=potential["account_id"].astype("string").to_numpy(),
        )
    ac, th = account_channel_table(
        accounts, con, cur, model, pot, rev["complexity"], rules, n_waves=n_waves
    )
    summary = channel_summary(ac, rates, model, reps)
    matrix = pd.crosstab(
        ac["current_channel"].astype(str), ac["proposed_channel"].astype(str)
    ).reindex(index=list(CHANNELS), columns=list(CHANNELS), fill_value=0)
    matrix.index.name, matrix.columns.name = "today", "proposed"
    customers = ac[ac["status"].eq("customer").fillna(False).to_numpy(bool)]
    whale = whale_curve(
        pd.Series(customers["contribution_3"].to_numpy(), index=customers["account_id"])
    )
    counts = {
        "accounts": len(ac),
        "activities_in_window": priced.counts["activities_in_window"],
        "activities_without_account": int(cts.attrs["without_account"]),
        "visits_without_coordinates": priced.counts["visits_without_coordinates"],
        "contracts_with_default_cost_share": int(rev.attrs["contracts_with_default_cost_share"]),
        "current_channel_from_activities": int(cur["channel_source"].eq("activities").sum()),
        "current_channel_from_fallback": int(cur["channel_source"].ne("activities").sum()),
        "field_capacity_hours": float(rules.field_capacity_hours),
    }
    return ChannelMix(
        account_channel=ac,
        summary=summary,
        matrix=matrix,
        whale=whale,
        whale_stats=whale_summary(whale),
        model=model.reset_index(),
        thresholds=th,
        rates=channel_rates(rates).reset_index(),
        cost_by_type=priced.by_type,
        counts=counts,
        cost_to_serve=cts,
        activity_rows=agg.rows,
    )


def contribution_by_channel(account_channel: pd.DataFrame) -> pd.DataFrame:
    """Revenue, costs and contribution levels per current channel and status (sums, CHF/year).

    Parameters
    ----------
    account_channel
        :func:`account_channel_table` output (``current_channel, status, revenue,
        cost_to_serve, contribution_1, contribution_2, contribution_3``).
    """
    require_columns(
        account_channel,
        ["current_channel", "status", "revenue", "cost_to_serve", "contribution_1"],
        "account channel",
    )
    g = (
        account_channel.groupby(["current_channel", "status"])
        .agg(
            accounts=("revenue", "size"),
            revenue=("revenue", "sum"),
            contribution_1=("contribution_1", "sum"),
            cost_to_serve=("cost_to_serve", "sum"),
            contribution_2=("contribution_2", "sum"),
            contribution_3=("contribution_3", "sum"),
        )
        .reset_index()
    )
    g["cost_per_account"] = g["cost_to_serve"] / g["accounts"]
    g["cost_share_of_revenue"] = np.where(
        g["revenue"] > 0, g["cost_to_serve"] / g["revenue"].where(g["revenue"] > 0, 1), np.nan
    )
    return g


def wave_summary(account_channel: pd.DataFrame) -> pd.DataFrame:
    """Accounts, revenue and yearly gain per migration wave and move (today → proposed).

    Parameters
    ----------
    account_channel
        :func:`account_channel_table` output (``migration_wave, current_channel,
        proposed_channel, revenue, delta_contribution``).
    """
    m = account_channel[account_channel["migration_wave"].notna().to_numpy(bool)]
    g = (
        m.groupby(["migration_wave", "current_channel", "proposed_channel"])
        .agg(
            accounts=("revenue", "size"),
            revenue=("revenue", "sum"),
            yearly_gain=("delta_contribution", "sum"),
        )
        .reset_index()
    )
    return g.sort_values(["migration_wave", "yearly_gain"], ascending=[True, False]).reset_index(
        drop=True
    )


def planted_checks(
    account_channel: pd.DataFrame,
    cost_by_type: pd.DataFrame,
    truth: Mapping[str, Any] | None,
    truth_accounts: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measured against planted cost-to-serve and activity minutes (demo client only).

    Parameters
    ----------
    account_channel
        :func:`account_channel_table` output (``account_id, cost_to_serve``).
    cost_by_type
        :attr:`ChannelMix.cost_by_type` (``type, activities, minutes``).
    truth
        The demo's ``truth.json`` (its ``channel_costs`` section); None for a real client.
    truth_accounts
        The demo's ``truth_accounts.parquet`` (``account_id, serving_channel, status``).

    Returns
    -------
    tuple of pandas.DataFrame
        (``channel, status, accounts, measured, planted, difference`` — mean yearly cost-to-serve
        per account; ``type, activities, measured_minutes, planted_minutes, difference``). Both
        empty without a truth.
    """
    empty = (
        pd.DataFrame(
            columns=["channel", "status", "accounts", "measured", "planted", "difference"]
        ),
        pd.DataFrame(
            columns=["type", "activities", "measured_minutes", "planted_minutes", "difference"]
        ),
    )
    if truth is None or truth_accounts is None or "channel_costs" not in truth:
        return empty
    cc = truth["channel_costs"]
    ta = truth_accounts.assign(account_id=truth_accounts["account_id"].astype("string"))
    m = account_channel[["account_id", "cost_to_serve"]].merge(
        ta[["account_id", "serving_channel", "status"]], on="account_id", how="inner"
    )
    g = (
        m.groupby(["serving_channel", "status"])["cost_to_serve"]
        .agg(accounts="size", measured="mean")
        .reset_index()
        .rename(columns={"serving_channel": "channel"})
    )
    planted = cc.get("expected_cost_to_serve_mean", {})
    g["planted"] = [
        planted.get(f"{c}/{s}", np.nan) for c, s in zip(g["channel"], g["status"], strict=True)
    ]
    g["difference"] = g["measured"] / g["planted"] - 1
    t = (
        cost_by_type.groupby("type")
        .apply(
            lambda d: pd.Series(
                {
                    "activities": d["activities"].sum(),
                    "measured_minutes": np.average(d["minutes"], weights=d["activities"]),
                }
            ),
            include_groups=False,
        )
        .reset_index()
    )
    pm = cc.get("activity_mean_minutes", {})
    t["planted_minutes"] = t["type"].map(pm).astype("float64")
    t["difference"] = t["measured_minutes"] / t["planted_minutes"] - 1
    return g, t
