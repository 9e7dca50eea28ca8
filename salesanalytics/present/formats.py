"""Number formats and client words in the run's locale and language.

Money, percentages, dates, labels for codes (no plotting imports).

Analysis models and text builders import this module; it loads neither matplotlib nor seaborn.
The run's currency is set once per run (:func:`set_currency`, done by the workspace) and every money
format and ``(CHF)`` label follows it.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import pandas as pd

from salesanalytics.errors import ParameterError
from salesanalytics.present import i18n
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "LABELS",
    "ROLE_LABELS",
    "VALUE_LABELS",
    "auto_number",
    "chf",
    "currency",
    "date",
    "escape",
    "label",
    "money",
    "month",
    "num",
    "pct",
    "plain",
    "plain_pct",
    "set_currency",
    "set_locale",
    "value_label",
]

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
    """Format a number in the run's locale.

    ``1'234'567`` (Swiss locales, the default), ``1.234.567`` (de-DE, de-AT); ``decimals`` after the
    point. Missing -> ``–``.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "–"
    if _swiss_formats():
        return _group(float(x), decimals)
    return _babel_num(float(x), decimals)


def set_locale(language: str | None = None, locale: str | None = None) -> str:
    """Set the run's language and locale (see :func:`salesanalytics.present.i18n.set_language`).

    The locale drives the number, money and date formats, the language the words. Returns the
    locale.

    Every phase notebook sets them through its
    :class:`~salesanalytics.engagement.workspace.Workspace` from the intake's ``settings.json``,
    as it sets the currency.
    """
    i18n.set_language(language, locale)
    return i18n.locale()


def date(x: Any) -> str:
    """A date in the run's locale: ``31.12.2026`` (every supported locale). Missing -> ``–``."""
    if x is None or x is pd.NA or (not isinstance(x, str) and pd.isna(x)):
        return "–"
    return pd.Timestamp(x).strftime("%d.%m.%Y")


def month(x: Any) -> str:
    """A month in the run's language.

    ``Mar 26`` (English), ``März 26`` (German), ``Jän. 26`` (de-AT). Missing -> ``–``.
    """
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

    Every phase notebook sets it through its :class:`~salesanalytics.engagement.workspace.Workspace` from the
    intake's ``settings.json`` (the mapping's or the project's currency); ``None`` or an empty code
    resets it to CHF. Returns the code now in force.
    """
    code = (code or "CHF").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ParameterError(
            f"currency must be a three-letter ISO 4217 code such as CHF or USD, not {code!r}"
        )
    _RUN["currency"] = code
    return code


def currency() -> str:
    """The run's currency code (``CHF`` unless set by :func:`set_currency`)."""
    return _RUN["currency"]


def money(x: Any, decimals: int = 0, compact: bool = False) -> str:
    """Format an amount in the run's currency and locale.

    ``CHF 1'234'567`` (Swiss locales), ``1.234.567 €`` (de-DE, de-AT); ``compact=True`` gives ``CHF
    1.2 Mio.`` (``USD 1.2 Mio.`` in a USD run, ``1,2 Mio. €`` in de-DE). Missing -> ``–``.
    """
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
        unit = "k" if i18n.language() == "en" else "Tsd."
        return f"{_babel_num(v / 1e3, 0)} {unit} {sym}"
    return f"{_babel_num(v, decimals)} {sym}"


def chf(x: Any, decimals: int = 0, compact: bool = False) -> str:
    """Format an amount in the run's currency: ``CHF 1'234'567``.

    The name is historical: CHF unless the run's currency is another, see :func:`set_currency`.
    """
    return money(x, decimals, compact)


def pct(x: Any, decimals: int = 1, signed: bool = False) -> str:
    """Format a share (0.123) as a percentage: ``12.3%`` (``12,3 %`` in de-DE / de-AT).

    ``signed=True`` adds ``+`` to gains.
    """
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
    # the basis of a measure's simulated attainment (compensation.simulation.Calibration.table)
    "history": "history",
    "assumed at target (no history)": "assumed at target (no history)",
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
    """A column name in client words.

    ``current_mrr`` -> ``MRR today (CHF)``, ``n_territories`` -> ``Number of territories``,
    ``cost_chf`` -> ``Cost (CHF)``.

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
    """A category code in a table cell in client words (``key_account`` -> ``Key account``).

    Booleans become ``yes``/``no``; anything else is returned unchanged.
    """
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


def plain(x: Any, max_decimals: int = 3) -> str:
    """A number with the decimals it needs (at most ``max_decimals``) in the run's locale.

    ``1.5``, ``1.25``, ``2`` (``1,5`` in de-DE / de-AT): factors, weights and caps in text.
    """
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return "–"
    v = float(x)
    d = next((d for d in range(max_decimals + 1) if round(v, d) == round(v, max_decimals)), 0)
    return num(v, d)


def plain_pct(x: Any, max_decimals: int = 1) -> str:
    """A share as a percentage with the decimals it needs: ``12.5%``, ``5%`` (``5 %`` in de-DE)."""
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return "–"
    text = plain(float(x) * 100, max_decimals)
    return f"{text}%" if _swiss_formats() else f"{text} %"


def auto_number(v: Any) -> str:
    """Default display of a number without an explicit format.

    Swiss grouping, no trailing ``.000000`` (whole numbers without decimals, others with up to two).
    """
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "–"
    x = float(v)
    if x.is_integer() or abs(x) >= 1000:
        return num(x)
    if abs(x) >= 10:
        return num(x, 1)
    return num(x, 2)
