"""Fixtures of the aggregation layer: the small demo's canonical tables as the intake writes them."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def intake_dir(small_intake, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo's canonical tables written like a run's ``data/intake`` folder."""
    from salesanalytics.engagement.intake import write_intake

    folder = tmp_path_factory.mktemp("run") / "data" / "intake"
    folder.mkdir(parents=True)
    write_intake(small_intake, folder)
    return folder
