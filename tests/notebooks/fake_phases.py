"""Tiny fake phases for the pipeline tests (notebooks t_*.ipynb in this folder).

alpha (writes numbers, reps; one report per rep) -> beta (reads alpha) -> gamma (reads beta);
delta reads alpha only (runs in parallel with beta).
"""

from __future__ import annotations

from pydantic import Field

from salesanalytics.engagement.spec import PerEntitySpec, PhaseParams, PhaseSpec

MALICIOUS = "ACME <script>alert(1)</script>"


class AlphaParams(PhaseParams):
    n: int = Field(3, ge=1, le=100, description="How many numbers to write.")
    fail: bool = Field(False, description="Raise an error (test).")
    name: str = Field(MALICIOUS, description="A CRM-like name shown in the report.")


class BetaParams(PhaseParams):
    phase: str = Field("beta", description="Phase name used by the notebook.")
    upstream: str = Field("alpha", description="Upstream phase read by the notebook.")
    factor: int = Field(2, ge=0, le=10, description="Multiplier for the numbers.")
    fail: bool = Field(False, description="Raise an error (test).")
    sleep: float = Field(0, ge=0, description="Seconds to sleep in a cell (test).")
    gate: str = Field("", description="Wait in a cell until this file exists (test).")


class GammaParams(BetaParams):
    phase: str = Field("gamma", description="Phase name used by the notebook.")
    upstream: str = Field("beta", description="Upstream phase read by the notebook.")


class DeltaParams(BetaParams):
    phase: str = Field("delta", description="Phase name used by the notebook.")


ALPHA = PhaseSpec(
    name="alpha",
    notebook="t_alpha.ipynb",
    title="Alpha <b>phase</b>",
    reads=(),
    writes=("numbers", "reps"),
    params=AlphaParams,
    per_entity=(
        PerEntitySpec(
            notebook="t_entity.ipynb",
            entity_param="rep_id",
            entities_table=("alpha", "reps"),
            id_column="rep_id",
            label_column="label",
            title="Rep sheets",
        ),
    ),
)
BETA = PhaseSpec("beta", "t_step.ipynb", "Beta", ("alpha",), ("numbers", "total"), BetaParams)
GAMMA = PhaseSpec("gamma", "t_step.ipynb", "Gamma", ("beta",), ("numbers",), GammaParams)
DELTA = PhaseSpec("delta", "t_step.ipynb", "Delta", ("alpha",), ("numbers",), DeltaParams)
PHASES = [ALPHA, BETA, GAMMA]
