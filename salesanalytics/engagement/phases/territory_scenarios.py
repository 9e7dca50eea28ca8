"""Phase ``territory_scenarios``: alternatives to the territory proposal.

The alternatives and the trade-off between compactness and continuity.

A phase of its own, next to ``territory``: the phases downstream need only the proposal, so they
do not wait for the alternatives, and trying other scenarios (``--set territory_scenarios....``)
reruns this phase only. The proposal is recomputed from the territory phase's design parameters
(``territory/design.json``; the optimiser is deterministic) and checked against its assignment.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from salesanalytics.engagement.phases.territory import MAX_CONTINUITY_WEIGHT, MAX_TERRITORIES
from salesanalytics.engagement.spec import Need, PhaseParams, PhaseSpec

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the territory scenarios phase."""

    scenario_offsets: list[int] = Field(
        [-4, 4],
        description="Alternative territory counts to compare, relative to the proposal.",
    )
    scenario_tolerance: float = Field(
        0.03, gt=0, le=0.5, description="Tighter tolerance shown as an extra scenario."
    )
    pareto_weights: list[float] = Field(
        [0.0, 4.0],
        description="Extra continuity weights for the compactness / disruption trade-off.",
    )
    search_passes: int = Field(
        25,
        ge=0,
        le=10000,
        description="Local-search effort per alternative (passes over boundaries).",
    )

    @field_validator("scenario_offsets")
    @classmethod
    def _offsets(cls, value: list[int]) -> list[int]:
        problems = []
        if 0 in value:
            problems.append("0 repeats the proposal itself")
        dup = sorted({v for v in value if value.count(v) > 1})
        if dup:
            problems.append(f"{', '.join(map(str, dup))} given twice")
        far = [v for v in value if abs(v) > MAX_TERRITORIES]
        if far:
            problems.append(
                f"{', '.join(map(str, far))} beyond ±{MAX_TERRITORIES} (the most territories "
                "a plan can have)"
            )
        if problems:
            raise ValueError(
                f"scenario_offsets = {value!r}: {'; '.join(problems)}; give distinct non-zero "
                "differences to the proposal's territory count, e.g. [-4, 4]"
            )
        return value

    @field_validator("pareto_weights")
    @classmethod
    def _weights(cls, value: list[float]) -> list[float]:
        bad = [w for w in value if not 0 <= w <= MAX_CONTINUITY_WEIGHT]
        if bad:
            raise ValueError(
                f"pareto_weights = {value!r}: {', '.join(map(str, bad))} outside 0 to "
                f"{MAX_CONTINUITY_WEIGHT:g}, the range of territory.continuity_weight; give "
                "continuity weights in that range"
            )
        return value


PHASE = PhaseSpec(
    name="territory_scenarios",
    notebook="21_territory_scenarios.ipynb",
    title="Territory scenarios and trade-offs",
    reads=("intake", "potential", "channels", "territory"),
    writes=("scenarios", "pareto_front"),
    params=Params,
    seconds=12,
    optional_reads=(
        (
            "channels",
            "every account is designed into the field territories (no channel mix to leave accounts to tele and online)",
        ),
    ),
    needs=(
        Need(
            "territory scenarios",
            requires=("accounts.postal_code", "reps"),
            add="Map the accounts' Swiss billing postal code (4 digits).",
        ),
    ),
)
