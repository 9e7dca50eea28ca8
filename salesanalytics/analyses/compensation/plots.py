"""Compensation charts and widgets: the payout simulation and the lever widget.

The numbers come from :mod:`salesanalytics.analyses.compensation.simulation`; this module only draws them (matplotlib,
the house theme of :mod:`salesanalytics.present`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.compensation.plan import Plan
from salesanalytics.analyses.compensation.simulation import (
    WHAT_IF_SCENARIOS,
    Calibration,
    SimulationResult,
    gini,
    lorenz,
    plan_levers,
    simulate,
    simulation_summary,
    summary_display,
    with_levers,
)
from salesanalytics.present import style
from salesanalytics.present.i18n import gettext as _

__all__ = ["lever_widget", "plot_simulation"]


def plot_simulation(sims: dict[str, SimulationResult], bins: int = 80) -> Any:
    """Plan cost and spread of pay.

    Histograms of the simulated yearly incentive cost of every plan (common bins, CHF Mio.) and the
    Lorenz curve of every plan's expected pay per rep with its Gini coefficient.

    Parameters
    ----------
    sims
        Simulation results by plan label (:func:`~salesanalytics.analyses.compensation.simulate_plans`);
        uses ``cost`` (per simulated year) and ``pay`` (year x rep).
    bins
        Number of histogram bins.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels; shown by the notebook (``plt.show()``).
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    edges = np.histogram_bin_edges(np.concatenate([r.cost for r in sims.values()]) / 1e6, bins=bins)
    colors = [c["color"] for c in mpl.rcParams["axes.prop_cycle"]]
    edge = mpl.rcParams["patch.edgecolor"] if mpl.rcParams["patch.force_edgecolor"] else "none"
    for i, (label, res) in enumerate(sims.items()):
        counts, _edges = np.histogram(res.cost / 1e6, bins=edges)
        # the bars of Axes.hist as one collection: looks the same, draws several times faster
        bars = PolyCollection(
            [
                [(a, 0), (a, h), (b, h), (b, 0)]
                for a, b, h in zip(edges[:-1], edges[1:], counts, strict=True)
            ],
            facecolors=colors[i % len(colors)],
            edgecolors=edge,
            linewidths=mpl.rcParams["patch.linewidth"],
            alpha=0.6,
            label=_(label),
        )
        bars.sticky_edges.y.append(0)
        axes[0].add_collection(bars)
        expected = res.pay.mean(axis=0)
        lc = lorenz(expected)
        axes[1].plot(
            lc["rep_share"],
            lc["pay_share"],
            label=f"{_(label)} (Gini {style.num(gini(expected), 2)})",
        )
    axes[0].autoscale_view()
    axes[0].set(
        xlabel=_("Incentive cost per simulated year ({currency} Mio.)").format(
            currency=style.currency()
        ),
        ylabel=_("Years"),
        title=_("Plan cost"),
    )
    axes[1].plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    axes[1].set(
        xlabel=_("Share of reps"),
        ylabel=_("Share of incentive"),
        title=_("Lorenz curve of expected pay"),
    )
    axes[0].legend()
    axes[1].legend()
    return fig


def lever_widget(
    plan: Plan,
    reps: pd.DataFrame,
    cal: Calibration,
    n_scenarios: int = WHAT_IF_SCENARIOS,
    seed: int = 42,
    quotas: pd.DataFrame | None = None,
) -> Any:
    """An ipywidgets panel to move threshold, accelerator, plan cap and pay mix interactively.

    The sliders start at the plan's own values (:func:`plan_levers`) and the plan is simulated as
    it is until a slider moves: untouched, the panel shows the same figures as the "as it is" row
    of :func:`scenario_table` with the same ``n_scenarios`` and ``seed``. A moved slider sets that
    lever for every measure and role (:func:`with_levers`); moving it back restores the plan's own
    values. The table shows the plan and the what-if side by side.

    The table is an ``HTML`` widget updated by slider observers (no ``Output`` widget and no
    ``display`` inside callbacks), so a headless run (papermill, the pipeline) only records the
    widget's initial state; the client report relies on static scenario tables instead. Returns
    ``None`` when ipywidgets is not installed.
    """
    try:
        import ipywidgets as w
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        return None
    from salesanalytics.present import style

    start = plan_levers(plan)
    ranges = {
        "threshold": (0.0, 1.0, 0.05, "Threshold"),
        "accelerator": (0.5, 4.0, 0.1, "Accelerator"),
        "plan_cap": (1.0, 4.0, 0.1, "Plan cap"),
        "target_incentive_scale": (0.5, 1.5, 0.05, "Target x"),
    }
    sliders = {
        k: w.FloatSlider(
            value=min(max(start[k], lo), hi), min=lo, max=hi, step=step, description=label
        )
        for k, (lo, hi, step, label) in ranges.items()
    }
    initial = {k: float(sl.value) for k, sl in sliders.items()}

    def _summary(levers: dict[str, float]) -> pd.DataFrame:
        res = simulate(
            with_levers(plan, **levers),
            reps,
            cal,
            n_scenarios=n_scenarios,
            seed=seed,
            quotas=quotas,
        )
        return simulation_summary(res, "what-if")

    base = _summary({})

    def _html() -> str:
        moved = {k: float(sl.value) for k, sl in sliders.items() if sl.value != initial[k]}
        what_if = _summary(moved) if moved else base
        both = pd.concat([base.assign(scenario="plan as it is"), what_if], ignore_index=True)
        return style.table(summary_display(both)).to_html()

    out = w.HTML(value=_html())

    def _update(_change: Any) -> None:
        out.value = _html()

    for sl in sliders.values():
        sl.observe(_update, names="value")
    return w.VBox([*sliders.values(), out])
