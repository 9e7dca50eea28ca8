"""Running tiny fake phases end to end: reports, manifest, per-entity reports, reuse, invalidation.

Three runs share one reports folder (module fixture, few kernels):
1. first run: alpha (+ one report per rep), beta, gamma all run;
2. identical rerun: everything reused, no kernel started;
3. ``beta.factor`` changed: alpha reused, beta and gamma rerun, with reasons.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from salesanalytics.engagement.pipeline import runner
from salesanalytics.engagement.pipeline.runner import RunOptions, RunResult, run_pipeline

NB = Path(__file__).resolve().parents[2] / "notebooks"
_spec = importlib.util.spec_from_file_location("fake_phases", NB / "fake_phases.py")
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)

LIGHT_WARMUP = "import pandas, salesanalytics.present.style"


def _params(**over: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p.name: p.params(**over.get(p.name, {})).model_dump(mode="json") for p in fake.PHASES}


def _options(reports: Path, **over: dict[str, Any]) -> RunOptions:
    return RunOptions(
        phases=fake.PHASES,
        notebooks_dir=NB,
        reports_dir=reports,
        client="Muster <b>Web</b> AG",
        slug="muster",
        params=_params(**over),
        workers=2,
        quiet=True,
        warmup=LIGHT_WARMUP,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reports = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "package_fingerprint", lambda: "pkg-fixed")
        first = run_pipeline(_options(reports))
        first_manifest = (first.run_dir / "manifest.json").read_bytes()
        second = run_pipeline(_options(reports))
        third = run_pipeline(_options(reports, beta={"factor": 3}))
    return {
        "reports": reports,
        "first": first,
        "second": second,
        "third": third,
        "first_manifest": first_manifest,
    }


def _manifest(res: RunResult) -> dict[str, Any]:
    return json.loads((res.run_dir / "manifest.json").read_text(encoding="utf-8"))


def test_first_run_runs_every_phase_and_writes_reports(runs: dict[str, Any]) -> None:
    res: RunResult = runs["first"]
    assert res.exit_code == 0
    assert {n: r.status for n, r in res.phases.items()} == {
        "alpha": "ran",
        "beta": "ran",
        "gamma": "ran",
    }
    d = res.run_dir
    assert d.parent == runs["reports"] / "muster"
    assert re.fullmatch(r"\d{8}-\d{6}(-\d\d)?", res.run_id)
    for phase in ("alpha", "beta", "gamma"):
        assert (d / "client" / f"{phase}.html").is_file()
        assert (d / "analyst" / f"{phase}.html").is_file()
        assert (d / "analyst" / f"{phase}.ipynb").is_file()
    assert sorted(os.listdir(d / "data" / "alpha")) == [
        "headlines.json",
        "numbers.parquet",
        "reps.parquet",
    ]
    assert json.loads((d / "data" / "beta" / "total.json").read_text()) == {"total": 6}
    assert not (d / ".staging").exists()


def test_manifest_records_parameters_fingerprints_versions_and_timing(
    runs: dict[str, Any],
) -> None:
    man = _manifest(runs["first"])
    assert man["status"] == "finished"
    assert man["client"] == "Muster <b>Web</b> AG" and man["slug"] == "muster"
    assert man["parameters"]["beta"]["factor"] == 2
    assert {"pandas", "nbclient", "python", "salesanalytics"} <= set(man["versions"])
    assert "git_commit" in man
    assert man["package_fingerprint"] == "pkg-fixed"
    for name in ("alpha", "beta", "gamma"):
        entry = man["phases"][name]
        assert entry["status"] == "ran"
        assert entry["seconds"] > 0
        assert len(entry["fingerprint"]) == 64
    assert man["phases"]["beta"]["components"]["upstream"] == {
        "alpha": man["phases"]["alpha"]["output_fingerprint"]
    }


def test_index_links_every_report_with_headlines(runs: dict[str, Any]) -> None:
    page = (runs["first"].run_dir / "index.html").read_text(encoding="utf-8")
    for phase in ("alpha", "beta", "gamma"):
        assert f'href="client/{phase}.html"' in page
        assert f'href="analyst/{phase}.html"' in page
    assert "<li>3 numbers for ACME &lt;script&gt;alert(1)&lt;/script&gt;</li>" in page
    assert "<li>total 6</li>" in page
    assert 'href="client/alpha/R1.html"' in page
    assert "<script" not in page


def test_client_report_of_a_real_run_is_clean(runs: dict[str, Any]) -> None:
    d = runs["first"].run_dir
    page = (d / "client" / "alpha.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert not re.search(r"<[^>]*\son\w+\s*=", page, re.I)
    assert "ws.write" not in page and "import pandas" not in page  # no code
    assert "stderr noise" not in page
    assert "data:image/png;base64," in page  # the matplotlib chart is embedded
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert str(runs["reports"]) not in page and str(Path.home()) not in page
    assert "working in …" in page  # the kernel's working directory was scrubbed
    # the malicious CRM name: via style.table, a plain DataFrame and HTML/Markdown displays
    assert page.count("ACME &lt;script&gt;alert(1)&lt;/script&gt;") >= 7
    assert "<h1>Alpha &lt;b&gt;phase&lt;/b&gt;</h1>" in page
    analyst = (d / "analyst" / "alpha.html").read_text(encoding="utf-8")
    assert "planted failure in alpha" in analyst  # the code is shown


def test_per_entity_reports_run_in_one_kernel(runs: dict[str, Any]) -> None:
    d = runs["first"].run_dir
    files = sorted(os.listdir(d / "client" / "alpha"))
    assert files == ["R-2.html", "R1.html", "R3.html"]  # CRM ids keep their case
    pids = set()
    for f in files:
        page = (d / "client" / "alpha" / f).read_text(encoding="utf-8")
        pids.update(re.findall(r"pid (\d+)", page))
        assert "<script" not in page
    assert len(pids) == 1  # same kernel process for every rep
    r2 = (d / "client" / "alpha" / "R-2.html").read_text(encoding="utf-8")
    assert "Bea &lt;b&gt;B&lt;/b&gt;" in r2 and "Rep R/2" in r2
    groups = runs["first"].phases["alpha"].entities
    assert [i["label"] for i in groups[0]["items"]] == [fake.MALICIOUS, "Bea <b>B</b>", "Cem"]


def test_identical_rerun_reuses_every_phase_without_kernels(runs: dict[str, Any]) -> None:
    first, second = runs["first"], runs["second"]
    assert second.run_dir != first.run_dir
    assert {r.status for r in second.phases.values()} == {"reused"}
    assert second.kernels_started == 0
    assert second.phases["beta"].reason == f"unchanged since run {first.run_id}"
    a = second.run_dir / "data" / "alpha" / "numbers.parquet"
    b = first.run_dir / "data" / "alpha" / "numbers.parquet"
    assert os.stat(a).st_ino == os.stat(b).st_ino  # hard-linked, not recomputed
    for rel in ("client/alpha.html", "client/alpha/R1.html", "analyst/gamma.html"):
        assert (second.run_dir / rel).is_file()
    man = _manifest(second)
    assert man["phases"]["alpha"]["status"] == "reused"
    assert man["phases"]["alpha"]["reused_from"] == first.run_id


def test_changed_parameter_reruns_that_phase_and_downstream(runs: dict[str, Any]) -> None:
    third = runs["third"]
    status = {n: r.status for n, r in third.phases.items()}
    assert status == {"alpha": "reused", "beta": "ran", "gamma": "ran"}
    assert third.phases["beta"].reason == "parameter factor changed (2 → 3)"
    assert third.phases["gamma"].reason == "upstream beta reran"
    assert json.loads((third.run_dir / "data" / "beta" / "total.json").read_text()) == {"total": 9}
    log = (third.run_dir / "run.log").read_text(encoding="utf-8")
    assert "alpha: reused" in log and "beta: ran" in log and "parameter factor changed" in log


def test_runs_keep_their_own_folders_and_latest_points_to_the_last(runs: dict[str, Any]) -> None:
    base = runs["reports"] / "muster"
    latest = base / "latest"
    assert latest.is_symlink()
    finished = sorted(
        d.name
        for d in base.iterdir()
        if d.is_dir()
        and not d.is_symlink()
        and json.loads((d / "manifest.json").read_text(encoding="utf-8"))["status"] == "finished"
    )
    assert runs["third"].run_id in finished
    assert os.readlink(latest) == finished[-1]  # the newest finished run (tests may add runs)
    assert (runs["first"].run_dir / "manifest.json").read_bytes() == runs["first_manifest"]
    ids = [runs[k].run_id for k in ("first", "second", "third")]
    assert ids == sorted(ids) and len(set(ids)) == 3
    # the executed notebook of the earlier run still has its own results
    nb = nbformat.read(runs["first"].run_dir / "analyst" / "beta.ipynb", as_version=4)
    assert "factor = 2" in "".join(c.source for c in nb.cells if c.cell_type == "code")


def test_cli_run_from_a_project_file_reuses_and_is_quiet(
    runs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import argparse

    import salesanalytics.engagement.phases
    from salesanalytics.engagement.pipeline import commands
    from salesanalytics.engagement.pipeline.config import init_project

    monkeypatch.setattr(runner, "package_fingerprint", lambda: "pkg-fixed")
    monkeypatch.setattr(salesanalytics.engagement.phases, "all_phases", lambda: fake.PHASES)
    (tmp_path / "export").mkdir()
    project = init_project(
        tmp_path,
        source=tmp_path / "export",
        phases=fake.PHASES,
        client="Muster <b>Web</b> AG",
        slug="muster",
        reports=runs["reports"],
        notebooks=NB,
    )
    parser = argparse.ArgumentParser(prog="salesanalytics")
    commands.register_cli(parser.add_subparsers())
    args = parser.parse_args(["run", "--config", str(project), "--quiet", "--phase", "beta"])
    assert args.func(args) == 0
    err = capsys.readouterr().err
    # a --phase run is still a whole engagement: gamma (downstream of beta) is there too
    assert re.fullmatch(r"run \S+ finished in [\d.]+ s: 3 reused -> \S+index.html\n", err)
    args = parser.parse_args(["run", "--config", str(project), "--phase", "beta"])
    assert args.func(args) == 0
    err = capsys.readouterr().err
    assert "alpha: reused (unchanged since run" in err and "beta: reused" in err


def test_longest_chain_of_phases_starts_first(tmp_path: Path) -> None:
    def spec(name: str, reads: tuple[str, ...]) -> Any:
        return runner.PhaseSpec(name, f"{name}.ipynb", name, reads, (), fake.BetaParams)

    phases = [spec("a", ()), spec("b", ("a",)), spec("c", ("a",)), spec("d", ("b",))]
    opts = RunOptions(phases=phases, notebooks_dir=NB, reports_dir=tmp_path, client="x", slug="x")
    r = runner._Runner(opts)
    r.durations = {"a": 1.0, "b": 5.0, "c": 10.0, "d": 1.0}
    assert r.priorities() == {"d": 1.0, "c": 10.0, "b": 6.0, "a": 11.0}
    r.durations = {}  # no history: every phase counts its estimate (1 s by default)
    assert r.priorities() == {"d": 1.0, "c": 1.0, "b": 2.0, "a": 3.0}
    r.phases[2] = dataclasses.replace(phases[2], seconds=4.0)
    assert r.priorities() == {"d": 1.0, "c": 4.0, "b": 2.0, "a": 5.0}


def test_entity_file_names_keep_the_name_readable() -> None:
    assert runner._entity_file("Team Zürich-Ostschweiz") == "Team-Zuerich-Ostschweiz"
    assert runner._entity_file("Léa Morel") == "Lea-Morel"
    assert runner._entity_file("0055g000000000JAAQ") == "0055g000000000JAAQ"  # ids keep their case
