"""The channel costing on the aggregated activity log: engine and pandas give the same frames and
the same figures to the last bit, and the aggregated costing equals costing every activity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesanalytics.aggregate.catalogue import Aggregator
from salesanalytics.analyses.channels import effort
from salesanalytics.analyses.channels import model as channels
from salesanalytics.analyses.territory import design as territory_design


@pytest.fixture(scope="module")
def both(small_intake, small_intake_dir: Path):
    """The small demo's activities aggregated by DuckDB and by pandas (365-day window)."""
    agg = Aggregator(small_intake_dir, as_of=small_intake.as_of)
    acts = small_intake.tables["activities"]
    return (
        effort.engine_activities(agg, small_intake.as_of, 365),
        effort.aggregate_activities(acts, small_intake.as_of, 365),
    )


def test_engine_and_pandas_aggregate_the_log_alike(both, small_intake) -> None:
    eng, pan = both
    for name in ("accounts", "routes", "types"):
        pd.testing.assert_frame_equal(getattr(eng, name), getattr(pan, name), check_exact=True)
    acts = small_intake.tables["activities"]
    assert eng.rows == len(acts)
    start, end = eng.window
    inside = (acts["date"] > start) & (acts["date"] <= end)
    assert int(eng.accounts["activities"].sum()) == int(inside.sum())
    assert int(eng.routes["visits"].sum()) == int(acts["type"].eq("visit").sum())


def _mix(t, activities, as_of):
    return channels.analyse_channel_mix(
        t["accounts"],
        t["reps"],
        t["products"],
        t["contracts"],
        activities,
        t["channel_rates"],
        as_of,
    )


def test_channel_mix_on_the_engine_equals_the_raw_log_exactly(both, small_intake) -> None:
    t, as_of = small_intake.tables, small_intake.as_of
    raw = _mix(t, t["activities"], as_of)
    eng = _mix(t, both[0], as_of)
    for name in ("account_channel", "summary", "matrix", "whale", "model", "cost_by_type"):
        pd.testing.assert_frame_equal(getattr(eng, name), getattr(raw, name), check_exact=True)
    pd.testing.assert_frame_equal(eng.cost_to_serve, raw.cost_to_serve, check_exact=True)
    assert eng.counts == raw.counts and eng.whale_stats == raw.whale_stats
    assert eng.activity_rows == raw.activity_rows == len(t["activities"])


def test_aggregated_costing_equals_costing_every_activity(both, small_intake) -> None:
    """Same cost-to-serve and cost per type as pricing each activity (up to rounding)."""
    t, as_of = small_intake.tables, small_intake.as_of
    per_activity = channels.activity_costs(
        t["activities"], t["channel_rates"], t["accounts"], t["reps"]
    )
    ids = t["accounts"]["account_id"]
    old = channels.cost_to_serve(per_activity, as_of, 365, ids)
    priced = effort.channel_costs(
        both[0], channels.channel_rates(t["channel_rates"]), t["accounts"], t["reps"]
    )
    new = channels.cost_to_serve(priced.accounts, as_of, 365, ids)
    pd.testing.assert_frame_equal(new, old, rtol=1e-12)
    assert new.attrs["without_account"] == old.attrs["without_account"]
    assert new["cost_to_serve"].sum() > 0 and new["cost_field"].sum() > 0
    start, end = effort.costing_window(as_of, 365)
    inw = per_activity[(per_activity["date"] > start) & (per_activity["date"] <= end)]
    by_type = (
        inw.groupby(["channel", "type"])
        .agg(
            activities=("cost", "size"),
            minutes=("minutes", "mean"),
            travel_minutes=("travel_minutes", "mean"),
            cost=("cost", "mean"),
            total_cost=("cost", "sum"),
        )
        .reset_index()
    )
    pd.testing.assert_frame_equal(priced.by_type, by_type, rtol=1e-12, check_dtype=False)
    assert priced.counts["visits_without_coordinates"] == 0
    assert priced.counts["activities_in_window"] == len(inw)


def test_visits_without_coordinates_are_counted_and_cost_no_travel(both, small_intake) -> None:
    t = small_intake.tables
    accounts = t["accounts"].copy()
    visited = both[0].routes.loc[both[0].routes["visits"] > 0, "account_id"].iloc[0]
    accounts.loc[accounts["account_id"] == visited, ["latitude", "longitude"]] = np.nan
    rates = channels.channel_rates(t["channel_rates"])
    priced = effort.channel_costs(both[0], rates, accounts, t["reps"])
    routes = both[0].routes
    lost = int(routes.loc[routes["account_id"] == visited, "visits"].sum())
    assert priced.counts["visits_without_coordinates"] == lost > 0
    row = priced.accounts[priced.accounts["account_id"] == visited]
    assert (row["travel_km"] == 0).all()


def test_a_channel_without_rate_and_a_window_mismatch_are_named(both, small_intake) -> None:
    t, as_of = small_intake.tables, small_intake.as_of
    types = both[0].types.copy()
    types.loc[0, "channel"] = "fax"
    bad = effort.ActivityAggregates(both[0].accounts, both[0].routes, types, both[0].window)
    n = int(types.loc[0, "activities"])
    with pytest.raises(
        ValueError, match=rf"{n} activities have a channel without a cost rate: fax"
    ):
        effort.channel_costs(
            bad, channels.channel_rates(t["channel_rates"]), t["accounts"], t["reps"]
        )
    with pytest.raises(ValueError, match="aggregate them with the same window"):
        channels.analyse_channel_mix(
            t["accounts"],
            t["reps"],
            t["products"],
            t["contracts"],
            both[0],
            t["channel_rates"],
            as_of,
            settings=channels.ChannelMixSettings(window_days=730),
        )
    with pytest.raises(ValueError, match="window_days must be ≥ 1, got 0"):
        effort.costing_window(as_of, 0)


def test_field_norms_from_the_engine_equal_those_of_the_log(small_intake, small_intake_dir) -> None:
    """The channel matrix's field workload reads the territory's field effort from the engine."""
    t = small_intake.tables
    seg = territory_design.workload_segment(t["accounts"].assign(potential_mrr=0.0))
    seg.index = t["accounts"]["account_id"].astype("string").to_numpy()
    agg = Aggregator(small_intake_dir, as_of=small_intake.as_of)
    eng = territory_design.activity_norms(territory_design.field_effort(agg), seg, "field")
    raw = territory_design.activity_norms(t["activities"], seg, "field")
    pd.testing.assert_frame_equal(eng, raw, check_exact=True)


def test_routing_on_the_engine_equals_the_raw_tables_exactly(both, small_intake, small_intake_dir):
    """The whole channel phase: activity log, stage history and field norms from the engine
    give the same matrix, routing, workload and per-account table as the raw tables."""
    from salesanalytics.analyses.channels import matrix as cm
    from salesanalytics.analyses.funnel import model as funnel

    t, as_of = small_intake.tables, small_intake.as_of
    agg = Aggregator(small_intake_dir, as_of=as_of)
    out = {}
    for how in ("raw", "engine"):
        tables = dict(t)
        kw = {}
        acts = t["activities"]
        if how == "engine":
            tables.pop("activities")
            tables["opportunity_stages"] = funnel.EngineStageHistory(agg)
            kw = {"field_effort": territory_design.field_effort(agg)}
            acts = both[0]
        mix = _mix(t, acts, as_of)
        out[how] = cm.route_accounts(
            mix, tables, as_of, funnel=funnel, workload_model=territory_design, **kw
        )
    raw, eng = out["raw"], out["engine"]
    for name in ("assignment", "waves", "summary", "account_workload", "field_workload"):
        pd.testing.assert_frame_equal(getattr(eng, name), getattr(raw, name), check_exact=True)
    pd.testing.assert_frame_equal(eng.account_channel, raw.account_channel, check_exact=True)
    for name in ("deals", "measures", "costs", "matrix"):
        pd.testing.assert_frame_equal(
            getattr(eng.result, name), getattr(raw.result, name), check_exact=True
        )
    assert eng.result.gaps == raw.result.gaps
