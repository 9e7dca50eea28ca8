"""Every command shown in README.md and docs/ runs, on a small demo (2,000 accounts) made once by
the README's own ``make demo`` into a temporary folder; and what the README promises of them holds:
a second ``make demo`` reuses every phase, the same export and parameters give byte-identical
tables and the same report text, a ``--phase`` run leaves a whole engagement, a notebook run on
its own (papermill) with a changed parameter leaves every finished run byte-identical.

The commands are read from the documents: a command added there without a test here fails
:func:`test_every_documented_command_is_run_here`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
ACCOUNTS = 2000
LIMIT = 3600  # seconds: a safety net against a hung command, not a speed expectation
PHASES = 12

pytestmark = pytest.mark.slow

RUN_HERE = {
    "make demo": "test_make_demo_runs_every_phase_and_a_second_reuses_them",
    "salesanalytics validate": "test_validate_from_the_readme",
    "salesanalytics init": "acme (fixture)",
    "salesanalytics run": "acme (fixture), test_partial_run_from_the_readme, test_fresh_kernels",
    "salesanalytics clean": "test_clean_from_the_readme",
    "salesanalytics compare": "test_compare_from_the_readme",
    "salesanalytics mapping": "test_mapping_draft_from_the_readme",
    "salesanalytics demo-data": "make demo (fixture)",
    "papermill": "test_notebook_run_on_its_own_never_changes_a_finished_run",
    ".venv/bin/python bench": "test_bench_scripts_answer_help",
    # run by other test modules
    "python -m salesanalytics.salesforce": "tests/test_salesforce_export.py (export, resolve)",
    "sf project convert": "tests/test_salesforce_export.py (the real Salesforce CLI)",
    "python -m salesanalytics.engagement.translations": "tests/engagement/test_translations.py "
    "(check de, update on a copy)",
}
NOT_RUN_HERE = {
    "make test": "the command that runs this suite (CI runs it on a fresh clone)",
    "make typecheck": "mypy, run by make test before this suite",
    "make lock": "rewrites requirements.lock from the installed versions",
    "pip install": "installation; CI installs with `make install`, which runs this command",
    "conda env": "installation with conda, which CI does not have",
    "npm ci": "installs the pinned Salesforce CLI (.ci/run runs it)",
    "sf project deploy": "deploys to the client's Salesforce org",
    "sf data update": "writes to the client's Salesforce org",
    "sf data import": "writes to the client's Salesforce org",
    ".venv/bin/jupyter lab": "an interactive server; the notebooks' own run is tested with "
    "papermill (test_notebook_run_on_its_own_never_changes_a_finished_run)",
}


def _documented() -> set[str]:
    """Commands in the documents: lines of ``bash`` blocks and inline code that start with a
    command of this project (``make``, ``salesanalytics``, ``.venv/bin/...``, ``pip``, ...)."""
    starts = (
        "make ", "salesanalytics ", ".venv/bin/", "pip ", "conda ", "papermill", "python ", "sf ",
        "npm ",
    )  # fmt: skip
    found = set()
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        lines = []
        for block in re.findall(r"```bash\n(.*?)```", text, re.S):
            lines += [ln.split("#")[0].strip() for ln in block.splitlines()]
        lines += re.findall(r"`([^`\n]+)`", text)
        for ln in lines:
            ln = ln.strip()
            if ln.startswith(starts) and not ln.startswith("salesanalytics/"):
                found.add(ln)
    return found


def _kind(command: str) -> str:
    words = command.split()
    if words[0] == "papermill":
        return "papermill"
    if words[0] == ".venv/bin/python" and len(words) > 1 and words[1].startswith("bench/"):
        return ".venv/bin/python bench"
    if words[0] == "sf" or words[:2] == ["python", "-m"]:
        return " ".join(words[:3])
    return " ".join(words[:2])


def test_every_documented_command_is_run_here() -> None:
    kinds = {_kind(c) for c in _documented()}
    assert {"make demo", "salesanalytics run", "salesanalytics clean"} <= kinds
    unknown = kinds - set(RUN_HERE) - set(NOT_RUN_HERE)
    assert not unknown, f"documented commands without a test here: {sorted(unknown)}"


def _readme_lines(prefix: str) -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for ln in block.splitlines():
            ln = ln.split("  #")[0].strip()
            if ln.startswith(prefix):
                out.append(ln)
    assert out, f"README.md shows no command starting with {prefix!r}"
    return out


def _sh(
    command: str, cwd: Path, export: Path | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run a README command line (its ``/path/to/export`` replaced by the demo export)."""
    if export is not None:
        command = command.replace("/path/to/export", str(export))
    args = shlex.split(command)
    if args[0] in {"salesanalytics", "papermill"}:
        args[0] = str(BIN / args[0])
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=LIMIT, env=env, **kw
    )


def _ok(res: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert res.returncode == 0, f"{res.args} exited {res.returncode}:\n{res.stderr[-3000:]}"
    return res


def _manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def _tree(folder: Path, skip: str = "") -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and not p.is_symlink() and not (skip and rel.startswith(skip)):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``make demo`` with 2,000 accounts, its data and reports in a temporary folder."""
    tmp = tmp_path_factory.mktemp("readme")
    demo_dir, reports = tmp / "demo", tmp / "reports"
    res = _ok(
        _sh(
            f"make demo DEMO_DIR={demo_dir} ACCOUNTS={ACCOUNTS} REPORTS={reports}",
            cwd=REPO,
        )
    )
    latest = reports / "demo" / "latest"
    assert f"{reports / 'demo'}" in res.stderr and "index.html" in res.stderr
    return {"tmp": tmp, "export": demo_dir / "export", "reports": reports, "latest": latest}


def _whole(run_dir: Path) -> dict[str, dict[str, Any]]:
    man = _manifest(run_dir)
    assert man["status"] == "finished"
    assert len(man["phases"]) == PHASES
    assert {e["status"] for e in man["phases"].values()} <= {"ran", "reused"}
    return man["phases"]


def test_make_demo_runs_every_phase_and_a_second_reuses_them(demo: dict[str, Path]) -> None:
    first = demo["latest"].resolve()
    assert {e["status"] for e in _whole(first).values()} == {"ran"}
    demo_dir = demo["export"].parent
    _ok(
        _sh(
            f"make demo DEMO_DIR={demo_dir} ACCOUNTS={ACCOUNTS} REPORTS={demo['reports']}",
            cwd=REPO,
        )
    )
    second = demo["latest"].resolve()
    assert second != first
    assert {e["status"] for e in _whole(second).values()} == {"reused"}


def test_validate_from_the_readme(demo: dict[str, Path]) -> None:
    (line,) = _readme_lines("salesanalytics validate")
    res = _ok(_sh(line, cwd=demo["tmp"], export=demo["export"]))
    assert "Traceback" not in res.stderr + res.stdout


def test_mapping_draft_from_the_readme(demo: dict[str, Path]) -> None:
    """README: ``salesanalytics mapping draft --source DIR [--like ...] -o draft.yaml``."""
    (shown,) = [
        c for c in _documented() if c.startswith("salesanalytics mapping draft --source DIR")
    ]
    line = shown.replace("DIR", str(demo["export"])).replace(
        "[--like salesforce|hubspot|dynamics]", "--like salesforce"
    )
    res = _ok(_sh(line, cwd=demo["tmp"]))
    draft = demo["tmp"] / "draft.yaml"
    assert f"wrote {draft.name}" in res.stdout and draft.is_file()


@pytest.fixture(scope="module")
def acme(demo: dict[str, Path]) -> dict[str, Path]:
    """The README's ``init`` and first ``run`` lines, in a working folder of their own."""
    work = demo["tmp"] / "work"
    work.mkdir()
    (init,) = _readme_lines("salesanalytics init")
    _ok(_sh(init, cwd=work, export=demo["export"]))
    runs = [ln for ln in _readme_lines("salesanalytics run") if "--phase" not in ln]
    assert len(runs) == 1
    _ok(_sh(runs[0], cwd=work))
    project = work / "projects" / "acme" / "project.yaml"
    base = work / "reports" / "acme"
    return {"work": work, "project": project, "base": base, "first": (base / "latest").resolve()}


def _comparable(text: str, *replace: str) -> str:
    for r in replace:
        text = text.replace(r, "X")
    text = re.sub(r"\d{8}-\d{6}(-\d\d)?", "RUN", text)
    return re.sub(r"\d\d\.\d\d\.\d{4}", "DATE", text)


def test_same_export_and_parameters_give_identical_tables_and_report_text(
    demo: dict[str, Path], acme: dict[str, Path]
) -> None:
    a, b = demo["latest"].resolve(), acme["first"]
    _whole(b)
    # two independent runs (different projects: nothing reused) of the same export
    assert {e["status"] for e in _manifest(b)["phases"].values()} == {"ran"}
    tables_a = {k: v for k, v in _tree(a / "data").items() if k.endswith(".parquet")}
    tables_b = {k: v for k, v in _tree(b / "data").items() if k.endswith(".parquet")}
    assert len(tables_a) > 20
    assert tables_a == tables_b
    # what differs by design: the project (client name, slug, where its export lies)
    names = ("Digitalwerk Schweiz AG (demo)", "Acme AG", "demo", "acme")
    sources = [f"<td>{_manifest(r)['inputs']['source']}</td>" for r in (a, b)]
    pages = sorted((a / "client").glob("**/*.html"))
    assert len(pages) > PHASES
    for page in pages:
        other = b / page.relative_to(a)
        ta = _comparable(page.read_text(encoding="utf-8"), *sources, *names)
        tb = _comparable(other.read_text(encoding="utf-8"), *sources, *names)
        assert ta == tb, page.name


def test_partial_run_from_the_readme(acme: dict[str, Path]) -> None:
    """The README's partial run: another territory count reruns territory and its downstream."""
    (line,) = [ln for ln in _readme_lines("salesanalytics run") if "--phase" in ln]
    found = re.search(r"territory\.n_territories=(\d+)", line)
    assert found, line
    _ok(_sh(line, cwd=acme["work"]))
    n = int(found.group(1))
    _assert_territory_rerun_with_downstream(acme, n)


def _assert_territory_rerun_with_downstream(acme: dict[str, Path], n: int) -> None:
    from salesanalytics.engagement.phases import all_phases
    from salesanalytics.engagement.pipeline.graph import downstream

    latest = (acme["base"] / "latest").resolve()
    assert latest != acme["first"]
    phases = _whole(latest)  # a whole engagement, not 3 of 12 phases
    assert _manifest(latest)["parameters"]["territory"]["n_territories"] == n
    assert phases["territory"]["status"] == "ran"
    for name in downstream(all_phases(), "territory"):
        assert phases[name]["status"] == "ran", name  # its input changed: rerun, not stale
    assert phases["churn"]["status"] == "reused"  # not downstream of territory
    assert not any(e.get("stale") for e in phases.values())


def test_clean_from_the_readme(acme: dict[str, Path]) -> None:
    (line,) = _readme_lines("salesanalytics clean")
    res = _ok(_sh(line.split("  #")[0], cwd=acme["work"]))
    assert "no interrupted runs left behind" in res.stdout


def test_compare_from_the_readme(demo: dict[str, Path], acme: dict[str, Path]) -> None:
    """Two runs of the demo agree (run ids and dates masked); the same export run for another
    client differs in its reports' client name only, and the command says so with exit 1."""
    (line,) = _readme_lines("salesanalytics compare")
    earlier, later = "reports/acme/20261207-101500", "reports/acme/latest"
    runs = sorted(
        p
        for p in (demo["reports"] / "demo").iterdir()
        if re.fullmatch(r"\d{8}-\d{6}(-\d\d)?", p.name)
    )
    same = _ok(
        _sh(line.replace(earlier, str(runs[0])).replace(later, str(demo["latest"])), cwd=REPO)
    )
    assert same.stdout.strip() == "no differences"
    res = _sh(line.replace(earlier, str(runs[0])).replace(later, str(acme["first"])), cwd=REPO)
    assert res.returncode == 1, res.stderr[-2000:]
    assert "[text]" in res.stdout and "+Acme AG" in res.stdout
    assert "parquet" not in res.stdout  # the tables are the same


def test_fresh_kernels(acme: dict[str, Path]) -> None:
    """docs/architecture.md: ``salesanalytics run --fresh-kernels``."""
    _ok(_sh(f"salesanalytics run --config {acme['project']} --fresh-kernels -q", cwd=acme["work"]))
    assert {e["status"] for e in _whole((acme["base"] / "latest").resolve()).values()} == {"reused"}


def test_notebook_run_on_its_own_never_changes_a_finished_run(demo: dict[str, Path]) -> None:
    """An analyst runs the portfolio notebook on the finished demo run with another ABC class-A
    share (README: "with plain papermill"): it writes to a scratch folder and says where;
    every run folder stays byte-identical; the next run reuses the run's own portfolio."""
    base = demo["reports"] / "demo"
    run = demo["latest"].resolve()
    before = {d.name: _tree(d) for d in base.iterdir() if d.is_dir() and d.name[0].isdigit()}
    out = demo["tmp"] / "portfolio-analyst.ipynb"
    res = _ok(
        _sh(
            f"papermill {REPO / 'notebooks' / '30_portfolio_key_accounts.ipynb'} {out} "
            f"-p run_dir {demo['latest']} -p abc_a_share 0.5",
            cwd=REPO / "notebooks",
        )
    )
    assert "Traceback" not in res.stderr
    scratch = [d for d in (base / "scratch").iterdir() if d.name.startswith(f"{run.name}-")]
    assert len(scratch) == 1 and (scratch[0] / "headlines.json").is_file()
    assert f"the outputs of this notebook go to {scratch[0]}" in out.read_text(encoding="utf-8")
    after = {d.name: _tree(d) for d in base.iterdir() if d.is_dir() and d.name[0].isdigit()}
    assert after == before
    # the changed share really changed the analyst's tables, not the run's
    assert _tree(scratch[0], skip="headlines") != _tree(run / "data" / "portfolio", "headlines")


def test_bench_scripts_answer_help() -> None:
    """README: ``.venv/bin/python bench/<script>.py`` (options: ``--help``, where it has any)."""
    scripts = sorted((REPO / "bench").glob("bench_*.py"))
    assert len(scripts) >= 5
    with_options = [s for s in scripts if "argparse" in s.read_text(encoding="utf-8")]
    for script in with_options:
        res = _ok(_sh(f"{sys.executable} {script} --help", cwd=REPO))
        assert res.stdout.startswith("usage:"), script.name
