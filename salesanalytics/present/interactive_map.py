"""Interactive maps for the client reports: hover a postal code, click a territory, zoom and pan.

Built with Bokeh (the library is inlined into the page by the report, nothing is fetched): a
notebook displays an :class:`InteractiveMap`, whose output carries the map as a Bokeh document
(data, no code: ``application/vnd.salesanalytics.bokeh+json``) and the static map as a PNG.
The client report (:mod:`salesanalytics.engagement.pipeline.report`) turns it into a placeholder filled by
the inlined Bokeh library and the project's own embed script, both allowed by their hash in the
page's content-security policy; the PNG is the printed version. JupyterLab and the analyst
version show the PNG.

Tooltips show CRM text (places, rep names) as text: Bokeh inserts tooltip values as text nodes,
never as HTML.

* :func:`territory_map` -- postal codes coloured by territory; hover: place, territory, rep,
  potential, workload and accounts, and the territory's balance; click a territory to highlight
  it; a legend of the territories.
* :func:`value_map` -- a heat map of a value per postal code with a colour bar; hover: place and
  the values.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics.present.formats import pct
from salesanalytics.present.i18n import gettext as _
from salesanalytics.reference.geography import Geography, geography

__all__ = [
    "EMBED_SCRIPT",
    "MIME_TYPE",
    "InteractiveMap",
    "bokeh_script",
    "postal_code_table",
    "script_hash",
    "territory_map",
    "value_map",
]

MIME_TYPE = "application/vnd.salesanalytics.bokeh+json"
"""Output type of an interactive map in a notebook: ``{"item": <Bokeh json_item>, "alt": text}``."""

EMBED_SCRIPT = """(function () {
  function embedMaps() {
    if (!window.Bokeh) { return; }
    var nodes = document.querySelectorAll("script.sa-imap-data");
    for (var i = 0; i < nodes.length; i++) {
      var item = JSON.parse(nodes[i].textContent);
      window.Bokeh.embed.embed_item(item, nodes[i].getAttribute("data-target"));
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", embedMaps);
  } else {
    embedMaps();
  }
})();"""
"""The project's own script that draws every map of a page from its data block."""

_SIMPLIFY = 1 / 2000
"""Polygon simplification as a share of the map's larger side (about 180 m across Switzerland,
450 m across Germany): invisible at the map's size, it keeps the report small."""
_NO_DATA = "#eeeeee"


@cache
def bokeh_script() -> str:
    """The Bokeh library (minified) shipped with the installed ``bokeh`` package."""
    from bokeh.resources import Resources

    res = Resources(mode="inline", components=["bokeh"])
    return "\n".join(res.js_raw)


def script_hash(script: str) -> str:
    """CSP source expression allowing exactly ``script`` inline (``'sha256-...'``)."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _coords(a: np.ndarray, origin: float) -> list[float]:
    """Coordinates in km from the map's corner (``origin``, metres) as plain numbers to 10 m.

    A list is written to the page as short JSON numbers, while Bokeh would wrap every small array in
    a compressed block several times its size.
    """
    return [float(v) for v in np.round((np.asarray(a, dtype=float) - origin) / 1000.0, 2)]


@cache
def _bounds(g: Geography) -> tuple[float, float, float, float]:
    """The bounds of a geography's outline (metres), computed once per geography."""
    x0, y0, x1, y1 = g.outline().bounds
    return float(x0), float(y0), float(x1), float(y1)


def _ring(g: Geography, xy: np.ndarray) -> tuple[list[float], list[float]]:
    """A ring's ``x`` and ``y`` on the map of ``g`` (km from its lower-left corner)."""
    x0, y0 = _bounds(g)[:2]
    return _coords(xy[:, 0], x0), _coords(xy[:, 1], y0)


def _geo(g: Geography | None) -> Geography:
    return geography("CH") if g is None else g


def _tolerance(g: Geography) -> float:
    """The simplification tolerance of a geography's maps, in metres."""
    x0, y0, x1, y1 = _bounds(g)
    return max(x1 - x0, y1 - y0) * _SIMPLIFY


def _polygons(geom: Any) -> list[Any]:
    """The polygon parts of a (multi)polygon or collection."""
    import shapely

    if geom is None or geom.is_empty:
        return []
    return [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]


@cache
def _geo_shapes(g: Geography) -> pd.DataFrame:
    """One row per polygon of every postal-code cell of ``g``, largest first.

    ``postal_code`` (the geography's key), ``x``, ``y`` (simplified outer ring, km, north up).
    Drawn largest first, a postal code enclosed by another stays visible on top of it.
    """
    import shapely

    cells = g.cells()
    simple = shapely.simplify(cells.to_numpy(), _tolerance(g), preserve_topology=True)
    rows = []
    for key, geom in zip(cells.index, simple, strict=True):
        for poly in _polygons(geom):
            rows.append((str(key), *_ring(g, np.asarray(poly.exterior.coords)), float(poly.area)))
    out = pd.DataFrame(rows, columns=["postal_code", "x", "y", "area"])
    out = out.sort_values("area", ascending=False, kind="stable").reset_index(drop=True)
    return out.drop(columns="area")


def _shapes(g: Geography | None = None) -> pd.DataFrame:
    """The postal-code polygons of a geography's map (default Switzerland), see :func:`_geo_shapes`."""
    return _geo_shapes(_geo(g))


@cache
def _geo_places(g: Geography) -> pd.Series:
    pl = g.places()
    return pl.drop_duplicates("key").set_index("key")["place"].astype(str)


class InteractiveMap:
    """A map for the client report: a Bokeh document plus its static image (print, notebook).

    Parameters
    ----------
    model
        The Bokeh figure or layout.
    static_png
        PNG bytes of the static version (shown in print and wherever scripts do not run).
    alt
        Text alternative of the map.
    """

    def __init__(self, model: Any, static_png: bytes, alt: str = "map") -> None:
        self.model = model
        self.static_png = static_png
        self.alt = alt

    def item(self) -> dict[str, Any]:
        """The map as a Bokeh ``json_item`` (JSON-ready; target set by the report)."""
        from bokeh.embed import json_item

        return json.loads(json.dumps(json_item(self.model)))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {
            MIME_TYPE: {"item": self.item(), "alt": self.alt},
            "image/png": base64.b64encode(self.static_png).decode("ascii"),
            "text/plain": self.alt,
        }

    def html(self) -> str:
        """A standalone offline HTML page of the map (for screenshots and sharing)."""
        from bokeh.embed import file_html
        from bokeh.resources import Resources

        return file_html(self.model, Resources(mode="inline"), self.alt)


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _figure(title: str, shp: pd.DataFrame, height: int = 620) -> Any:
    from bokeh.plotting import figure

    xs = np.concatenate(shp["x"].to_list())
    ys = np.concatenate(shp["y"].to_list())
    pad = 2.0
    fig = figure(
        title=title,
        width=820,
        height=height,
        x_range=(float(xs.min() - pad), float(xs.max() + pad)),
        y_range=(float(ys.min() - pad), float(ys.max() + pad)),
        match_aspect=True,
        tools="pan,wheel_zoom,box_zoom,reset",
        active_scroll="wheel_zoom",
        active_drag="pan",
        toolbar_location="above",
        output_backend="canvas",
    )
    fig.axis.visible = False
    fig.grid.visible = False
    fig.outline_line_color = None
    fig.toolbar.logo = None
    return fig


def _lakes_and_regions(fig: Any, g: Geography) -> None:
    """Lakes as light-blue areas and the region (canton, Land) borders as lines."""
    import shapely

    tol = _tolerance(g)
    lx, ly = [], []
    for geom in shapely.simplify(g.lakes().to_numpy(), tol, preserve_topology=True):
        for poly in _polygons(geom):
            x, y = _ring(g, np.asarray(poly.exterior.coords))
            lx.append(x)
            ly.append(y)
    if lx:
        fig.patches(lx, ly, fill_color="#cfe3f3", line_color=None)
    cx, cy = [], []
    for geom in shapely.simplify(g.regions().to_numpy(), tol, preserve_topology=True):
        for poly in _polygons(geom):
            for ring in [poly.exterior, *poly.interiors]:
                x, y = _ring(g, np.asarray(ring.coords))
                cx.append(x)
                cy.append(y)
    if cx:
        fig.multi_line(cx, cy, line_color="#555555", line_width=0.6)


def postal_code_table(units: pd.DataFrame, territories: pd.DataFrame) -> pd.DataFrame:
    """A plan's units summed per postal code, for :func:`territory_map`.

    Parameters
    ----------
    units
        The territory phase's ``unit_assignment``: ``postal_code``, ``territory_id``,
        ``potential_mrr``, ``workload_hours``, ``n_accounts`` (a postal code split into account
        groups or customer units has several rows).
    territories
        The phase's ``territories``: ``territory_id``, ``rep_name``.

    Returns
    -------
    pandas.DataFrame
        ``postal_code``, ``territory_id`` (the territory holding most of the postal code's
        potential and workload), ``rep_name``, ``potential_mrr``, ``workload_hours``,
        ``n_accounts``.
    """
    need = ["postal_code", "territory_id", "potential_mrr", "workload_hours", "n_accounts"]
    missing = [c for c in need if c not in units.columns]
    if missing:
        raise KeyError(f"table 'units' lacks column(s) {missing}; it has {list(units.columns)}")
    u = units[need].copy()
    u["postal_code"] = u["postal_code"].astype(str)
    u["territory_id"] = u["territory_id"].astype("string").fillna("unassigned").astype(str)
    tot = np.array(u[["potential_mrr", "workload_hours"]].sum(), dtype=float)
    tot[tot <= 0] = 1.0
    u["_w"] = u["potential_mrr"] / tot[0] + u["workload_hours"] / tot[1]
    w = u.groupby(["postal_code", "territory_id"], as_index=False)["_w"].sum()
    w = w.sort_values(["postal_code", "_w", "territory_id"], ascending=[True, False, True])
    main = w.drop_duplicates("postal_code").set_index("postal_code")["territory_id"]
    out = u.groupby("postal_code")[["potential_mrr", "workload_hours", "n_accounts"]].sum()
    out["territory_id"] = main.reindex(out.index)
    t = territories.assign(territory_id=territories["territory_id"].astype(str))
    names = t.drop_duplicates("territory_id").set_index("territory_id")["rep_name"]
    out["rep_name"] = out["territory_id"].map(names).astype("string")
    return out.reset_index()[
        ["postal_code", "territory_id", "rep_name", "potential_mrr", "workload_hours", "n_accounts"]
    ]


def _territory_tools(
    fig: Any, units_r: Any, terr_r: Any, terr: np.ndarray, label: Any
) -> list[str]:
    """Hover on the postal codes, click on the territories, and the legend.

    Returns the territories in legend order.
    """
    from bokeh.models import HoverTool, Legend, LegendItem, TapTool

    fig.add_tools(
        HoverTool(
            renderers=[units_r],
            tooltips=[
                (_("Postal code"), "@postal_code @place"),
                (_("Territory"), "@territory"),
                (_("Rep"), "@rep"),
                (_("Potential"), _("{value} per month").format(value="@potential")),
                (_("Workload"), _("{value} per year").format(value="@workload")),
                (_("Accounts"), "@accounts"),
                (
                    _("Territory against target"),
                    _("potential {potential}, workload {workload}").format(
                        potential="@dev_potential", workload="@dev_workload"
                    ),
                ),
            ],
        ),
        TapTool(renderers=[terr_r]),
    )
    order = sorted(set(terr))
    items = []
    for tid in order:
        idx = int(np.flatnonzero(terr == tid)[0])
        items.append(LegendItem(label=label(tid), renderers=[units_r], index=idx))
    legend = Legend(items=items, ncols=4, label_text_font_size="8pt", glyph_width=14)
    legend.click_policy = "none"
    fig.add_layout(legend, "below")
    fig.height = 620 + 18 * int(np.ceil(len(items) / 4))
    return order


def territory_map(
    units: pd.DataFrame,
    territories: pd.DataFrame,
    title: str = "",
    edges: pd.DataFrame | None = None,
    money: Any = None,
    static_title: str = "",
    geography: Geography | None = None,
) -> InteractiveMap:
    """Postal codes coloured by territory, interactive.

    Parameters
    ----------
    units
        One row per postal code: ``postal_code``, ``territory_id``, ``rep_name``,
        ``potential_mrr``, ``workload_hours``, ``n_accounts``.
    territories
        One row per territory: ``territory_id``, ``rep_name``, ``dev_potential_mrr``,
        ``dev_workload_hours`` (deviation from target, share), ``potential_mrr``,
        ``workload_hours``, ``n_accounts``.
    title
        Map title.
    edges
        Postal-code neighbour pairs for the colouring (as :func:`salesanalytics.present.maps.territory_colors`).
    money
        Formatter of monthly amounts (default :func:`salesanalytics.present.style.chf`).
    static_title
        Title of the printed map (default ``title``).
    geography
        The map's geography (default Switzerland); ``postal_code`` holds its keys.

    Returns
    -------
    InteractiveMap

    Raises
    ------
    KeyError
        If a table lacks a required column.
    """
    from bokeh.models import ColumnDataSource

    from salesanalytics.present import maps, style

    need_u = ["postal_code", "territory_id", "rep_name", "potential_mrr", "workload_hours"]
    need_t = ["territory_id", "rep_name", "dev_potential_mrr", "dev_workload_hours"]
    for name, df, cols in (("units", units, need_u), ("territories", territories, need_t)):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise KeyError(f"table '{name}' lacks column(s) {missing}; it has {list(df.columns)}")
    money = money or style.chf
    u = units.copy()
    u["postal_code"] = u["postal_code"].astype(str)
    u["territory_id"] = u["territory_id"].astype(str)
    if "n_accounts" not in u:
        u["n_accounts"] = 0
    t = territories.copy()
    t["territory_id"] = t["territory_id"].astype(str)
    t = t.drop_duplicates("territory_id").set_index("territory_id")
    ut = u.set_index("postal_code")["territory_id"]
    g = _geo(geography)
    colors = maps.territory_colors(ut, edges, g)
    shp = _shapes(g)
    shp = shp[shp["postal_code"].isin(set(u["postal_code"]))]
    row = u.set_index("postal_code").loc[shp["postal_code"]]
    terr = row["territory_id"].to_numpy()

    def dev(col: str) -> list[str]:
        v = t[col].reindex(terr).to_numpy(dtype=float)
        return [pct(x, 1, signed=True) if np.isfinite(x) else "–" for x in v]

    def label(tid: str) -> str:
        name = t["rep_name"].get(tid)
        return f"{tid} · {name}" if isinstance(name, str) and name else tid

    src = ColumnDataSource(
        {
            "xs": shp["x"].to_list(),
            "ys": shp["y"].to_list(),
            "postal_code": shp["postal_code"].to_list(),
            "place": shp["postal_code"].map(_geo_places(g)).fillna("").to_list(),
            "territory": [label(x) for x in terr],
            "rep": row["rep_name"].astype("string").fillna(_("vacant")).to_list(),
            "potential": [money(v) for v in row["potential_mrr"].to_numpy(dtype=float)],
            "workload": [f"{style.num(v)} h" for v in row["workload_hours"].to_numpy(dtype=float)],
            "accounts": [style.num(v) for v in row["n_accounts"].to_numpy(dtype=float)],
            "dev_potential": dev("dev_potential_mrr"),
            "dev_workload": dev("dev_workload_hours"),
            "color": [colors.get(x, _NO_DATA) for x in terr],
        }
    )
    # a map across countries shows where the plan's postal codes are, not all of every country
    fig = _figure(title, shp if g.multi and len(shp) else _shapes(g))
    units_r = fig.patches(
        "xs", "ys", source=src, fill_color="color", line_color="white", line_width=0.3
    )
    # one outline per territory: clicking it highlights the territory, the others fade
    outl = _territory_outlines(g, dict(zip(shp["postal_code"], terr, strict=True)))
    tsrc = ColumnDataSource(
        {
            "xs": outl["xs"],
            "ys": outl["ys"],
            "territory": [label(x) for x in outl["territory_id"]],
        }
    )
    terr_r = fig.multi_polygons(
        "xs",
        "ys",
        source=tsrc,
        fill_color="white",
        fill_alpha=0.0,
        line_color="#333333",
        line_width=1.0,
        selection_fill_alpha=0.0,
        selection_line_width=3.0,
        selection_line_color="#000000",
        nonselection_fill_alpha=0.6,
        nonselection_line_alpha=0.3,
    )
    _lakes_and_regions(fig, g)
    order = _territory_tools(fig, units_r, terr_r, terr, label)
    return InteractiveMap(fig, *_static_territory_map(ut, static_title or title, order, edges, g))


def _static_territory_map(
    ut: pd.Series, title: str, order: Sequence[str], edges: pd.DataFrame | None, g: Geography
) -> tuple[bytes, str]:
    """The printed territory map (PNG) and the map's text alternative."""
    import matplotlib.pyplot as plt

    from salesanalytics.present import maps

    sfig, ax = plt.subplots(figsize=(10, 6.5))
    maps.territory_map(ut, title, labels={x: x for x in order}, edges=edges, ax=ax, geography=g)
    alt = _(
        "{title}: map of {n} territories; hover a postal code for its figures, click a "
        "territory to highlight it"
    ).format(title=title, n=len(order))
    return _png(sfig), alt


def _territory_outlines(g: Geography, territory_of: Mapping[str, str]) -> dict[str, list[Any]]:
    """Each territory's area as multi-polygon coordinates (Bokeh ``multi_polygons`` layout)."""
    import shapely

    cells = g.cells()
    by_t: dict[str, list[Any]] = {}
    for key, geom in cells.items():
        tid = territory_of.get(str(key))
        if tid is not None and geom is not None and not geom.is_empty:
            by_t.setdefault(str(tid), []).append(geom)
    tol = _tolerance(g)
    out: dict[str, list[Any]] = {"xs": [], "ys": [], "territory_id": []}
    for tid in sorted(by_t):
        geom = shapely.union_all(by_t[tid], grid_size=1.0)
        geom = shapely.simplify(geom, tol * 2, preserve_topology=True)
        parts = [p for p in _polygons(geom) if p.area > (tol * 2) ** 2]
        if not parts:
            continue
        xs, ys = [], []
        for p in parts:
            rings = [_ring(g, np.asarray(r.coords)) for r in [p.exterior, *p.interiors]]
            xs.append([r[0] for r in rings])
            ys.append([r[1] for r in rings])
        out["xs"].append(xs)
        out["ys"].append(ys)
        out["territory_id"].append(tid)
    return out


def value_map(
    values: pd.DataFrame,
    value: str,
    title: str = "",
    label: str = "",
    tooltips: Mapping[str, str] | None = None,
    formats: Mapping[str, Any] | None = None,
    log: bool = False,
    palette: Sequence[str] | None = None,
    geography: Geography | None = None,
) -> InteractiveMap:
    """Heat map of a value per postal code, interactive.

    Parameters
    ----------
    values
        One row per postal code: ``postal_code``, the column ``value`` and the columns named in
        ``tooltips``.
    value
        Column that colours the map.
    title, label
        Map title and colour-bar label.
    tooltips
        Column -> label shown on hover (besides postal code and place); default: ``value``.
    formats
        Column -> formatter (number -> text); default Swiss numbers.
    log
        Logarithmic colour scale from the 2nd percentile up (for skewed values).
    palette
        Colours from low to high (default: the blues of the static map).
    geography
        The map's geography (default Switzerland); ``postal_code`` holds its keys.

    Returns
    -------
    InteractiveMap

    Raises
    ------
    KeyError
        If ``values`` lacks ``postal_code``, ``value`` or a tooltip column.
    """
    from bokeh.models import (
        ColorBar,
        ColumnDataSource,
        HoverTool,
        LinearColorMapper,
        LogColorMapper,
    )

    from salesanalytics.present import maps, style

    tooltips = dict(tooltips or {value: label or style.label(value)})
    missing = [c for c in ["postal_code", value, *tooltips] if c not in values.columns]
    if missing:
        raise KeyError(f"table lacks column(s) {missing}; it has {list(values.columns)}")
    formats = dict(formats or {})
    v = values.assign(postal_code=values["postal_code"].astype(str)).drop_duplicates("postal_code")
    v = v.set_index("postal_code")
    g = _geo(geography)
    shp = _shapes(g)
    codes = shp["postal_code"]
    vals = v[value].reindex(codes).to_numpy(dtype=float)
    ok = np.isfinite(vals) & ((vals > 0) if log else True)
    import matplotlib as mpl

    palette = list(
        palette or [mpl.colors.to_hex(c) for c in mpl.colormaps["Blues"](np.linspace(0.15, 1, 9))]
    )
    good = vals[ok]
    lo = float(np.quantile(good, 0.02)) if len(good) else 0.0
    hi = float(good.max()) if len(good) else 1.0
    mapper_cls = LogColorMapper if log else LinearColorMapper
    mapper = mapper_cls(
        palette=palette,
        low=lo if log else float(good.min()) if len(good) else 0.0,
        high=hi,
        nan_color=_NO_DATA,
    )
    data: dict[str, Any] = {
        "xs": shp["x"].to_list(),
        "ys": shp["y"].to_list(),
        "postal_code": codes.to_list(),
        "place": codes.map(_geo_places(g)).fillna("").to_list(),
        "value": np.where(ok, vals, np.nan),
    }
    tips = [(_("Postal code"), "@postal_code @place")]
    for i, (col, lab) in enumerate(tooltips.items()):
        f = formats.get(col, style.num)
        raw = v[col].reindex(codes)
        data[f"tip{i}"] = [f(x) if pd.notna(x) else "–" for x in raw]
        tips.append((lab, f"@tip{i}"))
    src = ColumnDataSource(data)
    shown = shp[ok] if g.multi and ok.any() else shp
    fig = _figure(title, shown)
    r = fig.patches(
        "xs",
        "ys",
        source=src,
        fill_color={"field": "value", "transform": mapper},
        line_color="white",
        line_width=0.2,
    )
    _lakes_and_regions(fig, g)
    fig.add_tools(HoverTool(renderers=[r], tooltips=tips))
    fig.add_layout(ColorBar(color_mapper=mapper, title=label, width=12), "right")
    import matplotlib.pyplot as plt

    sfig, ax = plt.subplots(figsize=(9, 6))
    maps.value_map(v[value], title, log=log, label=label, ax=ax, geography=g)
    return InteractiveMap(
        fig,
        _png(sfig),
        _("{title}: map of {what} per postal code").format(title=title, what=label or value),
    )
