"""Safe client files: spreadsheet cells that never run as formulas, file names that stay put.

Every Excel or CSV file a client receives is written by :func:`write_excel` or :func:`write_csv`,
which neutralise CRM text the way OWASP recommends against CSV (formula) injection: a text cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote
(``'=HYPERLINK(...)``), so that Excel, LibreOffice and Google Sheets show it as text instead of
evaluating it. The text stays readable; numbers (numeric columns, and numbers in mixed columns)
are left as they are and stay numbers. Column names are treated like cells.

Files are written to a temporary file next to the target and renamed into place: a file that
another run shares through a hard link is replaced, never changed in place, and a failed write
leaves no half-written file.

Per-entity file names (reps, teams, territories) come from :func:`safe_file_stem`: readable
(``Team Zürich-Ostschweiz`` -> ``Team-Zuerich-Ostschweiz``), never a path (``../x``, ``a/b``),
never a reserved Windows device name (``CON``, ``nul.txt``), at most :data:`MAX_STEM` characters,
and :func:`unique_file_stems` makes them distinct (also on case-insensitive file systems).

This module imports only the standard library at import time (the pipeline runner names
per-entity files without loading pandas).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "EXCEL_CELL_LIMIT",
    "FORMULA_PREFIXES",
    "MAX_STEM",
    "atomic_write_bytes",
    "neutralise",
    "neutralise_frame",
    "safe_file_stem",
    "unique_file_stems",
    "write_csv",
    "write_excel",
]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection)."""

EXCEL_CELL_LIMIT = 32_767
"""Characters an Excel cell holds; longer text is cut (with a marker) in Excel files."""

MAX_STEM = 80
"""Longest per-entity file name stem (characters, before the suffix)."""

_FORMULA_START = r"^[=+\-@\t\r]"
_CUT_MARK = " [...]"


def neutralise(value: Any) -> Any:
    """A cell value safe for a spreadsheet.

    Text starting with a formula character is prefixed with ``'``; every other value (numbers
    included) is returned unchanged.

    >>> neutralise("=1+1"), neutralise("-Anna"), neutralise("Anna"), neutralise(-3)
    ("'=1+1", "'-Anna", 'Anna', -3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _text_column(s: pd.Series) -> bool:
    import pandas as pd

    return (
        pd.api.types.is_object_dtype(s.dtype)
        or pd.api.types.is_string_dtype(s.dtype)
        or isinstance(s.dtype, pd.CategoricalDtype)
    )


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are neutralised (see :func:`neutralise`).

    Numeric, boolean and date columns are untouched; in text columns (object, string or
    categorical) only cells starting with one of :data:`FORMULA_PREFIXES` change.
    ``attrs`` are kept.
    """
    import pandas as pd

    out = df.copy(deep=False)
    for i in range(df.shape[1]):
        s = df.iloc[:, i]
        if not _text_column(s):
            continue
        txt = s.astype("string") if not isinstance(s.dtype, pd.CategoricalDtype) else None
        if txt is None:
            cats = pd.Series(s.cat.categories)
            if cats.map(lambda v: neutralise(v) is not v).any():
                out.isetitem(i, s.cat.rename_categories([neutralise(v) for v in cats]))
            continue
        hit = txt.str.contains(_FORMULA_START, regex=True).fillna(False)
        if not hit.any():
            continue
        new = s.astype(object).copy()
        new[hit.to_numpy(bool)] = [neutralise(v) for v in s[hit.to_numpy(bool)]]
        out.isetitem(i, new.astype(s.dtype) if not pd.api.types.is_object_dtype(s.dtype) else new)
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in df.columns]
    out.attrs = dict(df.attrs)
    return out


def _replace_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Write via ``write(tmp)`` into a new file next to ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename.

    Parameters
    ----------
    path
        Target file; its folder is created when missing. A file already there (also one that
        another run shares through a hard link) is replaced, never changed in place.
    data
        The file's content.
    """

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    _replace_atomically(path, write)


def write_csv(df: pd.DataFrame, path: str | Path, *, index: bool = False, **to_csv: Any) -> Path:
    """Write ``df`` as a client CSV file (UTF-8, CRLF line ends), text cells neutralised.

    Cells are neutralised with :func:`neutralise_frame`.

    Parameters
    ----------
    df
        Any frame.
    path
        Target file; replaced atomically.
    index
        Write the index too (default no).
    **to_csv
        Further options of :meth:`pandas.DataFrame.to_csv` (``sep``, ``encoding``, ...).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    safe = neutralise_frame(df)
    # CRLF line ends (RFC 4180, as Excel writes): a value holding a carriage return is quoted
    to_csv.setdefault("lineterminator", "\r\n")
    return _replace_atomically(Path(path), lambda p: safe.to_csv(p, index=index, **to_csv))


def _excel_columns(df: pd.DataFrame) -> list[list[Any]]:
    """Columns as lists of plain Python values (None for missing) for the Excel writer."""
    import numpy as np
    import pandas as pd

    cols = []
    for c in range(df.shape[1]):
        v = df.iloc[:, c]
        if pd.api.types.is_bool_dtype(v.dtype) and not v.isna().any():
            arr = v.to_numpy(dtype=bool).tolist()
        elif pd.api.types.is_integer_dtype(v.dtype) and not v.isna().any():
            arr = v.to_numpy(dtype="int64").tolist()
        elif pd.api.types.is_float_dtype(v.dtype):
            f = v.to_numpy(dtype=float, na_value=np.nan)
            arr = [None if x != x or x in (np.inf, -np.inf) else x for x in f.tolist()]
        else:
            arr = [
                x if x is None or isinstance(x, str | bool | int | float) else str(x)
                for x in v.astype(object).where(v.notna(), None).tolist()
            ]
            arr = [
                x[: EXCEL_CELL_LIMIT - len(_CUT_MARK)] + _CUT_MARK
                if isinstance(x, str) and len(x) > EXCEL_CELL_LIMIT
                else x
                for x in arr
            ]
        cols.append(arr)
    return cols


def _write_rows(ws: Any, columns: list[list[Any]], formats: Sequence[Any]) -> None:
    """Write the data rows below the header.

    Text as text (never a formula; a carriage return becomes a line break, as Excel keeps
    it), numbers with their column's number format, booleans as TRUE/FALSE, missing values as
    empty cells.
    """
    write_string, write_number, write_boolean = ws.write_string, ws.write_number, ws.write_boolean
    for i, row in enumerate(zip(*columns, strict=True), start=1):
        for j, x in enumerate(row):
            if x is None:
                continue
            if isinstance(x, str):
                write_string(i, j, x.replace("\r\n", "\n").replace("\r", "\n") if "\r" in x else x)
            elif isinstance(x, bool):
                write_boolean(i, j, x)
            else:
                write_number(i, j, x, formats[j])


def write_excel(
    path: str | Path,
    sheets: Mapping[str, pd.DataFrame],
    names: Mapping[str, str] | None = None,
    layout: bool = True,
) -> Path:
    """Write a client workbook: one sheet per frame, text cells neutralised.

    Sheet names are cut to Excel's 31 characters (characters Excel forbids in sheet names are
    replaced). Missing values are empty cells, booleans TRUE/FALSE, numbers numbers, and text
    is always stored as text (a cell never becomes a formula, even without the quote), cut to
    :data:`EXCEL_CELL_LIMIT` characters. Written with XlsxWriter's streaming mode (constant
    memory; several times faster than openpyxl for the per-account sheets of a large client) to
    a new file that is renamed into place.

    With ``layout`` (the default) every sheet is laid out for the client by
    :func:`salesanalytics.present.excel.sheet_layout`: words as headers, the ``names`` of ids beside
    them, number formats, a frozen header row and column widths. ``layout=False`` writes the
    column names as they are (machine-readable tables).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import xlsxwriter

    from salesanalytics.present.excel import HEADER_FILL, sheet_layout

    def write(tmp: Path) -> None:
        wb = xlsxwriter.Workbook(
            str(tmp),
            {
                "constant_memory": True,  # streams row by row: memory does not grow with rows
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        number_formats: dict[str, Any] = {}

        def fmt(code: str | None) -> Any:
            if code is None:
                return None
            if code not in number_formats:
                number_formats[code] = wb.add_format({"num_format": code})
            return number_formats[code]

        head_fmt = wb.add_format(
            {"bold": True, "font_color": "#FFFFFF", "bg_color": f"#{HEADER_FILL}", "pattern": 1}
            | {"valign": "top", "text_wrap": True}
        )
        used: set[str] = set()
        for name, df in sheets.items():
            title = re.sub(r"[\[\]:*?/\\]", "-", str(name))[:31] or "Sheet"
            n = 1
            while title.lower() in used:
                n += 1
                title = f"{title[: 31 - len(str(n)) - 1]}-{n}"
            used.add(title.lower())
            ws = wb.add_worksheet(title)
            if layout:
                lay = sheet_layout(df, names)
                safe = neutralise_frame(lay.frame)
                for j, w in enumerate(lay.widths):
                    ws.set_column(j, j, w)
                ws.freeze_panes(1, 0)
                ws.write_row(0, 0, [str(x) for x in lay.labels], head_fmt)
                formats = [fmt(f) for f in lay.formats]
            else:
                safe = neutralise_frame(df)
                ws.write_row(0, 0, [str(c) for c in safe.columns])
                formats = [None] * safe.shape[1]
            _write_rows(ws, _excel_columns(safe), formats)
        wb.close()

    return _replace_atomically(Path(path), write)


# --------------------------------------------------------------------------------------------
# file names

_TRANSLIT = {
    "ä": "ae",
    "ö": "oe",
    "ü": "ue",
    "Ä": "Ae",
    "Ö": "Oe",
    "Ü": "Ue",
    "ß": "ss",
    "æ": "ae",
    "Æ": "Ae",
    "ø": "o",
    "Ø": "O",
    "œ": "oe",
    "Œ": "Oe",
    "đ": "d",
    "Đ": "D",
    "ł": "l",
    "Ł": "L",
}
_RESERVED = re.compile(r"^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$", re.I)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def safe_file_stem(name: Any, max_len: int = MAX_STEM) -> str:
    r"""A readable file name stem for an entity (rep, team, territory) that cannot leave its folder.

    Umlauts are transliterated (``ü`` -> ``ue``), other accents dropped (``é`` -> ``e``), every
    run of other characters (``/``, ``\``, ``..``, spaces, emoji, control characters) becomes
    one ``-``; letters, digits, ``_`` and ``-`` are kept with their case (CRM ids are
    case-sensitive). Names that are empty afterwards, consist of dots only, or are reserved by
    Windows (``CON``, ``NUL``, ``COM1``, ...) get a short hash of the original name; names longer
    than ``max_len`` are cut and end with the hash, so two long names that share their start do
    not collide.

    Examples: ``Team Zürich-Ostschweiz`` -> ``Team-Zuerich-Ostschweiz``, ``../x`` -> ``x``,
    ``a/b`` -> ``a-b``, ``CON`` -> ``CON-<hash>``, ``🚀`` -> ``entity-<hash>``.
    """
    text = str(name)
    t = "".join(_TRANSLIT.get(ch, ch) for ch in text)
    t = unicodedata.normalize("NFKD", t)
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    t = re.sub(r"[^A-Za-z0-9_-]+", "-", t)
    t = re.sub(r"-{2,}", "-", t).strip("-_")
    if not t:
        return f"entity-{_digest(text)}"
    if _RESERVED.match(t.split(".")[0]):
        t = f"{t}-{_digest(text)}"
    if len(t) > max_len:
        t = f"{t[: max_len - 9].rstrip('-_')}-{_digest(text)}"
    return t


def unique_file_stems(names: Iterable[Any], max_len: int = MAX_STEM) -> list[str]:
    """:func:`safe_file_stem` of every name, made distinct ignoring case (``-2``, ``-3``, ...).

    Equal stems from different names (``a/b`` and ``a-b``, ``Team A`` and ``team a``) are
    numbered in the order given, so the result is reproducible.
    """
    seen: set[str] = set()
    out = []
    for name in names:
        base = stem = safe_file_stem(name, max_len)
        n = 1
        while stem.lower() in seen:
            n += 1
            stem = f"{base[: max_len - len(str(n)) - 1]}-{n}"
        seen.add(stem.lower())
        out.append(stem)
    return out
