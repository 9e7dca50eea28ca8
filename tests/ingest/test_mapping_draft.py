"""``salesanalytics mapping draft``: a commented mapping proposal from an export's headers."""

from __future__ import annotations

import shutil
from pathlib import Path

from salesanalytics import cli
from salesanalytics.ingest import intake
from salesanalytics.ingest.mapping import load_mapping
from salesanalytics.ingest.mapping_draft import draft_mapping

MAVEN = Path(__file__).resolve().parents[1] / "data" / "real" / "maven_crm"


def _maven(tmp_path: Path) -> Path:
    src = tmp_path / "maven"
    shutil.copytree(MAVEN, src, ignore=shutil.ignore_patterns("data_dictionary*"))
    return src


def test_draft_guesses_columns_types_and_values(tmp_path: Path) -> None:
    drafts = {d.table: d for d in draft_mapping(_maven(tmp_path))}
    assert set(drafts) == {"accounts", "reps", "products", "opportunities"}
    opp = {g.column: g for g in drafts["opportunities"].columns}
    assert drafts["opportunities"].file == "sales_pipeline.csv"
    assert opp["amount"].source == "close_value" and opp["close_date"].source == "close_date"
    assert (
        opp["created_date"].source == "engage_date" and "reads as dates" in opp["created_date"].note
    )
    assert opp["status"].values == {
        "Won": "won",
        "Lost": "lost",
        "Engaging": "open",
        "Prospecting": "open",
    }
    assert opp["type"].source is None  # nothing like it in the export: TODO
    acc = {g.column: g for g in drafts["accounts"].columns}
    assert acc["industry"].source == "sector" and acc["status"].source is None


def test_draft_cli_writes_yaml_that_validate_checks(tmp_path: Path, capsys) -> None:
    src = _maven(tmp_path)
    out = tmp_path / "draft.yaml"
    assert cli.main(["mapping", "draft", "--source", str(src), "-o", str(out)]) == 0
    assert "TODO(s) to resolve" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert "status: {source: TODO}  # TODO required: Relationship status." in text
    assert "amount: {source: close_value}  # name; 100% of the sample reads as numbers" in text
    load_mapping(out)  # a valid mapping file
    res = intake.load_export(src, out, raise_on_error=False)
    missing = res.report.problems
    todo = missing[missing["message"].str.startswith("column TODO is missing")]
    assert sorted(todo["message"]) == [
        "column TODO is missing (needed for accounts.status)",
        "column TODO is missing (needed for opportunities.type)",
        "column TODO is missing (needed for reps.role)",
    ]


def test_draft_like_a_vendor_prefers_its_names(tmp_path: Path) -> None:
    from ingest.test_vendor_mappings import HUBSPOT, _write

    src = _write(tmp_path / "hs", HUBSPOT)
    drafts = {d.table: d for d in draft_mapping(src, like="hubspot")}
    opp = {g.column: g for g in drafts["opportunities"].columns}
    assert drafts["opportunities"].file == "deals.csv"
    assert opp["account_id"].source == "associatedcompanyid"
    assert opp["status"].values == {"closedwon": "won", "closedlost": "lost"}
    assert opp["status"].unmatched_values == ["contractsent"]


def test_draft_of_invoice_lines_points_to_a_transactions_block() -> None:
    from salesanalytics.ingest.mapping_draft import render_yaml

    src = Path(__file__).resolve().parents[1] / "data" / "real" / "online_retail_ii"
    drafts = {d.table: d for d in draft_mapping(src)}
    opp = {g.column: g.source for g in drafts["opportunities"].columns}
    assert opp["opportunity_id"] == "Invoice" and opp["account_id"] == "Customer ID"
    assert opp["close_date"] == "InvoiceDate"
    assert drafts["opportunities"].repeated_ids > 10_000
    text = render_yaml(list(drafts.values()), "online-retail", str(src), None)
    assert "# TODO Invoice repeats on" in text and "a transactions: block instead" in text
