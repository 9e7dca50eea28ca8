"""Personal reports sorted into one folder per recipient."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from salesanalytics.engagement.pipeline.distribution import build_distribution, folder_name


def test_folder_names_stay_readable() -> None:
    assert folder_name("Team Zürich / Ostschweiz") == "Team Zuerich - Ostschweiz"
    assert folder_name("Léa Morel") == "Lea Morel"
    assert folder_name("../../etc") == "etc"


def test_each_rep_gets_their_pages_and_each_lead_the_team_view(tmp_path: Path) -> None:
    intake = tmp_path / "data" / "intake"
    intake.mkdir(parents=True)
    pd.DataFrame(
        {
            "rep_id": ["L1", "R1", "R2"],
            "name": ["Anna Keller", "Léa Morel", "Urs Meyer"],
            "role": ["team_lead", "field", "field"],
            "team": ["Team Zürich", "Team Zürich", "Team Zürich"],
            "manager_id": [None, "L1", "L1"],
        }
    ).to_parquet(intake / "reps.parquet")
    pages = {
        "client/controlling/R1.html": "cockpit R1",
        "client/controlling/R2.html": "cockpit R2",
        "client/controlling/Team-Zuerich.html": "team cockpit",
        "client/compensation/R1.html": "statement R1",
    }
    for rel, text in pages.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")

    def items(*hrefs: str) -> list[dict[str, str]]:
        return [{"label": h, "href": h, "error": ""} for h in hrefs]

    entities = {
        "controlling": [
            {"title": "Sales cockpit per rep", "param": "rep_id",
             "items": items("client/controlling/R1.html", "client/controlling/R2.html")},
            {"title": "Sales cockpit per team", "param": "team_id",
             "items": items("client/controlling/Team-Zuerich.html")},
        ],
        "compensation": [
            {"title": "Incentive statement", "param": "rep_id",
             "items": items("client/compensation/R1.html")},
        ],
    }  # fmt: skip
    res = build_distribution(tmp_path, entities)
    d = tmp_path / "distribution"
    assert sorted(p.name for p in (d / "Lea Morel").iterdir()) == [
        "Incentive statement.html",
        "Sales cockpit per rep.html",
    ]
    assert (d / "Lea Morel" / "Incentive statement.html").read_text() == "statement R1"
    assert sorted(p.name for p in (d / "Urs Meyer").iterdir()) == ["Sales cockpit per rep.html"]
    lead = d / "Anna Keller - Team Zuerich"
    assert sorted(p.name for p in lead.iterdir()) == [
        "Lea Morel - Incentive statement.html",
        "Lea Morel - Sales cockpit per rep.html",
        "Team Zuerich - Sales cockpit per team.html",
        "Urs Meyer - Sales cockpit per rep.html",
    ]
    assert res == {"recipients": 3, "pages": 7}
    overview = (d / "index.html").read_text(encoding="utf-8")
    assert 'href="Lea Morel/Incentive statement.html"' in overview
    assert build_distribution(tmp_path, {}) == {"recipients": 0, "pages": 0}
