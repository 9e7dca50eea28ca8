"""End-to-end table of parameter edges on the small demo client (2,000 accounts).

One base run with the defaults (territory count derived from the field reps), then one run per
edge in the same reports folder: the runner reuses every phase the edge does not touch, so each
case reruns only the changed phase and what is downstream of it. Each case must either run every
phase, or be refused before the run with a message naming the impossible value and why.

The cases: territory count 2, more territories than reps (45, 100, 500) and derived (0, the base);
tolerances 0.01 and 0.5; every quantile parameter at both ends of its range; windows, horizons and
minimum counts at both ends; a KPI system with a single KPI; a pay plan without boosters and
contests; upstream phases producing empty tables (no key accounts, no stuck deals). The whole
table takes about 15 minutes on a shared 2-core machine (marked ``slow``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from salesanalytics.engagement.phases import all_phases
from salesanalytics.engagement.pipeline.config import resolve_params
from salesanalytics.engagement.pipeline.runner import RunOptions, RunResult, run_pipeline

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CONFIG = ROOT / "salesanalytics" / "config"

# Lighter optimiser effort than the defaults, for every case: the edges are about the values, not
# about the search effort (which has its own property tests).
BASE: dict[str, dict[str, Any]] = {
    "territory": {"search_passes": 2},
    "territory_scenarios": {"search_passes": 2, "scenario_offsets": [2], "pareto_weights": [0.0]},
    "compensation": {"n_scenarios": 500},
}


def _one_kpi_system(folder: Path) -> Path:
    """The packaged KPI system reduced to one KPI (not the bookings KPI the headline prefers)."""
    raw = yaml.safe_load((CONFIG / "kpi_system.yaml").read_text(encoding="utf-8"))
    raw["kpis"] = [k for k in raw["kpis"] if k["id"] == "new_customers_ytd"]
    assert len(raw["kpis"]) == 1
    path = folder / "one_kpi.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _plain_plan(folder: Path) -> Path:
    """The proposed pay plan without boosters and contests."""
    raw = yaml.safe_load((CONFIG / "plans" / "proposed.yaml").read_text(encoding="utf-8"))
    raw = {k: v for k, v in raw.items() if not k.startswith("x-")}
    raw["name"] = "Proposed plan without boosters and contests"
    for role in raw["roles"].values():
        role.pop("boosters", None)
        role.pop("contests", None)
    path = folder / "plain_plan.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


# id -> (overrides, phases that must have rerun). The territory edges also carry the potential
# phase's edges (both rerun the territory chain, the table's most expensive part); the other
# cases leave potential and territory alone, so they reuse the base run's territories.
CASES: dict[str, tuple[dict[str, dict[str, Any]], set[str]]] = {
    "territories=2, tolerance=0.5, potential quantile=0.5": (
        {
            "territory": {"n_territories": 2, "tolerance": 0.5},
            "territory_scenarios": {"scenario_tolerance": 0.5},
            "potential": {"quantile": 0.5, "min_segment": 1},
        },
        {"potential", "territory", "territory_scenarios", "portfolio", "compensation", "roles"},
    ),
    "territories=45 (more than reps)": (
        {"territory": {"n_territories": 45}},
        {"territory", "territory_scenarios", "portfolio", "controlling", "compensation", "roles"},
    ),
    "territories=100, tolerance=0.01, potential quantile=0.95": (
        {
            "territory": {"n_territories": 100, "tolerance": 0.01},
            "territory_scenarios": {"scenario_tolerance": 0.01},
            "potential": {"quantile": 0.95, "min_segment": 1000},
        },
        {"potential", "territory", "territory_scenarios", "portfolio", "compensation"},
    ),
    "territories=500": (
        {"territory": {"n_territories": 500}},
        {"territory", "territory_scenarios", "portfolio", "compensation"},
    ),
    "quantiles at their upper ends": (
        {
            "portfolio": {
                "abc_a_share": 0.98,
                "abc_b_share": 0.99,
                "ka_potential_quantile": 0.99,
                "ka_revenue_quantile": 0.99,
            },
            "churn": {"risk_medium_quantile": 0.98, "risk_high_quantile": 0.99},
            "funnel": {"stuck_quantile": 0.99},
        },
        {"portfolio", "churn", "funnel", "controlling", "compensation"},
    ),
    "quantiles at their lower ends": (
        {
            "portfolio": {
                "abc_a_share": 0.01,
                "abc_b_share": 0.02,
                "ka_potential_quantile": 0.01,
                "ka_revenue_quantile": 0.01,
                "ka_min_criteria": 1,
            },
            "churn": {"risk_medium_quantile": 0.01, "risk_high_quantile": 0.02},
            "funnel": {"stuck_quantile": 0.5},
        },
        {"portfolio", "churn", "funnel", "controlling", "compensation", "roles"},
    ),
    "windows and minimums at their upper ends": (
        {
            "churn": {
                "window_months": 60,
                "start_window_days": 366,
                "horizon_months": 24,
                "km_min_customers": 100000,
                "sbg_period_months": 36,
                "sbg_projection_periods": 50,
                "discount_rate": 1.0,
            },
            "funnel": {"coverage_horizon_days": 730, "target_growth": 5.0},
            "channels": {"window_days": 1095, "n_waves": 12, "field_capacity_hours": 1e6},
            "controlling": {"trend_months": 36},
            "compensation": {"period_months": 36, "multi_year_months": 120},
        },
        {"churn", "funnel", "channels", "controlling", "compensation", "roles"},
    ),
    "windows and minimums at their lower ends": (
        {
            "churn": {
                "window_months": 1,
                "start_window_days": 0,
                "horizon_months": 1,
                "km_min_customers": 1,
                "sbg_period_months": 1,
                "sbg_projection_periods": 1,
            },
            "funnel": {"coverage_horizon_days": 0, "target_growth": -1.0, "stuck_min_days": 0},
            "channels": {"window_days": 30, "n_waves": 1},
            "controlling": {"trend_months": 1},
            "compensation": {"period_months": 1, "new_product_months": 1, "multi_year_months": 2},
            "portfolio": {"window_months": 1, "renewal_days": 1, "new_product_months": 1},
        },
        {"churn", "funnel", "channels", "portfolio", "controlling", "compensation", "roles"},
    ),
    "empty upstream tables (no key accounts, no stuck deals)": (
        {
            "portfolio": {"ka_min_criteria": 4, "ka_min_products": 50, "ka_min_locations": 1000},
            "funnel": {"stuck_min_days": 365, "stuck_quantile": 0.99},
        },
        {"portfolio", "funnel", "controlling", "compensation", "roles", "summary"},
    ),
    "KPI system with one KPI": ({"controlling": {"kpi_system": "ONE_KPI"}}, {"controlling"}),
    "pay plan without boosters or contests": (
        {"compensation": {"proposed_plan": "PLAIN_PLAN"}},
        {"compensation", "roles", "summary"},
    ),
}

# Cases whose values reach the per-rep / per-team reports (cockpits, pay statements): they render
# them; the other cases leave them out (they only read their phase's tables, the part under test,
# and rendering about 100 reports per case would take most of the table's time).
WITH_ENTITY_REPORTS = {
    "territories=45 (more than reps)",
    "empty upstream tables (no key accounts, no stuck deals)",
    "KPI system with one KPI",
    "pay plan without boosters or contests",
}

REFUSED: dict[str, tuple[dict[str, dict[str, Any]], str]] = {
    "ABC classes out of order": (
        {"portfolio": {"abc_a_share": 0.95, "abc_b_share": 0.9}},
        r"abc_a_share = 0\.95 must be below abc_b_share = 0\.9 because",
    ),
    "medium risk above high risk": (
        {"churn": {"risk_medium_quantile": 0.95, "risk_high_quantile": 0.9}},
        r"risk_medium_quantile = 0\.95 must be below risk_high_quantile = 0\.9 because",
    ),
    "tolerance above 50%": (
        {"territory": {"tolerance": 0.6}},
        r"parameter 'tolerance' of phase territory: 0\.6 is not valid; expected float with "
        r"0 < tolerance ≤ 0\.5",
    ),
    "more territories than a plan can have": (
        {"territory": {"n_territories": 501}},
        r"'n_territories' of phase territory: 501 is not valid; .* ≤ 500",
    ),
}


def _params(
    overrides: dict[str, dict[str, Any]], files: dict[str, str], source: Path
) -> dict[str, Any]:
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in BASE.items()}
    for phase, values in overrides.items():
        for k, v in values.items():
            merged.setdefault(phase, {})[k] = files.get(v, v) if isinstance(v, str) else v
    params, problems = resolve_params(
        all_phases(), merged, top_level={"source": str(source), "mapping": "salesforce"}
    )
    assert not problems, problems
    return params


@pytest.fixture(scope="module")
def table(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The base run, in a reports folder every case of this module adds its run to."""
    folder = tmp_path_factory.mktemp("parameter_table")
    files = {"ONE_KPI": str(_one_kpi_system(folder)), "PLAIN_PLAN": str(_plain_plan(folder))}

    def run(overrides: dict[str, dict[str, Any]], entity_reports: bool = True) -> RunResult:
        phases = all_phases()
        if not entity_reports:
            phases = [dataclasses.replace(p, per_entity=()) for p in phases]
        return run_pipeline(
            RunOptions(
                phases=phases,
                notebooks_dir=NOTEBOOKS,
                reports_dir=folder / "reports",
                client="Parameter table AG",
                slug="table",
                params=_params(overrides, files, small_demo),
                source=small_demo,
                source_display="export",
                workers=2,
                quiet=True,
            )
        )

    base = run({})
    return {"run": run, "base": base}


def _failures(res: RunResult) -> dict[str, str]:
    return {
        name: f"{r.status}: {r.error or r.reason}"
        for name, r in res.phases.items()
        if r.status not in {"ran", "reused"}
    }


def test_base_run_with_derived_territory_count_runs_every_phase(table) -> None:
    res = table["base"]
    assert _failures(res) == {}
    assert res.exit_code == 0
    design = json.loads((res.run_dir / "data" / "territory" / "design.json").read_text("utf-8"))
    # 0 = derived from the field workload the channel phase leaves; the design records the count
    # it derived, so that the scenarios phase reruns the same plan
    n = design["proposal"]["n_territories"]
    cap = pd.read_parquet(res.run_dir / "data" / "territory" / "field_capacity.parquet")
    assert isinstance(n, int) and n >= 1
    assert n == int(cap["n_territories_needed"].iloc[0])


@pytest.mark.parametrize("case", list(CASES))
def test_edge_runs_every_phase_downstream(table, case) -> None:
    overrides, must_rerun = CASES[case]
    res = table["run"](overrides, entity_reports=case in WITH_ENTITY_REPORTS)
    assert _failures(res) == {}, case
    assert res.exit_code == 0
    status = {name: r.status for name, r in res.phases.items()}
    assert {p for p in must_rerun if status[p] != "ran"} == set(), status
    # the phases the case does not touch are reused, not recomputed
    assert status["intake"] == "reused"


@pytest.mark.parametrize("case", list(REFUSED))
def test_impossible_values_are_refused_before_the_run(case) -> None:
    overrides, message = REFUSED[case]
    merged = {k: dict(v) for k, v in BASE.items()}
    for phase, values in overrides.items():
        merged.setdefault(phase, {}).update(values)
    _params, problems = resolve_params(all_phases(), merged)
    assert len(problems) == 1
    assert re.search(message, problems[0]), problems[0]
