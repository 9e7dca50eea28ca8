"""Maps of Switzerland: postal codes coloured by territory or value, cantons, lakes, rep homes.

Built on :mod:`salesanalytics.reference.geo` (postal-code polygons, canton outlines and lakes in the
TopoJSON files' flat screen plane) and matplotlib. Points given in latitude/longitude (rep home
bases, accounts) are placed with an affine transform fitted from the postal codes' GeoNames
coordinates to their polygon centroids (:func:`lonlat_to_screen`).

* :func:`value_map` -- a heat map of a value per postal code (potential, white space, ...).
* :func:`territory_map` -- postal codes coloured by territory (neighbouring territories get
  different colours), with territory labels and rep home bases.
* :func:`balance_chart` -- bars of each territory's deviation from target with the tolerance band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import LogNorm, Normalize

from salesanalytics.present.i18n import gettext as _
from salesanalytics.present.style import PALETTE
from salesanalytics.reference import geo

__all__ = [
    "TERRITORY_COLORS",
    "balance_chart",
    "lonlat_to_screen",
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


@cache
def _polygon_centroids() -> pd.DataFrame:
    rows = []
    for code, rings in geo.postal_code_polygons().items():
        pts = np.vstack(rings)
        rows.append((code, pts[:, 0].mean(), pts[:, 1].mean()))
    return pd.DataFrame(rows, columns=["postal_code", "sx", "sy"])


@cache
def _affine() -> np.ndarray:
    pc = geo.postal_codes()[["postal_code", "latitude", "longitude"]].dropna()
    m = pc.merge(_polygon_centroids(), on="postal_code")
    X = np.column_stack([m["longitude"], m["latitude"], np.ones(len(m))])
    coef, *_ = np.linalg.lstsq(X, m[["sx", "sy"]].to_numpy(), rcond=None)
    return coef


def lonlat_to_screen(lat: np.ndarray | pd.Series, lon: np.ndarray | pd.Series) -> np.ndarray:
    """Place WGS84 points on the maps' screen plane (affine fit, accurate to about 1 km).

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` screen ``x, y`` (y grows downwards, as in :mod:`salesanalytics.reference.geo`).
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    X = np.column_stack([lon, lat, np.ones(len(lat))])
    return X @ _affine()


def _base_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _fig, ax = plt.subplots(figsize=figsize)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def _finish(ax: Axes, cantons: bool, lakes: bool) -> None:
    if lakes:
        verts = [r for rings in geo.lakes().values() for r in rings]
        ax.add_collection(PolyCollection(verts, facecolors=_LAKE, edgecolors="none", zorder=3))
    if cantons:
        for rings in geo.canton_outlines().values():
            for r in rings:
                ax.plot(r[:, 0], r[:, 1], color="#555555", lw=0.5, zorder=4)
    ax.autoscale_view()
    if not ax.yaxis_inverted():
        ax.invert_yaxis()


def _polys(codes: Sequence[str]) -> tuple[list[np.ndarray], list[str]]:
    polys = geo.postal_code_polygons()
    verts, owner = [], []
    for c in codes:
        for r in polys.get(str(c), []):
            verts.append(r)
            owner.append(str(c))
    return verts, owner


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
) -> Axes:
    """Heat map of one value per postal code (e.g. market potential).

    Parameters
    ----------
    values
        Numbers indexed by postal code (4-digit strings); postal codes without a value are grey.
    title, label
        Axes title and colour-bar label.
    cmap
        Matplotlib colour map.
    log
        Logarithmic colour scale from the 2nd percentile up (for skewed values; non-positive
        values shown as no data).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _base_axes(ax, figsize)
    vals = pd.Series(values.to_numpy(dtype=float), index=values.index.astype(str))
    all_codes = list(geo.postal_code_polygons())
    verts, owner = _polys(all_codes)
    v = vals.reindex(owner).to_numpy()
    ok = np.isfinite(v) & ((v > 0) if log else True)
    ax.add_collection(
        PolyCollection(
            [verts[i] for i in np.flatnonzero(~ok)], facecolors=_NO_DATA, edgecolors="none"
        )
    )
    if ok.any():
        good = v[ok]
        lo, hi = (
            np.quantile(good, 0.02),
            good.max(),
        )  # a few tiny values must not wash out the scale
        norm = LogNorm(lo, hi, clip=True) if log else Normalize(good.min(), hi)
        pc = PolyCollection(
            [verts[i] for i in np.flatnonzero(ok)],
            array=good,
            cmap=cmap,
            norm=norm,
            edgecolors="none",
        )
        ax.add_collection(pc)
        cb = ax.figure.colorbar(pc, ax=ax, shrink=0.6, pad=0.01)
        cb.set_label(label)
    _finish(ax, cantons, lakes)
    if title:
        ax.set_title(title)
    return ax


def territory_colors(
    unit_territory: pd.Series, edges: pd.DataFrame | None = None
) -> dict[str, str]:
    """A colour per territory such that neighbouring territories differ (greedy graph colouring).

    Parameters
    ----------
    unit_territory
        Territory id indexed by postal code.
    edges
        Postal-code neighbour pairs (default :func:`salesanalytics.reference.geo.postal_code_adjacency`).
    """
    ut = pd.Series(unit_territory.astype(str).to_numpy(), index=unit_territory.index.astype(str))
    e = geo.postal_code_adjacency() if edges is None else edges
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

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _base_axes(ax, figsize)
    ut = pd.Series(unit_territory.astype(str).to_numpy(), index=unit_territory.index.astype(str))
    colors = territory_colors(ut, edges)
    verts, owner = _polys(list(geo.postal_code_polygons()))
    terr_of = ut.to_dict()
    fc = [colors.get(terr_of.get(o, ""), _NO_DATA) for o in owner]
    ax.add_collection(PolyCollection(verts, facecolors=fc, edgecolors="white", linewidths=0.05))
    _finish(ax, cantons, lakes)
    if labels:
        cen = _polygon_centroids().set_index("postal_code")
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
        xy = lonlat_to_screen(homes["latitude"], homes["longitude"])
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
        label=_("±{tolerance} tolerance").format(tolerance=f"{tolerance:.0%}"),
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
