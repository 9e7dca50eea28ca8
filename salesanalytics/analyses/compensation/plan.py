"""Incentive plans as configuration: the plan model, loading from YAML and validation.

A plan file (``salesanalytics/config/plans/<name>.yaml``) declares one plan per sales role::

    name: Proposed plan
    description: Rewards retention and portfolio development.
    credit: channel_matrix          # who earns a deal: deal_owner (default) or channel_matrix
    roles:
      field:
        base_salary: 96000          # CHF per year at 1.0 FTE
        target_incentive: 24000     # CHF paid at 100% attainment of every measure (pay mix 80/20)
        cap: 2.5                    # plan cap: incentive <= 2.5 x target incentive
        measures:
          - id: new_arr             # a measure of salesanalytics.analyses.compensation.actuals.MEASURES
            weight: 0.4             # weights of a role sum to 1 (100%)
            quota: 60000            # target value per rep and year (CHF, or a ratio such as 1.0);
                                    # 'auto' = the role's quota_quantile (default 0.5) of the
                                    # period's actuals (full-year equivalent), i.e. set on history
            quota_basis: potential  # optional: spread the quota by territory potential
            floor: 0                # actual value that counts as 0% attainment (default 0)
            deal_cap: 30000         # optional: credit per deal is capped here (CHF)
            curve:
              threshold: 0.5        # below this attainment the measure pays nothing
              mode: marginal        # marginal: rate applies to the increment within a tier;
                                    # retroactive: the rate reached applies to the whole attainment
              cap: 2.0              # the measure pays at most 2.0 x its target share
              tiers:                # contiguous, from 0; 'to: null' = open-ended
                - {from: 0.0, to: 1.0, rate: 1.0}
                - {from: 1.0, to: 1.5, rate: 2.0}   # accelerator
                - {from: 1.5, to: null, rate: 0.5}  # decelerator
        boosters:
          - {id: multi_year, measure: new_arr, flag: multi_year, multiplier: 1.25}
        contests:
          - {id: new_products, measure: new_product_arr, budget: 20000, split: [0.5, 0.3, 0.2]}
        clawback: {window_months: 12, share: 1.0, measures: [new_arr]}
        draw: {months: 6, monthly_amount: 1500, recoverable: false}

Top-level keys starting with ``x-`` are ignored: use them for YAML anchors shared by roles.
A measure can instead be a straight commission (``commission_rate: 0.08``: 8% of the credited
value, no quota needed), which is how the status-quo plan of commission on new business is written.

Payout of a quota measure = target incentive x weight x ``factor(attainment)``, where
``attainment = (actual - floor) / (quota - floor)`` and ``factor`` is the payout curve (1.0 at
100% attainment for a well-formed curve). Every validation problem of a file is reported at once
(:func:`plan_problems`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "PLANS_DIR",
    "Booster",
    "Clawback",
    "Contest",
    "Curve",
    "Draw",
    "Measure",
    "Plan",
    "RolePlan",
    "Tier",
    "curve_factor",
    "load_plan",
    "plan_from_dict",
    "plan_problems",
]

PLANS_DIR = Path(__file__).resolve().parents[2] / "config" / "plans"
"""Folder of the built-in plan files (``current.yaml``, ``proposed.yaml``)."""

_TOL = 1e-9


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Tier(_Model):
    """One tier of a payout curve: attainment range ``[from, to)`` with a rate and an optional step.

    ``rate`` is the payout factor earned per 1.0 of attainment inside the tier (1.0 = linear,
    > 1 accelerator, < 1 decelerator); ``step`` is a lump factor added once the tier is reached
    (step curves).
    """

    lower: float = Field(alias="from", ge=0)
    upper: float | None = Field(None, alias="to")
    rate: float = Field(0.0, ge=0)
    step: float = Field(0.0, ge=0)


class Curve(_Model):
    """Payout curve of a measure: threshold, tiers, marginal or retroactive, cap."""

    threshold: float = Field(0.0, ge=0)
    mode: Literal["marginal", "retroactive"] = "marginal"
    cap: float | None = Field(None, gt=0)
    tiers: tuple[Tier, ...] = (Tier.model_validate({"from": 0.0, "to": None, "rate": 1.0}),)


class Measure(_Model):
    """A weighted measure of a role plan (quota-based with a curve, or a straight commission)."""

    id: str
    name: str = ""
    weight: float = Field(ge=0, le=1)
    quota: float | Literal["auto"] | None = None
    quota_quantile: float = Field(0.5, ge=0.05, le=0.95)
    floor: float = 0.0
    quota_basis: Literal["flat", "potential"] = "flat"
    commission_rate: float | None = Field(None, ge=0)
    deal_cap: float | None = Field(None, gt=0)
    curve: Curve = Curve()


class Booster(_Model):
    """Multiplies the credit of deals carrying ``flag`` (e.g. multi-year contracts) for ``measure``."""

    id: str
    name: str = ""
    measure: str
    flag: str
    multiplier: float = Field(gt=0)


class Contest(_Model):
    """A contest with a fixed budget, split among the best reps of ``measure`` (by actual value)."""

    id: str
    name: str = ""
    measure: str
    budget: float = Field(ge=0)
    split: tuple[float, ...] = (1.0,)


class Clawback(_Model):
    """Take back ``share`` of the pay earned on a deal whose customer was lost within the window."""

    window_months: int = Field(gt=0)
    share: float = Field(1.0, gt=0, le=1)
    measures: tuple[str, ...] = ()


class Draw(_Model):
    """Guaranteed minimum incentive for new hires during their first ``months`` months."""

    months: int = Field(gt=0)
    monthly_amount: float = Field(ge=0)
    recoverable: bool = False


class RolePlan(_Model):
    """The plan of one role: pay mix, measures, caps, boosters, contests, clawback, draw."""

    base_salary: float = Field(ge=0)
    target_incentive: float = Field(ge=0)
    cap: float | None = Field(None, gt=0)
    measures: tuple[Measure, ...]
    boosters: tuple[Booster, ...] = ()
    contests: tuple[Contest, ...] = ()
    clawback: Clawback | None = None
    draw: Draw | None = None

    @property
    def pay_mix(self) -> float:
        """Share of the target incentive in on-target earnings (0.2 = 80/20 pay mix)."""
        ote = self.base_salary + self.target_incentive
        return self.target_incentive / ote if ote else 0.0

    def measure(self, measure_id: str) -> Measure:
        """The measure called ``measure_id``; ``KeyError`` listing the measures otherwise."""
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(
            f"measure '{measure_id}' is not in this plan; measures: "
            + ", ".join(m.id for m in self.measures)
        )


class Plan(_Model):
    """An incentive plan: one :class:`RolePlan` per sales role."""

    name: str
    description: str = ""
    credit: Literal["deal_owner", "channel_matrix"] = "deal_owner"
    """Who earns a deal's credit: its owner (``deal_owner``, today's practice), or the channel
    the channel matrix routes the account's product group to (``channel_matrix``: the field
    owner for complex groups, the tele or online rep for simple add-ons; see
    :func:`salesanalytics.analyses.compensation.actuals.route_credits`)."""
    roles: dict[str, RolePlan]

    def role(self, role: str) -> RolePlan:
        """The plan of ``role``; ``KeyError`` listing the roles the plan covers otherwise."""
        if role not in self.roles:
            raise KeyError(
                f"plan '{self.name}' has no plan for role '{role}'; roles: {', '.join(self.roles)}"
            )
        return self.roles[role]


def curve_factor(attainment: Any, curve: Curve) -> np.ndarray:
    """Payout factor of ``curve`` at ``attainment`` (vectorised; any array shape).

    Parameters
    ----------
    attainment
        Attainment values (1.0 = 100% of quota), scalar or array.
    curve
        The payout curve.

    Returns
    -------
    numpy.ndarray
        Factor of the target share: 0 below the threshold; with ``mode="marginal"`` the sum over
        tiers of ``rate x`` the part of attainment inside the tier; with ``"retroactive"`` the rate
        of the tier reached times the whole attainment; plus the steps of every tier reached;
        capped at ``curve.cap``.

    Examples
    --------
    >>> c = Curve(tiers=(Tier(lower=0, upper=1, rate=1), Tier(lower=1, rate=2)))
    >>> float(curve_factor(1.5, c))
    2.0
    """
    a = np.asarray(attainment)
    if a.dtype.kind != "f":
        a = a.astype(float)
    lows = np.array([t.lower for t in curve.tiers])
    ups = np.array([math.inf if t.upper is None else t.upper for t in curve.tiers])
    rates = np.array([t.rate for t in curve.tiers])
    steps = np.array([t.step for t in curve.tiers])
    if curve.mode == "marginal":
        f = np.zeros_like(a)
        for lo, up, r, s in zip(
            lows.tolist(), ups.tolist(), rates.tolist(), steps.tolist(), strict=True
        ):
            if r:
                f += r * np.clip(a - lo, 0.0, up - lo)
            if s:
                f += s * (a >= lo)
    else:
        k = np.clip(np.searchsorted(lows, a, side="right") - 1, 0, len(lows) - 1)
        f = rates[k] * a + np.cumsum(steps)[k]
    f = np.where(a < curve.threshold, 0.0, f)
    if curve.cap is not None:
        f = np.minimum(f, curve.cap)
    return np.maximum(f, 0.0)


def plan_problems(plan: Plan, known_measures: set[str] | None = None) -> list[str]:
    """Every semantic problem of ``plan`` (empty list when the plan is valid).

    Checks per role: measure weights sum to 100%; measure ids unique and known; a quota measure
    has a quota; tiers start at 0, are contiguous and do not overlap; a measure cap or plan cap is
    not below target (the curve must be able to pay 100% at 100% attainment); boosters, contests and
    clawbacks point to measures of the role; contest splits sum to at most 100%.

    Parameters
    ----------
    plan
        The parsed plan.
    known_measures
        Measure ids the payout engine can compute; ``None`` skips that check.
    """
    out: list[str] = []
    for role, rp in plan.roles.items():
        out += _role_problems(f"roles.{role}", rp, known_measures)
    return out


def _role_problems(where: str, rp: RolePlan, known_measures: set[str] | None) -> list[str]:
    """The problems of one role's plan (``where``: its place in the plan, ``roles.<role>``)."""
    out: list[str] = []
    wsum = sum(m.weight for m in rp.measures)
    if not rp.measures:
        out.append(f"{where}.measures: no measures; add at least one.")
    elif abs(wsum - 1.0) > 1e-6:
        out.append(
            f"{where}.measures: weights sum to {wsum * 100:.1f}%, not 100% "
            f"({', '.join(f'{m.id}={m.weight:g}' for m in rp.measures)}); adjust the weights."
        )
    ids = [m.id for m in rp.measures]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        out.append(f"{where}.measures: measure '{dup}' appears more than once.")
    for i, m in enumerate(rp.measures):
        out += _measure_problems(f"{where}.measures[{i}] ({m.id})", m, known_measures)
    if rp.cap is not None and rp.cap < 1.0 - _TOL:
        out.append(
            f"{where}.cap: plan cap {rp.cap:g} x target incentive is below target (1.0); "
            "a rep at 100% could not earn the target incentive. Raise it to at least 1."
        )
    return out + _reference_problems(where, rp, ids, known_measures)


def _measure_problems(mw: str, m: Measure, known_measures: set[str] | None) -> list[str]:
    """The problems of one measure: known, with a quota above its floor, a valid curve."""
    out: list[str] = []
    if known_measures is not None and m.id not in known_measures:
        out.append(f"{mw}: unknown measure; known measures: {', '.join(sorted(known_measures))}.")
    if m.commission_rate is None and m.quota is None:
        out.append(f"{mw}: no quota; give 'quota' (or 'commission_rate' for a commission).")
    if isinstance(m.quota, float | int) and m.quota <= 0:
        out.append(f"{mw}: quota {m.quota:g} must be positive.")
    elif isinstance(m.quota, float | int) and m.quota <= m.floor:
        out.append(f"{mw}: quota {m.quota:g} is not above floor {m.floor:g}.")
    return out + _curve_problems(m.curve, mw)


def _reference_problems(
    where: str, rp: RolePlan, ids: list[str], known_measures: set[str] | None
) -> list[str]:
    """Boosters, contests and clawbacks pointing elsewhere than the role's measures; splits."""
    out: list[str] = []
    for kind, items in (("boosters", rp.boosters), ("contests", rp.contests)):
        for i, b in enumerate(items):
            if b.measure not in ids and (known_measures is None or b.measure not in known_measures):
                out.append(f"{where}.{kind}[{i}] ({b.id}): unknown measure '{b.measure}'.")
    for i, c in enumerate(rp.contests):
        if sum(c.split) > 1.0 + 1e-6:
            out.append(
                f"{where}.contests[{i}] ({c.id}): split sums to {sum(c.split) * 100:.0f}% "
                "of the budget; it must be at most 100%."
            )
    if rp.clawback is not None:
        for mid in rp.clawback.measures:
            if mid not in ids:
                out.append(f"{where}.clawback: measure '{mid}' is not a measure of the role.")
    return out


def _curve_problems(curve: Curve, where: str) -> list[str]:
    out: list[str] = []
    tiers = sorted(curve.tiers, key=lambda t: t.lower)
    if not tiers:
        return [f"{where}.curve.tiers: no tiers."]
    if tiers[0].lower > _TOL:
        out.append(f"{where}.curve.tiers: first tier starts at {tiers[0].lower:g}; start at 0.")
    for i, t in enumerate(tiers):
        if t.upper is not None and t.upper <= t.lower:
            out.append(f"{where}.curve.tiers: tier from {t.lower:g} to {t.upper:g} is empty.")
        if i + 1 < len(tiers):
            nxt = tiers[i + 1]
            up = math.inf if t.upper is None else t.upper
            if up > nxt.lower + _TOL:
                out.append(
                    f"{where}.curve.tiers: tiers overlap: [{t.lower:g}, "
                    f"{'open' if t.upper is None else f'{t.upper:g}'}) and "
                    f"[{nxt.lower:g}, ...); make each tier end where the next starts."
                )
            elif up < nxt.lower - _TOL:
                out.append(
                    f"{where}.curve.tiers: gap between {up:g} and {nxt.lower:g}; "
                    "make each tier end where the next starts."
                )
    if curve.cap is not None and not out:
        at_target = float(curve_factor(1.0, curve.model_copy(update={"cap": None})))
        if curve.cap < min(at_target, 1.0) - _TOL:
            out.append(
                f"{where}.curve.cap: cap {curve.cap:g} is below target (the curve pays "
                f"{at_target:g} at 100% attainment); raise the cap to at least {at_target:g}."
            )
    return out


def plan_from_dict(
    data: Any, source: str = "<plan>", known_measures: set[str] | None = None
) -> Plan:
    """Parse and validate a plan given as a dict (the content of a plan YAML file).

    Parameters
    ----------
    data
        The plan as nested dicts/lists.
    source
        Where it came from (file name), used in error messages.
    known_measures
        Measure ids the engine can compute (``None`` = skip that check).

    Raises
    ------
    ValueError
        Listing every problem at once, each with its location in the file.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a plan file must be a mapping with 'name' and 'roles'.")
    data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  - {'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            + (f" (got {e['input']!r})" if not isinstance(e.get("input"), dict | list) else "")
            for e in exc.errors()
        ]
        raise ValueError(
            f"{source}: invalid plan ({len(lines)} problem(s)); fix these entries:\n"
            + "\n".join(lines)
        ) from None
    problems = plan_problems(plan, known_measures)
    if problems:
        raise ValueError(
            f"{source}: invalid plan ({len(problems)} problem(s)):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    return plan


def load_plan(path_or_name: str | Path, known_measures: set[str] | None = None) -> Plan:
    """Load a plan from a YAML file, or a built-in plan by name (``"current"``, ``"proposed"``).

    Parameters
    ----------
    path_or_name
        Path to a YAML file, or the name of a file in :data:`PLANS_DIR` (without ``.yaml``).
    known_measures
        Measure ids the engine can compute (default: :data:`~salesanalytics.analyses.compensation.actuals.MEASURES`).

    Raises
    ------
    FileNotFoundError
        If neither a file nor a built-in plan of that name exists (lists the built-in plans).
    ValueError
        If the file is not valid YAML or the plan is invalid (all problems listed).
    """
    p = Path(path_or_name)
    if not p.exists() and p.suffix == "":
        p = PLANS_DIR / f"{path_or_name}.yaml"
    if not p.exists():
        builtin = ", ".join(sorted(x.stem for x in PLANS_DIR.glob("*.yaml")))
        raise FileNotFoundError(
            f"plan '{path_or_name}' not found: no such file and no built-in plan of that name "
            f"(built-in plans: {builtin})."
        )
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not valid YAML: {exc}") from None
    if known_measures is None:
        from salesanalytics.analyses.compensation.actuals import MEASURES

        known_measures = set(MEASURES)
    return plan_from_dict(data, source=str(p), known_measures=known_measures)
