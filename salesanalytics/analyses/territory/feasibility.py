"""What a balance tolerance allows: checked before the search, and said out loud after it.

Before the optimiser searches, :func:`reachability` computes what no plan can beat: a unit
that cannot be split and is larger than a territory's band, locked units that already
overfill their territory, fewer units with load than territories. After the search
:func:`shortfall` names the territories outside the band, the best deviation reached and what
would make the tolerance reachable (a wider band, splitting a named unit into account groups,
fewer territories). Both work on plain tables, for any geography.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.present.i18n import gettext as _

__all__ = ["reachability", "shortfall"]


def _pct(x: float) -> str:
    return f"{x:.1%}" if abs(x) < 0.1 else f"{x:.0%}"


def reachability(
    units: pd.DataFrame,
    metrics: Sequence[str],
    target_shares: Mapping[str, float],
    tolerance: float,
    *,
    id_col: str = "unit_id",
    label_col: str | None = None,
    splittable_col: str | None = None,
    locked_col: str | None = None,
    current_col: str | None = None,
) -> dict[str, Any]:
    """Bounds on the balance any plan can reach, computed before searching.

    Parameters
    ----------
    units
        One row per unit: ``id_col`` and the ``metrics`` (non-negative); optional
        ``label_col`` (a name for people, e.g. "8001 Zürich"), ``splittable_col`` (bool: the
        unit holds several accounts and could be split into account groups), ``locked_col``
        (bool) with ``current_col`` (the territory a locked unit stays in).
    metrics
        Balanced metrics.
    target_shares
        Territory id -> relative size (e.g. its rep's FTE); targets are the metric totals
        times the normalised shares.
    tolerance
        Allowed relative deviation (0.05 = ±5%).

    Returns
    -------
    dict
        ``feasible`` (False when a bound proves the tolerance unreachable), ``problems`` (plain
        sentences: which territories, which units, the best deviation possible, what would
        help), ``risks`` (units larger than a band's width: the tolerance may be hard to hit),
        ``min_tolerance`` (the smallest tolerance the bounds allow), ``largest_units`` (frame of
        the largest unit per metric against the smallest target).
    """
    shares = pd.Series({str(t): float(v) for t, v in target_shares.items()}, dtype=float)
    shares = shares / shares.sum()
    k = len(shares)
    problems: list[str] = []
    risks: list[str] = []
    min_tol = 0.0
    label = units[label_col].astype(str) if label_col else units[id_col].astype(str)
    split = (
        units[splittable_col].fillna(False).astype(bool)
        if splittable_col
        else pd.Series(False, index=units.index)
    )
    rows = []
    loaded = int((units[list(metrics)].sum(axis=1) > 0).sum())
    if loaded < k:
        problems.append(
            f"Only {loaded} units carry any potential or workload for {k} territories: at least "
            f"{k - loaded} territories would stay empty. Design fewer territories."
        )
        min_tol = max(min_tol, 1.0)
    for m in metrics:
        v = units[m].to_numpy(dtype=float)
        total = float(v.sum())
        if total <= 0:
            continue
        t_min = float(shares.min() * total)
        i = int(np.argmax(v))
        big = v[i]
        rows.append(
            {
                "metric": m,
                "unit": label.iloc[i],
                "value": big,
                "smallest_target": t_min,
                "share_of_target": big / t_min,
                "splittable": bool(split.iloc[i]),
            }
        )
        over = np.flatnonzero(v > t_min * (1 + tolerance))
        for j in over[np.argsort(-v[over])][:5]:
            need = v[j] / t_min - 1
            min_tol = max(min_tol, need) if not split.iloc[j] else min_tol
            fix = (
                "split it into account groups"
                if split.iloc[j]
                else f"give its territory a larger share or widen the band to ±{_pct(need)}"
            )
            problems.append(
                f"Unit {label.iloc[j]} alone holds {v[j] / t_min:.0%} of the smallest territory's "
                f"{m.replace('_', ' ')} target: whichever territory takes it ends at least "
                f"{_pct(need)} above target. To reach ±{tolerance:.0%}: {fix}."
            )
        band = 2 * tolerance * t_min
        wide = np.flatnonzero((v > band) & (v <= t_min * (1 + tolerance)))
        if len(wide):
            names = ", ".join(label.iloc[wide[np.argsort(-v[wide])][:3]].tolist())
            risks.append(
                f"{len(wide)} unit(s) are larger than the ±{tolerance:.0%} band of the smallest "
                f"territory on {m.replace('_', ' ')} (largest: {names}): hitting the band depends "
                "on how they combine."
            )
        if locked_col and current_col:
            lk = units[locked_col].fillna(False).astype(bool).to_numpy()
            cur = units[current_col].astype("string")
            per = pd.Series(v[lk]).groupby(cur[lk].to_numpy()).sum()
            for t, s in per.items():
                tgt = float(shares.get(str(t), np.nan) * total)
                if np.isfinite(tgt) and s > tgt * (1 + tolerance):
                    need = s / tgt - 1
                    min_tol = max(min_tol, need)
                    problems.append(
                        f"Territory {t}: its locked units alone hold {s / tgt:.0%} of its "
                        f"{m.replace('_', ' ')} target ({_pct(need)} above). Unlock some of them "
                        "or widen the band."
                    )
    return {
        "feasible": not problems,
        "problems": problems,
        "risks": risks,
        "min_tolerance": float(min_tol),
        "largest_units": pd.DataFrame(rows),
    }


def shortfall(
    table: pd.DataFrame,
    tolerance: float,
    metrics: Sequence[str] = ("potential_mrr", "workload_hours"),
    reach: Mapping[str, Any] | None = None,
    units: pd.DataFrame | None = None,
    unit_territory: pd.Series | None = None,
) -> list[str]:
    """Plain sentences on the territories that miss the tolerance after the search.

    Parameters
    ----------
    table
        Territory table with ``territory_id`` and ``dev_<m>`` per metric (missing outside the
        field territories), e.g. :func:`~salesanalytics.analyses.territory.metrics.table_balance`.
    tolerance
        The band asked for.
    reach
        :func:`reachability` output (its proven problems are repeated first).
    units, unit_territory
        Optional units (``unit_id``, ``postal_code``, ``place``, ``n_accounts`` and the
        metrics) and their territories: names the largest unit of each missing territory as a
        candidate to split.

    Returns
    -------
    list of str
        Empty when every territory is within the band.
    """
    f = table[table[f"dev_{metrics[0]}"].notna()].copy()
    worst = np.zeros(len(f))
    for m in metrics:
        worst = np.maximum(worst, f[f"dev_{m}"].abs().to_numpy(dtype=float))
    f["worst"] = worst
    miss = f[f["worst"] > tolerance + 1e-9].sort_values("worst", ascending=False)
    if miss.empty:
        return []
    out: list[str] = []
    if reach and reach.get("problems"):
        out.append(
            _("The tolerance cannot be reached with these units: ") + " ".join(reach["problems"])
        )
    parts = []
    for _i, r in miss.iterrows():
        devs = ", ".join(
            f"{_(m.replace('_mrr', '').replace('_hours', ''))} {r[f'dev_{m}']:+.1%}"
            for m in metrics
        )
        parts.append(f"{r['territory_id']} ({devs})")
    best = float(f["worst"].max())
    out.append(
        _("{n} of {total} territories miss ±{tolerance}: ").format(
            n=len(miss), total=len(f), tolerance=f"{tolerance:.0%}"
        )
        + "; ".join(parts)
        + ". "
        + _("The best plan found reaches ±{best}% on every territory.").format(
            best=f"{np.ceil(best * 1000) / 10:.1f}"
        )
    )
    helps = [_("a band of ±{band}%").format(band=f"{np.ceil(best * 100):.0f}")]
    if units is not None and unit_territory is not None and len(units):
        t = units["unit_id"].astype(str).map(unit_territory.astype(str))
        load = sum(
            units[m].to_numpy(dtype=float) / max(float(units[m].sum()), 1e-12) for m in metrics
        )
        names = []
        for tid in miss["territory_id"].astype(str).head(3):
            inside = np.flatnonzero((t == tid).to_numpy() & (units["n_accounts"] > 1).to_numpy())
            if len(inside):
                j = inside[np.argmax(load[inside])]
                row = units.iloc[j]
                place = row.get("place", "")
                names.append(f"{row['postal_code']} {place if pd.notna(place) else ''}".strip())
        if names:
            helps.append(
                _("splitting {postal_codes} into account groups").format(
                    postal_codes=", ".join(names)
                )
            )
    helps.append(_("fewer territories"))
    out.append(_("What would make it reachable: ") + _(", or ").join(helps) + ".")
    return out
