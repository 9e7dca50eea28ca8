"""The whole engagement in German (``--set language=de``) on the small demo client.

One run of every phase (module fixture, the session's 1,500-account demo export, Swiss German:
``de-CH``, the lightest search and simulation settings: one alternative territory count, one extra
continuity weight, 100 simulated years), then:

* every phase ran and the shared figures agree (the consistency check reads the German
  headlines through the German patterns of ``config/shared_figures.yaml``);
* no English is left on a client page, a per-rep page or the client's part of the index: the
  visible text is scanned for English words and phrases (``audit.ENGLISH_PHRASES``); CRM data
  (names, product groups, stage names, industries, places) may hold English and is allowed;
* Swiss usage: no ß on any page; amounts in Swiss format (``CHF 1'234``);
* the client's deliverables are German too (Excel sheet names).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from german_checks import crm_words

from salesanalytics.engagement.phases import all_phases
from salesanalytics.engagement.pipeline.audit import _Page, english_left
from salesanalytics.engagement.pipeline.config import init_project, load_project
from salesanalytics.engagement.pipeline.runner import options_from_project, run_pipeline

NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"


@pytest.fixture(scope="module")
def german_run(demo_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("project-de")
    init_project(
        project,
        source=demo_export,
        phases=all_phases(),
        client="Digitalwerk Schweiz AG (demo)",
        slug="demo-de",
        reports=project / "reports",
        notebooks=NOTEBOOKS,
    )
    cfg = load_project(
        project,
        all_phases(),
        # the lightest settings that still run every phase and every kind of text: the English
        # figures are checked by test_demo_run; here the words count, not the search effort
        overrides=[
            "language=de",
            "compensation.n_scenarios=100",
            "territory.search_passes=2",
            "territory_scenarios.search_passes=1",
            "territory_scenarios.scenario_offsets=[2]",
            "territory_scenarios.pareto_weights=[0.0]",
        ],
    )
    # one worker: the test shares the machine with the rest of the suite
    res = run_pipeline(options_from_project(cfg, all_phases(), quiet=True, workers=1))
    failed = {n: r.error for n, r in res.phases.items() if r.status not in {"ran", "reused"}}
    assert not failed, failed
    return res.run_dir


def _manifest(run: Path) -> dict[str, Any]:
    return json.loads((run / "manifest.json").read_text(encoding="utf-8"))


def test_the_german_engagement_is_complete_and_its_figures_agree(german_run: Path) -> None:
    settings = json.loads((german_run / "data" / "intake" / "settings.json").read_text())
    assert (settings["language"], settings["locale"]) == ("de", "")
    check = _manifest(german_run)["consistency"]
    bad = {f["id"]: f["message"] for f in check["figures"] if f["status"] in {"mismatch", "error"}}
    assert not bad, bad
    index = (german_run / "index.html").read_text(encoding="utf-8")
    assert '<html lang="de">' in index and "Management-Zusammenfassung" in index


def test_no_english_is_left_in_the_client_pages(german_run: Path) -> None:
    left = english_left(german_run, allowed=crm_words(german_run))
    assert left == [], f"{len(left)} English phrase(s) left:\n" + "\n".join(left[:60])


def test_swiss_german_has_no_sharp_s_and_swiss_amounts(german_run: Path) -> None:
    pages = [german_run / "index.html", *sorted((german_run / "client").rglob("*.html"))]
    for path in pages:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        text = " ".join(page.text)
        assert "ß" not in text, path.name
    summary = (german_run / "client" / "summary.html").read_text(encoding="utf-8")
    assert "CHF " in summary and "Mio." in summary


def test_the_deliverables_speak_german(german_run: Path) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(german_run / "data" / "territory" / "territory_plan.xlsx", read_only=True)
    assert "Gebiete" in wb.sheetnames
