"""Validation of the canonical tables: per-table schema, cross-table checks, report and quarantine.

Per table the pandera schema of :mod:`salesanalytics.ingest.schema` is enforced (lazily: all failures);
across tables this module checks duplicate ids, orphan references (every ``references`` in the
schema), dates out of order (contract end before start, close before created, stage entered
before the opportunity was created), negative amounts and minutes (schema bounds) and Swiss postal
codes that do not exist. Missing municipality / canton / coordinates of accounts and reps are
filled from the postal code, and the number of filled cells is reported.

Problems are collected in a :class:`ValidationReport`: every single problem is kept (a DataFrame,
possibly millions of rows), the text summary groups them by file, column and check and shows the
first rows with their values ("and 1'234 more").

The frames validated here are *mapped* tables (see :mod:`salesanalytics.ingest.mapping`): canonical
columns plus two internal columns, ``_file`` and ``_row``, telling for every row the input file and
the spreadsheet row it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesanalytics.ingest import schema
from salesanalytics.ingest._pandera import errors as pa_errors
from salesanalytics.ingest.problems import (
    FILE_COL,
    INTERNAL_COLUMNS,
    N_,
    PROBLEM_COLUMNS,
    ROW_COL,
    SEVERITIES,
    Problem,
    printable,
    problem_frame,
)
from salesanalytics.ingest.problems import empty_problems as _empty_problems
from salesanalytics.ingest.problems import fmt_int as _fmt_int

__all__ = [
    "PROBLEM_COLUMNS",
    "SEVERITIES",
    "Problem",
    "ValidationReport",
    "CAUSE_CHECKS",
    "DATE_CHECKS",
    "FutureRule",
    "OrderRule",
    "apply_quarantine",
    "check_date_order",
    "fill_geography",
    "isin",
    "printable",
    "problem_frame",
    "validate_tables",
]

CAUSE_CHECKS: tuple[str, ...] = (
    "no_files",
    "unreadable_file",
    "missing_file",
    "ambiguous_file",
    "no_rows",
    "missing_column",
    "empty_reference_table",
)
"""Checks that name a cause of many other problems (a file missing, empty or unreadable): they
are listed first in every report, before the problems of single rows."""


@dataclass
class ValidationReport:
    """Everything found while loading an export.

    Attributes
    ----------
    files
        One row per input file: ``file``, ``source`` (mapping source), ``table``, ``kind``,
        ``encoding``, ``delimiter``, ``rows``, ``columns``.
    row_counts
        Rows per canonical table: ``table``, ``rows`` (kept), ``excluded``.
    completeness
        ``table``, ``column``, ``rows``, ``filled``, ``share`` (share of non-empty cells).
    remappings
        Every value translated by the mapping, counted: ``file``, ``table``, ``column`` (source),
        ``field``, ``from_value``, ``to_value``, ``count``.
    excluded
        Rows left out (quarantine): ``table``, ``file``, ``row``, ``reason``.
    fills
        Cells filled by the import: ``table``, ``field``, ``filled``, ``how``.
    """

    files: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=[
                "file",
                "source",
                "table",
                "kind",
                "encoding",
                "delimiter",
                "rows",
                "columns",
            ]
        )
    )
    row_counts: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["table", "rows", "excluded"])
    )
    completeness: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["table", "column", "rows", "filled", "share"])
    )
    remappings: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["file", "table", "column", "field", "from_value", "to_value", "count"]
        )
    )
    excluded: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["table", "file", "row", "reason"])
    )
    fills: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["table", "field", "filled", "how"])
    )
    _parts: list[pd.DataFrame] = field(default_factory=list, repr=False)
    _cache: pd.DataFrame | None = field(default=None, repr=False)

    # -- problems ---------------------------------------------------------------------------
    def add(self, problem: Problem) -> None:
        """Add one problem."""
        self.add_frame(
            problem_frame(
                severity=problem.severity,
                check=problem.check,
                message=problem.message,
                hint=problem.hint,
                file=problem.file,
                table=problem.table,
                column=problem.column,
                field=problem.field,
                row=problem.row,
                value=problem.value,
            )
        )

    def add_frame(self, frame: pd.DataFrame) -> None:
        """Add many problems (a frame with :data:`PROBLEM_COLUMNS`, e.g. from :func:`problem_frame`)."""
        if len(frame):
            self._parts.append(frame[PROBLEM_COLUMNS])
            self._cache = None

    @property
    def problems(self) -> pd.DataFrame:
        """All problems (:data:`PROBLEM_COLUMNS`), errors first, then by file, column and row."""
        if self._cache is None:
            parts = [p for p in self._parts if len(p)]
            df = pd.concat(parts, ignore_index=True) if parts else _empty_problems()
            order = {s: i for i, s in enumerate(SEVERITIES)}
            df["_o"] = df["severity"].map(order).astype("int64")
            prio = {c: i for i, c in enumerate(CAUSE_CHECKS)}
            df["_p"] = df["check"].map(prio).fillna(len(prio)).astype("int64")
            df = df.sort_values(
                ["_o", "_p", "file", "table", "column", "check", "row"],
                kind="stable",
                na_position="first",
            ).drop(columns=["_o", "_p"])
            self._cache = df.reset_index(drop=True)
            self._parts = [self._cache]
        return self._cache

    def count(self, severity: str) -> int:
        """Number of problems of ``severity``."""
        return int((self.problems["severity"] == severity).sum())

    @property
    def n_errors(self) -> int:
        """Number of errors."""
        return self.count("error")

    @property
    def n_warnings(self) -> int:
        """Number of warnings."""
        return self.count("warning")

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return self.n_errors == 0

    def problem_summary(self, examples: int = 3, row_word: str = "row {row}") -> pd.DataFrame:
        """Problems grouped by severity, file, table, column, check and message.

        Parameters
        ----------
        examples
            Example rows per group.
        row_word
            How an example names its row (a report in another language passes its words).

        Returns
        -------
        pandas.DataFrame
            ``severity``, ``file``, ``table``, ``column``, ``check``, ``message``, ``hint``,
            ``count``, ``examples`` (first rows with their values, e.g. ``row 5: 'abc'``).
        """
        p = self.problems
        keys = ["severity", "file", "table", "column", "check", "message", "hint"]
        cols = [*keys, "count", "examples"]
        if p.empty:
            return pd.DataFrame(columns=cols)
        g = p.fillna({k: "" for k in keys}).groupby(keys, sort=False, dropna=False)
        counts = g.size().rename("count")
        heads = g.head(examples)

        def ex(r: pd.Series) -> str:
            parts = []
            if not pd.isna(r["row"]):
                parts.append(row_word.format(row=int(r["row"])))
            if not pd.isna(r["value"]):
                parts.append(f"'{str(r['value'])[:60]}'")
            return ": ".join(parts)

        heads = heads.assign(_ex=heads.apply(ex, axis=1) if len(heads) else [])
        exs = (
            heads[heads["_ex"] != ""]
            .groupby(keys, sort=False, dropna=False)["_ex"]
            .agg(", ".join)
            .rename("examples")
        )
        out = counts.to_frame().join(exs).reset_index()
        out["examples"] = out["examples"].fillna("")
        return out[cols]

    def to_text(self, examples: int = 3, max_groups: int = 200) -> str:
        """Plain-text data-quality summary for the command line."""
        lines: list[str] = ["Data-quality summary", "===================="]
        if len(self.files):
            lines.append("Files read:")
            for r in self.files.itertuples(index=False):
                table = r.table if isinstance(r.table, str) and r.table else "(not used)"
                rows = "" if pd.isna(r.rows) else f"{_fmt_int(int(r.rows))} rows"
                lines.append(f"  {printable(r.file)}: {rows} -> {table}")
        if len(self.row_counts):
            lines.append("Tables:")
            for r in self.row_counts.itertuples(index=False):
                exc = f", {_fmt_int(int(r.excluded))} rows excluded" if r.excluded else ""
                lines.append(f"  {r.table}: {_fmt_int(int(r.rows))} rows{exc}")
        if len(self.remappings):
            lines.append("Values translated by the mapping (counted):")
            rm = self.remappings
            for (file, col), grp in rm.groupby(["file", "column"], sort=False):
                grp = grp.sort_values("count", ascending=False, kind="stable")
                pairs = [
                    f"'{a}' -> '{b}' ({_fmt_int(int(k))}x)"
                    for a, b, k in zip(
                        grp["from_value"], grp["to_value"], grp["count"], strict=True
                    )
                ]
                more = f", ... and {len(pairs) - 8} more" if len(pairs) > 8 else ""
                lines.append(f"  {file}, column {col}: {', '.join(pairs[:8])}{more}")
        fills = self.fills[self.fills["filled"] > 0] if len(self.fills) else self.fills
        if len(fills):
            lines.append("Cells filled:")
            for r in fills.itertuples(index=False):
                lines.append(f"  {r.table}.{r.field}: {_fmt_int(int(r.filled))} ({r.how})")
        summary = self.problem_summary(examples)
        n_err, n_warn = self.n_errors, self.n_warnings
        n_info = self.count("info")
        lines.append(
            f"Problems: {_fmt_int(n_err)} errors, {_fmt_int(n_warn)} warnings, "
            f"{_fmt_int(n_info)} notes"
        )
        for r in summary.head(max_groups).itertuples(index=False):
            where = ", ".join(
                x
                for x in (
                    f"file {r.file}" if r.file else (f"table {r.table}" if r.table else ""),
                    f"column {r.column}" if r.column else "",
                )
                if x
            )
            more = r.count - min(r.count, examples)
            ex = f" - {r.examples}" if r.examples else ""
            tail = f" and {_fmt_int(more)} more" if more > 0 and r.examples else ""
            n = f" [{_fmt_int(r.count)}x]" if r.count > 1 else ""
            loc = f"{where}: " if where else ""
            lines.append(f"  {r.severity.upper()}: {loc}{r.message}{n}{ex}{tail}")
            if r.hint:
                lines.append(f"      hint: {r.hint}")
        if len(summary) > max_groups:
            lines.append(f"  ... and {len(summary) - max_groups} more groups of problems")
        if len(self.excluded):
            lines.append(
                f"Excluded rows: {_fmt_int(len(self.excluded))} (written with their reasons to "
                "the quarantine file)"
            )
        lines.append(
            "Result: VALID" + (" (with warnings)" if n_warn else "")
            if n_err == 0
            else f"Result: INVALID ({_fmt_int(n_err)} errors)"
        )
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        """Problem counts by severity plus the number of excluded rows."""
        return {
            "errors": self.n_errors,
            "warnings": self.n_warnings,
            "infos": self.count("info"),
            "excluded_rows": len(self.excluded),
        }


# ----------------------------------------------------------------------------------------------
# checks


def _arrow(s: pd.Series | pd.Index) -> pa.Array:
    """The values of a text column as one pyarrow string array."""
    arr = pa.array(s.astype("string").array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def isin(s: pd.Series, values: pd.Series | pd.Index) -> np.ndarray:
    """Vectorised ``s.isin(values)`` for text columns (pyarrow ``is_in``; missing -> False).

    pandas' ``isin`` on Arrow-backed text loops over ``values`` in Python, which takes minutes
    for a million ids; this does not.
    """
    vs = pc.unique(_arrow(pd.Series(values).dropna()))
    m = pc.is_in(_arrow(s), value_set=vs)
    return np.asarray(m.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _rows_problems(
    df: pd.DataFrame,
    mask: pd.Series | np.ndarray,
    *,
    table: str,
    field_name: str,
    severity: str,
    check: str,
    message: str,
    hint: str,
    labels: Mapping[tuple[str, str], str] | None = None,
    value: pd.Series | None = None,
) -> pd.DataFrame:
    """Problems for the rows of mapped table ``df`` selected by ``mask``."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return _empty_problems()
    sub = df.loc[m]
    files = sub[FILE_COL].astype("string")
    if value is not None:
        vals = value[m]
    else:
        vals = sub[field_name] if field_name in df else None
    if vals is not None:
        v = vals
        if pd.api.types.is_datetime64_any_dtype(v):
            vtxt = v.dt.strftime("%Y-%m-%d")
        else:
            vtxt = v.astype("string")
        vals = vtxt.to_numpy(dtype=object)
    columns = _labels_for(files, table, field_name, labels)
    return problem_frame(
        severity=severity,
        check=check,
        message=message,
        hint=hint,
        file=files.to_numpy(dtype=object),
        table=table,
        column=columns,
        field=field_name,
        row=sub[ROW_COL].to_numpy(),
        value=vals,
        n=int(m.sum()),
    )


def _labels_for(
    files: pd.Series,
    table: str,
    field_name: str,
    labels: Mapping[tuple[str, str], str] | None,
) -> np.ndarray:
    """Source column names of ``field_name`` for each file (fall back to the canonical name)."""
    if not labels:
        return np.full(len(files), field_name, dtype=object)
    uniq = files.unique()
    lut = {f: labels.get((str(f), field_name), field_name) for f in uniq}
    return files.map(lut).to_numpy(dtype=object)


_CHECK_NAMES = {
    "not_nullable": "missing_value",
    "field_uniqueness": "duplicate_id",
    "column_in_dataframe": "missing_column",
}


def _pandera_problems(
    name: str,
    df: pd.DataFrame,
    labels: Mapping[tuple[str, str], str] | None,
    allow_missing: Iterable[str],
) -> pd.DataFrame:
    """Run the table's pandera schema lazily and turn each failure into a problem."""
    table = schema.TABLES[name]
    sch = schema.table_schema(name)
    allow = set(allow_missing)
    updates: dict[str, dict[str, Any]] = {}
    for c in table.columns:
        opts: dict[str, Any] = {}
        if c.name in allow:
            opts["nullable"] = True
        if c.unique:
            opts["unique"] = False  # duplicates are reported by check_duplicates, with first row
        if opts:
            updates[c.name] = opts
    if updates:
        sch = sch.update_columns(updates)
    data = df.drop(columns=[c for c in INTERNAL_COLUMNS if c in df.columns])
    try:
        sch.validate(data, lazy=True)
        return _empty_problems()
    except pa_errors.SchemaErrors as exc:
        fc = exc.failure_cases
    out = []
    for (col, check), grp in fc.groupby(["column", "check"], dropna=False, sort=False):
        col = str(col) if not pd.isna(col) else None
        check = str(check)
        idx = grp["index"].dropna()
        if check == "column_in_dataframe" or col is None or idx.empty:
            missing = str(grp["failure_case"].iloc[0]) if col is None else col
            out.append(
                problem_frame(
                    severity="error",
                    check="missing_column",
                    message=N_("table {table} has no column '{column}'").format(
                        table=name, column=missing
                    ),
                    hint=N_("Map this column in the mapping file, or add it to the export."),
                    table=name,
                    column=missing,
                    field=missing,
                )
            )
            continue
        positions = df.index.get_indexer(idx.astype("int64"))
        mask = np.zeros(len(df), dtype=bool)
        mask[positions[positions >= 0]] = True
        colspec = table.column(col)
        if check == "not_nullable":
            cname, msg, hint = (
                "missing_value",
                N_("required value is empty ({field})").format(field=f"{name}.{col}"),
                N_("Fill in the value in the CRM, or map another column to it."),
            )
        elif check.startswith("isin"):
            allowed = ", ".join(colspec.allowed or ())
            cname, msg, hint = (
                "not_allowed",
                N_("value is not one of {allowed} ({field})").format(
                    allowed=allowed, field=f"{name}.{col}"
                ),
                N_("Add a value translation for it to the mapping (values: ...), or correct it."),
            )
        elif check.startswith("greater_than_or_equal_to"):
            negative = (colspec.min_value or 0) == 0
            cname, msg, hint = (
                "negative_value" if negative else "below_minimum",
                (
                    N_("negative value ({field} must be at least {minimum})")
                    if negative
                    else N_("too small value ({field} must be at least {minimum})")
                ).format(field=f"{name}.{col}", minimum=f"{colspec.min_value:g}"),
                N_(
                    "Correct the value in the CRM; amounts, prices and durations cannot be negative."
                ),
            )
        elif check.startswith("less_than_or_equal_to"):
            cname, msg, hint = (
                "above_maximum",
                N_("value too large ({field} must be at most {maximum})").format(
                    field=f"{name}.{col}", maximum=f"{colspec.max_value:g}"
                ),
                N_("Correct the value in the CRM."),
            )
        elif check.startswith("dtype"):
            cname, msg, hint = (
                "wrong_type",
                f"column {name}.{col} has the wrong type ({check})",
                "This is a bug in the mapping step; please report it.",
            )
        else:  # pragma: no cover - other pandera checks are not used by schema.py
            cname, msg, hint = check, f"check {check} failed ({name}.{col})", ""
        out.append(
            _rows_problems(
                df,
                mask,
                table=name,
                field_name=col,
                severity="error",
                check=cname,
                message=msg,
                hint=hint,
                labels=labels,
            )
        )
    return pd.concat(out, ignore_index=True) if out else _empty_problems()


def _n_distinct(s: pd.Series) -> int:
    """Number of distinct non-missing values (``pc.unique`` is faster than ``count_distinct``)."""
    arr = _arrow(s)
    return len(pc.unique(arr)) - (1 if arr.null_count else 0)


def check_duplicates(
    name: str, df: pd.DataFrame, labels: Mapping[tuple[str, str], str] | None = None
) -> pd.DataFrame:
    """Rows whose primary key repeats an earlier row's (the first occurrence is kept)."""
    key = schema.TABLES[name].key
    if key is None or key not in df or not schema.TABLES[name].column(key).unique:
        return _empty_problems()
    ids = df[key]
    nonnull = int(ids.notna().sum())
    if nonnull == 0 or _n_distinct(ids) == nonnull:
        return _empty_problems()  # fast path: all ids distinct
    dup = ids.notna() & ids.duplicated(keep="first")
    if not dup.any():
        return _empty_problems()
    first_rows = df.loc[~ids.duplicated(keep="first") & ids.notna()].set_index(key)
    sub = df.loc[dup.to_numpy()]
    firsts = first_rows.loc[sub[key], [FILE_COL, ROW_COL]]
    p = _rows_problems(
        df,
        dup.to_numpy(),
        table=name,
        field_name=key,
        severity="error",
        check="duplicate_id",
        message=N_("duplicate id in {field}").format(field=f"{name}.{key}"),
        hint=N_("Every id may appear only once: remove or merge the duplicate rows."),
        labels=labels,
    )
    where = (
        "first seen in "
        + firsts[FILE_COL].astype("string").to_numpy(dtype=object)
        + " row "
        + firsts[ROW_COL].astype("string").to_numpy(dtype=object)
    )
    p["message"] = (p["message"] + " (" + pd.array(where, dtype="string") + ")").astype("string")
    return p


def check_references(
    tables: Mapping[str, pd.DataFrame],
    labels: Mapping[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """Orphan references: values of every ``references`` column missing from the target table."""
    out = []
    for name, df in tables.items():
        for c in schema.TABLES[name].columns:
            if not c.references or c.name not in df:
                continue
            t_table, t_col = c.references.split(".")
            target = tables.get(t_table)
            if target is None or t_col not in target:
                continue
            vals = df[c.name]
            mask = vals.notna().to_numpy() & ~isin(vals, target[t_col])
            if mask.any() and len(target) == 0 and t_table != name:
                # one problem, not one per row: the cause is the empty table
                out.append(
                    problem_frame(
                        severity="error",
                        check="empty_reference_table",
                        message=N_(
                            "{n} row(s) of {table} refer to {target} ({field}), but table "
                            "{target} is empty"
                        ).format(
                            n=_fmt_int(int(mask.sum())),
                            table=name,
                            target=t_table,
                            field=f"{name}.{c.name}",
                        ),
                        hint=N_(
                            "Add the {target} export with its rows; every reference to it fails "
                            "until then."
                        ).format(target=t_table),
                        table=name,
                        column=_labels_for(
                            df[FILE_COL].astype("string").iloc[:1], name, c.name, labels
                        )[0]
                        if len(df)
                        else c.name,
                        field=c.name,
                    )
                )
                continue
            if mask.any():
                out.append(
                    _rows_problems(
                        df,
                        mask,
                        table=name,
                        field_name=c.name,
                        severity="error",
                        check="orphan_reference",
                        message=N_("{field} refers to a {target} id that does not exist").format(
                            field=f"{name}.{c.name}", target=t_table
                        ),
                        hint=N_(
                            "Add the missing row to {target}, correct the id, or leave it empty "
                            "where allowed."
                        ).format(target=t_table),
                        labels=labels,
                    )
                )
    return pd.concat(out, ignore_index=True) if out else _empty_problems()


def _today(today: Any = None) -> pd.Timestamp:
    """The day of the check (``today`` if given): dates after it lie in the future."""
    return pd.Timestamp(today if today is not None else date.today()).normalize()


def _date_text(v: pd.Series) -> pd.Series:
    return v.dt.strftime("%Y-%m-%d").astype("string")


def _label(df: pd.DataFrame, table: str, field_name: str, labels: Any) -> pd.Series:
    files = df[FILE_COL].astype("string")
    return pd.Series(_labels_for(files, table, field_name, labels), index=df.index)


def _order_rule(
    df: pd.DataFrame,
    mask: np.ndarray,
    *,
    table: str,
    later: str,
    earlier: str | pd.Series,
    earlier_name: str,
    severity: str,
    check: str,
    message: str,
    hint: str,
    labels: Any,
) -> pd.DataFrame:
    """Problems for rows where date ``later`` is out of order with ``earlier``.

    The value names both dates (``2001-03-01 (StartDate 2023-03-01)``).
    """
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return _empty_problems()
    other = df[earlier] if isinstance(earlier, str) else earlier
    other_label = _label(df, table, earlier, labels) if isinstance(earlier, str) else earlier_name
    value = _date_text(df[later]) + " (" + other_label + " " + _date_text(other) + ")"
    return _rows_problems(
        df,
        m,
        table=table,
        field_name=later,
        severity=severity,
        check=check,
        message=message,
        hint=hint,
        labels=labels,
        value=value,
    )


def _before(a: pd.Series, b: pd.Series | pd.Timestamp) -> np.ndarray:
    return (a < b).fillna(False).to_numpy(dtype=bool)


@dataclass(frozen=True)
class OrderRule:
    """Rows of ``table`` whose date ``later`` lies before their date ``earlier``.

    Checked when the table has both columns (and the ``requires`` ones); the problem's value
    names both dates (``2001-03-01 (StartDate 2023-03-01)``).
    """

    table: str
    later: str
    earlier: str
    earlier_name: str
    severity: str
    check: str
    message: str
    hint: str

    def __call__(
        self, tables: Mapping[str, pd.DataFrame], labels: Any, day: pd.Timestamp
    ) -> list[pd.DataFrame]:
        """The rule's problems in ``tables`` (none when the table lacks its columns)."""
        df = tables.get(self.table)
        if df is None or not {self.later, self.earlier} <= set(df.columns):
            return []
        return [
            _order_rule(
                df,
                _before(df[self.later], df[self.earlier]),
                table=self.table,
                later=self.later,
                earlier=self.earlier,
                earlier_name=self.earlier_name,
                severity=self.severity,
                check=self.check,
                message=self.message,
                hint=self.hint,
                labels=labels,
            )
        ]


@dataclass(frozen=True)
class FutureRule:
    """Rows of ``table`` whose date ``column`` lies after the day of the check (``future_date``).

    ``message`` may name the day as ``{day}`` (``31.12.2026``); ``closed_only`` restricts the rule to
    won and lost opportunities; checked when the table has ``column`` and the ``requires``
    columns.
    """

    table: str
    column: str
    severity: str
    message: str
    hint: str
    requires: tuple[str, ...] = ()
    closed_only: bool = False

    def __call__(
        self, tables: Mapping[str, pd.DataFrame], labels: Any, day: pd.Timestamp
    ) -> list[pd.DataFrame]:
        """The rule's problems in ``tables`` (none when the table lacks its columns)."""
        df = tables.get(self.table)
        if df is None or not {self.column, *self.requires} <= set(df.columns):
            return []
        mask = (df[self.column] > day).fillna(False).to_numpy(dtype=bool)
        if self.closed_only:
            mask = df["status"].isin(["won", "lost"]).fillna(False).to_numpy(dtype=bool) & mask
        return [
            _rows_problems(
                df,
                mask,
                table=self.table,
                field_name=self.column,
                severity=self.severity,
                check="future_date",
                message=self.message.format(day=f"{day:%d.%m.%Y}"),
                hint=self.hint,
                labels=labels,
            )
        ]


def _stage_history_problems(
    tables: Mapping[str, pd.DataFrame], labels: Any, day: pd.Timestamp
) -> list[pd.DataFrame]:
    """Stage history against its opportunity.

    A stage entered before the opportunity was created (error), after a closed opportunity's close
    date, or after the opportunity's final stage (warnings).
    """
    s, o = tables.get("opportunity_stages"), tables.get("opportunities")
    if not (
        s is not None
        and o is not None
        and len(s)
        and {"entered_at", "opportunity_id", "stage"} <= set(s.columns)
        and {"opportunity_id", "created_date"} <= set(o.columns)
    ):
        return []
    out = []
    opp = o.drop_duplicates("opportunity_id").set_index("opportunity_id")
    pos = pc.index_in(_arrow(s["opportunity_id"]), value_set=_arrow(opp.index))
    pos_np = np.asarray(pos.fill_null(-1).to_numpy(zero_copy_only=False), dtype="int64")
    found = pos_np >= 0
    take = np.maximum(pos_np, 0)
    n_opp = len(opp)

    def per_stage(values: np.ndarray, missing: Any) -> np.ndarray:
        """The opportunity's value for every stage row (``missing`` where not found)."""
        if n_opp == 0:
            return np.full(len(s), missing)
        return np.where(found, values[take], missing)

    nat = np.datetime64("NaT", "ns")
    c_at = pd.Series(
        per_stage(opp["created_date"].to_numpy(dtype="datetime64[ns]"), nat), index=s.index
    )
    out.append(
        _order_rule(
            s,
            _before(s["entered_at"], c_at),
            table="opportunity_stages",
            later="entered_at",
            earlier=c_at,
            earlier_name="opportunity created",
            severity="error",
            check="date_order",
            message=N_("stage entered before the opportunity was created"),
            hint=N_("Correct the stage date or the opportunity's created date."),
            labels=labels,
        )
    )
    if {"close_date", "status"} <= set(o.columns):
        opp_closed = opp["status"].isin(["won", "lost"]).fillna(False).to_numpy(dtype=bool)
        closed = per_stage(opp_closed, False).astype(bool)
        close_at = pd.Series(
            per_stage(opp["close_date"].to_numpy(dtype="datetime64[ns]"), nat), index=s.index
        )
        out.append(
            _order_rule(
                s,
                closed & _before(close_at, s["entered_at"]),
                table="opportunity_stages",
                later="entered_at",
                earlier=close_at,
                earlier_name="opportunity closed",
                severity="warning",
                check="date_order",
                message=N_("stage entered after the opportunity was closed"),
                hint=N_(
                    "Check the stage history and the close date of the opportunity; the "
                    "funnel takes the stage dates as they are."
                ),
                labels=labels,
            )
        )
        if "stage" in o.columns and closed.any():
            # the final stage of a won or lost opportunity must be the last one entered;
            # stage names compared in any case through one factorisation of both columns
            both = pd.concat(
                [s["stage"].astype("string"), opp["stage"].astype("string")],
                ignore_index=True,
            )
            codes, uniq = pd.factorize(both, use_na_sentinel=True)
            canon, _ = pd.factorize(np.array([str(u).lower() for u in uniq], dtype=object))
            canon = np.append(canon, -1)  # one code for any case; missing stays -1
            codes = canon[codes]  # -1 (missing) maps to the appended -1
            s_code = codes[: len(s)]
            final_code = per_stage(codes[len(s) :], -2)
            is_final = closed & (s_code == final_code) & (s_code >= 0)
            entered = s["entered_at"].to_numpy(dtype="datetime64[ns]")
            final_at_opp = np.full(max(n_opp, 1), np.datetime64("NaT", "ns"))
            sel = np.flatnonzero(is_final & ~np.isnat(entered))
            if len(sel):
                first = pd.Series(entered[sel]).groupby(pos_np[sel]).min()
                final_at_opp[first.index.to_numpy()] = first.to_numpy(dtype="datetime64[ns]")
            final_at = pd.Series(per_stage(final_at_opp, nat), index=s.index)
            out.append(
                _order_rule(
                    s,
                    closed & ~is_final & _before(final_at, s["entered_at"]),
                    table="opportunity_stages",
                    later="entered_at",
                    earlier=final_at,
                    earlier_name="final stage entered",
                    severity="warning",
                    check="stage_order",
                    message=N_(
                        "stage history out of order: a stage entered after the "
                        "opportunity's final (closing) stage"
                    ),
                    hint=N_(
                        "Check the stage history in the CRM; the funnel orders stages by "
                        "their dates."
                    ),
                    labels=labels,
                )
            )
    return out


def _customer_since_problems(
    tables: Mapping[str, pd.DataFrame], labels: Any, day: pd.Timestamp
) -> list[pd.DataFrame]:
    """Accounts that became customers after their first contract started (warning)."""
    acc, c = tables.get("accounts"), tables.get("contracts")
    if not (
        acc is not None
        and c is not None
        and len(acc)
        and len(c)
        and {"account_id", "customer_since"} <= set(acc.columns)
        and {"account_id", "start_date"} <= set(c.columns)
    ):
        return []
    out = []
    first = c["start_date"].groupby(c["account_id"].astype("string"), observed=True).min()
    first_at = pd.Series(
        acc["account_id"].astype("string").map(first).to_numpy(dtype="datetime64[ns]"),
        index=acc.index,
    )
    out.append(
        _order_rule(
            acc,
            _before(first_at, acc["customer_since"]),
            table="accounts",
            later="customer_since",
            earlier=first_at,
            earlier_name="first contract started",
            severity="warning",
            check="date_order",
            message=N_("customer since a date after the account's first contract started"),
            hint=N_(
                "Correct the customer-since date (the start of the first contract); the "
                "churn analysis measures customer lifetimes from it."
            ),
            labels=labels,
        )
    )
    return out


DATE_CHECKS: tuple[Any, ...] = (
    OrderRule(
        "contracts",
        later="end_date",
        earlier="start_date",
        earlier_name="start",
        severity="error",
        check="date_order",
        message=N_("contract is cancelled before it starts (end_date before start_date)"),
        hint=N_("Correct the start or end date of the contract."),
    ),
    OrderRule(
        "contracts",
        later="term_end_date",
        earlier="start_date",
        earlier_name="start",
        severity="error",
        check="date_order",
        message=N_("contract term ends before it starts (term_end_date before start_date)"),
        hint=N_("Correct the start or end date of the contract."),
    ),
    OrderRule(
        "opportunities",
        later="close_date",
        earlier="created_date",
        earlier_name="created",
        severity="error",
        check="date_order",
        message=N_("opportunity closes before it was created (close_date before created_date)"),
        hint=N_("Correct the close or created date of the opportunity."),
    ),
    FutureRule(
        "opportunities",
        "created_date",
        severity="error",
        message=N_("opportunity created in the future (after {day})"),
        hint=N_("A created date is set by the CRM and cannot lie in the future: correct it."),
        requires=("close_date",),
    ),
    FutureRule(
        "opportunities",
        "close_date",
        severity="warning",
        message=N_("won or lost opportunity closed in the future (after {day})"),
        hint=N_("Correct the close date; the funnel counts the deal as closed."),
        requires=("created_date", "status"),
        closed_only=True,
    ),
    FutureRule(
        "opportunity_stages",
        "entered_at",
        severity="error",
        message=N_("stage entered in the future (after {day})"),
        hint=N_("Stage history dates are set by the CRM and cannot lie in the future."),
    ),
    _stage_history_problems,
    FutureRule(
        "activities",
        "date",
        severity="warning",
        message=N_("activity dated in the future (after {day}): planned, not done"),
        hint=N_(
            "Planned activities are not workload yet; export only completed "
            "activities, or leave them: the export's reference date ignores them."
        ),
    ),
    FutureRule(
        "accounts",
        "customer_since",
        severity="warning",
        message=N_("customer since a date in the future (after {day})"),
        hint=N_("Correct the date in the CRM."),
    ),
    _customer_since_problems,
)
"""The date checks in the order they report: same-table order rules, dates in the future and
the cross-table checks (stage history, customer since); each is called with ``(tables, labels,
day)`` and returns problem frames."""


def check_date_order(
    tables: Mapping[str, pd.DataFrame],
    labels: Mapping[tuple[str, str], str] | None = None,
    today: Any = None,
) -> pd.DataFrame:
    """Dates out of order, and dates in the future, in every table with dates.

    The rules and their severities are listed in ``docs/validation.md``:

    * contracts: cancellation (``end_date``) or term end (``term_end_date``) before the start:
      error;
    * opportunities: close before created, or created after ``today``: error; a won or lost
      opportunity closed after ``today``: warning;
    * stage history: a stage entered before the opportunity was created or after ``today``:
      error; entered after a closed opportunity's close date, or the opportunity's final stage
      entered before another of its stages (history out of order): warning;
    * activities dated after ``today`` (planned, not done): warning; accounts that became
      customers after ``today``, or after their first contract started: warning.

    Parameters
    ----------
    tables
        Mapped tables (canonical columns plus ``_file`` and ``_row``).
    labels
        ``(file, canonical column) -> column name in the file``.
    today
        Day of the check (default: the current date); dates after it lie in the future.
    """
    day = _today(today)
    out = [p for rule in DATE_CHECKS for p in rule(tables, labels, day) if len(p)]
    return pd.concat(out, ignore_index=True) if out else _empty_problems()


def _postal_codes(countries: Iterable[str] | None = None) -> pd.DataFrame:
    """Postal codes (``country`` column) of the given countries.

    Default: every country with a geography; a Swiss-only export never loads the other countries'
    files.
    """
    from salesanalytics.reference.geography import SUPPORTED_COUNTRIES

    wanted = SUPPORTED_COUNTRIES if countries is None else tuple(countries)
    cs = [c for c in SUPPORTED_COUNTRIES if c in set(wanted)] or ["CH"]
    return pd.concat([_country_places(c) for c in cs], ignore_index=True)


def _table_countries(tables: Mapping[str, pd.DataFrame]) -> set[str]:
    out: set[str] = set()
    for name, f in _POSTAL_FIELDS.items():
        df = tables.get(name)
        if df is not None and f["country"] in df:
            out |= set(df[f["country"]].dropna().astype(str))
    return out


@cache
def _country_places(cc: str) -> pd.DataFrame:
    from salesanalytics.reference import geo
    from salesanalytics.reference.geography import geography

    if cc == "CH":
        f = geo.postal_code_places()
        f.insert(0, "country", pd.array(["CH"] * len(f), dtype="string"))
        return f
    p = geography(cc).places()
    return pd.DataFrame(
        {
            "country": p["country"],
            "postal_code": p["postal_code"],
            "place": p["place"],
            "municipality": p["place"],
            "canton": p["region"],
            "latitude": p["latitude"],
            "longitude": p["longitude"],
        }
    )


COUNTRY_ADJECTIVE: dict[str, str] = {
    "CH": "Swiss",
    "LI": "Liechtenstein",
    "DE": "German",
    "AT": "Austrian",
}
"""How problems name a country's postal codes ("not a German postal code")."""

_POSTAL_HINT: dict[str, str] = {
    "CH": "4 digits, e.g. 8004",
    "LI": "4 digits, 9485 to 9498",
    "DE": "5 digits with the leading zero, e.g. 01067 or 80331",
    "AT": "4 digits, e.g. 1010",
}

_POSTAL_FIELDS: dict[str, dict[str, str]] = {
    "accounts": {
        "code": "postal_code",
        "country": "country",
        "municipality": "municipality",
        "canton": "canton",
        "latitude": "latitude",
        "longitude": "longitude",
    },
    "reps": {
        "code": "home_postal_code",
        "country": "home_country",
        "latitude": "home_latitude",
        "longitude": "home_longitude",
    },
}

_PREFIX = r"^(?:(CH|LI|FL|DE|D|AT|A)\s*-\s*|CH\s*)"


def _clean_codes(codes: pd.Series) -> pd.Series:
    """Postal codes as digits.

    Strips blanks, a country prefix (``CH-``, ``D-``, ``A-``, ``FL-``) and an Excel ``.0``.
    """
    txt = codes.astype("string").str.strip()
    if txt.str.fullmatch(r"\d{4,5}").fillna(True).all():
        return txt  # fast path: nothing to clean
    txt = txt.str.replace(_PREFIX, "", regex=True, case=False)
    return txt.str.replace(r"\.0$", "", regex=True)


def _prefix_country(codes: pd.Series) -> pd.Series:
    """Country named by a postal-code prefix (``D-80331`` -> ``DE``), else missing."""
    from salesanalytics.reference.geography import country_codes

    pre = codes.astype("string").str.strip().str.extract(_PREFIX, flags=re.IGNORECASE)[0]
    return country_codes(pre)


def row_countries(df: pd.DataFrame, table: str, default_country: str = "CH") -> pd.Series:
    """Country (ISO alpha-2) of every row of ``accounts`` or ``reps``.

    The mapped country column (already normalised by :func:`assign_countries`), else the postal
    code's prefix (``D-80331``), else ``default_country``.

    Returns
    -------
    pandas.Series
        String dtype, aligned with ``df``.
    """
    f = _POSTAL_FIELDS[table]
    n = len(df)
    col = (
        df[f["country"]].astype("string")
        if f["country"] in df
        else pd.Series(pd.array([pd.NA] * n, dtype="string"), index=df.index)
    )
    if f["code"] in df:
        col = col.fillna(_prefix_country(df[f["code"]]))
    return col.fillna(default_country).astype("string")


def assign_countries(
    tables: Mapping[str, pd.DataFrame],
    default_country: str = "CH",
    labels: Mapping[tuple[str, str], str] | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Normalise the country of accounts (``country``) and reps (``home_country``).

    Names and codes such as ``Deutschland``, ``Germany``, ``DE``, ``Schweiz``, ``Suisse``,
    ``Österreich``, ``Liechtenstein`` become ISO alpha-2 codes
    (:data:`salesanalytics.reference.geography.COUNTRY_NAMES`); an empty country takes the postal code's
    prefix (``D-80331``) or ``default_country``. A country without geography data is an error
    naming file, column, row and value (the row cannot be placed; quarantine leaves it out).

    Returns
    -------
    (dict, pandas.DataFrame)
        Tables with the country columns filled (inputs are not modified) and the problems.
    """
    from salesanalytics.reference.geography import SUPPORTED_COUNTRIES, country_codes

    out = dict(tables)
    probs = []
    for name, f in _POSTAL_FIELDS.items():
        df = tables.get(name)
        if df is None or df.empty:
            continue
        col = f["country"]
        new = df.copy()
        bad = np.zeros(len(df), dtype=bool)
        if col in df:
            raw = df[col].astype("string").str.strip().replace("", pd.NA)
            code = country_codes(raw)
            bad = (raw.notna() & code.isna()).to_numpy(dtype=bool)
            probs.append(
                _rows_problems(
                    df,
                    bad,
                    table=name,
                    field_name=col,
                    severity="error",
                    check="unknown_country",
                    message="not a country with postal-code geography ("
                    + ", ".join(SUPPORTED_COUNTRIES)
                    + ")",
                    hint=N_(
                        "Correct the country in the CRM (a name such as Deutschland or Schweiz, "
                        "or an ISO code such as DE or CH); rows outside these countries cannot be "
                        "placed on the map or in a territory."
                    ),
                    labels=labels,
                )
            )
            new[col] = code
        else:
            new[col] = pd.array([pd.NA] * len(df), dtype="string")
        # an invalid country stays empty text (not missing: no default, no postal-code check)
        new[col] = row_countries(new, name, default_country).mask(bad, "").astype("string")
        out[name] = new
    probs = [p for p in probs if len(p)]
    return out, pd.concat(probs, ignore_index=True) if probs else _empty_problems()


def _country_keys(country: pd.Series, codes: pd.Series) -> pd.Series:
    return (country.astype("string").fillna("CH") + "|" + codes.astype("string")).astype("string")


def _ref_countries(postal_codes: pd.DataFrame) -> pd.Series:
    if "country" in postal_codes:
        return postal_codes["country"].astype("string")
    return pd.Series(pd.array(["CH"] * len(postal_codes), dtype="string"), index=postal_codes.index)


def check_postal_codes(
    tables: Mapping[str, pd.DataFrame],
    labels: Mapping[tuple[str, str], str] | None = None,
    postal_codes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Non-empty postal codes of accounts and reps that are not postal codes of their row's country.

    Warnings naming file, column, row, value and the country: Swiss and Austrian codes overlap, so
    ``1010`` is valid in both, ``10115`` only in Germany.
    """
    pcs = postal_codes if postal_codes is not None else _postal_codes()
    known = _country_keys(_ref_countries(pcs), pcs["postal_code"]).drop_duplicates()
    out = []
    for name, f in _POSTAL_FIELDS.items():
        df = tables.get(name)
        col = f["code"]
        if df is None or col not in df:
            continue
        codes = _clean_codes(df[col])
        ctry = row_countries(df, name)
        keys = _country_keys(ctry, codes)
        bad = (
            codes.notna().to_numpy(dtype=bool)
            & (ctry != "").fillna(True).to_numpy(dtype=bool)
            & ~isin(keys, known)
        )
        for cc in sorted(set(ctry[bad].dropna())):
            m = bad & (ctry == cc).fillna(False).to_numpy(dtype=bool)
            adj = COUNTRY_ADJECTIVE.get(cc, cc)
            out.append(
                _rows_problems(
                    df,
                    m,
                    table=name,
                    field_name=col,
                    severity="warning",
                    check="unknown_postal_code",
                    message=f"not a {adj} postal code" + ("" if cc == "CH" else f" (country {cc})"),
                    hint=f"Correct the postal code in the CRM ({_POSTAL_HINT.get(cc, 'the code')}) "
                    "or the row's country; without it the row cannot be placed on the map or in a "
                    "territory.",
                    labels=labels,
                )
            )
    out = [p for p in out if len(p)]
    return pd.concat(out, ignore_index=True) if out else _empty_problems()


def fill_geography(
    tables: Mapping[str, pd.DataFrame], postal_codes: pd.DataFrame | None = None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Fill missing municipality/canton/coordinates of accounts and reps from their postal code.

    The postal code is looked up in the row's country (``country`` / ``home_country``, else the
    code's prefix, else Switzerland): ``1010`` is Lausanne for a Swiss row and Vienna for an
    Austrian one.

    Parameters
    ----------
    tables
        Mapped tables; uses ``accounts`` (``postal_code``, ``country``, ``municipality``,
        ``canton``, ``latitude``, ``longitude``) and ``reps`` (``home_postal_code``,
        ``home_country``, ``home_latitude``, ``home_longitude``). Other tables are passed
        through.
    postal_codes
        Frame with ``postal_code``, ``municipality``, ``canton``, ``latitude``, ``longitude``
        and optionally ``country`` (default: every supported country's GeoNames codes; a frame
        without ``country`` holds Swiss codes).

    Returns
    -------
    (dict, pandas.DataFrame)
        New tables (inputs are not modified) and the fills: ``table``, ``field``, ``filled``,
        ``how``.
    """
    pcs = postal_codes if postal_codes is not None else _postal_codes()
    ref = pcs.assign(_key=_country_keys(_ref_countries(pcs), pcs["postal_code"]))
    ref = ref.drop_duplicates("_key").set_index("_key")
    out = dict(tables)
    rows = []
    for name, f in _POSTAL_FIELDS.items():
        df = tables.get(name)
        if df is None or f["code"] not in df or df.empty:
            continue
        codes = _clean_codes(df[f["code"]])
        keys = _country_keys(row_countries(df, name), codes)
        new = df.copy()
        for what, col in f.items():
            if what in ("code", "country") or col not in new or what not in ref:
                continue
            src = keys.map(ref[what])
            miss = new[col].isna() & src.notna()
            n = int(miss.sum())
            if n:
                if pd.api.types.is_float_dtype(new[col]):
                    new[col] = new[col].where(~miss, src.astype("float64"))
                else:
                    new[col] = new[col].where(~miss, src.astype("string")).astype("string")
            rows.append(
                {"table": name, "field": col, "filled": n, "how": f"from {f['code']} (GeoNames)"}
            )
        out[name] = new
    fills = pd.DataFrame(rows, columns=["table", "field", "filled", "how"])
    return out, fills


CONVERSION_CHECKS: tuple[str, ...] = (
    "not_a_number",
    "not_a_whole_number",
    "not_a_date",
    "not_a_boolean",
    "date_out_of_range",
    "control_character_in_id",
)
"""Checks of cells whose text could not be converted to the column's type (see mapping)."""


def _cell_keys(p: pd.DataFrame) -> pd.Series:
    return (
        p["table"].fillna("")
        + "|"
        + p["field"].fillna("")
        + "|"
        + p["file"].fillna("")
        + "|"
        + p["row"].astype("string").fillna("")
    )


def _drop_already_reported(probs: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Drop "required value is empty" problems of cells already reported as unreadable."""
    if probs.empty or reported.empty:
        return probs
    mv = (probs["check"] == "missing_value").to_numpy(dtype=bool)
    if not mv.any():
        return probs
    dup = np.zeros(len(probs), dtype=bool)
    dup[mv] = isin(_cell_keys(probs[mv]), _cell_keys(reported))
    return probs[~dup]


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    report: ValidationReport | None = None,
    *,
    labels: Mapping[tuple[str, str], str] | None = None,
    warn_missing: Mapping[str, Iterable[str]] | None = None,
    postal_codes: pd.DataFrame | None = None,
    today: Any = None,
    default_country: str = "CH",
) -> tuple[dict[str, pd.DataFrame], ValidationReport]:
    """Validate mapped tables and fill geography from postal codes.

    Parameters
    ----------
    tables
        Canonical table name -> mapped frame (canonical columns in canonical dtypes, plus the
        internal ``_file`` and ``_row`` columns).
    report
        Report to add to (a new one by default).
    labels
        ``(file, canonical column) -> column name in the file``, used to name columns in problems.
    warn_missing
        Table -> columns whose empty values are reported as warnings (counted) instead of errors,
        e.g. opportunities without account in a dirty export.
    postal_codes
        Swiss postal codes (default: :func:`salesanalytics.reference.geo.postal_code_places`).
    today
        Day of the check (default: the current date); dates after it lie in the future (see
        :func:`check_date_order`).
    default_country
        Country (ISO alpha-2) of accounts and reps whose export gives none (see
        :func:`assign_countries`); postal codes are checked and joined per country.

    Cells already reported in ``report`` as unreadable (text that is not a number, date, ...)
    are not reported a second time as empty.

    Returns
    -------
    (dict, ValidationReport)
        Tables with geography filled (inputs are not modified) and the report.
    """
    report = report if report is not None else ValidationReport()
    warn_missing = warn_missing or {}
    # cells whose text could not be converted are empty now; they are not reported again as
    # "required value is empty"
    existing = report.problems
    reported = existing[existing["check"].isin(list(CONVERSION_CHECKS))]
    tables, country_problems = assign_countries(tables, default_country, labels)
    report.add_frame(country_problems)
    pcs = postal_codes if postal_codes is not None else _postal_codes(_table_countries(tables))
    filled, fills = fill_geography(tables, pcs)
    report.fills = (
        pd.concat([report.fills, fills], ignore_index=True) if len(fills) else report.fills
    )
    for name, df in filled.items():
        probs = _pandera_problems(name, df, labels, warn_missing.get(name, ()))
        probs = _drop_already_reported(probs, reported)
        report.add_frame(probs)
        report.add_frame(check_duplicates(name, df, labels))
        for col in warn_missing.get(name, ()):
            if col in df:
                m = df[col].isna().to_numpy()
                gaps = _rows_problems(
                    df,
                    m,
                    table=name,
                    field_name=col,
                    severity="warning",
                    check="missing_value",
                    message=N_("{field} is empty").format(field=f"{name}.{col}"),
                    hint=N_(
                        "Known gap of this export (declared in the mapping); analyses that "
                        "need the value leave these rows out and say so."
                    ),
                    labels=labels,
                )
                report.add_frame(_drop_already_reported(gaps, reported))
    report.add_frame(check_references(filled, labels))
    report.add_frame(check_date_order(filled, labels, today))
    report.add_frame(check_postal_codes(filled, labels, pcs))
    report.completeness = completeness(filled)
    return filled, report


def completeness(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Share of non-empty cells per canonical column: ``table``, ``column``, ``rows``, ``filled``, ``share``."""
    rows = []
    for name, df in tables.items():
        n = len(df)
        for c in schema.TABLES[name].column_names:
            filled = int(df[c].notna().sum()) if c in df else 0
            rows.append(
                {
                    "table": name,
                    "column": c,
                    "rows": n,
                    "filled": filled,
                    "share": (filled / n) if n else float("nan"),
                }
            )
    return pd.DataFrame(rows, columns=["table", "column", "rows", "filled", "share"])


def apply_quarantine(
    tables: Mapping[str, pd.DataFrame], report: ValidationReport
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Remove rows with errors, and rows that refer to removed rows, from mapped tables.

    Rows with an error problem (by file and row) are excluded with all their reasons. Then every
    row whose reference (``schema`` ``references``) points to an excluded row is excluded too,
    repeatedly (an excluded account takes its contracts, opportunities and activities with it, and
    an excluded opportunity its stage history). Errors without a row (a missing column, an
    unreadable file) cannot be quarantined and stay errors.

    Returns
    -------
    (dict, pandas.DataFrame)
        The remaining tables and the excluded rows: ``table``, ``file``, ``row``, ``reason``, then
        the row's canonical values. The report's ``excluded`` and ``row_counts`` are updated and
        the quarantined errors are downgraded to severity ``info`` (the rows are no longer in the
        data); unquarantinable errors keep severity ``error``.
    """
    probs = report.problems
    err = probs[(probs["severity"] == "error") & probs["row"].notna() & probs["table"].notna()]
    why = err.assign(
        reason=(
            err["column"].fillna("").astype("string")
            + ": "
            + err["message"]
            + np.where(err["value"].isna(), "", " ('" + err["value"].fillna("") + "')")
        )
    )[["table", "file", "row", "reason"]]
    # one reason per row: most rows have a single problem; only the others are joined
    several = why.duplicated(["table", "file", "row"], keep=False).to_numpy(dtype=bool)
    joined = why[several].groupby(["table", "file", "row"])["reason"].agg("; ".join)
    single = why[~several].set_index(["table", "file", "row"])["reason"]
    reasons = pd.concat([single, joined]).sort_index()
    out: dict[str, pd.DataFrame] = {}
    excluded_parts = []
    for name, df in tables.items():
        key = pd.MultiIndex.from_arrays(
            [df[FILE_COL].astype("string"), df[ROW_COL].astype("Int64")]
        )
        r = reasons.loc[name] if name in reasons.index.get_level_values(0) else None
        if r is None or r.empty:
            out[name] = df
            continue
        hit = key.isin(r.index)
        excl = df.loc[hit].copy()
        idx = pd.MultiIndex.from_arrays(
            [excl[FILE_COL].astype("string"), excl[ROW_COL].astype("Int64")]
        )
        excl.insert(0, "reason", r.reindex(idx).to_numpy())
        excl.insert(0, "table", name)
        excluded_parts.append(excl)
        out[name] = df.loc[~hit].reset_index(drop=True)
    # cascade through references
    changed = True
    while changed:
        changed = False
        for name, df in list(out.items()):
            for c in schema.TABLES[name].columns:
                if not c.references or c.name not in df:
                    continue
                t_table, t_col = c.references.split(".")
                if t_table not in out or t_col not in out[t_table]:
                    continue
                orig = tables[t_table][t_col].dropna()
                removed = orig[~isin(orig, out[t_table][t_col])]
                if removed.empty:
                    continue
                m = isin(df[c.name], removed)
                if not m.any():
                    continue
                excl = df.loc[m].copy()
                excl.insert(
                    0,
                    "reason",
                    (
                        f"{c.name}: refers to {t_table} "
                        + excl[c.name].astype("string")
                        + " which was excluded"
                    ).to_numpy(dtype=object),
                )
                excl.insert(0, "table", name)
                excluded_parts.append(excl)
                df = df.loc[~m].reset_index(drop=True)
                out[name] = df
                changed = True
    if excluded_parts:
        excluded = pd.concat(excluded_parts, ignore_index=True).rename(
            columns={FILE_COL: "file", ROW_COL: "row"}
        )
        front = ["table", "file", "row", "reason"]
        excluded = excluded[front + [c for c in excluded.columns if c not in front]]
    else:
        excluded = pd.DataFrame(columns=["table", "file", "row", "reason"])
    report.excluded = excluded[["table", "file", "row", "reason"]].copy()
    if len(err):
        p = report.problems.copy()
        q = (p["severity"] == "error") & p["row"].notna() & p["table"].notna()
        p.loc[q, "severity"] = "info"
        p.loc[q, "hint"] = "Row excluded (quarantine)."
        report._parts = [p]
        report._cache = None
    report.row_counts = pd.DataFrame(
        {
            "table": list(out),
            "rows": [len(out[n]) for n in out],
            "excluded": [int((excluded["table"] == n).sum()) for n in out],
        }
    )
    return out, excluded
