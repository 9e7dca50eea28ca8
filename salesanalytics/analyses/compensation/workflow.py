"""The compensation phase in two calls: pay both plans on the same actuals, then simulate them.

:func:`evaluate_plans` takes the canonical CRM tables (and, when available, the new territory
assignment and the account potential) and returns an :class:`Evaluation` with everything the
``80_compensation`` notebook shows; :func:`simulate_plans` runs the Monte-Carlo simulation of both
plans calibrated on that year.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesanalytics.analyses.compensation.actuals import (
    credit_basis_text,
    deal_credits,
    period_revenue,
    portfolio_actuals,
    portfolio_owners,
    route_credits,
    serving_reps,
    with_team_deals,
)
from salesanalytics.analyses.compensation.analysis import (
    compare_plans,
    composite_attainment,
    pay_for_performance,
    potential_correlation,
    rep_potential,
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
from salesanalytics.present import formats
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "CreditRouting",
    "Evaluation",
    "EvaluationSettings",
    "credit_summary",
    "evaluate_plans",
    "findings_text",
    "paid_reps",
    "rep_potentials",
    "simulate_plans",
]


@dataclass(frozen=True)
class CreditRouting:
    """What channel-matrix credit reads from the channel phase (see :func:`evaluate_plans`).

    Attributes
    ----------
    table
        ``account_product_channel``: ``account_id, product_group, channel``.
    product_groups
        Product group per product id (index), the lookup the matrix uses
        (:func:`salesanalytics.analyses.funnel.model.product_groups`).
    """

    table: pd.DataFrame
    product_groups: pd.Series


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
        Deal credits of the period under the proposed plan (all deal measures; with
        ``credit_basis``, ``routed_channel`` and ``sold_by`` when its credit follows the channel
        matrix).
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


@dataclass(frozen=True)
class EvaluationSettings:
    """Settings of :func:`evaluate_plans` (today's defaults), apart from the plans and tables.

    Parameters
    ----------
    period_months
        Length of the period paid, ending on the reference date.
    new_product_months, multi_year_months
        The deal flags' definitions (see
        :func:`~salesanalytics.analyses.compensation.actuals.deal_credits`).
    threshold, excellence
        Composite attainment counted as threshold and excellence.
    quota_growth
        Growth target of ``auto`` quotas of value measures: quotas are set on the **prior**
        ``period_months`` (the role's quantile of last year's results, spread by territory
        potential) plus this growth, never on the year they pay (see
        :func:`~salesanalytics.analyses.compensation.engine.compute_payouts`).
    """

    period_months: int = 12
    new_product_months: int = 24
    multi_year_months: int = 24
    threshold: float = 0.5
    excellence: float = 1.5
    quota_growth: float = 0.05


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
    routing: CreditRouting | None = None,
    settings: EvaluationSettings | None = None,
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
    routing
        :class:`CreditRouting`: the channel phase's account × product group → channel table
        and the product group of each product. A plan with ``credit: channel_matrix`` credits
        each deal to the channel the matrix routes its account and product group to
        (:func:`~salesanalytics.analyses.compensation.actuals.route_credits`), in the paid and in
        the prior (quota) period; ``None`` (channel phase not run): the deal owner, with a note.
    settings
        :class:`EvaluationSettings` (period, deal flags, attainment bands, quota growth);
        ``None`` = today's defaults.
    """
    cfg = settings or EvaluationSettings()
    start, end = period_bounds(as_of, cfg.period_months)
    notes: list[str] = []
    r = paid_reps(reps, notes)
    deals = _period_deals(opportunities, contracts, products, (start, end), cfg)
    _note_excluded(deals, notes)
    owner_before = accounts[["account_id", "owner_id"]].rename(columns={"owner_id": "rep_id"})
    pairs = portfolio_owners(owner_before, contracts, reps)
    actuals = portfolio_actuals(contracts, activities, pairs, start, end)
    pot, potential_before = rep_potentials(account_potential, owner_before, assignment)
    if "name" in accounts.columns:  # clawback lines name the customer
        customer = accounts.set_index(accounts["account_id"].astype("string"))["name"]
        deals["customer"] = deals["account_id"].map(customer).astype("string")
    # quotas are set on the prior period (same length, ending the day before this one)
    p_start, p_end = period_bounds(start - pd.Timedelta(days=1), cfg.period_months)
    prior = _period_deals(opportunities, contracts, products, (p_start, p_end), cfg)
    by_owner = {"paid": deals, "prior": prior}
    by_matrix = _credit_by_matrix(
        (current, proposed),
        by_owner,
        routing,
        (opportunities, contracts),
        r,
        assignment[["account_id", "rep_id"]] if assignment is not None else owner_before,
        notes,
    )
    prior_actuals = portfolio_actuals(contracts, activities, pairs, p_start, p_end)
    credited: dict[str, pd.DataFrame] = {}
    results = []
    for label, plan in (("current", current), ("proposed", proposed)):
        src = by_matrix if plan.credit == "channel_matrix" and by_matrix is not None else by_owner
        credited[label] = with_team_deals(src["paid"], r)
        results.append(
            _pay_on_prior_quotas(
                plan,
                r,
                (credited[label], actuals, start, end),
                (with_team_deals(src["prior"], r), prior_actuals, p_start, p_end),
                potential_before,
                cfg.quota_growth,
            )
        )
    res_cur, res_new = results
    notes += [_("current plan: {note}").format(note=n) for n in res_cur.notes]
    notes += [_("proposed plan: {note}").format(note=n) for n in res_new.notes]
    revenue = period_revenue(contracts, start, end)
    comparison = compare_plans(
        {"current": res_cur, "proposed": res_new}, revenue, cfg.threshold, cfg.excellence
    )
    winners = winners_losers(res_cur.totals, res_new.totals, r)
    pfp = _pay_for_performance(res_cur, res_new)
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
        correlation=_potential_correlations(pot, res_cur, res_new),
        deals=credited["proposed"],
        plans={"current": current, "proposed": proposed},
        notes=notes,
    )


def _note_excluded(deals: pd.DataFrame, notes: list[str]) -> None:
    """Note the won deals left out of ``deals`` (without owner or amount), if any."""
    if deals.attrs.get("excluded"):
        notes.append(
            _("{n} won deal(s) without owner or amount not credited.").format(
                n=deals.attrs["excluded"]
            )
        )


def _period_deals(
    opportunities: pd.DataFrame,
    contracts: pd.DataFrame,
    products: pd.DataFrame | None,
    bounds: tuple[pd.Timestamp, pd.Timestamp],
    cfg: EvaluationSettings,
) -> pd.DataFrame:
    """The deal credits of one period (``bounds``: first and last day), as of its last day."""
    start, end = bounds
    return deal_credits(
        opportunities,
        contracts,
        products,
        start,
        end,
        as_of=end,
        new_product_months=cfg.new_product_months,
        multi_year_months=cfg.multi_year_months,
    )


def _pay_for_performance(res_cur: PayoutResult, res_new: PayoutResult) -> pd.DataFrame:
    """Pay against performance under both plans, performance measured by the proposed plan."""
    perf = composite_attainment(res_new.payouts)
    return pd.concat(
        [
            pay_for_performance(res_cur.totals, perf).assign(plan="current"),
            pay_for_performance(res_new.totals, perf).assign(plan="proposed"),
        ],
        ignore_index=True,
    )


def _deal_groups(opportunities: pd.DataFrame, product_groups: pd.Series | None) -> pd.Series:
    """Product group per opportunity id (its product's group).

    ``product_groups`` gives the group per product id.
    """
    if product_groups is None or "product_id" not in opportunities.columns:
        return pd.Series(dtype="string")
    pid = pd.Series(
        opportunities["product_id"].astype("string").to_numpy(),
        index=opportunities["opportunity_id"].astype("string").to_numpy(),
    )
    groups = pd.Series(
        product_groups.astype("string").to_numpy(), index=product_groups.index.astype("string")
    )
    return pid.map(groups).astype("string")


def credit_summary(ev: Evaluation) -> pd.DataFrame:
    """How the proposed plan's deal credit was assigned.

    Per basis (and routed channel), the deals and their credited value (one measure of sales value,
    team leads' copies left out).

    Returns
    -------
    pandas.DataFrame
        ``how_credited, routed_channel, deals, credited_value, share_of_value``; empty when
        the proposed plan credits deal owners.
    """
    d = ev.deals
    cols = ["how_credited", "routed_channel", "deals", "credited_value", "share_of_value"]
    if "credit_basis" not in d.columns or d.empty:
        return pd.DataFrame(columns=cols)
    own = d[~d["team_credit"].fillna(False).astype(bool)] if "team_credit" in d.columns else d
    # each deal counts once: the measure that counts every deal type it was credited for
    own = own.sort_values("measure").drop_duplicates(["deal_id", "rep_id"])
    g = own.groupby(["credit_basis", "routed_channel"], dropna=False, observed=True)
    out = g.agg(deals=("deal_id", "nunique"), credited_value=("amount", "sum")).reset_index()
    total = out["credited_value"].sum()
    out["share_of_value"] = out["credited_value"] / total if total else 0.0
    out["how_credited"] = [
        credit_basis_text(b, c)
        for b, c in zip(out["credit_basis"], out["routed_channel"], strict=True)
    ]
    return out.sort_values("credited_value", ascending=False, ignore_index=True)[cols]


def _credit_by_matrix(
    plans: tuple[Plan, Plan],
    by_owner: dict[str, pd.DataFrame],
    routing: CreditRouting | None,
    tables: tuple[pd.DataFrame, pd.DataFrame],
    reps: pd.DataFrame,
    field_owner: pd.DataFrame,
    notes: list[str],
) -> dict[str, pd.DataFrame] | None:
    """The deal credits routed by the channel matrix when a plan asks for it.

    Routes ``by_owner`` (paid and prior period) where a plan says ``credit: channel_matrix``;
    ``None`` when no plan does, or, with a note, when the channel phase did not run. ``tables``:
    opportunities, contracts.
    """
    if not any(p.credit == "channel_matrix" for p in plans):
        return None
    if routing is None:
        notes.append(
            _(
                "The proposed plan credits deals by the channel matrix, but the channel phase did "
                "not run: every deal is credited to its owner."
            )
        )
        return None
    opportunities, contracts = tables
    groups = _deal_groups(opportunities, routing.product_groups)
    serving = serving_reps(contracts, reps)
    return {
        k: route_credits(v, routing.table, groups, reps, field_owner, serving)
        for k, v in by_owner.items()
    }


def _pay_on_prior_quotas(
    plan: Plan,
    reps: pd.DataFrame,
    period: tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp, pd.Timestamp],
    prior: tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp, pd.Timestamp],
    potential: pd.DataFrame | None,
    quota_growth: float,
) -> PayoutResult:
    """Pay ``plan`` on ``period`` with ``auto`` quotas set on the ``prior`` period.

    ``period`` is (deals, portfolio actuals, start, end); the quotas come from the same plan paid on
    the ``prior`` period.
    """
    prior_deals, prior_actuals, p_start, p_end = prior
    history = compute_payouts(
        plan, reps, prior_deals, prior_actuals, p_start, p_end, potential=potential
    ).payouts
    deals, actuals, start, end = period
    return compute_payouts(
        plan,
        reps,
        deals,
        actuals,
        start,
        end,
        potential=potential,
        quota_history=history[["rep_id", "measure", "full_year_actual"]],
        quota_growth=quota_growth,
    )


def paid_reps(reps: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """The reps paid in the comparison: all but inactive ones (who left; counted in ``notes``).

    ``reps`` needs ``rep_id``; optional ``active``. Returns a copy with ``rep_id`` as string.
    """
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
    return r


def rep_potentials(
    account_potential: pd.DataFrame | None,
    owner_before: pd.DataFrame,
    assignment: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Territory potential per rep before and, with an ``assignment``, after the new territories.

    Before: today's owners (``account_id, rep_id``).

    Returns
    -------
    tuple
        ``rep_id, potential_before[, potential_after]`` (only ``rep_id`` without
        ``account_potential``) and the potential before as ``rep_id, potential_mrr`` (or ``None``).
    """
    pot = pd.DataFrame({"rep_id": pd.Series([], dtype="string")})
    if account_potential is None:
        return pot, None
    before = rep_potential(account_potential, owner_before.dropna())
    pot = before.rename(columns={"potential_mrr": "potential_before"})[
        ["rep_id", "potential_before"]
    ]
    if assignment is not None:
        after = rep_potential(account_potential, assignment[["account_id", "rep_id"]])
        pot = pot.merge(
            after.rename(columns={"potential_mrr": "potential_after"})[
                ["rep_id", "potential_after"]
            ],
            on="rep_id",
            how="outer",
        )
    return pot, before


def _potential_correlations(
    pot: pd.DataFrame, res_cur: PayoutResult, res_new: PayoutResult
) -> pd.DataFrame:
    """Correlation of each plan's pay with today's territory potential (empty without it)."""
    corr_rows = []
    if "potential_before" in pot.columns:
        pb = pot.rename(columns={"potential_before": "potential_mrr"})
        for label, res in (("current", res_cur), ("proposed", res_new)):
            c = potential_correlation(res.totals, pb)
            corr_rows.append({"plan": label, "territory": "today", **c})
    return pd.DataFrame(corr_rows, columns=["plan", "territory", "rho", "p_value", "n"])


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
            reps=formats.num(len(ev.reps)),
            total=formats.chf(new["total_cost"], compact=True),
            total_today=formats.chf(cur["total_cost"], compact=True),
            cos_today=formats.pct(cur["cost_of_sales"]),
            cos=formats.pct(new["cost_of_sales"]),
        )
    ]
    w = ev.winners
    if len(w):
        gain, loss = (w["change"] > 0).sum(), (w["change"] < 0).sum()
        parts.append(
            _(
                "{gain} reps earn more and {loss} earn less; the median change is {median} a year."
            ).format(
                gain=formats.num(gain),
                loss=formats.num(loss),
                median=formats.chf(w["change"].median()),
            )
        )
    if len(ev.correlation) == 2:
        c = ev.correlation.set_index("plan")["rho"]
        parts.append(
            _(
                "The correlation of incentive with the potential of the rep's territory falls "
                "from {today} to {proposed}: pay follows performance against a fair quota rather "
                "than the luck of a rich territory."
            ).format(today=formats.num(c["current"], 2), proposed=formats.num(c["proposed"], 2))
        )
    credits = credit_summary(ev)
    if len(credits):
        moved = credits.loc[
            credits["how_credited"].isin(
                [
                    credit_basis_text(b, c)
                    for b in ("field_owner", "channel_rep", "team_channel")
                    for c in ("field", "tele", "online")
                ]
            ),
            "credited_value",
        ].sum()
        parts.append(
            _(
                "Under the proposed plan the channel that sells a product group to an account "
                "earns the deal (channel matrix): {share} of the year's credited sales value goes "
                "to a rep other than the deal's owner."
            ).format(share=formats.pct(moved / credits["credited_value"].sum(), 0))
        )
    if summary is not None and len(summary):
        v = summary.set_index(["scenario", "statistic"])["value"]
        parts.append(
            _(
                "In 8 of 10 simulated years the proposed plan's incentive cost stays between "
                "{p10} and {p90} (median {p50})."
            ).format(
                p10=formats.chf(v["proposed", "cost_p10"], compact=True),
                p90=formats.chf(v["proposed", "cost_p90"], compact=True),
                p50=formats.chf(v["proposed", "cost_p50"], compact=True),
            )
        )
    return " ".join(parts)
