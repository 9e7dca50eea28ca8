"""Old import paths of the package layout before 0.2, kept for one release.

Notebooks written outside the repository may still say ``from salesanalytics import kpi`` or
``import salesanalytics.territory``. A finder on ``sys.meta_path`` answers those names with the
module at its new place (the same module object, so state and monkeypatching are shared) and warns
once with the new name. Code in this repository uses the new paths only (a test reads the imports).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

__all__ = ["OLD_PATHS", "install"]

OLD_PATHS: dict[str, str] = {
    "geo": "reference.geo",
    "travel": "reference.travel",
    "schema": "ingest.schema",
    "io": "ingest.io",
    "mapping": "ingest.mapping",
    "mapping_draft": "ingest.mapping_draft",
    "validation": "ingest.validation",
    "intake": "ingest.intake",
    "derive": "ingest.derive",
    "demo": "ingest.demo",
    "coverage": "engagement.coverage",
    "style": "present.style",
    "maps": "present.maps",
    "excel": "present.excel",
    "deliverables": "present.deliverables",
    "potential": "analyses.potential.model",
    "territory": "analyses.territory",
    "portfolio": "analyses.portfolio.model",
    "churn": "analyses.churn.model",
    "channels": "analyses.channels.model",
    "channel_matrix": "analyses.channels.matrix",
    "funnel": "analyses.funnel.model",
    "kpi": "analyses.controlling.model",
    "compensation": "analyses.compensation",
    "roles": "analyses.roles.model",
    "summary": "analyses.summary.model",
    "pipeline": "engagement.pipeline",
    "phases": "engagement.phases",
    "workspace": "engagement.workspace",
}
"""Old module (below ``salesanalytics``) -> its new place."""

_PKG = __name__.rpartition(".")[0]


def _new_name(fullname: str) -> str | None:
    if not fullname.startswith(_PKG + "."):
        return None
    rest = fullname[len(_PKG) + 1 :]
    head, dot, tail = rest.partition(".")
    if head not in OLD_PATHS:
        return None
    return f"{_PKG}.{OLD_PATHS[head]}{dot}{tail}"


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.new}; the old name works for one release only",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module(self.new)
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module: ModuleType) -> None:
        return None


class _OldPathFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = _new_name(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Alias(new), is_package=True)


def install() -> None:
    """Put the old-path finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _OldPathFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _OldPathFinder())
