"""Benchmark of the compensation engine and the Monte-Carlo simulation (prints its figures).

1. Payout engine: a year of actuals for 500 reps (proposed plan, all roles; ~60 won deals per rep
   counted towards several deal measures, portfolio measures per rep), statements included.
2. Monte Carlo: 10,000 scenarios x 500 reps x 3 measures (goal: at most 2 s).
3. With ``--run-dir`` (a complete run folder, e.g. ``reports/demo/latest``): the compensation
   phase's computations on that client (plan evaluation, simulation, what-if scenarios) and the
   per-entity reports as the pipeline renders them one after the other in one process: pay
   statements (``81_rep_statement``, every rep) and sales cockpits (``71_rep_cockpit``, every
   rep), CPU seconds per entity after the first (goal: at most 0.1 s each).

Run: ``.venv/bin/python bench/bench_compensation.py [--run-dir reports/demo/latest]``
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd

from salesanalytics.analyses import compensation as comp
from salesanalytics.analyses.controlling import plots as kplots
from salesanalytics.engagement import results

N_REPS = 500
DEALS_PER_REP = 60
SEED = 7


def _reps(rng: np.random.Generator) -> pd.DataFrame:
    roles = rng.choice(
        ["field", "tele", "online", "key_account", "team_lead"],
        N_REPS,
        p=[0.5, 0.2, 0.15, 0.1, 0.05],
    )
    hire = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, N_REPS), unit="D")
    return pd.DataFrame(
        {"rep_id": [f"r{i:04d}" for i in range(N_REPS)], "role": roles, "hire_date": hire}
    )


def _deals(rng: np.random.Generator, reps: pd.DataFrame) -> pd.DataFrame:
    n = N_REPS * DEALS_PER_REP
    close = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    lost = close + pd.to_timedelta(rng.integers(30, 900, n), unit="D")
    base = pd.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(n)],
            "rep_id": np.repeat(reps["rep_id"].to_numpy(), DEALS_PER_REP),
            "amount": rng.lognormal(np.log(2000), 0.8, n),
            "close_date": close,
            "multi_year": rng.random(n) < 0.3,
            "new_product": rng.random(n) < 0.2,
            "lost_date": lost.where(rng.random(n) < 0.15),
        }
    )
    parts = [base.assign(measure=m) for m in ("new_arr", "upsell_arr", "new_business_value")]
    parts.append(base[base["new_product"]].assign(measure="new_product_arr"))
    return pd.concat(parts, ignore_index=True)


def _actuals(rng: np.random.Generator, reps: pd.DataFrame) -> pd.DataFrame:
    m = ["net_revenue_retention", "gross_retention", "portfolio_growth", "activity_quality"]
    return pd.DataFrame(
        {
            "rep_id": np.repeat(reps["rep_id"].to_numpy(), len(m)),
            "measure": np.tile(m, len(reps)),
            "actual": rng.normal(0.95, 0.08, len(reps) * len(m)),
        }
    )


def _measure(fn, *args, **kw):
    """Best of 3 timed runs (wall and CPU time, without tracing), then one traced run for peak memory."""
    secs, cpus = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args, **kw)
        secs.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    tracemalloc.start()
    fn(*args, **kw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, f"{min(secs):.2f} s wall ({min(cpus):.2f} s CPU)", peak / 2**20


def _per_entity(label: str, render, ids: list[str]) -> None:
    """CPU seconds per entity, rendered one after the other in this process (first one apart)."""
    c0 = time.process_time()
    render(ids[0])
    first = time.process_time() - c0
    c0, t0 = time.process_time(), time.perf_counter()
    for i in ids[1:]:
        render(i)
    n = len(ids) - 1
    print(
        f"{label}: first {first:.2f} s CPU, then {(time.process_time() - c0) / n:.3f} s CPU "
        f"({(time.perf_counter() - t0) / n:.3f} s wall) per entity over {n}"
    )


def run_folder(run_dir: str) -> None:
    """Time the compensation phase's computations and the per-entity reports on a run folder."""
    import matplotlib

    matplotlib.use("Agg")
    from salesanalytics.analyses.controlling import model as kpi
    from salesanalytics.engagement.workspace import Workspace
    from salesanalytics.present import style

    style.set_theme()
    ws = Workspace(run_dir, "compensation", os.path.join(run_dir, "data", "compensation"))
    t = {
        n: ws.read("intake", n)
        for n in ("accounts", "reps", "contracts", "opportunities", "products", "activities")
    }
    as_of = ws.read_json("intake", "as_of")["as_of"]
    plans = [comp.load_plan("current"), comp.load_plan("proposed")]
    ev, sec, peak = _measure(
        comp.evaluate_plans,
        *plans,
        t["accounts"],
        t["reps"],
        t["contracts"],
        t["opportunities"],
        t["products"],
        t["activities"],
        as_of,
        assignment=ws.read("territory", "assignment", columns=["account_id", "rep_id"]),
        account_potential=ws.read(
            "potential", "account_potential", columns=["account_id", "potential_mrr"]
        ),
    )
    print(f"evaluate_plans ({len(t['reps'])} reps): {sec}, peak {peak:.0f} MiB (tracemalloc)")
    (cal, _, _), sec, peak = _measure(comp.simulate_plans, ev, n_scenarios=10_000, seed=42)
    print(f"simulate_plans (10,000 scenarios, both plans): {sec}, peak {peak:.0f} MiB")
    quotas = ev.proposed.payouts[["rep_id", "measure", "quota"]]
    levers = {"threshold 70%": {"threshold": 0.7}, "plan cap 1.5x": {"plan_cap": 1.5}}
    _, sec, _ = _measure(
        comp.scenario_table,
        plans[1],
        ev.proposed.totals[["rep_id", "role"]],
        cal,
        levers,
        n_scenarios=2000,
        seed=42,
        quotas=quotas,
    )
    print(f"scenario_table (2 levers, 2,000 scenarios): {sec}")

    def statement(rep_id: str) -> None:  # what the 81_rep_statement template does
        _, lines = results.read_statement(run_dir, rep_id)
        style.table(lines, formats={"attainment": "pct", "amount": "chf"}).to_html()

    def cockpit(rep_id: str) -> None:  # what the 71_rep_cockpit template does
        c = results.read_cockpit(run_dir, "rep", rep_id)
        kpi.cockpit_sentence(c)
        kplots.kpi_tiles(c).to_html()
        kplots.cockpit_image(c)

    reps = ws.read("compensation", "statement_reps")["rep_id"].tolist()
    _per_entity("pay statement (81_rep_statement)", statement, reps)
    reps = ws.read("controlling", "cockpit_reps")["rep_id"].tolist()
    _per_entity("sales cockpit (71_rep_cockpit)", cockpit, reps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", help="complete run folder for the per-client figures")
    ap.add_argument("--no-synthetic", action="store_true", help="skip parts 1 and 2")
    args = ap.parse_args()
    if not args.no_synthetic:
        synthetic()
    if args.run_dir:
        run_folder(args.run_dir)
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS: {rss:.0f} MiB")


def synthetic() -> None:
    """Parts 1 and 2: the payout engine and the Monte Carlo on synthetic reps."""
    rng = np.random.default_rng(SEED)
    reps = _reps(rng)
    deals = _deals(rng, reps)
    actuals = _actuals(rng, reps)
    plan = comp.load_plan("proposed")
    res, sec, peak = _measure(
        comp.compute_payouts, plan, reps, deals, actuals, "2025-01-01", "2025-12-31"
    )
    print(
        f"payout engine: {N_REPS} reps, {len(deals):,} deal credits, "
        f"{len(res.statement_lines):,} statement lines: {sec}, peak {peak:.0f} MiB (tracemalloc)"
    )

    sim_plan = comp.plan_from_dict(
        {
            "name": "bench",
            "roles": {
                "field": {
                    "base_salary": 90000,
                    "target_incentive": 25000,
                    "cap": 2.0,
                    "measures": [
                        {
                            "id": "new_arr",
                            "weight": 0.5,
                            "quota": 1.0,
                            "curve": {
                                "threshold": 0.5,
                                "cap": 2.0,
                                "tiers": [
                                    {"from": 0, "to": 1, "rate": 1},
                                    {"from": 1, "to": 1.5, "rate": 2},
                                    {"from": 1.5, "to": None, "rate": 0.5},
                                ],
                            },
                        },
                        {"id": "net_revenue_retention", "weight": 0.3, "quota": 1.0},
                        {"id": "activity_quality", "weight": 0.2, "quota": 1.0},
                    ],
                }
            },
        }
    )
    hist = pd.DataFrame(
        {
            "rep_id": np.repeat(np.arange(N_REPS), 3),
            "measure": np.tile(["new_arr", "net_revenue_retention", "activity_quality"], N_REPS),
            "attainment": rng.lognormal(0, 0.4, 3 * N_REPS),
        }
    )
    cal = comp.calibrate(hist)
    sreps = pd.DataFrame({"rep_id": [f"r{i}" for i in range(N_REPS)], "role": "field"})
    for chunk in (1_000, 2_500):
        sim, sec, peak = _measure(
            comp.simulate, sim_plan, sreps, cal, n_scenarios=10_000, seed=1, chunk=chunk
        )
        print(
            f"Monte Carlo: 10,000 scenarios x {N_REPS} reps x 3 measures (chunk {chunk}): "
            f"{sec}, peak {peak:.0f} MiB (tracemalloc); P50 cost "
            f"CHF {np.median(sim.cost):,.0f}"
        )


if __name__ == "__main__":
    main()
