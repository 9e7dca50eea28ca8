"""Funnel charts: the stage funnel per channel and the sales-cycle curve.

The numbers come from :mod:`salesanalytics.analyses.funnel.model`; this module only draws them (matplotlib,
the house theme of :mod:`salesanalytics.present`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.funnel.model import (
    FUNNELS,
    FunnelAnalysis,
    kaplan_meier,
    workbook_sheets,
)
from salesanalytics.present.i18n import gettext as _

__all__ = ["plot_cycle", "plot_funnel", "write_workbook"]


def plot_funnel(stages: pd.DataFrame, funnel: str, ax: Any = None) -> Any:
    """Horizontal funnel bars (deals reaching each stage) with the stage conversion, per channel.

    Parameters
    ----------
    stages
        ``funnel_stages`` (``funnel, channel, stage_index, stage, reached, conversion``).
    funnel
        ``new_business`` or ``existing``.
    """
    import matplotlib.pyplot as plt

    from salesanalytics.present.style import CHANNEL_COLORS, PALETTE, pct

    s = stages[(stages["funnel"] == funnel) & (stages["channel"] != "all")]
    if ax is None:
        _fig, ax = plt.subplots(figsize=(9, 4))
    chans = [c for c in ("field", "tele", "online", "unknown") if c in set(s["channel"])]
    stage_names = (
        s.drop_duplicates("stage_index").sort_values("stage_index")["stage"].astype(str).tolist()
    )
    y = np.arange(len(stage_names))[::-1]
    h = 0.8 / max(len(chans), 1)
    for j, ch in enumerate(chans):
        g = s[s["channel"] == ch].set_index("stage_index").reindex(range(len(stage_names)))
        share = g["cumulative"].to_numpy(dtype="float64")
        ax.barh(
            y - j * h + 0.4 - h / 2,
            share * 100,
            height=h,
            color=CHANNEL_COLORS.get(ch, PALETTE[7]),
            label=_(ch),
        )
        for yi, (sh, cv) in zip(y, zip(share, g["conversion"], strict=True), strict=True):
            if pd.notna(cv):
                ax.text(sh * 100 + 1, yi - j * h + 0.4 - h / 2, pct(cv, 0), va="center", fontsize=7)
    ax.set_yticks(y, stage_names)
    ax.set_xlabel(_("share of deals reaching the stage (%), label: conversion to the next stage"))
    ax.set_title(
        {
            "new_business": _("New-business funnel by channel"),
            "existing": _("Existing-customer funnel by channel"),
        }.get(funnel, funnel + _(" by channel"))
    )
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return ax


def plot_cycle(progress: pd.DataFrame, ax: Any = None) -> Any:
    """Kaplan–Meier curves: share of deals still open after a number of days, per funnel."""
    import matplotlib.pyplot as plt

    from salesanalytics.present.style import PALETTE

    if ax is None:
        _fig, ax = plt.subplots(figsize=(8, 4))
    for i, f in enumerate(FUNNELS):
        g = progress[progress["funnel"] == f]
        if g.empty:
            continue
        km = kaplan_meier(g["cycle_days"], g["closed"])
        ax.step(km["time"], km["survival"] * 100, where="post", color=PALETTE[i * 3], label=_(f))
    ax.set_xlabel(_("days since the deal was created"))
    ax.set_ylabel(_("deals still open (%)"))
    ax.set_title(_("Sales cycle (Kaplan–Meier, open deals censored)"))
    ax.legend(fontsize=8, frameon=False)
    return ax


def write_workbook(
    path: Any,
    analysis: FunnelAnalysis,
    group_rates: pd.DataFrame | None = None,
    group_stages: pd.DataFrame | None = None,
    names: Mapping[str, str] | None = None,
) -> Any:
    """The funnel workbook laid out for the client.

    The sheets of :func:`~salesanalytics.analyses.funnel.model.workbook_sheets` written by
    :func:`salesanalytics.present.excel.write_workbook`: words as headers, names beside ids
    (``names``: id -> name of reps and accounts), number formats, frozen header row.
    """
    from salesanalytics.present.excel import write_workbook as _write

    return _write(path, workbook_sheets(analysis, group_rates, group_stages), names)
