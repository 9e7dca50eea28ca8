"""The engagement's phases, in order. Each module declares one :class:`~salesanalytics.engagement.spec.PhaseSpec`."""

from __future__ import annotations

from importlib import import_module

from salesanalytics.engagement.spec import PhaseSpec

__all__ = ["PHASE_MODULES", "all_phases", "get_phase", "titles"]

PHASE_MODULES: tuple[str, ...] = (
    "intake",
    "potential",
    "channels",
    "territory",
    "territory_scenarios",
    "portfolio",
    "churn",
    "funnel",
    "controlling",
    "compensation",
    "roles",
    "summary",
)
"""Phase modules in engagement order (the channel mix runs before the territories: they are
designed on the accounts and the field workload it leaves in the field)."""


def all_phases() -> list[PhaseSpec]:
    """All phases in engagement order (only those whose module exists)."""
    phases = []
    for name in PHASE_MODULES:
        try:
            mod = import_module(f"salesanalytics.engagement.phases.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"salesanalytics.engagement.phases.{name}":
                continue
            raise
        phases.append(mod.PHASE)
    return phases


def get_phase(name: str) -> PhaseSpec:
    """The phase called ``name``; ``KeyError`` with the known names otherwise."""
    for p in all_phases():
        if p.name == name:
            return p
    raise KeyError(
        f"unknown phase '{name}'; known phases: {', '.join(p.name for p in all_phases())}"
    )


def titles() -> dict[str, str]:
    """Phase name -> the title of its report, in engagement order (handed to the summary)."""
    return {p.name: p.title for p in all_phases()}
