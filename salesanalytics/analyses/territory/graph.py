"""Unit adjacency graphs for territory design: given edges, pruned Delaunay fallback, bridging.

Territories must be contiguous on a neighbourhood graph of the units. For Swiss postal codes the
graph comes from polygons that share a border (:func:`salesanalytics.reference.geo.postal_code_adjacency`);
units without a polygon (PO-box codes, individual customers) are attached by a pruned Delaunay
triangulation, and components that are still separate (islands, enclaves) are bridged by their
shortest connection so that every unit can be reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, cKDTree

__all__ = ["UnitGraph", "build_unit_graph", "delaunay_edges", "planar_km"]


@dataclass(frozen=True)
class UnitGraph:
    """Undirected neighbourhood graph of ``n`` units (symmetric CSR, no self loops).

    Attributes
    ----------
    indptr, indices
        CSR structure: the neighbours of unit ``i`` are ``indices[indptr[i]:indptr[i + 1]]``.
    n_given, n_delaunay, n_bridges
        How many undirected edges came from the given edge list, from the Delaunay fallback and
        from bridging separate components.
    """

    indptr: np.ndarray
    indices: np.ndarray
    n_given: int
    n_delaunay: int
    n_bridges: int

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.indptr) - 1

    def matrix(self) -> sp.csr_matrix:
        """The graph as a symmetric sparse 0/1 matrix."""
        data = np.ones(len(self.indices), dtype=np.int8)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n, self.n))

    def neighbours(self) -> list[list[int]]:
        """Neighbour lists (plain Python lists, for fast local search)."""
        ip, ix = self.indptr, self.indices.tolist()
        return [ix[ip[i] : ip[i + 1]] for i in range(self.n)]

    def edge_frame(self, ids: pd.Index | np.ndarray) -> pd.DataFrame:
        """Undirected edges as a frame ``a``, ``b`` of unit ids (``a`` listed first in unit order)."""
        coo = sp.triu(self.matrix(), k=1).tocoo()
        ids = np.asarray(ids)
        return pd.DataFrame({"a": ids[coo.row], "b": ids[coo.col]})


def planar_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Project WGS84 degrees to a local flat plane in km (equirectangular around the mean latitude).

    Accurate to well under 1% over a country the size of Switzerland; used for compactness costs,
    triangulation and centres. Returns an ``(n, 2)`` array ``x`` (east), ``y`` (north).
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    lat0 = np.radians(np.nanmean(lat)) if len(lat) else 0.0
    return np.column_stack([lon * 111.320 * np.cos(lat0), lat * 110.574])


def _sym_csr(i: np.ndarray, j: np.ndarray, n: int) -> sp.csr_matrix:
    keep = i != j
    i, j = i[keep], j[keep]
    m = sp.coo_matrix((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    m.data[:] = 1
    m.sort_indices()
    return m


def delaunay_edges(xy: np.ndarray, prune_factor: float = 2.5) -> np.ndarray:
    """Edges of a pruned Delaunay triangulation of the points ``xy`` (``(n, 2)``, planar).

    Coincident points are chained to one representative. An edge is pruned when it is longer than
    ``prune_factor`` times the median edge length at *both* of its ends (long edges across lakes
    and mountains), but every point keeps at least its shortest edge.

    Returns
    -------
    numpy.ndarray
        ``(e, 2)`` integer array of undirected edges ``i < j``.
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    uniq, first, inv = np.unique(np.round(xy, 6), axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    rep = first[inv]  # representative point index of every point
    dup = np.flatnonzero(rep != np.arange(n))
    edges = [np.column_stack([rep[dup], dup])]
    if len(uniq) == 2:
        edges.append(first[None, :])
    elif len(uniq) >= 3:
        try:
            tri = Delaunay(uniq)
            s = tri.simplices
            e = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
        except Exception:  # collinear points: chain them along their order
            order = np.lexsort((uniq[:, 1], uniq[:, 0]))
            e = np.column_stack([order[:-1], order[1:]])
        e = np.unique(np.sort(e, axis=1), axis=0)
        length = np.hypot(*(uniq[e[:, 0]] - uniq[e[:, 1]]).T)
        nu = len(uniq)
        # median edge length per point
        both = np.r_[e[:, 0], e[:, 1]]
        lens = np.r_[length, length]
        order = np.lexsort((lens, both))
        both, lens = both[order], lens[order]
        starts = np.searchsorted(both, np.arange(nu))
        ends = np.searchsorted(both, np.arange(nu), side="right")
        med = pd.Series(lens).groupby(both).median().reindex(np.arange(nu), fill_value=np.inf)
        med = med.to_numpy(dtype=float)
        has = ends > starts
        shortest = np.where(has, lens[np.minimum(starts, len(lens) - 1)], np.inf)
        keep = (length <= prune_factor * med[e[:, 0]]) | (length <= prune_factor * med[e[:, 1]])
        keep |= (length <= shortest[e[:, 0]]) | (length <= shortest[e[:, 1]])
        edges.append(first[e[keep]])
    out = np.vstack(edges).astype(np.int64)
    return np.unique(np.sort(out, axis=1), axis=0) if len(out) else out


def _bridge(m: sp.csr_matrix, xy: np.ndarray) -> tuple[sp.csr_matrix, int]:
    """Connect separate components by their shortest links, smallest component first."""
    n_bridges = 0
    while True:
        ncomp, labels = connected_components(m, directed=False)
        if ncomp <= 1:
            return m, n_bridges
        sizes = np.bincount(labels)
        small = int(np.argmin(sizes))
        inside = np.flatnonzero(labels == small)
        outside = np.flatnonzero(labels != small)
        dist, idx = cKDTree(xy[outside]).query(xy[inside])
        k = int(np.argmin(dist))
        a, b = int(inside[k]), int(outside[idx[k]])
        m = (m + _sym_csr(np.array([a]), np.array([b]), m.shape[0])).tocsr()
        m.data[:] = 1
        n_bridges += 1


def build_unit_graph(
    ids: pd.Index | np.ndarray | list,
    xy: np.ndarray,
    edges: pd.DataFrame | None = None,
    prune_factor: float = 2.5,
) -> UnitGraph:
    """Neighbourhood graph of units: the given edges, Delaunay for units without any, bridges.

    Parameters
    ----------
    ids
        Unit ids, in unit order (unique).
    xy
        ``(n, 2)`` planar coordinates in km (see :func:`planar_km`).
    edges
        Optional edge list: a frame whose first two columns hold unit ids of neighbouring units
        (e.g. ``postal_code_a``, ``postal_code_b``). Edges naming unknown ids are ignored.
        Without an edge list the whole graph is a pruned Delaunay triangulation.
    prune_factor
        See :func:`delaunay_edges`.

    Returns
    -------
    UnitGraph
        A connected graph on all units.
    """
    ids = pd.Index(ids)
    n = len(ids)
    xy = np.asarray(xy, dtype=float)
    if xy.shape != (n, 2):
        raise ValueError(f"xy must have shape ({n}, 2) like the {n} unit ids, got {xy.shape}")
    n_given = 0
    if edges is not None and len(edges):
        if edges.shape[1] < 2:
            raise ValueError("edges needs two columns with the ids of neighbouring units")
        a = ids.get_indexer(edges.iloc[:, 0].astype(ids.dtype))
        b = ids.get_indexer(edges.iloc[:, 1].astype(ids.dtype))
        ok = (a >= 0) & (b >= 0) & (a != b)
        m = _sym_csr(a[ok], b[ok], n)
        n_given = m.nnz // 2
    else:
        m = sp.csr_matrix((n, n))
    isolated = np.flatnonzero(np.diff(m.indptr) == 0)
    n_del = 0
    if len(isolated) and n > 1:
        de = delaunay_edges(xy, prune_factor)
        if n_given:
            iso = np.zeros(n, dtype=bool)
            iso[isolated] = True
            de = de[iso[de[:, 0]] | iso[de[:, 1]]]
        before = m.nnz
        m = (m + _sym_csr(de[:, 0], de[:, 1], n)).tocsr()
        m.data[:] = 1
        n_del = (m.nnz - before) // 2
    m, n_bridges = _bridge(m, xy) if n > 1 else (m, 0)
    m.sort_indices()
    return UnitGraph(
        indptr=m.indptr.astype(np.int64),
        indices=m.indices.astype(np.int64),
        n_given=int(n_given),
        n_delaunay=int(n_del),
        n_bridges=int(n_bridges),
    )
