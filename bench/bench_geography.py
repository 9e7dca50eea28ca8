"""Benchmark: territory design on the German geography (8,308 PLZ) -- optimiser, k-means, METIS.

Run from the project root::

    .venv/bin/python bench/bench_geography.py               # 8,308 x 80 and 8,308 x 150
    .venv/bin/python bench/bench_geography.py --k 80        # one instance
    .venv/bin/python bench/bench_geography.py --no-install  # without the METIS venv

Instance: every German PLZ (GeoNames, :func:`salesanalytics.reference.geography.geography`) is a unit;
accounts per PLZ ~ 1 + Poisson(estimated population / 1,000), potential = accounts x
LogNormal(0, 0.5) x 900, workload = accounts x LogNormal(0, 0.3) x 6 (seed 1). Neighbours: the
geography's pruned Delaunay adjacency (:func:`salesanalytics.reference.geography.point_adjacency`), the
same graph for every method. METIS (pymetis, two balance constraints) runs in the competitor
venv of ``bench/bench_territory.py`` (created on first use; ``--no-install`` skips it).

Printed per instance and method: max deviation from target of potential and workload, share of
territories within ±3% / ±5% on both, contiguous territories -- counted by a plain breadth-first
search on the geography's adjacency (``tests/territory_checks.pieces``), not by the optimiser's
code --, compactness (workload-weighted mean distance to the territory centroid, km), seconds
(wall clock) and CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.cluster.vq import kmeans2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_territory import COMPETITOR, ensure_venv  # noqa: E402
from territory_checks import pieces  # noqa: E402

from salesanalytics.analyses import territory as tm  # noqa: E402
from salesanalytics.reference.geography import geography  # noqa: E402

METRICS = ["potential", "workload"]


def german_units(seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All German PLZ as units with population-driven metrics, and their adjacency."""
    g = geography("DE")
    pc = g.postal_codes()
    rng = np.random.default_rng(seed)
    pop = pc["population"].fillna(1000.0).clip(lower=100.0).to_numpy()
    accounts = rng.poisson(pop / 1000.0) + 1
    units = pd.DataFrame(
        {
            "unit_id": pc["key"].astype(str).to_numpy(),
            "latitude": pc["latitude"].to_numpy(),
            "longitude": pc["longitude"].to_numpy(),
            "potential": accounts * rng.lognormal(0, 0.5, len(pc)) * 900.0,
            "workload": accounts * rng.lognormal(0, 0.3, len(pc)) * 6.0,
            "accounts": accounts.astype(float),
        }
    )
    return units, g.adjacency()


def contiguous(units: pd.DataFrame, labels: np.ndarray, adj: pd.DataFrame) -> int:
    """Territories in one piece on the geography's adjacency (plain BFS, independent code)."""
    assign = dict(zip(units["unit_id"], map(str, labels), strict=True))
    edges = list(zip(adj["postal_code_a"], adj["postal_code_b"], strict=True))
    return sum(1 for n in pieces(assign, edges).values() if n == 1)


def evaluate(name, units, adj, labels, seconds, cpu=np.nan, note=""):
    q = tm.plan_quality(
        units,
        np.asarray(labels),
        METRICS,
        adj,
        coord_cols=("latitude", "longitude"),
        weight_col="workload",
    )
    k = int(q["n_territories"])
    return {
        "method": name,
        "max_dev_potential": round(q["max_dev_potential"], 4),
        "max_dev_workload": round(q["max_dev_workload"], 4),
        "within_3pct": round(q["within_3pct"], 3),
        "within_5pct": round(q["within_5pct"], 3),
        "contiguous": f"{contiguous(units, labels, adj)}/{k}",
        "compactness_km": round(q["compactness_km"], 1),
        "seconds": round(seconds, 1),
        "cpu_s": round(cpu, 1) if np.isfinite(cpu) else cpu,
        "note": note,
    }


def run(k: int, py: Path | None, timeout: float) -> pd.DataFrame:
    units, adj = german_units()
    rows = []
    for tol in (0.05, 0.03):
        t0, c0 = time.perf_counter(), time.process_time()
        res = tm.design_territories(
            units,
            k,
            metrics=METRICS,
            tolerance=tol,
            edges=adj,
            columns=tm.UnitColumns(coord_cols=("latitude", "longitude")),
            settings=tm.SolverSettings(seed=0),
        )
        rows.append(
            evaluate(
                f"optimiser ±{tol:.0%}",
                units,
                adj,
                res.assignment.set_index("unit_id")
                .loc[units["unit_id"], "territory_id"]
                .to_numpy(),
                time.perf_counter() - t0,
                time.process_time() - c0,
            )
        )
    xy = tm.planar_km(units["latitude"].to_numpy(), units["longitude"].to_numpy())
    t0 = time.perf_counter()
    _, lab = kmeans2(xy, k, seed=np.random.default_rng(0), minit="++")
    rows.append(evaluate("k-means (coordinates)", units, adj, lab, time.perf_counter() - t0))
    if py is None:
        rows.append({"method": "METIS", "note": "bench venv not available (--no-install)"})
        return pd.DataFrame(rows)
    with tempfile.TemporaryDirectory() as tmp:
        units.assign(x=xy[:, 0], y=xy[:, 1]).to_parquet(f"{tmp}/units.parquet")
        adj.rename(columns={"postal_code_a": "a", "postal_code_b": "b"}).to_parquet(
            f"{tmp}/edges.parquet"
        )
        Path(f"{tmp}/c.py").write_text(COMPETITOR)
        try:
            subprocess.run(
                [str(py), f"{tmp}/c.py", tmp, "metis", str(k), tmp],
                check=True,
                timeout=timeout,
                capture_output=True,
            )
            lab = pd.read_parquet(f"{tmp}/labels.parquet")["label"].to_numpy()
            meta = json.loads(Path(f"{tmp}/meta.json").read_text())
            rows.append(
                evaluate("METIS (pymetis)", units, adj, lab, meta["seconds"], note=meta["note"])
            )
        except (subprocess.SubprocessError, OSError) as exc:
            rows.append({"method": "METIS", "note": f"failed: {type(exc).__name__}"})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, action="append", help="territories (default 80 and 150)")
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--competitor-timeout", type=float, default=600.0)
    args = ap.parse_args()
    py = ensure_venv(not args.no_install)
    pd.set_option("display.width", 220)
    pd.set_option("display.max_columns", 20)
    g = geography("DE")
    t0 = time.perf_counter()
    g.adjacency()
    print(
        f"German geography: {len(g.places()):,} PLZ, adjacency {len(g.adjacency()):,} pairs "
        f"({g.adjacency_info}), built in {time.perf_counter() - t0:.1f} s"
    )
    for k in args.k or [80, 150]:
        print(f"\n8,308 PLZ x {k} territories")
        print(run(k, py, args.competitor_timeout).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
