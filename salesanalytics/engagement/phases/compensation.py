"""Phase ``compensation``: current against proposed pay plan, statements, cost simulation.

The current plan against the proposed plan, per-rep statements and a Monte-Carlo simulation of the
proposed plan's cost.
"""

from __future__ import annotations

from importlib import resources

from pydantic import Field, ValidationInfo, field_validator, model_validator

from salesanalytics.engagement.paramcheck import PATH_PARAM, check_file, check_order
from salesanalytics.engagement.spec import Need, PerEntitySpec, PhaseParams, PhaseSpec

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the compensation phase."""

    current_plan: str = Field(
        "current",
        description="Plan paid today: built-in plan name (current) or path to a plan YAML file.",
        json_schema_extra=PATH_PARAM,
    )
    proposed_plan: str = Field(
        "proposed",
        description="Proposed plan: built-in plan name (proposed) or path to a plan YAML file.",
        json_schema_extra=PATH_PARAM,
    )
    period_months: int = Field(
        12, ge=1, le=36, description="Months of actuals (ending at the export date) to pay."
    )
    new_product_months: int = Field(
        24, ge=1, le=120, description="A product launched at most this many months ago is 'new'."
    )
    multi_year_months: int = Field(
        24, ge=2, le=120, description="A contract of at least this many months is 'multi-year'."
    )
    threshold: float = Field(
        0.5, ge=0, le=1, description="Weighted attainment counted as 'threshold reached'."
    )
    excellence: float = Field(
        1.5, ge=1, le=5, description="Weighted attainment counted as 'excellence'."
    )
    quota_growth: float = Field(
        0.05,
        ge=-0.5,
        le=1,
        description="Growth target on 'auto' quotas: last year's level (role median, spread by "
        "territory potential) + this share, for new ARR, upsell and portfolio growth.",
    )
    n_scenarios: int = Field(
        10_000, ge=100, le=200_000, description="Number of simulated years in the Monte Carlo."
    )
    seed: int = Field(42, ge=0, description="Random seed of the simulation.")

    @field_validator("current_plan", "proposed_plan")
    @classmethod
    def _plan_exists(cls, value: str, info: ValidationInfo) -> str:
        return check_file(
            str(info.field_name), value, _load_plan, builtin=_builtin_plans(), what="pay plan"
        )

    @model_validator(mode="after")
    def _levels_in_order(self) -> Params:
        check_order(
            self,
            "threshold",
            "excellence",
            "'excellence' counts the reps whose weighted attainment is far above the "
            "'threshold' level",
        )
        return self


def _builtin_plans() -> list[str]:
    folder = resources.files("salesanalytics").joinpath("config/plans")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def _load_plan(path: str) -> object:
    from salesanalytics.analyses.compensation.plan import load_plan

    return load_plan(path)


PHASE = PhaseSpec(
    name="compensation",
    notebook="80_compensation.ipynb",
    title="Incentive compensation: current against proposed plan",
    reads=("intake", "potential", "channels", "territory", "portfolio", "churn"),
    writes=(
        "payouts_current",
        "payouts_proposed",
        "totals_current",
        "totals_proposed",
        "statement_lines",
        "statement_reps",
        "plan_comparison",
        "winners_losers",
        "simulation_summary",
    ),
    params=Params,
    seconds=8,
    per_entity=(
        PerEntitySpec(
            notebook="81_rep_statement.ipynb",
            entity_param="rep_id",
            entities_table=("compensation", "statement_reps"),
            id_column="rep_id",
            label_column="rep_name",
            title="Incentive statement (proposed plan)",
        ),
    ),
    needs=(
        Need(
            "pay plans on deal credits",
            requires=("reps", "opportunities.status=won"),
            add="Export the reps and the won deals with their owners.",
        ),
    ),
    optional_reads=(
        ("territory", "credits use today's account owners"),
        (
            "channels",
            "deals are credited to their owners (no channel matrix to route the credit by)",
        ),
        ("churn", "no churn-risk adjustment of the retention measures"),
        ("potential", "no potential-based quotas"),
    ),
)
