"""Loading whole exports: corrupted copies of a valid export, Maven's dirt, the demo, the CLI."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import MAVEN

from salesanalytics import cli
from salesanalytics.engagement import intake as run_intake
from salesanalytics.ingest import intake
from salesanalytics.ingest.validation import Problem


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write(
    path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8"
) -> None:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)


def _set(path: Path, row: int, column: str, value: str) -> None:
    """Set a cell; ``row`` is the spreadsheet row (header = 1)."""
    rows = _rows(path)
    rows[row - 1][rows[0].index(column)] = value
    _write(path, rows)


def _load(folder: Path, **kw) -> intake.IntakeResult:
    return intake.load_export(folder, raise_on_error=False, **kw)


def _problems(res: intake.IntakeResult, check: str) -> list[tuple]:
    p = res.report.problems
    p = p[p["check"] == check]
    return [
        tuple(None if pd.isna(v) else v for v in (r.severity, r.file, r.column, r.row, r.value))
        for r in p.itertuples()
    ]


def test_small_salesforce_export_is_valid(sf_export: Path) -> None:
    res = intake.load_export(sf_export)
    assert res.report.problems.empty
    assert {k: len(v) for k, v in res.tables.items()} == {
        "accounts": 4,
        "reps": 3,
        "products": 2,
        "contracts": 4,
        "opportunities": 5,
        "opportunity_stages": 4,
        "activities": 5,
        "channel_rates": 3,
    }
    assert res.as_of == pd.Timestamp("2024-12-20")
    o = res.tables["opportunities"].set_index("opportunity_id")
    assert o.loc["006O1", "created_date"] == pd.Timestamp("2024-01-10")
    assert list(o["status"]) == ["won", "won", "lost", "open", "won"]
    assert o.loc["006O4", "product_id"] == "01tS"  # the larger line item
    a = res.tables["accounts"].set_index("account_id")
    # Lausanne filled from postal code 1003
    assert (a.loc["001B", "municipality"], a.loc["001B", "canton"]) == ("Lausanne", "VD")
    fills = res.report.fills.set_index(["table", "field"])["filled"]
    assert fills[("accounts", "canton")] == 1 and fills[("reps", "home_latitude")] == 1
    acts = res.tables["activities"].set_index("activity_id")
    assert acts.loc["00TT1", "minutes"] == 15.0  # 900 seconds
    for name, df in res.tables.items():
        assert not any(c.startswith("_") for c in df.columns), name


def test_inputs_are_never_modified(sf_export: Path) -> None:
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sf_export.iterdir()}
    _load(sf_export, quarantine=True)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sf_export.iterdir()}
    assert before == after


def test_missing_column(sf_export: Path) -> None:
    rows = _rows(sf_export / "Opportunity.csv")
    i = rows[0].index("CloseDate")
    _write(sf_export / "Opportunity.csv", [r[:i] + r[i + 1 :] for r in rows])
    res = _load(sf_export)
    [p] = _problems(res, "missing_column")
    assert p == ("error", "Opportunity.csv", "CloseDate", None, None)
    assert "column CloseDate is missing" in str(intake.IntakeError(res.report))


def test_every_problem_at_once_with_file_column_row_value(sf_export: Path) -> None:
    _set(sf_export / "Opportunity.csv", 3, "Amount", "neun hundert")  # wrong type
    _set(sf_export / "Contract.csv", 4, "StartDate", "31.02.2022")  # not a date
    rows = _rows(sf_export / "Account.csv")
    _write(sf_export / "Account.csv", [*rows, rows[2]])  # duplicate of 001B in row 6
    _set(sf_export / "Account.csv", 3, "Type", "Partner")  # not an allowed value
    _set(sf_export / "Contract.csv", 3, "AccountId", "001X")  # orphan
    _set(sf_export / "Task.csv", 2, "OwnerId", "005NOBODY")  # orphan
    _set(sf_export / "Contract.csv", 5, "Cancellation_Date__c", "2020-12-31")  # end < start
    _set(sf_export / "Opportunity.csv", 2, "CloseDate", "05.01.2024")  # close < created
    _set(sf_export / "OpportunityHistory.csv", 4, "CreatedDate", "2024-10-01")  # stage < created
    _set(sf_export / "Contract.csv", 2, "MRR__c", "-89")  # negative
    _set(sf_export / "Event.csv", 3, "DurationInMinutes", "-45")  # negative
    res = _load(sf_export)
    assert _problems(res, "not_a_number") == [
        ("error", "Opportunity.csv", "Amount", 3, "neun hundert")
    ]
    assert _problems(res, "not_a_date") == [("error", "Contract.csv", "StartDate", 4, "31.02.2022")]
    assert _problems(res, "missing_value") == []  # the emptied start date is not reported twice
    assert _problems(res, "duplicate_id") == [("error", "Account.csv", "Id", 6, "001B")]
    assert _problems(res, "not_allowed") == [("error", "Account.csv", "Type", 3, "Partner")]
    assert _problems(res, "orphan_reference") == [
        ("error", "Contract.csv", "AccountId", 3, "001X"),
        ("error", "Task.csv", "OwnerId", 2, "005NOBODY"),
    ]
    # the value names both dates; the stage entered after the (wrong) close date follows
    assert _problems(res, "date_order") == [
        ("error", "Contract.csv", "Cancellation_Date__c", 5, "2020-12-31 (StartDate 2021-04-01)"),
        ("error", "Opportunity.csv", "CloseDate", 2, "2024-01-05 (CreatedDate 2024-01-10)"),
        (
            "error",
            "OpportunityHistory.csv",
            "CreatedDate",
            4,
            "2024-10-01 (opportunity created 2024-11-01)",
        ),
        (
            "warning",
            "OpportunityHistory.csv",
            "CreatedDate",
            2,
            "2024-01-10 (opportunity closed 2024-01-05)",
        ),
        (
            "warning",
            "OpportunityHistory.csv",
            "CreatedDate",
            3,
            "2024-01-31 (opportunity closed 2024-01-05)",
        ),
    ]
    assert _problems(res, "negative_value") == [
        ("error", "Contract.csv", "MRR__c", 2, "-89.0"),
        ("error", "Event.csv", "DurationInMinutes", 3, "-45.0"),
    ]
    assert res.report.n_errors == 11
    msgs = res.report.problems.groupby("check")["message"].first()
    assert msgs["duplicate_id"] == (
        "duplicate id in accounts.account_id (first seen in Account.csv row 3)"
    )
    assert msgs["orphan_reference"] == (
        "contracts.account_id refers to a accounts id that does not exist"
    )
    assert msgs["negative_value"] == "negative value (contracts.mrr must be at least 0)"
    hints = res.report.problems.groupby("check")["hint"].first()
    assert "Add a value translation" in hints["not_allowed"]
    text = res.report.to_text()
    assert (
        "ERROR: file Opportunity.csv, column Amount: cannot be read as a number "
        "(opportunities.amount) - row 3: 'neun hundert'"
    ) in text
    assert "Result: INVALID (11 errors)" in text
    err = intake.IntakeError(res.report)
    first = str(err).splitlines()[0]
    assert first.startswith("the export has 11 error(s), the first: file Account.csv, column Id")
    assert first.endswith("fix them, or load with quarantine=True to leave the invalid rows out.")


def test_unknown_postal_code_is_a_warning(sf_export: Path) -> None:
    _set(sf_export / "Account.csv", 3, "BillingPostalCode", "9999")
    res = intake.load_export(sf_export)  # warnings do not fail the load
    assert _problems(res, "unknown_postal_code") == [
        ("warning", "Account.csv", "BillingPostalCode", 3, "9999")
    ]
    assert res.report.ok


def test_unrecognised_delimiter_empty_and_header_only_files(sf_export: Path) -> None:
    (sf_export / "Product2.csv").write_text("Id#Name\n01tW#Website\n", encoding="utf-8")
    (sf_export / "Contract.csv").write_text("", encoding="utf-8")
    hdr = _rows(sf_export / "OpportunityHistory.csv")[0]
    _write(sf_export / "OpportunityHistory.csv", [hdr])
    res = _load(sf_export)
    un = res.report.problems.query("check == 'unreadable_file'").set_index("file")["message"]
    assert un["Product2.csv"].startswith("file Product2.csv: cannot recognise the column delimiter")
    assert un["Contract.csv"].startswith("file Contract.csv is empty")
    assert _problems(res, "no_rows") == [("warning", "OpportunityHistory.csv", None, None, None)]
    assert len(res.tables["opportunity_stages"]) == 0


def test_windows_1252_semicolon_export_with_decimal_commas(sf_export: Path) -> None:
    rows = _rows(sf_export / "Contract.csv")
    for r in rows[1:]:
        r[rows[0].index("MRR__c")] = r[rows[0].index("MRR__c")].replace(".", ",")
        r[rows[0].index("StartDate")] = pd.Timestamp(r[rows[0].index("StartDate")]).strftime(
            "%d.%m.%Y"
        )
    _write(sf_export / "Contract.csv", rows, delimiter=";", encoding="cp1252")
    acc = _rows(sf_export / "Account.csv")
    _write(sf_export / "Account.csv", acc, delimiter=";", encoding="cp1252")
    res = intake.load_export(sf_export)
    assert res.tables["accounts"]["name"].iloc[0] == "Bäckerei Müller GmbH"
    c = res.tables["contracts"].set_index("contract_id")
    assert c.loc["800B1", "mrr"] == 79.5
    assert c.loc["800B1", "start_date"] == pd.Timestamp("2022-05-01")
    files = res.report.files.set_index("file")
    assert (files.loc["Account.csv", "encoding"], files.loc["Contract.csv", "delimiter"]) == (
        "cp1252",
        ";",
    )


def test_malformed_row_is_an_error_with_its_line(sf_export: Path) -> None:
    with open(sf_export / "Task.csv", "a", encoding="utf-8") as fh:
        fh.write("00TT9,005R1\n")
    res = _load(sf_export)
    assert _problems(res, "malformed_row") == [("error", "Task.csv", None, 5, "00TT9,005R1")]


def test_quarantine_excludes_bad_rows_and_their_dependants(sf_export: Path) -> None:
    _set(sf_export / "Account.csv", 2, "Type", "Partner")  # account 001A becomes invalid
    _set(sf_export / "Task.csv", 3, "ActivityDate", "gestern")
    res = intake.load_export(sf_export, quarantine=True)
    assert res.report.ok
    ex = res.quarantined
    counts = ex.groupby("table").size().to_dict()
    # 001A's contracts (2), opportunities (2), its stage history (2), its activities (2), its
    # child account 001D (parent) and 001D's contract; plus the task with the bad date
    assert counts == {
        "accounts": 2,
        "contracts": 3,
        "opportunities": 2,
        "opportunity_stages": 2,
        "activities": 3,
    }
    first = ex[ex["table"] == "accounts"].iloc[0]
    assert (first["file"], first["row"]) == ("Account.csv", 2)
    assert "Type: value is not one of customer, prospect, former_customer" in first["reason"]
    assert "('Partner')" in first["reason"]
    assert (
        "refers to accounts 001A which was excluded"
        in ex[ex["table"] == "contracts"].iloc[0]["reason"]
    )
    assert len(res.tables["accounts"]) == 2 and "001A" not in set(
        res.tables["accounts"]["account_id"]
    )
    rc = res.report.row_counts.set_index("table")
    assert (rc.loc["contracts", "rows"], rc.loc["contracts", "excluded"]) == (1, 3)
    assert "Excluded rows: 12" in res.report.to_text()


def test_write_intake_keeps_planted_truths_out_of_the_client_data(
    sf_export: Path, tmp_path: Path
) -> None:
    (sf_export / "truth.json").write_text('{"x": 1}', encoding="utf-8")
    res = intake.load_export(sf_export)
    out = run_intake.write_intake(res, tmp_path / "out")
    for t in res.tables:
        back = pd.read_parquet(out / f"{t}.parquet")
        assert len(back) == len(res.tables[t])
    assert json.loads((out / "as_of.json").read_text()) == {"as_of": "2024-12-20"}
    # planted truths belong to the analyst (the run's analyst folder), not the client's data
    assert not (out / "truth.json").exists() and "truth.json" not in set(res.tables)
    assert (out / "quality.parquet").exists() and (out / "quality_files.parquet").exists()


def test_maven_dirt_is_counted_not_hidden() -> None:
    res = intake.load_export(MAVEN, mapping="maven-crm")
    o = res.tables["opportunities"]
    assert len(o) == 8800
    assert o["status"].value_counts().to_dict() == {"won": 4238, "lost": 2473, "open": 2089}
    rm = res.report.remappings.set_index(["column", "from_value"])["count"]
    assert rm[("product", "GTXPro")] == 1480
    assert rm[("sector", "technolgy")] == 12
    assert "GTXPro" not in set(o["product_id"])
    assert set(o["product_id"].dropna()) <= set(res.tables["products"]["product_id"])
    warn = res.report.problems.query("severity == 'warning'").groupby("field").size().to_dict()
    assert warn == {"account_id": 1425, "amount": 2089, "created_date": 500}
    assert res.report.n_errors == 0
    assert len(res.tables["accounts"]) == 85 and res.tables["accounts"]["postal_code"].isna().all()
    assert res.tables["accounts"]["company_revenue"].iloc[0] == pytest.approx(1100.04e6)
    assert res.as_of == pd.Timestamp("2017-12-31")


def test_demo_export_validates_with_zero_problems(demo_export: Path) -> None:
    res = intake.load_export(demo_export)
    assert res.report.problems.empty, res.report.to_text()
    truth = json.loads((demo_export / "truth.json").read_text(encoding="utf-8"))
    assert res.as_of == pd.Timestamp(truth["as_of"])
    assert len(res.tables["accounts"]) == 1500
    assert set(res.tables["activities"]["type"]) == {"visit", "call", "email", "online_session"}
    rows = {f: n for f, n in zip(res.report.files["file"], res.report.files["rows"], strict=True)}
    assert rows["Account.csv"] == 1500


def test_cli_validate_ok_and_errors(sf_export: Path, capsys, tmp_path: Path) -> None:
    assert cli.main(["validate", "--source", str(sf_export)]) == 0
    out = capsys.readouterr().out
    assert "Result: VALID" in out
    _set(sf_export / "Contract.csv", 3, "AccountId", "001X")
    assert cli.main(["validate", "--source", str(sf_export)]) == 1
    out = capsys.readouterr().out
    assert "ERROR: file Contract.csv, column AccountId: contracts.account_id refers to" in out
    assert "row 3: '001X'" in out and "hint: Add the missing row" in out
    q = tmp_path / "q.csv"
    assert cli.main(["validate", "--source", str(sf_export), "--quarantine", str(q)]) == 0
    back = pd.read_csv(q)
    assert list(back[["table", "file", "row"]].itertuples(index=False, name=None)) == [
        ("contracts", "Contract.csv", 3)
    ]


def test_cli_user_errors_have_no_traceback(tmp_path: Path, capsys) -> None:
    assert cli.main(["validate", "--source", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: export folder") and "Traceback" not in err
    tmp_path.joinpath("x.csv").write_text("a;b\n1;2\n", encoding="utf-8")
    assert cli.main(["validate", "--source", str(tmp_path), "--mapping", "nosuch"]) == 2
    assert "is neither a built-in mapping" in capsys.readouterr().err


def test_problem_text_names_everything() -> None:
    p = Problem(
        "error",
        "Account.csv",
        "accounts",
        "Id",
        7,
        "001",
        "duplicate_id",
        "duplicate id",
        "Remove the duplicate.",
    )
    assert p.text() == (
        "error: file Account.csv, column Id, row 7: duplicate id (value '001'). Remove the duplicate."
    )


def test_load_fails_with_the_full_report(tmp_path: Path) -> None:
    with pytest.raises(intake.IntakeError, match="contains no CSV, Excel or Parquet file") as exc:
        intake.load_export(tmp_path)
    assert exc.value.report.n_errors == 2  # no files at all, and no Account file
    assert "no Account file found for table accounts" in str(exc.value)


def test_excel_parquet_and_files_recognised_by_header(sf_export: Path) -> None:
    rows = _rows(sf_export / "Product2.csv")
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(sf_export / "Produkte.xlsx", index=False)
    (sf_export / "Product2.csv").unlink()
    rows = _rows(sf_export / "Channel_Cost_Rates.csv")
    pd.DataFrame(rows[1:], columns=rows[0]).to_parquet(sf_export / "Channel_Cost_Rates.parquet")
    (sf_export / "Channel_Cost_Rates.csv").unlink()
    (sf_export / "Opportunity.csv").rename(sf_export / "extract_2024.csv")
    res = intake.load_export(sf_export)
    assert res.report.problems.empty, res.report.to_text()
    files = res.report.files.set_index("file")
    assert files.loc["Produkte.xlsx", "table"] == "products"
    assert files.loc["Produkte.xlsx", "kind"] == "excel"
    assert files.loc["extract_2024.csv", "source"] == "Opportunity"
    assert files.loc["Channel_Cost_Rates.parquet", "kind"] == "parquet"
    assert res.tables["products"].set_index("product_id").loc["01tS", "list_price"] == 149.0
    assert len(res.tables["opportunities"]) == 5


def test_unknown_stage_is_one_note_per_value_with_its_count(sf_export: Path) -> None:
    _set(sf_export / "Opportunity.csv", 5, "StageName", "Verhandlung")
    _set(sf_export / "Opportunity.csv", 3, "StageName", "verhandlung")  # same value, any case
    _set(sf_export / "Opportunity.csv", 6, "StageName", "Angebot")
    res = _load(sf_export)
    assert res.report.ok  # a note, the funnel can still run
    p = res.report.problems
    notes = p[p["check"] == "unknown_value"]
    got = sorted(zip(notes["value"], notes["row"], notes["message"], strict=True))
    # one note per value (in any case), spelled as in its first row, with its count
    assert [(v, r) for v, r, _ in got] == [("Angebot", 6), ("verhandlung", 3)]
    assert [n.split("(")[-1] for _, _, n in got] == [
        "1 rows; the first is shown)",
        "2 rows; the first is shown)",
    ]
    assert set(notes["severity"]) == {"info"} and set(notes["column"]) == {"StageName"}
    # the values are kept as they are
    assert set(res.tables["opportunities"]["stage"]) >= {"Verhandlung", "Angebot"}


def test_control_characters_in_ids_and_text(sf_export: Path) -> None:
    _set(sf_export / "Contract.csv", 3, "AccountId", "001A\x00")
    _set(sf_export / "Account.csv", 2, "Name", "Bäckerei\x07 Müller GmbH")
    res = _load(sf_export)
    assert _problems(res, "control_character_in_id") == [
        ("error", "Contract.csv", "AccountId", 3, "001A\\x00")
    ]
    assert _problems(res, "orphan_reference") == []  # no misleading follow-on error
    assert _problems(res, "control_characters") == [
        ("warning", "Account.csv", "Name", 2, "Bäckerei\\x07 Müller GmbH")
    ]
    names = res.tables["accounts"].set_index("account_id")["name"]
    assert names["001A"] == "Bäckerei Müller GmbH"  # removed from the value
    assert "\x00" not in res.report.to_text() and "\x07" not in res.report.to_text()


def test_country_from_billing_country_sets_the_currency(sf_export: Path) -> None:
    acc = pd.read_csv(sf_export / "Account.csv", dtype=str, keep_default_na=False)
    acc["BillingCountry"] = "Deutschland"
    acc["BillingPostalCode"] = ["80331", "01067", "20095", "10115"]
    acc["BillingCity"] = acc["BillingState"] = acc["BillingLatitude"] = ""
    acc["BillingLongitude"] = ""
    acc.to_csv(sf_export / "Account.csv", index=False)
    res = intake.load_export(sf_export)
    a = res.tables["accounts"].set_index("account_id")
    assert a["country"].tolist() == ["DE"] * 4
    assert a.loc["001B", "municipality"] == "Dresden"  # leading zero kept
    assert a.loc["001A", "latitude"] == pytest.approx(48.14, abs=0.02)
    assert _problems(res, "unknown_postal_code") == []
    assert res.currency == "EUR" and res.countries == ["DE"]
    # the project's currency still wins; a mapping's own currency (Maven: USD) too
    assert intake.load_export(sf_export, currency="CHF").currency == "CHF"


def test_default_country_parameter(sf_export: Path) -> None:
    acc = pd.read_csv(sf_export / "Account.csv", dtype=str, keep_default_na=False)
    acc["BillingCountry"] = ""
    acc.to_csv(sf_export / "Account.csv", index=False)
    assert intake.load_export(sf_export).currency == "CHF"
    res = intake.load_export(sf_export, country="Österreich")
    assert res.country == "AT" and res.currency == "EUR"
    # Swiss codes read as Austrian: 3011 and 6900 exist in both countries, 1003 and 8004 not
    assert {r[4] for r in _problems(res, "unknown_postal_code")} == {"1003", "8004"}
    with pytest.raises(ValueError, match="country 'Frankreich' is not a country with"):
        intake.load_export(sf_export, country="Frankreich")


def test_ingest_imports_only_reference_and_errors() -> None:
    """The intake does not know the engagement: its caller hands it what it needs."""
    import ast

    import salesanalytics.ingest as pkg

    bad = []
    for path in Path(pkg.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if name.startswith("salesanalytics") and not name.startswith(
                    ("salesanalytics.ingest", "salesanalytics.reference", "salesanalytics.errors")
                ):
                    bad.append(f"{path.name}: {name}")
    assert bad == []


def test_read_headers_reports_an_empty_folder(tmp_path: Path) -> None:
    report = intake.ValidationReport()
    headers, paths = intake.read_headers(tmp_path, [], report)
    assert headers == {} and paths == {}
    assert list(report.problems["check"]) == ["no_files"]
