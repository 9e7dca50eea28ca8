"""The compensation phase in two calls: pay both plans on the same actuals, then simulate them.

:func:`evaluate_plans` takes the canonical CRM tables (and, when available, the new territory
assignment and the account potential) and returns an :class:`Evaluation` with everything the
``80_compensation`` notebook shows; :func:`simulate_plans` runs the Monte-Carlo simulation of both
plans calibrated on that year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesanalytics.analyses.compensation.actuals import (
    deal_credits,
    period_revenue,
    portfolio_actuals,
    portfolio_owners,
    with_team_deals,
)
from salesanalytics.analyses.compensation.analysis import (
    compare_plans,
    composite_attainment,
    pay_for_performance,
    potential_correlation,
    rep_potential,
    rep_statement,
    winners_losers,
)
from salesanalytics.analyses.compensation.engine import PayoutResult, compute_payouts, period_bounds
from salesanalytics.analyses.compensation.plan import Plan
from salesanalytics.analyses.compensation.simulation import (
    Calibration,
    SimulationResult,
    calibrate,
    simulate,
    simulation_summary,
    with_assumed,
)
from salesanalytics.engagement.workspace import apply_run_settings, read_phase_tables
from salesanalytics.present import style
from salesanalytics.present.i18n import gettext as _

__all__ = ["Evaluation", "evaluate_plans", "findings_text", "read_statement", "simulate_plans"]


@dataclass
class Evaluation:
    """Both plans paid on the same year of actuals (see :func:`evaluate_plans`).

    Attributes
    ----------
    period_start, period_end
        The year paid.
    revenue
        Recurring revenue of the period (CHF).
    reps
        Active reps paid: ``rep_id, name, role, team, fte, hire_date``.
    current, proposed
        :class:`~salesanalytics.analyses.compensation.engine.PayoutResult` of each plan.
    comparison
        :func:`~salesanalytics.analyses.compensation.analysis.compare_plans` of the two.
    winners
        Change of total pay per rep, biggest loss first.
    pay_for_performance
        ``plan, rep_id, performance, performance_pct, incentive, incentive_vs_target``;
        performance = composite attainment under the proposed plan for both plans.
    potential
        Territory potential per rep: ``rep_id, potential_before, potential_after``.
    correlation
        Spearman correlation of incentive with territory potential: ``plan, territory, rho,
        p_value, n``.
    deals
        Deal credits of the period (all deal measures).
    plans
        The two plans by label.
    notes
        What was left out and why.
    """

    period_start: pd.Timestamp
    period_end: pd.Timestamp
    revenue: float
    reps: pd.DataFrame
    current: PayoutResult
    proposed: PayoutResult
    comparison: pd.DataFrame
    winners: pd.DataFrame
    pay_for_performance: pd.DataFrame
    potential: pd.DataFrame
    correlation: pd.DataFrame
    deals: pd.DataFrame
    plans: dict[str, Plan]
    notes: list[str] = field(default_factory=list)

    @property
    def statement_reps(self) -> pd.DataFrame:
        """Reps with a statement under the proposed plan: ``rep_id, rep_name``."""
        t = self.proposed.totals[["rep_id"]].merge(
            self.reps[["rep_id", "name"]], on="rep_id", how="left"
        )
        t["rep_name"] = t["name"].fillna(t["rep_id"]).astype("string")
        return t[["rep_id", "rep_name"]].sort_values("rep_name", ignore_index=True)


def evaluate_plans(
    current: Plan,
    proposed: Plan,
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    contracts: pd.DataFrame,
    opportunities: pd.DataFrame,
    products: pd.DataFrame | None,
    activities: pd.DataFrame | None,
    as_of: str | pd.Timestamp,
    assignment: pd.DataFrame | None = None,
    account_potential: pd.DataFrame | None = None,
    period_months: int = 12,
    new_product_months: int = 24,
    multi_year_months: int = 24,
    threshold: float = 0.5,
    excellence: float = 1.5,
    quota_growth: float = 0.05,
) -> Evaluation:
    """Pay the current and the proposed plan on the same ``period_months`` of actuals.

    Parameters
    ----------
    current, proposed
        The two plans.
    accounts
        Canonical accounts: ``account_id``, ``owner_id`` (today's territories).
    reps
        Canonical reps: ``rep_id``, ``name``, ``role``; optional ``active`` (inactive reps, who
        left, are not paid and their deals are counted as excluded), ``fte``, ``hire_date``,
        ``manager_id``, ``team``.
    contracts, opportunities, products, activities
        Canonical tables (see :mod:`salesanalytics.analyses.compensation.actuals` for the columns used).
    as_of
        Today; the period is the ``period_months`` months ending on it.
    assignment
        New territory assignment ``account_id, rep_id`` (for the potential per rep after the new
        territories); ``None`` = unchanged.
    account_potential
        ``account_id, potential_mrr``; when given, new-ARR quotas of measures with
        ``quota_basis: potential`` follow each rep's current territory potential and the
        correlation of pay with potential is computed.
    period_months, new_product_months, multi_year_months
        Period length and the deal flags' definitions.
    threshold, excellence
        Composite attainment counted as threshold and excellence.
    quota_growth
        Growth target of ``auto`` quotas of value measures: quotas are set on the **prior**
        ``period_months`` (the role's quantile of last year's results, spread by territory
        potential) plus this growth, never on the year they pay (see
        :func:`~salesanalytics.analyses.compensation.engine.compute_payouts`).
    """
    start, end = period_bounds(as_of, period_months)
    notes: list[str] = []
    r = reps.copy()
    r["rep_id"] = r["rep_id"].astype("string")
    if "active" in r.columns:
        inactive = r["active"].fillna(True).astype(bool).eq(False)
        if inactive.any():
            notes.append(
                _(
                    "{n} inactive rep(s) (left the company) are not paid in the comparison; their "
                    "deals are not credited to anyone."
                ).format(n=int(inactive.sum()))
            )
        r = r[~inactive]
    deals = deal_credits(
        opportunities,
        contracts,
        products,
        start,
        end,
        as_of=end,
        new_product_months=new_product_months,
        multi_year_months=multi_year_months,
    )
    if deals.attrs.get("excluded"):
        notes.append(
            _("{n} won deal(s) without owner or amount not credited.").format(
                n=deals.attrs["excluded"]
            )
        )
    owner_before = accounts[["account_id", "owner_id"]].rename(columns={"owner_id": "rep_id"})
    pairs = portfolio_owners(owner_before, contracts, reps)
    actuals = portfolio_actuals(contracts, activities, pairs, start, end)

    pot = pd.DataFrame({"rep_id": pd.Series([], dtype="string")})
    potential_before = None
    if account_potential is not None:
        before = rep_potential(account_potential, owner_before.dropna())
        pot = before.rename(columns={"potential_mrr": "potential_before"})[
            ["rep_id", "potential_before"]
        ]
        potential_before = before
        if assignment is not None:
            after = rep_potential(account_potential, assignment[["account_id", "rep_id"]])
            pot = pot.merge(
                after.rename(columns={"potential_mrr": "potential_after"})[
                    ["rep_id", "potential_after"]
                ],
                on="rep_id",
                how="outer",
            )
    if "name" in accounts.columns:  # clawback lines name the customer
        customer = accounts.set_index(accounts["account_id"].astype("string"))["name"]
        deals["customer"] = deals["account_id"].map(customer).astype("string")
    deals = with_team_deals(deals, r)
    # quotas are set on the prior period (same length, ending the day before this one)
    p_start, p_end = period_bounds(start - pd.Timedelta(days=1), period_months)
    prior_deals = with_team_deals(
        deal_credits(
            opportunities,
            contracts,
            products,
            p_start,
            p_end,
            as_of=p_end,
            new_product_months=new_product_months,
            multi_year_months=multi_year_months,
        ),
        r,
    )
    prior_actuals = portfolio_actuals(contracts, activities, pairs, p_start, p_end)
    results = {}
    for label, plan in (("current", current), ("proposed", proposed)):
        history = compute_payouts(
            plan, r, prior_deals, prior_actuals, p_start, p_end, potential=potential_before
        ).payouts
        results[label] = compute_payouts(
            plan,
            r,
            deals,
            actuals,
            start,
            end,
            potential=potential_before,
            quota_history=history[["rep_id", "measure", "full_year_actual"]],
            quota_growth=quota_growth,
        )
    res_cur, res_new = results["current"], results["proposed"]
    notes += [_("current plan: {note}").format(note=n) for n in res_cur.notes]
    notes += [_("proposed plan: {note}").format(note=n) for n in res_new.notes]
    revenue = period_revenue(contracts, start, end)
    comparison = compare_plans(
        {"current": res_cur, "proposed": res_new}, revenue, threshold, excellence
    )
    winners = winners_losers(res_cur.totals, res_new.totals, r)
    perf = composite_attainment(res_new.payouts)
    pfp = pd.concat(
        [
            pay_for_performance(res_cur.totals, perf).assign(plan="current"),
            pay_for_performance(res_new.totals, perf).assign(plan="proposed"),
        ],
        ignore_index=True,
    )
    corr_rows = []
    if "potential_before" in pot.columns:
        pb = pot.rename(columns={"potential_before": "potential_mrr"})
        for label, res in (("current", res_cur), ("proposed", res_new)):
            c = potential_correlation(res.totals, pb)
            corr_rows.append({"plan": label, "territory": "today", **c})
    correlation = pd.DataFrame(corr_rows, columns=["plan", "territory", "rho", "p_value", "n"])
    return Evaluation(
        period_start=start,
        period_end=end,
        revenue=revenue,
        reps=r.reset_index(drop=True),
        current=res_cur,
        proposed=res_new,
        comparison=comparison,
        winners=winners,
        pay_for_performance=pfp,
        potential=pot,
        correlation=correlation,
        deals=deals,
        plans={"current": current, "proposed": proposed},
        notes=notes,
    )


def simulate_plans(
    ev: Evaluation, n_scenarios: int = 10_000, seed: int = 42
) -> tuple[Calibration, dict[str, SimulationResult], pd.DataFrame]:
    """Monte-Carlo simulation of both plans, calibrated on the evaluated year.

    Attainment distributions (log-normal, correlated) are fitted on the year's attainment of
    every measure of both plans; each plan is then simulated for the evaluated reps over a full
    year (no proration).

    Returns
    -------
    tuple
        The :class:`Calibration`, the results by plan label (``current``, ``proposed``) and the
        long summary table ``scenario, statistic, value`` of both.
    """
    hist = pd.concat([ev.current.payouts, ev.proposed.payouts], ignore_index=True).drop_duplicates(
        ["rep_id", "measure"]
    )
    hist = hist[["rep_id", "measure", "attainment"]].dropna()
    counts = hist.groupby("measure")["rep_id"].nunique()
    known = sorted(str(m) for m in counts[counts >= 3].index)
    cal = (
        calibrate(hist[hist["measure"].isin(known)], known)
        if known
        else Calibration((), np.zeros(0), np.zeros(0), np.zeros((0, 0)), 0)
    )
    reps = ev.proposed.totals[["rep_id", "role"]]
    # measures without a year of history (e.g. retention on deals of less than a year, activity
    # measures without an activity log) are simulated at target, shown in the calibration table
    needed = sorted(
        {
            m.id
            for plan in ev.plans.values()
            for r in set(reps["role"].astype(str))
            if r in plan.roles
            for m in plan.roles[r].measures
        }
    )
    cal = with_assumed(cal, needed)
    results: dict[str, SimulationResult] = {}
    for i, (label, plan) in enumerate(ev.plans.items()):
        res = ev.current if label == "current" else ev.proposed
        quotas = res.payouts[["rep_id", "measure", "quota"]].astype({"rep_id": str})
        results[label] = simulate(
            plan, reps, cal, n_scenarios=n_scenarios, seed=seed + i, quotas=quotas
        )
    summary = pd.concat(
        [simulation_summary(res, label) for label, res in results.items()], ignore_index=True
    )
    return cal, results, summary


def findings_text(ev: Evaluation, summary: pd.DataFrame | None = None) -> str:
    """Plain-language findings of the comparison (and simulation, if given) for the client."""
    s = ev.comparison.set_index("plan")
    cur, new = s.loc["current"], s.loc["proposed"]
    parts = [
        _(
            "Paid on the same 12 months of actuals ({start} to {end}, {reps} active reps), the "
            "proposed plan costs {total} in total pay against {total_today} under today's "
            "commission plan; the cost of sales moves from {cos_today} to {cos} of recurring "
            "revenue."
        ).format(
            start=f"{ev.period_start:%d.%m.%Y}",
            end=f"{ev.period_end:%d.%m.%Y}",
            reps=style.num(len(ev.reps)),
            total=style.chf(new["total_cost"], compact=True),
            total_today=style.chf(cur["total_cost"], compact=True),
            cos_today=style.pct(cur["cost_of_sales"]),
            cos=style.pct(new["cost_of_sales"]),
        )
    ]
    w = ev.winners
    if len(w):
        gain, loss = (w["change"] > 0).sum(), (w["change"] < 0).sum()
        parts.append(
            _(
                "{gain} reps earn more and {loss} earn less; the median change is {median} a year."
            ).format(
                gain=style.num(gain), loss=style.num(loss), median=style.chf(w["change"].median())
            )
        )
    if len(ev.correlation) == 2:
        c = ev.correlation.set_index("plan")["rho"]
        parts.append(
            _(
                "The correlation of incentive with the potential of the rep's territory falls "
                "from {today} to {proposed}: pay follows performance against a fair quota rather "
                "than the luck of a rich territory."
            ).format(today=f"{c['current']:.2f}", proposed=f"{c['proposed']:.2f}")
        )
    if summary is not None and len(summary):
        v = summary.set_index(["scenario", "statistic"])["value"]
        parts.append(
            _(
                "In 8 of 10 simulated years the proposed plan's incentive cost stays between "
                "{p10} and {p90} (median {p50})."
            ).format(
                p10=style.chf(v["proposed", "cost_p10"], compact=True),
                p90=style.chf(v["proposed", "cost_p90"], compact=True),
                p50=style.chf(v["proposed", "cost_p50"], compact=True),
            )
        )
    return " ".join(parts)


_STATEMENT_TABLES = ("statement_reps", "statement_lines", "totals_current", "totals_proposed")


def read_statement(run_dir: str | Path, rep_id: str = "") -> tuple[str, pd.DataFrame]:
    """One rep's incentive statement from a run's compensation outputs (see :func:`rep_statement`).

    The per-rep statement template calls this once per rep in one kernel: the compensation
    tables (``statement_reps``, ``statement_lines``, ``totals_current``, ``totals_proposed``)
    are read once per run folder and file version, then cut down to the rep. An empty ``rep_id``
    shows the first rep with a statement (for opening the template by hand).

    Returns
    -------
    tuple
        The header sentence (with the rep's name) and the statement lines ``line, description,
        attainment, amount``.

    Raises
    ------
    FileNotFoundError
        If the compensation phase has not run in ``run_dir``.
    KeyError
        If the rep has no statement (the message lists some reps that have one).
    """
    apply_run_settings(run_dir)  # the run's currency, also in a freshly started kernel
    reps, lines, cur, new = read_phase_tables(run_dir, "compensation", _STATEMENT_TABLES)
    rep_id = rep_id or str(reps["rep_id"].iloc[0])
    names = pd.Series(reps["rep_name"].to_numpy(), index=reps["rep_id"].astype(str).to_numpy())
    name = names.get(rep_id)
    return rep_statement(lines, cur, new, rep_id, rep_id if pd.isna(name) else str(name))
