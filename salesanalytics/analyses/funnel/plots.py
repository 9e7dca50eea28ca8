"""Funnel charts: the stage funnel per channel and the sales-cycle curve.

The numbers come from :mod:`salesanalytics.analyses.funnel.model`; this module only draws them (matplotlib,
the house theme of :mod:`salesanalytics.present`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.funnel.model import FUNNELS, kaplan_meier

__all__ = ["plot_cycle", "plot_funnel"]


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
        _, ax = plt.subplots(figsize=(9, 4))
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
            label=ch,
        )
        for yi, (sh, cv) in zip(y, zip(share, g["conversion"], strict=True), strict=True):
            if pd.notna(cv):
                ax.text(sh * 100 + 1, yi - j * h + 0.4 - h / 2, pct(cv, 0), va="center", fontsize=7)
    ax.set_yticks(y, stage_names)
    ax.set_xlabel("share of deals reaching the stage (%), label: conversion to the next stage")
    ax.set_title(
        {"new_business": "New-business funnel", "existing": "Existing-customer funnel"}.get(
            funnel, funnel
        )
        + " by channel"
    )
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return ax


def plot_cycle(progress: pd.DataFrame, ax: Any = None) -> Any:
    """Kaplan–Meier curves: share of deals still open after a number of days, per funnel."""
    import matplotlib.pyplot as plt

    from salesanalytics.present.style import PALETTE

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    for i, f in enumerate(FUNNELS):
        g = progress[progress["funnel"] == f]
        if g.empty:
            continue
        km = kaplan_meier(g["cycle_days"], g["closed"])
        ax.step(km["time"], km["survival"] * 100, where="post", color=PALETTE[i * 3], label=f)
    ax.set_xlabel("days since the deal was created")
    ax.set_ylabel("deals still open (%)")
    ax.set_title("Sales cycle (Kaplan–Meier, open deals censored)")
    ax.legend(fontsize=8, frameon=False)
    return ax
