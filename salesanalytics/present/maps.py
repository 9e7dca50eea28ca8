"""Maps of the client's countries: postal codes coloured by territory or value, regions, lakes.

Built on :mod:`salesanalytics.reference.geography` (one interface for every country): each postal code is
drawn as its cell in the geography's projected coordinate system (metres; Swiss LV95 for
Switzerland, ETRS89-LAEA across Germany, Austria and Switzerland): the real postal-code polygon
where the source has one, else the postal code's Voronoi cell clipped to the country. Region
outlines (cantons, Länder) and large lakes are drawn on top; points given in latitude/longitude
(rep home bases) are projected with pyproj (:func:`lonlat_xy`).

* :func:`value_map` -- a heat map of a value per postal code (potential, white space, ...).
* :func:`territory_map` -- postal codes coloured by territory (neighbouring territories get
  different colours), with territory labels and rep home bases.
* :func:`balance_chart` -- bars of each territory's deviation from target with the tolerance band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.colors import LogNorm, Normalize
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MPath

from salesanalytics.present.formats import pct
from salesanalytics.present.i18n import gettext as _
from salesanalytics.present.style import PALETTE
from salesanalytics.reference.geography import Geography, geography

__all__ = [
    "TERRITORY_COLORS",
    "balance_chart",
    "cell_paths",
    "lonlat_xy",
    "territory_colors",
    "territory_map",
    "value_map",
]

TERRITORY_COLORS: list[str] = [
    "#1f3a5f",
    "#e07a1f",
    "#5a9e6f",
    "#7fb3e6",
    "#b5485d",
    "#f2b25c",
    "#8c6bb1",
    "#a8d5b5",
    "#3c7dc4",
    "#e3a3b0",
    "#8c8c8c",
    "#c9b3e0",
]
"""Qualitative colours for territories (house palette extended); neighbours never share one."""

_NO_DATA = "#eeeeee"
_LAKE = "#cfe3f3"


def _geo(g: Geography | None) -> Geography:
    return geography("CH") if g is None else g


def _path(geom: Any) -> MPath | None:
    """A matplotlib compound path of a (multi)polygon, holes kept (oriented rings)."""
    import shapely

    if geom is None or geom.is_empty:
        return None
    parts = [
        p for p in shapely.get_parts(shapely.orient_polygons(geom)) if p.geom_type == "Polygon"
    ]
    rings = []
    for p in parts:
        rings.append(MPath(np.asarray(p.exterior.coords), closed=True))
        rings.extend(MPath(np.asarray(r.coords), closed=True) for r in p.interiors)
    return MPath.make_compound_path(*rings) if rings else None


@cache
def _cell_paths(g: Geography) -> tuple[tuple[str, ...], tuple[MPath, ...], np.ndarray]:
    cells = g.cells()
    import shapely

    keys, paths = [], []
    for k, geom in cells.items():
        p = _path(geom)
        if p is not None:
            keys.append(str(k))
            paths.append(p)
    cen = shapely.centroid(cells.reindex(keys).to_numpy())
    xy = np.column_stack([shapely.get_x(cen), shapely.get_y(cen)])
    return tuple(keys), tuple(paths), xy


def cell_paths(g: Geography | None = None) -> tuple[list[str], list[MPath]]:
    """Keys and matplotlib paths of every postal-code cell of a geography (default Switzerland)."""
    keys, paths, _ = _cell_paths(_geo(g))
    return list(keys), list(paths)


def lonlat_xy(
    lat: np.ndarray | pd.Series, lon: np.ndarray | pd.Series, g: Geography | None = None
) -> np.ndarray:
    """Place WGS84 points on a map of geography ``g`` (pyproj projection, metres).

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` projected ``x`` (east), ``y`` (north).
    """
    return _geo(g).project(lat, lon)


def _base_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _fig, ax = plt.subplots(figsize=figsize)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def _patches(paths: Sequence[MPath], **kwargs: Any) -> PatchCollection:
    return PatchCollection([PathPatch(p) for p in paths], **kwargs)


@cache
def _outline_paths(g: Geography) -> tuple[tuple[MPath, ...], tuple[MPath, ...], MPath | None]:
    regions = tuple(p for p in (_path(x) for x in g.regions().to_numpy()) if p is not None)
    lakes = tuple(p for p in (_path(x) for x in g.lakes().to_numpy()) if p is not None)
    return regions, lakes, _path(g.outline()) if g.multi else None


def _view(cxy: np.ndarray, shown: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The map's extent.

    The cells that carry data (``shown``), with a margin of 8% (at least 15 km); ``None`` when
    nothing is shown (the whole geography).
    """
    pts = cxy[shown & np.isfinite(cxy).all(axis=1)]
    if not len(pts):
        return None
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = np.maximum((hi - lo) * 0.08, 15_000.0)
    return lo - pad, hi + pad


def _inside(cxy: np.ndarray, view: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Cells to draw: those whose centre lies in the view, widened by half its size."""
    if view is None:
        return np.ones(len(cxy), dtype=bool)
    lo, hi = view
    w = (hi - lo) / 2
    return ((cxy >= lo - w) & (cxy <= hi + w)).all(axis=1)


def _finish(
    ax: Axes,
    g: Geography,
    regions: bool,
    lakes: bool,
    view: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    reg, lk, outline = _outline_paths(g)
    if lakes and lk:
        ax.add_collection(_patches(lk, facecolors=_LAKE, edgecolors="none", zorder=3))
    if regions and reg:
        ax.add_collection(
            _patches(reg, facecolors="none", edgecolors="#555555", linewidths=0.5, zorder=4)
        )
    if outline is not None:
        ax.add_collection(
            _patches([outline], facecolors="none", edgecolors="#222222", linewidths=0.9, zorder=4)
        )
    ax.autoscale_view()
    if view is not None:
        ax.set_xlim(view[0][0], view[1][0])
        ax.set_ylim(view[0][1], view[1][1])


def value_map(
    values: pd.Series,
    title: str = "",
    cmap: str = "Blues",
    log: bool = False,
    label: str = "",
    ax: Axes | None = None,
    cantons: bool = True,
    lakes: bool = True,
    figsize: tuple[float, float] = (9, 6),
    geography: Geography | None = None,
) -> Axes:
    """Heat map of one value per postal code (e.g. market potential).

    Parameters
    ----------
    values
        Numbers indexed by the geography's postal-code keys (``"8004"``; ``"DE-10115"`` in a
        multi-country geography); postal codes without a value are grey.
    title, label
        Axes title and colour-bar label.
    cmap
        Matplotlib colour map.
    log
        Logarithmic colour scale from the 2nd percentile up (for skewed values; non-positive
        values shown as no data).
    cantons, lakes
        Draw the region outlines (cantons, Länder) and the large lakes.
    geography
        The map's geography (default Switzerland; see :func:`salesanalytics.reference.geography.geography`).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _base_axes(ax, figsize)
    g = _geo(geography)
    vals = pd.Series(values.to_numpy(dtype=float), index=values.index.astype(str))
    vals = vals[~vals.index.duplicated()]
    owner, verts, cxy = _cell_paths(g)
    v = vals.reindex(list(owner)).to_numpy()
    ok = np.isfinite(v) & ((v > 0) if log else True)
    view = _view(cxy, np.isfinite(v)) if g.multi else None
    drawn = _inside(cxy, view)
    ax.add_collection(
        _patches(
            [verts[i] for i in np.flatnonzero(~ok & drawn)], facecolors=_NO_DATA, edgecolors="none"
        )
    )
    if ok.any():
        good = v[ok]
        lo, hi = (
            np.quantile(good, 0.02),
            good.max(),
        )  # a few tiny values must not wash out the scale
        norm = LogNorm(lo, hi, clip=True) if log else Normalize(good.min(), hi)
        pc = _patches(
            [verts[i] for i in np.flatnonzero(ok)], cmap=cmap, norm=norm, edgecolors="none"
        )
        pc.set_array(good)
        ax.add_collection(pc)
        cb = ax.figure.colorbar(pc, ax=ax, shrink=0.6, pad=0.01)
        cb.set_label(label)
    _finish(ax, g, cantons, lakes, view)
    if title:
        ax.set_title(title)
    return ax


def territory_colors(
    unit_territory: pd.Series,
    edges: pd.DataFrame | None = None,
    geography: Geography | None = None,
) -> dict[str, str]:
    """A colour per territory such that neighbouring territories differ (greedy graph colouring).

    Parameters
    ----------
    unit_territory
        Territory id indexed by postal code.
    edges
        Postal-code neighbour pairs (default: the geography's adjacency).
    geography
        Default Switzerland.
    """
    ut = pd.Series(unit_territory.astype(str).to_numpy(), index=unit_territory.index.astype(str))
    e = _geo(geography).adjacency() if edges is None else edges
    a = e.iloc[:, 0].astype(str).map(ut)
    b = e.iloc[:, 1].astype(str).map(ut)
    ok = a.notna() & b.notna() & (a != b)
    nb: dict[str, set[str]] = {t: set() for t in ut.unique()}
    for x, y in zip(a[ok], b[ok], strict=True):
        nb[x].add(y)
        nb[y].add(x)
    colors: dict[str, str] = {}
    count = dict.fromkeys(TERRITORY_COLORS, 0)
    for t in sorted(nb, key=lambda t: (-len(nb[t]), t)):
        used = {colors.get(n) for n in nb[t]}
        free = [c for c in TERRITORY_COLORS if c not in used] or TERRITORY_COLORS
        # least-used free colour: neighbours differ and the whole palette is used
        colors[t] = min(free, key=lambda c: count[c])
        count[colors[t]] += 1
    return colors


def territory_map(
    unit_territory: pd.Series,
    title: str = "",
    homes: pd.DataFrame | None = None,
    labels: Mapping[str, str] | None = None,
    edges: pd.DataFrame | None = None,
    ax: Axes | None = None,
    cantons: bool = True,
    lakes: bool = True,
    figsize: tuple[float, float] = (10, 6.5),
    geography: Geography | None = None,
) -> Axes:
    """Postal codes coloured by territory, with labels and rep home bases.

    Parameters
    ----------
    unit_territory
        Territory id indexed by postal code; postal codes not in it are grey.
    homes
        Optional rep home bases: ``latitude``, ``longitude`` (and ``label``) per row, drawn as
        white-edged dots.
    labels
        Territory id -> text written at the territory's centre (e.g. the rep's initials).
    edges
        Postal-code adjacency for the colouring.
    geography
        The map's geography (default Switzerland); ``unit_territory`` is indexed by its keys.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _base_axes(ax, figsize)
    g = _geo(geography)
    ut = pd.Series(unit_territory.astype(str).to_numpy(), index=unit_territory.index.astype(str))
    ut = ut[~ut.index.duplicated()]
    colors = territory_colors(ut, edges, g)
    owner, verts, cxy = _cell_paths(g)
    terr_of = ut.to_dict()
    has = np.array([o in terr_of for o in owner], dtype=bool)
    view = _view(cxy, has) if g.multi else None
    drawn = np.flatnonzero(_inside(cxy, view))
    fc = [colors.get(terr_of.get(owner[i], ""), _NO_DATA) for i in drawn]
    ax.add_collection(
        _patches([verts[i] for i in drawn], facecolors=fc, edgecolors="white", linewidths=0.05)
    )
    _finish(ax, g, cantons, lakes, view)
    if labels:
        cen = pd.DataFrame(cxy, index=pd.Index(owner), columns=["sx", "sy"])
        j = cen.join(ut.rename("t"), how="inner")
        pos = j.groupby("t")[["sx", "sy"]].median()
        for t, row in pos.iterrows():
            if t in labels:
                ax.text(
                    row["sx"],
                    row["sy"],
                    str(labels[t]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="black",
                    zorder=6,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
                )
    if homes is not None and len(homes):
        xy = lonlat_xy(homes["latitude"], homes["longitude"], g)
        ax.scatter(
            xy[:, 0], xy[:, 1], s=22, c=PALETTE[6], edgecolors="white", linewidths=0.8, zorder=7
        )
    if title:
        ax.set_title(title)
    return ax


def balance_chart(
    territories: pd.DataFrame,
    metrics: Mapping[str, str],
    tolerance: float = 0.05,
    label_col: str = "territory_id",
    ax: Axes | None = None,
    title: str = "",
) -> Axes:
    """Grouped bars: each territory's relative deviation from target per metric.

    Parameters
    ----------
    territories
        One row per territory with ``label_col`` and a deviation column per metric (e.g.
        ``dev_potential_mrr`` as a fraction, 0.03 = 3% above target); a ``label`` column (the
        territory with its rep's name) is shown on the axis instead of the territory id.
    metrics
        Deviation column -> legend label.
    tolerance
        Drawn as a shaded band ±tolerance.
    """
    if ax is None:
        _fig, ax = plt.subplots(figsize=(10, 4))
    df = territories.sort_values(label_col).reset_index(drop=True)
    shown = "label" if label_col == "territory_id" and "label" in df.columns else label_col
    x = np.arange(len(df))
    width = 0.8 / max(1, len(metrics))
    for i, (col, lab) in enumerate(metrics.items()):
        ax.bar(
            x + (i - (len(metrics) - 1) / 2) * width,
            df[col] * 100,
            width,
            label=lab,
            color=PALETTE[(i * 3) % len(PALETTE)],
        )
    ax.axhspan(
        -tolerance * 100,
        tolerance * 100,
        color="#5a9e6f",
        alpha=0.12,
        zorder=0,
        label=_("±{tolerance} tolerance").format(tolerance=pct(tolerance, 0)),
    )
    ax.axhline(0, color="#333333", lw=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(df[shown].astype(str), rotation=90, fontsize=7)
    ax.set_ylabel(_("deviation from target (%)"))
    ax.yaxis.set_major_formatter(mpl.ticker.FormatStrFormatter("%+.0f%%"))
    ax.legend(fontsize=8, ncols=3, loc="upper right")
    if title:
        ax.set_title(title)
    return ax
