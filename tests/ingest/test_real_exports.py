"""Whole engagements on real exports through the command line, as a new user runs them.

Maven CRM (tests/data/real/maven_crm): no contracts, no postal codes, no stage history, no
activities, USD. ``init --mapping maven-crm`` + ``run`` must end with exit status 0: the intake
derives revenue and customers from the won deals, territory (no postal codes), churn (nobody has
left yet) and channels (no activities or cost rates) are skipped with their reasons, every other
phase runs, and money is shown in USD.
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from salesanalytics import cli

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "data" / "real"


def _engagement(
    tmp: Path, name: str, source: Path, mapping: str, *init_args: str
) -> tuple[int, dict[str, Any]]:
    project = tmp / name
    assert (
        cli.main(
            [
                "init",
                str(project),
                "--source",
                str(source),
                "--mapping",
                mapping,
                "--client",
                name.title(),
                "--reports",
                str(tmp / "reports"),
                "--notebooks",
                str(ROOT / "notebooks"),
                *init_args,
            ]
        )
        == 0
    )
    code = cli.main(["run", "--config", str(project / "project.yaml"), "--quiet", "--workers", "2"])
    runs = sorted(p for p in (tmp / "reports").glob("*/2*") if p.is_dir())
    run_dir = runs[-1]
    man = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    return code, {"dir": run_dir, "manifest": man}


@pytest.fixture(scope="module")
def maven(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    code, out = _engagement(
        tmp_path_factory.mktemp("maven"), "maven", REAL / "maven_crm", "maven-crm"
    )
    out["code"] = code
    return out


def test_maven_runs_end_to_end_with_exit_status_0(maven: dict[str, Any]) -> None:
    assert maven["code"] == 0
    man = maven["manifest"]
    status = {n: p["status"] for n, p in man["phases"].items()}
    assert status == {
        "intake": "ran",
        "potential": "ran",
        "territory": "skipped",
        "territory_scenarios": "skipped",
        "portfolio": "ran",
        "churn": "skipped",
        "channels": "skipped",
        "funnel": "ran",
        "controlling": "ran",
        "compensation": "ran",
        "roles": "ran",
        "summary": "ran",
    }
    assert man["status"] == "finished"
    reasons = {n: p["reason"] for n, p in man["phases"].items()}
    assert "accounts.postal_code" in reasons["territory"]
    assert "former_customer" in reasons["churn"]
    assert "activities" in reasons["channels"] and "channel_rates" in reasons["channels"]
    cov = {p["phase"]: p["status"] for p in man["coverage"]["phases"]}
    assert cov["territory"] == "skipped" and cov["portfolio"] == "runs with limitations"


def test_maven_index_says_why_territory_is_skipped(maven: dict[str, Any]) -> None:
    page = (maven["dir"] / "index.html").read_text(encoding="utf-8")
    assert "What the data supports" in page
    section = page.split('id="phase-territory"', 1)[1].split("</section>", 1)[0]
    assert "sa-status-skipped" in section
    assert "Swiss billing postal code" in section


def test_maven_intake_names_its_derivations_with_rows(maven: dict[str, Any]) -> None:
    html = unescape((maven["dir"] / "client" / "intake.html").read_text(encoding="utf-8"))
    assert "Tables derived from others" in html
    assert "each of the 4'238 won deals is taken as a subscription of 12 months" in html
    import pandas as pd

    d = pd.read_parquet(maven["dir"] / "data" / "intake" / "derivations.parquet")
    assert d.set_index("name")["rows"].to_dict() == {
        "contracts_from_won_deals": 4238,
        "account_status_from_deals": 85,
        "account_owner_from_deals": 85,
    }


def test_maven_money_is_shown_in_usd_in_every_report(maven: dict[str, Any]) -> None:
    for name in ("potential", "portfolio", "funnel", "compensation"):
        text = (maven["dir"] / "client" / f"{name}.html").read_text(encoding="utf-8")
        text = re.sub(r"data:image/[^\"']+", "", text)  # embedded images are base64
        assert re.search(r"USD \d", text), name
        assert not re.search(r"CHF[ \d]", text), name


def test_maven_funnel_says_what_it_cannot_know(maven: dict[str, Any]) -> None:
    text = unescape((maven["dir"] / "client" / "funnel.html").read_text(encoding="utf-8"))
    assert "no stage history" in text and "2'473 lost deals" in text


@pytest.fixture(scope="module")
def maven_de(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    code, out = _engagement(
        tmp_path_factory.mktemp("maven_de"),
        "maven",
        REAL / "maven_crm",
        "maven-crm",
        "--language",
        "de",
    )
    out["code"] = code
    return out


def test_maven_in_german_says_what_is_missing_and_derived_in_german(
    maven_de: dict[str, Any],
) -> None:
    from german_checks import crm_words

    from salesanalytics.engagement.pipeline.audit import english_left

    assert maven_de["code"] == 0
    run = maven_de["dir"]
    # the coverage matrix, the skipped phases' reasons, the derivations, the data-quality table
    # and the role note: the paths a real export takes and the demo does not
    # the funnel's stage parameters (Salesforce's default stages) are shown in its parameter box
    stages = ["Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation"]
    left = english_left(run, allowed=[*crm_words(run), *stages])
    assert not left, "\n".join(left)
    index = unescape((run / "index.html").read_text(encoding="utf-8"))
    assert "Kanal-Mix übersprungen: " in index and "es fehlt Tabelle activities (0 Zeilen)" in index
    intake = unescape((run / "client" / "intake.html").read_text(encoding="utf-8"))
    assert "Der Export enthält keine Verträge: Jeder der 4'238 gewonnenen Abschlüsse" in intake
    assert "Kein Account hat im Export einen Betreuer" in intake
    assert "opportunities.account_id ist leer" in intake and "Fehlender Wert" in intake
    # a USD client's headlines are read by the consistency check: nothing to alert
    assert maven_de["manifest"]["consistency"]["status"] == "passed"


# ------------------------------------------------------------------- a flat customer extract
@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    code, out = _engagement(
        tmp_path_factory.mktemp("bank"), "bank", REAL / "bank_churn", "bank-churn"
    )
    out["code"] = code
    return out


def test_bank_extract_runs_churn_from_the_cli_and_skips_the_crm_phases(
    bank: dict[str, Any],
) -> None:
    assert bank["code"] == 0
    phases = bank["manifest"]["phases"]
    ran = {n for n, p in phases.items() if p["status"] == "ran"}
    assert ran == {"intake", "churn", "summary"}
    reasons = {n: p["reason"] for n, p in phases.items() if p["status"] == "skipped"}
    assert "contracts.mrr" in reasons["potential"]
    assert "accounts.owner_id" in reasons["portfolio"]
    assert "opportunities" in reasons["funnel"]
    d = bank["dir"] / "data" / "intake"
    import pandas as pd

    der = pd.read_parquet(d / "derivations.parquet")
    assert der["name"].tolist() == ["contracts_from_customer_extract"]
    assert "2,037 churned customers" in der["description"][0]


def test_bank_propensity_auc_matches_a_plain_logistic_regression(bank: dict[str, Any]) -> None:
    import numpy as np
    import pandas as pd

    from salesanalytics.analyses.churn import model as ch

    val = json.loads(
        (bank["dir"] / "data" / "churn" / "propensity_validation.json").read_text("utf-8")
    )
    assert val["method"] == "cross_validation" and val["folds"] == 5
    raw = pd.read_csv(REAL / "bank_churn" / "Churn_Modelling.csv")
    cov = ("CreditScore", "Geography", "Gender", "Age", "Balance", "NumOfProducts")
    cov += ("HasCrCard", "IsActiveMember", "EstimatedSalary")
    plain = np.mean(ch.cross_validated_auc(raw, ch.ModelConfig(event="Exited", covariates=cov)))
    assert val["auc"] == pytest.approx(plain, abs=0.01)
    assert val["auc"] == pytest.approx(0.77, abs=0.015)
    hr = pd.read_parquet(bank["dir"] / "data" / "churn" / "hazard_ratios.parquet")
    assert {"Age", "IsActiveMember", "Geography[Germany]"} <= set(hr["term"])


# ------------------------------------------------------------- invoice lines (Online Retail II)
def test_online_retail_invoices_run_through_the_shipped_mapping(tmp_path: Path) -> None:
    import pandas as pd

    code, out = _engagement(tmp_path, "retail", REAL / "online_retail_ii", "online-retail")
    assert code == 0
    phases = out["manifest"]["phases"]
    ran = {n for n, p in phases.items() if p["status"] == "ran"}
    assert ran == {"intake", "potential", "churn", "summary"}
    assert "status 'lost'" in phases["funnel"]["reason"]
    d = out["dir"] / "data" / "intake"
    der = pd.read_parquet(d / "derivations.parquet").set_index("name")
    assert der.loc["deals_from_invoice_lines", "rows"] == 405
    # a direct count on the raw lines: invoices of known customers, no cancellations, value > 0
    raw = pd.read_csv(
        REAL / "online_retail_ii" / "online_retail_II_6countries.csv", dtype={"Invoice": str}
    )
    raw = raw.drop_duplicates(subset=[c for c in raw.columns if c not in ("sheet", "Country")])
    raw = raw[raw["Customer ID"].notna() & ~raw["Invoice"].str.startswith("C")]
    value = (raw["Quantity"] * raw["Price"]).groupby(raw["Invoice"]).sum()
    assert (value > 0).sum() == 405
    opps = pd.read_parquet(d / "opportunities.parquet")
    assert opps["amount"].sum() == pytest.approx(value[value > 0].sum(), rel=1e-6)
    text = (out["dir"] / "client" / "potential.html").read_text(encoding="utf-8")
    assert "GBP " in text


def test_validate_prints_derivations_and_the_coverage_matrix(capsys) -> None:
    code = cli.main(["validate", "--source", str(REAL / "maven_crm"), "--mapping", "maven-crm"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Derived contracts (4,238 rows): The export has no contracts" in out
    assert "Coverage of the export" in out
    assert re.search(
        r"territory +SKIPPED\n +territory design: missing column accounts.postal_code", out
    )
    assert re.search(r"portfolio +limited", out)
