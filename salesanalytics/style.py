"""House style for client reports: colours, number formatting in the run's locale and safe HTML tables.

Everything a notebook shows a client goes through here, so reports look alike and CRM text (account
names, product names, notes) is always HTML-escaped: a name such as ``<script>alert(1)</script>`` is
shown as text and never runs. Excel and CSV files for the client are written with
:func:`write_excel` / :func:`write_csv` (from :mod:`salesanalytics.deliverables`), which neutralise
text that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import matplotlib as mpl
import pandas as pd
import pandas.io.formats.style  # the Styler of table(), loaded (jinja2) with the house style
import seaborn as sns

from salesanalytics import i18n
from salesanalytics.deliverables import neutralise_frame, write_csv, write_excel
from salesanalytics.i18n import gettext as _

__all__ = [
    "CHANNEL_COLORS",
    "PALETTE",
    "ROLE_LABELS",
    "TRAFFIC_COLORS",
    "chf",
    "currency",
    "date",
    "escape",
    "neutralise_frame",
    "label",
    "month",
    "num",
    "pct",
    "money",
    "set_currency",
    "set_locale",
    "set_theme",
    "table",
    "write_csv",
    "write_excel",
    "value_label",
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


def _swiss_formats() -> bool:
    """Whether the run's locale writes numbers Swiss style (``1'234'567.5``, ``CHF 1'234``)."""
    return i18n.locale().endswith("-CH")


def _babel_locale() -> str:
    return i18n.locale().replace("-", "_")


def _babel_num(v: float, decimals: int) -> str:
    """A number in the run's (non-Swiss) locale through Babel: ``1.234.567,5`` in de-DE."""
    from babel.numbers import format_decimal

    if round(v, decimals) == 0:
        v = 0.0  # no "-0"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(v, format=pattern, locale=_babel_locale())


def num(x: Any, decimals: int = 0) -> str:
    """Format a number in the run's locale: ``1'234'567`` (Swiss locales, the default),
    ``1.234.567`` (de-DE, de-AT); ``decimals`` after the point. Missing -> ``–``."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "–"
    if _swiss_formats():
        return _group(float(x), decimals)
    return _babel_num(float(x), decimals)


def set_locale(language: str | None = None, locale: str | None = None) -> str:
    """Set the run's language and locale (see :func:`salesanalytics.i18n.set_language`): the
    locale drives the number, money and date formats, the language the words. Returns the locale.

    Every phase notebook sets them through its :class:`~salesanalytics.workspace.Workspace`
    from the intake's ``settings.json``, as it sets the currency.
    """
    i18n.set_language(language, locale)
    return i18n.locale()


def date(x: Any) -> str:
    """A date in the run's locale: ``31.12.2026`` (every supported locale). Missing -> ``–``."""
    if x is None or x is pd.NA or (not isinstance(x, str) and pd.isna(x)):
        return "–"
    return pd.Timestamp(x).strftime("%d.%m.%Y")


def month(x: Any) -> str:
    """A month in the run's language: ``Mar 26`` (English), ``März 26`` (German), ``Jän. 26``
    (de-AT). Missing -> ``–``."""
    if x is None or x is pd.NA or (not isinstance(x, str) and pd.isna(x)):
        return "–"
    ts = pd.Timestamp(x)
    if i18n.language() == "en":
        return ts.strftime("%b %y")
    from babel.dates import format_date

    return format_date(ts.date(), "MMM yy", locale=_babel_locale())


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
    """Format an amount in the run's currency and locale: ``CHF 1'234'567`` (Swiss locales),
    ``1.234.567 €`` (de-DE, de-AT); ``compact=True`` gives ``CHF 1.2 Mio.`` (``USD 1.2 Mio.`` in
    a USD run, ``1,2 Mio. €`` in de-DE). Missing -> ``–``."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "–"
    v = float(x)
    cur = _RUN["currency"]
    if _swiss_formats():
        if compact and abs(v) >= 1e6:
            return f"{cur} {v / 1e6:.1f} Mio."
        if compact and abs(v) >= 1e4:
            return f"{cur} {_group(v / 1e3, 0)}" + ("k" if i18n.language() == "en" else " Tsd.")
        return f"{cur} {_group(v, decimals)}"
    # German and Austrian usage (Babel): the amount, then the symbol: 1.234.567 €
    from babel.numbers import get_currency_symbol

    sym = get_currency_symbol(cur, locale=_babel_locale())
    if compact and abs(v) >= 1e6:
        return f"{_babel_num(v / 1e6, 1)} Mio. {sym}"
    if compact and abs(v) >= 1e4:
        return (
            f"{_babel_num(v / 1e3, 0)} " + ("k" if i18n.language() == "en" else "Tsd.") + f" {sym}"
        )
    return f"{_babel_num(v, decimals)} {sym}"


def chf(x: Any, decimals: int = 0, compact: bool = False) -> str:
    """Format an amount in the run's currency (the name is historical: CHF unless the run's
    currency is another, see :func:`set_currency`): ``CHF 1'234'567``."""
    return money(x, decimals, compact)


def pct(x: Any, decimals: int = 1, signed: bool = False) -> str:
    """Format a share (0.123) as a percentage (``12.3%``; ``12,3 %`` in de-DE / de-AT);
    ``signed=True`` adds ``+`` to gains."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "–"
    v = float(x) * 100
    sign = "+" if signed and v > 0 else ""
    if _swiss_formats():
        return f"{sign}{v:.{decimals}f}%"
    return f"{sign}{_babel_num(v, decimals)} %"  # German usage: 12,3 %


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
            # no scientific notation or offsets on axes: 1'200'000, not 1.2e6
            "axes.formatter.limits": (-9, 15),
            "axes.formatter.useoffset": False,
        }
    )


_TOKENS: dict[str, str] = {
    "mrr": "MRR",
    "arr": "ARR",
    "fte": "FTE",
    "kpi": "KPI",
    "kpis": "KPIs",
    "id": "ID",
    "kam": "KAM",
    "abc": "ABC",
    "roc": "ROC",
    "auc": "AUC",
    "crm": "CRM",
    "chf": "(CHF)",
    "pct": "(%)",
    "km": "(km)",
    "kmh": "(km/h)",
    "hours": "(h)",
    "p10": "P10",
    "p50": "P50",
    "p90": "P90",
    "ci": "CI",
    "n": "number of",
    "num": "number of",
    "avg": "average",
    "cv": "coefficient of variation",
    "vs": "vs.",
    "dev": "deviation",
    "pos": "position",
    "qty": "quantity",
    "sbg": "sBG",
    "kaplan": "Kaplan",
    "meier": "Meier",
}

LABELS: dict[str, str] = {
    "current_mrr": "MRR today (CHF)",
    "mrr": "MRR (CHF)",
    "potential_mrr": "Potential MRR (CHF)",
    "white_space_mrr": "White space MRR (CHF)",
    "share_of_mrr": "Share of MRR",
    "share_of_potential": "Share of potential",
    "n_accounts": "Accounts",
    "n_customers": "Customers",
    "rep_name": "Rep",
    "rep_id": "Rep ID",
    "account_id": "Account ID",
    "opportunity_id": "Opportunity ID",
    "proposed_kam_name": "Proposed key-account manager",
    "proposed_kam_id": "Proposed key-account manager ID",
    "current_owner": "Current owner",
    "criteria_met": "Criteria met",
    "workload_hours": "Workload (h)",
    "travel_hours": "Travel (h)",
    "capacity_hours": "Capacity (h)",
    "activity_hours": "Activity time (h)",
    "fte": "FTE",
    "fte_needed": "FTE needed",
    "fte_today": "FTE today",
    "fte_available": "FTE available",
    "mean_travel_km": "Mean travel distance (km)",
    "utilisation": "Utilisation",
    "penetration": "Penetration",
    "churn_probability": "Churn risk (12 months)",
    "hazard_ratio": "Hazard ratio",
    "win_rate": "Win rate",
    "total_pay": "Total pay (CHF)",
    "base_salary": "Base salary (CHF)",
    "target_incentive": "Target incentive (CHF)",
    "incentive": "Incentive (CHF)",
    "amount": "Amount (CHF)",
    "cost": "Cost (CHF)",
    "contribution": "Contribution (CHF)",
    "attainment": "Attainment",
    "description": "Description",
    "line": "Line",
    "name": "Name",
    "team": "Team",
    "role": "Role",
    "channel": "Channel",
    "current_channel": "Channel today",
    "proposed_channel": "Proposed channel",
    "status": "Status",
    "first_term": "First contract term (months)",
    "grr": "Gross revenue retention",
    "nrr": "Net revenue retention",
    "logo_churn": "Customers lost (share)",
    "revenue_churn": "Revenue lost (share)",
    "employees": "Employees",
    "log_employees": "Employees (log)",
}
"""Client words for column names that appear in many reports (with their unit); other snake_case
names are turned into words by :func:`label`."""

VALUE_LABELS: dict[str, str] = {
    "field": "Field",
    "tele": "Tele",
    "online": "Online",
    "customer": "Customer",
    "prospect": "Prospect",
    "won": "Won",
    "lost": "Lost",
    "upsell": "Upsell",
    "renewal": "Renewal",
    "key_account": "Key account",
    "key_accounts": "Key accounts",
    "team_lead": "Team lead",
    "new_business": "New business",
    "former_customer": "Former customer",
    "online_session": "Online session",
    "serve_efficiently": "Serve efficiently",
}
"""Client words for category codes shown in table cells (channels, roles, statuses...)."""

ROLE_LABELS: dict[str, str] = {
    "field": "field sales",
    "tele": "tele sales",
    "online": "online sales",
    "key_account": "key-account manager",
    "team_lead": "team lead",
}
"""A rep's role in running text ("Anna Keller (team lead): ...")."""

_TERM = re.compile(r"^(?:C\()?([a-z][a-z0-9_]*)\)?\[(?:T\.)?(.+)\]$")
_CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_CODE_VALUE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def label(name: Any) -> str:
    """A column name in client words: ``current_mrr`` -> ``MRR today (CHF)``,
    ``n_territories`` -> ``Number of territories``, ``cost_chf`` -> ``Cost (CHF)``.

    Names that are not snake_case code (``Accounts``, ``Potential MRR``) are kept as they are,
    with a capital first letter.
    """
    text = str(name)
    if text in LABELS:
        return _(LABELS[text]).replace("(CHF)", f"({currency()})")
    if not _CODE.match(text):
        text = text[:1].upper() + text[1:] if text[:1].islower() else text
        return _(text)
    words = [_word(w) for w in text.split("_")]
    out = " ".join(w for w in words if w)
    if out.endswith(" of"):  # a lone count prefix: n -> Number
        out = out[:-3]
    out = _(out[:1].upper() + out[1:])  # the words in the run's language
    return out.replace("(CHF)", f"({currency()})")  # the run's currency


def _word(token: str) -> str:
    m = re.fullmatch(r"(\d+)pct", token)
    if m:
        return f"{m.group(1)}%"
    return _TOKENS.get(token, token)


def value_label(value: Any) -> Any:
    """A category code in a table cell in client words (``key_account`` -> ``Key account``);
    booleans become ``yes``/``no``; anything else is returned unchanged."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    try:
        import numpy as np

        if isinstance(value, np.bool_):
            return _("yes") if bool(value) else _("no")
    except ImportError:  # pragma: no cover - numpy is a pandas dependency
        pass
    if isinstance(value, str):
        term = _TERM.match(value)
        if term:  # a regression term: C(industry)[T.Retail] -> Industry: Retail
            return f"{label(term.group(1))}: {term.group(2)}"
        if value in VALUE_LABELS:
            return _(VALUE_LABELS[value])
        if value in LABELS and _CODE_VALUE.match(value):
            return _(LABELS[value])
        if "|" in value and all(_CODE.match(v) or len(v) <= 3 for v in value.split("|")):
            # a composite code such as a workload segment: former_customer|A
            return " · ".join(str(value_label(v)) for v in value.split("|"))
        if _CODE_VALUE.match(value):
            words = [_word(w) for w in value.split("_")]
            out = " ".join(words)
            return _(out[:1].upper() + out[1:])
        return i18n.gettext_known(value)  # a word of the package (matrix cell, plan, band)
    return value


def _auto_number(v: Any) -> str:
    """Default display of a number without an explicit format: Swiss grouping, no trailing
    ``.000000`` (whole numbers without decimals, others with up to two)."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "–"
    x = float(v)
    if x.is_integer() or abs(x) >= 1000:
        return num(x)
    if abs(x) >= 10:
        return num(x, 1)
    return num(x, 2)


Formatter = str | Callable[[Any], str]


def table(
    df: pd.DataFrame,
    formats: Mapping[str, Formatter] | None = None,
    caption: str | None = None,
    max_rows: int = 30,
    index: bool = False,
    labels: Mapping[str, str] | None = None,
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
    labels
        Column -> header text. Columns not named here get :func:`label` (snake_case names become
        words with their unit: ``current_mrr`` -> ``MRR today (CHF)``). Formats stay keyed by
        the original column names. Boolean cells show ``yes``/``no``, category codes words
        (:func:`value_label`), numbers without a format Swiss style without trailing zeros.

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
        "date": date,
    }
    shown = df.head(max_rows)
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
            funcs[col] = _auto_number
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
