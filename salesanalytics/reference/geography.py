"""Postal-code geography per country: one interface, one implementation per source.

A :class:`Geography` answers the same questions for every country an engagement covers:

* :meth:`~Geography.places` / :meth:`~Geography.postal_codes` -- one row per postal code with
  place, region (canton, Land, Bundesland), WGS84 coordinates and, where the source has them,
  population, area and density;
* :meth:`~Geography.cells` -- the area of each postal code on the map, in the geography's
  projected coordinate system (metres): real polygons where the source has them (Switzerland),
  else the postal code's Voronoi cell clipped to the country;
* :meth:`~Geography.adjacency` -- neighbouring postal codes;
* :meth:`~Geography.outline`, :meth:`~Geography.regions`, :meth:`~Geography.lakes` -- what a map
  draws around the cells;
* :meth:`~Geography.project` -- WGS84 -> the geography's coordinate system (pyproj).

Implementations

* :class:`SwissPolygons` -- today's Swiss data (:mod:`salesanalytics.geo`: GeoNames postal codes,
  2016 population, TopoJSON postal-code polygons, cantons and lakes). The polygons come in a
  screen plane without projection parameters; they are georeferenced once to Swiss LV95
  (EPSG:2056) by a least-squares fit of their centroids to the GeoNames coordinates projected
  with pyproj (median error about 100 m). Postal codes, population, areas and adjacency are the
  ones of :mod:`salesanalytics.geo`, unchanged.
* :class:`GeoNamesPoints` -- a country known only by its GeoNames postal-code points (Germany,
  Austria, Liechtenstein). Coordinates are projected to ETRS89-LAEA Europe (EPSG:3035). The
  country is the alpha shape of its points (Delaunay triangles with no side above
  ``hull_edge_km``, outer rings only, buffered by ``hull_buffer_km``) less the large lakes and
  Switzerland's real outline; regions (Länder) are the unions of their postal codes' cells.
  No package ships state boundaries for offline use, so the Länder outlines on the maps are
  these unions (they follow the postal codes, not the surveyed border). Adjacency is the pruned Delaunay graph described in
  :func:`point_adjacency`.
* :class:`CombinedGeography` -- several countries in one engagement (a Swiss client with
  accounts in Liechtenstein and Baden-Württemberg). Postal codes are keyed ``"CC-code"``
  (``"CH-1010"`` is Lausanne, ``"AT-1010"`` Vienna), the coordinate system is EPSG:3035 when a
  country outside Switzerland and Liechtenstein takes part (LV95 otherwise), Voronoi cells of
  the point countries are computed together (their border follows the bisector of the nearest
  codes on both sides) and clipped off the polygon countries, and cross-border neighbours are
  kept only where both codes lie near the border (:func:`cross_border_edges`).

A further country is one GeoNames file in ``salesanalytics/data/geo/`` and one line in
:data:`POINT_SOURCES`.

Use :func:`geography` to get the (cached) geography of a set of countries.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "COUNTRY_CURRENCY",
    "LAEA",
    "LV95",
    "COUNTRY_NAMES",
    "POINT_SOURCES",
    "POPULATION_AREA_ELASTICITY",
    "REGION_POPULATION",
    "SUPPORTED_COUNTRIES",
    "CombinedGeography",
    "GeoNamesPoints",
    "Geography",
    "PointSource",
    "SwissPolygons",
    "account_keys",
    "country_code",
    "country_codes",
    "for_accounts",
    "cross_border_edges",
    "currency_for_countries",
    "geography",
    "point_adjacency",
    "postal_key",
    "reproject",
    "unit_postal_codes",
]

LV95 = 2056
"""Swiss LV95 (CH1903+ / LV95): the Swiss geography's coordinate system."""
LAEA = 3035
"""ETRS89-LAEA Europe: equal-area, the coordinate system across Germany, Austria, Switzerland."""


@dataclass(frozen=True)
class PointSource:
    """A country known by its GeoNames postal-code points.

    Attributes
    ----------
    country
        ISO 3166 alpha-2 code.
    file
        GeoNames file in ``salesanalytics/data/geo/`` (12 tab-separated columns, no header).
    digits
        Length of a postal code (leading zeros kept: German ``01067``).
    region_names
        Region code -> short code for labels (Austria's GeoNames state codes are ``01``…``09``);
        empty = the file's state code.
    single_region
        The whole country is one region (Liechtenstein: the file's state column holds communes).
    hull_edge_km, hull_buffer_km
        Alpha shape of the country outline: Delaunay triangles with sides up to ``hull_edge_km``,
        buffered by ``hull_buffer_km``.
    """

    country: str
    file: str
    digits: int
    region_names: tuple[tuple[str, str], ...] = ()
    single_region: bool = False
    hull_edge_km: float = 30.0
    hull_buffer_km: float = 4.0


POINT_SOURCES: dict[str, PointSource] = {
    "DE": PointSource("DE", "de_postal_codes_geonames.tsv", 5),
    "AT": PointSource(
        "AT",
        "at_postal_codes_geonames.tsv",
        4,
        region_names=(
            ("01", "B"),
            ("02", "K"),
            ("03", "NÖ"),
            ("04", "OÖ"),
            ("05", "S"),
            ("06", "ST"),
            ("07", "T"),
            ("08", "V"),
            ("09", "W"),
        ),
        hull_edge_km=35.0,
    ),
    "LI": PointSource(
        "LI", "li_postal_codes_geonames.tsv", 4, single_region=True, hull_buffer_km=2.0
    ),
}
"""Countries known by GeoNames points (a further country: its file and one line here)."""

POPULATION_AREA_ELASTICITY: float = -0.44
"""Elasticity of a postal code's population on the area of its Voronoi cell, fitted on the Swiss
postal codes (whose 2016 population is known; ``tests/test_geography.py`` refits it). A city
postal code of 3 km² thus holds about four times the people of a rural one of 80 km²."""

REGION_POPULATION: dict[str, dict[str, int]] = {
    # Destatis, population of the Länder on 31 Dec 2022 (update based on the 2011 census),
    # rounded to thousands
    "DE": {
        "BW": 11_280_000,
        "BY": 13_369_000,
        "BE": 3_755_000,
        "BB": 2_573_000,
        "HB": 685_000,
        "HH": 1_892_000,
        "HE": 6_391_000,
        "MV": 1_628_000,
        "NI": 8_140_000,
        "NW": 18_139_000,
        "RP": 4_159_000,
        "SL": 993_000,
        "SN": 4_086_000,
        "ST": 2_187_000,
        "SH": 2_953_000,
        "TH": 2_127_000,
    },
    # Statistik Austria, population of the Bundesländer on 1 Jan 2024, rounded to thousands
    "AT": {
        "B": 302_000,
        "K": 569_000,
        "NÖ": 1_721_000,
        "OÖ": 1_523_000,
        "S": 568_000,
        "ST": 1_270_000,
        "T": 776_000,
        "V": 406_000,
        "W": 2_006_000,
    },
    # Amt für Statistik Liechtenstein, end of 2023, rounded
    "LI": {"LI": 40_000},
}
"""Official population per region (Land, Bundesland) of the countries known by points: the
totals the population proxy of :meth:`GeoNamesPoints.postal_codes` is scaled to."""

SUPPORTED_COUNTRIES: tuple[str, ...] = ("CH", "LI", "DE", "AT")
"""Countries with a geography (ISO 3166 alpha-2)."""

COUNTRY_CURRENCY: dict[str, str] = {"CH": "CHF", "LI": "CHF", "DE": "EUR", "AT": "EUR"}
"""Legal tender per country: the engagement's default currency."""

COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "CH": (
        "CH",
        "CHE",
        "Schweiz",
        "Suisse",
        "Svizzera",
        "Svizra",
        "Switzerland",
        "Swiss Confederation",
        "Schweizerische Eidgenossenschaft",
        "Confoederatio Helvetica",
    ),
    "LI": (
        "LI",
        "LIE",
        "FL",
        "Liechtenstein",
        "Fürstentum Liechtenstein",
        "Principality of Liechtenstein",
    ),
    "DE": (
        "DE",
        "DEU",
        "D",
        "Deutschland",
        "Germany",
        "Allemagne",
        "Germania",
        "Bundesrepublik Deutschland",
        "Federal Republic of Germany",
    ),
    "AT": (
        "AT",
        "AUT",
        "A",
        "Österreich",
        "Oesterreich",
        "Austria",
        "Autriche",
        "Republik Österreich",
    ),
}
"""Names and codes recognised per country (any case; ISO alpha-2/alpha-3, licence-plate codes,
German, French, Italian, Romansh and English names)."""

_NAME_TO_CODE: dict[str, str] = {
    n.strip().casefold(): cc for cc, names in COUNTRY_NAMES.items() for n in names
}


def country_code(text: Any) -> str | None:
    """ISO alpha-2 code of a country name or code (``"Deutschland"`` -> ``"DE"``).

    ``None`` if empty or not one of :data:`SUPPORTED_COUNTRIES`.
    """
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return None
    return _NAME_TO_CODE.get(str(text).strip().casefold())


def country_codes(values: pd.Series) -> pd.Series:
    """Vectorised :func:`country_code`.

    ISO alpha-2 codes (string dtype, missing where the text is empty or unknown), aligned with
    ``values``.
    """
    txt = values.astype("string").str.strip().str.casefold()
    return txt.map(_NAME_TO_CODE).astype("string")


def currency_for_countries(countries: Iterable[str]) -> str:
    """The default currency of an engagement: that of its most frequent country.

    Parameters
    ----------
    countries
        Country codes of the accounts (one per account, or the project's default country).

    Returns
    -------
    str
        ISO 4217 code (``CHF`` when no country is known).
    """
    s = pd.Series(list(countries), dtype="string").dropna()
    s = s[s.isin(list(COUNTRY_CURRENCY))]
    if s.empty:
        return "CHF"
    counts = s.map(COUNTRY_CURRENCY).value_counts()
    return str(counts.index[0])


def postal_key(country: pd.Series | str, postal_code: pd.Series | str, multi: bool) -> Any:
    """The key of a postal code in a geography.

    The code itself, or ``"CC-code"`` when the geography spans several countries (Swiss and Austrian
    codes overlap).
    """
    if not multi:
        return postal_code
    if isinstance(postal_code, pd.Series):
        cc = (
            country
            if isinstance(country, pd.Series)
            else pd.Series(country, index=postal_code.index)
        )
        return (cc.astype("string") + "-" + postal_code.astype("string")).astype("string")
    return f"{country}-{postal_code}"


# --------------------------------------------------------------------------------------------
# projection helpers
# --------------------------------------------------------------------------------------------


@cache
def _transformer(src: int, dst: int) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def _project_lonlat(lat: np.ndarray, lon: np.ndarray, crs: int) -> np.ndarray:
    x, y = _transformer(4326, crs).transform(
        np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    )
    return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])


def reproject(geoms: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Shapely geometries from coordinate system ``src`` to ``dst`` (EPSG codes, pyproj)."""
    import shapely

    if src == dst:
        return geoms
    t = _transformer(src, dst)

    def f(xy: np.ndarray) -> np.ndarray:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, f)


# --------------------------------------------------------------------------------------------
# the interface
# --------------------------------------------------------------------------------------------


class Geography(ABC):
    """Postal codes of one or several countries with coordinates, cells, adjacency and outlines.

    Keys: a single-country geography keys its postal codes by the code itself (``"8001"``,
    ``"01067"``); a multi-country one by ``"CC-code"`` (see :func:`postal_key`).
    """

    countries: tuple[str, ...]
    crs: int
    has_polygons: bool = False

    @property
    def multi(self) -> bool:
        """True when the geography spans several countries (keys carry the country)."""
        return len(self.countries) > 1

    @abstractmethod
    def places(self) -> pd.DataFrame:
        """One row per postal code.

        ``key``, ``country``, ``postal_code``, ``place``, ``region`` (canton / Land code),
        ``region_name``, ``latitude``, ``longitude`` (WGS84); sorted by ``key``. Cheap: no geometry.
        """

    @abstractmethod
    def postal_codes(self) -> pd.DataFrame:
        """:meth:`places` plus ``population``, ``area_km2`` and ``density``.

        NaN where the source has no figure; point sources have no population.
        """

    @abstractmethod
    def cells(self) -> pd.Series:
        """Shapely geometry (projected, metres) per key: the postal code's area on the map."""

    @abstractmethod
    def adjacency(self) -> pd.DataFrame:
        """Neighbouring keys: ``postal_code_a``, ``postal_code_b`` (string, ``a < b``)."""

    @abstractmethod
    def outline(self) -> Any:
        """The geography's outline (one shapely geometry, projected)."""

    @abstractmethod
    def regions(self) -> pd.Series:
        """Outline geometry per region (canton, Land), projected; for maps."""

    def lakes(self) -> pd.Series:
        """Large lakes (geometry per name, projected); empty where the source has none."""
        return pd.Series([], dtype=object)

    def project(self, latitude: Any, longitude: Any) -> np.ndarray:
        """WGS84 degrees -> ``(n, 2)`` projected ``x`` (east), ``y`` (north) in metres."""
        lat = np.atleast_1d(np.asarray(latitude, dtype=float))
        lon = np.atleast_1d(np.asarray(longitude, dtype=float))
        return _project_lonlat(lat, lon, self.crs)

    def neighbours(self, keys: Sequence[str], latitude: Any, longitude: Any) -> pd.DataFrame:
        """Neighbour pairs among ``keys`` as the map shows them.

        Keys unknown to the geography get no pair here; the territory graph attaches them by their
        coordinates.

        Returns
        -------
        pandas.DataFrame
            ``postal_code_a``, ``postal_code_b`` (string).
        """
        ids = set(pd.Series(np.asarray(keys, dtype=object)).astype("string").dropna())
        adj = self.adjacency()
        out = adj[adj["postal_code_a"].isin(ids) & adj["postal_code_b"].isin(ids)]
        out = out.reset_index(drop=True)
        out.attrs["n_hosted"] = 0
        return out

    def key(self, country: pd.Series, postal_code: pd.Series) -> pd.Series:
        """Keys of (country, postal code) pairs in this geography (string dtype)."""
        return postal_key(country, postal_code.astype("string"), self.multi)


def _places_frame(df: pd.DataFrame, country: str, multi: bool) -> pd.DataFrame:
    out = df.copy()
    out.insert(0, "country", pd.array([country] * len(out), dtype="string"))
    out.insert(0, "key", postal_key(country, out["postal_code"].astype("string"), multi))
    return out


# --------------------------------------------------------------------------------------------
# Switzerland: polygons
# --------------------------------------------------------------------------------------------


class SwissPolygons(Geography):
    """Switzerland from :mod:`salesanalytics.geo` (polygons, population, cantons, lakes) in LV95."""

    countries = ("CH",)
    crs = LV95
    has_polygons = True

    def places(self) -> pd.DataFrame:
        """The Swiss postal codes of :mod:`salesanalytics.reference.geo`, regions = cantons."""
        from salesanalytics.reference import geo

        pc = geo.postal_code_places()
        out = pd.DataFrame(
            {
                "postal_code": pc["postal_code"],
                "place": pc["place"],
                "region": pc["canton"],
                "region_name": pc["canton"],
                "latitude": pc["latitude"],
                "longitude": pc["longitude"],
            }
        )
        return _places_frame(out, "CH", False)

    def postal_codes(self) -> pd.DataFrame:
        """:meth:`places` plus municipality, BFS number, population, area and density."""
        from salesanalytics.reference import geo

        pc = geo.postal_codes()
        out = self.places()
        for c in ("municipality", "bfs", "population", "area_km2", "density"):
            out[c] = pc[c].to_numpy()
        return out

    @cached_property
    def _screen_to_lv95(self) -> np.ndarray:
        """Quadratic least-squares map screen (x, y) -> LV95 (E, N), fitted on postal codes."""
        import shapely

        from salesanalytics.reference import geo

        pc = geo.postal_code_places().set_index("postal_code")
        codes_all, tree = geo._shapes()
        geoms = np.asarray(tree.geometries)
        ok = [i for i, c in enumerate(codes_all) if c in pc.index]
        codes = [codes_all[i] for i in ok]
        cen = shapely.centroid(geoms[ok])
        sx = np.column_stack([shapely.get_x(cen), shapely.get_y(cen)])
        good = np.isfinite(pc.loc[codes, "latitude"].to_numpy(float))
        codes = [c for c, g in zip(codes, good, strict=True) if g]
        sx = sx[good]
        target = _project_lonlat(
            pc.loc[codes, "latitude"].to_numpy(float),
            pc.loc[codes, "longitude"].to_numpy(float),
            LV95,
        )
        feats = _quad(sx)
        coef, *_ = np.linalg.lstsq(feats, target, rcond=None)
        err = np.hypot(*(target - feats @ coef).T)
        keep = err <= np.quantile(err, 0.9)
        coef, *_ = np.linalg.lstsq(feats[keep], target[keep], rcond=None)
        return coef

    def _from_screen(self, geoms: np.ndarray) -> np.ndarray:
        import shapely

        coef = self._screen_to_lv95
        return shapely.transform(geoms, lambda xy: _quad(xy) @ coef)

    @cached_property
    def _cells(self) -> pd.Series:
        from salesanalytics.reference import geo

        codes, tree = geo._shapes()
        geoms = self._from_screen(np.asarray(tree.geometries))
        return pd.Series(geoms, index=pd.Index(codes, dtype="string", name="key"), dtype=object)

    def cells(self) -> pd.Series:
        """The postal-code polygons in LV95, one per key (a copy)."""
        return self._cells.copy()

    def adjacency(self) -> pd.DataFrame:
        """Neighbouring postal codes: their polygons share a border arc."""
        from salesanalytics.reference import geo

        return geo.postal_code_adjacency()

    def neighbours(self, keys: Sequence[str], latitude: Any, longitude: Any) -> pd.DataFrame:
        """Neighbour pairs; see :func:`salesanalytics.reference.geo.postal_code_neighbours`."""
        from salesanalytics.reference import geo

        return geo.postal_code_neighbours(keys, latitude, longitude)

    @cached_property
    def _regions(self) -> pd.Series:
        import shapely

        from salesanalytics.reference import geo

        out = {}
        for k, rings in geo.canton_outlines().items():
            g = shapely.union_all([shapely.Polygon(r).buffer(0) for r in rings if len(r) >= 4])
            out[k] = g
        s = pd.Series(out, dtype=object)
        return pd.Series(self._from_screen(s.to_numpy()), index=s.index, dtype=object)

    def regions(self) -> pd.Series:
        """Canton outlines in LV95, one per canton code (a copy)."""
        return self._regions.copy()

    @cached_property
    def _outline(self) -> Any:
        import shapely

        return shapely.union_all(self._regions.to_numpy()).buffer(0)

    def outline(self) -> Any:
        """Switzerland's outline in LV95 (the union of the cantons)."""
        return self._outline

    def lakes(self) -> pd.Series:
        """The lakes shipped with the Swiss data, one geometry per name in LV95."""
        import shapely

        from salesanalytics.reference import geo

        out = {
            k: shapely.union_all([shapely.Polygon(r).buffer(0) for r in rings if len(r) >= 4])
            for k, rings in geo.lakes().items()
        }
        s = pd.Series(out, dtype=object)
        return pd.Series(self._from_screen(s.to_numpy()), index=s.index, dtype=object)


def _quad(xy: np.ndarray) -> np.ndarray:
    x, y = xy[:, 0], xy[:, 1]
    return np.column_stack([np.ones_like(x), x, y, x * x, y * y, x * y])


# --------------------------------------------------------------------------------------------
# countries known by points
# --------------------------------------------------------------------------------------------

_GEONAMES = [
    "country",
    "postal_code",
    "place",
    "region_name",
    "region",
    "district",
    "district_code",
    "municipality",
    "municipality_code",
    "latitude",
    "longitude",
    "accuracy",
]

_DUP_RADIUS_M = 400.0
"""Postal codes that GeoNames places on the same point are spread on a circle of this radius."""


@cache
def _read_points(cc: str) -> pd.DataFrame:
    from salesanalytics.reference import geo

    src = POINT_SOURCES[cc]
    raw = pd.read_csv(
        geo._data_path(src.file),
        sep="\t",
        header=None,
        names=_GEONAMES,
        dtype=str,
        keep_default_na=False,
    )
    raw["postal_code"] = raw["postal_code"].str.strip().str.zfill(src.digits)
    raw["latitude"] = pd.to_numeric(raw["latitude"], errors="coerce")
    raw["longitude"] = pd.to_numeric(raw["longitude"], errors="coerce")
    g = raw.groupby("postal_code", sort=True).agg(
        place=("place", "first"),
        municipality=("municipality", "first"),
        region=("region", "first"),
        region_name=("region_name", "first"),
        latitude=("latitude", "mean"),
        longitude=("longitude", "mean"),
    )
    df = g.reset_index()
    if src.single_region:
        df["region"] = cc
        df["region_name"] = {"LI": "Liechtenstein"}.get(cc, cc)
    elif src.region_names:
        df["region"] = df["region"].map(dict(src.region_names)).fillna(df["region"])
    df["region"] = df["region"].replace("", pd.NA)
    df["region_name"] = df["region_name"].replace("", pd.NA)
    for c in ("postal_code", "place", "municipality", "region", "region_name"):
        df[c] = df[c].astype("string")
    return df


def _spread_duplicates(xy: np.ndarray) -> np.ndarray:
    """Points that coincide (to 1 m) spread evenly on a circle of :data:`_DUP_RADIUS_M`."""
    xy = xy.copy()
    r = np.round(xy)
    _, inv, counts = np.unique(r, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    for g in np.flatnonzero(counts > 1):
        idx = np.flatnonzero(inv == g)
        ang = 2 * np.pi * np.arange(len(idx)) / len(idx)
        xy[idx, 0] += _DUP_RADIUS_M * np.cos(ang)
        xy[idx, 1] += _DUP_RADIUS_M * np.sin(ang)
    return xy


def _delaunay(xy: np.ndarray) -> np.ndarray:
    """Undirected Delaunay edges ``(e, 2)`` (``i < j``) of distinct planar points."""
    from scipy.spatial import Delaunay

    if len(xy) < 2:
        return np.empty((0, 2), dtype=np.int64)
    if len(xy) == 2:
        return np.array([[0, 1]])
    s = Delaunay(xy).simplices
    e = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    return np.unique(np.sort(e, axis=1), axis=0)


def _alpha_shape(xy: np.ndarray, edge_m: float, buffer_m: float) -> Any:
    """Outline of a point set.

    Delaunay triangles with sides up to ``edge_m``, their union's outer rings (no holes), buffered
    by ``buffer_m``, plus a disc of ``buffer_m`` around every point.
    """
    import shapely
    from scipy.spatial import Delaunay

    if len(xy) < 3:
        return shapely.multipoints(xy).convex_hull.buffer(buffer_m)
    s = Delaunay(xy).simplices
    p = xy[s]  # (t, 3, 2)
    side = np.stack(
        [np.hypot(*(p[:, a] - p[:, b]).T) for a, b in ((0, 1), (1, 2), (0, 2))], axis=1
    ).max(axis=1)
    tri = shapely.polygons(np.concatenate([p, p[:, :1]], axis=1)[side <= edge_m])
    # Delaunay triangles never overlap: a coverage union (much faster than a general union)
    shape = shapely.coverage_union_all(tri) if len(tri) else shapely.multipoints(xy).convex_hull
    parts = shapely.get_parts(shape)
    filled = shapely.polygons(shapely.get_exterior_ring(parts))
    shape = shapely.union_all(shapely.buffer(filled, buffer_m))
    # every point inside (an island further out than ``edge_m`` keeps its own disc)
    pts = shapely.points(xy)
    shapely.prepare(shape)
    out = pts[~shapely.contains(shape, pts)]
    if len(out):
        shape = shapely.union_all([shape, *shapely.buffer(out, buffer_m, quad_segs=8)])
    return shape.buffer(0)


def point_adjacency(
    xy: np.ndarray,
    prune_factor: float = 2.5,
    max_km: float = 40.0,
    within: Any = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """Neighbours of postal codes known only by their points: a pruned Delaunay graph.

    Rules (in this order):

    1. Delaunay triangulation of the projected points (the duals of the Voronoi cells: two codes
       are candidates when their cells touch).
    2. An edge is dropped when it is longer than ``prune_factor`` x the median edge length at
       *both* its ends (an edge across a bay, a large lake or an empty mountain range is much
       longer than the edges around it), or longer than ``max_km``, or -- when ``within`` is
       given -- when more than 5% of it lies outside that outline (sea, a lake outside the
       country's alpha shape, another country).
    3. Every point keeps its shortest edge (so no code becomes an island by pruning alone).
    4. Components that are still separate (islands: Sylt, Fehmarn, Rügen, the East Frisian
       islands) are joined by their shortest link, smallest component first; these links are
       counted (``n_bridges``): a ferry or a causeway in reality.

    Parameters
    ----------
    xy
        ``(n, 2)`` projected coordinates in metres (distinct points).

    Returns
    -------
    (numpy.ndarray, dict)
        Edges ``(e, 2)`` of point indices ``i < j`` and counts ``n_delaunay``, ``n_pruned``,
        ``n_bridges``.
    """
    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(xy)
    e = _delaunay(xy)
    if not len(e):
        return e, {"n_delaunay": 0, "n_pruned": 0, "n_bridges": 0}
    length = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
    both = np.r_[e[:, 0], e[:, 1]]
    lens = np.r_[length, length]
    med = pd.Series(lens).groupby(both).median().reindex(np.arange(n)).to_numpy(dtype=float)
    shortest = pd.Series(lens).groupby(both).min().reindex(np.arange(n)).to_numpy(dtype=float)
    keep = (length <= prune_factor * med[e[:, 0]]) | (length <= prune_factor * med[e[:, 1]])
    keep &= length <= max_km * 1000.0
    if within is not None:
        lines = shapely.linestrings(np.stack([xy[e[:, 0]], xy[e[:, 1]]], axis=1))
        shapely.prepare(within)
        inside = shapely.within(lines, within)  # most links: wholly inside (prepared, fast)
        part = np.flatnonzero(~inside)
        inside[part] = (
            shapely.length(shapely.intersection(lines[part], within)) >= 0.95 * length[part]
        )
        keep &= inside
    keep |= (length <= shortest[e[:, 0]]) | (length <= shortest[e[:, 1]])
    kept = e[keep]
    n_bridges = 0
    while True:
        m = coo_matrix((np.ones(len(kept)), (kept[:, 0], kept[:, 1])), shape=(n, n))
        ncomp, labels = connected_components(m, directed=False)
        if ncomp <= 1:
            break
        small = int(np.argmin(np.bincount(labels)))
        inside_i = np.flatnonzero(labels == small)
        outside_i = np.flatnonzero(labels != small)
        dist, idx = cKDTree(xy[outside_i]).query(xy[inside_i])
        k = int(np.argmin(dist))
        a, b = int(inside_i[k]), int(outside_i[idx[k]])
        kept = np.vstack([kept, [[min(a, b), max(a, b)]]])
        n_bridges += 1
    return kept, {
        "n_delaunay": len(e),
        "n_pruned": int((~keep).sum()),
        "n_bridges": n_bridges,
    }


class GeoNamesPoints(Geography):
    """A country known by its GeoNames postal-code points (no polygons, no population).

    Parameters
    ----------
    country
        A key of :data:`POINT_SOURCES` (``DE``, ``AT``, ``LI``).
    crs
        Projected coordinate system (EPSG code; default ETRS89-LAEA Europe).
    """

    has_polygons = False

    def __init__(self, country: str, crs: int = LAEA) -> None:
        if country not in POINT_SOURCES:
            raise ValueError(
                f"no point geography for country {country!r}; available: "
                f"{', '.join(sorted(POINT_SOURCES))}"
            )
        self.source = POINT_SOURCES[country]
        self.countries = (country,)
        self.crs = crs

    def places(self) -> pd.DataFrame:
        """The country's GeoNames postal-code points with the source's regions."""
        df = _read_points(self.countries[0])
        cols = ["postal_code", "place", "region", "region_name", "latitude", "longitude"]
        return _places_frame(df[cols], self.countries[0], False)

    def postal_codes(self) -> pd.DataFrame:
        """:meth:`places` with ``municipality``, ``area_km2``, estimated population and density.

        ``area_km2`` is that of the clipped Voronoi cell; ``population`` and ``density`` are
        **estimated**.

        GeoNames has no population per postal code. The estimate: each region's official
        population (:data:`REGION_POPULATION`) shared among its postal codes in proportion to
        ``area_km2 ** POPULATION_AREA_ELASTICITY`` (small urban cells hold more people than
        large rural ones; the elasticity is fitted on the Swiss postal codes). The frame's
        ``attrs["population_source"]`` says so.
        """
        out = self.places()
        out["municipality"] = _read_points(self.countries[0])["municipality"].to_numpy()
        out["bfs"] = pd.array([pd.NA] * len(out), dtype="string")
        area = self.cells().map(lambda g: g.area / 1e6)
        out["area_km2"] = out["key"].map(area).astype("float64").to_numpy()
        out["population"] = self._population_proxy(out)
        out["density"] = out["population"] / out["area_km2"].where(out["area_km2"] > 0)
        out.attrs["population_source"] = (
            "estimate: official regional population shared by Voronoi cell area ** "
            f"{POPULATION_AREA_ELASTICITY}"
        )
        return out

    def _population_proxy(self, pc: pd.DataFrame) -> np.ndarray:
        totals = REGION_POPULATION.get(self.countries[0], {})
        area = pc["area_km2"].to_numpy(dtype=float)
        w = np.where(area > 0, np.maximum(area, 0.05), np.nan) ** POPULATION_AREA_ELASTICITY
        w = np.nan_to_num(w, nan=0.0)
        region = pc["region"].astype("string").fillna("")
        share = w / pd.Series(w).groupby(region.to_numpy()).transform("sum").to_numpy()
        tot = region.map(totals).astype("float64").to_numpy()
        return np.where(np.isfinite(tot), share * tot, np.nan)

    @cached_property
    def xy(self) -> np.ndarray:
        """Projected points (metres) of :meth:`places`, coincident points spread apart."""
        p = self.places()
        return _spread_duplicates(self.project(p["latitude"], p["longitude"]))

    @cached_property
    def _outline(self) -> Any:
        s = self.source
        import shapely

        shape = _alpha_shape(self.xy, s.hull_edge_km * 1000, s.hull_buffer_km * 1000)
        shape = shape.difference(_water(self.crs))
        if self.countries[0] == "CH":
            return shape
        # Switzerland's real outline bounds its neighbours (the alpha shape would cover the
        # canton of Schaffhausen); an exclave inside it (Büsingen) keeps a 1 km disc
        swiss = reproject(np.array([SwissPolygons().outline()]), LV95, self.crs)[0]
        pts = shapely.points(self.xy)
        inside = shapely.contains(swiss, pts)
        shape = shape.difference(swiss)
        if inside.any():
            shape = shapely.union_all([shape, *shapely.buffer(pts[inside], 1000.0)])
        return shape.buffer(0)

    def outline(self) -> Any:
        """The country's outline: an alpha shape of its points, lakes and Switzerland cut out."""
        return self._outline

    @cached_property
    def _cells(self) -> pd.Series:
        keys = self.places()["key"]
        return pd.Series(
            _voronoi_cells(self.xy, self._outline), index=pd.Index(keys, name="key"), dtype=object
        )

    def cells(self) -> pd.Series:
        """Voronoi cells of the postal-code points, clipped to the outline, one per key (a copy)."""
        return self._cells.copy()

    @cached_property
    def _adjacency(self) -> tuple[pd.DataFrame, dict[str, int]]:
        keys = self.places()["key"].to_numpy(dtype=object)
        e, info = point_adjacency(self.xy, within=self._outline)
        return _edge_frame(keys, e), info

    def adjacency(self) -> pd.DataFrame:
        """Neighbouring points: the pruned Delaunay edges of :func:`point_adjacency` (a copy)."""
        return self._adjacency[0].copy()

    @property
    def adjacency_info(self) -> dict[str, int]:
        """Counts of :func:`point_adjacency` (Delaunay edges, pruned, bridges)."""
        return dict(self._adjacency[1])

    def regions(self) -> pd.Series:
        """Region outlines dissolved from the cells of each region's postal codes."""
        return _dissolve(self.cells(), self.places().set_index("key")["region"])


@cache
def _water(crs: int) -> Any:
    """Large lakes as one geometry in ``crs``.

    The lakes shipped with the Swiss data (Bodensee and Lac Léman in full, Lago Maggiore, Lago di
    Lugano, ...). Outlines of point countries exclude them, and no neighbour link crosses them.
    """
    import shapely

    lk = SwissPolygons().lakes()
    return shapely.union_all(reproject(lk.to_numpy(), LV95, crs)).buffer(0)


def _edge_frame(keys: np.ndarray, e: np.ndarray) -> pd.DataFrame:
    a, b = keys[e[:, 0]].astype(str), keys[e[:, 1]].astype(str)
    swap = a > b
    lo, hi = np.where(swap, b, a), np.where(swap, a, b)
    df = pd.DataFrame({"postal_code_a": lo, "postal_code_b": hi}).drop_duplicates()
    df = df.sort_values(["postal_code_a", "postal_code_b"]).reset_index(drop=True)
    return df.astype({"postal_code_a": "string", "postal_code_b": "string"})


def _voronoi_cells(xy: np.ndarray, clip: Any) -> np.ndarray:
    """Voronoi cell of every point (input order), clipped to ``clip``."""
    import shapely

    if len(xy) == 1:
        return np.array([clip], dtype=object)
    mp = shapely.multipoints(xy)
    vor = shapely.voronoi_polygons(mp, extend_to=clip.envelope.buffer(10_000), ordered=True)
    cells = np.asarray(shapely.get_parts(vor), dtype=object)
    return shapely.intersection(cells, clip)


def _dissolve(cells: pd.Series, by: pd.Series) -> pd.Series:
    import shapely

    grp = by.reindex(cells.index)
    out = {}
    for r, idx in grp.dropna().groupby(grp.dropna()).groups.items():
        out[str(r)] = shapely.union_all(cells.loc[idx].to_numpy()).buffer(0)
    return pd.Series(out, dtype=object)


# --------------------------------------------------------------------------------------------
# several countries
# --------------------------------------------------------------------------------------------


def cross_border_edges(
    xy: np.ndarray,
    country: np.ndarray,
    outlines: dict[str, Any],
    near_km: float = 12.0,
    prune_factor: float = 2.5,
    water: Any = None,
) -> np.ndarray:
    """Neighbours across a national border.

    Candidates are Delaunay edges of all points whose ends lie in different countries. One is
    kept when both ends lie within ``near_km`` of the other country's outline (both sides near
    the border, so no edge crosses a whole canton or Land), when it passes the same length rule
    as inside a country (not longer than ``prune_factor`` x the median edge length at both
    ends), and when it does not cross a third country or ``water`` (a large lake: Altenrhein and
    Langenargen face each other across the Bodensee, but are no neighbours).

    Returns
    -------
    numpy.ndarray
        ``(e, 2)`` point indices ``i < j``.
    """
    import shapely

    e = _delaunay(xy)
    if not len(e):
        return e
    length = np.hypot(*(xy[e[:, 0]] - xy[e[:, 1]]).T)
    both = np.r_[e[:, 0], e[:, 1]]
    med = (
        pd.Series(np.r_[length, length])
        .groupby(both)
        .median()
        .reindex(np.arange(len(xy)))
        .to_numpy(dtype=float)
    )
    ca, cb = country[e[:, 0]], country[e[:, 1]]
    cand = np.flatnonzero(ca != cb)
    if not len(cand):
        return np.empty((0, 2), dtype=np.int64)
    keep = np.zeros(len(cand), dtype=bool)
    pts = shapely.points(xy)
    for k, i in enumerate(cand):
        a, b = e[i]
        if length[i] > prune_factor * max(med[a], med[b]):
            continue
        da = shapely.distance(pts[a], outlines[cb[i]])
        db = shapely.distance(pts[b], outlines[ca[i]])
        if da > near_km * 1000 or db > near_km * 1000:
            continue
        line = shapely.LineString([xy[a], xy[b]])
        others = [g for c, g in outlines.items() if c not in (ca[i], cb[i])]
        if water is not None:
            others.append(water)
        if any(shapely.length(shapely.intersection(line, g)) > 0.05 * length[i] for g in others):
            continue
        keep[k] = True
    return e[cand[keep]]


class CombinedGeography(Geography):
    """Several countries in one geography (keys ``"CC-code"``).

    Parameters
    ----------
    parts
        One single-country geography per country.
    """

    def __init__(self, parts: Sequence[Geography]) -> None:
        self.parts = list(parts)
        self.countries = tuple(c for p in self.parts for c in p.countries)
        self.crs = LV95 if set(self.countries) <= {"CH", "LI"} else LAEA
        self.has_polygons = any(p.has_polygons for p in self.parts)

    def places(self) -> pd.DataFrame:
        """Every part's :meth:`Geography.places`, keyed ``"CC-code"``."""
        frames = []
        for p in self.parts:
            f = p.places()
            f["key"] = postal_key(p.countries[0], f["postal_code"], True)
            frames.append(f)
        return pd.concat(frames, ignore_index=True).sort_values("key", ignore_index=True)

    def postal_codes(self) -> pd.DataFrame:
        """Every country's :meth:`Geography.postal_codes`, keyed ``"CC-code"``.

        Areas of each country's own cells; estimated population where the source has none.
        """
        frames = []
        for p in self.parts:
            f = p.postal_codes()
            f["key"] = postal_key(p.countries[0], f["postal_code"], True)
            frames.append(f)
        return pd.concat(frames, ignore_index=True).sort_values("key", ignore_index=True)

    @cached_property
    def _point_parts(self) -> list[GeoNamesPoints]:
        return [GeoNamesPoints(p.countries[0], self.crs) for p in self.parts if not p.has_polygons]

    @cached_property
    def _polygon_cells(self) -> pd.Series:
        frames = []
        for p in self.parts:
            if p.has_polygons:
                c = p.cells()
                geoms = reproject(c.to_numpy(), p.crs, self.crs)
                keys = postal_key(p.countries[0], pd.Series(c.index.astype(str)), True)
                frames.append(pd.Series(geoms, index=pd.Index(keys, name="key"), dtype=object))
        return pd.concat(frames) if frames else pd.Series([], dtype=object)

    @cached_property
    def _outlines(self) -> dict[str, Any]:
        """Outline per country in this geography's coordinate system."""
        import shapely

        out: dict[str, Any] = {}
        for p in self.parts:
            if p.has_polygons:
                out[p.countries[0]] = reproject(np.array([p.outline()]), p.crs, self.crs)[0]
        poly = shapely.union_all(list(out.values())) if out else None
        for p in self._point_parts:
            o = p.outline()
            out[p.countries[0]] = o.difference(poly) if poly is not None else o
        return out

    @cached_property
    def _cells(self) -> pd.Series:
        import shapely

        parts = [self._polygon_cells]
        pp = self._point_parts
        if pp:
            xy = np.vstack([p.xy for p in pp])
            keys = np.concatenate(
                [postal_key(p.countries[0], p.places()["postal_code"], True).to_numpy() for p in pp]
            )
            owner = np.concatenate([[p.countries[0]] * len(p.xy) for p in pp])
            clip = shapely.union_all([self._outlines[p.countries[0]] for p in pp])
            cells = _voronoi_cells(xy, clip)
            # a cell stays inside its own country's outline
            own = np.array([self._outlines[c] for c in owner], dtype=object)
            cells = shapely.intersection(cells, own)
            parts.append(pd.Series(cells, index=pd.Index(keys, name="key"), dtype=object))
        return pd.concat(parts).sort_index()

    def cells(self) -> pd.Series:
        """Every part's cells in this projection, each within its own country's outline (a copy)."""
        return self._cells.copy()

    @cached_property
    def _adjacency(self) -> pd.DataFrame:
        frames = []
        for p in self.parts:
            adj = p.adjacency()
            for c in ("postal_code_a", "postal_code_b"):
                adj[c] = postal_key(p.countries[0], adj[c], True)
            frames.append(adj)
        pl = self.places()
        xy = _spread_duplicates(self.project(pl["latitude"], pl["longitude"]))
        ok = np.isfinite(xy).all(axis=1)
        idx = np.flatnonzero(ok)
        e = cross_border_edges(
            xy[ok], pl["country"].to_numpy(dtype=str)[ok], self._outlines, water=_water(self.crs)
        )
        keys = pl["key"].to_numpy(dtype=object)
        frames.append(_edge_frame(keys, idx[e]) if len(e) else _edge_frame(keys, e))
        out = pd.concat(frames, ignore_index=True).drop_duplicates()
        return out.sort_values(["postal_code_a", "postal_code_b"], ignore_index=True)

    def adjacency(self) -> pd.DataFrame:
        """Every part's neighbour pairs plus the cross-border ones, keyed ``"CC-code"`` (a copy)."""
        return self._adjacency.copy()

    def neighbours(self, keys: Sequence[str], latitude: Any, longitude: Any) -> pd.DataFrame:
        """Neighbour pairs among ``keys``: each part's own pairs plus the cross-border ones."""
        ks = pd.Series(np.asarray(keys, dtype=object)).astype("string")
        lat = np.asarray(latitude, dtype=float)
        lon = np.asarray(longitude, dtype=float)
        frames = []
        n_hosted = 0
        for p in self.parts:
            cc = p.countries[0]
            m = ks.str.startswith(cc + "-").fillna(False).to_numpy()
            if not m.any():
                continue
            raw = ks[m].str.slice(len(cc) + 1)
            nb = p.neighbours(raw.to_numpy(), lat[m], lon[m])
            n_hosted += int(nb.attrs.get("n_hosted", 0))
            for c in ("postal_code_a", "postal_code_b"):
                nb[c] = postal_key(cc, nb[c].astype("string"), True)
            frames.append(nb)
        adj = self.adjacency()
        ids = set(ks.dropna())
        cross = adj[adj["postal_code_a"].str.slice(0, 2) != adj["postal_code_b"].str.slice(0, 2)]
        frames.append(cross[cross["postal_code_a"].isin(ids) & cross["postal_code_b"].isin(ids)])
        out = pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)
        out.attrs["n_hosted"] = n_hosted
        return out

    @cached_property
    def _outline(self) -> Any:
        import shapely

        return shapely.union_all(list(self._outlines.values()))

    def outline(self) -> Any:
        """The union of the countries' outlines (computed once)."""
        return self._outline

    def regions(self) -> pd.Series:
        """Polygon parts' region outlines and the point parts' dissolved cells (``"CC-region"``)."""
        return self._regions.copy()

    @cached_property
    def _regions(self) -> pd.Series:
        frames = []
        for p in self.parts:
            if p.has_polygons:
                r = p.regions()
                frames.append(pd.Series(reproject(r.to_numpy(), p.crs, self.crs), index=r.index))
        pts = self.places().set_index("key")
        cells = self.cells()
        point_keys = pts.index[~pts["country"].isin(["CH"])]
        if len(point_keys):
            reg = pts.loc[point_keys, "country"] + "-" + pts.loc[point_keys, "region"]
            frames.append(_dissolve(cells.reindex(point_keys).dropna(), reg))
        return pd.concat(frames) if frames else pd.Series([], dtype=object)

    def lakes(self) -> pd.Series:
        """Every part's lakes, reprojected to this geography's projection."""
        frames = []
        for p in self.parts:
            lk = p.lakes()
            if len(lk):
                frames.append(pd.Series(reproject(lk.to_numpy(), p.crs, self.crs), index=lk.index))
        return pd.concat(frames) if frames else pd.Series([], dtype=object)


@cache
def _single(country: str) -> Geography:
    if country == "CH":
        return SwissPolygons()
    return GeoNamesPoints(country)


@cache
def _combined(countries: tuple[str, ...]) -> Geography:
    return CombinedGeography([_single(c) for c in countries])


def geography(countries: Iterable[str] | str = ("CH",)) -> Geography:
    """The geography of a set of countries (cached; same object for the same set).

    Parameters
    ----------
    countries
        ISO alpha-2 codes (any order, duplicates ignored) or one code.

    Returns
    -------
    Geography
        :class:`SwissPolygons` for ``CH``, :class:`GeoNamesPoints` for ``DE``, ``AT``, ``LI``,
        :class:`CombinedGeography` for several.

    Raises
    ------
    ValueError
        A country without geography data (naming the supported ones).
    """
    cs = [countries] if isinstance(countries, str) else list(countries)
    order = {c: i for i, c in enumerate(SUPPORTED_COUNTRIES)}
    uniq = sorted(
        {str(c).upper() for c in cs if c is not None and str(c)}, key=lambda c: order.get(c, 99)
    )
    bad = [c for c in uniq if c not in order]
    if bad:
        raise ValueError(
            f"no geography for country {', '.join(bad)}: postal codes, maps and territories are "
            f"available for {', '.join(SUPPORTED_COUNTRIES)}"
        )
    if not uniq:
        uniq = ["CH"]
    return _single(uniq[0]) if len(uniq) == 1 else _combined(tuple(uniq))


def _account_countries(accounts: pd.DataFrame, default_country: str, col: str) -> pd.Series:
    if col in accounts:
        cc = country_codes(accounts[col])
    else:
        cc = pd.Series(pd.array([pd.NA] * len(accounts), dtype="string"), index=accounts.index)
    return cc.fillna(default_country).astype("string")


def for_accounts(
    accounts: pd.DataFrame, default_country: str = "CH", column: str = "country"
) -> Geography:
    """The geography of an engagement: every country its accounts are in.

    Parameters
    ----------
    accounts
        Canonical ``accounts`` (``country``; rows without one count as ``default_country``).
    """
    cc = _account_countries(accounts, default_country, column)
    return geography(sorted(set(cc.dropna())) or [default_country])


def account_keys(
    accounts: pd.DataFrame,
    g: Geography,
    code_column: str = "postal_code",
    country_column: str = "country",
    default_country: str = "CH",
) -> pd.Series:
    """Key of each account's postal code in geography ``g``.

    The code itself in a single-country geography, ``"CC-code"`` in a multi-country one; missing
    without code.

    Returns
    -------
    pandas.Series
        String dtype, aligned with ``accounts``.
    """
    codes = accounts[code_column].astype("string").str.strip()
    if not g.multi:
        return codes
    cc = _account_countries(accounts, default_country, country_column)
    return postal_key(cc, codes, True).where(codes.notna())


def unit_postal_codes(
    g: Geography, keys_in_use: Iterable[str], reach_km: float = 30.0
) -> pd.DataFrame:
    """The postal codes that become territory units, in the frame the territory design reads.

    Every postal code of a polygon country (Switzerland: the map is covered, as today); of a
    country known by points, the postal codes of the regions (Länder) that hold at least one of
    ``keys_in_use`` and lie within ``reach_km`` of one of them (the area the client serves: a
    Swiss client with customers near Konstanz and Lörrach does not get all of
    Baden-Württemberg to divide; a German client with customers everywhere gets all of Germany).

    Returns
    -------
    pandas.DataFrame
        ``postal_code`` (= key), ``country``, ``latitude``, ``longitude``, ``canton`` (the region
        code), ``place``, ``population``.
    """
    from scipy.spatial import cKDTree

    pc = g.postal_codes() if g.has_polygons and not g.multi else g.places()
    used = set(map(str, keys_in_use))
    poly_countries = {"CH"} if g.has_polygons else set()
    in_use = pc["key"].isin(used)
    regions = set(zip(pc.loc[in_use, "country"], pc.loc[in_use, "region"].fillna(""), strict=True))
    in_region = pd.Series(
        [
            (c, r if isinstance(r, str) else "") in regions
            for c, r in zip(pc["country"], pc["region"], strict=True)
        ],
        index=pc.index,
    )
    xy = g.project(pc["latitude"], pc["longitude"])
    ok = np.isfinite(xy).all(axis=1)
    near = np.zeros(len(pc), dtype=bool)
    src = xy[in_use.to_numpy() & ok]
    if len(src):
        dist, _ = cKDTree(src).query(np.where(ok[:, None], xy, 0.0))
        near = ok & (dist <= reach_km * 1000.0)
    keep = pc["country"].isin(list(poly_countries)) | (in_region & near)
    pc = pc[keep.to_numpy() | in_use.to_numpy()]
    return pd.DataFrame(
        {
            "postal_code": pc["key"].astype("string").to_numpy(),
            "country": pc["country"].astype("string").to_numpy(),
            "latitude": pc["latitude"].to_numpy(dtype=float),
            "longitude": pc["longitude"].to_numpy(dtype=float),
            "canton": pc["region"].astype("string").to_numpy(),
            "place": pc["place"].astype("string").to_numpy(),
            "population": (
                pc["population"].to_numpy(dtype=float) if "population" in pc else np.nan
            ),
        }
    ).reset_index(drop=True)
