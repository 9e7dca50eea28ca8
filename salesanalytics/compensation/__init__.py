"""Incentive compensation: plan model, payout engine, plan comparison and Monte-Carlo simulation.

Modules: :mod:`~salesanalytics.compensation.plan` (plans as YAML, validation, payout curves),
:mod:`~salesanalytics.compensation.actuals` (measures from the CRM tables),
:mod:`~salesanalytics.compensation.engine` (payouts and statements),
:mod:`~salesanalytics.compensation.analysis` (old plan against new plan),
:mod:`~salesanalytics.compensation.simulation` (Monte Carlo, Gini, Lorenz, levers) and
:mod:`~salesanalytics.compensation.workflow` (the phase in two calls). Everything public is
re-exported here:

* plans: :class:`Plan`, :class:`RolePlan`, :class:`Measure`, :class:`Curve`, :class:`Tier`,
  :class:`Booster`, :class:`Contest`, :class:`Clawback`, :class:`Draw`, :func:`load_plan`,
  :func:`plan_from_dict`, :func:`plan_problems`, :func:`curve_factor`, :data:`PLANS_DIR`;
* actuals: :data:`MEASURES`, :func:`deal_credits`, :func:`portfolio_actuals`,
  :func:`portfolio_owners`, :func:`with_team_deals`, :func:`mrr_at`, :func:`period_revenue`;
* payouts: :func:`compute_payouts` -> :class:`PayoutResult` (payouts, totals, statement lines),
  :func:`period_bounds`;
* comparison: :func:`compare_plans`, :func:`composite_attainment`, :func:`winners_losers`,
  :func:`pay_for_performance`, :func:`potential_correlation`, :func:`potential_quotas`,
  :func:`rep_potential`, :func:`plan_overview`, :func:`jensen_table`, :func:`rep_statement`,
  :func:`comparison_text`, :func:`headlines`, :func:`clawback_exposure`;
* simulation: :func:`calibrate` -> :class:`Calibration`, :func:`draw_attainment`,
  :func:`simulate` -> :class:`SimulationResult`, :func:`simulation_summary`, :func:`summary_display`, :func:`gini`,
  :func:`lorenz`, :func:`plot_simulation`, :func:`jensen_gap`, :func:`with_levers`,
  :func:`scenario_table`, :func:`lever_widget`;
* the phase in two calls: :func:`evaluate_plans` -> :class:`Evaluation`, :func:`simulate_plans`,
  :func:`findings_text`; per-rep statements of a run: :func:`read_statement`.
"""

from __future__ import annotations

from salesanalytics.compensation.actuals import (
    MEASURES,
    deal_credits,
    mrr_at,
    period_revenue,
    portfolio_actuals,
    portfolio_owners,
    with_team_deals,
)
from salesanalytics.compensation.analysis import (
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
from salesanalytics.compensation.engine import PayoutResult, compute_payouts, period_bounds
from salesanalytics.compensation.plan import (
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
from salesanalytics.compensation.simulation import (
    Calibration,
    SimulationResult,
    calibrate,
    draw_attainment,
    gini,
    jensen_gap,
    lever_widget,
    lorenz,
    plot_simulation,
    scenario_table,
    simulate,
    simulation_summary,
    summary_display,
    with_levers,
)
from salesanalytics.compensation.workflow import (
    Evaluation,
    evaluate_plans,
    findings_text,
    read_statement,
    simulate_plans,
)

__all__ = [
    "Booster",
    "Calibration",
    "Clawback",
    "Contest",
    "Curve",
    "Draw",
    "Evaluation",
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
    "curve_factor",
    "deal_credits",
    "draw_attainment",
    "evaluate_plans",
    "findings_text",
    "gini",
    "headlines",
    "jensen_gap",
    "jensen_table",
    "lever_widget",
    "load_plan",
    "lorenz",
    "plot_simulation",
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
    "read_statement",
    "rep_statement",
    "scenario_table",
    "simulate",
    "simulate_plans",
    "simulation_summary",
    "summary_display",
    "winners_losers",
    "with_levers",
    "with_team_deals",
]
