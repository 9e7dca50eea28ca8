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
    return _duplicate_problems(
        name,
        df,
        dup.to_numpy(),
        firsts[FILE_COL].astype("string").to_numpy(dtype=object),
        firsts[ROW_COL].astype("string").to_numpy(dtype=object),
        labels,
    )


def _duplicate_problems(
    name: str,
    df: pd.DataFrame,
    dup: np.ndarray,
    first_files: np.ndarray,
    first_rows: np.ndarray,
    labels: Mapping[tuple[str, str], str] | None,
) -> pd.DataFrame:
    """``duplicate_id`` errors for the rows ``dup``, naming where each id was first seen."""
    key = schema.TABLES[name].key
    assert key is not None
    p = _rows_problems(
        df,
        dup,
        table=name,
        field_name=key,
        severity="error",
        check="duplicate_id",
        message=N_("duplicate id in {field}").format(field=f"{name}.{key}"),
        hint=N_("Every id may appear only once: remove or merge the duplicate rows."),
        labels=labels,
    )
    where = "first seen in " + first_files + " row " + first_rows
    p["message"] = (p["message"] + " (" + pd.array(where, dtype="string") + ")").astype("string")
    return p


class KeyIndex:
    """The primary keys of a table read in batches: where each id was first seen.

    :meth:`check` reports the ids of a batch that repeat an id of the same batch or of an earlier
    one, exactly as :func:`check_duplicates` reports them on the whole table (same rows, same
    first occurrence). Holds one 64-bit hash, the id, the file and the row per distinct id
    (not the batches).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = schema.TABLES[name].key
        self._hash = np.empty(0, dtype="uint64")  # sorted
        self._order = np.empty(0, dtype="int64")  # position of each sorted hash in the lists
        self._ids: list[pa.Array] = []
        self._labels: list[str] = []  # file names; ``_files`` holds their positions
        self._files: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._all: tuple[pa.Array, np.ndarray, np.ndarray] | None = None

    def _stored(self) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        if self._all is None:
            ids = pa.concat_arrays(self._ids) if self._ids else pa.array([], pa.large_string())
            files = np.concatenate(self._files) if self._files else np.empty(0, dtype="int32")
            rows = np.concatenate(self._rows) if self._rows else np.empty(0, dtype="int64")
            self._ids, self._files, self._rows = [ids], [files], [rows]
            self._all = (ids, files, rows)
        return self._all

    def _earlier(self, ids: pa.Array, h: np.ndarray) -> np.ndarray:
        """Position (in the stored lists) of each id seen in an earlier batch, else -1."""
        out = np.full(len(h), -1, dtype="int64")
        if not len(self._hash) or not len(h):
            return out
        srt = np.argsort(h)  # sorted probes read the sorted hashes in order
        lo, hi = np.empty(len(h), dtype="int64"), np.empty(len(h), dtype="int64")
        lo[srt] = np.searchsorted(self._hash, h[srt], side="left")
        hi[srt] = np.searchsorted(self._hash, h[srt], side="right")
        cand = np.flatnonzero(hi > lo)
        if not len(cand):
            return out
        stored, _, _ = self._stored()
        for i in cand:  # a hash found: compare the ids themselves (hashes may collide)
            for j in range(lo[i], hi[i]):
                pos = int(self._order[j])
                if stored[pos].as_py() == ids[i].as_py():
                    out[i] = pos
                    break
        return out

    def check(
        self, df: pd.DataFrame, labels: Mapping[tuple[str, str], str] | None = None
    ) -> pd.DataFrame:
        """The batch's duplicate ids (its rows then count as seen)."""
        key = self.key
        if key is None or key not in df or not schema.TABLES[self.name].column(key).unique:
            return _empty_problems()
        ids = _arrow(df[key])
        valid = np.asarray(ids.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if len(pc.unique(ids)) - (1 if ids.null_count else 0) == int(valid.sum()):
            within = np.zeros(len(valid), dtype=bool)  # fast path: no id twice in the batch
        else:
            within = df[key].duplicated(keep="first").to_numpy(dtype=bool) & valid
        firsts = np.flatnonzero(valid & ~within)
        first_ids = ids.take(pa.array(firsts))
        h = pd.util.hash_array(np.asarray(first_ids.to_numpy(zero_copy_only=False), dtype=object))
        earlier = self._earlier(first_ids, h)
        new = earlier < 0
        dup = within.copy()
        dup[firsts[~new]] = True
        problems = _empty_problems()
        if dup.any():
            problems = self._problems(df, dup, ids, firsts, earlier, labels)
        self._add(first_ids.filter(pa.array(new)), h[new], df, firsts[new])
        return problems

    def _problems(
        self,
        df: pd.DataFrame,
        dup: np.ndarray,
        ids: pa.Array,
        firsts: np.ndarray,
        earlier: np.ndarray,
        labels: Mapping[tuple[str, str], str] | None,
    ) -> pd.DataFrame:
        _, files, rows = self._stored()
        where: dict[Any, tuple[str, str]] = {}
        batch_files = df[FILE_COL].astype("string").to_numpy(dtype=object)
        batch_rows = df[ROW_COL].to_numpy()
        d = np.flatnonzero(dup)
        dup_ids = ids.take(pa.array(d))
        rel = pc.is_in(ids.take(pa.array(firsts)), value_set=pc.unique(dup_ids))
        rel_np = np.asarray(rel.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        for i, pos in zip(firsts[rel_np], earlier[rel_np], strict=True):
            k = ids[int(i)].as_py()
            if pos >= 0:
                where[k] = (str(self._labels[files[pos]]), str(rows[pos]))
            else:
                where[k] = (str(batch_files[i]), str(batch_rows[i]))
        keys = dup_ids.to_pylist()
        return _duplicate_problems(
            self.name,
            df,
            dup,
            np.array([where[k][0] for k in keys], dtype=object),
            np.array([where[k][1] for k in keys], dtype=object),
            labels,
        )

    def _add(self, ids: pa.Array, h: np.ndarray, df: pd.DataFrame, at: np.ndarray) -> None:
        if not len(h):
            return
        stored_n = len(self._order)
        self._ids.append(ids.cast(pa.large_string()))
        cat = pd.Categorical(df[FILE_COL])
        for f in cat.categories:
            if f not in self._labels:
                self._labels.append(str(f))
        lut = np.array([self._labels.index(str(f)) for f in cat.categories], dtype="int32")
        self._files.append(lut[np.asarray(cat.codes)[at]])
        self._rows.append(df[ROW_COL].to_numpy(dtype="int64")[at])
        self._all = None
        srt = np.argsort(h, kind="stable")  # merge the sorted batch into the sorted hashes
        where = np.searchsorted(self._hash, h[srt], side="right")
        self._hash = np.insert(self._hash, where, h[srt])
        self._order = np.insert(self._order, where, np.arange(stored_n, stored_n + len(h))[srt])


def key_set(values: pd.Series | pd.Index) -> pa.Array:
    """The distinct non-missing values of a key column, for :func:`isin_set`."""
    return pc.unique(_arrow(pd.Series(values).dropna()))


def isin_set(s: pd.Series, value_set: pa.Array | KeyLookup) -> np.ndarray:
    """:func:`isin` against a :func:`lookup_set` computed once (missing -> False)."""
    if isinstance(value_set, KeyLookup):
        return value_set.positions(s) >= 0
    m = pc.is_in(_arrow(s), value_set=value_set)
    return np.asarray(m.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


LOOKUP_INDEX_KEYS = 1_000_000
"""From this many distinct ids on, batches look them up through a :class:`KeyLookup`."""


def _hashes(arr: pa.Array, chunk: int = 250_000) -> np.ndarray:
    """64-bit hashes of text values, a chunk at a time (few Python strings alive at once)."""
    parts = [
        pd.util.hash_array(
            np.asarray(arr.slice(i, chunk).to_numpy(zero_copy_only=False), dtype=object)
        )
        for i in range(0, len(arr), chunk)
    ]
    return np.concatenate(parts) if parts else np.empty(0, dtype="uint64")


class KeyLookup:
    """Many distinct ids, looked up batch after batch without rebuilding a hash table each time.

    pyarrow's ``is_in`` and ``index_in`` hash their value set on every call (3.5 million deal ids
    for every batch of the stage history of a million accounts); this keeps one 64-bit hash index,
    built once, and confirms every hit by comparing the ids themselves (exact; ids whose hashes
    collide are looked up with pyarrow). Worth it from about :data:`LOOKUP_INDEX_KEYS` ids: below,
    hashing a batch's ids in Python costs more than pyarrow's rebuild.

    Parameters
    ----------
    keys
        Distinct ids (a :func:`key_set`, or an index's values in their order).
    """

    def __init__(self, keys: pa.Array) -> None:
        self.keys = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
        h = _hashes(self.keys)
        self._index = pd.Index(h)
        self._exact = bool(self._index.is_unique)

    def __len__(self) -> int:
        return len(self.keys)

    def positions(self, s: pd.Series | pa.Array) -> np.ndarray:
        """Position of every value of ``s`` in :attr:`keys` (-1: not there, or missing)."""
        arr = s if isinstance(s, pa.Array) else _arrow(s)
        if not self._exact or not len(self.keys):
            pos = pc.index_in(arr, value_set=self.keys)
            return np.asarray(pos.fill_null(-1).to_numpy(zero_copy_only=False), dtype="int64")
        pos = self._index.get_indexer(_hashes(arr)).astype("int64")
        taken = self.keys.take(pa.array(np.maximum(pos, 0)))
        same = pc.equal(arr.cast(taken.type), taken).fill_null(False)
        ok = np.asarray(same.to_numpy(zero_copy_only=False), dtype=bool) & (pos >= 0)
        return np.where(ok, pos, -1)


def lookup_set(values: pd.Series | pd.Index) -> pa.Array | KeyLookup:
    """The distinct ids of ``values`` for :func:`isin_set`, batch after batch.

    A :func:`key_set` (pyarrow) or, for :data:`LOOKUP_INDEX_KEYS` ids and more, a
    :class:`KeyLookup`.
    """
    keys = key_set(values)
    return KeyLookup(keys) if len(keys) >= LOOKUP_INDEX_KEYS else keys


def _empty_reference_problem(
    name: str, column: str, field_name: str, target: str, n: int
) -> pd.DataFrame:
    """One problem for every row of ``name`` referring to the empty table ``target``."""
    return problem_frame(
        severity="error",
        check="empty_reference_table",
        message=N_(
            "{n} row(s) of {table} refer to {target} ({field}), but table {target} is empty"
        ).format(n=_fmt_int(n), table=name, target=target, field=f"{name}.{field_name}"),
        hint=N_(
            "Add the {target} export with its rows; every reference to it fails until then."
        ).format(target=target),
        table=name,
        column=column,
        field=field_name,
    )


def reference_problems(
    name: str,
    df: pd.DataFrame,
    targets: Any,
    labels: Mapping[tuple[str, str], str] | None = None,
) -> tuple[list[pd.DataFrame], list[tuple[str, str, str, int]]]:
    """Orphan references of table ``name`` (whole or one batch of it).

    ``targets(table, column)`` gives the target's :func:`key_set` and its number of rows, or
    ``None`` when the target table or column is absent (not checked). Returns the ``orphan_reference`` problems and, for
    references to an empty table, ``(column label, field, target table, rows)`` (one problem per
    column, not per row: see :func:`check_references`).
    """
    out: list[pd.DataFrame] = []
    empty: list[tuple[str, str, str, int]] = []
    for c in schema.TABLES[name].columns:
        if not c.references or c.name not in df:
            continue
        t_table, t_col = c.references.split(".")
        found = targets(t_table, t_col)
        if found is None:
            continue
        target, n_target = found
        vals = df[c.name]
        mask = vals.notna().to_numpy() & ~isin_set(vals, target)
        if mask.any() and n_target == 0 and t_table != name:
            column = (
                _labels_for(df[FILE_COL].astype("string").iloc[:1], name, c.name, labels)[0]
                if len(df)
                else c.name
            )
            empty.append((column, c.name, t_table, int(mask.sum())))
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
    return out, empty


def check_references(
    tables: Mapping[str, pd.DataFrame],
    labels: Mapping[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """Orphan references: values of every ``references`` column missing from the target table."""

    def targets(t_table: str, t_col: str) -> tuple[pa.Array, int] | None:
        target = tables.get(t_table)
        if target is None or t_col not in target:
            return None
        return key_set(target[t_col]), len(target)

    out = []
    for name, df in tables.items():
        probs, empty = reference_problems(name, df, targets, labels)
        out.extend(probs)
        out.extend(_empty_reference_problem(name, column, f, t, n) for column, f, t, n in empty)
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


_NAT = np.datetime64("NaT", "ns")


class OpportunityIndex:
    """The opportunities a stage history refers to, looked up by id (first row per id).

    Built once and used for the whole stage history or for each batch of it.
    """

    def __init__(self, o: pd.DataFrame) -> None:
        opp = o.drop_duplicates("opportunity_id").set_index("opportunity_id")
        self.n = len(opp)
        self.ids = _arrow(opp.index)
        self._lookup: KeyLookup | None = None
        self.created = opp["created_date"].to_numpy(dtype="datetime64[ns]")
        self.has_close = {"close_date", "status"} <= set(o.columns)
        self.closed = np.zeros(self.n, dtype=bool)
        self.close_at = np.full(self.n, _NAT)
        self.stage: pa.Array | None = None
        if self.has_close:
            self.closed = opp["status"].isin(["won", "lost"]).fillna(False).to_numpy(dtype=bool)
            self.close_at = opp["close_date"].to_numpy(dtype="datetime64[ns]")
            if "stage" in o.columns:
                self.stage = _lower(opp["stage"])

    def positions(self, s: pd.DataFrame) -> np.ndarray:
        """Position of every stage row's opportunity (-1: unknown opportunity)."""
        if self.n >= LOOKUP_INDEX_KEYS:
            if self._lookup is None:
                self._lookup = KeyLookup(self.ids)
            return self._lookup.positions(s["opportunity_id"])
        pos = pc.index_in(_arrow(s["opportunity_id"]), value_set=self.ids)
        return np.asarray(pos.fill_null(-1).to_numpy(zero_copy_only=False), dtype="int64")

    def per_stage(self, values: np.ndarray, pos: np.ndarray, missing: Any) -> np.ndarray:
        """The opportunity's value for every stage row (``missing`` where not found)."""
        if self.n == 0:
            return np.full(len(pos), missing)
        return np.where(pos >= 0, values[np.maximum(pos, 0)], missing)

    def is_final(self, s: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        """Stage rows of a closed opportunity that enter its final stage (in any case)."""
        closed = self.per_stage(self.closed, pos, False).astype(bool)
        if self.stage is None or not closed.any():
            return np.zeros(len(s), dtype=bool)
        final = self.stage.take(pa.array(np.maximum(pos, 0), mask=pos < 0))
        same = pc.equal(_lower(s["stage"]), final).fill_null(False)
        return closed & np.asarray(same.to_numpy(zero_copy_only=False), dtype=bool)


def _lower(s: pd.Series) -> pa.Array:
    """Text in lower case (as Python lowers it), one pyarrow array."""
    return _arrow(s.astype("string").str.lower())


def _stage_row_problems(
    s: pd.DataFrame, idx: OpportunityIndex, pos: np.ndarray, labels: Any
) -> list[pd.DataFrame]:
    """A stage entered before its opportunity was created (error) or after it closed (warning)."""
    out = []
    c_at = pd.Series(idx.per_stage(idx.created, pos, _NAT), index=s.index)
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
    if idx.has_close:
        closed = idx.per_stage(idx.closed, pos, False).astype(bool)
        close_at = pd.Series(idx.per_stage(idx.close_at, pos, _NAT), index=s.index)
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
    return out


def final_stage_problems(
    s: pd.DataFrame, final_at: pd.Series, candidates: np.ndarray, labels: Any
) -> pd.DataFrame:
    """Stages entered after their closed opportunity's final stage (``stage_order`` warnings).

    ``s`` holds ``_file``, ``_row`` and ``entered_at``; ``final_at`` the first entry into the final
    stage of each row's opportunity (missing: none); ``candidates`` the rows of closed
    opportunities that do not enter the final stage.
    """
    return _order_rule(
        s,
        candidates & _before(final_at, s["entered_at"]),
        table="opportunity_stages",
        later="entered_at",
        earlier=final_at,
        earlier_name="final stage entered",
        severity="warning",
        check="stage_order",
        message=N_(
            "stage history out of order: a stage entered after the opportunity's final "
            "(closing) stage"
        ),
        hint=N_("Check the stage history in the CRM; the funnel orders stages by their dates."),
        labels=labels,
    )


def first_final_entry(
    s: pd.DataFrame, idx: OpportunityIndex, pos: np.ndarray, is_final: np.ndarray
) -> np.ndarray:
    """Per opportunity (``idx`` order): the first entry into its final stage (``int64`` ns).

    ``int64`` max where ``s`` has none; combine batches with ``np.minimum``.
    """
    out = np.full(max(idx.n, 1), np.iinfo("int64").max, dtype="int64")
    entered = s["entered_at"].to_numpy(dtype="datetime64[ns]")
    sel = np.flatnonzero(is_final & ~np.isnat(entered))
    if len(sel):
        np.minimum.at(out, pos[sel], entered[sel].astype("int64"))
    return out


def final_at_per_stage(first: np.ndarray, idx: OpportunityIndex, pos: np.ndarray) -> np.ndarray:
    """:func:`first_final_entry` for every stage row, as ``datetime64[ns]`` (NaT: none)."""
    vals = np.where(first == np.iinfo("int64").max, np.iinfo("int64").min, first)
    return idx.per_stage(vals.view("datetime64[ns]"), pos, _NAT)


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
    idx = OpportunityIndex(o)
    pos = idx.positions(s)
    out = _stage_row_problems(s, idx, pos, labels)
    if idx.stage is not None:
        is_final = idx.is_final(s, pos)
        if is_final.any() or idx.per_stage(idx.closed, pos, False).any():
            closed = idx.per_stage(idx.closed, pos, False).astype(bool)
            first = first_final_entry(s, idx, pos, is_final)
            final_at = pd.Series(final_at_per_stage(first, idx, pos), index=s.index)
            out.append(final_stage_problems(s, final_at, closed & ~is_final, labels))
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


_POSTAL_MESSAGE: dict[str, str] = {
    "CH": N_("not a Swiss postal code"),
    "LI": N_("not a Liechtenstein postal code (country LI)"),
    "DE": N_("not a German postal code (country DE)"),
    "AT": N_("not an Austrian postal code (country AT)"),
}
"""The problem of a postal code unknown in its row's country, per country."""

_POSTAL_HINT: dict[str, str] = {
    "CH": N_("4 digits, e.g. 8004"),
    "LI": N_("4 digits, 9485 to 9498"),
    "DE": N_("5 digits with the leading zero, e.g. 01067 or 80331"),
    "AT": N_("4 digits, e.g. 1010"),
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
                    message=N_("not a country with postal-code geography ({countries})").format(
                        countries=", ".join(SUPPORTED_COUNTRIES)
                    ),
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
            message = _POSTAL_MESSAGE.get(cc) or N_(
                "not a postal code of country {country}"
            ).format(country=cc)
            out.append(
                _rows_problems(
                    df,
                    m,
                    table=name,
                    field_name=col,
                    severity="warning",
                    check="unknown_postal_code",
                    message=message,
                    hint=N_(
                        "Correct the postal code in the CRM ({format}) or the row's country; "
                        "without it the row cannot be placed on the map or in a territory."
                    ).format(format=_POSTAL_HINT.get(cc, "the code")),
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


def quarantine_reasons(probs: pd.DataFrame) -> pd.Series:
    """Why each row is left out: its errors' texts, joined (index ``table``, ``file``, ``row``).

    ``probs`` are sorted as :attr:`ValidationReport.problems`; errors without a row or table
    cannot be quarantined and are not listed.
    """
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
    return pd.concat([single, joined]).sort_index()


def exclude_rows(
    name: str, df: pd.DataFrame, reasons: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The rows of ``df`` with a reason in ``reasons`` (:func:`quarantine_reasons`) left out.

    Returns the remaining rows and the excluded ones (``table``, ``reason`` first), if any.
    """
    r = reasons.loc[name] if name in reasons.index.get_level_values(0) else None
    if r is None or r.empty:
        return df, None
    key = pd.MultiIndex.from_arrays([df[FILE_COL].astype("string"), df[ROW_COL].astype("Int64")])
    hit = key.isin(r.index)
    if not hit.any():
        return df, None
    excl = df.loc[hit].copy()
    idx = pd.MultiIndex.from_arrays(
        [excl[FILE_COL].astype("string"), excl[ROW_COL].astype("Int64")]
    )
    excl.insert(0, "reason", r.reindex(idx).to_numpy())
    excl.insert(0, "table", name)
    return df.loc[~hit].reset_index(drop=True), excl


def exclude_referring(
    name: str, df: pd.DataFrame, column: str, target: str, removed: pa.Array
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Rows whose ``column`` refers to an id of ``target`` in ``removed`` left out (cascade)."""
    if not len(removed):
        return df, None
    m = isin_set(df[column], removed)
    if not m.any():
        return df, None
    excl = df.loc[m].copy()
    excl.insert(
        0,
        "reason",
        (
            f"{column}: refers to {target} " + excl[column].astype("string") + " which was excluded"
        ).to_numpy(dtype=object),
    )
    excl.insert(0, "table", name)
    return df.loc[~m].reset_index(drop=True), excl


def cascade_exclusions(
    tables: Mapping[str, pd.DataFrame], out: dict[str, pd.DataFrame]
) -> list[pd.DataFrame]:
    """Leave out rows of ``out`` that refer to rows removed from ``tables``, repeatedly.

    An excluded account takes its contracts, opportunities and activities with it, and an
    excluded opportunity its stage history. ``out`` is updated; returns the excluded parts.
    """
    parts = []
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
                df, excl = exclude_referring(name, df, c.name, t_table, key_set(removed))
                if excl is None:
                    continue
                parts.append(excl)
                out[name] = df
                changed = True
    return parts


def finish_quarantine(
    report: ValidationReport, excluded_parts: list[pd.DataFrame], kept: Mapping[str, int]
) -> pd.DataFrame:
    """Record the excluded rows in ``report`` and return them.

    The rows: ``table``, ``file``, ``row``, ``reason`` and the row's canonical values. The quarantined errors are downgraded to severity ``info`` (the rows are no longer in the
    data); ``kept`` gives the rows left per table (the report's ``row_counts``).
    """
    if excluded_parts:
        excluded = pd.concat(excluded_parts, ignore_index=True).rename(
            columns={FILE_COL: "file", ROW_COL: "row"}
        )
        front = ["table", "file", "row", "reason"]
        excluded = excluded[front + [c for c in excluded.columns if c not in front]]
    else:
        excluded = pd.DataFrame(columns=["table", "file", "row", "reason"])
    report.excluded = excluded[["table", "file", "row", "reason"]].copy()
    p = report.problems
    q = (p["severity"] == "error") & p["row"].notna() & p["table"].notna()
    if q.any():
        p = p.copy()
        p.loc[q, "severity"] = "info"
        p.loc[q, "hint"] = "Row excluded (quarantine)."
        report._parts = [p]
        report._cache = None
    report.row_counts = pd.DataFrame(
        {
            "table": list(kept),
            "rows": list(kept.values()),
            "excluded": [int((excluded["table"] == n).sum()) for n in kept],
        }
    )
    return excluded


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
    reasons = quarantine_reasons(report.problems)
    out: dict[str, pd.DataFrame] = {}
    excluded_parts = []
    for name, df in tables.items():
        out[name], excl = exclude_rows(name, df, reasons)
        if excl is not None:
            excluded_parts.append(excl)
    excluded_parts += cascade_exclusions(tables, out)
    excluded = finish_quarantine(report, excluded_parts, {n: len(out[n]) for n in out})
    return out, excluded
