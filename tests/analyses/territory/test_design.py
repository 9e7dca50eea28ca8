"""Territory design: graph, optimiser (checked independently of it), CRM helpers, demo run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from territory_checks import pieces

from salesanalytics.analyses import territory as tm
from salesanalytics.analyses.territory.synthetic import random_planar_units, swiss_postal_code_units

# ------------------------------------------------------------------------------------------------
# independent checks (written without the package's own graph / balance code)
# ------------------------------------------------------------------------------------------------


def deviations(units: pd.DataFrame, assign: pd.Series, metric: str, shares=None) -> pd.Series:
    tot = units.groupby(assign.to_numpy())[metric].sum()
    share = (
        pd.Series(1.0, index=tot.index) if shares is None else pd.Series(shares).reindex(tot.index)
    )
    target = units[metric].sum() * share / share.sum()
    return tot / target - 1


def grid_units(n: int = 12, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An n x n grid of units (1 km apart) with positive metrics, and its 4-neighbour edges."""
    rng = np.random.default_rng(seed)
    ids = [f"g{i:02d}{j:02d}" for i in range(n) for j in range(n)]
    xs = np.repeat(np.arange(n), n).astype(float)
    ys = np.tile(np.arange(n), n).astype(float)
    units = pd.DataFrame(
        {
            "unit_id": ids,
            "x": xs,
            "y": ys,
            "potential": rng.uniform(50, 150, n * n),
            "workload": rng.uniform(5, 15, n * n),
        }
    )
    edges = [(f"g{i:02d}{j:02d}", f"g{i + 1:02d}{j:02d}") for i in range(n - 1) for j in range(n)]
    edges += [(f"g{i:02d}{j:02d}", f"g{i:02d}{j + 1:02d}") for i in range(n) for j in range(n - 1)]
    return units, pd.DataFrame(edges, columns=["a", "b"])


# ------------------------------------------------------------------------------------------------
# graph
# ------------------------------------------------------------------------------------------------


def test_graph_keeps_given_edges_attaches_isolated_units_and_bridges_islands() -> None:
    ids = ["a", "b", "c", "d", "e"]
    xy = np.array([[0, 0], [1, 0], [2, 0], [2.2, 0.1], [50, 50]], dtype=float)
    edges = pd.DataFrame({"p": ["a", "b", "x"], "q": ["b", "c", "a"]})  # "x" unknown: ignored
    g = tm.build_unit_graph(ids, xy, edges)
    nb = g.neighbours()
    assert g.n_given == 2
    assert 2 in nb[3] or 1 in nb[3]  # d has no polygon edge: joined to its Delaunay neighbours
    assert g.n_bridges >= 1 or len(nb[4]) > 0  # far-away e is reachable
    from scipy.sparse.csgraph import connected_components

    assert connected_components(g.matrix(), directed=False)[0] == 1


def test_delaunay_fallback_prunes_long_edges_and_links_coincident_points() -> None:
    xy = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [1, 1], [30, 0.5]], dtype=float)
    e = {tuple(x) for x in tm.delaunay_edges(xy, prune_factor=2.0).tolist()}
    assert (3, 4) in e  # coincident points are chained
    assert (0, 1) in e and (0, 2) in e
    far = [x for x in e if 5 in x]
    assert len(far) >= 1  # the remote point keeps at least its shortest edge
    assert not {(0, 5), (2, 5)} & e  # but not the long ones from the far side


def test_graph_rejects_mismatched_coordinates() -> None:
    with pytest.raises(ValueError, match=r"xy must have shape \(3, 2\)"):
        tm.build_unit_graph(["a", "b", "c"], np.zeros((2, 2)))


# ------------------------------------------------------------------------------------------------
# optimiser
# ------------------------------------------------------------------------------------------------


def test_grid_territories_are_balanced_contiguous_and_deterministic() -> None:
    units, edges = grid_units(12)
    kw = dict(
        metrics=["potential", "workload"],
        tolerance=0.05,
        columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True),
        edges=edges,
        settings=tm.SolverSettings(seed=3),
    )
    res = tm.design_territories(units, 4, **kw)
    assign = res.assignment.set_index("unit_id")["territory_id"]
    assert assign.notna().all() and len(assign) == len(units)
    for m in ("potential", "workload"):
        dev = deviations(units, assign.reindex(units["unit_id"]), m)
        assert dev.abs().max() <= 0.05 + 1e-9, (m, dev.to_dict())
    p = pieces(assign.to_dict(), list(edges.itertuples(index=False, name=None)))
    assert set(p.values()) == {1}
    again = tm.design_territories(units, 4, **kw)
    pd.testing.assert_frame_equal(res.assignment, again.assignment)


def test_random_planar_instance_within_tolerance_and_more_compact_than_random() -> None:
    units = random_planar_units(600, seed=5)
    res = tm.design_territories(
        units,
        8,
        tolerance=0.05,
        columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True),
        settings=tm.SolverSettings(seed=1),
    )
    assign = res.assignment["territory_id"].to_numpy()
    for m in ("potential", "workload"):
        dev = deviations(units, pd.Series(assign), m)
        assert dev.abs().max() <= 0.05 + 1e-9
    edges = res.graph.edge_frame(units["unit_id"].to_numpy())
    p = pieces(
        dict(zip(units["unit_id"], assign, strict=True)),
        list(edges.itertuples(index=False, name=None)),
    )
    assert set(p.values()) == {1}
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(assign)
    q_opt = tm.plan_quality(
        units, assign, ["potential", "workload"], coord_cols=("x", "y"), planar=True
    )
    q_rnd = tm.plan_quality(
        units, shuffled, ["potential", "workload"], coord_cols=("x", "y"), planar=True
    )
    assert q_opt["compactness_km"] < 0.5 * q_rnd["compactness_km"]


def test_swiss_postal_codes_contiguous_on_real_adjacency() -> None:
    units, edges = swiss_postal_code_units(400, seed=2)
    res = tm.design_territories(
        units, 5, tolerance=0.05, edges=edges, settings=tm.SolverSettings(seed=0)
    )
    assign = dict(zip(res.assignment["unit_id"], res.assignment["territory_id"], strict=True))
    full = res.graph.edge_frame(units["unit_id"].to_numpy())  # polygons + Delaunay for the rest
    assert set(pieces(assign, list(full.itertuples(index=False, name=None))).values()) == {1}
    dev = deviations(units, res.assignment["territory_id"], "potential")
    assert dev.abs().max() <= 0.08  # lumpy real units: close to the ±5% target
    assert res.summary["n_contiguous"] == 5


def test_locked_units_stay_and_count_towards_balance() -> None:
    units, edges = grid_units(10, seed=1)
    half = np.where(units["x"] < 5, "W", "E")
    units["current"] = half
    units["locked"] = False
    locked_ids = ["g0000", "g0009", "g0900", "g0909", "g0404"]
    units.loc[units["unit_id"].isin(locked_ids), "locked"] = True
    res = tm.design_territories(
        units,
        metrics=["potential", "workload"],
        edges=edges,
        tolerance=0.05,
        columns=tm.UnitColumns(
            coord_cols=("x", "y"), planar=True, current_col="current", locked_col="locked"
        ),
    )
    a = res.assignment.set_index("unit_id")
    for u in locked_ids:
        assert a.loc[u, "territory_id"] == units.set_index("unit_id").loc[u, "current"]
        assert bool(a.loc[u, "locked"])
    dev = deviations(units, a["territory_id"].reindex(units["unit_id"]), "potential")
    assert dev.abs().max() <= 0.05 + 1e-9


def test_target_shares_scale_territories_by_fte() -> None:
    units, edges = grid_units(12, seed=4)
    shares = {"A": 1.0, "B": 1.0, "C": 0.5}
    res = tm.design_territories(
        units,
        3,
        metrics=["potential", "workload"],
        edges=edges,
        tolerance=0.05,
        columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True),
        targets=tm.Targets(territory_ids=["A", "B", "C"], target_shares=shares),
    )
    assign = res.assignment["territory_id"]
    dev = deviations(units, assign, "workload", shares)
    assert dev.abs().max() <= 0.05 + 1e-9
    tot = units.groupby(assign.to_numpy())["workload"].sum()
    assert tot["C"] == pytest.approx(0.5 * tot["A"], rel=0.12)


def test_continuity_weight_keeps_units_with_their_current_territory() -> None:
    units, edges = grid_units(12, seed=6)
    # today: two contiguous territories, the northern one with a long arm down the west edge
    units["current"] = np.where((units["y"] >= 6) | (units["x"] == 0), "N", "S")
    kw = dict(
        metrics=["potential", "workload"],
        columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True, current_col="current"),
        edges=edges,
        tolerance=0.15,
    )
    free = tm.design_territories(units, continuity_weight=0.0, **kw)
    sticky = tm.design_territories(units, continuity_weight=20.0, **kw)
    assert sticky.summary["units_changed"] < free.summary["units_changed"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda u: u.drop(columns=["workload"]), r"lacks column\(s\) \['workload'\]"),
        (lambda u: u.assign(potential=-u["potential"]), "negative values"),
        (lambda u: u.assign(x=np.nan), "column 'x' has 144 missing"),
        (lambda u: pd.concat([u, u.head(1)]), "unique, non-empty unit ids"),
    ],
)
def test_bad_units_are_reported_clearly(change, message) -> None:
    units, _ = grid_units(12)
    with pytest.raises(ValueError, match=message):
        tm.design_territories(
            change(units), 3, columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True)
        )


def test_bad_parameters_are_reported_clearly() -> None:
    units, _ = grid_units(6)
    with pytest.raises(ValueError, match="tolerance must be between 0 and 1"):
        tm.design_territories(
            units, 2, tolerance=5, columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True)
        )
    with pytest.raises(ValueError, match="n_territories is required"):
        tm.design_territories(units, columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True))
    units["current"] = pd.NA
    units["locked"] = [True] + [False] * (len(units) - 1)
    with pytest.raises(ValueError, match="locked unit\\(s\\) have no current territory"):
        tm.design_territories(
            units,
            2,
            columns=tm.UnitColumns(
                coord_cols=("x", "y"), planar=True, current_col="current", locked_col="locked"
            ),
        )


# ------------------------------------------------------------------------------------------------
# metrics
# ------------------------------------------------------------------------------------------------


def test_balance_table_and_pieces_known_answer() -> None:
    units = pd.DataFrame({"unit_id": list("abcd"), "m": [1.0, 3.0, 2.0, 2.0]})
    bt = tm.balance_table(units, ["T1", "T1", "T2", "T2"], ["m"], {"T1": 1.0, "T2": 1.0})
    assert bt["dev_m"].tolist() == [0.0, 0.0]
    bt = tm.balance_table(units, ["T1", "T2", "T2", "T2"], ["m"], {"T1": 1.0, "T2": 3.0})
    assert bt.set_index("territory_id")["dev_m"].round(6).to_dict() == {"T1": -0.5, "T2": 0.166667}
    edges = pd.DataFrame({"a": ["a", "b", "c"], "b": ["b", "c", "d"]})
    assert tm.count_pieces(units["unit_id"], ["T1", "T2", "T1", "T2"], edges).to_dict() == {
        "T1": 2,
        "T2": 2,
    }


# ------------------------------------------------------------------------------------------------
# CRM helpers on hand-built tables
# ------------------------------------------------------------------------------------------------


def test_activity_norms_known_answer() -> None:
    seg = pd.Series(["s1", "s1", "s2"], index=pd.Index(["A", "B", "C"], dtype="string"))
    act = pd.DataFrame(
        {
            "account_id": ["A", "A", "C", None, "B"],
            "date": pd.to_datetime(
                ["2024-01-01", "2024-06-01", "2024-03-01", "2024-05-01", "2025-01-01"]
            ),
            "type": ["visit", "call", "visit", "visit", "visit"],
            "channel": ["field", "field", "field", "field", "tele"],
            "minutes": [60.0, 12.0, 30.0, 99.0, 40.0],
        }
    )
    n = tm.activity_norms(act, seg, channel="field", years=2.0).set_index("segment")
    # s1: 72 minutes over 2 accounts and 2 years; 1 visit
    assert n.loc["s1", "minutes_per_year"] == pytest.approx(18.0)
    assert n.loc["s1", "visits_per_year"] == pytest.approx(0.25)
    assert n.loc["s2", "minutes_per_year"] == pytest.approx(15.0)
    assert n.attrs["n_without_account"] == 1


def test_account_workload_adds_return_travel_from_nearest_field_home() -> None:
    acc = pd.DataFrame({"account_id": ["A"], "latitude": [47.0], "longitude": [8.0]})
    seg = pd.Series(["s"], index=pd.Index(["A"], dtype="string"))
    norms = pd.DataFrame(
        {"segment": ["s"], "n_accounts": [1], "minutes_per_year": [120.0], "visits_per_year": [2.0]}
    )
    reps = pd.DataFrame(
        {
            "role": ["field", "field", "tele"],
            "home_latitude": [47.0, 48.0, 47.0],
            "home_longitude": [8.1, 8.0, 8.0],
            "active": [True, True, True],
        }
    )
    wl = tm.account_workload(acc, seg, norms, reps, road_factor=1.5, speed_kmh=60)
    from salesanalytics.reference.geo import haversine_km

    km = float(haversine_km(47.0, 8.0, 47.0, 8.1)) * 1.5
    assert wl.loc[0, "travel_km"] == pytest.approx(km)
    assert wl.loc[0, "workload_hours"] == pytest.approx(2.0 + 2 * 2 * km / 60)
    with pytest.raises(ValueError, match="road_factor must be ≥ 1"):
        tm.account_workload(acc, seg, norms, reps, road_factor=0.5)


def test_key_accounts_postal_code_units_and_account_assignment() -> None:
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "K1"], "role": ["field", "field", "key_account"]})
    acc = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5"],
            "postal_code": ["8004", "8004", "3011", "3011", None],
            "latitude": [47.37, 47.37, 46.95, 46.95, np.nan],
            "longitude": [8.53, 8.53, 7.44, 7.44, np.nan],
            "status": ["customer", "prospect", "customer", "customer", "prospect"],
            "owner_id": ["R1", "R2", "R2", "K1", "R1"],
            "potential_mrr": [100.0, 50.0, 80.0, 900.0, 10.0],
            "current_mrr": [40.0, 0.0, 30.0, 300.0, 0.0],
            "workload_hours": [5.0, 2.0, 4.0, 20.0, 1.0],
        }
    )
    ka = tm.key_account_carve_out(acc, reps)
    assert ka.tolist() == [False, False, False, True, False]
    units = tm.postal_code_units(acc[~ka], ["R1", "R2"], locked_postal_codes=["3011"])
    u = units.set_index("unit_id")
    assert u.loc["8004", "n_accounts"] == 2 and u.loc["8004", "current"] == "R1"  # most revenue
    assert u.loc["3011", "potential_mrr"] == 80.0 and bool(u.loc["3011", "locked"])
    assert units.attrs["n_without_postal_code"] == 1
    assert len(units) > 3000  # every Swiss postal code is a unit (map coverage, contiguity)
    ut = pd.Series({"8004": "T1", "3011": "T2"})
    out = tm.account_assignment(acc, ut, {"T1": "R2", "T2": "R2"}, ka).set_index("account_id")
    assert out.loc["a1", "rep_id"] == "R2" and bool(out.loc["a1", "changed"])
    assert out.loc["a2", "rep_id"] == "R2" and not bool(out.loc["a2", "changed"])
    assert out.loc["a4", "rep_id"] == "K1" and out.loc["a4", "territory_id"] == "key_accounts"
    assert bool(out.loc["a4", "locked"]) and not bool(out.loc["a4", "changed"])
    assert out.loc["a5", "rep_id"] == "R1" and bool(out.loc["a5", "locked"])  # no postal code
    sf = tm.salesforce_owner_changes(out.reset_index())
    assert sf.to_dict("list") == {"Id": ["a1", "a3"], "OwnerId": ["R2", "R2"]} or sf[
        "Id"
    ].tolist() == ["a1"]
    d = tm.disruption_report(out.reset_index(), acc).set_index("rep_id")
    assert d.loc["R1", "customers_lost"] == 1 and d.loc["R1", "mrr_lost"] == 40.0
    assert d.loc["R2", "customers_gained"] == 1 and d.loc["R2", "kept_share"] == pytest.approx(1.0)


def test_owner_change_file_skips_vacant_territories() -> None:
    a = pd.DataFrame(
        {
            "account_id": ["x", "y", "z"],
            "rep_id": ["R1", "VACANT-01", "R2"],
            "changed": [True, True, False],
        }
    )
    sf = tm.salesforce_owner_changes(a)
    assert sf.to_dict("list") == {"Id": ["x"], "OwnerId": ["R1"]}
    assert sf.attrs["n_vacant"] == 1


def test_capacity_and_rep_matching() -> None:
    assert tm.n_territories_for_capacity(26_000, 1_300) == 20
    assert tm.n_territories_for_capacity(26_001, 1_300) == 21
    with pytest.raises(ValueError, match="capacity_hours_per_rep must be positive"):
        tm.n_territories_for_capacity(100, 0)
    ua = pd.DataFrame({"unit_id": ["p1", "p2", "p3"], "territory_id": ["T1", "T2", "T3"]})
    units = pd.DataFrame(
        {
            "unit_id": ["p1", "p2", "p3"],
            "current": ["R2", "R1", None],
            "current_mrr": [10.0, 5.0, 0.0],
            "n_accounts": [1, 1, 1],
        }
    )
    m = tm.match_territories_to_reps(ua, units, ["R1", "R2"])
    assert m == {"T1": "R2", "T2": "R1", "T3": "VACANT-01"}


# ------------------------------------------------------------------------------------------------
# the whole phase on a small demo client
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_inputs(demo_export: Path) -> tm.TerritoryInputs:
    from salesanalytics.analyses.potential import model as pt
    from salesanalytics.ingest import intake

    res = intake.load_export(demo_export, mapping="salesforce")
    t = res.tables
    pot = pt.estimate_potential(t["accounts"], pt.current_mrr(t["contracts"], res.as_of))
    return tm.prepare_inputs(t["accounts"], pot.accounts, t["activities"], t["reps"])


@pytest.fixture(scope="module")
def demo_plan(demo_inputs: tm.TerritoryInputs) -> tm.TerritoryPlan:
    return tm.run_scenario(
        demo_inputs, tolerance=0.1, settings=tm.solver_settings(tm.SCENARIO_SETTINGS, max_passes=60)
    )


def test_demo_plan_assigns_every_account_keeps_key_accounts_and_is_contiguous(
    demo_inputs, demo_plan
) -> None:
    inp = demo_inputs
    plan = demo_plan
    a = plan.assignment
    acc = inp.accounts
    assert len(a) == len(acc) and a["account_id"].is_unique
    ka = a[a["key_account"]]
    assert len(ka) > 0 and (ka["rep_id"] == ka["previous_rep_id"]).all() and ka["locked"].all()
    field = set(inp.field_reps["rep_id"])
    assert set(a.loc[~a["key_account"], "rep_id"]) <= field
    # contiguity recomputed on the postal-code graph used for the plan
    assign = plan.unit_territory.astype(str).to_dict()
    p = pieces(assign, list(inp.edges.itertuples(index=False, name=None)))
    assert set(p.values()) == {1}
    # the plan is much more balanced than today's postal-code ranges
    today = tm.status_quo_plan(inp)
    assert plan.quality["cv_potential_mrr"] < 0.5 * today.quality["cv_potential_mrr"]
    table = tm.compare_plans([today, plan])
    assert list(table["scenario"]) == ["today (postal-code ranges)", plan.name]
    assert tm.plan_findings(plan, today, 0.1)[0].startswith(f"{len(inp.field_reps)} territories")


def test_prepare_inputs_explains_missing_field_reps_and_postal_codes() -> None:
    acc = pd.DataFrame(
        {
            "account_id": ["a"],
            "postal_code": pd.array([pd.NA], dtype="string"),
            "latitude": [np.nan],
            "longitude": [np.nan],
            "status": ["customer"],
            "owner_id": ["R1"],
        }
    )
    pot = pd.DataFrame(
        {
            "account_id": ["a"],
            "potential_mrr": [1.0],
            "current_mrr": [1.0],
            "white_space_mrr": [0.0],
        }
    )
    act = pd.DataFrame(
        {
            "account_id": ["a"],
            "date": pd.to_datetime(["2025-01-01"]),
            "type": ["call"],
            "channel": ["field"],
            "minutes": [5.0],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["R1"],
            "name": ["Rep"],
            "role": ["tele"],
            "fte": [1.0],
            "capacity_hours": [1200.0],
            "home_latitude": [47.0],
            "home_longitude": [8.0],
        }
    )
    with pytest.raises(ValueError, match="no active rep with role 'field'"):
        tm.prepare_inputs(acc, pot, act, reps)
    with pytest.raises(
        ValueError, match=r"no account outside the key accounts has a postal code in CH \(0 such"
    ):
        tm.prepare_inputs(acc, pot, act, reps.assign(role="field"))
    with pytest.raises(KeyError, match="lacks column"):
        tm.prepare_inputs(acc.drop(columns="owner_id"), pot, act, reps)


def swiss_accounts(n_codes: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accounts on a contiguous block of Swiss postal codes (a few big customers) + adjacency."""
    units, edges = swiss_postal_code_units(n_codes, seed=seed)
    rng = np.random.default_rng(seed)
    idx = np.repeat(np.arange(len(units)), units["accounts"].astype(int).to_numpy())
    n = len(idx)
    big = rng.random(n) < 0.01  # large customers weigh 20x
    acc = pd.DataFrame(
        {
            "account_id": [f"A{i:06d}" for i in range(n)],
            "postal_code": units["unit_id"].to_numpy()[idx],
            "latitude": units["latitude"].to_numpy()[idx] + rng.normal(0, 0.005, n),
            "longitude": units["longitude"].to_numpy()[idx] + rng.normal(0, 0.005, n),
            "status": np.where(rng.random(n) < 0.4, "customer", "prospect"),
            "owner_id": "R1",
            "potential_mrr": rng.lognormal(0, 0.8, n) * np.where(big, 20, 1) * 100,
            "workload_hours": rng.lognormal(0, 0.4, n) * np.where(big, 10, 1),
        }
    )
    acc["current_mrr"] = np.where(acc["status"] == "customer", acc["potential_mrr"] / 3, 0.0)
    return acc, edges


def test_split_units_balance_every_territory_within_tolerance_on_accounts() -> None:
    acc, edges = swiss_accounts(500, seed=3)
    k = 8
    g = acc.groupby("postal_code")
    pc = pd.DataFrame(
        {
            "unit_id": g.size().index.astype(str),
            "latitude": g["latitude"].mean().to_numpy(),
            "longitude": g["longitude"].mean().to_numpy(),
            "canton": "ZH",
            "place": "x",
            "potential_mrr": g["potential_mrr"].sum().to_numpy(),
            "workload_hours": g["workload_hours"].sum().to_numpy(),
            "current_mrr": g["current_mrr"].sum().to_numpy(),
            "n_accounts": g.size().to_numpy(dtype=float),
            "n_customers": g["status"].apply(lambda s: (s == "customer").sum()).to_numpy(),
            "current": pd.array([pd.NA] * g.ngroups, dtype="string"),
            "locked": False,
        }
    )
    metrics = ["potential_mrr", "workload_hours"]
    assert (pc[metrics] / (pc[metrics].sum() / k)).max().max() > 0.05  # lumpy postal codes
    units, uedges, acc_unit = tm.split_lumpy_units(pc, acc, edges, k, ["R1"], max_share=0.02)
    assert units.attrs["n_split"] > 0
    assert np.allclose(units[metrics].sum(), acc[metrics].sum())
    assert (units[metrics] / (units[metrics].sum() / k)).max().max() <= 0.02 + 0.02  # ≤ 1 account
    # a piece stays in its postal code's neighbourhood
    piece = units.loc[units["unit_id"].str.contains("#"), "unit_id"].iloc[0]
    pcode = piece.split("#")[0]
    nb_piece = set(uedges.loc[uedges["a"] == piece, "b"]) | set(
        uedges.loc[uedges["b"] == piece, "a"]
    )
    nb_pc = set(edges.loc[edges.iloc[:, 0] == pcode].iloc[:, 1]) | set(
        edges.loc[edges.iloc[:, 1] == pcode].iloc[:, 0]
    )
    assert {u.split("#")[0] for u in nb_piece} - {pcode} == nb_pc
    res = tm.design_territories(units, k, metrics=metrics, tolerance=0.05, edges=uedges)
    ut = dict(zip(res.assignment["unit_id"], res.assignment["territory_id"], strict=True))
    # balance recomputed from the accounts themselves
    terr = acc["account_id"].map(acc_unit).map(ut)
    assert terr.notna().all()
    for m in metrics:
        dev = acc.groupby(terr.to_numpy())[m].sum() / (acc[m].sum() / k) - 1
        assert len(dev) == k and dev.abs().max() <= 0.05 + 1e-9, (m, dev.round(3).to_dict())
    full = res.graph.edge_frame(units["unit_id"].to_numpy())
    assert set(pieces(ut, list(full.itertuples(index=False, name=None))).values()) == {1}


def test_start_plan_is_refined_by_local_search_only_and_checked() -> None:
    units, edges = grid_units(10, seed=4)
    first = tm.design_territories(
        units,
        4,
        tolerance=0.1,
        edges=edges,
        columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True),
        settings=tm.SolverSettings(seed=0),
    )
    units["start"] = first.assignment["territory_id"].to_numpy()
    ids = sorted(units["start"].unique())
    res = tm.design_territories(
        units,
        4,
        tolerance=0.03,
        edges=edges,
        columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True, start_col="start"),
        targets=tm.Targets(territory_ids=ids),
        settings=tm.SolverSettings(max_iter=0),
    )
    assert res.summary["warm_start"] == "given plan" and "lp_variables" not in res.summary
    terr = res.assignment["territory_id"]
    for m in ("potential", "workload"):
        assert deviations(units, terr, m).abs().max() <= 0.03 + 1e-9
    kept = (terr.to_numpy() == units["start"].to_numpy()).mean()
    assert kept > 0.8  # a refinement, not a new plan
    assign = dict(zip(res.assignment["unit_id"], terr, strict=True))
    assert set(pieces(assign, list(edges.itertuples(index=False, name=None))).values()) == {1}
    units.loc[3, "start"] = "nowhere"
    with pytest.raises(
        ValueError, match="column 'start' must give every unit one of the territory"
    ):
        tm.design_territories(
            units,
            4,
            columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True, start_col="start"),
            targets=tm.Targets(territory_ids=ids),
        )


def test_demo_customer_units_side_scenarios_and_a_wide_pareto_front(demo_inputs, demo_plan) -> None:
    inp = demo_inputs
    u = inp.units
    cu = u[u["customer_unit"]]
    assert inp.info["n_customer_units"] == len(cu) > 0
    # each customer unit holds exactly its own account, owned today by a field rep
    acc = inp.accounts.set_index("account_id")
    held = acc[acc["unit_id"].isin(cu["unit_id"])]
    assert len(held) == len(cu) and (held["status"] == "customer").all()
    assert set(held["owner_id"]) <= set(inp.field_reps["rep_id"])
    assert np.isclose(u["potential_mrr"].sum(), acc.loc[~acc["key_account"], "potential_mrr"].sum())
    plan = demo_plan
    n = int(plan.quality["n_territories"])
    side = tm.side_scenarios(
        inp, plan, offsets=(-2,), tolerance=0.1, scenario_tolerance=0.08, max_passes=10
    )
    assert [int(p.quality["n_territories"]) for p in side] == [n - 2, n]
    for p in side:  # contiguity recomputed independently
        assign = p.unit_territory.astype(str).to_dict()
        assert set(pieces(assign, list(inp.edges.itertuples(index=False, name=None))).values()) == {
            1
        }
    front, plans = tm.pareto_front(
        inp, weights=[0.0, 1.0, 8.0], tolerance=0.1, max_passes=10, base={1.0: plan}
    )
    f = front.set_index("continuity_weight")
    assert list(f["start"]) == ["compact", "proposal", "today"]
    # a wide front: the compact start is more compact and more disruptive than the proposal,
    # the start from today's territories with a strong weight less disruptive than it
    assert f.loc[0.0, "compactness_km"] < f.loc[1.0, "compactness_km"]
    assert f.loc[0.0, "revenue_changing_rep"] > f.loc[1.0, "revenue_changing_rep"]
    assert f.loc[8.0, "revenue_changing_rep"] < f.loc[0.0, "revenue_changing_rep"]
    assert plans[1.0] is plan


def test_recomputed_proposal_is_checked_against_the_delivered_assignment(
    demo_inputs, demo_plan
) -> None:
    again = tm.run_scenario(
        demo_inputs, tolerance=0.1, settings=tm.solver_settings(tm.SCENARIO_SETTINGS, max_passes=60)
    )
    delivered = demo_plan.assignment[["account_id", "territory_id"]]
    tm.check_same_plan(again, delivered)  # deterministic: the same plan
    changed = delivered.copy()
    changed["territory_id"] = changed["territory_id"].astype("string")
    field = changed.index[~demo_plan.assignment["key_account"].to_numpy()][:3]
    other = changed["territory_id"].dropna().unique()
    for i in field:
        cur = changed.at[i, "territory_id"]
        changed.at[i, "territory_id"] = next(t for t in other if t != cur)
    with pytest.raises(ValueError, match=r"differs from the territory phase's for 3 account\(s\)"):
        tm.check_same_plan(again, changed)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['territory_id'\]"):
        tm.check_same_plan(again, delivered[["account_id"]])


def test_scenario_findings_name_alternatives_and_the_front() -> None:
    comparison = pd.DataFrame(
        {
            "scenario": ["today", "proposal", "24 territories, ±5%", "28 territories, ±3%"],
            "territories": [28, 28, 24, 28],
            "max_dev_potential": [2.4, 0.05, 0.031, 0.041],
            "max_dev_workload": [1.9, 0.049, 0.052, 0.04],
        }
    )
    front = pd.DataFrame(
        {
            "continuity_weight": [4.0, 0.0, 1.0],
            "compactness_km": [16.0, 14.1, 14.8],
            "revenue_changing_rep": [0.30, 0.50, 0.36],
            "max_dev_potential": [0.05, 0.118, 0.05],
            "max_dev_workload": [0.05, 0.095, 0.05],
        }
    )
    lines = tm.scenario_findings(comparison, front, 0.05)
    assert (
        "24 territories, ±5%: largest deviation 5%; 28 territories, ±3%: largest deviation 4%"
        in (lines[0])
    )
    assert (
        "from 14.1 km with 50% of revenue changing rep (continuity weight 0) to 16.0 km with 30%"
        in (lines[1])
    )
    assert lines[2] == "Designs on the front outside the ±5% balance: continuity weight 0."
    assert tm.scenario_findings(comparison.head(2), front.head(1), 0.05) == []


def test_the_potential_phase_key_account_list_is_carved_out_and_handed_to_its_manager(
    demo_export: Path,
) -> None:
    from salesanalytics.analyses.portfolio import model as pf
    from salesanalytics.analyses.potential import model as pt
    from salesanalytics.ingest import intake

    res = intake.load_export(demo_export, mapping="salesforce")
    t = res.tables
    pot = pt.estimate_potential(t["accounts"], pt.current_mrr(t["contracts"], res.as_of)).accounts
    key = pf.key_account_list(
        t["accounts"], t["reps"], t["contracts"], pot, res.as_of, t["products"]
    )
    flagged = pf.flag_key_accounts(pot, key)
    inputs = tm.prepare_inputs(t["accounts"], flagged, t["activities"], t["reps"])
    plan = tm.run_scenario(
        inputs, tolerance=0.2, settings=tm.solver_settings(tm.SCENARIO_SETTINGS, max_passes=5)
    )
    a = plan.assignment.set_index("account_id")
    # exactly the list, not today's key-account owners nor a share of the largest accounts
    assert set(a.index[a["key_account"]]) == set(key["account_id"])
    kam = key.set_index("account_id")["proposed_kam_id"]
    assert (a.loc[kam.index, "rep_id"] == kam).all()
    terr = plan.territories
    assert terr.loc[terr["territory_id"] == "key_accounts", "n_accounts"].sum() == len(key)
    # today's key-account owners' other accounts go to field territories
    kams = set(t["reps"].loc[t["reps"]["role"] == "key_account", "rep_id"])
    assert not set(a.loc[~a["key_account"], "rep_id"]) & kams


def test_balance_chart_labels_territories_with_their_reps_name() -> None:
    from types import SimpleNamespace

    from salesanalytics.present import maps

    units = pd.DataFrame(
        {"unit_id": ["1", "2"], "potential_mrr": [1.0, 2.0], "workload_hours": [1.0, 2.0]}
    )
    plan = SimpleNamespace(
        units=units,
        unit_territory=pd.Series({"1": "T01", "2": "R9"}),
        territories=pd.DataFrame(
            {
                "territory_id": ["T01", "R9"],
                "rep_id": ["R1", "R9"],
                "rep_name": ["Lea", "Urs"],
                "fte": [1.0, 1.0],
                "potential_mrr": [1.0, 2.0],
                "workload_hours": [1.0, 2.0],
            }
        ),
    )
    dev = tm.deviation_table(plan)
    assert dict(zip(dev["territory_id"], dev["label"], strict=True)) == {
        "T01": "T01 · Lea",
        "R9": "Urs",
    }
    ax = maps.balance_chart(dev, {"dev_potential_mrr": "potential"})
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Urs", "T01 · Lea"]
