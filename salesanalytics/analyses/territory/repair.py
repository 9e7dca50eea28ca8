"""Repair of the last territories outside the balance band: a small MILP around each of them.

The optimiser's balance step (exchange LP and local search) leaves, on hard instances (fixed rep
bases, travel in the workload, lumpy postal codes), a few territories just outside the band: a
single move or swap cannot fix them without pushing a neighbour out, and the exchange LP's
rounding and its "move only while the territory stays connected" rule lose the exact fit. This
step re-plans the neighbourhood of such a territory exactly:

- the **group**: the territory outside the band and the territories it touches (at most
  ``max_territories``, the longest common boundary first);
- the **free units**: the units of the group within ``layers`` steps of a boundary between
  two of its territories (locked units never move); every other unit stays;
- a **MILP** (HiGHS through :func:`scipy.optimize.milp`) gives every free unit one territory
  of the group that it is at most ``layers`` steps away from, such that every metric of every
  territory of the group lies within the band (elastic: the least excess, in two tiers, when it
  cannot), at least cost (the optimiser's weighted squared distance and continuity penalty);
- **contiguity** as linear constraints (sufficient, after the shortest-path formulation of
  Oehrlein & Haunert, *J. Spatial Information Science* 2017): a unit belongs to a territory only
  if a neighbour closer to the territory's fixed core does too (steps inside the territory
  today, or beyond it for units joining it), so every territory stays connected. The
  formulation admits fewer shapes than plain connectivity, but it is small and solves fast
  (a cut-based or flow-based exact formulation timed out on the Swiss instances).

The new plan of the group is kept only when fewer of its territories are outside the band (or as
many, with less excess). Repairs repeat, the worst territory first, until every territory is
within the band, none improves, or the CPU deadline passes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # pragma: no cover - the optimiser imports this module lazily
    from salesanalytics.analyses.territory.optimiser import _State

__all__ = ["repair_outliers"]

_EPS = 1e-12


def _territory_adjacency(st: _State) -> list[dict[int, int]]:
    """Number of graph edges between every pair of touching territories."""
    asg = st.assign
    a_t, b_t = asg[st.edge_src], asg[st.indices]
    cross = a_t != b_t
    adj: list[dict[int, int]] = [{} for _ in range(st.k)]
    for x, y in zip(a_t[cross].tolist(), b_t[cross].tolist(), strict=True):
        adj[x][y] = adj[x].get(y, 0) + 1
    return adj


def _bfs_layers(
    nbrs: list[list[int]], start: list[int], allowed: np.ndarray, depth: int
) -> dict[int, int]:
    """Steps from ``start`` to every unit reachable through ``allowed`` units (at most ``depth``)."""
    dist = {u: 0 for u in start}
    frontier = list(start)
    for d in range(1, depth + 1):
        nxt = []
        for u in frontier:
            for v in nbrs[u]:
                if allowed[v] and v not in dist:
                    dist[v] = d
                    nxt.append(v)
        frontier = nxt
        if not frontier:
            break
    return dist


def _free_units(st: _State, grp: list[int], layers: int) -> np.ndarray | None:
    """Units of the group that may move: within ``layers`` steps of an inner boundary."""
    asg, nbrs = st.assign, st.nbrs
    in_g = np.isin(asg, grp)
    U = np.flatnonzero(in_g)
    edge_in = in_g[st.edge_src] & in_g[st.indices]
    cross = edge_in & (asg[st.edge_src] != asg[st.indices])
    boundary = np.unique(st.edge_src[cross]).tolist()
    if not boundary:
        return None
    near = _bfs_layers(nbrs, boundary, in_g, layers - 1)
    free = np.zeros(len(asg), dtype=bool)
    free[list(near)] = True
    free &= in_g & ~st.locked
    # every territory keeps a fixed core: when all its units are free, its unit nearest the
    # base (or centre) stays
    for t in grp:
        own = U[asg[U] == t]
        if len(own) and free[own].all():
            free[own[np.argmin(st.dist(own, np.full(len(own), t)))]] = False
    return np.flatnonzero(free)


def _orders(st: _State, grp: list[int], free: np.ndarray, layers: int) -> dict[int, dict[int, int]]:
    """Per territory of the group: the order of every unit that may belong to it.

    Units of the territory today: steps from its fixed units inside the territory; other free
    units: beyond that, steps from the territory (through free units of the group).
    """
    asg, nbrs = st.assign, st.nbrs
    is_free = np.zeros(len(asg), dtype=bool)
    is_free[free] = True
    out: dict[int, dict[int, int]] = {}
    for t in grp:
        own = asg == t
        core = np.flatnonzero(own & ~is_free).tolist()
        inner = _bfs_layers(nbrs, core, own, len(asg))
        if len(inner) != int(own.sum()):  # not connected today: leave it alone
            return {}
        top = max(inner.values())
        outer = _bfs_layers(nbrs, list(inner), own | is_free, layers)
        order = dict(inner)
        for u, d in outer.items():
            if u not in order:
                order[u] = top + d
        out[t] = order
    return out


def _group_model(
    st: _State,
    grp: list[int],
    free: np.ndarray,
    orders: dict[int, dict[int, int]],
    band: float,
) -> tuple[Any, ...]:
    """The group's MILP: variables, objective, constraints and bounds."""
    asg = st.assign
    gi = {t: i for i, t in enumerate(grp)}
    vu, vt = [], []
    for u in free.tolist():
        for t in grp:
            if st.contiguous and u not in orders[t]:
                continue
            vu.append(u)
            vt.append(t)
    vu_a, vt_a = np.array(vu, dtype=np.int64), np.array(vt, dtype=np.int64)
    fixed = np.isin(asg, grp)
    fixed[free] = False
    nv = len(vu_a)
    var = {(u, t): i for i, (u, t) in enumerate(zip(vu, vt, strict=True))}
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0
    # one territory per free unit
    pos = np.searchsorted(free, vu_a)
    rows.append(pos)
    cols.append(np.arange(nv))
    vals.append(np.ones(nv))
    lo += [1.0] * len(free)
    hi += [1.0] * len(free)
    r += len(free)
    # contiguity: x[u, t] <= sum of x[v, t] over neighbours v closer to t's core (or fixed in t)
    if st.contiguous:
        for i, (u, t) in enumerate(zip(vu, vt, strict=True)):
            order = orders[t]
            pu = order[u]
            pred = [v for v in st.nbrs[u] if order.get(v, pu) < pu]
            if any(fixed[v] and asg[v] == t for v in pred):
                continue  # touches t's fixed part: always supported
            rows.append(np.full(1 + len(pred), r))
            cols.append(np.array([i] + [var[(v, t)] for v in pred], dtype=np.int64))
            vals.append(np.r_[1.0, -np.ones(len(pred))])
            lo.append(-np.inf)
            hi.append(0.0)
            r += 1
    # balance: every active (territory, metric) row, relative to its target, elastic
    fx = np.flatnonzero(fixed)
    base = np.zeros((len(grp), st.a.shape[1]))
    np.add.at(base, np.array([gi[t] for t in asg[fx]], dtype=np.int64), st.loads(fx, asg[fx]))
    load = st.loads(vu_a, vt_a)
    bal = [(t, m) for t in grp for m in range(st.a.shape[1]) if st.active[t, m]]
    nb = len(bal)
    for j, (t, m) in enumerate(bal):
        sel = np.flatnonzero(vt_a == t)
        T = st.T[t, m]
        # (base + load x) / T - s_over1 - s_over2 + s_under1 + s_under2 in [1 - band, 1 + band]
        rows.append(np.full(len(sel) + 4, r))
        slack = nv + 4 * j + np.arange(4)
        cols.append(np.r_[sel, slack])
        vals.append(np.r_[load[sel, m] / T, -1.0, -1.0, 1.0, 1.0])
        lo.append(1.0 - band * st.tol[m] - base[gi[t], m] / T)
        hi.append(1.0 + band * st.tol[m] - base[gi[t], m] / T)
        r += 1
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(r, nv + 4 * nb),
    )
    # cost: the units' weight for every unit that changes territory (a repair stays close to the
    # plan, so few pieces need cutting), the optimiser's cost only breaking ties
    uc = st.unit_cost(vu_a, vt_a)
    cost = st.w[vu_a] * (vt_a != asg[vu_a]) + 1e-3 * uc * (st.w[vu_a].sum() / max(uc.sum(), 1e-12))
    big = 1e3 * max(float(np.abs(cost).sum()), 1e-9)
    tier = np.array([(1.0 - band) * st.tol[m] for _, m in bal])
    slack_cost = np.tile([big, 100 * big, big, 100 * big], nb)
    ub_slack = np.column_stack([tier, np.full(nb, np.inf), tier, np.full(nb, np.inf)]).ravel()
    c = np.r_[cost, slack_cost]
    ub = np.r_[np.ones(nv), ub_slack]
    integ = np.r_[np.ones(nv), np.zeros(4 * nb)]
    return vu_a, vt_a, c, A, np.array(lo), np.array(hi), ub, integ


def _group_key(st: _State, grp: list[int], assign: np.ndarray) -> tuple[int, float]:
    """(territories of the group outside the band, their total excess) under ``assign``."""
    in_g = np.flatnonzero(np.isin(assign, grp))
    s = np.zeros((st.k, st.a.shape[1]))
    np.add.at(s, assign[in_g], st.loads(in_g, assign[in_g]))
    g = np.array(grp)
    v = st.violation(s[g], g)
    return int((v > _EPS).sum()), float(v.sum())


def _solve_group(
    st: _State, grp: list[int], layers: int, band: float, node_limit: int, max_free: int = 300
) -> bool:
    """Re-plan the free units of ``grp`` by the MILP; whether the plan was improved (and kept).

    At most ``max_free`` free units (fewer layers, else no MILP): larger MILPs cost seconds of
    CPU each and, on the Swiss instances, rarely improved.
    """
    free = _free_units(st, grp, layers)
    while free is not None and len(free) > max_free and layers > 1:  # keep the MILP small
        layers -= 1
        free = _free_units(st, grp, layers)
    if free is None or len(free) == 0 or len(free) > max_free:
        return False
    orders = _orders(st, grp, free, layers) if st.contiguous else {t: {} for t in grp}
    if st.contiguous and not orders:
        return False
    new = _milp_plan(st, grp, free, orders, band, node_limit)
    if new is None or np.array_equal(new, st.assign) or any(not (new == t).any() for t in grp):
        return False
    if _group_key(st, grp, new) >= _group_key(st, grp, st.assign):
        return False
    if st.contiguous:
        from salesanalytics.analyses.territory.optimiser import _territory_connected

        if not all(_territory_connected(st, np.flatnonzero(new == t)) for t in grp):
            return False
    st.assign[:] = new
    return True


def _milp_plan(
    st: _State,
    grp: list[int],
    free: np.ndarray,
    orders: dict[int, dict[int, int]],
    band: float,
    node_limit: int,
) -> np.ndarray | None:
    """The plan of the group's MILP (``None`` when HiGHS found none in time)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    vu, vt, c, A, lo, hi, ub, integ = _group_model(st, grp, free, orders, band)
    res = milp(
        c,
        constraints=LinearConstraint(A, lo, hi),
        integrality=integ,
        bounds=Bounds(np.zeros(len(c)), ub),
        options={
            "node_limit": node_limit,
            "time_limit": 30.0,
            "disp": False,
            "mip_rel_gap": 0.02,
        },
    )
    if res.x is None:
        return None
    new = st.assign.copy()
    pick = res.x[: len(vu)] > 0.5
    new[vu[pick]] = vt[pick]
    return new


def _group_around(st: _State, t: int, max_territories: int) -> list[int]:
    """Territory ``t`` and the neighbours it shares most boundary with."""
    adj = _territory_adjacency(st)
    return [t, *sorted(adj[t], key=lambda v: (-adj[t][v], v))[: max_territories - 1]]


def repair_outliers(
    st: _State,
    deadline: float,
    *,
    layers: int = 3,
    max_territories: int = 6,
    band: float = 0.8,
    max_milps: int = 6,
    node_limit: int = 40,
) -> dict[str, int]:
    """Re-plan the neighbourhood of every territory outside the band by a MILP (see the module).

    Parameters
    ----------
    st
        The optimiser's state (changed in place).
    deadline
        CPU time (``time.process_time``) after which no further repair starts.
    layers
        Depth of the free zone along the group's inner boundaries (steps on the adjacency).
    max_territories
        Territories in a group: the one outside the band and the neighbours it shares most
        boundary with.
    band
        The MILP aims at ``band x tolerance`` (the rest of the band is cheap slack), leaving room
        for travel targets that follow the plan's total.
    max_milps
        Most MILPs solved.
    node_limit
        Branch-and-bound nodes of each MILP (a work limit rather than a time limit: the plan
        does not depend on the machine's load; a wall-clock limit of 30 s is only a guard).

    Returns
    -------
    dict
        ``repair_milps`` (MILPs solved) and ``repair_improvements`` (kept).
    """
    tried = improved = 0
    failed: set[int] = set()
    while tried < max_milps:
        viol = st.violation(st.sums())
        bad = [int(t) for t in np.argsort(-viol, kind="stable") if viol[t] > _EPS]
        bad = [t for t in bad if t not in failed]
        if not bad:
            break
        t = bad[0]
        if time.process_time() > deadline:
            break
        tried += 1
        if _solve_group(st, _group_around(st, t, max_territories), layers, band, node_limit):
            improved += 1
            failed.clear()
        else:
            failed.add(t)
    return {"repair_milps": tried, "repair_improvements": improved}
