"""The payout engine's steps, each on its own (compute_payouts chains them; see test_compensation)."""

from __future__ import annotations

import pandas as pd
import pytest

from salesanalytics.analyses.compensation import MEASURES, plan_from_dict
from salesanalytics.analyses.compensation.engine import (
    apply_clawbacks,
    apply_draws,
    attach_actuals,
    award_contests,
    credit_deals,
    measure_targets,
    pay_measures,
    plan_reps,
    rep_totals,
    set_quotas,
)
from salesanalytics.analyses.compensation.statement import STATEMENT_COLUMNS, statement_lines

START, END = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31")  # 366 days


def _plan(**role):
    base = {
        "base_salary": 5000,
        "target_incentive": 1000,
        "measures": [
            {
                "id": "new_arr",
                "weight": 1.0,
                "quota": 100,
                "deal_cap": 80,
                "curve": {"threshold": 0.5, "tiers": [{"from": 0, "to": None, "rate": 1}]},
            }
        ],
    }
    base.update(role)
    return plan_from_dict({"name": "t", "roles": {"field": base}}, known_measures=set(MEASURES))


def _reps() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["a", "b", "x"],
            "role": ["field", "field", "tele"],
            "fte": [1.0, 0.5, 1.0],
            "hire_date": pd.to_datetime(["2020-01-01", "2024-07-01", "2020-01-01"]),
        }
    )


def _deals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3", "d4"],
            "rep_id": ["a", "a", "b", "x"],
            "measure": "new_arr",
            "amount": [50.0, 100.0, 40.0, 10.0],
            "close_date": pd.to_datetime(["2024-03-01", "2024-04-01", "2024-09-01", "2024-05-01"]),
            "lost_date": pd.to_datetime([None, "2024-06-01", None, None]),
            "strategic": [True, False, False, False],
        }
    )


def test_plan_reps_prorates_by_fte_and_days_employed_and_counts_reps_without_plan() -> None:
    notes: list[str] = []
    r = plan_reps(_plan(), _reps(), START, END, notes)
    assert list(r["rep_id"]) == ["a", "b"]
    assert r.set_index("rep_id")["prorate"].to_dict() == pytest.approx(
        {"a": 1.0, "b": 0.5 * 184 / 366}  # b: half time, from 1 July
    )
    assert notes == ["1 rep(s) left out: their role has no plan in 't' (tele)."]


def test_credit_deals_applies_boosters_then_the_deal_cap() -> None:
    plan = _plan(boosters=[{"id": "s", "measure": "new_arr", "flag": "strategic", "multiplier": 2}])
    notes: list[str] = []
    r = plan_reps(plan, _reps(), START, END, notes)
    d, dsum, hits = credit_deals(plan, _deals(), r, measure_targets(plan, r), START, END, notes)
    credit = d.set_index("deal_id")["credit"]
    assert credit.to_dict() == {"d1": 80.0, "d2": 80.0, "d3": 40.0}  # 50 x 2 and 100 capped at 80
    assert d.set_index("deal_id")["capped"].to_dict() == {"d1": True, "d2": True, "d3": False}
    assert dsum.set_index("rep_id")["actual"].to_dict() == {"a": 160.0, "b": 40.0}
    assert len(hits) == 1 and hits[0][2].sum() == 1
    assert "1 deal(s) of reps without a plan" in notes[-1]


def test_quotas_attainment_and_payout_per_measure() -> None:
    plan = _plan()
    notes: list[str] = []
    r = plan_reps(plan, _reps(), START, END, notes)
    rm = measure_targets(plan, r)
    _d, dsum, _ = credit_deals(plan, _deals(), r, rm, START, END, notes)
    rm, _portfolio = attach_actuals(
        rm, dsum, pd.DataFrame(columns=["rep_id", "measure", "actual"]), notes
    )
    rm = pay_measures(plan, set_quotas(rm, None, None, 0.0, None, notes))
    a, b = rm.set_index("rep_id").loc["a"], rm.set_index("rep_id").loc["b"]
    assert a["quota"] == 100.0 and a["actual"] == 130.0  # 50 + 100 capped at 80
    assert a["attainment"] == pytest.approx(1.3) and a["payout"] == 1300.0
    # b's quota is prorated like its target share: attainment 40 / (100 x prorate)
    assert b["quota"] == pytest.approx(100 * 0.5 * 184 / 366)
    assert b["payout"] == round(1000 * 0.5 * 184 / 366 * b["attainment"])


def test_clawback_contest_and_draw_steps_on_the_totals() -> None:
    plan = _plan(
        clawback={"window_months": 6, "share": 0.5, "measures": ["new_arr"]},
        contests=[{"id": "c", "measure": "new_arr", "budget": 300, "split": [1.0]}],
        draw={"months": 12, "monthly_amount": 500.0, "recoverable": True},
    )
    notes: list[str] = []
    r = plan_reps(plan, _reps(), START, END, notes)
    rm = measure_targets(plan, r)
    d, dsum, _ = credit_deals(plan, _deals(), r, rm, START, END, notes)
    rm, portfolio = attach_actuals(
        rm, dsum, pd.DataFrame(columns=["rep_id", "measure", "actual"]), notes
    )
    rm = pay_measures(plan, set_quotas(rm, None, None, 0.0, None, notes))
    t = rep_totals(plan, r, rm)
    t, claw = apply_clawbacks(plan, d, rm, t, END)
    # d2 (credit 80) lost after two months: half the pay per credited CHF (1300 / 130) taken back
    assert list(claw["deal_id"]) == ["d2"] and claw["amount"].iloc[0] == -400.0
    t, contests = award_contests(plan, _deals(), portfolio, t, START, END)
    assert contests["rep_id"].tolist() == ["a"] and contests["amount"].tolist() == [300.0]
    t = apply_draws(plan, t, START, END)
    tb = t.set_index("rep_id")
    assert tb.loc["a", "draw_topup"] == 0.0  # hired long before the draw months
    assert tb.loc["b", "draw_months"] == pytest.approx(round(184 / (365.25 / 12), 2))
    earned = tb.loc["b", "measure_payout"] + tb.loc["b", "cap_reduction"] + tb.loc["b", "clawback"]
    assert tb.loc["b", "draw_topup"] == round(tb.loc["b", "draw_guarantee"] - earned)
    assert tb.loc["b", "draw_recoverable"] == tb.loc["b", "draw_topup"]


def test_statement_lines_are_numbered_per_rep_in_order() -> None:
    plan = _plan()
    notes: list[str] = []
    r = plan_reps(plan, _reps(), START, END, notes)
    rm = measure_targets(plan, r)
    d, dsum, hits = credit_deals(plan, _deals(), r, rm, START, END, notes)
    rm, portfolio = attach_actuals(
        rm, dsum, pd.DataFrame(columns=["rep_id", "measure", "actual"]), notes
    )
    rm = pay_measures(plan, set_quotas(rm, None, None, 0.0, None, notes))
    t = rep_totals(plan, r, rm)
    t, claw = apply_clawbacks(plan, d, rm, t, END)
    t, contests = award_contests(plan, _deals(), portfolio, t, START, END)
    t = apply_draws(plan, t, START, END)
    t["incentive"] = t["measure_payout"] + t["cap_reduction"] + t["clawback"] + t["contest"]
    t["total_pay"] = t["base_salary"] + t["incentive"]
    s = statement_lines(plan, rm, d, t, claw, contests, hits)
    assert list(s.columns) == STATEMENT_COLUMNS
    a = s[s["rep_id"] == "a"]
    assert a["line"].tolist() == [1, 2] and a["kind"].tolist() == ["measure", "total"]
    assert "quota CHF 100 (fixed in the plan)" in a["description"].iloc[0]
    assert a["amount"].iloc[1] == a["amount"].iloc[0] == 1300.0
