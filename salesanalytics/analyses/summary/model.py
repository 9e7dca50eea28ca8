"""Executive summary: the engagement's findings per building block, computed from a run's outputs.

Nothing here is a fixed finding: the summary collects each phase's headlines
(``data/<phase>/headlines.json``), reads a few key figures from the phases' output tables (the
inter-phase contract in ``docs/architecture.md``), words a recommendation from those figures where
a rule exists and links each phase's client report. Phases that
did not run are listed as missing, figures whose table is absent are left out (and counted).

Reports live at ``<run>/client/<phase>.html``; the summary itself is ``client/summary.html``, so
its links are relative to the ``client/`` folder (``territory.html``).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from salesanalytics.present import formats
from salesanalytics.present.i18n import N_
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "BUILDING_BLOCKS",
    "blocks_html",
    "blocks_table",
    "building_blocks",
    "key_figures",
    "one_page_html",
    "phase_status",
    "recommendations",
    "tiles",
]

BUILDING_BLOCKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (N_("Data basis"), ("intake",)),
    (N_("Territory model"), ("potential", "territory")),
    (N_("Portfolio and key accounts"), ("portfolio",)),
    (N_("Customer retention"), ("churn",)),
    (N_("Channel mix and sales funnel"), ("channels", "funnel")),
    (N_("Controlling"), ("controlling",)),
    (N_("Compensation"), ("compensation",)),
    (N_("Role profiles"), ("roles",)),
)
"""The engagement's building blocks and the phases that make them up, in order."""


def phase_status(
    run_dir: str | os.PathLike[str],
    report_dir: str = "client",
    from_dir: str = "client",
    *,
    titles: Mapping[str, str],
) -> pd.DataFrame:
    """Which phases ran in the run, their headlines and the link to their client report.

    Parameters
    ----------
    run_dir
        The run folder.
    report_dir
        Folder of the client reports inside the run (``<run>/client/<phase>.html``).
    from_dir
        Folder (inside the run) of the page that will hold the links; links are relative to it.
    titles
        Phase name -> title shown to the client (handed in by the engagement, e.g.
        ``salesanalytics.engagement.phases.titles()``); a phase without one shows its name.

    Returns
    -------
    pandas.DataFrame
        ``phase, title, available, headlines`` (list of str), ``href`` (relative link, empty when
        the phase did not run).
    """
    run = Path(run_dir)
    rows = []
    for _block, phases in BUILDING_BLOCKS:
        for ph in phases:
            d = run / "data" / ph
            available = d.is_dir()
            heads: list[str] = []
            hp = d / "headlines.json"
            if hp.exists():
                try:
                    items = json.loads(hp.read_text(encoding="utf-8"))
                    heads = [str(h) for h in items] if isinstance(items, list) else []
                except json.JSONDecodeError:
                    heads = []
            href = (
                Path(os.path.relpath(Path(report_dir) / f"{ph}.html", from_dir)).as_posix()
                if available
                else ""
            )
            rows.append(
                {
                    "phase": ph,
                    "title": _(titles.get(ph, ph)),
                    "available": available,
                    "headlines": heads,
                    "href": href,
                }
            )
    return pd.DataFrame(rows)


def _read(run: Path, phase: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(run / "data" / phase / f"{table}.parquet", columns=columns)


def _fig_intake(run: Path) -> list[tuple[str, str]]:
    a = _read(run, "intake", "accounts", ["status"])
    r = _read(run, "intake", "reps", ["rep_id", "active"])
    active = int(r["active"].fillna(True).astype(bool).sum())
    return [
        (N_("Accounts in the CRM"), formats.num(len(a))),
        ("Customers", formats.num(int((a["status"] == "customer").sum()))),
        (N_("Active sales staff"), formats.num(active)),
    ]


def _fig_potential(run: Path) -> list[tuple[str, str]]:
    p = _read(run, "potential", "account_potential", ["potential_mrr", "white_space_mrr"])
    return [
        (N_("Yearly revenue potential"), formats.chf(12 * p["potential_mrr"].sum(), compact=True)),
        (N_("Yearly white space"), formats.chf(12 * p["white_space_mrr"].sum(), compact=True)),
    ]


def _fig_territory(run: Path) -> list[tuple[str, str]]:
    a = _read(run, "territory", "assignment", ["changed"])
    return [(N_("Accounts changing owner"), formats.pct(a["changed"].astype(bool).mean()))]


def _fig_portfolio(run: Path) -> list[tuple[str, str]]:
    k = _read(run, "potential", "key_accounts", ["account_id"])  # the one list (potential owns it)
    return [(N_("Key accounts"), formats.num(len(k)))]


def _fig_churn(run: Path) -> list[tuple[str, str]]:
    c = _read(run, "churn", "customer_churn", ["churn_probability"])
    return [
        (N_("Average 12-month churn risk of customers"), formats.pct(c["churn_probability"].mean()))
    ]


def _fig_channels(run: Path) -> list[tuple[str, str]]:
    a = _read(run, "channels", "account_channel", ["current_channel", "proposed_channel"])
    moved = (a["current_channel"].astype(str) != a["proposed_channel"].astype(str)).mean()
    return [(N_("Accounts moving to another channel"), formats.pct(moved))]


def _fig_funnel(run: Path) -> list[tuple[str, str]]:
    s = _read(run, "funnel", "stuck_deals")
    return [(N_("Open deals stuck in the funnel"), formats.num(len(s)))]


def _fig_controlling(run: Path) -> list[tuple[str, str]]:
    k = _read(run, "controlling", "kpi_actuals", ["level", "status"])
    reps = k[k["level"] == "rep"]
    return [(N_("Rep KPIs in the red"), formats.pct((reps["status"] == "red").mean()))]


def _fig_compensation(run: Path) -> list[tuple[str, str]]:
    c = _read(run, "compensation", "plan_comparison").set_index("plan")
    out = [
        (N_("Cost of sales today"), formats.pct(c.loc["current", "cost_of_sales"])),
        (N_("Cost of sales, proposed plan"), formats.pct(c.loc["proposed", "cost_of_sales"])),
    ]
    s = _read(run, "compensation", "simulation_summary")
    v = s.set_index(["scenario", "statistic"])["value"]
    if ("proposed", "cost_p10") in v.index:
        out.append(
            (
                N_("Simulated incentive cost, proposed plan (P10-P90)"),
                f"{formats.chf(v['proposed', 'cost_p10'], compact=True)} – "
                f"{formats.chf(v['proposed', 'cost_p90'], compact=True)}",
            )
        )
    return out


def _fig_roles(run: Path) -> list[tuple[str, str]]:
    h = _read(run, "roles", "headcount", ["fte_needed", "fte_today"])
    need, now = h["fte_needed"].sum(), h["fte_today"].sum()
    return [
        (N_("Sales FTE needed by role"), formats.num(need, 1)),
        ("FTE today", formats.num(now, 1)),
    ]


_FIGURES: dict[str, Callable[[Path], list[tuple[str, str]]]] = {
    "intake": _fig_intake,
    "potential": _fig_potential,
    "territory": _fig_territory,
    "portfolio": _fig_portfolio,
    "churn": _fig_churn,
    "channels": _fig_channels,
    "funnel": _fig_funnel,
    "controlling": _fig_controlling,
    "compensation": _fig_compensation,
    "roles": _fig_roles,
}


def _rec_territory(run: Path) -> str:
    a = _read(run, "territory", "assignment", ["changed"])
    share = a["changed"].astype(bool).mean()
    return _(
        "Roll out the new territories; {share} of accounts change owner, so plan the handovers "
        "(introductions, owner change in the CRM) before the start of the year."
    ).format(share=formats.pct(share))


def _rec_channels(run: Path) -> str:
    a = _read(run, "channels", "account_channel", ["current_channel", "proposed_channel"])
    moved = int((a["current_channel"].astype(str) != a["proposed_channel"].astype(str)).sum())
    return _(
        "Move {n} accounts to their proposed channel in waves, starting with the first migration "
        "wave, and track contribution per channel in the cockpit."
    ).format(n=formats.num(moved))


def _rec_compensation(run: Path) -> str:
    c = _read(run, "compensation", "plan_comparison").set_index("plan")
    diff = c.loc["proposed", "cost_of_sales"] - c.loc["current", "cost_of_sales"]
    text = (
        _(
            "Introduce the proposed plan with a pilot year: on last year's actuals it raises the "
            "cost of sales by {points} percentage points and rewards retention and portfolio "
            "development; review quotas and curves with the simulated ranges."
        )
        if diff > 0
        else _(
            "Introduce the proposed plan with a pilot year: on last year's actuals it lowers the "
            "cost of sales by {points} percentage points and rewards retention and portfolio "
            "development; review quotas and curves with the simulated ranges."
        )
    )
    return text.format(points=formats.num(abs(diff) * 100, 1))


def _role_names(names: Any) -> str:
    """Role names in the run's language, comma-separated."""
    return ", ".join(_(str(n)) for n in names)


def _rec_roles(run: Path) -> str:
    h = _read(run, "roles", "headcount", ["name", "fte_needed", "fte_today", "gap"])
    up = h[h["gap"] >= 0.5].sort_values("gap", ascending=False)
    down = h[h["gap"] <= -0.5].sort_values("gap")
    if len(down) and len(up):
        return _(
            "Staff the roles to the new channel mix: shift capacity from {down}; build up {up}, "
            "using the development paths between roles before hiring."
        ).format(down=_role_names(down["name"]), up=_role_names(up["name"]))
    if len(up):
        return _(
            "Staff the roles to the new channel mix: build up {up}, using the development paths "
            "between roles before hiring."
        ).format(up=_role_names(up["name"]))
    if len(down):  # no role to shift to: say what the freed capacity is, not a shift
        need, today = h["fte_needed"].sum(), h["fte_today"].sum()
        return _(
            "The new channel mix needs {need} sales FTE for its workload against {today} today "
            "(most in {roles}): put the freed capacity on the untapped potential before any "
            "reduction, and review the workload norms with the sales managers."
        ).format(
            need=formats.num(need, 1),
            today=formats.num(today, 1),
            roles=_role_names(down["name"].head(2)),
        )
    return _("Keep today's team size per role; use the development paths to fill vacancies.")


_RECOMMENDATIONS: dict[str, Callable[[Path], str]] = {
    "Territory model": _rec_territory,
    "Channel mix and sales funnel": _rec_channels,
    "Compensation": _rec_compensation,
    "Role profiles": _rec_roles,
}


def recommendations(run_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Recommendation per building block, worded from the run's figures (blocks without data: none)."""
    run = Path(run_dir)
    out = {}
    for block, fn in _RECOMMENDATIONS.items():
        try:
            out[block] = fn(run)
        except (FileNotFoundError, KeyError, ValueError, OSError):
            continue
    return out


def key_figures(run_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The few numbers that matter, per building block, read from the phases' output tables.

    Returns
    -------
    pandas.DataFrame
        ``block, phase, figure, value`` (value formatted Swiss style). Figures whose table or
        column is missing are left out; ``attrs["missing"]`` lists them as ``phase: reason``.
    """
    run = Path(run_dir)
    rows, missing = [], []
    for block, phases in BUILDING_BLOCKS:
        for ph in phases:
            fn = _FIGURES.get(ph)
            if fn is None or not (run / "data" / ph).is_dir():
                continue
            try:
                figs = fn(run)
            except (FileNotFoundError, KeyError, ValueError, OSError) as exc:
                missing.append(f"{ph}: {type(exc).__name__}: {str(exc)[:120]}")
                continue
            rows += [{"block": block, "phase": ph, "figure": f, "value": v} for f, v in figs]
    out = pd.DataFrame(rows, columns=["block", "phase", "figure", "value"])
    out.attrs["missing"] = missing
    return out


def building_blocks(
    run_dir: str | os.PathLike[str], from_dir: str = "client", *, titles: Mapping[str, str]
) -> pd.DataFrame:
    """Findings (headlines), key figures and report links per building block.

    ``titles`` maps phase names to the titles of their reports (see :func:`phase_status`).

    Returns
    -------
    pandas.DataFrame
        ``block, phases_run, phases_missing, findings`` (list of str), ``figures`` (list of
        ``(figure, value)``), ``links`` (list of ``(title, href)``), ``recommendation`` (text,
        empty where the block has no data-driven recommendation).
    """
    st = phase_status(run_dir, from_dir=from_dir, titles=titles).set_index("phase")
    figs = key_figures(run_dir)
    recs = recommendations(run_dir)
    rows = []
    for block, phases in BUILDING_BLOCKS:
        ran = [p for p in phases if st.loc[p, "available"]]
        rows.append(
            {
                "block": block,
                "phases_run": ran,
                "phases_missing": [p for p in phases if p not in ran],
                "findings": [h for p in ran for h in st.loc[p, "headlines"]],
                "figures": [(r.figure, r.value) for r in figs[figs["block"] == block].itertuples()],
                "links": [(_(st.loc[p, "title"]), st.loc[p, "href"]) for p in ran],
                "recommendation": recs.get(block, ""),
            }
        )
    return pd.DataFrame(rows)


def blocks_html(blocks: pd.DataFrame) -> str:
    """The one-page summary as HTML: one section per building block, every text escaped.

    Links are the relative ``href`` values of :func:`building_blocks` (our own file names);
    headlines and figures are escaped, so CRM text in a headline cannot inject markup.
    """
    e = formats.escape
    parts = ['<div class="sa-summary">']
    for b in blocks.itertuples():
        parts.append(f"<h3>{e(_(b.block))}</h3>")
        if not b.phases_run:
            parts.append(
                "<p><em>"
                + e(
                    _("Not part of this run (phases: {phases}).").format(
                        phases=", ".join(b.phases_missing)
                    )
                )
                + "</em></p>"
            )
            continue
        if b.findings:
            parts.append("<ul>" + "".join(f"<li>{e(f)}</li>" for f in b.findings) + "</ul>")
        if b.recommendation:
            parts.append("<p><b>" + e(_("Recommendation:")) + f"</b> {e(b.recommendation)}</p>")
        if b.figures:
            parts.append(
                '<table class="sa-table"><tbody>'
                + "".join(
                    f"<tr><td>{e(_(f))}</td><td><b>{e(v)}</b></td></tr>" for f, v in b.figures
                )
                + "</tbody></table>"
            )
        links = " · ".join(
            f'<a href="{html.escape(href, quote=True)}">{e(title)}</a>' for title, href in b.links
        )
        parts.append("<p>" + e(_("Full report:")) + f" {links}</p>")
        if b.phases_missing:
            parts.append(
                "<p><em>"
                + e(_("Not in this run: {phases}.").format(phases=", ".join(b.phases_missing)))
                + "</em></p>"
            )
    parts.append("</div>")
    return "\n".join(parts)


def blocks_table(blocks: pd.DataFrame) -> pd.DataFrame:
    """:func:`building_blocks` flattened to text columns (for Parquet output)."""
    return blocks.assign(
        phases_run=blocks["phases_run"].map(", ".join),
        phases_missing=blocks["phases_missing"].map(", ".join),
        findings=blocks["findings"].map(" | ".join),
        figures=blocks["figures"].map(lambda f: "; ".join(f"{a}: {b}" for a, b in f)),
        links=blocks["links"].map(lambda f: "; ".join(h for _, h in f)),
    )


# --------------------------------------------------------------------------------------------
# The one page a managing director reads: answer, tiles, one chart per block, recommendations
# --------------------------------------------------------------------------------------------


def _try(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (FileNotFoundError, KeyError, ValueError, OSError, IndexError):
        return None


def _facts(run: Path) -> dict[str, Any]:
    """The handful of numbers the page is built from (missing ones are ``None``)."""

    def potential() -> tuple[float, float]:
        p = _read(run, "potential", "account_potential", ["potential_mrr", "current_mrr"])
        return 12 * float(p["potential_mrr"].sum()), 12 * float(p["current_mrr"].sum())

    def territories() -> tuple[int, float, float]:
        c = _read(run, "territory", "comparison").set_index("scenario")
        prop = c.loc["proposal"]
        today = c.iloc[0]
        dev = max(prop["max_dev_potential"], prop["max_dev_workload"])
        dev0 = max(today["max_dev_potential"], today["max_dev_workload"])
        return int(prop["territories"]), float(dev), float(dev0)

    def channels() -> tuple[int, float]:
        a = _read(run, "channels", "account_channel", ["current_channel", "proposed_channel"])
        moved = int((a["current_channel"].astype(str) != a["proposed_channel"].astype(str)).sum())
        if (run / "data" / "channels" / "migration_waves.parquet").exists():
            # the channel phase's own figure: the contribution effect of its migration waves
            waves = _read(run, "channels", "migration_waves", ["yearly_effect"])
            return moved, float(waves["yearly_effect"].sum())
        cs = _read(run, "channels", "channel_summary").groupby("scenario")["contribution"].sum()
        return moved, float(cs["proposed"] - cs["today"])

    def pay() -> tuple[float, float]:
        c = _read(run, "compensation", "plan_comparison").set_index("plan")
        return float(c.loc["current", "cost_of_sales"]), float(c.loc["proposed", "cost_of_sales"])

    def retention() -> float:
        r = _read(run, "churn", "retention_summary")
        return float(r.loc[r["dimension"] == "total", "nrr"].iloc[0])

    return {
        "potential": _try(potential),
        "key_accounts": _try(lambda: len(_read(run, "potential", "key_accounts", ["account_id"]))),
        "territories": _try(territories),
        "channels": _try(channels),
        "pay": _try(pay),
        "nrr": _try(retention),
    }


def tiles(run_dir: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Three to five key figures of the engagement as ``(value, label)`` tiles.

    Those whose phase ran, each read from the table of the phase that owns it.
    """
    f = _facts(Path(run_dir))
    out: list[tuple[str, str]] = []
    if f["potential"]:
        pot, now = f["potential"]
        out.append(
            (
                formats.chf(pot - now, compact=True),
                _("yearly revenue not yet won ({share} of the potential is won today)").format(
                    share=formats.pct(now / pot if pot else 0, 0)
                ),
            )
        )
    if f["channels"]:
        moved, gain = f["channels"]
        out.append(
            (
                ("+" if gain >= 0 else "") + formats.chf(gain, compact=True),
                _("contribution a year from serving {n} accounts in another channel").format(
                    n=formats.num(moved)
                ),
            )
        )
    if f["territories"]:
        n, dev, dev0 = f["territories"]
        out.append(
            (
                formats.num(n),
                _(
                    "balanced field territories, none more than {dev} off target (today up to "
                    "{today})"
                ).format(dev=formats.pct(dev, 0), today=formats.pct(dev0, 0)),
            )
        )
    if f["key_accounts"] is not None:
        out.append((formats.num(f["key_accounts"]), _("key accounts with their own manager")))
    if f["pay"]:
        cur, new = f["pay"]
        out.append(
            (
                formats.pct(new),
                _("cost of sales with the new pay plan (today {today})").format(
                    today=formats.pct(cur)
                ),
            )
        )
    elif f["nrr"] is not None:
        out.append((formats.pct(f["nrr"]), _("net revenue retention of last year's customers")))
    return out[:5]


def _answer(f: dict[str, Any]) -> str:
    parts = []
    if f["territories"]:
        parts.append(_("{n} balanced field territories").format(n=formats.num(f["territories"][0])))
    if f["key_accounts"] is not None:
        parts.append(
            _("{n} key accounts with their own managers").format(n=formats.num(f["key_accounts"]))
        )
    if f["channels"]:
        moved, gain = f["channels"]
        parts.append(
            _(
                "{n} accounts served in the channel that pays for them ({gain} contribution a year)"
            ).format(
                n=formats.num(moved),
                gain=("+" if gain >= 0 else "") + formats.chf(gain, compact=True),
            )
        )
    if f["pay"]:
        parts.append(
            _(
                "a pay plan that rewards keeping and developing customers at a cost of sales of "
                "{new} (today {today})"
            ).format(new=formats.pct(f["pay"][1]), today=formats.pct(f["pay"][0]))
        )
    if not parts:
        return _("This run holds no results of the building blocks yet.")
    lead = _("The new sales model rests on ") + (
        parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + _(" and ") + parts[-1]
    )
    if f["potential"]:
        pot, now = f["potential"]
        lead += _(
            ". It goes after {gap} of yearly revenue the client does not win today (it wins "
            "{share} of its market potential)"
        ).format(
            gap=formats.chf(pot - now, compact=True), share=formats.pct(now / pot if pot else 0, 0)
        )
    return lead + "."


def one_page_html(
    run_dir: str | os.PathLike[str],
    part: str = "top",
    titles: Mapping[str, str] | None = None,
) -> str:
    """The executive summary page as HTML, every text escaped.

    Parameters
    ----------
    run_dir
        The run folder.
    part
        ``"top"``: the answer first and the key-figure tiles; ``"bottom"``: the recommendations
        and one link per building block to its full report.
    titles
        Phase name -> report title for the links (see :func:`phase_status`); needed for
        ``"bottom"``.
    """
    run = Path(run_dir)
    e = formats.escape
    if part == "top":
        f = _facts(run)
        cards = "".join(
            f'<div class="sa-tile"><div class="sa-tile-value">{e(v)}</div>'
            f'<div class="sa-tile-label">{e(label)}</div></div>'
            for v, label in tiles(run)
        )
        return f'<div class="sa-answer">{e(_answer(f))}</div><div class="sa-tiles">{cards}</div>'
    if titles is None:
        raise ValueError(
            "one_page_html(part='bottom') links every phase's report and needs their titles: "
            "pass titles=salesanalytics.engagement.phases.titles()"
        )
    blocks = building_blocks(run, titles=titles)
    recs = [(b.block, b.recommendation) for b in blocks.itertuples() if b.recommendation]
    out = ["<h2>" + e(_("What we recommend")) + "</h2>"]
    if recs:
        out.append(
            '<ol class="sa-recs">'
            + "".join(f"<li><strong>{e(_(b))}:</strong> {e(r)}</li>" for b, r in recs)
            + "</ol>"
        )
    out.append("<h2>" + e(_("The full reports")) + "</h2><ul>")
    for b in blocks.itertuples():
        if b.links:
            links = " · ".join(
                f'<a href="{html.escape(h, quote=True)}">{e(t)}</a>' for t, h in b.links
            )
            out.append(f"<li><strong>{e(_(b.block))}</strong>: {links}</li>")
        else:
            out.append(
                f"<li><strong>{e(_(b.block))}</strong>: " + e(_("not part of this run")) + "</li>"
            )
    out.append("</ul>")
    return "".join(out)
