"""Role profiles of the new sales model and the headcount each channel needs.

Roles are configuration (``salesanalytics/config/roles.yaml``): mission, tasks, channel, customer
segments, the KPI set from the KPI catalogue, and development paths between roles. This module
loads and validates them (:func:`load_roles`), joins them with an incentive plan's pay mix
(:func:`role_profiles`), lists the development paths (:func:`development_paths`) and sizes the
sales force from the channel-mix workload against the capacity per rep (:func:`headcount`), with a
cross-check from the territory design (:func:`territory_fte`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from salesanalytics.errors import require_columns
from salesanalytics.ingest.schema import CHANNELS, REP_ROLES
from salesanalytics.present import formats
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "ROLES_FILE",
    "DevelopmentStep",
    "Role",
    "RoleCatalogue",
    "development_paths",
    "fte_today",
    "headcount",
    "headcount_text",
    "load_roles",
    "role_profiles",
    "roles_from_dict",
    "territory_fte",
]

ROLES_FILE = Path(__file__).resolve().parents[2] / "config" / "roles.yaml"
"""The built-in role catalogue."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DevelopmentStep(_Model):
    """A possible next role and what it takes to get there."""

    to: str
    requirement: str = ""


class Role(_Model):
    """One role profile."""

    name: str
    channel: str | None = None
    mission: str = ""
    tasks: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    kpis: tuple[str, ...] = ()
    capacity_hours: float = Field(1350.0, gt=0)
    development: tuple[DevelopmentStep, ...] = ()


class RoleCatalogue(_Model):
    """All roles, plus the sizing rules for team leads and key accounts."""

    version: int = 1
    span_of_control: float = Field(8.0, gt=0)
    key_account_hours: float = Field(60.0, ge=0)
    roles: dict[str, Role]


def roles_from_dict(
    data: Any, source: str = "<roles>", kpi_ids: set[str] | None = None
) -> RoleCatalogue:
    """Parse and validate a role catalogue given as a dict (content of ``roles.yaml``).

    Checks: keys are canonical rep roles; channels are canonical channels; development paths
    point to roles of the catalogue and not to the role itself; KPI ids exist in ``kpi_ids``
    (when given). All problems are reported at once.

    Raises
    ------
    ValueError
        Listing every problem with its location.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a role catalogue must be a mapping with 'roles'.")
    try:
        cat = RoleCatalogue.model_validate(data)
    except ValidationError as exc:
        lines = [f"  - {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ValueError(f"{source}: invalid role catalogue:\n" + "\n".join(lines)) from None
    problems = []
    for key, r in cat.roles.items():
        if key not in REP_ROLES:
            problems.append(f"roles.{key}: unknown role; roles are {', '.join(REP_ROLES)}.")
        if r.channel is not None and r.channel not in CHANNELS:
            problems.append(
                f"roles.{key}.channel: '{r.channel}' is not a channel ({', '.join(CHANNELS)})."
            )
        for step in r.development:
            if step.to not in cat.roles:
                problems.append(f"roles.{key}.development: unknown target role '{step.to}'.")
            elif step.to == key:
                problems.append(f"roles.{key}.development: a role cannot develop into itself.")
        if kpi_ids is not None:
            bad = [k for k in r.kpis if k not in kpi_ids]
            if bad:
                problems.append(
                    f"roles.{key}.kpis: unknown KPI id(s) {', '.join(bad)}; "
                    "use ids of the KPI catalogue."
                )
    if problems:
        raise ValueError(
            f"{source}: invalid role catalogue ({len(problems)} problem(s)):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    return cat


def load_roles(path: str | Path | None = None, kpi_ids: set[str] | None = None) -> RoleCatalogue:
    """Load the role catalogue (default: the built-in ``config/roles.yaml``).

    Parameters
    ----------
    path
        A YAML file; ``None`` = :data:`ROLES_FILE`.
    kpi_ids
        KPI ids the roles may reference (e.g. ``set(kpi_catalogue["kpi_id"])``); ``None`` skips
        that check.
    """
    p = ROLES_FILE if path is None else Path(path)
    if not p.exists():
        raise FileNotFoundError(
            f"role catalogue {p} does not exist; give the path of a roles.yaml."
        )
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not valid YAML: {exc}") from None
    return roles_from_dict(data, source=str(p), kpi_ids=kpi_ids)


def role_profiles(
    cat: RoleCatalogue,
    pay: pd.DataFrame | None = None,
    kpi_names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per role: mission, tasks, channel, segments, KPIs, pay mix and plan, next roles.

    Parameters
    ----------
    cat
        The role catalogue.
    pay
        The incentive plan per role, columns ``role``, ``base_salary``, ``target_incentive``,
        ``pay_mix``, ``measures`` (``salesanalytics.analyses.compensation.plan_overview`` of the proposed
        plan, written by the compensation phase as ``plan_overview``); ``None`` leaves pay out.
    kpi_names
        KPI id -> name for readable KPI lists.

    Returns
    -------
    pandas.DataFrame
        ``role, name, channel, mission, tasks, segments, kpis, [base_salary, target_incentive,
        pay_mix, plan_measures,] next_roles``.
    """
    names = kpi_names or {}
    rows = []
    for key, r in cat.roles.items():
        rows.append(
            {
                "role": key,
                "name": _(r.name),
                "channel": r.channel or "–",
                "mission": _(r.mission),
                "tasks": "; ".join(_(t) for t in r.tasks),
                "segments": "; ".join(_(s) for s in r.segments),
                "kpis": ", ".join(_(names.get(k, k)) for k in r.kpis),
                "next_roles": ", ".join(
                    _(cat.roles[x.to].name) for x in r.development if x.to in cat.roles
                ),
            }
        )
    out = pd.DataFrame(rows)
    if pay is not None:
        require_columns(
            pay, ["role", "base_salary", "target_incentive", "pay_mix", "measures"], "pay"
        )
        p = pay[["role", "base_salary", "target_incentive", "pay_mix", "measures"]].rename(
            columns={"measures": "plan_measures"}
        )
        out = out.merge(p, on="role", how="left")
        out = out[[c for c in out.columns if c != "next_roles"] + ["next_roles"]]
    return out


def development_paths(cat: RoleCatalogue) -> pd.DataFrame:
    """The development paths between roles: ``from_role, to_role, requirement`` (role names)."""
    rows = [
        {
            "from_role": _(r.name),
            "to_role": _(cat.roles[s.to].name),
            "requirement": _(s.requirement),
        }
        for r in cat.roles.values()
        for s in r.development
    ]
    return pd.DataFrame(rows, columns=["from_role", "to_role", "requirement"])


def fte_today(reps: pd.DataFrame) -> pd.DataFrame:
    """Active FTE and heads per role today.

    Parameters
    ----------
    reps
        Columns ``rep_id``, ``role``; optional ``fte`` (default 1) and ``active`` (inactive reps
        are left out).

    Returns
    -------
    pandas.DataFrame
        ``role, fte_today, heads_today``, one row per canonical role (0 where nobody has it).
    """
    r = reps
    if "active" in r.columns:
        r = r[r["active"].fillna(True).astype(bool)]
    fte = pd.to_numeric(r["fte"], errors="coerce").fillna(1.0) if "fte" in r.columns else 1.0
    g = r.assign(_fte=fte).groupby("role")
    out = pd.DataFrame({"fte_today": g["_fte"].sum(), "heads_today": g.size()})
    out = out.reindex(list(REP_ROLES), fill_value=0).rename_axis("role").reset_index()
    out["fte_today"] = out["fte_today"].astype(float)
    out["heads_today"] = out["heads_today"].astype(int)
    return out


def headcount(
    cat: RoleCatalogue,
    channel_summary: pd.DataFrame | None,
    reps: pd.DataFrame,
    n_key_accounts: int = 0,
    scenario: str = "proposed",
    method: str = "auto",
    key_account_hours: float | None = None,
    field_capacity: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """FTE each role needs for the proposed channel mix, against FTE today.

    * field / tele / online, ``method="capacity"``: the channel's yearly workload (hours) divided
      by the capacity of one FTE. The capacity is the one the channel phase used
      (``workload_hours / fte_needed``) when it gives ``fte_needed``, else the role's
      ``capacity_hours``;
    * field / tele / online, ``method="relative"``: today's FTE of the role scaled by the change of
      the channel's workload from the ``today`` scenario to ``scenario`` (today's team delivers
      today's workload, including work the workload model does not cover such as prospecting);
      ``"auto"`` uses ``capacity`` when ``channel_summary`` gives ``fte_needed`` (the channel
      phase owns the FTE per channel: roles read it, one set of numbers), else ``relative`` when
      it has a ``today`` scenario;
    * field, with ``field_capacity`` (the territory phase's table): the territory phase owns the
      field headcount -- the workload is the territories' workload including the travel from
      the reps' bases, the FTE need the number of territories of its plan (one rep each);
    * key-account managers: ``n_key_accounts x key_account_hours`` of the field workload is moved
      to them and divided by their capacity;
    * team leads: one per ``span_of_control`` FTE of the other roles (rounded up).

    Parameters
    ----------
    cat
        Role catalogue.
    channel_summary
        Columns ``channel``, ``workload_hours``; optional ``fte_needed`` and ``scenario`` (when
        present, only the rows of ``scenario`` are used). ``None`` when the channel phase was
        skipped (no activities or cost rates): today's FTE per role only, ``fte_needed`` and
        ``gap`` left empty (``attrs["note"]`` says why).
    reps
        Columns ``rep_id``, ``role``; optional ``fte``, ``active``.
    n_key_accounts
        Number of key accounts (from the portfolio phase).
    scenario
        Which scenario of a ``channel_summary`` with a ``scenario`` column to size
        (default ``"proposed"``).
    method
        ``"capacity"``, ``"relative"`` or ``"auto"`` (see above).
    key_account_hours
        Measured yearly field hours of the key accounts (the channel phase's ``field_workload``
        of the accounts key-account managers own), moved from field to the key-account managers;
        ``None`` = ``n_key_accounts x key_account_hours`` of the catalogue.
    field_capacity
        Optional one-row table of the territory phase: ``workload_from_bases_hours``,
        ``capacity_hours_per_fte``, ``n_territories``.

    Returns
    -------
    pandas.DataFrame
        ``role, name, channel, workload_hours, capacity_hours, fte_needed, fte_today, gap``
        (gap = needed - today: positive means hire, negative means surplus).

    Raises
    ------
    KeyError
        If ``channel_summary`` lacks a column or a channel of the roles.
    """
    if channel_summary is None:
        return _headcount_without_workload(cat, reps)
    channel_summary, base, relative = _scenario_workload(channel_summary, scenario, method)
    base_work = base.set_index(base["channel"].astype(str))["workload_hours"] if relative else None
    cs = channel_summary.set_index(channel_summary["channel"].astype(str))
    missing = [
        r.channel
        for k, r in cat.roles.items()
        if k != "key_account" and r.channel and r.channel not in cs.index
    ]
    if missing:
        raise KeyError(
            f"channel_summary has no row for channel(s) {', '.join(sorted(set(missing)))}; "
            f"it has: {', '.join(cs.index)}"
        )
    today = fte_today(reps).set_index("role")
    ka_hours = 0.0
    if "key_account" in cat.roles and key_account_hours is not None:
        ka_hours = float(key_account_hours)
    elif "key_account" in cat.roles and n_key_accounts:
        ka_hours = n_key_accounts * cat.key_account_hours
    keep_ka_team = not n_key_accounts and key_account_hours is None
    rows = []
    for key, r in cat.roles.items():
        if key == "team_lead" or r.channel is None:
            continue
        rows.append(_role_need(key, r, cat, cs, base_work, today, ka_hours, keep_ka_team))
    if field_capacity is not None and len(field_capacity):
        _field_from_territories(rows, field_capacity)
    if "team_lead" in cat.roles:
        others = float(np.nansum([x["fte_needed"] for x in rows]))
        rows.append(
            {
                "role": "team_lead",
                "name": cat.roles["team_lead"].name,
                "channel": cat.roles["team_lead"].channel or "–",
                "workload_hours": np.nan,
                "capacity_hours": np.nan,
                "fte_needed": float(math.ceil(others / cat.span_of_control - 1e-9)),
            }
        )
    out = pd.DataFrame(rows)
    out["fte_today"] = out["role"].map(today["fte_today"]).fillna(0.0).astype(float)
    out["gap"] = out["fte_needed"] - out["fte_today"]
    return out


def _field_from_territories(rows: list[dict[str, Any]], field_capacity: pd.DataFrame) -> None:
    """The field row as the territory plan staffs it (workload with travel, one FTE a territory)."""
    require_columns(
        field_capacity,
        ["workload_from_bases_hours", "capacity_hours_per_fte", "n_territories"],
        "field_capacity",
    )
    fc = field_capacity.iloc[0]
    for row in rows:
        if row["role"] == "field":
            row["workload_hours"] = float(fc["workload_from_bases_hours"])
            row["capacity_hours"] = float(fc["capacity_hours_per_fte"])
            row["fte_needed"] = float(fc["n_territories"])


def _headcount_without_workload(cat: RoleCatalogue, reps: pd.DataFrame) -> pd.DataFrame:
    """Today's FTE per role only, with a note why the need is not computed (no channel workload)."""
    today = fte_today(reps).set_index("role")["fte_today"]
    out = pd.DataFrame(
        [{"role": k, "name": r.name, "channel": r.channel or "–"} for k, r in cat.roles.items()]
    )
    for c in ("workload_hours", "capacity_hours", "fte_needed"):
        out[c] = np.nan
    out["fte_today"] = out["role"].map(today).fillna(0.0).astype(float)
    out["gap"] = np.nan
    out.attrs["note"] = _(
        "The FTE each role needs is not computed: it follows from the channel workload "
        "(channel phase), which needs the activity log and the channel cost rates."
    )
    return out


def _scenario_workload(
    channel_summary: pd.DataFrame, scenario: str, method: str
) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """The scenario's workload rows, today's rows and whether the need is scaled from today's FTE.

    Today's rows serve the relative method; ``relative`` means the need is scaled from today's FTE
    rather than computed from capacity hours.
    """
    require_columns(channel_summary, ["channel", "workload_hours"], "channel_summary")
    if "scenario" in channel_summary.columns:
        known = sorted(map(str, channel_summary["scenario"].dropna().unique()))
        if scenario not in known:
            raise KeyError(
                f"channel_summary has no scenario '{scenario}'; scenarios: {', '.join(known)}"
            )
        base = channel_summary[channel_summary["scenario"] == "today"]
        channel_summary = channel_summary[channel_summary["scenario"] == scenario]
    else:
        base = channel_summary.iloc[0:0]
    if method not in ("auto", "capacity", "relative"):
        raise ValueError(f"method must be 'auto', 'capacity' or 'relative'; got '{method}'.")
    owns_fte = "fte_needed" in channel_summary.columns and bool(
        channel_summary["fte_needed"].notna().any()
    )
    relative = method == "relative" or (method == "auto" and len(base) > 0 and not owns_fte)
    if relative and base.empty:
        raise KeyError("method 'relative' needs a 'today' scenario in channel_summary.")
    return channel_summary, base, relative


def _role_need(
    key: str,
    r: Role,
    cat: RoleCatalogue,
    cs: pd.DataFrame,
    base_work: pd.Series | None,
    today: pd.DataFrame,
    ka_hours: float,
    keep_ka_team: bool,
) -> dict[str, Any]:
    """One role's workload, capacity and FTE needed.

    Key accounts from their hours (today's team without a key-account list), the other roles from
    their channel's workload (scaled from today's FTE where ``base_work`` is given; field net of the
    key-account hours).
    """
    if key == "key_account":
        work, cap = ka_hours, r.capacity_hours
        if keep_ka_team:
            # no key-account list: keep today's key-account team
            now = float(today["fte_today"].get(key, 0.0))
            return {
                "role": key,
                "name": r.name,
                "channel": r.channel,
                "workload_hours": np.nan,
                "capacity_hours": np.nan,
                "fte_needed": now,
            }
    else:
        row = cs.loc[r.channel]
        work = float(row["workload_hours"])
        cap = r.capacity_hours
        if "fte_needed" in cs.columns and float(row.get("fte_needed", 0) or 0) > 0:
            cap = work / float(row["fte_needed"])
        if base_work is not None:
            prev = float(base_work.get(r.channel, np.nan))
            now = float(today["fte_today"].get(key, 0.0))
            need = now * work / prev if prev > 0 else np.nan
            return {
                "role": key,
                "name": r.name,
                "channel": r.channel,
                "workload_hours": work,
                "capacity_hours": work / need if need else np.nan,
                "fte_needed": need,
            }
        if r.channel == "field" and "key_account" in cat.roles:
            work = max(work - ka_hours, 0.0)
    return {
        "role": key,
        "name": r.name,
        "channel": r.channel,
        "workload_hours": work,
        "capacity_hours": cap,
        "fte_needed": work / cap if cap else np.nan,
    }


def headcount_text(hc: pd.DataFrame) -> str:
    """Plain-language summary of :func:`headcount` for the client."""
    if hc["fte_needed"].isna().all():
        return _("{fte} FTE in sales today. ").format(
            fte=formats.num(hc["fte_today"].sum(), 1)
        ) + _(hc.attrs.get("note", "The FTE needed is not computed."))
    need, now = hc["fte_needed"].sum(), hc["fte_today"].sum()
    parts = [
        _(
            "The proposed channel mix needs {need} FTE in sales against {now} today ({diff})."
        ).format(
            need=formats.num(need, 1),
            now=formats.num(now, 1),
            diff=("+" if need >= now else "-") + formats.num(abs(need - now), 1),
        )
    ]
    hire = hc[hc["gap"] >= 0.5].sort_values("gap", ascending=False)
    cut = hc[hc["gap"] <= -0.5].sort_values("gap")
    if len(hire):
        parts.append(
            _("Build up: ")
            + ", ".join(f"{_(str(r.name))} +{formats.num(r.gap, 1)}" for r in hire.itertuples())
            + "."
        )
    if len(cut):
        parts.append(
            _("Shift or reduce: ")
            + ", ".join(f"{_(str(r.name))} {formats.num(r.gap, 1)}" for r in cut.itertuples())
            + "."
        )
    return " ".join(parts)


def territory_fte(territories: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """FTE the new territories need at their planned workload, per role of the territory owners.

    A cross-check of :func:`headcount` from the territory design: each territory's workload
    (service plus travel from its rep's base, as the territory table gives it) against its
    owner's capacity.

    Parameters
    ----------
    territories
        Columns ``territory_id``, ``rep_id``, ``workload_hours`` (travel included),
        ``capacity_hours``; optional ``fte`` (default 1).
    reps
        Columns ``rep_id``, ``role``.

    Returns
    -------
    pandas.DataFrame
        ``role, territories, workload_hours, capacity_hours, fte_needed`` where
        ``fte_needed = sum(fte x workload / capacity)``; territories with no capacity
        are left out and counted in ``attrs["no_capacity"]``.
    """
    require_columns(
        territories, ["territory_id", "rep_id", "workload_hours", "capacity_hours"], "territories"
    )
    t = territories.merge(reps[["rep_id", "role"]], on="rep_id", how="left")
    t["role"] = t["role"].fillna("unknown")
    # the territory table's workload is service plus travel from the rep's base already
    # (travel_hours is the part of it spent driving): not added twice
    work = t["workload_hours"]
    fte = t["fte"].fillna(1.0) if "fte" in t else 1.0
    ok = t["capacity_hours"] > 0
    t = t.assign(_work=work, _need=fte * work / t["capacity_hours"].where(ok))
    out = (
        t[ok]
        .groupby("role", as_index=False)
        .agg(
            territories=("territory_id", "nunique"),
            workload_hours=("_work", "sum"),
            capacity_hours=("capacity_hours", "sum"),
            fte_needed=("_need", "sum"),
        )
    )
    out.attrs["no_capacity"] = int((~ok).sum())
    return out
