"""Portfolio charts: the account matrix and the ranking.

The numbers come from :mod:`salesanalytics.analyses.portfolio.model`; this module only draws them (matplotlib,
the house theme of :mod:`salesanalytics.present`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from salesanalytics.analyses.portfolio.model import VACANT_LABEL
from salesanalytics.present import style
from salesanalytics.present.i18n import gettext as _

__all__ = ["plot_matrix", "plot_ranking"]


def plot_matrix(summary: pd.DataFrame, ax: Any = None) -> Any:
    """Bar chart of accounts, today's MRR and potential MRR per portfolio matrix cell.

    Parameters
    ----------
    summary
        Output of :func:`matrix_summary` (``matrix_cell``, ``accounts``, ``current_mrr``,
        ``potential_mrr``).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots()
    shares = pd.DataFrame(
        {
            _("accounts"): summary["accounts"] / summary["accounts"].sum(),
            _("MRR today"): summary["current_mrr"] / summary["current_mrr"].sum(),
            _("potential MRR"): summary["potential_mrr"] / summary["potential_mrr"].sum(),
        }
    )
    shares.index = pd.Index(
        [_(str(c)) for c in summary["matrix_cell"]], name=summary["matrix_cell"].name
    )
    shares.T.plot.barh(stacked=True, ax=ax, width=0.6)
    ax.set_xlabel(_("share"))
    ax.set_xlim(0, 1)
    ax.set_ylabel("")
    ax.set_title(_("Portfolio matrix: where accounts, revenue and potential sit"))
    ax.legend(frameon=False, bbox_to_anchor=(1, 1), loc="upper left")
    return ax


def plot_ranking(ranking: pd.DataFrame, label: str = "name", ax: Any = None) -> Any:
    """Horizontal bars of the overall fair score per rep (output of :func:`fair_ranking`).

    Portfolios of vacant territories (peer group :data:`VACANT_LABEL`) have no rep to rank and
    are left out of the chart (the ranking table lists them).
    """
    import matplotlib.pyplot as plt

    if "peer_group" in ranking.columns:
        ranking = ranking[ranking["peer_group"].astype("string").fillna("") != VACANT_LABEL]
    if ax is None:
        _fig, ax = plt.subplots(figsize=(8, 0.28 * len(ranking) + 1.2))
    r = ranking.iloc[::-1]
    ids = r["entity_id"].astype("string")
    names = (r[label].astype("string").fillna(ids) if label in r.columns else ids).astype(object)
    groups = (
        r["peer_group"].astype("string").fillna("(none)").astype(object)
        if "peer_group" in r.columns
        else pd.Series("all", index=r.index)
    )
    colors = {g: style.PALETTE[i % len(style.PALETTE)] for i, g in enumerate(dict.fromkeys(groups))}
    ax.barh(names, r["overall_score"], color=groups.map(colors).tolist())
    if len(colors) > 1:
        from matplotlib.patches import Patch

        ax.legend(
            [Patch(color=c) for c in colors.values()],
            [_(str(g)) for g in colors],
            frameon=False,
            loc="lower right",
        )
    ax.axvline(50, color="#8c8c8c", lw=1, ls="--")
    ax.set_xlim(0, 100)
    ax.set_xlabel(_("overall score (0 = worst, 100 = best on every KPI)"))
    ax.set_title(_("Fair ranking of portfolios"))
    return ax
