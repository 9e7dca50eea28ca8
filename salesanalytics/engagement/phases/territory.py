"""Phase ``territory``: balanced, contiguous, compact field territories against today's plan."""

from __future__ import annotations

from pydantic import Field, field_validator

from salesanalytics.engagement.paramcheck import PATH_PARAM, check_file
from salesanalytics.engagement.spec import Need, PhaseParams, PhaseSpec
from salesanalytics.reference.travel import ROAD_FACTOR, SPEED_KMH

__all__ = ["MAX_CONTINUITY_WEIGHT", "MAX_TERRITORIES", "PHASE", "Params"]

MAX_TERRITORIES = 500
"""The most field territories a plan can have."""
MAX_CONTINUITY_WEIGHT = 100
"""Upper bound of the continuity weight (0 = ignore today's owners)."""


class Params(PhaseParams):
    """Parameters of the territory phase."""

    n_territories: int = Field(
        0,
        ge=0,
        le=MAX_TERRITORIES,
        description="Number of field territories; 0 = as many as the field workload the channel "
        "mix leaves needs (field hours outside key accounts / hours per FTE, the fewest "
        "territories within the tolerance of full utilisation); without the channel phase one "
        "per active field rep.",
    )
    tolerance: float = Field(
        0.05,
        gt=0,
        le=0.5,
        description="Allowed deviation of potential and workload from target (0.05 = ±5%).",
    )
    continuity_weight: float = Field(
        1.0,
        ge=0,
        le=MAX_CONTINUITY_WEIGHT,
        description="How strongly customers stay with their current rep (0 = ignore history).",
    )
    fte_scaled: bool = Field(
        True, description="Scale each territory's targets by its rep's FTE (part-timers)."
    )
    road_factor: float = Field(
        ROAD_FACTOR, ge=1, le=3, description="Road km per straight-line km, for travel time."
    )
    speed_kmh: float = Field(SPEED_KMH, gt=5, le=130, description="Mean driving speed in km/h.")
    key_account_share: float = Field(
        0.01,
        ge=0,
        le=0.2,
        description="Fallback only (the potential phase's key-account list is used when it "
        "exists): share of largest accounts carved out if nobody has the KAM role.",
    )
    max_unit_share: float = Field(
        0.02,
        gt=0,
        le=1,
        description="Postal codes above this share of a territory's target are split into "
        "account groups (1 = never).",
    )
    customer_unit_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of the field customers (largest by monthly revenue) that become units "
        "of their own, kept with their rep by the continuity weight (0 = none).",
    )
    search_passes: int = Field(
        100,
        ge=0,
        le=10000,
        description="Local-search effort of the proposal (passes over boundaries).",
    )
    seed: int = Field(0, ge=0, description="Seed of the optimiser's warm start.")
    overrides: str = Field(
        "",
        description="Manual territory changes (YAML written by the territory editor); empty = "
        "the project's territory_overrides.yaml when it exists.",
        json_schema_extra=PATH_PARAM,
    )

    @field_validator("overrides")
    @classmethod
    def _overrides_are_valid(cls, value: str) -> str:
        return check_file("overrides", value, _load_overrides, what="territory overrides")


def _load_overrides(path: str) -> object:
    from salesanalytics.analyses.territory.overrides import load_overrides

    return load_overrides(path)


PHASE = PhaseSpec(
    name="territory",
    notebook="20_territory_design.ipynb",
    title="Territory design",
    reads=("intake", "potential", "channels"),
    project_files=(("overrides", "territory_overrides.yaml"),),
    writes=(
        "manual_changes",
        "assignment",
        "territories",
        "unit_assignment",
        "comparison",
        "disruption",
        "design",
        "bases",
        "field_capacity",
        "reps_available",
    ),
    params=Params,
    seconds=9,
    optional_reads=(
        (
            "channels",
            "every account is designed into the field territories (no channel mix to leave accounts to tele and online)",
        ),
    ),
    needs=(
        Need(
            "territory design",
            requires=("accounts.postal_code", "reps"),
            add="Map the accounts' Swiss billing postal code (4 digits; for accounts abroad also "
            "the billing country); territories are built from postal-code areas.",
        ),
        Need(
            "workload per account from the activity log",
            improves=("activities",),
            core=False,
            limitation="the workload of the accounts is not measured: territories are balanced "
            "on potential only",
            add="Export the activities (tasks and events).",
        ),
        Need(
            "travel from the reps' home bases",
            improves=("reps.home_postal_code",),
            core=False,
            limitation="travel times are not measured from the reps' home bases",
            add="Map the reps' home or office postal code.",
        ),
    ),
)
