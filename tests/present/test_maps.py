"""Maps of every geography: placement, territory colouring, and that the charts draw what they should."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from salesanalytics.present import maps
from salesanalytics.reference import geo
from salesanalytics.reference.geography import geography


def test_lonlat_points_land_on_their_postal_code_polygon() -> None:
    import shapely

    g = geography("CH")
    pc = geo.postal_codes().dropna(subset=["latitude"])
    cells = g.cells()
    sample = pc[pc["postal_code"].isin(["8004", "3011", "1003", "6900", "7000", "1950"])]
    xy = maps.lonlat_xy(sample["latitude"], sample["longitude"])
    d = [
        cells[c].distance(shapely.Point(p)) for c, p in zip(sample["postal_code"], xy, strict=True)
    ]
    assert max(d) < 1000  # pyproj LV95 and the georeferenced polygons agree within 1 km


def test_neighbouring_territories_get_different_colours() -> None:
    adj = geo.postal_code_adjacency()
    codes = sorted(set(adj["postal_code_a"]) | set(adj["postal_code_b"]))
    # 40 territories by postal-code prefix
    ut = pd.Series([c[:2] for c in codes], index=codes)
    colors = maps.territory_colors(ut, adj)
    a = adj["postal_code_a"].map(ut)
    b = adj["postal_code_b"].map(ut)
    diff = a != b
    clash = [(x, y) for x, y in zip(a[diff], b[diff], strict=True) if colors[x] == colors[y]]
    assert clash == []
    assert set(colors.values()) <= set(maps.TERRITORY_COLORS)


def test_maps_draw_polygons_homes_labels_and_missing_values() -> None:
    values = pd.Series({"8004": 10.0, "3011": 0.0, "1003": 5.0, "9999": 1.0})
    ax = maps.value_map(values, "Potential", log=True, label="CHF")
    n_polys = sum(len(c.get_paths()) for c in ax.collections)
    assert n_polys >= len(geo.postal_code_polygons())  # every postal code drawn, missing in grey
    grey = [c for c in ax.collections if c.get_array() is None and len(c.get_paths()) > 3000]
    assert grey, "postal codes without a value are drawn in grey"
    assert ax.get_title() == "Potential"
    plt.close("all")
    ut = pd.Series({"8004": "T1", "8005": "T1", "3011": "T2"})
    homes = pd.DataFrame({"latitude": [47.37], "longitude": [8.54], "label": ["Rep"]})
    ax = maps.territory_map(ut, "Plan", homes=homes, labels={"T1": "T1", "T2": "T2"})
    assert {t.get_text() for t in ax.texts} == {"T1", "T2"}
    offsets = [c for c in ax.collections if c.get_offsets().shape[0] == 1]
    assert offsets, "rep home base not drawn"
    plt.close("all")


def test_balance_chart_shows_one_bar_per_territory_and_metric() -> None:
    t = pd.DataFrame({"territory_id": ["T2", "T1"], "dev_a": [0.02, -0.04], "dev_b": [0.1, 0.0]})
    ax = maps.balance_chart(t, {"dev_a": "a", "dev_b": "b"}, tolerance=0.05)
    heights = sorted(round(p.get_height(), 6) for p in ax.patches if p.get_width() < 1)
    assert heights == pytest.approx(sorted([2.0, -4.0, 10.0, 0.0]))
    assert [x.get_text() for x in ax.get_xticklabels()] == ["T1", "T2"]
    plt.close("all")
    assert np.isfinite(maps.lonlat_xy([46.8], [8.2])).all()


def test_maps_of_germany_and_of_a_mixed_engagement() -> None:
    de = geography("DE")
    pc = de.places()
    values = pd.Series(np.arange(len(pc), dtype=float), index=pc["key"])
    ax = maps.value_map(values, "DE", geography=de)
    n_cells = sum(len(c.get_paths()) for c in ax.collections)
    assert n_cells >= len(pc) + 16  # every PLZ cell and the 16 Länder outlines
    x0, x1 = ax.get_xlim()
    assert 3_900_000 < x0 < x1 < 4_800_000  # ETRS89-LAEA easting of Germany
    plt.close("all")
    m = geography(["CH", "LI", "DE"])
    mp = m.places()
    ut = pd.Series(mp["country"].to_numpy(), index=mp["key"])
    homes = pd.DataFrame({"latitude": [47.14, 52.52], "longitude": [9.52, 13.40]})
    ax = maps.territory_map(ut, "mixed", homes=homes, labels={"LI": "LI"}, geography=m)
    assert [t.get_text() for t in ax.texts] == ["LI"]
    xy = [c for c in ax.collections if c.get_offsets().shape[0] == 2][0].get_offsets()
    assert xy[1, 1] > xy[0, 1]  # Berlin north of Vaduz: y grows to the north
    plt.close("all")
