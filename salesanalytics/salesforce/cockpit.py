"""The controlling phase's KPI system as Salesforce reports and dashboards (source format).

Each KPI of the run's KPI system whose formula a Salesforce report can compute from standard
objects and the new Account fields gets a report recipe (:data:`RECIPES`, keyed by formula and
window, so a client's own KPI system reuses them); the others are listed with the reason
(:data:`NOT_REPORTABLE`). Two dashboards, one per audience, show every reportable KPI:

* *Rep cockpit*: a dynamic dashboard (runs as the viewer) on reports of the viewer's own records;
* *Team lead cockpit*: a dynamic dashboard with the team total and a bar per rep.

A component gets the KPI's traffic light as dashboard breakpoints where the target is one number
for every viewer (absolute targets, and peer-median targets taken from the controlling phase's
``kpi_actuals``); targets that differ per rep (last year + x%) cannot be a fixed breakpoint, which
the notes say. Breakpoints of percentage KPIs are in percent points, as Salesforce shows them.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from salesanalytics.salesforce.metadata import Field
from salesanalytics.salesforce.names import developer_name, label, unique_developer_names

if TYPE_CHECKING:  # the KPI module imports matplotlib; only its models are needed here
    from salesanalytics.analyses.controlling.model import KpiDefinition, KpiSystem

__all__ = [
    "NOT_REPORTABLE",
    "RECIPES",
    "Cockpit",
    "CockpitReport",
    "ReportRecipe",
    "cockpit",
    "dashboard_metadata",
    "breakpoint_table",
    "report_metadata",
]

REPORT_NAME_MAX = 40
"""Longest report name and DeveloperName Salesforce accepts."""
GREEN, AMBER, RED = "#2E844A", "#DD7A01", "#BA0517"


@dataclass(frozen=True)
class ReportRecipe:
    """How a Salesforce summary report computes one KPI.

    Attributes
    ----------
    report_type
        Standard report type (``Opportunity``, ``Activity``, ``AccountList``).
    owner_column
        Column holding the record owner (grouping per rep).
    date_column
        Column of the time-frame filter (``None``: no time frame, a snapshot).
    summary
        ``(column, aggregate)`` of the value: ``("AMOUNT", "Sum")`` or ``("RowCount", "")``;
        ``("FORMULA1", "")`` with :attr:`formula`.
    formula, datatype
        Custom summary formula and its type (``number``, ``currency``, ``percent``).
    filters
        ``(column, operator, value-key)``; value-key names a value list of :func:`cockpit`
        (``opp_new``, ``opp_upsell``, ``emails``) or is the literal value.
    columns
        Detail columns of the report.
    """

    report_type: str
    owner_column: str
    date_column: str | None
    summary: tuple[str, str]
    columns: tuple[str, ...]
    filters: tuple[tuple[str, str, str], ...] = ()
    formula: str = ""
    datatype: str = "number"


_OPP_COLS = ("OPPORTUNITY_NAME", "ACCOUNT_NAME", "TYPE", "CLOSE_DATE", "AMOUNT")
RECIPES: dict[tuple[str, str], ReportRecipe] = {
    ("bookings", "ytd"): ReportRecipe(
        "Opportunity", "FULL_NAME", "CLOSE_DATE", ("AMOUNT", "Sum"), _OPP_COLS,
        (("WON", "equals", "1"), ("TYPE", "equals", "opp_new+opp_upsell")),
    ),
    ("bookings_upsell", "ytd"): ReportRecipe(
        "Opportunity", "FULL_NAME", "CLOSE_DATE", ("AMOUNT", "Sum"), _OPP_COLS,
        (("WON", "equals", "1"), ("TYPE", "equals", "opp_upsell")),
    ),
    ("won_new", "ytd"): ReportRecipe(
        "Opportunity", "FULL_NAME", "CLOSE_DATE", ("RowCount", ""), _OPP_COLS,
        (("WON", "equals", "1"), ("TYPE", "equals", "opp_new")),
    ),
    ("won_new / (won_new + lost_new)", "ytd"): ReportRecipe(
        "Opportunity", "FULL_NAME", "CLOSE_DATE", ("FORMULA1", ""), _OPP_COLS,
        (("CLOSED", "equals", "1"), ("TYPE", "equals", "opp_new")),
        formula="WON:SUM / CLOSED:SUM", datatype="percent",
    ),
    ("opportunities_created", "ytd"): ReportRecipe(
        "Opportunity", "FULL_NAME", "CREATED_DATE", ("RowCount", ""),
        ("OPPORTUNITY_NAME", "ACCOUNT_NAME", "TYPE", "CREATED_DATE", "STAGE_NAME"),
    ),
    ("contacts", "ytd"): ReportRecipe(
        "Activity", "ASSIGNED", "DUE_DATE", ("RowCount", ""),
        ("SUBJECT", "ACCOUNT", "TASK_SUBTYPE", "DUE_DATE"),
        (("TASK_SUBTYPE", "notEqual", "emails"), ("DUE_DATE", "lessOrEqual", "TODAY")),
    ),
    ("mrr / potential_mrr", "now"): ReportRecipe(
        "AccountList", "USERS.NAME", None, ("FORMULA1", ""),
        ("ACCOUNT.NAME", "Account.Potential_MRR__c", "Account.White_Space__c"),
        formula="1 - Account.White_Space__c:SUM / Account.Potential_MRR__c:SUM",
        datatype="percent",
    ),
}  # fmt: skip
"""Report recipes by (normalised formula, window)."""

NOT_REPORTABLE: dict[str, str] = {
    "start_mrr": "needs each contract's MRR on 1 January; Salesforce's standard objects keep no "
    "MRR history, so no report can compute it",
    "churned_mrr": "needs the MRR of contracts ended this year against the MRR at 1 January; "
    "Salesforce's standard objects keep no MRR history",
    "pipeline": "coverage divides the open pipeline by the remaining bookings target, and the "
    "target is not held in Salesforce (it would need forecast quotas)",
    "remaining_target": "the bookings target is not held in Salesforce",
    "stuck_deals": "'stuck' compares each deal's days in its stage with the funnel phase's "
    "typical duration per stage, which Salesforce does not hold",
    "mrr_high_risk": "a share of two differently filtered sums of MRR (high-risk accounts over all "
    "accounts); a summary formula cannot filter, and MRR is not an Account field",
    "portfolio_mrr": "MRR per account is not a standard Account field",
    "cost_to_serve": "cost to serve is the channels phase's time-driven costing (activity minutes "
    "× channel cost rates, travel), which Salesforce does not hold",
    "revenue": "yearly revenue per account is not a standard Account field",
    "catalogue:revenue_churn": "needs the MRR of 12 months ago and the downgrades since; "
    "Salesforce's standard objects keep no MRR history",
    "catalogue:cross_sell_rate": "needs the product groups each customer held 12 months ago; "
    "Salesforce keeps no history of held products",
}
"""Why a KPI cannot be a Salesforce report, by the first measure of its formula that cannot (or
``catalogue:<id>`` for portfolio-catalogue KPIs)."""

_CATALOGUE_FORMULAS = {"penetration": "mrr / potential_mrr"}
_AUDIENCES = {
    "rep": ("Rep", "user", "Rep cockpit", "Each rep's own KPIs (runs as the viewing rep)."),
    "team": (
        "Team",
        "organization",
        "Team lead cockpit",
        "The team's KPIs in total and per rep (runs as the viewing team lead).",
    ),
}


def _norm(formula: str) -> str:
    return ast.unparse(ast.parse(formula.strip(), mode="eval"))


@dataclass
class CockpitReport:
    """One report of the cockpit: KPI, audience, names, recipe and breakpoints."""

    kpi_id: str
    kpi_name: str
    audience: str
    name: str
    developer_name: str
    recipe: ReportRecipe
    description: str
    breakpoints: tuple[float, float] | None = None
    colors: tuple[str, str, str] = (RED, AMBER, GREEN)
    unit: str = "num"
    filter_values: dict[str, str] = field(default_factory=dict)


@dataclass
class Cockpit:
    """Reports, dashboards and the KPIs left out (``kpi_id``, ``KPI``, ``reason``)."""

    folder: str
    folder_developer_name: str
    reports: list[CockpitReport]
    not_in_salesforce: pd.DataFrame
    no_breakpoints: pd.DataFrame


def _values(remappings: pd.DataFrame, table: str, fld: str, tokens: set[str]) -> list[str]:
    if remappings.empty or not {"table", "field", "from_value", "to_value"} <= set(remappings):
        return []
    m = remappings[
        (remappings["table"] == table)
        & (remappings["field"] == fld)
        & remappings["to_value"].isin(tokens)
    ]
    return sorted(dict.fromkeys(m["from_value"].astype(str)))


def _fixed_target(kpi: KpiDefinition, actuals: pd.DataFrame, level: str) -> float | None:
    target = kpi.target
    if target.type == "absolute":
        return float(target.value)
    if target.type != "peer_median" or actuals.empty:
        return None
    t = actuals.loc[(actuals["kpi_id"] == kpi.id) & (actuals["level"] == level), "target"].dropna()
    vals = t.round(10).unique()
    return float(vals[0]) if len(vals) == 1 else None


def cockpit(
    kpi_system: KpiSystem,
    kpi_ids: Sequence[str],
    actuals: pd.DataFrame,
    remappings: pd.DataFrame | None = None,
) -> Cockpit:
    """The reports of the cockpit and the KPIs a report cannot compute.

    Parameters
    ----------
    kpi_system
        The run's :class:`salesanalytics.analyses.controlling.model.KpiSystem` (definitions, targets, thresholds).
    kpi_ids
        KPIs of the controlling phase's ``kpi_system`` table, in its order.
    actuals
        Controlling ``kpi_actuals``: ``level``, ``kpi_id``, ``target`` (peer-median targets).
    remappings
        Intake ``quality_remappings`` (``table``, ``field``, ``from_value``, ``to_value``): the
        client's own picklist values of opportunity types and e-mail activities for the filters.
    """
    remap = remappings if remappings is not None else pd.DataFrame()
    filter_values = {
        "opp_new": ",".join(_values(remap, "opportunities", "type", {"new_business"}))
        or "New Business",
        "opp_upsell": ",".join(_values(remap, "opportunities", "type", {"upsell"}))
        or "Existing Business - Upsell",
        "emails": ",".join(_values(remap, "activities", "type", {"email"})) or "Email",
    }
    filter_values["opp_new+opp_upsell"] = (
        filter_values["opp_new"] + "," + filter_values["opp_upsell"]
    )
    reports: list[CockpitReport] = []
    left_out, no_bp = [], []
    for kid in kpi_ids:
        kpi = kpi_system.get(kid)
        if kpi.source == "catalogue":
            formula = _CATALOGUE_FORMULAS.get(kpi.id, "")
            reason = NOT_REPORTABLE.get(f"catalogue:{kpi.id}")
        else:
            formula = kpi.formula
            reason = next((NOT_REPORTABLE[m] for m in kpi.measures if m in NOT_REPORTABLE), None)
        recipe = RECIPES.get((_norm(formula), kpi.window)) if formula else None
        if recipe is None:
            left_out.append(
                {
                    "kpi_id": kpi.id,
                    "KPI": kpi.name,
                    "reason": reason
                    or f"no Salesforce report recipe for the formula '{kpi.formula}' "
                    f"(window {kpi.window})",
                }
            )
            continue
        th = kpi_system.thresholds(kpi)
        for level, (suffix, _scope, _title, _desc) in _AUDIENCES.items():
            target = _fixed_target(kpi, actuals, level)
            bp: tuple[float, float] | None = None
            colors = (RED, AMBER, GREEN)
            if target is not None and target > 0:
                scale = 100.0 if kpi.unit == "pct" else 1.0
                if kpi.direction == "higher":
                    bp = (th.amber * target * scale, th.green * target * scale)
                else:
                    bp = (target / th.green * scale, target / th.amber * scale)
                    colors = (GREEN, AMBER, RED)
                bp = (round(bp[0], 2), round(bp[1], 2))
            elif level == "rep":
                no_bp.append(
                    {
                        "kpi_id": kpi.id,
                        "KPI": kpi.name,
                        "reason": "the target differs per rep and team ("
                        + {
                            "prior_year_growth": f"last year {kpi.target.value:+.0%}",
                            "peer_median": "median of peers",
                            "absolute": "absolute",
                        }[kpi.target.type]
                        + "); a dashboard breakpoint is one fixed number, so the traffic light "
                        "stays in the HTML cockpits",
                    }
                )
            reports.append(
                CockpitReport(
                    kpi_id=kpi.id,
                    kpi_name=kpi.name,
                    audience=level,
                    name=label(f"{kpi.name} ({suffix})", REPORT_NAME_MAX),
                    developer_name="",
                    recipe=recipe,
                    description=label(f"{kpi.definition} Formula: {kpi.formula}.", 255),
                    breakpoints=bp,
                    colors=colors,
                    unit=kpi.unit,
                    filter_values=filter_values,
                )
            )
    devs = unique_developer_names([r.name for r in reports], prefix="R")
    for r, d in zip(reports, devs, strict=True):
        r.developer_name = d[:REPORT_NAME_MAX].rstrip("_")
    cols = ["kpi_id", "KPI", "reason"]
    return Cockpit(
        folder="Sales Cockpit",
        folder_developer_name=developer_name("Sales Cockpit"),
        reports=reports,
        not_in_salesforce=pd.DataFrame(left_out, columns=cols),
        no_breakpoints=pd.DataFrame(no_bp, columns=cols),
    )


def report_metadata(r: CockpitReport) -> list[Field]:
    """The ``Report`` metadata (source format) of ``r``, children in schema order."""
    rec = r.recipe
    out: list[Field] = []
    if rec.formula:
        out.append(
            (
                "aggregates",
                [
                    ("calculatedFormula", rec.formula),
                    ("datatype", rec.datatype),
                    ("developerName", "FORMULA1"),
                    ("isActive", True),
                    ("isCrossBlock", False),
                    ("masterLabel", label(r.kpi_name, 40)),
                    ("scale", 1 if rec.datatype == "percent" else 2),
                ],
            )
        )
    for c in rec.columns:
        agg = "Sum" if (c == rec.summary[0] and rec.summary[1]) else None
        out.append(("columns", [("aggregateTypes", agg), ("field", c)]))
    out.append(("description", r.description))
    if rec.filters:
        items: list[Field] = []
        for col, op, key in rec.filters:
            items.append(
                (
                    "criteriaItems",
                    [
                        ("column", col),
                        ("columnToColumn", False),
                        ("isUnlocked", True),
                        ("operator", op),
                        ("value", r.filter_values.get(key, key)),
                    ],
                )
            )
        out.append(("filter", items))
    out.append(("format", "Summary"))
    out.append(
        (
            "groupingsDown",
            [("dateGranularity", "Day"), ("field", rec.owner_column), ("sortOrder", "Asc")],
        )
    )
    out.append(("name", r.name))
    out.append(("reportType", rec.report_type))
    out.append(("scope", _AUDIENCES[r.audience][1]))
    out += [("showDetails", False), ("showGrandTotal", True), ("showSubTotals", True)]
    if rec.date_column:
        out.append(
            ("timeFrameFilter", [("dateColumn", rec.date_column), ("interval", "INTERVAL_CURY")])
        )
    return out


def _summary(rec: ReportRecipe) -> list[Field]:
    col, agg = rec.summary
    return [("aggregate", agg or None), ("axisBinding", "y"), ("column", col)]


def _component(
    r: CockpitReport, folder: str, kind: str, header: str, grouping: bool = False
) -> list[Field]:
    bp = r.breakpoints
    if kind == "Gauge" and bp is None:
        kind = "Metric"
    out: list[Field] = [
        ("autoselectColumnsFromReport", False),
        ("chartAxisRange", "Auto" if kind == "Bar" else None),
        ("chartSummary", _summary(r.recipe)),
        ("componentType", kind),
        ("decimalPrecision", 0 if r.unit in {"chf", "num"} else 1),
        ("displayUnits", "Auto"),
        ("footer", "Traffic light: target of the KPI system" if bp else None),
        ("gaugeMax", round(max(bp) * 1.5, 4) if kind == "Gauge" and bp else None),
        ("gaugeMin", 0.0 if kind == "Gauge" else None),
        ("groupingColumn", r.recipe.owner_column if grouping else None),
        ("header", label(header, 80)),
        ("indicatorBreakpoint1", bp[0] if bp else None),
        ("indicatorBreakpoint2", bp[1] if bp else None),
        ("indicatorHighColor", r.colors[2]),
        ("indicatorLowColor", r.colors[0]),
        ("indicatorMiddleColor", r.colors[1]),
        ("metricLabel", label(r.kpi_name, 80) if kind == "Metric" else None),
        ("report", f"{folder}/{r.developer_name}"),
        ("showRange", False if kind in {"Gauge", "Metric"} else None),
        ("sortBy", "RowValueDescending" if kind == "Bar" else None),
        ("useReportChart", False if kind == "Bar" else None),
    ]
    return out


def dashboard_metadata(c: Cockpit, audience: str) -> tuple[str, str, list[Field]]:
    """``(developer name, title, metadata)`` of the dashboard for ``audience`` (rep, team)."""
    suffix, _scope, title, desc = _AUDIENCES[audience]
    mine = [r for r in c.reports if r.audience == audience]
    comps: list[Field] = []
    for i, r in enumerate(mine):
        row = i * 4
        if audience == "rep":
            col, span = (i % 3) * 4, 4
            row = (i // 3) * 4
            comps.append(
                _grid(_component(r, c.folder_developer_name, "Gauge", r.kpi_name), col, row, span)
            )
        else:
            comps.append(
                _grid(
                    _component(r, c.folder_developer_name, "Gauge", f"{r.kpi_name}: team"),
                    0,
                    row,
                    4,
                )
            )
            comps.append(
                _grid(
                    _component(
                        r, c.folder_developer_name, "Bar", f"{r.kpi_name} per rep", grouping=True
                    ),
                    4,
                    row,
                    8,
                )
            )
    fields: list[Field] = [
        ("backgroundEndColor", "#FFFFFF"),
        ("backgroundFadeDirection", "Diagonal"),
        ("backgroundStartColor", "#FFFFFF"),
        ("dashboardGridLayout", [*comps, ("numberOfColumns", 12), ("rowHeight", 36)]),
        ("dashboardType", "LoggedInUser"),
        ("description", desc),
        ("isGridLayout", True),
        ("textColor", "#000000"),
        ("title", title),
        ("titleColor", "#000000"),
        ("titleSize", 12),
    ]
    return developer_name(f"{title}"), title, fields


def _grid(component: list[Field], col: int, row: int, span: int) -> Field:
    return (
        "dashboardGridComponents",
        [
            ("colSpan", span),
            ("columnIndex", col),
            ("dashboardComponent", component),
            ("rowIndex", row),
            ("rowSpan", 4),
        ],
    )


def breakpoint_table(c: Cockpit) -> pd.DataFrame:
    """The traffic lights written as breakpoints (``KPI``, ``Dashboard``, ``red/amber/green``)."""
    rows = []
    for r in c.reports:
        if r.breakpoints is None:
            continue
        lo, hi = r.breakpoints
        unit = "%" if r.unit == "pct" else ""
        if r.colors[0] == RED:
            rule = f"red below {lo:g}{unit}, amber to {hi:g}{unit}, green above"
        else:
            rule = f"green up to {lo:g}{unit}, amber to {hi:g}{unit}, red above"
        rows.append(
            {"KPI": r.kpi_name, "Dashboard": _AUDIENCES[r.audience][2], "Traffic light": rule}
        )
    return pd.DataFrame(rows, columns=["KPI", "Dashboard", "Traffic light"])
