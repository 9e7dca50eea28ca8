"""Benchmark: the territory optimiser against k-means, METIS (pymetis) and PySAL spopt.

Run from the project root::

    .venv/bin/python bench/bench_territory.py            # all instances
    .venv/bin/python bench/bench_territory.py --quick    # the 1,000-unit instance only

The competitors are *not* project dependencies: they run in their own virtual environment,
``bench/.venv-territory`` (git-ignored), which the script creates on first use with
``python -m venv`` + ``pip install pymetis spopt`` (pass ``--no-install`` to skip; missing
competitors are reported as such). Each competitor gets the same units, metrics and neighbour
graph; every plan is then measured by the same code (:func:`salesanalytics.analyses.territory.plan_quality`,
:func:`salesanalytics.analyses.territory.count_pieces`).

Parts (``--part``): ``compare`` (the table below, without travel), ``travel`` (fixed rep bases,
workload including travel from the base: Swiss geography 3,362 x 20 / 50 / 100 and generated
instances with three metrics, 2,000 x 20 and 10,000 x 100; the optimiser beside k-means and METIS
(regions matched to the bases), each measured the same way: max deviation per metric with travel,
territories within ±3%, contiguity on the postal-code polygons with shapely (generated: on the
graph), compactness (workload-weighted km to the base), disruption (share of potential changing
territory against today's id-range plan), seconds, CPU seconds, and for a miss the LP bound of
``feasibility.balance_bound``: "proven" when no plan, even one ignoring contiguity, reaches ±3%), ``exact`` (small instances: the MILP's proven optimum against
the heuristic, objective gap), ``demo`` (the engagement's territory design on generated demo
clients -- 20,000 accounts seed 42 and 3,000 accounts seeds 1/7/11 -- run through the
pipeline, the report's table and headline recomputed from the run's tables). Default: all parts.

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

from salesanalytics.analyses import territory as tm  # noqa: E402
from salesanalytics.analyses.territory.synthetic import (  # noqa: E402
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
t0, c0 = time.perf_counter(), time.process_time()
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
secs, cpu = time.perf_counter() - t0, time.process_time() - c0
pd.DataFrame({"label": labels.astype(str)}).to_parquet(out + "/labels.parquet")
json.dump({"seconds": secs, "cpu": cpu, "note": note}, open(out + "/meta.json", "w"))
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


ROAD_FACTOR, SPEED_KMH = 1.3, 50.0


def _polygon_pieces(unit_code: dict, unit_territory: dict, latlon: dict) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from territory_checks import polygon_pieces

    return polygon_pieces(unit_code, unit_territory, latlon)


def _bases(u: pd.DataFrame, k: int, seed: int) -> pd.DataFrame:
    """Rep bases spread like a field force: workload-weighted k-means centres, each moved to
    the nearest unit (a rep lives in a town of the region). Bases drawn at random instead
    (several reps in one city, none in a valley) are far harder: see the note."""
    xy = np.column_stack([u["longitude"], u["latitude"]]).astype(float)
    w = u["workload"].to_numpy(float)
    rng = np.random.default_rng(seed)
    pts = xy[rng.choice(len(u), size=min(len(u), 20 * k), replace=True, p=w / w.sum())]
    cent, _ = kmeans2(pts, k, seed=rng, minit="++")
    pick = []
    for c in cent:
        d = np.hypot(*(xy - c).T)
        d[pick] = np.inf
        pick.append(int(np.argmin(d)))
    b = u.iloc[pick][["latitude", "longitude"]].reset_index(drop=True)
    b["territory_id"] = [f"T{i + 1:03d}" for i in range(k)]
    return b


def _distance_km(u: pd.DataFrame, b: pd.DataFrame, planar: bool) -> np.ndarray:
    """Straight-line km from every unit to every base."""
    if planar:
        return np.hypot(
            u["latitude"].to_numpy()[:, None] - b["latitude"].to_numpy()[None, :],
            u["longitude"].to_numpy()[:, None] - b["longitude"].to_numpy()[None, :],
        )
    from salesanalytics.reference.geo import haversine_km

    return haversine_km(
        u["latitude"].to_numpy()[:, None],
        u["longitude"].to_numpy()[:, None],
        b["latitude"].to_numpy()[None, :],
        b["longitude"].to_numpy()[None, :],
    )


def _travel(u: pd.DataFrame, b: pd.DataFrame, planar: bool) -> np.ndarray:
    """Hours a year from every base to every unit: 1.5 visits per account, there and back."""
    visits = 1.5 * u["accounts"].to_numpy(float)
    return visits[:, None] * 2 * _distance_km(u, b, planar) * ROAD_FACTOR / SPEED_KMH


def _devs(u: pd.DataFrame, lab: np.ndarray, travel: np.ndarray, tids: list, metrics: list):
    col = pd.Index(tids).get_indexer(lab)
    out = {}
    worst = np.zeros(len(tids))
    for m in metrics:
        v = u[m].to_numpy(float) + (travel[np.arange(len(u)), col] if m == "workload" else 0.0)
        s = np.bincount(col, weights=v, minlength=len(tids))
        dev = np.abs(s / (v.sum() / len(tids)) - 1)
        worst = np.maximum(worst, dev)
        out[m] = float(np.max(dev))
    out["within_3pct"] = f"{int((worst <= 0.03 + 1e-9).sum())}/{len(tids)}"
    return out


def _match_to_bases(lab: np.ndarray, xy: np.ndarray, w: np.ndarray, bxy: np.ndarray, tids):
    """A competitor's regions named after the bases: the matching of region centroids to bases
    with the least total distance (the competitors know nothing of bases)."""
    regions = pd.Index(pd.unique(pd.Series(lab).astype(str)))
    col = regions.get_indexer(pd.Series(lab).astype(str))
    cw = np.bincount(col, weights=w, minlength=len(regions)) + 1e-12
    cen = np.column_stack(
        [np.bincount(col, weights=w * xy[:, i], minlength=len(regions)) / cw for i in (0, 1)]
    )
    rr, cc = linear_sum_assignment(np.hypot(*(cen[:, None, :] - bxy[None, :, :]).T).T)
    name = dict(zip(rr.tolist(), cc.tolist(), strict=True))
    return np.array([tids[name.get(c, 0)] for c in col], dtype=object)


def _metis(py: Path | None, units: pd.DataFrame, edges: pd.DataFrame, k: int, timeout: float):
    """METIS (pymetis, in the bench's own venv) with potential and workload as two balance
    constraints; ``(labels, (seconds, cpu seconds), note)`` or ``(None, nan, reason)``."""
    if py is None:
        return None, np.nan, "bench venv not available"
    with tempfile.TemporaryDirectory() as tmp:
        units[["unit_id", "potential", "workload"]].assign(x=0.0, y=0.0).to_parquet(
            f"{tmp}/units.parquet"
        )
        edges.to_parquet(f"{tmp}/edges.parquet")
        try:
            subprocess.run(
                [str(py), "-c", COMPETITOR, tmp, "metis", str(k), tmp],
                check=True,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None, np.nan, f"> {timeout:.0f} s, stopped"
        except subprocess.CalledProcessError as exc:
            return None, np.nan, "failed: " + exc.stderr.strip().splitlines()[-1][:90]
        meta = json.loads(Path(f"{tmp}/meta.json").read_text())
        lab = pd.read_parquet(f"{tmp}/labels.parquet")["label"].to_numpy()
    return lab, (meta["seconds"], meta["cpu"]), meta["note"]


def _travel_cases(quick: bool) -> list:
    sw, se = swiss_postal_code_units(None, seed=1)
    cases = [("CH 3,362", sw, se, k, False) for k in ((20,) if quick else (20, 50, 100))]
    sizes = ((2000, 20),) if quick else ((2000, 20), (10000, 100))
    for n, k in sizes:
        r = random_planar_units(n, seed=7).rename(columns={"x": "longitude", "y": "latitude"})
        cases.append((f"generated {n:,}", r, None, k, True))
    return cases


def _measure(units, lab, ctx) -> dict:
    """One plan measured like every other: deviations with travel, contiguity, compactness
    (workload-weighted km to the territory's base), disruption (share of potential that changes
    territory against today's plan, after matching labels)."""
    tids, tr, metrics, planar = ctx["tids"], ctx["travel"], ctx["metrics"], ctx["planar"]
    lab = np.asarray(lab, dtype=object).astype(str)
    dev = _devs(units, lab, tr, tids, metrics)
    col = pd.Index(tids).get_indexer(lab)
    w = units["workload"].to_numpy(float)
    row = {f"max_dev_{m}": dev[m] for m in metrics}
    row["within_3pct"] = dev["within_3pct"]
    ids = units["unit_id"].astype(str).tolist()
    if planar:
        pcs = tm.count_pieces(units["unit_id"], lab, ctx["graph_edges"])
        row["contiguous"] = f"{int((pcs == 1).sum())}/{len(tids)} (graph)"
    else:
        pp = _polygon_pieces(
            dict(zip(ids, ids, strict=True)), dict(zip(ids, lab, strict=True)), ctx["latlon"]
        )
        row["contiguous"] = f"{sum(v == 1 for v in pp.values())}/{len(tids)} (polygons)"
    row["compactness_km"] = float(np.sum(w * ctx["km"][np.arange(len(units)), col]) / w.sum())
    row["disruption"] = moved_share(lab, ctx["today"], units["potential"].to_numpy(float))
    return row


def part_travel(
    quick: bool, py: Path | None = None, timeout: float = 300.0, only: list[str] | None = None
) -> None:
    """Fixed bases, workload with travel, beside k-means and METIS, measured the same way
    (``only``: the instances whose name contains one of these texts, e.g. ``"x 100"``)."""
    print("\n##### travel: workload incl. travel from fixed rep bases (tolerance ±3%)")
    rows = []
    for title, units, edges, k, planar in _travel_cases(quick):
        if only and not any(o in f"{title} x {k}" for o in only):
            continue
        metrics = ["potential", "workload", "accounts"] if planar else ["potential", "workload"]
        b = _bases(units, k, seed=k)
        tr = _travel(units, b, planar)
        tids = b["territory_id"].tolist()
        xy = (
            np.column_stack([units["longitude"], units["latitude"]]).astype(float)
            if planar
            else tm.planar_km(units["latitude"].to_numpy(), units["longitude"].to_numpy())
        )
        bxy = (
            b[["longitude", "latitude"]].to_numpy(float)
            if planar
            else tm.planar_km(b["latitude"].to_numpy(), b["longitude"].to_numpy())
        )
        ids = units["unit_id"].astype(str).to_numpy()
        g = tm.build_unit_graph(ids, xy, edges)
        ctx = {
            "tids": tids,
            "travel": tr,
            "metrics": metrics,
            "planar": planar,
            "graph_edges": g.edge_frame(ids),
            "latlon": dict(
                zip(ids, zip(units["latitude"], units["longitude"], strict=True), strict=True)
            ),
            "km": _distance_km(units, b, planar),
            "today": current_plan(units, k),
        }
        name = f"{title} x {k}"
        t0, c0 = time.perf_counter(), time.process_time()
        res = tm.design_territories(
            units,
            k,
            metrics=metrics,
            tolerance=0.03,
            edges=edges,
            columns=tm.UnitColumns(planar=planar),
            targets=tm.Targets(territory_ids=tids),
            bases=tm.Bases(locations=b, travel=tr, travel_metric="workload"),
            settings=tm.SolverSettings(max_passes=100),
        )
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        lab = res.assignment["territory_id"].astype(str).to_numpy()
        row = {"instance": name, "method": "optimiser"}
        row.update(_measure(units, lab, ctx), seconds=secs, cpu_s=cpu)
        row["note"] = _bound_note(units, tr, metrics, tids, row)
        if res.summary.get("repair_milps"):
            row["note"] += (
                f"; repair: {res.summary['repair_improvements']} of "
                f"{res.summary['repair_milps']} MILPs kept"
            )
        if res.summary.get("time_limit_reached"):
            row["note"] += "; CPU limit reached"
        rows.append(row)
        t1, c1 = time.perf_counter(), time.process_time()
        _, km = kmeans2(xy, k, seed=np.random.default_rng(0), minit="++")
        km_lab = _match_to_bases(km.astype(str), xy, units["workload"].to_numpy(float), bxy, tids)
        ksecs, kcpu = time.perf_counter() - t1, time.process_time() - c1
        krow = {"instance": name, "method": "k-means"}
        krow.update(_measure(units, km_lab, ctx), seconds=ksecs, cpu_s=kcpu)
        krow["note"] = "coordinates; regions matched to bases"
        rows.append(krow)
        mlab, msecs, note = _metis(py, units, ctx["graph_edges"], k, timeout)
        mrow = {"instance": name, "method": "METIS", "note": note}
        if mlab is not None:
            mrow["seconds"], mrow["cpu_s"] = msecs
            mlab = _match_to_bases(mlab, xy, units["workload"].to_numpy(float), bxy, tids)
            mrow.update(_measure(units, mlab, ctx))
            mrow["note"] = note + " (without travel); matched to bases"
        rows.append(mrow)
        print(pd.DataFrame(rows[-3:]).to_string(index=False), flush=True)
    df = pd.DataFrame(rows)
    fmt = {c: "{:.1%}".format for c in df.columns if c.startswith("max_dev")}
    fmt.update({c: "{:.2f}".format for c in ("compactness_km", "seconds", "cpu_s")})
    fmt["disruption"] = "{:.0%}".format
    print("\nmax_dev_*: largest deviation of any territory from its target (workload incl.")
    print("travel from the base); disruption: share of potential changing territory vs today's")
    print(
        "plan (postal-code ranges); bound: LP relaxation of the balance band (no plan can beat it)"
    )
    print(df.to_string(index=False, formatters=fmt, na_rep="-"))


BOUND_MAX = 200_000
"""Largest units x territories for which the bench computes the LP bound."""


def _bound_note(units, tr, metrics, tids, row) -> str:
    """Whether ±3% is provably out of reach with these bases (the LP relaxation's bound)."""
    worst = max(row[f"max_dev_{m}"] for m in metrics)
    if worst <= 0.03 + 1e-9:
        return "all within ±3%"
    if len(units) * len(tids) > BOUND_MAX:
        return "bound not computed (too large)"
    from salesanalytics.analyses.territory.feasibility import balance_bound

    k = len(tids)
    loads = units[metrics].to_numpy(float)
    shares = np.full((k, len(metrics)), 1.0 / k)
    bd = balance_bound(
        loads, shares, 0.03, travel=tr, travel_metric=metrics.index("workload"), upper=worst
    )
    if bd["feasible"]:
        return "LP reaches ±3%: search gap"
    return f"proven: no plan beats {bd['bound']:.1%}"


def part_exact(quick: bool) -> None:
    """Small instances: the MILP's optimum against the heuristic."""
    from salesanalytics.analyses.territory.exact import exact_territories, plan_cost

    print("\n##### exact: MILP (HiGHS) optimum vs heuristic, fixed bases, ±10%")
    rows = []
    cases = [(60, 6, s, c) for s in range(3) for c in (False, True)]
    if not quick:
        cases += [(100, 10, s, c) for s in range(2) for c in (False, True)]
    for n, k, seed, contig in cases:
        u = random_planar_units(n, seed=seed, clusters=5, size_km=100)
        b = u.sample(k, random_state=seed)[["x", "y"]].reset_index(drop=True)
        b["territory_id"] = [f"T{i}" for i in range(k)]
        kw = {"columns": tm.UnitColumns(coord_cols=("x", "y"), planar=True)}
        c0 = time.process_time()
        ex = exact_territories(
            u,
            b,
            metrics=METRICS,
            tolerance=0.1,
            contiguity=contig,
            settings=tm.SolverSettings(time_limit=300),
            **kw,
        )
        c_ex = time.process_time() - c0
        c0 = time.process_time()
        h = tm.design_territories(
            u,
            k,
            metrics=METRICS,
            tolerance=0.1,
            contiguity=contig,
            targets=tm.Targets(territory_ids=b["territory_id"].tolist()),
            bases=tm.Bases(locations=b),
            settings=tm.SolverSettings(max_passes=200),
            **kw,
        )
        c_h = time.process_time() - c0
        hc = plan_cost(u, h.assignment["territory_id"], b, METRICS, **kw)
        h_ok = max(h.summary["max_dev_potential"], h.summary["max_dev_workload"]) <= 0.1 + 1e-9
        rows.append(
            {
                "instance": f"{n} x {k} seed {seed}",
                "contiguity": contig,
                "milp": "optimal" if ex["optimal"] else ("feasible" if ex["feasible"] else "none"),
                "milp_objective": ex["objective"],
                "heuristic_objective": hc,
                "gap": hc / ex["objective"] - 1 if ex["feasible"] else np.nan,
                "heuristic_within_tol": h_ok,
                "milp_cpu_s": c_ex,
                "heuristic_cpu_s": c_h,
            }
        )
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False, formatters={"gap": "{:+.1%}".format}, na_rep="-"))


def part_demo(quick: bool) -> None:
    """The engagement's territory phase on generated demo clients, as the client gets it.

    Each demo runs through the pipeline (intake, potential, channels, territory: the territory
    count derived from the field workload), and its report is then checked from the run's
    tables alone (``tests/territory_checks.recompute_run``, none of the territory code):
    deviations with travel from each rep's base, contiguity by polygons, the headline against
    the recomputation, and whether every territory outside the band is named in the report.
    """
    sys.path.insert(0, str(ROOT / "tests"))
    from territory_checks import recompute_run

    print("\n##### demo: the territory phase's report, recomputed from the run's tables")
    cli = str(Path(sys.executable).with_name("salesanalytics"))
    rows = []
    cases = [(3000, 11)] if quick else [(20000, 42), (3000, 1), (3000, 7), (3000, 11)]
    for n_acc, seed in cases:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            subprocess.run(
                [cli, "demo-data", "--out", str(d / "export"), "--accounts", str(n_acc)]
                + ["--seed", str(seed)],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [cli, "init", str(d), "--source", "export", "--mapping", "salesforce"]
                + ["--client", "Demo", "--slug", "demo", "--reports", str(d / "reports")],
                check=True,
                capture_output=True,
            )
            t0 = time.perf_counter()
            subprocess.run(
                [cli, "run", "--config", str(d / "project.yaml"), "--phase", "territory"]
                + ["--only", "--workers", "1", "-q"],
                check=True,
                capture_output=True,
            )
            secs = time.perf_counter() - t0
            run = max((d / "reports" / "demo").glob("2*"))
            rows.append(_demo_row(run, f"{n_acc:,} accounts seed {seed}", secs, recompute_run))
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    df = pd.DataFrame(rows)
    fmt = {c: "{:.1%}".format for c in ("max_dev_potential", "max_dev_workload")}
    fmt["seconds"] = "{:.0f}".format
    print(df.to_string(index=False, formatters=fmt))


def _demo_row(run: Path, name: str, secs: float, recompute_run) -> dict:
    import html
    import re

    g, tol = recompute_run(run)
    man = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    head = man["phases"]["territory"]["headlines"]
    page = html.unescape((run / "client" / "territory.html").read_text(encoding="utf-8"))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    worst = np.maximum(g["dev_potential"].abs(), g["dev_work"].abs())
    n, n_in = len(g), int((worst <= tol + 1e-9).sum())
    miss = worst.index[worst > tol + 1e-9]
    named = [
        t
        for t in miss
        if f"{t} (potential {g.at[t, 'dev_potential']:+.1%}, "
        f"workload {g.at[t, 'dev_work']:+.1%})" in text
    ]
    return {
        "demo": name,
        "territories": n,
        f"within_{tol:.0%}": f"{n_in}/{n}",
        "max_dev_potential": float(g["dev_potential"].abs().max()),
        "max_dev_workload": float(g["dev_work"].abs().max()),
        "utilisation": f"{g['utilisation'].min():.0%}-{g['utilisation'].max():.0%}",
        "contiguous_polygons": f"{int((g['pieces'] == 1).sum())}/{n}",
        "headline_matches": head[0].startswith(f"{n} territories: {n_in} of {n} are within")
        and f"{g['dev_potential'].abs().max():.1%} on potential" in head[0]
        and f"{g['dev_work'].abs().max():.1%} on workload" in head[0],
        "misses_named": f"{len(named)}/{len(miss)}",
        "proven_bound": "yes" if "No plan can reach" in text else "-",
        "seconds": secs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--competitor-timeout", type=float, default=300.0)
    ap.add_argument("--part", choices=("all", "compare", "travel", "exact", "demo"), default="all")
    ap.add_argument(
        "--instance",
        action="append",
        help="travel part: only instances whose name contains this text (repeatable)",
    )
    args = ap.parse_args()
    py = ensure_venv(not args.no_install) if args.part in ("all", "compare", "travel") else None
    if args.part in ("all", "travel"):
        part_travel(args.quick, py, args.competitor_timeout, args.instance)
    parts = {"exact": part_exact, "demo": part_demo}
    for name, fn in parts.items():
        if args.part in ("all", name):
            fn(args.quick)
    if args.part not in ("all", "compare"):
        return
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
                edges=full,
                columns=tm.UnitColumns(
                    coord_cols=("y", "x") if planar else ("latitude", "longitude"), planar=planar
                ),
                settings=tm.SolverSettings(seed=0),
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
            edges=full,
            continuity_weight=1.0,
            columns=tm.UnitColumns(
                coord_cols=("y", "x") if planar else ("latitude", "longitude"),
                planar=planar,
                current_col="current",
                continuity_col="potential",
            ),
            settings=tm.SolverSettings(seed=0),
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
