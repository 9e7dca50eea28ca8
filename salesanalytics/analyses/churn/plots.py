"""Churn charts: Kaplan-Meier curves, hazard ratios, calibration and the sBG projection.

The numbers come from :mod:`salesanalytics.analyses.churn.model`; this module only draws them (matplotlib,
the house theme of :mod:`salesanalytics.present`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.present.i18n import gettext as _

__all__ = ["plot_calibration", "plot_hazard_ratios", "plot_km_curves", "plot_sbg_projection"]


def plot_km_curves(km: pd.DataFrame, title: str = "", ax: Any = None) -> Any:
    """Plot Kaplan–Meier curves with their confidence bands (one line per group).

    Parameters
    ----------
    km
        Output of :func:`km_curves` (``group``, ``time``, ``survival``, ``ci_low``, ``ci_high``).
    title
        Axis title.
    ax
        Matplotlib axes (a new figure if ``None``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots()
    for name, g in km.groupby("group", sort=True):
        (line,) = ax.step(g["time"], g["survival"], where="post", label=_(str(name)))
        ax.fill_between(
            g["time"], g["ci_low"], g["ci_high"], step="post", alpha=0.2, color=line.get_color()
        )
    ax.set_xlabel(_("months since becoming a customer"))
    ax.set_ylabel(_("share still a customer"))
    ax.set_ylim(0, 1.02)
    ax.set_title(_(title) if title else title)
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_hazard_ratios(hazard_ratios: pd.DataFrame, ax: Any = None) -> Any:
    """Forest plot of hazard ratios with confidence intervals (log scale, 1 = no effect).

    Parameters
    ----------
    hazard_ratios
        ``CoxResult.hazard_ratios`` (``term``, ``hazard_ratio``, ``ci_low``, ``ci_high``).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots(figsize=(8, 0.45 * len(hazard_ratios) + 1.2))
    hr = hazard_ratios.iloc[::-1]
    y = np.arange(len(hr))
    err = [hr["hazard_ratio"] - hr["ci_low"], hr["ci_high"] - hr["hazard_ratio"]]
    colors = np.where(hr["hazard_ratio"] > 1, "#c8102e", "#2e8b57")
    ax.errorbar(hr["hazard_ratio"], y, xerr=err, fmt="none", ecolor="#8c8c8c", capsize=3)
    ax.scatter(hr["hazard_ratio"], y, c=colors, zorder=3)
    ax.axvline(1, color="#1f3a5f", lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y, hr["term"])
    ax.set_xlabel(_("hazard ratio (>1 churns faster, <1 churns slower)"))
    ax.set_title(_("What drives churn"))
    return ax


def plot_calibration(calibration: pd.DataFrame, ax: Any = None) -> Any:
    """Predicted against observed churn by decile (output of :func:`calibration_by_decile`)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots()
    x = calibration["decile"].to_numpy()
    ax.bar(x - 0.2, calibration["predicted"], width=0.4, label=_("predicted"), color="#3c7dc4")
    ax.bar(x + 0.2, calibration["observed"], width=0.4, label=_("observed"), color="#e07a1f")
    ax.set_xticks(x)
    ax.set_xlabel(_("risk decile (10 = highest predicted risk)"))
    ax.set_ylabel(_("churn rate in the horizon"))
    ax.set_title(_("Churn-risk score: predicted vs. observed"))
    ax.legend(frameon=False)
    return ax


def plot_sbg_projection(
    projection: pd.DataFrame, observed: pd.DataFrame | None = None, ax: Any = None
) -> Any:
    """Projected cohort survival (sBG) with the observed Kaplan–Meier points per period.

    Parameters
    ----------
    projection
        Output of :func:`sbg_projection` (``period``, ``survival``).
    observed
        Optional ``period``, ``survival`` observed (e.g. :func:`km_curves` on a period grid).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _fig, ax = plt.subplots()
    ax.plot(projection["period"], projection["survival"], marker="o", label=_("projected (sBG)"))
    if observed is not None:
        ax.scatter(
            observed["period"], observed["survival"], color="#e07a1f", zorder=3, label=_("observed")
        )
    ax.set_xlabel(_("period (contract years)"))
    ax.set_ylabel(_("share of a cohort still a customer"))
    ax.set_ylim(0, 1.02)
    ax.set_title(_("Cohort retention projected"))
    ax.legend(frameon=False)
    return ax
