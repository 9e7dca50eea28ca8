"""The activity log as the channel phase costs it: aggregated per account, visit route and type.

Cost-to-serve (:mod:`salesanalytics.analyses.channels.model`) prices time and travel. Neither needs
the single activities: an account's time cost is its minutes per channel times the channel's rate,
and a visit's travel depends only on who visited whom (the rep's home base and the account). So
the phase reads three aggregates of the log, never the log itself:

* per account and channel, in the costing window: activities, minutes, visits
  (``account_effort``);
* per account, rep and channel: visits in the whole log and in the window (``visit_routes``);
* per channel and activity type: activities in the whole log, activities and minutes in the window
  (``type_effort``).

:func:`engine_activities` has the run's aggregation layer compute them (DuckDB or Spark);
:func:`aggregate_activities` computes the very same frames from a pandas activity log (tests,
small exports). :func:`channel_costs` prices them. Counts and minutes are exact in any order (whole
minutes), so both give the same costs to the last bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesanalytics.errors import require_columns
from salesanalytics.reference.geo import ROAD_FACTOR, SPEED_KMH, haversine_km

if TYPE_CHECKING:
    from salesanalytics.aggregate.catalogue import Aggregator

__all__ = [
    "ActivityAggregates",
    "ChannelCosts",
    "aggregate_activities",
    "check_travel",
    "channel_costs",
    "costing_window",
    "engine_activities",
]


@dataclass(frozen=True)
class ActivityAggregates:
    """The activity log aggregated for the channel costing (see the module docstring).

    Attributes
    ----------
    accounts
        In the window: ``account_id`` (one row per channel with a missing id for activities
        without account), ``channel``, ``activities``, ``minutes``, ``visits``.
    routes
        ``account_id``, ``rep_id``, ``channel``, ``visits`` (whole log), ``window_visits``.
    types
        ``channel``, ``type``, ``activities`` (whole log), ``window_activities``,
        ``window_minutes``.
    window
        ``(start, end)``: the window ``start < date <= end``.
    """

    accounts: pd.DataFrame
    routes: pd.DataFrame
    types: pd.DataFrame
    window: tuple[pd.Timestamp, pd.Timestamp]

    @property
    def rows(self) -> int:
        """Activities in the whole log."""
        return int(self.types["activities"].sum())


def check_travel(road_factor: float, speed_kmh: float) -> None:
    """Raise a ValueError for impossible travel assumptions (road factor below 1, speed ≤ 0)."""
    if road_factor < 1:
        raise ValueError(
            f"road_factor must be ≥ 1 (roads are not shorter than the crow flies), got {road_factor}"
        )
    if speed_kmh <= 0:
        raise ValueError(f"speed_kmh must be > 0, got {speed_kmh}")


def costing_window(
    as_of: str | pd.Timestamp, window_days: int
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The costing window ``(as_of − window_days, as_of]`` as ``(start, end)``."""
    if window_days < 1:
        raise ValueError(f"window_days must be ≥ 1, got {window_days}")
    end = pd.Timestamp(as_of)
    return end - pd.Timedelta(days=window_days), end


def engine_activities(
    aggregator: Aggregator, as_of: str | pd.Timestamp, window_days: int = 365
) -> ActivityAggregates:
    """The three aggregates computed by the run's aggregation layer (DuckDB or Spark).

    Parameters
    ----------
    aggregator
        The run's aggregation layer (``Workspace.aggregator()``).
    as_of, window_days
        The costing window ``(as_of − window_days, as_of]``.
    """
    start, end = costing_window(as_of, window_days)
    w = {"start": start.to_pydatetime(), "end": end.to_pydatetime()}
    return ActivityAggregates(
        accounts=aggregator.frame("account_effort", **w),
        routes=aggregator.frame("visit_routes", **w),
        types=aggregator.frame("type_effort", **w),
        window=(start, end),
    )


def _sorted(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """As the engine returns an aggregate: ids as strings, counts int64, sorted by the keys."""
    for c in keys:
        df[c] = df[c].astype("string")
    for c in df.columns:
        if c not in keys:
            df[c] = df[c].astype("int64" if pd.api.types.is_integer_dtype(df[c]) else "float64")
    return df.sort_values(list(keys), kind="mergesort", na_position="last").reset_index(drop=True)


def aggregate_activities(
    activities: pd.DataFrame, as_of: str | pd.Timestamp, window_days: int = 365
) -> ActivityAggregates:
    """The three aggregates computed in pandas from the activity log (same frames as the engine).

    Parameters
    ----------
    activities
        Canonical activities: ``rep_id, account_id, date, type, channel, minutes``.
    as_of, window_days
        The costing window ``(as_of − window_days, as_of]``.
    """
    require_columns(
        activities, ["rep_id", "account_id", "date", "type", "channel", "minutes"], "activities"
    )
    start, end = costing_window(as_of, window_days)
    inside = ((activities["date"] > start) & (activities["date"] <= end)).fillna(False)
    inside = inside.to_numpy(bool)
    minutes = pd.to_numeric(activities["minutes"], errors="coerce").fillna(0.0).to_numpy(float)
    visit = activities["type"].eq("visit").fillna(False).to_numpy(bool)
    base = pd.DataFrame(
        {
            "account_id": activities["account_id"].astype("string").to_numpy(),
            "rep_id": activities["rep_id"].astype("string").to_numpy(),
            "channel": activities["channel"].astype("string").to_numpy(),
            "type": activities["type"].astype("string").to_numpy(),
            "minutes": minutes,
            "visit": visit.astype("int64"),
            "inside": inside.astype("int64"),
            "inside_minutes": np.where(inside, minutes, 0.0),
        }
    )
    w = base[inside]
    acc = (
        w.groupby(["account_id", "channel"], dropna=False, sort=False)
        .agg(activities=("visit", "size"), minutes=("minutes", "sum"), visits=("visit", "sum"))
        .reset_index()
    )
    v = base[visit]
    routes = (
        v.groupby(["account_id", "rep_id", "channel"], dropna=False, sort=False)
        .agg(visits=("visit", "size"), window_visits=("inside", "sum"))
        .reset_index()
    )
    types = (
        base.groupby(["channel", "type"], dropna=False, sort=False)
        .agg(
            activities=("visit", "size"),
            window_activities=("inside", "sum"),
            window_minutes=("inside_minutes", "sum"),
        )
        .reset_index()
    )
    return ActivityAggregates(
        accounts=_sorted(acc, ["account_id", "channel"]),
        routes=_sorted(routes, ["account_id", "rep_id", "channel"]),
        types=_sorted(types, ["channel", "type"]),
        window=(start, end),
    )


@dataclass(frozen=True)
class ChannelCosts:
    """The activities of the window priced (see :func:`channel_costs`).

    Attributes
    ----------
    accounts
        Per account and channel (window): ``account_id`` (missing: activities without account),
        ``channel``, ``activities``, ``minutes``, ``travel_km``, ``travel_minutes``,
        ``time_cost``, ``travel_cost``, ``cost``.
    by_type
        Per channel and activity type with activities in the window: ``channel, type,
        activities, minutes, travel_minutes, cost`` (means of one activity) and ``total_cost``.
    counts
        ``activities_in_window``, ``visits_without_coordinates`` (whole log: visits whose rep or
        account has no coordinates; they get no travel cost).
    """

    accounts: pd.DataFrame
    by_type: pd.DataFrame
    counts: dict[str, int]


def _rate_codes(channels: pd.Series, r: pd.DataFrame, counts: pd.Series) -> np.ndarray:
    """Row of ``r`` (the rates) per channel value; every channel used must have a rate."""
    code = pd.Index(r.index).get_indexer(pd.Index(channels.astype("string")))
    bad = (code < 0) & (counts.to_numpy() > 0)
    if bad.any():
        names = sorted({str(x) for x in channels[bad]})
        raise ValueError(
            f"{int(counts[bad].sum())} activities have a channel without a cost rate: "
            f"{', '.join(names)}; channels with rates: {', '.join(r.index)}."
        )
    return code


def channel_costs(
    aggregates: ActivityAggregates,
    rates: pd.DataFrame,
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
) -> ChannelCosts:
    """Price the window's activities: time at the channel's rate, plus travel for visits.

    A visit's travel is the return trip from the rep's home base to the account (great circle ×
    ``road_factor``), driven at ``speed_kmh`` (time at the channel's rate) and paid per km.

    Parameters
    ----------
    aggregates
        :func:`engine_activities` or :func:`aggregate_activities`.
    rates
        :func:`salesanalytics.analyses.channels.model.channel_rates` (index ``channel``;
        ``cost_per_minute``, ``travel_cost_per_km``).
    accounts
        ``account_id, latitude, longitude``.
    reps
        ``rep_id, home_latitude, home_longitude``.
    road_factor, speed_kmh
        Travel assumptions.

    Raises
    ------
    ValueError
        If activities use a channel that has no rate, or the travel assumptions are impossible.
    """
    check_travel(road_factor, speed_kmh)
    require_columns(accounts, ["account_id", "latitude", "longitude"], "accounts")
    require_columns(reps, ["rep_id", "home_latitude", "home_longitude"], "reps")
    t = aggregates.types
    _rate_codes(t["channel"], rates, t["activities"])
    cpm_all = rates["cost_per_minute"].to_numpy(dtype="float64")
    cpk_all = rates["travel_cost_per_km"].to_numpy(dtype="float64")

    # travel of every route (rep -> account and back), NaN without coordinates
    ro = aggregates.routes
    acc_idx = pd.Index(accounts["account_id"].astype("string")).get_indexer(ro["account_id"])
    rep_idx = pd.Index(reps["rep_id"].astype("string")).get_indexer(ro["rep_id"])
    alat = np.append(accounts["latitude"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    alon = np.append(accounts["longitude"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    rlat = np.append(reps["home_latitude"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    rlon = np.append(reps["home_longitude"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    km = (
        2.0 * road_factor * haversine_km(rlat[rep_idx], rlon[rep_idx], alat[acc_idx], alon[acc_idx])
    )
    no_coord = int(ro["visits"].to_numpy()[np.isnan(km)].sum())
    trip_km = np.nan_to_num(km) * ro["window_visits"].to_numpy(dtype="float64")
    trips = pd.DataFrame(
        {"account_id": ro["account_id"], "channel": ro["channel"], "travel_km": trip_km}
    )
    travel = trips.groupby(["account_id", "channel"], dropna=False, sort=True)["travel_km"].sum()

    a = aggregates.accounts
    code = _rate_codes(a["channel"], rates, a["activities"])
    key = pd.MultiIndex.from_frame(a[["account_id", "channel"]])
    tkm = travel.reindex(key).fillna(0.0).to_numpy()
    out = a[["account_id", "channel", "activities", "minutes"]].copy()
    out["travel_km"] = tkm
    out["travel_minutes"] = tkm / speed_kmh * 60.0
    cpm, cpk = cpm_all[code], cpk_all[code]
    out["time_cost"] = (out["minutes"].to_numpy() + out["travel_minutes"].to_numpy()) * cpm
    out["travel_cost"] = tkm * cpk
    out["cost"] = out["time_cost"] + out["travel_cost"]

    # per channel and type: travel belongs to the visits
    tw = t[t["window_activities"].to_numpy() > 0].dropna(subset=["channel", "type"])
    ch_km = trips.groupby("channel", sort=True)["travel_km"].sum()
    is_visit = tw["type"].eq("visit").fillna(False).to_numpy(bool)
    km_t = np.where(is_visit, ch_km.reindex(tw["channel"]).fillna(0.0).to_numpy(), 0.0)
    tcode = _rate_codes(tw["channel"], rates, tw["window_activities"])
    n = tw["window_activities"].to_numpy(dtype="float64")
    mins = tw["window_minutes"].to_numpy(dtype="float64")
    tmin = km_t / speed_kmh * 60.0
    total = (mins + tmin) * cpm_all[tcode] + km_t * cpk_all[tcode]
    by_type = pd.DataFrame(
        {
            "channel": tw["channel"].to_numpy(),
            "type": tw["type"].to_numpy(),
            "activities": tw["window_activities"].to_numpy(dtype="int64"),
            "minutes": mins / n,
            "travel_minutes": tmin / n,
            "cost": total / n,
            "total_cost": total,
        }
    )
    by_type["channel"] = by_type["channel"].astype("string")
    by_type["type"] = by_type["type"].astype("string")
    counts = {
        "activities_in_window": int(t["window_activities"].sum()),
        "visits_without_coordinates": no_coord,
    }
    return ChannelCosts(out, by_type, counts)
