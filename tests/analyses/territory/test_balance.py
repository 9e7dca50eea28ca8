"""Territory balance machinery: exchange LP, cut units, mix splitting, customer units, centres.

Balance and contiguity are recomputed here independently of the optimiser (plain pandas sums and
breadth-first search on dicts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from territory_checks import pieces

from salesanalytics.analyses import territory as tm
from salesanalytics.analyses.territory import optimiser as opt
from salesanalytics.analyses.territory.synthetic import swiss_postal_code_units


def max_dev(units: pd.DataFrame, terr: np.ndarray, metric: str) -> float:
    tot = units.groupby(terr)[metric].sum()
    return float((tot / (units[metric].sum() / len(tot)) - 1).abs().max())


# ------------------------------------------------------------------------------------------------
# articulation points: which units cannot leave their territory without splitting it
# ------------------------------------------------------------------------------------------------


def test_cut_units_match_brute_force_piece_counts() -> None:
    # territory A: a path a0-a1-a2 plus a triangle a2-a3-a4; territory B: a 4-cycle b0..b3
    edges = [
        ("a0", "a1"),
        ("a1", "a2"),
        ("a2", "a3"),
        ("a3", "a4"),
        ("a4", "a2"),
        ("b0", "b1"),
        ("b1", "b2"),
        ("b2", "b3"),
        ("b3", "b0"),
        ("a4", "b0"),
    ]
    ids = ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3"]
    graph = tm.build_unit_graph(ids, np.c_[np.arange(9.0), np.zeros(9)], pd.DataFrame(edges))
    terr = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    n = len(ids)
    st = opt._State(
        np.zeros((n, 2)),
        np.ones((n, 1)),
        np.ones((2, 1)),
        np.ones(1),
        np.ones(n),
        np.zeros(n),
        terr,
        np.zeros(n, dtype=bool),
        graph.neighbours(),
    )
    cut = opt._cut_units(st, terr)
    # brute force: remove the unit, count the pieces of what is left of its territory
    expect = []
    for i, u in enumerate(ids):
        rest = {v: str(terr[j]) for j, v in enumerate(ids) if v != u and terr[j] == terr[i]}
        expect.append(len(rest) > 0 and pieces(rest, edges).get(str(terr[i]), 0) > 1)
    assert cut.tolist() == expect
    assert [u for u, c in zip(ids, cut, strict=True) if c] == ["a1", "a2"]


# ------------------------------------------------------------------------------------------------
# balancing two metrics whose mix varies across the map (the exchange LP's job)
# ------------------------------------------------------------------------------------------------


def mix_grid(n: int = 14, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A grid whose potential per hour of work falls from west to east (city to countryside)."""
    rng = np.random.default_rng(seed)
    xs = np.repeat(np.arange(n), n).astype(float)
    ys = np.tile(np.arange(n), n).astype(float)
    ids = [f"g{i:02d}{j:02d}" for i in range(n) for j in range(n)]
    ratio = np.exp(1.2 - 2.4 * xs / (n - 1))  # 3.3 in the west ... 0.3 in the east
    wl = rng.uniform(8, 12, n * n)
    units = pd.DataFrame(
        {"unit_id": ids, "x": xs, "y": ys, "potential": 10 * wl * ratio, "workload": wl}
    )
    edges = [(f"g{i:02d}{j:02d}", f"g{i + 1:02d}{j:02d}") for i in range(n - 1) for j in range(n)]
    edges += [(f"g{i:02d}{j:02d}", f"g{i:02d}{j + 1:02d}") for i in range(n) for j in range(n - 1)]
    return units, pd.DataFrame(edges, columns=["a", "b"])


def test_exchange_lp_balances_both_metrics_when_their_mix_varies_across_the_map() -> None:
    units, edges = mix_grid()
    res = tm.design_territories(
        units,
        6,
        tolerance=0.03,
        edges=edges,
        columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True),
        settings=tm.SolverSettings(seed=1),
    )
    terr = res.assignment["territory_id"].to_numpy()
    assert max_dev(units, terr, "potential") <= 0.03 + 1e-9
    assert max_dev(units, terr, "workload") <= 0.03 + 1e-9
    assign = dict(zip(res.assignment["unit_id"], terr, strict=True))
    assert set(pieces(assign, list(edges.itertuples(index=False, name=None))).values()) == {1}
    assert res.summary["exchange_rounds"] >= 1
    # deterministic for a seed
    again = tm.design_territories(
        units,
        6,
        tolerance=0.03,
        edges=edges,
        columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True),
        settings=tm.SolverSettings(seed=1),
    )
    assert again.assignment["territory_id"].tolist() == terr.tolist()


def test_swiss_postal_codes_within_3pct_on_both_metrics_and_contiguous() -> None:
    units, edges = swiss_postal_code_units(700, seed=5)
    res = tm.design_territories(
        units,
        12,
        metrics=["potential", "workload"],
        tolerance=0.03,
        edges=edges,
        settings=tm.SolverSettings(seed=0),
    )
    terr = res.assignment["territory_id"].to_numpy()
    for m in ("potential", "workload"):
        assert max_dev(units, terr, m) <= 0.03 + 1e-9, m
    assign = dict(zip(res.assignment["unit_id"], terr, strict=True))
    full = res.graph.edge_frame(units["unit_id"].to_numpy())
    assert set(pieces(assign, list(full.itertuples(index=False, name=None))).values()) == {1}


def test_initial_centres_are_adapted_to_the_territory_count() -> None:
    units, edges = mix_grid(10, seed=2)
    cen = pd.DataFrame({"x": [1.0, 1.5, 8.0], "y": [1.0, 1.2, 8.0]})
    res = tm.design_territories(
        units,
        4,
        tolerance=0.05,
        edges=edges,
        initial_centres=cen,
        columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True),
        settings=tm.SolverSettings(max_iter=1),
    )
    assert res.summary["warm_start"] == "given centres"
    terr = res.assignment["territory_id"].to_numpy()
    assert len(set(terr)) == 4
    for m in ("potential", "workload"):
        assert max_dev(units, terr, m) <= 0.05 + 1e-9
    # the adaptation itself on three tight clusters: the closest pair is merged, the unit
    # furthest from every centre added, then Lloyd steps settle on the cluster means
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [10.0, 10.0], [10.0, 0.0]])
    pts = np.vstack([m + rng.normal(0, 0.3, (5, 2)) for m in means])
    w = np.ones(len(pts))
    truth = np.array([pts[5 * i : 5 * i + 5].mean(axis=0) for i in range(3)])
    three = opt._adapt_centres(pts, w, np.array([[0.0, 0.0], [10.0, 10.0]]), 3)
    assert np.allclose(np.sort(three, axis=0), np.sort(truth, axis=0))
    two = opt._adapt_centres(pts[:10], w[:10], np.array([[0.0, 0], [0.2, 0], [10, 10]]), 2)
    assert np.allclose(np.sort(two, axis=0), np.sort(truth[:2], axis=0))
    with pytest.raises(ValueError, match="initial_centres"):
        tm.design_territories(
            units,
            4,
            initial_centres=pd.DataFrame({"lat": [1.0]}),
            columns=tm.UnitColumns(coord_cols=("x", "y"), planar=True),
        )


# ------------------------------------------------------------------------------------------------
# units: postal codes split by metric mix, customers as units of their own
# ------------------------------------------------------------------------------------------------


def two_postal_codes() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Postal codes 1000 (6 accounts: 3 high potential per hour, 3 low), 2000 and 3000."""
    acc = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(8)],
            "postal_code": ["1000"] * 6 + ["2000", "3000"],
            "latitude": [46.0, 46.001, 46.002, 46.003, 46.004, 46.005, 46.1, 46.2],
            "longitude": [7.0] * 6 + [7.1, 7.2],
            "status": ["customer", "prospect", "customer", "prospect", "customer", "prospect"]
            + ["customer", "prospect"],
            "owner_id": ["R1", "R1", "R2", "R1", "R1", "R1", "R2", "R2"],
            "potential_mrr": [900.0, 880.0, 860.0, 100.0, 110.0, 90.0, 500.0, 500.0],
            "workload_hours": [10.0, 11.0, 9.0, 90.0, 95.0, 85.0, 50.0, 50.0],
            "current_mrr": [300.0, 0.0, 250.0, 0.0, 40.0, 0.0, 100.0, 0.0],
        }
    )
    pc = tm.postal_code_units(
        acc,
        ["R1", "R2"],
        postal_codes=pd.DataFrame(
            {
                "postal_code": ["1000", "2000", "3000"],
                "latitude": [46.0, 46.1, 46.2],
                "longitude": [7.0, 7.1, 7.2],
                "canton": ["VD", "VD", "VS"],
                "place": ["A", "B", "C"],
            }
        ),
    )
    edges = pd.DataFrame({"a": ["1000", "2000"], "b": ["2000", "3000"]})
    return acc, pc, edges


def test_lumpy_postal_codes_are_split_into_pieces_of_different_mix() -> None:
    acc, pc, edges = two_postal_codes()
    units, uedges, acc_unit = tm.split_lumpy_units(pc, acc, edges, 1, ["R1", "R2"], max_share=0.4)
    split = units[units["postal_code"] == "1000"]
    assert len(split) >= 2 and units.attrs["n_split"] >= 1
    assert np.allclose(units[["potential_mrr", "workload_hours"]].sum(), [3940.0, 400.0])
    # every piece is of one kind: high potential per hour (a0-a2) or low (a3-a5)
    kinds = acc.assign(unit=acc["account_id"].map(acc_unit)).groupby("unit")["account_id"]
    for _, members in kinds:
        ids = {int(a[1:]) for a in members}
        assert ids <= {0, 1, 2} or ids <= {3, 4, 5} or ids <= {6} or ids <= {7}
    # no piece above max_share of the target on any metric by more than one account
    share = (
        units[["potential_mrr", "workload_hours"]]
        / units[["potential_mrr", "workload_hours"]].sum()
    )
    biggest = (acc[["potential_mrr", "workload_hours"]] / share.sum().to_numpy()).max()
    assert (share.max() <= 0.4 + biggest / units[["potential_mrr", "workload_hours"]].sum()).all()
    with pytest.raises(ValueError, match="split_by must be 'mix' or 'bearing'"):
        tm.split_lumpy_units(pc, acc, edges, 1, ["R1"], split_by="north")


def test_customer_units_carve_out_the_largest_relationships() -> None:
    acc, pc, edges = two_postal_codes()
    units, uedges, cust = tm.customer_units(pc, acc, edges, ["R1", "R2"], min_mrr=200)
    # a0 (300, R1) and a2 (250, R2) in 1000; a6 (100) stays in 2000
    assert sorted(cust.index) == ["a0", "a2"]
    assert set(cust) == {"1000@a0", "1000@a2"}
    cu = units.set_index("unit_id")
    assert cu.loc["1000@a0", "current"] == "R1" and cu.loc["1000@a2", "current"] == "R2"
    assert cu.loc["1000@a0", "potential_mrr"] == 900.0 and cu.loc["1000@a0", "n_accounts"] == 1
    assert bool(cu.loc["1000@a2", "customer_unit"]) and not bool(cu.loc["1000", "customer_unit"])
    # taken out of their postal code; totals unchanged
    assert cu.loc["1000", "potential_mrr"] == pytest.approx(880 + 100 + 110 + 90)
    assert cu.loc["1000", "current_mrr"] == pytest.approx(40.0)
    assert cu.loc["1000", "current"] == "R1"  # the rep with most revenue left
    for m in ("potential_mrr", "workload_hours", "current_mrr", "n_accounts"):
        assert units[m].sum() == pytest.approx(pc[m].sum())
    # linked to their postal code and its neighbours only
    e = {tuple(sorted(p)) for p in uedges.itertuples(index=False, name=None)}
    assert ("1000", "1000@a0") in e and ("1000@a0", "2000") in e
    assert not any("3000" in p and "1000@a0" in p for p in e)
    assert units.attrs["n_customer_units"] == 2
    # by share: the top 25% of the 4 field customers with revenue = 1 unit (a0)
    _, _, top = tm.customer_units(pc, acc, edges, ["R1", "R2"], top_share=0.25)
    assert list(top.index) == ["a0"]
    none_units, _, none = tm.customer_units(pc, acc, edges, ["R1", "R2"], top_share=0.0)
    assert len(none) == 0 and len(none_units) == len(pc)
    with pytest.raises(ValueError, match="top_share must be between 0 and 1"):
        tm.customer_units(pc, acc, edges, ["R1"], top_share=1.5)


# ------------------------------------------------------------------------------------------------
# Excel deliverable
# ------------------------------------------------------------------------------------------------


def test_excel_keeps_text_as_text_and_missing_as_empty(tmp_path) -> None:
    from openpyxl import load_workbook

    df = pd.DataFrame(
        {
            "name": pd.array(["=1+1", "http://x.ch", None], dtype="string"),
            "value": [1.5, np.nan, 3.0],
            "n": [1, 2, 3],
            "flag": [True, False, True],
        }
    )
    path = tm.write_excel(tmp_path / "x.xlsx", {"A very long sheet name over 31 characters": df})
    wb = load_workbook(path)
    ws = wb[wb.sheetnames[0]]
    assert len(wb.sheetnames[0]) == 31
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == (
        "Name",
        "Value",
        "Number",
        "Flag",
    )  # client words (salesanalytics.present.excel)
    # CRM text that a spreadsheet would run is neutralised (OWASP: a leading quote)
    assert rows[1] == ("'=1+1", 1.5, 1, True) and ws["A2"].data_type == "s"
    assert rows[2][1] is None and rows[3][0] is None
