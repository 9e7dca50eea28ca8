"""Territories as the map shows them and as a rep works them, recomputed without the optimiser.

Contiguity is recomputed from the postal-code polygons alone (shapely, ``territory_checks``);
workload from the accounts: service time plus travel from the territory's base at the
project's road factor and speed, against each rep's FTE share.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from territory_checks import polygon_pieces

from salesanalytics.analyses import territory as tm
from salesanalytics.analyses.territory.synthetic import swiss_postal_code_units
from salesanalytics.reference import geo
from salesanalytics.reference.travel import ROAD_FACTOR, SPEED_KMH

pytest.importorskip("shapely")


def _latlon(units: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Coordinates of every postal code: its own unit's (a customer unit or a piece of a split
    code sits at its accounts, not at the code)."""
    if "postal_code" not in units:
        units = units.assign(postal_code=units["unit_id"])
    own = units["unit_id"].astype(str) == units["postal_code"].astype(str)
    u = pd.concat([units[own], units[~own]])  # a code's own unit first, else any of its units
    u = u.drop_duplicates("postal_code")
    return {
        str(c): (float(a), float(b))
        for c, a, b in zip(u["postal_code"], u["latitude"], u["longitude"], strict=True)
    }


def test_polygon_check_counts_pieces_known_answers() -> None:
    pc = geo.postal_codes()
    ll = _latlon(pc.rename(columns={"postal_code": "unit_id"}))
    codes = {c: c for c in ("8001", "8002", "3011", "8901", "8902")}
    # neighbours in Zürich: one piece; Zürich and Bern: two pieces
    assert polygon_pieces(codes, {"8001": "A", "8002": "A"}, ll) == {"A": 1}
    assert polygon_pieces(codes, {"8001": "A", "3011": "A"}, ll) == {"A": 2}
    # 8901 (company code without polygon) lies in 8902 Urdorf: part of that area, no bridge
    assert polygon_pieces(codes, {"8902": "A", "8901": "A"}, ll) == {"A": 1}
    assert polygon_pieces(codes, {"8902": "A", "8901": "A", "3011": "A"}, ll) == {"A": 2}
    assert polygon_pieces(codes, {"8001": "A", "8901": "A", "3011": "A"}, ll) == {"A": 3}


def test_codes_without_polygon_are_leaves_of_the_polygon_that_contains_them() -> None:
    import shapely

    pc = geo.postal_codes()
    edges = geo.postal_code_neighbours(pc["postal_code"], pc["latitude"], pc["longitude"])
    polys = geo.postal_code_polygons()
    nopoly = set(pc["postal_code"]) - set(polys)
    # (a few codes have only a degenerate sliver of a polygon: hosted as well)
    assert len(nopoly) > 150 and len(nopoly) <= edges.attrs["n_hosted"] <= len(nopoly) + 10
    deg = pd.concat([edges["postal_code_a"], edges["postal_code_b"]]).value_counts()
    # every code without a polygon has exactly one neighbour: its host polygon
    assert (deg.reindex(sorted(nopoly)) == 1).all()
    hosts = geo.postal_code_hosts(pc["postal_code"], pc["latitude"], pc["longitude"])
    assert hosts["8901"] != "8901" and hosts["3000"] in polys
    # the host contains the code's point (when any polygon does)
    row = pc.set_index("postal_code").loc["3000"]
    pt = shapely.Point(*geo.screen_xy(row["latitude"], row["longitude"]))
    host_poly = shapely.Polygon(max(polys[hosts["3000"]], key=len))
    assert host_poly.buffer(0.5).contains(pt)


@pytest.mark.parametrize("k", [50])
def test_full_swiss_geography_every_territory_one_piece_on_the_map(k: int) -> None:
    units, edges = swiss_postal_code_units(seed=3)
    assert len(units) == len(geo.postal_codes())
    res = tm.design_territories(
        units,
        k,
        metrics=("potential", "workload"),
        tolerance=0.05,
        edges=edges,
        settings=tm.SolverSettings(max_passes=60),
    )
    assert res.summary["graph_bridges"] == 0 and res.summary["graph_edges_delaunay"] == 0
    assign = dict(
        zip(res.assignment["unit_id"], res.assignment["territory_id"].astype(str), strict=True)
    )
    p = polygon_pieces({u: u for u in assign}, assign, _latlon(units))
    assert len(p) == k and set(p.values()) == {1}, {t: v for t, v in p.items() if v > 1}


# --------------------------------------------------------------------------------------------
# a generated 3,000-account demo: contiguity by polygons and workload with travel
# --------------------------------------------------------------------------------------------


def _inputs(export: Path) -> tm.TerritoryInputs:
    from salesanalytics.analyses.potential import model as pt
    from salesanalytics.ingest import intake

    res = intake.load_export(export, mapping="salesforce")
    t = res.tables
    pot = pt.estimate_potential(t["accounts"], pt.current_mrr(t["contracts"], res.as_of))
    return tm.prepare_inputs(t["accounts"], pot.accounts, t["activities"], t["reps"])


@pytest.fixture(scope="module")
def demo11(tmp_path_factory: pytest.TempPathFactory) -> tm.TerritoryInputs:
    from salesanalytics.ingest import demo

    out = tmp_path_factory.mktemp("demo11") / "export"
    demo.generate(out, n_accounts=3000, seed=11)
    return _inputs(out)


@pytest.fixture(scope="module")
def plan11(demo11: tm.TerritoryInputs) -> tm.TerritoryPlan:
    return tm.run_scenario(demo11, tolerance=0.05)


def _haversine(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def recomputed_balance(inputs: tm.TerritoryInputs, plan: tm.TerritoryPlan) -> pd.DataFrame:
    """Potential and workload (service + travel from the base) per field territory, from the
    accounts, the delivered assignment and the bases; deviation from each rep's FTE share."""
    a = plan.assignment.merge(inputs.accounts, on="account_id")
    a = a[~a["territory_id"].isin(["key_accounts", "locked", "unassigned"])]
    b = plan.bases.set_index("territory_id")
    reps = inputs.reps.set_index("rep_id")
    km = _haversine(
        a["latitude"].to_numpy(float),
        a["longitude"].to_numpy(float),
        a["territory_id"].map(b["base_latitude"]).to_numpy(float),
        a["territory_id"].map(b["base_longitude"]).to_numpy(float),
    )
    a["work"] = a["activity_hours"] + a["visits_per_year"] * 2 * km * ROAD_FACTOR / SPEED_KMH
    g = a.groupby("territory_id").agg(potential=("potential_mrr", "sum"), work=("work", "sum"))
    rep = g.index.map(b["rep_id"])
    fte = pd.Series(rep.map(reps["fte"]), index=g.index).astype(float).fillna(1.0)
    cap = pd.Series(rep.map(reps["capacity_hours"]), index=g.index).astype(float)
    # potential follows the FTE share, workload the capacity share (utilisation balanced)
    g["dev_potential"] = g["potential"] / (fte / fte.sum() * g["potential"].sum()) - 1
    g["dev_work"] = g["work"] / (cap / cap.sum() * g["work"].sum()) - 1
    return g


def test_demo_every_territory_one_piece_on_the_map_and_balanced_with_travel(
    demo11: tm.TerritoryInputs, plan11: tm.TerritoryPlan
) -> None:
    inp, plan = demo11, plan11
    u = plan.units
    p = polygon_pieces(
        dict(zip(u["unit_id"].astype(str), u["postal_code"].astype(str), strict=True)),
        plan.unit_territory.astype(str).to_dict(),
        _latlon(u),
    )
    assert set(p.values()) == {1}, {t: v for t, v in p.items() if v > 1}
    g = recomputed_balance(inp, plan)
    t = plan.territories.set_index("territory_id").loc[g.index]
    # the table shows the workload a rep really has, and the deviation from the FTE share
    np.testing.assert_allclose(t["workload_hours"], g["work"], rtol=1e-6)
    np.testing.assert_allclose(t["dev_workload_hours"], g["dev_work"], atol=1e-6)
    np.testing.assert_allclose(t["dev_potential_mrr"], g["dev_potential"], atol=1e-6)
    # within tolerance, or the report names the territory that is not and says what would help
    worst = np.maximum(g["dev_potential"].abs(), g["dev_work"].abs())
    lines = tm.plan_findings(plan, tm.status_quo_plan(inp), 0.05)
    n_in = int((worst <= 0.05 + 1e-9).sum())
    assert lines[0].startswith(f"{len(g)} territories: {n_in} of {len(g)} are within ±5%")
    assert f"{worst.max():.1%}" in lines[0] or f"{g['dev_potential'].abs().max():.1%}" in lines[0]
    for tid in worst.index[worst > 0.05 + 1e-9]:
        assert any(re.search(rf"\b{tid} \(", line) for line in lines), tid
    if (worst > 0.05 + 1e-9).any():
        assert any(line.startswith("What would make it reachable") for line in lines)
    # utilisation in the table: workload over capacity, the same workload; within the band of
    # the fleet's utilisation wherever the workload is
    cap = t["capacity_hours"]
    np.testing.assert_allclose(t["utilisation"], g["work"] / cap, rtol=1e-6)
    util = g["work"] / cap
    fleet = g["work"].sum() / cap.sum()
    ok = g["dev_work"].abs() <= 0.05 + 1e-9
    assert ((util[ok] / fleet - 1).abs() <= 0.05 + 1e-6).all()


def test_reps_are_matched_near_home_and_vacancies_get_a_suggested_base(
    demo11: tm.TerritoryInputs,
) -> None:
    n_reps = len(demo11.field_reps)
    plan = tm.run_scenario(
        demo11,
        n_territories=n_reps + 2,
        tolerance=0.1,
        settings=tm.solver_settings(tm.SCENARIO_SETTINGS, max_passes=40),
    )
    b = plan.bases
    assert len(b) == n_reps + 2 and int(b["vacant"].sum()) == 2
    vac = b[b["vacant"]]
    assert vac["base_postal_code"].notna().all() and np.isfinite(vac["base_latitude"]).all()
    t = plan.territories.set_index("territory_id")
    # a vacant territory's workload counts travel from its suggested base (not zero)
    assert (t.loc[vac["territory_id"], "travel_hours"] > 0).all()
    assert (t.loc[vac["territory_id"], "rep_name"] == "vacant (to hire)").all()
    lines = tm.plan_findings(plan, tm.status_quo_plan(demo11), 0.1)
    assert any("2 of" in line and "vacant" in line for line in lines)
    assert set(tm.base_table(plan)["Vacant"]) == {"no", "yes: suggested base"}
    # reps live near their territory: the median rep's base is closer to the own territory's
    # workload centre than to the average other territory's
    u = plan.units.assign(t=plan.units["unit_id"].astype(str).map(plan.unit_territory))
    cen = u.groupby("t").apply(
        lambda d: pd.Series(
            {
                "lat": np.average(d["latitude"], weights=d["workload_hours"] + 1e-9),
                "lon": np.average(d["longitude"], weights=d["workload_hours"] + 1e-9),
            }
        ),
        include_groups=False,
    )
    staffed = b[~b["vacant"]].set_index("territory_id")
    d = _haversine(
        staffed["base_latitude"].to_numpy()[:, None],
        staffed["base_longitude"].to_numpy()[:, None],
        cen.loc[staffed.index, "lat"].to_numpy()[None, :],
        cen.loc[staffed.index, "lon"].to_numpy()[None, :],
    )
    own = np.diag(d)
    other = (d.sum(axis=1) - own) / (len(own) - 1)
    assert np.median(own) < 0.5 * np.median(other)


def test_fewer_territories_than_reps_go_to_full_time_reps_and_free_the_others(
    demo11: tm.TerritoryInputs,
) -> None:
    fr = demo11.field_reps
    n = 5
    plan = tm.run_scenario(
        demo11,
        n_territories=n,
        tolerance=0.1,
        settings=tm.solver_settings(tm.SCENARIO_SETTINGS, max_passes=20),
    )
    reps = {str(r) for r in plan.territory_rep.values()}
    assert len(reps) == n and not any(r.startswith("VACANT") for r in reps)
    fte = fr.set_index(fr["rep_id"].astype(str))["fte"].astype(float)
    assert fte.loc[sorted(reps)].min() >= fte.sort_values(ascending=False).iloc[n - 1]
    available = tm.reps_available(fr, plan.territory_rep)
    assert len(available) == len(fr) - n
    assert not set(available["rep_id"].astype(str)) & reps
    # the table's targets follow the chosen reps' FTE and capacity, as recomputed
    g = recomputed_balance(demo11, plan)
    t = plan.territories.set_index("territory_id").loc[g.index]
    np.testing.assert_allclose(t["dev_workload_hours"], g["dev_work"], atol=1e-6)
    np.testing.assert_allclose(t["dev_potential_mrr"], g["dev_potential"], atol=1e-6)
