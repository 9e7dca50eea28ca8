"""A run folder's phase outputs read back: ``run_dir/data/<phase>/<table>.parquet``.

Reading a finished phase's tables is needed beside the engagement layer too: the Salesforce
export (``salesanalytics.salesforce``) turns a run's results into a deployment folder. This module
holds that reader alone, so that the export needs nothing of ``engagement``; it imports nothing of
the package and only the standard library at import time (pandas when a table is read).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["read_phase_tables"]


def read_phase_tables(
    run_dir: str | os.PathLike[str], phase: str, tables: Sequence[str]
) -> tuple[pd.DataFrame, ...]:
    """Tables of a finished phase, read once and cached while their files are unchanged.

    Per-entity report templates (cockpits, pay statements) call this once per rep in the same
    kernel; the Parquet files are read for the first one only.

    Parameters
    ----------
    run_dir
        The run folder.
    phase
        The phase whose outputs (``run_dir/data/<phase>/<table>.parquet``) are read.
    tables
        Table names, in the order returned.

    Returns
    -------
    tuple of pandas.DataFrame
        One frame per name in ``tables``, in that order.

    Raises
    ------
    FileNotFoundError
        If a table is missing, naming them and the command that writes them.
    """
    folder = Path(run_dir) / "data" / phase
    paths = [folder / f"{t}.parquet" for t in tables]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks {', '.join(missing)}: run the {phase} phase first "
            f"(`salesanalytics run --phase {phase}`)."
        )
    stamp = tuple(p.stat().st_mtime_ns for p in paths)
    return _read_tables(str(folder.resolve()), tuple(tables), stamp)


@lru_cache(maxsize=8)
def _read_tables(
    folder: str, tables: tuple[str, ...], stamp: tuple[int, ...]
) -> tuple[pd.DataFrame, ...]:
    import pandas as pd

    return tuple(pd.read_parquet(Path(folder) / f"{t}.parquet") for t in tables)
