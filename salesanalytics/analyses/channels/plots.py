"""Channel charts, tables and the client workbook.

The whale curve, the channel summary, the channel matrix as a heat table, the channel workbook
(Excel).

The numbers come from :mod:`salesanalytics.analyses.channels.model` and
:mod:`salesanalytics.analyses.channels.matrix`; this module only draws them (matplotlib, the
house theme of :mod:`salesanalytics.present`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.channels.matrix import Routing, _segment_order, workbook_sheets
from salesanalytics.ingest.schema import CHANNELS
from salesanalytics.present import i18n, style
from salesanalytics.present.deliverables import write_excel
from salesanalytics.present.i18n import gettext as _

__all__ = ["heat_table", "plot_channel_summary", "plot_whale", "write_workbook"]


def plot_whale(curve: pd.DataFrame, ax: Any = None) -> Any:
    """Whale curve: cumulative contribution III (share of total) over customers ranked by profit."""
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(curve["customer_share"] * 100, curve["cumulative_share"] * 100, color=style.PALETTE[0])
    ax.axhline(100, color=style.PALETTE[7], lw=0.8, ls="--")
    if len(curve):
        i = int(np.nanargmax(curve["cumulative_share"].to_numpy()))
        ax.annotate(
            _("peak {share}").format(share=style.pct(curve["cumulative_share"].iloc[i], 0)),
            (curve["customer_share"].iloc[i] * 100, curve["cumulative_share"].iloc[i] * 100),
            textcoords="offset points",
            xytext=(5, 5),
            fontsize=9,
        )
    ax.set_xlabel(_("customers ranked from most to least profitable (%)"))
    ax.set_ylabel(_("cumulative contribution III (% of total)"))
    ax.set_title(_("Whale curve"))
    return ax


def plot_channel_summary(summary: pd.DataFrame, ax: Any = None) -> Any:
    """Bars of FTE needed per channel today and proposed, with the FTE available."""
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(CHANNELS))
    s = summary.set_index(["scenario", "channel"])
    for j, (scen, alpha) in enumerate((("today", 0.55), ("proposed", 1.0))):
        vals = s.xs(scen)["fte_needed"].reindex(list(CHANNELS)).to_numpy()
        ax.bar(
            x + (j - 0.5) * 0.38,
            vals,
            width=0.38,
            color=[style.CHANNEL_COLORS[c] for c in CHANNELS],
            alpha=alpha,
            label=_(scen),
        )
    avail = s.xs("today")["fte_available"].reindex(list(CHANNELS)).to_numpy()
    ax.scatter(x, avail, marker="_", s=900, color="black", label=_("FTE today (CRM)"))
    ax.set_xticks(x, [_(c) for c in CHANNELS])
    ax.set_ylabel("FTE")
    ax.set_title(_("Workload in FTE per channel: today (light) and proposed (dark)"))
    ax.legend(fontsize=8, frameon=False)
    return ax


def heat_table(matrix: pd.DataFrame) -> Any:
    """The matrix as a heat table: channel per cell, background by contribution per deal.

    Rows are segments, columns product groups; each cell shows the proposed channel (mode) and
    its contribution per deal worked; the colour is the channel, its strength the contribution
    (cells decided by the fallback rule are hatched grey).
    """
    sizes = list(dict.fromkeys(matrix["size_class"].astype(str)))
    order = [s for s in _segment_order(sizes) if s in set(matrix["segment"])]
    groups = list(dict.fromkeys(matrix["product_group"].astype(str)))
    text = matrix.pivot(index="segment", columns="product_group", values="mode").reindex(
        index=order, columns=groups
    )
    contrib = matrix.pivot(index="segment", columns="product_group", values="contribution")
    contrib = contrib.reindex(index=order, columns=groups)
    chan = matrix.pivot(index="segment", columns="product_group", values="channel").reindex(
        index=order, columns=groups
    )
    basis = matrix.pivot(index="segment", columns="product_group", values="basis").reindex(
        index=order, columns=groups
    )
    shown = text.copy().astype(object)
    for i in shown.index:
        for j in shown.columns:
            v = contrib.loc[i, j]
            raw = str(text.loc[i, j])
            # the channel in the run's language (English shows the matrix's own words)
            label = raw if i18n.language() == "en" else str(style.value_label(raw))
            shown.loc[i, j] = (
                f"{label} · {style.chf(v)}" if pd.notna(v) else f"{label} · {_('rule')}"
            )
    vmax = (
        float(np.nanmax(np.abs(contrib.to_numpy(dtype="float64"))))
        if contrib.notna().any().any()
        else 1.0
    )

    def colour(col: pd.Series) -> list[str]:
        out = []
        for i in col.index:
            c = chan.loc[i, col.name]
            v = contrib.loc[i, col.name]
            base = style.CHANNEL_COLORS.get(str(c), "#999999")
            if basis.loc[i, col.name] == "rule" or pd.isna(v):
                out.append("background-color: #eeeeee; color: #333333; font-style: italic")
                continue
            alpha = 0.4 + 0.6 * min(max(float(v), 0.0) / vmax, 1.0) if vmax > 0 else 0.7
            rgb = tuple(int(base[k : k + 2], 16) for k in (1, 3, 5))
            fg = "#ffffff" if alpha > 0.6 else "#111111"
            out.append(
                f"background-color: rgba({rgb[0]},{rgb[1]},{rgb[2]},{alpha:.2f}); color: {fg}"
            )
        return out

    shown.index.name = None
    shown.columns.name = None
    styler = shown.style.apply(colour, axis=0).format(escape="html")
    if i18n.language() != "en":  # segment names in the run's language
        styler = styler.relabel_index(
            [style.escape(style.value_label(str(i))) for i in shown.index], axis=0
        )
    styler = styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    styler = styler.set_caption(
        _(
            "Channel per customer segment (rows) and product group (columns), with the "
            "contribution per deal worked ({currency}; darker = more; field dark blue, tele light "
            "blue, online orange). Grey italic cells: too little data, decided by the rule."
        ).format(currency=style.currency())
    )
    return styler.set_table_attributes('class="sa-table sa-heat"')


def write_workbook(path: str | Path, routing: Routing) -> Path:
    """Write the channel workbook, one sheet each, formula-safe and replaced atomically.

    The sheets of :func:`~salesanalytics.analyses.channels.matrix.workbook_sheets`, written with
    :func:`salesanalytics.present.deliverables.write_excel`.
    """
    return write_excel(path, workbook_sheets(routing))
