"""Synthetic territory-design instances: random planar units and Swiss postal-code units.

Used by the tests and the benchmark (``bench/bench_territory.py``); every instance is
reproducible from its ``seed``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesanalytics.reference import geo

__all__ = ["random_planar_units", "swiss_postal_code_units"]


def random_planar_units(
    n: int, seed: int = 0, clusters: int = 12, size_km: float = 200.0
) -> pd.DataFrame:
    """Random clustered planar units with two correlated, skewed metrics.

    Parameters
    ----------
    n
        Number of units.
    seed
        Random seed.
    clusters
        Number of towns the points cluster around (plus a uniform rural share).
    size_km
        Side of the square, in km.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit_id`` (``U0001``...), ``x``, ``y`` (km), ``potential`` and ``workload``
        (both > 0, log-normal, correlated), ``accounts`` (count).
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.1 * size_km, 0.9 * size_km, size=(clusters, 2))
    n_rural = n // 3
    which = rng.integers(0, clusters, n - n_rural)
    spread = rng.uniform(0.03, 0.08, clusters) * size_km
    town = centres[which] + rng.normal(size=(n - n_rural, 2)) * spread[which, None]
    rural = rng.uniform(0, size_km, size=(n_rural, 2))
    xy = np.clip(np.vstack([town, rural]), 0, size_km)
    accounts = rng.poisson(6, n) + 1
    size = rng.lognormal(0.0, 0.6, n)
    potential = accounts * size * 1000
    workload = accounts * rng.lognormal(0.0, 0.35, n) * 10
    return pd.DataFrame(
        {
            "unit_id": pd.array([f"U{i:05d}" for i in range(n)], dtype="string"),
            "x": xy[:, 0],
            "y": xy[:, 1],
            "potential": potential,
            "workload": workload,
            "accounts": accounts.astype(float),
        }
    )


def swiss_postal_code_units(
    n: int | None = None, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Swiss postal codes as units with population-driven metrics, plus their adjacency.

    Parameters
    ----------
    n
        Keep about ``n`` postal codes: a contiguous block grown from the code nearest Zürich
        (breadth first on the adjacency) so that the instance stays one connected region;
        ``None`` keeps all codes.
    seed
        Seed of the metric noise.

    Returns
    -------
    (units, edges)
        ``units`` with ``unit_id`` (postal code), ``latitude``, ``longitude``, ``potential``,
        ``workload``, ``accounts``; ``edges`` = the neighbours on the map
        (:func:`salesanalytics.reference.geo.postal_code_neighbours`: shared borders, and codes without a
        polygon attached to the polygon that contains them).
    """
    rng = np.random.default_rng(seed)
    pc = geo.postal_codes()
    adj = geo.postal_code_adjacency()
    if n is not None and n < len(pc):
        nb: dict[str, list[str]] = {}
        for a, b in zip(adj["postal_code_a"], adj["postal_code_b"], strict=True):
            nb.setdefault(a, []).append(b)
            nb.setdefault(b, []).append(a)
        d = (pc["latitude"] - 47.37) ** 2 + (pc["longitude"] - 8.54) ** 2
        start = pc.loc[d.idxmin(), "postal_code"]
        seen, queue = {start}, [start]
        while queue and len(seen) < n:
            cur = queue.pop(0)
            for v in sorted(nb.get(cur, [])):
                if v not in seen and len(seen) < n:
                    seen.add(v)
                    queue.append(v)
        pc = pc[pc["postal_code"].isin(seen)]
    pop = pc["population"].fillna(50.0).clip(lower=50.0).to_numpy()
    accounts = rng.poisson(pop / 150.0) + 1
    units = pd.DataFrame(
        {
            "unit_id": pc["postal_code"].astype("string").to_numpy(),
            "latitude": pc["latitude"].to_numpy(),
            "longitude": pc["longitude"].to_numpy(),
            "potential": accounts * rng.lognormal(0, 0.5, len(pc)) * 900.0,
            "workload": accounts * rng.lognormal(0, 0.3, len(pc)) * 6.0,
            "accounts": accounts.astype(float),
        }
    ).reset_index(drop=True)
    edges = geo.postal_code_neighbours(units["unit_id"], units["latitude"], units["longitude"])
    return units, edges.reset_index(drop=True)
