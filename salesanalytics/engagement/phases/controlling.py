"""Phase ``controlling``: the KPI system, target against actual, and a cockpit per team and rep."""

from __future__ import annotations

from pydantic import Field, field_validator

from salesanalytics.engagement.paramcheck import PATH_PARAM, check_file
from salesanalytics.engagement.spec import Need, PerEntitySpec, PhaseParams, PhaseSpec

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the controlling phase."""

    kpi_system: str = Field(
        "",
        description="Path to a KPI system YAML file; empty = the packaged kpi_system.yaml.",
        json_schema_extra=PATH_PARAM,
    )
    trend_months: int = Field(
        12, ge=1, le=36, description="Months shown in the cockpits' trend panels."
    )

    @field_validator("kpi_system")
    @classmethod
    def _system_is_valid(cls, value: str) -> str:
        return check_file("kpi_system", value, _load_system, what="KPI system")


def _load_system(path: str) -> object:
    from salesanalytics.analyses.controlling.model import load_kpi_system

    return load_kpi_system(path)


PHASE = PhaseSpec(
    name="controlling",
    notebook="70_controlling_cockpit.ipynb",
    title="Controlling: KPI system and sales cockpits",
    reads=("intake", "portfolio", "churn", "funnel", "channels"),
    writes=(
        "kpi_actuals",
        "kpi_trend",
        "cockpit_funnel",
        "cockpit_retention",
        "cockpit_reps",
        "cockpit_teams",
        "kpi_system",
        "matrix_tracking",
    ),
    params=Params,
    seconds=12,
    per_entity=(
        PerEntitySpec(
            notebook="71_rep_cockpit.ipynb",
            entity_param="rep_id",
            entities_table=("controlling", "cockpit_reps"),
            id_column="rep_id",
            label_column="rep_name",
            title="Sales cockpit per rep",
        ),
        PerEntitySpec(
            notebook="72_team_cockpit.ipynb",
            entity_param="team_id",
            entities_table=("controlling", "cockpit_teams"),
            id_column="team_id",
            label_column="team_name",
            title="Sales cockpit per team",
        ),
    ),
    needs=(
        Need(
            "KPI cockpit per rep and team",
            requires=("reps", "opportunities"),
            add="Export the reps (users) and the opportunities.",
        ),
        Need(
            "activity KPIs",
            improves=("activities",),
            core=False,
            limitation="activity KPIs show grey",
            add="Export the activities.",
        ),
    ),
    optional_reads=(
        ("churn", "churn-risk KPIs show grey"),
        ("channels", "cost-to-serve KPIs show grey"),
        ("portfolio", "portfolio KPIs show grey"),
        ("funnel", "funnel KPIs show grey"),
    ),
)
