"""The territory problem apart from the solver's settings; the steps of the split functions."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from salesanalytics.analyses import territory as tm
from salesanalytics.analyses.territory import optimiser as opt
from salesanalytics.analyses.territory import plan as tplan
from salesanalytics.analyses.territory.synthetic import random_planar_units

PLANAR = tm.UnitColumns(coord_cols=("x", "y"), planar=True)


def test_settings_are_frozen_with_todays_defaults_and_changed_by_name() -> None:
    s = tm.SolverSettings()
    assert (s.max_passes, s.seed, s.time_limit, s.exchange_rounds) == (300, 0, 60.0, 6)
    with pytest.raises(AttributeError):
        s.seed = 1  # type: ignore[misc]
    assert tm.solver_settings(s, seed=4).seed == 4 and s.seed == 0
    with pytest.raises(TypeError, match=r"unknown solver setting\(s\) \['sed'\]; SolverSettings"):
        tm.solver_settings(s, sed=4)
    # the scenario's settings add two of its own and keep the scenario defaults
    sc = tm.SCENARIO_SETTINGS
    assert isinstance(sc, tm.ScenarioSettings) and (sc.base_iter, sc.bound) == (1, True)
    assert (sc.max_passes, sc.candidates, sc.exchange_rounds) == (100, 8, 20)
    assert tm.solver_settings(sc, bound=False).bound is False
    # a plain SolverSettings handed to run_scenario gets the scenario's own defaults
    as_scenario = tplan._scenario_settings(tm.SolverSettings(seed=7), {})
    assert isinstance(as_scenario, tm.ScenarioSettings)
    assert (as_scenario.seed, as_scenario.base_iter, as_scenario.max_passes) == (7, 1, 300)
    assert tm.EXACT_SETTINGS.time_limit == 120.0


def test_a_stored_proposal_record_becomes_problem_and_settings() -> None:
    record = {"n_territories": 12, "tolerance": 0.05, "seed": 3, "max_passes": 40}
    args = tm.scenario_arguments(record)
    assert set(args) == {"n_territories", "tolerance", "settings"}
    cfg = args["settings"]
    assert isinstance(cfg, tm.ScenarioSettings)
    assert (cfg.seed, cfg.max_passes) == (3, 40)
    assert cfg.candidates == tm.SCENARIO_SETTINGS.candidates  # the rest: scenario defaults
    assert record == {"n_territories": 12, "tolerance": 0.05, "seed": 3, "max_passes": 40}


def test_earlier_flat_keywords_are_folded_into_the_groups_with_a_warning() -> None:
    b = pd.DataFrame({"territory_id": ["A"], "x": [0.0], "y": [0.0]})
    old = r"\['bases', 'coord_cols', 'planar', 'seed', 'territory_ids', 'travel'\]"
    with pytest.warns(DeprecationWarning, match=old):
        cols, tgt, fixed, cfg = opt._problem_groups(
            None,
            None,
            b,
            None,
            {"coord_cols": ("x", "y"), "planar": True, "travel": np.ones((1, 1)), "seed": 5,
             "territory_ids": ["A"]},
        )  # fmt: skip
    assert cols == PLANAR and tgt.territory_ids == ["A"] and cfg.seed == 5
    assert fixed is not None and fixed.locations is b and fixed.travel is not None
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="unknown solver"):
        opt._problem_groups(None, None, None, None, {"colour": "red"})


def test_old_and_new_calls_give_the_same_plan() -> None:
    units = random_planar_units(80, seed=2)
    new = tm.design_territories(
        units, 3, tolerance=0.1, columns=PLANAR, settings=tm.SolverSettings(seed=2, max_passes=30)
    )
    with pytest.warns(DeprecationWarning):
        old = tm.design_territories(
            units, 3, tolerance=0.1, coord_cols=("x", "y"), planar=True, seed=2, max_passes=30
        )
    pd.testing.assert_frame_equal(new.assignment, old.assignment)


def test_the_territory_model_loads_no_matplotlib_and_plots_keep_their_old_name() -> None:
    code = (
        "import sys; import salesanalytics.analyses.territory as tm; "
        "assert 'matplotlib' not in sys.modules, 'model loads matplotlib'; "
        "from salesanalytics.analyses.territory import plots; "
        "assert tm.plot_pareto is plots.plot_pareto"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_balancer_moves_keep_sums_in_step_with_the_plan() -> None:
    units = random_planar_units(60, seed=1)
    res = tm.design_territories(
        units, 3, tolerance=0.2, columns=PLANAR, settings=tm.SolverSettings(max_passes=5)
    )
    p, st = opt._setup(
        units,
        3,
        ["potential", "workload"],
        {"potential": 0.2, "workload": 0.2},
        PLANAR,
        edges=None,
        targets=tm.Targets(),
    )
    st.assign = pd.Index(p.territory_ids).get_indexer(res.assignment["territory_id"].astype(str))
    bal = opt._Balancer(st, mu=0.2)
    uu, ss, dd = opt._boundary_moves(st, st.assign)
    gains = bal.gains(uu, ss, dd)
    i = int(np.argmin(gains))
    u, a_, b_ = int(uu[i]), int(ss[i]), int(dd[i])
    before = bal.score(bal.s[[a_, b_]], np.array([a_, b_])).sum()
    assert bal.move_gain(u, a_, b_) == pytest.approx(gains[i])
    bal.apply(u, a_, b_)
    after = bal.score(bal.s[[a_, b_]], np.array([a_, b_])).sum()
    assert after - before == pytest.approx(gains[i])
    st.assign[:] = bal.assign
    np.testing.assert_allclose(bal.s, st.sums())
