"""Readers for CRM exports (CSV as Swiss/German Excel writes it, Excel, Parquet) and text converters.

Every reader returns the file's cells as **text** (:class:`RawTable`); values are converted to
numbers, dates and booleans per canonical column later (:func:`convert`), so that every cell that
cannot be converted can be reported with its file, column, row and value.

CSV files load without options:

* delimiter ``;``, ``,``, tab or ``|`` is recognised from the first lines (an Excel ``sep=;`` first
  line is honoured);
* encoding UTF-8, UTF-8 with BOM, UTF-16 with BOM or Windows-1252 (umlauts survive);
* numbers with decimal commas and Swiss/German thousands separators (``1'234,50``, ``1.234,50``,
  ``1234,5``) and dates as ``dd.mm.yyyy``, ISO ``yyyy-mm-dd`` or Salesforce
  ``2024-02-12T09:30:00.000Z`` are understood by :func:`convert`.

Row numbers are the line numbers a spreadsheet user sees: the header is row 1, the first data row
is row 2 (:attr:`RawTable.first_row`).
"""

from __future__ import annotations

import csv
import io as _io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from salesanalytics.errors import InputFileError, InputNotFoundError

__all__ = [
    "CSV_SUFFIXES",
    "EXCEL_SUFFIXES",
    "NulByte",
    "PARQUET_SUFFIXES",
    "SUPPORTED_SUFFIXES",
    "Converted",
    "DATE_RANGE",
    "CsvFormat",
    "RawTable",
    "StreamedFile",
    "convert",
    "find_nul_bytes",
    "iter_file",
    "list_files",
    "read_file",
    "read_header",
    "sniff_csv",
    "to_bool",
    "to_date",
    "to_integer",
    "to_number",
    "to_text",
]

CSV_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm")
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")
SUPPORTED_SUFFIXES: tuple[str, ...] = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES

_SNIFF_BYTES = 1 << 20
_SCAN_BYTES = 1 << 24
_DELIMITERS: tuple[str, ...] = (";", ",", "\t", "|")
_DELIM_NAMES = {";": "';'", ",": "','", "\t": "tab", "|": "'|'"}


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file is written: encoding, delimiter and lines before the header."""

    encoding: str
    delimiter: str
    skip_lines: int
    header: tuple[str, ...]
    quoted: bool


@dataclass
class RawTable:
    """The cells of one input file (or Excel sheet) as text.

    Attributes
    ----------
    file
        Name shown to the user (file name, ``book.xlsx:Sheet`` for Excel sheets).
    path
        Path of the file.
    data
        All columns as text (pandas ``str`` dtype); empty cells are missing.
    first_row
        Spreadsheet row number of the first data row (2 when the header is row 1).
    kind
        ``"csv"``, ``"excel"`` or ``"parquet"``.
    encoding, delimiter
        CSV only: what was recognised.
    bad_rows
        CSV rows that could not be split into the header's columns: (row, text) pairs; they are
        not in :attr:`data` and must be reported.
    row_numbers
        Spreadsheet row of every data row when it is not simply ``first_row + position``
        (after bad rows were left out).
    """

    file: str
    path: Path
    data: pd.DataFrame
    first_row: int = 2
    kind: str = "csv"
    encoding: str | None = None
    delimiter: str | None = None
    bad_rows: list[tuple[int | None, str]] = field(default_factory=list)
    row_numbers: np.ndarray | None = None

    @property
    def rows(self) -> np.ndarray:
        """Spreadsheet row number of every row of :attr:`data` (bad rows left out are skipped)."""
        if self.row_numbers is not None:
            return self.row_numbers
        return np.arange(len(self.data), dtype="int64") + self.first_row


def list_files(source: str | Path) -> list[Path]:
    """Return the readable files (CSV, Excel, Parquet) in folder ``source``, sorted by name.

    Hidden files and files starting with ``~$`` (Excel lock files) are skipped.

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist or is not a folder.
    """
    src = Path(source)
    if not src.is_dir():
        raise InputNotFoundError(
            f"export folder '{src}' does not exist or is not a folder; "
            "pass the folder that holds the CRM export files (CSV, Excel or Parquet)"
        )
    return sorted(
        p
        for p in src.iterdir()
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not p.name.startswith((".", "~$"))
    )


# --------------------------------------------------------------------------------------------
# CSV


def _decode_sample(head: bytes, truncated: bool) -> tuple[str, str]:
    """Guess the encoding of ``head`` and return (encoding, text)."""
    if head.startswith(b"\xef\xbb\xbf"):
        enc, body = "utf-8", head[3:]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
        n = len(head) - (len(head) % 2)
        return enc, head[:n].decode("utf-16", errors="replace").lstrip("\ufeff")
    else:
        enc, body = "utf-8", head
    try:
        return enc, body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is fine
        if truncated and exc.start >= len(body) - 3:
            return enc, body[: exc.start].decode("utf-8")
    for cand in ("cp1252", "latin-1"):
        try:
            return cand, body.decode(cand)
        except UnicodeDecodeError:
            continue
    return "latin-1", body.decode("latin-1")  # pragma: no cover - latin-1 decodes everything


def _clean_header(names: list[str]) -> list[str]:
    out = []
    for i, n in enumerate(names):
        n = n.strip().lstrip("\ufeff").strip()
        out.append(n if n else f"column_{i + 1}")
    return out


def sniff_csv(path: str | Path) -> CsvFormat:
    """Recognise encoding, delimiter and header of a CSV file from its first megabyte.

    The result is remembered per file path, size, inode and change times (the intake sniffs
    every file twice: for its header, then to read it).

    Raises
    ------
    ValueError
        If the file is empty, the delimiter cannot be recognised, or the header repeats a name.
    """
    p = Path(path)
    st = p.stat()
    return _sniff_csv(str(p.absolute()), (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))


@lru_cache(maxsize=64)
def _sniff_csv(path: str, stamp: tuple[int, ...]) -> CsvFormat:
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
        truncated = len(head) == _SNIFF_BYTES
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise InputFileError(
            f"file {p.name} is empty (no header line and no data). "
            "Export the table again, or remove the file from the export folder."
        )
    enc, text = _decode_sample(head, truncated)
    lines = text.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # last line may be cut
    skip = 0
    forced: str | None = None
    if lines and lines[0].strip().lower().startswith("sep=") and len(lines[0].strip()) >= 5:
        forced = lines[0].strip()[4]
        skip = 1
    body = [ln for ln in lines[skip : skip + 200]]
    while body and not body[0].strip():
        body.pop(0)
        skip += 1
    if not body:
        raise InputFileError(
            f"file {p.name} is empty (no header line and no data). "
            "Export the table again, or remove the file from the export folder."
        )
    sample = "\n".join(body)
    best: tuple[float, int, str, list[str]] | None = None
    for d in (forced,) if forced else _DELIMITERS:
        rows = _csv_rows(sample, d)
        counts = [len(r) for r in rows]
        if not counts or counts[0] < 2:
            continue
        data = counts[1:]
        share = sum(c == counts[0] for c in data) / len(data) if data else 1.0
        # most data lines must have the header's number of columns (a few broken rows are
        # reported later, row by row)
        if data and (share < 0.5 or max(set(data), key=data.count) != counts[0]):
            continue
        if best is None or (share, counts[0]) > (best[0], best[1]):
            best = (share, counts[0], d, rows[0])
    if best is None:
        raise InputFileError(
            f"file {p.name}: cannot recognise the column delimiter (tried ';', ',', tab and '|'; "
            f"none splits the header and most lines into the same number of columns). First line: "
            f"{body[0][:120]!r}. Save the file from Excel as 'CSV (semicolon- or comma-separated)'."
        )
    _, _, delim, header = best
    names = _clean_header(header)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputFileError(
            f"file {p.name}: the header names column(s) {', '.join(repr(d) for d in dupes)} more "
            "than once; rename them so every column name is unique."
        )
    return CsvFormat(enc, delim, skip, tuple(names), '"' in sample)


def _csv_rows(sample: str, delimiter: str) -> list[list[str]]:
    """The non-empty rows of ``sample`` split by Python's csv module, with no field size limit.

    A CRM text field (a pasted e-mail in a description) may be far longer than the csv module's
    default limit of 128 KiB; the limit is lifted while splitting and restored afterwards.
    """
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, _SNIFF_BYTES * 4))
    try:
        return [r for r in csv.reader(_io.StringIO(sample), delimiter=delimiter) if r]
    except csv.Error:
        return []
    finally:
        csv.field_size_limit(old)


def _read_csv(path: Path, label: str, columns: set[str] | None = None) -> RawTable:
    fmt = sniff_csv(path)
    bad: list[tuple[int | None, str]] = []

    def handler(row: Any) -> str:
        bad.append((row.number, str(row.text)[:200]))
        return "skip"

    names = list(fmt.header)

    def attempt(encoding: str, newlines: bool, threads: bool = True) -> pa.Table:
        bad.clear()
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=encoding,
                skip_rows=fmt.skip_lines + 1,
                column_names=names,
                block_size=1 << 24,
                use_threads=threads,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=fmt.delimiter,
                newlines_in_values=newlines,
                invalid_row_handler=handler,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=[n for n in names if columns is None or n in columns],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )

    encoding = fmt.encoding
    # Parsing is fastest without quoted line breaks; if a row then looks broken and the file has
    # quotes, it is read again allowing line breaks inside quoted values.
    newlines = False
    try:
        table = attempt(encoding, newlines)
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "UTF8" in msg or "utf8" in msg or "UTF-8" in msg:
            encoding = "cp1252"
            try:
                table = attempt(encoding, newlines)
            except UnicodeDecodeError:
                encoding = "latin-1"
                table = attempt(encoding, newlines)
        elif not newlines:
            newlines = True
            table = attempt(encoding, newlines)
        else:
            raise InputFileError(f"file {path.name}: cannot be read as CSV: {msg}") from exc
    if bad and not newlines and fmt.quoted:
        newlines = True
        table = attempt(encoding, newlines)
    row_numbers = None
    if bad:
        # rare: read again single-threaded, where pyarrow knows the line of every bad row
        table = attempt(encoding, newlines, threads=False)
        first = fmt.skip_lines + 2
        bad_idx = np.array([b[0] - first for b in bad if b[0] is not None], dtype="int64")
        total = table.num_rows + len(bad)
        keep = np.setdiff1d(np.arange(total, dtype="int64"), bad_idx)[: table.num_rows]
        row_numbers = keep + first
    df = table.to_pandas()
    del table
    df = df.astype("str") if len(df.columns) else df
    return RawTable(
        file=label,
        path=path,
        data=df,
        first_row=fmt.skip_lines + 2,
        kind="csv",
        encoding=encoding,
        delimiter=fmt.delimiter,
        bad_rows=list(bad),
        row_numbers=row_numbers,
    )


@dataclass(frozen=True)
class NulByte:
    """A NUL byte in a CSV file.

    Its line (the spreadsheet row when no value spans lines), the column it lies in (``None`` if the
    line cannot be split) and that field's text.
    """

    row: int
    column: str | None
    value: str


def find_nul_bytes(path: str | Path, limit: int = 1000) -> list[NulByte]:
    """Find NUL bytes in a CSV file (at most ``limit``), without reading its values.

    Real exports sometimes carry NUL bytes (binary junk pasted into a description); CSV readers
    keep or drop them silently. UTF-16 files (where NUL bytes are part of every character) are
    not scanned.
    """
    p = Path(path)
    fmt = sniff_csv(p)
    if fmt.encoding.startswith("utf-16"):
        return []
    lines: list[tuple[int, int]] = []  # (line number, offset of the line start)
    with open(p, "rb") as fh:
        offset, line, line_start = 0, 1, 0
        while len(lines) < limit:
            chunk = fh.read(_SCAN_BYTES)
            if not chunk:
                break
            pos = chunk.find(b"\x00")
            last = 0
            while pos >= 0 and len(lines) < limit:
                line += chunk.count(b"\n", last, pos)
                nl = chunk.rfind(b"\n", 0, pos)
                start = offset + nl + 1 if nl >= 0 else line_start  # may start in an earlier chunk
                if not lines or lines[-1][0] != line:
                    lines.append((line, start))
                last = pos
                pos = chunk.find(b"\x00", pos + 1)
            line += chunk.count(b"\n", last)
            nl = chunk.rfind(b"\n")
            line_start = offset + nl + 1 if nl >= 0 else line_start
            offset += len(chunk)
        out: list[NulByte] = []
        for number, start in lines:
            fh.seek(start)
            raw = fh.readline(1 << 24)
            text = raw.decode(fmt.encoding, errors="replace").rstrip("\r\n")
            fields = _csv_rows(text, fmt.delimiter)
            cells = fields[0] if fields else []
            hit = [i for i, v in enumerate(cells) if "\x00" in v]
            if not hit:
                out.append(NulByte(number, None, text))
                continue
            for i in hit:
                col = fmt.header[i] if i < len(fmt.header) else None
                out.append(NulByte(number, col, cells[i]))
    return out[:limit]


# --------------------------------------------------------------------------------------------
# Excel and Parquet


def _excel_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if np.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, pd.Timestamp | np.datetime64):
        return pd.Timestamp(v).isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    s = str(v)
    return s if s.strip() else None


def _read_excel(path: Path, label: str, columns: set[str] | None = None) -> list[RawTable]:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, EOFError) as exc:
        raise InputFileError(
            f"file {path.name} cannot be read as an Excel workbook ({exc}); save it again from "
            "Excel as .xlsx, or export the table as CSV"
        ) from exc
    out = []
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header: list[str] | None = None
            header_row = 0
            data: list[list[str | None]] = []
            for i, r in enumerate(rows, start=1):
                vals = [_excel_text(v) for v in r]
                if header is None:
                    if any(v is not None for v in vals):
                        header = _clean_header([v or "" for v in vals])
                        header_row = i
                    continue
                vals = (vals + [None] * len(header))[: len(header)]
                data.append(vals)
            if header is None:
                continue
            while (
                header
                and header[-1].startswith("column_")
                and all(len(r) >= len(header) and r[len(header) - 1] is None for r in data)
            ):
                header = header[:-1]
                data = [r[: len(header)] for r in data]
            dupes = sorted({n for n in header if header.count(n) > 1})
            if dupes:
                raise InputFileError(
                    f"file {path.name}, sheet {ws.title}: the header names column(s) "
                    f"{', '.join(repr(d) for d in dupes)} more than once; rename them."
                )
            df = pd.DataFrame(data, columns=header, dtype="str")
            if columns is not None:
                df = df[[c for c in df.columns if c in columns]]
            out.append(RawTable(ws.title, path, df, first_row=header_row + 1, kind="excel"))
    finally:
        wb.close()
    for t in out:  # one sheet with data: the workbook's name; several: book.xlsx:Sheet
        t.file = label if len(out) == 1 else f"{label}:{t.file}"
    if not out:
        raise InputFileError(
            f"file {path.name} has no data: every sheet is empty. Export the table again, or "
            "remove the file from the export folder."
        )
    return out


def _parquet_names(path: Path) -> list[str]:
    try:
        return list(pq.read_schema(path).names)
    except pa.ArrowException as exc:
        raise InputFileError(
            f"file {path.name} cannot be read as a Parquet file ({exc}); export the table again"
        ) from exc


def _read_parquet(path: Path, label: str, columns: set[str] | None = None) -> RawTable:
    names = _parquet_names(path)
    table = pq.read_table(path, columns=[n for n in names if columns is None or n in columns])
    return RawTable(label, path, _parquet_text(table), first_row=1, kind="parquet")


def _parquet_text(table: pa.Table) -> pd.DataFrame:
    """The cells of a Parquet table as text (dates and times as ISO text)."""
    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")
        cols.append(pc.cast(col, pa.string()))
    return pa.table(cols, names=table.column_names).to_pandas().astype("str")


@dataclass
class StreamedFile:
    """A CSV or Parquet file read in record batches (:func:`iter_file`).

    Iterating gives one :class:`RawTable` per batch (text cells, with the spreadsheet row of every
    row), never the whole file. After the iteration, :attr:`rows` and :attr:`bad_rows` describe the
    whole file as :func:`read_file` would.

    Attributes
    ----------
    path, file
        The file and its name in messages.
    kind, encoding, delimiter
        As in :class:`RawTable` (the CSV encoding is checked over the whole file before reading,
        so that a stray Windows-1252 byte far down a big file is read as the whole-file reader
        reads it).
    columns
        Read only these columns (those present); ``None`` = all.
    batch_rows
        Rows per batch (at most; a CSV batch also ends where pyarrow's block of about as many
        rows ends).
    rows
        Data rows seen so far (bad rows included).
    bad_rows
        CSV rows that could not be split into the header's columns: (row, text).
    """

    path: Path
    file: str
    kind: str
    columns: set[str] | None = None
    batch_rows: int = 500_000
    encoding: str | None = None
    delimiter: str | None = None
    rows: int = 0
    bad_rows: list[tuple[int | None, str]] = field(default_factory=list)

    def __iter__(self) -> Any:
        if self.kind == "parquet":
            return self._parquet_batches()
        return self._csv_batches()

    def _parquet_batches(self) -> Any:
        names = _parquet_names(self.path)
        pf = pq.ParquetFile(self.path)
        cols = [n for n in names if self.columns is None or n in self.columns]
        start = 1
        for batch in pf.iter_batches(batch_size=self.batch_rows, columns=cols):
            df = _parquet_text(pa.Table.from_batches([batch]))
            df.index = pd.RangeIndex(len(df))
            raw = RawTable(self.file, self.path, df, first_row=start, kind="parquet")
            self.rows += len(df)
            start += len(df)
            yield raw
        if self.rows == 0:
            yield RawTable(
                self.file,
                self.path,
                pd.DataFrame({c: pd.Series(dtype="str") for c in cols}),
                first_row=1,
                kind="parquet",
            )

    def _csv_batches(self) -> Any:
        fmt = sniff_csv(self.path)
        encoding, quoted = _scan_encoding(self.path, fmt)
        self.encoding, self.delimiter = encoding, fmt.delimiter
        names = list(fmt.header)
        bad = self.bad_rows

        def handler(row: Any) -> str:
            bad.append((row.number, str(row.text)[:200]))
            self.rows += 1
            return "skip"

        # a block of about batch_rows rows: the bytes per row of the first megabyte
        # (at least the whole-file reader's 16 MiB: a block must hold a whole row, and a CRM text
        # field may be far longer than the first megabyte's average row; batches are sliced)
        block = max(1 << 24, min(1 << 28, int(self.batch_rows * _bytes_per_row(self.path))))
        reader = pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(
                encoding=encoding,
                skip_rows=fmt.skip_lines + 1,
                column_names=names,
                block_size=block,
                use_threads=False,  # single-threaded: pyarrow knows the line of every bad row
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=fmt.delimiter,
                newlines_in_values=quoted,
                invalid_row_handler=handler,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=[n for n in names if self.columns is None or n in self.columns],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
        first = fmt.skip_lines + 2
        pos = 0  # data rows consumed (bad ones included)
        n_bad_used = 0
        yielded = False
        for batch in reader:
            n = batch.num_rows
            bad_idx = np.array(
                [b[0] - first for b in bad[n_bad_used:] if b[0] is not None], dtype="int64"
            )
            n_bad_used = len(bad)
            span = np.arange(pos, pos + n + len(bad_idx), dtype="int64")
            keep = np.setdiff1d(span, bad_idx, assume_unique=True)[:n] if len(bad_idx) else span
            pos = int(keep[-1]) + 1 if n else pos + len(bad_idx)
            self.rows += n
            for start in range(0, n, self.batch_rows):  # a block may hold more rows
                piece = batch.slice(start, self.batch_rows)
                df = pa.Table.from_batches([piece]).to_pandas()
                df = df.astype("str") if len(df.columns) else df
                yielded = True
                yield RawTable(
                    self.file,
                    self.path,
                    df,
                    first_row=first,
                    kind="csv",
                    encoding=encoding,
                    delimiter=fmt.delimiter,
                    row_numbers=keep[start : start + self.batch_rows] + first,
                )
        if not yielded:
            cols = [n for n in names if self.columns is None or n in self.columns]
            yield RawTable(
                self.file,
                self.path,
                pd.DataFrame({c: pd.Series(dtype="str") for c in cols}),
                first_row=first,
                kind="csv",
                encoding=encoding,
                delimiter=fmt.delimiter,
            )


def _bytes_per_row(path: Path) -> float:
    """Average bytes per line of the first megabyte of ``path`` (at least 16)."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    return max(16.0, len(head) / max(head.count(b"\n"), 1))


def _scan_encoding(path: Path, fmt: CsvFormat) -> tuple[str, bool]:
    """The encoding the whole-file reader ends up with, and whether the file has quotes.

    Reads the file once in chunks: UTF-8 when every byte decodes (else Windows-1252, else
    Latin-1, as :func:`read_file` falls back); ``quoted`` when a ``"`` occurs anywhere (values
    may then hold line breaks).
    """
    import codecs

    if fmt.encoding != "utf-8":
        return fmt.encoding, fmt.quoted or _has_quote(path)
    dec = codecs.getincrementaldecoder("utf-8")()
    quoted = False
    ok = True
    with open(path, "rb") as fh:
        while chunk := fh.read(_SCAN_BYTES):
            quoted = quoted or b'"' in chunk
            if ok:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError:
                    ok = False
    if ok:
        return "utf-8", quoted
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_SCAN_BYTES):
                chunk.decode("cp1252")
        return "cp1252", quoted
    except UnicodeDecodeError:
        return "latin-1", quoted


def _has_quote(path: Path) -> bool:
    with open(path, "rb") as fh:
        while chunk := fh.read(_SCAN_BYTES):
            if b'"' in chunk:
                return True
    return False


def iter_file(
    path: str | Path,
    label: str | None = None,
    columns: set[str] | None = None,
    batch_rows: int = 500_000,
) -> StreamedFile:
    """A CSV or Parquet file to be read in record batches of about ``batch_rows`` rows.

    Cells and row numbers are those of :func:`read_file` (a batch's :attr:`RawTable.rows` are the
    spreadsheet rows of its rows in the file). Excel workbooks are not streamed (they are read
    whole by :func:`read_file`; openpyxl reads them row by row anyway).

    Raises
    ------
    ValueError
        Empty file, unrecognised delimiter, duplicate column names, unsupported type.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in CSV_SUFFIXES:
        kind = "csv"
    elif suffix in PARQUET_SUFFIXES:
        kind = "parquet"
    else:
        raise InputFileError(
            f"file {p.name}: only CSV and Parquet files are read in batches, not '{suffix}'"
        )
    return StreamedFile(p, label or p.name, kind, columns, batch_rows)


def read_file(
    path: str | Path, label: str | None = None, columns: set[str] | None = None
) -> list[RawTable]:
    """Read one export file as text.

    Parameters
    ----------
    path
        A ``.csv``/``.tsv``/``.txt``, ``.xlsx``/``.xlsm`` or ``.parquet`` file.
    label
        Name to show in messages (default: the file name).
    columns
        Read only these columns (those present); default all. Saves memory on big exports.

    Returns
    -------
    list of RawTable
        One entry; Excel workbooks give one entry per non-empty sheet.

    Raises
    ------
    ValueError
        Empty file, unrecognised delimiter, duplicate column names, unsupported type.
    """
    p = Path(path)
    label = label or p.name
    suffix = p.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return [_read_csv(p, label, columns)]
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(p, label, columns)
    if suffix in PARQUET_SUFFIXES:
        return [_read_parquet(p, label, columns)]
    raise InputFileError(
        f"file {p.name}: unsupported file type '{suffix}'; use CSV, Excel (.xlsx) or Parquet"
    )


def read_header(path: str | Path) -> dict[str, list[str]]:
    """Return the column names of a file without reading its data: ``{label: columns}``.

    Excel workbooks give one entry per non-empty sheet (``book.xlsx:Sheet`` when there are
    several). Raises ``ValueError`` like :func:`read_file`.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return {p.name: list(sniff_csv(p).header)}
    if suffix in PARQUET_SUFFIXES:
        return {p.name: _parquet_names(p)}
    return {t.file: list(t.data.columns) for t in read_file(p)}


# --------------------------------------------------------------------------------------------
# Text -> typed values


@dataclass
class Converted:
    """Result of converting a text column: the typed values and where conversion failed."""

    values: pd.Series
    failed: pd.Series
    """Boolean mask: the cell had text that could not be converted (the value is missing)."""
    out_of_range: pd.Series | None = None
    """Dates only: boolean mask of cells holding a real date outside :data:`DATE_RANGE` (e.g. a
    close date in 2999); their value is missing and they are not in :attr:`failed`."""


def _blank(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Strip text; return (text, missing mask)."""
    txt = s.astype("str").str.strip()
    missing = txt.isna() | (txt == "")
    return txt, missing


def to_text(s: pd.Series) -> Converted:
    """Strip surrounding white space; empty cells become missing. Never fails."""
    txt, missing = _blank(s)
    out = txt.astype("string").mask(missing)
    return Converted(out, pd.Series(False, index=s.index))


_NUM_JUNK = r"[\s'’\u00a0\u202f]"


def _normalise_numbers(txt: pd.Series) -> pd.Series:
    """Rewrite Swiss/German/English number text to plain ``1234.5`` form (vectorised)."""
    t = txt.str.replace(_NUM_JUNK, "", regex=True).str.replace(
        r"^(?:CHF|Fr\.|SFr\.|EUR|€|\$)", "", regex=True, case=False
    )
    german = t.str.fullmatch(r"[-+]?\d{1,3}(?:\.\d{3})+,\d*")
    english = t.str.fullmatch(r"[-+]?\d{1,3}(?:,\d{3})+\.\d*")
    comma_thousands = t.str.fullmatch(r"[-+]?\d{1,3}(?:,\d{3}){2,}")
    dot_thousands = t.str.fullmatch(r"[-+]?\d{1,3}(?:\.\d{3}){2,}")
    out = t.copy()
    g = german.fillna(False).astype(bool)
    out[g] = t[g].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    e = (english | comma_thousands).fillna(False).astype(bool)
    out[e] = t[e].str.replace(",", "", regex=False)
    d = dot_thousands.fillna(False).astype(bool)
    out[d] = t[d].str.replace(".", "", regex=False)
    rest = ~(g | e | d) & t.str.fullmatch(r"[-+]?\d*,\d+").fillna(False).astype(bool)
    out[rest] = t[rest].str.replace(",", ".", regex=False)
    return out


def to_number(s: pd.Series) -> Converted:
    """Convert text to float: ``1'234,50``, ``1.234,50``, ``1,234.50``, ``1234,5``, ``CHF 12``.

    Plain numbers take a fast path; only cells that fail it are normalised. A single comma is a
    decimal comma. Infinite values and ``nan`` text count as failures.
    """
    txt, missing = _blank(s)
    try:
        arr = pa.array(txt.mask(missing).array)
        vals = pd.Series(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), index=s.index)
        bad = ~missing & ~np.isfinite(vals.fillna(0.0))
        if not bad.any():
            return Converted(vals.astype("float64"), pd.Series(False, index=s.index))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        pass
    vals = pd.Series(np.nan, index=s.index, dtype="float64")
    todo = ~missing
    if todo.any():
        sub = txt[todo]
        first = pd.to_numeric(sub, errors="coerce").astype("float64")
        retry = first.isna()
        if retry.any():
            first[retry] = pd.to_numeric(_normalise_numbers(sub[retry]), errors="coerce")
        vals[todo] = first
    vals = vals.where(np.isfinite(vals))
    failed = ~missing & vals.isna()
    return Converted(vals, failed)


def to_integer(s: pd.Series) -> Converted:
    """Convert text to whole numbers (``Int64``); ``12.5`` counts as a failure, ``12.0`` is 12."""
    c = to_number(s)
    frac = c.values.notna() & (c.values % 1 != 0)
    vals = c.values.mask(frac).round().astype("Int64")
    return Converted(vals, c.failed | frac)


_TRUE = {"true", "1", "1.0", "yes", "y", "ja", "j", "wahr", "x", "oui", "vrai", "t"}
_FALSE = {"false", "0", "0.0", "no", "n", "nein", "falsch", "non", "faux", "f", "-"}


def to_bool(s: pd.Series) -> Converted:
    """Convert text to booleans: true/false, 1/0, yes/no, ja/nein, wahr/falsch (any case)."""
    txt, missing = _blank(s)
    low = txt.str.lower()
    t = low.isin(_TRUE)
    f = low.isin(_FALSE)
    vals = pd.Series(pd.NA, index=s.index, dtype="boolean")
    vals[t.fillna(False).astype(bool)] = True
    vals[f.fillna(False).astype(bool)] = False
    failed = ~missing & vals.isna()
    return Converted(vals, failed.astype(bool))


_DATE_FORMATS: tuple[str, ...] = (
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%y",
    "%d/%m/%Y",
    "%Y/%m/%d",
)


def _ns(parsed: pd.Series) -> pd.Series:
    """Parsed dates as ``datetime64[ns]``; dates outside :data:`DATE_RANGE` become missing.

    pandas may parse far dates (2999) at a coarser unit; casting them to nanoseconds would fail.
    """
    if parsed.dtype == "datetime64[ns]":
        return parsed
    lo, hi = DATE_RANGE
    inside = (parsed >= lo) & (parsed <= hi + pd.Timedelta(days=1))
    return parsed.where(inside).astype("datetime64[ns]")


def _iso(sub: pd.Series) -> pd.Series:
    """Parse ISO 8601 text; values with ``Z``/offset are converted to Swiss local time."""
    out = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[ns]")
    aware = sub.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).fillna(False).astype(bool)
    if aware.any():
        a = pd.to_datetime(sub[aware], format="ISO8601", utc=True, errors="coerce")
        out[aware] = _ns(a.dt.tz_convert("Europe/Zurich").dt.tz_localize(None))
    naive = ~aware
    if naive.any():
        out[naive] = _ns(pd.to_datetime(sub[naive], format="ISO8601", errors="coerce"))
    return out


DATE_RANGE: tuple[pd.Timestamp, pd.Timestamp] = (
    pd.Timestamp("1900-01-01"),
    pd.Timestamp("2099-12-31"),
)
"""Dates a CRM export can plausibly hold; a date outside (``2999-12-31``, ``0201-05-04``) is a
typing error and is reported as ``date_out_of_range`` instead of being read."""

_DATE_PARTS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    (r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$", (1, 2, 3)),
    (r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})(?: .*)?$", (1, 2, 3)),
    (r"^\s*(\d{1,2})[./](\d{1,2})[./](\d{3,4})(?: .*)?$", (3, 2, 1)),
)


def _real_dates(txt: pd.Series) -> pd.Series:
    """Mask of ``txt`` cells that spell a real calendar date in any year 1-9999 (ISO or Swiss)."""
    import datetime as _dt

    out = pd.Series(False, index=txt.index)
    for pattern, (yi, mi, di) in _DATE_PARTS:
        parts = txt.str.extract(pattern)
        ok = parts.notna().all(axis=1) & ~out
        for i in np.flatnonzero(ok.to_numpy(dtype=bool)):
            y, m, d = (int(parts.iat[i, k - 1]) for k in (yi, mi, di))
            try:
                _dt.date(y, m, d)
            except ValueError:
                continue
            out.iat[i] = True
    return out


def to_date(s: pd.Series, date_format: str | None = None) -> Converted:
    """Convert text to dates (day precision, ``datetime64[ns]``).

    Without ``date_format`` each cell may be ISO (``2024-02-12``, ``2024-02-12 09:30``,
    Salesforce ``2024-02-12T09:30:00.000Z``, converted from UTC to Swiss time) or Swiss
    (``12.02.2024``, ``12.2.24``, ``12.02.2024 09:30``), or ``dd/mm/yyyy``. Times are dropped.

    Real dates outside :data:`DATE_RANGE` (also those pandas cannot hold, such as 2999-12-31)
    are missing in the values and flagged in :attr:`Converted.out_of_range`, not in ``failed``.
    """
    txt, missing = _blank(s)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    todo = ~missing
    if date_format:
        if todo.any():
            out[todo] = _ns(pd.to_datetime(txt[todo], format=date_format, errors="coerce"))
    elif todo.any():
        # fast path: ISO days (yyyy-mm-dd) parsed by pyarrow; the rest by the formats below
        arr = pa.array(txt.mask(missing).array)
        fast = pc.strptime(arr, format="%Y-%m-%d", unit="s", error_is_null=True)
        # days outside the range timestamp[ns] holds (1677-2262) would make the cast fail: they
        # are left to the range check below
        secs = fast.cast(pa.int64())
        lo, hi = (int(t.timestamp()) for t in DATE_RANGE)
        inside = pc.and_(pc.greater_equal(secs, lo), pc.less_equal(secs, hi + 86_399))
        fast = pc.if_else(inside, fast, pa.scalar(None, fast.type))
        fast_ok = np.asarray(fast.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        out[:] = np.asarray(
            fast.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False), dtype="datetime64[ns]"
        )
        todo = todo & ~fast_ok
        sub = txt[todo]
        if todo.any():
            parsed = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[ns]")
            iso = sub.str.match(r"\d{4}-\d{1,2}-\d{1,2}").fillna(False).astype(bool)
            if iso.any():
                parsed[iso] = _iso(sub[iso])
            for fmt in _DATE_FORMATS:
                rest = parsed.isna() & ~iso
                if not rest.any():
                    break
                parsed[rest] = _ns(pd.to_datetime(sub[rest], format=fmt, errors="coerce"))
            out[todo] = parsed
    out = out.dt.normalize()
    beyond = (out < DATE_RANGE[0]) | (out > DATE_RANGE[1])
    if beyond.any():
        out = out.mask(beyond)
    failed = todo & out.isna()
    oor = beyond.copy()
    if failed.any():
        oor[failed] = _real_dates(txt[failed])
    failed = failed & ~oor
    return Converted(out, failed.astype(bool), oor.astype(bool))


def convert(s: pd.Series, dtype: str, date_format: str | None = None) -> Converted:
    """Convert a text column to canonical ``dtype`` (``str``, ``int``, ``float``, ``bool``, ``date``)."""
    if dtype == "str":
        return to_text(s)
    if dtype == "float":
        return to_number(s)
    if dtype == "int":
        return to_integer(s)
    if dtype == "bool":
        return to_bool(s)
    if dtype == "date":
        return to_date(s, date_format)
    raise ValueError(f"unknown canonical dtype '{dtype}'; use str, int, float, bool or date")
