"""The intake phase in a run: the export into the run folder, coverage, ``validate``.

Writes a loaded export into the run folder, evaluates the coverage of the engagement's phases on it,
and holds the ``salesanalytics validate`` command.

:mod:`salesanalytics.ingest.intake` loads an export (read, map, validate) and knows nothing of
phases or run folders; this module hands it to the engagement.

>>> result = load_export("data/demo/export", mapping="salesforce")  # doctest: +SKIP
>>> write_intake(result, "reports/demo/latest/data/intake")  # doctest: +SKIP

The command line ``salesanalytics validate --source DIR [--mapping NAME_OR_FILE]
[--quarantine [FILE]]`` prints the data-quality summary and exits 0 when the export is valid
(warnings allowed) and 1 when there are errors.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from salesanalytics.engagement.coverage import Coverage, evaluate
from salesanalytics.engagement.workspace import Workspace
from salesanalytics.errors import UserError
from salesanalytics.ingest.derive import derivation_frame
from salesanalytics.ingest.intake import IntakeResult, load_export
from salesanalytics.ingest.problems import reword
from salesanalytics.ingest.validation import ValidationReport
from salesanalytics.present.deliverables import write_csv
from salesanalytics.present.formats import label
from salesanalytics.present.i18n import N_
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "CHECK_LABELS",
    "completeness_table",
    "export_coverage",
    "problem_table",
    "register_cli",
    "write_intake",
]

CHECK_LABELS: dict[str, str] = {
    "above_maximum": N_("Value too large"),
    "ambiguous_file": N_("Ambiguous file"),
    "below_minimum": N_("Value too small"),
    "control_character_in_id": N_("Control character in an id"),
    "control_characters": N_("Control characters"),
    "date_order": N_("Dates out of order"),
    "date_out_of_range": N_("Implausible date"),
    "duplicate_id": N_("Duplicate id"),
    "empty_reference_table": N_("Referenced table empty"),
    "file_not_used": N_("File not used"),
    "future_date": N_("Date in the future"),
    "long_text": N_("Long text"),
    "lookup_unavailable": N_("Lookup unavailable"),
    "malformed_row": N_("Malformed row"),
    "missing_column": N_("Missing column"),
    "missing_file": N_("Missing file"),
    "missing_value": N_("Missing value"),
    "negative_value": N_("Negative value"),
    "not_a_boolean": N_("Not yes or no"),
    "not_a_date": N_("Not a date"),
    "not_a_number": N_("Not a number"),
    "not_a_whole_number": N_("Not a whole number"),
    "no_files": N_("No files"),
    "no_rows": N_("No rows"),
    "not_allowed": N_("Value not allowed"),
    "orphan_reference": N_("Reference to a missing row"),
    "stage_order": N_("Stages out of order"),
    "transactions": N_("Invoice lines"),
    "unknown_country": N_("Unknown country"),
    "unknown_postal_code": N_("Unknown postal code"),
    "unknown_value": N_("Unknown value"),
    "unreadable_file": N_("Unreadable file"),
    "wrong_type": N_("Wrong type"),
}
"""The data-quality checks in the reader's words (translated where shown)."""


def completeness_table(report: ValidationReport, n: int = 25) -> pd.DataFrame:
    """The least complete fields of the tables that have rows, labelled for the reader.

    Parameters
    ----------
    report
        The validation report of the intake (its ``completeness``: ``table``, ``column``,
        ``rows``, ``filled``, ``share``).
    n
        How many fields.

    Returns
    -------
    pandas.DataFrame
        The ``n`` fields with the smallest filled share, ``column`` as the field's label in the
        run's language.
    """
    comp = report.completeness[report.completeness["rows"] > 0]
    least = comp.sort_values("share", kind="stable").head(n)
    return least.assign(column=least["column"].map(label))


def problem_table(report: ValidationReport, examples: int = 3) -> pd.DataFrame:
    """The grouped data-quality problems for a report, in the run's language.

    Parameters
    ----------
    report
        The validation report of the intake (``IntakeResult.report``).
    examples
        Example rows per group.

    Returns
    -------
    pandas.DataFrame
        :meth:`~salesanalytics.ingest.validation.ValidationReport.problem_summary` with the
        check, message, hint and examples in the run's language (texts of the checks marked as
        templates are reworded from the catalogue; table and column names stay as in the data).
    """
    out = report.problem_summary(examples, row_word=_("row {row}")).copy()
    out["check"] = out["check"].map(lambda c: _(CHECK_LABELS[c]) if c in CHECK_LABELS else c)
    for col in ("message", "hint"):
        out[col] = out[col].map(lambda t: reword(t, _) if isinstance(t, str) else t)
    return out


def write_intake(
    result: IntakeResult,
    target: Workspace | str | Path,
    language: str = "en",
    locale: str = "",
) -> Path:
    """Write the canonical tables, quality tables and ``as_of.json``.

    Writes into the output folder of ``target`` (a :class:`~salesanalytics.engagement.workspace.Workspace`
    or a folder path): ``<table>.parquet`` for the eight canonical tables (the tables the intake
    streamed, :attr:`~salesanalytics.ingest.intake.IntakeResult.stored`, are moved there); ``quality.parquet``
    (problems grouped by file, column and check, with counts and example rows),
    ``quality_problems.parquet`` (every problem), ``quality_files``, ``quality_tables``,
    ``quality_completeness``, ``quality_remappings``, ``quality_fills``, ``quality_excluded``
    (Parquet); ``quarantine.csv`` (excluded rows with reasons, when there are any);
    ``as_of.json`` (``{"as_of": "YYYY-MM-DD"}``) and ``quality_counts.json``;
    ``derivations.parquet`` (tables derived because the export lacks them, with rows produced),
    ``settings.json`` (``{"currency": "USD", "country": "CH", "countries": [...], "language": "de",
    "locale": "de-CH"}``: the run's currency and countries, the client's language and the locale of
    its number formats, read by every phase; ``language`` / ``locale`` are the project's, see
    :func:`salesanalytics.present.i18n.check_locale`) and
    ``coverage.json`` (the coverage matrix, :func:`export_coverage`). A demo export's planted
    truths are not written here (this is the client's data folder): the run places them in its
    analyst folder (:func:`salesanalytics.engagement.workspace.place_truth`).

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
    for name, stored in result.stored.items():  # streamed by the intake: moved into place
        stored.place(ws.output_dir / f"{name}.parquet")
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
        {
            "currency": result.currency,
            "country": result.country,
            "countries": result.countries,
            "language": language or "en",
            "locale": locale or "",
        },
    )
    ws.write_json("coverage", export_coverage(result).to_json())
    ws.write_json(
        "quality_counts", {**rep.counts(), "mapping": result.mapping, "source": str(result.source)}
    )
    return ws.output_dir


def export_coverage(result: IntakeResult) -> Coverage:
    """The coverage matrix of every phase of the engagement on this export (derivations included).

    Which phase and analysis runs, runs with limitations or is skipped, and why.
    """
    from salesanalytics.engagement.phases import all_phases

    return evaluate(all_phases(), {**result.tables, **result.stored})


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
    with tempfile.TemporaryDirectory(prefix="salesanalytics-validate-") as scratch:
        try:
            result = load_export(
                source,
                mapping or "salesforce",
                quarantine=args.quarantine is not None,
                raise_on_error=False,
                store=args.output or scratch,  # the large tables are streamed, never held whole
            )
        except (FileNotFoundError, ValueError) as exc:
            raise UserError(str(exc)) from exc
        return _report_validation(args, result)


def _report_validation(args: argparse.Namespace, result: IntakeResult) -> int:
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
    else:
        for stored in result.stored.values():
            stored.discard()
    return 0 if result.report.ok else 1
