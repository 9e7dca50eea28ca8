"""KPI system and sales cockpits: target against actual, traffic lights, trend, per team and per rep.

The KPI system is configuration (``salesanalytics/config/kpi_system.yaml``): for every KPI its
definition, formula, unit, owner role, leading/lagging indicator, target rule and traffic-light
thresholds. A formula is an arithmetic expression over *measures* (:data:`MEASURES`) that are first
summed over a rep's or a team's data, so a team's win rate is the team's won deals over the team's
closed deals, not an average of rep win rates.

Flow
----
1. :func:`measures` counts the measures per rep for a window (year to date and the same period last
   year) from the canonical tables; snapshot measures (pipeline, stuck deals, churn risk, cost to
   serve) come from the funnel, churn and channel phases via :func:`snapshot_measures`.
2. :func:`kpi_actuals` evaluates every KPI for every rep and team, sets targets and traffic lights.
3. :func:`monthly_trend`, :func:`retention_panel` and :func:`team_funnel` give the cockpit panels;
   :func:`cockpit_data` cuts everything down to one rep or team (and nothing else), and
   :func:`cockpit_figure` / :func:`kpi_tiles` draw the cockpit page.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from salesanalytics.errors import require_columns
from salesanalytics.present import formats
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "LEVELS",
    "MEASURES",
    "Cockpit",
    "Controlling",
    "ControllingSettings",
    "UpstreamResults",
    "build_controlling",
    "current_mrr",
    "first_entity",
    "KpiDefinition",
    "KpiSystem",
    "Target",
    "Thresholds",
    "cockpit_data",
    "cockpit_entities",
    "cockpit_sentence",
    "catalogue_ids",
    "kpi_actuals",
    "kpi_target",
    "load_kpi_system",
    "measures",
    "monthly_trend",
    "retention_panel",
    "snapshot_measures",
    "status_headline",
    "status_matrix",
    "team_funnel",
    "traffic_light",
    "ytd_windows",
]

LEVELS: tuple[str, ...] = ("rep", "team")

MEASURES: dict[str, str] = {
    "bookings": "Won amount of new-business and upsell deals closed in the window (CHF).",
    "bookings_upsell": "Won amount of upsell deals closed in the window (CHF).",
    "won_new": "New-business deals won in the window.",
    "lost_new": "New-business deals lost in the window.",
    "won_all": "Deals of any type won in the window.",
    "lost_all": "Deals of any type lost in the window.",
    "opportunities_created": "Opportunities created in the window.",
    "contacts": "Visits, calls and online sessions in the window.",
    "visits": "Visits in the window.",
    "calls": "Calls in the window.",
    "online_sessions": "Online sessions in the window.",
    "emails": "E-mails in the window.",
    "activity_minutes": "Minutes of all activities in the window (travel excluded).",
    "start_mrr": "MRR of the owned accounts' contracts active at the start of the window (CHF).",
    "churned_mrr": "MRR of those contracts that ended in the window (CHF).",
    "pipeline": "Open deal value expected to close by year end (snapshot, CHF).",
    "remaining_target": "Bookings target of the year minus bookings so far (snapshot, CHF).",
    "open_deals": "Open deals (snapshot).",
    "stuck_deals": "Open deals stuck in their stage or past their close date (snapshot).",
    "portfolio_mrr": "MRR of the owned accounts (snapshot, CHF).",
    "mrr_high_risk": "MRR of owned accounts in the high churn-risk band (snapshot, CHF).",
    "cost_to_serve": "Yearly cost to serve of the owned accounts (snapshot, CHF).",
    "revenue": "Yearly revenue of the owned accounts (snapshot, CHF).",
}
"""Measures a KPI formula may use, with their meaning."""

_WINDOW_MEASURES = [m for m in MEASURES if "snapshot" not in MEASURES[m]]
_SNAPSHOT_MEASURES = [m for m in MEASURES if "snapshot" in MEASURES[m]]
_ACTIVITY_TYPES = {"visit": "visits", "call": "calls", "online_session": "online_sessions"}


# --------------------------------------------------------------------------- configuration
class Thresholds(BaseModel):
    """Traffic-light thresholds on attainment (green at or above ``green``, amber above ``amber``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    green: float = Field(1.0, gt=0)
    amber: float = Field(0.9, gt=0)

    @model_validator(mode="after")
    def _order(self) -> Thresholds:
        if self.amber > self.green:
            raise ValueError(f"amber ({self.amber}) must not be above green ({self.green})")
        return self


class Target(BaseModel):
    """Target rule: ``prior_year_growth`` (last year × (1 + value)), ``absolute``, ``peer_median``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["prior_year_growth", "absolute", "peer_median"]
    value: float


class KpiDefinition(BaseModel):
    """One KPI of the system (see the header of ``kpi_system.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    definition: str
    formula: str
    unit: Literal["chf", "pct", "num", "ratio", "days"]
    indicator: Literal["leading", "lagging"]
    direction: Literal["higher", "lower"]
    owner_role: Literal["rep", "team_lead", "head_of_sales"]
    levels: tuple[Literal["rep", "team"], ...] = LEVELS
    window: Literal["ytd", "now", "12m"] = "ytd"
    source: Literal["measures", "catalogue"] = "measures"
    target: Target
    thresholds: Thresholds | None = None

    @model_validator(mode="after")
    def _check_formula(self) -> KpiDefinition:
        if self.source == "catalogue":
            if self.target.type == "prior_year_growth":
                raise ValueError(
                    "a catalogue KPI has no prior-year value here; use absolute or peer_median"
                )
            return self
        if self.window == "12m":
            raise ValueError("window 12m is only for catalogue KPIs; use ytd or now")
        try:
            tree = ast.parse(self.formula, mode="eval")
        except SyntaxError as exc:
            raise ValueError(
                f"formula '{self.formula}' is not a valid expression: {exc.msg}"
            ) from exc
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant)
        allowed += (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd)
        for node in ast.walk(tree):
            if not isinstance(node, allowed):
                raise ValueError(
                    f"formula '{self.formula}' may only use + - * / and measure names, "
                    f"not {type(node).__name__}"
                )
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        unknown = sorted(names - set(MEASURES))
        if unknown:
            raise ValueError(
                f"formula '{self.formula}' uses unknown measure(s) {', '.join(unknown)}; "
                f"known measures: {', '.join(MEASURES)}"
            )
        if self.window == "ytd" and names & set(_SNAPSHOT_MEASURES):
            raise ValueError(
                f"formula '{self.formula}' mixes snapshot measures into a ytd KPI; use window: now"
            )
        if self.window == "now" and self.target.type == "prior_year_growth":
            raise ValueError(
                "a snapshot KPI (window: now) has no prior year; use absolute or peer_median"
            )
        return self

    @property
    def measures(self) -> list[str]:
        """The measures the formula uses (none for catalogue KPIs)."""
        if self.source == "catalogue":
            return []
        tree = ast.parse(self.formula, mode="eval")
        return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})


class KpiSystem(BaseModel):
    """The whole KPI system: defaults and the list of KPIs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = 1
    defaults: dict[str, Thresholds] = Field(default_factory=dict)
    kpis: tuple[KpiDefinition, ...]

    @model_validator(mode="after")
    def _unique(self) -> KpiSystem:
        ids = [k.id for k in self.kpis]
        dups = sorted({i for i in ids if ids.count(i) > 1})
        if dups:
            raise ValueError(f"KPI id(s) defined twice: {', '.join(dups)}")
        return self

    def thresholds(self, kpi: KpiDefinition) -> Thresholds:
        """Thresholds of ``kpi``: its own or the system default."""
        return kpi.thresholds or self.defaults.get("thresholds") or Thresholds()

    def get(self, kpi_id: str) -> KpiDefinition:
        """The KPI with id ``kpi_id``; ``KeyError`` listing the known ids otherwise."""
        for k in self.kpis:
            if k.id == kpi_id:
                return k
        raise KeyError(f"unknown KPI '{kpi_id}'; known KPIs: {', '.join(k.id for k in self.kpis)}")

    def table(self) -> pd.DataFrame:
        """The system as a table for the report (one row per KPI)."""
        rows = []
        for k in self.kpis:
            t = self.thresholds(k)
            target = {
                "prior_year_growth": _("last year {growth}").format(
                    growth=formats.pct(k.target.value, 0, signed=True)
                ),
                "absolute": formats.num(k.target.value, 2)
                if k.unit == "ratio"
                else (
                    formats.pct(k.target.value, 0)
                    if k.unit == "pct"
                    else formats.num(k.target.value)
                ),
                "peer_median": _("median of peers × {factor}").format(
                    factor=formats.plain(k.target.value)
                ),
            }[k.target.type]
            rows.append(
                {
                    "kpi_id": k.id,
                    "KPI": _(k.name),
                    "indicator": _(k.indicator),
                    "definition": _(k.definition),
                    "formula": k.formula,
                    "owner": _(k.owner_role.replace("_", " ")),
                    "target": target,
                    "better": _(k.direction),
                    "green from": _("{share} of target").format(share=formats.pct(t.green, 0)),
                    "amber from": _("{share} of target").format(share=formats.pct(t.amber, 0)),
                }
            )
        return pd.DataFrame(rows)


def load_kpi_system(path: str | Path | None = None) -> KpiSystem:
    """Load and check the KPI system (default: the packaged ``config/kpi_system.yaml``).

    Raises
    ------
    ValueError
        If the file is not valid YAML or a KPI is inconsistent; the message names the file and
        every problem at once (KPI position, field, reason).
    """
    if path is None:
        text = (
            resources.files("salesanalytics").joinpath("config/kpi_system.yaml").read_text("utf-8")
        )
        where = "salesanalytics/config/kpi_system.yaml"
    else:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"KPI system file {p} does not exist")
        text, where = p.read_text(encoding="utf-8"), str(p)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{where} is not valid YAML: {exc}") from exc
    try:
        system = KpiSystem.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            if err["loc"][:1] == ("kpis",) and len(err["loc"]) > 1 and isinstance(raw, dict):
                try:
                    kid = raw["kpis"][err["loc"][1]].get("id", "?")
                    loc = f"{loc} (KPI '{kid}')"
                except (IndexError, KeyError, TypeError, AttributeError):
                    pass
            problems.append(f"  - {loc}: {err['msg']}")
        raise ValueError(
            f"{where} has {len(problems)} problem(s):\n" + "\n".join(problems)
        ) from None
    missing = sorted({k.id for k in system.kpis if k.source == "catalogue"} - set(catalogue_ids()))
    if missing:
        raise ValueError(
            f"{where}: KPI(s) {', '.join(missing)} have source 'catalogue' but are not in "
            "salesanalytics/config/kpi_catalogue.yaml; use a catalogue id or source: measures"
        )
    return system


def catalogue_ids() -> list[str]:
    """Ids of the portfolio KPI catalogue (``config/kpi_catalogue.yaml``; empty if absent)."""
    f = resources.files("salesanalytics").joinpath("config/kpi_catalogue.yaml")
    if not f.is_file():
        return []
    raw = yaml.safe_load(f.read_text("utf-8")) or {}
    return [str(k.get("id")) for k in raw.get("kpis", []) if isinstance(k, dict)]


# --------------------------------------------------------------------------- measures
def ytd_windows(as_of: str | pd.Timestamp) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """Year-to-date window and the same period last year: ``{"ytd": (start, end), "prior": ...}``."""
    as_of = pd.Timestamp(as_of).normalize()
    start = pd.Timestamp(year=as_of.year, month=1, day=1)
    prior_end = as_of - pd.DateOffset(years=1)
    return {"ytd": (start, as_of), "prior": (start - pd.DateOffset(years=1), prior_end)}


def _activity_weights(activities: pd.DataFrame) -> np.ndarray:
    """How many activities each row stands for.

    1 per row of the canonical table, the count ``activities`` per row of the aggregation layer's
    ``rep_activity`` (rep x date x type).
    """
    if "activities" in activities.columns:
        return activities["activities"].to_numpy(dtype="float64")
    return np.ones(len(activities))


def _in(s: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Dates within [start, end], whole days."""
    return (
        s.between(start, end + pd.Timedelta(days=1) - pd.Timedelta(1, "ns"))
        .fillna(False)
        .to_numpy(bool)
    )


def measures(
    opportunities: pd.DataFrame,
    activities: pd.DataFrame,
    contracts: pd.DataFrame,
    accounts: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    rep_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Window measures per rep (see :data:`MEASURES`), for ``start``..``end`` inclusive.

    Parameters
    ----------
    opportunities
        Canonical opportunities: ``owner_id``, ``type``, ``status``, ``amount``, ``created_date``,
        ``close_date``.
    activities
        Canonical activities: ``rep_id``, ``date``, ``type``, ``minutes``; or the aggregation
        layer's ``rep_activity`` (the same columns plus ``activities``, the count of each row):
        the same measures, without holding the activity log.
    contracts
        Canonical contracts: ``account_id``, ``start_date``, ``end_date``, ``mrr``.
    accounts
        Canonical accounts: ``account_id``, ``owner_id`` (churn is counted for today's owner).
    start, end
        Window, both days included.
    rep_ids
        Reps to return (rows of zeros for reps without data); default: every rep seen.

    Returns
    -------
    pandas.DataFrame
        Index ``rep_id``; one column per window measure. Rows without a rep (missing owner) are
        left out; their number is in ``attrs["without_rep"]`` per table.
    """
    require_columns(
        opportunities,
        ["owner_id", "type", "status", "amount", "created_date", "close_date"],
        "opportunities",
    )
    require_columns(activities, ["rep_id", "date", "type", "minutes"], "activities")
    require_columns(contracts, ["account_id", "start_date", "end_date", "mrr"], "contracts")
    require_columns(accounts, ["account_id", "owner_id"], "accounts")
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end < start:
        raise ValueError(f"window end {end.date()} is before its start {start.date()}")
    # one groupby per table (grouping by the rep id string is the expensive part); the sums are
    # the same as one groupby per measure
    deals, owner = _deal_window_sums(opportunities, start, end)
    acts, aw, arep = _activity_window_sums(activities, start, end)
    churn, own = _churn_window_sums(contracts, accounts, start, end)
    parts: dict[str, pd.Series] = {}
    parts.update(deals.items())
    parts.update(acts.items())
    parts.update(churn.items())
    res = pd.DataFrame({k: v.astype("float64") for k, v in parts.items()})
    res = res[[m for m in _WINDOW_MEASURES]]
    res.index = res.index.astype("string")
    res.index.name = "rep_id"
    res = res[res.index.notna()]
    if rep_ids is not None:
        res = res.reindex(pd.Index(list(rep_ids), dtype="string", name="rep_id"), fill_value=0.0)
    res = res.fillna(0.0)
    res.attrs["without_rep"] = {
        "opportunities": int(owner.isna().sum()),
        "activities": int(aw[arep.isna().to_numpy(bool)].sum()),
        "contracts": int(own.isna().sum()),
    }
    return res


def _deal_window_sums(
    o: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, pd.Series]:
    """Bookings, won and lost deals and opportunities created per owner in the window.

    Returns the sums (index owner id) and the owner per opportunity.
    """
    owner = o["owner_id"].astype("string")
    typ = o["type"].astype("string")
    st = o["status"].astype("string")
    amt = pd.to_numeric(o["amount"], errors="coerce").fillna(0.0)
    closed_in = _in(o["close_date"], start, end)
    won = st.eq("won").fillna(False).to_numpy(bool) & closed_in
    lost = st.eq("lost").fillna(False).to_numpy(bool) & closed_in
    new = typ.eq("new_business").fillna(False).to_numpy(bool)
    ups = typ.eq("upsell").fillna(False).to_numpy(bool)
    sums = (
        pd.DataFrame(
            {
                "bookings": amt.where(won & (new | ups), 0.0).to_numpy(),
                "bookings_upsell": amt.where(won & ups, 0.0).to_numpy(),
                "won_new": won & new,
                "lost_new": lost & new,
                "won_all": won,
                "lost_all": lost,
                "opportunities_created": _in(o["created_date"], start, end),
            }
        )
        .groupby(owner.array)
        .sum()
    )
    return sums, owner


def _activity_window_sums(
    a: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Activities by kind, contacts and activity minutes per rep in the window.

    Returns the sums (index rep id), each row's activity count (weight) and its rep id.
    """
    arep = a["rep_id"].astype("string")
    ain = _in(a["date"], start, end)
    atype = a["type"].astype("string")
    mins = pd.to_numeric(a["minutes"], errors="coerce").fillna(0.0).to_numpy()
    aw = _activity_weights(a)
    act_cols: dict[str, np.ndarray] = {
        name: np.where(ain & atype.eq(t).fillna(False).to_numpy(bool), aw, 0.0)
        for t, name in _ACTIVITY_TYPES.items()
    }
    act_cols["emails"] = np.where(ain & atype.eq("email").fillna(False).to_numpy(bool), aw, 0.0)
    act_cols["contacts"] = np.where(
        ain & atype.isin(list(_ACTIVITY_TYPES)).fillna(False).to_numpy(bool), aw, 0.0
    )
    act_cols["activity_minutes"] = np.where(ain, mins, 0.0)
    return pd.DataFrame(act_cols).groupby(arep.array).sum(), aw, arep


def _churn_window_sums(
    c: pd.DataFrame, accounts: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, pd.Series]:
    """MRR at the window's start and MRR churned in it per today's account owner.

    Counts the contracts active at the window start. Returns the sums (index rep id) and the
    owner per contract.
    """
    own = (
        c["account_id"]
        .astype("string")
        .map(
            pd.Series(
                accounts["owner_id"].astype("string").to_numpy(),
                index=accounts["account_id"].astype("string").to_numpy(),
            )
        )
    )
    active = (c["start_date"] <= start).fillna(False).to_numpy(bool) & ~(
        c["end_date"] < start
    ).fillna(False).to_numpy(bool)
    mrr = pd.to_numeric(c["mrr"], errors="coerce").fillna(0.0).to_numpy()
    ended = active & _in(c["end_date"], start, end)
    sums = (
        pd.DataFrame(
            {"start_mrr": np.where(active, mrr, 0.0), "churned_mrr": np.where(ended, mrr, 0.0)}
        )
        .groupby(own.array)
        .sum()
    )
    return sums, own


def snapshot_measures(
    rep_ids: Sequence[str],
    coverage: pd.DataFrame | None = None,
    progress_open: pd.DataFrame | None = None,
    stuck: pd.DataFrame | None = None,
    customer_churn: pd.DataFrame | None = None,
    portfolio_mrr: pd.Series | None = None,
    account_channel: pd.DataFrame | None = None,
    accounts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Snapshot measures per rep from the funnel, churn and channel phases (missing inputs -> NaN).

    Parameters
    ----------
    rep_ids
        Reps to return.
    coverage
        Funnel phase ``pipeline_coverage``: ``rep_id, pipeline, remaining``.
    progress_open
        Open deals with ``owner_id`` (counts ``open_deals``).
    stuck
        Funnel phase ``stuck_deals``: ``owner_id``.
    customer_churn
        Churn phase ``customer_churn``: ``account_id, rep_id, risk_band`` (band ``high`` counts
        as high risk).
    portfolio_mrr
        Current MRR per account (index ``account_id``).
    account_channel
        Channel phase ``account_channel``: ``account_id, cost_to_serve, revenue``.
    accounts
        Canonical accounts (``account_id, owner_id``) to attribute accounts to today's owner.

    Returns
    -------
    pandas.DataFrame
        Index ``rep_id``; columns of the snapshot measures (NaN where the input is missing, so the
        KPI shows grey instead of a misleading zero).
    """
    idx = pd.Index(list(rep_ids), dtype="string", name="rep_id")
    res = pd.DataFrame(index=idx, columns=_SNAPSHOT_MEASURES, dtype="float64")
    if coverage is not None:
        require_columns(coverage, ["rep_id", "pipeline", "remaining"], "pipeline coverage")
        cv = coverage.set_index(coverage["rep_id"].astype("string"))
        res["pipeline"] = cv["pipeline"].reindex(idx).fillna(0.0).to_numpy()
        res["remaining_target"] = cv["remaining"].reindex(idx).to_numpy()
    if progress_open is not None:
        require_columns(progress_open, ["owner_id"], "open deals")
        n = progress_open.groupby(progress_open["owner_id"].astype("string")).size()
        res["open_deals"] = n.reindex(idx).fillna(0).to_numpy(dtype="float64")
        s = (
            stuck.groupby(stuck["owner_id"].astype("string")).size()
            if stuck is not None
            else pd.Series(dtype="float64")
        )
        res["stuck_deals"] = s.reindex(idx).fillna(0).to_numpy(dtype="float64")
    owner = None
    if accounts is not None:
        require_columns(accounts, ["account_id", "owner_id"], "accounts")
        owner = pd.Series(
            accounts["owner_id"].astype("string").to_numpy(),
            index=accounts["account_id"].astype("string").to_numpy(),
        )
    if portfolio_mrr is not None and owner is not None:
        pm = portfolio_mrr.groupby(portfolio_mrr.index.astype("string").map(owner)).sum()
        res["portfolio_mrr"] = pm.reindex(idx).fillna(0.0).to_numpy()
        if customer_churn is not None:
            require_columns(customer_churn, ["account_id", "risk_band"], "customer churn")
            high = customer_churn.loc[
                customer_churn["risk_band"].astype("string").str.lower().eq("high").fillna(False),
                "account_id",
            ].astype("string")
            hm = portfolio_mrr[portfolio_mrr.index.astype("string").isin(high)]
            hm = hm.groupby(hm.index.astype("string").map(owner)).sum()
            res["mrr_high_risk"] = hm.reindex(idx).fillna(0.0).to_numpy()
    if account_channel is not None and owner is not None:
        require_columns(
            account_channel, ["account_id", "cost_to_serve", "revenue"], "account channel"
        )
        ac = account_channel.assign(rep=account_channel["account_id"].astype("string").map(owner))
        g = ac.groupby("rep")[["cost_to_serve", "revenue"]].sum()
        res["cost_to_serve"] = g["cost_to_serve"].reindex(idx).fillna(0.0).to_numpy()
        res["revenue"] = g["revenue"].reindex(idx).fillna(0.0).to_numpy()
    return res


# --------------------------------------------------------------------------- KPI evaluation
def traffic_light(
    actual: pd.Series | np.ndarray,
    target: pd.Series | np.ndarray,
    direction: str = "higher",
    green: float = 1.0,
    amber: float = 0.9,
) -> tuple[np.ndarray, np.ndarray]:
    """Attainment and traffic-light status.

    Attainment is ``actual / target`` (``target / actual`` when lower is better). Status is
    ``green`` at or above ``green``, ``amber`` at or above ``amber``, ``red`` below, ``grey``
    where actual or target is missing. A target of 0 counts as met when ``actual >= 0`` (higher)
    and an actual of 0 meets any target (lower).

    Returns
    -------
    tuple of numpy.ndarray
        ``(attainment, status)``.
    """
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', got '{direction}'")
    a = np.asarray(actual, dtype="float64")
    t = np.asarray(target, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        if direction == "higher":
            att = np.where(t > 0, a / np.where(t > 0, t, 1), np.where(a >= t, 1.0, 0.0))
        else:
            att = np.where(a > 0, t / np.where(a > 0, a, 1), np.where(a <= t, 1.0, 0.0))
    missing = np.isnan(a) | np.isnan(t)
    att = np.where(missing, np.nan, att)
    status = np.where(att >= green, "green", np.where(att >= amber, "amber", "red"))
    status = np.where(missing, "grey", status)
    return att, status


@lru_cache(maxsize=256)
def _compiled(formula: str) -> tuple[Any, tuple[str, ...]]:
    tree = ast.parse(formula, mode="eval")
    names = tuple(sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}))
    return compile(tree, f"<KPI formula {formula}>", "eval"), names


def _eval(formula: str, frame: pd.DataFrame) -> np.ndarray:
    """Evaluate a KPI formula on the columns of ``frame`` as float arrays.

    The formula is ``+ - * /`` over measure names, checked by :class:`KpiDefinition`; division by
    zero and 0/0 give NaN.
    """
    code, names = _compiled(formula)
    env = {n: frame[n].to_numpy(dtype="float64") for n in names}
    with np.errstate(divide="ignore", invalid="ignore"):
        v = eval(code, {"__builtins__": {}}, env)  # only + - * / and names (checked)
    v = np.broadcast_to(np.asarray(v, dtype="float64"), (len(frame),))
    return np.where(np.isfinite(v), v, np.nan)


def _catalogue_actual(
    values: pd.DataFrame | None, level: str, kpi_id: str, ids: pd.Index
) -> np.ndarray:
    if values is None or values.empty:
        return np.full(len(ids), np.nan)
    require_columns(values, ["level", "entity_id", "kpi_id", "value"], "catalogue KPI values")
    v = values[
        values["level"].astype("string").eq(level).fillna(False).to_numpy(bool)
        & values["kpi_id"].astype("string").eq(kpi_id).fillna(False).to_numpy(bool)
    ]
    s = pd.Series(v["value"].to_numpy(dtype="float64"), index=v["entity_id"].astype("string"))
    s = s[~s.index.duplicated()]
    return s.reindex(pd.Index(ids).astype("string")).to_numpy(dtype="float64")


def kpi_actuals(
    system: KpiSystem,
    reps: pd.DataFrame,
    current: pd.DataFrame,
    prior: pd.DataFrame,
    snapshot: pd.DataFrame | None = None,
    catalogue_values: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Actual, target, attainment and traffic light of every KPI for every rep and team.

    Parameters
    ----------
    system
        The KPI system (:func:`load_kpi_system`).
    reps
        ``rep_id, name, team`` and optionally ``active`` (team missing -> ``(no team)``;
        inactive reps count in their team but get no rep rows).
    current, prior
        :func:`measures` for this year to date and the same period last year (index ``rep_id``).
    snapshot
        :func:`snapshot_measures` (index ``rep_id``); missing -> snapshot KPIs are grey.
    catalogue_values
        The portfolio phase's ``rep_kpis`` and ``team_kpis`` stacked: ``level, entity_id,
        kpi_id, value``; the actuals of KPIs with ``source: catalogue`` (grey without it).

    Returns
    -------
    pandas.DataFrame
        ``level, entity_id, entity_name, team, kpi_id, kpi_name, indicator, unit, direction,
        owner_role, actual, target, prior, attainment, status`` (``level`` is ``rep`` or
        ``team``; for teams ``entity_id`` is the team name).
    """
    require_columns(reps, ["rep_id", "name"], "reps")
    r = _rep_teams(reps)
    idx = pd.Index(r["rep_id"], dtype="string", name="rep_id")
    cur = current.reindex(idx).fillna(0.0)
    pri = prior.reindex(idx).fillna(0.0)
    snap = (
        snapshot.reindex(idx)
        if snapshot is not None
        else pd.DataFrame(index=idx, columns=_SNAPSHOT_MEASURES, dtype="float64")
    )
    cur = cur.join(snap[[c for c in _SNAPSHOT_MEASURES if c in snap.columns]])
    team_of = pd.Series(r["team"].to_numpy(), index=idx)
    # team measures: sums over the team's reps (NaN stays NaN if every rep is NaN)
    cur_t = cur.groupby(team_of.to_numpy()).sum(min_count=1)
    pri_t = pri.groupby(team_of.to_numpy()).sum(min_count=1)
    # inactive reps count in their team's sums but get no rep rows (nor a say in peer medians)
    act = (
        reps["active"].astype("boolean").fillna(True).to_numpy(bool)
        if "active" in reps.columns
        else np.ones(len(r), dtype=bool)
    )
    frames = []
    for level, c, p, ids, names, teams in (
        (
            "rep",
            cur[act],
            pri[act],
            idx.to_numpy()[act],
            r["name"].to_numpy()[act],
            r["team"].to_numpy()[act],
        ),
        (
            "team",
            cur_t,
            pri_t,
            cur_t.index.to_numpy(),
            cur_t.index.to_numpy(),
            cur_t.index.to_numpy(),
        ),
    ):
        for k in system.kpis:
            if level not in k.levels:
                continue
            if k.source == "catalogue":
                actual = _catalogue_actual(catalogue_values, level, k.id, c.index)
            else:
                actual = _eval(k.formula, c)
            prior_v = (
                _eval(k.formula, p)
                if k.window == "ytd" and k.source == "measures"
                else np.full(len(c), np.nan)
            )
            target = kpi_target(k, actual, prior_v)
            th = system.thresholds(k)
            att, status = traffic_light(actual, target, k.direction, th.green, th.amber)
            frames.append(
                pd.DataFrame(
                    {
                        "level": level,
                        "entity_id": ids,
                        "entity_name": names,
                        "team": teams,
                        "kpi_id": k.id,
                        "kpi_name": k.name,
                        "indicator": k.indicator,
                        "unit": k.unit,
                        "direction": k.direction,
                        "owner_role": k.owner_role,
                        "actual": actual,
                        "target": target,
                        "prior": prior_v,
                        "attainment": att,
                        "status": status,
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    for col in ("level", "entity_id", "entity_name", "team", "kpi_id", "status"):
        out[col] = out[col].astype("string")
    return out


def _rep_teams(reps: pd.DataFrame) -> pd.DataFrame:
    """``rep_id, name, team`` as text, a missing team as ``(no team)``."""
    return pd.DataFrame(
        {
            "rep_id": reps["rep_id"].astype("string").to_numpy(),
            "name": reps["name"].astype("string").to_numpy(),
            "team": (
                reps["team"].astype("string").fillna("(no team)").to_numpy()
                if "team" in reps.columns
                else "(no team)"
            ),
        }
    )


def kpi_target(kpi: KpiDefinition, actual: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """A KPI's target per entity by its target type.

    Parameters
    ----------
    kpi
        The KPI (``target.type``, ``target.value``, ``direction``).
    actual
        Its actuals per entity (the peer median's basis).
    prior
        Its values the same period last year per entity (the growth target's basis).

    Returns
    -------
    numpy.ndarray
        ``prior_year_growth``: last year × (1 + value), no target without a basis last year
        (new rep, new team) rather than a target of 0; ``absolute``: the value; otherwise the
        peer median of the actuals × the value (NaN when no actual is finite).
    """
    if kpi.target.type == "prior_year_growth":
        # no basis last year (new rep, new team): no target rather than a target of 0
        basis = prior if kpi.direction == "lower" else np.where(prior > 0, prior, np.nan)
        return basis * (1 + kpi.target.value)
    if kpi.target.type == "absolute":
        return np.full(len(actual), kpi.target.value)
    return (
        np.full(len(actual), np.nanmedian(actual) * kpi.target.value)
        if np.isfinite(actual).any()
        else np.full(len(actual), np.nan)
    )


def status_headline(actuals: pd.DataFrame, prefer: str = "bookings_ytd") -> str:
    """One sentence on the reps' traffic lights for the headline KPI of the system.

    The headline KPI is ``prefer`` when the KPI system has it at rep level, else its first lagging
    rep KPI, else its first rep KPI (a custom system may have a single KPI of any kind).

    Parameters
    ----------
    actuals
        Output of :func:`kpi_actuals` (``level``, ``kpi_id``, ``kpi_name``, ``indicator``,
        ``status``), in the system's order.

    Returns
    -------
    str
        E.g. "12 of the 25 reps with a target for Bookings YTD are on or above it; 6 are clearly
        behind." (reps without a target, grey, are not counted).
    """
    require_columns(actuals, ["level", "kpi_id", "kpi_name", "indicator", "status"], "actuals")
    rep = actuals[actuals["level"] == "rep"]
    if rep.empty:
        return _("The KPI system has no KPI at rep level: no traffic lights per rep.")
    ids = list(dict.fromkeys(rep["kpi_id"].astype(str)))
    lagging = list(dict.fromkeys(rep.loc[rep["indicator"] == "lagging", "kpi_id"].astype(str)))
    kid = prefer if prefer in ids else (lagging or ids)[0]
    k = rep[rep["kpi_id"] == kid]
    name = _(str(k["kpi_name"].iloc[0]))
    scored = k[k["status"].isin(["green", "amber", "red"])]
    if scored.empty:
        return _("No rep has a target for {kpi} yet (its inputs are missing).").format(kpi=name)
    return _(
        "{green} of the {n} reps with a target for {kpi} are on or above it; {red} are clearly "
        "behind."
    ).format(
        green=formats.num((scored["status"] == "green").sum()),
        n=formats.num(len(scored)),
        kpi=name,
        red=formats.num((scored["status"] == "red").sum()),
    )


def status_matrix(actuals: pd.DataFrame, level: str = "rep") -> pd.DataFrame:
    """Traffic lights as a matrix: one row per entity, one column per KPI (for the overview).

    Parameters
    ----------
    actuals
        Output of :func:`kpi_actuals` (``level, entity_id, entity_name, kpi_name, status``).
    level
        ``rep`` or ``team``.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got '{level}'")
    a = actuals[actuals["level"].eq(level).fillna(False).to_numpy(bool)]
    order = list(dict.fromkeys(a["kpi_name"]))
    m = a.pivot_table(
        index=["entity_name"], columns="kpi_name", values="status", aggfunc="first", sort=True
    )
    return m[order].reset_index().rename(columns={"entity_name": level})


# --------------------------------------------------------------------------- cockpit panels
def monthly_trend(
    opportunities: pd.DataFrame,
    activities: pd.DataFrame,
    reps: pd.DataFrame,
    as_of: str | pd.Timestamp,
    months: int = 12,
) -> pd.DataFrame:
    """Monthly bookings, new customers and activities per rep and team, with last year's month.

    Parameters
    ----------
    opportunities
        Canonical opportunities (``owner_id, type, status, amount, close_date``).
    activities
        Canonical activities (``rep_id, date, type``), or the aggregation layer's
        ``rep_activity`` (the same columns plus the count ``activities`` of each row).
    reps
        ``rep_id`` and ``team``.
    as_of
        Reference date; the last month shown is its month (partial).
    months
        Number of months to show (1..36).

    Returns
    -------
    pandas.DataFrame
        ``level, entity_id, month`` (first day), ``measure`` (``bookings``, ``won_new``,
        ``visits``, ``calls``, ``online_sessions``, ``emails``), ``value``, ``prior_value``
        (same month a year earlier).
    """
    if not 1 <= months <= 36:
        raise ValueError(f"months must be between 1 and 36, got {months}")
    require_columns(
        opportunities, ["owner_id", "type", "status", "amount", "close_date"], "opportunities"
    )
    require_columns(activities, ["rep_id", "date", "type"], "activities")
    require_columns(reps, ["rep_id"], "reps")
    as_of = pd.Timestamp(as_of)
    last = as_of.to_period("M")
    first = last - (months - 1)
    lo = (first - 12).to_timestamp()
    o = opportunities
    won = o["status"].astype("string").eq("won").fillna(False).to_numpy(bool) & (
        o["close_date"].between(lo, as_of).fillna(False).to_numpy(bool)
    )
    ow = o[won]
    typ = ow["type"].astype("string")
    bk = pd.DataFrame(
        {
            "rep_id": ow["owner_id"].astype("string"),
            "month": ow["close_date"].dt.to_period("M"),
            "bookings": ow["amount"].fillna(0.0).where(typ.isin(["new_business", "upsell"]), 0.0),
            "won_new": typ.eq("new_business").astype("float64"),
        }
    )
    a = activities[activities["date"].between(lo, as_of).fillna(False).to_numpy(bool)]
    at = a["type"].astype("string")
    ac = pd.DataFrame(
        {"rep_id": a["rep_id"].astype("string"), "month": a["date"].dt.to_period("M")}
    )
    aw = _activity_weights(a)
    for t, name in {**_ACTIVITY_TYPES, "email": "emails"}.items():
        ac[name] = np.where(at.eq(t).fillna(False).to_numpy(bool), aw, 0.0)
    # sum per rep and month first, then one row per measure (the same sums over the same rows in
    # the same order as grouping a long table, for a fraction of the rows)
    g = (
        pd.concat(
            [
                bk.groupby(["rep_id", "month"]).sum().stack(),
                ac.groupby(["rep_id", "month"]).sum().stack(),
            ]
        )
        .rename_axis(["rep_id", "month", "measure"])
        .reorder_levels(["rep_id", "measure", "month"])
    )
    rep_ids = pd.Index(reps["rep_id"].astype("string").unique())
    measures_ = ["bookings", "won_new", "visits", "calls", "online_sessions", "emails"]
    all_months = pd.period_range(first - 12, last, freq="M")
    full = g.reindex(
        pd.MultiIndex.from_product([rep_ids, measures_, all_months], names=g.index.names),
        fill_value=0.0,
    ).rename("value")
    df = full.reset_index()
    df["team"] = df["rep_id"].map(
        pd.Series(
            reps["team"].astype("string").fillna("(no team)").to_numpy()
            if "team" in reps.columns
            else "(no team)",
            index=reps["rep_id"].astype("string").to_numpy(),
        )
    )
    frames = []
    for level, key in (("rep", "rep_id"), ("team", "team")):
        t = df.groupby([key, "measure", "month"])["value"].sum()
        cur = t[t.index.get_level_values("month") >= first]
        prior_idx = pd.MultiIndex.from_arrays(
            [
                cur.index.get_level_values(0),
                cur.index.get_level_values(1),
                cur.index.get_level_values(2) - 12,
            ]
        )
        f = cur.reset_index().rename(columns={key: "entity_id"})
        f["prior_value"] = t.reindex(prior_idx).to_numpy()
        f.insert(0, "level", level)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out["month"] = out["month"].dt.to_timestamp()
    out["entity_id"] = out["entity_id"].astype("string")
    out["level"] = out["level"].astype("string")
    return out[["level", "entity_id", "month", "measure", "value", "prior_value"]]


def retention_panel(
    portfolio_mrr: pd.Series,
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    customer_churn: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Portfolio MRR by churn-risk band per rep and team.

    Parameters
    ----------
    portfolio_mrr
        Current MRR per account (index ``account_id``).
    accounts
        ``account_id, owner_id``.
    reps
        ``rep_id, team``.
    customer_churn
        Churn phase ``customer_churn`` (``account_id, risk_band``); without it every account is in
        band ``not scored``.

    Returns
    -------
    pandas.DataFrame
        ``level, entity_id, risk_band, accounts, mrr``.
    """
    require_columns(accounts, ["account_id", "owner_id"], "accounts")
    owner = pd.Series(
        accounts["owner_id"].astype("string").to_numpy(),
        index=accounts["account_id"].astype("string").to_numpy(),
    )
    df = pd.DataFrame(
        {
            "account_id": portfolio_mrr.index.astype("string"),
            "mrr": portfolio_mrr.to_numpy(dtype="float64"),
        }
    )
    df = df[df["mrr"] > 0]
    df["rep_id"] = df["account_id"].map(owner)
    if customer_churn is not None:
        band = pd.Series(
            customer_churn["risk_band"].astype("string").to_numpy(),
            index=customer_churn["account_id"].astype("string").to_numpy(),
        )
        df["risk_band"] = df["account_id"].map(band).fillna("not scored")
    else:
        df["risk_band"] = "not scored"
    team = pd.Series(
        reps["team"].astype("string").fillna("(no team)").to_numpy()
        if "team" in reps.columns
        else "(no team)",
        index=reps["rep_id"].astype("string").to_numpy(),
    )
    df["team"] = df["rep_id"].map(team)
    frames = []
    for level, key in (("rep", "rep_id"), ("team", "team")):
        g = (
            df.dropna(subset=[key])
            .groupby([key, "risk_band"])
            .agg(accounts=("account_id", "size"), mrr=("mrr", "sum"))
            .reset_index()
            .rename(columns={key: "entity_id"})
        )
        g.insert(0, "level", level)
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    out["entity_id"] = out["entity_id"].astype("string")
    return out


def team_funnel(rep_funnel: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Funnel per rep and per team from the funnel phase's per-rep stage counts.

    Parameters
    ----------
    rep_funnel
        Funnel phase ``rep_funnel``: ``rep_id, funnel, stage_index, stage, reached, open_here,
        advanced``.
    reps
        ``rep_id, team``.

    Returns
    -------
    pandas.DataFrame
        ``level, entity_id, funnel, stage_index, stage, reached, conversion`` with conversion =
        advanced / (reached − open_here) recomputed on the team's summed counts.
    """
    require_columns(
        rep_funnel,
        ["rep_id", "funnel", "stage_index", "stage", "reached", "open_here", "advanced"],
        "rep funnel",
    )
    team = pd.Series(
        reps["team"].astype("string").fillna("(no team)").to_numpy()
        if "team" in reps.columns
        else "(no team)",
        index=reps["rep_id"].astype("string").to_numpy(),
    )
    rf = rep_funnel.assign(
        rep_id=rep_funnel["rep_id"].astype("string"),
        team=rep_funnel["rep_id"].astype("string").map(team),
    )
    frames = []
    for level, key in (("rep", "rep_id"), ("team", "team")):
        g = (
            rf.dropna(subset=[key])
            .groupby([key, "funnel", "stage_index", "stage"])[["reached", "open_here", "advanced"]]
            .sum(min_count=1)
            .reset_index()
            .rename(columns={key: "entity_id"})
        )
        dec = g["reached"] - g["open_here"]
        g["conversion"] = np.where(dec > 0, g["advanced"] / dec.where(dec > 0, 1), np.nan)
        g.insert(0, "level", level)
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    out["entity_id"] = out["entity_id"].astype("string")
    return out[["level", "entity_id", "funnel", "stage_index", "stage", "reached", "conversion"]]


def cockpit_entities(
    reps: pd.DataFrame, actuals: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reps and teams that get a cockpit: ``(cockpit_reps, cockpit_teams)``.

    Parameters
    ----------
    reps
        ``rep_id, name, team`` and optionally ``active``, ``role``.
    actuals
        Output of :func:`kpi_actuals`; only reps in it with at least one KPI that is not grey
        (i.e. with data) are listed.

    Returns
    -------
    tuple of pandas.DataFrame
        ``cockpit_reps`` [rep_id, rep_name, team, role] and ``cockpit_teams`` [team_id,
        team_name, reps].
    """
    require_columns(reps, ["rep_id", "name"], "reps")
    # reps with at least one KPI that has data: a cockpit of grey lights helps nobody
    has_data = actuals["level"].eq("rep").fillna(False) & actuals["status"].ne("grey").fillna(False)
    a_reps = set(actuals.loc[has_data.to_numpy(bool), "entity_id"])
    r = reps[reps["rep_id"].astype("string").isin(a_reps).fillna(False).to_numpy(bool)]
    cr = pd.DataFrame(
        {
            "rep_id": r["rep_id"].astype("string").to_numpy(),
            "rep_name": r["name"].astype("string").to_numpy(),
            "team": (
                r["team"].astype("string").fillna("(no team)").to_numpy()
                if "team" in r.columns
                else "(no team)"
            ),
            "role": r["role"].astype("string").to_numpy() if "role" in r.columns else pd.NA,
        }
    ).sort_values(["team", "rep_name"], kind="stable")
    ct = cr.groupby("team").size().rename("reps").reset_index().rename(columns={"team": "team_id"})
    ct.insert(1, "team_name", ct["team_id"])
    for df in (cr, ct):
        for col in df.columns:
            if df[col].dtype == object or str(df[col].dtype) == "str":
                df[col] = df[col].astype("string")
    return cr.reset_index(drop=True), ct.reset_index(drop=True)


@dataclass
class Cockpit:
    """The data of one cockpit page: one rep or one team, nothing else."""

    level: str
    entity_id: str
    entity_name: str
    kpis: pd.DataFrame
    trend: pd.DataFrame
    funnel: pd.DataFrame
    retention: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)


def cockpit_data(
    level: str,
    entity_id: str,
    actuals: pd.DataFrame,
    trend: pd.DataFrame,
    funnel: pd.DataFrame,
    retention: pd.DataFrame,
) -> Cockpit:
    """Cut the controlling tables down to one rep's or one team's rows.

    Parameters
    ----------
    level
        ``rep`` or ``team``.
    entity_id
        The rep id (``rep``) or team name (``team``).
    actuals, trend, funnel, retention
        :func:`kpi_actuals`, :func:`monthly_trend`, :func:`team_funnel`, :func:`retention_panel`
        (each with ``level`` and ``entity_id`` columns).

    Raises
    ------
    KeyError
        If the entity has no KPI rows; the message lists some known ids.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got '{level}'")
    parts = []
    for name, df in (
        ("actuals", actuals),
        ("trend", trend),
        ("funnel", funnel),
        ("retention", retention),
    ):
        require_columns(df, ["level", "entity_id"], name)
        sel = df["level"].eq(level).fillna(False).to_numpy(bool) & df["entity_id"].astype(
            "string"
        ).eq(str(entity_id)).fillna(False).to_numpy(bool)
        parts.append(df[sel].reset_index(drop=True))
    if parts[0].empty:
        known = actuals.loc[actuals["level"].eq(level).fillna(False), "entity_id"].unique()
        raise KeyError(
            f"no cockpit data for {level} '{entity_id}'; known {level} ids include: "
            f"{', '.join(map(str, known[:10]))}"
        )
    return Cockpit(
        level=level,
        entity_id=str(entity_id),
        entity_name=str(parts[0]["entity_name"].iloc[0]),
        kpis=parts[0],
        trend=parts[1],
        funnel=parts[2],
        retention=parts[3],
    )


def cockpit_sentence(cockpit: Cockpit) -> str:
    """A plain-language summary of a cockpit's traffic lights for the page header."""
    k = cockpit.kpis
    counts = k["status"].value_counts()
    reds = k.loc[k["status"].eq("red").fillna(False).to_numpy(bool), "kpi_name"].tolist()
    greens = int(counts.get("green", 0))
    text = _(
        "{name}: {green} of {n} KPIs on target (green), {amber} close (amber), {red} behind (red)"
    ).format(
        name=cockpit.entity_name,
        green=greens,
        n=len(k),
        amber=int(counts.get("amber", 0)),
        red=len(reds),
    )
    if reds:
        text += _(" – behind on ") + ", ".join(_(str(r)) for r in reds)
    grey = int(counts.get("grey", 0))
    if grey:
        text += _("; {n} without data or target (grey)").format(n=grey)
    return text + "."


# --------------------------------------------------------------------------- the whole phase
@dataclass
class Controlling:
    """Everything the controlling phase computes (see :func:`build_controlling`)."""

    actuals: pd.DataFrame
    trend: pd.DataFrame
    funnel: pd.DataFrame
    retention: pd.DataFrame
    cockpit_reps: pd.DataFrame
    cockpit_teams: pd.DataFrame
    system_table: pd.DataFrame
    sources: dict[str, bool]
    excluded: dict[str, int] = field(default_factory=dict)


def current_mrr(contracts: pd.DataFrame, as_of: str | pd.Timestamp) -> pd.Series:
    """MRR per account of the contracts active at ``as_of``.

    ``contracts``: ``account_id, start_date, end_date, mrr``.
    """
    require_columns(contracts, ["account_id", "start_date", "end_date", "mrr"], "contracts")
    as_of = pd.Timestamp(as_of)
    active = (contracts["start_date"] <= as_of).fillna(False).to_numpy(bool) & ~(
        contracts["end_date"] < as_of
    ).fillna(False).to_numpy(bool)
    c = contracts[active]
    return c.groupby(c["account_id"].astype("string"))["mrr"].sum().astype("float64")


@dataclass(frozen=True, eq=False)
class UpstreamResults:
    """Other phases' outputs :func:`build_controlling` reads.

    Each optional (a KPI that needs a missing one is grey).

    Parameters
    ----------
    rep_funnel, coverage, stuck
        Funnel phase outputs ``rep_funnel``, ``pipeline_coverage``, ``stuck_deals``.
    customer_churn
        Churn phase ``customer_churn``.
    account_channel
        Channel phase ``account_channel``.
    catalogue_values
        Portfolio phase ``rep_kpis`` and ``team_kpis`` stacked.
    """

    rep_funnel: pd.DataFrame | None = None
    coverage: pd.DataFrame | None = None
    stuck: pd.DataFrame | None = None
    customer_churn: pd.DataFrame | None = None
    account_channel: pd.DataFrame | None = None
    catalogue_values: pd.DataFrame | None = None


@dataclass(frozen=True)
class ControllingSettings:
    """Settings of :func:`build_controlling` (today's defaults).

    Parameters
    ----------
    system
        KPI system; ``None`` = the packaged one (:func:`load_kpi_system`).
    trend_months
        Months shown in the trend panels.
    """

    system: KpiSystem | None = None
    trend_months: int = 12


def build_controlling(
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    contracts: pd.DataFrame,
    opportunities: pd.DataFrame,
    activities: pd.DataFrame,
    as_of: str | pd.Timestamp,
    upstream: UpstreamResults | None = None,
    settings: ControllingSettings | None = None,
) -> Controlling:
    """KPI actuals, targets and traffic lights plus the cockpit panels, for every rep and team.

    Parameters
    ----------
    accounts, reps, contracts, opportunities, activities
        Canonical tables (see :func:`measures`; ``activities`` may be the aggregation layer's
        ``rep_activity``); ``reps`` needs ``rep_id, name, team`` and optionally ``active``
        (inactive reps count in their team but get no cockpit).
    as_of
        Reference date.
    upstream
        :class:`UpstreamResults`: the other phases' outputs the KPIs read (each optional).
    settings
        :class:`ControllingSettings` (KPI system, trend months); ``None`` = today's defaults.

    Returns
    -------
    Controlling
        Missing optional inputs make the KPIs that need them grey; ``sources`` says which were
        there; ``excluded`` counts the rows that could not be attributed to a rep.
    """
    up = upstream or UpstreamResults()
    cfg = settings or ControllingSettings()
    system = cfg.system or load_kpi_system()
    rep_funnel, customer_churn, catalogue_values = (
        up.rep_funnel,
        up.customer_churn,
        up.catalogue_values,
    )
    account_channel = up.account_channel
    as_of = pd.Timestamp(as_of)
    all_ids = reps["rep_id"].astype("string").tolist()
    w = ytd_windows(as_of)
    cur = measures(opportunities, activities, contracts, accounts, *w["ytd"], rep_ids=all_ids)
    pri = measures(opportunities, activities, contracts, accounts, *w["prior"], rep_ids=all_ids)
    mrr = current_mrr(contracts, as_of)
    is_open = opportunities["status"].astype("string").eq("open").fillna(False).to_numpy(bool)
    snap = snapshot_measures(
        all_ids,
        coverage=up.coverage,
        progress_open=opportunities[is_open] if rep_funnel is not None else None,
        stuck=up.stuck,
        customer_churn=customer_churn,
        portfolio_mrr=mrr,
        account_channel=account_channel,
        accounts=accounts,
    )
    actuals = kpi_actuals(system, reps, cur, pri, snap, catalogue_values)
    trend = monthly_trend(opportunities, activities, reps, as_of, cfg.trend_months)
    fun = (
        team_funnel(rep_funnel, reps)
        if rep_funnel is not None
        else pd.DataFrame(
            columns=[
                "level",
                "entity_id",
                "funnel",
                "stage_index",
                "stage",
                "reached",
                "conversion",
            ]
        )
    )
    retention = retention_panel(mrr, accounts, reps, customer_churn)
    c_reps, c_teams = cockpit_entities(reps, actuals)
    return Controlling(
        actuals=actuals,
        trend=trend,
        funnel=fun,
        retention=retention,
        cockpit_reps=c_reps,
        cockpit_teams=c_teams,
        system_table=system.table(),
        excluded={f"{k} without a rep": v for k, v in cur.attrs["without_rep"].items()},
        sources={
            "funnel": rep_funnel is not None,
            "churn": customer_churn is not None,
            "channels": account_channel is not None,
            "portfolio": catalogue_values is not None,
        },
    )


def first_entity(actuals: pd.DataFrame, level: str) -> str:
    """The first ``level`` entity (by id) with at least one KPI that is not grey.

    As listed by :func:`cockpit_entities`; the first of all if none has data (``""`` if there is
    none).
    """
    lv = actuals[actuals["level"].eq(level).fillna(False).to_numpy(bool)]
    with_data = lv[lv["status"].ne("grey").fillna(False).to_numpy(bool)]
    ids = sorted((with_data if len(with_data) else lv)["entity_id"].dropna().astype(str).unique())
    return ids[0] if ids else ""
