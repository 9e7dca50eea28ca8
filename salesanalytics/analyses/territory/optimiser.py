"""The territory optimiser: balanced, contiguous, compact territories from a plain table of units.

Algorithm (a location-allocation heuristic, deterministic for a given ``seed``):

1. **Warm start.** Today's territories (``current`` column), a given plan (``start_col``), or
   compact regions: weighted k-means++ seeding (or the centres of another plan,
   ``initial_centres``, merged or added to reach the count) with a few Lloyd steps, named after
   today's territories by the matching that keeps most continuity value.
2. **Assignment LP** (HiGHS dual simplex via :func:`scipy.optimize.linprog`): every free unit
   with load is assigned (fractionally) to one of its nearest centres at minimum weighted squared
   distance plus a continuity penalty for leaving its current territory, subject to the combined
   metric (each metric as a share of its total, summed) staying within a tightened tolerance of
   its target and every single metric within a looser one (elastic, so always feasible). Locked
   units are fixed and count towards balance. A vertex solution splits only few units; each goes
   to its largest share. Units without load join the territory of the nearest loaded unit along
   the adjacency graph. Centres move to the weighted centroid; repeat ``max_iter`` times or
   until stable.
3. **Contiguity repair**, two ways: pieces of a territory cut off from its main part move, as
   a whole, to the neighbouring territory they touch most; or they are released and handed out
   again by growing the territories into them, the one furthest below its target first. Each is
   balanced by step 4 and the better plan is kept (the second is skipped when the first ends
   with every territory within tolerance).
4. **Balance** in rounds of an *exchange LP* and a local search. The exchange LP (HiGHS again)
   lets every boundary unit that can leave its territory without splitting it (articulation
   points are found by a linear-time depth-first search) stay or join a territory it touches,
   and finds the cheapest exchange that brings *every* metric of *every* territory within half
   the tolerance (elastic in two tiers: excess up to the tolerance is dear, beyond it far
   dearer). Surplus thus travels along whole chains of territories in one step, which single
   moves cannot do when two metrics pull in opposite directions (city territories with much
   potential per hour of work, rural ones with little). Split units are rounded greedily to
   the side that leaves the least excess; the planned moves are applied one by one while the
   losing territory stays connected and the unit still touches the receiving one. The local
   search then polishes: boundary moves and swaps that reduce the balance violation (never
   breaking contiguity, never moving a locked unit), with kicks out of local optima. Rounds
   repeat until every territory is within tolerance or two rounds bring no progress.
5. **Compactness**: boundary moves that lower cost while every touched territory stays within
   tolerance, and a last balance pass.
6. **Repair** of territories still outside the band: a small MILP re-plans the units near the
   inner boundaries of each one and its neighbours, contiguity as linear constraints
   (:mod:`~salesanalytics.analyses.territory.repair`), kept only when fewer territories of the
   group are outside the band (or as many, with less excess).

On large instances with free centres the assignment LP gives each unit fewer candidate centres
(``SolverSettings.candidates_large``): the interior point's cost grows steeply with them.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse.csgraph import connected_components

from salesanalytics.analyses.territory.graph import UnitGraph, build_unit_graph, planar_km

__all__ = [
    "Bases",
    "SolverSettings",
    "Targets",
    "TerritoryResult",
    "UnitColumns",
    "design_territories",
    "solver_settings",
]

DISTANCE_POWER = 2.0
"""Costs use weight x distance**2 (moment of inertia): boundaries stay sharp under balancing."""


@dataclass
class TerritoryResult:
    """Outcome of :func:`design_territories`.

    Attributes
    ----------
    assignment
        One row per unit: ``unit_id``, ``territory_id``, ``current`` (today's territory or
        missing), ``changed`` (bool), ``locked`` (bool).
    territories
        One row per territory: ``territory_id``, ``target_share``, ``n_units``, each metric's
        total, its target and relative deviation ``dev_<metric>``, ``centre_lat``/``centre_lon``
        (or ``centre_x``/``centre_y`` for planar input), ``contiguous`` (bool).
    graph
        The unit adjacency graph used (for independent checks and maps).
    summary
        Key figures: ``max_dev_<metric>``, ``cv_<metric>``, ``n_contiguous``, ``compactness_km``
        (weighted mean distance of units to their territory centre), ``moved_share`` (share of
        the continuity value changing territory), ``seconds``, LP statistics.
    """

    assignment: pd.DataFrame
    territories: pd.DataFrame
    graph: UnitGraph
    summary: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# problem state
# ----------------------------------------------------------------------------------------------


class _State:
    """Mutable working state of one optimisation (arrays indexed by unit / territory number)."""

    def __init__(
        self,
        xy: np.ndarray,
        a: np.ndarray,
        targets: np.ndarray,
        tol: np.ndarray,
        w: np.ndarray,
        pen: np.ndarray,
        cur: np.ndarray,
        locked: np.ndarray,
        nbrs: list[list[int]],
    ) -> None:
        self.xy, self.a, self.T, self.tol = xy, a, targets, tol
        self.w, self.pen, self.cur, self.locked, self.nbrs = w, pen, cur, locked, nbrs
        self.indptr = np.r_[0, np.cumsum([len(x) for x in nbrs])].astype(np.int64)
        self.indices = np.array([v for x in nbrs for v in x], dtype=np.int64)
        self.edge_src = np.repeat(np.arange(len(nbrs)), np.diff(self.indptr))  # unit of indices
        self.k = targets.shape[0]
        self.active = targets > 0  # metric rows that carry a balance constraint
        self.assign = np.zeros(len(xy), dtype=np.int64)
        self.power = 1.0
        self.centres = np.zeros((self.k, 2))
        self.E: np.ndarray | None = None  # (n, k) load added to metric ``ej`` in territory k
        self.ej = 0
        self.D: np.ndarray | None = None  # (n, k) distance unit -> territory base (fixed)
        self.fixed = False  # centres fixed at the territories' bases
        self.contiguous = True  # contiguity constraint on

    def loads(self, units: Any, terr: Any) -> np.ndarray:
        """Metric loads of ``units`` when they belong to ``terr`` (broadcast; travel included)."""
        u_b, t_b = np.broadcast_arrays(np.asarray(units), np.asarray(terr))
        x = self.a[u_b].copy()
        if self.E is not None:
            x[..., self.ej] += self.E[u_b, t_b]
        return x

    # -- costs ---------------------------------------------------------------------------------
    def dist(self, units: np.ndarray | slice, terr: np.ndarray | None = None) -> np.ndarray:
        if self.D is not None:
            return self.D[units] if terr is None else self.D[units, terr]
        p = self.xy[units]
        if terr is None:
            d = p[:, None, :] - self.centres[None, :, :]
            return np.sqrt((d**2).sum(-1))
        return np.hypot(*(p - self.centres[terr]).T)

    def unit_cost(self, units: np.ndarray, terr: np.ndarray) -> np.ndarray:
        return self.w[units] * self.dist(units, terr) ** self.power + self.pen[units] * (
            terr != self.cur[units]
        )

    def sums(self) -> np.ndarray:
        s = np.zeros((self.k, self.a.shape[1]))
        np.add.at(s, self.assign, self.loads(np.arange(len(self.assign)), self.assign))
        return s

    def retarget(self, shares: np.ndarray) -> None:
        """Targets of the travel metric from the plan's current total (travel depends on it)."""
        if self.E is not None:
            self.T[:, self.ej] = shares * self.sums()[:, self.ej].sum()

    def violation(self, s: np.ndarray, t: np.ndarray | int | None = None) -> np.ndarray:
        """Squared excess of the relative deviation over the tolerance, summed over metrics.

        Zero inside the tolerance; ``s`` holds sums of territories ``t`` (default: all territories,
        in order).
        """
        if t is None:
            t = np.arange(self.k)
        T, act = self.T[t], self.active[t]
        dev = np.where(act, s / np.where(act, T, 1.0) - 1.0, 0.0)
        ex = np.maximum(np.abs(dev) - self.tol, 0.0)
        return (ex**2).sum(axis=-1)

    def update_centres(self) -> None:
        if self.fixed:
            return
        wt = self.w + 1e-9
        cw = np.bincount(self.assign, weights=wt, minlength=self.k)
        for dim in range(2):
            c = np.bincount(self.assign, weights=wt * self.xy[:, dim], minlength=self.k)
            self.centres[:, dim] = np.where(
                cw > 0, c / np.maximum(cw, 1e-300), self.centres[:, dim]
            )


# ----------------------------------------------------------------------------------------------
# 1. warm start
# ----------------------------------------------------------------------------------------------


def _lloyd(xy: np.ndarray, w: np.ndarray, cent: np.ndarray, steps: int = 10) -> np.ndarray:
    """Weighted Lloyd steps from the given centres."""
    cent = cent.copy()
    k = len(cent)
    for _ in range(steps):
        lab = np.argmin(((xy[:, None, :] - cent[None]) ** 2).sum(-1), axis=1)
        cw = np.bincount(lab, weights=w, minlength=k)
        for dim in range(2):
            s = np.bincount(lab, weights=w * xy[:, dim], minlength=k)
            cent[:, dim] = np.where(cw > 0, s / np.maximum(cw, 1e-300), cent[:, dim])
    return cent


def _kmeans_pp(xy: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    p = w / w.sum()
    centres = [xy[rng.choice(len(xy), p=p)]]
    d2 = ((xy - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        q = w * d2
        q = q / q.sum() if q.sum() > 0 else p
        c = xy[rng.choice(len(xy), p=q)]
        centres.append(c)
        d2 = np.minimum(d2, ((xy - c) ** 2).sum(1))
    return _lloyd(xy, w, np.array(centres))


def _adapt_centres(xy: np.ndarray, w: np.ndarray, cent: np.ndarray, k: int) -> np.ndarray:
    """Adapt the centres of another plan to ``k`` territories.

    While too many, the closest pair is merged at its midpoint; while too few, the unit with the
    largest weighted squared distance to every centre becomes one; then a few weighted Lloyd steps.
    """
    cent = np.asarray(cent, dtype=float).copy()
    while len(cent) > k:
        d = ((cent[:, None, :] - cent[None]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        mid = (cent[i] + cent[j]) / 2
        cent = np.vstack([np.delete(cent, [i, j], axis=0), mid])
    while len(cent) < k:
        d2 = ((xy[:, None, :] - cent[None]) ** 2).sum(-1).min(axis=1)
        cent = np.vstack([cent, xy[int(np.argmax(w * d2))]])
    return _lloyd(xy, w, cent, steps=5)


# ----------------------------------------------------------------------------------------------
# 2. assignment LP
# ----------------------------------------------------------------------------------------------


_IPM_BALANCE_ROWS = 120
"""From this many balance rows (territories x balanced metrics, plus the combined metric) the
assignment LP is solved by HiGHS' interior point method with crossover (a vertex, as the dual
simplex gives), below by the dual simplex. The simplex needs ever more iterations as rows are
added (about 6,000 with 60 rows, 12,000 with 150, on 3,362 units x 12 candidates), the
interior point about 40-90 whatever the rows; measured on the Swiss postal codes with fixed
bases, CPU seconds of the four LPs: x 20: 5.0 simplex / 9.7 interior point, x 30: 7.5 / 11.0,
x 50: 16.3 / 9.3, x 100: 15.4 / 10.4 (same optimum)."""


def _solve_lp(
    st: _State, tol_lp: np.ndarray, n_cand: int, core: np.ndarray, relax: float
) -> dict[str, Any]:
    free = np.flatnonzero(~st.locked & core)
    # balance rows: the combined (normalised, summed) metric tightly, each metric loosely. With
    # the combined metric as the unit's cost weight, its dual prices shift every unit alike, so
    # territories stay connected regions; per-metric balance is finished by the local search.
    tot = st.T.sum(axis=0)
    tot = np.where(tot > 0, tot, 1.0)
    T_all = np.column_stack([(st.T / tot).sum(axis=1), st.T])
    act_all = np.column_stack([st.active.any(axis=1), st.active])
    if not np.isfinite(relax):
        act_all[:, 1:] = False
    tol_all = np.r_[tol_lp.min(), tol_lp * relax if np.isfinite(relax) else tol_lp]
    nf, k = len(free), st.k
    if nf == 0:
        return {"n_split": 0, "lp_status": "no free units"}
    d = st.dist(free)
    n_cand = min(n_cand, k)
    near = (
        np.argpartition(d, n_cand - 1, axis=1)[:, :n_cand]
        if n_cand < k
        else np.tile(np.arange(k), (nf, 1))
    )
    extra = [st.assign[free][:, None]]
    cur = st.cur[free]
    extra.append(np.where(cur >= 0, cur, near[:, 0])[:, None])
    cand = np.concatenate([near, *extra], axis=1)
    rows = np.repeat(np.arange(nf), cand.shape[1])
    cols = cand.ravel()
    pair = np.unique(rows.astype(np.int64) * k + cols)
    rows, cols = pair // k, pair % k
    gu = free[rows]
    a_pair = st.loads(gu, cols)
    a_pair = np.column_stack([(a_pair / tot).sum(axis=1), a_pair])
    cost = st.w[gu] * d[rows, cols] ** st.power + st.pen[gu] * (cols != st.cur[gu])
    nv = len(rows)
    m = a_pair.shape[1]
    # balance rows: for territory j, metric mm: sum a_i/T_j x_ij within [1-tol, 1+tol] minus locked
    locked_sum = np.zeros((k, m))
    lk = np.flatnonzero(st.locked & core)
    if len(lk):
        a_lk = st.loads(lk, st.assign[lk])
        np.add.at(locked_sum, st.assign[lk], np.column_stack([(a_lk / tot).sum(axis=1), a_lk]))
    act = [(j, mm) for mm in range(m) for j in range(k) if act_all[j, mm]]
    r_of = {jm: r for r, jm in enumerate(act)}
    nb = len(act)
    br, bc, bv = [], [], []
    for mm in range(m):
        rr = np.array([r_of.get((j, mm), -1) for j in range(k)])
        row_ids = rr[cols]
        ok = row_ids >= 0
        val = a_pair[:, mm] / np.where(act_all[:, mm], T_all[:, mm], 1.0)[cols]
        br.append(row_ids[ok])
        bc.append(np.arange(nv)[ok])
        bv.append(val[ok])
    br_a, bc_a, bv_a = np.concatenate(br), np.concatenate(bc), np.concatenate(bv)
    B = sp.csr_matrix((bv_a, (br_a, bc_a)), shape=(nb, nv))
    jj = np.array([j for j, _ in act], dtype=np.int64)
    mmv = np.array([mm for _, mm in act], dtype=np.int64)
    base = locked_sum[jj, mmv] / T_all[jj, mmv] if nb else np.zeros(0)
    hi = 1.0 + tol_all[mmv] - base
    lo = 1.0 - tol_all[mmv] - base
    # elastic slacks: s_plus (over) and s_minus (under), per balance row
    big = 50.0 * float(cost.max() if len(cost) else 1.0) * max(1.0, nf / max(k, 1))
    eye = sp.identity(nb, format="csr")
    A_ub = sp.vstack(
        [
            sp.hstack([B, -eye, sp.csr_matrix((nb, nb))]),
            sp.hstack([-B, sp.csr_matrix((nb, nb)), -eye]),
        ]
    ).tocsr()
    b_ub = np.r_[hi, -lo]
    A_eq = sp.hstack(
        [
            sp.csr_matrix((np.ones(nv), (rows, np.arange(nv))), shape=(nf, nv)),
            sp.csr_matrix((nf, 2 * nb)),
        ]
    ).tocsr()
    c = np.r_[cost, np.full(2 * nb, big)]
    method = "highs-ipm" if nb >= _IPM_BALANCE_ROWS else "highs-ds"
    res = linprog(
        c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=np.ones(nf), bounds=(0, None), method=method
    )
    if res.x is None:  # pragma: no cover - elastic LP is always feasible
        raise RuntimeError(f"assignment LP failed: {res.message}")
    x = res.x[:nv]
    best = np.full(nf, -1.0)
    choice = np.zeros(nf, dtype=np.int64)
    order = np.lexsort((cols, -x, rows))  # per unit: largest share first, ties by territory number
    first = np.r_[True, rows[order][1:] != rows[order][:-1]]
    sel = order[first]
    choice[rows[sel]] = cols[sel]
    best[rows[sel]] = x[sel]
    st.assign[free] = choice
    n_split = int((best < 1 - 1e-6).sum())
    return {
        "n_split": n_split,
        "lp_variables": nv,
        "lp_slack": float(res.x[nv:].sum()),
        "lp_status": res.message,
    }


def _fill_by_graph(st: _State, graph: UnitGraph, core: np.ndarray) -> None:
    """Give every non-core unit the territory of its nearest core unit along the graph.

    Non-core units have no metric and are not locked; edge length = distance. Territories thus grow
    as connected regions instead of following the straight-line Voronoi cells of their centres.
    """
    from scipy.sparse.csgraph import dijkstra

    src = np.flatnonzero(core)
    rest = np.flatnonzero(~core)
    if len(rest) == 0 or len(src) == 0:
        return
    mat = graph.matrix().tocoo()
    length = np.hypot(*(st.xy[mat.row] - st.xy[mat.col]).T) + 1e-6
    g = sp.csr_matrix((length, (mat.row, mat.col)), shape=mat.shape)
    _, _, nearest = dijkstra(
        g, directed=False, indices=src, min_only=True, return_predecessors=True
    )
    ok = nearest[rest] >= 0
    st.assign[rest[ok]] = st.assign[nearest[rest[ok]]]


# ----------------------------------------------------------------------------------------------
# 3. contiguity
# ----------------------------------------------------------------------------------------------


def _components(st: _State, graph: UnitGraph) -> np.ndarray:
    """Component label of every unit within its own territory's induced subgraph."""
    mat = graph.matrix().tocoo()
    same = st.assign[mat.row] == st.assign[mat.col]
    n = len(st.assign)
    sub = sp.csr_matrix((np.ones(same.sum()), (mat.row[same], mat.col[same])), shape=(n, n))
    return connected_components(sub, directed=False)[1]


def _repair_contiguity(st: _State, graph: UnitGraph) -> int:
    """Move every cut-off piece of a territory to its most-touching neighbour; return units moved."""
    moved = 0
    nbrs = st.nbrs
    for _ in range(50):
        comp = _components(st, graph)
        ncomp = comp.max() + 1
        weight = np.bincount(comp, weights=st.w + 1e-6 + 1e3 * st.locked, minlength=ncomp)
        terr_of = np.zeros(ncomp, dtype=np.int64)
        terr_of[comp] = st.assign
        keep = np.full(st.k, -1)
        # main piece of each territory: the heaviest (locked units weigh most)
        order = np.lexsort((-weight, terr_of))
        first = np.r_[True, terr_of[order][1:] != terr_of[order][:-1]]
        keep[terr_of[order[first]]] = order[first]
        orphans = [c for c in range(ncomp) if keep[terr_of[c]] != c]
        if not orphans:
            return moved
        changed = False
        for c in sorted(orphans, key=lambda c: weight[c]):
            units = np.flatnonzero(comp == c)
            if st.locked[units].any():
                continue
            t = terr_of[c]
            touch: dict[int, int] = {}
            for u in units:
                for v in nbrs[u]:
                    tv = int(st.assign[v])
                    if tv != t:
                        touch[tv] = touch.get(tv, 0) + 1
            if not touch:
                continue
            target = max(sorted(touch), key=lambda tv: touch[tv])
            st.assign[units] = target
            moved += len(units)
            changed = True
        if not changed:
            return moved
    return moved


def _regrow(st: _State, graph: UnitGraph) -> int:
    """Repair contiguity by releasing cut-off pieces and regrowing the territories into them.

    Every piece of a territory cut off from its main part is released, and the released units are
    handed out again by growing the territories into them -- always the territory furthest below its
    target next, taking its cheapest (nearest, least disruptive) neighbouring unit; this keeps
    balance. Returns the number of units released.
    """
    import heapq

    comp = _components(st, graph)
    weight = np.bincount(comp, weights=st.w + 1e-6 + 1e3 * st.locked)
    terr_of = np.zeros(len(weight), dtype=np.int64)
    terr_of[comp] = st.assign
    order = np.lexsort((np.arange(len(weight)), -weight, terr_of))
    first = np.r_[True, terr_of[order][1:] != terr_of[order][:-1]]
    main = np.zeros(len(weight), dtype=bool)
    main[order[first]] = True
    free = ~main[comp] & ~st.locked
    if not free.any():
        return 0
    assign = st.assign.copy()
    assign[free] = -1
    s = np.zeros((st.k, st.a.shape[1]))
    ok = assign >= 0
    okx = np.flatnonzero(ok)
    np.add.at(s, assign[okx], st.loads(okx, assign[okx]))
    Tsafe = np.where(st.active, st.T, 1.0)
    heaps: list[list[tuple[float, int]]] = [[] for _ in range(st.k)]
    nbrs = st.nbrs

    def push(t: int, v: int) -> None:
        c = float(st.unit_cost(np.array([v]), np.array([t]))[0])
        heapq.heappush(heaps[t], (c, v))

    for u in np.flatnonzero(free):
        for v in nbrs[u]:
            if assign[v] >= 0:
                push(int(assign[v]), int(u))
    left = int(free.sum())
    while left:
        deficit = np.where(st.active, 1.0 - s / Tsafe, -np.inf).max(axis=1)
        for t in np.argsort(-deficit, kind="stable"):
            h = heaps[t]
            while h and assign[h[0][1]] >= 0:
                heapq.heappop(h)
            if h:
                break
        else:  # unreachable units (no assigned neighbour): keep their old territory
            rest = assign < 0
            assign[rest] = st.assign[rest]
            break
        _, u = heapq.heappop(h)
        t = int(t)
        assign[u] = t
        s[t] += st.loads(u, t)
        left -= 1
        for v in nbrs[u]:
            if assign[v] < 0:
                push(t, v)
    st.assign[:] = assign
    return int(free.sum())


def _cut_units(st: _State, assign: np.ndarray) -> np.ndarray:
    """Find the units whose departure would split their territory.

    The articulation points of every territory's induced subgraph (iterative Hopcroft-Tarjan
    depth-first search, linear time).
    """
    n = len(assign)
    if not st.contiguous:
        return np.zeros(n, dtype=bool)
    ip, ix = st.indptr, st.indices
    src = np.repeat(np.arange(n), np.diff(ip))
    keep = assign[src] == assign[ix]
    sub = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.int8), (src[keep], ix[keep])), (n, n))
    sip, six = sub.indptr.tolist(), sub.indices.tolist()
    disc = [-1] * n
    low = [0] * n
    cut = np.zeros(n, dtype=bool)
    timer = 0
    for root in range(n):
        if disc[root] >= 0:
            continue
        disc[root] = low[root] = timer
        timer += 1
        children = 0
        stack = [(root, -1, sip[root])]
        while stack:
            v, parent, i = stack[-1]
            if i < sip[v + 1]:
                stack[-1] = (v, parent, i + 1)
                w = six[i]
                if disc[w] < 0:
                    disc[w] = low[w] = timer
                    timer += 1
                    stack.append((w, v, sip[w]))
                    if v == root:
                        children += 1
                elif w != parent and disc[w] < low[v]:
                    low[v] = disc[w]
            else:
                stack.pop()
                if parent >= 0:
                    if low[v] < low[parent]:
                        low[parent] = low[v]
                    if parent != root and low[v] >= disc[parent]:
                        cut[parent] = True
        if children > 1:
            cut[root] = True
    return cut


def _connected_without(
    st: _State, u: int, t: int, assign: list[int], local_only: bool = True
) -> bool:
    """Whether territory ``t`` stays connected when unit ``u`` leaves it.

    First checks that ``u``'s neighbours in ``t`` stay linked through their own neighbours (a
    cheap, sufficient test that settles almost every move); with ``local_only`` a move failing
    it is refused (conservative: contiguity is never broken), otherwise a BFS of the territory
    decides.
    """
    if not st.contiguous:
        return True
    nbrs = st.nbrs
    nb = [v for v in nbrs[u] if assign[v] == t]
    if len(nb) <= 1:
        return True
    targets = set(nb)
    # usually the neighbours stay linked through their own neighbours: check that ring first
    ring = set(nb)
    for v in nb:
        ring.update(y for y in nbrs[v] if y != u and assign[y] == t)
    seen = {nb[0]}
    stack = [nb[0]]
    while stack:
        x = stack.pop()
        for y in nbrs[x]:
            if y in ring and y not in seen:
                seen.add(y)
                stack.append(y)
    if targets <= seen:
        return True
    if local_only:
        return False
    seen = {u, nb[0]}
    stack = [nb[0]]
    found = 1
    while stack:
        x = stack.pop()
        for y in st.nbrs[x]:
            if y not in seen and assign[y] == t:
                seen.add(y)
                if y in targets:
                    found += 1
                    if found == len(targets):
                        return True
                stack.append(y)
    return False


# ----------------------------------------------------------------------------------------------
# 4. local search
# ----------------------------------------------------------------------------------------------


def _boundary_moves(st: _State, asg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All single moves of a free unit into a neighbouring territory: ``(unit, from, to)``."""
    ip, ix = st.indptr, st.indices
    u = np.repeat(np.arange(len(asg)), np.diff(ip))
    src, dst = asg[u], asg[ix]
    ok = (src != dst) & ~st.locked[u]
    key = np.unique(u[ok].astype(np.int64) * st.k + dst[ok])
    uu, dd = key // st.k, key % st.k
    return uu, asg[uu], dd


class _Balancer:
    """Working state of :func:`_balance_search`: the plan, every territory's members and sums.

    The objective is the squared excess over the tolerance plus ``mu`` times the squared
    deviation from target (see :func:`_balance_search`).
    """

    def __init__(self, st: _State, mu: float) -> None:
        self.st, self.mu = st, mu
        self.assign = st.assign.tolist()
        self.members: list[set[int]] = [set() for _ in range(st.k)]
        for i, t in enumerate(self.assign):
            self.members[t].add(i)
        self.s = st.sums()
        self.t_l, self.act_l = st.T.tolist(), st.active.tolist()
        self.tol_l, self.a_l = st.tol.tolist(), st.a.tolist()

    def score(self, rows: np.ndarray, t: np.ndarray | int) -> np.ndarray:
        """Objective of territories ``t`` with metric sums ``rows`` (vectorised)."""
        st = self.st
        T, act = st.T[t], st.active[t]
        dev = np.where(act, rows / np.where(act, T, 1.0) - 1.0, 0.0)
        ex = np.maximum(np.abs(dev) - st.tol, 0.0)
        return (ex**2 + self.mu * dev**2).sum(axis=-1)

    def _sc1(self, x: float, t: float, tl: float) -> float:
        dev = x / t - 1.0
        ex = abs(dev) - tl
        return (ex * ex if ex > 0 else 0.0) + self.mu * dev * dev

    def move_gain(self, u: int, src: int, dst: int) -> float:
        """Change of the objective when ``u`` moves (scalar fast path of ``score``)."""
        E, ej, sc1 = self.st.E, self.st.ej, self._sc1
        g = 0.0
        au, s_a, s_b = self.a_l[u], self.s[src].tolist(), self.s[dst].tolist()
        av = au
        if E is not None:
            au, av = list(au), list(au)
            au[ej] += float(E[u, src])
            av[ej] += float(E[u, dst])
        for j, tl in enumerate(self.tol_l):
            if self.act_l[src][j]:
                t = self.t_l[src][j]
                g += sc1(s_a[j] - au[j], t, tl) - sc1(s_a[j], t, tl)
            if self.act_l[dst][j]:
                t = self.t_l[dst][j]
                g += sc1(s_b[j] + av[j], t, tl) - sc1(s_b[j], t, tl)
        return g

    def apply(self, u: int, src: int, dst: int) -> None:
        """Move unit ``u`` from ``src`` to ``dst``."""
        self.assign[u] = dst
        self.members[src].discard(u)
        self.members[dst].add(u)
        self.s[src] -= self.st.loads(u, src)
        self.s[dst] += self.st.loads(u, dst)

    def gains(self, uu: np.ndarray, ss: np.ndarray, dd: np.ndarray) -> np.ndarray:
        """Change of the objective of every boundary move ``uu``: ``ss`` -> ``dd``."""
        s, st, score = self.s, self.st, self.score
        au, av = st.loads(uu, ss), st.loads(uu, dd)
        return score(s[ss] - au, ss) + score(s[dd] + av, dd) - score(s[ss], ss) - score(s[dd], dd)

    def single_moves(
        self, uu: np.ndarray, ss: np.ndarray, dd: np.ndarray, df: np.ndarray, eps: float
    ) -> int:
        """Apply the improving boundary moves, best first, that keep contiguity; how many."""
        assign, members, nbrs = self.assign, self.members, self.st.nbrs
        cand = np.flatnonzero(df < -eps)
        applied = 0
        touched: set[int] = set()  # territories changed in this pass: their gains are stale
        # whether a unit's departure keeps its (untouched, so unchanged) territory connected
        keeps: dict[int, bool] = {}
        for idx in cand[np.argsort(df[cand], kind="stable")].tolist():
            a_, b_ = int(ss[idx]), int(dd[idx])
            u = int(uu[idx])
            if assign[u] != a_ or len(members[a_]) <= 1:
                continue
            if a_ in touched or b_ in touched:  # re-evaluate with the current sums
                if self.move_gain(u, a_, b_) >= -eps or not any(assign[v] == b_ for v in nbrs[u]):
                    continue
            if a_ in touched:
                ok = _connected_without(self.st, u, a_, assign)
            elif u in keeps:
                ok = keeps[u]
            else:
                ok = keeps[u] = _connected_without(self.st, u, a_, assign)
            if not ok:
                continue
            self.apply(u, a_, b_)
            touched.update((a_, b_))
            applied += 1
        return applied

    def swap(self, viol: np.ndarray, eps: float, swap_side: int) -> bool:
        """One improving swap around the most violating territories; whether one was made."""
        # the boundary edges of the plan (edge list of the graph, both directions), once per call
        asg = np.asarray(self.assign)
        src, dst = self.st.edge_src, self.st.indices
        ts, td = asg[src], asg[dst]
        cross = ts != td
        ts, td, es = ts[cross], td[cross], src[cross]
        for t in np.argsort(-viol, kind="stable")[:5]:
            t = int(t)
            if viol[t] <= eps:
                break
            for b in np.unique(td[ts == t]).tolist():
                if self._swap_pair(t, b, eps, swap_side, (ts, td, es)):
                    return True
        return False

    def _pair_sides(
        self, t: int, b: int, swap_side: int, boundary: tuple[np.ndarray, np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Find the free units of ``t`` touching ``b`` and of ``b`` touching ``t``.

        ``boundary``: territory of the source, territory of the target and source unit of every
        edge between territories. At most the ``swap_side`` most helpful units on each side;
        ``None`` when a side has none.
        """
        st, s, score = self.st, self.s, self.score
        ts, td, es = boundary
        ou = np.unique(es[(ts == t) & (td == b)])
        iv = np.unique(es[(ts == b) & (td == t)])
        ou, iv = ou[~st.locked[ou]], iv[~st.locked[iv]]
        if not len(ou) or not len(iv):
            return None
        # long boundaries: only the units whose one-way move helps most on each side
        # (keeps the swap matrix small; a deterministic choice, ties by unit order)
        if len(ou) > swap_side:
            one = score(s[t] - st.loads(ou, t), t) + score(s[b] + st.loads(ou, b), b)
            ou = ou[np.argsort(one, kind="stable")[:swap_side]]
        if len(iv) > swap_side:
            one = score(s[b] - st.loads(iv, b), b) + score(s[t] + st.loads(iv, t), t)
            iv = iv[np.argsort(one, kind="stable")[:swap_side]]
        return ou, iv

    def _swap_pair(
        self,
        t: int,
        b: int,
        eps: float,
        swap_side: int,
        boundary: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> bool:
        """The best swap between ``t`` and ``b`` that keeps both connected; whether one was made."""
        sides = self._pair_sides(t, b, swap_side, boundary)
        if sides is None:
            return False
        ou, iv = sides
        st, s, score = self.st, self.s, self.score
        assign, members, nbrs = self.assign, self.members, st.nbrs
        # change of t's and b's sums when u (of t) and v (of b) swap
        d_t = st.loads(iv, t)[None, :, :] - st.loads(ou, t)[:, None, :]
        d_b = st.loads(ou, b)[:, None, :] - st.loads(iv, b)[None, :, :]
        gain = (
            score(s[t][None, None, :] + d_t, t)
            + score(s[b][None, None, :] + d_b, b)
            - score(s[t], t)
            - score(s[b], b)
        )
        if len(members[t]) <= 1 or len(members[b]) <= 1:
            return False
        # the plan does not change until a swap is made: each unit's departure is checked once
        keeps: dict[int, bool] = {}

        def keeps_connected(x: int, terr: int) -> bool:
            if x not in keeps:
                keeps[x] = _connected_without(st, x, terr, assign)
            return keeps[x]

        for f in np.argsort(gain, axis=None, kind="stable")[:30]:
            i, j = np.unravel_index(f, gain.shape)
            if gain[i, j] >= -eps:
                break
            u, v = int(ou[i]), int(iv[j])
            # t - u and b - v stay connected, and v (u) still touches t - u (b - v)
            if (
                any(assign[x] == t and x != u for x in nbrs[v])
                and any(assign[x] == b and x != v for x in nbrs[u])
                and keeps_connected(u, t)
                and keeps_connected(v, b)
            ):
                self.apply(u, t, b)
                self.apply(v, b, t)
                return True
        return False

    def kick(
        self,
        moves: tuple[np.ndarray, np.ndarray, np.ndarray],
        df: np.ndarray,
        viol: np.ndarray,
        tabu: dict[int, int],
        step: int,
        eps: float,
    ) -> int:
        """Make the least damaging move out of / into a violating territory.

        Only units that are not tabu move. Returns the unit moved, or -1 when none could.
        """
        uu, ss, dd = moves
        bad = viol[ss] + viol[dd] > eps
        order = np.flatnonzero(bad)[np.argsort(df[bad], kind="stable")]
        for idx in order:
            u, a_, b_ = int(uu[idx]), int(ss[idx]), int(dd[idx])
            if tabu.get(u, -1) >= step or len(self.members[a_]) <= 1:
                continue
            if not _connected_without(self.st, u, a_, self.assign):
                continue
            self.apply(u, a_, b_)
            return u
        return -1


def _balance_search(
    st: _State,
    deadline: float,
    max_passes: int = 300,
    mu: float = 0.2,
    max_kicks: int = 60,
    tabu_tenure: int = 25,
    swap_side: int = 60,
) -> dict[str, int]:
    """Reduce the balance violation by boundary moves (and swaps when single moves are stuck).

    Swaps try at most ``swap_side`` boundary units per side of a territory pair.

    The objective is the squared excess over the tolerance plus ``mu`` times the squared
    deviation from target: the small second term lets territories inside their tolerance make
    room for a violating neighbour, so violations can be pushed along chains of territories.
    """
    bal = _Balancer(st, mu)
    n_moves = n_swaps = n_kicks = 0
    eps = 1e-12
    tabu: dict[int, int] = {}
    best_viol, best_assign, since_best = np.inf, list(bal.assign), 0
    for step in range(max_passes):
        viol = st.violation(bal.s)
        if viol.sum() < best_viol - eps:
            best_viol, best_assign, since_best = float(viol.sum()), list(bal.assign), 0
        if viol.sum() <= eps or time.process_time() > deadline or since_best > max_kicks:
            break
        uu, ss, dd = _boundary_moves(st, np.asarray(bal.assign))
        df = bal.gains(uu, ss, dd)
        applied = bal.single_moves(uu, ss, dd, df, eps)
        n_moves += applied
        if applied:
            continue
        # single moves are stuck: try swaps around the most violating territories
        if bal.swap(viol, eps, swap_side):
            n_swaps += 1
            continue
        # stuck in a local optimum: kick -- the least damaging move out of / into a violating
        # territory whose unit has not moved recently (tabu), then continue improving
        since_best += 1
        kicked = bal.kick((uu, ss, dd), df, viol, tabu, step, eps)
        if kicked < 0:
            break
        tabu[kicked] = step + tabu_tenure
        n_kicks += 1
    assign = bal.assign
    if st.violation(bal.s).sum() > best_viol + eps:
        assign = best_assign
    st.assign[:] = assign
    return {"balance_moves": n_moves, "balance_swaps": n_swaps, "balance_kicks": n_kicks}


def _exchange_lp(st: _State, tighten: float = 0.5) -> dict[str, Any]:
    """Balance by an exchange of boundary units, planned by one LP and applied move by move.

    Every free unit on a territory boundary may stay or join a territory it touches. The LP
    (HiGHS) picks the exchange of minimum cost (weighted squared distance to the centres plus
    continuity) that brings every territory's every metric within ``tighten x tolerance`` of its
    target (elastic: the least total excess when that is impossible), so surplus travels along
    chains of territories in one step. The planned moves are then applied one at a time, only
    while the losing territory stays connected and the unit still touches the receiving one.
    Returns the number of moves applied and planned.
    """
    asg = st.assign
    uu, ss, dd = _boundary_moves(st, asg)
    # only units whose departure keeps their territory connected (checked once per unit)
    ok = ~_cut_units(st, asg)[uu]
    uu, ss, dd = uu[ok], ss[ok], dd[ok]
    if len(uu) == 0:
        return {"planned": 0, "applied": 0}
    units = np.unique(uu)
    # variables: (unit, own territory) for every boundary unit, then (unit, neighbour territory)
    vu = np.r_[units, uu]
    vt = np.r_[asg[units], dd]
    pos = np.asarray(np.searchsorted(units, vu))  # row of the unit in the assignment rows
    res = _exchange_solve(st, units, vu, vt, pos, tighten)
    if res is None:
        return {"planned": 0, "applied": 0}
    nv, nb = len(vu), (len(res.x) - len(vu)) // 4
    x = res.x[:nv]
    order = np.lexsort((vt, -x, pos))
    first = np.r_[True, pos[order][1:] != pos[order][:-1]]
    sel = order[first]
    want = np.full(len(asg), -1)
    want[vu[sel]] = vt[sel]
    _round_split_units(st, x, vu, vt, want)
    movers = np.flatnonzero((want >= 0) & (want != asg))
    applied = _apply_planned_moves(st, want, movers)
    return {
        "planned": len(movers),
        "applied": applied,
        "slack": float(res.x[nv : nv + 2 * nb].sum()),
        "excess": float(res.x[nv + 2 * nb :].sum()),
    }


def _exchange_solve(
    st: _State,
    units: np.ndarray,
    vu: np.ndarray,
    vt: np.ndarray,
    pos: np.ndarray,
    tighten: float,
) -> Any:
    """Solve the exchange LP of :func:`_exchange_lp` (``None`` without balance rows).

    Variables: one per (unit ``vu``, territory ``vt``), then four elastic slacks per active
    (territory, metric) row; ``pos`` is each variable's unit row in ``units``.
    """
    asg, k = st.assign, st.k
    nv = len(vu)
    cost = st.unit_cost(vu, vt)
    inside = np.ones(len(asg), dtype=bool)
    inside[units] = False
    base = np.zeros((k, st.a.shape[1]))
    ins = np.flatnonzero(inside)
    np.add.at(base, asg[ins], st.loads(ins, asg[ins]))
    act = np.argwhere(st.active)  # (territory, metric) rows
    nb = len(act)
    if nb == 0:
        return None
    row_of = np.full((k, st.a.shape[1]), -1)
    row_of[act[:, 0], act[:, 1]] = np.arange(nb)
    br, bc, bv = [], [], []
    for m in range(st.a.shape[1]):
        r = row_of[vt, m]
        ok = r >= 0
        br.append(r[ok])
        bc.append(np.flatnonzero(ok))
        bv.append(st.loads(vu[ok], vt[ok])[:, m] / st.T[vt[ok], m])
    B = sp.csr_matrix(
        (np.concatenate(bv), (np.concatenate(br), np.concatenate(bc))), shape=(nb, nv)
    )
    b0 = base[act[:, 0], act[:, 1]] / st.T[act[:, 0], act[:, 1]]
    tl = st.tol[act[:, 1]] * tighten
    hi, lo = 1.0 + tl - b0, 1.0 - tl - b0
    # elastic slacks in two tiers: up to the tolerance itself (dear), beyond it (far dearer)
    big = 1e3 * float(np.abs(cost).max() if nv else 1.0) * max(1.0, len(units) / k)
    eye = sp.identity(nb, format="csr")
    zero = sp.csr_matrix((nb, nb))
    A_ub = sp.vstack(
        [sp.hstack([B, -eye, zero, -eye, zero]), sp.hstack([-B, zero, -eye, zero, -eye])]
    ).tocsr()
    A_eq = sp.hstack(
        [
            sp.csr_matrix((np.ones(nv), (pos, np.arange(nv))), shape=(len(units), nv)),
            sp.csr_matrix((len(units), 4 * nb)),
        ]
    ).tocsr()
    tier1 = np.r_[st.tol[act[:, 1]] - tl, st.tol[act[:, 1]] - tl]
    bounds = np.r_[np.full(nv, np.inf), tier1, np.full(2 * nb, np.inf)]
    res = linprog(
        np.r_[cost, np.full(2 * nb, big), np.full(2 * nb, 30 * big)],
        A_ub=A_ub,
        b_ub=np.r_[hi, -lo],
        A_eq=A_eq,
        b_eq=np.ones(len(units)),
        bounds=np.column_stack([np.zeros(nv + 4 * nb), bounds]),
        method="highs-ds",
    )
    if res.x is None:  # pragma: no cover - elastic LP is always feasible
        return None
    return res


def _round_split_units(
    st: _State, x: np.ndarray, vu: np.ndarray, vt: np.ndarray, want: np.ndarray
) -> None:
    """Send every unit the LP split to the side that leaves the least excess (``want``).

    A vertex solution has at most one split unit per binding balance row; each goes, the
    largest first, where it leaves the least excess over the tolerance given the others.
    """
    asg, k = st.assign, st.k
    split = np.unique(vu[(x > 1e-6) & (x < 1 - 1e-6)])
    if not len(split):
        return
    want_all = np.where(want >= 0, want, asg)
    fixed = np.ones(len(asg), dtype=bool)
    fixed[split] = False
    sums = np.zeros((k, st.a.shape[1]))
    fx = np.flatnonzero(fixed)
    np.add.at(sums, want_all[fx], st.loads(fx, want_all[fx]))
    frac = (x > 1e-6) & (x < 1 - 1e-6)
    for u in split[np.argsort(-st.w[split], kind="stable")].tolist():
        opts = np.unique(vt[(vu == u) & frac])
        before = st.violation(sums[opts], opts)
        after = st.violation(sums[opts] + st.loads(u, opts), opts)
        t = int(opts[np.argmin(after - before)])
        want[u] = t
        sums[t] += st.loads(u, t)


def _apply_planned_moves(st: _State, want: np.ndarray, movers: np.ndarray) -> int:
    """Apply, repeatedly, the planned moves that keep contiguity (largest load first).

    A move waits while its unit does not touch the receiving territory or its departure
    would cut its territory; returns how many moves were applied.
    """
    asg, k = st.assign, st.k
    assign = asg.tolist()
    size = np.bincount(asg, minlength=k).tolist()
    nbrs = st.nbrs
    todo = movers[np.argsort(-st.w[movers], kind="stable")].tolist()
    applied = 0
    while todo:
        rest = []
        for u in todo:
            a_, b_ = assign[u], int(want[u])
            if size[a_] <= 1 or not any(assign[v] == b_ for v in nbrs[u]):
                rest.append(u)
                continue
            if not _connected_without(st, u, a_, assign):
                rest.append(u)
                continue
            assign[u] = b_
            size[a_] -= 1
            size[b_] += 1
            applied += 1
        if len(rest) == len(todo):
            break
        todo = rest
    st.assign[:] = assign
    return applied


def _compact_search(st: _State, passes: int, deadline: float) -> int:
    """Boundary moves that lower cost while every touched territory stays within tolerance."""
    assign = st.assign.tolist()
    members: list[set[int]] = [set() for _ in range(st.k)]
    for i, t in enumerate(assign):
        members[t].add(i)
    s = st.sums()
    n_moves = 0
    for _ in range(passes):
        if time.process_time() > deadline:
            break
        asg = np.array(assign)
        uu, ss, dd = _boundary_moves(st, asg)
        if len(uu) == 0:
            break
        dc = st.unit_cost(uu, dd) - st.unit_cost(uu, ss)
        improving = np.flatnonzero(dc < -1e-9)
        if len(improving) == 0:
            break
        moved_here = 0
        for idx in improving[np.argsort(dc[improving], kind="stable")].tolist():
            u, a_, b_ = int(uu[idx]), int(ss[idx]), int(dd[idx])
            if assign[u] != a_ or len(members[a_]) <= 1:
                continue
            if not any(assign[v] == b_ for v in st.nbrs[u]):
                continue
            s_a, s_b = s[a_] - st.loads(u, a_), s[b_] + st.loads(u, b_)
            if st.violation(s_a, a_) > 1e-12 or st.violation(s_b, b_) > 1e-12:
                continue
            if not _connected_without(st, u, a_, assign):
                continue
            assign[u] = b_
            members[a_].discard(u)
            members[b_].add(u)
            s[a_], s[b_] = s_a, s_b
            moved_here += 1
        n_moves += moved_here
        if not moved_here:
            break
    st.assign[:] = assign
    return n_moves


def _cost_swaps(st: _State, passes: int, deadline: float, max_side: int = 60) -> int:
    """Pairwise exchanges that lower cost while both territories stay within tolerance.

    For every pair of neighbouring territories (every pair without contiguity) the units on
    their common boundary (up to ``max_side`` per side, cheapest to move first) are tried in
    swaps; the best improving feasible swap is applied, connectivity permitting. Together
    with the single moves of the compactness step this closes most of the gap that rounding
    the assignment LP leaves on small instances.
    """
    n_swaps = 0
    for _ in range(passes):
        if time.process_time() > deadline:
            break
        asg = st.assign
        s = st.sums()
        if st.contiguous:
            uu, ss, dd = _boundary_moves(st, asg)
        else:
            uu = np.repeat(np.flatnonzero(~st.locked), st.k)
            dd = np.tile(np.arange(st.k), int((~st.locked).sum()))
            ss = asg[uu]
            keep = ss != dd
            uu, ss, dd = uu[keep], ss[keep], dd[keep]
        if len(uu) == 0:
            break
        gain = st.unit_cost(uu, dd) - st.unit_cost(uu, ss)  # cost change of the one-way move
        pairs: dict[tuple[int, int], list[tuple[float, int]]] = {}
        for g, u, a_, b_ in zip(gain.tolist(), uu.tolist(), ss.tolist(), dd.tolist(), strict=True):
            pairs.setdefault((a_, b_), []).append((g, u))
        applied = 0
        assign = asg.tolist()
        done: set[int] = set()
        for (a_, b_), lst in sorted(pairs.items()):
            if a_ > b_ or (b_, a_) not in pairs or a_ in done or b_ in done:
                continue
            out_a = [u for _, u in sorted(lst)[:max_side]]
            out_b = [v for _, v in sorted(pairs[(b_, a_)])[:max_side]]
            ua, vb = np.array(out_a), np.array(out_b)
            dc = (st.unit_cost(ua, np.full(len(ua), b_)) - st.unit_cost(ua, np.full(len(ua), a_)))[
                :, None
            ] + (st.unit_cost(vb, np.full(len(vb), a_)) - st.unit_cost(vb, np.full(len(vb), b_)))[
                None, :
            ]
            la_a, la_b = st.loads(ua, a_), st.loads(ua, b_)
            lb_b, lb_a = st.loads(vb, b_), st.loads(vb, a_)
            new_a = s[a_][None, None, :] - la_a[:, None, :] + lb_a[None, :, :]
            new_b = s[b_][None, None, :] - lb_b[None, :, :] + la_b[:, None, :]
            ok = (st.violation(new_a, a_) <= 1e-12) & (st.violation(new_b, b_) <= 1e-12)
            dc = np.where(ok, dc, np.inf)
            for f in np.argsort(dc, axis=None, kind="stable")[:10]:
                i, j = np.unravel_index(f, dc.shape)
                if not dc[i, j] < -1e-9:
                    break
                u, v = int(ua[i]), int(vb[j])
                if st.contiguous:
                    assign[u], assign[v] = b_, a_
                    good = any(assign[x] == b_ for x in st.nbrs[u] if x != v) and any(
                        assign[x] == a_ for x in st.nbrs[v] if x != u
                    )
                    assign[u], assign[v] = a_, b_
                    if not good:
                        continue
                    if not (
                        _connected_without(st, u, a_, assign, local_only=False)
                        and _connected_without(st, v, b_, assign, local_only=False)
                    ):
                        continue
                assign[u], assign[v] = b_, a_
                st.assign[u], st.assign[v] = b_, a_
                s[a_] = new_a[i, j]
                s[b_] = new_b[i, j]
                done.update((a_, b_))
                applied += 1
                break
        n_swaps += applied
        if not applied:
            break
    return n_swaps


def _territory_connected(st: _State, members: np.ndarray) -> bool:
    """Whether ``members`` (unit numbers) form one connected piece on the adjacency."""
    if len(members) <= 1:
        return True
    inside = set(members.tolist())
    seen = {int(members[0])}
    stack = [int(members[0])]
    while stack:
        x = stack.pop()
        for y in st.nbrs[x]:
            if y in inside and y not in seen:
                seen.add(y)
                stack.append(y)
    return len(seen) == len(inside)


def _neighbour_pairs(st: _State) -> list[tuple[int, int]]:
    """Pairs of territories that touch (every pair when contiguity is off), sorted."""
    asg = st.assign
    if not st.contiguous:
        return [(a_, b_) for a_ in range(st.k) for b_ in range(a_ + 1, st.k)]
    ip, ix = st.indptr, st.indices
    src = np.repeat(np.arange(len(asg)), np.diff(ip))
    a_t, b_t = asg[src], asg[ix]
    keep = a_t < b_t
    return sorted(set(zip(a_t[keep].tolist(), b_t[keep].tolist(), strict=True)))


def _pair_rows(
    st: _State, U: np.ndarray, a_: int, b_: int
) -> tuple[list[np.ndarray], list[float], list[float]]:
    """Balance rows of the pair MILP: ``lo <= row @ y <= hi`` (``y = 1``: the unit goes to b)."""
    La, Lb = st.loads(U, a_), st.loads(U, b_)
    rows, lo, hi = [], [], []
    for j in range(st.a.shape[1]):
        for t, L, sign in ((a_, La, -1.0), (b_, Lb, 1.0)):
            if not st.active[t, j]:
                continue
            T = st.T[t, j]
            lo_t, hi_t = T * (1 - st.tol[j]), T * (1 + st.tol[j])
            if sign < 0:  # territory a holds the units with y = 0: sum L - sum L y
                rows.append(-L[:, j])
                lo.append(lo_t - L[:, j].sum())
                hi.append(hi_t - L[:, j].sum())
            else:
                rows.append(L[:, j])
                lo.append(lo_t)
                hi.append(hi_t)
    return rows, lo, hi


def _resplit_pair(st: _State, a_: int, b_: int, max_units: int) -> bool:
    """Re-divide the units of territories ``a_`` and ``b_`` optimally; whether it improved."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    U = np.flatnonzero((st.assign == a_) | (st.assign == b_))
    if len(U) > max_units or len(U) < 2:
        return False
    ca = st.unit_cost(U, np.full(len(U), a_))
    cb = st.unit_cost(U, np.full(len(U), b_))
    rows, lo, hi = _pair_rows(st, U, a_, b_)
    now = (st.assign[U] == b_).astype(float)
    lb = np.zeros(len(U))
    ub = np.ones(len(U))
    lk = st.locked[U]
    lb[lk], ub[lk] = now[lk], now[lk]
    res = milp(
        cb - ca,
        constraints=LinearConstraint(np.array(rows), lo, hi) if rows else (),
        integrality=np.ones(len(U)),
        bounds=Bounds(lb, ub),
        options={"time_limit": 30.0, "node_limit": 2000, "disp": False},
    )
    if res.x is None:
        return False
    y = np.round(res.x)
    if (cb - ca) @ y >= (cb - ca) @ now - 1e-9:
        return False
    if st.contiguous and not (
        _territory_connected(st, U[y == 0]) and _territory_connected(st, U[y == 1])
    ):
        return False
    if (y == 0).all() or (y == 1).all():
        return False
    st.assign[U] = np.where(y == 1, b_, a_)
    return True


def _pair_milp(st: _State, passes: int, deadline: float, max_units: int = 80) -> int:
    """Re-split pairs of neighbouring territories optimally (a small MILP on HiGHS each).

    All units of two territories (at most ``max_units``) are re-divided between them at least
    cost with both within tolerance; the result is kept when it is cheaper and both stay
    connected. Applied to every neighbouring pair (every pair without contiguity) until no
    pair improves: on small instances this closes most of the gap to the exact optimum.
    Returns the number of improved pairs.
    """
    improved = 0
    for _ in range(passes):
        if time.process_time() > deadline:
            break
        changed = 0
        for a_, b_ in _neighbour_pairs(st):
            if time.process_time() > deadline:
                break
            changed += int(_resplit_pair(st, a_, b_, max_units))
        improved += changed
        if not changed:
            break
    return improved


def _territory_groups(st: _State, size: int) -> list[tuple[int, ...]]:
    """List the groups of ``size`` territories that can exchange units.

    Connected on the territory adjacency (with contiguity), or any ``size`` territories (without).
    """
    from itertools import combinations

    if not st.contiguous:
        return list(combinations(range(st.k), size))
    asg = st.assign
    src = np.repeat(np.arange(len(asg)), np.diff(st.indptr))
    a_t, b_t = asg[src], asg[st.indices]
    diff = a_t != b_t
    adj: list[set[int]] = [set() for _ in range(st.k)]
    for x, y in zip(a_t[diff].tolist(), b_t[diff].tolist(), strict=True):
        adj[x].add(y)
    groups: set[tuple[int, ...]] = set()
    for t in range(st.k):
        for combo in combinations(sorted(adj[t]), size - 1):
            groups.add(tuple(sorted((t, *combo))))
    return sorted(groups)


def _group_milp(st: _State, size: int, deadline: float, max_units: int = 90) -> int:
    """Re-divide the units of groups of ``size`` neighbouring territories optimally.

    A small MILP on HiGHS each (least cost, every territory of the group within tolerance); kept
    when cheaper and, with contiguity, every territory of the group stays connected. One pass over
    all groups; returns the number of improved groups. (Pairs alone leave plans in which only a
    chain of three territories can lower the cost: a unit moves from A to B while B hands one on to
    C.)
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    improved = 0
    for grp in _territory_groups(st, size):
        if time.process_time() > deadline:
            break
        g = np.array(grp)
        U = np.flatnonzero(np.isin(st.assign, g))
        if len(U) > max_units or len(U) < size:
            continue
        m = len(g)
        # variables: unit i in territory g[j] at column i * m + j
        cost = np.column_stack([st.unit_cost(U, np.full(len(U), t)) for t in g]).ravel()
        loads = np.stack([st.loads(U, np.full(len(U), t)) for t in g], axis=1)  # (U, m, metrics)
        rows, lo, hi = [], [], []
        for j, t in enumerate(g):
            for q in range(st.a.shape[1]):
                if not st.active[t, q]:
                    continue
                r = np.zeros(len(U) * m)
                r[j::m] = loads[:, j, q]
                rows.append(r)
                lo.append(st.T[t, q] * (1 - st.tol[q]))
                hi.append(st.T[t, q] * (1 + st.tol[q]))
        one = np.zeros((len(U), len(U) * m))
        for i in range(len(U)):
            one[i, i * m : (i + 1) * m] = 1.0
        now = (st.assign[U][:, None] == g[None, :]).astype(float).ravel()
        lb, ub = np.zeros(len(U) * m), np.ones(len(U) * m)
        lk = np.repeat(st.locked[U], m)
        lb[lk], ub[lk] = now[lk], now[lk]
        cons = [LinearConstraint(one, 1.0, 1.0)]
        if rows:
            cons.append(LinearConstraint(np.array(rows), lo, hi))
        res = milp(
            cost,
            constraints=cons,
            integrality=np.ones(len(U) * m),
            bounds=Bounds(lb, ub),
            options={"time_limit": 30.0, "node_limit": 2000, "disp": False},
        )
        if res.x is None or cost @ np.round(res.x) >= cost @ now - 1e-9:
            continue
        new = g[np.round(res.x).reshape(len(U), m).argmax(axis=1)]
        if any((new == t).sum() == 0 for t in g):
            continue
        if st.contiguous and not all(_territory_connected(st, U[new == t]) for t in g):
            continue
        st.assign[U] = new
        improved += 1
    return improved


# ----------------------------------------------------------------------------------------------
# public entry point
# ----------------------------------------------------------------------------------------------


def _check_units(
    units: pd.DataFrame,
    id_col: str,
    coord_cols: tuple[str, str],
    metrics: Sequence[str],
    extra: Sequence[str],
) -> list[str]:
    problems = []
    need = [id_col, *coord_cols, *metrics, *extra]
    missing = [c for c in need if c not in units.columns]
    if missing:
        problems.append(
            f"units table lacks column(s) {missing}; it has {list(units.columns)}. "
            "Pass the column names via columns=UnitColumns(id_col=..., coord_cols=...) and metrics."
        )
        return problems
    if units[id_col].isna().any() or units[id_col].duplicated().any():
        dup = units.loc[units[id_col].duplicated(), id_col].head(5).tolist()
        problems.append(
            f"column '{id_col}' must hold unique, non-empty unit ids; duplicates e.g. {dup}"
        )
    for c in [*coord_cols, *metrics]:
        v = pd.to_numeric(units[c], errors="coerce")
        bad = units.loc[~np.isfinite(v.to_numpy(dtype=float, na_value=np.nan)), id_col]
        if len(bad):
            problems.append(
                f"column '{c}' has {len(bad)} missing or non-numeric value(s), e.g. units "
                f"{bad.head(5).tolist()}: fill them (coordinates from the postal code, metrics 0)"
            )
        elif c in metrics and (v < 0).any():
            neg = units.loc[v < 0, id_col].head(5).tolist()
            problems.append(f"column '{c}' has negative values (units {neg}); metrics must be ≥ 0")
    return problems


def _unit_by_territory(
    m: np.ndarray | pd.DataFrame, name: str, ids: np.ndarray, territory_ids: list[str]
) -> np.ndarray:
    """A ``(units x territories)`` matrix in unit and territory order, checked."""
    if isinstance(m, pd.DataFrame):
        m = m.copy()
        m.index = m.index.astype(str)
        m.columns = m.columns.astype(str)
        miss_u = [i for i in ids[:] if i not in m.index][:5]
        miss_t = [t for t in territory_ids if t not in m.columns][:5]
        if miss_u or miss_t:
            raise ValueError(
                f"{name} matrix lacks units {miss_u} / territories {miss_t}: it needs one row per "
                "unit id and one column per territory id"
            )
        arr = m.loc[list(ids), list(territory_ids)].to_numpy(dtype=float)
    else:
        arr = np.asarray(m, dtype=float)
    if arr.shape != (len(ids), len(territory_ids)):
        raise ValueError(
            f"{name} matrix must have shape ({len(ids)} units, {len(territory_ids)} territories); "
            f"got {arr.shape}"
        )
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"{name} matrix must be finite and non-negative")
    return arr


def _base_coordinates(
    bases: pd.DataFrame,
    territory_ids: list[str],
    coord_cols: tuple[str, str],
    planar: bool,
    c1: np.ndarray,
) -> np.ndarray:
    """Base of every territory in the units' planar km (same projection as the units)."""
    need = ["territory_id", *coord_cols]
    miss = [c for c in need if c not in bases.columns]
    if miss:
        raise ValueError(f"bases needs columns {need}; it lacks {miss}")
    b = bases.set_index(bases["territory_id"].astype(str))
    absent = [t for t in territory_ids if t not in b.index]
    if absent:
        raise ValueError(f"bases has no row for territories {absent[:5]}")
    v = b.loc[territory_ids, list(coord_cols)].to_numpy(dtype=float)
    if not np.isfinite(v).all():
        raise ValueError("bases has missing coordinates: every territory needs a base")
    if planar:
        return v
    lat0 = np.radians(np.nanmean(c1))
    return np.column_stack([v[:, 1] * 111.320 * np.cos(lat0), v[:, 0] * 110.574])


@dataclass(frozen=True)
class SolverSettings:
    """How the optimiser searches -- not what it solves.

    What it solves is the problem: units, metrics, tolerances, edges, locks, today's plan, targets,
    bases, objective.

    One frozen value with today's defaults, shared by :func:`design_territories`,
    :func:`~salesanalytics.analyses.territory.plan.run_scenario` (a
    :class:`~salesanalytics.analyses.territory.plan.ScenarioSettings`, default
    :data:`~salesanalytics.analyses.territory.plan.SCENARIO_SETTINGS`) and
    :func:`~salesanalytics.analyses.territory.exact.exact_territories` (``time_limit`` only).
    Change a field with :func:`dataclasses.replace` or :func:`solver_settings`.

    Attributes
    ----------
    candidates
        Number of nearest centres a unit may be assigned to in the assignment LP.
    candidates_large
        The same on large instances with free centres (more than ``large_lp`` units x
        territories): every further candidate densifies the interior point's normal equations
        (measured on the 8,308 German PLZ x 80, CPU seconds of the design at ±3%: 12 candidates
        39-42, 8: 23, 6: 16; every territory within ±3% and contiguous with each, compactness
        22.4 km instead of 21.7). With fixed bases the units need the wider choice (Swiss
        postal codes x 50 with 6 candidates: 26 of 50 territories within ±3% instead of 42)
        and keep ``candidates``.
    large_lp
        Units x territories from which ``candidates_large`` applies.
    lp_tightening
        The LP balances the combined metric to ``lp_tightening × tolerance`` (room for rounding).
    lp_relax
        Each single metric is held in the LP to ``lp_relax × lp_tightening × tolerance`` (the
        local search tightens it to the tolerance); ``inf`` balances only the combined metric.
    max_iter
        Location-allocation iterations (assignment LP + centre update).
    warm_start
        ``"current"``: today's territories; ``"kmeans"``: compact k-means++ regions named
        after today's territories by the matching that keeps most continuity value. Without
        current territories k-means++ is used either way.
    max_passes
        Work budget of the local search (passes over all boundary moves); with it, results are
        deterministic for a seed.
    exchange_rounds
        Rounds of exchange LP + local search in the balance step (0 = local search only).
    exchange_tightening
        The exchange LP aims at every metric within this share of its tolerance.
    both_repairs
        Balance after both contiguity repairs when the first does not reach the tolerance
        everywhere (``False``: only the regrowing repair).
    time_limit
        Safety limit in CPU seconds of this process for the search (a run cut short by it,
        ``summary["time_limit_reached"]``, may not be reproducible).
    seed
        Seed of the k-means++ warm start.
    polish_passes
        Passes of cost-lowering swaps between neighbouring territories at the end; 0 = none.
    pair_milp_units
        On instances with at most this many units, the polish also re-splits every pair of
        neighbouring territories exactly (a small MILP each).
    repair_layers
        Territories still outside the band at the end are repaired by a MILP over their
        neighbourhood (:mod:`~salesanalytics.analyses.territory.repair`): units within this
        many steps of a boundary in the group may move; 0 = no repair.
    repair_milps
        Most MILPs the repair solves (each within a node limit, so that the plan does not
        depend on the machine's load).
    """

    candidates: int = 12
    candidates_large: int = 6
    large_lp: int = 300_000
    lp_tightening: float = 0.5
    lp_relax: float = 4.0
    max_iter: int = 4
    warm_start: str = "current"
    max_passes: int = 300
    exchange_rounds: int = 6
    exchange_tightening: float = 0.5
    both_repairs: bool = True
    time_limit: float = 60.0
    seed: int = 0
    polish_passes: int = 20
    pair_milp_units: int = 400
    repair_layers: int = 3
    repair_milps: int = 6


def solver_settings(settings: SolverSettings | None = None, **changes: Any) -> SolverSettings:
    """``settings`` (default :class:`SolverSettings`) with some fields changed.

    Raises
    ------
    TypeError
        For a name that is not a solver setting (listing the settings there are).
    """
    base = settings or SolverSettings()
    names = {f.name for f in fields(base)}
    unknown = sorted(set(changes) - names)
    if unknown:
        raise TypeError(
            f"unknown solver setting(s) {unknown}; {type(base).__name__} has {sorted(names)}"
        )
    return replace(base, **changes)


@dataclass
class _Problem:
    """The problem as arrays (unit / territory order), built once by :func:`_setup`."""

    ids: np.ndarray
    metrics: list[str]
    territory_ids: list[str]
    shares: np.ndarray
    share_m: np.ndarray
    cur: np.ndarray
    cur_lab: np.ndarray
    locked: np.ndarray
    cval: np.ndarray
    start: np.ndarray | None
    graph: UnitGraph
    c1: np.ndarray
    tol: np.ndarray
    w: np.ndarray  # compactness weight before any objective scaling


@dataclass(frozen=True)
class UnitColumns:
    """Where the units table holds what (the column names of a territory problem).

    Attributes
    ----------
    id_col
        Unique unit id.
    coord_cols
        The two coordinate columns: ``latitude``, ``longitude`` in degrees, or planar ``x``,
        ``y`` in km with ``planar=True``. ``None``: the units have no coordinates; the cost is
        then the ``distance`` matrix of :class:`Bases` (required), the neighbourhood the
        ``edges`` (required unless ``contiguity=False``).
    planar
        The coordinates are planar km, not degrees.
    current_col
        Today's territory id per unit (missing = none).
    locked_col
        Bool: the unit stays in its current territory (and counts towards its balance).
    start_col
        A complete plan (territory id per unit) to start from instead, e.g. the main scenario
        when computing a variant of it; with ``max_iter=0`` only the local search runs (a cheap
        variant with another tolerance or continuity weight).
    compactness_col
        Weight of a unit's squared distance to its centre; default the combined metric (each
        metric as a share of its total, summed).
    continuity_col
        Value lost when the unit changes territory (e.g. customer revenue); default the first
        metric.
    """

    id_col: str = "unit_id"
    coord_cols: tuple[str, str] | None = ("latitude", "longitude")
    planar: bool = False
    current_col: str | None = None
    locked_col: str | None = None
    start_col: str | None = None
    compactness_col: str | None = None
    continuity_col: str | None = None


@dataclass(frozen=True)
class Targets:
    """The territories' names and relative sizes (targets = metric totals x normalised shares).

    Attributes
    ----------
    territory_ids
        Names of the territories. Default: today's territory ids when their number matches
        ``n_territories``, else ``T01``, ``T02``, ...
    target_shares
        Territory id -> relative size (e.g. the FTE of its rep). Default equal shares.
    metric_shares
        Optional per-metric territory shares overriding ``target_shares`` for that metric,
        e.g. ``{"workload": {territory: capacity hours of its rep}}``: workload then follows
        each rep's capacity (utilisation equal) while potential follows the FTE.
    """

    territory_ids: Sequence[str] | None = None
    target_shares: Mapping[str, float] | None = None
    metric_shares: Mapping[str, Mapping[str, float]] | None = None


@dataclass(frozen=True)
class Bases:
    """Fixed bases of the territories (a rep's home or office) and the costs measured from them.

    Territories are then built around their bases (the cost is the distance of a unit to its
    territory's base, not to a moving centre) -- the objective ``"bases"``.

    Attributes
    ----------
    locations
        One row per territory with ``territory_id`` and the units' coordinate columns.
    distance
        Optional ``(units x territories)`` distance or travel-time matrix from every unit to
        every territory's base (rows in unit order, columns in territory order, or a frame
        indexed by unit id with territory-id columns); replaces straight-line distance and
        fixes the centres at the bases.
    travel
        Optional ``(units x territories)`` load that a unit adds to ``travel_metric`` when it
        belongs to a territory: e.g. the hours a territory's rep drives from their base to the
        unit's accounts a year. The metric is then balanced *including* travel, against
        targets taken from the plan's total (travel depends on the plan).
    travel_metric
        The metric that ``travel`` adds to (default: the last metric).
    """

    locations: pd.DataFrame | None = None
    distance: np.ndarray | pd.DataFrame | None = None
    travel: np.ndarray | pd.DataFrame | None = None
    travel_metric: str | None = None


_LEGACY_GROUPS: dict[str, type] = {
    **{f.name: UnitColumns for f in fields(UnitColumns)},
    **{f.name: Targets for f in fields(Targets)},
    **{f.name: Bases for f in fields(Bases) if f.name != "locations"},
}


def _problem_groups(
    columns: UnitColumns | None,
    targets: Targets | None,
    bases: Bases | pd.DataFrame | None,
    settings: SolverSettings | None,
    legacy: Mapping[str, Any],
) -> tuple[UnitColumns, Targets, Bases | None, SolverSettings]:
    """Fold the keywords of the earlier flat signature into the groups.

    ``legacy`` holds keywords such as ``coord_cols=...``, ``territory_ids=...``,
    ``bases=<frame>``, ``travel=...`` or ``seed=...``, each changing a field of its group.
    Kept for one release for notebooks outside the package; they warn (DeprecationWarning).

    Raises
    ------
    TypeError
        For a keyword that is neither a field of a group nor a solver setting.
    """
    changes: dict[type, dict[str, Any]] = {UnitColumns: {}, Targets: {}, Bases: {}}
    solver: dict[str, Any] = {}
    for key, value in legacy.items():
        group = _LEGACY_GROUPS.get(key)
        if group is None:
            solver[key] = value
        else:
            changes[group]["locations" if key == "bases" else key] = value
    old = sorted(legacy)
    if isinstance(bases, pd.DataFrame):
        changes[Bases].setdefault("locations", bases)
        bases, old = None, sorted([*old, "bases"])
    if old:
        warnings.warn(
            f"keywords {old} are deprecated: pass columns=UnitColumns(...), "
            "targets=Targets(...), bases=Bases(...) or settings=SolverSettings(...)",
            DeprecationWarning,
            stacklevel=3,
        )
    cols = replace(columns or UnitColumns(), **changes[UnitColumns])
    tgt = replace(targets or Targets(), **changes[Targets])
    if changes[Bases]:
        bases = replace(bases or Bases(), **changes[Bases])
    return cols, tgt, bases, solver_settings(settings, **solver)


def design_territories(
    units: pd.DataFrame,
    n_territories: int | None = None,
    *,
    metrics: Sequence[str] = ("potential", "workload"),
    tolerance: float | Mapping[str, float] = 0.05,
    columns: UnitColumns | None = None,
    edges: pd.DataFrame | None = None,
    targets: Targets | None = None,
    bases: Bases | None = None,
    continuity_weight: float = 0.0,
    initial_centres: pd.DataFrame | None = None,
    contiguity: bool = True,
    objective: str = "compactness",
    settings: SolverSettings | None = None,
    **legacy: Any,
) -> TerritoryResult:
    """Partition units into balanced, contiguous, compact territories.

    Works on any geography: the units are a plain table, the neighbourhood an optional edge list.
    The arguments state the PROBLEM; how hard the search works is ``settings`` (a
    :class:`SolverSettings`).

    Parameters
    ----------
    units
        One row per unit (postal code, municipality, customer...). Required columns (named by
        ``columns``): the unit id, the two coordinates (unless the units have none) and one
        non-negative numeric column per entry of ``metrics``; optional today's territory, locks,
        a start plan, compactness and continuity weights.
    n_territories
        Number of territories. Default: the number of ``targets.territory_ids``, else of
        distinct current territories.
    metrics
        Columns to balance, each within its own tolerance of its target.
    tolerance
        Allowed relative deviation from target, one value for all metrics or one per metric
        (``{"potential": 0.03, "workload": 0.05}``).
    columns
        Where the units table holds what (:class:`UnitColumns`; default ``unit_id``,
        ``latitude``, ``longitude``, no current territories).
    edges
        Optional neighbour pairs (first two columns = unit ids); units without any edge are
        attached by a pruned Delaunay graph (see
        :func:`~salesanalytics.analyses.territory.graph.build_unit_graph`).
    targets
        The territories' names and relative sizes (:class:`Targets`; default equal shares).
    bases
        Optional fixed bases, distance matrix and travel load (:class:`Bases`).
    continuity_weight
        How strongly units are kept in their current territory: 1 means keeping a unit is worth
        as much as having its whole weight one typical territory radius closer. 0 ignores history
        (but today's territories are still the warm start).
    initial_centres
        Optional centres to start from instead of k-means++ (the coordinate columns, any number
        of rows), e.g. the territory centres of another scenario: adapted to ``n_territories``
        by merging the closest pairs or adding the units furthest from every centre, then a
        few weighted Lloyd steps.
    contiguity
        Keep every territory connected on the adjacency (default). ``False`` lets units move
        freely between neighbouring territories (e.g. when today's plan is not contiguous and
        the client does not need it); ``result.summary["n_contiguous"]`` still reports it.
    objective
        ``"compactness"`` (weighted squared distance to free territory centres), ``"bases"``
        (distance to the fixed ``bases``; implied by bases or a distance matrix) or
        ``"disruption"`` (keep as much continuity value as possible within the balance band:
        distance only breaks ties).
    settings
        Solver settings (:class:`SolverSettings`; default today's).
    **legacy
        The earlier flat keywords (``coord_cols=``, ``territory_ids=``, ``bases=<frame>``,
        ``seed=``...), deprecated: see :func:`_problem_groups`.

    Returns
    -------
    TerritoryResult

    Raises
    ------
    ValueError
        For missing/invalid columns or parameters (all problems listed at once), or locked units
        without a current territory.
    TypeError
        For a keyword that is neither a problem parameter nor a solver setting.
    """
    cols, tgt, fixed, cfg = _problem_groups(columns, targets, bases, settings, legacy)
    t0, c0 = time.perf_counter(), time.process_time()
    metrics = list(metrics)
    fixed = fixed or Bases()
    embedded = cols.coord_cols is None
    if embedded:  # a distance / travel-time matrix instead of coordinates
        units = _embed(units, cols.id_col, fixed.distance, edges, contiguity)
        cols = replace(cols, coord_cols=("_x", "_y"), planar=True)
    tol_map = _validate_problem(units, metrics, tolerance, cols, fixed, initial_centres, objective)
    p, st = _setup(units, n_territories, metrics, tol_map, cols, edges=edges, targets=tgt)
    st.contiguous = bool(contiguity)
    _fix_bases(st, p, fixed, metrics, cols)
    if objective == "disruption":
        st.w = st.w * 1e-3  # distance only breaks ties; continuity dominates
        continuity_weight = continuity_weight if continuity_weight > 0 else 1.0
    stats: dict[str, Any] = {"warm_start": _warm_start(st, p, cfg, units, cols, initial_centres)}
    _allocate(st, p, cfg, continuity_weight, stats)
    # the limit counts this process's CPU time: on a busy machine the search does the same work
    deadline = c0 + cfg.time_limit
    _repair_and_balance(st, p, cfg, deadline, stats)
    _polish(st, p, cfg, deadline, stats)
    stats["time_limit_reached"] = time.process_time() > deadline
    stats["cpu_seconds"] = round(time.process_time() - c0, 3)
    stats["objective"] = objective if not st.fixed else "bases"
    res = _result(units, p, st, cols, stats, t0)
    if embedded:  # the embedding's centres mean nothing to the caller
        res.territories = res.territories.drop(columns=["centre__x", "centre__y"])
    return res


def _validate_problem(
    units: pd.DataFrame,
    metrics: list[str],
    tolerance: float | Mapping[str, float],
    cols: UnitColumns,
    fixed: Bases,
    initial_centres: pd.DataFrame | None,
    objective: str,
) -> dict[str, float]:
    """Check the problem (every problem at once, ValueError); the tolerance per metric."""
    assert cols.coord_cols is not None  # units without coordinates are embedded first
    extra = [
        c
        for c in (
            cols.current_col,
            cols.locked_col,
            cols.compactness_col,
            cols.continuity_col,
            cols.start_col,
        )
        if c
    ]
    return _validate(
        units,
        metrics,
        tolerance,
        cols.id_col,
        cols.coord_cols,
        extra,
        initial_centres,
        objective,
        fixed.travel is not None,
        fixed.travel_metric,
        fixed.locations is not None or fixed.distance is not None,
    )


def _fix_bases(
    st: _State, p: _Problem, fixed: Bases, metrics: list[str], cols: UnitColumns
) -> None:
    """Fix the centres at the bases, and set the distance matrix and travel load if given."""
    assert cols.coord_cols is not None
    if fixed.locations is not None:
        st.centres = _base_coordinates(
            fixed.locations, p.territory_ids, cols.coord_cols, cols.planar, p.c1
        )
        st.fixed = True
    if fixed.distance is not None:
        st.D = _unit_by_territory(fixed.distance, "distance", p.ids, p.territory_ids)
        st.fixed = True
    if fixed.travel is not None:
        st.E = _unit_by_territory(fixed.travel, "travel", p.ids, p.territory_ids)
        st.ej = metrics.index(fixed.travel_metric or metrics[-1])


def _embed(
    units: pd.DataFrame,
    id_col: str,
    distance: np.ndarray | pd.DataFrame | None,
    edges: pd.DataFrame | None,
    contiguity: bool,
) -> pd.DataFrame:
    """Embed units without coordinates: planar stand-ins ``_x``, ``_y`` from the distance matrix.

    Its first two principal components (units far apart in it lie far apart), used only for the warm
    start and ties; the cost is the matrix itself.
    """
    if distance is None:
        raise ValueError(
            "cannot design territories without coordinates (coord_cols=None) and without a "
            "distance matrix: give one of them"
        )
    if edges is None and contiguity:
        raise ValueError(
            "without coordinates the neighbourhood cannot be derived: give the neighbour pairs "
            "(edges) or switch contiguity off (contiguity=False)"
        )
    if id_col not in units.columns:
        raise ValueError(f"units table lacks its id column '{id_col}'")
    if isinstance(distance, pd.DataFrame):
        d = distance.copy()
        d.index = d.index.astype(str)
        ids = units[id_col].astype(str)
        missing = sorted(set(ids) - set(d.index))[:5]
        if missing:
            raise ValueError(f"distance matrix lacks units {missing}: one row per unit id")
        m = d.loc[ids.tolist()].to_numpy(dtype=float)
    else:
        m = np.asarray(distance, dtype=float)
    if m.ndim != 2 or m.shape[0] != len(units) or not np.isfinite(m).all():
        raise ValueError(
            f"distance matrix must be finite with one row per unit ({len(units)}); got shape "
            f"{m.shape}"
        )
    c = m - m.mean(axis=0)
    u_, sv, _ = np.linalg.svd(c, full_matrices=False)
    xy = np.zeros((len(units), 2))
    r = min(2, len(sv))
    xy[:, :r] = u_[:, :r] * sv[:r]
    return units.assign(_x=xy[:, 0], _y=xy[:, 1])


def _validate(
    units: pd.DataFrame,
    metrics: list[str],
    tolerance: float | Mapping[str, float],
    id_col: str,
    coord_cols: tuple[str, str],
    extra: list[str],
    initial_centres: pd.DataFrame | None,
    objective: str,
    has_travel: bool,
    travel_metric: str | None,
    has_bases: bool,
) -> dict[str, float]:
    """Every problem with the input at once (ValueError); the tolerance per metric."""
    if not metrics:
        raise ValueError("metrics must name at least one column to balance")
    problems = _check_units(units, id_col, coord_cols, metrics, extra)
    tol_map = (
        {m: float(tolerance) for m in metrics}
        if not isinstance(tolerance, Mapping)
        else {m: float(tolerance.get(m, 0.05)) for m in metrics}
    )
    bad_tol = {m: v for m, v in tol_map.items() if not 0 < v < 1}
    if bad_tol:
        problems.append(f"tolerance must be between 0 and 1 (e.g. 0.05 for ±5%); got {bad_tol}")
    if initial_centres is not None:
        miss = [c for c in coord_cols if c not in initial_centres.columns]
        if miss or len(initial_centres) == 0:
            problems.append(
                f"initial_centres needs at least one row and the coordinate columns "
                f"{list(coord_cols)}; it has {list(initial_centres.columns)} and "
                f"{len(initial_centres)} row(s)"
            )
        elif not np.isfinite(initial_centres[list(coord_cols)].to_numpy(dtype=float)).all():
            problems.append("initial_centres has missing or non-finite coordinates")
    if objective not in ("compactness", "bases", "disruption"):
        problems.append(
            f"objective must be 'compactness', 'bases' or 'disruption'; got {objective!r}"
        )
    if has_travel and (travel_metric or metrics[-1]) not in metrics:
        problems.append(f"travel_metric {travel_metric!r} is not one of the metrics {metrics}")
    if objective == "bases" and not has_bases:
        problems.append("objective 'bases' needs the territories' bases (or a distance matrix)")
    if problems:
        raise ValueError("cannot design territories:\n- " + "\n- ".join(problems))
    return tol_map


def _territory_names(
    cur_lab: np.ndarray, n_territories: int | None, territory_ids: Sequence[str] | None, n: int
) -> list[str]:
    """The territories' names (given, today's when their number matches, else T01...)."""
    cur_names = sorted({c for c in cur_lab if c is not None})
    if territory_ids is None:
        if n_territories is None:
            if not cur_names:
                raise ValueError(
                    "n_territories is required when the units have no current territory "
                    "(current_col) and no territory_ids are given"
                )
            n_territories = len(cur_names)
        territory_ids = (
            cur_names
            if len(cur_names) == n_territories
            else [f"T{i + 1:0{max(2, len(str(n_territories)))}d}" for i in range(n_territories)]
        )
    territory_ids = [str(t) for t in territory_ids]
    if n_territories is None:
        n_territories = len(territory_ids)
    if len(territory_ids) != n_territories or len(set(territory_ids)) != n_territories:
        raise ValueError(
            f"territory_ids must be {n_territories} distinct names; got {len(territory_ids)}"
        )
    if not 1 <= n_territories <= n:
        raise ValueError(
            f"n_territories must be between 1 and the number of units ({n}); got {n_territories}"
        )
    return territory_ids


def _target_shares(
    territory_ids: list[str],
    metrics: list[str],
    target_shares: Mapping[str, float] | None,
    metric_shares: Mapping[str, Mapping[str, float]] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised share of every territory, overall and per metric ``(k, metrics)``."""
    k = len(territory_ids)
    shares = np.ones(k)
    if target_shares is not None:
        unknown = sorted(set(target_shares) - set(territory_ids))
        if unknown:
            raise ValueError(f"target_shares names unknown territories {unknown[:5]}")
        shares = np.array([float(target_shares.get(t, 1.0)) for t in territory_ids])
        if (shares <= 0).any():
            raise ValueError(
                "target_shares must be positive (e.g. the FTE of each territory's rep)"
            )
    shares = shares / shares.sum()
    share_m = np.repeat(shares[:, None], len(metrics), axis=1)
    for m, sh in (metric_shares or {}).items():
        if m not in metrics:
            raise ValueError(
                f"metric_shares names {m!r}, which is not one of the metrics {metrics}"
            )
        v = np.array([float(sh.get(t, np.nan)) for t in territory_ids])
        if not (np.isfinite(v).all() and (v > 0).all()):
            raise ValueError(
                f"metric_shares[{m!r}] needs a positive share for every territory "
                "(e.g. each rep's capacity hours)"
            )
        share_m[:, metrics.index(m)] = v / v.sum()
    return shares, share_m


def _setup(
    units: pd.DataFrame,
    n_territories: int | None,
    metrics: list[str],
    tol_map: dict[str, float],
    cols: UnitColumns,
    *,
    edges: pd.DataFrame | None,
    targets: Targets,
) -> tuple[_Problem, _State]:
    """The problem as arrays and the optimiser's working state (unassigned)."""
    id_col, coord_cols, planar = cols.id_col, cols.coord_cols, cols.planar
    assert coord_cols is not None  # units without coordinates are embedded first
    current_col, locked_col, start_col = cols.current_col, cols.locked_col, cols.start_col
    compactness_col, continuity_col = cols.compactness_col, cols.continuity_col
    n = len(units)
    ids = units[id_col].astype(str).to_numpy()
    c1 = units[coord_cols[0]].to_numpy(dtype=float)
    c2 = units[coord_cols[1]].to_numpy(dtype=float)
    xy = np.column_stack([c1, c2]) if planar else planar_km(c1, c2)
    a = units[metrics].to_numpy(dtype=float)
    cur_lab = (
        units[current_col].astype("string").to_numpy(dtype=object, na_value=None)
        if current_col
        else np.full(n, None, dtype=object)
    )
    names = _territory_names(cur_lab, n_territories, targets.territory_ids, n)
    tid = {t: i for i, t in enumerate(names)}
    cur = np.array([tid.get(c, -1) if c is not None else -1 for c in cur_lab], dtype=np.int64)
    locked = (
        units[locked_col].fillna(False).astype(bool).to_numpy() if locked_col else np.zeros(n, bool)
    )
    start = None
    if start_col:
        start = np.array(
            [tid.get(str(t), -1) for t in units[start_col].astype("string").fillna("")],
            dtype=np.int64,
        )
        if (start < 0).any():
            raise ValueError(
                f"column '{start_col}' must give every unit one of the territory ids; "
                f"{int((start < 0).sum())} unit(s) have none (e.g. {ids[start < 0][:5].tolist()})"
            )
    bad_lock = locked & (cur < 0)
    if bad_lock.any():
        raise ValueError(
            f"{int(bad_lock.sum())} locked unit(s) have no current territory among the territory "
            f"ids (e.g. {ids[bad_lock][:5].tolist()}): give them a current territory or unlock them"
        )
    shares, share_m = _target_shares(names, metrics, targets.target_shares, targets.metric_shares)
    totals = a.sum(axis=0)
    tol = np.array([tol_map[m] for m in metrics])
    if compactness_col:
        w_raw = units[compactness_col].to_numpy(dtype=float)
    else:  # combined metric: each metric as a share of its total, summed
        w_raw = (a / np.where(totals > 0, totals, 1.0)).sum(axis=1)
    w = w_raw + 0.05 * (w_raw.mean() if w_raw.mean() > 0 else 1.0)  # empty units still matter a bit
    cval = np.clip(units[continuity_col or metrics[0]].to_numpy(dtype=float), 0, None)
    graph = build_unit_graph(ids, xy, edges)
    target = share_m * totals[None, :]
    st = _State(xy, a, target, tol, w, np.zeros(n), cur, locked, graph.neighbours())
    p = _Problem(
        ids, metrics, names, shares, share_m, cur, cur_lab, locked, cval, start, graph, c1, tol, w
    )
    return p, st


def _warm_start(
    st: _State,
    p: _Problem,
    cfg: SolverSettings,
    units: pd.DataFrame,
    columns: UnitColumns,
    initial_centres: pd.DataFrame | None,
) -> str:
    """First plan: a given plan, today's territories, the bases, or compact k-means++ regions."""
    coord_cols, planar = columns.coord_cols, columns.planar
    cur, locked, k = p.cur, p.locked, st.k
    has_current = (cur >= 0).sum() > 0 and len(set(cur[cur >= 0])) == k
    if p.start is not None:
        st.assign = p.start.copy()
        return "given plan"
    if has_current and cfg.warm_start == "current":
        st.assign = np.where(cur >= 0, cur, 0)
        st.update_centres()
        nocur = np.flatnonzero(cur < 0)  # units without a current territory: nearest centre
        if len(nocur):
            st.assign[nocur] = np.argmin(st.dist(nocur), axis=1)
        return "current territories"
    if st.fixed:
        warm = "nearest base"
    elif initial_centres is not None:
        assert coord_cols is not None
        ic = initial_centres[list(coord_cols)].to_numpy(dtype=float)
        if planar:
            ic_xy = ic
        else:  # the same projection as the units (planar_km around their mean latitude)
            lat0 = np.radians(np.nanmean(p.c1))
            ic_xy = np.column_stack([ic[:, 1] * 111.320 * np.cos(lat0), ic[:, 0] * 110.574])
        st.centres = _adapt_centres(st.xy, p.w, ic_xy, k)
        warm = "given centres"
    else:
        st.centres = _kmeans_pp(st.xy, p.w, k, np.random.default_rng(cfg.seed))
        warm = "k-means++"
    st.assign = np.argmin(st.dist(slice(None)), axis=1)
    if has_current and not st.fixed:
        # name the compact k-means regions after today's territories: the matching that
        # keeps the most continuity value (today's territories are often fragmented, so
        # their centroids make a poor start)
        keep = np.zeros((k, k))
        ok = cur >= 0
        np.add.at(keep, (st.assign[ok], cur[ok]), p.cval[ok] + 1e-6 * p.w[ok])
        rows, cols = linear_sum_assignment(-keep)
        perm = np.empty(k, dtype=np.int64)
        perm[rows] = cols
        st.centres[cols] = st.centres[rows].copy()
        st.assign = perm[st.assign]
        warm += " named after today's territories"
    st.assign[locked] = cur[locked]
    return warm


def _allocate(
    st: _State,
    p: _Problem,
    cfg: SolverSettings,
    continuity_weight: float,
    stats: dict[str, Any],
) -> None:
    """Location-allocation: assignment LP, fill along the graph, move centres; repeat."""
    n = len(st.assign)
    core = (st.a.sum(axis=1) > 0) | p.locked
    if core.sum() < st.k:
        core[:] = True
    st.update_centres()
    st.retarget(p.share_m[:, st.ej])
    st.power = DISTANCE_POWER
    radius = float(np.median(st.dist(np.arange(n), st.assign))) or 1.0
    radius = radius**st.power
    cval = p.cval
    if continuity_weight > 0 and cval.sum() > 0:
        st.pen = continuity_weight * radius * cval * (p.w.sum() / cval.sum())
    prev = None
    lp_seconds = 0.0
    n_iter = 0
    large = not st.fixed and n * st.k > cfg.large_lp
    n_cand = min(cfg.candidates, cfg.candidates_large) if large else cfg.candidates
    stats["lp_candidates"] = n_cand
    for n_iter in range(1, cfg.max_iter + 1):  # noqa: B007 - reported below
        tl = time.perf_counter()
        info = _solve_lp(st, p.tol * cfg.lp_tightening, n_cand, core, cfg.lp_relax)
        lp_seconds += time.perf_counter() - tl
        stats.update(info)
        _fill_by_graph(st, p.graph, core)
        st.update_centres()
        st.retarget(p.share_m[:, st.ej])
        if prev is not None and np.mean(prev != st.assign) < 0.002:
            break
        prev = st.assign.copy()
    if p.start is not None and cfg.max_iter == 0:
        st.assign[p.locked] = p.cur[p.locked]
    stats["iterations"] = n_iter
    stats["lp_seconds"] = round(lp_seconds, 3)


def _balance_rounds(
    st: _State, p: _Problem, cfg: SolverSettings, deadline: float
) -> tuple[tuple[int, float], dict[str, int]]:
    """Rounds of exchange LP + local search from the current plan; the best plan is kept.

    Returns the key ``(territories outside the tolerance, total excess)`` and the counts.
    """
    info = dict.fromkeys(
        ("balance_moves", "balance_swaps", "balance_kicks", "exchange_rounds", "exchange_moves"),
        0,
    )
    key: tuple[int, float] = (st.k + 1, np.inf)
    cand = st.assign.copy()
    stale = 0
    for rnd in range(max(1, cfg.exchange_rounds)):
        st.retarget(p.share_m[:, st.ej])  # travel targets follow the plan's total travel
        if st.E is not None:
            viol = st.violation(st.sums())
            key = min(key, (int((viol > 1e-12).sum()), float(viol.sum())))
        if cfg.exchange_rounds:
            if key[1] <= 1e-12 or time.process_time() > deadline:
                break
            ex = _exchange_lp(st, tighten=cfg.exchange_tightening)
            info["exchange_rounds"] += 1
            info["exchange_moves"] += ex["applied"]
            viol = st.violation(st.sums())
            new_key = (int((viol > 1e-12).sum()), float(viol.sum()))
            if new_key < key:
                key, cand, stale = new_key, st.assign.copy(), 0
            if key[1] <= 1e-12:
                break
        more = _balance_search(
            st, deadline=deadline, max_passes=cfg.max_passes, max_kicks=60 if rnd == 0 else 5
        )
        for nm in ("balance_moves", "balance_swaps", "balance_kicks"):
            info[nm] += more[nm]
        viol = st.violation(st.sums())
        new_key = (int((viol > 1e-12).sum()), float(viol.sum()))  # outside, excess
        if new_key < key:
            key, cand, stale = new_key, st.assign.copy(), 0
        else:
            stale += 1
            if stale >= 2:
                break
    st.assign[:] = cand
    return key, info


def _repair_and_balance(
    st: _State, p: _Problem, cfg: SolverSettings, deadline: float, stats: dict[str, Any]
) -> None:
    """Repair contiguity two ways, each followed by the balance rounds; keep the better plan.

    Better: fewer territories outside the tolerance, then less excess.
    """
    graph = p.graph
    lp_plan = st.assign.copy()
    n_whole = _repair_contiguity(st, graph) if st.contiguous else 0
    whole = st.assign.copy()
    st.assign[:] = lp_plan
    n_regrown = _regrow(st, graph) if st.contiguous else 0
    regrown = st.assign.copy()
    st.retarget(p.share_m[:, st.ej])
    tries = [("territories regrown", regrown, n_regrown)]
    if cfg.both_repairs and not np.array_equal(whole, regrown):
        tries.append(("pieces moved whole", whole, n_whole))
    best = None
    for name, plan, n_rep in tries:
        if best is not None and best[0][0] == 0:
            break  # the first repair already led to a plan within tolerance everywhere
        st.assign[:] = plan
        key, info = _balance_rounds(st, p, cfg, deadline)
        if best is None or key < best[0]:
            best = (key, st.assign.copy(), name, n_rep, info)
    _, plan, name, n_rep, info = best
    st.assign[:] = plan
    stats.update(info, contiguity_repair=name, contiguity_repairs=n_rep)


def _polish(
    st: _State, p: _Problem, cfg: SolverSettings, deadline: float, stats: dict[str, Any]
) -> None:
    """Polish: cost-lowering moves, swaps and pair MILPs, then a last balance pass.

    Moves and swaps stay within the tolerance; pair MILPs run on small instances only; with travel,
    the last balance pass repeats until the plan's travel targets settle.
    """
    n = len(st.assign)
    stats["compactness_moves"] = _compact_search(st, passes=8, deadline=deadline)
    stats["compactness_swaps"] = 0
    stats["pair_milp_improvements"] = 0
    if cfg.polish_passes:
        for _ in range(6):
            n_sw = _cost_swaps(st, passes=cfg.polish_passes, deadline=deadline)
            n_mv = _compact_search(st, passes=8, deadline=deadline)
            n_pm = 0
            if n <= cfg.pair_milp_units:  # small instance: re-split neighbouring groups exactly
                n_pm = _pair_milp(st, passes=cfg.polish_passes, deadline=deadline)
                if not n_pm and st.k >= 3:
                    n_pm = _group_milp(st, 3, deadline=deadline)
            stats["compactness_swaps"] += n_sw
            stats["compactness_moves"] += n_mv
            stats["pair_milp_improvements"] += n_pm
            if not n_sw and not n_mv and not n_pm:
                break
    st.update_centres()
    # a final balance pass in case compactness moves were cut short; with travel the targets
    # follow the plan's total travel, so balance again until they settle
    share_e = p.share_m[:, st.ej]
    for _ in range(3 if st.E is not None else 1):
        st.retarget(share_e)
        more = _balance_search(
            st,
            deadline=deadline + 5,
            max_passes=cfg.max_passes if st.E is not None else cfg.max_passes // 3,
        )
        for name in ("balance_moves", "balance_swaps", "balance_kicks"):
            stats[name] += more[name]
        if st.E is None:
            break
        st.retarget(share_e)
        if st.violation(st.sums()).sum() <= 1e-12:
            break
    _repair(st, p, cfg, deadline, stats)


def _repair(
    st: _State, p: _Problem, cfg: SolverSettings, deadline: float, stats: dict[str, Any]
) -> None:
    """Repair the territories still outside the band (a MILP over each one's neighbourhood).

    Then a last balance pass: with travel, the targets follow the plan's new total.
    """
    stats["repair_milps"] = stats["repair_improvements"] = 0
    if cfg.repair_layers <= 0 or cfg.repair_milps <= 0 or st.violation(st.sums()).sum() <= 1e-12:
        return
    from salesanalytics.analyses.territory.repair import repair_outliers

    share_e = p.share_m[:, st.ej]
    before_plan, before_t = st.assign.copy(), st.T.copy()
    viol = st.violation(st.sums())
    before = (int((viol > 1e-12).sum()), float(viol.sum()))
    for _ in range(3):
        left = cfg.repair_milps - stats["repair_milps"]
        if left <= 0:
            break
        info = repair_outliers(st, deadline, layers=cfg.repair_layers, max_milps=left)
        stats["repair_milps"] += info["repair_milps"]
        stats["repair_improvements"] += info["repair_improvements"]
        st.retarget(share_e)
        if st.violation(st.sums()).sum() <= 1e-12 or not info["repair_improvements"]:
            break
        if st.E is None:
            break
    if st.violation(st.sums()).sum() > 1e-12:
        more = _balance_search(st, deadline=deadline + 5, max_passes=cfg.max_passes // 3)
        for name in ("balance_moves", "balance_swaps", "balance_kicks"):
            stats[name] += more[name]
    # kept only when the whole plan is better: travel targets follow the plan's total, so a
    # repair may push territories outside the group out of the band
    viol = st.violation(st.sums())
    if (int((viol > 1e-12).sum()), float(viol.sum())) >= before:
        st.assign[:], st.T[:] = before_plan, before_t
        stats["repair_improvements"] = 0


def _result(
    units: pd.DataFrame,
    p: _Problem,
    st: _State,
    cols: UnitColumns,
    stats: dict[str, Any],
    t0: float,
) -> TerritoryResult:
    """The optimiser's result from the final state."""
    coord_cols = cols.coord_cols
    assert coord_cols is not None
    ids, metrics, territory_ids, graph = p.ids, p.metrics, p.territory_ids, p.graph
    shares, cur, cur_lab, locked, cval = p.shares, p.cur, p.cur_lab, p.locked, p.cval
    k = st.k
    labels = np.array(territory_ids, dtype=object)
    assign_lab = labels[st.assign]
    changed = np.array(
        [c is not None and c != t for c, t in zip(cur_lab, assign_lab, strict=True)], dtype=bool
    )
    assignment = pd.DataFrame(
        {
            "unit_id": pd.array(ids, dtype="string"),
            "territory_id": pd.array(assign_lab, dtype="string"),
            "current": pd.array(cur_lab, dtype="string"),
            "changed": changed,
            "locked": locked,
        }
    )
    s = st.sums()
    comp = _components(st, graph)
    pieces = np.array([len(np.unique(comp[st.assign == t])) for t in range(k)])
    terr = pd.DataFrame({"territory_id": pd.array(territory_ids, dtype="string")})
    terr["target_share"] = shares
    terr["n_units"] = np.bincount(st.assign, minlength=k)
    for j, m in enumerate(metrics):
        terr[m] = s[:, j]
        terr[f"target_{m}"] = st.T[:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            terr[f"dev_{m}"] = np.where(st.T[:, j] > 0, s[:, j] / st.T[:, j] - 1, 0.0)
    # centres in the input's coordinates: weighted centroid of the unit coordinates
    wt = st.w + 1e-9
    cw = np.bincount(st.assign, weights=wt, minlength=k)
    for col, name in zip(
        coord_cols, ("centre_" + coord_cols[0], "centre_" + coord_cols[1]), strict=True
    ):
        v = units[col].to_numpy(dtype=float)
        terr[name] = np.bincount(st.assign, weights=wt * v, minlength=k) / cw
    terr["contiguous"] = pieces == 1
    dist = st.dist(np.arange(len(ids)), st.assign)
    summary: dict[str, Any] = {}
    for m in metrics:
        dev = terr[f"dev_{m}"].to_numpy()
        summary[f"max_dev_{m}"] = float(np.max(np.abs(dev)))
        vals = terr[m].to_numpy() / shares
        summary[f"cv_{m}"] = float(np.std(vals) / np.mean(vals)) if np.mean(vals) > 0 else 0.0
    summary["n_territories"] = k
    summary["n_contiguous"] = int((pieces == 1).sum())
    summary["compactness_km"] = float(np.sum(st.w * dist) / np.sum(st.w))
    has_cur = cur >= 0
    summary["moved_share"] = (
        float(cval[changed].sum() / cval[has_cur].sum()) if cval[has_cur].sum() > 0 else 0.0
    )
    summary["units_changed"] = int(changed.sum())
    summary.update(stats)
    summary["graph_edges_given"] = graph.n_given
    summary["graph_edges_delaunay"] = graph.n_delaunay
    summary["graph_bridges"] = graph.n_bridges
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return TerritoryResult(assignment=assignment, territories=terr, graph=graph, summary=summary)
