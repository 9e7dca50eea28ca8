"""Tests for salesanalytics.reference.geo: known answers on the shipped Swiss geography."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesanalytics.reference import geo


@pytest.fixture(scope="module")
def pc() -> pd.DataFrame:
    return geo.postal_codes()


def test_postal_codes_one_row_per_code_with_canonical_dtypes(pc: pd.DataFrame) -> None:
    assert pc["postal_code"].is_unique
    assert len(pc) == 3362
    assert pc["postal_code"].dtype == "string"
    assert pc["postal_code"].str.fullmatch(r"\d{4}").all()
    assert set(pc["canton"]) == {
        "AG", "AI", "AR", "BE", "BL", "BS", "FR", "GE", "GL", "GR", "JU", "LU", "NE",
        "NW", "OW", "SG", "SH", "SO", "SZ", "TG", "TI", "UR", "VD", "VS", "ZG", "ZH",
    }  # fmt: skip
    assert pc["latitude"].between(45.8, 47.9).all()
    assert pc["longitude"].between(5.9, 10.6).all()


def test_zurich_8001(pc: pd.DataFrame) -> None:
    row = pc.set_index("postal_code").loc["8001"]
    assert row["canton"] == "ZH"
    assert row["place"] == "Zürich"
    assert row["latitude"] == pytest.approx(47.37, abs=0.02)
    assert row["longitude"] == pytest.approx(8.54, abs=0.02)
    assert row["population"] > 1000
    assert 0.5 < row["area_km2"] < 5


def test_several_places_per_code_take_first_place_and_mean_coordinates(pc: pd.DataFrame) -> None:
    raw = pd.read_csv(
        geo._data_path("ch_postal_codes_geonames.tsv"), sep="\t", header=None, dtype={1: str}
    )
    multi = raw[raw[1].duplicated(keep=False)]
    code = multi[1].iloc[0]
    rows = raw[raw[1] == code]
    got = pc.set_index("postal_code").loc[code]
    assert got["place"] == rows[2].iloc[0]
    assert got["latitude"] == pytest.approx(rows[9].mean())
    assert got["longitude"] == pytest.approx(rows[10].mean())


def test_population_total_about_8_1_million(pc: pd.DataFrame) -> None:
    assert pc["population"].sum() == pytest.approx(8.1e6, rel=0.02)
    assert pc["population"].isna().sum() > 0  # PO-box codes have none: NaN, not 0


def test_areas_sum_to_switzerland(pc: pd.DataFrame) -> None:
    assert pc["area_km2"].sum() == pytest.approx(geo.SWISS_AREA_KM2, rel=0.01)
    # city centres are dense, mountain codes are not
    d = pc.set_index("postal_code")["density"]
    assert d["8001"] > 20 * d["3920"]  # Zürich centre vs Zermatt


def test_postal_codes_returns_a_copy(pc: pd.DataFrame) -> None:
    pc2 = geo.postal_codes()
    pc2.loc[0, "place"] = "changed"
    assert geo.postal_codes().loc[0, "place"] != "changed"


def test_haversine_bern_zurich_about_95_km() -> None:
    d = geo.haversine_km(46.9480, 7.4474, 47.3769, 8.5417)
    assert float(d) == pytest.approx(95.5, abs=1.0)


def test_haversine_vectorised_and_known_values() -> None:
    lat1 = np.array([0.0, 46.0, 47.0])
    lon1 = np.array([0.0, 7.0, 8.0])
    lat2 = np.array([0.0, 46.0, 48.0])
    lon2 = np.array([1.0, 7.0, 8.0])
    d = geo.haversine_km(lat1, lon1, lat2, lon2)
    one_degree = 2 * np.pi * geo.EARTH_RADIUS_KM / 360
    np.testing.assert_allclose(d, [one_degree, 0.0, one_degree], rtol=1e-9)
    assert np.isnan(geo.haversine_km(np.nan, 7, 46, 7))


def test_adjacency_symmetric_undirected_and_known_neighbours() -> None:
    adj = geo.postal_code_adjacency()
    assert list(adj.columns) == ["postal_code_a", "postal_code_b"]
    assert (adj["postal_code_a"] < adj["postal_code_b"]).all()
    assert not adj.duplicated().any()
    pairs = set(zip(adj["postal_code_a"], adj["postal_code_b"], strict=True))
    assert ("8001", "8002") in pairs  # Zürich City - Enge
    assert ("3011", "3013") in pairs  # Bern Altstadt - Lorraine
    assert ("8001", "1201") not in pairs and ("1201", "8001") not in pairs
    # almost every polygon has a neighbour; mean degree of a planar map is about 5-6
    codes = pd.concat([adj["postal_code_a"], adj["postal_code_b"]])
    degree = codes.value_counts()
    assert 4 < degree.mean() < 7
    assert len(degree) > 0.97 * len(geo.postal_code_polygons())


def test_polygons_decoded_in_screen_plane_with_y_downwards(pc: pd.DataFrame) -> None:
    polys = geo.postal_code_polygons()
    assert len(polys) == 3199
    ring = polys["8001"][0]
    assert ring.shape[1] == 2
    np.testing.assert_allclose(ring[0], ring[-1])  # closed
    allpts = np.concatenate([r for rs in polys.values() for r in rs])
    assert 100 < allpts[:, 0].min() and allpts[:, 0].max() < 870
    assert 5 < allpts[:, 1].min() and allpts[:, 1].max() < 495

    def centre(code: str) -> np.ndarray:
        return np.concatenate(polys[code]).mean(axis=0)

    basel, chiasso, geneva = centre("4051"), centre("6830"), centre("1201")
    assert basel[1] < chiasso[1]  # north is up: smaller screen y
    assert geneva[0] < basel[0] < chiasso[0]  # west to east


def test_canton_outlines_and_lakes() -> None:
    cantons = geo.canton_outlines()
    assert len(cantons) == 26 and "ZH" in cantons and "GR" in cantons
    lakes = geo.lakes()
    assert "Zürichsee" in lakes and "Lac Léman" in lakes
    pts = np.concatenate(cantons["ZH"])
    assert pts[:, 1].mean() < np.concatenate(cantons["TI"])[:, 1].mean()


def test_join_coverage_reports_unmatched_codes(pc: pd.DataFrame) -> None:
    cov = geo.join_coverage()
    assert cov["n_postal_codes"] == len(pc)
    assert cov["n_without_polygon"] == len(cov["without_polygon"]) > 0
    assert cov["n_without_population"] == len(cov["without_population"]) > 0
    assert set(cov["without_polygon"]) == set(pc["postal_code"]) - set(geo.postal_code_polygons())
    assert set(cov["without_population"]) == set(pc.loc[pc["population"].isna(), "postal_code"])
    assert cov["population_total"] == pytest.approx(pc["population"].sum())


def test_canton_outlines_overlay_postal_code_polygons(pc: pd.DataFrame) -> None:
    polys = geo.postal_code_polygons()
    zh_codes = pc.loc[pc["canton"] == "ZH", "postal_code"]
    plz_pts = np.concatenate([r for c in zh_codes if c in polys for r in polys[c]])
    canton_pts = np.concatenate(geo.canton_outlines()["ZH"])
    np.testing.assert_allclose(canton_pts.min(axis=0), plz_pts.min(axis=0), atol=2.0)
    np.testing.assert_allclose(canton_pts.max(axis=0), plz_pts.max(axis=0), atol=2.0)


def test_screen_xy_lands_on_the_postal_code_polygon(pc: pd.DataFrame) -> None:
    polys = geo.postal_code_polygons()
    row = pc.set_index("postal_code").loc[["8001", "3920", "1201", "6900"]]
    xy = geo.screen_xy(row["latitude"].to_numpy(), row["longitude"].to_numpy())
    assert xy.shape == (4, 2)
    for code, p in zip(row.index, xy, strict=True):
        ring = max(polys[code], key=len)
        lo, hi = ring.min(axis=0), ring.max(axis=0)
        assert (lo - 2 <= p).all() and (p <= hi + 2).all(), code
    one = geo.screen_xy(47.3769, 8.5417)
    assert one.shape == (2,)
    assert np.isnan(geo.screen_xy(np.nan, 8.0)).all()


def test_postal_code_places_are_the_first_columns_of_postal_codes(pc: pd.DataFrame) -> None:
    places = geo.postal_code_places()
    pd.testing.assert_frame_equal(places, pc.iloc[:, :7])
    places.loc[0, "place"] = "changed"  # a copy
    assert geo.postal_code_places().loc[0, "place"] != "changed"


def test_vectorised_arc_decoding_equals_arc_by_arc() -> None:
    for name in ("ch_plz_polygons.topojson", "ch_cantons.topojson"):
        fast = geo._decoded_arcs(name)
        each = geo._decoded_arcs_each(geo._load_json(name))
        assert len(fast) == len(each) > 200
        for a, b in zip(fast, each, strict=True):
            np.testing.assert_array_equal(a, b)
            assert not a.flags.writeable


def test_arc_decoding_of_non_integer_deltas_takes_the_exact_path(monkeypatch) -> None:
    topo = {
        "transform": {"scale": [0.5, 2.0], "translate": [10.0, 20.0]},
        "arcs": [[[0, 0], [1.5, 2]], [[4, 4], [1, -1], [1, 0]]],
    }
    monkeypatch.setattr(geo, "_load_json", lambda name: topo)
    arcs = geo._decoded_arcs.__wrapped__("fake")
    np.testing.assert_array_equal(arcs[0], [[10.0, 20.0], [10.75, 24.0]])
    np.testing.assert_array_equal(arcs[1], [[12.0, 28.0], [12.5, 26.0], [13.0, 26.0]])
    topo["arcs"] = [[[0, 0], [2, 2]], [[4, 4], [1, -1], [1, 0]]]  # integers: one running sum
    arcs = geo._decoded_arcs.__wrapped__("fake")
    np.testing.assert_array_equal(arcs[0], [[10.0, 20.0], [11.0, 24.0]])
    np.testing.assert_array_equal(arcs[1], [[12.0, 28.0], [12.5, 26.0], [13.0, 26.0]])


def test_geometry_loaders_restore_the_garbage_collector() -> None:
    import gc

    calls = geo._without_gc(lambda: gc.isenabled())
    assert gc.isenabled() and calls() is False and gc.isenabled()
    gc.disable()
    try:
        assert calls() is False and not gc.isenabled()  # left disabled when it was
    finally:
        gc.enable()
