"""The funnel phase's analysis on the raw stage history against the aggregation layer's.

Runs ``analyse_funnels`` on the canonical tables of a run's intake folder twice, each in its own
subprocess (so peak memory figures do not mix): ``raw`` reads ``opportunity_stages`` into pandas
(the funnel before the aggregation layer), ``engine`` passes ``EngineStageHistory`` (DuckDB follows
the stage paths; pandas gets per-deal rows and counted stays). Prints wall time (reading the tables
included; for ``engine`` also starting DuckDB and Ibis) and peak resident memory
(``ru_maxrss``). With ``--check`` a third subprocess compares every output table exactly.

Usage::

    .venv/bin/python bench/funnel_engine.py reports/demo/latest/data/intake
    .venv/bin/python bench/funnel_engine.py <project>/reports/<slug>/<run>/data/intake --check
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd


def _analyse(folder: Path, mode: str):
    from salesanalytics.aggregate.catalogue import Aggregator
    from salesanalytics.analyses.funnel import model as funnel

    as_of = json.loads((folder / "as_of.json").read_text())["as_of"]
    opp = pd.read_parquet(folder / "opportunities.parquet")
    reps = pd.read_parquet(folder / "reps.parquet")
    if mode == "raw":
        history = pd.read_parquet(folder / "opportunity_stages.parquet")
    else:
        history = funnel.EngineStageHistory(Aggregator(folder, as_of=as_of))
    return funnel.analyse_funnels(opp, history, reps, as_of)


def _child(folder: Path, mode: str) -> None:
    if mode == "check":
        raw, eng = _analyse(folder, "raw"), _analyse(folder, "engine")
        for f in dataclasses.fields(raw):
            a, b = getattr(raw, f.name), getattr(eng, f.name)
            if isinstance(a, pd.DataFrame):
                pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f.name)
            elif a != b:
                raise SystemExit(f"{f.name} differs: {a} != {b}")
        print("every output table equal")
        return
    t = time.perf_counter()
    fa = _analyse(folder, mode)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "deals": len(fa.progress)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a run's data/intake folder")
    ap.add_argument("--check", action="store_true", help="also compare the outputs exactly")
    ap.add_argument("--child", choices=["raw", "engine", "check"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.folder, args.child)
        return
    rows = pd.read_parquet(args.folder / "opportunity_stages.parquet", columns=["stage"]).shape[0]
    print(f"{args.folder}: {rows:,} stage-history rows")
    print(f"{'funnel analysis':<34}{'seconds':>9}{'peak MB':>9}")
    for mode in ("raw", "engine"):
        out = subprocess.run(
            [sys.executable, __file__, str(args.folder), "--child", mode],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        label = "raw history in pandas" if mode == "raw" else "aggregation layer (DuckDB)"
        print(f"{label:<34}{r['seconds']:>9.1f}{r['peak_mb']:>9.0f}", flush=True)
    if args.check:
        subprocess.run([sys.executable, __file__, str(args.folder), "--child", "check"], check=True)


if __name__ == "__main__":
    main()
