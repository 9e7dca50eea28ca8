"""The trade-off between travel distance and disruption, for any geography.

:func:`distance_disruption_front` designs the same problem with rising weights on keeping units
in today's territories -- from pure distance (weight 0, the objective ``"compactness"`` or
``"bases"``) to the objective ``"disruption"`` (keep as much as the balance band allows) -- and
returns one row per plan with its distance and its disruption, the plans on the efficient front
marked. (The engagement's territory phase draws its own front with
:func:`~salesanalytics.analyses.territory.plan.pareto_front`, on the rep-level plan.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from salesanalytics.analyses.territory.optimiser import (
    Bases,
    SolverSettings,
    TerritoryResult,
    UnitColumns,
    design_territories,
)

__all__ = ["distance_disruption_front"]


def distance_disruption_front(
    units: pd.DataFrame,
    n_territories: int | None = None,
    *,
    weights: Sequence[float] = (0.0, 0.5, 2.0, 8.0),
    current_col: str,
    settings: SolverSettings | None = None,
    **problem: Any,
) -> tuple[pd.DataFrame, dict[str, TerritoryResult]]:
    """Plans from least distance to least disruption, and which of them are efficient.

    Parameters
    ----------
    units
        As for :func:`~salesanalytics.analyses.territory.optimiser.design_territories`, with
        today's territory in ``current_col``.
    n_territories
        Number of territories (default: today's).
    weights
        Continuity weights to try (0 = distance only); the objective ``"disruption"`` is added
        as the last plan.
    current_col
        Today's territory per unit (required: disruption is measured against it); it sets
        ``current_col`` of the ``columns`` given in ``problem``.
    settings
        Solver settings shared by every plan.
    **problem
        Further problem arguments of ``design_territories`` (metrics, tolerance, columns,
        edges, targets, bases, contiguity...); not ``objective`` or
        ``continuity_weight`` (the front sets them).

    Returns
    -------
    (front, results)
        ``front``: one row per plan: ``plan`` (``weight 0.5`` ... ``disruption``),
        ``continuity_weight``, ``distance_km`` (weighted mean distance of units to their
        territory's centre or base), ``disruption`` (share of the continuity value that
        changes territory), ``max_dev`` (largest deviation of any metric), ``n_contiguous``,
        ``efficient`` (no other plan is at least as good on both distance and disruption and
        better on one); ``results``: the plans by name.

    Raises
    ------
    ValueError
        If ``weights`` is empty or negative, or ``problem`` sets ``objective`` or
        ``continuity_weight``.
    """
    clash = sorted({"objective", "continuity_weight"} & set(problem))
    if clash:
        raise ValueError(f"the front sets {clash} itself; leave them out")
    if not len(weights) or min(weights) < 0:
        raise ValueError(f"weights must be non-negative continuity weights; got {list(weights)}")
    b = problem.get("bases")
    fixed = (
        isinstance(b, pd.DataFrame)
        or (isinstance(b, Bases) and (b.locations is not None or b.distance is not None))
        or problem.get("distance") is not None
    )
    cols = replace(problem.pop("columns", None) or UnitColumns(), current_col=current_col)
    runs: list[tuple[str, float, str]] = [
        (f"weight {w:g}", float(w), "bases" if fixed else "compactness")
        for w in sorted(set(weights))
    ]
    runs.append(("disruption", float(max(max(weights), 1.0)), "disruption"))
    rows, results = [], {}
    for name, w, objective in runs:
        res = design_territories(
            units,
            n_territories,
            columns=cols,
            continuity_weight=w,
            objective=objective,
            settings=settings,
            **problem,
        )
        results[name] = res
        s = res.summary
        rows.append(
            {
                "plan": name,
                "continuity_weight": w,
                "distance_km": float(s["compactness_km"]),
                "disruption": float(s["moved_share"]),
                "max_dev": max(float(v) for k, v in s.items() if k.startswith("max_dev_")),
                "n_contiguous": int(s["n_contiguous"]),
            }
        )
    front = pd.DataFrame(rows)
    d, m = front["distance_km"].to_numpy(), front["disruption"].to_numpy()
    dominated = (
        (d[None, :] <= d[:, None] + 1e-12)
        & (m[None, :] <= m[:, None] + 1e-12)
        & ((d[None, :] < d[:, None] - 1e-12) | (m[None, :] < m[:, None] - 1e-12))
    ).any(axis=1)
    front["efficient"] = ~dominated
    return front, results
