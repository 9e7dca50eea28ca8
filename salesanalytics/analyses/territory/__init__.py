"""Territory design: balanced, contiguous, compact territories that keep customer relationships.

Public API (``from salesanalytics.analyses.territory import ...``):

* :func:`design_territories` -- the optimiser on a plain table of units (any geography);
  the problem's :class:`UnitColumns`, :class:`Targets` and :class:`Bases`, and
  :class:`SolverSettings` -- how hard it searches, apart from the problem
  (:class:`ScenarioSettings` for :func:`run_scenario`);
  :func:`exact_territories` -- the proven optimum of small instances;
  :func:`distance_disruption_front` -- plans from least distance to least disruption.
* :func:`build_unit_graph`, :func:`planar_km` -- adjacency (given edges + pruned Delaunay).
* :func:`plan_quality`, :func:`balance_table`, :func:`count_pieces` -- independent plan figures.
* The engagement's territory phase: :func:`prepare_inputs`, :func:`run_scenario`,
  :func:`status_quo_plan`, :func:`compare_plans`, :func:`pareto_front`, and the building blocks
  in :mod:`salesanalytics.analyses.territory.design` (activity norms, workload, key accounts, units,
  account assignment, disruption report, Salesforce owner changes, Excel), and
  :func:`split_lumpy_units` (large postal codes as account-level pieces),
  :func:`customer_units` (large customer relationships as units of their own) and
  :func:`side_scenarios` (other territory counts, a tighter tolerance).
* :func:`field_capacity` -- the territory count from the field workload the channel mix leaves
  (one set of numbers with the roles phase), :func:`reps_available` -- field reps without a
  territory, available for other roles.

The charts and the what-if widget are in :mod:`salesanalytics.analyses.territory.plots` (not
imported here: the model loads no matplotlib).
"""

from salesanalytics.analyses.territory.capacity import (
    available_line,
    capacity_line,
    capacity_table,
    count_line,
    field_capacity,
    plan_within_capacity,
    propose,
    reps_available,
    territory_count,
    travel_aware_count,
)
from salesanalytics.analyses.territory.design import (
    ActivityEffort,
    account_assignment,
    account_workload,
    activity_norms,
    customer_units,
    disruption_report,
    effort_from_activities,
    field_effort,
    key_account_carve_out,
    match_territories_to_reps,
    n_territories_for_capacity,
    postal_code_units,
    salesforce_owner_changes,
    split_lumpy_units,
    territory_summary,
    workload_segment,
    write_excel,
)
from salesanalytics.analyses.territory.exact import EXACT_SETTINGS, exact_territories
from salesanalytics.analyses.territory.feasibility import reachability, shortfall
from salesanalytics.analyses.territory.front import distance_disruption_front
from salesanalytics.analyses.territory.graph import (
    UnitGraph,
    build_unit_graph,
    delaunay_edges,
    planar_km,
)
from salesanalytics.analyses.territory.metrics import (
    balance_table,
    count_pieces,
    plan_quality,
    table_balance,
    table_quality,
)
from salesanalytics.analyses.territory.optimiser import (
    Bases,
    SolverSettings,
    Targets,
    TerritoryResult,
    UnitColumns,
    design_territories,
    solver_settings,
)
from salesanalytics.analyses.territory.plan import (
    METRICS,
    SCENARIO_SETTINGS,
    ScenarioSettings,
    TerritoryInputs,
    TerritoryPlan,
    compare_plans,
    pareto_front,
    prepare_inputs,
    run_scenario,
    scenario_arguments,
    side_scenarios,
    status_quo_plan,
    territory_bases,
    travel_by_base,
)
from salesanalytics.analyses.territory.report import (
    base_table,
    check_same_plan,
    deviation_table,
    feasibility_lines,
    input_summary,
    plan_findings,
    rep_homes,
    scenario_findings,
    territory_labels,
    unit_table,
)

__all__ = [
    "METRICS",
    "EXACT_SETTINGS",
    "SCENARIO_SETTINGS",
    "Bases",
    "ScenarioSettings",
    "Targets",
    "UnitColumns",
    "exact_territories",
    "available_line",
    "capacity_line",
    "capacity_table",
    "count_line",
    "field_capacity",
    "plan_within_capacity",
    "propose",
    "reps_available",
    "territory_count",
    "travel_aware_count",
    "base_table",
    "feasibility_lines",
    "reachability",
    "shortfall",
    "table_balance",
    "table_quality",
    "territory_bases",
    "travel_by_base",
    "TerritoryInputs",
    "TerritoryPlan",
    "SolverSettings",
    "TerritoryResult",
    "UnitGraph",
    "account_assignment",
    "account_workload",
    "activity_norms",
    "ActivityEffort",
    "effort_from_activities",
    "field_effort",
    "balance_table",
    "build_unit_graph",
    "check_same_plan",
    "compare_plans",
    "customer_units",
    "count_pieces",
    "delaunay_edges",
    "deviation_table",
    "input_summary",
    "plan_findings",
    "rep_homes",
    "scenario_findings",
    "side_scenarios",
    "territory_labels",
    "unit_table",
    "design_territories",
    "distance_disruption_front",
    "solver_settings",
    "disruption_report",
    "key_account_carve_out",
    "match_territories_to_reps",
    "n_territories_for_capacity",
    "pareto_front",
    "plan_quality",
    "planar_km",
    "postal_code_units",
    "prepare_inputs",
    "run_scenario",
    "scenario_arguments",
    "salesforce_owner_changes",
    "split_lumpy_units",
    "status_quo_plan",
    "territory_summary",
    "workload_segment",
    "write_excel",
]


_MOVED_TO_PLOTS = ("plot_pareto", "scenario_widget")


def __getattr__(name: str) -> object:
    """Lazily give the charts their earlier home (kept for one release; import ``plots``)."""
    if name in _MOVED_TO_PLOTS:
        from salesanalytics.analyses.territory import plots

        return getattr(plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
