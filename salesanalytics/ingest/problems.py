"""Data problems as rows: the frame every reader, mapping and check reports into.

A problem says what is wrong, where (file, table, column, row, value) and what to do
(:class:`Problem`); many problems travel together as a frame with :data:`PROBLEM_COLUMNS`, built
by :func:`problem_frame`. The internal columns :data:`FILE_COL` and :data:`ROW_COL` carry each
mapped row's file and spreadsheet row from the mapping to the checks. This module is the bottom of
the intake: :mod:`~salesanalytics.ingest.mapping` and :mod:`~salesanalytics.ingest.validation` both
report into it, so the mapping never needs the validation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FILE_COL",
    "N_",
    "TEMPLATES",
    "INTERNAL_COLUMNS",
    "PROBLEM_COLUMNS",
    "ROW_COL",
    "SEVERITIES",
    "Problem",
    "empty_problems",
    "fmt_int",
    "printable",
    "problem_frame",
    "reword",
]

TEMPLATES: dict[str, re.Pattern[str]] = {}
"""Message and hint templates marked with :func:`N_`, each with the pattern that finds its values
in a text written from it (``"{field} is empty"`` finds ``field`` in ``"accounts.name is empty"``)."""


def _pattern(template: str) -> re.Pattern[str]:
    out, seen, pos = ["^"], set(), 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(re.escape(template[pos : m.start()]))
        name = m.group(1)
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        pos = m.end()
    out += [re.escape(template[pos:]), "$"]
    return re.compile("".join(out), re.DOTALL)


def N_(template: str) -> str:
    """Mark a problem text (a ``str.format`` template) for the client's language.

    ``ingest`` does not import the presentation layer: its texts are written in English from
    templates marked here, and a report in another language rewords them (:func:`reword`) with
    the catalogue's translation of the template. Returns ``template`` unchanged.
    """
    if template not in TEMPLATES:
        TEMPLATES[template] = _pattern(template)
    return template


def reword(text: str, translate: Any) -> str:
    """``text`` written from a marked template, in the words of ``translate(template)``.

    A text from no marked template is returned as it is (``translate(text)`` when that differs,
    so a constant text marked or not is still translated).
    """
    if not text:
        return text
    for template, pattern in TEMPLATES.items():
        m = pattern.match(text)
        if m:
            return str(translate(template)).format(**m.groupdict())
    return str(translate(text))


SEVERITIES: tuple[str, ...] = ("error", "warning", "info")
PROBLEM_COLUMNS: list[str] = [
    "severity",
    "file",
    "table",
    "column",
    "field",
    "row",
    "value",
    "check",
    "message",
    "hint",
]
"""Columns of :attr:`ValidationReport.problems`. ``column`` is the column as named in the input
file, ``field`` the canonical column it feeds, ``row`` the spreadsheet row (header = row 1)."""

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MAX_VALUE_CHARS = 200


def printable(text: Any, limit: int | None = _MAX_VALUE_CHARS) -> Any:
    r"""``text`` safe to print.

    Control and bidi characters escaped (NUL -> ``\x00``), cut to ``limit`` characters with the
    full length named. Non-text values are returned unchanged.
    """
    if not isinstance(text, str):
        return text
    out = _UNPRINTABLE.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )
    if limit is not None and len(out) > limit:
        out = f"{out[:limit]}... ({fmt_int(len(text))} characters)"
    return out


FILE_COL = "_file"
ROW_COL = "_row"
INTERNAL_COLUMNS: tuple[str, ...] = (FILE_COL, ROW_COL)


@dataclass(frozen=True)
class Problem:
    """One data problem.

    Attributes
    ----------
    severity
        ``error`` (the data cannot be used as is), ``warning`` (usable, but look at it) or
        ``info``.
    file, table, column, row, value
        Where: input file, canonical table, column as named in the file, spreadsheet row (header
        is row 1; ``None`` for whole-file problems) and the offending value as text.
    check
        Short machine name of the check (``duplicate_id``, ``orphan_reference``, ...).
    message
        What is wrong, in plain words.
    hint
        What to do about it.
    field
        Canonical column the problem concerns.
    """

    severity: str
    file: str | None
    table: str | None
    column: str | None
    row: int | None
    value: str | None
    check: str
    message: str
    hint: str = ""
    field: str | None = None

    def text(self) -> str:
        """One line: where, what, value and hint."""
        where = [f"file {self.file}" if self.file else None]
        if self.column:
            where.append(f"column {self.column}")
        if self.row is not None:
            where.append(f"row {self.row}")
        loc = ", ".join(w for w in where if w) or (f"table {self.table}" if self.table else "")
        val = f" (value '{printable(self.value)}')" if self.value is not None else ""
        hint = f" {self.hint}" if self.hint else ""
        return f"{self.severity}: {loc}: {self.message}{val}.{hint}"


def problem_frame(
    *,
    severity: str,
    check: str,
    message: str,
    hint: str = "",
    file: Any = None,
    table: str | None = None,
    column: Any = None,
    field: str | None = None,
    row: Any = None,
    value: Any = None,
    n: int | None = None,
) -> pd.DataFrame:
    """Build a problems frame (:data:`PROBLEM_COLUMNS`) for ``n`` problems in one go.

    Every argument is a scalar (repeated) or an array of length ``n``; ``n`` defaults to the
    length of the first array argument, or 1.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    args = {"file": file, "column": column, "row": row, "value": value}
    if n is None:
        n = next((len(v) for v in args.values() if _is_array(v)), 1)
    data: dict[str, Any] = {}
    for k, v in {
        "severity": severity,
        "file": file,
        "table": table,
        "column": column,
        "field": field,
        "row": row,
        "value": value,
        "check": check,
        "message": message,
        "hint": hint,
    }.items():
        data[k] = np.asarray(v, dtype=object) if _is_array(v) else [v] * n
    df = pd.DataFrame(data)
    for c, limit in (
        ("value", _MAX_VALUE_CHARS),
        ("message", _MAX_VALUE_CHARS * 5),
        ("file", _MAX_VALUE_CHARS),
        ("column", _MAX_VALUE_CHARS),
    ):
        col = df[c].astype("string")
        if len(col) and (
            col.str.contains(_UNPRINTABLE.pattern, regex=True).fillna(False).any()
            or (col.str.len() > limit).fillna(False).any()
        ):
            df[c] = col.map(lambda v, lim=limit: printable(v, lim), na_action="ignore")
    df["row"] = pd.array(df["row"], dtype="Int64")
    for c in PROBLEM_COLUMNS:
        if c != "row":
            df[c] = df[c].astype("string")
    return df[PROBLEM_COLUMNS]


def _is_array(v: Any) -> bool:
    return isinstance(v, pd.Series | np.ndarray | list | pd.Index | pd.arrays.ArrowStringArray)


_EMPTY: list[pd.DataFrame] = []


def empty_problems() -> pd.DataFrame:
    """An empty problems frame (:data:`PROBLEM_COLUMNS`, their dtypes)."""
    if not _EMPTY:
        _EMPTY.append(problem_frame(severity="info", check="", message="", n=0))
    return _EMPTY[0].copy()


def fmt_int(n: int) -> str:
    """``n`` with Swiss thousands separators (``1'234``)."""
    return f"{n:,}".replace(",", "'")
