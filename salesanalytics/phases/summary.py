"""Phase ``summary``: the one-page executive summary of the engagement, linking every phase."""

from __future__ import annotations

from salesanalytics.pipeline.spec import PhaseParams, PhaseSpec

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """The executive summary has no parameters: everything is computed from the run's outputs."""


PHASE = PhaseSpec(
    name="summary",
    notebook="90_executive_summary.ipynb",
    title="Executive summary",
    reads=(
        "intake",
        "potential",
        "territory",
        "portfolio",
        "churn",
        "channels",
        "funnel",
        "controlling",
        "compensation",
        "roles",
    ),
    writes=("building_blocks", "key_figures"),
    params=Params,
    seconds=1,
)
