"""Benchmark: the territory optimiser against k-means, METIS (pymetis) and PySAL spopt.

Run from the project root::

    .venv/bin/python bench/bench_territory.py            # all instances
    .venv/bin/python bench/bench_territory.py --quick    # the 1,000-unit instance only

The competitors are *not* project dependencies: they run in their own virtual environment,
``bench/.venv-territory`` (git-ignored), which the script creates on first use with
``python -m venv`` + ``pip install pymetis spopt`` (pass ``--no-install`` to skip; missing
competitors are reported as such). Each competitor gets the same units, metrics and neighbour
graph; every plan is then measured by the same code (:func:`salesanalytics.territory.plan_quality`,
:func:`salesanalytics.territory.count_pieces`).

Printed per instance and method: max deviation from target of potential and workload, share of
territories within ±3% / ±5% on both, contiguous territories, compactness (weighted mean distance
to the territory centroid, km), continuity (share of the continuity value that changes territory,
after matching labels to today's plan), seconds (wall clock) and, for this optimiser, CPU
seconds of this process (the figure that matters on a shared machine); and peak memory of this
process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.cluster.vq import kmeans2
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from salesanalytics import territory as tm  # noqa: E402
from salesanalytics.territory.synthetic import (  # noqa: E402
    random_planar_units,
    swiss_postal_code_units,
)

VENV = ROOT / "bench" / ".venv-territory"
METRICS = ["potential", "workload"]

COMPETITOR = r"""
import json, sys, time
import numpy as np, pandas as pd
inst = sys.argv[1]; method = sys.argv[2]; k = int(sys.argv[3]); out = sys.argv[4]
units = pd.read_parquet(inst + "/units.parquet")
edges = pd.read_parquet(inst + "/edges.parquet")
n = len(units)
idx = {u: i for i, u in enumerate(units["unit_id"])}
nb = [[] for _ in range(n)]
for a, b in zip(edges["a"], edges["b"]):
    i, j = idx[a], idx[b]
    nb[i].append(j); nb[j].append(i)
t0 = time.perf_counter()
if method == "metis":
    import pymetis
    # two balance constraints (potential, workload) as integer vertex weights, interleaved
    w = units[["potential", "workload"]].to_numpy()
    w = np.round(w / w.sum(axis=0) * 1e6).astype(int) + 1
    try:
        _, parts = pymetis.part_graph(k, adjacency=nb, vweights=w.ravel().tolist(), ncon=2)
        note = "2 constraints"
    except TypeError:
        _, parts = pymetis.part_graph(k, adjacency=nb, vweights=w[:, 0].tolist())
        note = "1 constraint (potential)"
    labels = np.asarray(parts)
elif method == "spopt":
    import libpysal
    from spopt.region import RegionKMeansHeuristic
    wts = libpysal.weights.W({i: nb[i] for i in range(n)}, silence_warnings=True)
    xy = units[["x", "y"]].to_numpy()
    model = RegionKMeansHeuristic(xy, k, wts)
    model.solve()
    labels = np.asarray(model.labels_)
    note = "RegionKMeansHeuristic on coordinates"
else:
    raise SystemExit("unknown method " + method)
secs = time.perf_counter() - t0
pd.DataFrame({"label": labels.astype(str)}).to_parquet(out + "/labels.parquet")
json.dump({"seconds": secs, "note": note}, open(out + "/meta.json", "w"))
"""


def ensure_venv(install: bool) -> Path | None:
    py = VENV / "bin" / "python"
    if py.exists():
        return py
    if not install:
        return None
    print(f"creating {VENV} (pymetis, spopt) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "pymetis", "spopt", "pyarrow"], check=False
    )
    return py if py.exists() else None


def instances(quick: bool) -> list[tuple[str, pd.DataFrame, pd.DataFrame, int]]:
    out = []
    u1, e1 = swiss_postal_code_units(1000, seed=1)
    out.append(("CH postal codes 1,000 x 20", u1, e1, 20))
    if quick:
        return out
    u3, e3 = swiss_postal_code_units(None, seed=1)
    out.append((f"CH postal codes {len(u3):,} x 50", u3, e3, 50))
    out.append((f"CH postal codes {len(u3):,} x 20", u3, e3, 20))
    r = random_planar_units(2000, seed=7).rename(columns={"x": "longitude", "y": "latitude"})
    out.append(("random planar 2,000 x 20", r, pd.DataFrame(columns=["a", "b"]), 20))
    return out


def current_plan(units: pd.DataFrame, k: int) -> np.ndarray:
    """Today's plan stand-in: units sorted by id (postal-code ranges) cut into k equal runs."""
    order = np.argsort(units["unit_id"].to_numpy(), kind="stable")
    lab = np.empty(len(units), dtype=object)
    lab[order] = [f"C{i * k // len(units):02d}" for i in range(len(units))]
    return lab


def moved_share(labels: np.ndarray, current: np.ndarray, value: np.ndarray) -> float:
    a = pd.Series(labels).astype(str)
    c = pd.Series(current).astype(str)
    tab = pd.crosstab(a, c, values=value, aggfunc="sum").fillna(0.0)
    r, col = linear_sum_assignment(-tab.to_numpy())
    kept = tab.to_numpy()[r, col].sum()
    return float(1 - kept / value.sum())


def evaluate(name, units, edges, labels, current, seconds, planar, note="", cpu=np.nan):
    q = tm.plan_quality(
        units,
        labels,
        METRICS,
        edges,
        coord_cols=("y", "x") if planar else ("latitude", "longitude"),
        planar=planar,
        weight_col="workload",
    )
    return {
        "method": name,
        "max_dev_potential": q["max_dev_potential"],
        "max_dev_workload": q["max_dev_workload"],
        "within_3pct": q["within_3pct"],
        "within_5pct": q["within_5pct"],
        "contiguous": f"{int(q['contiguous'])}/{int(q['n_territories'])}",
        "compactness_km": q["compactness_km"],
        "moved_share": moved_share(np.asarray(labels), current, units["potential"].to_numpy()),
        "seconds": seconds,
        "cpu_s": cpu,
        "note": note,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--competitor-timeout", type=float, default=300.0)
    args = ap.parse_args()
    py = ensure_venv(not args.no_install)
    pd.set_option("display.width", 200)
    for title, units, edges, k in instances(args.quick):
        planar = "planar" in title
        u = units.copy()
        if planar:
            u["x"], u["y"] = u["longitude"], u["latitude"]
            xy = u[["x", "y"]].to_numpy()
        else:
            xy = tm.planar_km(u["latitude"].to_numpy(), u["longitude"].to_numpy())
            u["x"], u["y"] = xy[:, 0], xy[:, 1]
        # the same graph for everybody: given edges + pruned Delaunay for units without any
        g = tm.build_unit_graph(u["unit_id"].to_numpy(), xy, edges if len(edges) else None)
        full = g.edge_frame(u["unit_id"].to_numpy())
        cur = current_plan(u, k)
        u["current"] = cur
        rows = []
        for tol in (0.03, 0.05):
            t0, c0 = time.perf_counter(), time.process_time()
            res = tm.design_territories(
                u,
                k,
                metrics=METRICS,
                tolerance=tol,
                coord_cols=("y", "x") if planar else ("latitude", "longitude"),
                planar=planar,
                edges=full,
                seed=0,
            )
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
            rows.append(
                evaluate(
                    f"optimiser ±{tol:.0%}",
                    u,
                    full,
                    res.assignment["territory_id"].to_numpy(),
                    cur,
                    secs,
                    planar,
                    cpu=cpu,
                )
            )
        t0, c0 = time.perf_counter(), time.process_time()
        res = tm.design_territories(
            u,
            k,
            metrics=METRICS,
            tolerance=0.05,
            coord_cols=("y", "x") if planar else ("latitude", "longitude"),
            planar=planar,
            edges=full,
            current_col="current",
            continuity_col="potential",
            continuity_weight=1.0,
            seed=0,
        )
        rows.append(
            evaluate(
                "optimiser ±5%, continuity 1",
                u,
                full,
                res.assignment["territory_id"].to_numpy(),
                cur,
                time.perf_counter() - t0,
                planar,
                "warm start = today",
                cpu=time.process_time() - c0,
            )
        )
        rows.append(evaluate("today (id ranges)", u, full, cur, cur, 0.0, planar))
        t0 = time.perf_counter()
        _, lab = kmeans2(xy, k, seed=np.random.default_rng(0), minit="++")
        rows.append(
            evaluate(
                "k-means (coordinates)",
                u,
                full,
                lab.astype(str),
                cur,
                time.perf_counter() - t0,
                planar,
            )
        )
        if py is None:
            rows.append({"method": "METIS / spopt", "note": "bench venv not available"})
        else:
            with tempfile.TemporaryDirectory() as tmp:
                u.to_parquet(f"{tmp}/units.parquet")
                full.to_parquet(f"{tmp}/edges.parquet")
                for method in ("metis", "spopt"):
                    try:
                        subprocess.run(
                            [str(py), "-c", COMPETITOR, tmp, method, str(k), tmp],
                            check=True,
                            capture_output=True,
                            text=True,
                            timeout=args.competitor_timeout,
                        )
                        meta = json.loads(Path(f"{tmp}/meta.json").read_text())
                        lab = pd.read_parquet(f"{tmp}/labels.parquet")["label"].to_numpy()
                        rows.append(
                            evaluate(
                                method, u, full, lab, cur, meta["seconds"], planar, meta["note"]
                            )
                        )
                    except subprocess.TimeoutExpired:
                        rows.append(
                            {
                                "method": method,
                                "note": f"> {args.competitor_timeout:.0f} s, stopped",
                            }
                        )
                    except subprocess.CalledProcessError as exc:
                        rows.append(
                            {
                                "method": method,
                                "note": "failed: " + exc.stderr.strip().splitlines()[-1][:90],
                            }
                        )
        df = pd.DataFrame(rows)
        print(
            f"\n=== {title} (graph: {g.n_given} given, {g.n_delaunay} Delaunay, {g.n_bridges} bridges)"
        )
        fmt = {
            c: "{:.1%}".format
            for c in (
                "max_dev_potential",
                "max_dev_workload",
                "within_3pct",
                "within_5pct",
                "moved_share",
            )
        }
        fmt.update(
            {
                "compactness_km": "{:.2f}".format,
                "seconds": "{:.2f}".format,
                "cpu_s": "{:.2f}".format,
            }
        )
        print(df.to_string(index=False, formatters=fmt, na_rep="-"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of the benchmark process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
