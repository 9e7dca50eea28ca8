"""Independent territory checks for the tests (written without the package's graph code)."""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["pieces", "polygon_pieces"]


def pieces(assign: dict[str, str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Connected pieces per territory, by breadth-first search on plain dicts."""
    nb: dict[str, list[str]] = {u: [] for u in assign}
    for a, b in edges:
        if a in nb and b in nb:
            nb[a].append(b)
            nb[b].append(a)
    seen: set[str] = set()
    out: dict[str, int] = {}
    for u in assign:
        if u in seen:
            continue
        out[assign[u]] = out.get(assign[u], 0) + 1
        q = deque([u])
        seen.add(u)
        while q:
            x = q.popleft()
            for y in nb[x]:
                if y not in seen and assign[y] == assign[x]:
                    seen.add(y)
                    q.append(y)
    return out


def _code_shapes() -> dict[str, object]:
    """Shapely area of every postal code from its raw polygon rings (even-odd: holes, exclaves)."""
    import shapely

    from salesanalytics.reference import geo

    out: dict[str, object] = {}
    for code, rings in geo.postal_code_polygons().items():
        parts = [shapely.make_valid(shapely.Polygon(r)) for r in rings if len(r) >= 4]
        if not parts:
            continue
        g = parts[0]
        for p in parts[1:]:
            g = shapely.symmetric_difference(g, p)
        out[code] = g
    return out


def polygon_pieces(
    unit_code: dict[str, str],
    unit_territory: dict[str, str],
    code_latlon: dict[str, tuple[float, float]],
    eps: float = 0.02,
) -> dict[str, int]:
    """Pieces of every territory as the map shows it, from the postal-code polygons alone.

    Two postal codes touch when their polygons (any of their parts) come closer than ``eps``
    screen units (~10 m: shared borders carry rounding noise); a code without a polygon counts
    as the polygon containing its coordinates (else the nearest one). A territory's pieces are
    the connected groups of the polygons of its units' postal codes. Written with shapely only,
    without the package's graph, host or optimiser code.
    """
    import shapely

    from salesanalytics.reference import geo

    shapes = _code_shapes()
    codes = list(shapes)
    geoms = np.array([shapes[c] for c in codes], dtype=object)
    tree = shapely.STRtree(geoms)
    host: dict[str, str] = {}
    for code in set(unit_code.values()):
        if code in shapes:
            host[code] = code
            continue
        lat, lon = code_latlon[code]
        pt = shapely.Point(*geo.screen_xy(lat, lon))
        near = tree.query(pt, predicate="within")
        if len(near) == 0:
            near = tree.query_nearest(pt)
        host[code] = codes[int(sorted(near)[0])]
    a, b = tree.query(geoms, predicate="dwithin", distance=eps)
    edges = [(codes[i], codes[j]) for i, j in zip(a.tolist(), b.tolist(), strict=True) if i < j]
    per: dict[str, set[str]] = {}
    for u, t in unit_territory.items():
        per.setdefault(t, set()).add(host[unit_code[u]])
    # a polygon shared by several territories (a split postal code) belongs to each of them
    out: dict[str, int] = {}
    for t, cs in per.items():
        out[t] = max(pieces(dict.fromkeys(cs, t), edges).values())
    return out
