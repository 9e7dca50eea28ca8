"""Payout engine: a plan applied to actuals, per rep, with a statement that explains every line.

Order of calculation per rep (each step is a statement line):

1. **Credit** per deal measure: ``min(amount x boosters, deal_cap)`` summed over the period's
   deals; portfolio measures take the rep's actual value.
2. **Attainment** ``(actual - floor) / (quota - floor)``; a quota is the plan's value or ``auto``:
   the role's ``quota_quantile`` of the **prior period's** full-year actuals (``quota_history``),
   raised by the growth target for value measures (new ARR, upsell) and optionally spread by
   territory potential. A quota is never set on the actuals it pays (that would make attainment
   circular); without a prior period the same period is used and a note says so. Quotas and the
   target incentive are prorated by FTE and by the share of the period the rep was employed
   (deal measures only for quotas; a ratio such as retention is not prorated). Every payout row
   says how its quota was set (``quota_source``).
3. **Measure payout** ``target incentive x weight x curve(attainment)`` (threshold, tiers, marginal
   or retroactive accelerators, measure cap); a commission measure pays ``rate x credit``.
4. **Plan cap**: the sum is cut to ``cap x target incentive``.
5. **Clawback** of ``share`` of the pay earned on deals whose customer was lost within the window.
6. **Contests** (budget split among the best reps of the role), outside the plan cap.
7. **Draw**: a new hire's incentive is topped up to the guaranteed amount for the draw months.

Amounts are rounded once, at the line, to :data:`PAY_ROUNDING` (whole francs, half away from
zero), as payroll does: the incentive is the sum of the rounded lines, so a statement's lines add
up to its total exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.analyses.compensation.actuals import MEASURES, credit_notes
from salesanalytics.analyses.compensation.plan import Plan, curve_factor
from salesanalytics.analyses.compensation.statement import statement_lines
from salesanalytics.errors import require_columns
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "PAY_ROUNDING",
    "PayoutResult",
    "apply_clawbacks",
    "apply_draws",
    "attach_actuals",
    "award_contests",
    "compute_payouts",
    "credit_deals",
    "measure_targets",
    "pay_measures",
    "period_bounds",
    "plan_reps",
    "rep_totals",
    "round_pay",
    "set_quotas",
]

_MONTH_DAYS = 365.25 / 12

PAY_ROUNDING = 1.0
"""Pay amounts are rounded to this many CHF per statement line (whole francs)."""


def round_pay(x: Any, unit: float = PAY_ROUNDING) -> Any:
    """Round pay amounts to ``unit`` CHF, halves away from zero (commercial rounding).

    Works on numbers, numpy arrays and pandas Series; missing values stay missing.
    """
    a = np.asarray(x, dtype=float)
    out = np.sign(a) * np.floor(np.abs(a) / unit + 0.5) * unit
    out = out + 0.0  # no negative zero
    if isinstance(x, pd.Series):
        return pd.Series(out, index=x.index, name=x.name)
    return out if out.ndim else float(out)


@dataclass
class PayoutResult:
    """Result of :func:`compute_payouts`.

    Attributes
    ----------
    payouts
        One row per rep and measure: ``rep_id, role, measure, weight, actual, quota, attainment,
        factor, payout`` (payout before plan cap and clawback).
    totals
        One row per rep: ``rep_id, role, base_salary, target_incentive, measure_payout,
        cap_reduction, clawback, contest, draw_topup, draw_recoverable, incentive, total_pay``.
    statement_lines
        The statement: ``rep_id, line, kind, measure, description, basis, quota, attainment,
        factor, amount``; the ``amount`` lines of a rep sum to its ``incentive``.
    notes
        Rows that were left out and why (counted, never silently dropped).
    """

    payouts: pd.DataFrame
    totals: pd.DataFrame
    statement_lines: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def period_bounds(as_of: str | pd.Timestamp, months: int = 12) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start and end of the ``months`` months ending on ``as_of`` (start exclusive of the day before)."""
    end = pd.Timestamp(as_of).normalize()
    start = end - pd.DateOffset(months=months) + pd.Timedelta(days=1)
    return pd.Timestamp(start), end


def compute_payouts(
    plan: Plan,
    reps: pd.DataFrame,
    deals: pd.DataFrame,
    rep_actuals: pd.DataFrame,
    period_start: str | pd.Timestamp,
    period_end: str | pd.Timestamp,
    quotas: pd.DataFrame | None = None,
    potential: pd.DataFrame | None = None,
    quota_history: pd.DataFrame | None = None,
    quota_growth: float = 0.0,
) -> PayoutResult:
    """Apply ``plan`` to the period's actuals and return payouts, totals and statements.

    Parameters
    ----------
    plan
        The incentive plan (one role plan per role).
    reps
        Columns ``rep_id``, ``role``; optional ``name``, ``fte`` (default 1), ``hire_date``
        (for proration and draws). Reps whose role has no plan are left out (counted in notes).
    deals
        Deal credits (see :func:`~salesanalytics.analyses.compensation.actuals.deal_credits`): columns
        ``deal_id``, ``rep_id``, ``measure``, ``amount``, ``close_date``; optional ``lost_date``
        (clawback), ``customer`` (the account's name, shown on clawback lines) and boolean flag
        columns named by the plan's boosters.
    rep_actuals
        Portfolio measures: columns ``rep_id``, ``measure``, ``actual``.
    period_start, period_end
        The period paid (inclusive); deals closing outside it are ignored.
    quotas
        Optional per-rep quotas ``rep_id, measure, quota`` overriding everything else.
    potential
        Territory potential per rep ``rep_id, potential_mrr``: measures with
        ``quota_basis: potential`` get ``quota x rep potential / mean potential of the role``
        (reps without potential keep the role's quota).
    quota_history
        The prior period's actuals, ``rep_id, measure, full_year_actual`` (the ``payouts`` of
        this function run on the prior period): ``auto`` quotas are set on them. ``None`` = no
        prior period (quotas fall back to this period's actuals, with a note).
    quota_growth
        Growth target added to ``auto`` quotas of value measures (deal measures such as new ARR
        and upsell, and portfolio growth): 0.05 = the prior year's level + 5%.

    Notes
    -----
    A quota ``auto`` is the role's ``quota_quantile`` of the prior period's full-year actuals of
    that measure (relative to each rep's potential where the quota follows potential), times
    ``1 + quota_growth`` for value measures.

    Returns
    -------
    PayoutResult

    Raises
    ------
    KeyError
        If a required column is missing (message names the table and column).
    """
    require_columns(reps, ["rep_id", "role"], "reps")
    require_columns(deals, ["deal_id", "rep_id", "measure", "amount", "close_date"], "deals")
    require_columns(rep_actuals, ["rep_id", "measure", "actual"], "rep_actuals")
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    notes: list[str] = []

    r = plan_reps(plan, reps, start, end, notes)
    rm = measure_targets(plan, r)
    d, dsum, booster_rows = credit_deals(plan, deals, r, rm, start, end, notes)
    rm, portfolio = attach_actuals(rm, dsum, rep_actuals, notes)
    rm = set_quotas(rm, potential, quota_history, quota_growth, quotas, notes)
    rm = pay_measures(plan, rm)
    t = rep_totals(plan, r, rm)
    t, claw = apply_clawbacks(plan, d, rm, t, end)
    t, contests = award_contests(plan, deals, portfolio, t, start, end)
    t = apply_draws(plan, t, start, end)
    t["incentive"] = (
        t["measure_payout"] + t["cap_reduction"] + t["clawback"] + t["contest"] + t["draw_topup"]
    )
    t["total_pay"] = t["base_salary"] + t["incentive"]

    statement = statement_lines(plan, rm, d, t, claw, contests, booster_rows)
    payouts, totals = _result_frames(rm, t)
    return PayoutResult(payouts=payouts, totals=totals, statement_lines=statement, notes=notes)


def plan_reps(
    plan: Plan,
    reps: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    notes: list[str],
) -> pd.DataFrame:
    """The reps the plan covers, with their proration (FTE x share of the period employed).

    Parameters
    ----------
    plan
        The incentive plan; reps whose role has no plan are left out (counted in ``notes``).
    reps
        Columns ``rep_id``, ``role``; optional ``name``, ``fte`` (default 1), ``hire_date``.
    start, end
        The period paid (inclusive).
    notes
        Appended to: reps left out.

    Returns
    -------
    pandas.DataFrame
        ``rep_id, role, prorate, _hire`` (and ``name`` where given).
    """
    period_days = (end - start).days + 1
    r = reps.copy()
    r["rep_id"] = r["rep_id"].astype("string")
    in_plan = r["role"].isin(list(plan.roles))
    if (~in_plan).any():
        roles = ", ".join(sorted(map(str, r.loc[~in_plan, "role"].dropna().unique())))
        notes.append(
            _("{n} rep(s) left out: their role has no plan in '{plan}' ({roles}).").format(
                n=int((~in_plan).sum()), plan=_(plan.name), roles=roles
            )
        )
    r = r[in_plan]
    fte = pd.to_numeric(r["fte"], errors="coerce").fillna(1.0) if "fte" in r else 1.0
    hire = (
        pd.to_datetime(r["hire_date"]).astype("datetime64[ns]")
        if "hire_date" in r
        else pd.Series(pd.NaT, index=r.index, dtype="datetime64[ns]")
    )
    employed_from = hire.where(hire > start, start)
    employed = ((end - employed_from).dt.days + 1).clip(lower=0) / period_days
    r = r.assign(prorate=(fte * employed).to_numpy(), _hire=hire.to_numpy())
    return r[["rep_id", "role", "prorate", "_hire"] + (["name"] if "name" in r else [])]


def measure_targets(plan: Plan, r: pd.DataFrame) -> pd.DataFrame:
    """One row per rep and plan measure with the measure's settings and its target share.

    The target share is ``target incentive x prorate x weight``; ``r`` is the output of
    :func:`plan_reps`.
    """
    rows = []
    for role, rp in plan.roles.items():
        for m in rp.measures:
            rows.append(
                {
                    "role": role,
                    "measure": m.id,
                    "weight": m.weight,
                    "plan_quota": np.nan if m.quota in (None, "auto") else float(m.quota),
                    "auto_q": m.quota_quantile if m.quota == "auto" else np.nan,
                    "by_potential": m.quota_basis == "potential",
                    "floor": m.floor,
                    "commission_rate": np.nan if m.commission_rate is None else m.commission_rate,
                    "deal_cap": np.inf if m.deal_cap is None else m.deal_cap,
                    "kind": MEASURES.get(m.id, {}).get("kind", "portfolio"),
                    "ti": rp.target_incentive,
                }
            )
    pm = pd.DataFrame(rows)
    rm = r.merge(pm, on="role", how="inner")
    rm["target_share"] = rm["ti"] * rm["prorate"] * rm["weight"]
    return rm


def credit_deals(
    plan: Plan,
    deals: pd.DataFrame,
    r: pd.DataFrame,
    rm: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    notes: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[str, Any, pd.Series]]]:
    """Credit the period's deals: boosters multiply, the measure's deal cap cuts.

    Parameters
    ----------
    plan
        The incentive plan (boosters per role).
    deals
        ``deal_id, rep_id, measure, amount, close_date`` and the boosters' flag columns.
    r, rm
        Outputs of :func:`plan_reps` and :func:`measure_targets`.
    start, end
        The period paid (inclusive).
    notes
        Appended to: deals of reps without a plan.

    Returns
    -------
    tuple
        The credited deals (``credit``, ``credit_plain``, ``multiplier``, ``capped``), their sums
        per rep and measure (``actual, deals, capped, raw``) and the booster hits
        ``(role, booster, mask)``.

    Raises
    ------
    KeyError
        If a booster's flag column is missing from ``deals``.
    """
    d = deals[deals["close_date"].between(start, end)].copy()
    d["rep_id"] = d["rep_id"].astype("string")
    unknown = ~d["rep_id"].isin(r["rep_id"])
    n_unknown = int(d.loc[unknown, "deal_id"].nunique())
    if n_unknown:
        notes.append(
            _(
                "{n} deal(s) of reps without a plan (role not covered or rep unknown) not credited."
            ).format(n=n_unknown)
        )
    how_credited = credit_notes(d)
    d = d.merge(
        rm[["rep_id", "role", "measure", "deal_cap"]], on=["rep_id", "measure"], how="inner"
    )
    d["multiplier"] = 1.0
    booster_rows = []
    for role, rp in plan.roles.items():
        for b in rp.boosters:
            if b.flag not in d.columns:
                raise KeyError(
                    f"booster '{b.id}' of role '{role}' needs deal flag column '{b.flag}', "
                    f"which deals lack; deal columns: {', '.join(map(str, deals.columns))}"
                )
            hit = (
                (d["role"] == role)
                & (d["measure"] == b.measure)
                & d[b.flag].fillna(False).astype(bool)
            )
            d.loc[hit, "multiplier"] *= b.multiplier
            booster_rows.append((role, b, hit))
    d["credit_plain"] = np.minimum(d["amount"].astype(float), d["deal_cap"])
    d["credit"] = np.minimum(d["amount"].astype(float) * d["multiplier"], d["deal_cap"])
    d["capped"] = d["amount"].astype(float) * d["multiplier"] > d["deal_cap"]
    dsum = d.groupby(["rep_id", "measure"], as_index=False).agg(
        actual=("credit", "sum"),
        deals=("deal_id", "nunique"),
        capped=("capped", "sum"),
        raw=("amount", "sum"),
    )
    # channel-matrix credit: how each rep's credit was assigned, in words for the statement
    notes_by = how_credited.reindex(pd.MultiIndex.from_frame(dsum[["rep_id", "measure"]]))
    dsum["credit_note"] = pd.array(notes_by.to_numpy(), dtype="string")
    return d, dsum, booster_rows


def attach_actuals(
    rm: pd.DataFrame, dsum: pd.DataFrame, rep_actuals: pd.DataFrame, notes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each rep-measure's actual: the credited deals or the portfolio actuals.

    The credited deals for deal measures, ``rep_actuals`` for portfolio measures (``rep_id, measure,
    actual``); returns the frame and the portfolio actuals (``rep_id`` as string). Values without an
    actual are counted in ``notes``.
    """
    portfolio = rep_actuals[["rep_id", "measure", "actual"]].copy()
    portfolio["rep_id"] = portfolio["rep_id"].astype("string")
    rm = rm.merge(dsum, on=["rep_id", "measure"], how="left", suffixes=("", "_d"))
    rm = rm.merge(
        portfolio.rename(columns={"actual": "actual_p"}), on=["rep_id", "measure"], how="left"
    )
    is_deal = rm["kind"] == "deal"
    rm["actual"] = np.where(is_deal, rm["actual"].fillna(0.0), rm["actual_p"])
    rm["deals"] = rm["deals"].fillna(0).astype(int)
    rm["capped"] = rm["capped"].fillna(0).astype(int)
    no_actual = rm["actual"].isna()
    if no_actual.any():
        notes.append(
            _(
                "{n} rep-measure value(s) without an actual (e.g. no customers at period start for "
                "a retention measure): attainment 0, nothing paid."
            ).format(n=int(no_actual.sum()))
        )
    return rm, portfolio


def _potential_level(rm: pd.DataFrame, potential: pd.DataFrame | None) -> pd.Series:
    """Each rep-measure's quota level relative to its role (1 unless the quota follows potential)."""
    level = pd.Series(1.0, index=rm.index)
    if potential is not None and rm["by_potential"].any():
        require_columns(potential, ["rep_id", "potential_mrr"], "potential")
        pot = potential.assign(rep_id=potential["rep_id"].astype("string")).set_index("rep_id")[
            "potential_mrr"
        ]
        rp_pot = rm["rep_id"].map(pot).astype(float)
        role_mean = rp_pot.groupby([rm["role"], rm["measure"]]).transform("mean")
        rel = (rp_pot / role_mean).where(role_mean > 0).fillna(1.0)
        level = level.where(~rm["by_potential"], rel)
    return level


def _auto_quotas(
    rm: pd.DataFrame,
    level: pd.Series,
    quota_history: pd.DataFrame | None,
    quota_growth: float,
    notes: list[str],
) -> pd.DataFrame:
    """Set ``auto`` quotas from the role's quantile of full-year actuals.

    The quantile is taken on the prior period's actuals where given and raised by ``quota_growth``
    for value measures; quotas not above the floor are dropped.
    """
    auto = rm["auto_q"].notna()
    rm["quota_source"] = np.where(auto, "", "plan")
    if not auto.any():
        return rm
    basis = rm[["role", "measure", "auto_q", "_fy"]].copy()
    if quota_history is not None:
        require_columns(quota_history, ["rep_id", "measure", "full_year_actual"], "quota_history")
        h = quota_history.assign(rep_id=quota_history["rep_id"].astype("string"))
        prior = rm[["rep_id", "measure"]].merge(
            h[["rep_id", "measure", "full_year_actual"]], on=["rep_id", "measure"], how="left"
        )["full_year_actual"]
        basis["_fy"] = prior.to_numpy() / level.where(level > 0).to_numpy()
        rm.loc[auto, "quota_source"] = "prior"
    else:
        rm.loc[auto, "quota_source"] = "same"
        notes.append(
            _(
                "no prior period given: 'auto' quotas were set on the same period's actuals, "
                "which makes attainment circular; pass the prior period (quota_history)."
            )
        )
    qv = (
        basis[auto]
        .groupby(["role", "measure"])
        .apply(
            lambda g: g["_fy"].quantile(g["auto_q"].iloc[0]) if g["_fy"].notna().any() else np.nan,
            include_groups=False,
        )
        .rename("_auto")
    )
    rm = rm.merge(qv.reset_index(), on=["role", "measure"], how="left")
    grows = rm["kind"].eq("deal") | rm["measure"].eq("portfolio_growth")
    rm["growth_target"] = np.where(auto & grows, quota_growth, 0.0)
    rm.loc[auto, "plan_quota"] = rm.loc[auto, "_auto"] * (1.0 + rm.loc[auto, "growth_target"])
    rm = rm.drop(columns="_auto")
    bad = auto & ~(rm["plan_quota"] > rm["floor"])
    if bad.any():
        notes.append(
            _(
                "{n} rep-measure value(s) with an automatic quota that is not above the floor "
                "(no history to set it on): nothing paid on them."
            ).format(n=int(bad.sum()))
        )
        rm.loc[bad, "plan_quota"] = np.nan
    return rm


def set_quotas(
    rm: pd.DataFrame,
    potential: pd.DataFrame | None,
    quota_history: pd.DataFrame | None,
    quota_growth: float,
    quotas: pd.DataFrame | None,
    notes: list[str],
) -> pd.DataFrame:
    """Each rep-measure's quota.

    The plan's value or ``auto``, spread by territory potential where asked, prorated for deal
    measures, overridden per rep by ``quotas``.

    Parameters
    ----------
    rm
        Output of :func:`attach_actuals`.
    potential, quota_history, quota_growth, quotas
        As in :func:`compute_payouts`.
    notes
        Appended to: circular or missing automatic quotas.

    Returns
    -------
    pandas.DataFrame
        ``rm`` with ``full_year_actual``, ``quota_source`` and ``quota``.
    """
    is_deal = rm["kind"] == "deal"
    level = _potential_level(rm, potential)
    full_year = np.where(
        is_deal, rm["actual"] / rm["prorate"].where(rm["prorate"] > 0), rm["actual"]
    )
    # the automatic level is set on actuals relative to each rep's quota share (potential)
    rm["_fy"] = full_year / level.where(level > 0)
    rm["full_year_actual"] = full_year
    rm["_level"] = level
    rm = _auto_quotas(rm, level, quota_history, quota_growth, notes)
    level = rm["_level"]
    rm["quota"] = rm["plan_quota"] * level * np.where(rm["kind"] == "deal", rm["prorate"], 1.0)
    if quotas is not None:
        require_columns(quotas, ["rep_id", "measure", "quota"], "quotas")
        q = quotas[["rep_id", "measure", "quota"]].astype({"rep_id": "string"})
        rm = rm.merge(
            q.rename(columns={"quota": "q_override"}), on=["rep_id", "measure"], how="left"
        )
        rm["quota"] = rm["q_override"].fillna(rm["quota"])
        rm = rm.drop(columns="q_override")
    return rm


def pay_measures(plan: Plan, rm: pd.DataFrame) -> pd.DataFrame:
    """Attainment, the curve's factor and the measure payout (rounded).

    Attainment is ``(actual - floor) / (quota - floor)``; the payout ``target share x factor``, or
    ``rate x actual`` for a commission measure.
    """
    is_comm = rm["commission_rate"].notna()
    with np.errstate(divide="ignore", invalid="ignore"):
        rm["attainment"] = (rm["actual"] - rm["floor"]) / (rm["quota"] - rm["floor"])
    rm["factor"] = 0.0
    for role, rp in plan.roles.items():
        for m in rp.measures:
            sel = (rm["role"] == role) & (rm["measure"] == m.id)
            if m.commission_rate is None:
                rm.loc[sel, "factor"] = curve_factor(rm.loc[sel, "attainment"].fillna(0.0), m.curve)
    rm["payout"] = round_pay(
        np.where(
            is_comm,
            rm["commission_rate"] * rm["actual"].fillna(0.0),
            rm["target_share"] * rm["factor"],
        )
    )
    return rm


def rep_totals(plan: Plan, r: pd.DataFrame, rm: pd.DataFrame) -> pd.DataFrame:
    """Per rep: base salary, target incentive, the measures' payout and the plan cap's reduction.

    Base salary and target incentive are prorated; ``_scale`` is the share of measure pay left after
    the cap.
    """
    t = r[["rep_id", "role", "prorate", "_hire"]].copy()
    t["base_salary"] = round_pay(
        t["role"].map({k: v.base_salary for k, v in plan.roles.items()}) * t["prorate"]
    )
    t["target_incentive"] = (
        t["role"].map({k: v.target_incentive for k, v in plan.roles.items()}) * t["prorate"]
    )
    t["measure_payout"] = t["rep_id"].map(rm.groupby("rep_id")["payout"].sum()).fillna(0.0)
    cap_mult = t["role"].map(
        {k: (np.inf if v.cap is None else v.cap) for k, v in plan.roles.items()}
    )
    cap_amt = np.where(np.isinf(cap_mult), np.inf, cap_mult * t["target_incentive"])
    t["cap_reduction"] = round_pay(np.minimum(cap_amt - t["measure_payout"], 0.0))
    scale = np.where(
        t["measure_payout"] > 0,
        (t["measure_payout"] + t["cap_reduction"]) / t["measure_payout"],
        1.0,
    )
    t["_scale"] = scale
    return t


def apply_clawbacks(
    plan: Plan, d: pd.DataFrame, rm: pd.DataFrame, t: pd.DataFrame, end: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claw back ``share`` of the pay per credited CHF on deals whose customer was lost.

    Deals whose customer was lost within the window (``lost_date`` of the credited deals ``d``);
    after the plan cap. Returns the totals with ``clawback`` and the clawed-back deals (adds
    ``rate_per_credit`` to ``rm``).
    """
    rm["rate_per_credit"] = np.where(rm["actual"] > 0, rm["payout"] / rm["actual"], 0.0)
    claw_parts = []
    if "lost_date" in d.columns:
        for role, rp in plan.roles.items():
            cb = rp.clawback
            if cb is None:
                continue
            window = pd.Timedelta(days=cb.window_months * _MONTH_DAYS)
            sel = (
                (d["role"] == role)
                & d["measure"].isin(list(cb.measures))
                & d["lost_date"].notna()
                & (d["lost_date"] <= end)
                & (d["lost_date"] - d["close_date"] <= window)
            )
            keep = ["rep_id", "measure", "deal_id", "credit", "close_date", "lost_date"]
            part = d.loc[sel, keep + (["customer"] if "customer" in d.columns else [])]
            part = part.assign(share=cb.share, window_months=cb.window_months)
            claw_parts.append(part)
    claw = pd.concat(claw_parts, ignore_index=True) if claw_parts else pd.DataFrame()
    if len(claw):
        claw = claw.merge(rm[["rep_id", "measure", "rate_per_credit"]], on=["rep_id", "measure"])
        claw["scale"] = claw["rep_id"].map(t.set_index("rep_id")["_scale"])
        claw["amount"] = round_pay(
            -claw["credit"] * claw["rate_per_credit"] * claw["scale"] * claw["share"]
        )
        t["clawback"] = t["rep_id"].map(claw.groupby("rep_id")["amount"].sum()).fillna(0.0)
    else:
        t["clawback"] = 0.0
    return t, claw


def award_contests(
    plan: Plan,
    deals: pd.DataFrame,
    portfolio: pd.DataFrame,
    t: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split each contest's budget among the role's best reps on its measure.

    Ranked on the uncapped deal amounts of the period, or the portfolio actual; outside the plan
    cap. Returns the totals with ``contest`` and the awards ``rep_id, contest, rank, value,
    amount``.
    """
    contest_rows = []
    all_deal_sums = (
        deals[deals["close_date"].between(start, end)]
        .assign(rep_id=lambda x: x["rep_id"].astype("string"))
        .groupby(["rep_id", "measure"])["amount"]
        .sum()
    )
    for role, rp in plan.roles.items():
        for c in rp.contests:
            role_reps = t.loc[t["role"] == role, "rep_id"]
            if MEASURES.get(c.measure, {}).get("kind") == "deal":
                vals = pd.Series(
                    [all_deal_sums.get((rid, c.measure), 0.0) for rid in role_reps],
                    index=role_reps.to_numpy(),
                )
            else:
                sub = portfolio[portfolio["measure"] == c.measure].set_index("rep_id")["actual"]
                vals = role_reps.map(sub).set_axis(role_reps.to_numpy())
            vals = vals.dropna()
            vals = (
                vals[vals > 0].sort_index(kind="stable").sort_values(ascending=False, kind="stable")
            )
            for rank, (rid, v) in enumerate(vals.head(len(c.split)).items(), start=1):
                contest_rows.append(
                    {
                        "rep_id": rid,
                        "contest": c,
                        "rank": rank,
                        "value": float(v),
                        "amount": float(round_pay(c.budget * c.split[rank - 1])),
                    }
                )
    contests = pd.DataFrame(contest_rows)
    t["contest"] = (
        t["rep_id"].map(contests.groupby("rep_id")["amount"].sum()).fillna(0.0)
        if len(contests)
        else 0.0
    )
    return t, contests


def apply_draws(
    plan: Plan, t: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Top a new hire's earned incentive up to the draw's guarantee.

    The earned incentive after cap and clawback, for the draw months within the period; recoverable
    draws are also booked as recoverable.
    """
    t["draw_topup"] = 0.0
    t["draw_recoverable"] = 0.0
    t["draw_months"] = 0.0
    t["draw_guarantee"] = 0.0
    for role, rp in plan.roles.items():
        dr = rp.draw
        if dr is None:
            continue
        sel = (t["role"] == role) & t["_hire"].notna()
        h = t.loc[sel, "_hire"]
        d_end = h + pd.DateOffset(months=dr.months)
        ov_start = h.where(h > start, start)
        ov_end = d_end.where(d_end < end + pd.Timedelta(days=1), end + pd.Timedelta(days=1))
        months = ((ov_end - ov_start).dt.days.clip(lower=0) / _MONTH_DAYS).round(2)
        guarantee = months * dr.monthly_amount
        earned = t.loc[sel, "measure_payout"] + t.loc[sel, "cap_reduction"] + t.loc[sel, "clawback"]
        topup = round_pay((guarantee - earned).clip(lower=0.0))
        t.loc[sel, "draw_months"] = months
        t.loc[sel, "draw_guarantee"] = guarantee
        t.loc[sel, "draw_topup"] = topup
        if dr.recoverable:
            t.loc[sel, "draw_recoverable"] = topup
    return t


def _result_frames(rm: pd.DataFrame, t: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The published ``payouts`` and ``totals`` columns with their dtypes."""
    payouts = rm[
        [
            "rep_id",
            "role",
            "measure",
            "weight",
            "actual",
            "quota",
            "attainment",
            "factor",
            "payout",
            "deals",
            "full_year_actual",
            "quota_source",
        ]
    ].reset_index(drop=True)
    totals = t[
        [
            "rep_id",
            "role",
            "base_salary",
            "target_incentive",
            "measure_payout",
            "cap_reduction",
            "clawback",
            "contest",
            "draw_topup",
            "draw_recoverable",
            "incentive",
            "total_pay",
        ]
    ].reset_index(drop=True)
    for frame in (payouts, totals):
        for c in frame.columns:
            if c not in ("rep_id", "role", "measure", "deals", "quota_source"):
                frame[c] = frame[c].astype("float64")
    payouts["deals"] = payouts["deals"].astype("int64")
    for frame in (payouts, totals):
        frame["rep_id"] = frame["rep_id"].astype("string")
        frame["role"] = frame["role"].astype("string")
    payouts["measure"] = payouts["measure"].astype("string")
    payouts["quota_source"] = payouts["quota_source"].astype("string")
    return payouts, totals
