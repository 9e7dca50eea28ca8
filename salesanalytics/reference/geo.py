"""Swiss postal-code geography: postal codes, coordinates, population, polygons and adjacency.

All data ships with the package in ``salesanalytics/data/geo/`` (see ``ATTRIBUTION.md`` there:
GeoNames postal codes, CC BY 4.0; population and TopoJSON polygons from onebyte/swiss-postal-codes,
MIT). Loaders are cached; the frames they return are fresh copies, so callers may modify them.

* :func:`postal_codes` -- one row per Swiss postal code (GeoNames) with place, municipality,
  canton, mean coordinates, population (2016) and approximate polygon area / density;
  :func:`postal_code_places` -- the same without population and area (no polygon decoding).
* :func:`haversine_km` -- vectorised great-circle distance.
* :func:`postal_code_polygons`, :func:`canton_outlines`, :func:`lakes` -- decoded TopoJSON rings in
  the files' flat *screen plane* (x grows to the east, **y grows downwards**, i.e. north is up when
  drawn with an inverted y axis). For drawing and contiguity only; use latitude/longitude for
  distances.
* :func:`postal_code_adjacency` -- neighbouring postal codes (their polygons share a border arc).
* :func:`postal_code_hosts` -- the polygon a postal code without one lies in (or is nearest to):
  such codes (PO boxes, large companies) are part of that area on the map, never a link between
  areas.
* :func:`screen_xy` -- WGS84 latitude/longitude -> the polygons' screen plane (for plotting
  accounts and reps as points on the maps).
* :func:`join_coverage` -- which postal codes lack a polygon or a population figure (PO-box and
  company codes have neither): reported, never hidden.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from functools import cache, wraps
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from salesanalytics.reference.travel import ROAD_FACTOR, SPEED_KMH

__all__ = [
    "EARTH_RADIUS_KM",
    "ROAD_FACTOR",
    "SPEED_KMH",
    "SWISS_AREA_KM2",
    "canton_outlines",
    "haversine_km",
    "join_coverage",
    "lakes",
    "postal_code_adjacency",
    "postal_code_hosts",
    "postal_code_neighbours",
    "postal_code_places",
    "postal_code_polygons",
    "postal_codes",
    "screen_xy",
]

EARTH_RADIUS_KM: float = 6371.0088
"""Mean earth radius (IUGG) used by :func:`haversine_km`."""

SWISS_AREA_KM2: float = 41_285.0
"""Area of Switzerland; the postal-code polygons' screen-plane areas are scaled to sum to it."""

T = TypeVar("T")

_TOUCH_EPS = 0.02  # screen units (~10 m): polygons this close share a border on the map
_MIN_AREA_KM2 = 0.01  # smaller polygons are degenerate slivers in the source: area reported as NaN

_GEONAMES_COLUMNS = [
    "country",
    "postal_code",
    "place",
    "canton_name",
    "canton",
    "district",
    "district_code",
    "municipality",
    "bfs",
    "latitude",
    "longitude",
    "accuracy",
]


def _data_path(name: str) -> Path:
    return Path(str(resources.files("salesanalytics") / "data" / "geo" / name))


def _without_gc(func: Callable[..., T]) -> Callable[..., T]:
    """Run ``func`` with the cyclic garbage collector paused.

    The geometry loaders create ~10^5 small lists and arrays (and no reference cycles); in a
    kernel with many live objects every collection they trigger walks the whole heap, which
    costs more than the work itself.
    """

    @wraps(func)
    def run(*args: Any, **kwargs: Any) -> T:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return run


@cache
@_without_gc
def _load_json(name: str) -> dict[str, Any]:
    with _data_path(name).open(encoding="utf-8") as fh:
        return json.load(fh)


# --------------------------------------------------------------------------------------------
# TopoJSON decoding
# --------------------------------------------------------------------------------------------


@cache
@_without_gc
def _decoded_arcs(name: str) -> tuple[np.ndarray, ...]:
    """Absolute screen-plane coordinates of every arc of a quantised TopoJSON file."""
    topo = _load_json(name)
    transform = topo.get("transform")
    raw = topo["arcs"]
    if not raw:
        return ()
    lengths = np.fromiter((len(arc) for arc in raw), dtype=np.int64, count=len(raw))
    flat = np.fromiter(
        chain.from_iterable(chain.from_iterable(raw)), dtype=float, count=2 * int(lengths.sum())
    ).reshape(-1, 2)
    ends = np.cumsum(lengths)
    if transform is not None:
        # Quantised arcs are integer deltas: one running sum over all arcs minus the sum at the
        # start of each arc is exact (integers below 2**53), so every arc gets exactly the
        # coordinates of its own cumulative sum.
        if not np.array_equal(flat, np.round(flat)) or np.abs(flat).sum() >= 2.0**52:
            return _decoded_arcs_each(topo)
        total = np.cumsum(flat, axis=0)
        start = np.repeat(np.vstack([np.zeros((1, 2)), total[ends[:-1] - 1]]), lengths, axis=0)
        flat = (total - start) * np.asarray(transform["scale"]) + np.asarray(transform["translate"])
    flat.setflags(write=False)
    return tuple(np.split(flat, ends[:-1]))


def _decoded_arcs_each(topo: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """Arc by arc decoding (for delta values that are not whole numbers)."""
    transform = topo["transform"]
    arcs: list[np.ndarray] = []
    for arc in topo["arcs"]:
        a = np.asarray(arc, dtype=float).reshape(-1, 2)
        a = np.cumsum(a, axis=0) * np.asarray(transform["scale"]) + np.asarray(
            transform["translate"]
        )
        a.setflags(write=False)
        arcs.append(a)
    return tuple(arcs)


def _ring(arcs: tuple[np.ndarray, ...], indices: list[int]) -> np.ndarray:
    """Stitch a ring from arc indices (``~i`` = arc ``i`` reversed); drop duplicated joints."""
    parts: list[np.ndarray] = []
    for k, i in enumerate(indices):
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(a if k == 0 else a[1:])
    return np.concatenate(parts, axis=0)


def _geometry_rings(arcs: tuple[np.ndarray, ...], geom: dict[str, Any]) -> list[np.ndarray]:
    if geom["type"] == "Polygon":
        return [_ring(arcs, r) for r in geom["arcs"]]
    if geom["type"] == "MultiPolygon":
        return [_ring(arcs, r) for poly in geom["arcs"] for r in poly]
    return []


def _geometry_arc_ids(geom: dict[str, Any]) -> set[int]:
    polys = [geom["arcs"]] if geom["type"] == "Polygon" else geom.get("arcs", [])
    if geom["type"] not in ("Polygon", "MultiPolygon"):
        return set()
    return {i if i >= 0 else ~i for poly in polys for ring in poly for i in ring}


def _roll1(v: np.ndarray) -> np.ndarray:
    """``np.roll(v, -1)`` of a 1-D array (same values, without np.roll's overhead)."""
    return np.concatenate((v[1:], v[:1]))


def _shoelace(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, _roll1(y)) - np.dot(y, _roll1(x)))


@cache
@_without_gc
def _polygons() -> dict[str, tuple[np.ndarray, ...]]:
    name = "ch_plz_polygons.topojson"
    arcs = _decoded_arcs(name)
    out: dict[str, list[np.ndarray]] = {}
    for geom in _load_json(name)["objects"]["plz"]["geometries"]:
        code = f"{int(geom['id']):04d}"
        out.setdefault(code, []).extend(_geometry_rings(arcs, geom))
    return {k: tuple(v) for k, v in out.items()}


def postal_code_polygons() -> dict[str, list[np.ndarray]]:
    """Polygon rings of every postal code that has one, in the file's screen plane.

    Returns
    -------
    dict[str, list[numpy.ndarray]]
        Postal code (4-digit string) -> list of rings, each an ``(n, 2)`` array of screen-plane
        ``x, y`` (closed: first point == last point). A code with several parts (exclaves) or
        holes has several rings. Screen ``x`` ≈ 100…860 grows to the east, ``y`` ≈ 10…490 grows
        **downwards** (north is at small ``y``).
        About 3,200 of the ~3,360 GeoNames postal codes have a polygon; see :func:`join_coverage`.
    """
    return {k: list(v) for k, v in _polygons().items()}


def _bbox(rings: dict[str, tuple[np.ndarray, ...]]) -> tuple[np.ndarray, np.ndarray]:
    pts = np.concatenate([r for rs in rings.values() for r in rs])
    return pts.min(axis=0), pts.max(axis=0)


@cache
@_without_gc
def _cantons_named(obj: str) -> dict[str, tuple[np.ndarray, ...]]:
    """Rings of ``cantons`` or ``lakes``, mapped onto the postal-code polygons' screen plane.

    ``ch_cantons.topojson`` uses its own, slightly smaller screen plane (same projection, scale
    factor ~1.058); its bounding box (of the cantons) is mapped onto that of the postal-code
    polygons with one uniform scale and shift, so both overlay exactly on one map.
    """
    name = "ch_cantons.topojson"
    arcs = _decoded_arcs(name)
    raw: dict[str, dict[str, list[np.ndarray]]] = {}
    for o in ("cantons", "lakes"):
        out: dict[str, list[np.ndarray]] = {}
        for geom in _load_json(name)["objects"][o]["geometries"]:
            props = geom.get("properties") or {}
            key = props.get("abbr") or props.get("name") or str(geom.get("id"))
            out.setdefault(key, []).extend(_geometry_rings(arcs, geom))
        raw[o] = out
    lo, hi = _bbox({k: tuple(v) for k, v in raw["cantons"].items()})
    plo, phi = _bbox(_polygons())
    scale = float(np.mean((phi - plo) / (hi - lo)))
    shift = (plo + phi) / 2 - scale * (lo + hi) / 2
    return {k: tuple(r * scale + shift for r in v) for k, v in raw[obj].items()}


def canton_outlines() -> dict[str, list[np.ndarray]]:
    """Outline rings of the 26 cantons, keyed by two-letter canton code (``"ZH"``, ...).

    Returns
    -------
    dict[str, list[numpy.ndarray]]
        Canton code -> rings (``(n, 2)`` arrays of ``x, y``), in the **same screen plane as**
        :func:`postal_code_polygons` (x ≈ 100…860 east, y ≈ 10…490 **downwards**), so cantons,
        lakes and postal-code areas overlay on one map.
    """
    return {k: list(v) for k, v in _cantons_named("cantons").items()}


def lakes() -> dict[str, list[np.ndarray]]:
    """Outline rings of the 22 large Swiss lakes, keyed by lake name (``"Zürichsee"``, ...).

    Same screen plane as :func:`postal_code_polygons` and :func:`canton_outlines`.
    """
    return {k: list(v) for k, v in _cantons_named("lakes").items()}


@cache
@_without_gc
def _adjacency() -> pd.DataFrame:
    name = "ch_plz_polygons.topojson"
    arc_codes: dict[int, set[str]] = {}
    for geom in _load_json(name)["objects"]["plz"]["geometries"]:
        code = f"{int(geom['id']):04d}"
        for i in _geometry_arc_ids(geom):
            arc_codes.setdefault(i, set()).add(code)
    pairs: set[tuple[str, str]] = set()
    for codes in arc_codes.values():
        if len(codes) > 1:
            cs = sorted(codes)
            pairs.update((a, b) for k, a in enumerate(cs) for b in cs[k + 1 :])
    df = pd.DataFrame(sorted(pairs), columns=["postal_code_a", "postal_code_b"])
    return df.astype({"postal_code_a": "string", "postal_code_b": "string"})


def postal_code_adjacency() -> pd.DataFrame:
    """Pairs of neighbouring postal codes (their polygons share at least one border arc).

    Returns
    -------
    pandas.DataFrame
        Columns ``postal_code_a``, ``postal_code_b`` (string), one row per undirected pair with
        ``postal_code_a < postal_code_b``, sorted. Postal codes without a polygon have no
        neighbours (see :func:`join_coverage`).
    """
    return _adjacency().copy()


@cache
@_without_gc
def _shapes() -> tuple[list[str], Any]:
    """Shapely geometry per postal code (rings combined even-odd: holes and exclaves kept)."""
    import shapely

    codes, geoms = [], []
    for code, rings in _polygons().items():
        parts = [shapely.Polygon(r) for r in rings if len(r) >= 4]
        parts = [p if p.is_valid else shapely.make_valid(p) for p in parts]
        if not parts:
            continue
        g = parts[0]
        for p in parts[1:]:
            g = g.symmetric_difference(p)
        codes.append(code)
        geoms.append(g)
    return codes, shapely.STRtree(geoms)


def postal_code_hosts(
    postal_code: pd.Series | np.ndarray | list,
    latitude: pd.Series | np.ndarray,
    longitude: pd.Series | np.ndarray,
) -> pd.Series:
    """The polygon each postal code belongs to on the map.

    A code with a polygon is its own host. A code without one (PO boxes, company codes,
    administrative codes: about 160 of the ~3,360) is hosted by the polygon that contains its
    coordinates, else by the nearest polygon (shapely ``STRtree``). Territory contiguity treats a
    hosted code as part of its host's area: it may join any territory that holds its host, and
    it never connects two areas whose polygons do not touch.

    Parameters
    ----------
    postal_code, latitude, longitude
        Postal codes and their WGS84 coordinates (aligned; e.g. :func:`postal_codes` columns).

    Returns
    -------
    pandas.Series
        Host postal code per input code (index = the input codes, string dtype); missing where a
        code has no polygon and no coordinates.
    """
    import shapely

    codes, tree = _shapes()
    known = set(codes)
    pc = pd.Series(np.asarray(postal_code, dtype=object)).astype("string")
    out = pc.where(pc.isin(known)).to_numpy(dtype=object, na_value=None)
    lat = np.asarray(latitude, dtype=float)
    lon = np.asarray(longitude, dtype=float)
    todo = np.flatnonzero(
        np.array([o is None for o in out], dtype=bool) & np.isfinite(lat) & np.isfinite(lon)
    )
    if len(todo):
        pts = shapely.points(screen_xy(lat[todo], lon[todo]))
        inside = tree.query(pts, predicate="within")  # (2, hits): point index, polygon index
        host = np.full(len(todo), -1)
        host[inside[0][::-1]] = inside[1][::-1]  # the first containing polygon wins
        miss = np.flatnonzero(host < 0)
        if len(miss):
            near = tree.query_nearest(pts[miss], all_matches=False)
            host[miss[near[0]]] = near[1]
        out[todo] = np.array(codes, dtype=object)[host]
    return pd.Series(pd.array(out, dtype="string"), index=pd.Index(pc, name="postal_code"))


def postal_code_neighbours(
    postal_code: pd.Series | np.ndarray | list,
    latitude: pd.Series | np.ndarray,
    longitude: pd.Series | np.ndarray,
) -> pd.DataFrame:
    """Neighbour pairs among the given postal codes as the map shows them.

    Codes whose polygons share a border (:func:`postal_code_adjacency`, kept where the areas
    really meet: a shared arc of a zero-area sliver in the source is dropped), plus one pair per code
    without a polygon: the code and its host (:func:`postal_code_hosts`), so such a code is a
    leaf of its host's area and never a link between areas that do not touch.

    Returns
    -------
    pandas.DataFrame
        ``postal_code_a``, ``postal_code_b`` (string), restricted to the given codes; the
        attribute ``attrs["n_hosted"]`` counts the host pairs.
    """
    pc = pd.Series(np.asarray(postal_code, dtype=object)).astype("string")
    ids = set(pc.dropna())
    import shapely

    adj = postal_code_adjacency()
    poly = adj[adj["postal_code_a"].isin(ids) & adj["postal_code_b"].isin(ids)]
    # a shared arc of a zero-area sliver (a degenerate ring in the source) is no border on the
    # map: keep pairs whose areas come within ~10 m of each other
    codes, tree = _shapes()
    pos = {c: i for i, c in enumerate(codes)}
    ia = poly["postal_code_a"].map(pos)
    ib = poly["postal_code_b"].map(pos)
    known = ia.notna() & ib.notna()
    geoms = tree.geometries
    near = np.ones(len(poly), dtype=bool)
    near[known.to_numpy()] = (
        shapely.distance(
            geoms[ia[known].astype(int).to_numpy()], geoms[ib[known].astype(int).to_numpy()]
        )
        <= _TOUCH_EPS
    )
    poly = poly[near & known.to_numpy()]
    hosts = postal_code_hosts(pc, latitude, longitude)
    h = hosts.to_numpy(dtype=object, na_value=None)
    own = hosts.index.to_numpy(dtype=object)
    keep = np.array(
        [x is not None and x != o and x in ids for x, o in zip(h, own, strict=True)], dtype=bool
    )
    hosted = pd.DataFrame(
        {
            "postal_code_a": pd.array(own[keep], dtype="string"),
            "postal_code_b": pd.array(h[keep], dtype="string"),
        }
    )
    out = pd.concat([poly, hosted], ignore_index=True).drop_duplicates(ignore_index=True)
    out.attrs["n_hosted"] = int(keep.sum())
    return out


# --------------------------------------------------------------------------------------------
# Postal codes
# --------------------------------------------------------------------------------------------


@cache
@_without_gc
def _postal_code_areas() -> pd.Series:
    """Approximate area in km² per postal code (screen-plane polygon area, scaled to Switzerland).

    Outer rings and holes are told apart by their orientation relative to the code's largest ring.
    """
    areas: dict[str, float] = {}
    for code, rings in _polygons().items():
        signed = np.array([_shoelace(r) for r in rings])
        ref = np.sign(signed[np.argmax(np.abs(signed))])
        areas[code] = float(np.sum(signed * ref))
    s = pd.Series(areas, dtype="float64")
    s = s.clip(lower=0.0)
    s = s * (SWISS_AREA_KM2 / s.sum())
    return s.where(s >= _MIN_AREA_KM2)


@cache
def _places() -> pd.DataFrame:
    raw = pd.read_csv(
        _data_path("ch_postal_codes_geonames.tsv"),
        sep="\t",
        header=None,
        names=_GEONAMES_COLUMNS,
        dtype={"postal_code": str, "bfs": str, "district_code": str},
        keep_default_na=False,
        na_values={"latitude": [""], "longitude": [""]},
    )
    raw["postal_code"] = raw["postal_code"].str.strip().str.zfill(4)
    first = raw.groupby("postal_code", sort=True).agg(
        place=("place", "first"),
        municipality=("municipality", "first"),
        bfs=("bfs", "first"),
        canton=("canton", "first"),
        latitude=("latitude", "mean"),
        longitude=("longitude", "mean"),
    )
    df = first.reset_index()
    for c in ("postal_code", "place", "municipality", "bfs", "canton"):
        df[c] = df[c].astype("string")
    return df


def postal_code_places() -> pd.DataFrame:
    """Swiss postal codes with place, municipality and coordinates only (no polygons needed).

    The first seven columns of :func:`postal_codes`, computed without decoding the polygon file
    (cheap: what validation and geography filling need).

    Returns
    -------
    pandas.DataFrame
        Sorted by ``postal_code``: ``postal_code``, ``place``, ``municipality``, ``bfs``,
        ``canton`` (string), ``latitude``, ``longitude`` (float, mean over the code's places).
    """
    return _places().copy()


@cache
def _postal_codes() -> pd.DataFrame:
    pop = _load_json("ch_plz_population.json")
    population = pd.Series(
        {f"{int(k):04d}": float(v.get("pop")) for k, v in pop.items() if v.get("pop") is not None},
        dtype="float64",
    )
    df = _places().copy()
    df["population"] = df["postal_code"].map(population).astype("float64")
    df["area_km2"] = df["postal_code"].map(_postal_code_areas()).astype("float64")
    df["density"] = df["population"] / df["area_km2"]
    return df


def postal_codes() -> pd.DataFrame:
    """All Swiss postal codes (GeoNames), one row per postal code.

    GeoNames lists several places for some postal codes: the first place (file order) is kept and
    the coordinates are the mean over all places of the code.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``postal_code``, columns:

        ``postal_code`` (string, 4 digits), ``place``, ``municipality``, ``bfs`` (BFS municipality
        number, string), ``canton`` (two-letter code), ``latitude``, ``longitude`` (WGS84, float),
        ``population`` (inhabitants 2016; NaN where the population file has no figure, e.g.
        PO-box and company codes), ``area_km2`` (approximate: screen-plane polygon area scaled so
        all polygons sum to :data:`SWISS_AREA_KM2`; NaN without polygon or for degenerate
        polygons < 0.01 km², 6 codes), ``density`` (inhabitants per km²; NaN where either is
        missing).
    """
    return _postal_codes().copy()


def join_coverage() -> dict[str, Any]:
    """Report how the postal-code sources join: codes without polygon / population, and vice versa.

    Returns
    -------
    dict
        ``n_postal_codes`` (GeoNames), ``without_polygon`` / ``without_population`` (sorted lists
        of GeoNames codes lacking them, with ``n_...`` counts), ``polygons_not_in_geonames`` and
        ``population_not_in_geonames`` (codes only in the other source, with the population they
        carry in ``population_not_in_geonames_total``), and ``population_total`` (sum over
        GeoNames codes).
    """
    pc = _postal_codes()
    codes = set(pc["postal_code"])
    poly = set(_polygons())
    pop_raw = _load_json("ch_plz_population.json")
    pop = {f"{int(k):04d}": float(v.get("pop") or 0.0) for k, v in pop_raw.items()}
    no_poly = sorted(codes - poly)
    no_pop = sorted(pc.loc[pc["population"].isna(), "postal_code"])
    pop_only = sorted(set(pop) - codes)
    return {
        "n_postal_codes": len(codes),
        "n_without_polygon": len(no_poly),
        "without_polygon": no_poly,
        "n_without_population": len(no_pop),
        "without_population": no_pop,
        "polygons_not_in_geonames": sorted(poly - codes),
        "population_not_in_geonames": pop_only,
        "population_not_in_geonames_total": float(sum(pop[c] for c in pop_only)),
        "population_total": float(pc["population"].sum()),
    }


def haversine_km(
    lat1: np.ndarray | pd.Series | float,
    lon1: np.ndarray | pd.Series | float,
    lat2: np.ndarray | pd.Series | float,
    lon2: np.ndarray | pd.Series | float,
) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (vectorised, broadcasting).

    Parameters
    ----------
    lat1, lon1, lat2, lon2
        Latitudes / longitudes in decimal degrees (WGS84); scalars or arrays that broadcast.

    Returns
    -------
    numpy.ndarray
        Distances in km (a 0-d array for scalar input; NaN where an input is NaN).
    """
    p1, l1, p2, l2 = (np.radians(np.asarray(v, dtype="float64")) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _ring_centroid(ring: np.ndarray) -> np.ndarray:
    x, y = ring[:, 0], ring[:, 1]
    a = x * np.roll(y, -1) - np.roll(x, -1) * y
    area = a.sum() / 2
    if abs(area) < 1e-9:
        return ring.mean(axis=0)
    return np.array(
        [
            ((x + np.roll(x, -1)) * a).sum() / (6 * area),
            ((y + np.roll(y, -1)) * a).sum() / (6 * area),
        ]
    )


def _quad_features(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(lat), lon, lat, lon**2, lat**2, lon * lat], axis=-1)


@cache
def _screen_fit() -> np.ndarray:
    """Quadratic least-squares map (lon, lat) -> screen (x, y), fitted on postal-code centroids.

    Fitted twice: the second fit leaves out the 10% worst-fitting codes (GeoNames points that are
    not at their polygon's centre). Median error of the final fit ≈ 0.1 screen units (≈ 50 m).
    """
    pc = _postal_codes().set_index("postal_code")
    polys = _polygons()
    codes = [c for c in polys if c in pc.index]
    target = np.array([_ring_centroid(max(polys[c], key=len)) for c in codes])
    feats = _quad_features(
        pc.loc[codes, "latitude"].to_numpy(float), pc.loc[codes, "longitude"].to_numpy(float)
    )
    coef, *_ = np.linalg.lstsq(feats, target, rcond=None)
    err = np.hypot(*(target - feats @ coef).T)
    keep = err <= np.quantile(err, 0.9)
    coef, *_ = np.linalg.lstsq(feats[keep], target[keep], rcond=None)
    coef.setflags(write=False)
    return coef


def screen_xy(
    latitude: np.ndarray | pd.Series | float, longitude: np.ndarray | pd.Series | float
) -> np.ndarray:
    """Project WGS84 coordinates onto the screen plane of :func:`postal_code_polygons`.

    The polygons come pre-projected without the projection's parameters; this uses a quadratic
    least-squares fit of the postal codes' GeoNames coordinates to their polygon centroids
    (accurate to about 0.1 screen units, i.e. ~50 m, inside Switzerland; do not extrapolate far
    outside).

    Parameters
    ----------
    latitude, longitude
        Decimal degrees; scalars or arrays of the same shape (e.g. the ``latitude`` and
        ``longitude`` columns of accounts or reps).

    Returns
    -------
    numpy.ndarray
        Shape ``(..., 2)``: screen ``x`` (east) and ``y`` (**downwards**); NaN where an input is NaN.
    """
    lat = np.asarray(latitude, dtype="float64")
    lon = np.asarray(longitude, dtype="float64")
    return _quad_features(lat, lon) @ _screen_fit()
