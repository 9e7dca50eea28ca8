"""The controlling cockpit drawn.

KPI tiles with traffic lights, the four-panel cockpit figure (as an SVG image for the reports) and
the traffic-light table of all reps or teams.

The numbers come from :mod:`salesanalytics.analyses.controlling.model`; this module only draws
them (matplotlib, the house theme of :mod:`salesanalytics.present`).
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import matplotlib.ticker as mpl_ticker
import numpy as np
import pandas as pd
from matplotlib import cbook
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from salesanalytics.analyses.controlling.model import LEVELS, Cockpit
from salesanalytics.present import style
from salesanalytics.present.i18n import N_
from salesanalytics.present.i18n import gettext as _

__all__ = ["SvgImage", "cockpit_figure", "cockpit_image", "kpi_tiles", "traffic_light_table"]


def _fmt_value(v: float, unit: str) -> str:
    if unit == "chf":
        return style.chf(v)
    if unit == "pct":
        return style.pct(v)
    if unit == "ratio":
        return "–" if pd.isna(v) else f"{style.num(v, 1)}×"
    if unit == "days":
        return style.num(v) + " d" if pd.notna(v) else "–"
    return style.num(v)


def kpi_tiles(cockpit: Cockpit) -> Any:
    """The KPI table of a cockpit page with traffic-light colours (an escaped ``Styler``).

    Columns: KPI, type (leading/lagging), actual, target, attainment, status.
    """
    k = cockpit.kpis
    shown = pd.DataFrame(
        {
            "KPI": [_(str(n)) for n in k["kpi_name"]],
            "type": [_(str(i)) for i in k["indicator"]],
            "actual": [_fmt_value(v, u) for v, u in zip(k["actual"], k["unit"], strict=True)],
            "target": [_fmt_value(v, u) for v, u in zip(k["target"], k["unit"], strict=True)],
            "attainment": k["attainment"].to_numpy(),
            "status": k["status"].astype("string").to_numpy(),
        }
    )
    styler = style.table(
        shown,
        formats={"attainment": lambda v: style.pct(v, 0), "status": lambda v: _(str(v))},
        caption=_("KPIs of {name}").format(name=cockpit.entity_name),
        max_rows=50,
    )
    return styler.map(
        lambda v: (
            f"background-color: {style.TRAFFIC_COLORS.get(str(v), '#ffffff')}; color: white; "
            "font-weight: bold; text-align: center"
        ),
        subset=["status"],
    )


_BAND_COLORS = {
    "low": style.TRAFFIC_COLORS["green"],
    "medium": style.TRAFFIC_COLORS["amber"],
    "high": style.TRAFFIC_COLORS["red"],
    "not scored": style.TRAFFIC_COLORS["grey"],
}


_SWISS = mpl_ticker.FuncFormatter(lambda v, _pos: style.num(v))


_RISK_ORDER = ("low", "medium", "high", "not scored")


_CONTACT_TYPES = (
    ("visits", N_("Visits"), "field"),
    ("calls", N_("Calls"), "tele"),
    ("online_sessions", N_("Online sessions"), "online"),
)


@dataclass
class _Panels:
    """The numbers of the four cockpit panels, and the layout they fix (months, stages, bands)."""

    title: str
    labels: list[str]
    bookings: np.ndarray
    prior: np.ndarray
    contacts: list[np.ndarray]
    stages: list[str]
    reached: np.ndarray
    conversion: np.ndarray
    bands: list[str]
    band_mrr: np.ndarray

    def layout(self) -> tuple[Any, ...]:
        """Everything that fixes which artists the figure has (the rest is data)."""
        return (tuple(self.labels), tuple(self.stages), tuple(self.bands))


def _panels(cockpit: Cockpit) -> _Panels:
    tr = cockpit.trend
    b = tr[tr["measure"].eq("bookings").fillna(False).to_numpy(bool)].sort_values("month")
    n = len(b)
    contacts = []
    for m, _label, _channel in _CONTACT_TYPES:
        s = tr[tr["measure"].eq(m).fillna(False).to_numpy(bool)].sort_values("month")["value"]
        contacts.append(s.to_numpy() if len(s) == n else np.zeros(n))
    f = cockpit.funnel[cockpit.funnel["funnel"].eq("new_business").fillna(False).to_numpy(bool)]
    f = f.sort_values("stage_index")
    rt = cockpit.retention
    present = set(rt["risk_band"])
    bands = [b_ for b_ in _RISK_ORDER if b_ in present]
    bands += sorted(present - set(bands))
    band_mrr = (
        rt.set_index("risk_band").reindex(bands)["mrr"].fillna(0.0).to_numpy()
        if len(rt)
        else np.zeros(0)
    )
    return _Panels(
        title=_("Sales cockpit – {name}").format(name=cockpit.entity_name),
        labels=[style.month(m) for m in b["month"]],
        bookings=b["value"].to_numpy() / 1e3,
        prior=b["prior_value"].to_numpy() / 1e3,
        contacts=contacts,
        stages=f["stage"].astype(str).tolist(),
        reached=f["reached"].to_numpy(),
        conversion=f["conversion"].to_numpy(),
        bands=bands if len(rt) else [],
        band_mrr=band_mrr,
    )


def _funnel_label(r: Any, c: Any) -> str:
    return f" {style.num(r)}" + (f"  → {style.pct(c, 0)}" if pd.notna(c) else "")


@dataclass
class _CockpitArtists:
    """The data-carrying artists of a drawn cockpit figure (updated in place for the next one)."""

    fig: Any
    layout: tuple[Any, ...]
    rc: dict[str, Any]
    bookings: list[Any]
    prior: Any
    contacts: list[list[Any]]
    funnel: list[Any]
    funnel_text: list[Any]
    bands: list[Any]
    band_text: list[Any]
    title: Any


def _draw_cockpit(fig: Any, p: _Panels) -> _CockpitArtists:
    """Draw the four panels of ``p`` on the empty figure ``fig``."""
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    x = np.arange(len(p.labels))
    step = max(1, len(x) // 6)  # about six month labels: readable without rotating them
    bk = ax.bar(x, p.bookings, color=style.PALETTE[1], label=_("actual"))
    (prior,) = ax.plot(
        x, p.prior, color=style.PALETTE[3], marker="o", label=_("same month a year earlier")
    )
    ax.set_xticks(x[::step], p.labels[::step], fontsize=8)
    ax.set_ylabel(_("{currency} thousand").format(currency=style.currency()))
    ax.set_title(_("Bookings per month"), y=1.0)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=3)
    ax = axes[0, 1]
    bottom = np.zeros(len(x))
    contacts = []
    for (_m, lab, channel), vals in zip(_CONTACT_TYPES, p.contacts, strict=True):
        bars = ax.bar(x, vals, bottom=bottom, color=style.CHANNEL_COLORS[channel], label=_(lab))
        contacts.append(list(bars.patches))
        bottom = bottom + vals
    ax.set_xticks(x[::step], p.labels[::step], fontsize=8)
    ax.yaxis.set_major_formatter(_SWISS)
    ax.set_title(_("Customer contacts per month"), y=1.0)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=3)
    ax = axes[1, 0]
    funnel, funnel_text = [], []
    if p.stages:
        y = np.arange(len(p.stages))[::-1]
        funnel = list(ax.barh(y, p.reached, color=style.PALETTE[0]).patches)
        ax.set_yticks(y, p.stages, fontsize=8)
        for yi, r, c in zip(y, p.reached, p.conversion, strict=True):
            funnel_text.append(ax.text(r, yi, _funnel_label(r, c), va="center", fontsize=8))
        ax.set_xlim(0, max(1.0, float(p.reached.max())) * 1.35)
    else:
        ax.text(
            0.5, 0.5, _("no new-business deals"), ha="center", va="center", transform=ax.transAxes
        )
    ax.xaxis.set_major_formatter(_SWISS)
    ax.set_title(_("New-business funnel (deals reaching each stage)"), y=1.0)
    ax = axes[1, 1]
    bands, band_text = [], []
    if p.bands:
        bands = list(
            ax.bar(
                [_(b) for b in p.bands],
                p.band_mrr / 1e3,
                color=[_BAND_COLORS.get(o, style.PALETTE[7]) for o in p.bands],
            ).patches
        )
        for i, v in enumerate(p.band_mrr):
            band_text.append(
                ax.text(
                    i, v / 1e3, style.chf(v, compact=True), ha="center", va="bottom", fontsize=8
                )
            )
    else:
        ax.text(
            0.5, 0.5, _("no recurring revenue"), ha="center", va="center", transform=ax.transAxes
        )
    ax.set_ylabel(_("MRR, {currency} thousand").format(currency=style.currency()))
    ax.set_title(_("Portfolio MRR by churn risk"), y=1.0)
    title = fig.suptitle(p.title, x=0.01, ha="left", fontweight="bold")
    # fixed margins: cheaper than tight_layout, and every cockpit page looks the same
    fig.subplots_adjust(left=0.12, right=0.98, top=0.9, bottom=0.08, hspace=0.55, wspace=0.3)
    return _CockpitArtists(
        fig=fig,
        layout=p.layout(),
        rc=dict(mpl.rcParams),
        bookings=list(bk.patches),
        prior=prior,
        contacts=contacts,
        funnel=funnel,
        funnel_text=funnel_text,
        bands=bands,
        band_text=band_text,
        title=title,
    )


def _update_cockpit(a: _CockpitArtists, p: _Panels) -> None:
    """Put the numbers of ``p`` into a drawn figure of the same layout.

    Sets every data-carrying property exactly as :func:`_draw_cockpit` does for a new figure
    (bar heights and bottoms with their sticky edges, line data, label texts and positions, axis
    limits), so the image is the same as a freshly drawn one (a test compares the bytes).
    """
    for r, h in zip(a.bookings, p.bookings, strict=True):
        r.set_height(h)
    a.prior.set_ydata(p.prior)
    bottom = np.zeros(len(p.labels))
    for bars, vals in zip(a.contacts, p.contacts, strict=True):
        for r, b0, h in zip(bars, bottom, vals, strict=True):
            r.set_y(b0)
            r.set_height(h)
            r.sticky_edges.y[:] = [b0]
        bottom = bottom + vals
    if p.stages:
        for r, t, w, c in zip(a.funnel, a.funnel_text, p.reached, p.conversion, strict=True):
            r.set_width(w)
            t.set_x(w)
            t.set_text(_funnel_label(w, c))
        a.funnel[0].axes.set_xlim(0, max(1.0, float(p.reached.max())) * 1.35)
    for r, t, v in zip(a.bands, a.band_text, p.band_mrr, strict=True):
        r.set_height(v / 1e3)
        t.set_y(v / 1e3)
        t.set_text(style.chf(v, compact=True))
    a.title.set_text(p.title)
    for ax in a.fig.axes:
        if ax.patches:  # an empty panel keeps its default limits, like a new one
            _relim(ax)
            ax.autoscale_view()


_RECT_SEGMENTS = np.array(
    [[0, 0], [1, 0], [1, 0], [1, 1], [1, 1], [0, 1], [0, 1], [0, 0]], dtype="float64"
)
"""The ends of the four sides of matplotlib's unit rectangle, as ``Axes.relim`` takes them."""


def _relim(ax: Any) -> None:
    """``ax.relim()`` for axes holding bars (rectangles) and lines in data coordinates.

    The same data limits as matplotlib's, which takes every bar through its general path code
    (a third of the time of updating a cockpit): the corners of each bar through the bar's own
    transform, the lines' points, all in one update.
    """
    xys = [line.get_xydata() for line in ax.lines]
    xys += [r.get_patch_transform().transform(_RECT_SEGMENTS) for r in ax.patches]
    ax.dataLim.ignore(True)
    ax.dataLim.set_points(Bbox.null().get_points())
    ax.ignore_existing_data_limits = True
    ax.update_datalim(np.concatenate(xys))


def cockpit_figure(cockpit: Cockpit) -> plt.Figure:
    """The four cockpit panels: bookings trend, activities, new-business funnel, MRR by churn risk.

    Parameters
    ----------
    cockpit
        Output of :func:`cockpit_data`.
    """
    fig = plt.figure(figsize=(11, 7))
    _draw_cockpit(fig, _panels(cockpit))
    return fig


class SvgImage:
    """An SVG image for notebook output, shown as-is (``data`` is the SVG text).

    ``IPython.display.SVG`` parses the whole document with ``minidom`` on creation, which costs as
    much as a third of drawing a cockpit; matplotlib's SVG needs no clean-up.
    """

    def __init__(self, data: str) -> None:
        self.data = data

    def _repr_svg_(self) -> str:
        return self.data

    def __repr__(self) -> str:
        return "<chart>"


class _MeasuringRendererSVG(RendererSVG):
    """matplotlib's SVG renderer, with the text measurements kept from one image to the next.

    matplotlib measures every label with FreeType again for every image; the cockpits of a run
    share nearly all their labels (months, titles, tick values, legends), so the measurements are
    kept in :data:`_TEXT_METRICS` (they depend only on the text and its font). The SVG is the same
    as matplotlib's own (a test compares the bytes).
    """

    def get_text_width_height_descent(self, s: str, prop: Any, ismath: Any) -> Any:
        key = (s, prop, ismath)  # font properties hash and compare by their settings
        got = _TEXT_METRICS.get(key)
        if got is None:
            got = super().get_text_width_height_descent(s, prop, ismath)
            if len(_TEXT_METRICS) >= 4096:
                _TEXT_METRICS.clear()
            _TEXT_METRICS[(s, prop.copy(), ismath)] = got
        return got


class _CockpitCanvas(FigureCanvasSVG):
    """SVG canvas of the reused cockpit figures: draws with :class:`_MeasuringRendererSVG`."""

    def print_svg(  # type: ignore[override]
        self,
        filename: Any,
        *,
        bbox_inches_restore: Any = None,
        metadata: Any = None,
        **_ignored: Any,
    ) -> None:
        # FigureCanvasSVG.print_svg of matplotlib 3.11, with the measuring renderer; like it, takes
        # no notice of the other savefig options (facecolor, edgecolor, dpi, orientation)
        with cbook.open_file_cm(filename, "w", encoding="utf-8") as fh:
            if not cbook.file_requires_unicode(fh):
                fh = codecs.getwriter("utf-8")(fh)
            dpi = self.figure.dpi
            self.figure.dpi = 72
            width, height = self.figure.get_size_inches()
            w, h = width * 72, height * 72
            renderer = MixedModeRenderer(
                self.figure,
                width,
                height,
                dpi,
                _MeasuringRendererSVG(w, h, fh, image_dpi=dpi, metadata=metadata),
                bbox_inches_restore=bbox_inches_restore,
            )
            self.figure.draw(renderer)
            renderer.finalize()


def cockpit_image(cockpit: Cockpit) -> SvgImage:
    """The cockpit panels as an SVG image for the report.

    SVG with text kept as text (``svg.fonttype = none``) draws several times faster than a PNG
    through the notebook's inline backend and stays sharp when printed, which matters when the
    pipeline renders one cockpit per rep in one kernel. The SVG carries no creation date, so the
    same data give the same bytes.

    The figure of the previous cockpit with the same layout (months, funnel stages, risk bands,
    matplotlib settings) is reused with the new numbers put in, and text measurements are kept
    (:class:`_MeasuringRendererSVG`): building the figure and measuring its labels cost as much as
    drawing it. The figure is not registered with pyplot, so a notebook never shows it by itself,
    and the image is byte for byte the one :func:`cockpit_figure` gives (tested).
    """
    buf = io.BytesIO()
    with mpl.rc_context(_SVG_RC):
        rc = dict(mpl.rcParams)
        if rc != _TEXT_METRICS_RC:  # other fonts or sizes: measure again
            _TEXT_METRICS.clear()
            _TEXT_METRICS_RC.clear()
            _TEXT_METRICS_RC.update(rc)
        p = _panels(cockpit)
        key = p.layout()
        art = _FIGURES.pop(key, None)
        if art is not None and art.rc == rc:
            _update_cockpit(art, p)
        else:
            fig = Figure(figsize=(11, 7))
            _CockpitCanvas(fig)
            art = _draw_cockpit(fig, p)
        _FIGURES[key] = art  # most recently used last
        while len(_FIGURES) > _MAX_FIGURES:
            _FIGURES.pop(next(iter(_FIGURES)))
        art.fig.savefig(buf, format="svg", metadata={"Date": None})
    return SvgImage(buf.getvalue().decode("utf-8"))


_SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "cockpit"}


_MAX_FIGURES = 8


_FIGURES: dict[tuple[Any, ...], _CockpitArtists] = {}
"""Cockpit figures kept for reuse by :func:`cockpit_image`, by layout (a few kilobytes each)."""


_TEXT_METRICS: dict[tuple[Any, ...], Any] = {}
"""Text measurements of :class:`_MeasuringRendererSVG` (text, font, math mode) -> size."""


_TEXT_METRICS_RC: dict[str, Any] = {}
"""The matplotlib settings the measurements in :data:`_TEXT_METRICS` were taken with."""


def traffic_light_table(actuals: pd.DataFrame, level: str = "rep", max_rows: int = 80) -> Any:
    """At-a-glance table: one row per rep/team, one column per KPI.

    Each cell is the actual value coloured by its traffic light (an escaped ``Styler``).

    Parameters
    ----------
    actuals
        Output of :func:`kpi_actuals` (``level, entity_name, kpi_name, unit, actual, status``).
    level
        ``rep`` or ``team``.
    max_rows
        Rows shown.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got '{level}'")
    a = actuals[actuals["level"].eq(level).fillna(False).to_numpy(bool)].copy()
    a["text"] = [_fmt_value(v, u) for v, u in zip(a["actual"], a["unit"], strict=True)]
    order = list(dict.fromkeys(a["kpi_name"]))
    a["kpi_name"] = [_(str(n)) for n in a["kpi_name"]]
    order = [_(str(n)) for n in order]
    text = a.pivot_table(index="entity_name", columns="kpi_name", values="text", aggfunc="first")
    stat = a.pivot_table(index="entity_name", columns="kpi_name", values="status", aggfunc="first")
    text, stat = text[order], stat[order]
    shown = text.reset_index().rename(columns={"entity_name": level})
    colours = stat.reset_index(drop=True).head(max_rows)
    styler = style.table(
        shown,
        caption=_("KPIs per {level}: actual value, colour = status").format(level=_(level)),
        max_rows=max_rows,
    )

    def _css(col: pd.Series) -> list[str]:
        if col.name not in colours.columns:
            return [""] * len(col)
        return [
            f"background-color: {style.TRAFFIC_COLORS.get(str(s), '#ffffff')}; color: white"
            for s in colours[col.name].to_numpy()
        ]

    return styler.apply(_css, axis=0, subset=order)
