"""The compensation phase's steps: who is paid, territory potential before and after."""

from __future__ import annotations

import pandas as pd
import pytest

from salesanalytics.analyses.compensation.workflow import (
    EvaluationSettings,
    paid_reps,
    rep_potentials,
)


def test_settings_keep_todays_defaults() -> None:
    s = EvaluationSettings()
    assert (s.period_months, s.new_product_months, s.multi_year_months) == (12, 24, 24)
    assert (s.threshold, s.excellence, s.quota_growth) == (0.5, 1.5, 0.05)
    with pytest.raises(AttributeError):
        s.period_months = 6  # type: ignore[misc]  # frozen: settings are declared once


def test_paid_reps_leave_out_inactive_reps_and_say_so() -> None:
    reps = pd.DataFrame({"rep_id": [1, 2, 3], "active": [True, False, None]})
    notes: list[str] = []
    r = paid_reps(reps, notes)
    assert r["rep_id"].tolist() == ["1", "3"]  # unknown activity counts as active
    assert notes == [
        "1 inactive rep(s) (left the company) are not paid in the comparison; their deals are "
        "not credited to anyone."
    ]
    assert reps["rep_id"].tolist() == [1, 2, 3]  # input untouched


def test_rep_potentials_before_and_after_the_new_territories() -> None:
    potential = pd.DataFrame({"account_id": ["a", "b", "c"], "potential_mrr": [10.0, 20.0, 5.0]})
    owners = pd.DataFrame({"account_id": ["a", "b", "c"], "rep_id": ["r1", "r1", None]})
    assignment = pd.DataFrame({"account_id": ["a", "b", "c"], "rep_id": ["r1", "r2", "r2"]})
    pot, before = rep_potentials(potential, owners, assignment)
    got = pot.set_index("rep_id")
    assert got.loc["r1", "potential_before"] == 30.0 and got.loc["r1", "potential_after"] == 10.0
    assert pd.isna(got.loc["r2", "potential_before"]) and got.loc["r2", "potential_after"] == 25.0
    assert before.set_index("rep_id")["potential_mrr"].to_dict() == {"r1": 30.0}
    none, no_before = rep_potentials(None, owners, assignment)
    assert list(none.columns) == ["rep_id"] and none.empty and no_before is None
