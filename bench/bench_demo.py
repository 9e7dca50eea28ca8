"""Benchmark the demo-client generator: seconds, peak memory and rows per size.

Usage: ``python bench/bench_demo.py [--sizes 20000 1000000] [--out /tmp/bench_demo]``.
Each size runs in its own process so that the peak resident memory (``ru_maxrss``) is its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
from salesanalytics.ingest import demo
n, out = int(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
summary = demo.generate(out, n_accounts=n, seed=42)
secs = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"n": n, "seconds": round(secs, 1), "peak_mb": round(peak_mb), "rows": summary["rows"]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000])
    ap.add_argument("--out", default=None, help="scratch folder (default: a temporary folder)")
    args = ap.parse_args()
    base = Path(args.out or tempfile.mkdtemp(prefix="bench_demo_"))
    print(f"{'accounts':>10} {'seconds':>8} {'peak MB':>8} {'rows total':>11} {'MB on disk':>10}")
    for n in args.sizes:
        out = base / f"n{n}"
        res = subprocess.run(
            [sys.executable, "-c", _CHILD, str(n), str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(res.stdout.strip().splitlines()[-1])
        disk = sum(p.stat().st_size for p in out.iterdir()) / 2**20
        print(
            f"{n:>10,} {r['seconds']:>8} {r['peak_mb']:>8,} {sum(r['rows'].values()):>11,} {disk:>10,.0f}"
        )
        print("           " + ", ".join(f"{k} {v:,}" for k, v in r["rows"].items()))
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
