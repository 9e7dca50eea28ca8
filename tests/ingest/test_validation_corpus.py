"""A corpus of corrupted exports: one defect each, generated from a small demo export.

Every case runs ``salesanalytics validate`` in-process (the console entry point) and checks the
verdict (exit code 1 for an error, 0 for a warning or a note), that the summary names the
expected file, column, row and value, that nothing is printed raw (no traceback, no NUL byte) and
that the input files are byte-identical afterwards. The rules are documented in
``docs/validation.md``.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from salesanalytics import cli
from salesanalytics.ingest import intake

FUTURE = "2098-05-04"  # after the day of any test run, inside the plausible range


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo export of 150 accounts (generated once for the module)."""
    from salesanalytics.ingest import demo

    out = tmp_path_factory.mktemp("corpus") / "export"
    demo.generate(out, n_accounts=150, seed=11)
    return out


# --------------------------------------------------------------------------------------------
# editing helpers: every edit returns the spreadsheet row it changed (header = row 1)


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _set(d: Path, file: str, column: str, value: str, row: int = 5) -> int:
    rows = _rows(d / file)
    rows[row - 1][rows[0].index(column)] = value
    _write(d / file, rows)
    return row


def _first(d: Path, file: str, pred: Callable[[dict[str, str]], bool]) -> int:
    rows = _rows(d / file)
    for i, r in enumerate(rows[1:], start=2):
        if pred(dict(zip(rows[0], r, strict=True))):
            return i
    raise AssertionError(f"no row of {file} fits")  # pragma: no cover


def _cell(d: Path, file: str, column: str, row: int) -> str:
    rows = _rows(d / file)
    return rows[row - 1][rows[0].index(column)]


def _stage_out_of_order(d: Path) -> int:
    """Move the closing stage of a won deal before its other stages (after creation)."""
    hist = _rows(d / "OpportunityHistory.csv")
    h = hist[0]
    opp, stage, at = h.index("OpportunityId"), h.index("StageName"), h.index("CreatedDate")
    by_opp: dict[str, list[int]] = {}
    for i, r in enumerate(hist[1:], start=1):
        by_opp.setdefault(r[opp], []).append(i)
    for idx in by_opp.values():
        stages = [hist[i][stage] for i in idx]
        if len(idx) >= 3 and stages[-1] == "Closed Won":
            dates = sorted(hist[i][at] for i in idx)
            if dates[0] < dates[1]:
                hist[idx[-1]][at] = dates[0]
                _write(d / "OpportunityHistory.csv", hist)
                later = [i for i in idx[:-1] if hist[i][at] > dates[0]]
                return min(later) + 1
    raise AssertionError("no won deal with three stages")  # pragma: no cover


def _header_only(d: Path, file: str) -> None:
    _write(d / file, _rows(d / file)[:1])


def _drop_column(d: Path, file: str, column: str) -> None:
    rows = _rows(d / file)
    i = rows[0].index(column)
    _write(d / file, [r[:i] + r[i + 1 :] for r in rows])


def _to_excel(d: Path, file: str, column: str, value: object, row: int = 5) -> int:
    """Replace ``file`` by an Excel workbook with ``value`` (a real Excel date, ...) in one cell."""
    import openpyxl

    rows = _rows(d / file)
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    ws.cell(row=row, column=rows[0].index(column) + 1, value=value)
    wb.save(d / file.replace(".csv", ".xlsx"))
    (d / file).unlink()
    return row


def _to_parquet(d: Path, file: str, column: str, value: object, row: int = 5) -> int:
    """Replace ``file`` by a Parquet file whose ``column`` is a date column holding ``value``;
    Parquet has no header row: the first data row is row 1."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _rows(d / file)
    cols = {h: [r[i] or None for r in rows[1:]] for i, h in enumerate(rows[0])}
    dates = [dt.date.fromisoformat(v) if v else None for v in cols[column]]
    dates[row - 2] = value
    table = pa.table(
        {h: (pa.array(dates, pa.date32()) if h == column else pa.array(v, pa.string()))
         for h, v in cols.items()}
    )  # fmt: skip
    pq.write_table(table, d / file.replace(".csv", ".parquet"))
    (d / file).unlink()
    return row - 1


def _junk(d: Path, name: str, data: bytes, remove: str) -> None:
    (d / remove).unlink()
    (d / name).write_bytes(data)


# --------------------------------------------------------------------------------------------
# the corpus


@dataclass(frozen=True)
class Case:
    """One defect and what the summary must say about it.

    ``edit`` changes the export and returns the row it changed (or ``None``); ``value`` is the
    value as shown (``None``: not checked; a callable gets the export folder and the row)."""

    edit: Callable[[Path], int | None]
    severity: str  # error / warning / info
    file: str | None
    column: str | None
    message: str
    value: str | None = None
    row: bool = True


def _c(*args, **kwargs) -> Case:
    return Case(*args, **kwargs)


CASES: dict[str, Case] = {
    # dates pandas cannot hold, and implausible dates
    "close date in 2999": _c(
        lambda d: _set(d, "Opportunity.csv", "CloseDate", "2999-12-31"),
        "error", "Opportunity.csv", "CloseDate", "date outside 01.01.1900-31.12.2099",
        "2999-12-31",
    ),
    "created date in year 201": _c(
        lambda d: _set(d, "Opportunity.csv", "CreatedDate", "0201-05-04"),
        "error", "Opportunity.csv", "CreatedDate", "date outside", "0201-05-04",
    ),
    "contract start 31.12.9999": _c(
        lambda d: _set(d, "Contract.csv", "StartDate", "31.12.9999"),
        "error", "Contract.csv", "StartDate", "date outside", "31.12.9999",
    ),
    "activity in 1850": _c(
        lambda d: _set(d, "Task.csv", "ActivityDate", "1850-01-01"),
        "error", "Task.csv", "ActivityDate", "date outside", "1850-01-01",
    ),
    "stage date 2999 with time zone": _c(
        lambda d: _set(d, "OpportunityHistory.csv", "CreatedDate", "2999-01-01T10:00:00.000Z"),
        "error", "OpportunityHistory.csv", "CreatedDate", "date outside",
        "2999-01-01T10:00:00.000Z",
    ),
    "hire date 1.1.2999": _c(
        lambda d: _set(d, "User.csv", "Hire_Date__c", "1.1.2999"),
        "error", "User.csv", "Hire_Date__c", "date outside", "1.1.2999",
    ),
    "Excel workbook with a close date in 2999": _c(
        lambda d: _to_excel(d, "Opportunity.csv", "CloseDate", __import__("datetime").datetime(2999, 12, 31)),
        "error", "Opportunity.xlsx", "CloseDate", "date outside", "2999-12-31T00:00:00",
    ),
    "Parquet file with a contract term ending in the year 999": _c(
        lambda d: _to_parquet(d, "Contract.csv", "EndDate", __import__("datetime").date(999, 1, 1)),
        "error", "Contract.parquet", "EndDate", "date outside", "0999-01-01T00:00:00",
    ),
    "corrupted Excel workbook": _c(
        lambda d: _junk(d, "Product2.xlsx", b"PK\x03\x04" + b"garbage" * 100, "Product2.csv"),
        "error", "Product2.xlsx", None, "cannot be read as an Excel workbook", row=False,
    ),
    "corrupted Parquet file": _c(
        lambda d: _junk(d, "Event.parquet", b"PAR1" + b"garbage" * 100, "Event.csv"),
        "error", "Event.parquet", None, "cannot be read as a Parquet file", row=False,
    ),
    "month 13": _c(
        lambda d: _set(d, "Event.csv", "ActivityDate", "2024-13-45"),
        "error", "Event.csv", "ActivityDate", "cannot be read as a date", "2024-13-45",
    ),
    "customer since 'yesterday'": _c(
        lambda d: _set(d, "Account.csv", "Customer_Since__c", "yesterday"),
        "error", "Account.csv", "Customer_Since__c", "cannot be read as a date", "yesterday",
    ),
    # impossible date orders
    "contract term ends before start": _c(
        lambda d: _set(d, "Contract.csv", "EndDate", "1999-01-31"),
        "error", "Contract.csv", "EndDate", "contract term ends before it starts",
        lambda d, r: f"1999-01-31 (StartDate {_cell(d, 'Contract.csv', 'StartDate', r)})",
    ),
    "contract cancelled before start": _c(
        lambda d: _set(d, "Contract.csv", "Cancellation_Date__c", "2001-02-03"),
        "error", "Contract.csv", "Cancellation_Date__c", "contract is cancelled before it starts",
        lambda d, r: f"2001-02-03 (StartDate {_cell(d, 'Contract.csv', 'StartDate', r)})",
    ),
    "opportunity closed before created": _c(
        lambda d: _set(d, "Opportunity.csv", "CloseDate", "2000-01-01"),
        "error", "Opportunity.csv", "CloseDate", "opportunity closes before it was created",
        lambda d, r: f"2000-01-01 (CreatedDate {_cell(d, 'Opportunity.csv', 'CreatedDate', r)})",
    ),
    "opportunity created in the future": _c(
        lambda d: _set(d, "Opportunity.csv", "CreatedDate", FUTURE),
        "error", "Opportunity.csv", "CreatedDate", "opportunity created in the future", FUTURE,
    ),
    "won opportunity closed in the future": _c(
        lambda d: _set(
            d, "Opportunity.csv", "CloseDate", FUTURE,
            _first(d, "Opportunity.csv", lambda r: r["IsWon"] == "true"),
        ),
        "warning", "Opportunity.csv", "CloseDate", "closed in the future", FUTURE,
    ),
    "stage entered before the opportunity was created": _c(
        lambda d: _set(d, "OpportunityHistory.csv", "CreatedDate", "2001-01-01"),
        "error", "OpportunityHistory.csv", "CreatedDate",
        "stage entered before the opportunity was created",
    ),
    "stage entered in the future": _c(
        lambda d: _set(d, "OpportunityHistory.csv", "CreatedDate", FUTURE),
        "error", "OpportunityHistory.csv", "CreatedDate", "stage entered in the future",
        FUTURE,
    ),
    "stage history out of order": _c(
        _stage_out_of_order,
        "warning", "OpportunityHistory.csv", "CreatedDate", "stage history out of order",
    ),
    "task in the future": _c(
        lambda d: _set(d, "Task.csv", "ActivityDate", FUTURE),
        "warning", "Task.csv", "ActivityDate", "activity dated in the future", FUTURE,
    ),
    "event in the future": _c(
        lambda d: _set(d, "Event.csv", "ActivityDate", FUTURE),
        "warning", "Event.csv", "ActivityDate", "activity dated in the future", FUTURE,
    ),
    "customer since a future date": _c(
        lambda d: _set(
            d, "Account.csv", "Customer_Since__c", FUTURE,
            _first(d, "Account.csv", lambda r: r["Customer_Since__c"] != ""),
        ),
        "warning", "Account.csv", "Customer_Since__c", "customer since a date in the future",
        FUTURE,
    ),
    "customer since after the first contract": _c(
        lambda d: _set(
            d, "Account.csv", "Customer_Since__c", "2026-06-29",
            _first(d, "Account.csv", lambda r: "2020" < r["Customer_Since__c"] < "2026"),
        ),
        "warning", "Account.csv", "Customer_Since__c",
        "customer since a date after the account's first contract started",
    ),
    # text: NUL and control characters, any length
    "NUL in an unread task text": _c(
        lambda d: _set(d, "Task.csv", "Subject", "Call\x00back"),
        "warning", "Task.csv", "Subject", "NUL bytes in a column the analyses do not read",
        "Call\\x00back",
    ),
    "NUL in an account name": _c(
        lambda d: _set(d, "Account.csv", "Name", "Bäckerei\x00 Müller"),
        "warning", "Account.csv", "Name", "text contains control characters",
        "Bäckerei\\x00 Müller",
    ),
    "bell character in a team name": _c(
        lambda d: _set(d, "User.csv", "Department", "Team\x07 Ost"),
        "warning", "User.csv", "Department", "text contains control characters",
        "Team\\x07 Ost",
    ),
    "NUL in a referenced id": _c(
        lambda d: _set(
            d, "Opportunity.csv", "AccountId", _cell(d, "Opportunity.csv", "AccountId", 5) + "\x00"
        ),
        "error", "Opportunity.csv", "AccountId", "id contains control characters",
        lambda d, r: _cell(d, "Opportunity.csv", "AccountId", r).replace("\x00", "\\x00"),
    ),
    "NUL in a primary key": _c(
        lambda d: _set(d, "Account.csv", "Id", "\x00" + _cell(d, "Account.csv", "Id", 5)),
        "error", "Account.csv", "Id", "id contains control characters",
    ),
    "200 KiB description in the first MiB": _c(
        lambda d: _set(d, "Task.csv", "Subject", "pasted e-mail " * 15_000, row=2),
        "ok", None, None, "",
    ),
    "200 KiB account name": _c(
        lambda d: _set(d, "Account.csv", "Name", "A" * 200_000),
        "info", "Account.csv", "Name", "text longer than 32'767 characters",
    ),
    # picklists
    "unknown StageName": _c(
        lambda d: _set(d, "Opportunity.csv", "StageName", "Verhandlung"),
        "info", "Opportunity.csv", "StageName", "unknown value of opportunities.stage",
        "Verhandlung",
    ),
    "unknown stage in the history": _c(
        lambda d: _set(d, "OpportunityHistory.csv", "StageName", "Angebot"),
        "info", "OpportunityHistory.csv", "StageName", "unknown value of opportunity_stages",
        "Angebot",
    ),
    "account type Partner": _c(
        lambda d: _set(d, "Account.csv", "Type", "Partner"),
        "error", "Account.csv", "Type", "value is not one of", "Partner",
    ),
    "opportunity type Barter": _c(
        lambda d: _set(d, "Opportunity.csv", "Type", "Barter"),
        "error", "Opportunity.csv", "Type", "value is not one of", "Barter",
    ),
    "task subtype Fax": _c(
        lambda d: _set(d, "Task.csv", "TaskSubtype", "Fax"),
        "error", "Task.csv", "TaskSubtype", "value is not one of", "Fax",
    ),
    "event channel Carrier Pigeon": _c(
        lambda d: _set(d, "Event.csv", "Channel__c", "Carrier Pigeon"),
        "error", "Event.csv", "Channel__c", "value is not one of", "Carrier Pigeon",
    ),
    "sales role CEO": _c(
        lambda d: _set(d, "User.csv", "Sales_Role__c", "CEO"),
        "error", "User.csv", "Sales_Role__c", "value is not one of", "CEO",
    ),
    # numbers
    "amount with letters": _c(
        lambda d: _set(d, "Opportunity.csv", "Amount", "12abc"),
        "error", "Opportunity.csv", "Amount", "cannot be read as a number", "12abc",
    ),
    "negative MRR": _c(
        lambda d: _set(d, "Contract.csv", "MRR__c", "-50"),
        "error", "Contract.csv", "MRR__c", "negative value", "-50.0",
    ),
    "FTE of 7": _c(
        lambda d: _set(d, "User.csv", "FTE__c", "7"),
        "error", "User.csv", "FTE__c", "value too large", "7.0",
    ),
    "latitude 123": _c(
        lambda d: _set(d, "Account.csv", "BillingLatitude", "123"),
        "error", "Account.csv", "BillingLatitude", "value too large", "123.0",
    ),
    "contract term 12.5 months": _c(
        lambda d: _set(d, "Contract.csv", "ContractTerm", "12.5"),
        "error", "Contract.csv", "ContractTerm", "cannot be read as a whole number", "12.5",
    ),
    "infinite duration": _c(
        lambda d: _set(d, "Event.csv", "DurationInMinutes", "inf"),
        "error", "Event.csv", "DurationInMinutes", "cannot be read as a number", "inf",
    ),
    "employees 1e400": _c(
        lambda d: _set(d, "Account.csv", "NumberOfEmployees", "1e400"),
        "error", "Account.csv", "NumberOfEmployees", "cannot be read as a whole number", "1e400",
    ),
    "postal code 99999": _c(
        lambda d: _set(d, "Account.csv", "BillingPostalCode", "99999"),
        "warning", "Account.csv", "BillingPostalCode", "not a Swiss postal code", "99999",
    ),
    # structure
    "header-only Account.csv": _c(
        lambda d: _header_only(d, "Account.csv"),
        "error", "Account.csv", None, "file has a header but no data rows", row=False,
    ),
    "header-only User.csv": _c(
        lambda d: _header_only(d, "User.csv"),
        "error", "User.csv", None, "file has a header but no data rows", row=False,
    ),
    "header-only Event.csv": _c(
        lambda d: _header_only(d, "Event.csv"),
        "warning", "Event.csv", None, "file has a header but no data rows", row=False,
    ),
    "duplicate account id": _c(
        lambda d: _set(d, "Account.csv", "Id", _cell(d, "Account.csv", "Id", 3)),
        "error", "Account.csv", "Id", "duplicate id in accounts.account_id",
    ),
    "orphan account reference": _c(
        lambda d: _set(d, "Contract.csv", "AccountId", "001NOBODY"),
        "error", "Contract.csv", "AccountId", "refers to a accounts id that does not exist",
        "001NOBODY",
    ),
    "required column missing": _c(
        lambda d: _drop_column(d, "Opportunity.csv", "CloseDate"),
        "error", "Opportunity.csv", "CloseDate", "column CloseDate is missing", row=False,
    ),
    "required value empty": _c(
        lambda d: _set(d, "Opportunity.csv", "CreatedDate", ""),
        "error", "Opportunity.csv", "CreatedDate", "required value is empty",
    ),
    "empty Task.csv": _c(
        lambda d: (d / "Task.csv").write_bytes(b""),
        "error", "Task.csv", None, "is empty", row=False,
    ),
    "binary junk as Opportunity.csv": _c(
        lambda d: (d / "Opportunity.csv").write_bytes(bytes(range(256)) * 50),
        "error", "Opportunity.csv", None, "", row=False,
    ),
    "Account.csv missing": _c(
        lambda d: (d / "Account.csv").unlink(),
        "error", None, None, "no Account file found", row=False,
    ),
    "row with an extra delimiter": _c(
        lambda d: (d / "Product2.csv").write_text(
            (d / "Product2.csv").read_text(encoding="utf-8") + "01tX,Extra,EX,Website,true,1,1,0.1,"
            "2020-01-01,surplus\n",
            encoding="utf-8",
        ),
        "error", "Product2.csv", None, "row cannot be split", row=False,
    ),
}  # fmt: skip

VERDICT_EXIT = {"error": 1, "warning": 0, "info": 0, "ok": 0}
LABEL = {"error": "ERROR", "warning": "WARNING", "info": "INFO"}


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_corpus_is_large_and_covers_every_verdict() -> None:
    assert len(CASES) >= 40
    assert {c.severity for c in CASES.values()} == {"error", "warning", "info", "ok"}


@pytest.mark.parametrize("name", list(CASES))
def test_corrupted_export(
    name: str, small_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES[name]
    export = tmp_path / "export"
    shutil.copytree(small_demo, export)
    row = case.edit(export)
    before = _hashes(export)

    code = cli.main(["validate", "--source", str(export)])
    out, err = capsys.readouterr()

    assert _hashes(export) == before  # the input files are byte-identical
    text = out + err
    assert "Traceback" not in text and "\x00" not in text
    assert all(ch == "\n" or ch >= " " for ch in text), "a control character was printed raw"
    assert code == VERDICT_EXIT[case.severity], text[-3000:]
    if case.severity == "ok":
        assert "Problems: 0 errors, 0 warnings" in text
        return
    if case.severity == "error":
        assert "Result: INVALID" in text
    else:
        assert "Result: VALID" in text and "0 errors" in text
    where = ", ".join(
        x
        for x in (
            f"file {case.file}" if case.file else "",
            f"column {case.column}" if case.column else "",
        )
        if x
    )
    lines = [
        ln
        for ln in text.splitlines()
        if ln.strip().startswith(f"{LABEL[case.severity]}: {where}") and case.message in ln
    ]
    assert lines, f"no {case.severity} at {where} with '{case.message}' in:\n{text[-3000:]}"
    if case.row:
        value = case.value(export, row) if callable(case.value) else case.value
        shown = f"row {row}: '{value}'" if value is not None else f"row {row}"
        assert any(shown in ln for ln in lines), (shown, lines)


def test_header_only_account_file_names_its_cause_first(
    small_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cause comes first, and the references to it are one problem per column, not 28'643."""
    export = tmp_path / "export"
    shutil.copytree(small_demo, export)
    _header_only(export, "Account.csv")
    assert cli.main(["validate", "--source", str(export)]) == 1
    out = capsys.readouterr().out
    problems = [ln.strip() for ln in out.splitlines() if ln.startswith("  ERROR")]
    assert problems[0].startswith("ERROR: file Account.csv: file has a header but no data rows")
    assert len(problems) <= 6
    assert any("but table accounts is empty" in p for p in problems[1:])


def test_run_intake_fails_with_the_report_not_a_crash(small_demo: Path, tmp_path: Path) -> None:
    """``run`` loads the export through :func:`intake.load_export`: a 2999 date is an error."""
    export = tmp_path / "export"
    shutil.copytree(small_demo, export)
    _set(export, "Opportunity.csv", "CloseDate", "2999-12-31")
    with pytest.raises(intake.IntakeError, match=r"(?s)date outside.*row 5: '2999-12-31'"):
        intake.load_export(export)
    res = intake.load_export(export, quarantine=True)
    assert res.report.ok and len(res.quarantined) >= 1
    assert res.as_of is not None and res.as_of.year < 2100


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--source", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["validate", "--source", str(tmp_path), "--mapping", "no-such"]) == 2
    assert "neither a built-in mapping" in capsys.readouterr().err
    assert cli.main(["validate"]) == 2  # neither an export nor a project file
    assert "give the export folder with --source, or a project file with --config" in (
        capsys.readouterr().err
    )


def test_future_activities_do_not_move_the_reference_date(small_demo: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(small_demo, export)
    clean = intake.load_export(export).as_of
    _set(export, "Task.csv", "ActivityDate", FUTURE)
    res = intake.load_export(export)
    assert res.report.ok and res.as_of == clean


def test_check_rows_are_exact_for_a_planted_nul(small_demo: Path, tmp_path: Path) -> None:
    """NUL bytes in a column the mapping does not read: the line, column and field are found."""
    from salesanalytics.ingest import io as sio

    export = tmp_path / "export"
    shutil.copytree(small_demo, export)
    _set(export, "Task.csv", "Subject", "a\x00b", row=7)
    [hit] = sio.find_nul_bytes(export / "Task.csv")
    assert (hit.row, hit.column, hit.value) == (7, "Subject", "a\x00b")
    assert re.search(r"\\x00", intake.load_export(export).report.to_text())


def test_run_names_the_first_error_of_a_hostile_export(
    small_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``salesanalytics run`` stops in intake with the file, column, row and value, no traceback."""
    export = tmp_path / "export"
    shutil.copytree(small_demo, export)
    _set(export, "Opportunity.csv", "CloseDate", "2999-12-31")
    before = _hashes(export)
    project = tmp_path / "proj"
    assert cli.main(["init", str(project), "--source", str(export), "--client", "Muster AG"]) == 0
    code = cli.main(["run", "--config", str(project / "project.yaml"), "--phase", "intake", "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert (
        "file Opportunity.csv, column CloseDate, row 5: date outside 01.01.1900-31.12.2099" in err
    )
    assert "(value '2999-12-31')" in err and "Traceback" not in err
    assert _hashes(export) == before


@pytest.mark.parametrize("seed", range(12))
def test_random_byte_damage_never_ends_in_a_traceback(
    seed: int, small_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seeded damage (bytes overwritten with NUL, control, quote, delimiter or high bytes, lines
    cut) to one file: the verdict is 0 or 1 with a summary, never an exception."""
    import random

    rng = random.Random(seed)
    export = tmp_path / "export"
    shutil.copytree(small_demo, export)
    victim = rng.choice(sorted(p for p in export.glob("*.csv")))
    data = bytearray(victim.read_bytes())
    for _ in range(rng.randint(1, 40)):
        i = rng.randrange(len(data))
        data[i] = rng.choice([0, 1, 7, 10, 13, 0x22, 0x2C, 0x3B, 0xFF, 0xC3, rng.randrange(256)])
    if rng.random() < 0.3:
        data = data[: rng.randrange(len(data))]  # cut off
    victim.write_bytes(bytes(data))
    before = _hashes(export)
    code = cli.main(["validate", "--source", str(export)])
    text = "".join(capsys.readouterr())
    assert code in (0, 1), text[-2000:]
    assert "Result: " in text and "\x00" not in text
    assert _hashes(export) == before
