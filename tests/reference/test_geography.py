"""Geography per country: Swiss polygons in LV95, GeoNames points (DE/AT/LI), combinations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from salesanalytics.reference import geo
from salesanalytics.reference import geography as G


def _components(keys: pd.Series, adj: pd.DataFrame) -> int:
    """Connected components of the adjacency, recomputed with scipy from the pairs."""
    allkeys = pd.concat([keys, adj["postal_code_a"], adj["postal_code_b"]]).drop_duplicates()
    pos = {k: i for i, k in enumerate(allkeys)}
    a = adj["postal_code_a"].map(pos).to_numpy()
    b = adj["postal_code_b"].map(pos).to_numpy()
    m = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(pos), len(pos)))
    return connected_components(m, directed=False)[0]


def _pairs(adj: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(adj["postal_code_a"], adj["postal_code_b"], strict=True))


def test_country_names_and_currency() -> None:
    for text, code in [
        ("Deutschland", "DE"),
        ("germany", "DE"),
        (" DE ", "DE"),
        ("Schweiz", "CH"),
        ("Suisse", "CH"),
        ("Switzerland", "CH"),
        ("Österreich", "AT"),
        ("Austria", "AT"),
        ("Liechtenstein", "LI"),
        ("LI", "LI"),
    ]:
        assert G.country_code(text) == code
    assert G.country_code("France") is None
    assert G.country_code(None) is None
    assert G.currency_for_countries(["DE", "DE", "AT"]) == "EUR"
    assert G.currency_for_countries(["CH", "LI", "DE"]) == "CHF"
    assert G.currency_for_countries([]) == "CHF"
    with pytest.raises(ValueError, match="no geography for country FR.*CH, LI, DE, AT"):
        G.geography(["CH", "FR"])


def test_swiss_geography_keeps_the_swiss_figures_and_is_georeferenced_in_lv95() -> None:
    ch = G.geography("CH")
    assert ch.crs == 2056 and not ch.multi
    pc = ch.postal_codes()
    ref = geo.postal_codes()
    assert pc["postal_code"].tolist() == ref["postal_code"].tolist()
    np.testing.assert_array_equal(pc["population"].to_numpy(), ref["population"].to_numpy())
    np.testing.assert_array_equal(pc["area_km2"].to_numpy(), ref["area_km2"].to_numpy())
    cells = ch.cells()
    # the polygons' LV95 area is Switzerland's (41,285 km²) within 1%
    assert sum(g.area for g in cells) / 1e6 == pytest.approx(geo.SWISS_AREA_KM2, rel=0.01)
    # GeoNames points of well-known codes lie in (or within 1 km of) their own polygon
    sample = pc[pc["postal_code"].isin(["8004", "3011", "1003", "6900", "7000", "1950"])]
    xy = ch.project(sample["latitude"], sample["longitude"])
    d = [
        cells[c].distance(shapely.Point(p)) for c, p in zip(sample["postal_code"], xy, strict=True)
    ]
    assert max(d) < 1000
    # Bern's LV95 coordinates (E 2'600'000, N 1'200'000 is the old observatory)
    e, n = ch.project([46.95108], [7.43864])[0]
    assert e == pytest.approx(2_600_000, abs=100) and n == pytest.approx(1_200_000, abs=100)


def test_german_postal_codes_keep_their_leading_zero_and_cover_the_country() -> None:
    de = G.geography("DE")
    pc = de.places()
    assert len(pc) == 8308
    assert pc["postal_code"].str.fullmatch(r"\d{5}").all()
    dresden = pc.set_index("postal_code").loc["01067"]
    assert dresden["place"] == "Dresden" and dresden["region"] == "SN"
    cells = de.cells()
    assert len(cells) == 8308 and not cells.map(lambda g: g.is_empty).any()
    # the cells partition the outline: no gaps, no overlaps
    total = sum(g.area for g in cells)
    assert total == pytest.approx(de.outline().area, rel=1e-6)
    assert 340_000 < total / 1e6 < 380_000  # Germany: 357,600 km² (the outline is buffered)
    # every point lies in its own cell
    xy = de.xy
    inside = shapely.contains_xy(cells.to_numpy(), xy[:, 0], xy[:, 1])
    assert inside.mean() > 0.999
    assert set(de.regions().index) == {
        "BB", "BE", "BW", "BY", "HB", "HE", "HH", "MV", "NI", "NW", "RP", "SH", "SL", "SN", "ST", "TH"
    }  # fmt: skip


def test_point_adjacency_is_connected_and_pruned_of_implausible_links() -> None:
    de = G.geography("DE")
    pc = de.places()
    adj = de.adjacency()
    assert _components(pc["key"], adj) == 1
    info = de.adjacency_info
    assert info["n_pruned"] > 0
    loc = pc.set_index("key")
    d = geo.haversine_km(
        loc.loc[adj["postal_code_a"], "latitude"].to_numpy(),
        loc.loc[adj["postal_code_a"], "longitude"].to_numpy(),
        loc.loc[adj["postal_code_b"], "latitude"].to_numpy(),
        loc.loc[adj["postal_code_b"], "longitude"].to_numpy(),
    )
    # links are local: none longer than 40 km, but for an island's only link (Helgoland)
    deg = pd.concat([adj["postal_code_a"], adj["postal_code_b"]]).value_counts()
    leaf = (adj["postal_code_a"].map(deg) == 1) | (adj["postal_code_b"].map(deg) == 1)
    assert d[~leaf.to_numpy()].max() <= 40.5
    assert d.max() <= 60
    pairs = _pairs(adj)
    # Konstanz and Meersburg face each other across the Bodensee: no neighbours; Öhningen and
    # Hohentengen are 35 km apart along the Rhine with the canton of Schaffhausen between them
    assert ("78462", "88709") not in pairs
    assert ("78337", "79801") not in pairs
    # Konstanz keeps its neighbours on land (Allensbach, Reichenau)
    konstanz = {b for a, b in pairs if a == "78462"} | {a for a, b in pairs if b == "78462"}
    assert konstanz & {"78464", "78465", "78467", "78476"}
    # neighbouring Dresden codes are neighbours
    assert ("01067", "01069") in pairs


def test_combined_geography_keys_codes_by_country_and_links_across_borders() -> None:
    both = G.geography(["AT", "CH"])
    pl = both.places().set_index("key")
    assert both.multi and both.crs == 3035
    assert pl.loc["CH-1010", "place"].startswith("Lausanne")
    assert pl.loc["AT-1010", "place"].startswith("Wien")

    m = G.geography(["DE", "LI", "CH"])
    assert m.countries == ("CH", "LI", "DE")  # order does not matter: one cached geography
    assert G.geography(["CH", "LI", "DE"]) is m
    pc = m.places()
    # the neighbours as the territory design sees them (Swiss codes without a polygon hosted
    # by the polygon they lie in) connect all three countries
    nb = m.neighbours(pc["key"], pc["latitude"].to_numpy(), pc["longitude"].to_numpy())
    assert _components(pc["key"], nb) == 1
    pairs = _pairs(m.adjacency())
    cross = [(a, b) for a, b in pairs if a[:2] != b[:2]]
    kinds = {a[:2] + b[:2] for a, b in cross}
    assert {"CHLI", "CHDE"} <= kinds
    assert ("CH-8280", "DE-78462") in pairs  # Kreuzlingen - Konstanz
    assert ("CH-9423", "DE-88085") not in pairs  # Altenrhein - Langenargen: across the lake
    assert not any(k.startswith("LI") and "DE" in k for k in kinds)  # LI does not touch DE
    # both ends of every cross-border link lie near the border
    outlines = m._outlines
    xy = dict(zip(pc["key"], m.project(pc["latitude"], pc["longitude"]), strict=True))
    for a, b in cross:
        assert shapely.Point(xy[a]).distance(outlines[b[:2]]) <= 12_000
        assert shapely.Point(xy[b]).distance(outlines[a[:2]]) <= 12_000
    # cells: Swiss polygons and German Voronoi cells do not overlap (up to the few km² by
    # which the canton outlines and the postal-code polygons, two sources, differ)
    cells = m.cells()
    ch = shapely.union_all(cells[cells.index.str.startswith("CH-")].to_numpy())
    de = cells[cells.index.str.startswith("DE-")]
    overlap = sum(shapely.area(shapely.intersection(de.to_numpy(), ch))) / 1e6
    assert overlap < 10.0


def test_population_proxy_elasticity_refits_on_swiss_data_and_sums_to_the_laender() -> None:
    ch = G.geography("CH")
    p = ch.places()
    xy = G._spread_duplicates(ch.project(p["latitude"], p["longitude"]))
    ok = np.isfinite(xy).all(axis=1)
    area = shapely.area(G._voronoi_cells(xy[ok], ch.outline())) / 1e6
    pop = geo.postal_codes()["population"].to_numpy()[ok]
    m = (pop > 0) & (area > 0.05)
    slope = np.polyfit(np.log(area[m]), np.log(pop[m]), 1)[0]
    assert slope == pytest.approx(G.POPULATION_AREA_ELASTICITY, abs=0.05)
    de = G.geography("DE").postal_codes()
    by_land = de.groupby("region")["population"].sum()
    for land, total in G.REGION_POPULATION["DE"].items():
        assert by_land[land] == pytest.approx(total, rel=1e-9)
    # a Berlin PLZ holds more people than a rural Eifel one
    pl = de.set_index("postal_code")["population"]
    assert pl["10115"] > 2 * pl["54550"]
