"""Client workbooks that read like a deliverable.

Words as headers, names beside ids, number formats, frozen header rows and fitted column widths.

:func:`sheet_layout` decides how a table is shown (names inserted beside ids, header words, a
number format and a width per column); the streaming writer
:func:`salesanalytics.present.deliverables.write_excel` applies it while it writes. The data stay as they
are: numbers remain numbers, text remains text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salesanalytics.present import style

__all__ = [
    "HEADER_FILL",
    "MONEY",
    "SHARE",
    "SheetLayout",
    "id_names",
    "number_format",
    "sheet_layout",
    "write_workbook",
]

MONEY = re.compile(
    r"(mrr|arr|chf|cost|contribution|amount|pay|salary|incentive|revenue|value|booking|price)",
    re.I,
)
"""Column names holding CHF amounts."""
SHARE = re.compile(
    r"(share|rate|pct|penetration|utili[sz]ation|^max_dev|^cv_|within|changing|probability|"
    r"retention|attainment|churn$)",
    re.I,
)
"""Column names holding shares (0.05 = 5%)."""
_COUNT = re.compile(r"(^n_|accounts|customers|deals|territories|^count|contiguous|reps$)", re.I)
_HOURS = re.compile(r"(hours|minutes)", re.I)

HEADER_FILL = "1F3A5F"
"""Background of the header row (navy; bold white words)."""


def number_format(column: str, values: list[object]) -> str | None:
    """The Excel number format for a column, from its name and values (``None`` = leave it).

    CHF amounts ``#,##0`` (thousands separators as the reader's Excel shows them), shares
    ``0.0%``, counts and hours ``#,##0``, dates ``DD.MM.YYYY``, other decimals ``#,##0.00``.
    """
    import datetime as dt

    sample = [v for v in values if v is not None][:200]
    if not sample:
        return None
    if all(isinstance(v, dt.datetime | dt.date) for v in sample):
        return "DD.MM.YYYY"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in sample):
        return None
    if SHARE.search(column):
        return "0.0%"
    if MONEY.search(column) or _COUNT.search(column) or _HOURS.search(column):
        return "#,##0"
    if all(float(v).is_integer() for v in sample):
        return "#,##0"
    return "#,##0.00"


@dataclass
class SheetLayout:
    """How one sheet is shown.

    The table (names inserted beside ids), header labels, a number format and a width per column
    (see :func:`sheet_layout`).
    """

    frame: pd.DataFrame
    labels: list[str]
    formats: list[str | None]
    widths: list[float]


def sheet_layout(
    df: pd.DataFrame, names: Mapping[str, str] | None = None, max_width: int = 60
) -> SheetLayout:
    """The client layout of one sheet.

    Parameters
    ----------
    df
        The table (column names as in the data: ``rep_id``, ``current_mrr``).
    names
        Display names of ids: every ``..._id`` column whose values have names and no
        ``..._name`` column beside it gets one right after it (``rep_id`` -> ``Rep``).
    max_width
        Widest column, in characters.
    """
    out = df.copy()
    names = names or {}
    known = None
    if names:
        import pyarrow as pa
        import pyarrow.compute as pc

        # Arrow's is_in: pandas converts a long list of names one by one for string data
        known = pa.array(list(names), type=pa.string())
        for col in [c for c in df.columns if str(c).endswith("_id")][::-1]:
            base = str(col)[:-3]
            if (
                f"{base}_name" in out.columns
                or "name" in out.columns
                and base in ("rep", "account")
            ):
                continue
            ids = out[col].astype("string")
            hit = pc.is_in(
                pa.array(ids.to_numpy(dtype=object, na_value=None), type=pa.string()),
                value_set=known,
            )
            if not pc.any(hit).as_py():
                continue
            pos = list(out.columns).index(col) + 1
            out.insert(pos, f"{base}_name", ids.map(names).astype("string"))
    labels, formats, widths = [], [], []
    for col in out.columns:
        c = str(col)
        label = style.label(c[:-5]) if c.endswith("_name") and c != "rep_name" else style.label(c)
        labels.append(label)
        vals = out[col].head(500).tolist()
        py = [v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in vals]
        py = [None if (isinstance(v, float) and v != v) or v is pd.NA else v for v in py]
        formats.append(number_format(c, py))
        shown = [len(label)] + [
            len(f"{v:,.0f}") + 2 if isinstance(v, int | float) else len(str(v))
            for v in py
            if v is not None
        ]
        widths.append(float(min(max(shown) + 2, max_width)))
    return SheetLayout(out, labels, formats, widths)


def id_names(*tables: tuple[pd.DataFrame, str, str]) -> dict[str, str]:
    """Display names of ids from ``(table, id column, name column)`` triples.

    E.g. ``id_names((reps, "rep_id", "name"), (accounts, "account_id", "name"))``.
    """
    out: dict[str, str] = {}
    for df, id_col, name_col in tables:
        sub = df[[id_col, name_col]].dropna()
        out.update(zip(sub[id_col].astype(str), sub[name_col].astype(str), strict=True))
    return out


def write_workbook(
    path: str | Path, sheets: Mapping[str, pd.DataFrame], names: Mapping[str, str] | None = None
) -> Path:
    """Write a client workbook, one sheet per table, laid out by :func:`sheet_layout`.

    The same streaming writer as the territory workbook: text stays text, never a formula.
    """
    from salesanalytics.present.deliverables import write_excel

    return write_excel(path, dict(sheets), names)
