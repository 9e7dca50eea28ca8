"""salesanalytics: phased CRM sales-strategy analyses for consultants, as tested package + notebooks."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("salesanalytics")
except PackageNotFoundError:  # pragma: no cover - source checkout without install
    __version__ = "0.0.0"

__all__ = ["__version__"]

from salesanalytics import _compat

_compat.install()
