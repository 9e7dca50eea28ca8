"""Per-entity reports on more than one kernel: same pages, same order, each page one entity's.

A long list of per-entity reports is split over a second kernel when a worker slot is free (the
threshold ``ENTITY_KERNEL_SECONDS`` is set to 0 here so that a short list qualifies); with one
worker, one kernel renders them all. The template shows an ``ipywidgets.interactive`` (which once
seemed to stall a run) under a short cell time-out, so a stall fails instead of hanging.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from salesanalytics.engagement.pipeline import runner
from salesanalytics.engagement.pipeline.runner import RunOptions, RunResult, run_pipeline
from salesanalytics.engagement.spec import PerEntitySpec

NB = Path(__file__).resolve().parents[2] / "notebooks"
_spec = importlib.util.spec_from_file_location("fake_phases", NB / "fake_phases.py")
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)

N_ROWS = 8
ROWS = PerEntitySpec(
    notebook="t_entity_widget.ipynb",
    entity_param="i",
    entities_table=("alpha", "numbers"),
    id_column="i",
    label_column="name",
    title="Row sheets",
)
ALPHA = dataclasses.replace(fake.ALPHA, per_entity=(fake.ALPHA.per_entity[0], ROWS))


def _run(reports: Path, workers: int) -> RunResult:
    params = fake.AlphaParams(n=N_ROWS, name="Row").model_dump(mode="json")
    return run_pipeline(
        RunOptions(
            phases=[ALPHA],
            notebooks_dir=NB,
            reports_dir=reports,
            client="Muster AG",
            slug=f"w{workers}",
            params={"alpha": params},
            workers=workers,
            quiet=True,
            warmup="import pandas, ipywidgets, salesanalytics.present.style",
            cell_timeout=600,
        )
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, RunResult]:
    reports = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "ENTITY_KERNEL_SECONDS", 0.0)
        return {w: _run(reports, w) for w in (2, 1)}


def _pages(res: RunResult) -> dict[str, str]:
    folder = res.run_dir / "client" / "alpha"
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def _body(page: str) -> str:
    """The page without what differs between any two runs (run id, kernel pid, random ids)."""
    page = re.sub(r"pid \d+", "pid", page)
    page = re.sub(r"cell-id=[0-9a-f-]+", "cell-id", page)
    page = re.sub(r"T_[0-9a-f]{5}", "T_", page)  # pandas Styler's random table id
    page = re.sub(r"[0-9a-f]{32}", "id", page)
    return re.sub(r"\d{8}-\d{6}(-\d+)?", "run", page)


def test_long_lists_use_a_second_kernel_only_with_a_free_slot(runs: dict[int, Any]) -> None:
    two, one = runs[2].phases["alpha"], runs[1].phases["alpha"]
    assert two.status == one.status == "ran", (two.error, one.error)
    assert two.entity_kernels == 2
    assert one.entity_kernels == 1
    pids = {p for page in _pages(runs[1]).values() for p in re.findall(r"pid (\d+)", page)}
    assert len(pids) == 1


def test_reports_are_the_same_and_in_order_whichever_kernel_rendered_them(
    runs: dict[int, Any],
) -> None:
    groups = runs[2].phases["alpha"].entities
    assert [g["title"] for g in groups] == ["Rep sheets", "Row sheets"]
    rows = groups[1]["items"]
    assert [i["href"] for i in rows] == [f"client/alpha/{i}.html" for i in range(N_ROWS)]
    assert all(not i["error"] for g in groups for i in g["items"])
    assert groups == runs[1].phases["alpha"].entities
    two, one = _pages(runs[2]), _pages(runs[1])
    assert sorted(two) == sorted(one) and len(two) == N_ROWS + 3
    for name in two:
        assert _body(two[name]) == _body(one[name]), name


def test_each_page_shows_its_own_entity_only(runs: dict[int, Any]) -> None:
    pages = _pages(runs[2])
    for i in range(N_ROWS):
        markers = set(re.findall(r"row-(\d+)-only", pages[f"{i}.html"]))
        assert markers == {str(i)}
