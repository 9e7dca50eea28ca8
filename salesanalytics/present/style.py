"""House style for client reports, one import for notebooks: formats, theme, tables, client files.

Everything a notebook shows a client goes through here, so reports look alike and CRM text (account
names, product names, notes) is always HTML-escaped: a name such as ``<script>alert(1)</script>`` is
shown as text and never runs. Excel and CSV files for the client are written with
:func:`write_excel` / :func:`write_csv` (from :mod:`salesanalytics.present.deliverables`), which neutralise
text that a spreadsheet would run as a formula.
"""

from __future__ import annotations

from salesanalytics.present.deliverables import neutralise_frame, write_csv, write_excel
from salesanalytics.present.formats import (
    LABELS,
    ROLE_LABELS,
    VALUE_LABELS,
    chf,
    currency,
    date,
    escape,
    label,
    money,
    month,
    num,
    pct,
    plain,
    set_currency,
    set_locale,
    value_label,
)
from salesanalytics.present.theme import CHANNEL_COLORS, PALETTE, TRAFFIC_COLORS, set_theme, table

__all__ = [
    "CHANNEL_COLORS",
    "LABELS",
    "PALETTE",
    "ROLE_LABELS",
    "TRAFFIC_COLORS",
    "VALUE_LABELS",
    "chf",
    "currency",
    "date",
    "escape",
    "label",
    "money",
    "month",
    "neutralise_frame",
    "num",
    "pct",
    "plain",
    "set_currency",
    "set_locale",
    "set_theme",
    "table",
    "value_label",
    "write_csv",
    "write_excel",
]
