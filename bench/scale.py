"""Scale benchmark: the full engagement and the aggregation layer on 20k, 200k and 1M accounts.

For each size it generates the demo export (``salesanalytics demo-data``, about ten activities per
account; reused when the folder already holds it), creates a project (``salesanalytics init``) and
runs the whole engagement (``salesanalytics run``) while sampling the resident memory of the run
and all its kernels together (every 0.5 s, from /proc). It prints

1. per phase: wall time at each size, the ratio to the 20k run, and the growth from 200k to 1M
   against linear growth (1.0 = linear);
2. per run: wall time and peak memory (all processes of the run together, and the largest one);
3. the aggregation layer alone (every aggregation of ``salesanalytics.aggregate.catalogue``) on
   DuckDB and on a local Spark (``local[2]``; skipped without pyspark or Java), seconds per size.

Usage::

    .venv/bin/python bench/scale.py [--sizes 20000 200000 1000000] [--out /tmp/scale]
        [--no-run] [--no-spark] [--no-aggregates]

Running 1M takes minutes and several GB of memory and disk. No timed tests: the goal of issue 21 (1M
in 120 s and 4 GB on a 2-core machine, each phase at most 1.2x linear from 200k to 1M, the
territory phases at most 1.5x their 20k time) is checked by reading this table (docs/scale.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent
SALESANALYTICS = str(BIN / "salesanalytics")
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


def _tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemorySampler(threading.Thread):
    """Peak resident memory of a process and all its descendants (sum) and of the largest one."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_total = self.peak_single = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            rss = [_rss_mb(p) for p in _tree(self.pid)]
            if rss:
                self.peak_total = max(self.peak_total, sum(rss))
                self.peak_single = max(self.peak_single, max(rss))
            self.done.wait(self.every)


def generate(n: int, base: Path) -> Path:
    folder = base / f"n{n}"
    export = folder / "export"
    if not (export / "truth.json").is_file():
        shutil.rmtree(export, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run(
            [
                SALESANALYTICS,
                "demo-data",
                "--out",
                str(export),
                "--accounts",
                str(n),
                "--seed",
                "42",
            ],
            check=True,
            capture_output=True,
        )
        print(f"  generated {n:,} accounts in {time.perf_counter() - t:.0f} s", flush=True)
    if not (folder / "project.yaml").is_file():
        subprocess.run(
            [SALESANALYTICS, "init", str(folder), "--source", "export", "--mapping", "salesforce",
             "--client", f"Scale {n:,}", "--slug", f"scale{n}", "--reports", str(folder / "reports"),
             "--notebooks", str(NOTEBOOKS)],
            check=True,
            capture_output=True,
        )  # fmt: skip
    return folder


def run_engagement(folder: Path) -> dict:
    """Run the whole engagement from scratch; phase seconds, wall time and peak memory."""
    shutil.rmtree(folder / "reports", ignore_errors=True)
    t = time.perf_counter()
    proc = subprocess.Popen(
        [SALESANALYTICS, "run", "--config", str(folder / "project.yaml"), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sampler = MemorySampler(proc.pid)
    sampler.start()
    out, _ = proc.communicate()
    sampler.done.set()
    sampler.join()
    wall = time.perf_counter() - t
    runs = sorted((folder / "reports").glob("*/2*/manifest.json"))
    if proc.returncode or not runs:
        print(out[-3000:])
        raise SystemExit(f"the run in {folder} failed (exit {proc.returncode})")
    return {"wall": wall, "peak_total_mb": sampler.peak_total,
            "peak_single_mb": sampler.peak_single, **read_run(runs[-1].parent)}  # fmt: skip


def read_run(run_dir: Path) -> dict:
    """Seconds per phase that ran (from the run's manifest) and the run folder."""
    man = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    phases = {n: p["seconds"] for n, p in man["phases"].items() if p.get("status") == "ran"}
    return {"phases": phases, "run_dir": str(run_dir)}


def time_aggregates(folder: Path, engine: str, repeat: int = 1) -> dict[str, float]:
    """Seconds per aggregation (engine already started), on the intake tables of the last run."""
    code = r"""
import json, sys, time
from pathlib import Path
from salesanalytics.aggregate.catalogue import AGGREGATES, Aggregator
from salesanalytics.aggregate.engine import EngineSettings
intake, engine = Path(sys.argv[1]), sys.argv[2]
as_of = json.loads((intake / "as_of.json").read_text())["as_of"]
settings = EngineSettings(engine=engine, master="local[2]")
t = time.perf_counter()
agg = Aggregator(intake, settings=settings, as_of=as_of)
agg.tables
out = {"open": time.perf_counter() - t}
for name in AGGREGATES:
    t = time.perf_counter()
    agg.frame(name)
    out[name] = time.perf_counter() - t
print(json.dumps(out))
"""
    runs = sorted((folder / "reports").glob("*/2*/data/intake"))
    if not runs:
        raise SystemExit(f"no intake tables under {folder}/reports: run without --no-run first")
    res = subprocess.run(
        [sys.executable, "-c", code, str(runs[-1]), engine],
        capture_output=True,
        text=True,
    )
    if res.returncode:
        print(res.stderr[-2000:])
        return {}
    return json.loads(res.stdout.strip().splitlines()[-1])


def spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def _fmt(v: float | None, spec: str = ">8.1f") -> str:
    return format(v, spec) if v is not None else format("-", spec[:-2].replace(".1", ""))


def print_phase_table(sizes: list[int], results: dict[int, dict]) -> None:
    names = list(dict.fromkeys(n for r in results.values() for n in r["phases"]))
    base = results.get(sizes[0])
    head = "".join(f"{n:>10,}" for n in sizes)
    ratios = "".join(f"{'x' + format(n // sizes[0], ','):>8}" for n in sizes[1:])
    print(f"\n{'phase (seconds)':<22}{head}{ratios}  200k->1M vs linear")
    for name in [*names, "(run wall time)"]:
        vals = [
            (results[n]["wall"] if name == "(run wall time)" else results[n]["phases"].get(name))
            for n in sizes
        ]
        row = "".join(f"{v:>10.1f}" if v is not None else f"{'-':>10}" for v in vals)
        b = base["wall"] if name == "(run wall time)" else base["phases"].get(name)
        rat = "".join(f"{v / b:>8.1f}" if (v is not None and b) else f"{'-':>8}" for v in vals[1:])
        lin = ""
        if 200_000 in sizes and 1_000_000 in sizes:
            a, z = vals[sizes.index(200_000)], vals[sizes.index(1_000_000)]
            lin = f"{(z / a) / 5:>8.2f}" if a and z else f"{'-':>8}"
        print(f"{name:<22}{row}{rat}  {lin}")
    print(
        f"{'peak memory, run (MB)':<22}"
        + "".join(f"{results[n]['peak_total_mb']:>10,.0f}" for n in sizes)
    )
    print(f"{'largest process (MB)':<22}" + "".join(f"{results[n]['peak_single_mb']:>10,.0f}" for n in sizes))  # fmt: skip


def print_aggregate_table(sizes: list[int], timings: dict[tuple[str, int], dict]) -> None:
    engines = sorted({e for e, _ in timings})
    names = list(dict.fromkeys(k for t in timings.values() for k in t))
    cols = [(e, n) for e in engines for n in sizes if (e, n) in timings]
    head = "".join(f"{e[:6] + ' ' + format(n // 1000, ',') + 'k':>14}" for e, n in cols)
    print(f"\n{'aggregation (seconds)':<22}{head}")
    for name in [*names, "(total)"]:
        vals = [
            sum(timings[c].values()) if name == "(total)" else timings[c].get(name) for c in cols
        ]
        print(f"{name:<22}" + "".join(f"{v:>14.2f}" if v is not None else f"{'-':>14}" for v in vals))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000, 1_000_000])
    ap.add_argument("--out", default="/tmp/salesanalytics-scale", help="exports and runs go here")
    ap.add_argument("--no-run", action="store_true", help="only the aggregation layer")
    ap.add_argument("--no-spark", action="store_true", help="the aggregation layer on DuckDB only")
    ap.add_argument("--no-aggregates", action="store_true", help="no aggregation-layer table")
    args = ap.parse_args()
    sizes = sorted(args.sizes)
    base = Path(args.out)
    base.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    results: dict[int, dict] = {}
    folders = {n: generate(n, base) for n in sizes}
    if not args.no_run:
        for n in sizes:
            print(f"  running the engagement on {n:,} accounts ...", flush=True)
            results[n] = run_engagement(folders[n])
            print(f"  {n:,}: {results[n]['wall']:.0f} s, peak {results[n]['peak_total_mb']:,.0f} MB", flush=True)  # fmt: skip
        print_phase_table(sizes, results)
    if not args.no_aggregates:
        engines = ["duckdb"] + ([] if args.no_spark or not spark_available() else ["spark"])
        timings = {(e, n): time_aggregates(folders[n], e) for e in engines for n in sizes}
        print_aggregate_table(sizes, {k: v for k, v in timings.items() if v})
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
