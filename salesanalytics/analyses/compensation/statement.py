"""The pay statement in words: one explained line per booster, measure, plan cap, clawback,
contest, draw and total, built from the payout engine's steps
(:mod:`salesanalytics.analyses.compensation.engine`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.compensation.actuals import MEASURES
from salesanalytics.analyses.compensation.plan import Plan
from salesanalytics.present import formats

__all__ = ["STATEMENT_COLUMNS", "statement_lines"]


STATEMENT_COLUMNS = [
    "rep_id",
    "line",
    "kind",
    "measure",
    "description",
    "basis",
    "quota",
    "attainment",
    "factor",
    "amount",
]


def _customer(row: Any) -> str:
    """The customer of a clawed-back deal by name, the deal's CRM id last (to find it)."""
    name = getattr(row, "customer", None)
    if name is None or pd.isna(name) or not str(name).strip():
        return f"customer of deal {row.deal_id}"
    return f"{name} (deal {row.deal_id})"


def _quota_origin(row: Any) -> str:
    """How a measure's quota was set, in words, for the statement."""
    src = getattr(row, "quota_source", "plan")
    if src == "plan":
        text = "fixed in the plan"
    else:
        q = float(row.auto_q)
        level = "median" if abs(q - 0.5) < 1e-9 else f"{q:.0%} percentile"
        if src == "prior":
            text = f"the role's {level} of the prior year's results"
            growth = float(getattr(row, "growth_target", 0.0) or 0.0)
            if growth:
                text += f" plus a growth target of {formats.pct(growth, 0)}"
        else:
            text = f"the role's {level} of this year's results (no prior year available)"
    if bool(row.by_potential):
        text += ", scaled to the territory's potential"
    if row.kind == "deal" and float(row.prorate) < 0.999:
        text += (
            f", prorated to {formats.pct(float(row.prorate), 0)} (part-time or joined in the year)"
        )
    return text


def statement_lines(
    plan: Plan,
    rm: pd.DataFrame,
    d: pd.DataFrame,
    t: pd.DataFrame,
    claw: pd.DataFrame,
    contests: pd.DataFrame,
    booster_rows: list,
) -> pd.DataFrame:
    """The explained statement lines (one small set of lines per kind, then sorted per rep).

    Parameters
    ----------
    plan
        The incentive plan.
    rm, d, t, claw, contests, booster_rows
        The payout engine's rep-measure frame, credited deals, rep totals, clawed-back deals,
        contest awards and booster hits.

    Returns
    -------
    pandas.DataFrame
        :data:`STATEMENT_COLUMNS`; the ``amount`` lines of a rep sum to its incentive.
    """
    names = {m: MEASURES.get(m, {}).get("name", m) for m in rm["measure"].unique()}
    lines = (
        _booster_lines(d, booster_rows, names)
        + _measure_lines(plan, rm, names)
        + _cap_and_draw_lines(plan, t)
        + _clawback_lines(claw)
        + _contest_lines(contests)
        + _total_lines(t)
    )
    return _ordered(lines)


def _booster_lines(d: pd.DataFrame, booster_rows: list, names: dict[str, str]) -> list[dict]:
    """Booster explanations (their credit effect)."""
    lines: list[dict] = []
    for _role, b, hit in booster_rows:
        sub = d.loc[hit]
        if sub.empty:
            continue
        extra = (sub["credit"] - sub["credit_plain"]).groupby(sub["rep_id"]).sum()
        n = sub.groupby("rep_id")["deal_id"].nunique()
        for rid, x in extra.items():
            lines.append(
                {
                    "rep_id": rid,
                    "order": 1,
                    "kind": "booster",
                    "measure": b.measure,
                    "description": f"Booster '{b.name or b.id}': {n[rid]} deal(s) credited "
                    f"x{b.multiplier:g}, adding {formats.chf(x)} credit to {names.get(b.measure, b.measure)} "
                    "(included in the credit below).",
                    "basis": float(x),
                    "amount": 0.0,
                }
            )
    return lines


def _measure_lines(plan: Plan, rm: pd.DataFrame, names: dict[str, str]) -> list[dict]:
    """One line per rep and measure: credit or actual, quota, attainment, curve and payout."""
    lines: list[dict] = []
    for row in rm.itertuples(index=False):
        name = names[row.measure]
        if row.kind == "deal":
            basis = f"{formats.chf(row.actual)} credited from {row.deals} won deal(s)"
            if row.capped:
                basis += f" ({row.capped} capped at {formats.chf(row.deal_cap)} per deal)"
        else:
            basis = "actual " + ("–" if pd.isna(row.actual) else formats.pct(row.actual))
        if not pd.isna(row.commission_rate):
            desc = f"{name}: {basis}; commission {formats.pct(row.commission_rate)} of the credit."
        elif pd.isna(row.attainment) or pd.isna(row.actual):
            desc = f"{name}: no actual value for the period; nothing paid."
        else:
            qtxt = formats.chf(row.quota) if row.kind == "deal" else formats.pct(row.quota)
            qtxt += f" ({_quota_origin(row)})"
            desc = (
                f"{name}: {basis}; quota {qtxt} -> attainment {formats.pct(row.attainment)}; "
                f"curve pays {row.factor:.2f} x the target share of {formats.chf(row.target_share)} "
                f"(weight {formats.pct(row.weight, 0)})."
            )
            curve = plan.roles[row.role].measure(row.measure).curve
            if row.attainment < curve.threshold:
                desc += f" Threshold of {formats.pct(curve.threshold, 0)} not reached."
            if curve.cap is not None and row.factor >= curve.cap - 1e-12:
                desc += f" Measure cap of {curve.cap:g} x target share applies."
        lines.append(
            {
                "rep_id": row.rep_id,
                "order": 2,
                "kind": "measure",
                "measure": row.measure,
                "description": desc,
                "basis": float(row.actual) if not pd.isna(row.actual) else np.nan,
                "quota": float(row.quota) if not pd.isna(row.quota) else np.nan,
                "attainment": row.attainment,
                "factor": row.factor,
                "amount": float(row.payout),
            }
        )
    return lines


def _cap_and_draw_lines(plan: Plan, t: pd.DataFrame) -> list[dict]:
    """The plan cap's reduction and a new hire's draw, per rep."""
    lines: list[dict] = []
    for row in t.itertuples(index=False):
        if row.cap_reduction < 0:
            rp = plan.roles[row.role]
            lines.append(
                {
                    "rep_id": row.rep_id,
                    "order": 3,
                    "kind": "plan_cap",
                    "measure": None,
                    "description": f"Plan cap: incentive limited to {rp.cap:g} x target incentive "
                    f"= {formats.chf(rp.cap * row.target_incentive)}.",
                    "amount": float(row.cap_reduction),
                }
            )
        if row.draw_topup > 0:
            rp = plan.roles[row.role]
            kind = "recoverable advance" if rp.draw.recoverable else "guarantee"
            lines.append(
                {
                    "rep_id": row.rep_id,
                    "order": 6,
                    "kind": "draw",
                    "measure": None,
                    "description": f"Draw for new hires ({kind}): {row.draw_months:g} month(s) x "
                    f"{formats.chf(rp.draw.monthly_amount)} = {formats.chf(row.draw_guarantee)} "
                    f"guaranteed; earned incentive topped up by {formats.chf(row.draw_topup)}.",
                    "amount": float(row.draw_topup),
                }
            )
    return lines


def _clawback_lines(claw: pd.DataFrame) -> list[dict]:
    """One line per clawed-back deal."""
    lines: list[dict] = []
    for row in claw.itertuples(index=False) if len(claw) else []:
        lines.append(
            {
                "rep_id": row.rep_id,
                "order": 4,
                "kind": "clawback",
                "measure": row.measure,
                "description": f"Clawback: {_customer(row)} (won "
                f"{row.close_date:%d.%m.%Y}) lost on {row.lost_date:%d.%m.%Y}, within "
                f"{row.window_months} months; {formats.pct(row.share, 0)} of the pay on its "
                f"{formats.chf(row.credit)} credit is taken back.",
                "basis": float(row.credit),
                "amount": float(row.amount),
            }
        )
    return lines


def _contest_lines(contests: pd.DataFrame) -> list[dict]:
    """One line per contest award."""
    lines: list[dict] = []
    for row in contests.itertuples(index=False) if len(contests) else []:
        c = row.contest
        lines.append(
            {
                "rep_id": row.rep_id,
                "order": 5,
                "kind": "contest",
                "measure": c.measure,
                "description": f"Contest '{c.name or c.id}': rank {row.rank} on "
                f"{MEASURES.get(c.measure, {}).get('name', c.measure)}, "
                f"{formats.pct(c.split[row.rank - 1], 0)} of the {formats.chf(c.budget)} budget.",
                "basis": row.value,
                "amount": float(row.amount),
            }
        )
    return lines


def _total_lines(t: pd.DataFrame) -> list[dict]:
    """The total line per rep."""
    lines: list[dict] = []
    for row in t.itertuples(index=False):
        lines.append(
            {
                "rep_id": row.rep_id,
                "order": 9,
                "kind": "total",
                "measure": None,
                "description": f"Total incentive {formats.chf(row.incentive)} on a target of "
                f"{formats.chf(row.target_incentive)}; with base salary "
                f"{formats.chf(row.base_salary)} total pay {formats.chf(row.total_pay)}.",
                "amount": float(row.incentive),
            }
        )
    return lines


def _ordered(lines: list[dict]) -> pd.DataFrame:
    """The lines as a frame with :data:`STATEMENT_COLUMNS`, numbered per rep in statement order."""
    s = pd.DataFrame(lines)
    for c in STATEMENT_COLUMNS:
        if c not in s.columns:
            s[c] = np.nan
    s = s.sort_values(["rep_id", "order", "measure"], kind="stable", na_position="last")
    s["line"] = s.groupby("rep_id").cumcount() + 1
    s = s[STATEMENT_COLUMNS].reset_index(drop=True)
    s["rep_id"] = s["rep_id"].astype("string")
    s["measure"] = s["measure"].astype("string")
    s["kind"] = s["kind"].astype("string")
    s["description"] = s["description"].astype("string")
    for c in ["basis", "quota", "attainment", "factor", "amount"]:
        s[c] = s[c].astype(float)
    return s
