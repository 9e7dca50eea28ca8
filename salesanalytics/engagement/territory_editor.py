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

__all__ = ["editor_widget"]


def editor_widget(session: EditSession, path: str | os.PathLike[str]) -> Any:
    """The editor in JupyterLab: pick a postal code, pick its new territory, move, undo, save.

    The balance table, contiguity and disruption figures update after every move; the map
    shows the current territories. ``path`` is the overrides file written by *Save*.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    from salesanalytics.present import maps, style

    pcs = session.postal_codes()
    options = [
        (f"{r.postal_code} {r.place} ({r.territory_id})", r.postal_code) for r in pcs.itertuples()
    ]
    unit = w.Combobox(
        placeholder="postal code or place",
        options=[o[0] for o in options],
        description="Postal code",
        ensure_option=True,
    )
    by_label = dict(options)
    target = w.Dropdown(
        options=[(session.territory_label(t), t) for t in session.territory_ids()],
        description="Move to",
    )
    move_b = w.Button(description="Move", button_style="primary")
    undo_b = w.Button(description="Undo")
    who = w.Text(description="Who")
    why = w.Text(description="Why", layout=w.Layout(width="480px"))
    save_b = w.Button(description="Save overrides", button_style="success")
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
                    caption="Territories changed by the moves" if moved else "Territories",
                    max_rows=80,
                )
            )
            print(_summary(session, pieces))
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
                "Territories with the moves",
                labels={t: t for t in session.territory_ids()},
                ax=ax,
            )
            plt.show()

    def on_move(_: Any) -> None:
        try:
            mv = session.move(by_label.get(unit.value, unit.value), target.value)
            msg.value = f"Moved {mv.unit} from {mv.from_territory} to {mv.to_territory}."
        except ValueError as exc:
            msg.value = f"<b>Not moved:</b> {html.escape(str(exc))}"
        refresh()

    def on_undo(_: Any) -> None:
        mv = session.undo()
        msg.value = f"Undone: {mv.unit} back to {mv.from_territory}." if mv else "Nothing to undo."
        refresh()

    def on_save(_: Any) -> None:
        try:
            p = session.save(path, who.value, why.value)
            msg.value = f"Saved {len(session.overrides(who.value, why.value))} manual change(s) to {p.name}; the next run keeps them."
        except ValueError as exc:
            msg.value = f"<b>Not saved:</b> {html.escape(str(exc))}"

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
    """Largest deviation, territories split by the moves and who changes rep, in words."""
    from salesanalytics.present import style

    dis = session.disruption()
    dev = session.max_deviation()
    split = pieces[pieces["pieces"] > pieces["pieces_plan"]]
    return (
        f"Largest deviation from target: potential {dev.get('potential_mrr', 0):.1%}, "
        f"workload {dev.get('workload_hours', 0):.1%}.\n"
        + (
            "No territory is split by the moves."
            if split.empty
            else "Split by the moves: "
            + ", ".join(f"{r.territory_id} ({r.pieces} pieces)" for r in split.itertuples())
        )
        + f"\nAccounts changing rep: {style.num(dis['accounts_changing_now'])} "
        f"(plan: {style.num(dis['accounts_changing_plan'])}); customers "
        f"{style.num(dis['customers_changing_now'])} "
        f"(plan: {style.num(dis['customers_changing_plan'])}); their monthly revenue "
        f"{style.chf(dis['mrr_changing_now'])} (plan: {style.chf(dis['mrr_changing_plan'])})."
    )
