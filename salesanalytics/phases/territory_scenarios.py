"""Phase ``territory_scenarios``: alternatives to the territory proposal and the trade-off between
compactness and continuity.

A phase of its own, next to ``territory``: the phases downstream need only the proposal, so they
do not wait for the alternatives, and trying other scenarios (``--set territory_scenarios....``)
reruns this phase only. The proposal is recomputed from the territory phase's design parameters
(``territory/design.json``; the optimiser is deterministic) and checked against its assignment.
"""

from __future__ import annotations

from pydantic import Field

from salesanalytics.pipeline.spec import Need, PhaseParams, PhaseSpec

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the territory scenarios phase."""

    scenario_offsets: list[int] = Field(
        [-4, 4],
        description="Alternative territory counts to compare, relative to the proposal.",
    )
    scenario_tolerance: float = Field(
        0.03, gt=0, lt=0.5, description="Tighter tolerance shown as an extra scenario."
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


PHASE = PhaseSpec(
    name="territory_scenarios",
    notebook="21_territory_scenarios.ipynb",
    title="Territory scenarios and trade-offs",
    reads=("intake", "potential", "channels", "territory"),
    writes=("scenarios", "pareto_front"),
    params=Params,
    seconds=12,
    needs=(
        Need(
            "territory scenarios",
            requires=("accounts.postal_code", "reps"),
            add="Map the accounts' Swiss billing postal code (4 digits).",
        ),
    ),
)
