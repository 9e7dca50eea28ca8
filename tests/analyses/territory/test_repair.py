"""MILP repair of the territories left outside the band (``territory.repair``).

Balance and contiguity are recomputed here from plain sums and a breadth-first search on dicts
(``territory_checks.pieces``), not with the optimiser's code.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from territory_checks import pieces

from salesanalytics.analyses import territory as tm
from salesanalytics.analyses.territory import optimiser as opt
from salesanalytics.analyses.territory.repair import repair_outliers
from salesanalytics.analyses.territory.synthetic import random_planar_units

ROWS, COLS = 4, 9
PLANAR = tm.UnitColumns(coord_cols=("x", "y"), planar=True)


def _grid_state(start: np.ndarray, locked: np.ndarray, tol: float = 0.05):
    """A 4 x 9 grid of equal units in three territories (targets 12 units each)."""
    n = ROWS * COLS
    ids = [f"u{r}{c}" for r in range(ROWS) for c in range(COLS)]
    xy = np.array([(c * 10.0, r * 10.0) for r in range(ROWS) for c in range(COLS)])
    edges = [
        (ids[r * COLS + c], ids[r * COLS + c + 1]) for r in range(ROWS) for c in range(COLS - 1)
    ] + [(ids[r * COLS + c], ids[(r + 1) * COLS + c]) for r in range(ROWS - 1) for c in range(COLS)]
    graph = tm.build_unit_graph(ids, xy, pd.DataFrame(edges))
    st = opt._State(
        xy,
        np.ones((n, 1)),
        np.full((3, 1), 12.0),
        np.array([tol]),
        np.ones(n),
        np.zeros(n),
        start.copy(),
        locked,
        graph.neighbours(),
    )
    st.assign = start.copy()
    st.update_centres()
    st.power = 2.0
    return st, ids, edges


def _strips(widths: tuple[int, int, int]) -> np.ndarray:
    col_terr = np.repeat([0, 1, 2], widths)
    return np.array([col_terr[c] for _ in range(ROWS) for c in range(COLS)], dtype=np.int64)


@pytest.mark.parametrize("lock", [False, True])
def test_repair_brings_every_territory_into_the_band_and_keeps_them_connected(lock: bool) -> None:
    # strips of 4, 2 and 3 columns: 16, 8 and 12 units against a target of 12 (±5%: exactly 12)
    start = _strips((4, 2, 3))
    locked = np.zeros(ROWS * COLS, dtype=bool)
    if lock:
        locked[3] = True  # row 0, column 3 stays in the first territory: another cut is needed
    st, ids, edges = _grid_state(start, locked)
    info = repair_outliers(st, time.process_time() + 120)
    assert info["repair_improvements"] >= 1
    sizes = np.bincount(st.assign, minlength=3)
    assert sizes.tolist() == [12, 12, 12]
    assert pieces(dict(zip(ids, st.assign.astype(str).tolist(), strict=True)), edges) == {
        "0": 1,
        "1": 1,
        "2": 1,
    }
    assert (st.assign[locked] == start[locked]).all()


def test_repair_keeps_a_plan_it_cannot_improve() -> None:
    # no whole number of units lies within ±1% of a target of 12.5: nothing to gain
    start = _strips((4, 4, 1))
    st, *_ = _grid_state(start, np.zeros(ROWS * COLS, dtype=bool), tol=0.01)
    st.T[:] = 12.5
    before = st.violation(st.sums()).sum()
    repair_outliers(st, time.process_time() + 120)
    after = st.violation(st.sums()).sum()
    assert after <= before + 1e-12
    assert (np.bincount(st.assign, minlength=3) > 0).all()


def test_large_free_centre_lps_use_fewer_candidates_and_still_balance() -> None:
    u = random_planar_units(300, seed=3)
    kw = {"metrics": ["potential", "workload"], "tolerance": 0.05, "columns": PLANAR}
    small = tm.design_territories(u, 6, **kw)
    large = tm.design_territories(u, 6, settings=tm.SolverSettings(large_lp=0), **kw)
    assert (small.summary["lp_candidates"], large.summary["lp_candidates"]) == (12, 6)
    wide = tm.SolverSettings(large_lp=0, candidates=12, candidates_large=3, pair_milp_units=0)
    res = tm.design_territories(u, 12, settings=wide, **kw)
    assert res.summary["lp_candidates"] == 3
    terr = res.assignment.set_index("unit_id").loc[u["unit_id"], "territory_id"].to_numpy()
    for m in ("potential", "workload"):
        tot = u.groupby(terr)[m].sum()
        assert (tot / (u[m].sum() / 12) - 1).abs().max() <= 0.05 + 1e-9
    # with fixed bases the units keep the wide choice
    b = u.sample(12, random_state=1)[["x", "y"]].reset_index(drop=True)
    b["territory_id"] = [f"T{i}" for i in range(12)]
    fixed = tm.design_territories(
        u,
        12,
        targets=tm.Targets(territory_ids=b["territory_id"].tolist()),
        bases=tm.Bases(locations=b),
        settings=wide,
        **kw,
    )
    assert fixed.summary["lp_candidates"] == 12
