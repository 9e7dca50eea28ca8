"""Potential estimation: known answers, planted-truth recovery on the demo, the Maven CRM data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesanalytics.analyses.potential import model as pt

AS_OF = "2026-06-30"


def _accounts(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Synthetic accounts: log MRR = 3 + 0.5 log(employees) + 0.3 [Retail] + noise."""
    rng = np.random.default_rng(seed)
    emp = rng.integers(1, 200, n)
    ind = rng.choice(["Retail", "Trades"], n)
    log_mrr = 3 + 0.5 * np.log(emp) + 0.3 * (ind == "Retail") + rng.normal(0, 0.4, n)
    acc = pd.DataFrame(
        {
            "account_id": pd.array([f"A{i}" for i in range(n)], dtype="string"),
            "status": np.where(np.arange(n) % 4 == 0, "prospect", "customer"),
            "employees": emp,
            "industry": ind,
            "postal_code": pd.array([pd.NA] * n, dtype="string"),
        }
    )
    rev = pd.Series(np.exp(log_mrr), index=acc["account_id"])[
        (acc["status"] == "customer").to_numpy()
    ]
    return acc, rev


def test_current_mrr_counts_only_contracts_active_at_the_date() -> None:
    c = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "b"],
            "start_date": pd.to_datetime(["2026-01-01", "2026-07-01", "2025-01-01", "2026-06-30"]),
            "end_date": pd.to_datetime([None, None, "2026-06-30", "2026-12-31"]),
            "mrr": [100.0, 50.0, 70.0, 30.0],
        }
    )
    assert pt.current_mrr(c, AS_OF).to_dict() == {"a": 100.0, "b": 30.0}
    with pytest.raises(KeyError, match=r"contracts lacks column\(s\) mrr"):
        pt.current_mrr(c.drop(columns="mrr"), AS_OF)


def test_quantile_regression_recovers_slope_and_level() -> None:
    acc, rev = _accounts(3000)
    res = pt.estimate_potential(acc, rev, quantile=0.8)
    coef = res.coefficients.set_index("term")["coef"]
    assert coef["log_employees"] == pytest.approx(0.5, abs=0.04)
    assert coef["C(industry)[T.Trades]"] == pytest.approx(-0.3, abs=0.06)
    # reference industry Retail: intercept = 3 + 0.3 + 0.8-quantile of N(0, 0.4)
    assert coef["Intercept"] == pytest.approx(3.3 + 0.4 * 0.8416, abs=0.08)
    a = res.accounts
    assert (a["potential_mrr"] >= a["current_mrr"]).all()
    assert np.allclose(a["white_space_mrr"], a["potential_mrr"] - a["current_mrr"])
    # about 20% of customers sit above the 0.8 quantile: their potential is their revenue
    share_capped = a.loc[a["status"] == "customer", "capped"].mean()
    assert share_capped == pytest.approx(0.2, abs=0.03)
    assert res.info["features"] == ["log_employees", "industry"]  # no postal codes: no urban


def test_missing_employees_are_imputed_and_counted() -> None:
    acc, rev = _accounts(400, seed=1)
    acc["employees"] = acc["employees"].astype("float64")
    acc.loc[:9, "employees"] = np.nan
    res = pt.estimate_potential(acc, rev)
    assert res.info["imputed"]["employees"] == 10
    assert res.accounts["potential_mrr"].notna().all()


def test_bad_input_is_reported() -> None:
    acc, rev = _accounts(100)
    with pytest.raises(ValueError, match="quantile must be between 0 and 1"):
        pt.estimate_potential(acc, rev, quantile=80)
    with pytest.raises(ValueError, match="unknown feature"):
        pt.estimate_potential(acc, rev, features=["turnover"])
    with pytest.raises(ValueError, match="only 0 account"):
        pt.estimate_potential(acc, rev.iloc[:0])
    with pytest.raises(KeyError, match="status"):
        pt.estimate_potential(acc.drop(columns="status"), rev)


def test_white_space_by_group_known_answer() -> None:
    potential = pd.DataFrame(
        {
            "account_id": ["c1", "c2", "p1"],
            "white_space_mrr": [100.0, 0.0, 60.0],
            "industry": ["x", "x", "x"],
            "size_band": ["1-4", "1-4", "1-4"],
        }
    )
    contracts = pd.DataFrame(
        {
            "account_id": ["c1", "c2", "c2"],
            "product_id": ["W", "W", "S"],
            "start_date": pd.to_datetime(["2025-01-01"] * 3),
            "end_date": pd.to_datetime([None, None, None]),
            "mrr": [50.0, 50.0, 100.0],
        }
    )
    products = pd.DataFrame({"product_id": ["W", "S"], "product_group": ["Website", "SEO"]})
    out = pt.white_space_by_group(potential, contracts, products, AS_OF, min_segment=1)
    got = out.set_index(["account_id", "product_group"])["white_space_mrr"].round(6).to_dict()
    # c1 holds Website, lacks SEO: all its white space is SEO. p1 holds nothing: split by
    # adoption x mix = Website 1.0 * 0.5, SEO 0.5 * 0.5 -> 2/3 and 1/3 of 60.
    assert got == {("c1", "SEO"): 100.0, ("p1", "SEO"): 20.0, ("p1", "Website"): 40.0}
    assert out.groupby("account_id")["white_space_mrr"].sum().to_dict() == pytest.approx(
        {"c1": 100.0, "p1": 60.0}
    )


def test_aggregate_potential_groups_missing_keys_as_unknown() -> None:
    df = pd.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "status": ["customer", "prospect", "customer"],
            "current_mrr": [10.0, 0.0, 30.0],
            "potential_mrr": [40.0, 20.0, 40.0],
            "white_space_mrr": [30.0, 20.0, 10.0],
            "canton": ["ZH", "ZH", None],
        }
    )
    agg = pt.aggregate_potential(df, "canton").set_index("canton")
    assert agg.loc["ZH", "n_accounts"] == 2 and agg.loc["ZH", "n_customers"] == 1
    assert agg.loc["ZH", "penetration"] == pytest.approx(10 / 60)
    assert agg.loc["unknown", "share_of_potential"] == pytest.approx(0.4)


# ------------------------------------------------------------------------------------------------
# planted truth of the demo client
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from salesanalytics.ingest import demo as dm
    from salesanalytics.ingest import intake

    out = tmp_path_factory.mktemp("pot") / "export"
    dm.generate(out, n_accounts=4000, seed=1)
    res = intake.load_export(out, mapping="salesforce")
    return {
        "tables": res.tables,
        "as_of": res.as_of,
        "truth": pd.read_parquet(out / "truth_accounts.parquet"),
        "truth_json": pd.read_json(out / "truth.json", typ="series"),
    }


def test_planted_potential_is_recovered(demo) -> None:
    t = demo["tables"]
    res = pt.estimate_potential(t["accounts"], pt.current_mrr(t["contracts"], demo["as_of"]))
    truth = demo["truth_json"]["potential"]
    table = res.coefficients.set_index("term")
    coef = table["coef"]
    # the planted effects lie inside the 95% intervals (about ±0.045 at ~1,400 customers)
    for term, key in (("log_employees", "elasticity_employees"), ("urban", "urban_effect")):
        assert table.loc[term, "lower"] <= truth[key] <= table.loc[term, "upper"], term
    assert coef["log_employees"] == pytest.approx(truth["elasticity_employees"], abs=0.05)
    # industry effects relative to the reference industry
    ref = sorted(truth["industry_effect"])[0]
    diffs = {
        k: v - truth["industry_effect"][ref]
        for k, v in truth["industry_effect"].items()
        if k != ref
    }
    est = {k: coef[f"C(industry)[T.{k}]"] for k in diffs}
    assert np.corrcoef(list(diffs.values()), list(est.values()))[0, 1] > 0.8
    metrics, cal = pt.recovery_report(res.accounts, demo["truth"])
    assert metrics["corr_log"] > 0.85
    assert metrics["calibration_slope"] == pytest.approx(1.0, abs=0.2)
    # calibrated up to a constant level: every decile has about the same estimate / truth ratio
    assert cal["ratio"].max() / cal["ratio"].min() < 1.2


def test_white_space_by_group_on_demo_sums_to_account_white_space(demo) -> None:
    t = demo["tables"]
    res = pt.estimate_potential(t["accounts"], pt.current_mrr(t["contracts"], demo["as_of"]))
    ws = pt.white_space_by_group(res.accounts, t["contracts"], t["products"], demo["as_of"])
    per = ws.groupby("account_id")["white_space_mrr"].sum()
    ref = res.accounts.set_index("account_id")["white_space_mrr"]
    assert np.allclose(per, ref.reindex(per.index))
    assert (
        not ws["held"].any()
        or ws.loc[ws["held"], "white_space_mrr"].sum() < ws["white_space_mrr"].sum()
    )
    assert pt.potential_findings(res)[0].startswith("Total monthly revenue potential: CHF")


# ------------------------------------------------------------------------------------------------
# real data: Maven CRM (B2B, USD, won deals as revenue)
# ------------------------------------------------------------------------------------------------


def test_runs_on_the_maven_crm_accounts() -> None:
    from salesanalytics.ingest import intake

    maven = Path(__file__).resolve().parents[2] / "data" / "real" / "maven_crm"
    res = intake.load_export(maven, mapping="maven-crm", quarantine=True)
    opp = res.tables["opportunities"]
    won = opp[(opp["status"] == "won") & opp["account_id"].notna()]
    revenue = won.groupby("account_id")["amount"].sum()
    out = pt.estimate_potential(res.tables["accounts"], revenue, quantile=0.8)
    assert out.info["features"] == ["log_employees", "industry"]
    assert out.info["n_fit"] == revenue.index.isin(res.tables["accounts"]["account_id"]).sum()
    assert (out.accounts["potential_mrr"] >= out.accounts["current_mrr"]).all()
    assert out.coefficients.set_index("term").loc["log_employees", "coef"] > 0


def test_model_summary_names_the_characteristics_in_words() -> None:
    from types import SimpleNamespace

    from salesanalytics.analyses.potential.model import model_summary

    res = SimpleNamespace(
        info={
            "n_fit": 1200,
            "n_excluded_fit": 3,
            "features": ["log_employees", "industry", "urban"],
            "imputed": {"industry": 5, "employees": 0},
        },
        accounts=pd.DataFrame({"account_id": range(2000)}),
    )
    text = model_summary(res)
    assert "Characteristics used: employees (log), industry, urban." in text
    assert "Missing values filled in: 5 × industry." in text and "log_employees" not in text
