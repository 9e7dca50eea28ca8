"""The territory editor in JupyterLab (ipywidgets).

The face of :class:`salesanalytics.analyses.territory.editor.EditSession` for the workshop notebook
``notebooks/22_territory_editor.ipynb``.
"""

from __future__ import annotations

import html
import os
from typing import Any

import pandas as pd

from salesanalytics.analyses.territory.editor import EditSession
from salesanalytics.present.i18n import gettext as _

__all__ = ["editor_widget"]


def editor_widget(session: EditSession, path: str | os.PathLike[str]) -> Any:
    """The editor in JupyterLab: pick a postal code, pick its new territory, move, undo, save.

    The balance table, contiguity and disruption figures update after every move; the map
    shows the current territories. ``path`` is the overrides file written by *Save*.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    from salesanalytics.present import maps, style

    pcs = session.postal_codes()
    options = [
        (f"{r.postal_code} {r.place} ({r.territory_id})", r.postal_code) for r in pcs.itertuples()
    ]
    unit = w.Combobox(
        placeholder=_("postal code or place"),
        options=[o[0] for o in options],
        description=_("Postal code"),
        ensure_option=True,
    )
    by_label = dict(options)
    target = w.Dropdown(
        options=[(session.territory_label(t), t) for t in session.territory_ids()],
        description=_("Move to"),
    )
    move_b = w.Button(description=_("Move"), button_style="primary")
    undo_b = w.Button(description=_("Undo"))
    who = w.Text(description=_("Who"))
    why = w.Text(description=_("Why"), layout=w.Layout(width="480px"))
    save_b = w.Button(description=_("Save manual changes"), button_style="success")
    msg = w.HTML()
    figures = w.Output()
    mapout = w.Output()

    def refresh() -> None:
        b = session.balance()
        pieces = session.contiguity()
        moved = sorted({m.unit for m in session.moves})
        figures.clear_output(wait=True)
        with figures:
            display(
                style.table(
                    b[b["delta_potential_mrr"].abs().gt(0) | b["delta_workload_hours"].abs().gt(0)]
                    if moved
                    else b,
                    formats={c: "pct" for c in b.columns if c.startswith("dev_")}
                    | {c: "chf" for c in b.columns if "potential" in c and not c.startswith("dev_")}
                    | {c: "num" for c in b.columns if "workload" in c and not c.startswith("dev_")},
                    caption=_("Territories changed by the moves") if moved else _("Territories"),
                    max_rows=80,
                )
            )
            display(HTML(_summary(session, pieces)))
        mapout.clear_output(wait=True)
        with mapout:
            main = (
                session.units.sort_values("potential_mrr", ascending=False)
                .drop_duplicates("postal_code")
                .set_index("postal_code")["territory_id"]
            )
            fig, ax = plt.subplots(figsize=(9, 5.8))
            maps.territory_map(
                main,
                _("Territories with the moves"),
                labels={t: t for t in session.territory_ids()},
                ax=ax,
            )
            plt.show()

    def on_move(_event: Any) -> None:
        try:
            mv = session.move(by_label.get(unit.value, unit.value), target.value)
            msg.value = html.escape(
                _("Moved {unit} from {source} to {target}.").format(
                    unit=mv.unit, source=mv.from_territory, target=mv.to_territory
                )
            )
        except ValueError as exc:
            msg.value = "<b>" + html.escape(_("Not moved:")) + "</b> " + html.escape(str(exc))
        refresh()

    def on_undo(_event: Any) -> None:
        mv = session.undo()
        msg.value = html.escape(
            _("Undone: {unit} back to {source}.").format(unit=mv.unit, source=mv.from_territory)
            if mv
            else _("Nothing to undo.")
        )
        refresh()

    def on_save(_event: Any) -> None:
        try:
            p = session.save(path, who.value, why.value)
            msg.value = html.escape(
                _("Saved {n} manual change(s) to {file}; the next run keeps them.").format(
                    n=len(session.overrides(who.value, why.value)), file=p.name
                )
            )
        except ValueError as exc:
            msg.value = "<b>" + html.escape(_("Not saved:")) + "</b> " + html.escape(str(exc))

    move_b.on_click(on_move)
    undo_b.on_click(on_undo)
    save_b.on_click(on_save)
    refresh()
    return w.VBox(
        [
            w.HBox([unit, target, move_b, undo_b]),
            w.HBox([who, why, save_b]),
            msg,
            figures,
            mapout,
        ]
    )


def _summary(session: EditSession, pieces: pd.DataFrame) -> str:
    """Largest deviation, territories split by the moves and who changes rep, as HTML lines."""
    from salesanalytics.present import style

    dis = session.disruption()
    dev = session.max_deviation()
    split = pieces[pieces["pieces"] > pieces["pieces_plan"]]
    lines = [
        _("Largest deviation from target: potential {potential}, workload {workload}.").format(
            potential=style.pct(dev.get("potential_mrr", 0.0)),
            workload=style.pct(dev.get("workload_hours", 0.0)),
        ),
        _("No territory is split by the moves.")
        if split.empty
        else _("Split by the moves: {territories}").format(
            territories=", ".join(
                _("{territory} ({n} pieces)").format(territory=r.territory_id, n=r.pieces)
                for r in split.itertuples()
            )
        ),
        _(
            "Accounts changing rep: {accounts} (plan: {accounts_plan}); customers {customers} "
            "(plan: {customers_plan}); their monthly revenue {mrr} (plan: {mrr_plan})."
        ).format(
            accounts=style.num(dis["accounts_changing_now"]),
            accounts_plan=style.num(dis["accounts_changing_plan"]),
            customers=style.num(dis["customers_changing_now"]),
            customers_plan=style.num(dis["customers_changing_plan"]),
            mrr=style.chf(dis["mrr_changing_now"]),
            mrr_plan=style.chf(dis["mrr_changing_plan"]),
        ),
    ]
    return "<br>".join(html.escape(line) for line in lines)
