"""Territory charts and the notebook's what-if widget.

The numbers come from the territory model (:mod:`~salesanalytics.analyses.territory.plan`,
:mod:`~salesanalytics.analyses.territory.report` for tables and text); this module only draws
them (matplotlib, the house palette and maps of :mod:`salesanalytics.present`).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from salesanalytics.analyses.territory.plan import TerritoryInputs, run_scenario
from salesanalytics.present.i18n import gettext as _
from salesanalytics.present.style import PALETTE, plain

__all__ = ["plot_pareto", "scenario_widget"]


def plot_pareto(front: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Scatter of compactness (km) against revenue changing rep, one point per continuity weight."""
    if ax is None:
        _fig, ax = plt.subplots(figsize=(7, 4))
    opt = front["pareto_optimal"].to_numpy(dtype=bool)
    ax.scatter(
        front["revenue_changing_rep"] * 100,
        front["compactness_km"],
        c=[PALETTE[3] if o else PALETTE[7] for o in opt],
        s=50,
        zorder=3,
    )
    for _i, r in front.iterrows():
        ax.annotate(
            _("weight {weight}").format(weight=plain(r["continuity_weight"])),
            (r["revenue_changing_rep"] * 100, r["compactness_km"]),
            textcoords="offset points",
            xytext=(5, 5),
            fontsize=8,
        )
    f = front[opt].sort_values("revenue_changing_rep")
    ax.plot(f["revenue_changing_rep"] * 100, f["compactness_km"], color=PALETTE[3], lw=1)
    ax.set_xlabel(_("monthly revenue changing rep (%)"))
    ax.set_ylabel(_("mean distance to territory centre (km)"))
    ax.set_title(_("Compactness against disruption"))
    return ax


def scenario_widget(inputs: TerritoryInputs, **kwargs: Any) -> Any:
    """Sliders for tolerance and number of territories that re-run the optimiser (JupyterLab).

    Headless (papermill / nbconvert) nothing is computed until a button is pressed, so the report
    renders without it; ``kwargs`` are passed to :func:`run_scenario`.
    """
    import ipywidgets as w
    from IPython.display import display

    from salesanalytics.present import maps, style

    n0 = len(inputs.field_reps)
    tol = w.FloatSlider(
        value=kwargs.pop("tolerance", 0.05),
        min=0.01,
        max=0.2,
        step=0.01,
        description="tolerance",
        readout_format=".0%",
    )
    n = w.IntSlider(value=n0, min=max(1, n0 - 15), max=n0 + 15, description="territories")
    button = w.Button(description="Run optimiser")
    out = w.Output()

    def run(_: Any) -> None:
        with out:
            out.clear_output()
            p = run_scenario(inputs, n.value, tolerance=tol.value, **kwargs)
            maps.territory_map(p.postal_territory(), p.name, edges=inputs.postal_edges)
            plt.show()
            display(style.table(pd.DataFrame([p.quality]), caption="Plan figures"))

    button.on_click(run)
    return w.VBox([w.HBox([tol, n, button]), out])
