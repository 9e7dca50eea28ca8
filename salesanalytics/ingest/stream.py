"""Streamed intake of the large tables: map, validate and write them batch by batch.

The activity log and the stage history of a large CRM (tens of millions of rows) are never held as
one pandas frame. Each of their CSV or Parquet files is read in record batches
(:func:`salesanalytics.ingest.io.iter_file`); each batch is mapped, converted and validated with
the spreadsheet rows of its rows, and its valid rows are written to the table's Parquet file
(one row group per batch). The problems are the ones the whole-table validation reports, with the
same rows and wording: the checks that look across rows keep small summaries instead of the rows:

* duplicate ids: the ids seen so far with where each was first seen (:class:`KeyIndex`);
* orphan references: the key sets of the (small, in-memory) tables referred to;
* stage history against its opportunity: the opportunities looked up by id; a stage entered
  after the final stage needs the first entry into the final stage over the whole history, so
  the rows that may be late are kept (file, row, date) and checked at the end;
* translated values and unknown values: counted per batch and added up.

:func:`salesanalytics.ingest.intake.load_export` uses this module when it is given a folder to
write into (``store``); Excel files are read whole (see ``docs/scale.md``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from salesanalytics.ingest import schema
from salesanalytics.ingest.mapping import MappedTable, stack_inputs
from salesanalytics.ingest.problems import FILE_COL, INTERNAL_COLUMNS, ROW_COL, TEMPLATES
from salesanalytics.ingest.problems import empty_problems as _empty_problems
from salesanalytics.ingest.validation import (
    CONVERSION_CHECKS,
    DATE_CHECKS,
    KeyIndex,
    KeyLookup,
    OpportunityIndex,
    ValidationReport,
    _drop_already_reported,
    _empty_reference_problem,
    _pandera_problems,
    _rows_problems,
    _stage_row_problems,
    exclude_referring,
    exclude_rows,
    final_at_per_stage,
    final_stage_problems,
    first_final_entry,
    lookup_set,
    quarantine_reasons,
    reference_problems,
)

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "STREAMED_TABLES",
    "StoredTable",
    "StreamContext",
    "TableStream",
    "merge_remappings",
]

STREAMED_TABLES: tuple[str, ...] = ("opportunity_stages", "activities")
"""The canonical tables read in batches when the intake writes into a folder: the two that grow
with the activity and the history of every deal (about ten and twelve rows per account)."""

DEFAULT_BATCH_ROWS = 500_000
"""Rows per batch: a batch of the activity log takes some 200 MB as text in pandas."""

AS_OF_COLUMNS: dict[str, str] = {"activities": "date", "opportunity_stages": "entered_at"}
"""The date of each streamed table that sets the export's reference date."""


@dataclass
class StoredTable:
    """A canonical table written to a Parquet file batch by batch (not held in memory).

    Attributes
    ----------
    name
        Canonical table name.
    path
        The Parquet file (a temporary name beside its final place until :meth:`place`).
    rows
        Rows written.
    filled
        Non-empty cells per canonical column (of the rows written).
    rows_read, filled_read
        Rows read and their non-empty cells per column (before quarantine; the report's
        completeness).
    """

    name: str
    path: Path
    rows: int
    filled: dict[str, int]
    rows_read: int = 0
    filled_read: dict[str, int] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The table's columns (canonical order)."""
        return list(pq.read_schema(self.path).names)

    def __len__(self) -> int:
        return self.rows

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The table as one pandas frame (the frame the whole-table intake writes)."""
        return pd.read_parquet(self.path, columns=columns)

    def place(self, target: Path) -> Path:
        """Move the file to ``target`` (a rename on the same file system)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(self.path, target)
        self.path = target
        return target

    def discard(self) -> None:
        """Delete the file (a failed intake leaves no table behind)."""
        self.path.unlink(missing_ok=True)


@dataclass
class StreamContext:
    """What the batches of a streamed table are checked against (built once per intake).

    Attributes
    ----------
    report
        The intake's report (problems are added batch by batch).
    labels
        ``(file, canonical column) -> column name in the file`` (the batches add theirs).
    warn_missing
        Table -> columns whose empty values are warnings (the mapping's ``warn_missing``).
    targets
        ``(table, column) -> (key set, rows)`` of the tables referred to, before quarantine
        (:func:`salesanalytics.ingest.validation.reference_problems`).
    removed
        ``(table, column) -> key set`` of the ids quarantine took out of those tables.
    opportunities
        The opportunities, looked up by the stage history (``None``: no stage checks).
    day
        The day of the check (dates after it lie in the future).
    quarantine
        Leave rows with errors out (else they are written and the intake fails).
    """

    report: ValidationReport
    labels: dict[tuple[str, str], str]
    warn_missing: dict[str, tuple[str, ...]]
    targets: dict[tuple[str, str], tuple[pa.Array | KeyLookup, int]]
    removed: dict[tuple[str, str], pa.Array]
    opportunities: OpportunityIndex | None
    day: pd.Timestamp
    quarantine: bool = False


_UNKNOWN = (
    "unknown value of {field}, not in the mapping's list of known values "
    "({n} rows; the first is shown)"
)


@dataclass
class TableStream:
    """One canonical table streamed into a Parquet file: call :meth:`add` per mapped batch.

    ``files`` names every file that feeds the table (sorted: the categories of ``_file``).
    """

    name: str
    context: StreamContext
    path: Path
    files: list[str] = field(default_factory=list)
    keys: KeyIndex | None = None
    rows_in: int = 0
    rows_out: int = 0
    filled: dict[str, int] = field(default_factory=dict)
    filled_out: dict[str, int] = field(default_factory=dict)
    excluded_direct: list[pd.DataFrame] = field(default_factory=list)
    excluded_cascade: list[pd.DataFrame] = field(default_factory=list)
    as_of: pd.Timestamp | None = None
    _writer: pq.ParquetWriter | None = None
    _schema: pa.Schema | None = None
    _rowless: set[tuple[Any, ...]] = field(default_factory=set)
    _unknown: list[pd.DataFrame] = field(default_factory=list)
    _remaps: list[pd.DataFrame] = field(default_factory=list)
    _empty_refs: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)
    _first_final: np.ndarray | None = None
    _late: list[pd.DataFrame] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keys = KeyIndex(self.name)
        self.filled = dict.fromkeys(schema.TABLES[self.name].column_names, 0)
        self.filled_out = dict(self.filled)

    # -- one batch ------------------------------------------------------------------------
    def add(self, mapped: MappedTable) -> None:
        """Map, validate, quarantine and write one batch."""
        ctx = self.context
        ctx.labels.update(mapped.labels)
        if len(mapped.remappings):
            self._remaps.append(mapped.remappings.assign(_batch=len(self._remaps)))
        conv = self._mapping_problems(mapped.problems)
        df = stack_inputs(self.name, [mapped]).data
        del mapped
        if self.files:  # the categories of the whole table's ``_file`` (as in excluded rows)
            df[FILE_COL] = df[FILE_COL].cat.set_categories(self.files)
        probs = [conv, *self._validate(df, conv)]
        probs = [p for p in probs if len(p)]
        batch = ValidationReport()
        for p in probs:
            ctx.report.add_frame(p)
            batch.add_frame(p)
        if ctx.quarantine and probs:
            df = self._quarantine(df, batch.problems)
        elif ctx.quarantine:
            df = self._quarantine(df, None)
        self._write(df)

    def _mapping_problems(self, probs: pd.DataFrame) -> pd.DataFrame:
        """The batch's mapping problems; those without a row once per table.

        Unknown values are counted over the batches (reported by :meth:`finish`).
        """
        if not len(probs):
            return probs
        unknown = (probs["check"] == "unknown_value").to_numpy(dtype=bool)
        if unknown.any():
            self._unknown.append(probs[unknown])
        rest = probs[~unknown]
        rowless = rest["row"].isna().to_numpy(dtype=bool)
        keep = np.ones(len(rest), dtype=bool)
        for i in np.flatnonzero(rowless):
            key = tuple(str(v) for v in rest.iloc[i].tolist())
            if key in self._rowless:
                keep[i] = False
            self._rowless.add(key)
        return rest[keep]

    def _validate(self, df: pd.DataFrame, conv: pd.DataFrame) -> list[pd.DataFrame]:
        """The checks of ``validate_tables`` for this table, on one batch."""
        ctx, name = self.context, self.name
        reported = conv[conv["check"].isin(list(CONVERSION_CHECKS))] if len(conv) else conv
        warn = ctx.warn_missing.get(name, ())
        out = [_drop_already_reported(_pandera_problems(name, df, ctx.labels, warn), reported)]
        assert self.keys is not None
        out.append(self.keys.check(df, ctx.labels))
        for col in warn:
            if col in df:
                gaps = _rows_problems(
                    df,
                    df[col].isna().to_numpy(),
                    table=name,
                    field_name=col,
                    severity="warning",
                    check="missing_value",
                    message=f"{name}.{col} is empty",
                    hint=(
                        "Known gap of this export (declared in the mapping); analyses that "
                        "need the value leave these rows out and say so."
                    ),
                    labels=ctx.labels,
                )
                out.append(_drop_already_reported(gaps, reported))
        refs, empty = reference_problems(name, df, lambda t, c: ctx.targets.get((t, c)), ctx.labels)
        out.extend(refs)
        for column, f, t, n in empty:
            self._empty_refs.setdefault((f, t, column), [column, 0])[1] += n
        for rule in DATE_CHECKS:
            if getattr(rule, "table", None) == name:
                out.extend(rule({name: df}, ctx.labels, ctx.day))
        if name == "opportunity_stages" and ctx.opportunities is not None:
            out.extend(self._stage_checks(df, ctx.opportunities))
        n = len(df)
        self.rows_in += n
        for c in self.filled:
            if c in df:
                self.filled[c] += int(df[c].notna().sum())
        return out

    def _stage_checks(self, s: pd.DataFrame, idx: OpportunityIndex) -> list[pd.DataFrame]:
        if not len(s) or not {"entered_at", "opportunity_id", "stage"} <= set(s.columns):
            return []
        pos = idx.positions(s)
        out = _stage_row_problems(s, idx, pos, self.context.labels)
        if idx.stage is not None:
            is_final = idx.is_final(s, pos)
            first = first_final_entry(s, idx, pos, is_final)
            self._first_final = (
                first if self._first_final is None else np.minimum(self._first_final, first)
            )
            closed = idx.per_stage(idx.closed, pos, False).astype(bool)
            late = closed & ~is_final & s["entered_at"].notna().to_numpy(dtype=bool)
            if late.any():
                self._late.append(
                    pd.DataFrame(
                        {
                            FILE_COL: s.loc[late, FILE_COL].reset_index(drop=True),
                            ROW_COL: s.loc[late, ROW_COL].to_numpy(),
                            "entered_at": s.loc[late, "entered_at"].to_numpy(),
                            "_pos": pos[late].astype("int32"),
                        }
                    )
                )
        return out

    def _quarantine(self, df: pd.DataFrame, probs: pd.DataFrame | None) -> pd.DataFrame:
        if probs is not None:
            df, excl = exclude_rows(self.name, df, quarantine_reasons(probs))
            if excl is not None:
                self.excluded_direct.append(excl)
        for c in schema.TABLES[self.name].columns:
            if not c.references or c.name not in df:
                continue
            t_table, t_col = c.references.split(".")
            removed = self.context.removed.get((t_table, t_col))
            if removed is None:
                continue
            df, excl = exclude_referring(self.name, df, c.name, t_table, removed)
            if excl is not None:
                self.excluded_cascade.append(excl)
        return df

    def _write(self, df: pd.DataFrame) -> None:
        out = schema.coerce_table(
            self.name, df.drop(columns=[c for c in INTERNAL_COLUMNS if c in df])
        )
        col = AS_OF_COLUMNS.get(self.name)
        if col and col in out and len(out):
            s = out[col]
            v = s[s <= pd.Timestamp(pd.Timestamp.today().date())].max()
            if not pd.isna(v) and (self.as_of is None or v > self.as_of):
                self.as_of = pd.Timestamp(v)
        table = pa.Table.from_pandas(out, schema=self._schema, preserve_index=False)
        if self._writer is None:
            self._schema = table.schema
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, self._schema)
        self._writer.write_table(table)
        self.rows_out += len(out)
        for c in self.filled_out:
            self.filled_out[c] += int(out[c].notna().sum())

    # -- the end ------------------------------------------------------------------------------
    def finish(self) -> StoredTable:
        """Report what needs every batch, close the file and return it."""
        ctx = self.context
        for (f, t, _), (column, n) in self._empty_refs.items():
            ctx.report.add_frame(_empty_reference_problem(self.name, column, f, t, n))
        if self._unknown:
            ctx.report.add_frame(merge_unknown_values(pd.concat(self._unknown, ignore_index=True)))
        if self._late and self._first_final is not None and ctx.opportunities is not None:
            late = pd.concat(self._late, ignore_index=True)
            pos = late.pop("_pos").to_numpy(dtype="int64")
            final_at = pd.Series(final_at_per_stage(self._first_final, ctx.opportunities, pos))
            ctx.report.add_frame(
                final_stage_problems(late, final_at, np.ones(len(late), dtype=bool), ctx.labels)
            )
        self._late = []
        if self._writer is None:
            self._write(schema.empty_frame(self.name))
        assert self._writer is not None
        self._writer.close()
        return StoredTable(
            self.name, self.path, self.rows_out, self.filled_out, self.rows_in, self.filled
        )

    @property
    def remappings(self) -> pd.DataFrame:
        """The values translated in every batch, counted (:func:`merge_remappings`)."""
        return merge_remappings(self._remaps)


def merge_unknown_values(probs: pd.DataFrame) -> pd.DataFrame:
    """One ``unknown_value`` note per file, column and value (any case) over all batches.

    Each batch noted a value with its count and first row: the counts are added up and the first
    row (with the value as spelled there) is kept, as the whole-table mapping reports it.
    """
    if probs.empty:
        return _empty_problems()
    pattern = TEMPLATES.get(_UNKNOWN) or re.compile(r"^(?P<field>.+?) .*\((?P<n>[\d']+) rows")
    parsed = probs["message"].astype("string").str.extract(pattern)
    counts = parsed["n"].str.replace("'", "", regex=False).astype("int64")
    key = [probs[c].astype("string").fillna("") for c in ("file", "table", "column", "field")]
    key.append(probs["value"].astype("string").str.lower().fillna(""))
    frame = probs.assign(_n=counts.to_numpy(), _k=pd.Series(list(zip(*key, strict=True))).values)
    frame = frame.sort_values("row", kind="stable")
    total = frame.groupby("_k", sort=False)["_n"].transform("sum")
    first = ~frame["_k"].duplicated(keep="first")
    out = frame[first.to_numpy()].copy()
    tot = total[first.to_numpy()].to_numpy()
    out["message"] = [
        _UNKNOWN.format(field=f, n=f"{int(n):,}".replace(",", "'"))
        for f, n in zip(parsed.loc[out.index, "field"], tot, strict=True)
    ]
    out["message"] = out["message"].astype("string")
    return out.drop(columns=["_n", "_k"]).reset_index(drop=True)


def merge_remappings(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The translated values of every batch, counted once per file, column and value.

    Ordered as the whole-table mapping lists them: by file, then by canonical column, then by
    the first batch (and position in it) in which the value occurred.
    """
    cols = ["file", "table", "column", "field", "from_value", "to_value", "count"]
    if not parts:
        return pd.DataFrame(columns=cols)
    df = pd.concat(parts, ignore_index=True)
    df["_pos"] = np.arange(len(df))
    keys = ["file", "table", "column", "field", "from_value", "to_value"]
    g = df.groupby(keys, sort=False, dropna=False)
    out = g.agg(count=("count", "sum"), _pos=("_pos", "min")).reset_index()
    files = {f: i for i, f in enumerate(pd.unique(df["file"]))}
    out["_f"] = out["file"].map(files)
    out["_c"] = [
        schema.TABLES[t].column_names.index(f)
        if t in schema.TABLES and f in schema.TABLES[t].column_names
        else len(schema.TABLES)
        for t, f in zip(out["table"], out["field"], strict=True)
    ]
    out = out.sort_values(["_f", "_c", "_pos"], kind="stable")
    out["count"] = out["count"].astype("int64")
    return out[cols].reset_index(drop=True)


def stream_key_sets(
    tables: dict[str, pd.DataFrame], kept: dict[str, pd.DataFrame] | None, key_set: Callable
) -> tuple[
    dict[tuple[str, str], tuple[pa.Array | KeyLookup, int]], dict[tuple[str, str], pa.Array]
]:
    """Key sets of the referenced tables before quarantine, and the ids quarantine removed."""
    from salesanalytics.ingest.validation import isin

    targets: dict[tuple[str, str], tuple[pa.Array | KeyLookup, int]] = {}
    removed: dict[tuple[str, str], pa.Array] = {}
    for name in STREAMED_TABLES:
        for c in schema.TABLES[name].columns:
            if not c.references:
                continue
            t_table, t_col = c.references.split(".")
            target = tables.get(t_table)
            if target is None or t_col not in target:
                continue
            targets[(t_table, t_col)] = (lookup_set(target[t_col]), len(target))
            if kept is not None and t_table in kept:
                orig = target[t_col].dropna()
                gone = orig[~isin(orig, kept[t_table][t_col])]
                removed[(t_table, t_col)] = key_set(gone)
    return targets, removed
