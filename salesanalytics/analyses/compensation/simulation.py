"""Monte-Carlo simulation of plan cost and payout distribution, before a plan is rolled out.

Attainment per rep and measure is drawn from right-skewed (log-normal) distributions calibrated on
history, with the correlation between measures kept through a Gaussian copula on the log scale
(:func:`calibrate`, :func:`draw_attainment`). Every scenario applies the plan's payout curves, measure
caps and plan cap to all reps at once (numpy, vectorised; scenarios processed in chunks to bound
memory) -> :class:`SimulationResult` with plan cost per scenario, pay per rep and scenario and the
Gini coefficient of pay per scenario. Deal-level rules (per-deal caps, boosters, clawbacks,
contests, draws) act on individual deals and are not simulated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.compensation.plan import Plan, curve_factor
from salesanalytics.errors import require_columns
from salesanalytics.present.i18n import N_
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "Calibration",
    "SimulationResult",
    "calibrate",
    "draw_attainment",
    "gini",
    "jensen_gap",
    "lorenz",
    "plan_levers",
    "scenario_table",
    "simulate",
    "simulation_summary",
    "summary_display",
    "with_assumed",
    "with_levers",
    "WHAT_IF_SCENARIOS",
]

WHAT_IF_SCENARIOS = 2_000
"""Simulated years per what-if scenario (the scenario table and the lever widget share it)."""


@dataclass(frozen=True)
class Calibration:
    """Log-normal marginals and log-scale correlation of attainment per measure.

    Attributes
    ----------
    measures
        Measure ids, in the order of ``mu``, ``sigma`` and ``corr``.
    mu, sigma
        Mean and standard deviation of log attainment per measure.
    corr
        Correlation matrix of log attainment between measures (positive semi-definite).
    n
        Number of reps the calibration is based on.
    assumed
        Measures without history (fewer than 3 reps with an attainment), simulated at target
        (median attainment 100%) with the median spread of the calibrated measures and
        independent of the others (:func:`with_assumed`).
    """

    measures: tuple[str, ...]
    mu: np.ndarray
    sigma: np.ndarray
    corr: np.ndarray
    n: int
    assumed: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """The calibration as a table: measure, median and P10/P90 attainment it implies."""
        z = 1.2815515655446004
        return pd.DataFrame(
            {
                "measure": list(self.measures),
                "median_attainment": np.exp(self.mu),
                "p10_attainment": np.exp(self.mu - z * self.sigma),
                "p90_attainment": np.exp(self.mu + z * self.sigma),
                "sigma_log": self.sigma,
                "basis": [
                    "assumed at target (no history)" if m in self.assumed else "history"
                    for m in self.measures
                ],
            }
        )


def with_assumed(cal: Calibration, measures: list[str], min_sigma: float = 0.05) -> Calibration:
    """``cal`` extended by ``measures`` that have no history, listed in ``assumed``.

    Each is simulated at target (log-mean 0, i.e. median attainment 100%) with the median spread of
    the calibrated measures (``min_sigma`` if there are none), uncorrelated with the others.
    """
    new = [m for m in measures if m not in cal.measures]
    if not new:
        return cal
    k, j = len(cal.measures), len(new)
    spread = float(np.median(cal.sigma)) if k else min_sigma
    corr = np.eye(k + j)
    corr[:k, :k] = cal.corr
    return Calibration(
        (*cal.measures, *new),
        np.concatenate([cal.mu, np.zeros(j)]),
        np.concatenate([cal.sigma, np.full(j, max(spread, min_sigma))]),
        corr,
        cal.n,
        (*cal.assumed, *new),
    )


def calibrate(
    attainment: pd.DataFrame,
    measures: list[str] | None = None,
    floor: float = 0.05,
    min_sigma: float = 0.05,
) -> Calibration:
    """Fit log-normal attainment distributions and their correlation from history.

    Parameters
    ----------
    attainment
        Columns ``rep_id``, ``measure``, ``attainment`` (e.g. ``PayoutResult.payouts``).
    measures
        Measures to calibrate (default: all in the table, sorted).
    floor
        Attainments below this (including 0) are set to it before taking logs.
    min_sigma
        Lower bound of the log standard deviation (avoids a degenerate, risk-free simulation).

    Raises
    ------
    ValueError
        If fewer than 3 reps have a value for a measure (nothing to calibrate on).
    """
    require_columns(attainment, ["rep_id", "measure", "attainment"], "attainment")
    wide = attainment.pivot_table(
        index="rep_id", columns="measure", values="attainment", aggfunc="mean"
    )
    ms = sorted(wide.columns) if measures is None else list(measures)
    missing = [m for m in ms if m not in wide.columns or wide[m].notna().sum() < 3]
    if missing:
        raise ValueError(
            f"cannot calibrate measure(s) {', '.join(missing)}: fewer than 3 reps have an "
            "attainment; provide more history or leave the measure out."
        )
    logs = np.log(wide[ms].clip(lower=floor))
    mu = logs.mean().to_numpy()
    sigma = np.maximum(logs.std(ddof=1).fillna(min_sigma).to_numpy(), min_sigma)
    corr = logs.corr().fillna(0.0).to_numpy(copy=True)
    np.fill_diagonal(corr, 1.0)
    w, v = np.linalg.eigh(corr)
    corr = (v * np.clip(w, 1e-9, None)) @ v.T
    d = np.sqrt(np.diag(corr))
    corr = corr / np.outer(d, d)
    return Calibration(tuple(ms), mu, sigma, corr, int(len(logs)))


def draw_attainment(
    cal: Calibration, n_scenarios: int, n_reps: int, seed: int | np.random.Generator
) -> np.ndarray:
    """Draw attainment, shape ``(n_scenarios, n_reps, n_measures)``, reproducible for ``seed``."""
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(cal.corr)
    z = rng.standard_normal((n_scenarios, n_reps, len(cal.measures))) @ chol.T
    return np.exp(cal.mu + cal.sigma * z)


@dataclass
class SimulationResult:
    """Result of :func:`simulate`.

    Attributes
    ----------
    cost
        Total incentive cost per scenario, shape ``(n_scenarios,)``.
    pay
        Incentive per scenario and rep, shape ``(n_scenarios, n_reps)``.
    gini
        Gini coefficient of incentive across reps per scenario.
    rep_ids
        Rep ids in the order of ``pay``'s columns.
    target
        Target incentive per rep (the plan's pay at 100% attainment).
    """

    cost: np.ndarray
    pay: np.ndarray
    gini: np.ndarray
    rep_ids: np.ndarray
    target: np.ndarray


def simulate(
    plan: Plan,
    reps: pd.DataFrame,
    cal: Calibration,
    n_scenarios: int = 10_000,
    seed: int = 42,
    chunk: int = 1_000,
    quota_scale: float = 1.0,
    quotas: pd.DataFrame | None = None,
) -> SimulationResult:
    """Simulate the plan's incentive cost and distribution over ``n_scenarios`` years.

    Parameters
    ----------
    plan
        The plan; every measure of the reps' roles must be in the calibration.
    reps
        Columns ``rep_id``, ``role``; optional ``prorate`` (FTE x share of year, default 1).
    cal
        Calibrated attainment distributions (:func:`calibrate`).
    n_scenarios
        Number of simulated years.
    seed
        Random seed (same seed, same result).
    chunk
        Scenarios per vectorised batch (memory bound; results do not depend on it for a seed
        only if it is kept the same).
    quota_scale
        Scales quotas: attainment is divided by it (1.1 = quotas 10% higher).
    quotas
        Per-rep quotas ``rep_id, measure, quota`` (e.g. ``PayoutResult.payouts``), needed to turn
        attainment back into credit for commission measures whose plan quota is ``auto``.

    Raises
    ------
    KeyError
        If a role has no plan or a plan measure is not calibrated.
    """
    require_columns(reps, ["rep_id", "role"], "reps")
    roles = reps["role"].astype(str).to_numpy()
    missing_roles = sorted(set(roles) - set(plan.roles))
    if missing_roles:
        raise KeyError(
            f"plan '{plan.name}' has no plan for role(s) {', '.join(missing_roles)}; "
            "filter the reps or add the roles to the plan."
        )
    midx = {m: i for i, m in enumerate(cal.measures)}
    need = {m.id for r in set(roles) for m in plan.roles[r].measures}
    unknown = sorted(need - set(midx))
    if unknown:
        raise KeyError(
            f"measure(s) {', '.join(unknown)} of plan '{plan.name}' are not calibrated; "
            f"calibrated: {', '.join(cal.measures)}."
        )
    prorate = (
        reps["prorate"].astype(float).to_numpy()
        if "prorate" in reps.columns
        else np.ones(len(reps))
    )
    n = len(reps)
    rep_ids = reps["rep_id"].astype(str).to_numpy()
    target = np.array([plan.roles[r].target_incentive for r in roles]) * prorate
    groups: dict[str, Any] = {r: np.flatnonzero(roles == r) for r in sorted(set(roles))}
    if len(groups) == 1:  # one role: use views instead of fancy-index copies
        groups = {next(iter(groups)): slice(None)}
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(cal.corr).T.astype(np.float32)
    mu, sigma = cal.mu.astype(np.float32), cal.sigma.astype(np.float32)
    pay = np.empty((n_scenarios, n), dtype=np.float64)
    for s0 in range(0, n_scenarios, chunk):
        s1 = min(s0 + chunk, n_scenarios)
        z = rng.standard_normal((s1 - s0, n, len(cal.measures)), dtype=np.float32)
        if len(cal.measures) > 1:
            z = z @ chol
        z *= sigma
        z += mu
        att = np.exp(z, out=z)
        if quota_scale != 1.0:
            att /= np.float32(quota_scale)
        block = pay[s0:s1]
        block[:] = 0.0
        for role, idx in groups.items():
            rp = plan.roles[role]
            ti = target[idx]
            sub = np.zeros((s1 - s0, len(ti)))
            for m in rp.measures:
                a = att[:, idx, midx[m.id]]
                if m.commission_rate is not None:
                    q = np.full(
                        len(ti), float(m.quota) if isinstance(m.quota, float | int) else 0.0
                    )
                    if quotas is not None:
                        qm = quotas[quotas["measure"] == m.id].set_index("rep_id")["quota"]
                        rq = pd.Series(rep_ids[idx]).map(qm).to_numpy(dtype=float)
                        q = np.where(np.isnan(rq), q, rq)
                    sub += m.commission_rate * (m.floor + a * (q - m.floor))
                else:
                    sub += (ti * m.weight) * curve_factor(a, m.curve)
            if rp.cap is not None:
                np.minimum(sub, rp.cap * ti, out=sub)
            block[:, idx] = sub
    return SimulationResult(
        cost=pay.sum(axis=1),
        pay=pay,
        gini=gini(pay, axis=1),
        rep_ids=reps["rep_id"].astype(str).to_numpy(),
        target=target,
    )


def gini(x: Any, axis: int = -1) -> np.ndarray:
    """Gini coefficient of non-negative values along ``axis`` (0 = equal, 1 = one gets all).

    Uses the sorted-values formula ``G = sum((2i - n - 1) x_(i)) / (n sum x)``; an all-zero row gives 0.
    """
    a = np.sort(np.asarray(x, dtype=float), axis=axis)
    a = np.moveaxis(a, axis, -1)
    n = a.shape[-1]
    i = np.arange(1, n + 1)
    tot = a.sum(axis=-1)
    num = ((2 * i - n - 1) * a).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(tot > 0, num / (n * tot), 0.0)
    return g


def lorenz(x: Any) -> pd.DataFrame:
    """Lorenz curve of ``x``: cumulative share of reps (poorest first) against share of pay.

    Returns
    -------
    pandas.DataFrame
        Columns ``rep_share`` and ``pay_share``, starting at (0, 0) and ending at (1, 1).
    """
    a = np.sort(np.asarray(x, dtype=float).ravel())
    tot = a.sum()
    cum = np.concatenate([[0.0], np.cumsum(a) / tot if tot > 0 else np.linspace(0, 1, len(a))])
    return pd.DataFrame({"rep_share": np.linspace(0.0, 1.0, len(a) + 1), "pay_share": cum})


def jensen_gap(curve: Any, attainments: Any) -> dict[str, float]:
    """Pay at average attainment against average pay (Jensen's inequality) for a curve.

    Under a convex curve (accelerators) the average payout exceeds the payout at the average
    attainment, so budgeting the plan at "everyone at average" underestimates its cost.

    Parameters
    ----------
    curve
        A :class:`~salesanalytics.analyses.compensation.plan.Curve`.
    attainments
        Attainment values (history or simulation).

    Returns
    -------
    dict
        ``factor_at_mean`` (curve at the mean attainment), ``mean_factor`` (mean of the curve) and
        ``gap`` (``mean_factor - factor_at_mean``).
    """
    a = np.asarray(attainments, dtype=float).ravel()
    at_mean = float(curve_factor(a.mean(), curve))
    mean_f = float(curve_factor(a, curve).mean())
    return {"factor_at_mean": at_mean, "mean_factor": mean_f, "gap": mean_f - at_mean}


def simulation_summary(result: SimulationResult, scenario: str = "proposed") -> pd.DataFrame:
    """Key figures of a simulation, long format ``scenario, statistic, value``.

    Statistics: ``cost_p10``, ``cost_p50``, ``cost_p90``, ``cost_mean``, ``target_cost`` (all reps
    exactly at 100%), ``gini_p50``, ``share_above_target`` (rep-years paid above target) and
    ``pay_p10`` / ``pay_p50`` / ``pay_p90`` (pay per rep-year as a share of target).
    """
    p10, p50, p90 = np.percentile(result.cost, [10, 50, 90])
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = result.pay / np.where(result.target > 0, result.target, np.nan)
    r10, r50, r90 = np.nanpercentile(rel, [10, 50, 90])
    stats = {
        "cost_p10": p10,
        "cost_p50": p50,
        "cost_p90": p90,
        "cost_mean": float(result.cost.mean()),
        "target_cost": float(result.target.sum()),
        "gini_p50": float(np.median(result.gini)),
        "share_above_target": float(np.nanmean(rel > 1.0)),
        "pay_p10": r10,
        "pay_p50": r50,
        "pay_p90": r90,
    }
    return pd.DataFrame(
        {
            "scenario": scenario,
            "statistic": list(stats),
            "value": [float(v) for v in stats.values()],
        }
    )


def with_levers(
    plan: Plan,
    threshold: float | None = None,
    accelerator: float | None = None,
    plan_cap: float | None = None,
    target_incentive_scale: float = 1.0,
) -> Plan:
    """A copy of ``plan`` with its main levers moved (for what-if scenarios and widgets).

    Parameters
    ----------
    threshold
        New threshold of every quota measure (``None``: unchanged).
    accelerator
        New rate of every tier starting at or above 100% attainment (``None``: unchanged).
    plan_cap
        New plan cap in multiples of the target incentive (``None``: unchanged).
    target_incentive_scale
        Multiplies every role's target incentive (changes the pay mix).
    """
    roles = {}
    for name, rp in plan.roles.items():
        measures = []
        for m in rp.measures:
            c = m.curve
            if threshold is not None:
                c = c.model_copy(update={"threshold": threshold})
            if accelerator is not None:
                tiers = tuple(
                    t.model_copy(update={"rate": accelerator}) if t.lower >= 1.0 else t
                    for t in c.tiers
                )
                c = c.model_copy(update={"tiers": tiers})
            measures.append(m.model_copy(update={"curve": c}))
        upd: dict[str, Any] = {
            "measures": tuple(measures),
            "target_incentive": rp.target_incentive * target_incentive_scale,
        }
        if plan_cap is not None:
            upd["cap"] = plan_cap
        roles[name] = rp.model_copy(update=upd)
    return plan.model_copy(update={"roles": roles})


def _most_common(values: list[float], default: float) -> float:
    """The most frequent value (the smallest among equally frequent ones); ``default`` if none."""
    if not values:
        return default
    counts: dict[float, int] = {}
    for v in values:
        counts[float(v)] = counts.get(float(v), 0) + 1
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


def plan_levers(plan: Plan) -> dict[str, float]:
    """The plan's own setting of each lever of :func:`with_levers` (where the widget starts).

    A lever the plan sets differently per measure or role (e.g. a threshold of 50% for growth and
    30% for retention measures) is represented by its most frequent value; the plan itself keeps
    its own values until that lever is moved.

    Returns
    -------
    dict
        ``threshold`` (of the quota measures), ``accelerator`` (rate of the first tier starting
        at 100% attainment; 1.0 without one), ``plan_cap`` (in multiples of the target
        incentive; the largest slider value 4.0 when no role is capped) and
        ``target_incentive_scale`` (1.0).
    """
    thresholds, accelerators, caps = [], [], []
    for rp in plan.roles.values():
        if rp.cap is not None:
            caps.append(rp.cap)
        for m in rp.measures:
            if m.commission_rate is not None:
                continue
            thresholds.append(m.curve.threshold)
            at_target = [t.rate for t in m.curve.tiers if t.lower >= 1.0]
            if at_target:
                accelerators.append(at_target[0])
    return {
        "threshold": _most_common(thresholds, 0.0),
        "accelerator": _most_common(accelerators, 1.0),
        "plan_cap": _most_common(caps, 4.0),
        "target_incentive_scale": 1.0,
    }


def scenario_table(
    plan: Plan,
    reps: pd.DataFrame,
    cal: Calibration,
    scenarios: dict[str, dict[str, float]],
    n_scenarios: int = 10_000,
    seed: int = 42,
    quotas: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Simulated cost and spread of pay for named lever settings (static what-if scenarios).

    Parameters
    ----------
    plan, reps, cal, n_scenarios, seed, quotas
        As for :func:`simulate` (the same seed for every scenario, so differences come from the
        levers only).
    scenarios
        Label -> keyword arguments of :func:`with_levers` (``{}`` = the plan as it is).

    Returns
    -------
    pandas.DataFrame
        ``scenario, cost_p10, cost_p50, cost_p90, gini_p50, share_above_target``.
    """
    rows = []
    for label, levers in scenarios.items():
        res = simulate(
            with_levers(plan, **levers),
            reps,
            cal,
            n_scenarios=n_scenarios,
            seed=seed,
            quotas=quotas,
        )
        s = simulation_summary(res, label).set_index("statistic")["value"]
        rows.append(
            {
                "scenario": label,
                "cost_p10": s["cost_p10"],
                "cost_p50": s["cost_p50"],
                "cost_p90": s["cost_p90"],
                "gini_p50": s["gini_p50"],
                "share_above_target": s["share_above_target"],
            }
        )
    return pd.DataFrame(rows)


_STAT_LABELS = {
    "cost_p10": (N_("Incentive cost P10"), "chf"),
    "cost_p50": (N_("Incentive cost P50 (median)"), "chf"),
    "cost_p90": (N_("Incentive cost P90"), "chf"),
    "cost_mean": (N_("Incentive cost, mean"), "chf"),
    "target_cost": (N_("Incentive cost if every rep is exactly on target"), "chf"),
    "gini_p50": (N_("Gini of incentive across reps (median year)"), "ratio"),
    "share_above_target": (N_("Share of rep-years paid above target"), "pct"),
    "pay_p10": (N_("Rep pay / target, P10"), "pct"),
    "pay_p50": (N_("Rep pay / target, P50"), "pct"),
    "pay_p90": (N_("Rep pay / target, P90"), "pct"),
}


def summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`simulation_summary` rows of one or more scenarios as a formatted wide table.

    Parameters
    ----------
    summary
        Columns ``scenario``, ``statistic``, ``value``.

    Returns
    -------
    pandas.DataFrame
        ``figure`` plus one text column per scenario (Swiss formatting).
    """
    from salesanalytics.present import formats

    fmt = {"chf": formats.chf, "pct": formats.pct, "ratio": lambda v: formats.num(v, 3)}
    wide = summary.pivot(index="statistic", columns="scenario", values="value")
    order = [s for s in _STAT_LABELS if s in wide.index]
    out = pd.DataFrame({"figure": [_(_STAT_LABELS[s][0]) for s in order]})
    for col in wide.columns:
        out[str(col)] = [fmt[_STAT_LABELS[s][1]](wide.loc[s, col]) for s in order]
    return out
