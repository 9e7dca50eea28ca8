"""Old plan against new plan on the same actuals.

Cost, pay for performance, winners and losers, and whether pay follows performance or territory
potential.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.compensation.engine import PayoutResult
from salesanalytics.analyses.compensation.plan import Plan
from salesanalytics.present import formats
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "clawback_exposure",
    "compare_plans",
    "headlines",
    "jensen_table",
    "plan_overview",
    "rep_statement",
    "comparison_text",
    "composite_attainment",
    "pay_for_performance",
    "potential_correlation",
    "potential_quotas",
    "rep_potential",
    "winners_losers",
]


def composite_attainment(payouts: pd.DataFrame) -> pd.Series:
    """Weighted attainment per rep: ``sum(weight x attainment)`` over the rep's measures.

    Parameters
    ----------
    payouts
        Columns ``rep_id``, ``weight``, ``attainment`` (``PayoutResult.payouts``); a missing
        attainment counts as 0.
    """
    p = payouts.assign(w=payouts["weight"] * payouts["attainment"].fillna(0.0))
    return p.groupby("rep_id")["w"].sum().rename("attainment")


def compare_plans(
    results: dict[str, PayoutResult],
    revenue: float,
    threshold: float = 0.5,
    excellence: float = 1.5,
) -> pd.DataFrame:
    """Cost and attainment bands of several plans paid on the same actuals.

    Parameters
    ----------
    results
        Plan label -> :class:`PayoutResult` (its ``totals`` need ``rep_id, base_salary,
        target_incentive, incentive, total_pay``; its ``payouts`` ``rep_id, weight, attainment``).
    revenue
        Recurring revenue of the period in CHF (denominator of the cost of sales).
    threshold, excellence
        Composite attainment counted as "threshold reached" and "excellence".

    Returns
    -------
    pandas.DataFrame
        One row per plan: ``plan, reps, base_salary, incentive, total_cost, incentive_of_revenue,
        cost_of_sales, incentive_vs_target, share_threshold, share_target, share_excellence``.
    """
    if revenue <= 0:
        raise ValueError(f"revenue must be positive to compute the cost of sales; got {revenue}.")
    rows = []
    for label, res in results.items():
        t = res.totals
        att = composite_attainment(res.payouts).reindex(t["rep_id"]).fillna(0.0)
        rows.append(
            {
                "plan": label,
                "reps": len(t),
                "base_salary": float(t["base_salary"].sum()),
                "incentive": float(t["incentive"].sum()),
                "total_cost": float(t["total_pay"].sum()),
                "incentive_of_revenue": float(t["incentive"].sum()) / revenue,
                "cost_of_sales": float(t["total_pay"].sum()) / revenue,
                "incentive_vs_target": float(t["incentive"].sum() / t["target_incentive"].sum())
                if t["target_incentive"].sum() > 0
                else np.nan,
                "share_threshold": float((att >= threshold).mean()),
                "share_target": float((att >= 1.0).mean()),
                "share_excellence": float((att >= excellence).mean()),
            }
        )
    return pd.DataFrame(rows)


def winners_losers(
    before: pd.DataFrame, after: pd.DataFrame, reps: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Who wins and loses how much when moving from one plan to another.

    Parameters
    ----------
    before, after
        Totals per rep (columns ``rep_id``, ``total_pay``; ``after`` also ``role``).
    reps
        Optional ``rep_id``, ``name`` to show names.

    Returns
    -------
    pandas.DataFrame
        ``rep_id, [name,] role, pay_before, pay_after, change, change_pct``, biggest loss first.
        Reps present in only one plan are left out (their number is in ``attrs["unmatched"]``).
    """
    b = before[["rep_id", "total_pay"]].rename(columns={"total_pay": "pay_before"})
    a = after[["rep_id", "role", "total_pay"]].rename(columns={"total_pay": "pay_after"})
    m = b.merge(a, on="rep_id", how="inner")
    unmatched = len(set(before["rep_id"]) ^ set(after["rep_id"]))
    m["change"] = m["pay_after"] - m["pay_before"]
    m["change_pct"] = m["change"] / m["pay_before"].where(m["pay_before"] > 0)
    if reps is not None and "name" in reps.columns:
        m = m.merge(reps[["rep_id", "name"]], on="rep_id", how="left")
        m = m[["rep_id", "name", "role", "pay_before", "pay_after", "change", "change_pct"]]
    else:
        m = m[["rep_id", "role", "pay_before", "pay_after", "change", "change_pct"]]
    m = m.sort_values(["change", "rep_id"], ignore_index=True)
    m.attrs["unmatched"] = unmatched
    return m


def pay_for_performance(totals: pd.DataFrame, performance: pd.Series) -> pd.DataFrame:
    """Incentive against performance per rep (for the pay-for-performance curve).

    Parameters
    ----------
    totals
        Columns ``rep_id``, ``incentive``, ``target_incentive``.
    performance
        Performance score per rep (index ``rep_id``), e.g. the composite attainment of the proposed
        plan, so both plans are judged against the same yardstick.

    Returns
    -------
    pandas.DataFrame
        ``rep_id, performance, performance_pct`` (percentile rank 0-1), ``incentive,
        incentive_vs_target``.
    """
    t = totals[["rep_id", "incentive", "target_incentive"]].copy()
    t["performance"] = t["rep_id"].map(performance)
    t["performance_pct"] = t["performance"].rank(pct=True)
    t["incentive_vs_target"] = t["incentive"] / t["target_incentive"].where(
        t["target_incentive"] > 0
    )
    return t[["rep_id", "performance", "performance_pct", "incentive", "incentive_vs_target"]]


def rep_potential(account_potential: pd.DataFrame, owner: pd.DataFrame) -> pd.DataFrame:
    """Territory potential per rep: sum of the potential MRR of the accounts the rep owns.

    Parameters
    ----------
    account_potential
        Columns ``account_id``, ``potential_mrr``.
    owner
        Columns ``account_id``, ``rep_id``.
    """
    m = (
        owner[["account_id", "rep_id"]]
        .dropna()
        .merge(account_potential[["account_id", "potential_mrr"]], on="account_id", how="left")
    )
    out = m.groupby("rep_id", as_index=False).agg(
        potential_mrr=("potential_mrr", "sum"), accounts=("account_id", "size")
    )
    return out


def potential_correlation(
    pay: pd.DataFrame, potential: pd.DataFrame, column: str = "incentive"
) -> dict:
    """Spearman rank correlation of pay with territory potential.

    A high correlation means pay mostly follows how rich a rep's territory is (luck); close to 0
    means pay is earned by performance relative to the territory.

    Parameters
    ----------
    pay
        Columns ``rep_id`` and ``column`` (default ``incentive``).
    potential
        Columns ``rep_id``, ``potential_mrr``.

    Returns
    -------
    dict
        ``rho``, ``p_value`` and ``n`` (reps in both tables).
    """
    m = pay[["rep_id", column]].merge(potential[["rep_id", "potential_mrr"]], on="rep_id").dropna()
    if len(m) < 3:
        return {"rho": float("nan"), "p_value": float("nan"), "n": len(m)}
    from scipy import stats  # imported here: scipy.stats is slow to import

    r = stats.spearmanr(m[column], m["potential_mrr"])
    return {"rho": float(r.statistic), "p_value": float(r.pvalue), "n": len(m)}


def potential_quotas(plan: Plan, reps: pd.DataFrame, potential: pd.DataFrame) -> pd.DataFrame:
    """Per-rep quotas for measures with ``quota_basis: potential``.

    The role's quota is spread in proportion to territory potential: ``quota x potential /
    mean potential of the role's reps``, so a rep in a rich territory must sell more for the same
    attainment. Reps without potential keep the plan quota.

    Parameters
    ----------
    plan
        The plan.
    reps
        Columns ``rep_id``, ``role``.
    potential
        Columns ``rep_id``, ``potential_mrr`` (:func:`rep_potential`).

    Returns
    -------
    pandas.DataFrame
        ``rep_id, measure, quota`` (empty when no measure is potential-based).
    """
    r = reps[["rep_id", "role"]].merge(
        potential[["rep_id", "potential_mrr"]], on="rep_id", how="left"
    )
    parts = []
    for role, rp in plan.roles.items():
        sub = r[r["role"] == role]
        mean = sub["potential_mrr"].mean()
        for m in rp.measures:
            if (
                m.quota_basis != "potential"
                or not isinstance(m.quota, float | int)
                or not mean
                or np.isnan(mean)
            ):
                continue
            rel = (sub["potential_mrr"] / mean).fillna(1.0)
            parts.append(
                pd.DataFrame({"rep_id": sub["rep_id"], "measure": m.id, "quota": m.quota * rel})
            )
    if not parts:
        return pd.DataFrame({"rep_id": [], "measure": [], "quota": []})
    return pd.concat(parts, ignore_index=True)


def comparison_text(summary: pd.DataFrame, before: str, after: str) -> str:
    """One plain-language paragraph comparing two rows of :func:`compare_plans`."""
    s = summary.set_index("plan")
    b, a = s.loc[before], s.loc[after]
    diff = a["total_cost"] - b["total_cost"]
    return _(
        "On the same year of actuals the {after} plan costs {cost} in total pay against "
        "{cost_today} today ({diff}); the cost of sales moves from {cos_today} to {cos} of "
        "recurring revenue. {target} of reps reach target under the {after} plan ({target_today} "
        "today) and {excellence} reach excellence ({excellence_today} today)."
    ).format(
        after=_(after),
        cost=formats.chf(a["total_cost"], compact=True),
        cost_today=formats.chf(b["total_cost"], compact=True),
        diff=("+" if diff >= 0 else "-") + formats.chf(abs(diff), compact=True),
        cos_today=formats.pct(b["cost_of_sales"]),
        cos=formats.pct(a["cost_of_sales"]),
        target=formats.pct(a["share_target"], 0),
        target_today=formats.pct(b["share_target"], 0),
        excellence=formats.pct(a["share_excellence"], 0),
        excellence_today=formats.pct(b["share_excellence"], 0),
    )


def plan_overview(plan: Plan, label: str = "") -> pd.DataFrame:
    """The plan per role in one table (what each role earns for what).

    Returns
    -------
    pandas.DataFrame
        ``plan, role, base_salary, target_incentive, pay_mix`` (e.g. "80/20"), ``measures``
        (names and weights), ``plan_cap``, ``boosters``, ``contests``, ``clawback``, ``draw``.
    """
    from salesanalytics.analyses.compensation.actuals import MEASURES

    rows = []
    for role, rp in plan.roles.items():
        fixed = round(100 * (1 - rp.pay_mix))
        meas = []
        for m in rp.measures:
            name = _(MEASURES.get(m.id, {}).get("name", m.id))
            if m.commission_rate is not None:
                meas.append(
                    _("{measure}: {rate} commission").format(
                        measure=name, rate=formats.pct(m.commission_rate, 0)
                    )
                )
            else:
                meas.append(f"{name} {formats.pct(m.weight, 0)}")
        rows.append(
            {
                "plan": label or plan.name,
                "role": role,
                "base_salary": rp.base_salary,
                "target_incentive": rp.target_incentive,
                "pay_mix": f"{fixed}/{100 - fixed}",
                "measures": "; ".join(meas),
                "plan_cap": _("none")
                if rp.cap is None
                else _("{cap} x target").format(cap=formats.plain(rp.cap)),
                "boosters": "; ".join(
                    f"{_(b.name or b.id)} x{formats.plain(b.multiplier)}" for b in rp.boosters
                )
                or _("none"),
                "contests": "; ".join(
                    f"{_(c.name or c.id)} {formats.chf(c.budget)}" for c in rp.contests
                )
                or _("none"),
                "clawback": _("none")
                if rp.clawback is None
                else _("{share} within {months} months").format(
                    share=formats.pct(rp.clawback.share, 0), months=rp.clawback.window_months
                ),
                "draw": _("none")
                if rp.draw is None
                else _("{amount}/month for {months} months").format(
                    amount=formats.chf(rp.draw.monthly_amount), months=rp.draw.months
                ),
            }
        )
    return pd.DataFrame(rows)


def jensen_table(plan: Plan, payouts: pd.DataFrame) -> pd.DataFrame:
    """Pay at average attainment against average pay, per role and quota measure.

    Parameters
    ----------
    plan
        The plan whose curves are evaluated.
    payouts
        Columns ``role``, ``measure``, ``attainment`` (``PayoutResult.payouts``).

    Returns
    -------
    pandas.DataFrame
        ``role, measure, mean_attainment, factor_at_mean, mean_factor, gap`` (gap > 0: a convex
        curve pays more on average than at the average attainment).
    """
    from salesanalytics.analyses.compensation.simulation import jensen_gap

    rows = []
    for (role, measure), g in payouts.dropna(subset=["attainment"]).groupby(["role", "measure"]):
        m = plan.roles[role].measure(measure)
        if m.commission_rate is not None or len(g) < 2:
            continue
        j = jensen_gap(m.curve, g["attainment"])
        rows.append(
            {"role": role, "measure": measure, "mean_attainment": g["attainment"].mean(), **j}
        )
    return pd.DataFrame(
        rows, columns=["role", "measure", "mean_attainment", "factor_at_mean", "mean_factor", "gap"]
    )


def headlines(ev: Any, summary: pd.DataFrame | None = None) -> list[str]:
    """Two or three headline findings of the compensation phase (computed, for the run index)."""
    s = ev.comparison.set_index("plan")
    out = [
        _(
            "Proposed plan on last year's actuals: total pay {total} vs {total_today} today "
            "(cost of sales {cos} vs {cos_today})."
        ).format(
            total=formats.chf(s.loc["proposed", "total_cost"], compact=True),
            total_today=formats.chf(s.loc["current", "total_cost"], compact=True),
            cos=formats.pct(s.loc["proposed", "cost_of_sales"]),
            cos_today=formats.pct(s.loc["current", "cost_of_sales"]),
        )
    ]
    if len(ev.correlation) == 2:
        c = ev.correlation.set_index("plan")["rho"]
        out.append(
            _(
                "Correlation of incentive with territory potential: {today} today, {proposed} "
                "with the proposed plan."
            ).format(today=f"{c['current']:.2f}", proposed=f"{c['proposed']:.2f}")
        )
    if summary is not None and len(summary):
        v = summary.set_index(["scenario", "statistic"])["value"]
        out.append(
            _("Simulated yearly incentive cost of the proposed plan (P10 / P50 / P90): ")
            + f"{formats.chf(v['proposed', 'cost_p10'], compact=True)} / "
            f"{formats.chf(v['proposed', 'cost_p50'], compact=True)} / "
            f"{formats.chf(v['proposed', 'cost_p90'], compact=True)}"
        )
    return out


def rep_statement(
    lines: pd.DataFrame,
    totals_current: pd.DataFrame,
    totals_proposed: pd.DataFrame,
    rep_id: str,
    rep_name: str = "",
) -> tuple[str, pd.DataFrame]:
    """One rep's statement: a plain-language header and the explained lines.

    Parameters
    ----------
    lines
        Statement lines of all reps (columns of ``PayoutResult.statement_lines``).
    totals_current, totals_proposed
        Totals per rep (``rep_id, role, base_salary, target_incentive, incentive, total_pay``).
    rep_id
        The rep.
    rep_name
        Display name.

    Raises
    ------
    KeyError
        If the rep has no statement (lists a few rep ids that have one).
    """
    mine = lines[lines["rep_id"] == rep_id].sort_values("line")
    if mine.empty:
        known = ", ".join(map(str, lines["rep_id"].drop_duplicates().head(5)))
        raise KeyError(f"rep '{rep_id}' has no statement; reps with a statement include: {known}")
    new = totals_proposed.set_index("rep_id").loc[rep_id]
    cur = totals_current.set_index("rep_id")
    head = _(
        "{name} ({role}): incentive under the proposed plan {incentive} on a target of "
        "{target} ({share} of target); total pay {total}."
    ).format(
        name=rep_name or rep_id,
        role=_(formats.ROLE_LABELS.get(str(new["role"]), str(new["role"]))),
        incentive=formats.chf(new["incentive"]),
        target=formats.chf(new["target_incentive"]),
        share=formats.pct(new["incentive"] / new["target_incentive"])
        if new["target_incentive"]
        else "–",
        total=formats.chf(new["total_pay"]),
    )
    if rep_id in cur.index:
        c = cur.loc[rep_id]
        diff = new["total_pay"] - c["total_pay"]
        head += _(
            " Under today's plan the same year paid {paid} ({change} with the proposed plan)."
        ).format(
            paid=formats.chf(c["total_pay"]),
            change=("+" if diff >= 0 else "-") + formats.chf(abs(diff)),
        )
    table = mine[["line", "description", "attainment", "amount"]].reset_index(drop=True)
    return head, table


def clawback_exposure(
    plan: Plan,
    result: PayoutResult,
    deals: pd.DataFrame,
    customer_churn: pd.DataFrame,
) -> pd.DataFrame:
    """Expected clawback per rep from the churn risk of customers won in the period.

    For every deal of a clawback measure whose customer is still active, the pay it earned (the
    measure's pay per credited CHF x the deal amount x the clawback share; boosters and deal caps
    are not re-applied) is at risk; it is weighted with the customer's churn probability from the
    churn phase.

    Parameters
    ----------
    plan
        The plan paid (its roles' clawback rules).
    result
        Its :class:`PayoutResult` (``payouts``: ``rep_id, role, measure, actual, payout``).
    deals
        Deal credits of the period: ``deal_id, rep_id, account_id, measure, amount, lost_date``.
    customer_churn
        ``account_id, churn_probability``.

    Returns
    -------
    pandas.DataFrame
        ``rep_id, deals_at_risk, pay_at_risk, expected_clawback``, largest expected clawback first.
    """
    p = result.payouts
    rate = (p["payout"] / p["actual"].where(p["actual"] > 0)).fillna(0.0)
    rates = p.assign(rate=rate)[["rep_id", "role", "measure", "rate"]]
    rules = pd.DataFrame(
        [
            {"role": role, "measure": m, "share": rp.clawback.share}
            for role, rp in plan.roles.items()
            if rp.clawback is not None
            for m in rp.clawback.measures
        ],
        columns=["role", "measure", "share"],
    )
    d = deals[deals["lost_date"].isna()] if "lost_date" in deals.columns else deals
    d = d.merge(rates, on=["rep_id", "measure"]).merge(rules, on=["role", "measure"])
    churn = customer_churn[["account_id", "churn_probability"]].drop_duplicates("account_id")
    d = d.merge(churn, on="account_id", how="left")
    d["pay_at_risk"] = d["amount"] * d["rate"] * d["share"]
    d["expected_clawback"] = d["pay_at_risk"] * d["churn_probability"].fillna(0.0)
    out = d.groupby("rep_id", as_index=False).agg(
        deals_at_risk=("deal_id", "nunique"),
        pay_at_risk=("pay_at_risk", "sum"),
        expected_clawback=("expected_clawback", "sum"),
    )
    return out.sort_values("expected_clawback", ascending=False, ignore_index=True)
