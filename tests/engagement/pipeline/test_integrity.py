"""Run integrity with tiny fake phases: killed runs, concurrent runs, partial runs, finished runs
never changed afterwards, failing writes, same input = same output.

Every wait is for an event (a file, a manifest state, a process's end) with a limit in minutes
(tests/waiting.py). Phases that must not finish before the test acts wait for a gate file.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import nbformat
import pytest
from waiting import wait_for, wait_process

from salesanalytics import cli
from salesanalytics.engagement.pipeline import runner
from salesanalytics.engagement.pipeline.execute import KernelPool, execute_notebook, parameterize
from salesanalytics.engagement.pipeline.runlock import LOCK_FILE, RunLockedError, project_lock
from salesanalytics.engagement.pipeline.runner import RunOptions, RunResult, run_pipeline
from salesanalytics.engagement.workspace import SCRATCH, Workspace

NB = Path(__file__).resolve().parents[2] / "notebooks"
_spec = importlib.util.spec_from_file_location("fake_phases", NB / "fake_phases.py")
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)

PHASES = [fake.ALPHA, fake.BETA, fake.GAMMA, fake.DELTA]
LIGHT_WARMUP = "import pandas, salesanalytics.present.style"


@pytest.fixture(autouse=True)
def _fixed_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "package_fingerprint", lambda: "pkg-fixed")


def _params(**over: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p.name: p.params(**over.get(p.name, {})).model_dump(mode="json") for p in PHASES}


def _options(reports: Path, **kw: Any) -> RunOptions:
    over = {k: kw.pop(k) for k in [k for k in kw if k in {p.name for p in PHASES}]}
    return RunOptions(
        phases=PHASES,
        notebooks_dir=NB,
        reports_dir=reports,
        client="Muster AG",
        slug="muster",
        params=_params(**over),
        workers=2,
        quiet=True,
        warmup=LIGHT_WARMUP,
        **kw,
    )


def _tree(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (hidden ones too)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def _assert_complete(run_dir: Path) -> None:
    """A finished run: every phase ran or was reused, every listed file exists, every phase's
    outputs still have the content fingerprints recorded in the manifest."""
    man = _manifest(run_dir)
    assert man["status"] == "finished"
    assert not (run_dir / ".staging").exists()
    for name, entry in man["phases"].items():
        assert entry["status"] in {"ran", "reused"}, name
        for rel in entry["reports"].values():
            assert (run_dir / rel).is_file(), rel
        files = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((run_dir / "data" / name).iterdir())
            if not p.name.startswith(".")
        }
        assert files == entry["output_files"], name


def _kernels_in(folder: Path) -> list[int]:
    """Processes whose working directory lies in ``folder`` (the kernels of runs there)."""
    out = []
    root = str(folder.resolve())
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            out.append(int(pid))
    return out


def _comparable(text: str, run_ids: list[str]) -> str:
    """Report text without what legitimately differs between runs: run ids, dates, timings and
    the kernel's process id (which the fake per-rep template prints)."""
    for rid in run_ids:
        text = text.replace(rid, "RUN")
    text = re.sub(r"\d{8}-\d{6}(-\d\d)?", "RUN", text)
    text = re.sub(r"\d\d\.\d\d\.\d{4}", "DATE", text)
    text = re.sub(r"pid \d+", "pid N", text)
    return re.sub(r"\d+\.\d s", "N s", text)


RUN_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    from pathlib import Path
    from salesanalytics.engagement.pipeline import runner
    from salesanalytics.engagement.pipeline.runner import RunOptions, run_pipeline
    NB, reports, params, wait = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    spec = importlib.util.spec_from_file_location("fake_phases", NB / "fake_phases.py")
    fake = importlib.util.module_from_spec(spec); spec.loader.exec_module(fake)
    runner.package_fingerprint = lambda: "pkg-fixed"
    phases = [fake.ALPHA, fake.BETA, fake.GAMMA, fake.DELTA]
    res = run_pipeline(RunOptions(phases, NB, reports, "Muster AG", "muster", json.loads(params),
                                  workers=2, quiet=True, wait=wait == "wait",
                                  warmup="import pandas, salesanalytics.present.style"))
    print(json.dumps({"run_id": res.run_id}))
    sys.exit(res.exit_code)
    """
)


def _start_run(reports: Path, params: dict[str, Any], wait: bool = False) -> subprocess.Popen:
    """A run in a separate process, in a process group of its own (killed as a whole)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUN_SCRIPT,
            str(NB),
            str(reports),
            json.dumps(params),
            "wait" if wait else "",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _new_run(base: Path, before: set[str]) -> Path | None:
    new = sorted(d for d in set(os.listdir(base)) - before if re.fullmatch(r"[\d-]+", d))
    return base / new[0] if new else None


# ------------------------------------------------------------------------- killed runs
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find kernel processes")
def test_killed_runs_leave_latest_complete_and_the_next_run_equals_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    base = reports / "muster"
    earlier = run_pipeline(_options(reports))
    assert earlier.exit_code == 0
    snapshot = _tree(earlier.run_dir)
    gate = tmp_path / "gate"  # gamma waits for it: no killed run can finish
    changed = {"alpha": {"n": 5}, "gamma": {"gate": str(gate)}}
    params = _params(**changed)

    def staging(phase: str) -> Any:
        return lambda d: (d / ".staging" / phase).is_dir()

    def entity_report(d: Path) -> bool:
        return (d / "client" / "alpha").is_dir() and any((d / "client" / "alpha").iterdir())

    def recorded(phase: str) -> Any:
        def probe(d: Path) -> bool:
            try:
                return phase in _manifest(d)["phases"]
            except (OSError, ValueError):
                return False

        return probe

    points = {
        "alpha executing": staging("alpha"),
        "alpha's per-rep reports rendering": entity_report,
        "beta recorded in the manifest": recorded("beta"),
        "gamma executing": staging("gamma"),
    }
    killed = []
    for what, probe in points.items():
        before = set(os.listdir(base))
        proc = _start_run(reports, params)
        try:
            run_dir = wait_for(
                f"the run to reach '{what}'",
                lambda before=before, probe=probe: (
                    (d := _new_run(base, before)) is not None and probe(d) and d
                ),
            )
            os.killpg(proc.pid, signal.SIGKILL)
            assert wait_process(proc) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        killed.append(run_dir)
        # no kernel outlives its runner; latest is still the complete earlier run, unchanged
        wait_for(f"the kernels of the run killed at '{what}' to end", lambda: not _kernels_in(base))
        assert os.readlink(base / "latest") == earlier.run_id
        _assert_complete(earlier.run_dir)
        assert _tree(earlier.run_dir) == snapshot
        if (run_dir / "manifest.json").exists():  # as the killed process left it
            assert _manifest(run_dir)["status"] == "running"

    gate.touch()
    res = run_pipeline(_options(reports, **changed))
    assert res.exit_code == 0
    assert os.readlink(base / "latest") == res.run_id
    _assert_complete(res.run_dir)
    for d in killed:  # marked, tidied, never shown as running
        man = _manifest(d)
        assert man["status"] == "interrupted" and "killed" in man["interrupted"]
        assert not (d / ".staging").exists()
        assert not list(d.rglob(".*.tmp"))
    # each run marks those killed before it; the last one is marked by the recovering run
    assert f"run {killed[-1].name} had been interrupted (killed): marked as interrupted" in (
        "\n".join(res.notes)
    )
    assert _tree(earlier.run_dir) == snapshot

    reference = run_pipeline(_options(tmp_path / "reference", **changed))
    assert reference.exit_code == 0
    for phase in ("alpha", "beta", "gamma", "delta"):
        assert _tree(res.run_dir / "data" / phase) == _tree(reference.run_dir / "data" / phase)
        ids = [res.run_id, reference.run_id]
        a = (res.run_dir / "client" / f"{phase}.html").read_text(encoding="utf-8")
        b = (reference.run_dir / "client" / f"{phase}.html").read_text(encoding="utf-8")
        assert _comparable(a, ids) == _comparable(b, ids)


# ----------------------------------------------------------------------- concurrent runs
def test_a_second_run_refuses_while_one_is_in_progress_then_waits_for_it(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    base = reports / "muster"
    base.mkdir(parents=True)
    gate = tmp_path / "gate"
    params = _params(beta={"gate": str(gate)})
    first = _start_run(reports, params)
    try:
        holder = wait_for("the first run's folder", lambda: _new_run(base, set()))
        with pytest.raises(RunLockedError, match=rf"another run of this project is in progress.*"
                           rf"pid {first.pid} .*pass --wait") as err:  # fmt: skip
            run_pipeline(_options(reports, beta={"gate": str(gate)}))
        assert err.value.exit_code == 3
        assert sorted(p.name for p in base.iterdir() if p.is_dir()) == [holder.name]

        second = _start_run(reports, params, wait=True)
        try:
            wait_for(
                "the second run to say it waits",
                lambda: b"Waiting for it to finish" in _peek(second),
                limit=600,
            )
            assert sorted(p.name for p in base.iterdir() if p.is_dir()) == [holder.name]
            gate.touch()
            assert wait_process(first) == 0
            assert wait_process(second) == 0
            out = json.loads(second.stdout.read().decode().strip().splitlines()[-1])
        finally:
            if second.poll() is None:
                second.kill()
    finally:
        if first.poll() is None:
            first.kill()
    one, two = _manifest(holder), _manifest(base / out["run_id"])
    assert one["finished"] <= two["started"]  # never interleaved
    assert {e["status"] for e in two["phases"].values()} == {"reused"}
    assert os.readlink(base / "latest") == out["run_id"]


_PEEKED: dict[int, bytes] = {}


def _peek(proc: subprocess.Popen) -> bytes:
    """What ``proc`` wrote to standard error so far (read without blocking)."""
    import fcntl

    fd = proc.stderr.fileno()
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        chunk = b""
    _PEEKED[proc.pid] = _PEEKED.get(proc.pid, b"") + chunk
    return _PEEKED[proc.pid]


def test_lock_waits_for_its_holder_and_never_overlaps(tmp_path: Path) -> None:
    events: list[str] = []
    messages: list[str] = []
    release = threading.Event()

    def second() -> None:
        with project_lock(tmp_path, wait=True, log=messages.append):
            events.append("second in")

    with project_lock(tmp_path, command="salesanalytics run --config a.yaml"):
        t = threading.Thread(target=second)
        t.start()
        wait_for("the second holder to wait", lambda: messages)
        events.append("first out")
        release.set()
    t.join(600)
    assert events == ["first out", "second in"]
    assert "salesanalytics run --config a.yaml (pid" in messages[0]
    assert messages[0].endswith("Waiting for it to finish ...")


def test_stale_lock_of_a_killed_run_is_taken_over_with_a_message(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    base = reports / "muster"
    base.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (base / LOCK_FILE).write_text(
        json.dumps({"pid": dead.pid, "host": os.uname().nodename, "state": "held",
                    "started": "2026-01-01T00:00:00+00:00", "command": "salesanalytics run"})
    )  # fmt: skip
    res = run_pipeline(_options(reports))
    assert res.exit_code == 0
    log = (res.run_dir / "run.log").read_text(encoding="utf-8")
    assert f"taking over a stale lock of salesanalytics run (pid {dead.pid}" in log
    assert json.loads((base / LOCK_FILE).read_text())["state"] == "released"


# ---------------------------------------------------------------- interrupted run folders
def _fake_killed_run(base: Path, run_id: str) -> Path:
    d = base / run_id
    (d / ".staging" / "beta").mkdir(parents=True)
    (d / ".staging" / "beta" / "numbers.parquet").write_bytes(b"half a table")
    (d / "data" / "alpha").mkdir(parents=True)
    (d / "data" / "alpha" / ".numbers.parquet.x1.tmp").write_bytes(b"half")
    (d / "manifest.json").write_text(json.dumps({"run_id": run_id, "status": "running",
                                                 "phases": {}}))  # fmt: skip
    return d


def test_clean_marks_interrupted_runs_and_removes_their_staging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from salesanalytics.engagement.pipeline.config import init_project

    export = tmp_path / "export"
    export.mkdir()
    cfg = init_project(tmp_path / "proj", source=str(export), phases=[], slug="muster",
                       reports=str(tmp_path / "reports"))  # fmt: skip
    base = tmp_path / "reports" / "muster"
    d = _fake_killed_run(base, "20260101-120000")
    finished = base / "20260101-110000"
    finished.mkdir()
    (finished / "manifest.json").write_text(json.dumps({"status": "finished", "phases": {}}))
    before = _tree(finished)
    assert cli.main(["clean", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "run 20260101-120000: was interrupted (killed), now marked so; removed .staging/" in out
    assert _manifest(d)["status"] == "interrupted"
    assert not (d / ".staging").exists() and not list(d.rglob("*.tmp"))
    assert _tree(finished) == before
    assert cli.main(["clean", "--config", str(cfg), "--remove-interrupted"]) == 0
    assert "interrupted run folder deleted" in capsys.readouterr().out
    assert not d.exists() and finished.exists()
    with project_lock(base):
        assert cli.main(["clean", "--config", str(cfg)]) == 3
    assert "another run of this project is in progress" in capsys.readouterr().err


# ------------------------------------------------------------------------- partial runs
@pytest.fixture(scope="module")
def partial(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reports = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "package_fingerprint", lambda: "pkg-fixed")
        full = run_pipeline(_options(reports))
        # --phase beta with beta's parameter changed: beta and its downstream gamma rerun
        phase = run_pipeline(_options(reports, beta={"factor": 3}, selected=("beta",)))
        # --phase beta --only, another change: gamma carried over, marked stale
        only = run_pipeline(_options(reports, beta={"factor": 4}, selected=("beta",), only=True))
        # delta changed in the project but not selected: carried over, stale
        side = run_pipeline(
            _options(reports, beta={"factor": 4}, delta={"factor": 5}, selected=("beta",))
        )
    return {"full": full, "phase": phase, "only": only, "side": side, "reports": reports}


def _status(res: RunResult) -> dict[str, str]:
    return {n: r.status + ("/stale" if r.stale else "") for n, r in res.phases.items()}


def test_partial_run_reruns_downstream_and_keeps_a_whole_engagement(
    partial: dict[str, Any],
) -> None:
    res = partial["phase"]
    assert _status(res) == {"alpha": "reused", "beta": "ran", "gamma": "ran", "delta": "reused"}
    assert res.phases["gamma"].reason == "upstream beta reran"
    assert os.readlink(partial["reports"] / "muster" / "latest") != partial["full"].run_id
    _assert_complete(res.run_dir)
    assert json.loads((res.run_dir / "data" / "gamma" / "total.json").read_text()) == {"total": 18}


def test_only_carries_downstream_over_and_the_index_says_it_is_stale(
    partial: dict[str, Any],
) -> None:
    res = partial["only"]
    assert _status(res) == {
        "alpha": "reused",
        "beta": "ran",
        "gamma": "reused/stale",
        "delta": "reused",
    }
    gamma = res.phases["gamma"]
    assert gamma.reason == f"carried over from run {partial['phase'].run_id}"
    assert gamma.stale == (
        "out of date (upstream beta reran): not rerun because this run was limited by --only"
    )
    assert res.exit_code == 0
    _assert_complete(res.run_dir)
    page = (res.run_dir / "index.html").read_text(encoding="utf-8")
    assert "1 stale: out of date with the project file" in page
    assert '<span class="sa-status sa-status-stale">stale</span>' in page
    assert "Stale – out of date (upstream beta reran)" in page
    # the carried-over table is the earlier run's, untouched
    assert json.loads((res.run_dir / "data" / "gamma" / "total.json").read_text()) == {"total": 18}
    assert _manifest(res.run_dir)["phases"]["gamma"]["stale"].startswith("out of date")


def test_phase_outside_the_selection_is_carried_over_and_marked_stale(
    partial: dict[str, Any],
) -> None:
    res = partial["side"]
    status = _status(res)
    assert status["delta"] == "reused/stale" and status["gamma"] == "ran"
    assert res.phases["delta"].stale.startswith("out of date (parameter factor changed (2 → 5))")
    # the next full run brings everything up to date
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "package_fingerprint", lambda: "pkg-fixed")
        full = run_pipeline(_options(partial["reports"], beta={"factor": 4}, delta={"factor": 5}))
    assert _status(full)["delta"] == "ran" and not any(r.stale for r in full.phases.values())


# ------------------------------------------------------- finished runs are never changed
def test_interactive_notebook_run_writes_to_scratch_and_leaves_every_run_unchanged(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    base = reports / "muster"
    first = run_pipeline(_options(reports))
    second = run_pipeline(_options(reports, beta={"factor": 3}))  # alpha, delta hard-linked
    trees = {d.name: _tree(d) for d in (first.run_dir, second.run_dir)}

    # the analyst opens beta's notebook, points it at latest, changes the factor, runs it
    nb = nbformat.read(NB / "t_step.ipynb", as_version=4)
    params = {"run_dir": str(base / "latest"), "output_dir": "", "factor": 7}

    async def go() -> Any:
        pool = KernelPool(tmp_path, size=1, warmup=LIGHT_WARMUP)
        try:
            k = await pool.acquire()
            return await execute_notebook(parameterize(nb, params), k)
        finally:
            await pool.close()

    import asyncio

    executed = asyncio.run(go())
    said = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    scratch = sorted((base / SCRATCH).iterdir())
    assert len(scratch) == 1 and scratch[0].name.startswith(f"{second.run_id}-beta-")
    assert f"the outputs of this notebook go to {scratch[0]}" in said
    assert json.loads((scratch[0] / "total.json").read_text()) == {"total": 21}
    assert {d.name: _tree(d) for d in (first.run_dir, second.run_dir)} == trees

    # the next run reuses the finished run's own outputs, not the analyst's
    third = run_pipeline(_options(reports, beta={"factor": 3}))
    assert {r.status for r in third.phases.values()} == {"reused"}
    assert json.loads((third.run_dir / "data" / "beta" / "total.json").read_text()) == {"total": 9}


def test_changed_output_of_a_finished_run_is_not_reused(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    first = run_pipeline(_options(reports))
    table = first.run_dir / "data" / "beta" / "total.json"
    table.unlink()  # replaced, as an old-style in-place edit would have changed it
    table.write_text('{"total": 999}')
    res = run_pipeline(_options(reports))
    assert _status(res) == {"alpha": "reused", "beta": "ran", "gamma": "reused", "delta": "reused"}
    assert res.phases["beta"].reason == (
        f"outputs of run {first.run_id} were changed after it finished (total.json); not reused"
    )
    assert json.loads((res.run_dir / "data" / "beta" / "total.json").read_text()) == {"total": 6}


def test_deliverable_is_never_written_through_a_shared_hard_link(tmp_path: Path) -> None:
    earlier = tmp_path / "run1" / "data" / "territory"
    earlier.mkdir(parents=True)
    (earlier / "plan.csv").write_text("old\n")
    later = tmp_path / "run2" / "data" / "territory"
    later.mkdir(parents=True)
    os.link(earlier / "plan.csv", later / "plan.csv")  # as reuse links it
    ws = Workspace(tmp_path / "run2", "territory", later)
    ws.path("plan.csv").write_text("new\n")
    ws.write_json("summary", {"a": 1})
    assert (earlier / "plan.csv").read_text() == "old\n"
    assert (later / "plan.csv").read_text() == "new\n"


def test_headlines_are_replaced_by_each_execution(tmp_path: Path) -> None:
    out = tmp_path / "out"
    Workspace(tmp_path, "churn", out).headline("152 key accounts.")
    ws = Workspace(tmp_path, "churn", out)  # the notebook executed again
    ws.headline("673 key accounts.")
    ws.headline("Churn fell.")
    assert json.loads((out / "headlines.json").read_text()) == ["673 key accounts.", "Churn fell."]


# ------------------------------------------------------------------------ failing writes
@pytest.mark.parametrize("victim", ["client/beta.html", "manifest.json"])
def test_a_failing_write_ends_the_run_with_a_clear_error_and_keeps_earlier_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, victim: str
) -> None:
    reports = tmp_path / "reports"
    earlier = run_pipeline(_options(reports))
    snapshot = _tree(earlier.run_dir)
    real = runner.atomic_write_bytes
    calls = {"n": 0}

    def disk_full(path: Path, data: bytes) -> None:
        if Path(path).as_posix().endswith(victim) and Path(path).parent != earlier.run_dir:
            calls["n"] += 1
            if victim != "manifest.json" or calls["n"] == 3:  # the manifest: once, mid-run
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(runner, "atomic_write_bytes", disk_full)
    res = run_pipeline(_options(reports, beta={"factor": 3}))
    assert res.exit_code == 1
    assert re.fullmatch(
        rf"the run could not write \S+{re.escape(victim)}: No space left on device \(errno 28\); "
        r"earlier runs are intact and `latest` was not moved: .*",
        res.error,
    )
    assert os.readlink(reports / "muster" / "latest") == earlier.run_id
    assert _tree(earlier.run_dir) == snapshot
    man = _manifest(res.run_dir)
    assert man["status"] == "failed" and "No space left on device" in man["error"]


def test_cli_reports_a_failing_write_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_run(opts: RunOptions) -> RunResult:
        return RunResult(tmp_path, "20260101-000000", {}, 0.0, error="the run could not write x")

    monkeypatch.setattr(runner, "run_pipeline", fake_run)
    from salesanalytics.engagement.pipeline.config import init_project

    (tmp_path / "export").mkdir()
    cfg = init_project(tmp_path / "p", source=str(tmp_path / "export"), phases=[], slug="x",
                       reports=str(tmp_path / "reports"))  # fmt: skip
    assert cli.main(["run", "--config", str(cfg), "--quiet"]) == 1
    assert capsys.readouterr().err.strip().endswith("error: the run could not write x")


# ------------------------------------------------------------------ same input, same output
def test_two_runs_of_the_same_input_write_identical_tables_and_report_text(tmp_path: Path) -> None:
    a = run_pipeline(_options(tmp_path / "a"))
    b = run_pipeline(_options(tmp_path / "b"))
    assert a.exit_code == b.exit_code == 0
    for phase in ("alpha", "beta", "gamma", "delta"):
        assert _tree(a.run_dir / "data" / phase) == _tree(b.run_dir / "data" / phase)
    ids = [a.run_id, b.run_id]
    for rel in ("client/alpha.html", "client/beta.html", "client/alpha/R1.html", "index.html"):
        ta = (a.run_dir / rel).read_text(encoding="utf-8")
        tb = (b.run_dir / rel).read_text(encoding="utf-8")
        assert _comparable(ta, ids) == _comparable(tb, ids), rel
