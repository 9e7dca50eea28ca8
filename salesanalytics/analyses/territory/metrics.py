"""Quality figures of a territory plan, computed independently of the optimiser.

Used to compare plans (the optimiser's scenarios, today's postal-code territories, k-means,
METIS, ...) on the same footing: balance per metric, contiguity, compactness and continuity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from salesanalytics.reference.geo import haversine_km

__all__ = ["balance_table", "count_pieces", "plan_quality", "table_balance", "table_quality"]

_NOT_FIELD = ("key_accounts", "locked", "unassigned")
"""Rows of a territory table that are not field territories (not balanced)."""


def balance_table(
    units: pd.DataFrame,
    territory: pd.Series | np.ndarray,
    metrics: Sequence[str],
    target_shares: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Totals per territory and their relative deviation from target.

    Parameters
    ----------
    units
        One row per unit with the numeric ``metrics`` columns.
    territory
        Territory id of every unit (aligned with ``units`` by position).
    metrics
        Columns to total.
    target_shares
        Territory -> relative size (e.g. FTE); default equal shares over the territories present.

    Returns
    -------
    pandas.DataFrame
        ``territory_id``, ``target_share``, then per metric its total, ``target_<m>`` and
        ``dev_<m>`` (total / target - 1).
    """
    terr = pd.Series(np.asarray(territory, dtype=object), index=units.index).astype("string")
    ids = sorted(terr.dropna().unique())
    if target_shares is None:
        shares = pd.Series(1.0, index=ids)
    else:
        shares = pd.Series({t: float(target_shares.get(t, 1.0)) for t in ids})
    shares = shares / shares.sum()
    out = pd.DataFrame({"territory_id": pd.array(ids, dtype="string")})
    out["target_share"] = shares.to_numpy()
    for m in metrics:
        tot = units[m].groupby(terr).sum().reindex(ids).fillna(0.0).to_numpy()
        target = shares.to_numpy() * units.loc[terr.notna(), m].sum()
        out[m] = tot
        out[f"target_{m}"] = target
        out[f"dev_{m}"] = np.where(target > 0, tot / np.where(target > 0, target, 1) - 1, 0.0)
    return out


def count_pieces(
    unit_ids: pd.Series | np.ndarray, territory: pd.Series | np.ndarray, edges: pd.DataFrame
) -> pd.Series:
    """Number of connected pieces of every territory on the given neighbour graph.

    Parameters
    ----------
    unit_ids
        Unit ids.
    territory
        Territory of each unit (same order).
    edges
        Neighbour pairs: first two columns are unit ids.

    Returns
    -------
    pandas.Series
        Pieces per territory id (1 = contiguous).
    """
    ids = pd.Index(np.asarray(unit_ids, dtype=object).astype(str))
    terr = np.asarray(territory, dtype=object).astype(str)
    a = ids.get_indexer(edges.iloc[:, 0].astype(str))
    b = ids.get_indexer(edges.iloc[:, 1].astype(str))
    ok = (a >= 0) & (b >= 0)
    a, b = a[ok], b[ok]
    same = terr[a] == terr[b]
    n = len(ids)
    g = sp.coo_matrix((np.ones(same.sum()), (a[same], b[same])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    df = pd.DataFrame({"t": terr, "c": comp})
    return df.groupby("t")["c"].nunique().rename("pieces")


def plan_quality(
    units: pd.DataFrame,
    territory: pd.Series | np.ndarray,
    metrics: Sequence[str],
    edges: pd.DataFrame | None = None,
    *,
    id_col: str = "unit_id",
    coord_cols: tuple[str, str] = ("latitude", "longitude"),
    planar: bool = False,
    weight_col: str | None = None,
    continuity_col: str | None = None,
    current: pd.Series | np.ndarray | None = None,
    target_shares: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Key figures of a plan: balance, contiguity, compactness, continuity.

    Parameters
    ----------
    units
        Units with ``id_col``, ``coord_cols`` and the ``metrics`` (plus ``weight_col`` /
        ``continuity_col`` when given).
    territory
        Territory of each unit (aligned by position).
    metrics
        Balanced metrics.
    edges
        Neighbour pairs (first two columns unit ids) for the contiguity count; without edges
        contiguity is not reported.
    weight_col
        Weight of each unit's distance to its territory centre (default the last metric).
    continuity_col, current
        Value kept with the current territory and today's territory per unit: the share of value
        changing territory is reported as ``moved_share``.
    target_shares
        Territory -> relative size.

    Returns
    -------
    dict
        ``n_territories``, ``max_dev_<m>``, ``cv_<m>``, ``within_3pct`` / ``within_5pct`` (share
        of territories with every metric inside ±3% / ±5%), ``contiguous`` (count),
        ``compactness_km`` (weighted mean distance of units to their territory's weighted
        centroid; haversine unless ``planar``), ``moved_share``.
    """
    terr = np.asarray(territory, dtype=object).astype(str)
    bt = balance_table(units, terr, metrics, target_shares)
    out: dict[str, float] = {"n_territories": float(len(bt))}
    worst = np.zeros(len(bt))
    for m in metrics:
        dev = bt[f"dev_{m}"].to_numpy()
        worst = np.maximum(worst, np.abs(dev))
        out[f"max_dev_{m}"] = float(np.max(np.abs(dev)))
        per_share = bt[m].to_numpy() / bt["target_share"].to_numpy()
        out[f"cv_{m}"] = (
            float(np.std(per_share) / np.mean(per_share)) if np.mean(per_share) else 0.0
        )
    out["within_3pct"] = float(np.mean(worst <= 0.03 + 1e-9))
    out["within_5pct"] = float(np.mean(worst <= 0.05 + 1e-9))
    if edges is not None:
        pieces = count_pieces(units[id_col], terr, edges)
        out["contiguous"] = float((pieces == 1).sum())
    w = units[weight_col or metrics[-1]].to_numpy(dtype=float)
    w = w + 0.05 * (w.mean() if w.mean() > 0 else 1.0)
    c1 = units[coord_cols[0]].to_numpy(dtype=float)
    c2 = units[coord_cols[1]].to_numpy(dtype=float)
    codes, inv = np.unique(terr, return_inverse=True)
    cw = np.bincount(inv, weights=w)
    m1 = np.bincount(inv, weights=w * c1) / cw
    m2 = np.bincount(inv, weights=w * c2) / cw
    if planar:
        d = np.hypot(c1 - m1[inv], c2 - m2[inv])
    else:
        d = haversine_km(c1, c2, m1[inv], m2[inv])
    out["compactness_km"] = float(np.sum(w * d) / np.sum(w))
    if current is not None and continuity_col is not None:
        cur = pd.Series(np.asarray(current, dtype=object)).astype("string")
        val = units[continuity_col].to_numpy(dtype=float)
        has = cur.notna().to_numpy()
        moved = has & (cur.fillna("").to_numpy() != terr)
        out["moved_share"] = float(val[moved].sum() / val[has].sum()) if val[has].sum() else 0.0
    return out


def table_balance(
    territories: pd.DataFrame,
    fte_scaled: bool = True,
    metrics: Sequence[str] = ("potential_mrr", "workload_hours"),
) -> pd.DataFrame:
    """Targets and deviations of the field territories, computed from the territory table itself.

    The target of a field territory is its share of the field total: its rep's FTE over the
    sum of FTE (``fte_scaled``; a vacant territory counts as one full-time rep) or an equal
    share. Workload follows the rep's capacity hours instead (when the table has
    ``capacity_hours``; a vacancy counts as one FTE at the median hours per FTE), so that a
    workload within the band means a utilisation within the band. Rows for key accounts,
    locked and unassigned accounts get no target.

    Parameters
    ----------
    territories
        :func:`~salesanalytics.analyses.territory.design.territory_summary` output (``territory_id``,
        ``fte`` and the ``metrics``).

    Returns
    -------
    pandas.DataFrame
        The table with ``target_share``, ``target_<m>`` and ``dev_<m>`` (total / target - 1)
        per metric added (missing outside the field territories).
    """
    t = territories.copy()
    field = ~t["territory_id"].astype(str).isin(_NOT_FIELD).to_numpy()
    share = t["fte"].astype("float64").where(t["fte"].notna() & (t["fte"] > 0), 1.0)
    if not fte_scaled:
        share = pd.Series(1.0, index=t.index)
    share = share.where(field)
    share = share / share.sum()
    t["target_share"] = share
    cap_share = None
    if fte_scaled and "capacity_hours" in t:
        cap = t["capacity_hours"].astype("float64")
        per_fte = (
            float(np.nanmedian(cap / t["fte"].astype("float64"))) if cap.notna().any() else 1.0
        )
        cap = cap.where(cap.notna() & (cap > 0), share.where(field) * 0 + per_fte).where(field)
        cap_share = cap / cap.sum()
    for m in metrics:
        total = t.loc[field, m].sum()
        sh = cap_share if (cap_share is not None and m == "workload_hours") else share
        t[f"target_{m}"] = sh * total
        tgt = t[f"target_{m}"]
        t[f"dev_{m}"] = (t[m] / tgt.where(tgt > 0) - 1).where(field)
    return t


def table_quality(
    territories: pd.DataFrame, metrics: Sequence[str] = ("potential_mrr", "workload_hours")
) -> dict[str, float]:
    """Balance figures of a plan from its territory table (:func:`table_balance` output).

    Returns
    -------
    dict
        ``max_dev_<m>``, ``cv_<m>`` (of total per target share), ``within_3pct``,
        ``within_5pct`` over the field territories.
    """
    f = territories[territories["dev_" + metrics[0]].notna()]
    out: dict[str, float] = {}
    worst = np.zeros(len(f))
    for m in metrics:
        dev = f[f"dev_{m}"].to_numpy(dtype=float)
        worst = np.maximum(worst, np.abs(dev))
        out[f"max_dev_{m}"] = float(np.max(np.abs(dev))) if len(dev) else 0.0
        per = f[m].to_numpy(dtype=float) / f["target_share"].to_numpy(dtype=float)
        out[f"cv_{m}"] = float(np.std(per) / np.mean(per)) if len(per) and np.mean(per) else 0.0
    out["within_3pct"] = float(np.mean(worst <= 0.03 + 1e-9)) if len(f) else 0.0
    out["within_5pct"] = float(np.mean(worst <= 0.05 + 1e-9)) if len(f) else 0.0
    return out
