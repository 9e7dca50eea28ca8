"""Client workbooks: words as headers, names beside ids, number formats, frozen header, widths."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd

from salesanalytics.analyses.territory import write_excel
from salesanalytics.present.excel import id_names, number_format, sheet_layout


def test_number_formats_follow_the_column_meaning() -> None:
    assert number_format("current_mrr", [1234.5, 3.0]) == "#,##0"
    assert number_format("utilisation", [0.71]) == "0.0%"
    assert number_format("n_accounts", [12, 3]) == "#,##0"
    assert number_format("fte", [0.8, 1.0]) == "#,##0.00"
    assert number_format("name", ["Anna"]) is None
    assert number_format("changed", [True]) is None


def test_workbook_shows_words_names_beside_ids_formats_and_a_frozen_header(tmp_path: Path) -> None:
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "name": ["Lea Widmer", "Urs Meyer"]})
    accounts = pd.DataFrame({"account_id": ["a1"], "name": ["=HYPERLINK(1)"]})
    names = id_names((reps, "rep_id", "name"), (accounts, "account_id", "name"))
    assignment = pd.DataFrame(
        {
            "account_id": ["a1", "a2"],
            "rep_id": ["R1", "R2"],
            "current_mrr": [1234.5, 99.0],
            "utilisation": [0.5, 1.25],
            "changed": [True, False],
        }
    )
    path = write_excel(tmp_path / "plan.xlsx", {"Assignment": assignment}, names=names)
    ws = openpyxl.load_workbook(path)["Assignment"]
    header = [c.value for c in ws[1]]
    assert header == [
        "Account ID",
        "Account",
        "Rep ID",
        "Rep",
        "MRR today (CHF)",
        "Utilisation",
        "Changed",
    ]
    row = ws[2]
    assert row[1].value == "'=HYPERLINK(1)" and row[1].data_type == "s"  # neutralised text
    assert row[3].value == "Lea Widmer"
    assert row[4].value == 1234.5 and row[4].number_format == "#,##0"
    assert row[5].number_format == "0.0%"
    assert row[6].value is True
    assert ws.freeze_panes == "A2"
    assert ws[1][0].font.bold
    assert ws.column_dimensions["B"].width >= len("=HYPERLINK(1)")


def test_layout_keeps_an_existing_name_column() -> None:
    df = pd.DataFrame({"rep_id": ["R1"], "rep_name": ["Lea"], "fte": [1.0]})
    lay = sheet_layout(df, {"R1": "Lea"})
    assert list(lay.frame.columns) == ["rep_id", "rep_name", "fte"]
    assert lay.labels == ["Rep ID", "Rep", "FTE"]
