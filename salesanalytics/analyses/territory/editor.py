"""The territory editor for workshops: moves of postal codes, saved as overrides.

Move postal codes, see balance, contiguity and disruption change at once, undo, and save the moves
as ``territory_overrides.yaml``.

:class:`EditSession` holds the logic (tested);
:func:`salesanalytics.engagement.territory_editor.editor_widget` is its ipywidgets face for
JupyterLab (``notebooks/22_territory_editor.ipynb``). The session starts from a run's territory
plan (the territory phase's ``unit_assignment`` and ``territories``); the balance it shows is
the plan's figures with the moved units' potential and service workload shifted (travel from the
reps' bases is recomputed by the next run, which designs the plan around the locked units).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salesanalytics.analyses.territory.metrics import count_pieces
from salesanalytics.analyses.territory.overrides import (
    Override,
    load_overrides,
    save_overrides,
    today,
)
from salesanalytics.analyses.territory.plan import METRICS

__all__ = ["EditSession", "Move", "postal_code_graph"]


@dataclass(frozen=True)
class Move:
    """One move of the session: a postal code (or unit) from one territory to another."""

    unit: str
    from_territory: str
    to_territory: str


class EditSession:
    """Moves on a territory plan, with their effect on balance, contiguity and disruption.

    Parameters
    ----------
    units
        The territory phase's ``unit_assignment``: ``unit_id``, ``postal_code``, ``place``,
        ``territory_id``, ``potential_mrr``, ``workload_hours``, ``current_mrr``,
        ``n_customers``, ``current`` (today's rep).
    territories
        The phase's ``territories``: ``territory_id``, ``rep_id``, ``rep_name``,
        ``potential_mrr``, ``workload_hours`` and ``target_<metric>`` per metric.
    edges
        Neighbour pairs of postal codes (first two columns): the plan's postal-code graph
        (``TerritoryInputs.postal_edges``, or :func:`postal_code_graph`).
    overrides
        Moves saved earlier (:func:`~salesanalytics.analyses.territory.overrides.load_overrides`),
        kept in the file when the session saves.

    Raises
    ------
    KeyError
        If a table lacks a required column.
    """

    def __init__(
        self,
        units: pd.DataFrame,
        territories: pd.DataFrame,
        edges: pd.DataFrame,
        overrides: Sequence[Override] = (),
    ) -> None:
        need_u = ["unit_id", "postal_code", "territory_id", *METRICS, "current_mrr", "current"]
        need_t = ["territory_id", "rep_id", "rep_name", *METRICS]
        for name, df, cols in (("units", units, need_u), ("territories", territories, need_t)):
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise KeyError(
                    f"table '{name}' lacks column(s) {missing}; it has {list(df.columns)}"
                )
        t = territories[territories["territory_id"].astype(str).str.match(r"^T\d+$")].copy()
        t["territory_id"] = t["territory_id"].astype(str)
        self.territories = t.drop_duplicates("territory_id").set_index("territory_id")
        u = units.copy()
        u["unit_id"] = u["unit_id"].astype(str)
        u["postal_code"] = u["postal_code"].astype(str)
        u["territory_id"] = u["territory_id"].astype("string").fillna("").astype(str)
        self.units = u
        self.start = u["territory_id"].copy()
        self.edges = edges
        self.earlier = list(overrides)
        self.moves: list[Move] = []
        self._pc_edges = edges.iloc[:, :2].astype(str)

    # ---------------------------------------------------------------- state
    def territory_ids(self) -> list[str]:
        """The plan's field territories."""
        return sorted(self.territories.index)

    def territory_label(self, tid: str) -> str:
        """``T05 · Anna Muster`` (or the id for a vacancy)."""
        name = self.territories["rep_name"].get(tid)
        return f"{tid} · {name}" if isinstance(name, str) and name else tid

    def postal_codes(self) -> pd.DataFrame:
        """List the postal codes that can be moved.

        Columns ``postal_code``, ``place``, ``territory_id`` (the one holding most of its
        potential), ``potential_mrr``.
        """
        u = self.units
        g = u.groupby("postal_code", as_index=False).agg(
            place=("place", "first") if "place" in u else ("postal_code", "first"),
            potential_mrr=("potential_mrr", "sum"),
        )
        main = (
            u.sort_values("potential_mrr", ascending=False)
            .drop_duplicates("postal_code")
            .set_index("postal_code")["territory_id"]
        )
        g["territory_id"] = g["postal_code"].map(main)
        return g[g["territory_id"].isin(self.territories.index)].reset_index(drop=True)

    def _rows(self, unit: str) -> np.ndarray:
        hit = self.units["unit_id"].to_numpy() == unit
        return hit if hit.any() else self.units["postal_code"].to_numpy() == unit

    # ---------------------------------------------------------------- edits
    def move(self, unit: str, territory: str) -> Move:
        """Move a postal code (all its units) or a unit to ``territory``.

        Raises
        ------
        ValueError
            If the unit or the territory is unknown, or the unit is already there.
        """
        unit = str(unit).strip()
        rows = self._rows(unit)
        if not rows.any():
            raise ValueError(f"postal code or unit {unit!r} is not in the plan")
        if territory not in self.territories.index:
            raise ValueError(
                f"territory {territory!r} is not in the plan; choose one of "
                f"{', '.join(self.territory_ids())}"
            )
        current = self.units.loc[rows, "territory_id"]
        src = current.mode().iloc[0]
        if (current == territory).all():
            raise ValueError(f"{unit} is already in {self.territory_label(territory)}")
        self.units.loc[rows, "territory_id"] = territory
        mv = Move(unit, src, territory)
        self.moves.append(mv)
        return mv

    def undo(self) -> Move | None:
        """Take back the last move (``None`` when there is none)."""
        if not self.moves:
            return None
        mv = self.moves.pop()
        rows = self._rows(mv.unit)
        self.units.loc[rows, "territory_id"] = self.start[rows].to_numpy()
        for earlier in self.moves:  # an earlier move of the same unit still holds
            if earlier.unit == mv.unit:
                self.units.loc[rows, "territory_id"] = earlier.to_territory
        return mv

    # ---------------------------------------------------------------- figures
    def balance(self) -> pd.DataFrame:
        """Tabulate the balance per territory, now and against the plan.

        Potential and workload now, their targets and deviations, and the change against the plan
        (``delta_<metric>``).
        """
        t = self.territories
        out = pd.DataFrame(index=t.index)
        out["rep_name"] = t["rep_name"]
        for m in METRICS:
            start = self.units.groupby(self.start)[m].sum()
            now = self.units.groupby("territory_id")[m].sum()
            delta = now.reindex(t.index, fill_value=0.0) - start.reindex(t.index, fill_value=0.0)
            out[m] = t[m].astype(float) + delta
            out[f"delta_{m}"] = delta
            if f"target_{m}" in t:
                out[f"target_{m}"] = t[f"target_{m}"].astype(float)
                out[f"dev_{m}"] = out[m] / out[f"target_{m}"] - 1
        return out.reset_index()

    def max_deviation(self) -> dict[str, float]:
        """Largest absolute deviation from target per metric."""
        b = self.balance()
        return {m: float(b[f"dev_{m}"].abs().max()) for m in METRICS if f"dev_{m}" in b}

    def _pieces(self, terr: pd.Series) -> pd.Series:
        main = (
            self.units.assign(_t=terr.to_numpy(), _w=self.units["potential_mrr"] + 1e-9)
            .sort_values(["_w", "unit_id"], ascending=[False, True])
            .drop_duplicates("postal_code")
        )
        pieces = count_pieces(main["postal_code"], main["_t"], self._pc_edges)
        return pieces.reindex(self.territory_ids()).fillna(0).astype(int)

    def contiguity(self) -> pd.DataFrame:
        """Count the connected pieces per territory, in the plan and now.

        Pieces on the postal-code neighbour graph (each postal code in the territory holding most of
        its potential): a move that raises a territory's pieces splits it. (A plan's territories can
        have several pieces at this level when large postal codes are shared between territories as
        account groups.)
        """
        return pd.DataFrame(
            {
                "territory_id": self.territory_ids(),
                "pieces_plan": self._pieces(self.start).to_numpy(),
                "pieces": self._pieces(self.units["territory_id"]).to_numpy(),
            }
        )

    def disruption(self) -> dict[str, float]:
        """Count what changes rep against today, now and in the plan.

        Accounts, customers and monthly revenue, now (``*_now``) and in the plan (``*_plan``).
        """
        rep = self.territories["rep_id"].astype(str)
        cur = self.units["current"].astype("string")
        out = {}
        for label, terr in (("plan", self.start), ("now", self.units["territory_id"])):
            new_rep = terr.map(rep).astype("string")
            changed = (cur.notna() & (new_rep != cur)).fillna(False).to_numpy(dtype=bool)
            cust = (
                self.units["n_customers"].to_numpy(dtype=float)
                if "n_customers" in self.units
                else np.zeros(len(changed))
            )
            out[f"customers_changing_{label}"] = float(cust[changed].sum())
            acc = (
                self.units["n_accounts"].to_numpy(dtype=float)
                if "n_accounts" in self.units
                else np.zeros(len(changed))
            )
            out[f"accounts_changing_{label}"] = float(acc[changed].sum())
            out[f"mrr_changing_{label}"] = float(
                self.units["current_mrr"].to_numpy(dtype=float)[changed].sum()
            )
        return out

    # ---------------------------------------------------------------- saving
    def overrides(self, who: str, why: str) -> list[Override]:
        """Collect the session's net moves and the earlier overrides.

        A unit moved back to where it started drops out; earlier overrides not touched in this
        session are kept.

        Raises
        ------
        ValueError
            If ``who`` or ``why`` is empty (every manual change names who made it and why).
        """
        if not who.strip() or not why.strip():
            raise ValueError("say who makes the change and why (both are saved with it)")
        net: dict[str, Move] = {}
        for mv in self.moves:
            first = net.get(mv.unit)
            net[mv.unit] = Move(
                mv.unit, first.from_territory if first else mv.from_territory, mv.to_territory
            )
        out = [o for o in self.earlier if o.unit not in net]
        t = self.territories
        for mv in net.values():
            if mv.from_territory == mv.to_territory:
                continue
            out.append(
                Override(
                    unit=mv.unit,
                    territory=mv.to_territory,
                    rep_id=str(t.at[mv.to_territory, "rep_id"]),
                    rep=str(t.at[mv.to_territory, "rep_name"]),
                    from_territory=mv.from_territory,
                    from_rep_id=str(t["rep_id"].get(mv.from_territory, "")),
                    who=who.strip(),
                    why=why.strip(),
                    date=today(),
                )
            )
        return out

    def save(self, path: str | os.PathLike[str], who: str, why: str) -> Path:
        """Write the overrides file (see :meth:`overrides`)."""
        return save_overrides(path, self.overrides(who, why))

    @classmethod
    def from_run(
        cls, run_dir: str | os.PathLike[str], overrides_path: str | os.PathLike[str] | None = None
    ) -> EditSession:
        """Open a session on a run's territory plan (``data/territory``).

        The earlier overrides of ``overrides_path`` are read when that file exists.
        """
        d = Path(run_dir) / "data" / "territory"
        units = pd.read_parquet(d / "unit_assignment.parquet")
        terr = pd.read_parquet(d / "territories.parquet")
        earlier = (
            load_overrides(overrides_path)
            if overrides_path is not None and Path(overrides_path).is_file()
            else []
        )
        return cls(units, terr, postal_code_graph(units), earlier)


def postal_code_graph(units: pd.DataFrame) -> pd.DataFrame:
    """Build the postal-code neighbour graph of a plan's units, as the territory design does.

    Polygon neighbours, codes without a polygon attached to their host, islands bridged.

    Parameters
    ----------
    units
        ``unit_assignment``: ``postal_code``, ``latitude``, ``longitude``.
    """
    from salesanalytics.analyses.territory.graph import build_unit_graph, planar_km
    from salesanalytics.reference import geo

    pcs = units.drop_duplicates("postal_code")
    ids = pcs["postal_code"].astype(str).to_numpy()
    lat = pcs["latitude"].to_numpy(dtype=float)
    lon = pcs["longitude"].to_numpy(dtype=float)
    poly = geo.postal_code_neighbours(pd.Series(ids), lat, lon)
    edges = build_unit_graph(ids, planar_km(lat, lon), poly).edge_frame(ids)
    edges.columns = ["postal_code_a", "postal_code_b"]
    return edges
