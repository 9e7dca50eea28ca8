"""Benchmark: import + validation of a demo export at 20,000 and 1,000,000 accounts.

Usage::

    .venv/bin/python bench/bench_import.py                 # 20,000 and 1,000,000 accounts
    .venv/bin/python bench/bench_import.py --accounts 20000
    .venv/bin/python bench/bench_import.py --cache /tmp/sa-bench

Each export is generated once with the demo generator into the cache folder (default
``$TMPDIR/salesanalytics-bench``) and reused. Each import runs in a fresh child process, so its
peak memory (``ru_maxrss``) is the import's own. Printed per size: rows per table, seconds for
``intake.load_export`` (read + map + validate + coerce) and peak RSS. Goal: 1M accounts with
~10 M activities in < 2 min and < 8 GB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _ensure_export(cache: Path, n: int, seed: int) -> Path:
    out = cache / f"demo_{n}_{seed}"
    if not (out / "truth.json").exists():
        from salesanalytics.ingest import demo

        t0 = time.perf_counter()
        demo.generate(out, n_accounts=n, seed=seed)
        print(f"  generated {n:,} accounts in {time.perf_counter() - t0:.1f} s -> {out}")
    return out


def _one(source: str) -> None:
    """Child process: import once and print a JSON line with the figures."""
    from salesanalytics.ingest import intake

    t0, c0 = time.perf_counter(), time.process_time()
    res = intake.load_export(source)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": round(secs, 1),
                "cpu_seconds": round(cpu, 1),
                "peak_rss_gb": round(rss_kb / 1024**2, 2),
                "rows": {k: len(v) for k, v in res.tables.items()},
                "errors": res.report.n_errors,
                "warnings": res.report.n_warnings,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, nargs="*", default=[20_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "salesanalytics-bench"
    )
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        _one(args.one)
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"bench_import: cpu={os.cpu_count()}, python={sys.version.split()[0]}")
    for n in args.accounts:
        print(f"{n:,} accounts")
        src = _ensure_export(args.cache, n, args.seed)
        size = sum(p.stat().st_size for p in src.iterdir()) / 1024**2
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(out.stderr[-3000:])
            continue
        fig = json.loads(out.stdout.strip().splitlines()[-1])
        rows = fig["rows"]
        print(f"  export size: {size:,.0f} MB")
        print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
        print(
            f"  load_export: {fig['seconds']:.1f} s wall ({fig['cpu_seconds']:.1f} s CPU, "
            f"load average {os.getloadavg()[0]:.1f}), peak RSS {fig['peak_rss_gb']:.2f} GB, "
            f"{fig['errors']} errors, {fig['warnings']} warnings"
        )


if __name__ == "__main__":
    main()
