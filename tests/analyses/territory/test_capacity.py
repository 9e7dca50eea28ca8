"""The territory count from the channel phase's field workload; reps left for other roles."""

from __future__ import annotations

import pandas as pd
import pytest

from salesanalytics.analyses import territory as tm
from salesanalytics.analyses.roles import model as roles


def _channels(field_hours: float = 7_287.0, fte: float = 5.52) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scenario": ["today", "proposed", "proposed", "proposed"],
            "channel": ["field", "field", "tele", "online"],
            "workload_hours": [27_000.0, field_hours, 6_956.0, 5_051.0],
            "fte_needed": [20.6, fte, 4.64, 3.16],
        }
    )


def _field_workload() -> pd.DataFrame:
    # 820 h of the 7,287 h on key accounts
    return pd.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "workload_hours": [820.0, 3_000.0, 3_467.0],
            "key_account": [True, False, False],
        }
    )


def _reps(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": [f"R{i}" for i in range(n)],
            "name": [f"Rep {chr(70 - i)}" for i in range(n)],
            "role": "field",
            "fte": [1.0] * (n - 1) + [0.5],
            "capacity_hours": [1320.0] * (n - 1) + [660.0],
        }
    )


@pytest.mark.parametrize(
    ("fte", "tol", "n"),
    [(4.9, 0.05, 5), (5.3, 0.05, 6), (5.2, 0.05, 5), (5.0, 0.05, 5), (0.2, 0.05, 1), (0, 0.1, 1)],
)
def test_territory_count_is_the_fewest_within_the_band_of_full_utilisation(
    fte: float, tol: float, n: int
) -> None:
    assert tm.territory_count(fte, tol) == n
    assert fte / n <= 1 + tol + 1e-12


def test_territory_count_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="fte_needed must be a finite number"):
        tm.territory_count(float("nan"))
    with pytest.raises(ValueError, match=r"tolerance must be in \[0, 1\)"):
        tm.territory_count(3.0, 1.5)


def test_field_capacity_is_the_roles_phase_field_fte() -> None:
    cs, fw, reps = _channels(), _field_workload(), _reps()
    cap = tm.field_capacity(cs, fw, reps, tolerance=0.05)
    row = cap.iloc[0]
    assert row["field_workload_hours"] == pytest.approx(7_287.0)
    assert row["key_account_hours"] == pytest.approx(820.0)
    assert row["territory_workload_hours"] == pytest.approx(6_467.0)
    assert row["capacity_hours_per_fte"] == pytest.approx(7_287.0 / 5.52)
    assert row["fte_needed"] == pytest.approx(6_467.0 / (7_287.0 / 5.52))  # 4.90
    assert row["n_territories_needed"] == 5
    assert row["field_reps"] == 6 and row["field_fte"] == pytest.approx(5.5)
    # the same figure as the roles phase's field row (one set of numbers)
    hc = roles.headcount(
        roles.load_roles(), cs, reps, n_key_accounts=1, key_account_hours=820.0
    ).set_index("role")
    assert hc.loc["field", "fte_needed"] == pytest.approx(row["fte_needed"])


def test_without_channel_figures_the_design_keeps_one_territory_per_rep() -> None:
    reps = _reps()
    assert tm.field_capacity(None, None, reps) is None
    assert tm.field_capacity(_channels(fte=float("nan")), _field_workload(), reps) is None
    with pytest.raises(KeyError, match="lacks column"):
        tm.field_capacity(_channels().drop(columns="fte_needed"), _field_workload(), reps)
    with pytest.raises(KeyError, match="0 field row"):
        tm.field_capacity(_channels(), _field_workload(), reps, scenario="other")


def test_reps_without_territory_are_available_for_other_roles() -> None:
    reps = _reps()
    plan_reps = {"T1": "R0", "T2": "R3", "T3": "VACANT-01"}
    av = tm.reps_available(reps, plan_reps)
    assert av["rep_id"].tolist() == ["R5", "R4", "R2", "R1"]  # sorted by name (Rep A, B, D, E)
    line = tm.available_line(av, 3)
    assert line.startswith("4 field reps (3.5 FTE) get none of the 3 field territories")

    class _Plan:
        territory_rep = plan_reps

    table = tm.capacity_table(
        tm.field_capacity(_channels(), _field_workload(), reps), _Plan(), reps
    )
    r = table.iloc[0]
    assert (r["n_territories"], r["reps_in_territories"], r["vacancies"]) == (3, 2, 1)
    assert r["reps_available"] == 4 == len(av)
    assert r["n_territories_needed"] == 5
    # without the channel phase the table still says who is free, its channel figures empty
    bare = tm.capacity_table(None, _Plan(), reps).iloc[0]
    assert pd.isna(bare["fte_needed"]) and bare["reps_available"] == 4
    assert (
        tm.available_line(av.iloc[:0], 3) == "Every active field rep has one of the 3 territories."
    )


def test_the_count_line_says_why_the_plan_has_its_territories() -> None:
    cap = tm.field_capacity(_channels(), _field_workload(), _reps())
    assert tm.capacity_line(cap).startswith(
        "The proposed channel mix leaves 7'287 hours a year of field work; 820 of them on key "
        "accounts (for the key-account managers) and 6'467 for the field territories: 4.9 FTE"
    )
    cap = cap.assign(n_territories_needed=5, workload_from_bases_hours=6_900.0, fte_from_bases=5.2)
    line = tm.count_line(cap)
    assert line.startswith("Served from fewer bases than today, the reps drive further: with 5")
    assert "6'900 hours a year (5.2 FTE)" in line and "against 6 active field reps" in line
    with pytest.raises(ValueError, match="sets n_territories itself"):
        tm.plan_within_capacity(None, cap, n_territories=3)


def test_travel_aware_count_adds_territories_when_bases_are_few() -> None:
    # accounts in two towns 100 km apart; every rep lives in the first town
    acc = pd.DataFrame(
        {
            "latitude": [46.0] * 10 + [46.9] * 10,
            "longitude": [7.0] * 20,
            "activity_hours": [50.0] * 20,
            "visits_per_year": [10.0] * 20,
            "key_account": [False] * 19 + [True],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["A", "B", "C"],
            "fte": [1.0, 1.0, 0.5],
            "home_latitude": [46.0, 46.0, 46.0],
            "home_longitude": [7.0, 7.0, 7.0],
        }
    )
    # 19 accounts x 50 h = 950 h of service; 9 far accounts x 10 visits x 2 x ~100 km x 1.3
    # / 50 km/h = ~468 h of travel: 1,418 h at 1,000 h per FTE -> 2 territories at ±5%
    n, work, fte = tm.travel_aware_count(acc, reps, 1000.0, start=1, tolerance=0.05)
    assert n == 2 and fte == pytest.approx(work / 1000.0)
    assert 1_350 < work < 1_500
