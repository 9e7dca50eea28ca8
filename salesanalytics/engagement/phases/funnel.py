"""Phase ``funnel``: separate funnels for new business and existing customers, by channel and rep."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from salesanalytics.engagement.spec import Need, PhaseParams, PhaseSpec

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
        from salesanalytics.analyses.funnel.model import parse_stage_order

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
        "channel_group_stages",
        "channel_group_win_rates",
    ),
    params=Params,
    seconds=3,
    needs=(
        Need(
            "win rates, deal sizes and sales cycle",
            requires=("opportunities.status",),
            min_rows=10,
            add="Export the opportunities (deals) with status, amount and dates.",
        ),
        Need(
            "a funnel of won against lost deals",
            requires=("opportunities.status=lost",),
            add="The export holds no lost deals (e.g. only invoices or orders): a funnel needs "
            "the opportunities that were lost, too.",
        ),
        Need(
            "stage conversion and time in stage",
            improves=("opportunity_stages",),
            core=False,
            limitation="where lost deals were lost, stage conversion and time in stage are unknown",
            add="Export the stage history (e.g. Salesforce OpportunityHistory).",
        ),
        Need(
            "funnels per channel",
            improves=("opportunities.channel",),
            core=False,
            limitation="all deals are shown under channel 'unknown'",
            add="Map the channel working each deal.",
        ),
    ),
)
