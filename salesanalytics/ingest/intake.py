"""Load a whole CRM export: read every file, map it to the canonical tables and validate it.

>>> result = load_export("data/demo/export", mapping="salesforce")  # doctest: +SKIP
>>> print(result.report.to_text())  # doctest: +SKIP
>>> write_intake(result, "reports/demo/latest/data/intake")  # doctest: +SKIP

A load either fails with the full report (:class:`IntakeError`, every problem at once) or, with
``quarantine=True``, leaves out the invalid rows (and the rows that refer to them), counts them and
keeps them with their reasons in :attr:`IntakeResult.quarantined`. Input files are only read.

The command line ``salesanalytics validate --source DIR [--mapping NAME_OR_FILE]
[--quarantine [FILE]]`` prints the data-quality summary and exits 0 when the export is valid
(warnings allowed) and 1 when there are errors.
"""

from __future__ import annotations

import argparse
import csv
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from pyarrow.lib import ArrowException

from salesanalytics.engagement.coverage import Coverage, evaluate
from salesanalytics.engagement.workspace import Workspace
from salesanalytics.errors import UserError
from salesanalytics.ingest import io as sio
from salesanalytics.ingest import schema
from salesanalytics.ingest.derive import (
    Derivation,
    derivation_frame,
    derive_tables,
    tables_from_extract,
    tables_from_transactions,
)
from salesanalytics.ingest.mapping import MappedTable, Mapping, load_mapping, map_input, match_files
from salesanalytics.ingest.mapping import stack_inputs as _stack
from salesanalytics.ingest.validation import (
    INTERNAL_COLUMNS,
    ValidationReport,
    apply_quarantine,
    problem_frame,
    validate_tables,
)
from salesanalytics.present.deliverables import write_csv

__all__ = [
    "TRUTH_FILES",
    "IntakeError",
    "IntakeResult",
    "as_of_date",
    "customer_profile",
    "export_coverage",
    "load_export",
    "profile_by",
    "register_cli",
    "write_intake",
]

TRUTH_FILES: tuple[str, ...] = ("truth.json", "truth_accounts.parquet")
"""Files of the demo generator that are copied unchanged into the intake output."""


class IntakeError(ValueError):
    """The export has errors; ``report`` holds every problem, ``str(err)`` the text summary."""

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
        ISO code of the money columns (from the mapping, or the project's override).
    extras
        Tables beyond the canonical ones: ``customer_attributes`` of a flat customer extract
        (``account_id`` and the attribute columns, the churn models' covariates).
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
    """A file with a header but no rows: an error for a required source (e.g. Account) and for a
    table other tables refer to (e.g. User: every owner would be unknown); a warning otherwise
    (the table stays empty)."""
    tables = [t for t, ts in m.tables.items() if any(i.source == source_name for i in ts.inputs)]
    referenced = {
        c.references.split(".")[0]
        for name, t in schema.TABLES.items()
        for c in t.columns
        if c.references and not c.references.startswith(f"{name}.")
    }
    required = m.sources[source_name].required or bool(referenced & set(tables))
    what = f"table {', '.join(tables)} stays empty" if tables else "it is used for look-ups"
    return problem_frame(
        severity="error" if required else "warning",
        check="no_rows",
        message=f"file has a header but no data rows: {what}",
        hint="Export the table again with its rows (was the export filtered or cut off?)."
        + (" Problems of other files that refer to it follow from this one." if required else ""),
        file=label,
        table=tables[0] if tables else None,
    )


def _nul_problems(raw: sio.RawTable, label: str, read: set[str]) -> pd.DataFrame:
    """Warnings for NUL bytes in CSV columns the mapping does not read (the columns it reads
    are checked cell by cell, see :func:`salesanalytics.ingest.mapping.text_cell_problems`)."""
    try:
        hits = [h for h in sio.find_nul_bytes(raw.path) if h.column not in read]
    except READ_ERRORS:  # pragma: no cover - the file was just read
        return problem_frame(severity="info", check="", message="", n=0)
    return problem_frame(
        severity="warning",
        check="control_characters",
        message="NUL bytes in a column the analyses do not read (a sign of a damaged export)",
        hint="Check how the file was exported; the column is not used, the rest is read.",
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


def load_export(
    source: str | Path,
    mapping: str | Path | Mapping = "salesforce",
    quarantine: bool = False,
    *,
    raise_on_error: bool = True,
    currency: str | None = None,
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
        ISO code of the money columns; ``None`` or empty takes the mapping's ``currency``.

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
    files = sio.list_files(src)
    report = ValidationReport()
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
    matched, probs = match_files(m, headers)
    report.add_frame(probs)
    by_source: dict[str, list[str]] = {}
    for label, s in matched.items():
        if s:
            by_source.setdefault(s, []).append(label)

    need = _needed_columns(m)
    table_order = [t for t in schema.TABLES if t in m.tables]
    last_use: dict[str, int] = {}
    for i, t in enumerate(table_order):
        for inp in m.tables[t].inputs:
            last_use[inp.source] = i
            for name in inp.columns:
                lk = inp.column(name).lookup
                if lk:
                    last_use[lk.source] = i

    raw_cache: dict[str, sio.RawTable] = {}
    file_rows: list[dict[str, Any]] = []
    file_tables: dict[str, list[str]] = {}

    def get_raws(source_name: str) -> list[sio.RawTable]:
        out = []
        for label in by_source.get(source_name, []):
            if label not in raw_cache:
                try:
                    for r in sio.read_file(paths[label], columns=need.get(source_name)):
                        raw_cache[r.file] = r
                except READ_ERRORS as exc:
                    report.add_frame(
                        problem_frame(
                            severity="error",
                            check="unreadable_file",
                            message=str(exc),
                            file=label,
                        )
                    )
                    continue
                r = raw_cache.get(label)
                if r is None:
                    continue
                file_rows.append(
                    {
                        "file": label,
                        "source": source_name,
                        "kind": r.kind,
                        "encoding": r.encoding,
                        "delimiter": {";": ";", ",": ",", "\t": "tab", "|": "|"}.get(
                            r.delimiter or "", None
                        ),
                        "rows": len(r.data) + len(r.bad_rows),
                        "columns": len(headers.get(label, r.data.columns)),
                    }
                )
                if len(r.data) == 0 and not r.bad_rows:
                    report.add_frame(_no_rows_problem(m, source_name, label))
                if r.kind == "csv":
                    report.add_frame(_nul_problems(r, label, need.get(source_name, set())))
                if r.bad_rows:
                    report.add_frame(
                        problem_frame(
                            severity="error",
                            check="malformed_row",
                            message=f"row cannot be split into the {len(headers[label])} columns "
                            "of the header (wrong number of delimiters or an unclosed quote)",
                            hint="Correct the row in the file; it was not read.",
                            file=label,
                            row=[b[0] for b in r.bad_rows],
                            value=[b[1] for b in r.bad_rows],
                        )
                    )
            if label in raw_cache:
                out.append(raw_cache[label])
        return out

    mapped: dict[str, MappedTable] = {}
    for i, t in enumerate(table_order):
        parts = []
        for inp in m.tables[t].inputs:
            lookups = {}
            for name in inp.columns:
                lk = inp.column(name).lookup
                if lk:
                    lookups[lk.source] = get_raws(lk.source)
                    for r in lookups[lk.source]:
                        file_tables.setdefault(r.file, []).append(f"{t} (lookup)")
            for raw in get_raws(inp.source):
                parts.append(map_input(m, t, inp, raw, lookups))
                file_tables.setdefault(raw.file, []).append(t)
        mapped[t] = _stack(t, parts)
        del parts
        for s, last in last_use.items():
            if last <= i:
                for label in by_source.get(s, []):
                    raw_cache.pop(label, None)
    raw_cache.clear()
    for t in schema.TABLES:
        if t not in mapped:
            mapped[t] = _stack(t, [])

    labels: dict[tuple[str, str], str] = {}
    remaps = []
    for mt in mapped.values():
        report.add_frame(mt.problems)
        labels.update(mt.labels)
        if len(mt.remappings):
            remaps.append(mt.remappings)
    if remaps:
        report.remappings = pd.concat(remaps, ignore_index=True)
    extract_raws = get_raws(m.customer_extract.source) if m.customer_extract is not None else []
    for r in extract_raws:
        file_tables.setdefault(r.file, []).extend(["accounts", "contracts"])
    line_raws = get_raws(m.transactions.source) if m.transactions is not None else []
    for r in line_raws:
        file_tables.setdefault(r.file, []).extend(["accounts", "products", "opportunities"])
    files_df = pd.DataFrame(
        file_rows,
        columns=["file", "source", "kind", "encoding", "delimiter", "rows", "columns"],
    )
    files_df.insert(
        2, "table", files_df["file"].map(lambda f: ", ".join(dict.fromkeys(file_tables.get(f, []))))
    )
    unused = [label for label, s in matched.items() if not s]
    if unused:
        files_df = pd.concat(
            [files_df, pd.DataFrame({"file": unused, "table": "", "source": ""})],
            ignore_index=True,
        )
    report.files = files_df

    tables = {t: mapped[t].data for t in schema.TABLES}
    del mapped
    warn = {t: ts.warn_missing for t, ts in m.tables.items()}
    tables, report = validate_tables(tables, report, labels=labels, warn_missing=warn)
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
    as_of = as_of_date(final)
    extras: dict[str, pd.DataFrame] = {}
    extract_derivations = []
    if m.transactions is not None and line_raws:
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
        else:
            final.update(derived)
            extract_derivations.extend(line_derivations)
            as_of = as_of_date(final)
    if m.customer_extract is not None:
        if extract_raws:
            raw = extract_raws[0]
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
            if deriv is not None:
                final["accounts"], final["contracts"] = ext["accounts"], ext["contracts"]
                extras["customer_attributes"] = ext["customer_attributes"]
                extract_derivations.append(deriv)
                as_of = ext_as_of
    final, derivations = derive_tables(final, as_of, m.derive)
    derivations = extract_derivations + derivations
    if derivations:
        counts = report.row_counts.set_index("table")
        for t in counts.index:
            if t in final:
                counts.loc[t, "rows"] = len(final[t])
        report.row_counts = counts.reset_index()
    result = IntakeResult(
        tables=final,
        report=report,
        as_of=as_of,
        source=src,
        mapping=m.name,
        quarantined=excluded,
        derivations=derivations,
        currency=(currency or m.currency).upper(),
        extras=extras,
    )
    if raise_on_error and not report.ok:
        raise IntakeError(report)
    return result


def write_intake(
    result: IntakeResult,
    target: Workspace | str | Path,
    language: str = "en",
    locale: str = "",
) -> Path:
    """Write the canonical tables, quality tables, ``as_of.json`` and demo truth files.

    Writes into the output folder of ``target`` (a :class:`~salesanalytics.engagement.workspace.Workspace`
    or a folder path): ``<table>.parquet`` for the eight canonical tables; ``quality.parquet``
    (problems grouped by file, column and check, with counts and example rows),
    ``quality_problems.parquet`` (every problem), ``quality_files``, ``quality_tables``,
    ``quality_completeness``, ``quality_remappings``, ``quality_fills``, ``quality_excluded``
    (Parquet); ``quarantine.csv`` (excluded rows with reasons, when there are any);
    ``as_of.json`` (``{"as_of": "YYYY-MM-DD"}``) and ``quality_counts.json``;
    ``derivations.parquet`` (tables derived because the export lacks them, with rows produced),
    ``settings.json`` (``{"currency": "USD", "language": "de", "locale": "de-CH"}``: the run's
    currency, the client's language and the locale of its number formats, read by every phase;
    ``language`` / ``locale`` are the project's, see :func:`salesanalytics.present.i18n.check_locale`) and
    ``coverage.json`` (the coverage matrix, :func:`export_coverage`). ``truth.json`` and
    ``truth_accounts.parquet`` of a demo export are copied unchanged.

    Returns
    -------
    pathlib.Path
        The output folder.
    """
    ws = (
        target
        if isinstance(target, Workspace)
        else Workspace(Path(target), "intake", output_dir=Path(target))
    )
    for name, df in result.tables.items():
        ws.write(name, df)
    rep = result.report
    ws.write("quality", _plain(rep.problem_summary()))
    ws.write("quality_problems", _plain(rep.problems))
    ws.write("quality_files", _plain(rep.files))
    ws.write("quality_tables", _plain(rep.row_counts))
    ws.write("quality_completeness", _plain(rep.completeness))
    ws.write("quality_remappings", _plain(rep.remappings))
    ws.write("quality_fills", _plain(rep.fills))
    ws.write("quality_excluded", _plain(rep.excluded))
    if len(result.quarantined):
        write_csv(result.quarantined, ws.path("quarantine.csv"))
    ws.write_json(
        "as_of", {"as_of": result.as_of.strftime("%Y-%m-%d") if result.as_of is not None else None}
    )
    ws.write("derivations", derivation_frame(result.derivations))
    for name, df in result.extras.items():
        ws.write(name, df)
    # language and locale come validated from the project (engagement.phases.intake.Params)
    ws.write_json(
        "settings",
        {"currency": result.currency, "language": language or "en", "locale": locale or ""},
    )
    ws.write_json("coverage", export_coverage(result).to_json())
    ws.write_json(
        "quality_counts", {**rep.counts(), "mapping": result.mapping, "source": str(result.source)}
    )
    for name in TRUTH_FILES:
        src = result.source / name
        if src.is_file():
            shutil.copyfile(src, ws.output_dir / name)
    return ws.output_dir


def export_coverage(result: IntakeResult) -> Coverage:
    """The coverage matrix of every phase of the engagement on this export (derivations
    included): which phase and analysis runs, runs with limitations or is skipped, and why."""
    from salesanalytics.engagement.phases import all_phases

    return evaluate(all_phases(), result.tables)


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


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Frame with Parquet-friendly dtypes (object columns as text)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].astype("string")
    return out


# ----------------------------------------------------------------------------------------------
# command line


def register_cli(subparsers: Any) -> None:
    """Add the ``validate`` subcommand to the ``salesanalytics`` command line."""
    p = subparsers.add_parser(
        "validate",
        help="load, map and validate a CRM export and print a data-quality summary",
        description="Load every file of a CRM export folder, map it to the canonical tables and "
        "check it: types, required values, allowed values, duplicate ids, orphan references, "
        "dates out of order, negative amounts and Swiss postal codes. Prints a data-quality "
        "summary; exits 0 when the export is valid (warnings allowed), 1 when there are "
        "errors, listing every problem with file, column, row, value and a hint, and 2 when "
        "the command cannot run (no such folder or mapping). Rules: docs/validation.md.",
    )
    p.add_argument(
        "--source", help="folder with the export files (default: the --config project's)"
    )
    p.add_argument(
        "--mapping",
        default=None,
        help="built-in mapping (salesforce, hubspot, dynamics365, maven-crm, bank-churn, online-retail) "
        "or path to a YAML mapping file "
        "(default: the --config project's, else salesforce)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="also check a project file's phase parameters (project.yaml, as 'run' does) "
        "before the data; every impossible value or combination is listed",
    )
    p.add_argument(
        "--quarantine",
        nargs="?",
        const="quarantine.csv",
        default=None,
        metavar="FILE",
        help="leave invalid rows out and write them with their reasons to FILE "
        "(default quarantine.csv) instead of failing",
    )
    p.add_argument(
        "--output",
        default=None,
        metavar="DIR",
        help="also write the validated canonical tables (Parquet) and quality tables to DIR",
    )
    p.set_defaults(func=_cmd_validate)


def _cmd_validate(args: argparse.Namespace) -> int:
    source, mapping = args.source, args.mapping
    if args.config:
        from salesanalytics.engagement.phases import all_phases
        from salesanalytics.engagement.pipeline.config import load_project

        cfg = load_project(args.config, all_phases())  # ConfigError lists every problem
        print(f"Parameters of {cfg.path.name}: valid.")
        source = source or str(cfg.source)
        mapping = mapping or cfg.mapping
    if not source:
        raise UserError("give the export folder with --source, or a project file with --config")
    try:
        result = load_export(
            source,
            mapping or "salesforce",
            quarantine=args.quarantine is not None,
            raise_on_error=False,
        )
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    print(result.report.to_text())
    for d in result.derivations:
        print(f"Derived {d.table} ({d.rows:,} rows): {d.description}")
    print(export_coverage(result).to_text())
    if args.quarantine is not None:
        qpath = Path(args.quarantine)
        qpath.parent.mkdir(parents=True, exist_ok=True)
        write_csv(result.quarantined, qpath)
        print(f"Quarantine: {len(result.quarantined)} rows written to {qpath}")
    if args.output and result.report.ok:
        out = write_intake(result, args.output)
        print(f"Canonical tables written to {out}")
    return 0 if result.report.ok else 1
