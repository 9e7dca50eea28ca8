"""Phase ``summary``: the one-page executive summary of the engagement, linking every phase."""

from __future__ import annotations

from salesanalytics.engagement.spec import PhaseParams, PhaseSpec

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
    optional_reads=(
        ("potential", "the block is marked as not analysed"),
        ("territory", "the block is marked as not analysed"),
        ("portfolio", "the block is marked as not analysed"),
        ("churn", "the block is marked as not analysed"),
        ("channels", "the block is marked as not analysed"),
        ("funnel", "the block is marked as not analysed"),
        ("controlling", "the block is marked as not analysed"),
        ("compensation", "the block is marked as not analysed"),
        ("roles", "the block is marked as not analysed"),
    ),
)
