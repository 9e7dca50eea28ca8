"""Tests of salesanalytics.analyses.compensation: plan model, payout engine, actuals, comparison, simulation."""

from __future__ import annotations

import copy
import html as html_lib
import re

import numpy as np
import pandas as pd
import pytest

from salesanalytics.analyses.compensation import (
    MEASURES,
    Curve,
    Tier,
    calibrate,
    compare_plans,
    composite_attainment,
    compute_payouts,
    curve_factor,
    deal_credits,
    gini,
    jensen_gap,
    load_plan,
    lorenz,
    mrr_at,
    period_revenue,
    plan_from_dict,
    portfolio_actuals,
    potential_correlation,
    potential_quotas,
    simulate,
    simulation_summary,
    winners_losers,
    with_levers,
)
from salesanalytics.analyses.compensation.engine import round_pay

START, END = "2024-01-01", "2024-12-31"
KNOWN = set(MEASURES)


def _tiers(*spec):
    return tuple(Tier.model_validate({"from": a, "to": b, "rate": r}) for a, b, r in spec)


ACCEL = _tiers((0.0, 1.0, 1.0), (1.0, None, 2.0))


def _plan(**role_overrides):
    """A one-role plan: TI 1000, new_arr quota 100, tiers [0,1) x1, [1,inf) x2, threshold 0.5."""
    role = {
        "base_salary": 5000,
        "target_incentive": 1000,
        "measures": [
            {
                "id": "new_arr",
                "weight": 1.0,
                "quota": 100,
                "curve": {
                    "threshold": 0.5,
                    "tiers": [
                        {"from": 0, "to": 1, "rate": 1},
                        {"from": 1, "to": None, "rate": 2},
                    ],
                },
            }
        ],
    }
    role.update(role_overrides)
    return plan_from_dict({"name": "test", "roles": {"field": role}}, known_measures=KNOWN)


def _reps(*ids, hire=None):
    return pd.DataFrame(
        {
            "rep_id": list(ids),
            "role": "field",
            "hire_date": pd.to_datetime([hire] * len(ids) if hire else ["2015-01-01"] * len(ids)),
        }
    )


def _deals(rows):
    """rows: (deal_id, rep_id, amount, close_date[, lost_date[, multi_year]])."""
    cols = ["deal_id", "rep_id", "measure", "amount", "close_date", "lost_date", "multi_year"]
    d = pd.DataFrame(
        [
            {
                "deal_id": r[0],
                "rep_id": r[1],
                "measure": "new_arr",
                "amount": float(r[2]),
                "close_date": pd.Timestamp(r[3]),
                "lost_date": pd.Timestamp(r[4]) if len(r) > 4 and r[4] else pd.NaT,
                "multi_year": bool(r[5]) if len(r) > 5 else False,
            }
            for r in rows
        ],
        columns=cols,
    )
    d["close_date"] = d["close_date"].astype("datetime64[ns]")
    d["lost_date"] = d["lost_date"].astype("datetime64[ns]")
    return d


NO_ACTUALS = pd.DataFrame({"rep_id": [], "measure": [], "actual": []})


def _pay(plan, deals, reps=None, actuals=NO_ACTUALS, **kw):
    reps = _reps(*sorted(set(deals["rep_id"]))) if reps is None else reps
    return compute_payouts(plan, reps, deals, actuals, START, END, **kw)


# ---------------------------------------------------------------- curves


def test_marginal_against_retroactive_accelerator():
    marg = Curve(mode="marginal", tiers=ACCEL)
    retro = Curve(mode="retroactive", tiers=ACCEL)
    # 150%: marginal pays 1.0 for the first 100% + 2 x 0.5 above; retroactive 2 x 1.5 on everything
    assert float(curve_factor(1.5, marg)) == pytest.approx(2.0)
    assert float(curve_factor(1.5, retro)) == pytest.approx(3.0)
    # below the accelerator both agree
    assert curve_factor([0.8], marg)[0] == pytest.approx(curve_factor([0.8], retro)[0]) == 0.8


def test_threshold_not_reached_pays_nothing():
    c = Curve(threshold=0.5, tiers=ACCEL)
    np.testing.assert_allclose(curve_factor([0.49, 0.5, 0.7], c), [0.0, 0.5, 0.7])


def test_step_curve_and_decelerator():
    steps = tuple(
        Tier.model_validate(t)
        for t in (
            {"from": 0, "to": 0.8, "step": 0},
            {"from": 0.8, "to": 1.0, "step": 0.5},
            {"from": 1.0, "to": None, "step": 0.5},
        )
    )
    c = Curve(tiers=steps)
    np.testing.assert_allclose(curve_factor([0.7, 0.8, 0.99, 1.0, 2.0], c), [0, 0.5, 0.5, 1, 1])
    dec = Curve(tiers=_tiers((0, 1, 1.0), (1, 1.5, 2.0), (1.5, None, 0.5)))
    assert float(curve_factor(2.0, dec)) == pytest.approx(1.0 + 1.0 + 0.25)


def test_deal_crossing_tier_boundary():
    plan = _plan()
    before = _pay(plan, _deals([("d1", "a", 80, "2024-03-01")]))
    after = _pay(plan, _deals([("d1", "a", 80, "2024-03-01"), ("d2", "a", 40, "2024-06-01")]))
    assert before.payouts["payout"].iloc[0] == pytest.approx(800.0)
    # 120%: 100% at rate 1 (1000) + 20% at rate 2 (400)
    assert after.payouts["payout"].iloc[0] == pytest.approx(1400.0)
    # the crossing deal earns 20 points at rate 1 and 20 at rate 2
    assert after.totals["incentive"].iloc[0] - before.totals["incentive"].iloc[0] == pytest.approx(
        200 + 400
    )


# ---------------------------------------------------------------- caps


def test_cap_per_deal():
    plan = _plan(
        measures=[{**_plan().roles["field"].measures[0].model_dump(by_alias=True), "deal_cap": 50}]
    )
    res = _pay(plan, _deals([("d1", "a", 90, "2024-03-01"), ("d2", "a", 30, "2024-04-01")]))
    p = res.payouts.iloc[0]
    assert p["actual"] == pytest.approx(80.0)  # 50 (capped) + 30
    assert p["payout"] == pytest.approx(800.0)
    assert "1 capped at CHF 50 per deal" in res.statement_lines["description"].iloc[0]


def test_cap_per_measure_and_per_plan():
    m = _plan().roles["field"].measures[0].model_dump(by_alias=True)
    m["curve"]["cap"] = 1.5
    res = _pay(_plan(measures=[m]), _deals([("d1", "a", 200, "2024-03-01")]))
    assert res.payouts["factor"].iloc[0] == pytest.approx(1.5)  # uncapped 3.0
    assert res.payouts["payout"].iloc[0] == pytest.approx(1500.0)
    # plan cap at 1.2 x target incentive cuts the total, shown as its own line
    res2 = _pay(_plan(cap=1.2), _deals([("d1", "a", 200, "2024-03-01")]))
    t = res2.totals.iloc[0]
    assert t["measure_payout"] == pytest.approx(3000.0)
    assert t["cap_reduction"] == pytest.approx(-1800.0)
    assert t["incentive"] == pytest.approx(1200.0)
    assert "plan_cap" in set(res2.statement_lines["kind"])


# ---------------------------------------------------------------- clawback, boosters, contests, draws


def test_clawback_inside_and_outside_window():
    plan = _plan(clawback={"window_months": 6, "share": 1.0, "measures": ["new_arr"]})
    deals = _deals(
        [
            ("in", "a", 60, "2024-02-01", "2024-05-01"),  # lost after 3 months: clawed back
            ("out", "a", 60, "2024-01-05", "2024-09-01"),  # lost after ~8 months: kept
        ]
    )
    res = _pay(plan, deals)
    t = res.totals.iloc[0]
    # 120% -> 1400 paid on 120 credit; the lost deal's 60 credit carries 60/120 of it
    assert t["measure_payout"] == pytest.approx(1400.0)
    assert t["clawback"] == pytest.approx(-700.0)
    claws = res.statement_lines[res.statement_lines["kind"] == "clawback"]
    assert len(claws) == 1 and "deal in " in claws["description"].iloc[0]


def test_booster_multiplies_deal_credit():
    plan = _plan(
        boosters=[{"id": "my", "measure": "new_arr", "flag": "multi_year", "multiplier": 1.5}]
    )
    res = _pay(
        plan, _deals([("d1", "a", 40, "2024-03-01", None, True), ("d2", "a", 20, "2024-03-02")])
    )
    assert res.payouts["actual"].iloc[0] == pytest.approx(80.0)
    line = res.statement_lines[res.statement_lines["kind"] == "booster"]
    assert line["basis"].iloc[0] == pytest.approx(20.0)


def test_booster_needs_flag_column():
    plan = _plan(
        boosters=[{"id": "np", "measure": "new_arr", "flag": "new_product", "multiplier": 2}]
    )
    with pytest.raises(
        KeyError, match="booster 'np' of role 'field' needs deal flag column 'new_product'"
    ):
        _pay(plan, _deals([("d1", "a", 40, "2024-03-01")]))


def test_contest_budget_split_among_best():
    plan = _plan(contests=[{"id": "c", "measure": "new_arr", "budget": 1000, "split": [0.7, 0.3]}])
    deals = _deals(
        [
            ("d1", "a", 10, "2024-03-01"),
            ("d2", "b", 30, "2024-03-01"),
            ("d3", "c", 20, "2024-03-01"),
        ]
    )
    t = _pay(plan, deals).totals.set_index("rep_id")["contest"]
    assert t.to_dict() == {"a": 0.0, "b": 700.0, "c": 300.0}


def test_draw_tops_up_new_hire_and_recoverable_is_recorded():
    draw = {"months": 6, "monthly_amount": 100.0, "recoverable": False}
    reps = _reps("n", hire="2024-10-01")
    res = _pay(_plan(draw=draw), _deals([("d1", "n", 1, "2024-11-01")]), reps=reps)
    t = res.totals.iloc[0]
    months = 92 / (365.25 / 12)  # Oct-Dec inside the period
    assert t["draw_topup"] == pytest.approx(round(months, 2) * 100.0)
    assert t["draw_recoverable"] == 0.0
    # target incentive and quota prorated to the 92 days employed
    assert t["target_incentive"] == pytest.approx(1000 * 92 / 366)
    rec = _pay(
        _plan(draw={**draw, "recoverable": True}), _deals([("d1", "n", 1, "2024-11-01")]), reps=reps
    )
    assert rec.totals["draw_recoverable"].iloc[0] == pytest.approx(t["draw_topup"])
    # a rep hired long ago gets no draw
    old = _pay(_plan(draw=draw), _deals([("d1", "o", 1, "2024-11-01")]))
    assert old.totals["draw_topup"].iloc[0] == 0.0


def test_statement_lines_sum_to_incentive_and_explain_threshold():
    plan = _plan(clawback={"window_months": 6, "measures": ["new_arr"]}, cap=2.0)
    deals = _deals([("d1", "a", 120, "2024-02-01", "2024-04-01"), ("d2", "b", 30, "2024-02-01")])
    res = _pay(plan, deals)
    s = res.statement_lines
    body = s[s["kind"] != "total"].groupby("rep_id")["amount"].sum()
    total = s[s["kind"] == "total"].set_index("rep_id")["amount"]
    pd.testing.assert_series_equal(body, total, check_names=False)
    pd.testing.assert_series_equal(
        total, res.totals.set_index("rep_id")["incentive"], check_names=False
    )
    b = s[(s["rep_id"] == "b") & (s["kind"] == "measure")]["description"].iloc[0]
    assert "Threshold of 50% not reached" in b


def test_commission_measure_and_unplanned_roles_are_counted():
    plan = plan_from_dict(
        {
            "name": "c",
            "roles": {
                "field": {
                    "base_salary": 0,
                    "target_incentive": 100,
                    "measures": [
                        {"id": "new_arr", "weight": 1, "quota": 1000, "commission_rate": 0.1}
                    ],
                }
            },
        },
        known_measures=KNOWN,
    )
    reps = pd.DataFrame({"rep_id": ["a", "x"], "role": ["field", "tele"]})
    deals = _deals(
        [
            ("d1", "a", 500, "2024-03-01"),
            ("d2", "x", 500, "2024-03-01"),
            ("d3", "a", 1, "2023-03-01"),
        ]
    )
    res = compute_payouts(plan, reps, deals, NO_ACTUALS, START, END)
    assert res.totals["incentive"].tolist() == [pytest.approx(50.0)]
    assert res.payouts["attainment"].iloc[0] == pytest.approx(0.5)
    assert any("1 rep(s) left out" in n for n in res.notes)
    assert any("1 deal(s) of reps without a plan" in n for n in res.notes)


def test_portfolio_measure_with_floor_and_quota_override():
    plan = plan_from_dict(
        {
            "name": "r",
            "roles": {
                "field": {
                    "base_salary": 0,
                    "target_incentive": 1000,
                    "measures": [
                        {"id": "net_revenue_retention", "weight": 1, "quota": 1.0, "floor": 0.8}
                    ],
                }
            },
        },
        known_measures=KNOWN,
    )
    acts = pd.DataFrame(
        {"rep_id": ["a", "b"], "measure": "net_revenue_retention", "actual": [0.9, 1.1]}
    )
    res = compute_payouts(
        plan, _reps("a", "b", "c"), _deals([]).astype({"rep_id": "string"}), acts, START, END
    )
    att = res.payouts.set_index("rep_id")["attainment"]
    assert att["a"] == pytest.approx(0.5) and att["b"] == pytest.approx(1.5)
    assert np.isnan(att["c"])
    assert any("without an actual" in n for n in res.notes)
    q = pd.DataFrame({"rep_id": ["a"], "measure": ["net_revenue_retention"], "quota": [0.9]})
    res2 = compute_payouts(
        plan, _reps("a"), _deals([]).astype({"rep_id": "string"}), acts, START, END, quotas=q
    )
    assert res2.payouts["attainment"].iloc[0] == pytest.approx(1.0)


def test_engine_does_not_modify_inputs():
    deals = _deals([("d1", "a", 80, "2024-03-01")])
    reps = _reps("a")
    d0, r0 = deals.copy(), reps.copy()
    _pay(_plan(), deals, reps=reps)
    pd.testing.assert_frame_equal(deals, d0)
    pd.testing.assert_frame_equal(reps, r0)


def test_missing_column_is_named():
    with pytest.raises(KeyError, match="deals lacks column"):
        compute_payouts(_plan(), _reps("a"), pd.DataFrame({"deal_id": []}), NO_ACTUALS, START, END)


# ---------------------------------------------------------------- plan files


def _raw_plan():
    return {
        "name": "bad",
        "roles": {
            "field": {
                "base_salary": 1,
                "target_incentive": 1,
                "cap": 0.8,
                "measures": [
                    {
                        "id": "new_arr",
                        "weight": 0.5,
                        "quota": 10,
                        "curve": {
                            "cap": 0.9,
                            "tiers": [
                                {"from": 0, "to": 1.2, "rate": 1},
                                {"from": 1.0, "to": None, "rate": 2},
                            ],
                        },
                    },
                    {"id": "gross_retention", "weight": 0.3, "quota": 0.9},
                ],
            }
        },
    }


def test_plan_validation_reports_all_problems_at_once():
    with pytest.raises(ValueError) as exc:
        plan_from_dict(_raw_plan(), source="bad.yaml", known_measures=KNOWN)
    msg = str(exc.value)
    assert msg.startswith("bad.yaml: invalid plan (3 problem(s))")
    assert "weights sum to 80.0%, not 100%" in msg
    assert "tiers overlap: [0, 1.2) and [1, ...)" in msg
    assert "roles.field.cap: plan cap 0.8 x target incentive is below target" in msg


def test_plan_validation_measure_cap_below_target_and_unknown_measure():
    raw = _raw_plan()
    raw["roles"]["field"]["cap"] = None
    m = raw["roles"]["field"]["measures"]
    m[0]["curve"]["tiers"][0]["to"] = 1.0
    m[1]["weight"] = 0.5
    m[1]["id"] = "happiness"
    with pytest.raises(ValueError, match=r"curve.cap: cap 0.9 is below target") as exc:
        plan_from_dict(raw, known_measures=KNOWN)
    assert "(happiness): unknown measure" in str(exc.value)


def test_plan_type_errors_name_the_entry():
    raw = _raw_plan()
    raw["roles"]["field"]["measures"][0]["weight"] = "lots"
    with pytest.raises(ValueError, match=r"roles\.field\.measures\.0\.weight: .*'lots'"):
        plan_from_dict(raw)


def test_load_plan_unknown_name_lists_builtin_plans():
    with pytest.raises(FileNotFoundError, match="built-in plans: current, proposed"):
        load_plan("nosuchplan")


def test_builtin_plans_are_valid_and_cover_all_roles():
    from salesanalytics.ingest.schema import REP_ROLES

    for name in ("current", "proposed"):
        plan = load_plan(name)
        assert set(plan.roles) == set(REP_ROLES)
    cur = load_plan("current")
    assert all(m.commission_rate for rp in cur.roles.values() for m in rp.measures)
    assert all(rp.clawback is None for rp in cur.roles.values())


def test_invalid_yaml_file(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_plan(p)


# ---------------------------------------------------------------- actuals from CRM tables


def _crm():
    contracts = pd.DataFrame(
        {
            "contract_id": ["c1", "c2", "c3", "c4", "c5"],
            "account_id": ["A", "B", "C", "D", "E"],
            "product_id": ["p1", "p1", "p2", "p1", "p2"],
            "start_date": pd.to_datetime(
                ["2023-01-01", "2023-06-01", "2024-03-01", "2023-01-01", "2024-02-01"]
            ),
            "end_date": pd.to_datetime([None, "2024-06-30", None, None, "2024-05-31"]),
            "term_months": [12, 12, 36, 12, 12],
            "mrr": [100.0, 50.0, 80.0, 200.0, 40.0],
        }
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3", "o4", "o5"],
            "account_id": ["C", "E", "A", "B", "C"],
            "owner_id": ["r1", "r1", "r2", None, "r1"],
            "type": ["new_business", "new_business", "upsell", "new_business", "renewal"],
            "status": ["won", "won", "won", "won", "won"],
            "amount": [960.0, 480.0, 300.0, 100.0, 10.0],
            "close_date": pd.to_datetime(
                ["2024-02-20", "2024-01-25", "2024-04-01", "2024-01-01", "2024-05-01"]
            ),
            "product_id": ["p2", "p2", "p1", "p1", "p2"],
        }
    )
    products = pd.DataFrame(
        {"product_id": ["p1", "p2"], "launch_date": pd.to_datetime(["2015-01-01", "2023-06-01"])}
    )
    return contracts, opps, products


def test_deal_credits_flags_and_lost_date():
    contracts, opps, products = _crm()
    d = deal_credits(opps, contracts, products, START, END)
    assert d.attrs["excluded"] == 1  # o4 has no owner
    nb = d[d["measure"] == "new_arr"].set_index("deal_id")
    assert sorted(nb.index) == ["o1", "o2"]
    assert bool(nb.loc["o1", "multi_year"]) and not bool(nb.loc["o2", "multi_year"])
    assert bool(nb.loc["o1", "new_product"])
    assert nb.loc["o2", "lost_date"] == pd.Timestamp("2024-05-31")  # E churned
    assert pd.isna(nb.loc["o1", "lost_date"])
    assert set(d.loc[d["measure"] == "new_business_value", "deal_id"]) == {"o1", "o2", "o3"}
    assert set(d.loc[d["measure"] == "new_product_arr", "deal_id"]) == {"o1", "o2"}
    assert "o5" not in set(d["deal_id"])  # renewals earn nothing


def test_portfolio_actuals_known_answers():
    contracts, _, _ = _crm()
    owner = pd.DataFrame(
        {"account_id": ["A", "B", "C", "D", "E"], "rep_id": ["r1", "r1", "r1", "r2", "r2"]}
    )
    acts = pd.DataFrame(
        {
            "account_id": ["A", "B", "D"],
            "date": pd.to_datetime(["2024-05-01", "2024-05-01", "2024-05-01"]),
            "type": ["visit", "call", "email"],
            "minutes": [60.0, 2.0, 5.0],
        }
    )
    pa = portfolio_actuals(contracts, acts, owner, START, END)
    v = pa.set_index(["rep_id", "measure"])["actual"]
    # r1 at start: A 100 + B 50 = 150; end: A 100 (B lost); C is new (80) -> growth
    assert v["r1", "net_revenue_retention"] == pytest.approx(100 / 150)
    assert v["r1", "gross_retention"] == pytest.approx(100 / 150)
    assert v["r1", "portfolio_growth"] == pytest.approx(180 / 150)
    assert v["r1", "activity_quality"] == pytest.approx(0.5)  # A visited; B only a 2-minute call
    assert v["r2", "activity_quality"] == pytest.approx(0.0)  # an e-mail is no qualified contact
    assert v["r2", "net_revenue_retention"] == pytest.approx(1.0)
    assert mrr_at(contracts, pd.Timestamp("2024-03-15"))["E"] == 40.0


def test_period_revenue_counts_active_months():
    c = pd.DataFrame(
        {
            "start_date": pd.to_datetime(["2023-01-01", "2024-07-01"]),
            "end_date": pd.to_datetime([None, None]),
            "mrr": [100.0, 10.0],
        }
    )
    rev = period_revenue(c, START, END)
    assert rev == pytest.approx(100 * 366 / (365.25 / 12) + 10 * 184 / (365.25 / 12))


# ---------------------------------------------------------------- comparison


def test_compare_plans_and_winners():
    plan = _plan()
    deals = _deals([("d1", "a", 120, "2024-03-01"), ("d2", "b", 40, "2024-03-01")])
    new = _pay(plan, deals)
    old = _pay(_plan(target_incentive=500), deals)
    s = compare_plans({"old": old, "new": new}, revenue=10_000).set_index("plan")
    assert s.loc["new", "incentive"] == pytest.approx(1400.0)
    assert s.loc["new", "cost_of_sales"] == pytest.approx((10_000 + 1400) / 10_000)
    assert s.loc["new", "share_target"] == pytest.approx(0.5)
    assert s.loc["new", "share_threshold"] == pytest.approx(0.5)
    w = winners_losers(old.totals, new.totals)
    assert w["rep_id"].tolist() == ["b", "a"]
    assert w.set_index("rep_id").loc["a", "change"] == pytest.approx(700.0)
    assert composite_attainment(new.payouts)["a"] == pytest.approx(1.2)
    with pytest.raises(ValueError, match="revenue must be positive"):
        compare_plans({"x": new}, revenue=0)


def test_potential_correlation_and_quotas():
    pot = pd.DataFrame({"rep_id": list("abcd"), "potential_mrr": [10.0, 20.0, 30.0, 40.0]})
    pay = pd.DataFrame({"rep_id": list("abcd"), "incentive": [1.0, 2.0, 3.0, 4.0]})
    assert potential_correlation(pay, pot)["rho"] == pytest.approx(1.0)
    raw = _plan().model_dump(by_alias=True)
    raw["roles"]["field"]["measures"][0]["quota_basis"] = "potential"
    plan = plan_from_dict(raw, known_measures=KNOWN)
    q = potential_quotas(plan, pd.DataFrame({"rep_id": list("abcd"), "role": "field"}), pot)
    assert q["quota"].tolist() == pytest.approx([40.0, 80.0, 120.0, 160.0])


# ---------------------------------------------------------------- simulation


def test_gini_and_lorenz_known_answers():
    assert float(gini([1, 1, 1, 1])) == pytest.approx(0.0)
    assert float(gini([0, 0, 0, 1])) == pytest.approx(0.75)
    np.testing.assert_allclose(gini(np.array([[1, 1], [0, 2]]), axis=1), [0.0, 0.5])
    lc = lorenz([0, 0, 0, 1])
    assert lc["pay_share"].tolist() == [0, 0, 0, 0, 1]


def test_jensen_effect_under_convex_curve():
    c = Curve(tiers=ACCEL)
    res = jensen_gap(c, [0.5, 1.5])
    assert res["factor_at_mean"] == pytest.approx(1.0)
    assert res["mean_factor"] == pytest.approx((0.5 + 2.0) / 2)
    assert res["gap"] > 0
    linear = jensen_gap(Curve(), [0.5, 1.5])
    assert linear["gap"] == pytest.approx(0.0)


def _history(seed=0, n=4000):
    rng = np.random.default_rng(seed)
    corr = np.array([[1.0, 0.6], [0.6, 1.0]])
    z = rng.standard_normal((n, 2)) @ np.linalg.cholesky(corr).T
    a = np.exp(np.array([0.0, -0.1]) + np.array([0.3, 0.2]) * z)
    return pd.DataFrame(
        {
            "rep_id": np.repeat(np.arange(n).astype(str), 2),
            "measure": np.tile(["new_arr", "net_revenue_retention"], n),
            "attainment": a.ravel(),
        }
    )


def test_calibration_recovers_planted_distribution():
    cal = calibrate(_history())
    assert cal.measures == ("net_revenue_retention", "new_arr")
    np.testing.assert_allclose(cal.mu, [-0.1, 0.0], atol=0.02)
    np.testing.assert_allclose(cal.sigma, [0.2, 0.3], atol=0.02)
    assert cal.corr[0, 1] == pytest.approx(0.6, abs=0.05)
    with pytest.raises(ValueError, match="cannot calibrate measure"):
        calibrate(_history().head(4))


def _sim_plan():
    raw = {
        "name": "s",
        "roles": {
            "field": {
                "base_salary": 0,
                "target_incentive": 1000,
                "cap": 2.0,
                "measures": [
                    {
                        "id": "new_arr",
                        "weight": 0.5,
                        "quota": 100,
                        "curve": {
                            "tiers": [
                                {"from": 0, "to": 1, "rate": 1},
                                {"from": 1, "to": None, "rate": 3},
                            ]
                        },
                    },
                    {"id": "net_revenue_retention", "weight": 0.5, "quota": 1.0},
                ],
            }
        },
    }
    return plan_from_dict(raw, known_measures=KNOWN)


def test_simulation_reproducible_and_sensible():
    cal = calibrate(_history())
    reps = pd.DataFrame({"rep_id": [f"r{i}" for i in range(50)], "role": "field"})
    a = simulate(_sim_plan(), reps, cal, n_scenarios=400, seed=7, chunk=100)
    b = simulate(_sim_plan(), reps, cal, n_scenarios=400, seed=7, chunk=100)
    c = simulate(_sim_plan(), reps, cal, n_scenarios=400, seed=8, chunk=100)
    np.testing.assert_array_equal(a.pay, b.pay)
    assert not np.array_equal(a.pay, c.pay)
    assert a.pay.shape == (400, 50)
    assert a.pay.max() <= 2000 + 1e-9  # plan cap
    s = simulation_summary(a).set_index("statistic")["value"]
    assert s["cost_p10"] < s["cost_p50"] < s["cost_p90"]
    assert s["target_cost"] == pytest.approx(50_000)
    # convex new_arr curve: expected cost above the 'everyone at median' cost (Jensen)
    assert s["cost_mean"] > 0


def test_simulation_errors_name_missing_measure_and_role():
    cal = calibrate(
        _history().query("measure == 'new_arr' or rep_id < '5'").assign(measure="new_arr")
    )
    reps = pd.DataFrame({"rep_id": ["a"], "role": ["field"]})
    with pytest.raises(KeyError, match="net_revenue_retention of plan 's' are not calibrated"):
        simulate(_sim_plan(), reps, cal, n_scenarios=10)
    with pytest.raises(KeyError, match="no plan for role"):
        simulate(
            _sim_plan(), pd.DataFrame({"rep_id": ["a"], "role": ["tele"]}), cal, n_scenarios=10
        )


def test_with_levers_changes_only_the_levers():
    p = _sim_plan()
    q = with_levers(p, threshold=0.8, accelerator=1.5, plan_cap=3.0, target_incentive_scale=2.0)
    rq = q.roles["field"]
    assert rq.cap == 3.0 and rq.target_incentive == 2000
    assert rq.measures[0].curve.threshold == 0.8
    assert [t.rate for t in rq.measures[0].curve.tiers] == [1.0, 1.5]
    assert p.roles["field"].target_incentive == 1000  # original untouched
    assert copy.deepcopy(p) == p


def test_auto_quota_is_role_median_and_spread_by_potential():
    m = _plan().roles["field"].measures[0].model_dump(by_alias=True)
    m["quota"] = "auto"
    deals = _deals(
        [
            ("d1", "a", 10, "2024-03-01"),
            ("d2", "b", 20, "2024-03-01"),
            ("d3", "c", 30, "2024-03-01"),
        ]
    )
    flat = _pay(_plan(measures=[m]), deals).payouts.set_index("rep_id")
    assert flat["quota"].tolist() == pytest.approx([20.0, 20.0, 20.0])
    assert flat["attainment"].tolist() == pytest.approx([0.5, 1.0, 1.5])
    m["quota_basis"] = "potential"
    pot = pd.DataFrame({"rep_id": ["a", "b", "c"], "potential_mrr": [1.0, 1.0, 2.0]})
    spread = _pay(_plan(measures=[m]), deals, potential=pot).payouts.set_index("rep_id")
    # shares 0.75/0.75/1.5; level = median(10/.75, 20/.75, 30/1.5) = 20
    assert spread["quota"].tolist() == pytest.approx([15.0, 15.0, 30.0])


def test_auto_quota_comes_from_the_prior_period_plus_growth_and_the_statement_says_so():
    m = _plan().roles["field"].measures[0].model_dump(by_alias=True)
    m["quota"] = "auto"
    plan = _plan(measures=[m])
    this_year = _deals(
        [
            ("d1", "a", 100, "2024-03-01"),
            ("d2", "b", 200, "2024-03-01"),
            ("d3", "c", 300, "2024-03-01"),
        ]
    )
    prior = pd.DataFrame(
        {"rep_id": ["a", "b", "c"], "measure": "new_arr", "full_year_actual": [40.0, 50.0, 60.0]}
    )
    res = _pay(plan, this_year, quota_history=prior, quota_growth=0.1)
    p = res.payouts.set_index("rep_id")
    # median of last year's 40/50/60 = 50, +10% growth = 55 (not this year's median of 200)
    assert p["quota"].tolist() == pytest.approx([55.0, 55.0, 55.0])
    assert set(p["quota_source"]) == {"prior"}
    assert p.loc["b", "attainment"] == pytest.approx(200 / 55)
    desc = res.statement_lines.query("rep_id == 'b' and kind == 'measure'")["description"].iloc[0]
    assert "the role's median of the prior year's results plus a growth target of 10%" in desc
    # without a prior period the engine says the quota is circular
    same = _pay(plan, this_year)
    assert set(same.payouts["quota_source"]) == {"same"}
    assert any("circular" in n for n in same.notes)
    assert same.payouts["quota"].tolist() == pytest.approx([200.0, 200.0, 200.0])
    fixed = _pay(_plan(), this_year)
    assert set(fixed.payouts["quota_source"]) == {"plan"}
    assert "(fixed in the plan)" in fixed.statement_lines["description"].iloc[0]


def test_pay_is_rounded_at_the_line_and_the_total_is_the_sum_of_the_lines():
    assert round_pay(2.5) == 3.0 and round_pay(-2.5) == -3.0 and round_pay(1.49) == 1.0
    assert round_pay(pd.Series([0.5, -0.4])).tolist() == [1.0, 0.0]
    plan = _plan(clawback={"window_months": 6, "measures": ["new_arr"]}, cap=2.0)
    # odd amounts: every line has cents before rounding
    deals = _deals(
        [
            ("d1", "a", 73.37, "2024-02-01", "2024-04-01"),
            ("d2", "a", 41.29, "2024-05-01"),
            ("d3", "b", 66.66, "2024-02-01"),
        ]
    )
    reps = _reps("a", "b", hire="2024-03-17")  # prorated: fractional targets and base
    res = _pay(plan, deals, reps=reps)
    s = res.statement_lines
    body = s[s["kind"] != "total"]
    assert (body["amount"] == body["amount"].round()).all()
    lines = body.groupby("rep_id")["amount"].sum()
    total = s[s["kind"] == "total"].set_index("rep_id")["amount"]
    assert (lines - total).abs().max() == 0.0  # exactly, not within a rounding difference
    t = res.totals.set_index("rep_id")
    assert (t["incentive"] == total).all()
    assert (t["total_pay"] == t["base_salary"] + t["incentive"]).all()
    assert (t["base_salary"] == t["base_salary"].round()).all()


def test_team_lead_is_credited_with_team_deals():
    from salesanalytics.analyses.compensation import with_team_deals

    reps = pd.DataFrame(
        {
            "rep_id": ["l", "a", "b"],
            "role": ["team_lead", "field", "field"],
            "manager_id": [None, "l", None],
        }
    )
    d = with_team_deals(_deals([("d1", "a", 10, "2024-03-01"), ("d2", "b", 5, "2024-03-01")]), reps)
    lead = d[d["rep_id"] == "l"]
    assert lead["deal_id"].tolist() == ["d1"] and bool(lead["team_credit"].iloc[0])
    assert len(d) == 3


# ---------------------------------------------------------------- demo client (planted truths)


def test_demo_client_territory_luck_and_new_hires(demo_export):
    from salesanalytics.analyses.compensation import evaluate_plans
    from salesanalytics.ingest.intake import as_of_date, load_export

    t = load_export(demo_export, mapping="salesforce").tables
    truth = pd.read_parquet(
        demo_export / "truth_accounts.parquet", columns=["account_id", "potential_mrr"]
    )
    as_of = as_of_date(t)
    ev = evaluate_plans(
        load_plan("current"),
        load_plan("proposed"),
        t["accounts"],
        t["reps"],
        t["contracts"],
        t["opportunities"],
        t["products"],
        t["activities"],
        as_of,
        account_potential=truth,
    )
    # planted: four predecessors left (inactive) and are not paid
    assert any(n.startswith("4 inactive rep(s)") for n in ev.notes)
    # planted: four field reps hired in the last 6 months -> prorated target incentive
    reps = t["reps"].set_index("rep_id")
    recent = reps.index[(reps["hire_date"] > as_of - pd.DateOffset(months=6)) & reps["active"]]
    tot = ev.proposed.totals.set_index("rep_id")
    assert len(recent) == 4
    assert (tot.loc[recent, "target_incentive"] < 24_000).all()
    # planted: unbalanced territories -> commission follows territory potential; potential-based
    # quotas of the proposed plan weaken that link
    rho = ev.correlation.set_index("plan")["rho"]
    assert rho["current"] > 0.3
    assert rho["proposed"] < rho["current"]


def test_simulated_commission_uses_per_rep_quotas():
    from salesanalytics.analyses.compensation import Calibration, scenario_table, summary_display

    plan = plan_from_dict(
        {
            "name": "c",
            "roles": {
                "field": {
                    "base_salary": 0,
                    "target_incentive": 100,
                    "measures": [
                        {"id": "new_arr", "weight": 1, "quota": "auto", "commission_rate": 0.1}
                    ],
                }
            },
        },
        known_measures=KNOWN,
    )
    # degenerate calibration: every rep at exactly 100% attainment
    cal = Calibration(("new_arr",), np.array([0.0]), np.array([1e-12]), np.eye(1), 1)
    reps = pd.DataFrame({"rep_id": ["a", "b"], "role": "field"})
    quotas = pd.DataFrame({"rep_id": ["a", "b"], "measure": "new_arr", "quota": [1000.0, 2000.0]})
    res = simulate(plan, reps, cal, n_scenarios=50, seed=3, quotas=quotas)
    np.testing.assert_allclose(res.pay[:, 0], 100.0, rtol=1e-5)  # 10% of 1'000
    np.testing.assert_allclose(res.pay[:, 1], 200.0, rtol=1e-5)
    t = scenario_table(
        _sim_plan(),
        pd.DataFrame({"rep_id": ["a"], "role": ["field"]}),
        calibrate(_history()),
        {"as is": {}, "cap 1": {"plan_cap": 1.0}},
        n_scenarios=200,
        seed=1,
    )
    assert t["scenario"].tolist() == ["as is", "cap 1"]
    assert t.loc[1, "cost_p90"] <= 1000 + 1e-9 <= t.loc[0, "cost_p90"] + 1000
    d = summary_display(simulation_summary(res, "x"))
    assert d.loc[d["figure"] == "Share of rep-years paid above target", "x"].iloc[0].endswith("%")


def test_clawback_exposure_weights_pay_with_churn_risk():
    from salesanalytics.analyses.compensation import clawback_exposure

    plan = _plan(clawback={"window_months": 12, "share": 0.5, "measures": ["new_arr"]})
    deals = _deals([("d1", "a", 100, "2024-03-01"), ("d2", "a", 50, "2024-03-01", "2024-05-01")])
    deals["account_id"] = ["A1", "A2"]
    res = _pay(plan, deals)  # 150 credit on quota 100 -> factor 2.0 -> 2000 paid, 2000/150 per CHF
    churn = pd.DataFrame({"account_id": ["A1", "A2"], "churn_probability": [0.2, 0.9]})
    x = clawback_exposure(plan, res, deals, churn).iloc[0]
    assert x["deals_at_risk"] == 1  # d2's customer is already lost (clawed back, not at risk)
    assert x["pay_at_risk"] == pytest.approx(100 * 2000 / 150 * 0.5)
    assert x["expected_clawback"] == pytest.approx(0.2 * 100 * 2000 / 150 * 0.5)


def test_lever_widget_recomputes_on_slider_change():
    from salesanalytics.analyses.compensation.plots import lever_widget

    reps = pd.DataFrame({"rep_id": ["a", "b"], "role": "field"})
    wd = lever_widget(_sim_plan(), reps, calibrate(_history()), n_scenarios=100, seed=1)
    table = wd.children[-1]
    before = table.value
    assert "Incentive cost P10" in before
    wd.children[2].value = 1.0  # plan cap slider
    assert table.value != before
    wd.children[2].value = 2.0  # back to the plan's own cap: the plan as it is again

    def cells(html: str) -> list[str]:
        return re.findall(r"<td[^>]*>([^<]*)</td>", html)

    assert cells(table.value) == cells(before)


def _mixed_plan():
    """Two measures with their own threshold and accelerators, as in the proposed plan."""
    growth = {
        "threshold": 0.5,
        "cap": 2.0,
        "tiers": [
            {"from": 0, "to": 1, "rate": 1},
            {"from": 1, "to": 1.5, "rate": 2},
            {"from": 1.5, "to": None, "rate": 0.5},
        ],
    }
    retention = {
        "threshold": 0.3,
        "cap": 1.75,
        "tiers": [{"from": 0, "to": 1, "rate": 1}, {"from": 1, "to": None, "rate": 1.5}],
    }
    raw = {
        "name": "mixed",
        "roles": {
            "field": {
                "base_salary": 0,
                "target_incentive": 1000,
                "cap": 2.0,
                "measures": [
                    {"id": "new_arr", "weight": 0.4, "quota": 100, "curve": growth},
                    {"id": "upsell_arr", "weight": 0.2, "quota": 100, "curve": growth},
                    {
                        "id": "net_revenue_retention",
                        "weight": 0.4,
                        "quota": 1.0,
                        "curve": retention,
                    },
                ],
            }
        },
    }
    return plan_from_dict(raw, known_measures=KNOWN)


def test_lever_widget_starts_from_the_plan_as_it_is():
    from salesanalytics.analyses.compensation import (
        Calibration,
        plan_levers,
        scenario_table,
    )
    from salesanalytics.analyses.compensation.plots import lever_widget
    from salesanalytics.present import style

    plan = _mixed_plan()
    cal = Calibration(
        ("net_revenue_retention", "new_arr", "upsell_arr"),
        np.array([0.0, 0.05, -0.05]),
        np.array([0.15, 0.4, 0.5]),
        np.eye(3),
        100,
    )
    reps = pd.DataFrame({"rep_id": [f"r{i}" for i in range(30)], "role": "field"})
    levers = plan_levers(plan)
    assert levers == {
        "threshold": 0.5,  # two of three quota measures
        "accelerator": 2.0,
        "plan_cap": 2.0,
        "target_incentive_scale": 1.0,
    }
    wd = lever_widget(plan, reps, cal, n_scenarios=300, seed=5)
    assert [sl.value for sl in wd.children[:-1]] == list(levers.values())
    html = wd.children[-1].value
    # untouched, the panel shows the same simulation as the scenario table's row of the plan
    row = scenario_table(plan, reps, cal, {"plan": {}}, n_scenarios=300, seed=5).iloc[0]
    cells = [html_lib.unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", html)]
    p50 = cells.index("Incentive cost P50 (median)")
    assert cells[p50 + 1] == cells[p50 + 2] == style.chf(row["cost_p50"])
    gini = cells.index("Gini of incentive across reps (median year)")
    assert cells[gini + 1] == cells[gini + 2] == f"{row['gini_p50']:.3f}"
    # forcing the representative levers onto every measure is another plan (what the widget
    # showed before it started from the plan itself)
    forced = scenario_table(plan, reps, cal, {"f": levers}, n_scenarios=300, seed=5).iloc[0]
    assert style.chf(forced["cost_p50"]) != style.chf(row["cost_p50"])


def test_isin_ids_matches_pandas_isin_for_string_ids():
    from salesanalytics.analyses.compensation.actuals import _isin_ids

    ids = pd.Index(["A", "B", None, "C"], dtype="string")
    known = pd.Index(["B", None, "Z"], dtype="string")
    expected = [False, True, True, False]  # a missing id matches a missing one, as in pandas
    assert ids.isin(known).tolist() == expected
    assert _isin_ids(ids, known).tolist() == expected
    assert _isin_ids(pd.Series(["A", "C"], dtype=object), ["C"]).tolist() == [False, True]
    assert _isin_ids(ids, pd.Index([], dtype="string")).tolist() == [False] * 4


def test_plot_simulation_bars_are_the_histogram_of_the_cost():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from salesanalytics.analyses.compensation import SimulationResult
    from salesanalytics.analyses.compensation.plots import plot_simulation

    def result(cost, pay):
        pay = np.asarray(pay, dtype=float)
        return SimulationResult(
            cost=np.asarray(cost, dtype=float),
            pay=pay,
            gini=gini(pay, axis=1),
            rep_ids=np.array(["r1", "r2"]),
            target=np.ones(2),
        )

    sims = {
        "current": result([1e6, 1e6, 3e6], [[1, 1], [1, 1], [1, 1]]),
        "proposed": result([2e6, 3e6, 3e6], [[0, 2], [0, 2], [0, 2]]),
    }
    fig = plot_simulation(sims, bins=2)
    cost, spread = fig.axes
    heights = [[p.vertices[:, 1].max() for p in c.get_paths()] for c in cost.collections]
    assert heights == [[2, 1], [0, 3]]  # bins [1, 2) and [2, 3] (CHF Mio.) of each plan
    assert cost.get_ylim()[0] == 0  # bars stand on the axis, as with Axes.hist
    labels = [t.get_text() for t in spread.get_legend().get_texts()]
    assert labels == ["current (Gini 0.00)", "proposed (Gini 0.50)"]
    assert [t.get_text() for t in cost.get_legend().get_texts()] == ["current", "proposed"]
    plt.close(fig)


def test_read_statement_reads_a_run_once_and_shows_one_rep(tmp_path):
    from salesanalytics.engagement.results import read_statement

    plan = _plan(cap=2.0)
    deals = _deals([("d1", "a", 120, "2024-02-01"), ("d2", "b", 30, "2024-02-01")])
    res = _pay(plan, deals)
    folder = tmp_path / "data" / "compensation"
    folder.mkdir(parents=True)
    res.statement_lines.to_parquet(folder / "statement_lines.parquet")
    res.totals.to_parquet(folder / "totals_current.parquet")
    res.totals.to_parquet(folder / "totals_proposed.parquet")
    reps = pd.DataFrame({"rep_id": ["b", "a"], "rep_name": ["Beat <b>", None]})
    reps.to_parquet(folder / "statement_reps.parquet")
    header, lines = read_statement(tmp_path, "a")
    mine = res.statement_lines[res.statement_lines["rep_id"] == "a"]
    assert lines["amount"].tolist() == mine.sort_values("line")["amount"].tolist()
    assert header.startswith(
        "a (field sales): incentive under the proposed plan"
    )  # no name: the id
    assert read_statement(tmp_path, "")[0].startswith("Beat <b> (field sales)")  # first listed rep
    assert read_statement(tmp_path, "b")[1]["amount"].iloc[-1] == pytest.approx(
        res.totals.set_index("rep_id").loc["b", "incentive"]
    )
    with pytest.raises(KeyError, match="rep 'z' has no statement; reps with a statement include"):
        read_statement(tmp_path, "z")
    with pytest.raises(FileNotFoundError, match="run the compensation phase first"):
        read_statement(tmp_path / "elsewhere", "a")


def test_clawback_line_names_the_customer_with_the_deal_id_last():
    plan = _plan(clawback={"window_months": 6, "measures": ["new_arr"]})
    deals = _deals([("d1", "a", 120, "2024-02-01", "2024-04-01")])
    deals["customer"] = "Bäckerei Müller GmbH"
    s = _pay(plan, deals).statement_lines
    line = s.loc[s["kind"] == "clawback", "description"].iloc[0]
    assert line.startswith("Clawback: Bäckerei Müller GmbH (deal d1) (won 01.02.2024)")


def test_credit_follows_the_channel_matrix_routing_not_the_deal_owner() -> None:
    from salesanalytics.analyses.compensation import credit_notes, route_credits, serving_reps

    reps = pd.DataFrame(
        {
            "rep_id": ["F1", "F2", "T1", "T2", "O1"],
            "role": ["field", "field", "tele", "tele", "online"],
            "team": ["East", "East", "East", "East", "East"],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3", "d4", "d5", "d6"],
            "rep_id": ["T1", "F1", "F2", "F1", "O1", "F1"],
            "account_id": ["a1", "a1", "a2", "a3", "a4", "a1"],
            "measure": ["new_arr"] * 6,
            "amount": [1000.0, 200.0, 300.0, 400.0, 500.0, 600.0],
        }
    )
    groups = pd.Series(
        {
            "d1": "SEO",
            "d2": "Listings",
            "d3": "Listings",
            "d4": "Listings",
            "d5": "SEO",
            "d6": "Booking",
        }
    )
    routing = pd.DataFrame(
        {
            "account_id": ["a1", "a1", "a2", "a3", "a4"],
            "product_group": ["SEO", "Listings", "Listings", "Listings", "SEO"],
            "channel": ["field", "tele", "tele", "tele", "field"],
        }
    )
    owners = pd.DataFrame(
        {"account_id": ["a1", "a2", "a3", "a4"], "rep_id": ["F1", "F2", "F1", "F2"]}
    )
    contracts = pd.DataFrame(
        {
            "account_id": ["a1", "a1", "a2"],
            "start_date": pd.to_datetime(["2024-01-01", "2025-01-01", "2025-02-01"]),
            "owner_id": ["T1", "T2", "F2"],
        }
    )
    serving = serving_reps(contracts, reps)
    assert serving.to_dict("records") == [{"account_id": "a1", "channel": "tele", "rep_id": "T2"}]
    out = route_credits(deals, routing, groups, reps, owners, serving)
    got = {
        (r.deal_id, r.rep_id): (r.credit_basis, round(r.amount, 2))
        for r in out.itertuples(index=False)
    }
    assert got == {
        # a tele rep sold SEO, which the matrix keeps in the field: the field owner earns it
        ("d1", "F1"): ("field_owner", 1000.0),
        # a field rep sold a Listings add-on the matrix gives to tele: the account's tele rep
        ("d2", "T2"): ("channel_rep", 200.0),
        # no tele rep of its own: shared among the team's tele reps
        ("d3", "T1"): ("team_channel", 150.0),
        ("d3", "T2"): ("team_channel", 150.0),
        ("d4", "T1"): ("team_channel", 200.0),
        ("d4", "T2"): ("team_channel", 200.0),
        # routed to the field, sold by an online rep: the field owner F2
        ("d5", "F2"): ("field_owner", 500.0),
        # a product group the matrix does not route: the owner keeps it
        ("d6", "F1"): ("unrouted", 600.0),
    }
    # credit is moved, never created or lost
    assert out["amount"].sum() == pytest.approx(deals["amount"].sum())
    assert out.loc[out["deal_id"] == "d2", "sold_by"].tolist() == ["F1"]
    notes = credit_notes(out)
    assert notes[("F1", "new_arr")] == (
        "credit by the channel matrix: 1 as the account's field owner, "
        "1 sold by you, not in the channel matrix"
    )
    assert notes[("T2", "new_arr")].startswith(
        "credit by the channel matrix: 1 as the account's tele rep, 2 shared among"
    )
    with pytest.raises(KeyError, match="routing lacks column"):
        route_credits(deals, routing.drop(columns="channel"), groups, reps, owners)
