"""How many field territories the channel mix needs, and which field reps it leaves free.

One set of numbers: the channel phase owns the field workload of the proposed channel mix and
the capacity of one field FTE (``channel_summary``: ``workload_hours / fte_needed``). The field
territories carry that workload outside the key accounts (which go to key-account managers),
exactly as the roles phase sizes the field role (:func:`salesanalytics.roles.headcount`):

    territory FTE = (field workload - key-account field workload) / capacity of one field FTE

and the territory count is the smallest whole number of territories whose utilisation stays
within the balance band: ``ceil(FTE / (1 + tolerance))``, at least 1 (4.9 FTE -> 5
territories, 5.3 -> 6, 5.2 at ±5% -> 5 at 104%). Field reps without a territory are listed as
available for other roles (:func:`reps_available`), for the roles phase to read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.present import formats
from salesanalytics.present.i18n import gettext as _
from salesanalytics.reference import geo
from salesanalytics.reference.geo import ROAD_FACTOR, SPEED_KMH

__all__ = [
    "available_line",
    "capacity_line",
    "capacity_table",
    "count_line",
    "field_capacity",
    "plan_within_capacity",
    "propose",
    "reps_available",
    "territory_count",
    "travel_aware_count",
]


def territory_count(fte_needed: float, tolerance: float = 0.05) -> int:
    """Fewest territories whose utilisation stays within ``1 + tolerance`` (at least 1).

    Parameters
    ----------
    fte_needed
        Field FTE the territories' workload needs (workload / capacity of one FTE).
    tolerance
        The balance band (0.05 = ±5%): a territory may run up to 105% of a rep's capacity.

    Raises
    ------
    ValueError
        If ``fte_needed`` is negative or not finite, or ``tolerance`` is outside [0, 1).
    """
    if not (np.isfinite(fte_needed) and fte_needed >= 0):
        raise ValueError(f"fte_needed must be a finite number ≥ 0; got {fte_needed!r}")
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be in [0, 1) (0.05 = ±5%); got {tolerance!r}")
    return max(1, int(math.ceil(fte_needed / (1.0 + tolerance) - 1e-9)))


def _greedy_bases(cost: np.ndarray, n: int) -> np.ndarray:
    """Choose ``n`` columns of ``cost`` (accounts x candidate bases) greedily (k-median).

    Each chosen base is the one that lowers the accounts' summed cost to their nearest chosen base
    most.
    """
    chosen: list[int] = []
    best = np.full(cost.shape[0], np.inf)
    for _pick in range(min(n, cost.shape[1])):
        gain = np.minimum(best[:, None], cost).sum(axis=0)
        gain[chosen] = np.inf
        j = int(np.argmin(gain))
        chosen.append(j)
        best = np.minimum(best, cost[:, j])
    return np.array(chosen, dtype=np.int64)


def travel_aware_count(
    accounts: pd.DataFrame,
    field_reps: pd.DataFrame,
    capacity_hours_per_fte: float,
    start: int,
    tolerance: float = 0.05,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
) -> tuple[int, float, float]:
    """The territory count once travel is driven from the territories' own bases.

    The channel phase counts each account's travel from the nearest of *all* field reps' homes;
    with fewer territories than reps the travel grows. From ``start`` territories upwards,
    ``n`` bases are picked among the field reps' homes (greedy k-median on the accounts' yearly
    visit-km, full-time reps first) and the workload is service plus travel from the nearest
    picked base (the design's travel formula); the count is the first ``n`` whose workload
    needs at most ``n x (1 + tolerance)`` FTE.

    Parameters
    ----------
    accounts
        The field accounts: ``latitude``, ``longitude``, ``activity_hours``,
        ``visits_per_year``; optional ``key_account`` (those are left out).
    field_reps
        Active field reps: ``home_latitude``, ``home_longitude``; optional ``fte``.
    capacity_hours_per_fte
        Hours of one FTE (the channel phase's).
    start
        First count tried (the count without extra travel).

    Returns
    -------
    (n_territories, workload_hours, fte_needed)
        The count and, at it, the workload (service + travel) and the FTE it needs.
    """
    if "key_account" in accounts.columns:  # they go to key-account managers
        accounts = accounts[~accounts["key_account"].fillna(False).astype(bool)]
    lat = accounts["latitude"].to_numpy(dtype=float)
    lon = accounts["longitude"].to_numpy(dtype=float)
    visits = accounts["visits_per_year"].fillna(0.0).to_numpy(dtype=float)
    service = float(accounts["activity_hours"].fillna(0.0).sum())
    ok = np.isfinite(lat) & np.isfinite(lon)
    homes = field_reps.dropna(subset=["home_latitude", "home_longitude"])
    if "fte" in homes.columns:  # full-time reps first (stable: the table's order otherwise)
        homes = homes.assign(_f=homes["fte"].fillna(1.0)).sort_values("_f", ascending=False)
    if not len(homes) or not ok.any():
        return start, service, service / capacity_hours_per_fte
    km = geo.haversine_km(
        lat[ok][:, None],
        lon[ok][:, None],
        homes["home_latitude"].to_numpy(dtype=float)[None, :],
        homes["home_longitude"].to_numpy(dtype=float)[None, :],
    )
    hours = visits[ok][:, None] * 2 * np.asarray(km) * road_factor / speed_kmh
    n = max(1, start)
    while True:
        pick = _greedy_bases(hours, n)
        work = service + float(hours[:, pick].min(axis=1).sum())
        fte = work / capacity_hours_per_fte
        if fte <= n * (1 + tolerance) + 1e-9 or n >= len(homes):
            return (max(n, territory_count(fte, tolerance)), work, fte)
        n += 1


def field_capacity(
    channel_summary: pd.DataFrame | None,
    field_workload: pd.DataFrame | None,
    field_reps: pd.DataFrame,
    tolerance: float = 0.05,
    scenario: str = "proposed",
    accounts: pd.DataFrame | None = None,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = SPEED_KMH,
) -> pd.DataFrame | None:
    """The field territories' workload, the FTE it needs and the territory count, in one row.

    Parameters
    ----------
    channel_summary
        The channel phase's ``channel_summary``: ``scenario``, ``channel``, ``workload_hours``,
        ``fte_needed``; ``None`` when the channel phase did not run.
    field_workload
        The channel phase's ``field_workload``: ``workload_hours`` and ``key_account`` (bool)
        per account with field work; ``None`` when the channel phase did not run.
    field_reps
        Active field reps: ``rep_id``, optional ``fte`` (default 1).
    tolerance
        Balance band of the design (see :func:`territory_count`).
    scenario
        The channel scenario sized (default ``"proposed"``).
    accounts
        Optional accounts of the territories (:func:`travel_aware_count`): the count then
        allows for the travel from the territories' own bases (fewer bases than reps: longer
        drives); without them it is ``territory_count(fte_needed)``.
    road_factor, speed_kmh
        Travel model of the design.

    Returns
    -------
    pandas.DataFrame or None
        ``None`` when there is no channel phase or it gives no field FTE (no cost rates, no
        field workload): the design then keeps one territory per active field rep. Else one
        row: ``field_workload_hours`` (the channel mix's field workload),
        ``key_account_hours`` (of it, the key accounts'), ``territory_workload_hours`` (the
        rest: the territories' workload), ``capacity_hours_per_fte``, ``fte_needed``,
        ``n_territories_needed``, ``field_reps`` (active field reps), ``field_fte``.

    Raises
    ------
    KeyError
        If a table lacks a column, or ``channel_summary`` has no field row for ``scenario``.
    """
    if channel_summary is None or field_workload is None:
        return None
    for name, df, cols in (
        ("channel_summary", channel_summary, ["channel", "workload_hours", "fte_needed"]),
        ("field_workload", field_workload, ["workload_hours", "key_account"]),
        ("field_reps", field_reps, ["rep_id"]),
    ):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise KeyError(
                f"table '{name}' lacks column(s) {missing}; it has {list(df.columns)}. "
                "Run the channel phase first (it owns the field workload and FTE)."
            )
    cs = channel_summary
    if "scenario" in cs.columns:
        cs = cs[cs["scenario"].astype(str) == scenario]
    row = cs[cs["channel"].astype(str) == "field"]
    if len(row) != 1:
        raise KeyError(
            f"channel_summary has {len(row)} field row(s) for scenario {scenario!r}; expected one"
        )
    work = float(row["workload_hours"].iloc[0])
    fte = float(row["fte_needed"].iloc[0])
    if not (np.isfinite(fte) and fte > 0 and work > 0):
        return None
    cap = work / fte
    ka = float(
        field_workload.loc[
            field_workload["key_account"].fillna(False).astype(bool), "workload_hours"
        ].sum()
    )
    rest = max(work - ka, 0.0)
    need = rest / cap
    rep_fte = (
        pd.to_numeric(field_reps["fte"], errors="coerce").fillna(1.0)
        if "fte" in field_reps.columns
        else pd.Series(1.0, index=field_reps.index)
    )
    n_terr, from_bases, fte_bases = territory_count(need, tolerance), rest, need
    if accounts is not None:
        n_terr, from_bases, fte_bases = travel_aware_count(
            accounts, field_reps, cap, n_terr, tolerance, road_factor, speed_kmh
        )
    return pd.DataFrame(
        [
            {
                "field_workload_hours": work,
                "key_account_hours": ka,
                "territory_workload_hours": rest,
                "capacity_hours_per_fte": cap,
                "fte_needed": need,
                "workload_from_bases_hours": from_bases,
                "fte_from_bases": fte_bases,
                "n_territories_needed": n_terr,
                "field_reps": len(field_reps),
                "field_fte": float(rep_fte.sum()),
            }
        ]
    )


def reps_available(field_reps: pd.DataFrame, territory_rep: Mapping[str, str]) -> pd.DataFrame:
    """Active field reps who get no field territory: available for other roles.

    Parameters
    ----------
    field_reps
        Active field reps: ``rep_id``, ``name``; optional ``fte``, ``capacity_hours``,
        ``home_postal_code``.
    territory_rep
        Territory id -> rep id of the plan (vacancies ``VACANT-..`` are ignored).

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``name``, ``fte``, ``capacity_hours`` (and ``home_postal_code`` when
        given) of every field rep without a territory, sorted by name; empty (same columns)
        when every field rep has one.
    """
    missing = [c for c in ("rep_id", "name") if c not in field_reps.columns]
    if missing:
        raise KeyError(f"table 'field_reps' lacks column(s) {missing}")
    used = {str(r) for r in territory_rep.values()}
    cols = [
        c
        for c in ("rep_id", "name", "fte", "capacity_hours", "home_postal_code")
        if c in field_reps.columns
    ]
    out = field_reps.loc[~field_reps["rep_id"].astype(str).isin(used), cols].copy()
    out["rep_id"] = out["rep_id"].astype("string")
    out["name"] = out["name"].astype("string")
    return out.sort_values(["name", "rep_id"]).reset_index(drop=True)


def _fte(x: float) -> str:
    return formats.num(float(x), 1)


def capacity_line(capacity: pd.DataFrame) -> str:
    """One sentence for the client: the channel mix's field workload and the FTE it needs."""
    c = capacity.iloc[0]
    return _(
        "The proposed channel mix leaves {field} hours a year of field work; {key} of them on key "
        "accounts (for the key-account managers) and {territories} for the field territories: "
        "{fte} FTE at {per_fte} hours per FTE with travel from the nearest rep's home."
    ).format(
        field=formats.num(c["field_workload_hours"]),
        key=formats.num(c["key_account_hours"]),
        territories=formats.num(c["territory_workload_hours"]),
        fte=_fte(c["fte_needed"]),
        per_fte=formats.num(c["capacity_hours_per_fte"]),
    )


def count_line(capacity: pd.DataFrame) -> str:
    """One sentence for the client: why the plan has its number of territories."""
    c = capacity.iloc[0]
    n = int(c["n_territories_needed"])
    text = (
        _(
            "Served from fewer bases than today, the reps drive further: with {n} territories, "
            "service plus travel from their bases is {hours} hours a year ({fte} FTE), so the "
            "plan has {n} territories, against {reps} active field reps ({field_fte} FTE) today."
        )
        if n < int(c["field_reps"])
        else _(
            "With {n} territories, service plus travel from their bases is {hours} hours a year "
            "({fte} FTE), so the plan has {n} territories, against {reps} active field reps "
            "({field_fte} FTE) today."
        )
    )
    return text.format(
        n=n,
        hours=formats.num(c["workload_from_bases_hours"]),
        fte=_fte(c["fte_from_bases"]),
        reps=int(c["field_reps"]),
        field_fte=_fte(c["field_fte"]),
    )


def plan_within_capacity(
    inputs: Any,
    capacity: pd.DataFrame,
    tolerance: float = 0.05,
    max_designs: int = 3,
    **scenario: Any,
) -> tuple[Any, pd.DataFrame]:
    """Design with the count of :func:`field_capacity`, adding territories while capacity is short.

    The redesign runs while the reps' workload -- service plus travel from their own bases, as
    designed -- exceeds their capacity by more than the tolerance.

    The count before the design rests on an estimate of the travel (accounts to their nearest
    base); a balanced plan drives further. After each design the fleet's utilisation ``U``
    (workload over the capacity of the territories' reps) gives the next count
    ``ceil(n x U / (1 + tolerance))``, at most ``max_designs`` designs.

    Parameters
    ----------
    inputs
        :func:`~salesanalytics.analyses.territory.plan.prepare_inputs` output.
    capacity
        :func:`field_capacity` output (not ``None``).
    tolerance
        The balance band (also the utilisation allowed above 100%).
    max_designs
        Most designs run.
    **scenario
        Further arguments of :func:`~salesanalytics.analyses.territory.plan.run_scenario`
        (not ``n_territories``).

    Returns
    -------
    (plan, capacity)
        The last plan, and ``capacity`` with ``n_territories_needed``,
        ``workload_from_bases_hours`` and ``fte_from_bases`` taken from it (its field
        territories' workload as designed) and ``designs`` (how many were run).
    """
    from salesanalytics.analyses.territory.plan import run_scenario

    if "n_territories" in scenario:
        raise ValueError("plan_within_capacity sets n_territories itself; leave it out")
    cap = capacity.copy()
    per_fte = float(cap["capacity_hours_per_fte"].iloc[0])
    n = int(cap["n_territories_needed"].iloc[0])
    designs = 0
    while True:
        plan = run_scenario(inputs, n, tolerance=tolerance, **scenario)
        designs += 1
        f = plan.territories[plan.territories["dev_potential_mrr"].notna()]
        work = float(f["workload_hours"].sum())
        util = work / max(float(f["capacity_hours"].sum()), 1e-9)
        nxt = max(n + 1, int(math.ceil(n * util / (1 + tolerance) - 1e-9)))
        if util <= 1 + tolerance + 1e-9 or designs >= max_designs:
            break
        n = nxt
    cap["n_territories_needed"] = n
    cap["workload_from_bases_hours"] = work
    cap["fte_from_bases"] = work / per_fte
    cap["designs"] = designs
    return plan, cap


def propose(
    inputs: Any, capacity: pd.DataFrame | None, proposal: dict[str, Any], name: str = "proposal"
) -> tuple[Any, pd.DataFrame | None, dict[str, Any]]:
    """Design the territory phase's proposal.

    With ``proposal["n_territories"]`` unset and a ``capacity`` table, as many territories as the
    field workload needs (:func:`plan_within_capacity`), else
    :func:`~salesanalytics.analyses.territory.plan.run_scenario` with the given count (unset: one
    per active field rep). ``proposal`` is a flat record
    (:func:`~salesanalytics.analyses.territory.plan.scenario_arguments`).

    Returns
    -------
    (plan, capacity, proposal)
        The plan, the capacity table (updated by :func:`plan_within_capacity`) and the
        proposal parameters with the count used (so that a rerun gives the same plan).
    """
    from salesanalytics.analyses.territory.plan import run_scenario, scenario_arguments

    proposal = dict(proposal)
    if proposal.get("n_territories") is None and capacity is not None:
        rest = {k: v for k, v in proposal.items() if k != "n_territories"}
        plan, capacity = plan_within_capacity(
            inputs, capacity, name=name, **scenario_arguments(rest)
        )
        proposal["n_territories"] = int(capacity["n_territories_needed"].iloc[0])
        return plan, capacity, proposal
    return run_scenario(inputs, **scenario_arguments(proposal), name=name), capacity, proposal


def capacity_table(
    capacity: pd.DataFrame | None, plan: Any, field_reps: pd.DataFrame
) -> pd.DataFrame:
    """The territory phase's ``field_capacity`` table: :func:`field_capacity` plus the plan.

    Parameters
    ----------
    capacity
        :func:`field_capacity` output, or ``None`` (no channel phase: its columns stay empty).
    plan
        The proposal (:class:`~salesanalytics.analyses.territory.plan.TerritoryPlan`): its territory
        count and reps.
    field_reps
        Active field reps (``rep_id``; optional ``fte``).

    Returns
    -------
    pandas.DataFrame
        One row: the :func:`field_capacity` columns, ``n_territories`` (the plan's),
        ``reps_in_territories``, ``reps_available``, ``vacancies``.
    """
    cols = [
        "field_workload_hours",
        "key_account_hours",
        "territory_workload_hours",
        "capacity_hours_per_fte",
        "fte_needed",
        "workload_from_bases_hours",
        "fte_from_bases",
        "n_territories_needed",
        "field_reps",
        "field_fte",
    ]
    row: dict[str, Any] = (
        capacity.iloc[0].to_dict() if capacity is not None else dict.fromkeys(cols, np.nan)
    )
    if capacity is None:
        row["field_reps"] = len(field_reps)
        row["field_fte"] = (
            float(pd.to_numeric(field_reps["fte"], errors="coerce").fillna(1.0).sum())
            if "fte" in field_reps.columns
            else float(len(field_reps))
        )
    field_ids = set(field_reps["rep_id"].astype(str))
    reps = [str(r) for r in plan.territory_rep.values()]
    row["n_territories"] = len(reps)
    row["reps_in_territories"] = sum(r in field_ids for r in reps)
    row["vacancies"] = sum(r.startswith("VACANT-") for r in reps)
    row["reps_available"] = len(field_ids) - row["reps_in_territories"]
    out = pd.DataFrame([row])
    out["n_territories_needed"] = out["n_territories_needed"].astype("Float64").astype("Int64")
    out["field_reps"] = out["field_reps"].astype("int64")
    return out


def available_line(available: pd.DataFrame, n_territories: int) -> str:
    """One sentence: the field reps without a territory, available for other roles.

    Parameters
    ----------
    available
        :func:`reps_available` output (``fte`` optional).
    n_territories
        The plan's number of field territories.
    """
    n_terr = int(n_territories)
    if not len(available):
        return _("Every active field rep has one of the {n} territories.").format(n=n_terr)
    fte = float(available["fte"].fillna(1.0).sum()) if "fte" in available else float(len(available))
    return _(
        "{n} field reps ({fte} FTE) get none of the {n_territories} field territories: the "
        "proposed channel mix does not need them in the field, so they are available for other "
        "roles (tele or online sales, key accounts; see the role profiles)."
    ).format(n=len(available), fte=_fte(fte), n_territories=n_terr)
