"""Phase ``funnel``: separate funnels for new business and existing customers, by channel and rep."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from salesanalytics.pipeline.spec import PhaseParams, PhaseSpec

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the funnel phase."""

    stages_new_business: str = Field(
        "Prospecting, Qualification, Needs Analysis, Proposal, Negotiation",
        description="Open stages of the new-business funnel, in order, comma-separated.",
    )
    stages_existing: str = Field(
        "Qualification, Proposal, Negotiation",
        description="Open stages of the existing-customer funnel (upsell, renewal), in order.",
    )
    target_growth: float = Field(
        0.10,
        ge=-1,
        le=5,
        description="Yearly bookings target = last year's bookings x (1 + growth), for coverage.",
    )
    stuck_quantile: float = Field(
        0.9,
        ge=0.5,
        le=0.99,
        description="A deal is stuck when longer in its stage than this share of past deals.",
    )
    coverage_horizon_days: int = Field(
        90,
        ge=0,
        le=730,
        description="Pipeline coverage: pipeline closing within this many days vs. the target "
        "for them (0 = rest of the year).",
    )
    stuck_min_days: float = Field(
        30.0, ge=0, le=365, description="A deal is never called stuck before this many days."
    )

    @field_validator("stages_new_business", "stages_existing")
    @classmethod
    def _stage_list(cls, value: str, info: ValidationInfo) -> str:
        if value == cls.model_fields[str(info.field_name)].default:
            return value  # the defaults are tested with the package
        from salesanalytics.funnel import parse_stage_order

        try:
            parse_stage_order(value)
        except ValueError as exc:
            raise ValueError(
                f"{info.field_name} = {value!r}: {exc}; give each open stage once, "
                "comma-separated, in the funnel's order"
            ) from None
        return value


PHASE = PhaseSpec(
    name="funnel",
    notebook="60_funnel.ipynb",
    title="Sales funnels: new business and existing customers",
    reads=("intake",),
    writes=(
        "funnel_stages",
        "rep_funnel",
        "stuck_deals",
        "win_rates",
        "rep_win_rates",
        "sales_cycle",
        "time_in_stage",
        "transition_matrix",
        "pipeline_coverage",
    ),
    params=Params,
    seconds=3,
)
