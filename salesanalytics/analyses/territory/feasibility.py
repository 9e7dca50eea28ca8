"""What a balance tolerance allows: checked before the search, and said out loud after it.

Before the optimiser searches, :func:`reachability` computes what no plan can beat: a unit
that cannot be split and is larger than a territory's band, locked units that already
overfill their territory, fewer units with load than territories. After the search
:func:`shortfall` names the territories outside the band, the best deviation reached and what
would make the tolerance reachable (a wider band, splitting a named unit into account groups,
fewer territories). Both work on plain tables, for any geography.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.present.formats import pct
from salesanalytics.present.i18n import gettext as _

__all__ = ["balance_bound", "reachability", "shortfall"]


def _pct(x: float) -> str:
    return pct(x, 1) if abs(x) < 0.1 else pct(x, 0)


def _metric(m: str) -> str:
    """The reader's word for a metric column: ``potential_mrr`` is "potential"."""
    return _(m.replace("_mrr", "").replace("_hours", "").replace("_", " "))


def reachability(
    units: pd.DataFrame,
    metrics: Sequence[str],
    target_shares: Mapping[str, float],
    tolerance: float,
    *,
    id_col: str = "unit_id",
    label_col: str | None = None,
    splittable_col: str | None = None,
    locked_col: str | None = None,
    current_col: str | None = None,
) -> dict[str, Any]:
    """Bounds on the balance any plan can reach, computed before searching.

    Parameters
    ----------
    units
        One row per unit: ``id_col`` and the ``metrics`` (non-negative); optional
        ``label_col`` (a name for people, e.g. "8001 Zürich"), ``splittable_col`` (bool: the
        unit holds several accounts and could be split into account groups), ``locked_col``
        (bool) with ``current_col`` (the territory a locked unit stays in).
    metrics
        Balanced metrics.
    target_shares
        Territory id -> relative size (e.g. its rep's FTE); targets are the metric totals
        times the normalised shares.
    tolerance
        Allowed relative deviation (0.05 = ±5%).

    Returns
    -------
    dict
        ``feasible`` (False when a bound proves the tolerance unreachable), ``problems`` (plain
        sentences: which territories, which units, the best deviation possible, what would
        help), ``risks`` (units larger than a band's width: the tolerance may be hard to hit),
        ``min_tolerance`` (the smallest tolerance the bounds allow), ``largest_units`` (frame of
        the largest unit per metric against the smallest target).
    """
    shares = pd.Series({str(t): float(v) for t, v in target_shares.items()}, dtype=float)
    shares = shares / shares.sum()
    k = len(shares)
    problems: list[str] = []
    risks: list[str] = []
    min_tol = 0.0
    label = units[label_col].astype(str) if label_col else units[id_col].astype(str)
    split = (
        units[splittable_col].fillna(False).astype(bool)
        if splittable_col
        else pd.Series(False, index=units.index)
    )
    rows = []
    loaded = int((units[list(metrics)].sum(axis=1) > 0).sum())
    if loaded < k:
        problems.append(
            _(
                "Only {loaded} units carry any potential or workload for {k} territories: at "
                "least {empty} territories would stay empty. Design fewer territories."
            ).format(loaded=loaded, k=k, empty=k - loaded)
        )
        min_tol = max(min_tol, 1.0)
    for m in metrics:
        v = units[m].to_numpy(dtype=float)
        total = float(v.sum())
        if total <= 0:
            continue
        t_min = float(shares.min() * total)
        i = int(np.argmax(v))
        big = v[i]
        rows.append(
            {
                "metric": m,
                "unit": label.iloc[i],
                "value": big,
                "smallest_target": t_min,
                "share_of_target": big / t_min,
                "splittable": bool(split.iloc[i]),
            }
        )
        found, need = _oversized_units(m, v, t_min, tolerance, label, split)
        problems += found
        min_tol = max(min_tol, need)
        band = 2 * tolerance * t_min
        wide = np.flatnonzero((v > band) & (v <= t_min * (1 + tolerance)))
        if len(wide):
            names = ", ".join(label.iloc[wide[np.argsort(-v[wide])][:3]].tolist())
            risks.append(
                _(
                    "{n} unit(s) are larger than the ±{tolerance} band of the smallest territory "
                    "on {metric} (largest: {names}): hitting the band depends on how they combine."
                ).format(n=len(wide), tolerance=pct(tolerance, 0), metric=_metric(m), names=names)
            )
        if locked_col and current_col:
            locked = units[locked_col].fillna(False).astype(bool).to_numpy()
            found, need = _locked_overfill(
                m, v, locked, units[current_col].astype("string"), shares, tolerance
            )
            problems += found
            min_tol = max(min_tol, need)
    return {
        "feasible": not problems,
        "problems": problems,
        "risks": risks,
        "min_tolerance": float(min_tol),
        "largest_units": pd.DataFrame(rows),
    }


def _oversized_units(
    m: str, v: np.ndarray, t_min: float, tolerance: float, label: pd.Series, split: pd.Series
) -> tuple[list[str], float]:
    """The five largest units over the smallest target's band on ``m``, and the tolerance forced."""
    problems: list[str] = []
    min_tol = 0.0
    over = np.flatnonzero(v > t_min * (1 + tolerance))
    for j in over[np.argsort(-v[over])][:5]:
        need = v[j] / t_min - 1
        min_tol = max(min_tol, need) if not split.iloc[j] else min_tol
        fix = (
            _("split it into account groups")
            if split.iloc[j]
            else _("give its territory a larger share or widen the band to ±{band}").format(
                band=_pct(need)
            )
        )
        problems.append(
            _(
                "Unit {unit} alone holds {share} of the smallest territory's {metric} target: "
                "whichever territory takes it ends at least {need} above target. To reach "
                "±{tolerance}: {fix}."
            ).format(
                unit=label.iloc[j],
                share=pct(v[j] / t_min, 0),
                metric=_metric(m),
                need=_pct(need),
                tolerance=pct(tolerance, 0),
                fix=fix,
            )
        )
    return problems, min_tol


def _locked_overfill(
    m: str,
    v: np.ndarray,
    locked: np.ndarray,
    current: pd.Series,
    shares: pd.Series,
    tolerance: float,
) -> tuple[list[str], float]:
    """Territories whose locked units alone overfill their band on ``m``, and the tolerance forced."""
    problems: list[str] = []
    min_tol = 0.0
    total = float(v.sum())
    per = pd.Series(v[locked]).groupby(current[locked].to_numpy()).sum()
    for t, s in per.items():
        tgt = float(shares.get(str(t), np.nan) * total)
        if np.isfinite(tgt) and s > tgt * (1 + tolerance):
            need = s / tgt - 1
            min_tol = max(min_tol, need)
            problems.append(
                _(
                    "Territory {territory}: its locked units alone hold {share} of its "
                    "{metric} target ({need} above). Unlock some of them or widen the "
                    "band."
                ).format(territory=t, share=pct(s / tgt, 0), metric=_metric(m), need=_pct(need))
            )
    return problems, min_tol


def shortfall(
    table: pd.DataFrame,
    tolerance: float,
    metrics: Sequence[str] = ("potential_mrr", "workload_hours"),
    reach: Mapping[str, Any] | None = None,
    units: pd.DataFrame | None = None,
    unit_territory: pd.Series | None = None,
    bound: Mapping[str, Any] | None = None,
) -> list[str]:
    """Plain sentences on the territories that miss the tolerance after the search.

    Parameters
    ----------
    table
        Territory table with ``territory_id`` and ``dev_<m>`` per metric (missing outside the
        field territories), e.g. :func:`~salesanalytics.analyses.territory.metrics.table_balance`.
    tolerance
        The band asked for.
    reach
        :func:`reachability` output (its proven problems are repeated first).
    units, unit_territory
        Optional units (``unit_id``, ``postal_code``, ``place``, ``n_accounts`` and the
        metrics) and their territories: names the largest unit of each missing territory as a
        candidate to split.
    bound
        Optional :func:`balance_bound` output: says whether the miss is proven (no plan can
        reach the band with these bases) or the search's.

    Returns
    -------
    list of str
        Empty when every territory is within the band.
    """
    f = table[table[f"dev_{metrics[0]}"].notna()].copy()
    worst = np.zeros(len(f))
    for m in metrics:
        worst = np.maximum(worst, f[f"dev_{m}"].abs().to_numpy(dtype=float))
    f["worst"] = worst
    miss = f[f["worst"] > tolerance + 1e-9].sort_values("worst", ascending=False)
    if miss.empty:
        return []
    out: list[str] = []
    if reach and reach.get("problems"):
        out.append(
            _("The tolerance cannot be reached with these units: ") + " ".join(reach["problems"])
        )
    parts = []
    for _i, r in miss.iterrows():
        devs = ", ".join(f"{_metric(m)} {pct(r[f'dev_{m}'], 1, signed=True)}" for m in metrics)
        parts.append(f"{r['territory_id']} ({devs})")
    best = float(f["worst"].max())
    out.append(
        _("{n} of {total} territories miss ±{tolerance}: ").format(
            n=len(miss), total=len(f), tolerance=pct(tolerance, 0)
        )
        + "; ".join(parts)
        + ". "
        + _("The best plan found reaches ±{best} on every territory.").format(
            best=pct(np.ceil(best * 1000) / 1000, 1)
        )
    )
    if bound is not None and not bound.get("feasible", True):
        out.append(
            _(
                "No plan can reach ±{tolerance} with these reps' bases, even one that splits "
                "every postal code and ignores contiguity: every plan leaves some territory at "
                "least {bound} from its target on potential or on workload including travel "
                "(a proven bound: the linear relaxation of the balance constraints)."
            ).format(tolerance=pct(tolerance, 0), bound=pct(bound["bound"], 1))
        )
    elif bound is not None:
        out.append(
            _(
                "±{tolerance} is not ruled out: a plan that splits postal codes and ignores "
                "contiguity could reach it, so more search effort (search passes) or other "
                "territory bases may close the gap; this plan is the best found, not a proven "
                "limit."
            ).format(tolerance=pct(tolerance, 0))
        )
    helps = [_("a band of ±{band}").format(band=pct(np.ceil(best * 100) / 100, 0))]
    if units is not None and unit_territory is not None and len(units):
        t = units["unit_id"].astype(str).map(unit_territory.astype(str))
        load = sum(
            units[m].to_numpy(dtype=float) / max(float(units[m].sum()), 1e-12) for m in metrics
        )
        names = []
        for tid in miss["territory_id"].astype(str).head(3):
            inside = np.flatnonzero((t == tid).to_numpy() & (units["n_accounts"] > 1).to_numpy())
            if len(inside):
                j = inside[np.argmax(load[inside])]
                row = units.iloc[j]
                place = row.get("place", "")
                names.append(f"{row['postal_code']} {place if pd.notna(place) else ''}".strip())
        if names:
            helps.append(
                _("splitting {postal_codes} into account groups").format(
                    postal_codes=", ".join(names)
                )
            )
    helps.append(_("fewer territories"))
    out.append(_("What would make it reachable: ") + _(", or ").join(helps) + ".")
    return out


def _assignment_rows(n: int, ui: np.ndarray, travel_load: np.ndarray | None) -> tuple[Any, Any]:
    """Build the equality rows of the bound's LP.

    Every unit is shared out in full; with travel, the last variable equals the travel metric's
    total over all variables.
    """
    import scipy.sparse as sp

    nv = len(ui)
    dyn = travel_load is not None
    rows, cols, vals = [ui], [np.arange(nv)], [np.ones(nv)]
    if travel_load is not None:
        rows += [np.full(nv, n), np.array([n])]
        cols += [np.arange(nv), np.array([nv])]
        vals += [-travel_load, np.array([1.0])]
    a_eq = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n + dyn, nv + 1),
    )
    return a_eq, np.r_[np.ones(n), np.zeros(int(dyn))]


def _band_rows(
    delta: np.ndarray,
    a: np.ndarray,
    lv: np.ndarray,
    sh: np.ndarray,
    by_t: list[np.ndarray],
    dyn_metric: int | None,
) -> tuple[Any, np.ndarray]:
    """The bound's inequality rows: every territory within ``1 ± delta`` of its target share.

    ``lv`` is the load of every (unit, territory) variable; the travel metric (``dyn_metric``)
    takes its total from the last variable. ``(None, rhs)`` when no metric has a load.
    """
    import scipy.sparse as sp

    nv = lv.shape[0]
    rows, cols, vals, rhs = [], [], [], []
    r = 0
    for m in range(a.shape[1]):
        is_dyn = m == dyn_metric
        total = float(a[:, m].sum())
        if total <= 0 and not is_dyn:
            continue
        for t, own in enumerate(by_t):
            for sign, lim in ((1.0, 1.0 + delta[m]), (-1.0, 1.0 - delta[m])):
                # sign * (own load - lim * share * total) <= 0
                rows.append(np.full(len(own) + is_dyn, r))
                vals.append(np.r_[sign * lv[own, m], [-sign * lim * sh[t, m]] if is_dyn else []])
                cols.append(np.r_[own, [nv] if is_dyn else []].astype(np.int64))
                rhs.append(0.0 if is_dyn else sign * lim * sh[t, m] * total)
                r += 1
    if r == 0:
        return None, np.zeros(0)
    a_ub = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, nv + 1)
    )
    return a_ub, np.array(rhs)


def _near_pairs(
    travel: np.ndarray, ui: np.ndarray, ti: np.ndarray, count: int, fixed: np.ndarray | None
) -> np.ndarray:
    """Which (unit, territory) variables join a territory among the unit's ``count`` nearest.

    A locked unit keeps its own territory whatever the distance.
    """
    n, k = travel.shape
    order = np.argsort(travel, axis=1, kind="stable")[:, :count]
    keep = np.zeros((n, k), dtype=bool)
    keep[np.arange(n)[:, None], order] = True
    near = keep[ui, ti]
    if fixed is not None:
        f = np.asarray(fixed)
        near |= (f[ui] >= 0) & (ti == f[ui])
    return near


def balance_bound(
    loads: np.ndarray,
    shares: np.ndarray,
    tolerance: float | Sequence[float],
    *,
    travel: np.ndarray | None = None,
    travel_metric: int = -1,
    fixed: np.ndarray | None = None,
    upper: float | None = None,
    steps: int = 4,
    near_territories: int = 6,
) -> dict[str, Any]:
    """Prove whether any plan can reach the tolerance, else the least deviation any can.

    Any plan -- even one that splits every unit and ignores contiguity: the linear relaxation of
    the balance constraints (HiGHS through :func:`scipy.optimize.linprog`) shares every unit out
    between the territories in any fractions; with ``travel`` a unit's load on ``travel_metric``
    depends on its territory and that metric's targets follow the plan's own total, as in the
    design. When the relaxation is infeasible at the tolerance, no plan can reach it: a bisection
    between the tolerance and ``upper`` finds the band within which the relaxation first becomes
    feasible (a proven lower bound on the deviation).

    Parameters
    ----------
    loads
        ``(units, metrics)`` load of every unit (without travel).
    shares
        ``(territories, metrics)`` target share of every territory per metric (columns sum
        to 1).
    tolerance
        Allowed relative deviation, one for all metrics or one per metric.
    travel
        Optional ``(units, territories)`` load a unit adds to ``travel_metric`` in a territory.
    fixed
        Optional territory number per unit (``-1`` = free): locked units stay.
    upper
        Deviation known to be reachable (e.g. the best plan found); default 1.
    steps
        Bisection steps when the tolerance is out of reach.
    near_territories
        With ``travel``, each check first solves the relaxation with every unit restricted to
        its nearest territories (by travel): when that is feasible, so is the full relaxation;
        only otherwise the full LP decides. Same answers, a fraction of the time on large plans.

    Returns
    -------
    dict
        ``feasible`` (bool: the relaxation reaches the tolerance; when False, no plan can),
        ``bound`` (``None`` when feasible, else a deviation no plan can beat, to within the
        bisection's precision: the true limit lies between ``bound`` and ``bound_upper``),
        ``bound_upper``.
    """
    from scipy.optimize import linprog

    a = np.asarray(loads, dtype=float)
    n, nm = a.shape
    sh = np.asarray(shares, dtype=float)
    k = sh.shape[0]
    tol = np.broadcast_to(np.asarray(tolerance, dtype=float), (nm,))
    ej = travel_metric % nm
    nv = n * k
    ui = np.repeat(np.arange(n), k)
    ti = np.tile(np.arange(k), n)
    # load of variable (u, t) on every metric
    lv = a[ui].copy()
    if travel is not None:
        lv[:, ej] += np.asarray(travel, dtype=float)[ui, ti]
    dyn = travel is not None
    nx = nv + 1  # the last variable: the travel metric's total (its targets follow the plan)
    a_eq, b_eq = _assignment_rows(n, ui, lv[:, ej] if dyn else None)
    bounds = np.column_stack([np.zeros(nx), np.ones(nx)])
    bounds[nv] = (0.0, np.inf) if dyn else (0.0, 0.0)
    if fixed is not None:
        f = np.asarray(fixed)
        lk = f[ui] >= 0
        bounds[:nv][lk & (ti != f[ui]), 1] = 0.0
    by_t = [np.flatnonzero(ti == t) for t in range(k)]
    # a first LP lets each unit go to its nearest territories only: a fraction of the size, and
    # a plan it finds is a plan of the full relaxation (only "infeasible" needs the full LP)
    near = (
        _near_pairs(np.asarray(travel, dtype=float), ui, ti, near_territories, fixed)
        if dyn and k > near_territories
        else None
    )

    def feasible(delta: np.ndarray) -> bool:
        return (near is not None and _solve(delta, near)) or _solve(delta, None)

    def _solve(delta: np.ndarray, only: np.ndarray | None) -> bool:
        a_ub, rhs = _band_rows(delta, a, lv, sh, by_t, ej if dyn else None)
        if a_ub is None:
            return True
        b = bounds
        if only is not None:
            b = bounds.copy()
            b[:nv][~only, 1] = 0.0
        res = linprog(
            np.zeros(nx),
            A_ub=a_ub,
            b_ub=rhs,
            A_eq=a_eq,
            b_eq=b_eq,
            bounds=b,
            method="highs",
        )
        return res.status == 0

    if feasible(tol):
        return {"feasible": True, "bound": None, "bound_upper": None}
    lo, hi = float(tol.max()), float(upper if upper is not None else 1.0)
    scale = tol / tol.max()
    for _step in range(steps):
        mid = (lo + hi) / 2
        if feasible(mid * scale):
            hi = mid
        else:
            lo = mid
    return {"feasible": False, "bound": lo, "bound_upper": hi}
