"""Benchmark of the portfolio and churn analyses at 20,000 and 1,000,000 customers.

Builds synthetic canonical tables (accounts, contracts, products, opportunities, potential, reps)
with numpy, then times each step of the two phases' package calls (what the notebooks run) and
reports seconds and the peak resident memory of the process. Each size runs in its own
subprocess so peaks do not mix.

Usage::

    .venv/bin/python bench/bench_portfolio_churn.py            # 20,000 and 1,000,000
    .venv/bin/python bench/bench_portfolio_churn.py --sizes 20000
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

AS_OF = pd.Timestamp("2026-06-30")


def synthetic(n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Canonical-shaped tables for ``n`` customer accounts (1-3 contracts each, 40 reps)."""
    rng = np.random.default_rng(seed)
    ids = pd.array([f"A{i:08d}" for i in range(n)], dtype="string")
    reps = pd.DataFrame(
        {
            "rep_id": pd.array([f"R{i:03d}" for i in range(40)], dtype="string"),
            "name": [f"Rep {i}" for i in range(40)],
            "role": ["key_account"] * 4 + ["field"] * 36,
            "team": [f"Team {i % 5}" for i in range(40)],
        }
    )
    owner = reps["rep_id"].to_numpy()[rng.integers(4, 40, n)]
    since = AS_OF - pd.to_timedelta(rng.integers(30, 5 * 365, n), unit="D")
    term = rng.choice([1, 12, 24, 36], n, p=[0.25, 0.4, 0.2, 0.15])
    auto = rng.random(n) < 0.6
    channel = rng.choice(["field", "tele", "online"], n)
    nprod = rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1])
    lin = np.log(np.select([term == 1, term == 36], [1.8, 0.6], 1.0)) + np.log(0.65) * auto
    t_months = 130 * (-np.log(rng.random(n)) / np.exp(lin)) ** (1 / 0.8)
    churn = since + pd.to_timedelta(np.round(t_months * 30.4375), unit="D")
    churned = churn <= AS_OF
    parent = np.where(rng.random(n) < 0.01, ids[rng.integers(0, n, n)], None)
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "name": pd.array([f"Firma {i}" for i in range(n)], dtype="string"),
            "owner_id": pd.array(owner, dtype="string"),
            "customer_since": since.astype("datetime64[ns]"),
            "parent_account_id": pd.array(parent, dtype="string"),
            "industry": rng.choice(["Retail", "Trades", "Health", "Tourism"], n),
        }
    )
    parts = []
    for k in range(3):
        has = nprod > k
        parts.append(
            pd.DataFrame(
                {
                    "contract_id": np.char.add(f"C{k}_", np.arange(n)[has].astype(str)),
                    "account_id": ids[has],
                    "product_id": f"P{k}",
                    "start_date": (since + pd.to_timedelta(5 * k, unit="D"))[has],
                    "end_date": pd.Series(churn).where(churned)[has].to_numpy(),
                    "term_months": term[has],
                    "auto_renewal": auto[has],
                    "mrr": rng.gamma(2, 60, has.sum()),
                    "channel": channel[has],
                }
            )
        )
    contracts = pd.concat(parts, ignore_index=True)
    contracts["end_date"] = pd.to_datetime(contracts["end_date"]).astype("datetime64[ns]")
    contracts["start_date"] = contracts["start_date"].astype("datetime64[ns]")
    products = pd.DataFrame(
        {
            "product_id": ["P0", "P1", "P2"],
            "product_group": ["website", "seo", "ads"],
            "launch_date": pd.to_datetime(["2018-01-01", "2019-01-01", "2025-01-01"]),
        }
    )
    n_opp = n // 2
    opportunities = pd.DataFrame(
        {
            "account_id": ids[rng.integers(0, n, n_opp)],
            "status": rng.choice(["won", "lost"], n_opp),
            "amount": rng.gamma(2, 800, n_opp),
            "close_date": AS_OF - pd.to_timedelta(rng.integers(0, 720, n_opp), unit="D"),
            "product_id": rng.choice(["P0", "P1", "P2"], n_opp),
        }
    )
    potential = pd.DataFrame({"account_id": ids, "potential_mrr": rng.lognormal(6, 0.6, n)})
    return {
        "accounts": accounts,
        "contracts": contracts,
        "products": products,
        "opportunities": opportunities,
        "potential": potential,
        "reps": reps,
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n: int) -> None:
    """Time every step at size ``n`` and print one line per step."""
    from salesanalytics.analyses.churn import model as ch
    from salesanalytics.analyses.portfolio import model as pf

    t = time.perf_counter()
    d = synthetic(n)
    print(f"n={n:>9,}  {'synthetic data':<34}{time.perf_counter() - t:7.2f} s")
    steps: list[tuple[str, float]] = []

    def step(name, fn):
        t0 = time.perf_counter()
        out = fn()
        steps.append((name, time.perf_counter() - t0))
        print(f"n={n:>9,}  {name:<34}{steps[-1][1]:7.2f} s   peak RSS {_peak_mb():8.0f} MB")
        return out

    # churn phase
    cust = step(
        "churn: customer table",
        lambda: ch.build_customer_table(
            d["contracts"], d["accounts"], AS_OF, products=d["products"]
        ),
    )
    step(
        "churn: retention summary",
        lambda: ch.retention_summary(
            d["contracts"], cust, AS_OF, 12, accounts=d["accounts"], products=d["products"]
        ),
    )
    step(
        "churn: Kaplan-Meier (3 splits)",
        lambda: [
            ch.km_curves(cust, by=b) for b in ("first_term", "channel", "first_product_group")
        ],
    )
    step("churn: Cox PHReg", lambda: ch.fit_cox(cust, ch.canonical_cox_config()))
    step(
        "churn: propensity out of time",
        lambda: ch.propensity_out_of_time(d["contracts"], cust, AS_OF),
    )
    step(
        "churn: sBG fit + projection",
        lambda: ch.sbg_projection(
            ch.fit_sbg(*ch.sbg_periods_from_customers(cust).to_numpy().T.astype(float)), 10
        ),
    )
    churn_total = sum(s for name, s in steps if name.startswith("churn"))
    # portfolio phase
    portfolio = pf.portfolio_from_owners(d["accounts"])
    m = step(
        "portfolio: account measures",
        lambda: pf.account_measures(
            portfolio,
            d["contracts"],
            AS_OF,
            potential=d["potential"],
            products=d["products"],
            opportunities=d["opportunities"],
            accounts=d["accounts"],
        ),
    )
    step("portfolio: segments + matrix", lambda: pf.matrix_summary(pf.segment_accounts(m)))
    step("portfolio: key accounts", lambda: pf.key_accounts(m, d["accounts"], d["reps"]))
    cat = pf.load_catalogue()
    teams = d["reps"].set_index("rep_id")["team"]
    step(
        "portfolio: KPIs rep + team + ranking",
        lambda: pf.fair_ranking(
            pf.compute_kpis(m, m["rep_id"], cat).pipe(
                lambda k: pd.concat([k, pf.compute_kpis(m, m["rep_id"].map(teams), cat, "team")])
            ),
            cat,
        ),
    )
    pf_total = sum(s for name, s in steps if name.startswith("portfolio"))
    print(
        f"n={n:>9,}  TOTAL churn {churn_total:.2f} s, portfolio {pf_total:.2f} s, "
        f"peak RSS {_peak_mb():.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run(args.one)
        return
    for n in args.sizes:
        subprocess.run([sys.executable, __file__, "--one", str(n)], check=True)


if __name__ == "__main__":
    main()
