"""Phase ``channels``: cost-to-serve per channel, contribution levels and the proposed channel mix."""

from __future__ import annotations

from pydantic import Field, model_validator

from salesanalytics.pipeline.paramcheck import check_order
from salesanalytics.pipeline.spec import PhaseParams, PhaseSpec
from salesanalytics.travel import ROAD_FACTOR, SPEED_KMH

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the channel-mix phase."""

    window_days: int = Field(
        365, ge=30, le=1095, description="Days of activity and revenue history costed (per year)."
    )
    road_factor: float = Field(
        ROAD_FACTOR,
        ge=1.0,
        le=3.0,
        description="Road distance / straight-line distance for visit travel.",
    )
    speed_kmh: float = Field(
        SPEED_KMH, gt=0, le=150, description="Average driving speed for visits."
    )
    service_cost_share: float = Field(
        0.08, ge=0, le=1, description="Service cost (support, onboarding) as a share of revenue."
    )
    default_cost_share: float = Field(
        0.3, ge=0, le=1, description="Product cost share for products without one in the CRM."
    )
    white_space_weight: float = Field(
        0.5, ge=0, le=1, description="Share of untapped potential counted in an account's value."
    )
    field_uplift: float = Field(
        0.2, gt=0, le=2, description="Extra revenue field wins over tele (0.2 = +20%)."
    )
    tele_uplift: float = Field(
        0.1, gt=0, le=2, description="Extra revenue tele wins over online (0.1 = +10%)."
    )
    field_min_complexity: int = Field(
        3, ge=1, le=5, description="Product complexity (1-5) from which field sales is needed."
    )
    online_max_complexity: int = Field(
        2, ge=1, le=5, description="Product complexity (1-5) up to which online sales suffices."
    )
    preference_tolerance: float = Field(
        0.75,
        ge=0,
        le=2,
        description="Honour a wish for a more personal channel from this share of its break-even.",
    )
    field_capacity_hours: float = Field(
        0.0,
        ge=0,
        description="Yearly customer hours of the field force; 0 = from the reps' capacity in the CRM.",
    )
    n_waves: int = Field(3, ge=1, le=12, description="Number of migration waves.")

    @model_validator(mode="after")
    def _complexities_in_order(self) -> Params:
        check_order(
            self,
            "online_max_complexity",
            "field_min_complexity",
            "a product simple enough to be sold online cannot at the same time need field sales",
            strict=False,
        )
        return self


PHASE = PhaseSpec(
    name="channels",
    notebook="50_channel_mix.ipynb",
    title="Channel mix: cost-to-serve and the right channel per customer",
    reads=("intake", "potential"),
    writes=(
        "account_channel",
        "channel_summary",
        "channel_matrix",
        "whale_curve",
        "service_model",
        "cost_by_activity",
        "channel_thresholds",
    ),
    params=Params,
    seconds=2.5,
)
