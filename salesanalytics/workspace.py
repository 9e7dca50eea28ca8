"""Where a phase notebook reads its inputs and writes its outputs.

Every phase notebook has two parameters, ``run_dir`` and ``output_dir``. Upstream outputs are read
from ``run_dir/data/<phase>/``; this phase writes to ``output_dir`` (the pipeline points it at a
staging folder that is moved into place only when the phase succeeded, so a killed run never leaves a
half-written output behind). Run on its own, ``output_dir`` defaults to ``run_dir/data/<phase>``.

Example
-------
>>> ws = Workspace(run_dir, phase="territory", output_dir=output_dir)  # doctest: +SKIP
>>> accounts = ws.read("intake", "accounts")  # doctest: +SKIP
>>> ws.write("assignment", assignment)  # doctest: +SKIP
>>> ws.headline("45 territories, all within ±3% of target potential and workload.")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported when a table is read: the pipeline runner imports this
    import pandas as pd  # module for its file helpers and should start kernels without delay

__all__ = [
    "HEADLINES_FILE",
    "WARNINGS_FILE",
    "Workspace",
    "apply_run_settings",
    "atomic_write_bytes",
    "read_phase_tables",
]

HEADLINES_FILE = "headlines.json"
WARNINGS_FILE = "warnings.json"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def apply_run_settings(run_dir: str | os.PathLike[str]) -> str:
    """Apply the run's settings written by the intake (``data/intake/settings.json``: the
    currency) to the house style, so that every amount in a report is shown in the run's
    currency; returns the currency code. A run without them (older runs) is shown in CHF.
    Called by :class:`Workspace` and by the per-entity report readers (cockpits, statements)."""
    path = Path(run_dir) / "data" / "intake" / "settings.json"
    code = None
    if path.exists():
        code = json.loads(path.read_text(encoding="utf-8")).get("currency")
    from salesanalytics import style

    return style.set_currency(code)


@lru_cache(maxsize=8)
def _read_tables(
    folder: str, tables: tuple[str, ...], stamp: tuple[int, ...]
) -> tuple[pd.DataFrame, ...]:
    import pandas as pd

    return tuple(pd.read_parquet(Path(folder) / f"{t}.parquet") for t in tables)


class Workspace:
    """Read upstream phase outputs and write this phase's outputs.

    Parameters
    ----------
    run_dir
        The run folder (``reports/<client>/<run-id>``).
    phase
        Name of the phase the notebook implements.
    output_dir
        Folder for this phase's outputs; default ``run_dir/data/<phase>``.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        phase: str,
        output_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.phase = phase
        self.output_dir = Path(output_dir) if output_dir else self.run_dir / "data" / phase
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.currency = apply_run_settings(self.run_dir)

    def phase_dir(self, phase: str) -> Path:
        """Folder holding the outputs of ``phase`` (this phase's own is :attr:`output_dir`)."""
        return self.output_dir if phase == self.phase else self.run_dir / "data" / phase

    def read(self, phase: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Read table ``table`` written by ``phase``.

        Raises
        ------
        FileNotFoundError
            If the upstream phase has not produced the table; the message says which phase to run.
        """
        path = self.phase_dir(phase) / f"{table}.parquet"
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist: table '{table}' of phase '{phase}' is missing. "
                f"Run that phase first, e.g. `salesanalytics run --phase {phase}`."
            )
        import pandas as pd

        return pd.read_parquet(path, columns=columns)

    def read_json(self, phase: str, name: str) -> Any:
        """Read the JSON file ``name`` (without ``.json``) written by ``phase``."""
        path = self.phase_dir(phase) / f"{name}.json"
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist: '{name}.json' of phase '{phase}' is missing. "
                f"Run that phase first, e.g. `salesanalytics run --phase {phase}`."
            )
        return json.loads(path.read_text(encoding="utf-8"))

    def has(self, phase: str, table: str) -> bool:
        """Whether ``phase`` has written table ``table`` (Parquet) in this run."""
        return (self.phase_dir(phase) / f"{table}.parquet").exists()

    def write(self, table: str, df: pd.DataFrame) -> Path:
        """Write ``df`` as ``output_dir/<table>.parquet`` (atomically) and return the path."""
        path = self.output_dir / f"{table}.parquet"
        tmp = path.with_name(f".{path.name}.tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return path

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` as ``output_dir/<name>.json`` (atomically) and return the path."""
        path = self.output_dir / f"{name}.json"
        atomic_write_bytes(
            path, json.dumps(obj, indent=2, ensure_ascii=False, default=str).encode("utf-8")
        )
        return path

    def path(self, filename: str) -> Path:
        """Path for a deliverable file (Excel, CSV) in this phase's output folder."""
        return self.output_dir / filename

    def warning(self, text: str) -> None:
        """Record a warning the client must see (e.g. a target that cannot be met): the run
        prints it on the command line and lists it with the phase's headlines in ``index.html``."""
        path = self.output_dir / WARNINGS_FILE
        items = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        if text not in items:
            items.append(text)
        atomic_write_bytes(path, json.dumps(items, indent=2, ensure_ascii=False).encode("utf-8"))

    def headline(self, text: str) -> None:
        """Record a headline finding; the run's ``index.html`` lists them under the phase."""
        path = self.output_dir / HEADLINES_FILE
        items = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        if text not in items:
            items.append(text)
        atomic_write_bytes(path, json.dumps(items, indent=2, ensure_ascii=False).encode("utf-8"))
