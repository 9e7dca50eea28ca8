"""From CRM accounts to territory units, and from a unit plan back to account owners.

The engagement's territory model works on Swiss postal codes:

1. :func:`activity_norms` -- minutes and visits per account and year by segment, from the
   activities table; :func:`account_workload` adds travel (haversine from the nearest field rep's
   home x road factor, return trip, at a mean speed) to get hours per account and year.
2. :func:`key_account_carve_out` -- key accounts go to key-account managers first (they stay
   with their current KAM, or the largest accounts by potential when nobody holds that role).
3. :func:`postal_code_units` -- one unit per postal code with potential, workload, accounts,
   customers, today's owner (the field rep holding most of its customer revenue) and a lock flag;
   :func:`customer_units` carves the largest customer relationships out as units of their own,
   :func:`split_lumpy_units` cuts postal codes too large to balance into groups of accounts.
4. :func:`~salesanalytics.analyses.territory.optimiser.design_territories` optimises the units.
5. :func:`match_territories_to_reps` names territories after reps (Hungarian matching on kept
   customer revenue), :func:`account_assignment` turns the unit plan into new account owners, and
   :func:`disruption_report` / :func:`salesforce_owner_changes` / :func:`write_excel` produce
   the deliverables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from salesanalytics.reference import geo
from salesanalytics.reference.geo import ROAD_FACTOR, SPEED_KMH

if TYPE_CHECKING:
    from salesanalytics.aggregate.catalogue import Aggregator

__all__ = [
    "ActivityEffort",
    "account_assignment",
    "account_workload",
    "activity_norms",
    "customer_units",
    "disruption_report",
    "effort_from_activities",
    "field_effort",
    "key_account_carve_out",
    "match_territories_to_reps",
    "n_territories_for_capacity",
    "postal_code_units",
    "salesforce_owner_changes",
    "split_lumpy_units",
    "territory_summary",
    "workload_segment",
    "write_excel",
]


def _require(df: pd.DataFrame, cols: Sequence[str], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(
            f"table '{name}' lacks column(s) {missing}; it has {list(df.columns)}. "
            "Map them in the intake or run the upstream phase."
        )


def workload_segment(accounts: pd.DataFrame, value_col: str = "potential_mrr") -> pd.Series:
    """Segment for activity norms: status x potential class (A = top 20%, B = next 30%, C).

    Parameters
    ----------
    accounts
        ``status`` and ``value_col`` (e.g. ``potential_mrr``) per account.

    Returns
    -------
    pandas.Series
        Text such as ``customer|A`` (string dtype), aligned with ``accounts``.
    """
    _require(accounts, ["status", value_col], "accounts")
    r = accounts[value_col].rank(pct=True, method="first")
    cls = np.where(r > 0.8, "A", np.where(r > 0.5, "B", "C"))
    return (accounts["status"].astype("string").fillna("unknown") + "|" + cls).astype("string")


@dataclass(frozen=True)
class ActivityEffort:
    """Activities of one channel aggregated per account, with the length of the activity window.

    What :func:`activity_norms` needs of the activity log, so that a territory phase never holds
    the log itself: the aggregation layer's ``field_effort`` (:func:`field_effort`), or
    :func:`effort_from_activities` on a pandas frame.

    Attributes
    ----------
    effort
        ``account_id`` (one row with a missing id sums the activities without account),
        ``activities``, ``minutes``, ``visits``; optionally ``channel``.
    years
        Length of the whole activity window in years (first to last activity date, any channel).
    """

    effort: pd.DataFrame
    years: float


def _window_years(first: object, last: object) -> float:
    """Years from ``first`` to ``last`` (1 when unknown or empty), as the activity norms count them."""
    span = (pd.Timestamp(last) - pd.Timestamp(first)) / pd.Timedelta(days=365.25)
    return float(span) if pd.notna(span) and span > 0 else 1.0


def effort_from_activities(
    activities: pd.DataFrame, channel: str | None = "field"
) -> ActivityEffort:
    """Activities, minutes and visits per account of ``channel`` from the canonical activities.

    Parameters
    ----------
    activities
        Canonical ``activities``: ``account_id``, ``date``, ``type``, ``channel``, ``minutes``.
    channel
        Only this channel; ``None`` = all.
    """
    _require(activities, ["account_id", "date", "type", "channel", "minutes"], "activities")
    act = activities if channel is None else activities[activities["channel"] == channel]
    df = pd.DataFrame(
        {
            "account_id": act["account_id"].astype("string").to_numpy(),
            "minutes": act["minutes"].to_numpy(dtype=float),
            "visits": (act["type"] == "visit").to_numpy(dtype=float),
        }
    )
    effort = (
        df.groupby("account_id", dropna=False, sort=True)
        .agg(activities=("minutes", "size"), minutes=("minutes", "sum"), visits=("visits", "sum"))
        .reset_index()
    )
    years = _window_years(activities["date"].min(), activities["date"].max())
    return ActivityEffort(effort, years)


def field_effort(aggregator: Aggregator) -> ActivityEffort:
    """The field activities per account, aggregated by the engine of the run (DuckDB or Spark).

    Parameters
    ----------
    aggregator
        The run's aggregation layer (``Workspace.aggregator()``): its ``field_effort`` and
        ``activity_span`` aggregations.
    """
    span = aggregator.frame("activity_span")
    if not len(span) or int(span["rows"].iloc[0]) == 0:
        years = 1.0
    else:
        years = _window_years(span["first_date"].iloc[0], span["last_date"].iloc[0])
    return ActivityEffort(aggregator.frame("field_effort"), years)


def activity_norms(
    activities: pd.DataFrame | ActivityEffort,
    segments: pd.Series,
    channel: str | None = "field",
    years: float | None = None,
) -> pd.DataFrame:
    """Activity norms per segment: minutes and visits per account and year.

    Parameters
    ----------
    activities
        Canonical ``activities``: ``account_id``, ``date``, ``type``, ``channel``, ``minutes``;
        or the same already aggregated per account (:class:`ActivityEffort`, from the
        aggregation layer). Activities without account are counted in ``n_without_account`` and
        left out.
    segments
        Segment per account, indexed by ``account_id`` (e.g. :func:`workload_segment`).
    channel
        Only activities of this channel (``field`` for field territories); ``None`` = all.
    years
        Length of the activity window in years; default from the first to the last activity date.

    Returns
    -------
    pandas.DataFrame
        ``segment``, ``n_accounts``, ``minutes_per_year``, ``visits_per_year`` (per account, all
        accounts of the segment in the denominator, with or without activity); attribute
        ``attrs["n_without_account"]`` and ``attrs["years"]``.
    """
    if isinstance(activities, ActivityEffort):
        agg = activities
        if channel is not None and "channel" in agg.effort.columns:
            agg = ActivityEffort(agg.effort[agg.effort["channel"] == channel], agg.years)
    else:
        agg = effort_from_activities(activities, channel)
    _require(agg.effort, ["account_id", "activities", "minutes", "visits"], "activity effort")
    if years is None:
        years = agg.years
    eff = agg.effort
    has = eff["account_id"].notna().to_numpy(bool)
    n_without = int(eff.loc[~has, "activities"].sum())
    eff = eff[has]
    seg = segments.copy()
    seg.index = seg.index.astype("string")
    a_seg = eff["account_id"].astype("string").map(seg)
    unknown = int(eff.loc[a_seg.isna().to_numpy(bool), "activities"].sum())
    df = pd.DataFrame(
        {
            "segment": a_seg.to_numpy(),
            "minutes": eff["minutes"].to_numpy(dtype=float),
            "visit": eff["visits"].to_numpy(dtype=float),
        }
    ).dropna(subset=["segment"])
    tot = df.groupby("segment").agg(minutes=("minutes", "sum"), visits=("visit", "sum"))
    n = seg.value_counts()
    out = pd.DataFrame({"n_accounts": n}).join(tot).fillna(0.0)
    out["minutes_per_year"] = out["minutes"] / out["n_accounts"] / years
    out["visits_per_year"] = out["visits"] / out["n_accounts"] / years
    out = out.reset_index(names="segment")[
        ["segment", "n_accounts", "minutes_per_year", "visits_per_year"]
    ]
    out["segment"] = out["segment"].astype("string")
    out = out.sort_values("segment").reset_index(drop=True)
    out.attrs["n_without_account"] = n_without
    out.attrs["n_unknown_account"] = unknown
    out.attrs["years"] = years
    return out


def account_workload(
    accounts: pd.DataFrame,
    segments: pd.Series,
    norms: pd.DataFrame,
    reps: pd.DataFrame,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
) -> pd.DataFrame:
    """Hours per account and year: activity norm of its segment plus travel for its visits.

    Travel per visit = haversine distance from the nearest active field rep's home to the
    account x ``road_factor``, there and back, at ``speed_kmh``. (Once territories are drawn, the
    travel from the assigned rep's home is reported by :func:`territory_summary`.)

    Parameters
    ----------
    accounts
        ``account_id``, ``latitude``, ``longitude`` (missing coordinates: no travel, counted in
        ``attrs["n_without_coordinates"]``).
    segments
        Segment per account indexed by ``account_id``.
    norms
        :func:`activity_norms` output.
    reps
        Canonical ``reps``: ``role``, ``home_latitude``, ``home_longitude``, ``active``.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``segment``, ``activity_hours``, ``visits_per_year``, ``travel_km``
        (one way, nearest field home), ``travel_hours``, ``workload_hours``.
    """
    _require(accounts, ["account_id", "latitude", "longitude"], "accounts")
    _require(reps, ["role", "home_latitude", "home_longitude"], "reps")
    if road_factor < 1 or speed_kmh <= 0:
        raise ValueError(
            f"road_factor must be ≥ 1 and speed_kmh > 0; got {road_factor} and {speed_kmh}"
        )
    seg = segments.copy()
    seg.index = seg.index.astype("string")
    aid = accounts["account_id"].astype("string")
    s = aid.map(seg)
    nm = norms.set_index("segment")
    out = pd.DataFrame({"account_id": aid.to_numpy(), "segment": s.to_numpy()})
    out["activity_hours"] = s.map(nm["minutes_per_year"]).fillna(0.0).to_numpy() / 60.0
    out["visits_per_year"] = s.map(nm["visits_per_year"]).fillna(0.0).to_numpy()
    field = reps[reps["role"] == "field"]
    if "active" in reps:
        field = field[field["active"].fillna(True).astype(bool)]
    field = field.dropna(subset=["home_latitude", "home_longitude"])
    lat = accounts["latitude"].to_numpy(dtype=float)
    lon = accounts["longitude"].to_numpy(dtype=float)
    if len(field):
        d = geo.haversine_km(
            lat[:, None],
            lon[:, None],
            field["home_latitude"].to_numpy(dtype=float)[None, :],
            field["home_longitude"].to_numpy(dtype=float)[None, :],
        )
        km = np.nanmin(np.where(np.isnan(d), np.inf, d), axis=1)
        km = np.where(np.isfinite(km), km, 0.0)
    else:
        km = np.zeros(len(accounts))
    out["travel_km"] = km * road_factor
    out["travel_hours"] = out["visits_per_year"] * 2 * out["travel_km"] / speed_kmh
    out["workload_hours"] = out["activity_hours"] + out["travel_hours"]
    out.attrs["n_without_coordinates"] = int(np.isnan(lat).sum() | np.isnan(lon).sum())
    return out


def key_account_carve_out(
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    share: float = 0.01,
    value_col: str = "potential_mrr",
) -> pd.Series:
    """Which accounts are key accounts, carved out to key-account managers before territories.

    Accounts owned today by a rep with role ``key_account`` stay key accounts. When the client
    has no such rep, the ``share`` largest accounts by ``value_col`` are flagged (they then need
    a KAM; see the portfolio phase).

    Parameters
    ----------
    accounts
        ``account_id``, ``owner_id``, ``value_col``.
    reps
        ``rep_id``, ``role``.

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``accounts``.
    """
    _require(accounts, ["account_id", "owner_id", value_col], "accounts")
    _require(reps, ["rep_id", "role"], "reps")
    kam = set(reps.loc[reps["role"] == "key_account", "rep_id"].astype(str))
    if kam:
        return accounts["owner_id"].astype("string").isin(kam).fillna(False).astype(bool)
    n = int(math.ceil(share * len(accounts)))
    top = accounts[value_col].rank(ascending=False, method="first") <= n
    return top.astype(bool)


def postal_code_units(
    accounts: pd.DataFrame,
    field_reps: Sequence[str],
    postal_codes: pd.DataFrame | None = None,
    locked_postal_codes: Sequence[str] = (),
) -> pd.DataFrame:
    """One territory unit per Swiss postal code, with the accounts' metrics summed.

    Every postal code of :func:`salesanalytics.reference.geo.postal_codes` becomes a unit (so the map is
    covered and territories can be contiguous), plus postal codes of accounts that are not in it
    (placed at their accounts' mean coordinates). Accounts without a postal code are placed
    nowhere: they are counted in ``attrs["n_without_postal_code"]`` and keep their owner.

    Parameters
    ----------
    accounts
        Accounts in the territory scope (key accounts already carved out): ``account_id``,
        ``postal_code``, ``latitude``, ``longitude``, ``status``, ``owner_id``,
        ``potential_mrr``, ``current_mrr``, ``workload_hours``.
    field_reps
        Rep ids that own territories today: a unit's current territory is the one of these reps
        holding most of its customer revenue (else most of its accounts).
    locked_postal_codes
        Postal codes that must stay with their current rep.

    Returns
    -------
    pandas.DataFrame
        ``unit_id`` (= postal code), ``latitude``, ``longitude``, ``canton``, ``place``,
        ``potential_mrr``, ``workload_hours``, ``current_mrr``, ``n_accounts``,
        ``n_customers``, ``current`` (rep id or missing), ``locked`` (bool).
    """
    _require(
        accounts,
        [
            "account_id",
            "postal_code",
            "latitude",
            "longitude",
            "status",
            "owner_id",
            "potential_mrr",
            "current_mrr",
            "workload_hours",
        ],
        "accounts",
    )
    pc = geo.postal_codes() if postal_codes is None else postal_codes
    acc = accounts[accounts["postal_code"].notna()].copy()
    acc["postal_code"] = acc["postal_code"].astype("string")
    acc["is_customer"] = (acc["status"] == "customer").astype(int)
    agg = acc.groupby("postal_code").agg(
        potential_mrr=("potential_mrr", "sum"),
        workload_hours=("workload_hours", "sum"),
        current_mrr=("current_mrr", "sum"),
        n_accounts=("account_id", "size"),
        n_customers=("is_customer", "sum"),
        lat=("latitude", "mean"),
        lon=("longitude", "mean"),
    )
    units = pd.DataFrame(
        {
            "unit_id": pc["postal_code"].astype("string").to_numpy(),
            "latitude": pc["latitude"].to_numpy(dtype=float),
            "longitude": pc["longitude"].to_numpy(dtype=float),
            "canton": pc["canton"].astype("string").to_numpy(),
            "place": pc["place"].astype("string").to_numpy(),
        }
    )
    extra = agg.index.difference(pd.Index(units["unit_id"]))
    if len(extra):
        units = pd.concat(
            [
                units,
                pd.DataFrame(
                    {
                        "unit_id": pd.array(extra, dtype="string"),
                        "latitude": agg.loc[extra, "lat"].to_numpy(),
                        "longitude": agg.loc[extra, "lon"].to_numpy(),
                        "canton": pd.array([pd.NA] * len(extra), dtype="string"),
                        "place": pd.array([pd.NA] * len(extra), dtype="string"),
                    }
                ),
            ],
            ignore_index=True,
        )
    units = units.dropna(subset=["latitude", "longitude"]).reset_index(drop=True)
    for c in ("potential_mrr", "workload_hours", "current_mrr", "n_accounts", "n_customers"):
        units[c] = units["unit_id"].map(agg[c]).fillna(0).astype("float64").to_numpy()
    # today's owner: field rep with most customer revenue, then most accounts
    reps_set = set(map(str, field_reps))
    own = acc[acc["owner_id"].astype("string").isin(reps_set).fillna(False)]
    score = own.groupby(["postal_code", "owner_id"]).agg(
        mrr=("current_mrr", "sum"), n=("account_id", "size")
    )
    score = score.reset_index().sort_values(
        ["postal_code", "mrr", "n", "owner_id"], ascending=[True, False, False, True]
    )
    best = score.drop_duplicates("postal_code").set_index("postal_code")["owner_id"]
    units["current"] = units["unit_id"].map(best).astype("string")
    units["locked"] = (
        units["unit_id"].isin(list(map(str, locked_postal_codes))) & units["current"].notna()
    )
    units.attrs["n_without_postal_code"] = int(accounts["postal_code"].isna().sum())
    units.attrs["n_locked_without_owner"] = int(
        (units["unit_id"].isin(list(map(str, locked_postal_codes))) & units["current"].isna()).sum()
    )
    return units


def n_territories_for_capacity(total_workload_hours: float, capacity_hours_per_rep: float) -> int:
    """Number of territories needed: total workload / capacity per rep, rounded up (at least 1)."""
    if capacity_hours_per_rep <= 0:
        raise ValueError(
            f"capacity_hours_per_rep must be positive (hours per rep and year); got "
            f"{capacity_hours_per_rep}"
        )
    return max(1, int(math.ceil(total_workload_hours / capacity_hours_per_rep - 1e-9)))


def match_territories_to_reps(
    unit_assignment: pd.DataFrame,
    units: pd.DataFrame,
    reps: Sequence[str],
    territory_share: dict[str, float] | None = None,
    rep_share: dict[str, float] | None = None,
    homes: pd.DataFrame | None = None,
    travel_weight: float = 1.0,
    required: Sequence[str] = (),
) -> dict[str, str]:
    """Give every territory a rep: the matching that keeps the most customer revenue with its rep.

    Parameters
    ----------
    unit_assignment
        ``unit_id``, ``territory_id`` (optimiser output).
    units
        ``unit_id``, ``current`` (today's rep), ``current_mrr`` (value to keep).
    reps
        Rep ids available for territories.
    territory_share, rep_share
        Optional target share of each territory and FTE share of each rep: a territory sized for
        a part-time rep goes to a rep with that FTE (mismatches are heavily penalised).
    homes
        Optional ``rep_id``, ``home_latitude``, ``home_longitude``: the matching then also
        shortens travel (workload-weighted distance from the rep's home to the territory's units,
        needs ``latitude``, ``longitude``, ``workload_hours`` in ``units``).
    travel_weight
        Weight of travel against kept customer revenue (both scaled to their largest value).
    required
        Reps who must get a territory when there are fewer territories than reps (the reps that
        manual changes lock units to), each preferably the territory holding most of the units
        locked to them (``locked`` in ``units``, with ``current`` = the rep).

    Returns
    -------
    dict
        Territory id -> rep id; territories left without a rep (more territories than reps) get
        ``VACANT-01``, ``VACANT-02``... (a hire is needed).
    """
    m = unit_assignment[["unit_id", "territory_id"]].merge(
        units[
            [
                c
                for c in (
                    "unit_id",
                    "current",
                    "current_mrr",
                    "n_accounts",
                    "latitude",
                    "longitude",
                    "workload_hours",
                )
                if c in units.columns
            ]
        ],
        on="unit_id",
    )
    terr = sorted(m["territory_id"].astype(str).unique())
    reps = [str(r) for r in reps]
    keep = np.zeros((len(terr), len(reps)))
    ti = {t: i for i, t in enumerate(terr)}
    ri = {r: i for i, r in enumerate(reps)}
    val = m["current_mrr"].to_numpy() + 1e-3 * m["n_accounts"].to_numpy()
    for t, c, v in zip(m["territory_id"].astype(str), m["current"], val, strict=True):
        if pd.notna(c) and str(c) in ri:
            keep[ti[t], ri[str(c)]] += v
    cost = -keep / max(keep.max(), 1e-12)
    if (
        homes is not None
        and len(reps)
        and {"latitude", "longitude", "workload_hours"} <= set(m.columns)
    ):
        h = homes.set_index(homes["rep_id"].astype(str)).reindex(reps)
        wgt = m["workload_hours"].to_numpy(dtype=float) + 1e-6
        t_idx = m["territory_id"].astype(str).map(ti).to_numpy()
        travel = np.zeros((len(terr), len(reps)))
        d = geo.haversine_km(
            m["latitude"].to_numpy(dtype=float)[:, None],
            m["longitude"].to_numpy(dtype=float)[:, None],
            h["home_latitude"].to_numpy(dtype=float)[None, :],
            h["home_longitude"].to_numpy(dtype=float)[None, :],
        )
        d = np.where(np.isnan(d), np.nanmean(d), d)
        for j in range(len(reps)):
            travel[:, j] = np.bincount(t_idx, weights=wgt * d[:, j], minlength=len(terr))
        cost = cost + travel_weight * travel / max(travel.max(), 1e-12)
    if territory_share and rep_share:
        ts = np.array([territory_share.get(t, 0.0) for t in terr])
        rs = np.array([rep_share.get(r, 0.0) for r in reps])
        ts, rs = ts / max(ts.sum(), 1e-12), rs / max(rs.sum(), 1e-12)
        cost = cost + (keep.sum() + 1.0) * 10 * np.abs(ts[:, None] - rs[None, :]) / max(
            ts.max(), 1e-12
        )
    must = [ri[str(r)] for r in dict.fromkeys(str(r) for r in required) if str(r) in ri]
    if must:
        # a bonus larger than any other cost difference: every required rep gets a territory,
        # the one with most of the units locked to them first
        big = float(np.abs(cost).max()) * 2 * (len(terr) + 1) + 1.0
        cost[:, must] -= big
        if "locked" in units.columns:
            lk = units.loc[units["locked"].astype(bool), ["unit_id", "current"]]
            lk = lk.merge(unit_assignment[["unit_id", "territory_id"]], on="unit_id")
            for t, c in zip(lk["territory_id"].astype(str), lk["current"].astype(str), strict=True):
                if c in ri and ri[c] in must and t in ti:
                    cost[ti[t], ri[c]] -= big / (len(lk) + 1)
    rows, cols = linear_sum_assignment(cost) if len(reps) else (np.array([]), np.array([]))
    out = {terr[r]: reps[c] for r, c in zip(rows, cols, strict=True)}
    vacant = [t for t in terr if t not in out]
    for i, t in enumerate(vacant, start=1):
        out[t] = f"VACANT-{i:02d}"
    return out


def account_assignment(
    accounts: pd.DataFrame,
    unit_territory: pd.Series,
    territory_rep: dict[str, str],
    key_account: pd.Series,
    locked_accounts: Sequence[str] = (),
    unit_col: str = "postal_code",
) -> pd.DataFrame:
    """New owner of every account from the unit plan.

    Key accounts and locked accounts keep their owner (``locked`` = True); accounts of a postal
    code go to the rep of the postal code's territory; accounts without postal code (or whose
    postal code is not a unit) keep their owner (``locked`` True, counted in ``attrs``).

    Parameters
    ----------
    accounts
        ``account_id``, ``owner_id``, ``postal_code``.
    unit_territory
        Territory id per postal code (index = postal code).
    territory_rep
        Territory id -> rep id (:func:`match_territories_to_reps`).
    key_account
        Boolean per account (aligned with ``accounts``).
    locked_accounts
        Account ids that must keep their owner.
    unit_col
        Column of ``accounts`` holding the account's unit id (``postal_code``, or ``unit_id``
        when large postal codes are split into pieces by :func:`split_lumpy_units`).

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``territory_id``, ``rep_id``, ``previous_rep_id``, ``changed``,
        ``locked``, ``key_account``.
    """
    _require(accounts, ["account_id", "owner_id", unit_col], "accounts")
    ut = unit_territory.copy()
    ut.index = ut.index.astype("string")
    pcode = accounts[unit_col].astype("string")
    terr = pcode.map(ut).astype("string")
    ka = pd.Series(np.asarray(key_account, dtype=bool), index=accounts.index)
    lock = accounts["account_id"].astype("string").isin(list(map(str, locked_accounts))).to_numpy()
    no_unit = terr.isna().to_numpy() & ~ka.to_numpy()
    keep_owner = ka.to_numpy() | lock | no_unit
    prev = accounts["owner_id"].astype("string")
    rep = terr.map(pd.Series(territory_rep, dtype="string")).astype("string")
    rep = rep.where(~keep_owner, prev)
    terr = terr.where(~ka.to_numpy(), "key_accounts")
    terr = terr.where(~(lock & ~ka.to_numpy()) | terr.notna(), "locked")
    terr = terr.fillna("unassigned")
    out = pd.DataFrame(
        {
            "account_id": accounts["account_id"].astype("string").to_numpy(),
            "territory_id": terr.astype("string").to_numpy(),
            "rep_id": rep.to_numpy(),
            "previous_rep_id": prev.to_numpy(),
        }
    )
    out["changed"] = (out["rep_id"].fillna("") != out["previous_rep_id"].fillna("")).astype(bool)
    out["locked"] = keep_owner.astype(bool)
    out["key_account"] = ka.to_numpy().astype(bool)
    out.attrs["n_without_unit"] = int(no_unit.sum())
    return out


def territory_summary(
    assignment: pd.DataFrame,
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
    bases: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per territory (and key-account book) with the client-facing figures.

    Parameters
    ----------
    assignment
        :func:`account_assignment` output.
    accounts
        ``account_id``, ``status``, ``potential_mrr``, ``current_mrr``, ``workload_hours``,
        ``activity_hours``, ``visits_per_year``, ``latitude``, ``longitude``.
    reps
        ``rep_id``, ``name``, ``fte``, ``capacity_hours``, ``home_latitude``, ``home_longitude``.
    bases
        Optional base per territory (``territory_id``, ``base_latitude``, ``base_longitude``,
        e.g. :func:`~salesanalytics.analyses.territory.plan.territory_bases`): travel of a territory's
        accounts is counted from its base -- the rep's home, or the suggested base of a vacant
        territory (without it a vacant territory would show no travel at all).

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``rep_id``, ``rep_name``, ``fte``, ``potential_mrr``,
        ``workload_hours`` (activity + travel from the rep's home), ``travel_hours``,
        ``n_accounts``, ``n_customers``, ``current_mrr``, ``capacity_hours``, ``utilisation``
        (workload / capacity), ``mean_travel_km`` (one way, per visit).
    """
    a = assignment.merge(accounts, on="account_id", how="left", suffixes=("", "_acc"))
    r = reps.set_index(reps["rep_id"].astype("string"))
    hl = a["rep_id"].map(r["home_latitude"]).astype("float64")
    hn = a["rep_id"].map(r["home_longitude"]).astype("float64")
    if bases is not None and len(bases):
        b = bases.set_index(bases["territory_id"].astype("string"))
        tl = a["territory_id"].astype("string").map(b["base_latitude"]).astype("float64")
        tn = a["territory_id"].astype("string").map(b["base_longitude"]).astype("float64")
        hl, hn = tl.where(tl.notna(), hl), tn.where(tn.notna(), hn)
    km = geo.haversine_km(a["latitude"], a["longitude"], hl, hn) * road_factor
    km = np.where(np.isnan(km), 0.0, km)
    a["travel_km"] = km
    a["travel_hours"] = a["visits_per_year"].fillna(0.0) * 2 * km / speed_kmh
    a["workload"] = a["activity_hours"].fillna(0.0) + a["travel_hours"]
    a["is_customer"] = (a["status"] == "customer").astype(int)
    a["visit_km"] = a["visits_per_year"].fillna(0.0) * km
    g = a.groupby(["territory_id", "rep_id"], dropna=False, as_index=False).agg(
        potential_mrr=("potential_mrr", "sum"),
        workload_hours=("workload", "sum"),
        travel_hours=("travel_hours", "sum"),
        n_accounts=("account_id", "size"),
        n_customers=("is_customer", "sum"),
        current_mrr=("current_mrr", "sum"),
        visits=("visits_per_year", "sum"),
        visit_km=("visit_km", "sum"),
    )
    g["mean_travel_km"] = g["visit_km"] / g["visits"].replace(0, np.nan)
    g = g.drop(columns=["visits", "visit_km"])
    g["rep_name"] = g["rep_id"].map(r["name"]).astype("string").fillna("vacant (to hire)")
    g["fte"] = g["rep_id"].map(r["fte"]).astype("float64")
    g["capacity_hours"] = g["rep_id"].map(r["capacity_hours"]).astype("float64")
    g["utilisation"] = g["workload_hours"] / g["capacity_hours"]
    cols = [
        "territory_id",
        "rep_id",
        "rep_name",
        "fte",
        "potential_mrr",
        "workload_hours",
        "travel_hours",
        "n_accounts",
        "n_customers",
        "current_mrr",
        "capacity_hours",
        "utilisation",
        "mean_travel_km",
    ]
    g = g[cols].sort_values(["territory_id", "rep_id"]).reset_index(drop=True)
    for c in ("territory_id", "rep_id"):
        g[c] = g[c].astype("string")
    return g


def disruption_report(assignment: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """Who loses and gains which customers: one row per rep (previous or new owner).

    Parameters
    ----------
    assignment
        ``account_id``, ``rep_id``, ``previous_rep_id``, ``changed``.
    accounts
        ``account_id``, ``status``, ``current_mrr``, ``potential_mrr``.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``customers_before``, ``customers_lost``, ``customers_gained``,
        ``customers_after``, ``mrr_lost``, ``mrr_gained``, ``potential_lost``,
        ``potential_gained``, ``kept_share`` (share of the rep's customer revenue that stays).
    """
    a = assignment.merge(
        accounts[["account_id", "status", "current_mrr", "potential_mrr"]], on="account_id"
    )
    cust = (a["status"] == "customer").astype(int)
    a = a.assign(cust=cust, cmrr=a["current_mrr"] * cust)
    moved = a[a["changed"]]
    before = a.groupby("previous_rep_id").agg(
        customers_before=("cust", "sum"), mrr_before=("cmrr", "sum")
    )
    after = a.groupby("rep_id").agg(customers_after=("cust", "sum"))
    lost = moved.groupby("previous_rep_id").agg(
        customers_lost=("cust", "sum"),
        mrr_lost=("cmrr", "sum"),
        potential_lost=("potential_mrr", "sum"),
    )
    gained = moved.groupby("rep_id").agg(
        customers_gained=("cust", "sum"),
        mrr_gained=("cmrr", "sum"),
        potential_gained=("potential_mrr", "sum"),
    )
    out = before.join([lost], how="outer").join([after, gained], how="outer").fillna(0.0)
    out.index = out.index.astype("string")
    out = out.reset_index(names="rep_id")
    out["kept_share"] = 1 - out["mrr_lost"] / out["mrr_before"].replace(0, np.nan)
    cols = [
        "rep_id",
        "customers_before",
        "customers_lost",
        "customers_gained",
        "customers_after",
        "mrr_lost",
        "mrr_gained",
        "potential_lost",
        "potential_gained",
        "kept_share",
    ]
    out = out[cols]
    for c in ("customers_before", "customers_lost", "customers_gained", "customers_after"):
        out[c] = out[c].astype("int64")
    return out.sort_values(["mrr_lost", "rep_id"], ascending=[False, True]).reset_index(drop=True)


def salesforce_owner_changes(assignment: pd.DataFrame) -> pd.DataFrame:
    """Owner changes for Salesforce Data Loader (update Account): columns ``Id``, ``OwnerId``.

    Only accounts whose owner changes, and never to a vacant territory (those need a hire
    first; they are listed in ``attrs["n_vacant"]``).
    """
    _require(assignment, ["account_id", "rep_id", "changed"], "assignment")
    ch = assignment[assignment["changed"] & assignment["rep_id"].notna()]
    vacant = ch["rep_id"].astype(str).str.startswith("VACANT-")
    out = pd.DataFrame(
        {
            "Id": ch.loc[~vacant, "account_id"].to_numpy(),
            "OwnerId": ch.loc[~vacant, "rep_id"].to_numpy(),
        }
    )
    out.attrs["n_vacant"] = int(vacant.sum())
    return out.sort_values("Id").reset_index(drop=True)


def write_excel(
    path: str | Path, sheets: dict[str, pd.DataFrame], names: Mapping[str, str] | None = None
) -> Path:
    """Write the client workbook: one sheet per table, laid out for the client.

    Sheet names are cut to Excel's 31 chars; the layout is
    :func:`salesanalytics.present.excel.sheet_layout` (words as headers, ``names`` of ids beside
    them, number formats, frozen header row, column widths).

    Delegates to :func:`salesanalytics.present.deliverables.write_excel`: missing values are empty
    cells, booleans TRUE/FALSE, numbers numbers, and text always text, neutralised against
    formula injection (a CRM name that starts with ``=``, ``+``, ``-`` or ``@`` gets a leading
    ``'``); the file is replaced atomically.
    """
    from salesanalytics.present.deliverables import write_excel as _write

    return _write(path, sheets, names)


def customer_units(
    units: pd.DataFrame,
    accounts: pd.DataFrame,
    edges: pd.DataFrame,
    field_reps: Sequence[str],
    min_mrr: float | None = None,
    top_share: float = 0.05,
    metrics: Sequence[str] = ("potential_mrr", "workload_hours"),
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Carve the most valuable customer relationships out of their postal codes as own units.

    Each selected customer becomes a unit of its own, located at the account and linked to its
    postal code's unit and that unit's neighbours, so the optimiser's continuity term can keep
    the customer with its rep while the postal code's prospects move to another territory. Its
    metrics are taken out of its postal code's unit (totals are unchanged).

    Parameters
    ----------
    units
        :func:`postal_code_units` output (``unit_id`` = postal code, ``latitude``,
        ``longitude``, ``canton``, ``place``, the ``metrics``, ``current_mrr``, ``n_accounts``,
        ``n_customers``, ``current``, ``locked``).
    accounts
        The accounts summed into ``units``: ``account_id``, ``postal_code``, ``latitude``,
        ``longitude``, ``status``, ``owner_id``, ``current_mrr`` and the ``metrics``.
    edges
        Postal-code neighbour pairs (first two columns unit ids).
    field_reps
        Rep ids owning territories today: only customers of these reps are carved out (a
        customer unit's ``current`` is its owner).
    min_mrr
        Customers with at least this monthly revenue are carved out; default: the ``top_share``
        of field customers by monthly revenue.
    top_share
        Share of the field reps' customers carved out when ``min_mrr`` is not given (0 = none).

    Returns
    -------
    (units, edges, account_unit)
        Units with the customer units appended (ids ``<postal code>@<account id>``, column
        ``postal_code`` names the postal code of every unit, ``customer_unit`` flags them), the
        neighbour pairs (``a``, ``b``) and the unit of each carved-out account (Series indexed by
        ``account_id``). ``units.attrs["n_customer_units"]`` counts them. Customers in locked
        postal codes stay in them.

    Raises
    ------
    ValueError
        For a ``top_share`` outside [0, 1] or a negative ``min_mrr``.
    """
    metrics = list(metrics)
    _require(
        accounts,
        ["account_id", "postal_code", "latitude", "longitude", "status", "owner_id", "current_mrr"]
        + metrics,
        "accounts",
    )
    if not 0 <= top_share <= 1:
        raise ValueError(f"top_share must be between 0 and 1 (e.g. 0.05); got {top_share}")
    if min_mrr is not None and min_mrr < 0:
        raise ValueError(f"min_mrr must be ≥ 0 (monthly revenue in CHF); got {min_mrr}")
    u = units.copy()
    if "postal_code" not in u.columns:
        u["postal_code"] = u["unit_id"].astype("string")
    u["customer_unit"] = False
    e = pd.DataFrame({"a": edges.iloc[:, 0].astype(str), "b": edges.iloc[:, 1].astype(str)})
    reps = set(map(str, field_reps))
    acc = accounts[accounts["postal_code"].notna()]
    chosen = _chosen_customers(u, acc, reps, min_mrr, top_share)
    empty = pd.Series([], index=pd.Index([], dtype="string", name="account_id"), dtype="string")
    if not chosen.any():
        u.attrs.update(units.attrs)
        u.attrs["n_customer_units"] = 0
        return u, e, empty
    c = acc[chosen]
    new = _customer_unit_rows(c, u, metrics)
    cid, cpc = new["unit_id"].array, c["postal_code"].astype(str).to_numpy()
    _take_out_customers(u, new, acc[~chosen], reps, metrics)
    out = pd.concat([u, new[u.columns]], ignore_index=True)
    # edges: to the own postal code and to every neighbour of it
    nb = pd.concat([e, e.rename(columns={"a": "b", "b": "a"})], ignore_index=True)
    link = pd.DataFrame({"a": cid.astype(str), "pc": cpc})
    to_nb = link.merge(nb, left_on="pc", right_on="a", suffixes=("", "_e"))[["a", "b"]]
    e_out = pd.concat(
        [e, pd.DataFrame({"a": link["a"], "b": link["pc"]}), to_nb], ignore_index=True
    )
    account_unit = pd.Series(
        cid, index=pd.Index(c["account_id"].astype("string").to_numpy(), name="account_id")
    )
    out.attrs.update(units.attrs)
    out.attrs["n_customer_units"] = len(new)
    return out, e_out.astype(str).reset_index(drop=True), account_unit


def _chosen_customers(
    u: pd.DataFrame, acc: pd.DataFrame, reps: set[str], min_mrr: float | None, top_share: float
) -> np.ndarray:
    """Which accounts of ``acc`` become customer units (bool per row).

    Eligible: customers of the field ``reps`` with revenue, in a postal code of ``u`` that is
    not locked; of them those with ``min_mrr`` or more, else the ``top_share`` by revenue.
    """
    locked_pc = set(u.loc[u["locked"].astype(bool), "unit_id"].astype(str))
    pcs = set(u["unit_id"].astype(str))
    pc = acc["postal_code"].astype("string")
    elig = (
        (acc["status"] == "customer").to_numpy()
        & acc["owner_id"].astype("string").isin(reps).fillna(False).to_numpy()
        & pc.isin(pcs).fillna(False).to_numpy()
        & ~pc.isin(locked_pc).fillna(False).to_numpy()
        & (acc["current_mrr"].to_numpy(dtype=float) > 0)
    )
    mrr = acc["current_mrr"].to_numpy(dtype=float)
    if min_mrr is not None:
        return elig & (mrr >= min_mrr)
    chosen = np.zeros(len(acc), dtype=bool)
    n = int(math.floor(top_share * elig.sum()))
    if n > 0:
        order = np.lexsort((acc["account_id"].astype(str).to_numpy(), -mrr))
        chosen[order[elig[order]][:n]] = True
    return chosen


def _customer_unit_rows(c: pd.DataFrame, u: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Make one unit per chosen customer ``c`` (id ``<postal code>@<account id>``).

    The unit lies at the account (else at its postal code) and has the postal code's canton and
    place.
    """
    cpc = c["postal_code"].astype(str).to_numpy()
    cid = pd.array(
        [f"{p}@{a}" for p, a in zip(cpc, c["account_id"].astype(str), strict=True)],
        dtype="string",
    )
    parent = u.set_index(u["unit_id"].astype(str))
    new = pd.DataFrame(
        {
            "unit_id": cid,
            "latitude": c["latitude"].fillna(pd.Series(cpc, index=c.index).map(parent["latitude"])),
            "longitude": c["longitude"].fillna(
                pd.Series(cpc, index=c.index).map(parent["longitude"])
            ),
            "canton": pd.Series(cpc).map(parent["canton"]).astype("string").to_numpy(),
            "place": pd.Series(cpc).map(parent["place"]).astype("string").to_numpy(),
        }
    )
    for m in [*metrics, "current_mrr"]:
        new[m] = c[m].to_numpy(dtype=float)
    new["n_accounts"] = 1.0
    new["n_customers"] = 1.0
    new["current"] = pd.array(c["owner_id"].astype(str).to_numpy(), dtype="string")
    new["locked"] = False
    new["postal_code"] = pd.array(cpc, dtype="string")
    new["customer_unit"] = True
    return new


def _take_out_customers(
    u: pd.DataFrame, new: pd.DataFrame, others: pd.DataFrame, reps: set[str], metrics: list[str]
) -> None:
    """Subtract the customer units ``new`` from their postal codes in ``u`` (in place).

    A postal code that lost customers belongs today to the field rep with most revenue left in
    ``others`` (the accounts not carved out).
    """
    taken = new.groupby("postal_code")[[*metrics, "current_mrr", "n_accounts", "n_customers"]].sum()
    idx = u["unit_id"].astype(str)
    for col in taken.columns:
        sub = idx.map(taken[col]).fillna(0.0).to_numpy()
        u[col] = np.clip(u[col].to_numpy(dtype=float) - sub, 0.0, None)
    rest = others[others["owner_id"].astype("string").isin(reps).fillna(False).to_numpy()]
    score = (
        rest.groupby([rest["postal_code"].astype(str), rest["owner_id"].astype(str)])
        .agg(mrr=("current_mrr", "sum"), n=("account_id", "size"))
        .reset_index()
        .sort_values(["postal_code", "mrr", "n", "owner_id"], ascending=[True, False, False, True])
        .drop_duplicates("postal_code")
        .set_index("postal_code")["owner_id"]
    )
    touched = idx.isin(taken.index)
    u.loc[touched, "current"] = idx[touched].map(score).astype("string")


def split_lumpy_units(
    units: pd.DataFrame,
    accounts: pd.DataFrame,
    edges: pd.DataFrame,
    n_territories: int,
    field_reps: Sequence[str],
    max_share: float = 0.02,
    metrics: Sequence[str] = ("potential_mrr", "workload_hours"),
    split_by: str = "mix",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Split postal codes too large to balance into account-level pieces in their neighbourhood.

    A postal code whose potential or workload exceeds ``max_share`` of a territory's target
    (total / ``n_territories``) cannot be balanced finely: it is cut into the fewest pieces of
    whole accounts that stay below that share on every metric. With ``split_by="mix"`` (default)
    accounts are ordered by their metric mix (potential per hour of work, in classes), then by
    bearing around the postal code's centre, and cut into runs of equal load: the pieces differ
    in mix, so a territory can correct its balance of potential against workload nearby instead
    of reaching far away (decisive in cities, whose accounts bring much potential per hour).
    ``split_by="bearing"`` makes every piece a sector of the postal code. Each piece has the
    neighbours of its postal code and of the other pieces, so a territory may take part of a
    large postal code and stay contiguous. Locked postal codes are never split.

    Parameters
    ----------
    units
        :func:`postal_code_units` output: ``unit_id`` (postal code), ``latitude``,
        ``longitude``, ``canton``, ``place``, the ``metrics``, ``current_mrr``, ``n_accounts``,
        ``n_customers``, ``current``, ``locked``.
    accounts
        The accounts summed into ``units``: ``account_id``, ``postal_code``, ``latitude``,
        ``longitude``, ``status``, ``owner_id``, ``current_mrr`` and the ``metrics``.
    edges
        Postal-code neighbour pairs (first two columns unit ids).
    n_territories
        Number of territories (for the target).
    field_reps
        Rep ids owning territories today (a piece's ``current`` is the one holding most of its
        customer revenue, as in :func:`postal_code_units`).
    max_share
        Largest share of a territory's target one unit may carry (0.02 = 2%).
    split_by
        ``"mix"`` or ``"bearing"`` (see above).

    Returns
    -------
    (units, edges, account_unit)
        Units with an added ``postal_code`` column (pieces have ids ``<postal code>#<n>``),
        their neighbour pairs (``a``, ``b``), and the unit id of every account with a postal
        code (Series indexed by ``account_id``). ``units.attrs["n_split"]`` counts the postal
        codes split, ``attrs["n_pieces"]`` the pieces made of them.
    """
    metrics = list(metrics)
    _require(
        accounts,
        ["account_id", "postal_code", "latitude", "longitude", "status", "owner_id", *metrics],
        "accounts",
    )
    if not 0 < max_share <= 1:
        raise ValueError(
            f"max_share must be in (0, 1] (e.g. 0.02 = 2% of a target); got {max_share}"
        )
    if n_territories < 1:
        raise ValueError(f"n_territories must be at least 1; got {n_territories}")
    if split_by not in ("mix", "bearing"):
        raise ValueError(f"split_by must be 'mix' or 'bearing'; got {split_by!r}")
    u = units.copy()
    if "postal_code" not in u.columns:
        u["postal_code"] = u["unit_id"].astype("string")
    acc = accounts[accounts["postal_code"].notna()]
    aid = acc["account_id"].astype("string").to_numpy()
    pc_of = acc["postal_code"].astype("string").to_numpy()
    account_unit = pd.Series(pc_of, index=pd.Index(aid, name="account_id"), dtype="string")
    tot = u[metrics].sum().to_numpy(dtype=float)
    tot = np.where(tot > 0, tot, 1.0)
    share = u[metrics].to_numpy(dtype=float) / (tot / n_territories)
    worst = share.max(axis=1)
    lumpy = (worst > max_share) & ~u["locked"].to_numpy(dtype=bool) & (u["n_accounts"] > 1)
    e = pd.DataFrame({"a": edges.iloc[:, 0].astype(str), "b": edges.iloc[:, 1].astype(str)})
    if not lumpy.any():
        u.attrs.update(n_split=0, n_pieces=0)
        return u, e, account_unit
    split_pc = u.loc[lumpy, "unit_id"].astype(str)
    sel = pd.Series(pc_of).isin(split_pc).to_numpy()
    a = acc[sel]
    norm = a[metrics].to_numpy(dtype=float) / tot
    pid = _piece_ids(a, pc_of[sel], aid[sel], norm, n_territories, max_share, split_by)
    account_unit.iloc[np.flatnonzero(sel)] = pid
    pieces = _piece_units(a.assign(unit_id=pid), u, metrics, field_reps)
    out = pd.concat([u[~lumpy], pieces], ignore_index=True)
    for c in metrics + ["current_mrr", "n_accounts", "n_customers"]:
        out[c] = out[c].astype("float64")
    e_out = _piece_edges(e, pieces)
    out.attrs.update(units.attrs)
    out.attrs.update(n_split=int(lumpy.sum()), n_pieces=len(pieces))
    return out, e_out.reset_index(drop=True), account_unit


def _piece_ids(
    a: pd.DataFrame,
    pc: np.ndarray,
    aid: np.ndarray,
    norm: np.ndarray,
    n_territories: int,
    max_share: float,
    split_by: str,
) -> np.ndarray:
    """The piece id (``<postal code>#<n>``) of every account ``a`` of a postal code to split.

    ``pc`` and ``aid`` are the accounts' postal codes and ids, ``norm`` their metrics as shares
    of the totals. Accounts are ordered by mix class (``split_by="mix"``), bearing around the
    postal code's centre and id, and cut into the fewest runs of equal load below
    ``max_share`` of a target.
    """
    lat = a["latitude"].to_numpy(dtype=float)
    lon = a["longitude"].to_numpy(dtype=float)
    grp = pd.DataFrame({"pc": pc, "lat": lat, "lon": lon})
    mlat = grp.groupby("pc")["lat"].transform("mean").to_numpy()
    mlon = grp.groupby("pc")["lon"].transform("mean").to_numpy()
    bearing = np.arctan2(np.nan_to_num(lat - mlat), np.nan_to_num(lon - mlon))
    load = norm.sum(axis=1) + 1e-12
    if split_by == "mix" and norm.shape[1] > 1:
        # pieces of different metric mix (high potential per hour of work, and low): they let
        # a territory correct its mix with nearby units instead of reaching far away
        key = np.round((norm[:, 0] - norm[:, 1:].mean(axis=1)) / load * 8)
    else:
        key = np.zeros(len(load))
    # cut by the account's largest share of a target over the metrics, so that no piece exceeds
    # max_share on any metric (by more than one account)
    cut = norm.max(axis=1) * n_territories + 1e-12
    order = np.lexsort((aid, bearing, key, pc))
    o_pc, o_load = pc[order], cut[order]
    cum = pd.Series(o_load).groupby(o_pc).cumsum().to_numpy() - o_load / 2
    total = pd.Series(o_load).groupby(o_pc).transform("sum").to_numpy()
    m = np.ceil(total / max_share - 1e-9).astype(int)
    m = np.minimum(m, pd.Series(o_pc).map(pd.Series(o_pc).value_counts()).to_numpy())
    piece = np.minimum(np.floor(cum / total * m).astype(int), m - 1) + 1
    piece_id = pd.Series(o_pc).str.cat(pd.Series(piece).astype(str), sep="#").to_numpy()
    pid = np.empty(len(order), dtype=object)
    pid[order] = piece_id
    return pid


def _piece_units(
    a: pd.DataFrame, u: pd.DataFrame, metrics: list[str], field_reps: Sequence[str]
) -> pd.DataFrame:
    """Make the pieces units with the columns of ``u``.

    A piece sums its accounts ``a`` (with ``unit_id``), lies at their mean, and belongs today to the
    field rep with most revenue.
    """
    a = a.assign(is_customer=(a["status"] == "customer").astype(int))
    agg = a.groupby("unit_id").agg(
        **{mm: (mm, "sum") for mm in metrics},
        current_mrr=("current_mrr", "sum"),
        n_accounts=("account_id", "size"),
        n_customers=("is_customer", "sum"),
        latitude=("latitude", "mean"),
        longitude=("longitude", "mean"),
    )
    agg["postal_code"] = agg.index.str.split("#").str[0]
    parent = u.set_index("unit_id")
    for c in ("latitude", "longitude"):
        agg[c] = agg[c].fillna(agg["postal_code"].map(parent[c]))
    for c in ("canton", "place"):
        agg[c] = agg["postal_code"].map(parent[c]).astype("string")
    own = a[a["owner_id"].astype("string").isin(set(map(str, field_reps))).fillna(False)]
    score = (
        own.groupby(["unit_id", "owner_id"])
        .agg(mrr=("current_mrr", "sum"), n=("account_id", "size"))
        .reset_index()
        .sort_values(["unit_id", "mrr", "n", "owner_id"], ascending=[True, False, False, True])
    )
    agg["current"] = agg.index.map(
        score.drop_duplicates("unit_id").set_index("unit_id")["owner_id"]
    ).astype("string")
    agg["locked"] = False
    if "customer_unit" in u.columns:
        agg["customer_unit"] = False
    pieces = agg.reset_index()[list(u.columns)]
    pieces["unit_id"] = pieces["unit_id"].astype("string")
    return pieces


def _piece_edges(e: pd.DataFrame, pieces: pd.DataFrame) -> pd.DataFrame:
    """Give the pieces their neighbour pairs.

    A split postal code's edges go to each of its pieces; pieces of one code are linked.
    """
    kids = pieces.groupby("postal_code")["unit_id"].agg(list)
    ends = pd.unique(pd.concat([e["a"], e["b"]], ignore_index=True))
    whole = ends[~pd.Series(ends).isin(kids.index).to_numpy()]
    to_unit = pd.concat(
        [
            pd.DataFrame({"pc": whole, "unit": whole}),
            pd.DataFrame(
                {"pc": pieces["postal_code"].astype(str), "unit": pieces["unit_id"].astype(str)}
            ),
        ],
        ignore_index=True,
    )
    expand = e.merge(to_unit, left_on="a", right_on="pc")[["unit", "b"]].rename(
        columns={"unit": "a"}
    )
    expand = expand.merge(to_unit, left_on="b", right_on="pc")[["a", "unit"]].rename(
        columns={"unit": "b"}
    )
    sib = [(x, y) for ks in kids for i, x in enumerate(ks) for y in ks[i + 1 :]]
    return pd.concat(
        [expand[["a", "b"]], pd.DataFrame(sib, columns=["a", "b"])], ignore_index=True
    ).astype(str)
