"""Independent territory checks for the tests (written without the package's graph code)."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["pieces", "polygon_pieces", "recompute_run"]


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


def _haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * np.arcsin(np.sqrt(h))


def recompute_run(run_dir: Path) -> tuple[pd.DataFrame, float]:
    """A run's field territories recomputed from its written tables alone, and the tolerance.

    Reads the territory phase's ``assignment``, ``bases``, ``unit_assignment``, ``territories``
    (only for a vacancy's planned capacity) and ``design.json``, the channel phase's per-account
    ``field_workload``, the potential and the reps; none of the territory code. Per territory:
    ``potential``, ``work`` (service time plus the drive from the base and back for every visit,
    at the run's road factor and speed), ``dev_potential`` (against the rep's FTE share),
    ``dev_work`` (against the rep's share of capacity hours), ``utilisation`` and ``pieces``
    (connected pieces on the postal-code polygons).
    """
    data = Path(run_dir) / "data"

    def read(name: str) -> pd.DataFrame:
        return pd.read_parquet(data / f"{name}.parquet")

    design = json.loads((data / "territory" / "design.json").read_text(encoding="utf-8"))
    road, speed = design["inputs"]["road_factor"], design["inputs"]["speed_kmh"]
    bases = read("territory/bases").set_index("territory_id")
    a = (
        read("territory/assignment")[["account_id", "territory_id"]]
        .merge(read("intake/accounts")[["account_id", "latitude", "longitude"]], on="account_id")
        .merge(
            read("channels/field_workload")[["account_id", "activity_hours", "visits_per_year"]],
            on="account_id",
        )
        .merge(
            read("potential/account_potential")[["account_id", "potential_mrr"]], on="account_id"
        )
    )
    a = a[a["territory_id"].isin(bases.index)]
    km = _haversine_km(
        a["latitude"].to_numpy(float),
        a["longitude"].to_numpy(float),
        a["territory_id"].map(bases["base_latitude"]).to_numpy(float),
        a["territory_id"].map(bases["base_longitude"]).to_numpy(float),
    )
    a["work"] = a["activity_hours"] + a["visits_per_year"] * 2 * km * road / speed
    g = a.groupby("territory_id").agg(potential=("potential_mrr", "sum"), work=("work", "sum"))
    reps = read("intake/reps").set_index("rep_id")
    table = read("territory/territories").drop_duplicates("territory_id").set_index("territory_id")
    rep = g.index.map(bases["rep_id"])
    fte = pd.Series(rep.map(reps["fte"]), index=g.index).astype(float).fillna(1.0)
    # a vacancy has no rep: its capacity is the one the table plans for the hire
    cap = pd.Series(rep.map(reps["capacity_hours"]), index=g.index).astype(float)
    cap = cap.fillna(table.loc[g.index, "capacity_hours"].astype(float))
    g["dev_potential"] = g["potential"] / (fte / fte.sum() * g["potential"].sum()) - 1
    g["dev_work"] = g["work"] / (cap / cap.sum() * g["work"].sum()) - 1
    g["utilisation"] = g["work"] / cap
    u = read("territory/unit_assignment")
    own = u["unit_id"].astype(str) == u["postal_code"].astype(str)
    ll = pd.concat([u[own], u[~own]]).drop_duplicates("postal_code")
    pcs = polygon_pieces(
        dict(zip(u["unit_id"].astype(str), u["postal_code"].astype(str), strict=True)),
        dict(zip(u["unit_id"].astype(str), u["territory_id"].astype(str), strict=True)),
        {
            str(c): (float(la), float(lo))
            for c, la, lo in zip(ll["postal_code"], ll["latitude"], ll["longitude"], strict=True)
        },
    )
    g["pieces"] = [pcs.get(str(t), 0) for t in g.index]
    return g, float(design["proposal"]["tolerance"])
