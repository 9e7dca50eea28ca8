"""The pay statement in words, built from the payout engine's steps.

One explained line per booster, measure, plan cap, clawback, contest, draw and total, from
:mod:`salesanalytics.analyses.compensation.engine`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.compensation.actuals import MEASURES
from salesanalytics.analyses.compensation.plan import Plan
from salesanalytics.present import formats
from salesanalytics.present.i18n import gettext as _

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
        return _("customer of deal {deal}").format(deal=row.deal_id)
    return _("{name} (deal {deal})").format(name=name, deal=row.deal_id)


def _quota_origin(row: Any) -> str:
    """How a measure's quota was set, in words, for the statement."""
    src = getattr(row, "quota_source", "plan")
    if src == "plan":
        text = _("fixed in the plan")
    else:
        q = float(row.auto_q)
        level = (
            _("median")
            if abs(q - 0.5) < 1e-9
            else _("{share} percentile").format(share=formats.pct(q, 0))
        )
        if src == "prior":
            text = _("the role's {level} of the prior year's results").format(level=level)
            growth = float(getattr(row, "growth_target", 0.0) or 0.0)
            if growth:
                text += _(" plus a growth target of {growth}").format(growth=formats.pct(growth, 0))
        else:
            text = _("the role's {level} of this year's results (no prior year available)").format(
                level=level
            )
    if bool(row.by_potential):
        text += _(", scaled to the territory's potential")
    if row.kind == "deal" and float(row.prorate) < 0.999:
        text += _(", prorated to {share} (part-time or joined in the year)").format(
            share=formats.pct(float(row.prorate), 0)
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
    names = {m: _(MEASURES.get(m, {}).get("name", m)) for m in rm["measure"].unique()}
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
                    "description": _(
                        "Booster '{booster}': {n} deal(s) credited x{multiplier}, adding {credit} "
                        "credit to {measure} (included in the credit below)."
                    ).format(
                        booster=_(b.name or b.id),
                        n=n[rid],
                        multiplier=formats.plain(b.multiplier),
                        credit=formats.chf(x),
                        measure=names.get(b.measure, b.measure),
                    ),
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
            basis = _("{credit} credited from {deals} won deal(s)").format(
                credit=formats.chf(row.actual), deals=row.deals
            )
            if row.capped:
                basis += _(" ({capped} capped at {cap} per deal)").format(
                    capped=row.capped, cap=formats.chf(row.deal_cap)
                )
            note = getattr(row, "credit_note", None)
            if note is not None and not pd.isna(note) and row.deals:
                basis += f" ({note})"
        else:
            basis = _("actual ") + ("–" if pd.isna(row.actual) else formats.pct(row.actual))
        if not pd.isna(row.commission_rate):
            desc = _("{measure}: {basis}; commission {rate} of the credit.").format(
                measure=name, basis=basis, rate=formats.pct(row.commission_rate)
            )
        elif pd.isna(row.attainment) or pd.isna(row.actual):
            desc = _("{measure}: no actual value for the period; nothing paid.").format(
                measure=name
            )
        else:
            qtxt = formats.chf(row.quota) if row.kind == "deal" else formats.pct(row.quota)
            qtxt += f" ({_quota_origin(row)})"
            desc = _(
                "{measure}: {basis}; quota {quota} -> attainment {attainment}; curve pays "
                "{factor} x the target share of {target_share} (weight {weight})."
            ).format(
                measure=name,
                basis=basis,
                quota=qtxt,
                attainment=formats.pct(row.attainment),
                factor=formats.num(row.factor, 2),
                target_share=formats.chf(row.target_share),
                weight=formats.pct(row.weight, 0),
            )
            curve = plan.roles[row.role].measure(row.measure).curve
            if row.attainment < curve.threshold:
                desc += _(" Threshold of {threshold} not reached.").format(
                    threshold=formats.pct(curve.threshold, 0)
                )
            if curve.cap is not None and row.factor >= curve.cap - 1e-12:
                desc += _(" Measure cap of {cap} x target share applies.").format(
                    cap=formats.plain(curve.cap)
                )
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
                    "description": _(
                        "Plan cap: incentive limited to {cap} x target incentive = {amount}."
                    ).format(
                        cap=formats.plain(rp.cap), amount=formats.chf(rp.cap * row.target_incentive)
                    ),
                    "amount": float(row.cap_reduction),
                }
            )
        if row.draw_topup > 0:
            rp = plan.roles[row.role]
            kind = _("recoverable advance") if rp.draw.recoverable else _("guarantee")
            lines.append(
                {
                    "rep_id": row.rep_id,
                    "order": 6,
                    "kind": "draw",
                    "measure": None,
                    "description": _(
                        "Draw for new hires ({kind}): {months} month(s) x {monthly} = "
                        "{guarantee} guaranteed; earned incentive topped up by {topup}."
                    ).format(
                        kind=kind,
                        months=formats.plain(row.draw_months),
                        monthly=formats.chf(rp.draw.monthly_amount),
                        guarantee=formats.chf(row.draw_guarantee),
                        topup=formats.chf(row.draw_topup),
                    ),
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
                "description": _(
                    "Clawback: {customer} (won {won}) lost on {lost}, within {months} months; "
                    "{share} of the pay on its {credit} credit is taken back."
                ).format(
                    customer=_customer(row),
                    won=f"{row.close_date:%d.%m.%Y}",
                    lost=f"{row.lost_date:%d.%m.%Y}",
                    months=row.window_months,
                    share=formats.pct(row.share, 0),
                    credit=formats.chf(row.credit),
                ),
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
                "description": _(
                    "Contest '{contest}': rank {rank} on {measure}, {share} of the {budget} budget."
                ).format(
                    contest=_(c.name or c.id),
                    rank=row.rank,
                    measure=_(MEASURES.get(c.measure, {}).get("name", c.measure)),
                    share=formats.pct(c.split[row.rank - 1], 0),
                    budget=formats.chf(c.budget),
                ),
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
                "description": _(
                    "Total incentive {incentive} on a target of {target}; with base salary {base} "
                    "total pay {total}."
                ).format(
                    incentive=formats.chf(row.incentive),
                    target=formats.chf(row.target_incentive),
                    base=formats.chf(row.base_salary),
                    total=formats.chf(row.total_pay),
                ),
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
