"""Channel mix: TDABC cost-to-serve, contributions, whale curve, assignment; planted demo costs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from salesanalytics.analyses.channels import model as channels
from salesanalytics.reference.geo import EARTH_RADIUS_KM

AS_OF = pd.Timestamp("2025-12-31")


def _rates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "channel": ["field", "tele", "online"],
            "cost_per_year": [165_000.0, 95_000.0, 80_000.0],
            "capacity_hours": [1_320.0, 1_500.0, 1_600.0],
            "travel_cost_per_km": [0.7, 0.0, 0.0],
        }
    )


def _accounts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3"],
            "latitude": [47.1, 47.0, np.nan],
            "longitude": [8.0, 8.0, 8.0],
            "status": ["customer", "customer", "prospect"],
            "owner_id": ["r1", "r1", "r2"],
            "channel_preference": [None, "tele", None],
        }
    )


def _reps() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["r1", "r2"],
            "home_latitude": [47.0, 46.0],
            "home_longitude": [8.0, 7.0],
            "role": ["field", "tele"],
            "fte": [1.0, 0.5],
            "active": [True, True],
        }
    )


def _activities() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "activity_id": ["x1", "x2", "x3", "x4", "x5", "x6"],
            "rep_id": ["r1", "r1", "r2", "r1", "r1", "r2"],
            "account_id": ["a1", "a2", "a2", "a1", "a3", None],
            "date": pd.to_datetime(
                ["2025-03-01", "2025-04-01", "2025-05-01", "2024-06-01", "2025-06-01", "2025-06-01"]
            ),
            "type": ["visit", "visit", "call", "visit", "visit", "call"],
            "channel": ["field", "field", "tele", "field", "field", "tele"],
            "minutes": [60.0, 30.0, 12.0, 60.0, 45.0, 10.0],
        }
    )


def test_channel_rates_are_cost_per_year_over_capacity() -> None:
    r = channels.channel_rates(_rates())
    assert r.loc["field", "cost_per_hour"] == pytest.approx(125.0)
    assert r.loc["field", "cost_per_minute"] == pytest.approx(165_000 / (1_320 * 60))
    assert r.loc["tele", "cost_per_minute"] == pytest.approx(95_000 / 90_000)
    bad = _rates().iloc[:2].assign(capacity_hours=[0.0, 1500.0])
    with pytest.raises(ValueError, match=r"no rate for channel\(s\) online; field: capacity_hours"):
        channels.channel_rates(bad)


def test_activity_costs_include_travel_for_visits() -> None:
    costs = channels.activity_costs(_activities(), _rates(), _accounts(), _reps()).set_index(
        "activity_id"
    )
    d = EARTH_RADIUS_KM * math.radians(0.1)  # r1 home (47.0, 8.0) to a1 (47.1, 8.0)
    km = 2 * 1.3 * d
    minutes = km / 50 * 60
    expected = (60 + minutes) * 125 / 60 + km * 0.7
    assert costs.loc["x1", "travel_km"] == pytest.approx(km)
    assert costs.loc["x1", "cost"] == pytest.approx(expected)
    # a2 is at r1's home: no travel; a call costs minutes only, at the tele rate
    assert costs.loc["x2", "cost"] == pytest.approx(30 * 125 / 60)
    assert costs.loc["x3", "cost"] == pytest.approx(12 * 95_000 / 90_000)
    # a3 has no coordinates: the visit costs its minutes, and is counted
    assert costs.loc["x5", "cost"] == pytest.approx(45 * 125 / 60)
    assert costs.attrs["visits_without_coordinates"] == 1
    bad = _activities().assign(channel=["field", "field", "fax", "field", "field", "tele"])
    with pytest.raises(ValueError, match="1 activities have a channel without a cost rate: fax"):
        channels.activity_costs(bad, _rates())


def test_cost_to_serve_per_account_and_year() -> None:
    costs = channels.activity_costs(_activities(), _rates(), _accounts(), _reps())
    cts = channels.cost_to_serve(
        costs, AS_OF, window_days=365, account_ids=["a1", "a2", "a3", "a4"]
    )
    scale = 365.25 / 365
    by_id = costs.set_index("activity_id")["cost"]
    # x4 (June 2024) is outside the window; x6 has no account
    assert cts.loc["a1", "cost_to_serve"] == pytest.approx(by_id["x1"] * scale)
    assert cts.loc["a2", "cost_to_serve"] == pytest.approx((by_id["x2"] + by_id["x3"]) * scale)
    assert cts.loc["a2", "cost_tele"] == pytest.approx(by_id["x3"] * scale)
    assert cts.loc["a2", "hours"] == pytest.approx(42 / 60 * scale)
    assert cts.loc["a4", "cost_to_serve"] == 0.0
    assert cts.attrs["without_account"] == 1
    with pytest.raises(ValueError, match="window_days must be ≥ 1"):
        channels.cost_to_serve(costs, AS_OF, window_days=0)


def test_revenue_and_contribution_levels() -> None:
    contracts = pd.DataFrame(
        {
            "account_id": ["a1", "a1", "a2"],
            "product_id": ["p1", "p2", "p1"],
            "start_date": pd.to_datetime(["2020-01-01", "2025-07-02", "2020-01-01"]),
            "end_date": pd.to_datetime([None, None, "2025-07-02"]),
            "mrr": [100.0, 50.0, 10.0],
        }
    )
    products = pd.DataFrame(
        {"product_id": ["p1", "p2"], "cost_share": [0.25, np.nan], "complexity": [2, 4]}
    )
    rev = channels.account_revenue(contracts, products, AS_OF, window_days=365)
    # a1: 100 all year (1200) + 50 for 182 of 365 days
    assert rev.loc["a1", "revenue"] == pytest.approx(1200 + 50 * 12 * 182 / 365)
    assert rev.loc["a1", "product_cost"] == pytest.approx(300 + 0.3 * 50 * 12 * 182 / 365)
    assert rev.attrs["contracts_with_default_cost_share"] == 1
    assert rev.loc["a1", "mrr_now"] == 150.0 and rev.loc["a2", "mrr_now"] == 0.0
    assert rev.loc["a1", "complexity"] == 4
    cts = pd.DataFrame({"cost_to_serve": [100.0, 5.0]}, index=pd.Index(["a1", "a9"]))
    c = channels.contribution_levels(rev, cts, service_cost_share=0.1)
    a1 = c.loc["a1"]
    assert a1["contribution_1"] == pytest.approx(a1["revenue"] - a1["product_cost"])
    assert a1["contribution_2"] == pytest.approx(a1["contribution_1"] - 100)
    assert a1["contribution_3"] == pytest.approx(a1["contribution_2"] - 0.1 * a1["revenue"])
    assert c.loc["a9", "contribution_3"] == -5.0  # cost but no revenue
    with pytest.raises(ValueError, match="service_cost_share must be between 0 and 1"):
        channels.contribution_levels(rev, cts, service_cost_share=2)


def test_whale_curve_known_answer() -> None:
    curve = channels.whale_curve(pd.Series([50.0, -10.0, 30.0, 20.0], index=list("abcd")))
    assert curve["account_id"].tolist() == ["a", "c", "d", "b"]
    assert curve["cumulative_share"].tolist() == pytest.approx([50 / 90, 80 / 90, 100 / 90, 1.0])
    s = channels.whale_summary(curve)
    assert s["peak_share"] == pytest.approx(100 / 90) and s["peak_customer_share"] == 0.75
    assert s["loss_making_share"] == 0.25 and s["profit_given_away"] == 10.0


def test_break_even_values() -> None:
    rules = channels.AssignmentRules(field_uplift=0.2, tele_uplift=0.1)
    th = channels.break_even({"field": 800.0, "tele": 100.0, "online": 50.0}, 0.7, rules)
    assert th["field"] == pytest.approx(700 / 0.14)
    assert th["tele"] == pytest.approx(50 / 0.07)
    assert th["field_covers_cost"] == pytest.approx(800 / 0.7)


def test_assign_channels_rules_preference_and_capacity() -> None:
    idx = list("abcdefg")
    value = pd.Series([2000, 2000, 100, 100, 100, 800, 2000], index=idx, dtype="float64")
    comp = pd.Series([4, 2, 1, 4, 1, 3, 4], index=idx, dtype="float64")
    pref = pd.Series(
        [None, None, None, None, "field", "field", "online"], index=idx, dtype="string"
    )
    th = {"field": 1000.0, "tele": 200.0}
    res = channels.assign_channels(value, comp, pref, th, channels.AssignmentRules())
    assert res["rule_channel"].tolist() == [
        "field",
        "tele",
        "online",
        "tele",
        "online",
        "tele",
        "field",
    ]
    # e's wish for field is not honoured (value 100 < 75% of 1000); f's is (800 ≥ 750); g wants online
    assert res["proposed_channel"].tolist() == [
        "field",
        "tele",
        "online",
        "tele",
        "online",
        "field",
        "online",
    ]
    capped = channels.assign_channels(
        value,
        comp,
        pref,
        th,
        channels.AssignmentRules(field_capacity_hours=15),
        field_hours=pd.Series(10.0, index=idx),
    )
    assert capped.loc["a", "proposed_channel"] == "field"
    assert capped.loc["f", "proposed_channel"] == "tele"
    assert capped.loc["f", "reason"].startswith("field capacity full")
    with pytest.raises(
        ValueError, match="field_uplift must be > 0, got 0; complexities must satisfy"
    ):
        channels.AssignmentRules(field_uplift=0, online_max_complexity=4, field_min_complexity=3)


def test_migration_waves_biggest_gain_first() -> None:
    delta = pd.Series([5.0, 1.0, 3.0, 10.0, 99.0])
    moving = pd.Series([True, True, True, True, False])
    w = channels.migration_waves(delta, moving, n_waves=2)
    assert w.tolist()[:4] == [1, 2, 2, 1] and pd.isna(w.iloc[4])
    with pytest.raises(ValueError, match="n_waves must be between 1 and 12"):
        channels.migration_waves(delta, moving, n_waves=0)


def test_current_channel_fallbacks() -> None:
    costs = channels.activity_costs(_activities(), _rates(), _accounts(), _reps())
    cts = channels.cost_to_serve(costs, AS_OF, 365)
    accounts = pd.concat(
        [
            _accounts(),
            pd.DataFrame(
                {
                    "account_id": ["a4", "a5"],
                    "owner_id": ["r2", None],
                    "channel_preference": [None, None],
                }
            ),
        ],
        ignore_index=True,
    )
    cur = channels.current_channel(accounts, cts, None, _reps()).set_index("account_id")
    assert cur.loc["a2", "current_channel"] == "field"  # 30 visit minutes > 12 call minutes
    assert cur.loc["a4", "current_channel"] == "tele"
    assert cur.loc["a4", "channel_source"] == "owner role"
    assert cur.loc["a5", "channel_source"] == "default"


def test_inputs_are_not_modified() -> None:
    acts, rates = _activities(), _rates()
    before = acts.copy(), rates.copy()
    channels.activity_costs(acts, rates, _accounts(), _reps())
    pd.testing.assert_frame_equal(acts, before[0])
    pd.testing.assert_frame_equal(rates, before[1])


# ----------------------------------------------------------------------------- demo truths
@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    from salesanalytics.ingest import demo as demo_mod
    from salesanalytics.ingest import intake

    out = tmp_path_factory.mktemp("demo")
    demo_mod.generate(out, n_accounts=4000, seed=11)
    res = intake.load_export(out)
    return {
        "tables": res.tables,
        "as_of": res.as_of,
        "truth": json.loads((out / "truth.json").read_text(encoding="utf-8")),
        "truth_accounts": pd.read_parquet(out / "truth_accounts.parquet"),
    }


def test_demo_planted_rates_minutes_and_costs_are_recovered(demo) -> None:
    t, truth = demo["tables"], demo["truth"]["channel_costs"]
    r = channels.channel_rates(t["channel_rates"])
    for ch, cpm in truth["cost_per_minute"].items():
        assert r.loc[ch, "cost_per_minute"] == pytest.approx(cpm)
    mean_minutes = t["activities"].groupby("type")["minutes"].mean()
    for typ, m in truth["activity_minutes_generated_mean"].items():
        assert mean_minutes[typ] == pytest.approx(m, rel=1e-6)
    costs = channels.activity_costs(t["activities"], t["channel_rates"], t["accounts"], t["reps"])
    assert costs.attrs["visits_without_coordinates"] == 0
    # the whole 730-day activity window, per year
    cts = channels.cost_to_serve(costs, demo["as_of"], 730, t["accounts"]["account_id"])
    ta = demo["truth_accounts"].set_index("account_id")
    m = cts.join(ta[["serving_channel", "status", "expected_cost_to_serve"]])
    got = m.groupby(["serving_channel", "status"])["cost_to_serve"].mean()
    for key, expected in truth["expected_cost_to_serve_mean"].items():
        ch, status = key.split("/")
        tol = 0.06 if status == "customer" else 0.15
        assert got[(ch, status)] == pytest.approx(expected, rel=tol), key
    field = m[m["serving_channel"] == "field"]
    assert np.corrcoef(field["cost_to_serve"], field["expected_cost_to_serve"])[0, 1] > 0.7
    # every account's activities are in its serving channel
    cur = channels.current_channel(t["accounts"], cts).set_index("account_id")
    has = cts["activities"] > 0
    assert (
        cur.loc[has[has].index, "current_channel"].to_numpy()
        == ta.loc[has[has].index, "serving_channel"].to_numpy()
    ).all()


def test_demo_channel_proposal_end_to_end(demo) -> None:
    t = demo["tables"]
    costs = channels.activity_costs(t["activities"], t["channel_rates"], t["accounts"], t["reps"])
    cts = channels.cost_to_serve(costs, demo["as_of"], 365, t["accounts"]["account_id"])
    rev = channels.account_revenue(t["contracts"], t["products"], demo["as_of"], 365)
    con = channels.contribution_levels(rev, cts)
    cur = channels.current_channel(t["accounts"], cts, t["contracts"], t["reps"])
    status = pd.Series(t["accounts"]["status"].to_numpy(), index=t["accounts"]["account_id"])
    model = channels.service_model(cts, cur.set_index("account_id")["current_channel"], status)
    # field serves more expensively than tele, tele than online (planted rates and minutes)
    cust = model.xs("customer", level="status")["cost"]
    assert cust["field"] > cust["tele"] > cust["online"]
    ac, th = channels.account_channel_table(
        t["accounts"], con, cur, model, None, rev["complexity"], channels.AssignmentRules()
    )
    assert len(ac) == len(t["accounts"]) and ac["account_id"].is_unique
    moving = ac["current_channel"] != ac["proposed_channel"]
    assert ac.loc[moving, "migration_wave"].notna().all()
    assert ac.loc[~moving, "migration_wave"].isna().all()
    assert th["field"] > th["tele"] > 0
    summary = channels.channel_summary(ac, t["channel_rates"], model, t["reps"])
    today = summary[summary["scenario"] == "today"].set_index("channel")
    assert today["accounts"].sum() == len(ac)
    assert today["cost"].sum() == pytest.approx(ac["cost_to_serve"].sum())


def test_demo_planted_checks_in_the_report(demo) -> None:
    t = demo["tables"]
    mix = channels.analyse_channel_mix(
        t["accounts"],
        t["reps"],
        t["products"],
        t["contracts"],
        t["activities"],
        t["channel_rates"],
        demo["as_of"],
        settings=channels.ChannelMixSettings(window_days=730),
    )
    costs, minutes = channels.planted_checks(
        mix.account_channel, mix.cost_by_type, demo["truth"], demo["truth_accounts"]
    )
    cust = costs[costs["status"] == "customer"]
    assert len(cust) == 3 and (cust["difference"].abs() < 0.06).all()
    assert (minutes["difference"].abs() < 0.03).all()
    assert set(minutes["type"]) == {"visit", "call", "email", "online_session"}
    empty = channels.planted_checks(mix.account_channel, mix.cost_by_type, None, None)
    assert empty[0].empty and empty[1].empty


def test_channel_mix_settings_keep_todays_defaults_and_fill_field_capacity() -> None:
    s = channels.ChannelMixSettings()
    assert (s.window_days, s.service_cost_share, s.default_cost_share, s.n_waves) == (
        365,
        0.08,
        0.3,
        3,
    )
    assert s.rules is None
    reps = pd.DataFrame(
        {
            "rep_id": ["f1", "f2", "k1", "t1"],
            "role": ["field", "field", "key_account", "tele"],
            "capacity_hours": [1000.0, 800.0, 500.0, 1200.0],
            "active": [True, False, True, True],
        }
    )
    rules = channels._with_field_capacity(channels.AssignmentRules(), reps)
    assert rules.field_capacity_hours == 1500.0  # active field and key-account reps only
    fixed = channels.AssignmentRules(field_capacity_hours=99.0)
    assert channels._with_field_capacity(fixed, reps) is fixed


def test_account_value_weights_the_white_space_above_revenue() -> None:
    revenue = pd.Series([100.0, 500.0, 50.0], index=pd.Index(["a", "b", "c"]))
    potential = pd.Series([300.0, 400.0], index=["a", "b"])  # b above its potential, c none
    value = channels.account_value(revenue, potential, white_space_weight=0.5)
    assert value.to_dict() == {"a": 200.0, "b": 500.0, "c": 50.0}
    assert channels.account_value(revenue, None, 0.5).equals(revenue)


def test_move_effect_scales_contribution_by_the_uplift_and_takes_the_new_channel_cost() -> None:
    rules = channels.AssignmentRules(tele_uplift=0.1, field_uplift=0.2)
    con = pd.DataFrame(
        {
            "selling_cost": [30.0, 40.0],
            "contribution_1": [110.0, 100.0],
            "contribution_2": [80.0, 60.0],
        }
    )
    model = pd.DataFrame(
        {"cost": [10.0, 50.0]},
        index=pd.MultiIndex.from_tuples([("online", "customer"), ("field", "customer")]),
    )
    cost, delta, moving = channels.move_effect(
        con,
        pd.Series(["tele", "field"]),
        pd.Series(["online", "field"]),
        pd.Series(["customer", "customer"]),
        model,
        rules,
    )
    assert moving.tolist() == [True, False]
    # tele -> online: contribution I / 1.1, online's cost; the account staying keeps its own
    np.testing.assert_allclose(cost, [10.0, 40.0])
    np.testing.assert_allclose(delta, [110.0 / 1.1 - 10.0 - 80.0, 0.0])
