"""House theme for client reports: colours, the matplotlib/seaborn look and safe HTML tables.

Everything a notebook shows a client goes through here, so reports look alike and CRM text (account
names, product names, notes) is always HTML-escaped: a name such as ``<script>alert(1)</script>`` is
shown as text and never runs. Number formats live in :mod:`salesanalytics.present.formats`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import matplotlib as mpl
import pandas as pd
import pandas.io.formats.style  # the Styler of table(), loaded (jinja2) with the house style
import seaborn as sns

from salesanalytics.present.formats import (
    auto_number,
    chf,
    date,
    escape,
    label,
    money,
    num,
    pct,
    value_label,
)
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "CHANNEL_COLORS",
    "ID_NAMES",
    "PALETTE",
    "TRAFFIC_COLORS",
    "named_ids",
    "set_theme",
    "table",
]

PALETTE: list[str] = [
    "#1f3a5f",
    "#3c7dc4",
    "#7fb3e6",
    "#e07a1f",
    "#f2b25c",
    "#5a9e6f",
    "#b5485d",
    "#8c8c8c",
]
"""Qualitative house palette (navy, blue, light blue, orange, amber, green, red, grey)."""

CHANNEL_COLORS: dict[str, str] = {"field": "#1f3a5f", "tele": "#3c7dc4", "online": "#e07a1f"}
"""One colour per sales channel, used in every chart."""

TRAFFIC_COLORS: dict[str, str] = {
    "green": "#2e8b57",
    "amber": "#f0ad1e",
    "red": "#c8102e",
    "grey": "#9e9e9e",
}
"""Traffic-light colours of the cockpit."""


def set_theme() -> None:
    """Apply the house style to matplotlib/seaborn (clean white grid, house palette, readable fonts)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=1.0)
    mpl.rcParams.update(
        {
            "figure.figsize": (9, 4.5),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
            "axes.titlesize": 12,
            "axes.titlelocation": "left",
            # no scientific notation or offsets on axes: 1'200'000, not 1.2e6
            "axes.formatter.limits": (-9, 15),
            "axes.formatter.useoffset": False,
        }
    )


Formatter = str | Callable[[Any], str]

ID_NAMES: dict[str, tuple[str, ...]] = {
    "rep_id": ("rep_name", "name"),
    "owner_id": ("owner_name", "rep_name", "name"),
    "account_id": ("account_name", "name"),
    "manager_id": ("manager_name",),
}
"""CRM id columns and the name columns that identify the same record for a reader."""


def named_ids(df: pd.DataFrame) -> list[str]:
    """The id columns of ``df`` that a name column beside them makes redundant for a reader.

    An id column of :data:`ID_NAMES` is redundant when one of its name columns is in ``df`` (and
    no other id column claims the same name column) and the names tell the ids apart: every id
    has a name, and no two ids share one.

    Parameters
    ----------
    df
        Any table (flat columns).
    """
    if isinstance(df.columns, pd.MultiIndex):
        return []
    cols = [str(c) for c in df.columns]
    claimed: dict[str, list[str]] = {}
    for id_col, names in ID_NAMES.items():
        if id_col in cols:
            name = next((n for n in names if n in cols), None)
            if name is not None:
                claimed.setdefault(name, []).append(id_col)
    out = []
    for name, ids in claimed.items():
        if len(ids) != 1:
            continue
        pair = df[[ids[0], name]].dropna(subset=[ids[0]]).drop_duplicates()
        if pair[name].notna().all() and not pair[name].duplicated().any():
            out.append(ids[0])
    return out


def table(
    df: pd.DataFrame,
    formats: Mapping[str, Formatter] | None = None,
    caption: str | None = None,
    max_rows: int = 30,
    index: bool = False,
    labels: Mapping[str, str] | None = None,
    ids: bool = False,
) -> Any:
    """Return a styled, HTML-escaped table for display in a notebook/report.

    Parameters
    ----------
    df
        The table to show; any columns.
    formats
        Column -> ``"chf"``, ``"pct"``, ``"num"``, ``"num1"`` / ``"num2"`` / ``"num3"`` (one to
        three decimals), ``"date"`` or a callable.
    caption
        Optional caption above the table.
    max_rows
        Only the first ``max_rows`` rows are shown; a note says how many were left out.
    index
        Whether to show the index.
    labels
        Column -> header text. Columns not named here get :func:`label` (snake_case names become
        words with their unit: ``current_mrr`` -> ``MRR today (CHF)``). Formats stay keyed by
        the original column names. Boolean cells show ``yes``/``no``, category codes words
        (:func:`value_label`), numbers without a format Swiss style without trailing zeros.
    ids
        Show CRM id columns (``rep_id``, ``account_id``, ...) even where a name column beside them
        identifies the record (:func:`named_ids`); by default the reader sees the name only.

    Returns
    -------
    pandas.io.formats.style.Styler
        Renders as escaped HTML in Jupyter and nbconvert.
    """
    fmt_map: dict[str, Callable[[Any], str]] = {
        "chf": chf,
        "money": money,
        "pct": pct,
        "num": num,
        "num1": lambda v: num(v, 1),
        "num2": lambda v: num(v, 2),
        "num3": lambda v: num(v, 3),
        "date": date,
    }
    shown = df.head(max_rows)
    if not ids:
        shown = shown.drop(columns=named_ids(df))
    if not index:
        shown = shown.reset_index(drop=True)
    funcs: dict[str, Callable[[Any], str]] = {}
    for col, f in (formats or {}).items():
        if col in shown.columns:
            funcs[col] = fmt_map[f] if isinstance(f, str) else f
    shown = shown.copy()
    flat = not isinstance(shown.columns, pd.MultiIndex)
    for col in list(shown.columns) if flat else []:
        if col in funcs:
            continue
        s = shown[col]
        if pd.api.types.is_bool_dtype(s) or (
            s.dtype == object and s.dropna().map(type).isin([bool]).all() and s.notna().any()
        ):
            shown[col] = s.map(lambda v: "–" if v is None or v is pd.NA else value_label(v))
        elif pd.api.types.is_numeric_dtype(s):
            funcs[col] = auto_number
        elif pd.api.types.is_string_dtype(s) or s.dtype == object:
            shown[col] = s.map(value_label)
    styler = shown.style.format(funcs, escape="html", na_rep="–")
    if flat:
        given = labels or {}
        names = [_(given[str(c)]) if given.get(str(c)) else label(c) for c in shown.columns]
        styler = styler.relabel_index([escape(n) for n in names], axis=1)
    else:
        styler = styler.format_index(escape="html", axis=1)
    if index:
        styler = styler.format_index(
            lambda v: escape(value_label(v)) if isinstance(v, str) else escape(v), axis=0
        )
        if shown.index.name and flat:
            shown.index.name = label(shown.index.name)
    else:
        styler = styler.hide(axis="index")
    cap = escape(_(caption)) if caption else ""
    if len(df) > max_rows:
        cap += _(" (first {shown} of {total} rows)").format(shown=max_rows, total=num(len(df)))
    if cap:
        styler = styler.set_caption(cap)
    wide = " sa-wide" if len(shown.columns) + int(index) > 8 else ""
    styler = styler.set_table_attributes(f'class="sa-table{wide}"')
    # pandas names each table by a random id; one derived from what is shown makes the same
    # data give the same report
    digest = hashlib.sha256(f"{cap}\n{shown.to_string()}".encode()).hexdigest()[:8]
    return styler.set_uuid(digest)
