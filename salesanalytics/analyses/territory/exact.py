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

from salesanalytics.analyses.territory.graph import UnitGraph, build_unit_graph, planar_km
from salesanalytics.analyses.territory.optimiser import (
    Bases,
    SolverSettings,
    UnitColumns,
    _problem_groups,
)

__all__ = ["EXACT_SETTINGS", "exact_territories", "plan_cost"]


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
    columns: UnitColumns | None = None,
    distance: np.ndarray | None = None,
) -> float:
    """Objective of a plan with fixed bases: sum of weight x squared distance to the base.

    The weight of a unit is its combined metric (each metric as a share of its total, summed)
    plus 5% of the mean, as in
    :func:`~salesanalytics.analyses.territory.optimiser.design_territories`. ``bases`` has
    ``territory_id`` and the coordinate columns of ``columns``
    (:class:`~salesanalytics.analyses.territory.optimiser.UnitColumns`).
    """
    cols = columns or UnitColumns()
    if cols.coord_cols is None:
        raise ValueError("plan_cost needs coordinates (UnitColumns.coord_cols)")
    _, d, w, tids = _setup(
        units, bases, metrics, cols.id_col, cols.coord_cols, cols.planar, distance
    )
    col = pd.Index(tids).get_indexer(np.asarray(territory, dtype=object).astype(str))
    if (col < 0).any():
        raise ValueError("territory names a territory without a base")
    return float(np.sum(w * d[np.arange(len(units)), col] ** 2))


EXACT_SETTINGS = SolverSettings(time_limit=120.0)
"""Settings of :func:`exact_territories`: only ``time_limit`` (seconds for HiGHS) is used."""


def exact_territories(
    units: pd.DataFrame,
    bases: Bases | pd.DataFrame,
    *,
    metrics: Sequence[str] = ("potential", "workload"),
    tolerance: float = 0.05,
    columns: UnitColumns | None = None,
    edges: pd.DataFrame | None = None,
    contiguity: bool = True,
    target_shares: Mapping[str, float] | None = None,
    settings: SolverSettings | None = None,
    **legacy: Any,
) -> dict[str, Any]:
    """Optimal territories around fixed bases by mixed-integer programming (HiGHS).

    Parameters
    ----------
    units
        The id, the coordinates and the ``metrics`` (columns named by ``columns``); optional
        locks with today's territory (a locked unit stays in its current territory).
    bases
        The bases (:class:`~salesanalytics.analyses.territory.optimiser.Bases`):
        ``locations`` (required) has one row per territory, ``territory_id`` and the
        coordinate columns; optional ``distance`` (units x territories) instead of straight
        lines, and ``travel`` added to ``travel_metric`` (default the last metric; targets then
        follow the plan's total, as in the heuristic). A frame is taken as the locations.
    columns
        Where the units table holds what
        (:class:`~salesanalytics.analyses.territory.optimiser.UnitColumns`); coordinates are
        required here.
    edges
        Neighbour pairs (unit ids); without them a pruned Delaunay graph (as the heuristic).
    contiguity
        Every territory connected, rooted at the unit nearest its base (flow formulation).
    target_shares
        Territory -> relative size; default equal.
    settings
        Only ``time_limit`` is used: seconds for HiGHS (default :data:`EXACT_SETTINGS`, 120); a
        run cut short reports ``status`` and the remaining ``mip_gap``.
    **legacy
        The earlier flat keywords (``coord_cols=``, ``planar=``, ``distance=``,
        ``time_limit=``...), deprecated.

    Returns
    -------
    dict
        ``assignment`` (``unit_id``, ``territory_id``), ``objective`` (:func:`plan_cost`),
        ``feasible`` (bool), ``optimal`` (bool), ``mip_gap``, ``status`` (HiGHS message),
        ``seconds``, ``max_dev_<metric>``.
    """
    t0 = time.perf_counter()
    if isinstance(bases, pd.DataFrame):
        bases = Bases(locations=bases)
    cols, _, fixed, cfg = _problem_groups(columns, None, bases, settings or EXACT_SETTINGS, legacy)
    if fixed is None or fixed.locations is None:
        raise ValueError("exact_territories needs the bases' locations (Bases(locations=...))")
    if cols.coord_cols is None:
        raise ValueError("exact_territories needs coordinates (UnitColumns.coord_cols)")
    metrics = list(metrics)
    xy, d, w, tids = _setup(
        units,
        fixed.locations,
        metrics,
        cols.id_col,
        cols.coord_cols,
        cols.planar,
        None if fixed.distance is None else np.asarray(fixed.distance, dtype=float),
    )
    n, k = d.shape
    ids = units[cols.id_col].astype(str).to_numpy()
    L = _loads(units, metrics, fixed, k)
    shares = np.ones(k)
    if target_shares is not None:
        shares = np.array([float(target_shares.get(t, 1.0)) for t in tids])
    shares = shares / shares.sum()
    lp = _Milp(n * k)
    _balance_rows(lp, L, shares, tolerance)
    _lock_bounds(lp, units, cols, tids, k)
    if contiguity:
        _flow_rows(lp, build_unit_graph(ids, xy, edges), d)
    res = lp.solve((w[:, None] * d**2).ravel(), cfg.time_limit)
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
    col = np.argmax(res.x[: n * k].reshape(n, k), axis=1)
    out["assignment"] = pd.DataFrame(
        {"unit_id": ids, "territory_id": np.array(tids, dtype=object)[col]}
    )
    out["objective"] = float(np.sum(w * d[np.arange(n), col] ** 2))
    sums = np.zeros((k, len(metrics)))
    np.add.at(sums, col, L[np.arange(n), col])
    for j, mt in enumerate(metrics):
        tgt = shares * sums[:, j].sum()
        out[f"max_dev_{mt}"] = float(np.max(np.abs(sums[:, j] / np.where(tgt > 0, tgt, 1) - 1)))
    return out


def _loads(units: pd.DataFrame, metrics: list[str], fixed: Bases, k: int) -> np.ndarray:
    """Load ``(n, k, m)`` of unit u in territory t: its metrics plus travel from t's base."""
    a = units[metrics].to_numpy(dtype=float)
    L = np.repeat(a[:, None, :], k, axis=1)
    if fixed.travel is not None:
        j = metrics.index(fixed.travel_metric or metrics[-1])
        L[:, :, j] += np.asarray(fixed.travel, dtype=float)
    return L


class _Milp:
    """The MILP's rows and bounds as they are built.

    Variables: ``x[u, t]`` at ``u * k + t`` (binary), then the flow variables (continuous, added by
    :func:`_flow_rows`).
    """

    def __init__(self, nx: int) -> None:
        self.nx, self.nf = nx, 0
        self.rows: list[sp.csr_matrix] = []
        self.lbs: list[np.ndarray] = []
        self.ubs: list[np.ndarray] = []
        self.lb_x, self.ub_x = np.zeros(nx), np.ones(nx)

    def add(self, rows: sp.csr_matrix, lb: np.ndarray, ub: np.ndarray) -> None:
        """Add constraint rows ``lb <= rows @ x <= ub``."""
        self.rows.append(rows)
        self.lbs.append(lb)
        self.ubs.append(ub)

    def solve(self, cost: np.ndarray, time_limit: float) -> Any:
        """Minimise ``cost @ x`` (HiGHS), at most ``time_limit`` seconds."""
        nx, nf = self.nx, self.nf
        # rows added before the flow variables get zero columns for them
        rows = [
            r if r.shape[1] == nx + nf else sp.hstack([r, sp.csr_matrix((r.shape[0], nf))]).tocsr()
            for r in self.rows
        ]
        A = sp.vstack(rows).tocsr()
        return milp(
            np.r_[cost, np.zeros(nf)],
            constraints=LinearConstraint(A, np.concatenate(self.lbs), np.concatenate(self.ubs)),
            integrality=np.r_[np.ones(nx), np.zeros(nf)],
            bounds=Bounds(np.r_[self.lb_x, np.zeros(nf)], np.r_[self.ub_x, np.full(nf, np.inf)]),
            options={"time_limit": time_limit, "mip_rel_gap": 1e-6, "disp": False},
        )


def _balance_rows(lp: _Milp, L: np.ndarray, shares: np.ndarray, tolerance: float) -> None:
    """Each unit in exactly one territory; every metric of every territory within tolerance.

    Balance: ``load_t - (1 +- tol) share_t * total <= / >= 0`` (the total includes travel).
    """
    n, k, m = L.shape
    nx = n * k
    lp.add(
        sp.csr_matrix((np.ones(nx), (np.repeat(np.arange(n), k), np.arange(nx))), (n, nx)),
        np.ones(n),
        np.ones(n),
    )
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
            if bound == "hi":
                lp.add(sp.csr_matrix(dense), np.full(k, -np.inf), np.zeros(k))
            else:
                lp.add(sp.csr_matrix(dense), np.zeros(k), np.full(k, np.inf))


def _lock_bounds(
    lp: _Milp, units: pd.DataFrame, cols: UnitColumns, tids: list[str], k: int
) -> None:
    """Fix every locked unit in its current territory (when that territory has a base)."""
    if not (cols.locked_col and cols.current_col):
        return
    lk = units[cols.locked_col].fillna(False).astype(bool).to_numpy()
    cur = units[cols.current_col].astype("string").to_numpy(dtype=object, na_value=None)
    for u in np.flatnonzero(lk):
        if cur[u] in tids:
            lp.lb_x[u * k + tids.index(cur[u])] = 1.0


def _flow_rows(lp: _Milp, graph: UnitGraph, d: np.ndarray) -> None:
    """Add contiguity: a single-commodity flow per territory from its root.

    The root is the unit nearest the territory's base; the flow runs along the arcs of ``graph`` to
    every unit of the territory.

    Raises
    ------
    ValueError
        When two territories share the unit nearest their bases.
    """
    n, k = d.shape
    g = graph.matrix().tocoo()
    arcs = np.column_stack([g.row, g.col])  # both directions
    lp.nf = nf = len(arcs) * k  # f[arc, t] at nx + arc * k + t
    roots = np.argmin(d, axis=0)
    if len(set(roots.tolist())) < k:
        raise ValueError("two territories share the unit nearest their bases; move a base")
    for t, r in enumerate(roots):
        lp.lb_x[r * k + t] = 1.0
    rows_f, n_rows = _flow_conservation(arcs, roots, n, k, lp.nx + nf)
    lp.add(rows_f, np.zeros(n_rows), np.zeros(n_rows))
    for cap in _flow_capacity(arcs, n, k, lp.nx, nf):
        lp.add(cap, np.full(nf, -np.inf), np.zeros(nf))


def _flow_conservation(
    arcs: np.ndarray, roots: np.ndarray, n: int, k: int, width: int
) -> tuple[sp.csr_matrix, int]:
    """Rows ``inflow - outflow - x[u, t] = 0`` at every non-root unit, and their number."""
    nx = n * k
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
    return sp.csr_matrix((cons_v, (cons_r, cons_c)), (r_id, width)), r_id


def _flow_capacity(arcs: np.ndarray, n: int, k: int, nx: int, nf: int) -> list[sp.csr_matrix]:
    """Rows ``f[i->j, t] - big * x[i, t] <= 0`` and the same with ``x[j, t]``."""
    big = float(n - 1)
    na = len(arcs)
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
    return cap_rows
