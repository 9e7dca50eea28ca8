"""Incentive compensation: plan model, payout engine, plan comparison and Monte-Carlo simulation.

Modules: :mod:`~salesanalytics.analyses.compensation.plan` (plans as YAML, validation, payout curves),
:mod:`~salesanalytics.analyses.compensation.actuals` (measures from the CRM tables),
:mod:`~salesanalytics.analyses.compensation.engine` (payouts and statements),
:mod:`~salesanalytics.analyses.compensation.analysis` (old plan against new plan),
:mod:`~salesanalytics.analyses.compensation.simulation` (Monte Carlo, Gini, Lorenz, levers) and
:mod:`~salesanalytics.analyses.compensation.workflow` (the phase in two calls). Everything public is
re-exported here:

* plans: :class:`Plan`, :class:`RolePlan`, :class:`Measure`, :class:`Curve`, :class:`Tier`,
  :class:`Booster`, :class:`Contest`, :class:`Clawback`, :class:`Draw`, :func:`load_plan`,
  :func:`plan_from_dict`, :func:`plan_problems`, :func:`curve_factor`, :data:`PLANS_DIR`;
* actuals: :data:`MEASURES`, :func:`deal_credits`, :func:`portfolio_actuals`,
  :func:`portfolio_owners`, :func:`with_team_deals`, :func:`mrr_at`, :func:`period_revenue`;
  credit by the channel matrix: :func:`route_credits`, :func:`serving_reps`,
  :func:`credit_notes`, :data:`CREDIT_BASIS`;
* payouts: :func:`compute_payouts` -> :class:`PayoutResult` (payouts, totals, statement lines),
  :func:`period_bounds`;
* comparison: :func:`compare_plans`, :func:`composite_attainment`, :func:`winners_losers`,
  :func:`pay_for_performance`, :func:`potential_correlation`, :func:`potential_quotas`,
  :func:`rep_potential`, :func:`plan_overview`, :func:`jensen_table`, :func:`rep_statement`,
  :func:`comparison_text`, :func:`headlines`, :func:`clawback_exposure`;
* simulation: :func:`calibrate` -> :class:`Calibration`, :func:`draw_attainment`,
  :func:`simulate` -> :class:`SimulationResult`, :func:`simulation_summary`, :func:`summary_display`, :func:`gini`,
  :func:`lorenz`, :func:`jensen_gap`, :func:`with_levers`,
  :func:`scenario_table`;
* the phase in two calls: :func:`evaluate_plans` (settings :class:`EvaluationSettings`) -> :class:`Evaluation`, :func:`simulate_plans`,
  :func:`findings_text`, :func:`credit_summary`.

Charts and widgets live in :mod:`~salesanalytics.analyses.compensation.plots`; a run's per-rep
statements are read by :func:`salesanalytics.engagement.results.read_statement`.
"""

from __future__ import annotations

from salesanalytics.analyses.compensation.actuals import (
    CREDIT_BASIS,
    MEASURES,
    credit_basis_text,
    credit_notes,
    deal_credits,
    mrr_at,
    period_revenue,
    portfolio_actuals,
    portfolio_owners,
    route_credits,
    serving_reps,
    with_team_deals,
)
from salesanalytics.analyses.compensation.analysis import (
    clawback_exposure,
    compare_plans,
    comparison_text,
    composite_attainment,
    headlines,
    jensen_table,
    pay_for_performance,
    plan_overview,
    potential_correlation,
    potential_quotas,
    rep_potential,
    rep_statement,
    winners_losers,
)
from salesanalytics.analyses.compensation.engine import PayoutResult, compute_payouts, period_bounds
from salesanalytics.analyses.compensation.plan import (
    PLANS_DIR,
    Booster,
    Clawback,
    Contest,
    Curve,
    Draw,
    Measure,
    Plan,
    RolePlan,
    Tier,
    curve_factor,
    load_plan,
    plan_from_dict,
    plan_problems,
)
from salesanalytics.analyses.compensation.simulation import (
    WHAT_IF_SCENARIOS,
    Calibration,
    SimulationResult,
    calibrate,
    draw_attainment,
    gini,
    jensen_gap,
    lorenz,
    plan_levers,
    scenario_table,
    simulate,
    simulation_summary,
    summary_display,
    with_levers,
)
from salesanalytics.analyses.compensation.workflow import (
    CreditRouting,
    Evaluation,
    EvaluationSettings,
    credit_summary,
    evaluate_plans,
    findings_text,
    simulate_plans,
)

__all__ = [
    "CREDIT_BASIS",
    "WHAT_IF_SCENARIOS",
    "Booster",
    "Calibration",
    "Clawback",
    "Contest",
    "CreditRouting",
    "Curve",
    "Draw",
    "Evaluation",
    "EvaluationSettings",
    "MEASURES",
    "Measure",
    "PLANS_DIR",
    "PayoutResult",
    "Plan",
    "RolePlan",
    "SimulationResult",
    "Tier",
    "calibrate",
    "clawback_exposure",
    "compare_plans",
    "comparison_text",
    "composite_attainment",
    "compute_payouts",
    "credit_basis_text",
    "credit_notes",
    "credit_summary",
    "curve_factor",
    "deal_credits",
    "draw_attainment",
    "evaluate_plans",
    "findings_text",
    "gini",
    "headlines",
    "jensen_gap",
    "jensen_table",
    "load_plan",
    "lorenz",
    "plan_levers",
    "mrr_at",
    "pay_for_performance",
    "period_bounds",
    "period_revenue",
    "plan_from_dict",
    "plan_overview",
    "plan_problems",
    "portfolio_actuals",
    "portfolio_owners",
    "potential_correlation",
    "potential_quotas",
    "rep_potential",
    "route_credits",
    "rep_statement",
    "scenario_table",
    "serving_reps",
    "simulate",
    "simulate_plans",
    "simulation_summary",
    "summary_display",
    "winners_losers",
    "with_levers",
    "with_team_deals",
]
