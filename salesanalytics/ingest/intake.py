"""Load a whole CRM export: read every file, map it to the canonical tables and validate it.

>>> result = load_export("data/demo/export", mapping="salesforce")  # doctest: +SKIP
>>> print(result.report.to_text())  # doctest: +SKIP

A load either fails with the full report (:class:`IntakeError`, every problem at once) or, with
``quarantine=True``, leaves out the invalid rows (and the rows that refer to them), counts them and
keeps them with their reasons in :attr:`IntakeResult.quarantined`. Input files are only read.

The intake reads only the export (and :mod:`salesanalytics.reference`): writing the result into a
run folder, the coverage matrix of the engagement's phases and the ``salesanalytics validate``
command live in :mod:`salesanalytics.engagement.intake`, which calls this module.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from pyarrow.lib import ArrowException

from salesanalytics.errors import ParameterError, UserError
from salesanalytics.ingest import io as sio
from salesanalytics.ingest import schema
from salesanalytics.ingest.derive import (
    Derivation,
    derive_tables,
    tables_from_extract,
    tables_from_transactions,
)
from salesanalytics.ingest.mapping import (
    InputSpec,
    MappedTable,
    Mapping,
    load_mapping,
    map_input,
    match_files,
)
from salesanalytics.ingest.mapping import stack_inputs as _stack
from salesanalytics.ingest.problems import N_
from salesanalytics.ingest.stream import (
    AS_OF_COLUMNS,
    DEFAULT_BATCH_ROWS,
    STREAMED_TABLES,
    StoredTable,
    StreamContext,
    TableStream,
    stream_key_sets,
)
from salesanalytics.ingest.validation import (
    INTERNAL_COLUMNS,
    OpportunityIndex,
    ValidationReport,
    _today,
    apply_quarantine,
    cascade_exclusions,
    exclude_rows,
    finish_quarantine,
    key_set,
    problem_frame,
    quarantine_reasons,
    validate_tables,
)

__all__ = [
    "TRUTH_FILES",
    "IntakeError",
    "IntakeResult",
    "as_of_date",
    "customer_profile",
    "load_export",
    "profile_by",
]

TRUTH_FILES: tuple[str, ...] = ("truth.json", "truth_accounts.parquet")
"""Files of the demo generator beside its export (planted truths): not read as CRM data and
never written to the intake's output (the client's data folder); the run copies them into its
analyst folder (:func:`salesanalytics.engagement.workspace.place_truth`)."""


class IntakeError(UserError, ValueError):
    """The export has errors; ``report`` holds every problem, ``str(err)`` the text summary.

    A :class:`~salesanalytics.errors.UserError` (exit status 1, as ``validate`` with errors) and,
    as before, a ``ValueError``.
    """

    exit_code = 1

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(
            f"the export has {report.n_errors} error(s), the first: {_first_error(report)}; "
            "fix them, or load with quarantine=True to leave the invalid rows out.\n"
            + report.to_text()
        )


def _first_error(report: ValidationReport) -> str:
    """The first error as one line: where (file, column, row), what and the value."""
    p = report.problems
    err = p[p["severity"] == "error"]
    if err.empty:
        return "(none)"
    r = err.iloc[0]
    where = ", ".join(
        x
        for x in (
            f"file {r['file']}" if not pd.isna(r["file"]) else "",
            f"column {r['column']}" if not pd.isna(r["column"]) else "",
            f"row {int(r['row'])}" if not pd.isna(r["row"]) else "",
        )
        if x
    )
    value = "" if pd.isna(r["value"]) else f" (value '{r['value']}')"
    return f"{where + ': ' if where else ''}{r['message']}{value}"


@dataclass
class IntakeResult:
    """A loaded export.

    Attributes
    ----------
    tables
        The eight canonical tables (``schema.coerce_table`` dtypes), valid rows only.
    report
        What was read, translated, filled, found and excluded.
    as_of
        Reference date of the export (latest date in the data; see :func:`as_of_date`).
    source
        The export folder.
    mapping
        Name of the mapping used.
    quarantined
        Excluded rows: ``table``, ``file``, ``row``, ``reason`` and the row's canonical values.
    derivations
        Tables derived because the export lacks them (:mod:`salesanalytics.ingest.derive`), with the
        rows each produced.
    currency
        ISO code of the money columns: the project's override, else the mapping's, else the
        legal tender of the accounts' most frequent country (CHF, EUR).
    country
        The project's default country (ISO alpha-2) for accounts and reps without one.
    extras
        Tables beyond the canonical ones: ``customer_attributes`` of a flat customer extract
        (``account_id`` and the attribute columns, the churn models' covariates).
    stored
        The large tables read in batches and written to Parquet files (``load_export`` with
        ``store``): not in :attr:`tables`; :meth:`table` reads one whole.
    """

    tables: dict[str, pd.DataFrame]
    report: ValidationReport
    as_of: pd.Timestamp | None
    source: Path
    mapping: str
    quarantined: pd.DataFrame
    derivations: list[Derivation] = field(default_factory=list)
    currency: str = "CHF"
    extras: dict[str, pd.DataFrame] = field(default_factory=dict)
    country: str = "CH"
    stored: dict[str, StoredTable] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """Canonical table ``name`` as one frame (a stored table is read from its file)."""
        if name in self.stored:
            return self.stored[name].read()
        return self.tables[name]

    @property
    def countries(self) -> list[str]:
        """Countries of the accounts (ISO alpha-2, most frequent first)."""
        acc = self.tables.get("accounts")
        if acc is None or "country" not in acc or acc.empty:
            return [self.country]
        return [str(c) for c in acc["country"].dropna().value_counts().index] or [self.country]


def _needed_columns(m: Mapping) -> dict[str, set[str]]:
    """Source name -> columns the mapping reads from it."""
    need: dict[str, set[str]] = {s: set() for s in m.sources}
    for t in m.tables.values():
        for inp in t.inputs:
            for name in inp.columns:
                spec = inp.column(name)
                need[inp.source].update(spec.sources)
                for case in spec.cases or []:
                    need[inp.source].update(case.when)
                if spec.lookup:
                    need[inp.source].add(spec.lookup.column)
                    lk = spec.lookup
                    need[lk.source].update(
                        c for c in (lk.key, lk.value, lk.order_by) if c is not None
                    )
    for block in (m.customer_extract, m.transactions):
        if block is not None:
            need[block.source].update(block.columns)
    return need


def _no_rows_problem(m: Mapping, source_name: str, label: str) -> pd.DataFrame:
    """A file with a header but no rows.

    An error for a required source (e.g. Account) and for a table other tables refer to (e.g. User:
    every owner would be unknown); a warning otherwise (the table stays empty).
    """
    tables = [t for t, ts in m.tables.items() if any(i.source == source_name for i in ts.inputs)]
    referenced = {
        c.references.split(".")[0]
        for name, t in schema.TABLES.items()
        for c in t.columns
        if c.references and not c.references.startswith(f"{name}.")
    }
    required = m.sources[source_name].required or bool(referenced & set(tables))
    message = (
        N_("file has a header but no data rows: table {tables} stays empty").format(
            tables=", ".join(tables)
        )
        if tables
        else N_("file has a header but no data rows: it is used for look-ups")
    )
    hint = (
        N_(
            "Export the table again with its rows (was the export filtered or cut off?). "
            "Problems of other files that refer to it follow from this one."
        )
        if required
        else N_("Export the table again with its rows (was the export filtered or cut off?).")
    )
    return problem_frame(
        severity="error" if required else "warning",
        check="no_rows",
        message=message,
        hint=hint,
        file=label,
        table=tables[0] if tables else None,
    )


def _nul_problems(path: Path, label: str, read: set[str]) -> pd.DataFrame:
    """Warnings for NUL bytes in CSV columns the mapping does not read.

    The columns it reads are checked cell by cell, see
    :func:`salesanalytics.ingest.mapping.text_cell_problems`.
    """
    try:
        hits = [h for h in sio.find_nul_bytes(path) if h.column not in read]
    except READ_ERRORS:  # pragma: no cover - the file was just read
        return problem_frame(severity="info", check="", message="", n=0)
    return problem_frame(
        severity="warning",
        check="control_characters",
        message=N_("NUL bytes in a column the analyses do not read (a sign of a damaged export)"),
        hint=N_("Check how the file was exported; the column is not used, the rest is read."),
        file=label,
        column=[h.column or "(line)" for h in hits],
        row=[h.row for h in hits],
        value=[h.value for h in hits],
        n=len(hits),
    )


READ_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, csv.Error, ArrowException)
"""Exceptions of reading one export file that are reported as ``unreadable_file`` (the other
files are still read and checked)."""


def as_of_date(tables: dict[str, pd.DataFrame]) -> pd.Timestamp | None:
    """Reference date of an export: the latest date that lies in the past of the export.

    Taken over activity dates, opportunity created dates, close dates of *closed* opportunities
    (open ones carry expected, future dates) and stage-history dates. Contract start dates are
    used only when none of these exist (a contract signed today may start next month).
    Requires the canonical columns ``activities.date``, ``opportunities.created_date``,
    ``close_date``, ``status``, ``opportunity_stages.entered_at`` and ``contracts.start_date``
    (tables or columns that are absent are skipped). Dates after the current date are not
    taken (a planned activity, a typing error: see ``docs/validation.md``). ``None`` when there
    is no date at all.
    """
    cands: list[pd.Timestamp] = []
    today = pd.Timestamp(date.today())

    def add(s: pd.Series) -> None:
        v = s[s <= today].max()  # planned activities and typing errors lie in the future
        if not pd.isna(v):
            cands.append(pd.Timestamp(v))

    a = tables.get("activities")
    if a is not None and "date" in a:
        add(a["date"])
    o = tables.get("opportunities")
    if o is not None:
        if "created_date" in o:
            add(o["created_date"])
        if "close_date" in o and "status" in o:
            add(o.loc[o["status"].isin(["won", "lost"]).fillna(False).to_numpy(bool), "close_date"])
    s = tables.get("opportunity_stages")
    if s is not None and "entered_at" in s:
        add(s["entered_at"])
    if not cands:
        c = tables.get("contracts")
        if c is not None and "start_date" in c:
            add(c["start_date"])
    return max(cands).normalize() if cands else None


_DELIMITER_NAMES = {";": ";", ",": ",", "\t": "tab", "|": "|"}


def read_headers(
    src: Path, files: list[Path], report: ValidationReport
) -> tuple[dict[str, list[str]], dict[str, Path]]:
    """The header of every export file (an Excel file gives one per sheet), and its path.

    Reports an empty folder (``no_files``) and files that cannot be read (``unreadable_file``)
    into ``report``; the demo generator's truth files are skipped.
    """
    if not files:
        report.add_frame(
            problem_frame(
                severity="error",
                check="no_files",
                message=f"the export folder {src} contains no CSV, Excel or Parquet file",
                hint="Point --source at the folder that holds the export files.",
            )
        )
    headers: dict[str, list[str]] = {}
    paths: dict[str, Path] = {}
    for p in files:
        if p.name in TRUTH_FILES:
            continue
        try:
            for label, cols in sio.read_header(p).items():
                headers[label] = cols
                paths[label] = p
        except READ_ERRORS as exc:
            report.add_frame(
                problem_frame(
                    severity="error",
                    check="unreadable_file",
                    message=str(exc),
                    hint="",
                    file=p.name,
                )
            )
    return headers, paths


def _last_use(m: Mapping, table_order: list[str]) -> dict[str, int]:
    """Source name -> index in ``table_order`` of the last table that reads it.

    Its files can be dropped from memory after that table is mapped.
    """
    last_use: dict[str, int] = {}
    for i, t in enumerate(table_order):
        for inp in m.tables[t].inputs:
            last_use[inp.source] = i
            for name in inp.columns:
                lk = inp.column(name).lookup
                if lk:
                    last_use[lk.source] = i
    return last_use


@dataclass
class _ExportReader:
    """Reads the export's files on demand, each once, only the columns the mapping needs.

    Every file read is listed (``file_rows``: kind, encoding, delimiter, rows, columns) with the
    tables it feeds (``file_tables``); its file-level problems (no rows, NUL bytes, malformed
    rows, unreadable) go to ``report``.
    """

    mapping: Mapping
    report: ValidationReport
    headers: dict[str, list[str]]
    paths: dict[str, Path]
    by_source: dict[str, list[str]]
    need: dict[str, set[str]]
    cache: dict[str, sio.RawTable] = field(default_factory=dict)
    file_rows: list[dict[str, Any]] = field(default_factory=list)
    file_tables: dict[str, list[str]] = field(default_factory=dict)

    def raws(self, source_name: str) -> list[sio.RawTable]:
        """The files of ``source_name`` (read now unless already in memory)."""
        out = []
        for label in self.by_source.get(source_name, []):
            if label not in self.cache:
                self._read(label, source_name)
            if label in self.cache:
                out.append(self.cache[label])
        return out

    def used_for(self, raws: list[sio.RawTable], *tables: str) -> None:
        """Note that ``raws`` feed ``tables`` (the files table's ``table`` column)."""
        for r in raws:
            self.file_tables.setdefault(r.file, []).extend(tables)

    def release(self, source_name: str) -> None:
        """Drop the files of ``source_name`` from memory."""
        for label in self.by_source.get(source_name, []):
            self.cache.pop(label, None)

    def _read(self, label: str, source_name: str) -> None:
        try:
            for r in sio.read_file(self.paths[label], columns=self.need.get(source_name)):
                self.cache[r.file] = r
        except READ_ERRORS as exc:
            self.report.add_frame(
                problem_frame(
                    severity="error", check="unreadable_file", message=str(exc), file=label
                )
            )
            return
        r = self.cache.get(label)
        if r is None:
            return
        self._note_file(label, source_name, r.kind, r.encoding, r.delimiter, r.path)
        self._file_problems(label, source_name, r.kind, r.path, len(r.data), r.bad_rows)

    def stream(self, source_name: str, batch_rows: int) -> Iterator[sio.RawTable]:
        """The files of ``source_name`` in batches (CSV, Parquet; an Excel file in one)."""
        for label in self.by_source.get(source_name, []):
            path = self.paths[label]
            if path.suffix.lower() in sio.EXCEL_SUFFIXES:
                yield from self.raws_of(label, source_name)
                self.cache.pop(label, None)
                continue
            sf = sio.iter_file(path, label, self.need.get(source_name), batch_rows)
            good = 0
            try:
                for raw in sf:
                    good += len(raw.data)
                    yield raw
            except READ_ERRORS as exc:
                self.report.add_frame(
                    problem_frame(
                        severity="error", check="unreadable_file", message=str(exc), file=label
                    )
                )
                continue
            self._note_file(label, source_name, sf.kind, sf.encoding, sf.delimiter, path)
            self.file_rows[-1]["rows"] = sf.rows
            self._file_problems(label, source_name, sf.kind, path, good, sf.bad_rows)

    def raws_of(self, label: str, source_name: str) -> list[sio.RawTable]:
        """The file ``label`` read whole (an Excel file: its sheets)."""
        if label not in self.cache:
            self._read(label, source_name)
        return [self.cache[label]] if label in self.cache else []

    def _note_file(
        self,
        label: str,
        source_name: str,
        kind: str,
        encoding: str | None,
        delimiter: str | None,
        path: Path,
    ) -> None:
        r = self.cache.get(label)
        self.file_rows.append(
            {
                "file": label,
                "source": source_name,
                "kind": kind,
                "encoding": encoding,
                "delimiter": _DELIMITER_NAMES.get(delimiter or "", None),
                "rows": len(r.data) + len(r.bad_rows) if r is not None else 0,
                "columns": len(self.headers.get(label, r.data.columns if r is not None else [])),
            }
        )

    def _file_problems(
        self,
        label: str,
        source_name: str,
        kind: str,
        path: Path,
        n_rows: int,
        bad_rows: list[tuple[int | None, str]],
    ) -> None:
        if n_rows == 0 and not bad_rows:
            self.report.add_frame(_no_rows_problem(self.mapping, source_name, label))
        if kind == "csv":
            self.report.add_frame(_nul_problems(path, label, self.need.get(source_name, set())))
        if bad_rows:
            self.report.add_frame(
                problem_frame(
                    severity="error",
                    check="malformed_row",
                    message=N_(
                        "row cannot be split into the {n} columns of the header (wrong number of "
                        "delimiters or an unclosed quote)"
                    ).format(n=len(self.headers[label])),
                    hint=N_("Correct the row in the file; it was not read."),
                    file=label,
                    row=[b[0] for b in bad_rows],
                    value=[b[1] for b in bad_rows],
                )
            )

    def files_frame(self, matched: dict[str, str | None]) -> pd.DataFrame:
        """Every file received: what it was read as and which tables it feeds.

        Files the mapping does not use are listed without a table.
        """
        files_df = pd.DataFrame(
            self.file_rows,
            columns=["file", "source", "kind", "encoding", "delimiter", "rows", "columns"],
        )
        files_df.insert(
            2,
            "table",
            files_df["file"].map(lambda f: ", ".join(dict.fromkeys(self.file_tables.get(f, [])))),
        )
        unused = [label for label, s in matched.items() if not s]
        if unused:
            files_df = pd.concat(
                [files_df, pd.DataFrame({"file": unused, "table": "", "source": ""})],
                ignore_index=True,
            )
        return files_df


def _input_lookups(
    reader: _ExportReader, table: str, inp: InputSpec
) -> dict[str, list[sio.RawTable]]:
    """The look-up files an input's columns read (and their use noted for the report)."""
    lookups: dict[str, list[sio.RawTable]] = {}
    for name in inp.columns:
        lk = inp.column(name).lookup
        if lk:
            lookups[lk.source] = reader.raws(lk.source)
            reader.used_for(lookups[lk.source], f"{table} (lookup)")
    return lookups


def map_tables(
    m: Mapping, reader: _ExportReader, skip: tuple[str, ...] = ()
) -> dict[str, MappedTable]:
    """Map every canonical table from its input files (and look-up files), in schema order.

    Each file is dropped from memory after the last table that reads it. Tables the mapping does not
    fill are empty. Tables in ``skip`` (streamed later, see :mod:`salesanalytics.ingest.stream`)
    are left out; their look-up files stay in memory.
    """
    table_order = [t for t in schema.TABLES if t in m.tables]
    last_use = _last_use(m, table_order)
    mapped: dict[str, MappedTable] = {}
    for i, t in enumerate(table_order):
        if t in skip:
            continue
        parts = []
        for inp in m.tables[t].inputs:
            lookups = _input_lookups(reader, t, inp)
            for raw in reader.raws(inp.source):
                parts.append(map_input(m, t, inp, raw, lookups))
                reader.used_for([raw], t)
        mapped[t] = _stack(t, parts)
        del parts
        for s, last in last_use.items():
            if last <= i:
                reader.release(s)
    if not skip:
        reader.cache.clear()
    for t in schema.TABLES:
        if t not in mapped and t not in skip:
            mapped[t] = _stack(t, [])
    return mapped


def _collect_mapping_report(
    mapped: dict[str, MappedTable], report: ValidationReport
) -> dict[tuple[str, str], str]:
    """Add the mapping's problems and translations to ``report``; the column labels."""
    labels: dict[tuple[str, str], str] = {}
    remaps = []
    for mt in mapped.values():
        report.add_frame(mt.problems)
        labels.update(mt.labels)
        if len(mt.remappings):
            remaps.append(mt.remappings)
    if remaps:
        report.remappings = pd.concat(remaps, ignore_index=True)
    return labels


def validate_and_coerce(
    tables: dict[str, pd.DataFrame],
    report: ValidationReport,
    labels: dict[tuple[str, str], str],
    m: Mapping,
    quarantine: bool,
    default_country: str = "CH",
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Validate the mapped tables, set invalid rows aside and coerce them to canonical dtypes.

    Invalid rows go to ``quarantine``; each table is coerced to its canonical dtypes without the
    internal columns. Returns the tables and the excluded rows.
    """
    warn = {t: ts.warn_missing for t, ts in m.tables.items()}
    tables, report = validate_tables(
        tables, report, labels=labels, warn_missing=warn, default_country=default_country
    )
    if quarantine:
        tables, excluded = apply_quarantine(tables, report)
    else:
        excluded = pd.DataFrame(columns=["table", "file", "row", "reason"])
        report.row_counts = pd.DataFrame(
            {
                "table": list(tables),
                "rows": [len(df) for df in tables.values()],
                "excluded": [0] * len(tables),
            }
        )
    final = {}
    for t in list(tables):  # one table at a time: keeps the peak memory low
        df = tables.pop(t)
        final[t] = schema.coerce_table(t, df.drop(columns=[c for c in INTERNAL_COLUMNS if c in df]))
        del df
    return final, excluded


def _streamed(m: Mapping, reader: _ExportReader) -> tuple[str, ...]:
    """The large tables this export fills from files (read in batches when writing to a folder)."""
    return tuple(
        t
        for t in STREAMED_TABLES
        if t in m.tables and any(reader.by_source.get(i.source) for i in m.tables[t].inputs)
    )


def validate_streamed(
    mapped: dict[str, MappedTable],
    reader: _ExportReader,
    labels: dict[tuple[str, str], str],
    streamed: tuple[str, ...],
    options: dict[str, Any],
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, dict[str, StoredTable], dict[str, Any]]:
    """Validate the in-memory tables, then stream the large ones into Parquet files.

    ``options``: ``store`` (folder), ``batch_rows``, ``quarantine``, ``default_country``. The
    small tables are validated (and quarantined) whole first: the large ones are checked against
    their keys. Returns the small tables coerced, the excluded rows, the stored tables and the
    latest date of each stored table (for :func:`as_of_date`).
    """
    m, report = reader.mapping, reader.report
    quarantine = bool(options["quarantine"])
    warn = {t: tuple(ts.warn_missing) for t, ts in m.tables.items()}
    small = {t: mapped[t].data for t in schema.TABLES if t in mapped}
    filled, report = validate_tables(
        small, report, labels=labels, warn_missing=warn, default_country=options["default_country"]
    )
    del small
    kept: dict[str, pd.DataFrame] = dict(filled)
    direct: list[pd.DataFrame] = []
    cascade: list[pd.DataFrame] = []
    if quarantine:
        reasons = quarantine_reasons(report.problems)
        for name, df in filled.items():
            kept[name], excl = exclude_rows(name, df, reasons)
            if excl is not None:
                direct.append(excl)
        cascade = cascade_exclusions(filled, kept)
    targets, removed = stream_key_sets(filled, kept if quarantine else None, key_set)
    o = filled.get("opportunities")
    opps = (
        OpportunityIndex(o)
        if o is not None and {"opportunity_id", "created_date"} <= set(o.columns)
        else None
    )
    ctx = StreamContext(report, labels, warn, targets, removed, opps, _today(), quarantine)
    stored: dict[str, StoredTable] = {}
    streams: dict[str, TableStream] = {}
    store = Path(options["store"])
    for t in streamed:
        labels_t = {f for i in m.tables[t].inputs for f in reader.by_source.get(i.source, [])}
        ts = TableStream(t, ctx, store / f".{t}.partial.parquet", sorted(labels_t))
        for inp in m.tables[t].inputs:
            lookups = _input_lookups(reader, t, inp)
            for raw in reader.stream(inp.source, int(options["batch_rows"])):
                reader.used_for([raw], t)
                ts.add(map_input(m, t, inp, raw, lookups))
        stored[t] = ts.finish()
        streams[t] = ts
    del filled, opps, ctx
    # files in the order the whole-table intake reads them: by the first table they feed
    order = {t: i for i, t in enumerate(schema.TABLES)}

    def first_table(row: dict[str, Any]) -> int:
        feeds = [t.split(" ")[0] for t in reader.file_tables.get(row["file"], [])]
        return min((order[t] for t in feeds if t in order), default=len(order))

    reader.file_rows.sort(key=first_table)
    # the report as the whole-table validation leaves it: tables in schema order
    remaps = [
        streams[t].remappings if t in streams else mapped[t].remappings for t in schema.TABLES
    ]
    remaps = [r for r in remaps if len(r)]
    if remaps:
        report.remappings = pd.concat(remaps, ignore_index=True)
    report.completeness = _completeness(report.completeness, stored)
    rows = {t: (stored[t].rows if t in stored else len(kept[t])) for t in schema.TABLES}
    if quarantine:
        early = [p for p in cascade if _before_streamed(p)]
        late = [p for p in cascade if not _before_streamed(p)]
        parts = sorted(
            direct + [p for t in streamed for p in streams[t].excluded_direct], key=_order
        )
        parts += early + [p for t in streamed for p in streams[t].excluded_cascade] + late
        excluded = finish_quarantine(report, parts, rows)
    else:
        excluded = pd.DataFrame(columns=["table", "file", "row", "reason"])
        report.row_counts = pd.DataFrame(
            {"table": list(rows), "rows": list(rows.values()), "excluded": [0] * len(rows)}
        )
    final = {}
    for t in list(kept):
        df = kept.pop(t)
        final[t] = schema.coerce_table(t, df.drop(columns=[c for c in INTERNAL_COLUMNS if c in df]))
    latest = {t: streams[t].as_of for t in streams}
    return final, excluded, stored, latest


def _order(part: pd.DataFrame) -> int:
    return list(schema.TABLES).index(str(part["table"].iloc[0]))


def _before_streamed(part: pd.DataFrame) -> bool:
    return _order(part) < min(list(schema.TABLES).index(t) for t in STREAMED_TABLES)


def _completeness(small: pd.DataFrame, stored: dict[str, StoredTable]) -> pd.DataFrame:
    """The completeness of the in-memory tables and of the stored ones, in schema order."""
    rows = [
        {
            "table": t,
            "column": c,
            "rows": st.rows_read,
            "filled": st.filled_read.get(c, 0),
            "share": (st.filled_read.get(c, 0) / st.rows_read) if st.rows_read else float("nan"),
        }
        for t, st in stored.items()
        for c in schema.TABLES[t].column_names
    ]
    out = pd.concat([small, pd.DataFrame(rows, columns=small.columns)], ignore_index=True)
    order = {t: i for i, t in enumerate(schema.TABLES)}
    out["_o"] = out["table"].map(order)
    out = out.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    for c in ("rows", "filled"):
        out[c] = out[c].astype("int64")
    return out


def _from_transactions(
    m: Mapping,
    line_raws: list[sio.RawTable],
    final: dict[str, pd.DataFrame],
    report: ValidationReport,
) -> list[Derivation] | None:
    """Accounts, products and opportunities built from transaction lines, and their derivations.

    The tables go into ``final``; ``None`` (reported) when the transactions block does not fit the
    file.
    """
    assert m.transactions is not None
    lines = pd.concat([r.data for r in line_raws], ignore_index=True)
    label = ", ".join(r.file for r in line_raws)
    try:
        derived, line_derivations = tables_from_transactions(lines, m.transactions, label)
    except ValueError as exc:
        report.add_frame(
            problem_frame(
                severity="error",
                check="transactions",
                message=str(exc),
                hint="Correct the column names in the mapping's transactions block.",
                file=label,
            )
        )
        return None
    final.update(derived)
    return list(line_derivations)


def _from_customer_extract(
    m: Mapping,
    raw: sio.RawTable,
    final: dict[str, pd.DataFrame],
    extras: dict[str, pd.DataFrame],
    report: ValidationReport,
) -> tuple[Derivation | None, pd.Timestamp | None]:
    """Accounts and contracts built from a flat customer extract.

    The tables go into ``final``, its attributes into ``extras``. Returns the derivation and the
    extract's reference date, or ``(None, None)`` when the extract's problems prevent it.
    """
    assert m.customer_extract is not None
    ext, probs, deriv, ext_as_of = tables_from_extract(
        raw.data, m.customer_extract, raw.file, raw.first_row
    )
    for pr in probs:
        report.add_frame(
            problem_frame(
                **{**pr, "row": pr["row"] or None, "value": pr["value"] or None},
                table="accounts",
            )
        )
    if deriv is None:
        return None, None
    final["accounts"], final["contracts"] = ext["accounts"], ext["contracts"]
    extras["customer_attributes"] = ext["customer_attributes"]
    return deriv, ext_as_of


def _recount_rows(report: ValidationReport, final: dict[str, pd.DataFrame]) -> None:
    """Row counts of the tables after derivations."""
    counts = report.row_counts.set_index("table")
    for t in counts.index:
        if t in final:
            counts.loc[t, "rows"] = len(final[t])
    report.row_counts = counts.reset_index()


def _derive(
    m: Mapping,
    final: dict[str, pd.DataFrame],
    stored: dict[str, StoredTable],
    latest: dict[str, pd.Timestamp | None],
    raws: tuple[list[sio.RawTable], list[sio.RawTable]],
    report: ValidationReport,
) -> tuple[dict[str, pd.DataFrame], pd.Timestamp | None, dict[str, pd.DataFrame], list[Derivation]]:
    """The reference date and the derived tables (from transactions, an extract, the deals).

    ``stored`` tables without rows are dropped (their empty frame goes into ``final``, so a
    derivation may fill it); ``latest`` is each stored table's latest date up to today.
    """
    line_raws, extract_raws = raws
    for t, st in list(stored.items()):
        if st.rows == 0:  # an empty table stays in memory, so derivations may fill it
            st.discard()
            del stored[t]
            final[t] = schema.empty_frame(t)
    dates = {
        t: pd.DataFrame({AS_OF_COLUMNS[t]: pd.Series([v], dtype="datetime64[ns]")})
        for t, v in latest.items()
        if t in stored and v is not None
    }
    as_of = as_of_date({**final, **dates})
    extras: dict[str, pd.DataFrame] = {}
    extract_derivations: list[Derivation] = []
    if m.transactions is not None and line_raws:
        line_derivations = _from_transactions(m, line_raws, final, report)
        if line_derivations is not None:
            extract_derivations.extend(line_derivations)
            as_of = as_of_date({**final, **dates})
    if m.customer_extract is not None and extract_raws:
        deriv, ext_as_of = _from_customer_extract(m, extract_raws[0], final, extras, report)
        if deriv is not None:
            extract_derivations.append(deriv)
            as_of = ext_as_of
    derived, derivations = derive_tables({**final, **stored}, as_of, m.derive)
    final = {t: df for t, df in derived.items() if not isinstance(df, StoredTable)}
    derivations = extract_derivations + derivations
    if derivations:
        _recount_rows(report, final)
    return final, as_of, extras, derivations


def load_export(
    source: str | Path,
    mapping: str | Path | Mapping = "salesforce",
    quarantine: bool = False,
    *,
    raise_on_error: bool = True,
    currency: str | None = None,
    country: str | None = None,
    store: str | Path | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> IntakeResult:
    """Read, map and validate a whole CRM export folder.

    Parameters
    ----------
    source
        Folder with the export files (CSV, Excel, Parquet).
    mapping
        Built-in mapping name (``salesforce``, ``maven-crm``), path to a YAML mapping, or a
        :class:`~salesanalytics.ingest.mapping.Mapping`.
    quarantine
        Leave invalid rows (and rows referring to them) out instead of failing; they are counted
        in the report and returned in :attr:`IntakeResult.quarantined`.
    raise_on_error
        Raise :class:`IntakeError` when errors remain (default). ``False`` returns the result
        anyway (for the ``validate`` command, which prints the report).
    currency
        ISO code of the money columns; ``None`` or empty takes the mapping's ``currency`` when
        the mapping sets one, else the currency of the accounts' most frequent country
        (:func:`salesanalytics.reference.geography.currency_for_countries`).
    country
        Default country (ISO alpha-2, or a name such as ``Deutschland``) of accounts and reps
        whose export row gives none; ``None`` or empty = ``CH``.
    store
        Folder to stream the large tables into (activities and stage history,
        :data:`~salesanalytics.ingest.stream.STREAMED_TABLES`): their CSV and Parquet files are
        read, mapped, validated and written as Parquet in batches of ``batch_rows`` rows and are
        never held whole (:attr:`IntakeResult.stored`; ``write_intake`` puts them in place).
        The problems, row numbers and tables are those of the whole-table intake. ``None``
        (default): every table is held in memory.
    batch_rows
        Rows per batch when streaming.

    Returns
    -------
    IntakeResult
        Canonical tables, report and reference date.

    Raises
    ------
    FileNotFoundError
        The folder or the mapping does not exist.
    ValueError
        The mapping file is invalid.
    IntakeError
        The export has errors (and ``raise_on_error``); the message is the full summary.
    """
    src = Path(source)
    m = load_mapping(mapping)
    default_country = _default_country(country)
    report = ValidationReport()
    headers, paths = read_headers(src, sio.list_files(src), report)
    matched, probs = match_files(m, headers)
    report.add_frame(probs)
    by_source: dict[str, list[str]] = {}
    for label, s in matched.items():
        if s:
            by_source.setdefault(s, []).append(label)
    reader = _ExportReader(m, report, headers, paths, by_source, _needed_columns(m))
    streamed = _streamed(m, reader) if store is not None else ()
    mapped = map_tables(m, reader, skip=streamed)
    labels = _collect_mapping_report(mapped, report)
    stored: dict[str, StoredTable] = {}
    latest: dict[str, pd.Timestamp | None] = {}
    if streamed:
        opts = {"store": store, "batch_rows": batch_rows, "quarantine": quarantine}
        final, excluded, stored, latest = validate_streamed(
            mapped, reader, labels, streamed, {**opts, "default_country": default_country}
        )
        del mapped
    extract_raws = reader.raws(m.customer_extract.source) if m.customer_extract else []
    reader.used_for(extract_raws, "accounts", "contracts")
    line_raws = reader.raws(m.transactions.source) if m.transactions is not None else []
    reader.used_for(line_raws, "accounts", "products", "opportunities")
    report.files = reader.files_frame(matched)

    if not streamed:
        tables = {t: mapped[t].data for t in schema.TABLES}
        del mapped
        final, excluded = validate_and_coerce(
            tables, report, labels, m, quarantine, default_country=default_country
        )
    final, as_of, extras, derivations = _derive(
        m, final, stored, latest, (line_raws, extract_raws), report
    )
    result = IntakeResult(
        tables=final,
        report=report,
        as_of=as_of,
        source=src,
        mapping=m.name,
        quarantined=excluded,
        derivations=derivations,
        currency=_currency(currency, m, final.get("accounts"), default_country),
        country=default_country,
        extras=extras,
        stored=stored,
    )
    if raise_on_error and not report.ok:
        for st in stored.values():
            st.discard()
        raise IntakeError(report)
    return result


def customer_profile(
    accounts: pd.DataFrame, contracts: pd.DataFrame, as_of: pd.Timestamp | str
) -> pd.DataFrame:
    """One row per customer with an active contract at ``as_of``: where, what, how much.

    Parameters
    ----------
    accounts
        Canonical accounts: ``account_id``, ``canton``, ``industry``, ``status``.
    contracts
        Canonical contracts: ``account_id``, ``product_id``, ``start_date``, ``end_date``,
        ``mrr``. A contract is active when it started on or before ``as_of`` and has no end
        date or ends after ``as_of``.
    as_of
        Reference date.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``canton``, ``industry``, ``mrr`` (sum of active contracts' MRR, CHF),
        ``products`` (distinct active products), ``contracts`` (active contracts).
    """
    day = pd.Timestamp(as_of)
    c = contracts
    active = c[(c["start_date"] <= day) & (c["end_date"].isna() | (c["end_date"] > day))]
    per = active.groupby("account_id", observed=True).agg(
        mrr=("mrr", "sum"),
        products=("product_id", "nunique"),
        contracts=("account_id", "size"),
    )
    acc = accounts.set_index("account_id")[["canton", "industry"]]
    out = per.join(acc, how="left").reset_index()
    for col in ("canton", "industry"):
        out[col] = out[col].fillna("(unknown)")
    return out[["account_id", "canton", "industry", "mrr", "products", "contracts"]]


def profile_by(profile: pd.DataFrame, by: str) -> pd.DataFrame:
    """Customers and MRR per value of column ``by`` of :func:`customer_profile`.

    Parameters
    ----------
    profile
        Output of :func:`customer_profile` (``mrr`` and the column ``by``).
    by
        ``"canton"``, ``"industry"`` or ``"products"``.

    Returns
    -------
    pandas.DataFrame
        ``by``, ``customers``, ``customer_share``, ``mrr``, ``mrr_share``, ``mrr_per_customer``;
        largest groups first (by number of products: in ascending order of products).
    """
    if by not in profile:
        raise KeyError(f"profile has no column '{by}'; use canton, industry or products")
    g = profile.groupby(by, observed=True).agg(customers=("mrr", "size"), mrr=("mrr", "sum"))
    g["customer_share"] = g["customers"] / max(len(profile), 1)
    total = float(profile["mrr"].sum())
    g["mrr_share"] = g["mrr"] / total if total else float("nan")
    g["mrr_per_customer"] = g["mrr"] / g["customers"]
    g = g.sort_index() if by == "products" else g.sort_values("customers", ascending=False)
    return g.reset_index()[
        [by, "customers", "customer_share", "mrr", "mrr_share", "mrr_per_customer"]
    ]


def _default_country(country: str | None) -> str:
    from salesanalytics.reference.geography import SUPPORTED_COUNTRIES, country_code

    if not country:
        return "CH"
    code = country_code(country)
    if code is None:
        raise ParameterError(
            f"country {country!r} is not a country with postal-code geography; use one of "
            f"{', '.join(SUPPORTED_COUNTRIES)} (or a name such as Deutschland, Schweiz)"
        )
    return code


def _currency(
    currency: str | None, m: Mapping, accounts: pd.DataFrame | None, default_country: str
) -> str:
    """The run's currency: the override, the mapping's own, else the accounts' country's."""
    from salesanalytics.reference.geography import currency_for_countries

    if currency:
        return currency.upper()
    if "currency" in m.model_fields_set:
        return m.currency.upper()
    if accounts is not None and "country" in accounts and len(accounts):
        return currency_for_countries(accounts["country"].fillna(default_country))
    return currency_for_countries([default_country])
