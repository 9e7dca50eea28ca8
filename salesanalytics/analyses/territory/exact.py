"""Exact territory design for small instances: a MILP on scipy's HiGHS (proven optimum).

For up to about 100 units x 10 territories with fixed bases, :func:`exact_territories` returns
the optimal plan of the same problem the heuristic (:func:`~salesanalytics.analyses.territory.optimiser.design_territories`
with ``bases``) solves -- minimum weighted squared distance of units to their territory's base
plus a continuity penalty, every metric of every territory within the tolerance of its target
(travel from the base included, targets following the plan's total), locks respected and,
optionally, every territory connected on the adjacency (single-commodity flow from the unit
nearest the base). It is the yardstick for the heuristic on generated instances
(:func:`plan_cost` scores any plan the same way) and a tool for small real cases.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from salesanalytics.analyses.territory.graph import build_unit_graph, planar_km

__all__ = ["exact_territories", "plan_cost"]


def _setup(
    units: pd.DataFrame,
    bases: pd.DataFrame,
    metrics: Sequence[str],
    id_col: str,
    coord_cols: tuple[str, str],
    planar: bool,
    distance: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    c1 = units[coord_cols[0]].to_numpy(dtype=float)
    c2 = units[coord_cols[1]].to_numpy(dtype=float)
    xy = np.column_stack([c1, c2]) if planar else planar_km(c1, c2)
    tids = bases["territory_id"].astype(str).tolist()
    if distance is not None:
        d = np.asarray(distance, dtype=float)
    else:
        b = bases[list(coord_cols)].to_numpy(dtype=float)
        if planar:
            bxy = b
        else:
            lat0 = np.radians(np.nanmean(c1))
            bxy = np.column_stack([b[:, 1] * 111.320 * np.cos(lat0), b[:, 0] * 110.574])
        d = np.hypot(xy[:, None, 0] - bxy[None, :, 0], xy[:, None, 1] - bxy[None, :, 1])
    a = units[list(metrics)].to_numpy(dtype=float)
    tot = a.sum(axis=0)
    w_raw = (a / np.where(tot > 0, tot, 1.0)).sum(axis=1)
    w = w_raw + 0.05 * (w_raw.mean() if w_raw.mean() > 0 else 1.0)  # as the heuristic
    return xy, d, w, tids


def plan_cost(
    units: pd.DataFrame,
    territory: Sequence[str] | pd.Series,
    bases: pd.DataFrame,
    metrics: Sequence[str],
    *,
    id_col: str = "unit_id",
    coord_cols: tuple[str, str] = ("latitude", "longitude"),
    planar: bool = False,
    distance: np.ndarray | None = None,
) -> float:
    """Objective of a plan with fixed bases: sum of weight x squared distance to the base.

    The weight of a unit is its combined metric (each metric as a share of its total, summed)
    plus 5% of the mean, as in :func:`~salesanalytics.analyses.territory.optimiser.design_territories`.
    """
    _, d, w, tids = _setup(units, bases, metrics, id_col, coord_cols, planar, distance)
    col = pd.Index(tids).get_indexer(np.asarray(territory, dtype=object).astype(str))
    if (col < 0).any():
        raise ValueError("territory names a territory without a base")
    return float(np.sum(w * d[np.arange(len(units)), col] ** 2))


def exact_territories(
    units: pd.DataFrame,
    bases: pd.DataFrame,
    *,
    metrics: Sequence[str] = ("potential", "workload"),
    tolerance: float = 0.05,
    id_col: str = "unit_id",
    coord_cols: tuple[str, str] = ("latitude", "longitude"),
    planar: bool = False,
    edges: pd.DataFrame | None = None,
    contiguity: bool = True,
    target_shares: Mapping[str, float] | None = None,
    distance: np.ndarray | None = None,
    travel: np.ndarray | None = None,
    travel_metric: str | None = None,
    locked_col: str | None = None,
    current_col: str | None = None,
    time_limit: float = 120.0,
) -> dict[str, Any]:
    """Optimal territories around fixed bases by mixed-integer programming (HiGHS).

    Parameters
    ----------
    units
        ``id_col``, the ``coord_cols`` and the ``metrics``; optional ``locked_col`` with
        ``current_col`` (a locked unit stays in its current territory).
    bases
        One row per territory: ``territory_id`` and the ``coord_cols``.
    edges
        Neighbour pairs (unit ids); without them a pruned Delaunay graph (as the heuristic).
    contiguity
        Every territory connected, rooted at the unit nearest its base (flow formulation).
    target_shares
        Territory -> relative size; default equal.
    distance
        Optional ``(units x territories)`` distance matrix instead of straight lines.
    travel, travel_metric
        Optional ``(units x territories)`` load added to ``travel_metric`` (default the last
        metric); targets then follow the plan's total, as in the heuristic.
    time_limit
        Seconds for HiGHS; a run cut short reports ``status`` and the remaining ``mip_gap``.

    Returns
    -------
    dict
        ``assignment`` (``unit_id``, ``territory_id``), ``objective`` (:func:`plan_cost`),
        ``feasible`` (bool), ``optimal`` (bool), ``mip_gap``, ``status`` (HiGHS message),
        ``seconds``, ``max_dev_<metric>``.
    """
    t0 = time.perf_counter()
    metrics = list(metrics)
    xy, d, w, tids = _setup(units, bases, metrics, id_col, coord_cols, planar, distance)
    n, k = d.shape
    ids = units[id_col].astype(str).to_numpy()
    a = units[metrics].to_numpy(dtype=float)
    m = len(metrics)
    L = np.repeat(a[:, None, :], k, axis=1)  # (n, k, m) load of unit u in territory t
    if travel is not None:
        L[:, :, metrics.index(travel_metric or metrics[-1])] += np.asarray(travel, dtype=float)
    shares = np.ones(k)
    if target_shares is not None:
        shares = np.array([float(target_shares.get(t, 1.0)) for t in tids])
    shares = shares / shares.sum()
    nx = n * k  # x[u, t] at u * k + t
    cost = (w[:, None] * d**2).ravel()
    rows: list[sp.csr_matrix] = []
    lbs: list[np.ndarray] = []
    ubs: list[np.ndarray] = []
    # each unit in exactly one territory
    rows.append(sp.csr_matrix((np.ones(nx), (np.repeat(np.arange(n), k), np.arange(nx))), (n, nx)))
    lbs.append(np.ones(n))
    ubs.append(np.ones(n))
    # balance: load_t - (1 +- tol) share_t * total <= / >= 0 (total includes travel)
    for j in range(m):
        lj = L[:, :, j].ravel()
        if lj.sum() <= 0:
            continue
        for sign, bound in ((1.0, "hi"), (-1.0, "lo")):
            f = 1 + sign * tolerance
            dense = np.zeros((k, nx))
            for t in range(k):
                dense[t] = -f * shares[t] * lj
                dense[t, t::k] += lj[t::k]
            rows.append(sp.csr_matrix(dense))
            if bound == "hi":
                lbs.append(np.full(k, -np.inf))
                ubs.append(np.zeros(k))
            else:
                lbs.append(np.zeros(k))
                ubs.append(np.full(k, np.inf))
    lb_x, ub_x = np.zeros(nx), np.ones(nx)
    if locked_col and current_col:
        lk = units[locked_col].fillna(False).astype(bool).to_numpy()
        cur = units[current_col].astype("string").to_numpy(dtype=object, na_value=None)
        for u in np.flatnonzero(lk):
            if cur[u] in tids:
                lb_x[u * k + tids.index(cur[u])] = 1.0
    nf = 0
    if contiguity:
        g = build_unit_graph(ids, xy, edges).matrix().tocoo()
        arcs = np.column_stack([g.row, g.col])  # both directions
        na = len(arcs)
        nf = na * k  # f[arc, t] at nx + arc * k + t
        roots = np.argmin(d, axis=0)
        if len(set(roots.tolist())) < k:
            raise ValueError("two territories share the unit nearest their bases; move a base")
        for t, r in enumerate(roots):
            lb_x[r * k + t] = 1.0
        big = float(n - 1)
        # flow conservation at non-root units: inflow - outflow = x[u, t]
        cons_r, cons_c, cons_v = [], [], []
        r_id = 0
        row_of = {}
        for t in range(k):
            for u in range(n):
                if u != roots[t]:
                    row_of[(u, t)] = r_id
                    cons_r.append(r_id)
                    cons_c.append(u * k + t)
                    cons_v.append(-1.0)
                    r_id += 1
        for e, (i, j) in enumerate(arcs):
            for t in range(k):
                col = nx + e * k + t
                if (j, t) in row_of:
                    cons_r.append(row_of[(j, t)])
                    cons_c.append(col)
                    cons_v.append(1.0)
                if (i, t) in row_of:
                    cons_r.append(row_of[(i, t)])
                    cons_c.append(col)
                    cons_v.append(-1.0)
        rows_f = sp.csr_matrix((cons_v, (cons_r, cons_c)), (r_id, nx + nf))
        # capacity: f[i->j, t] <= big * x[i, t] and <= big * x[j, t]
        e_idx = np.repeat(np.arange(na), k)
        t_idx = np.tile(np.arange(k), na)
        fcol = nx + e_idx * k + t_idx
        cap_rows = []
        for end in (0, 1):
            xcol = arcs[e_idx, end] * k + t_idx
            cap_rows.append(
                sp.csr_matrix(
                    (
                        np.r_[np.ones(nf), -big * np.ones(nf)],
                        (np.r_[np.arange(nf), np.arange(nf)], np.r_[fcol, xcol]),
                    ),
                    (nf, nx + nf),
                )
            )
        rows = [sp.hstack([r, sp.csr_matrix((r.shape[0], nf))]).tocsr() for r in rows]
        rows += [rows_f, *cap_rows]
        lbs += [np.zeros(r_id), np.full(nf, -np.inf), np.full(nf, -np.inf)]
        ubs += [np.zeros(r_id), np.zeros(nf), np.zeros(nf)]
    A = sp.vstack(rows).tocsr()
    c = np.r_[cost, np.zeros(nf)]
    integrality = np.r_[np.ones(nx), np.zeros(nf)]
    bounds = Bounds(np.r_[lb_x, np.zeros(nf)], np.r_[ub_x, np.full(nf, np.inf)])
    res = milp(
        c,
        constraints=LinearConstraint(A, np.concatenate(lbs), np.concatenate(ubs)),
        integrality=integrality,
        bounds=bounds,
        options={"time_limit": time_limit, "mip_rel_gap": 1e-6, "disp": False},
    )
    out: dict[str, Any] = {
        "status": res.message,
        "feasible": res.x is not None,
        "optimal": res.status == 0,
        "mip_gap": float(getattr(res, "mip_gap", np.nan) or 0.0),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if res.x is None:
        out.update(assignment=None, objective=np.nan)
        return out
    x = res.x[:nx].reshape(n, k)
    col = np.argmax(x, axis=1)
    out["assignment"] = pd.DataFrame(
        {"unit_id": ids, "territory_id": np.array(tids, dtype=object)[col]}
    )
    out["objective"] = float(np.sum(w * d[np.arange(n), col] ** 2))
    sums = np.zeros((k, m))
    np.add.at(sums, col, L[np.arange(n), col])
    for j, mt in enumerate(metrics):
        tgt = shares * sums[:, j].sum()
        out[f"max_dev_{mt}"] = float(np.max(np.abs(sums[:, j] / np.where(tgt > 0, tgt, 1) - 1)))
    return out
