"""Benchmark of the phase pipeline; prints its figures (no timed tests).

Synthetic engagement (default): 11 phases shaped like the real graph, each notebook importing pandas,
seaborn, statsmodels and salesanalytics, reading its upstream Parquet, writing a 20,000-row table,
drawing a chart and showing a table; one phase renders one report per rep (50 reps). Measures:

* plain ``papermill`` execution of one such notebook (the baseline fixed cost);
* the full run (cold), client + analyst HTML for every phase, per-phase fixed cost;
* an identical rerun (everything reused);
* a rerun after changing one late-phase parameter;
* 50 per-rep reports (one kernel, or two when a worker slot is free and the list is long).

With ``--project data/demo/project.yaml`` it also runs the real project: full run, identical rerun and
a rerun with the ``--set`` values given by ``--change`` (e.g. ``--change compensation.threshold=0.6``).
The package-source fingerprint is pinned during the benchmark, so that others editing the package do
not invalidate the runs being compared.

Usage: ``.venv/bin/python bench/bench_pipeline.py [--project FILE --change phase.param=value]``
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from pydantic import Field

from salesanalytics.engagement.pipeline.runner import RunOptions, options_from_project, run_pipeline
from salesanalytics.engagement.spec import PerEntitySpec, PhaseParams, PhaseSpec

GRAPH = {
    "intake": (),
    "potential": ("intake",),
    "territory": ("intake", "potential"),
    "portfolio": ("intake", "potential", "territory"),
    "churn": ("intake",),
    "channels": ("intake", "potential"),
    "funnel": ("intake",),
    "controlling": ("intake", "portfolio", "churn", "funnel", "channels"),
    "compensation": ("intake", "territory", "portfolio", "churn"),
    "roles": ("intake", "territory", "channels", "compensation"),
    "summary": ("intake", "potential", "territory", "portfolio", "churn", "channels", "funnel",
                "controlling", "compensation", "roles"),
}  # fmt: skip
N_ROWS = 20_000
N_REPS = 50
KS = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


class BenchParams(PhaseParams):
    """Parameters of a synthetic phase."""

    factor: float = Field(1.0, ge=0, description="Multiplier applied to the upstream value.")


class RepParams(PhaseParams):
    """Parameters of the phase with per-rep reports."""

    factor: float = Field(1.0, ge=0, description="Multiplier applied to the upstream value.")


def _phase_notebook(name: str, reads: tuple[str, ...]) -> nbformat.NotebookNode:
    params = new_code_cell(f'run_dir = "."\noutput_dir = ""\nfactor = 1.0\nphase = "{name}"')
    params.metadata["tags"] = ["parameters"]
    upstream = ", ".join(repr(r) for r in reads)
    return new_notebook(
        metadata=KS,
        cells=[
            new_markdown_cell(f"# {name.title()}\nSynthetic phase for the pipeline benchmark."),
            params,
            new_code_cell(
                "import numpy as np\nimport pandas as pd\nimport seaborn as sns\n"
                "import statsmodels.api as sm\nimport matplotlib.pyplot as plt\n"
                "from salesanalytics import style\nfrom salesanalytics.engagement.workspace import Workspace\n"
                "ws = Workspace(run_dir, phase, output_dir or None)\nstyle.set_theme()"
            ),
            new_code_cell(
                f"ups = [ws.read(u, 'table') for u in [{upstream}]]\n"
                f"rng = np.random.default_rng(0)\n"
                f"base = sum(u['value'].to_numpy() for u in ups) if ups else rng.normal(size={N_ROWS})\n"
                f"df = pd.DataFrame({{'account_id': [f'A{{i}}' for i in range({N_ROWS})],"
                f" 'rep_id': [f'R{{i % {N_REPS}:02d}}' for i in range({N_ROWS})],"
                f" 'value': base * factor / max(1, len(ups))}})\n"
                "ws.write('table', df)\n"
                "reps = df.groupby('rep_id', as_index=False)['value'].sum()\n"
                "reps['label'] = 'Rep ' + reps['rep_id']\nws.write('reps', reps)\n"
                "ws.headline(f'{len(df)} accounts, mean value {df.value.mean():.3f}')"
            ),
            new_markdown_cell("## Findings\nThe chart shows the value distribution."),
            new_code_cell("fig, ax = plt.subplots()\nsns.histplot(df['value'], ax=ax)\nplt.show()"),
            new_code_cell("style.table(reps.head(10), formats={'value': 'num1'})"),
        ],
    )


def _rep_notebook() -> nbformat.NotebookNode:
    params = new_code_cell('run_dir = "."\nrep_id = "R00"')
    params.metadata["tags"] = ["parameters"]
    return new_notebook(
        metadata=KS,
        cells=[
            new_markdown_cell("# Rep cockpit"),
            params,
            new_code_cell(
                "import pandas as pd\nimport matplotlib.pyplot as plt\nfrom salesanalytics import style\n"
                "from salesanalytics.engagement.workspace import Workspace\n"
                "ws = Workspace(run_dir, 'controlling')\n"
                "t = ws.read('controlling', 'table')\nmine = t[t.rep_id == rep_id]"
            ),
            new_code_cell(
                "fig, ax = plt.subplots(figsize=(6, 3))\nax.plot(mine['value'].to_numpy()[:200])\n"
                "plt.show()\nstyle.table(mine.head(15), formats={'value': 'num1'})"
            ),
        ],
    )


def _phases(nb_dir: Path) -> list[PhaseSpec]:
    phases = []
    for i, (name, reads) in enumerate(GRAPH.items()):
        nb = f"{i:02d}_{name}.ipynb"
        nbformat.write(_phase_notebook(name, reads), nb_dir / nb)
        per = ()
        if name == "controlling":
            per = (
                PerEntitySpec("71_rep.ipynb", "rep_id", ("controlling", "reps"), "rep_id", "label"),
            )
        phases.append(PhaseSpec(name, nb, name.title(), reads, ("table", "reps"), BenchParams, per))
    nbformat.write(_rep_notebook(), nb_dir / "71_rep.ipynb")
    return phases


def _mem() -> str:
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return f"peak RSS: runner {self_mb:.0f} MB, largest kernel {child_mb:.0f} MB"


def _report(label: str, res) -> None:
    counts: dict[str, int] = {}
    for r in res.phases.values():
        counts[r.status] = counts.get(r.status, 0) + 1
    print(
        f"{label:<44} {res.seconds:6.1f} s  {counts}  kernels started: {res.kernels_started}, recycled: {res.kernels_recycled}"
    )


def _entities(res) -> None:
    c = res.phases["controlling"]
    print(
        f"{'  controlling phase / its 50 rep reports':<44} {c.seconds - c.entity_seconds:6.1f} s"
        f" / {c.entity_seconds:.1f} s ({c.entity_kernels} kernel(s))"
    )


def synthetic(workers: int) -> None:
    from salesanalytics.engagement.pipeline import runner

    # other work on the package source must not invalidate the runs being compared
    runner.package_fingerprint = lambda: "bench"
    tmp = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    try:
        nb_dir = tmp / "notebooks"
        nb_dir.mkdir()
        phases = _phases(nb_dir)
        import papermill as pm

        t = time.perf_counter()
        out = tmp / "pm_out"
        (out / "data").mkdir(parents=True)
        pm.execute_notebook(
            str(nb_dir / "00_intake.ipynb"),
            str(out / "intake.ipynb"),
            parameters={"run_dir": str(out), "phase": "intake"},
            progress_bar=False,
            cwd=str(out),
        )
        print(f"{'plain papermill, one phase notebook':<44} {time.perf_counter() - t:6.1f} s")

        def opts(**params: dict[str, float]) -> RunOptions:
            return RunOptions(
                phases=phases,
                notebooks_dir=nb_dir,
                reports_dir=tmp / "reports",
                client="Bench AG",
                slug="bench",
                params={p.name: {"factor": params.get(p.name, 1.0)} for p in phases},
                workers=workers,
                quiet=True,
            )

        full = run_pipeline(opts())
        _report("full run, 11 phases + 50 rep reports (cold)", full)
        ran = [r for r in full.phases.values() if r.status == "ran" and r.name != "controlling"]
        per_phase = sorted(r.seconds for r in ran)
        print(
            f"{'  per phase (kernel+imports+run, wall)':<44} median {per_phase[len(per_phase) // 2]:.1f} s, "
            f"min {per_phase[0]:.1f} s, max {per_phase[-1]:.1f} s"
        )
        _entities(full)
        same = run_pipeline(opts())
        _report("identical rerun (all reused)", same)
        late = run_pipeline(opts(roles=2.0))
        _report("rerun after roles.factor changed", late)
        print(
            "  "
            + "; ".join(f"{n}: {r.reason}" for n, r in late.phases.items() if r.status == "ran")
        )
        ctl = run_pipeline(opts(controlling=2.0))
        _report("rerun after controlling.factor changed", ctl)
        _entities(ctl)
        size = sum(f.stat().st_size for f in (full.run_dir / "client").rglob("*.html"))
        print(f"{'client HTML written (first run)':<44} {size / 1e6:6.1f} MB")
        print(_mem())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def real(project: str, change: list[str], workers: int | None) -> None:
    from salesanalytics.engagement.phases import all_phases
    from salesanalytics.engagement.pipeline import runner
    from salesanalytics.engagement.pipeline.config import load_project

    # other engineers editing the package source must not invalidate the runs being compared
    runner.package_fingerprint = lambda: "bench"
    phases = all_phases()
    cfg = load_project(project, phases)
    res = run_pipeline(options_from_project(cfg, phases, quiet=True, workers=workers))
    _report("real project: full run", res)
    for n, r in res.phases.items():
        extra = (
            f" (of which per-entity reports {r.entity_seconds:.1f} s on {r.entity_kernels}"
            " kernel(s))"
            if r.entity_seconds
            else ""
        )
        print(f"  {n:<14} {r.status:<8} {r.seconds:6.1f} s{extra}  {r.error}")
    res = run_pipeline(options_from_project(cfg, phases, quiet=True, workers=workers))
    _report("real project: identical rerun", res)
    if change:
        cfg2 = load_project(project, phases, overrides=change)
        res = run_pipeline(options_from_project(cfg2, phases, quiet=True, workers=workers))
        _report(f"real project: rerun after {' '.join(change)}", res)
        for n, r in res.phases.items():
            if r.status == "ran":
                ent = (
                    f", per-entity reports {r.entity_seconds:.1f} s on {r.entity_kernels} kernel(s)"
                    if r.entity_seconds
                    else ""
                )
                print(f"  {n:<14} {r.seconds:6.1f} s  ({r.reason}){ent}")
    print(_mem())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", help="also benchmark this project.yaml")
    ap.add_argument("--change", action="append", default=[], help="phase.param=value for the rerun")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--skip-synthetic", action="store_true")
    a = ap.parse_args()
    import os

    print(f"cores available: {len(os.sched_getaffinity(0))}, load average: {os.getloadavg()}")
    if not a.skip_synthetic:
        synthetic(a.workers)
    if a.project:
        real(a.project, a.change, a.workers or None)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
