"""The territory notebook's tables and findings in plain words (no drawing).

The charts and the what-if widget are in :mod:`salesanalytics.analyses.territory.plots`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesanalytics.analyses.territory.capacity import capacity_line
from salesanalytics.analyses.territory.design import n_territories_for_capacity
from salesanalytics.analyses.territory.metrics import balance_table
from salesanalytics.analyses.territory.plan import (
    METRICS,
    TerritoryInputs,
    TerritoryPlan,
)
from salesanalytics.present import formats
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "base_table",
    "check_same_plan",
    "feasibility_lines",
    "deviation_table",
    "input_summary",
    "plan_findings",
    "rep_homes",
    "scenario_findings",
    "territory_labels",
    "unit_table",
]


def _neighbourhood(i: dict) -> str:
    """The neighbourhood sentence: shared borders of polygons, or neighbours of points."""
    src = i.get("neighbours_from", "polygons")
    if src == "polygons":
        return _(
            "Postal-code neighbourhood: {edges} shared borders; {hosted} postal codes without an "
            "area of their own (PO boxes, company codes) belong to the area that contains them; "
            "{bridges} bridges between separate areas."
        ).format(
            edges=formats.num(i["graph_polygon_edges"]),
            hosted=formats.num(i.get("graph_hosted_codes", 0)),
            bridges=formats.num(i["graph_bridges"]),
        )
    where = f" ({i['countries']})" if i.get("countries") else ""
    how = (
        _(
            "shared borders of the Swiss polygons; elsewhere neighbouring cells around the postal "
            "codes' points, without links across the sea, large lakes or long gaps, across a "
            "border only near it"
        )
        if src != "points"
        else _(
            "neighbouring cells around the postal codes' points, without links across the sea, "
            "large lakes or long gaps, across a border only near it"
        )
    )
    return _(
        "Postal-code neighbourhood{where}: {pairs} neighbour pairs ({how}); {links} links added "
        "between separate areas."
    ).format(
        where=where,
        pairs=formats.num(i["graph_polygon_edges"]),
        how=how,
        links=formats.num(i.get("postal_graph_bridges", 0) + i["graph_bridges"]),
    )


def input_summary(inputs: TerritoryInputs, capacity: pd.DataFrame | None = None) -> list[str]:
    """Plain-language summary of the territory inputs (accounts, units, workload, capacity).

    With ``capacity`` (:func:`~salesanalytics.analyses.territory.capacity.field_capacity`: the channel
    phase's field workload and FTE) the territory count is that table's, not recomputed here.
    """
    i = inputs.info
    cap = inputs.field_reps["capacity_hours"]
    need = (
        n_territories_for_capacity(i["total_workload_hours"], float(cap.mean())) if len(cap) else 0
    )
    lines = [
        _(
            "{accounts} accounts; {key} key accounts are carved out to the key-account managers; "
            "{scope} accounts in {codes} postal codes are distributed over the field territories."
        ).format(
            accounts=formats.num(i["n_accounts"]),
            key=formats.num(i["n_key_accounts"]),
            scope=formats.num(i["n_scope_accounts"]),
            codes=formats.num(i.get("n_postal_codes_with_accounts", i["n_units_with_accounts"])),
        ),
        _(
            "{units} of the largest customer relationships are units of their own (they can stay "
            "with their rep while their postal code moves); {split} large postal codes are split "
            "into {pieces} groups of accounts."
        ).format(
            units=formats.num(i.get("n_customer_units", 0)),
            split=formats.num(i.get("n_postal_codes_split", 0)),
            pieces=formats.num(i.get("n_account_pieces", 0)),
        ),
        _(
            "Accounts without postal code (kept with their owner): {without_code}; without a "
            "potential estimate (counted as 0): {without_potential}."
        ).format(
            without_code=formats.num(i["n_without_postal_code"]),
            without_potential=formats.num(i["n_without_potential"]),
        ),
        _neighbourhood(i),
    ]
    if capacity is not None:
        lines.append(capacity_line(capacity))
    else:
        lines.append(
            _(
                "Field workload: {workload} hours a year against a capacity of {capacity} hours "
                "of {reps} active field reps; at {per_rep} hours per rep the workload needs {need} "
                "territories."
            ).format(
                workload=formats.num(i["total_workload_hours"]),
                capacity=formats.num(i["field_capacity_hours"]),
                reps=formats.num(i["n_field_reps"]),
                per_rep=formats.num(float(cap.mean()) if len(cap) else 0),
                need=need,
            )
        )
    return lines


def rep_homes(field_reps: pd.DataFrame) -> pd.DataFrame:
    """Home bases of reps for maps: ``latitude``, ``longitude``, ``label`` (needs ``home_*``)."""
    r = field_reps.dropna(subset=["home_latitude", "home_longitude"])
    return pd.DataFrame(
        {
            "latitude": r["home_latitude"].to_numpy(dtype=float),
            "longitude": r["home_longitude"].to_numpy(dtype=float),
            "label": r["name"].astype(str).to_numpy() if "name" in r else r["rep_id"].astype(str),
        }
    )


def territory_labels(plan: TerritoryPlan) -> dict[str, str]:
    """Label per territory for maps: its id (``T07``)."""
    return {str(t): str(t) for t in plan.unit_territory.unique()}


def deviation_table(plan: TerritoryPlan) -> pd.DataFrame:
    """Each field territory's deviation from its target, as in the plan's territory table.

    Parameters
    ----------
    plan
        A scenario or today's plan; ``plan.territories`` carries ``target_<m>`` and ``dev_<m>``
        (:func:`~salesanalytics.analyses.territory.metrics.table_balance`): workload is service time plus
        travel from the territory's base, exactly as the table shows it.

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``target_share``, per metric its total, ``target_<m>`` and ``dev_<m>``,
        and ``label``: the territory with its rep's name (``T01 · Lea Widmer``; today's
        territories, named by their rep, show the name only), for charts.
    """
    t = plan.territories
    if "dev_potential_mrr" not in t:  # a table without targets: balance of its own rows
        shares = dict(zip(t["territory_id"].astype(str), t["fte"].fillna(1.0), strict=True))
        out = balance_table(t, t["territory_id"].astype(str).to_numpy(), METRICS, shares)
    else:
        f = t[t["dev_potential_mrr"].notna()]
        cols = ["territory_id", "target_share"]
        for m in METRICS:
            cols += [m, f"target_{m}", f"dev_{m}"]
        out = f[cols].reset_index(drop=True)
    if "rep_name" in t.columns:
        names = dict(
            zip(t["territory_id"].astype(str), t["rep_name"].astype("string"), strict=True)
        )
        reps = dict(zip(t["territory_id"].astype(str), t["rep_id"].astype("string"), strict=True))
        out["label"] = [
            str(tid)
            if pd.isna(names.get(str(tid), pd.NA))
            else str(names[str(tid)])
            if reps.get(str(tid)) == str(tid)
            else f"{tid} · {names[str(tid)]}"
            for tid in out["territory_id"]
        ]
    return out


def plan_findings(plan: TerritoryPlan, status_quo: TerritoryPlan, tolerance: float) -> list[str]:
    """Headline findings of a plan against today's, in plain words.

    Every balance figure is derived from the plan's territory table (``plan.territories``, the
    table the report shows): workload there is service time plus travel from each rep's base.
    """
    q, s = plan.quality, status_quo.quality
    dev = deviation_table(plan)
    n = len(dev)
    worst = np.maximum(dev["dev_potential_mrr"].abs(), dev["dev_workload_hours"].abs())
    n_in = int((worst <= tolerance + 1e-9).sum())
    sq = deviation_table(status_quo)
    t = plan.territories
    f = t[t["dev_potential_mrr"].notna()] if "dev_potential_mrr" in t else t
    util = f["utilisation"].dropna()
    lines = [
        _(
            "{n} territories: {n_in} of {n} are within ±{tolerance} of their target on both "
            "potential and workload (service time plus travel from the rep's base); the largest "
            "deviation is {dev_potential} on potential and {dev_workload} on workload (today: "
            "{today_potential} and {today_workload})."
        ).format(
            n=n,
            n_in=n_in,
            tolerance=formats.pct(tolerance, 0),
            dev_potential=formats.pct(dev["dev_potential_mrr"].abs().max(), 1),
            dev_workload=formats.pct(dev["dev_workload_hours"].abs().max(), 1),
            today_potential=formats.pct(sq["dev_potential_mrr"].abs().max(), 0),
            today_workload=formats.pct(sq["dev_workload_hours"].abs().max(), 0),
        ),
    ]
    if len(util):
        lines.append(
            _(
                "Utilisation of the reps' capacity runs from {low} to {high}; travel is {travel} "
                "of the field workload ({travel_hours} of {workload_hours} hours a year)."
            ).format(
                low=formats.pct(util.min(), 0),
                high=formats.pct(util.max(), 0),
                travel=formats.pct(
                    f["travel_hours"].sum() / max(f["workload_hours"].sum(), 1e-9), 0
                ),
                travel_hours=formats.num(f["travel_hours"].sum()),
                workload_hours=formats.num(f["workload_hours"].sum()),
            )
        )
    vac = plan.bases[plan.bases["vacant"]] if len(plan.bases) and "vacant" in plan.bases else None
    if vac is not None and len(vac):
        where = ", ".join(
            _("{territory} (suggested base {postal_code} {place})").format(
                territory=r.territory_id, postal_code=r.base_postal_code, place=r.base_place
            )
            for r in vac.itertuples()
        )
        lines.append(
            _(
                "{n_vacant} of {n} territories are vacant (more territories than field reps): "
                "{where}; their workload counts travel from the suggested base."
            ).format(n_vacant=len(vac), n=n, where=where)
        )
    lines += [
        _(
            "Spread across territories (coefficient of variation) falls from {before_potential} "
            "to {after_potential} for potential and from {before_workload} to {after_workload} "
            "for workload."
        ).format(
            before_potential=formats.pct(s["cv_potential_mrr"], 0),
            after_potential=formats.pct(q["cv_potential_mrr"], 0),
            before_workload=formats.pct(s["cv_workload_hours"], 0),
            after_workload=formats.pct(q["cv_workload_hours"], 0),
        ),
        _(
            "{contiguous} of {n} territories are one connected area on the map (today "
            "{today_contiguous} of {today_n}); mean travel per visit {km} km (today {today_km} km)."
        ).format(
            contiguous=int(q.get("contiguous", 0)),
            n=n,
            today_contiguous=int(s.get("contiguous", 0)),
            today_n=int(s["n_territories"]),
            km=formats.num(q["mean_travel_km"]),
            today_km=formats.num(s["mean_travel_km"]),
        ),
        _(
            "{customers} of customers ({revenue} of monthly revenue, {potential} of potential) "
            "change rep."
        ).format(
            customers=formats.pct(q["customers_changing_rep"], 0),
            revenue=formats.pct(q["revenue_changing_rep"], 0),
            potential=formats.pct(q["potential_changing_rep"], 0),
        ),
    ]
    lines += list(plan.feasibility.get("shortfall", []))
    return lines


def base_table(plan: TerritoryPlan) -> pd.DataFrame:
    """Client table of the territories' bases: rep, base postal code and place, vacancy.

    Returns
    -------
    pandas.DataFrame
        ``Territory``, ``Rep``, ``Base``, ``Vacant`` ("yes: suggested base" / "no"), one row
        per field territory.
    """
    b = plan.bases
    if b.empty:
        return pd.DataFrame(columns=[_("Territory"), _("Rep"), _("Base"), _("Vacant")])
    names = plan.territories.drop_duplicates("territory_id").set_index("territory_id")["rep_name"]
    return pd.DataFrame(
        {
            _("Territory"): b["territory_id"].astype(str).to_numpy(),
            _("Rep"): b["territory_id"]
            .map(names)
            .fillna(_("vacant (to hire)"))
            .astype(str)
            .to_numpy(),
            _("Base"): (
                b["base_postal_code"].astype(str)
                + " "
                + b["base_place"].astype("string").fillna("")
            )
            .str.strip()
            .to_numpy(),
            _("Vacant"): np.where(b["vacant"], _("yes: suggested base"), _("no")),
        }
    )


def feasibility_lines(plan: TerritoryPlan) -> list[str]:
    """Say in plain words what the tolerance allows.

    Proven limits before the search and the territories that miss the band after it (empty when
    every territory is within it).
    """
    f = plan.feasibility
    if not f:
        return []
    return list(f.get("shortfall", []))


def check_same_plan(plan: TerritoryPlan, assignment: pd.DataFrame) -> None:
    """Check that ``plan`` assigns every account as the territory phase did.

    The scenario notebook recomputes the proposal from the territory phase's design parameters
    (the optimiser is deterministic) as the reference for its alternatives; this check makes sure
    the alternatives are compared with the plan the client received.

    Parameters
    ----------
    plan
        The recomputed proposal.
    assignment
        The territory phase's ``assignment`` table; required columns ``account_id`` and
        ``territory_id``.

    Raises
    ------
    ValueError
        If any account is in another territory, naming how many and examples.
    """
    missing = [c for c in ("account_id", "territory_id") if c not in assignment.columns]
    if missing:
        raise ValueError(f"assignment table lacks column(s) {missing}; pass territory/assignment")
    mine = plan.assignment.set_index(plan.assignment["account_id"].astype(str))["territory_id"]
    theirs = assignment.set_index(assignment["account_id"].astype(str))["territory_id"]
    both = mine.astype("string").reindex(theirs.index)
    diff = both.fillna("<none>") != theirs.astype("string").fillna("<none>")
    if diff.any():
        ex = ", ".join(f"{a}: {both[a]} vs {theirs[a]}" for a in diff[diff].index[:5])
        raise ValueError(
            f"the recomputed proposal differs from the territory phase's for {int(diff.sum())} "
            f"account(s) (e.g. {ex}); rerun the territory phase with this package version "
            "(salesanalytics run --phase territory territory_scenarios)"
        )


def scenario_findings(comparison: pd.DataFrame, front: pd.DataFrame, tolerance: float) -> list[str]:
    """Headline findings of the scenario table and the compactness/continuity front.

    Parameters
    ----------
    comparison
        :func:`~salesanalytics.analyses.territory.plan.compare_plans` output whose first two rows are
        today's plan and the proposal (columns ``scenario``, ``territories``,
        ``max_dev_potential``, ``max_dev_workload``, ``within_5pct``).
    front
        :func:`~salesanalytics.analyses.territory.plan.pareto_front` output (``continuity_weight``,
        ``compactness_km``, ``revenue_changing_rep``, ``max_dev_potential``,
        ``max_dev_workload``).
    tolerance
        The proposal's tolerance: designs on the front outside it are named as such.
    """
    lines = []
    alt = comparison.iloc[2:]
    if len(alt):
        worst = np.maximum(alt["max_dev_potential"], alt["max_dev_workload"])
        parts = [
            _("{scenario}: largest deviation {deviation}").format(
                scenario=_(str(name)), deviation=formats.pct(w, 0)
            )
            for name, w in zip(alt["scenario"], worst, strict=True)
        ]
        lines.append(
            _(
                "Alternatives to the proposal (largest deviation of any territory from its target, "
                "potential or workload): "
            )
            + "; ".join(parts)
            + "."
        )
    if len(front) >= 2:
        f = front.sort_values("continuity_weight")
        lo, hi = f.iloc[0], f.iloc[-1]
        lines.append(
            _(
                "Compactness against continuity: from {lo_km} km with {lo_revenue} of revenue "
                "changing rep (continuity weight {lo_weight}) to {hi_km} km with {hi_revenue} "
                "(weight {hi_weight})."
            ).format(
                lo_km=formats.num(lo["compactness_km"], 1),
                lo_revenue=formats.pct(lo["revenue_changing_rep"], 0),
                lo_weight=formats.plain(lo["continuity_weight"]),
                hi_km=formats.num(hi["compactness_km"], 1),
                hi_revenue=formats.pct(hi["revenue_changing_rep"], 0),
                hi_weight=formats.plain(hi["continuity_weight"]),
            )
        )
        dev = np.maximum(f["max_dev_potential"], f["max_dev_workload"])
        off = f.loc[dev > tolerance + 1e-9, "continuity_weight"]
        if len(off):
            lines.append(
                _(
                    "Designs on the front outside the ±{tolerance} balance: continuity weight "
                    "{weights}."
                ).format(
                    tolerance=formats.pct(tolerance, 0),
                    weights=", ".join(formats.plain(w) for w in off),
                )
            )
    return lines


def unit_table(plan: TerritoryPlan, inputs: TerritoryInputs) -> pd.DataFrame:
    """Postal-code units with their territory and rep in the plan (for maps in later phases)."""
    u = inputs.units.copy()
    u["territory_id"] = (
        u["unit_id"].astype(str).map(plan.unit_territory.astype(str)).astype("string")
    )
    u["rep_id"] = u["territory_id"].map(plan.territory_rep).astype("string")
    return u
