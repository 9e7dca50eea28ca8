"""Benchmark: the intake phase's work (read, map, validate, write the canonical tables) on an export.

Usage::

    .venv/bin/python bench/bench_intake_stream.py EXPORT_FOLDER [EXPORT_FOLDER ...]
    .venv/bin/python bench/bench_intake_stream.py --batch-rows 250000 /tmp/x/export

Each export is loaded in a fresh child process with ``intake.load_export`` and written with
``write_intake`` into a temporary folder, as the intake phase does (the streamed tables go straight
into that folder batch by batch). Printed per export: rows of the two large tables, seconds (wall
and CPU) and the child's peak RSS (``ru_maxrss``). Run it with the code before and after a change
back to back (``PYTHONPATH`` pointing at the other checkout) to compare; the figures depend on the
machine's load.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _one(source: str, batch_rows: int | None) -> None:
    """Child process: load and write once; print one JSON line with the figures."""
    from salesanalytics.engagement.intake import write_intake
    from salesanalytics.ingest import intake

    with tempfile.TemporaryDirectory() as out:
        t0, c0 = time.perf_counter(), time.process_time()
        kwargs = {}
        params = inspect.signature(intake.load_export).parameters
        if "store" in params:  # the streaming intake; earlier versions hold every table
            kwargs["store"] = Path(out)
            if batch_rows:
                kwargs["batch_rows"] = batch_rows
        res = intake.load_export(source, **kwargs)
        write_intake(res, out)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows = {
            t: _rows(Path(out) / f"{t}.parquet")
            for t in ("activities", "opportunity_stages", "opportunities")
        }
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "streaming": bool(kwargs),
                "seconds": round(secs, 1),
                "cpu_seconds": round(cpu, 1),
                "peak_rss_mb": round(rss_kb / 1024),
                "rows": rows,
                "errors": res.report.n_errors,
                "warnings": res.report.n_warnings,
            }
        )
    )


def _rows(path: Path) -> int:
    """Rows of a Parquet file without reading its values."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("exports", nargs="*", type=Path)
    ap.add_argument("--batch-rows", type=int, default=0, help="rows per batch (0: the default)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        _one(args.one, args.batch_rows or None)
        return
    print(f"bench_intake_stream: cpu={os.cpu_count()}, load={os.getloadavg()[0]:.1f}")
    for src in args.exports:
        size = sum(p.stat().st_size for p in src.iterdir()) / 1024**2
        cmd = [sys.executable, __file__, "--one", str(src), "--batch-rows", str(args.batch_rows)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode:
            print(out.stderr[-3000:])
            continue
        fig = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{src}: {size:,.0f} MB export, activities {fig['rows']['activities']:,}, "
            f"stage history {fig['rows']['opportunity_stages']:,}, "
            f"streaming={fig['streaming']}: {fig['seconds']:.1f} s wall "
            f"({fig['cpu_seconds']:.1f} s CPU), peak {fig['peak_rss_mb']:,} MB, "
            f"{fig['errors']} errors, {fig['warnings']} warnings"
        )


if __name__ == "__main__":
    main()
