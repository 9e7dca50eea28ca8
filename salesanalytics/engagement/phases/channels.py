"""Phase ``channels``: cost-to-serve, contribution levels and the segment × product-group channel matrix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from salesanalytics.analyses.channels.matrix import MatrixRules
from salesanalytics.analyses.channels.model import AssignmentRules
from salesanalytics.engagement.paramcheck import check_order
from salesanalytics.engagement.spec import Need, PhaseParams, PhaseSpec, setting
from salesanalytics.reference.travel import ROAD_FACTOR, SPEED_KMH

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the channel-mix phase.

    The account-value rule's parameters are declared by ``channels.AssignmentRules``, the channel
    matrix's by ``channels.MatrixRules`` (defaults there); those dataclasses check their ranges
    when built, so the bounds here are the project file's, and a test checks both agree.
    """

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
    white_space_weight: float = setting(
        AssignmentRules,
        "white_space_weight",
        ge=0,
        le=1,
        description="Account-value rule (kept for comparison): share of untapped potential "
        "counted in an account's value.",
    )
    field_uplift: float = setting(
        AssignmentRules,
        "field_uplift",
        gt=0,
        le=2,
        description="Account-value rule (kept for comparison): extra revenue field wins over "
        "tele (0.2 = +20%); the matrix measures win rates instead.",
    )
    tele_uplift: float = setting(
        AssignmentRules,
        "tele_uplift",
        gt=0,
        le=2,
        description="Account-value rule (kept for comparison): extra revenue tele wins over "
        "online (0.1 = +10%).",
    )
    field_min_complexity: int = setting(
        AssignmentRules,
        "field_min_complexity",
        ge=1,
        le=5,
        description="Product complexity (1-5) from which field sales is needed.",
    )
    online_max_complexity: int = setting(
        AssignmentRules,
        "online_max_complexity",
        ge=1,
        le=5,
        description="Product complexity (1-5) up to which online sales suffices.",
    )
    preference_tolerance: float = setting(
        AssignmentRules,
        "preference_tolerance",
        ge=0,
        le=2,
        description="Account-value rule (kept for comparison): honour a wish for a more "
        "personal channel from this share of its break-even.",
    )
    field_capacity_hours: float = setting(
        AssignmentRules,
        "field_capacity_hours",
        ge=0,
        description="Account-value rule (kept for comparison): yearly customer hours of the "
        "field force; 0 = from the reps' capacity in the CRM.",
    )
    n_waves: int = Field(3, ge=1, le=12, description="Number of migration waves.")
    size_basis: Literal["potential", "employees", "revenue"] = setting(
        MatrixRules,
        "size_basis",
        description="What the customer segments' size classes are cut on (potential, employees "
        "or company revenue).",
    )
    size_classes: int = setting(
        MatrixRules,
        "size_classes",
        ge=1,
        le=5,
        description="Number of size classes per status (new / existing).",
    )
    min_deals: int = setting(
        MatrixRules,
        "min_deals",
        ge=1,
        le=10000,
        description="Closed deals a segment × product-group cell needs in a channel for its own "
        "figures; fewer borrow the product group's figures, none at all follow the complexity rule.",
    )
    prior_deals: float = setting(
        MatrixRules,
        "prior_deals",
        ge=0,
        le=10000,
        description="Weight (pseudo-deals) of the product group's figures in a cell's win rate.",
    )
    hybrid_band: float = setting(
        MatrixRules,
        "hybrid_band",
        ge=0,
        le=1,
        description="Online with tele follow-up when tele earns within this share of online.",
    )
    preference_share: float = setting(
        MatrixRules,
        "preference_share",
        gt=0,
        le=1,
        description="Share of a segment's customers stating one channel from which it counts.",
    )
    preference_band: float = setting(
        MatrixRules,
        "preference_band",
        ge=0,
        le=1,
        description="The preferred channel wins when it earns within this share of the best.",
    )

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
    title="Channel mix: which channel sells which product group to which customer",
    reads=("intake", "potential"),
    writes=(
        "account_channel",
        "channel_summary",
        "channel_matrix",
        "whale_curve",
        "service_model",
        "cost_by_activity",
        "channel_thresholds",
        "segment_matrix",
        "cell_measures",
        "account_product_channel",
        "account_workload",
        "field_workload",
        "migration_waves",
    ),
    params=Params,
    seconds=6,
    needs=(
        Need(
            "cost-to-serve per account and channel",
            requires=("activities", "channel_rates"),
            add="Export the activities (calls, visits, e-mails with durations) and add the "
            "finance department's cost rates per channel (Channel_Cost_Rates).",
        ),
        Need(
            "contribution per account",
            requires=("contracts.mrr",),
            add="Export contracts, or won deals with amounts.",
        ),
    ),
)
