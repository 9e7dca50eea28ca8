"""House style for client reports: colours, Swiss number formatting and safe HTML tables.

Everything a notebook shows a client goes through here, so reports look alike and CRM text (account
names, product names, notes) is always HTML-escaped: a name such as ``<script>alert(1)</script>`` is
shown as text and never runs.
"""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Callable, Mapping
from typing import Any

import matplotlib as mpl
import pandas as pd
import pandas.io.formats.style  # the Styler of table(), loaded (jinja2) with the house style
import seaborn as sns

__all__ = [
    "CHANNEL_COLORS",
    "PALETTE",
    "TRAFFIC_COLORS",
    "chf",
    "currency",
    "escape",
    "num",
    "pct",
    "money",
    "set_currency",
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

_SEP = "'"


def _group(x: float, decimals: int) -> str:
    s = f"{abs(x):,.{decimals}f}".replace(",", _SEP)
    return ("-" if x < 0 and float(s.replace(_SEP, "")) != 0 else "") + s


def num(x: Any, decimals: int = 0) -> str:
    """Format a number Swiss style: ``1'234'567`` (``decimals`` after the point). Missing -> ``–``."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "–"
    return _group(float(x), decimals)


_RUN = {"currency": "CHF"}
"""The run's settings read by the formatters (set by :func:`set_currency`)."""


def set_currency(code: str | None) -> str:
    """Set the run's currency (ISO 4217 code, e.g. ``USD``) used by :func:`money` / :func:`chf`.

    Every phase notebook sets it through its :class:`~salesanalytics.workspace.Workspace` from the
    intake's ``settings.json`` (the mapping's or the project's currency); ``None`` or an empty code
    resets it to CHF. Returns the code now in force.
    """
    code = (code or "CHF").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(
            f"currency must be a three-letter ISO 4217 code such as CHF or USD, not {code!r}"
        )
    _RUN["currency"] = code
    return code


def currency() -> str:
    """The run's currency code (``CHF`` unless set by :func:`set_currency`)."""
    return _RUN["currency"]


def money(x: Any, decimals: int = 0, compact: bool = False) -> str:
    """Format an amount in the run's currency: ``CHF 1'234'567``; ``compact=True`` gives
    ``CHF 1.2 Mio.`` (``USD 1.2 Mio.`` in a USD run). Missing -> ``–``."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "–"
    v = float(x)
    cur = _RUN["currency"]
    if compact and abs(v) >= 1e6:
        return f"{cur} {v / 1e6:.1f} Mio."
    if compact and abs(v) >= 1e4:
        return f"{cur} {_group(v / 1e3, 0)}k"
    return f"{cur} {_group(v, decimals)}"


def chf(x: Any, decimals: int = 0, compact: bool = False) -> str:
    """Format an amount in the run's currency (the name is historical: CHF unless the run's
    currency is another, see :func:`set_currency`): ``CHF 1'234'567``."""
    return money(x, decimals, compact)


def pct(x: Any, decimals: int = 1, signed: bool = False) -> str:
    """Format a share (0.123) as a percentage (``12.3%``); ``signed=True`` adds ``+`` to gains."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "–"
    v = float(x) * 100
    sign = "+" if signed and v > 0 else ""
    return f"{sign}{v:.{decimals}f}%"


def escape(text: Any) -> str:
    """HTML-escape any value for display (quotes included)."""
    return html.escape("" if text is None else str(text), quote=True)


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
        }
    )


Formatter = str | Callable[[Any], str]


def table(
    df: pd.DataFrame,
    formats: Mapping[str, Formatter] | None = None,
    caption: str | None = None,
    max_rows: int = 30,
    index: bool = False,
) -> Any:
    """Return a styled, HTML-escaped table for display in a notebook/report.

    Parameters
    ----------
    df
        The table to show; any columns.
    formats
        Column -> ``"chf"``, ``"pct"``, ``"num"``, ``"num1"`` (one decimal), ``"date"`` or a callable.
    caption
        Optional caption above the table.
    max_rows
        Only the first ``max_rows`` rows are shown; a note says how many were left out.
    index
        Whether to show the index.

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
        "date": lambda v: "–" if pd.isna(v) else pd.Timestamp(v).strftime("%d.%m.%Y"),
    }
    shown = df.head(max_rows)
    if not index:
        shown = shown.reset_index(drop=True)
    funcs: dict[str, Callable[[Any], str]] = {}
    for col, f in (formats or {}).items():
        if col in shown.columns:
            funcs[col] = fmt_map[f] if isinstance(f, str) else f
    styler = shown.style.format(funcs, escape="html", na_rep="–")
    styler = styler.format_index(escape="html", axis=1)
    if index:
        styler = styler.format_index(escape="html", axis=0)
    else:
        styler = styler.hide(axis="index")
    cap = escape(caption) if caption else ""
    if len(df) > max_rows:
        cap += f" (first {max_rows} of {num(len(df))} rows)"
    if cap:
        styler = styler.set_caption(cap)
    styler = styler.set_table_attributes('class="sa-table"')
    # pandas names each table by a random id; one derived from what is shown makes the same
    # data give the same report
    digest = hashlib.sha256(f"{cap}\n{shown.to_csv()}".encode()).hexdigest()[:8]
    return styler.set_uuid(digest)
