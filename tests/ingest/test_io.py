"""Readers (CSV dialects, Excel, Parquet) and text converters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesanalytics.ingest import io as sio


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_swiss_excel_csv_cp1252_semicolon_decimal_comma(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "Account.csv",
        "Id;Name;Umsatz;Seit\r\n1;Bäckerei Müller;1'234,50;12.02.2024\r\n2;Café Zoé;1.234,50;1.3.2024\r\n",
        "cp1252",
    )
    [t] = sio.read_file(p)
    assert (t.encoding, t.delimiter, t.first_row) == ("cp1252", ";", 2)
    assert list(t.data["Name"]) == ["Bäckerei Müller", "Café Zoé"]
    assert list(sio.to_number(t.data["Umsatz"]).values) == [1234.5, 1234.5]
    assert list(sio.to_date(t.data["Seit"]).values) == [
        pd.Timestamp("2024-02-12"),
        pd.Timestamp("2024-03-01"),
    ]
    assert list(t.rows) == [2, 3]


def test_utf8_bom_comma_and_ids_stay_text(tmp_path: Path) -> None:
    p = _write(tmp_path / "a.csv", "\ufeffId,PLZ,Name\n007,0800,Zürich AG\n")
    [t] = sio.read_file(p)
    assert list(t.data.columns) == ["Id", "PLZ", "Name"]
    assert (t.data.loc[0, "Id"], t.data.loc[0, "PLZ"], t.data.loc[0, "Name"]) == (
        "007",
        "0800",
        "Zürich AG",
    )
    assert t.encoding == "utf-8"


def test_tab_delimited_and_excel_sep_line(tmp_path: Path) -> None:
    [t] = sio.read_file(_write(tmp_path / "t.txt", "a\tb\n1\t2\n"))
    assert t.delimiter == "\t" and list(t.data["b"]) == ["2"]
    [s] = sio.read_file(_write(tmp_path / "s.csv", "sep=;\na;b\n1;2,5\n3;4\n"))
    assert s.delimiter == ";" and list(s.data["b"]) == ["2,5", "4"]
    assert list(s.rows) == [3, 4]  # the sep= line is row 1, the header row 2


def test_empty_file_header_only_and_unknown_delimiter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"file empty\.csv is empty \(no header line"):
        sio.read_file(_write(tmp_path / "empty.csv", ""))
    [t] = sio.read_file(_write(tmp_path / "head.csv", "Id;Name\n"))
    assert list(t.data.columns) == ["Id", "Name"] and len(t.data) == 0
    with pytest.raises(ValueError, match=r"file one\.csv: cannot recognise the column delimiter"):
        sio.read_file(_write(tmp_path / "one.csv", "IdName\n1\n"))


def test_duplicate_header_names_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"file d\.csv: the header names column\(s\) 'Id' more"):
        sio.read_file(_write(tmp_path / "d.csv", "Id;Id;Name\n1;2;x\n"))


def test_malformed_rows_are_reported_with_their_line(tmp_path: Path) -> None:
    [t] = sio.read_file(_write(tmp_path / "b.csv", "a;b;c\n1;2;3\n4;5\n7;8;9\n"))
    assert t.bad_rows == [(3, "4;5")]
    assert list(t.rows) == [2, 4]
    assert list(t.data["a"]) == ["1", "7"]


def test_quoted_newlines_keep_spreadsheet_rows(tmp_path: Path) -> None:
    [t] = sio.read_file(_write(tmp_path / "q.csv", 'Id,Note\n1,"two\nlines"\n2,x\n'))
    assert list(t.data["Note"]) == ["two\nlines", "x"]
    assert list(t.rows) == [2, 3]


def test_only_requested_columns_are_read(tmp_path: Path) -> None:
    [t] = sio.read_file(_write(tmp_path / "c.csv", "a;b;c\n1;2;3\n"), columns={"a", "c"})
    assert list(t.data.columns) == ["a", "c"]


def test_excel_cells_become_text(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Accounts"
    ws.append(["Id", "PLZ", "Seit", "MRR", "Aktiv"])
    ws.append(["A1", 8004, pd.Timestamp("2024-02-12").to_pydatetime(), 89.5, True])
    ws.append(["A2", 3011.0, None, 100, False])
    wb.create_sheet("Empty")
    wb.save(tmp_path / "book.xlsx")
    [t] = sio.read_file(tmp_path / "book.xlsx")
    assert t.file == "book.xlsx" and t.kind == "excel" and list(t.rows) == [2, 3]
    assert list(t.data["PLZ"]) == ["8004", "3011"]
    assert sio.to_date(t.data["Seit"]).values.iloc[0] == pd.Timestamp("2024-02-12")
    assert list(sio.to_number(t.data["MRR"]).values) == [89.5, 100.0]
    assert list(sio.to_bool(t.data["Aktiv"]).values) == [True, False]


def test_parquet_is_read_as_text(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {"Id": ["a", "b"], "n": [1, 2], "d": pd.to_datetime(["2024-01-02", "2024-03-04"])}
    )
    df.to_parquet(tmp_path / "x.parquet")
    [t] = sio.read_file(tmp_path / "x.parquet")
    assert list(t.data["n"]) == ["1", "2"] and t.first_row == 1
    assert list(sio.to_date(t.data["d"]).values) == list(df["d"].astype("datetime64[ns]"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1'234,50", 1234.5),
        ("1.234,50", 1234.5),
        ("1,234.50", 1234.5),
        ("1234,5", 1234.5),
        ("1234.5", 1234.5),
        ("-12", -12.0),
        ("CHF 1'200", 1200.0),
        ("1'234'567", 1234567.0),
        ("1.234.567", 1234567.0),
        ("1 234,5", 1234.5),
        (" 7 ", 7.0),
    ],
)
def test_number_formats(text: str, expected: float) -> None:
    c = sio.to_number(pd.Series(["1", text], dtype="str"))
    assert c.values.iloc[1] == pytest.approx(expected)
    assert not c.failed.any()


def test_number_failures_and_missing() -> None:
    c = sio.to_number(pd.Series(["abc", "", None, "1,2,3", "nan", "inf", "5"], dtype="str"))
    assert list(c.failed) == [True, False, False, True, True, True, False]
    assert c.values.iloc[6] == 5.0 and c.values.iloc[:6].isna().all()


def test_integer_rejects_fractions() -> None:
    c = sio.to_integer(pd.Series(["12", "12.0", "12.5", ""], dtype="str"))
    assert list(c.failed) == [False, False, True, False]
    assert c.values.dtype == "Int64" and c.values.iloc[1] == 12


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.02.2024", "2024-02-12"),
        ("1.3.24", "2024-03-01"),
        ("2024-02-12", "2024-02-12"),
        ("2024-02-12 09:30:00", "2024-02-12"),
        ("2024-02-12T09:30:00.000Z", "2024-02-12"),
        ("2024-02-12T23:30:00.000Z", "2024-02-13"),  # UTC -> Swiss local time
        ("12.02.2024 17:45", "2024-02-12"),
    ],
)
def test_date_formats(text: str, expected: str) -> None:
    c = sio.to_date(pd.Series([text], dtype="str"))
    assert c.values.iloc[0] == pd.Timestamp(expected)
    assert c.values.dtype == "datetime64[ns]" and not c.failed.any()


def test_date_failures_and_explicit_format() -> None:
    c = sio.to_date(pd.Series(["32.13.2024", "", "gestern", "2024-01-05"], dtype="str"))
    assert list(c.failed) == [True, False, True, False]
    us = sio.to_date(pd.Series(["02/12/2024"], dtype="str"), date_format="%m/%d/%Y")
    assert us.values.iloc[0] == pd.Timestamp("2024-02-12")


def test_bool_words() -> None:
    c = sio.to_bool(pd.Series(["Ja", "nein", "TRUE", "0", "", "vielleicht"], dtype="str"))
    assert list(c.values.iloc[:4]) == [True, False, True, False]
    assert list(c.failed) == [False, False, False, False, False, True]


def test_convert_unknown_dtype_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown canonical dtype 'money'"):
        sio.convert(pd.Series(["1"]), "money")
    with pytest.raises(FileNotFoundError, match="export folder .* does not exist"):
        sio.list_files(tmp_path / "nope")


def test_list_files_skips_lock_and_unknown_files(tmp_path: Path) -> None:
    for n in ("a.csv", "~$a.xlsx", ".hidden.csv", "notes.docx", "b.parquet"):
        (tmp_path / n).write_bytes(b"x")
    assert [p.name for p in sio.list_files(tmp_path)] == ["a.csv", "b.parquet"]


def test_text_strips_and_blank_is_missing() -> None:
    c = sio.to_text(pd.Series([" a ", "  ", None], dtype="str"))
    assert c.values.iloc[0] == "a" and c.values.iloc[1:].isna().all()
    assert not np.asarray(c.failed).any()


def test_windows_1252_found_after_the_sniffed_sample(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sio, "_SNIFF_BYTES", 64)
    text = "Id;Name\n" + "".join(f"{i};Plain name {i}\n" for i in range(20)) + "99;Zürich\n"
    [t] = sio.read_file(_write(tmp_path / "late.csv", text, "cp1252"))
    assert t.encoding == "cp1252"
    assert t.data["Name"].iloc[-1] == "Zürich" and len(t.data) == 21


def test_excel_unicode_text_utf16_tab(tmp_path: Path) -> None:
    p = tmp_path / "u16.txt"
    p.write_bytes("Id\tName\tMRR\n1\tZürich AG\t1,5\n".encode("utf-16"))
    [t] = sio.read_file(p)
    assert (t.encoding, t.delimiter) == ("utf-16", "\t")
    assert t.data.loc[0, "Name"] == "Zürich AG" and t.data.loc[0, "MRR"] == "1,5"


def test_sniffed_format_follows_changes_to_the_file(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("Id;Name\n1;x\n", encoding="utf-8")
    first = sio.sniff_csv(p)
    assert first.delimiter == ";" and first.header == ("Id", "Name")
    assert sio.sniff_csv(p) is first  # remembered
    p.unlink()
    p.write_text("Id,Name,City\n1,x,Bern\n", encoding="utf-8")  # a new file, other size
    again = sio.sniff_csv(p)
    assert again.delimiter == "," and again.header == ("Id", "Name", "City")
    with pytest.raises(FileNotFoundError):
        sio.sniff_csv(tmp_path / "missing.csv")


@pytest.mark.parametrize("chunk", [1 << 24, 7])
def test_find_nul_bytes_names_line_column_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Also when a line starts in an earlier chunk of the scan."""
    monkeypatch.setattr(sio, "_SCAN_BYTES", chunk)
    p = tmp_path / "Task.csv"
    p.write_bytes(
        b'Id;Subject;Note\n1;ok;fine\n2;"a\x00b";x\n3;c;"long text then \x00 and \x00"\n4;d;e\n'
    )
    hits = sio.find_nul_bytes(p)
    assert [(h.row, h.column, h.value) for h in hits] == [
        (3, "Subject", "a\x00b"),
        (4, "Note", "long text then \x00 and \x00"),
    ]
    assert sio.find_nul_bytes(p, limit=1) == hits[:1]


def test_csv_field_longer_than_the_csv_module_limit(tmp_path: Path) -> None:
    """A 200 KiB pasted e-mail in the first MiB: no '_csv.Error: field larger than field limit'."""
    import csv as _csv

    p = tmp_path / "Task.csv"
    body = "x" * 200_000
    p.write_text(f'Id,Description,Type\n1,"{body}",Call\n2,short,Email\n', encoding="utf-8")
    limit = _csv.field_size_limit()
    [t] = sio.read_file(p)
    assert list(t.data.columns) == ["Id", "Description", "Type"]
    assert len(t.data.loc[0, "Description"]) == 200_000 and t.data.loc[1, "Type"] == "Email"
    assert _csv.field_size_limit() == limit  # the global limit is restored


def test_dates_outside_the_plausible_range_are_flagged_not_crashing() -> None:
    s = pd.Series(
        ["2999-12-31", "1.1.2999", "2999-01-01T10:00:00.000Z", "1500-01-01", "2150-01-01",
         "2020-01-01", "31.02.2020", "abc", None],
        dtype="str",
    )  # fmt: skip
    c = sio.to_date(s)
    assert list(c.out_of_range) == [True] * 5 + [False] * 4
    assert list(c.failed) == [False] * 6 + [True, True, False]
    assert c.values.iloc[5] == pd.Timestamp("2020-01-01") and c.values.iloc[:5].isna().all()
