"""Client workbooks that read like a deliverable.

Words as headers, names beside ids, number formats, frozen header rows and fitted column widths.

:func:`sheet_layout` decides how a table is shown (names inserted beside ids, header words, a
number format and a width per column); a streaming writer such as
:func:`salesanalytics.analyses.territory.write_excel` applies it while it writes. The data stay as they
are: numbers remain numbers, text remains text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from salesanalytics.present import style

__all__ = [
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

_NAVY = "1F3A5F"


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

    def header(self, ws: Any) -> list[Any]:
        """The header row as styled write-only cells (words, bold white on navy)."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font, PatternFill

        cells = []
        for text in self.labels:
            c = WriteOnlyCell(ws, value=text)
            c.font = Font(bold=True, color="FFFFFF")
            c.fill = PatternFill("solid", fgColor=_NAVY)
            c.alignment = Alignment(vertical="top", wrap_text=True)
            cells.append(c)
        return cells

    def row(self, ws: Any, values: Sequence[Any]) -> list[Any]:
        """A data row with the column's number format on numbers and dates."""
        import datetime as dt

        from openpyxl.cell import WriteOnlyCell

        out: list[Any] = []
        for v, fmt in zip(values, self.formats, strict=True):
            if fmt and hasattr(v, "number_format"):  # already a cell (text kept as text)
                if isinstance(v.value, int | float) and not isinstance(v.value, bool):
                    v.number_format = fmt
                out.append(v)
            elif (
                fmt
                and isinstance(v, int | float | dt.date | dt.datetime)
                and not isinstance(v, bool)
            ):
                c = WriteOnlyCell(ws, value=v)
                c.number_format = fmt
                out.append(c)
            else:
                out.append(v)
        return out

    def prepare(self, ws: Any) -> None:
        """Column widths and the frozen header row of a write-only sheet (before any row)."""
        from openpyxl.utils import get_column_letter

        for j, w in enumerate(self.widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = w
        ws.freeze_panes = "A2"


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
    if names:
        for col in [c for c in df.columns if str(c).endswith("_id")][::-1]:
            base = str(col)[:-3]
            if (
                f"{base}_name" in out.columns
                or "name" in out.columns
                and base in ("rep", "account")
            ):
                continue
            ids = out[col].astype("string")
            if not ids.isin(list(names)).any():
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
