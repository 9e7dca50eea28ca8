"""Executive summary charts: one small panel per building block, read from a run's tables."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salesanalytics.analyses.summary.model import _read, _try
from salesanalytics.present import style
from salesanalytics.present.i18n import gettext as _

__all__ = ["plot_overview"]


def plot_overview(run_dir: str | os.PathLike[str]) -> Any:
    """One small chart per building block that matters, read from the phases' tables.

    Territory balance (largest deviation today vs the proposal), the channel mix (workload per
    channel today vs proposed: hours add up, accounts served by several channels do not), the headcount (FTE today vs needed per role) and the cost of
    sales (today's vs the proposed pay plan). Panels whose phase did not run are left out.

    Returns
    -------
    matplotlib.figure.Figure or None
        ``None`` when no panel has data.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MultipleLocator, PercentFormatter

    run = Path(run_dir)
    panels: list[Callable[[Any], None]] = []
    pct_axis = PercentFormatter(1.0, decimals=0)
    swiss = FuncFormatter(lambda v, _: style.num(v))

    comp = _try(lambda: _read(run, "territory", "comparison").set_index("scenario"))
    if comp is not None and "proposal" in comp.index:

        def terr(ax: Any) -> None:
            vals = [
                max(comp.iloc[0]["max_dev_potential"], comp.iloc[0]["max_dev_workload"]),
                max(
                    comp.loc["proposal", "max_dev_potential"],
                    comp.loc["proposal", "max_dev_workload"],
                ),
            ]
            ax.bar([_("today"), _("proposal")], vals, color=[style.PALETTE[7], style.PALETTE[0]])
            ax.set_title(_("Territories: largest deviation from target"))
            ax.yaxis.set_major_formatter(pct_axis)

        panels.append(terr)
    cs = _try(lambda: _read(run, "channels", "channel_summary"))
    if cs is not None:

        def chan(ax: Any) -> None:
            # hours, not accounts: an account may be served by several channels (field for
            # the complex groups, tele or online for add-ons), so accounts do not add up
            w = cs.pivot(index="channel", columns="scenario", values="workload_hours")
            w = w.reindex([c for c in ("field", "tele", "online") if c in w.index])
            x = range(len(w))
            ax.bar([i - 0.2 for i in x], w["today"], 0.4, label=_("today"), color=style.PALETTE[7])
            ax.bar(
                [i + 0.2 for i in x],
                w["proposed"],
                0.4,
                label=_("proposed"),
                color=style.PALETTE[0],
            )
            ax.set_xticks(list(x), [style.value_label(c) for c in w.index])
            ax.set_title(_("Channel mix: workload per channel (h per year)"))
            ax.yaxis.set_major_formatter(swiss)
            ax.legend(frameon=False)

        panels.append(chan)
    hc = _try(lambda: _read(run, "roles", "headcount"))
    if hc is not None:

        def roles(ax: Any) -> None:
            h = hc.dropna(subset=["fte_needed"])
            y = range(len(h))
            ax.barh(
                [i + 0.2 for i in y], h["fte_today"], 0.4, label=_("today"), color=style.PALETTE[7]
            )
            ax.barh(
                [i - 0.2 for i in y],
                h["fte_needed"],
                0.4,
                label=_("needed"),
                color=style.PALETTE[0],
            )
            ax.set_yticks(list(y), [_(str(n)).split(" (")[0] for n in h["name"]])
            ax.invert_yaxis()
            ax.set_title(_("Headcount: FTE per role"))
            ax.legend(frameon=False)

        panels.append(roles)
    pc = _try(lambda: _read(run, "compensation", "plan_comparison").set_index("plan"))
    if pc is not None:

        def pay(ax: Any) -> None:
            ax.bar(
                [_("today's plan"), _("proposed plan")],
                [pc.loc["current", "cost_of_sales"], pc.loc["proposed", "cost_of_sales"]],
                color=[style.PALETTE[7], style.PALETTE[0]],
            )
            ax.set_title(_("Pay: cost of sales"))
            ax.yaxis.set_major_locator(MultipleLocator(0.05))
            ax.yaxis.set_major_formatter(pct_axis)

        panels.append(pay)
    if not panels:
        return None
    cols = 2
    rows = (len(panels) + 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(9, 3.0 * rows), squeeze=False)
    for ax, draw in zip(axes.flat, panels, strict=False):
        draw(ax)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
