"""Benchmark of cost-to-serve, the funnels and the per-rep cockpits.

* ``channels``: time-driven activity-based costing (activity costs with travel, cost-to-serve per
  account) and the whole channel-mix analysis, on synthetic canonical tables;
* ``funnel``: deal progress, stage durations and the whole funnel analysis;
* ``cockpits``: the controlling tables for 50 reps, then the per-rep cockpit template
  (``notebooks/71_rep_cockpit.ipynb``) executed 50 times in one kernel, as the pipeline does.

Each size runs in its own subprocess so peak memory figures do not mix; peak resident memory is
``resource.getrusage(RUSAGE_SELF).ru_maxrss``.

Usage::

    .venv/bin/python bench/bench_channels_funnel.py                      # all, full size
    .venv/bin/python bench/bench_channels_funnel.py --accounts 20000 --activities 200000
    .venv/bin/python bench/bench_channels_funnel.py --only cockpits
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

AS_OF = pd.Timestamp("2026-06-30")
ROOT = Path(__file__).resolve().parents[1]
STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation"]


def _ids(prefix: str, n: int) -> pd.arrays.ArrowStringArray:
    return pd.array(np.char.add(prefix, np.arange(n).astype("U9")), dtype="string[pyarrow]")


def synthetic(n_acc: int, n_act: int, n_reps: int = 50, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Canonical-shaped tables: accounts, reps, products, contracts, activities, opportunities,
    stage history and channel rates."""
    rng = np.random.default_rng(seed)
    acc_ids = _ids("A", n_acc)
    rep_ids = _ids("R", n_reps)
    lat = rng.uniform(45.9, 47.7, n_acc)
    lon = rng.uniform(6.1, 10.4, n_acc)
    chan_idx = rng.choice(3, n_acc, p=[0.45, 0.35, 0.2])
    channel = np.array(["field", "tele", "online"])[chan_idx]
    status = rng.choice(["customer", "prospect", "former_customer"], n_acc, p=[0.45, 0.4, 0.15])
    owner_idx = rng.integers(0, n_reps, n_acc)
    accounts = pd.DataFrame(
        {
            "account_id": acc_ids,
            "name": _ids("Firma ", n_acc),
            "latitude": lat,
            "longitude": lon,
            "status": pd.array(status, dtype="string"),
            "owner_id": rep_ids[owner_idx],
            "channel_preference": pd.array(
                np.where(rng.random(n_acc) < 0.5, channel, None), dtype="string"
            ),
        }
    )
    roles = np.array(["field"] * 30 + ["tele"] * 12 + ["online"] * 6 + ["key_account"] * 2)
    reps = pd.DataFrame(
        {
            "rep_id": rep_ids,
            "name": _ids("Rep ", n_reps),
            "role": pd.array(roles[:n_reps], dtype="string"),
            "home_latitude": rng.uniform(46.2, 47.5, n_reps),
            "home_longitude": rng.uniform(6.5, 9.8, n_reps),
            "fte": 1.0,
            "capacity_hours": 1300.0,
            "team": pd.array([f"Team {i % 5}" for i in range(n_reps)], dtype="string"),
            "active": True,
        }
    )
    products = pd.DataFrame(
        {
            "product_id": _ids("P", 12),
            "cost_share": rng.uniform(0.15, 0.45, 12),
            "complexity": rng.integers(1, 6, 12),
        }
    )
    cust = np.flatnonzero(status != "prospect")
    contracts = pd.DataFrame(
        {
            "contract_id": _ids("C", len(cust)),
            "account_id": acc_ids[cust],
            "product_id": products["product_id"].to_numpy()[rng.integers(0, 12, len(cust))],
            "start_date": AS_OF - pd.to_timedelta(rng.integers(30, 1500, len(cust)), unit="D"),
            "end_date": pd.to_datetime(
                np.where(
                    status[cust] == "former_customer",
                    (AS_OF - pd.to_timedelta(rng.integers(1, 700, len(cust)), unit="D")).to_numpy(),
                    np.datetime64("NaT"),
                )
            ),
            "mrr": rng.gamma(2.0, 60.0, len(cust)),
            "channel": pd.array(channel[cust], dtype="string"),
        }
    )
    a_acc = rng.integers(0, n_acc, n_act)
    a_ch = chan_idx[a_acc]
    types_by_ch = np.array(
        [
            ["visit", "call", "email"],
            ["call", "email", "call"],
            ["email", "online_session", "email"],
        ]
    )
    a_type = types_by_ch[a_ch, rng.integers(0, 3, n_act)]
    mean_min = pd.Series({"visit": 60.0, "call": 12.0, "email": 6.0, "online_session": 30.0})
    activities = pd.DataFrame(
        {
            "activity_id": _ids("T", n_act),
            "rep_id": rep_ids[owner_idx[a_acc]],
            "account_id": acc_ids[a_acc],
            "date": AS_OF - pd.to_timedelta(rng.integers(0, 730, n_act), unit="D"),
            "type": pd.array(a_type, dtype="string"),
            "channel": pd.array(channel[a_acc], dtype="string"),
            "minutes": np.maximum(
                1.0, np.round(mean_min[a_type].to_numpy() * rng.lognormal(-0.125, 0.5, n_act))
            ),
        }
    )
    # one opportunity per account; reach ~ funnel with 5 stages
    n_opp = n_acc
    conv = np.array([0.7, 0.65, 0.6, 0.75, 0.8])
    reach = np.zeros(n_opp, dtype=np.int64)
    alive = np.ones(n_opp, dtype=bool)
    for k in range(5):
        step = alive & (rng.random(n_opp) < conv[k])
        reach += step
        alive = step
    won = reach == 5
    is_open = rng.random(n_opp) < 0.03
    created = AS_OF - pd.to_timedelta(rng.integers(10, 1400, n_opp), unit="D")
    dur = rng.gamma(2.0, 7.0, (n_opp, 5)).round() + 1
    total = np.cumsum(dur, axis=1)[np.arange(n_opp), np.minimum(reach, 4)]
    close = created + pd.to_timedelta(total, unit="D")
    status_o = np.where(is_open, "open", np.where(won, "won", "lost"))
    cur_stage = np.array(STAGES)[np.minimum(reach, 4)]
    stage = np.where(is_open, cur_stage, np.where(won, "Closed Won", "Closed Lost"))
    opp_ids = _ids("O", n_opp)
    opportunities = pd.DataFrame(
        {
            "opportunity_id": opp_ids,
            "account_id": acc_ids,
            "owner_id": rep_ids[owner_idx],
            "type": pd.array(
                rng.choice(["new_business", "upsell", "renewal"], n_opp, p=[0.8, 0.15, 0.05]),
                dtype="string",
            ),
            "channel": pd.array(channel, dtype="string"),
            "product_id": products["product_id"].to_numpy()[rng.integers(0, 12, n_opp)],
            "amount": rng.gamma(2.0, 900.0, n_opp),
            "created_date": created,
            "close_date": close,
            "status": pd.array(status_o, dtype="string"),
            "stage": pd.array(stage, dtype="string"),
        }
    )
    n_rows = np.minimum(reach, 4) + 1
    rep_opp = np.repeat(np.arange(n_opp), n_rows)
    k = np.arange(n_rows.sum()) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
    offs = np.cumsum(dur, axis=1) - dur
    hist = pd.DataFrame(
        {
            "opportunity_id": opp_ids[rep_opp],
            "stage": pd.array(np.array(STAGES)[k], dtype="string"),
            "entered_at": created[rep_opp] + pd.to_timedelta(offs[rep_opp, k], unit="D"),
        }
    )
    rates = pd.DataFrame(
        {
            "channel": ["field", "tele", "online"],
            "cost_per_year": [165_000.0, 95_000.0, 80_000.0],
            "capacity_hours": [1_320.0, 1_500.0, 1_600.0],
            "travel_cost_per_km": [0.7, 0.0, 0.0],
        }
    )
    return {
        "accounts": accounts,
        "reps": reps,
        "products": products,
        "contracts": contracts,
        "activities": activities,
        "opportunities": opportunities,
        "opportunity_stages": hist,
        "channel_rates": rates,
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"  {label:<44s} {time.perf_counter() - t0:8.2f} s   peak RSS {_peak_mb():8.0f} MB")
    return out


def run_size(n_acc: int, n_act: int, only: str) -> None:
    from salesanalytics.analyses.channels import model as channels
    from salesanalytics.analyses.funnel import model as funnel
    from salesanalytics.present.style import num

    t0 = time.perf_counter()
    t = synthetic(n_acc, n_act)
    print(
        f"{num(n_acc)} accounts, {num(n_act)} activities, {num(len(t['opportunities']))} "
        f"opportunities, {num(len(t['opportunity_stages']))} stage rows (synthetic data built in "
        f"{time.perf_counter() - t0:.1f} s, peak RSS {_peak_mb():.0f} MB)"
    )
    if only in ("all", "channels"):
        costs = _timed(
            "activity costs (TDABC + visit travel)",
            channels.activity_costs,
            t["activities"],
            t["channel_rates"],
            t["accounts"],
            t["reps"],
        )
        _timed("cost-to-serve per account", channels.cost_to_serve, costs, AS_OF, 365)
        del costs
        mix = _timed(
            "channel-mix analysis (cost-to-serve, contribution)",
            channels.analyse_channel_mix,
            t["accounts"],
            t["reps"],
            t["products"],
            t["contracts"],
            t["activities"],
            t["channel_rates"],
            AS_OF,
        )
        from salesanalytics.analyses.channels import matrix as channel_matrix
        from salesanalytics.analyses.territory import design as territory_design

        routing = _timed(
            "channel matrix + account x group routing",
            channel_matrix.route_accounts,
            mix,
            t,
            AS_OF,
            rules=channel_matrix.MatrixRules(size_basis="employees"),
            funnel=funnel,
            workload_model=territory_design,
        )
        print(f"  account x product-group rows: {num(len(routing.assignment))}")
        del mix, routing
    if only in ("all", "funnel"):
        _timed(
            "deal progress",
            funnel.deal_progress,
            t["opportunities"],
            t["opportunity_stages"],
            AS_OF,
        )
        _timed(
            "funnel analysis (whole phase)",
            funnel.analyse_funnels,
            t["opportunities"],
            t["opportunity_stages"],
            t["reps"],
            AS_OF,
        )


async def _render(run_dir: Path, rep_ids: list[str]) -> list[float]:
    import nbformat

    from salesanalytics.engagement.pipeline.execute import (
        execute_notebook,
        parameterize,
        start_kernel,
    )

    template = nbformat.read(ROOT / "notebooks" / "71_rep_cockpit.ipynb", as_version=4)
    kernel = await start_kernel(run_dir)
    times = []
    try:
        for rep in rep_ids:
            t0 = time.perf_counter()
            nb = parameterize(template, {"run_dir": ".", "rep_id": rep})
            await execute_notebook(nb, kernel, timeout=300, label=rep)
            times.append(time.perf_counter() - t0)
    finally:
        await kernel.shutdown()
    return times


def run_cockpits(n_reps: int = 50) -> None:
    from salesanalytics.analyses.controlling import model as kpi
    from salesanalytics.analyses.funnel import model as funnel

    t = synthetic(20_000, 200_000, n_reps=n_reps)
    fa = funnel.analyse_funnels(t["opportunities"], t["opportunity_stages"], t["reps"], AS_OF)
    ctl = _timed(
        f"controlling tables for {n_reps} reps",
        kpi.build_controlling,
        t["accounts"],
        t["reps"],
        t["contracts"],
        t["opportunities"],
        t["activities"],
        AS_OF,
        rep_funnel=fa.rep_funnel,
        coverage=fa.coverage,
        stuck=fa.stuck,
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data" / "controlling"
        folder.mkdir(parents=True)
        for name, df in {
            "kpi_actuals": ctl.actuals,
            "kpi_trend": ctl.trend,
            "cockpit_funnel": ctl.funnel,
            "cockpit_retention": ctl.retention,
        }.items():
            df.to_parquet(folder / f"{name}.parquet", index=False)
        reps = ctl.cockpit_reps["rep_id"].tolist()
        t0 = time.perf_counter()
        times = asyncio.run(_render(Path(tmp), reps))
        total = time.perf_counter() - t0
    print(
        f"  per-rep cockpits: {len(times)} executed in one kernel in {total:.1f} s "
        f"(kernel start included); first {times[0]:.2f} s, median {np.median(times):.2f} s, "
        f"max {max(times):.2f} s per rep"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--activities", type=int, default=10_000_000)
    ap.add_argument("--only", choices=["all", "channels", "funnel", "cockpits"], default="all")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        if a.only == "cockpits":
            run_cockpits()
        else:
            run_size(a.accounts, a.activities, a.only)
        return
    jobs = []
    if a.only in ("all", "channels", "funnel"):
        jobs.append(["--accounts", str(a.accounts), "--activities", str(a.activities)])
        jobs[-1] += ["--only", a.only]
    if a.only in ("all", "cockpits"):
        jobs.append(["--only", "cockpits"])
    for extra in jobs:
        subprocess.run([sys.executable, __file__, "--child", *extra], check=True)


if __name__ == "__main__":
    main()
