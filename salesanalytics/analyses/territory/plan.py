"""The territory phase end to end: inputs from CRM tables, scenarios, status quo, Pareto front.

>>> inputs = prepare_inputs(accounts, potential, activities, reps)  # doctest: +SKIP
>>> plan = run_scenario(inputs, n_territories=None, tolerance=0.05)  # doctest: +SKIP
>>> plan.assignment.head()  # account_id, territory_id, rep_id, previous_rep_id, changed, locked

Rules the design follows (and the report states):

* **Workload a rep really has.** A territory's workload is its accounts' service time plus
  the driving from its rep's base (visits x 2 x straight-line km x road factor / speed, the
  project's travel assumptions). The design runs in two steps: a first, rough design of
  regions; reps matched to them (:func:`~salesanalytics.analyses.territory.design.match_territories_to_reps`,
  ``scipy.optimize.linear_sum_assignment`` on where they live and whom they serve today);
  then the territories are rebuilt around the reps' bases with travel in the balanced
  workload. A territory without a rep is a vacancy with a suggested base (the postal code at
  its centre); its travel is counted from there. The territory table (and every figure of the
  headline) comes from the accounts and the bases, so table, headline and balance agree.
* **Contiguity as the map shows it.** Postal codes are neighbours when their polygons share
  a border; a code without a polygon (PO box, company code) belongs to the polygon that
  contains (or is nearest to) its coordinates and is never a link between areas
  (:func:`salesanalytics.reference.geo.postal_code_neighbours`). The Swiss polygons cover the country
  without gaps (lakes lie inside the shore codes' polygons), so no water or mountain gap is
  bridged; a postal code made of several parts counts as one area. For other geographies
  without full adjacency, separate components are joined by their shortest link and counted
  (``graph_bridges`` in the inputs summary).
* **Infeasible said out loud.** Before searching, :func:`~salesanalytics.analyses.territory.feasibility.reachability`
  bounds what any plan can reach; afterwards :func:`~salesanalytics.analyses.territory.feasibility.shortfall`
  names the territories outside the band, the best deviation and what would help
  (``plan.feasibility``; the notebook records them as run warnings).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.territory.design import (
    ActivityEffort,
    account_assignment,
    account_workload,
    activity_norms,
    customer_units,
    key_account_carve_out,
    match_territories_to_reps,
    postal_code_units,
    split_lumpy_units,
    territory_summary,
    workload_segment,
)
from salesanalytics.analyses.territory.feasibility import balance_bound, reachability, shortfall
from salesanalytics.analyses.territory.graph import UnitGraph, build_unit_graph, planar_km
from salesanalytics.analyses.territory.metrics import plan_quality, table_balance, table_quality
from salesanalytics.analyses.territory.optimiser import (
    Bases,
    SolverSettings,
    Targets,
    TerritoryResult,
    UnitColumns,
    design_territories,
    solver_settings,
)
from salesanalytics.present.formats import pct
from salesanalytics.present.i18n import gettext as _
from salesanalytics.reference import geo
from salesanalytics.reference.geo import ROAD_FACTOR, SPEED_KMH
from salesanalytics.reference.geography import (
    Geography,
    SwissPolygons,
    account_keys,
    for_accounts,
    unit_postal_codes,
)

__all__ = [
    "METRICS",
    "SCENARIO_SETTINGS",
    "ScenarioSettings",
    "TerritoryInputs",
    "TerritoryPlan",
    "compare_plans",
    "pareto_front",
    "prepare_inputs",
    "run_scenario",
    "scenario_arguments",
    "side_scenarios",
    "status_quo_plan",
    "territory_bases",
    "travel_by_base",
]

METRICS: tuple[str, ...] = ("potential_mrr", "workload_hours")
"""Metrics balanced by default: monthly revenue potential and yearly workload hours."""

BOUND_MAX_VARIABLES = 400_000
"""Largest units x territories for which a plan that misses its band gets the LP bound (it
says whether any plan could reach the band with these bases)."""


@dataclass(frozen=True)
class ScenarioSettings(SolverSettings):
    """How an engagement scenario (:func:`run_scenario`) searches.

    The optimiser's settings plus two of the scenario's own.

    Attributes
    ----------
    base_iter
        Assignment LPs of the second step, which builds the territories around their reps'
        bases with travel in the workload (0 = exchange LP and local search only).
    bound
        When a territory misses the tolerance, prove with the LP bound whether any plan could
        reach it (:func:`~salesanalytics.analyses.territory.feasibility.balance_bound`); the
        alternatives of the scenario report skip it (their table shows deviations only).
    """

    base_iter: int = 1
    bound: bool = True


SCENARIO_SETTINGS = ScenarioSettings(
    max_passes=100, time_limit=3600.0, max_iter=1, candidates=8, exchange_rounds=20
)
"""Solver settings of an engagement scenario (:func:`run_scenario`): a generous time limit (a
busy machine must not change the plan; the effort is bounded by ``max_passes``), one
assignment LP per design step, up to 20 rounds of exchange LP and local search while they
make progress (3,000-account demo, seed 11: 26 instead of 22 of 28 territories within ±5%)."""


@dataclass
class TerritoryInputs:
    """Everything the territory scenarios need, prepared once.

    Attributes
    ----------
    accounts
        Every account with ``account_id``, ``postal_code``, coordinates, ``status``,
        ``owner_id``, ``potential_mrr``, ``current_mrr``, ``white_space_mrr``, ``segment``,
        ``activity_hours``, ``visits_per_year``, ``travel_hours``, ``workload_hours``,
        ``key_account``.
    units
        Units of the field territories: postal codes (:func:`postal_code_units`), the largest
        customer relationships as units of their own (:func:`customer_units`, flag
        ``customer_unit``), and postal codes too large to balance split into account-level
        pieces (:func:`split_lumpy_units`); column ``postal_code`` names the postal code of every
        unit.
    edges
        Unit adjacency (``postal_code_a``, ``postal_code_b``: unit ids) used by the optimiser
        and the contiguity checks.
    field_reps
        Active field reps (``rep_id``, ``name``, ``fte``, ``capacity_hours``, home coordinates).
    reps
        All reps.
    norms
        Activity norms per segment.
    info
        Counts: accounts in scope, key accounts, without postal code, ...
    """

    accounts: pd.DataFrame
    units: pd.DataFrame
    edges: pd.DataFrame
    field_reps: pd.DataFrame
    reps: pd.DataFrame
    norms: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    postal_edges: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Postal-code adjacency (for maps)."""
    geography: Geography = field(default_factory=SwissPolygons)
    """The engagement's geography (its accounts' countries): maps draw it; in a multi-country
    engagement unit and postal-code ids are its keys (``"DE-79539"``)."""


@dataclass
class TerritoryPlan:
    """One territory scenario (or today's plan) with everything shown and written."""

    name: str
    unit_territory: pd.Series
    assignment: pd.DataFrame
    territories: pd.DataFrame
    quality: dict[str, float]
    result: TerritoryResult | None = None
    territory_rep: dict[str, str] = field(default_factory=dict)
    units: pd.DataFrame = field(default_factory=pd.DataFrame)
    bases: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Base of every field territory: ``territory_id``, ``rep_id``, ``base_latitude``,
    ``base_longitude``, ``base_postal_code``, ``base_place``, ``vacant`` (a vacant territory's
    base is a suggestion: the postal code at its centre)."""
    feasibility: dict[str, Any] = field(default_factory=dict)
    """What the tolerance allows before the search (:func:`~salesanalytics.analyses.territory.feasibility.reachability`)."""

    def postal_territory(self) -> pd.Series:
        """Territory per postal code (for maps).

        A split postal code shows the territory holding most of its potential and workload.
        """
        u = self.units
        pc = u["postal_code"] if "postal_code" in u else u["unit_id"]
        t = u["unit_id"].astype(str).map(self.unit_territory.astype(str))
        tot = u[list(METRICS)].sum().to_numpy()
        load = (u[list(METRICS)].to_numpy() / np.where(tot > 0, tot, 1.0)).sum(axis=1)
        df = pd.DataFrame({"pc": pc.astype(str).to_numpy(), "t": t.to_numpy(), "w": load})
        g = df.dropna().groupby(["pc", "t"], as_index=False)["w"].sum()
        g = g.sort_values(["pc", "w", "t"], ascending=[True, False, True]).drop_duplicates("pc")
        return pd.Series(g["t"].to_numpy(), index=g["pc"].to_numpy())


def prepare_inputs(
    accounts: pd.DataFrame,
    potential: pd.DataFrame,
    activities: pd.DataFrame | ActivityEffort,
    reps: pd.DataFrame,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
    key_account_share: float = 0.01,
    locked_postal_codes: Sequence[str] = (),
    max_unit_share: float = 0.02,
    customer_unit_share: float = 0.05,
    workload: pd.DataFrame | None = None,
    geography: Geography | None = None,
) -> TerritoryInputs:
    """Join potentials, derive workload, carve out key accounts and build postal-code units.

    Parameters
    ----------
    accounts
        Canonical ``accounts`` (``account_id``, ``postal_code``, ``latitude``, ``longitude``,
        ``status``, ``owner_id``).
    potential
        Potential phase's ``account_potential`` (``account_id``, ``potential_mrr``,
        ``current_mrr``, ``white_space_mrr``).
    activities
        Canonical ``activities`` (for the activity norms of field sales), or the field activities
        aggregated per account by the aggregation layer (:func:`field_effort`; what the phases
        use, so that they never hold the activity log).
    reps
        Canonical ``reps`` (``rep_id``, ``name``, ``role``, ``fte``, ``capacity_hours``,
        ``home_latitude``, ``home_longitude``, ``active``).
    road_factor, speed_kmh
        Travel model: road km = haversine km x ``road_factor``; driving speed.
    key_account_share
        Share of largest accounts flagged as key accounts when no rep has the KAM role; only used
        when ``potential`` carries no key-account list (columns ``key_account`` and
        ``key_account_manager_id``, :func:`salesanalytics.analyses.portfolio.model.flag_key_accounts`):
        exactly those accounts are carved out and go to their proposed key-account manager.
    locked_postal_codes
        Postal codes that stay with their current rep.
    max_unit_share
        Postal codes whose potential or workload exceeds this share of a territory's target
        (one territory per field rep) are split into account-level pieces, so that territories
        can be balanced finely (:func:`split_lumpy_units`); 1 = never split.
    customer_unit_share
        Share of the field reps' customers (the largest by monthly revenue) that become units of
        their own (:func:`customer_units`): the continuity weight then keeps these relationships
        with their rep while their postal code's other accounts may move; 0 = none.
    workload
        Field workload per account computed upstream (the channel phase's ``field_workload``:
        ``account_id, segment, activity_hours, visits_per_year, travel_hours, workload_hours``),
        used instead of the norms measured here so that the territories carry exactly the field
        workload the channel mix leaves in the field; accounts missing from it get none.
        ``None`` = measure the norms from ``activities``.
    geography
        The engagement's geography; default: the countries of the accounts (``country``, else
        Switzerland; :func:`salesanalytics.reference.geography.for_accounts`). Outside Switzerland,
        postal-code units come from GeoNames points with a pruned Delaunay adjacency
        (:func:`salesanalytics.reference.geography.point_adjacency`); across borders, codes near the
        border on both sides are neighbours.

    Raises
    ------
    KeyError
        If a table lacks a required column.
    ValueError
        If there is no active field rep or no account with a Swiss postal code.
    """
    _check_tables(accounts, potential, reps)
    g = for_accounts(accounts) if geography is None else geography
    swiss = isinstance(g, SwissPolygons)
    acc, ka_list, n_no_potential = _join_potential(accounts, potential, g, swiss)
    norms = _add_workload(acc, activities, reps, (road_factor, speed_kmh), workload)
    acc["key_account"] = (
        acc.pop("key_account_list").fillna(False).astype(bool)
        if ka_list
        else key_account_carve_out(acc, reps, share=key_account_share).to_numpy()
    )
    field_reps = _field_reps(reps)
    field_ids = field_reps["rep_id"].astype(str).tolist()
    scope = acc[~acc["key_account"]]
    b = _build_units(
        scope,
        g,
        field_ids,
        locked_postal_codes,
        customer_unit_share=customer_unit_share,
        max_unit_share=max_unit_share,
    )
    units = b.units
    acc["unit_id"] = acc["account_id"].map(b.account_unit).where(~acc["key_account"])
    acc["unit_id"] = acc["unit_id"].astype("string")
    if (units["n_accounts"] > 0).sum() == 0:
        raise ValueError(
            f"no account outside the key accounts has a postal code in {', '.join(g.countries)} "
            f"({len(scope)} such accounts, {len(acc) - len(scope)} key accounts kept apart): "
            "territories are built from postal codes; map the billing postal code (and country) "
            "in the intake"
        )
    info = {
        "n_accounts": len(acc),
        "n_key_accounts": int(acc["key_account"].sum()),
        "n_scope_accounts": len(scope),
        "n_without_postal_code": units.attrs.get("n_without_postal_code", 0),
        "n_without_potential": n_no_potential,
        **_unit_info(b),
        "n_field_reps": len(field_reps),
        **_graph_info(b),
        "total_workload_hours": float(units["workload_hours"].sum()),
        "field_capacity_hours": float(field_reps["capacity_hours"].sum()),
        "activity_window_years": norms.attrs.get("years"),
        **_geography_info(g),
    }
    return TerritoryInputs(acc, units, b.edges, field_reps, reps, norms, info, b.postal_edges, g)


def _field_reps(reps: pd.DataFrame) -> pd.DataFrame:
    """The active field reps (ValueError when there is none)."""
    active = reps["active"].fillna(True).astype(bool) if "active" in reps else True
    field_reps = reps[(reps["role"] == "field") & active].copy().reset_index(drop=True)
    if field_reps.empty:
        raise ValueError(
            "no active rep with role 'field' in the reps table: field territories need field reps "
            "(check the role mapping, e.g. Sales_Role__c = 'Field Sales')"
        )
    return field_reps


def _check_tables(accounts: pd.DataFrame, potential: pd.DataFrame, reps: pd.DataFrame) -> None:
    """Raise KeyError naming the first table that lacks a required column."""
    for name, df, cols in (
        (
            "accounts",
            accounts,
            ["account_id", "postal_code", "latitude", "longitude", "status", "owner_id"],
        ),
        (
            "account_potential",
            potential,
            ["account_id", "potential_mrr", "current_mrr", "white_space_mrr"],
        ),
        (
            "reps",
            reps,
            ["rep_id", "name", "role", "fte", "capacity_hours", "home_latitude", "home_longitude"],
        ),
    ):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise KeyError(f"table '{name}' lacks column(s) {missing}; it has {list(df.columns)}")


def _join_potential(
    accounts: pd.DataFrame, potential: pd.DataFrame, g: Geography, swiss: bool
) -> tuple[pd.DataFrame, bool, int]:
    """Join the accounts with their potential and complete their coordinates.

    Missing potential is 0; missing coordinates are the postal code's. Returns the accounts, whether
    the potential carries a key-account list and how many accounts had no potential.
    """
    acc = accounts[
        ["account_id", "postal_code", "latitude", "longitude", "status", "owner_id"]
    ].copy()
    if not swiss:
        acc["postal_code"] = account_keys(accounts, g).to_numpy()
    acc["account_id"] = acc["account_id"].astype("string")
    pot = potential[["account_id", "potential_mrr", "current_mrr", "white_space_mrr"]].copy()
    pot["account_id"] = pot["account_id"].astype("string")
    ka_list = {"key_account", "key_account_manager_id"} <= set(potential.columns)
    if ka_list:
        pot["key_account_list"] = potential["key_account"].fillna(False).astype(bool).to_numpy()
        pot["key_account_manager_id"] = (
            potential["key_account_manager_id"].astype("string").to_numpy()
        )
    acc = acc.merge(pot, on="account_id", how="left")
    n_no_potential = int(acc["potential_mrr"].isna().sum())
    for c in ("potential_mrr", "current_mrr", "white_space_mrr"):
        acc[c] = acc[c].fillna(0.0)
    # accounts without coordinates: take their postal code's
    pc = geo.postal_codes() if swiss else g.places().assign(postal_code=g.places()["key"])
    pc = pc.set_index("postal_code")
    miss = acc["latitude"].isna() | acc["longitude"].isna()
    acc.loc[miss, "latitude"] = acc.loc[miss, "postal_code"].map(pc["latitude"]).astype("float64")
    acc.loc[miss, "longitude"] = acc.loc[miss, "postal_code"].map(pc["longitude"]).astype("float64")
    return acc, ka_list, n_no_potential


def _add_workload(
    acc: pd.DataFrame,
    activities: pd.DataFrame | ActivityEffort,
    reps: pd.DataFrame,
    travel: tuple[float, float],
    workload: pd.DataFrame | None,
) -> pd.DataFrame:
    """Add every account's segment and field workload to ``acc`` (in place); the norms.

    The workload is measured with the activity norms and the ``travel`` model (road factor,
    speed), or taken from ``workload`` when it is given.
    """
    seg = workload_segment(acc)
    seg.index = acc["account_id"]
    norms = activity_norms(activities, seg, channel="field")
    wl = account_workload(acc, seg, norms, reps, road_factor=travel[0], speed_kmh=travel[1])
    if workload is not None:
        _use_given_workload(wl, acc, workload)
    for c in ("segment", "activity_hours", "visits_per_year", "travel_hours", "workload_hours"):
        acc[c] = wl[c].to_numpy()
    return norms


def _use_given_workload(wl: pd.DataFrame, acc: pd.DataFrame, workload: pd.DataFrame) -> None:
    """Replace the measured workload ``wl`` (in place) by the one computed upstream."""
    cols = ["segment", "activity_hours", "visits_per_year", "travel_hours", "workload_hours"]
    missing = [c for c in ["account_id", *cols] if c not in workload.columns]
    if missing:
        raise KeyError(
            f"table 'workload' lacks column(s) {missing}; it has {list(workload.columns)}"
        )
    given = workload.assign(account_id=workload["account_id"].astype("string")).set_index(
        "account_id"
    )
    aid = acc["account_id"].astype("string")
    for c in cols:
        v = aid.map(given[c])
        wl[c] = (v if c == "segment" else v.astype("float64").fillna(0.0)).to_numpy()


@dataclass
class _Units:
    """The design units built from the accounts in scope, and their graphs."""

    units: pd.DataFrame
    edges: pd.DataFrame
    account_unit: pd.Series
    postal_edges: pd.DataFrame
    poly_edges: pd.DataFrame
    pgraph: UnitGraph
    graph: UnitGraph
    n_customer_units: int


def _build_units(
    scope: pd.DataFrame,
    g: Geography,
    field_ids: list[str],
    locked_postal_codes: Sequence[str],
    *,
    customer_unit_share: float,
    max_unit_share: float,
) -> _Units:
    """Build the units of the accounts in ``scope``, with their graphs.

    Postal-code units, customer units and split pieces, with the postal-code graph (maps) and the
    unit graph (the design).
    """
    swiss = isinstance(g, SwissPolygons)
    unit_pc = None if swiss else unit_postal_codes(g, scope["postal_code"].dropna())
    pc_units = postal_code_units(
        scope, field_ids, postal_codes=unit_pc, locked_postal_codes=locked_postal_codes
    )
    # codes without a polygon (PO boxes, company codes) belong to the polygon that contains
    # (or is nearest to) their coordinates: one edge to that host, so they never bridge areas;
    # codes known only by points are neighbours on the pruned Delaunay graph of the geography
    poly_edges = g.neighbours(
        pc_units["unit_id"], pc_units["latitude"].to_numpy(), pc_units["longitude"].to_numpy()
    )
    # postal-code graph (maps): polygon neighbours and hosted codes (no Delaunay links needed)
    pgraph = build_unit_graph(
        pc_units["unit_id"].astype(str).to_numpy(),
        planar_km(pc_units["latitude"].to_numpy(), pc_units["longitude"].to_numpy()),
        poly_edges,
    )
    postal_edges = pgraph.edge_frame(pc_units["unit_id"].astype(str).to_numpy())
    postal_edges.columns = ["postal_code_a", "postal_code_b"]
    cu, cu_edges, customer_unit = customer_units(
        pc_units, scope, postal_edges, field_ids, top_share=customer_unit_share
    )
    rest = scope[~scope["account_id"].astype("string").isin(customer_unit.index)]
    units, unit_edges, account_unit = split_lumpy_units(
        cu, rest, cu_edges, len(field_ids), field_ids, max_share=max_unit_share
    )
    account_unit = pd.concat([account_unit, customer_unit])
    graph = build_unit_graph(
        units["unit_id"].astype(str).to_numpy(),
        planar_km(units["latitude"].to_numpy(), units["longitude"].to_numpy()),
        unit_edges,
    )
    edges = graph.edge_frame(units["unit_id"].astype(str).to_numpy())
    edges.columns = ["postal_code_a", "postal_code_b"]
    return _Units(
        units,
        edges,
        account_unit,
        postal_edges,
        poly_edges,
        pgraph,
        graph,
        cu.attrs.get("n_customer_units", 0),
    )


def _geography_info(g: Geography) -> dict[str, Any]:
    """The inputs summary's countries and where the neighbourhood comes from."""
    swiss = isinstance(g, SwissPolygons)
    return {
        "countries": ", ".join(g.countries),
        "neighbours_from": (
            "polygons" if swiss else ("polygons and points" if g.has_polygons else "points")
        ),
    }


def _unit_info(b: _Units) -> dict[str, Any]:
    """The inputs summary's unit counts."""
    units = b.units
    return {
        "n_units": len(units),
        "n_postal_codes_split": units.attrs.get("n_split", 0),
        "n_account_pieces": units.attrs.get("n_pieces", 0),
        "n_customer_units": b.n_customer_units,
        "n_units_with_accounts": int((units["n_accounts"] > 0).sum()),
        "n_postal_codes_with_accounts": int(
            units.loc[units["n_accounts"] > 0, "postal_code"].nunique()
        ),
    }


def _graph_info(b: _Units) -> dict[str, Any]:
    """The inputs summary's graph figures (polygon edges, hosted codes, Delaunay links, bridges)."""
    n_hosted = int(b.poly_edges.attrs.get("n_hosted", 0))
    return {
        "graph_polygon_edges": int(len(b.poly_edges) - n_hosted),
        "graph_hosted_codes": n_hosted,
        "graph_delaunay_edges": b.graph.n_delaunay,
        "graph_bridges": b.graph.n_bridges,
        "postal_graph_delaunay_edges": b.pgraph.n_delaunay,
        "postal_graph_bridges": b.pgraph.n_bridges,
    }


def _fte(fte: pd.Series, rep: str) -> float:
    v = fte.get(rep, np.nan)
    return float(v) if pd.notna(v) and v > 0 else 1.0


def _fill_along_graph(units: pd.DataFrame, edges: pd.DataFrame) -> pd.Series:
    """Today's territory per unit; units without one take that of the nearest unit along the graph."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    ids = pd.Index(units["unit_id"].astype(str))
    cur = units["current"].astype("string").reset_index(drop=True)
    src = np.flatnonzero(cur.notna().to_numpy())
    if len(src) == 0 or len(src) == len(cur):
        return cur
    a = ids.get_indexer(edges.iloc[:, 0].astype(str))
    b = ids.get_indexer(edges.iloc[:, 1].astype(str))
    ok = (a >= 0) & (b >= 0)
    xy = planar_km(units["latitude"].to_numpy(), units["longitude"].to_numpy())
    length = np.hypot(*(xy[a[ok]] - xy[b[ok]]).T) + 1e-6
    g = csr_matrix((length, (a[ok], b[ok])), shape=(len(ids), len(ids)))
    _, _, nearest = dijkstra(
        g, directed=False, indices=src, min_only=True, return_predecessors=True
    )
    out = cur.copy()
    miss = np.flatnonzero(cur.isna().to_numpy() & (nearest >= 0))
    out.iloc[miss] = cur.iloc[nearest[miss]].to_numpy()
    return out


def _finish(
    inputs: TerritoryInputs,
    name: str,
    unit_territory: pd.Series,
    territory_rep: dict[str, str],
    road_factor: float,
    speed_kmh: float,
    result: TerritoryResult | None,
    locked_accounts: Sequence[str] = (),
    fte_scaled: bool = True,
    bases: pd.DataFrame | None = None,
) -> TerritoryPlan:
    acc = inputs.accounts
    assignment = account_assignment(
        acc,
        unit_territory,
        territory_rep,
        acc["key_account"],
        locked_accounts=locked_accounts,
        unit_col="unit_id" if "unit_id" in acc else "postal_code",
    )
    if "key_account_manager_id" in acc.columns:
        # key accounts go to their proposed key-account manager (the potential phase's list)
        kam = acc["key_account_manager_id"].astype("string").to_numpy()
        to_kam = assignment["key_account"].to_numpy() & ~pd.isna(kam)
        assignment.loc[to_kam, "rep_id"] = kam[to_kam]
        assignment["changed"] = (
            assignment["rep_id"].fillna("") != assignment["previous_rep_id"].fillna("")
        ).astype(bool)
    terr = territory_summary(assignment, acc, inputs.reps, road_factor, speed_kmh, bases=bases)
    terr = table_balance(terr, fte_scaled)
    u = inputs.units
    # today's territory of every unit in the plan's names (the territory of its rep today)
    rep_to_t = {str(r): str(t) for t, r in territory_rep.items()}
    current = u["current"].astype("string").map(rep_to_t).astype("string")
    fte = inputs.field_reps.set_index(inputs.field_reps["rep_id"].astype(str))["fte"]
    shares = {t: _fte(fte, r) for t, r in territory_rep.items()} if fte_scaled else None
    quality = plan_quality(
        u,
        u["unit_id"].map(unit_territory).astype(str).to_numpy(),
        METRICS,
        inputs.edges,
        weight_col="workload_hours",
        continuity_col="current_mrr",
        current=current.to_numpy(),
        target_shares=shares,
    )
    # customers, revenue and potential changing rep: all on the same accounts (key accounts
    # handed to their key-account manager change rep too), so the three shares read together
    cust = acc["status"].to_numpy() == "customer"
    ch = assignment["changed"].to_numpy()
    quality["customers_changing_rep"] = float(ch[cust].mean()) if cust.any() else 0.0
    mrr = acc["current_mrr"].to_numpy()
    potv = acc["potential_mrr"].to_numpy()
    quality["revenue_changing_rep"] = float(mrr[ch].sum() / mrr.sum()) if mrr.sum() else 0.0
    quality["potential_changing_rep"] = float(potv[ch].sum() / potv.sum()) if potv.sum() else 0.0
    ft = terr[~terr["territory_id"].isin(["key_accounts", "locked", "unassigned"])]
    quality["mean_travel_km"] = (
        float(np.average(ft["mean_travel_km"].fillna(0.0), weights=ft["n_accounts"]))
        if len(ft)
        else 0.0
    )
    if result is not None:
        quality["seconds"] = float(result.summary["seconds"])
    quality.update(table_quality(terr))
    return TerritoryPlan(
        name,
        unit_territory,
        assignment,
        terr,
        quality,
        result,
        territory_rep,
        inputs.units,
        bases if bases is not None else pd.DataFrame(),
    )


def travel_by_base(
    inputs: TerritoryInputs,
    base_latitude: np.ndarray,
    base_longitude: np.ndarray,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
) -> tuple[np.ndarray, np.ndarray]:
    """Service hours per unit and the travel hours of every unit from every base.

    Travel of an account from a base = its visits a year x 2 (there and back) x straight-line
    km x ``road_factor`` / ``speed_kmh`` -- the same formula as the territory table
    (:func:`~salesanalytics.analyses.territory.design.territory_summary`), so a territory's balanced
    workload and the workload in its table are one number.

    Returns
    -------
    (service, travel)
        ``service``: activity hours per unit (unit order of ``inputs.units``); ``travel``:
        ``(units x bases)`` hours a year.
    """
    u = inputs.units
    acc = inputs.accounts
    acc = acc[acc["unit_id"].notna()]
    ui = pd.Index(u["unit_id"].astype(str)).get_indexer(acc["unit_id"].astype(str))
    ok = ui >= 0
    acc, ui = acc[ok], ui[ok]
    km = geo.haversine_km(
        acc["latitude"].to_numpy(dtype=float)[:, None],
        acc["longitude"].to_numpy(dtype=float)[:, None],
        np.asarray(base_latitude, dtype=float)[None, :],
        np.asarray(base_longitude, dtype=float)[None, :],
    )
    km = np.where(np.isnan(km), 0.0, km) * road_factor
    visits = acc["visits_per_year"].fillna(0.0).to_numpy(dtype=float)
    hours = visits[:, None] * 2 * km / speed_kmh
    travel = np.zeros((len(u), len(np.atleast_1d(base_latitude))))
    np.add.at(travel, ui, hours)
    service = np.bincount(
        ui, weights=acc["activity_hours"].fillna(0.0).to_numpy(dtype=float), minlength=len(u)
    )
    return service, travel


def territory_bases(
    inputs: TerritoryInputs,
    unit_territory: pd.Series,
    territory_rep: dict[str, str],
) -> pd.DataFrame:
    """Base of every territory: its rep's home, or for a vacant territory a suggested base.

    The suggestion is the postal code of the territory nearest to its workload-weighted centre
    (where a hire would ideally live).

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``rep_id``, ``base_latitude``, ``base_longitude``,
        ``base_postal_code``, ``base_place``, ``vacant`` (bool), one row per territory, sorted.
    """
    u = inputs.units
    homes = inputs.reps.set_index(inputs.reps["rep_id"].astype(str))
    t = u["unit_id"].astype(str).map(unit_territory.astype(str))
    rows = []
    used: set[str] = set()
    for tid in sorted(set(territory_rep)):
        rep = str(territory_rep[tid])
        home = homes.loc[rep] if rep in homes.index else None
        inside = u[(t == tid).to_numpy()]
        lat = lon = np.nan
        if home is not None:
            lat, lon = float(home["home_latitude"]), float(home["home_longitude"])
        vacant = home is None or not (np.isfinite(lat) and np.isfinite(lon))
        if vacant and len(inside):
            w = inside["workload_hours"].to_numpy(dtype=float) + 1e-9
            clat = float(np.average(inside["latitude"], weights=w))
            clon = float(np.average(inside["longitude"], weights=w))
            poly = inside[inside["postal_code"].astype(str) == inside["unit_id"].astype(str)]
            cand = poly if len(poly) else inside
            d = geo.haversine_km(cand["latitude"], cand["longitude"], clat, clon)
            pick = cand.iloc[int(np.argmin(np.asarray(d)))]
            lat, lon = float(pick["latitude"]), float(pick["longitude"])
        elif vacant:
            # no units yet: the busiest postal code not yet a base, where a hire would start
            free = u[~u["postal_code"].astype(str).isin(used)]
            pick = (free if len(free) else u).nlargest(1, "workload_hours").iloc[0]
            lat, lon = float(pick["latitude"]), float(pick["longitude"])
        near = u.iloc[
            int(np.argmin(np.asarray(geo.haversine_km(u["latitude"], u["longitude"], lat, lon))))
        ]
        used.add(str(near["postal_code"]))
        rows.append(
            {
                "territory_id": tid,
                "rep_id": rep,
                "base_latitude": lat,
                "base_longitude": lon,
                "base_postal_code": str(near["postal_code"]),
                "base_place": near.get("place", pd.NA),
                "vacant": bool(home is None),
            }
        )
    out = pd.DataFrame(rows)
    for c in ("territory_id", "rep_id", "base_postal_code", "base_place"):
        if c in out:
            out[c] = out[c].astype("string")
    return out


def _known_centres(plan: TerritoryPlan | None) -> pd.DataFrame | None:
    """A plan's territory centres with known coordinates, as ``initial_centres``.

    Vacant territories without units have none; ``None`` when no territory has one.
    """
    if plan is None or plan.result is None:
        return None
    cen = plan.result.territories.rename(
        columns={"centre_latitude": "latitude", "centre_longitude": "longitude"}
    )
    ok = np.isfinite(cen[["latitude", "longitude"]].to_numpy(dtype=float)).all(axis=1)
    return cen[ok] if ok.any() else None


def _candidate_reps(field_reps: pd.DataFrame, n: int) -> list[str]:
    """Choose the reps who may get one of ``n`` territories.

    All of them when there are at least as many territories as reps, else the ones with the most FTE
    first (ties: all of equal FTE), so that fewer territories than reps go to full-time reps and
    part-timers are the ones freed for other roles.
    """
    ids = field_reps["rep_id"].astype(str)
    if n >= len(field_reps):
        return ids.tolist()
    fte = field_reps["fte"].fillna(1.0).astype(float).to_numpy()
    cut = np.sort(fte)[::-1][n - 1]
    return ids[fte >= cut - 1e-9].tolist()


def run_scenario(
    inputs: TerritoryInputs,
    n_territories: int | None = None,
    tolerance: float = 0.05,
    continuity_weight: float = 1.0,
    fte_scaled: bool = True,
    name: str | None = None,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
    locked_accounts: Sequence[str] = (),
    travel_weight: float = 1.0,
    start: TerritoryPlan | None = None,
    centres_from: TerritoryPlan | None = None,
    settings: SolverSettings | None = None,
    **legacy: Any,
) -> TerritoryPlan:
    """Optimise the field territories for one scenario and turn them into account owners.

    Parameters
    ----------
    inputs
        :func:`prepare_inputs` output.
    n_territories
        Number of territories; default = number of active field reps.
    tolerance
        Allowed deviation from target for potential and workload (0.05 = ±5%).
    continuity_weight
        Weight of keeping customers with their current rep (0 = ignore, 1 = default, 4 = strong).
    fte_scaled
        Scale each territory's target by its rep's FTE (only when territories = reps).
    name
        The plan's name (default: its count and tolerance).
    road_factor, speed_kmh
        Travel model: road km = straight-line km x ``road_factor``; driving speed.
    locked_accounts
        Accounts that keep their current rep.
    travel_weight
        When reps are matched to the new territories: weight of their travel from home against
        the customer revenue they keep.
    start
        A plan with the same number of territories to start from (e.g. the main scenario):
        with ``max_iter=0`` only the local search adapts it to this scenario's tolerance and
        continuity weight, several times faster than designing from scratch.
    centres_from
        A plan whose territory centres seed the compact regions (instead of k-means++; for
        another number of territories they are merged or added): much cheaper than a design
        from scratch.
    settings
        How hard the optimiser searches (:class:`ScenarioSettings`; default
        :data:`SCENARIO_SETTINGS`; a plain
        :class:`~salesanalytics.analyses.territory.optimiser.SolverSettings` gets the scenario
        defaults of ``base_iter`` and ``bound``). Its ``time_limit`` is per design step (the
        effort is bounded by ``max_passes``; a run cut short by this limit may not be
        reproducible, so it is generous; counted in CPU time, a shared, busy machine does not
        change the plan).
    **legacy
        Single settings as keywords (``seed=``, ``max_passes=``...), as in the earlier
        signature: deprecated, use ``settings``.
    """
    cfg = _scenario_settings(settings, legacy)
    fr = inputs.field_reps
    n = n_territories or len(fr)
    same = n == len(fr)
    ids = fr["rep_id"].astype(str).tolist() if same else None
    shares = (
        dict(zip(ids, fr["fte"].fillna(1.0).astype(float), strict=True))
        if (same and fte_scaled)
        else None
    )
    # what the tolerance allows, before searching
    reach = _reach(inputs, shares if shares is not None else {f"T{i:03d}": 1.0 for i in range(n)},
                   tolerance, same)  # fmt: skip
    u, start_col = _start_units(inputs.units, start, ids, same)
    if start_col is not None and start is not None:
        # refine a plan: its territories, reps and bases stay; only the second step runs
        ut, trep, first_seconds = start.unit_territory.astype(str), dict(start.territory_rep), 0.0
    else:
        first = _FirstStep(n, ids, shares, tolerance, continuity_weight, fte_scaled, travel_weight)
        ut, trep, first_seconds = _first_step(inputs, u, first, centres_from, _rough(cfg))
    # second step: every territory now has its rep (or a suggested base when vacant); balance
    # the workload a rep really has -- service plus travel from their base -- and build the
    # territories around the bases
    s2 = _second_step(
        inputs,
        u,
        ut,
        trep,
        tolerance,
        continuity_weight if same else 0.0,
        fte_scaled,
        same,
        road_factor,
        speed_kmh,
        replace(cfg, max_iter=cfg.base_iter if start_col is None else 0),
    )
    res2 = s2["result"]
    res2.summary["first_step_seconds"] = first_seconds
    res2.summary["seconds"] = round(first_seconds + res2.summary["seconds"], 3)
    ut = pd.Series(
        res2.assignment["territory_id"].astype(str).to_numpy(),
        index=res2.assignment["unit_id"].to_numpy(),
    )
    plan = _finish(
        inputs,
        name or _("{n} territories, ±{tolerance}").format(n=n, tolerance=pct(tolerance, 0)),
        ut,
        trep,
        road_factor,
        speed_kmh,
        res2,
        locked_accounts,
        fte_scaled,
        bases=s2["bases"],
    )
    plan.feasibility = _feasibility(plan, reach, u, ut, tolerance, s2, bound=cfg.bound)
    return plan


def _scenario_settings(
    settings: SolverSettings | None, legacy: Mapping[str, Any]
) -> ScenarioSettings:
    """The scenario's settings as :class:`ScenarioSettings`.

    ``settings`` (default :data:`SCENARIO_SETTINGS`) with the deprecated single keywords of
    ``legacy`` applied.
    """
    base = settings or SCENARIO_SETTINGS
    if not isinstance(base, ScenarioSettings):
        base = ScenarioSettings(**{f.name: getattr(base, f.name) for f in fields(base)})
    changes = {k: v for k, v in legacy.items() if v is not None}
    if changes:
        warnings.warn(
            f"keywords {sorted(changes)} of run_scenario are deprecated: pass "
            "settings=ScenarioSettings(...) (or solver_settings(SCENARIO_SETTINGS, ...))",
            DeprecationWarning,
            stacklevel=3,
        )
    cfg = solver_settings(base, **changes)
    assert isinstance(cfg, ScenarioSettings)
    return cfg


def _rough(cfg: ScenarioSettings) -> ScenarioSettings:
    """The lighter settings of the first, rough design step."""
    return replace(
        cfg,
        max_passes=min(cfg.max_passes, 20),
        max_iter=cfg.max_iter if cfg.max_iter > 0 else 1,
        exchange_rounds=min(cfg.exchange_rounds, 2),
        both_repairs=False,
    )


def _reach(
    inputs: TerritoryInputs, shares: dict[str, float], tolerance: float, same: bool
) -> dict[str, Any]:
    """What the tolerance allows before searching (:func:`reachability` on the units)."""
    u = inputs.units
    return reachability(
        u.assign(
            _label=u["postal_code"].astype(str)
            + (" " + u["place"].astype("string").fillna("") if "place" in u else ""),
            _split=u["n_accounts"] > 1,
        ),
        METRICS,
        shares,
        tolerance,
        label_col="_label",
        splittable_col="_split",
        locked_col="locked" if same else None,
        current_col="current" if same else None,
    )


def _start_units(
    u: pd.DataFrame, start: TerritoryPlan | None, ids: list[str] | None, same: bool
) -> tuple[pd.DataFrame, str | None]:
    """Add the start plan's territory (rep) per unit in ``_start``.

    The column is used when ``start`` can be refined (same territories as reps): returns the units
    and ``"_start"``, else ``None`` as the column.
    """
    if start is None or not same:
        return u, None
    st_ids = u["unit_id"].astype(str).map(start.unit_territory.astype(str))
    u = u.assign(_start=st_ids.map(start.territory_rep).astype("string"))
    return u, ("_start" if u["_start"].isin(ids).all() else None)


@dataclass(frozen=True)
class _FirstStep:
    """The scenario's problem as the first step needs it."""

    n: int
    ids: list[str] | None
    shares: dict[str, float] | None
    tolerance: float
    continuity_weight: float
    fte_scaled: bool
    travel_weight: float


def _first_step(
    inputs: TerritoryInputs,
    u: pd.DataFrame,
    first: _FirstStep,
    centres_from: TerritoryPlan | None,
    cfg: SolverSettings,
) -> tuple[pd.Series, dict[str, str], float]:
    """Make a first, rough design without travel: only its regions matter.

    Territories are named T01.. from west to east and matched to reps (who keeps most customers,
    near home; with fewer territories than reps, full-time reps first); a territory left without a
    rep is a vacancy. Returns the unit -> territory series, territory -> rep, seconds.
    """
    fr = inputs.field_reps
    n, ids, fte_scaled = first.n, first.ids, first.fte_scaled
    same = ids is not None
    res = design_territories(
        u,
        n,
        metrics=METRICS,
        tolerance=first.tolerance,
        columns=UnitColumns(
            current_col="current" if same else None,
            locked_col="locked" if same else None,
            continuity_col="current_mrr",
        ),
        edges=inputs.edges,
        targets=Targets(territory_ids=ids, target_shares=first.shares),
        continuity_weight=first.continuity_weight if same else 0.0,
        initial_centres=_known_centres(centres_from),
        settings=cfg,
    )
    cen = res.territories.sort_values(["centre_longitude", "territory_id"])
    width = max(2, len(str(n)))
    rename = {t: f"T{i + 1:0{width}d}" for i, t in enumerate(cen["territory_id"].astype(str))}
    ut = pd.Series(
        res.assignment["territory_id"].astype(str).map(rename).to_numpy(),
        index=res.assignment["unit_id"].to_numpy(),
    )
    ua = pd.DataFrame({"unit_id": ut.index, "territory_id": ut.to_numpy()})
    tshare = {
        rename[str(t)]: float(v)
        for t, v in zip(
            res.territories["territory_id"], res.territories["target_share"], strict=True
        )
    }
    rshare = dict(zip(fr["rep_id"].astype(str), fr["fte"].fillna(1.0).astype(float), strict=True))
    # reps that manual changes lock units to keep a territory, whatever the territory count
    manual = u["manual"].fillna(False).astype(bool) if "manual" in u.columns else None
    required = (
        sorted(set(u.loc[manual, "current"].dropna().astype(str))) if manual is not None else []
    )
    candidates = _candidate_reps(fr, n)
    candidates += [r for r in required if r not in candidates]
    trep = match_territories_to_reps(
        ua,
        u,
        candidates,
        tshare if (same and fte_scaled) else None,
        rshare if (same and fte_scaled) else None,
        homes=fr[["rep_id", "home_latitude", "home_longitude"]],
        travel_weight=first.travel_weight,
        required=required,
    )
    # a territory the rough first design left without units still needs a rep or a vacancy
    vacancies = sum(str(r).startswith("VACANT-") for r in trep.values())
    for i, t in enumerate(sorted(set(rename.values()) - set(trep)), start=vacancies + 1):
        trep[t] = f"VACANT-{i:02d}"
    return ut, trep, float(res.summary["seconds"])


def _second_step(
    inputs: TerritoryInputs,
    u: pd.DataFrame,
    ut: pd.Series,
    trep: dict[str, str],
    tolerance: float,
    continuity_weight: float,
    fte_scaled: bool,
    same: bool,
    road_factor: float,
    speed_kmh: float,
    cfg: SolverSettings,
) -> dict[str, Any]:
    """The design around the reps' bases, balancing service plus travel from each base.

    Potential follows each territory's rep FTE, workload the rep's capacity (utilisation
    balanced; a vacancy counts as one full-time rep at the median hours per FTE). Returns the
    optimiser's ``result``, the ``bases``, per-unit ``service`` and ``travel`` (units x
    territories), ``names``, the ``shares`` per metric and the ``fixed`` territory of locked
    units (for the balance bound).
    """
    fr = inputs.field_reps
    bases = territory_bases(inputs, ut, trep)
    names = bases["territory_id"].astype(str).tolist()
    service, travel = travel_by_base(
        inputs,
        bases["base_latitude"].to_numpy(dtype=float),
        bases["base_longitude"].to_numpy(dtype=float),
        road_factor,
        speed_kmh,
    )
    rep_to_t = {r: t for t, r in trep.items()}
    ub = u.assign(
        workload_hours=service,
        _start=ut.reindex(u["unit_id"].astype(str)).to_numpy(),
        _current=u["current"].astype("string").map(rep_to_t).astype("string"),
    )
    rid = fr["rep_id"].astype(str)
    rshare = dict(zip(rid, fr["fte"].fillna(1.0).astype(float), strict=True))
    t_shares = {t: rshare.get(trep[t], 1.0) for t in names} if fte_scaled else None
    cap = fr.set_index(rid)["capacity_hours"].astype(float)
    per_fte = float(np.nanmedian(cap / fr.set_index(rid)["fte"].astype(float)))
    cap_share = {t: float(cap.get(trep[t], np.nan)) for t in names}
    cap_share = {t: v if np.isfinite(v) and v > 0 else per_fte for t, v in cap_share.items()}
    # locked units stay with their rep's territory; with fewer territories than reps, a unit
    # locked to a rep without a territory cannot be (manual changes always can: their reps
    # get a territory in the first step)
    lk_all = ub["locked"].astype(bool)
    if not same:
        ub["locked"] = lk_all & ub["_current"].notna()
    locked_ok = bool(ub["locked"].any()) and bool(
        ub.loc[ub["locked"].astype(bool), "_current"].notna().all()
    )
    if locked_ok:
        # a locked unit starts in its rep's territory (the first step's region may have gone to
        # another rep), and the search never moves it
        lk = ub["locked"].astype(bool).to_numpy()
        ub.loc[lk, "_start"] = ub.loc[lk, "_current"].to_numpy()
    res = design_territories(
        ub,
        len(names),
        metrics=METRICS,
        tolerance=tolerance,
        columns=UnitColumns(
            current_col="_current",
            locked_col="locked" if locked_ok else None,
            start_col="_start",
            continuity_col="current_mrr",
        ),
        edges=inputs.edges,
        targets=Targets(
            territory_ids=names,
            target_shares=t_shares,
            metric_shares={"workload_hours": cap_share} if fte_scaled else None,
        ),
        bases=Bases(
            locations=bases.rename(
                columns={"base_latitude": "latitude", "base_longitude": "longitude"}
            ),
            travel=travel,
            travel_metric="workload_hours",
        ),
        continuity_weight=continuity_weight,
        settings=cfg,
    )
    sh_p = np.array([(t_shares or {}).get(t, 1.0) for t in names])
    sh_w = np.array([cap_share[t] for t in names]) if fte_scaled else sh_p
    fixed = (
        np.where(
            ub["locked"].astype(bool).to_numpy(),
            ub["_current"].map({t: i for i, t in enumerate(names)}).fillna(-1).to_numpy(),
            -1,
        ).astype(np.int64)
        if locked_ok
        else None
    )
    return {
        "result": res,
        "bases": bases,
        "service": service,
        "travel": travel,
        "names": names,
        "shares": np.column_stack([sh_p / sh_p.sum(), sh_w / sh_w.sum()]),
        "fixed": fixed,
    }


def _feasibility(
    plan: TerritoryPlan,
    reach: dict[str, Any],
    u: pd.DataFrame,
    ut: pd.Series,
    tolerance: float,
    s2: dict[str, Any],
    bound: bool = True,
) -> dict[str, Any]:
    """Check the tolerance before the search and what was missed after it.

    When a territory misses the band, the LP bound (with ``bound``) says whether any plan could
    reach it.
    """
    out = {
        "feasible_by_bounds": reach["feasible"],
        "problems": reach["problems"],
        "risks": reach["risks"],
        "min_tolerance": reach["min_tolerance"],
        "largest_units": reach["largest_units"],
        "tolerance": tolerance,
    }
    short = shortfall(plan.territories, tolerance, METRICS, reach, u, ut)
    if bound and short and len(u) * len(s2["names"]) <= BOUND_MAX_VARIABLES:
        f = plan.territories[plan.territories["dev_potential_mrr"].notna()]
        best = float(f[["dev_potential_mrr", "dev_workload_hours"]].abs().max().max())
        out["bound"] = balance_bound(
            np.column_stack([u["potential_mrr"].to_numpy(dtype=float), s2["service"]]),
            s2["shares"],
            tolerance,
            travel=s2["travel"],
            travel_metric=1,
            fixed=s2["fixed"],
            upper=best,
        )
        short = shortfall(plan.territories, tolerance, METRICS, reach, u, ut, out["bound"])
    out["shortfall"] = short
    return out


def status_quo_plan(
    inputs: TerritoryInputs, road_factor: float = ROAD_FACTOR, speed_kmh: float = SPEED_KMH
) -> TerritoryPlan:
    """Today's postal-code territories measured like a scenario (units without owner: none)."""
    u = inputs.units
    acc = inputs.accounts
    # today's owner per account, as in the CRM
    assignment = pd.DataFrame(
        {
            "account_id": acc["account_id"].to_numpy(),
            "territory_id": acc["owner_id"]
            .astype("string")
            .where(~acc["key_account"], "key_accounts")
            .to_numpy(),
            "rep_id": acc["owner_id"].astype("string").to_numpy(),
            "previous_rep_id": acc["owner_id"].astype("string").to_numpy(),
            "changed": False,
            "locked": acc["key_account"].to_numpy(),
            "key_account": acc["key_account"].to_numpy(),
        }
    )
    terr = table_balance(territory_summary(assignment, acc, inputs.reps, road_factor, speed_kmh))
    # postal codes without accounts belong to the nearest owned postal code (for contiguity)
    filled = _fill_along_graph(u, inputs.edges)
    fte = inputs.field_reps.set_index(inputs.field_reps["rep_id"].astype(str))["fte"]
    has = filled.notna().to_numpy()
    shares = {str(t): _fte(fte, str(t)) for t in filled.dropna().unique()}
    quality = plan_quality(
        u[has],
        filled[has].astype(str).to_numpy(),
        METRICS,
        inputs.edges,
        weight_col="workload_hours",
        target_shares=shares,
    )
    quality["moved_share"] = 0.0
    quality["customers_changing_rep"] = 0.0
    quality["revenue_changing_rep"] = 0.0
    quality["potential_changing_rep"] = 0.0
    ft = terr[terr["territory_id"] != "key_accounts"]
    quality["mean_travel_km"] = float(
        np.average(ft["mean_travel_km"].fillna(0.0), weights=ft["n_accounts"])
    )
    quality.update(table_quality(terr))
    ut = pd.Series(filled.fillna("none").to_numpy(), index=u["unit_id"].to_numpy())
    trep = {str(t): str(t) for t in u["current"].dropna().unique()}
    return TerritoryPlan(
        _("today (postal-code ranges)"), ut, assignment, terr, quality, None, trep, u
    )


def compare_plans(plans: Sequence[TerritoryPlan]) -> pd.DataFrame:
    """Scenario table: one row per plan with balance, contiguity, compactness and continuity.

    Returns
    -------
    pandas.DataFrame
        ``scenario``, ``territories``, ``max_dev_potential``, ``max_dev_workload``,
        ``cv_potential``, ``cv_workload``, ``within_5pct``, ``contiguous``, ``compactness_km``,
        ``mean_travel_km``, ``customers_changing_rep``, ``revenue_changing_rep``,
        ``potential_changing_rep``.
    """
    rows = []
    for p in plans:
        q = p.quality
        rows.append(
            {
                "scenario": p.name,
                "territories": int(q["n_territories"]),
                "max_dev_potential": q["max_dev_potential_mrr"],
                "max_dev_workload": q["max_dev_workload_hours"],
                "cv_potential": q["cv_potential_mrr"],
                "cv_workload": q["cv_workload_hours"],
                "within_5pct": q["within_5pct"],
                "contiguous": int(q.get("contiguous", np.nan)),
                "compactness_km": q["compactness_km"],
                "mean_travel_km": q["mean_travel_km"],
                "customers_changing_rep": q["customers_changing_rep"],
                "revenue_changing_rep": q["revenue_changing_rep"],
                "potential_changing_rep": q["potential_changing_rep"],
            }
        )
    return pd.DataFrame(rows)


def pareto_front(
    inputs: TerritoryInputs,
    weights: Sequence[float] = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0),
    tolerance: float = 0.05,
    seed: int = 0,
    max_passes: int = 100,
    base: dict[float, TerritoryPlan] | None = None,
    max_iter: int = 1,
    start: TerritoryPlan | None = None,
    fte_scaled: bool = True,
    exchange_rounds: int = 6,
    both_repairs: bool = True,
) -> tuple[pd.DataFrame, dict[float, TerritoryPlan]]:
    """Trade-off between compactness and disruption for several continuity weights.

    Without ``start``, every weight gets its own design, and the front is wide: weights below
    the lowest weight in ``base`` (e.g. the proposal's) start from compact regions (around
    that plan's territory centres, or k-means++ without ``base``, named after today's
    territories), the others from today's territories. With ``start``
    every weight only refines that plan (cheap, but a narrow front).

    Parameters
    ----------
    inputs
        :func:`prepare_inputs` output.
    weights
        Continuity weights, one plan each.
    base
        Plans already computed for some weights (reused, not recomputed).
    max_passes, max_iter, start, exchange_rounds, both_repairs
        Optimiser effort per plan and a plan to refine (see :func:`run_scenario`).
    fte_scaled
        Scale each territory's targets by its rep's FTE.

    Returns
    -------
    (front, plans)
        ``front``: ``continuity_weight``, ``start`` (where the design started),
        ``compactness_km``, ``revenue_changing_rep``, ``customers_changing_rep``,
        ``max_dev_potential``, ``max_dev_workload``, ``pareto_optimal`` (no other plan is both
        more compact and less disruptive).
    """
    done = dict(base or {})
    pivot = min(done) if done else 1.0
    plans: dict[float, TerritoryPlan] = {}
    starts: dict[float, str] = {}
    for w in weights:
        if w in done:
            plans[w], starts[w] = done[w], "proposal"
            continue
        ws = "current" if w >= pivot else "kmeans"
        starts[w] = (
            "proposal" if start is not None else {"current": "today", "kmeans": "compact"}[ws]
        )
        plans[w] = run_scenario(
            inputs,
            tolerance=tolerance,
            continuity_weight=w,
            fte_scaled=fte_scaled,
            name=f"continuity {w:g}",
            start=start,
            centres_from=done.get(pivot) if ws == "kmeans" else None,
            settings=replace(
                SCENARIO_SETTINGS,
                seed=seed,
                max_passes=max_passes,
                max_iter=0 if start is not None else max_iter,
                warm_start=ws,
                exchange_rounds=exchange_rounds,
                both_repairs=both_repairs,
                bound=False,
            ),
        )
    front = pd.DataFrame(
        [
            {
                "continuity_weight": w,
                "start": starts[w],
                "compactness_km": p.quality["compactness_km"],
                "revenue_changing_rep": p.quality["revenue_changing_rep"],
                "customers_changing_rep": p.quality["customers_changing_rep"],
                "max_dev_potential": p.quality["max_dev_potential_mrr"],
                "max_dev_workload": p.quality["max_dev_workload_hours"],
            }
            for w, p in sorted(plans.items())
        ]
    )
    c = front["compactness_km"].to_numpy()
    d = front["revenue_changing_rep"].to_numpy()
    dominated = [
        bool(np.any((c <= c[i]) & (d <= d[i]) & ((c < c[i]) | (d < d[i]))))
        for i in range(len(front))
    ]
    front["pareto_optimal"] = ~np.array(dominated)
    return front, plans


def side_scenarios(
    inputs: TerritoryInputs,
    plan: TerritoryPlan,
    offsets: Sequence[int] = (-4, 4),
    tolerance: float = 0.05,
    scenario_tolerance: float = 0.03,
    continuity_weight: float = 1.0,
    fte_scaled: bool = True,
    seed: int = 0,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
    max_passes: int = 25,
) -> list[TerritoryPlan]:
    """Alternatives to the proposal at low cost: other territory counts and a tighter tolerance.

    Other counts start from the proposal's territory centres (merged or added to reach the
    count) with a lighter optimiser setting (two assignment LPs over the 6 nearest centres, three
    exchange rounds); the tighter tolerance refines the proposal itself (exchange rounds and
    local search only, no assignment LP).

    Parameters
    ----------
    inputs
        :func:`prepare_inputs` output.
    plan
        The proposal (its number of territories is the reference for ``offsets``).
    offsets
        Territory counts relative to the proposal's (counts below 1 are skipped).
    scenario_tolerance
        The tighter tolerance of the refined proposal.

    Returns
    -------
    list of TerritoryPlan
        One plan per valid offset, then the refined proposal.
    """
    n_main = int(plan.quality["n_territories"])
    cfg = replace(
        SCENARIO_SETTINGS,
        seed=seed,
        max_passes=max_passes,
        exchange_rounds=3,
        both_repairs=False,
        bound=False,
    )
    light: dict[str, Any] = {
        "continuity_weight": continuity_weight,
        "road_factor": road_factor,
        "speed_kmh": speed_kmh,
    }
    out = [
        run_scenario(
            inputs,
            n_main + off,
            tolerance=tolerance,
            centres_from=plan,
            settings=replace(cfg, max_iter=2, candidates=6),
            **light,
        )
        for off in offsets
        if n_main + off >= 1
    ]
    out.append(
        run_scenario(
            inputs,
            n_main,
            tolerance=scenario_tolerance,
            fte_scaled=fte_scaled,
            start=plan,
            settings=replace(cfg, max_iter=0),
            **light,
        )
    )
    return out


def scenario_arguments(proposal: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`run_scenario` from a flat record of a proposal.

    The territory phase stores its proposal as plain values (``n_territories``,
    ``tolerance``, ``continuity_weight``, ``fte_scaled``, ``road_factor``, ``speed_kmh``,
    ``seed``, ``max_passes``; the run folder's ``design.json``); the fields of
    :class:`ScenarioSettings` among them go into ``settings`` (based on
    :data:`SCENARIO_SETTINGS`, or on a ``settings`` entry), the others stay.
    """
    names = {f.name for f in fields(ScenarioSettings)}
    out = {k: v for k, v in proposal.items() if k not in names}
    changes = {k: v for k, v in proposal.items() if k in names and v is not None}
    out["settings"] = solver_settings(_scenario_settings(out.get("settings"), {}), **changes)
    return out
