"""Benchmark: the package compute of the early phases (intake, potential, churn, channels, funnel).

Each phase's package calls (what its notebook calls, without tables and charts) run in a fresh
child process that first runs the pipeline's kernel warm-up (:data:`WARMUP_CODE`) with one
BLAS thread, like a pipeline kernel. Printed per phase: CPU seconds and wall seconds (best of
``--repeat`` runs) and peak RSS (``ru_maxrss`` of the child).

Needs a complete run folder of the demo client and its export (``make demo`` writes both)::

    .venv/bin/python bench/bench_early_phases.py
    .venv/bin/python bench/bench_early_phases.py --run-dir reports/demo/latest \\
        --source data/demo/export --repeat 5 --only funnel churn
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

PHASES: dict[str, str] = {
    "intake": """
from salesanalytics.engagement import intake as run_intake
from salesanalytics.ingest import intake
from salesanalytics.engagement.workspace import Workspace
ws = Workspace(RUN_DIR, "intake", OUT)
r = intake.load_export(SOURCE)
run_intake.write_intake(r, ws)
profile = intake.customer_profile(r.tables["accounts"], r.tables["contracts"], r.as_of)
for c in ("canton", "industry", "products"):
    intake.profile_by(profile, c)
""",
    "potential": """
from salesanalytics.analyses.potential import model as pt
from salesanalytics.engagement.workspace import Workspace
ws = Workspace(RUN_DIR, "potential", OUT)
accounts, contracts = ws.read("intake", "accounts"), ws.read("intake", "contracts")
products = ws.read("intake", "products")
as_of = ws.read_json("intake", "as_of")["as_of"]
result = pt.estimate_potential(accounts, pt.current_mrr(contracts, as_of), 0.8, log_scale=True)
pt.potential_findings(result)
for by in ("canton", "status", "postal_code", "municipality"):
    pt.aggregate_potential(result.accounts, by)
pt.white_space_by_group(result.accounts, contracts, products, as_of, min_segment=20)
if ws.has("intake", "truth_accounts"):
    truth = ws.read("intake", "truth_accounts", columns=["account_id", "potential_mrr"])
    pt.recovery_report(result.accounts, truth)
""",
    "churn": """
import pandas as pd
from salesanalytics.analyses.churn import model as ch
from salesanalytics.engagement.workspace import Workspace
ws = Workspace(RUN_DIR, "churn", OUT)
accounts, reps = ws.read("intake", "accounts"), ws.read("intake", "reps")
contracts, products = ws.read("intake", "contracts"), ws.read("intake", "products")
as_of = ws.read_json("intake", "as_of")["as_of"]
customers = ch.build_customer_table(
    contracts, accounts, as_of, ch.CustomerTableConfig(start_window_days=30), products=products
)
ch.retention_summary(contracts, customers, as_of, 12, accounts=accounts, products=products)
for by in ("first_term", "channel", "first_product_group"):
    ch.km_curves(customers, by=by, min_customers=50)
ch.fit_cox(customers, ch.canonical_cox_config())
oot = ch.propensity_out_of_time(contracts, customers, as_of, 6, high=0.9, medium=0.7)
ch.at_risk_by_rep(oot.scores, reps)
periods = ch.sbg_periods_from_customers(customers, 12)
ch.fit_sbg(periods["period"], periods["churned"])
ch.km_curves(customers, grid=[p * 12 for p in range(11)])
""",
    "channels": """
from salesanalytics.analyses.channels import model as channels
from salesanalytics.engagement.workspace import Workspace
ws = Workspace(RUN_DIR, "channels", OUT)
accounts, reps = ws.read("intake", "accounts"), ws.read("intake", "reps")
as_of = ws.read_json("intake", "as_of")["as_of"]
mix = channels.analyse_channel_mix(
    accounts, reps, ws.read("intake", "products"), ws.read("intake", "contracts"),
    ws.read("intake", "activities"), ws.read("intake", "channel_rates"), as_of,
    potential=ws.read("potential", "account_potential"),
)
channels.contribution_by_channel(mix.account_channel)
channels.wave_summary(mix.account_channel)
""",
    "funnel": """
from salesanalytics.analyses.funnel import model as funnel
from salesanalytics.engagement.workspace import Workspace
ws = Workspace(RUN_DIR, "funnel", OUT)
as_of = ws.read_json("intake", "as_of")["as_of"]
funnel.analyse_funnels(
    ws.read("intake", "opportunities"), ws.read("intake", "opportunity_stages"),
    ws.read("intake", "reps"), as_of,
)
""",
}


def _child(phase: str, run_dir: str, source: str) -> None:
    """Child process: warm up like a kernel, run the phase's package calls once, print JSON."""
    from salesanalytics.engagement.pipeline.execute import WARMUP_CODE

    exec(WARMUP_CODE, {})
    with tempfile.TemporaryDirectory() as out:
        ns = {"RUN_DIR": run_dir, "SOURCE": source, "OUT": out}
        t0, c0 = time.perf_counter(), time.process_time()
        exec(PHASES[phase], ns)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cpu": cpu, "wall": wall, "rss_mb": rss_mb}))


def main() -> None:
    """Run each phase ``--repeat`` times in fresh processes and print the best times."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", default="reports/demo/latest", help="complete demo run folder")
    ap.add_argument("--source", default="data/demo/export", help="the demo export (for intake)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", choices=list(PHASES), default=list(PHASES))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.run_dir, a.source)
        return
    missing = [
        f"{what} {path}"
        for what, path in (("run folder", a.run_dir), ("export folder", a.source))
        if not os.path.isdir(path)
    ]
    if missing:
        sys.exit(
            f"not found: {', '.join(missing)}; run `make demo` first or pass --run-dir and "
            "--source (a complete demo run folder and its export)."
        )
    env = {**os.environ}
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    print(f"run folder {a.run_dir}, export {a.source}; best of {a.repeat} runs per phase")
    print(f"{'phase':<10} {'cpu s':>7} {'wall s':>7} {'peak RSS MB':>12}")
    for phase in a.only:
        runs = []
        for _ in range(a.repeat):
            cmd = [sys.executable, __file__, "--child", phase, "--run-dir", a.run_dir]
            res = subprocess.run(
                [*cmd, "--source", a.source], capture_output=True, text=True, env=env, check=True
            )
            runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
        cpu = min(r["cpu"] for r in runs)
        wall = min(r["wall"] for r in runs)
        rss = max(r["rss_mb"] for r in runs)
        print(f"{phase:<10} {cpu:7.2f} {wall:7.2f} {rss:12.0f}")


if __name__ == "__main__":
    main()
