"""Travel assumptions shared by every travel estimate (demo, channels, territory).

Kept in a module without imports: the phase parameter models read these defaults, and the
``salesanalytics run`` command loads every phase model before it starts its first kernel.
:mod:`salesanalytics.reference.geo` re-exports both names.
"""

from __future__ import annotations

__all__ = ["ROAD_FACTOR", "SPEED_KMH"]

ROAD_FACTOR: float = 1.3
"""Road km per straight-line km: the default for every travel estimate (demo, channels, territory)."""

SPEED_KMH: float = 50.0
"""Average driving speed in km/h: the default for every travel-time estimate."""
