"""The intake phase's report tables (salesanalytics.engagement.intake)."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesanalytics.engagement import intake as run_intake
from salesanalytics.ingest.intake import load_export
from salesanalytics.present import i18n

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


@pytest.fixture(scope="module")
def maven_report():
    return load_export(REAL / "maven_crm", "maven-crm", raise_on_error=False).report


def test_the_data_quality_table_is_in_the_runs_language(maven_report) -> None:
    english = run_intake.problem_table(maven_report)
    gap = english[english["message"] == "opportunities.account_id is empty"].iloc[0]
    assert gap["check"] == "Missing value"
    assert gap["hint"].startswith("Known gap of this export")
    assert gap["examples"].startswith("row ")
    i18n.set_language("de", "de-CH")
    try:
        german = run_intake.problem_table(maven_report)
    finally:
        i18n.set_language(None)
    row = german.loc[gap.name]
    assert row["message"] == "opportunities.account_id ist leer"  # names as in the data
    assert row["check"] == "Fehlender Wert"
    assert row["hint"].startswith("Bekannte Lücke dieses Exports")
    assert row["examples"].startswith("Zeile ") and row["count"] == gap["count"]
    assert list(german.columns) == list(english.columns)


def test_every_check_has_a_label_for_the_reader() -> None:
    import re

    src = (Path(run_intake.__file__).parents[1] / "ingest").rglob("*.py")
    checks = set()
    for path in src:
        checks |= set(re.findall(r'check="([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert checks and not checks - set(run_intake.CHECK_LABELS)
