"""Coverage matrix from the phases' declared needs (salesanalytics.engagement.coverage).

The matrix test removes each optional table of a small demo export in turn (with the tables that
only refer to it) and empties each optional column in turn, loads it through the intake
(derivations included) and checks that nothing raises and that every phase gets the status the
missing data implies. Full runs of such exports are in ``test_real_exports.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from salesanalytics.engagement import coverage
from salesanalytics.engagement import intake as run_intake
from salesanalytics.engagement.phases import all_phases
from salesanalytics.engagement.spec import Need, PhaseParams, PhaseSpec
from salesanalytics.ingest import intake
from salesanalytics.present import i18n

LIMITED, SKIPPED = "runs with limitations", "skipped"


def _phase(name: str, reads=(), needs=(), optional_reads=()) -> PhaseSpec:
    return PhaseSpec(
        name, f"{name}.ipynb", name.title(), reads, (), PhaseParams, (), 1.0, needs, optional_reads
    )


def _tables() -> dict[str, pd.DataFrame]:
    return {
        "accounts": pd.DataFrame(
            {"account_id": ["a", "b", "c"], "postal_code": [None, None, None],
             "status": ["customer", "customer", "former_customer"]}
        ),
        "contracts": pd.DataFrame({"contract_id": ["k1", "k2"], "mrr": [1.0, None]}),
    }  # fmt: skip


def test_requirements_count_rows_filled_values_and_values() -> None:
    t = _tables()
    assert coverage.count_requirement(t, "accounts") == 3
    assert coverage.count_requirement(t, "contracts.mrr") == 1
    assert coverage.count_requirement(t, "accounts.status=customer") == 2
    assert coverage.count_requirement(t, "accounts.postal_code") == 0
    assert coverage.count_requirement(t, "accounts.nonexistent") == 0
    assert coverage.count_requirement(t, "activities") == 0
    assert coverage.requirement_label("accounts.status=customer") == (
        "accounts with status 'customer'"
    )


def test_skipped_limited_and_runs_with_reasons_and_upstream() -> None:
    phases = [
        _phase("base", needs=(Need("core", requires=("accounts",)),)),
        _phase(
            "geo",
            ("base",),
            (Need("map", requires=("accounts.postal_code",), add="Map the postal code."),),
        ),
        _phase(
            "money",
            ("base",),
            (
                Need("revenue", requires=("contracts.mrr",)),
                Need("history", improves=("activities",), core=False, limitation="no trend"),
                Need(
                    "churn", requires=("accounts.status=former_customer",), min_rows=5, core=False
                ),
            ),
        ),
        _phase("needs_geo", ("geo",)),
        _phase("uses_geo", ("geo", "money"), optional_reads=(("geo", "today's owners"),)),
    ]
    cov = coverage.evaluate(phases, _tables())
    st = {p.phase: p.status for p in cov.phases}
    assert st == {
        "base": "runs",
        "geo": SKIPPED,
        "money": LIMITED,
        "needs_geo": SKIPPED,
        "uses_geo": LIMITED,
    }
    geo = cov.get("geo")
    assert geo.reason == (
        "map: missing column accounts.postal_code (0 filled values). Map the postal code."
    )
    money = {a.analysis: a for a in cov.get("money").analyses}
    assert money["history"].status == LIMITED
    assert money["history"].note == "without table activities (0 rows): no trend"
    assert money["churn"].status == SKIPPED
    assert "(1 rows, needs at least 5)" in money["churn"].note
    assert cov.get("needs_geo").reason == "needs “Geo”, which is skipped"  # the phase's title
    assert cov.get("uses_geo").reason == "Geo skipped: today's owners"
    assert cov.get("uses_geo").upstream == ["Geo skipped: today's owners"]
    # round trip through JSON (coverage.json, manifest) and the text / frame views
    again = coverage.Coverage.from_json(cov.to_json())
    assert again == cov
    text = cov.to_text()
    assert "geo                  SKIPPED" in text and "Map the postal code." in text
    assert "- Geo skipped: today's owners" in text
    frame = cov.frame()
    assert frame[frame["analysis"] == "whole phase"]["status"].tolist() == list(st.values())


def test_the_matrix_is_written_in_the_runs_language() -> None:
    real = {p.name: p for p in all_phases()}
    channels = PhaseSpec(
        "channels",
        "c.ipynb",
        real["channels"].title,
        (),
        (),
        PhaseParams,
        (),
        1.0,
        (Need("cost-to-serve per account and channel", requires=("activities",)),),
    )
    compensation = PhaseSpec(
        "compensation", "k.ipynb", real["compensation"].title, ("channels",), (), PhaseParams,
        (), 1.0, (), (("channels", dict(real["compensation"].optional_reads)["channels"]),),
    )  # fmt: skip
    i18n.set_language("de", "de-CH")
    try:
        cov = coverage.evaluate([channels, compensation], _tables())
    finally:
        i18n.set_language(None)
    assert "es fehlt Tabelle activities (0 Zeilen)" in cov.get("channels").reason
    assert cov.get("compensation").reason == cov.get("compensation").upstream[0]
    assert cov.get("compensation").upstream[0].startswith("Kanal-Mix übersprungen: Abschlüsse ")


# -------------------------------------------------------------------------------- demo matrix
OPP_FILES = ("Opportunity.csv", "OpportunityHistory.csv", "OpportunityLineItem.csv")

# case -> (mutation, {phase: status} for the phases that do not simply run, derivations)
CASES: dict[str, tuple[tuple, dict[str, str], list[str]]] = {
    "complete export": ((), {}, []),
    "no contracts": (
        ("remove", ("Contract.csv",)),
        {},
        ["contracts_from_won_deals", "account_status_from_deals"],
    ),
    "no opportunities": (
        ("remove", OPP_FILES),
        {
            "portfolio": LIMITED,
            "funnel": SKIPPED,
            "controlling": SKIPPED,
            "compensation": SKIPPED,
            "roles": LIMITED,
            "summary": LIMITED,
        },
        [],
    ),
    "no stage history": (("remove", ("OpportunityHistory.csv",)), {"funnel": LIMITED}, []),
    "no line items": (("remove", ("OpportunityLineItem.csv",)), {}, []),
    "no activities": (
        ("remove", ("Task.csv", "Event.csv")),
        {
            "territory": LIMITED,
            "territory_scenarios": LIMITED,
            "channels": SKIPPED,
            "portfolio": LIMITED,  # no channel split: the matrix decides who gets field visits
            "controlling": LIMITED,
            "compensation": LIMITED,  # deals credited to their owners: no routing
            "roles": LIMITED,
            "summary": LIMITED,
        },
        [],
    ),
    "no channel cost rates": (
        ("remove", ("Channel_Cost_Rates.csv",)),
        {
            "territory": LIMITED,  # designed on every account: no channel mix to leave any out
            "territory_scenarios": LIMITED,
            "channels": SKIPPED,
            "portfolio": LIMITED,  # no channel split: the matrix decides who gets field visits
            "controlling": LIMITED,
            "compensation": LIMITED,  # deals credited to their owners: no routing
            "roles": LIMITED,
            "summary": LIMITED,
        },
        [],
    ),
    "no postal codes": (
        ("empty", "Account.csv", "BillingPostalCode"),
        {
            "potential": LIMITED,
            "territory": SKIPPED,
            "territory_scenarios": SKIPPED,
            "portfolio": LIMITED,
            "compensation": LIMITED,
            "roles": LIMITED,
            "summary": LIMITED,
        },
        [],
    ),
    "no account owners": (
        ("empty", "Account.csv", "OwnerId"),
        {},
        ["account_owner_from_deals"],
    ),
    "no industry": (("empty", "Account.csv", "Industry"), {"potential": LIMITED}, []),
    "no employees": (("empty", "Account.csv", "NumberOfEmployees"), {"potential": LIMITED}, []),
    "no contract channel": (("empty", "Contract.csv", "Sales_Channel__c"), {"churn": LIMITED}, []),
    "no deal channel": (("empty", "Opportunity.csv", "Sales_Channel__c"), {"funnel": LIMITED}, []),
    "no rep home": (("empty", "User.csv", "PostalCode"), {"territory": LIMITED}, []),
    "no product groups": (
        ("empty", "Product2.csv", "Family"),
        {"potential": LIMITED, "portfolio": LIMITED},
        [],
    ),
}


def _mutate(folder: Path, mutation: tuple) -> None:
    if not mutation:
        return
    if mutation[0] == "remove":
        for f in mutation[1]:
            (folder / f).unlink()
    else:
        _, f, col = mutation
        df = pd.read_csv(folder / f, dtype=str, keep_default_na=False)
        df[col] = ""
        df.to_csv(folder / f, index=False)


@pytest.mark.parametrize("case", list(CASES))
def test_coverage_matrix_of_a_demo_export_with_a_gap(
    case: str, demo_export: Path, tmp_path: Path
) -> None:
    mutation, expected, derived = CASES[case]
    folder = tmp_path / "export"
    shutil.copytree(demo_export, folder)
    _mutate(folder, mutation)
    res = intake.load_export(folder, "salesforce")  # valid: no IntakeError
    cov = run_intake.export_coverage(res)
    got = {p.phase: p.status for p in cov.phases if p.status != "runs"}
    assert got == expected
    assert [d.name for d in res.derivations] == derived
    assert [p.phase for p in cov.phases] == [p.name for p in all_phases()]
    for p in cov.phases:  # a phase that does not simply run says why
        assert (p.status == "runs") == (p.reason == "")


def test_full_run_of_a_demo_export_with_several_gaps(demo_export: Path, tmp_path: Path) -> None:
    """No contracts, no activities, no stage history, no postal codes: the run ends with exit
    status 0, every phase the matrix does not skip runs, and the skipped ones say why."""
    import json

    from salesanalytics import cli

    folder = tmp_path / "export"
    shutil.copytree(demo_export, folder)
    for f in ("Contract.csv", "Task.csv", "Event.csv", "OpportunityHistory.csv"):
        (folder / f).unlink()
    _mutate(folder, ("empty", "Account.csv", "BillingPostalCode"))
    root = Path(__file__).resolve().parents[2]
    project = tmp_path / "gaps"
    args = ["init", str(project), "--source", str(folder), "--reports", str(tmp_path / "r")]
    assert cli.main([*args, "--notebooks", str(root / "notebooks")]) == 0
    code = cli.main(["run", "--config", str(project / "project.yaml"), "-q", "--workers", "2"])
    run_dir = next(p for p in (tmp_path / "r").glob("*/2*") if p.is_dir())
    man = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert code == 0, {n: p.get("error") for n, p in man["phases"].items() if p.get("error")}
    status = {n: p["status"] for n, p in man["phases"].items()}
    skipped = {n for n, s in status.items() if s == "skipped"}
    assert skipped == {"territory", "territory_scenarios", "channels"}
    assert all(s == "ran" for n, s in status.items() if n not in skipped)
    cov = {p["phase"]: p["status"] for p in man["coverage"]["phases"]}
    assert {n for n, s in cov.items() if s == SKIPPED} == skipped
    assert cov["funnel"] == LIMITED and cov["portfolio"] == LIMITED
