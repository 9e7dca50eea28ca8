"""Failures: a failing phase stops only its downstream; cell time-out; an interrupted run is redone."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import pytest
from waiting import wait_for, wait_process

from salesanalytics.engagement.pipeline import runner
from salesanalytics.engagement.pipeline.runner import STAGING, RunOptions, RunResult, run_pipeline

NB = Path(__file__).resolve().parents[2] / "notebooks"
_spec = importlib.util.spec_from_file_location("fake_phases", NB / "fake_phases.py")
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)

ALPHA = dataclasses.replace(fake.ALPHA, per_entity=())
PHASES = [ALPHA, fake.BETA, fake.GAMMA, fake.DELTA]
LIGHT_WARMUP = "import pandas, salesanalytics.present.style"
CELL_TIMEOUT = 60
"""The bad run's cell time-out: delta's sleeping cell (an hour) runs into it; the cells before it
(imports, reading a table) have a generous minute however busy the machine is."""


def _options(reports: Path, cell_timeout: int = 60, **over: dict[str, Any]) -> RunOptions:
    return RunOptions(
        phases=PHASES,
        notebooks_dir=NB,
        reports_dir=reports,
        client="Muster AG",
        slug="muster",
        params={p.name: p.params(**over.get(p.name, {})).model_dump(mode="json") for p in PHASES},
        workers=2,
        quiet=True,
        warmup=LIGHT_WARMUP,
        cell_timeout=cell_timeout,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reports = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "package_fingerprint", lambda: "pkg-fixed")
        good = run_pipeline(_options_selected(reports, ("beta",)))
        good_index = (good.run_dir / "index.html").read_bytes()
        bad = run_pipeline(
            _options(reports, cell_timeout=CELL_TIMEOUT, beta={"fail": True}, delta={"sleep": 3600})
        )
    return {"reports": reports, "good": good, "bad": bad, "good_index": good_index}


def _options_selected(reports: Path, selected: tuple[str, ...]) -> RunOptions:
    return dataclasses.replace(_options(reports), selected=selected)


def test_failing_phase_skips_only_its_downstream(runs: dict[str, Any]) -> None:
    bad: RunResult = runs["bad"]
    status = {n: r.status for n, r in bad.phases.items()}
    assert status == {"alpha": "reused", "beta": "failed", "gamma": "skipped", "delta": "failed"}
    assert bad.exit_code == 1
    assert bad.phases["gamma"].reason == "upstream beta failed"


def test_failure_message_names_phase_cell_and_error_in_one_line(runs: dict[str, Any]) -> None:
    err = runs["bad"].phases["beta"].error
    assert "\n" not in err
    # the statement that raised (line 5 of the cell), not the cell's first line
    assert err == (
        'phase beta failed in cell 4 (`line 8: raise RuntimeError(f"planted failure in '
        '{phase}")`): RuntimeError: planted failure in beta'
    )


def test_cell_timeout_fails_the_phase(runs: dict[str, Any]) -> None:
    err = runs["bad"].phases["delta"].error
    assert err == (
        "phase delta failed in cell 4 (`import time`): "
        f"the cell ran longer than the cell time-out of {CELL_TIMEOUT} s"
    )


def test_failed_phase_keeps_executed_notebook_but_no_client_report(runs: dict[str, Any]) -> None:
    d = runs["bad"].run_dir
    assert not (d / "client" / "beta.html").exists()
    assert not (d / "data" / "beta").exists()
    assert not (d / "client" / "gamma.html").exists()
    nb = nbformat.read(d / "analyst" / "beta.ipynb", as_version=4)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors and errors[0].ename == "RuntimeError"
    assert (d / "analyst" / "beta.html").is_file()
    page = (d / "index.html").read_text(encoding="utf-8")
    assert "RuntimeError: planted failure in beta" in page
    assert 'href="client/beta.html"' not in page
    man = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    assert man["status"] == "failed"
    assert {n: e["status"] for n, e in man["phases"].items()} == {
        "alpha": "reused",
        "beta": "failed",
        "gamma": "skipped",
        "delta": "failed",
    }


def test_earlier_runs_stay_intact_and_latest_is_not_moved(runs: dict[str, Any]) -> None:
    good, bad = runs["good"], runs["bad"]
    # a --phase run still makes a whole engagement: the phases never run before run too
    assert good.exit_code == 0 and [*good.phases] == ["alpha", "beta", "gamma", "delta"]
    assert (good.run_dir / "index.html").read_bytes() == runs["good_index"]
    assert (good.run_dir / "client" / "beta.html").is_file()
    assert (good.run_dir / "data" / "beta" / "total.json").is_file()
    latest = runs["reports"] / "muster" / "latest"
    assert os.readlink(latest) == good.run_id != bad.run_id


def test_failed_phase_is_not_reused_by_the_next_run(
    runs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "package_fingerprint", lambda: "pkg-fixed")
    res = run_pipeline(_options_selected(runs["reports"], ("beta",)))
    assert {r.status for r in res.phases.values()} == {"reused"}
    assert res.phases["beta"].reused_from == runs["good"].run_id  # not the failed run's


INTERRUPTED = textwrap.dedent(
    """
    import dataclasses, importlib.util, sys
    from pathlib import Path
    from salesanalytics.engagement.pipeline import runner
    from salesanalytics.engagement.pipeline.runner import RunOptions, run_pipeline
    NB = Path(sys.argv[1])
    spec = importlib.util.spec_from_file_location("fake_phases", NB / "fake_phases.py")
    fake = importlib.util.module_from_spec(spec); spec.loader.exec_module(fake)
    runner.package_fingerprint = lambda: "pkg-fixed"
    alpha = dataclasses.replace(fake.ALPHA, per_entity=())
    phases = [alpha, fake.DELTA]
    params = {"alpha": alpha.params().model_dump(mode="json"),
              "delta": fake.DELTA.params(gate=sys.argv[3]).model_dump(mode="json")}
    try:
        run_pipeline(RunOptions(phases, NB, Path(sys.argv[2]), "Muster AG", "muster", params,
                                selected=("delta",), quiet=True, warmup="import pandas"))
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


def test_interrupted_run_leaves_no_output_taken_as_complete(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    reports = runs["reports"]
    base = reports / "muster"
    before = set(os.listdir(base))
    gate = tmp_path / "gate"  # delta waits for it: the run cannot finish before the signal
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED, str(NB), str(reports), str(gate)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def delta_started() -> Path | None:
            new = [d for d in set(os.listdir(base)) - before if not d.startswith(".")]
            return base / new[0] if new and (base / new[0] / STAGING / "delta").exists() else None

        staging = wait_for("the run to start the delta phase", delta_started)
        proc.send_signal(signal.SIGINT)
        assert wait_process(proc) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    run_dir = staging
    assert not (run_dir / "data" / "delta").exists()
    man = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert man["status"] == "interrupted"
    assert "delta" not in man["phases"]  # neither complete nor blamed for the interruption
    assert man["phases"]["alpha"]["status"] == "reused"
    assert os.readlink(base / "latest") != run_dir.name
    # the next run, with the same parameters, redoes the interrupted phase
    gate.touch()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "package_fingerprint", lambda: "pkg-fixed")
        opts = dataclasses.replace(
            _options(reports, delta={"gate": str(gate)}), selected=("delta",)
        )
        res = run_pipeline(opts)
    assert res.phases["delta"].status == "ran"
    assert res.phases["delta"].reason == f"parameter gate changed ('' → '{gate}')"
