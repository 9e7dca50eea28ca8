"""The aggregations by name: what the phases ask the aggregation layer for.

:data:`AGGREGATES` names every aggregation of :mod:`salesanalytics.aggregate.expressions` with the
tables it reads, its grouping keys and its id columns; :class:`Aggregator` computes them on the
engine of a run (DuckDB or Spark) and returns pandas frames with the same dtypes and row order on
either engine.

Example
-------
>>> agg = Aggregator("reports/demo/latest/data/intake", as_of="2025-12-31")  # doctest: +SKIP
>>> effort = agg.frame("field_effort")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from salesanalytics.aggregate import expressions as ex
from salesanalytics.aggregate.engine import EngineSettings, TableSet, execute, open_tables

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd
    from ibis.backends import BaseBackend

__all__ = ["AGGREGATES", "Aggregate", "Aggregator"]

Builder = Callable[..., "ir.Table"]
"""``(tables, as_of, **options) -> Ibis expression``."""


@dataclass(frozen=True)
class Aggregate:
    """One named aggregation.

    Attributes
    ----------
    build
        ``(tables, as_of) -> Ibis expression``.
    tables
        Canonical tables it reads.
    keys
        Its grouping keys (the rows are sorted by them).
    strings
        Its id and code columns (pandas ``string`` dtype).
    description
        One line for the documentation.
    options
        Keyword options of ``build`` (e.g. ``orders``, a funnel's stage order).
    """

    build: Builder
    tables: tuple[str, ...]
    keys: tuple[str, ...]
    strings: tuple[str, ...]
    description: str
    options: tuple[str, ...] = ()


def _as_of(value: dt.date | str | None) -> dt.date | str:
    if value is None:
        raise ValueError("this aggregation needs the export's reference date (as_of)")
    return value


AGGREGATES: dict[str, Aggregate] = {
    "activity_span": Aggregate(
        lambda t, _: ex.activity_span(t["activities"]),
        ("activities",),
        (),
        (),
        "activity log: rows, rows without account, first and last date",
    ),
    "field_effort": Aggregate(
        lambda t, _: ex.account_effort(t["activities"], channel="field"),
        ("activities",),
        ("account_id", "channel"),
        ("account_id", "channel"),
        "field activities, minutes and visits per account (whole log; territory norms)",
    ),
    "account_effort": Aggregate(
        lambda t, _, start=None, end=None: ex.account_effort(t["activities"], None, start, end),
        ("activities",),
        ("account_id", "channel"),
        ("account_id", "channel"),
        "activities, minutes and visits per account and channel (whole log or a window)",
        ("start", "end"),
    ),
    "visit_routes": Aggregate(
        lambda t, _, start=None, end=None: ex.visit_routes(t["activities"], start, end),
        ("activities",),
        ("account_id", "rep_id", "channel"),
        ("account_id", "rep_id", "channel"),
        "visits per account, rep and channel, whole log and window (channel travel cost)",
        ("start", "end"),
    ),
    "type_effort": Aggregate(
        lambda t, _, start=None, end=None: ex.type_effort(t["activities"], start, end),
        ("activities",),
        ("channel", "type"),
        ("channel", "type"),
        "activities and minutes per channel and type, whole log and window (channel costing)",
        ("start", "end"),
    ),
    "contacted_accounts": Aggregate(
        lambda t, _, start=None, end=None, call_minutes=5.0: ex.contacted_accounts(
            t["activities"], start, end, call_minutes
        ),
        ("activities",),
        ("account_id",),
        ("account_id",),
        "accounts with a qualified contact in a period (compensation's contact quality)",
        ("start", "end", "call_minutes"),
    ),
    "rep_workload": Aggregate(
        lambda t, _: ex.rep_workload(t["activities"]),
        ("activities",),
        ("rep_id", "channel", "month"),
        ("rep_id", "channel"),
        "activities, minutes, visits and accounts per rep, channel and month",
    ),
    "rep_activity": Aggregate(
        lambda t, _: ex.rep_activity(t["activities"]),
        ("activities",),
        ("rep_id", "date", "type"),
        ("rep_id", "type"),
        "activities and minutes per rep, date and type (controlling measures and trend)",
    ),
    "deal_outcomes": Aggregate(
        lambda t, _: ex.deal_outcomes(t["opportunities"]),
        ("opportunities",),
        ("owner_id", "type", "channel"),
        ("owner_id", "type", "channel"),
        "deals won, lost, open and their amounts per owner, funnel and channel",
    ),
    "stage_reach": Aggregate(
        lambda t, _: ex.stage_reach(t["opportunities"], t["opportunity_stages"]),
        ("opportunities", "opportunity_stages"),
        ("type", "stage"),
        ("type", "stage"),
        "deals that reached each stage of each funnel (stage history)",
    ),
    "stage_history_rows": Aggregate(
        lambda t, _: ex.stage_history_rows(t["opportunity_stages"]),
        ("opportunity_stages",),
        (),
        (),
        "stage history: rows",
    ),
    "stage_entries": Aggregate(
        lambda t, _: ex.stage_entries(t["opportunities"], t["opportunity_stages"]),
        ("opportunities", "opportunity_stages"),
        ("funnel", "stage", "days"),
        ("funnel", "stage"),
        "entries into each stage per funnel and day of the deal's life (stage orders)",
    ),
    "deal_stage_path": Aggregate(
        lambda t, _, orders=None: ex.deal_stage_path(
            t["opportunities"], t["opportunity_stages"], orders
        ),
        ("opportunities", "opportunity_stages"),
        ("opportunity_id",),
        ("opportunity_id",),
        "per deal: furthest open stage of its history, entry into its current stage",
        ("orders",),
    ),
    "stage_stays": Aggregate(
        lambda t, as_of, orders=None: ex.stage_stays(
            t["opportunities"], t["opportunity_stages"], _as_of(as_of), orders
        ),
        ("opportunities", "opportunity_stages"),
        ("funnel", "stage_index", "stage", "next_stage", "left", "days"),
        ("funnel", "stage", "next_stage", "first_opportunity"),
        "stays in each open stage by length and next stage (time in stage, transitions)",
        ("orders",),
    ),
    "stage_outcomes": Aggregate(
        lambda t, _, orders=None: ex.stage_outcomes(
            t["opportunities"], t["opportunity_stages"], orders
        ),
        ("opportunities", "opportunity_stages"),
        ("funnel", "stage_index"),
        ("funnel",),
        "closed and won deals that were ever in each open stage",
        ("orders",),
    ),
    "account_mrr": Aggregate(
        lambda t, as_of: ex.account_mrr(t["contracts"], _as_of(as_of)),
        ("contracts",),
        ("account_id",),
        ("account_id",),
        "MRR, products and contracts per account at the reference date",
    ),
    "white_space": Aggregate(
        lambda t, as_of: ex.white_space(
            t["contracts"], t["opportunities"], t["products"], _as_of(as_of)
        ),
        ("contracts", "opportunities", "products"),
        ("account_id", "product_group"),
        ("account_id", "product_group"),
        "MRR today and won deals per account and product group",
    ),
}
"""Every aggregation of the layer, by name."""


class Aggregator:
    """Compute named aggregations of a folder of canonical tables on an engine.

    Parameters
    ----------
    folder
        The intake's folder of canonical Parquet tables (``<run>/data/intake``).
    settings
        Engine settings (default: DuckDB embedded).
    as_of
        The export's reference date (for the aggregations at a date).
    con
        An open Ibis connection to reuse (tests share one Spark session).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        settings: EngineSettings | None = None,
        as_of: dt.date | str | None = None,
        con: BaseBackend | None = None,
    ) -> None:
        self.folder = folder
        self.settings = settings or EngineSettings()
        self.as_of = as_of
        self._con = con
        self._tables: TableSet | None = None

    @property
    def tables(self) -> TableSet:
        """The canonical tables opened on the engine (opened on first use)."""
        if self._tables is None:
            self._tables = open_tables(self.folder, self.settings, con=self._con)
        return self._tables

    def expression(self, name: str, **options: object) -> ir.Table:
        """The Ibis expression of aggregation ``name`` with its ``options`` (not executed)."""
        if name not in AGGREGATES:
            raise KeyError(f"unknown aggregation '{name}'; known: {', '.join(sorted(AGGREGATES))}")
        a = AGGREGATES[name]
        unknown = sorted(set(options) - set(a.options))
        if unknown:
            raise TypeError(
                f"aggregation '{name}' has no option {', '.join(unknown)}; its options: "
                f"{', '.join(a.options) or 'none'}"
            )
        return a.build(self.tables, self.as_of, **options)

    def frame(self, name: str, **options: object) -> pd.DataFrame:
        """Aggregation ``name`` executed (with its ``options``): a pandas frame sorted by its keys."""
        expr = self.expression(name, **options)
        a = AGGREGATES[name]
        df = execute(expr, keys=a.keys, strings=a.strings)
        df.attrs["engine"] = self.settings.engine
        return df

    def frames(self, names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        """Several aggregations (default: every one whose tables exist)."""
        todo = (
            names
            if names is not None
            else [n for n, a in AGGREGATES.items() if all(t in self.tables for t in a.tables)]
        )
        return {n: self.frame(n) for n in todo}
