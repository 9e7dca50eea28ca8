"""Where a phase notebook reads its inputs and writes its outputs.

Every phase notebook has two parameters, ``run_dir`` and ``output_dir``. Upstream outputs are read
from ``run_dir/data/<phase>/``; this phase writes to ``output_dir`` (the pipeline points it at a
staging folder that is moved into place only when the phase succeeded, so a killed run never leaves a
half-written output behind).

Run on its own (JupyterLab, plain papermill) with ``output_dir`` empty, a notebook never writes
into a finished run: when ``run_dir`` is a run folder of ``salesanalytics run`` (it has a
``manifest.json``), the outputs go to a scratch folder of their own,
``<reports>/<client>/scratch/<run-id>-<phase>-<time>/``, and the notebook says where. Elsewhere
(a folder that is not a run) ``output_dir`` defaults to ``run_dir/data/<phase>``.

Every file is written to a new file and renamed into place (or, for deliverables written by other
libraries through :meth:`Workspace.path`, to a fresh file): never through a hard link that an
earlier run shares. Headlines are replaced by each execution of a notebook, never appended to an
earlier execution's.

Example
-------
>>> ws = Workspace(run_dir, phase="territory", output_dir=output_dir)  # doctest: +SKIP
>>> accounts = ws.read("intake", "accounts")  # doctest: +SKIP
>>> ws.write("assignment", assignment)  # doctest: +SKIP
>>> ws.headline("45 territories, all within ±3% of target potential and workload.")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported when a table is read: the pipeline runner imports this
    import pandas as pd  # module for its file helpers and should start kernels without delay

    from salesanalytics.aggregate.catalogue import Aggregator
    from salesanalytics.aggregate.engine import EngineSettings

from salesanalytics.present.deliverables import atomic_write_bytes

__all__ = [
    "ENGINE_FILE",
    "HEADLINES_FILE",
    "WARNINGS_FILE",
    "SCRATCH",
    "TRUTH_DIR",
    "TRUTH_FILES",
    "Workspace",
    "apply_run_settings",
    "engine_settings",
    "place_truth",
    "scratch_dir",
    "write_engine_settings",
]

HEADLINES_FILE = "headlines.json"
WARNINGS_FILE = "warnings.json"
SCRATCH = "scratch"
"""Folder beside the client's run folders that holds interactive notebook runs' outputs."""
_RUN_MANIFEST = "manifest.json"
TRUTH_DIR = "analyst/truth"
"""Folder of a run (relative) holding the demo's planted truths: the analyst's side of the run,
never the client's data folder (``data/``), the client reports or the per-recipient pages."""
TRUTH_FILES: tuple[str, ...] = ("truth.json", "truth_accounts.parquet")
"""The files the demo generator writes beside its export with the truths it planted."""


def place_truth(source: str | os.PathLike[str], run_dir: str | os.PathLike[str]) -> list[str]:
    """Copy a demo export's planted truths into the run's analyst folder.

    The files are :data:`TRUTH_FILES` beside the export, copied to ``run_dir/analyst/truth/``; a
    client's export has none (nothing is written). Each file is written to a new file and renamed
    into place.

    Returns
    -------
    list of str
        The files copied (names).
    """
    src, target = Path(source), Path(run_dir) / TRUTH_DIR
    copied = []
    for name in TRUTH_FILES:
        if (src / name).is_file():
            atomic_write_bytes(target / name, (src / name).read_bytes())
            os.chmod(target / name, 0o644)
            copied.append(name)
    return copied


def scratch_dir(run_dir: str | os.PathLike[str], phase: str) -> Path:
    """A new scratch folder for an interactive run of ``phase`` on the run folder ``run_dir``.

    ``<run_dir's parent>/scratch/<run-id>-<phase>-<YYYYmmdd-HHMMSS>[-N]/`` (``latest`` is
    resolved to the run it points to). The folder is created.
    """
    run = Path(run_dir).resolve()
    base = run.parent / SCRATCH
    base.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        d = base / (f"{run.name}-{phase}-{stamp}" + (f"-{n}" if n else ""))
        try:
            d.mkdir()
        except FileExistsError:
            continue
        return d
    raise RuntimeError(f"cannot create a scratch folder in {base}")  # pragma: no cover


def apply_run_settings(run_dir: str | os.PathLike[str]) -> str:
    """Apply the run's settings written by the intake to the house style; return the currency.

    The settings (``data/intake/settings.json``: the currency, the language and the locale) make
    every amount in a report shown in the run's currency and locale and every text in its language;
    returns the currency code. A run without them (older runs) is shown in CHF, in English. Called
    by :class:`Workspace` and by the per-entity report readers (cockpits, statements).
    """
    path = Path(run_dir) / "data" / "intake" / "settings.json"
    settings: dict[str, Any] = {}
    if path.exists():
        settings = json.loads(path.read_text(encoding="utf-8"))
    from salesanalytics.present import style

    style.set_locale(settings.get("language"), settings.get("locale"))
    return style.set_currency(settings.get("currency"))


ENGINE_FILE = "engine.json"
"""The run's engine settings (``engine:`` of the project file), written by the runner at the top of
the run folder; read by :meth:`Workspace.aggregator`."""


def write_engine_settings(run_dir: str | os.PathLike[str], settings: Any) -> Path:
    """Write the run's engine settings (a mapping; empty = DuckDB) to ``run_dir/engine.json``."""
    path = Path(run_dir) / ENGINE_FILE
    data = {"engine": "duckdb", **dict(settings or {})}
    atomic_write_bytes(path, json.dumps(data, indent=2, sort_keys=True).encode("utf-8"))
    return path


def engine_settings(run_dir: str | os.PathLike[str]) -> EngineSettings:
    """The run's engine settings (``engine.json``); DuckDB for a run or folder without them."""
    from salesanalytics.aggregate.engine import EngineSettings

    path = Path(run_dir) / ENGINE_FILE
    if not path.is_file():
        return EngineSettings()
    return EngineSettings.model_validate(json.loads(path.read_text(encoding="utf-8")))


class Workspace:
    """Read upstream phase outputs and write this phase's outputs.

    Parameters
    ----------
    run_dir
        The run folder (``reports/<client>/<run-id>``).
    phase
        Name of the phase the notebook implements.
    output_dir
        Folder for this phase's outputs. Default: a new scratch folder (see
        :func:`scratch_dir`) when ``run_dir`` is a run folder of ``salesanalytics run``, else
        ``run_dir/data/<phase>``.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        phase: str,
        output_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.phase = phase
        self.scratch = False
        if output_dir:
            self.output_dir = Path(output_dir)
        elif (self.run_dir / _RUN_MANIFEST).is_file():  # a finished run: never written to
            self.output_dir = scratch_dir(self.run_dir, phase)
            self.scratch = True
            print(
                f"Interactive run: the outputs of this notebook go to {self.output_dir}; the "
                f"run {self.run_dir.resolve().name} stays unchanged. Set output_dir to write "
                "elsewhere; `salesanalytics run` makes a new run with changed parameters."
            )
        else:
            self.output_dir = self.run_dir / "data" / phase
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._headlines: list[str] | None = None  # this execution's headlines
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

    def aggregator(self) -> Aggregator:
        """The aggregation layer over the intake's canonical tables, on the run's engine.

        DuckDB (embedded) unless the project file says ``engine: spark``; the reference date is
        the intake's ``as_of``. A phase asks it for aggregated frames
        (``ws.aggregator().frame("field_effort")``) instead of reading the activity log or the
        stage history itself.
        """
        from salesanalytics.aggregate.catalogue import Aggregator

        as_of = None
        if (self.phase_dir("intake") / "as_of.json").is_file():
            as_of = self.read_json("intake", "as_of")["as_of"]
        return Aggregator(
            self.phase_dir("intake"), settings=engine_settings(self.run_dir), as_of=as_of
        )

    def read_json(self, phase: str, name: str) -> Any:
        """Read the JSON file ``name`` (without ``.json``) written by ``phase``."""
        path = self.phase_dir(phase) / f"{name}.json"
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist: '{name}.json' of phase '{phase}' is missing. "
                f"Run that phase first, e.g. `salesanalytics run --phase {phase}`."
            )
        return json.loads(path.read_text(encoding="utf-8"))

    def truth(self, name: str) -> Any:
        """The demo's planted truth ``name`` from the run's analyst folder, or None for a client.

        ``truth``: the dict of ``truth.json``; ``truth_accounts``: the per-account table; read from
        :data:`TRUTH_DIR`; None for a client's data (no planted truths). Demo checks are
        analyst-only: the client's data folder never holds these files.
        """
        folder = self.run_dir / TRUTH_DIR
        if (folder / f"{name}.json").is_file():
            return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        if (folder / f"{name}.parquet").is_file():
            import pandas as pd

            return pd.read_parquet(folder / f"{name}.parquet")
        return None

    def has(self, phase: str, table: str) -> bool:
        """Whether ``phase`` has written table ``table`` (Parquet) in this run."""
        return (self.phase_dir(phase) / f"{table}.parquet").exists()

    def write(self, table: str, df: pd.DataFrame) -> Path:
        """Write ``df`` as ``output_dir/<table>.parquet`` (atomically) and return the path."""
        path = self.output_dir / f"{table}.parquet"
        fd, tmp = tempfile.mkstemp(dir=self.output_dir, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            df.to_parquet(tmp, index=False)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` as ``output_dir/<name>.json`` (atomically) and return the path."""
        path = self.output_dir / f"{name}.json"
        atomic_write_bytes(
            path, json.dumps(obj, indent=2, ensure_ascii=False, default=str).encode("utf-8")
        )
        return path

    def path(self, filename: str) -> Path:
        """Path for a deliverable file (Excel, CSV) in this phase's output folder.

        A file already there is removed first, so the deliverable is written to a new file:
        never through a hard link that an earlier run shares.
        """
        path = self.output_dir / filename
        path.unlink(missing_ok=True)
        return path

    def warning(self, text: str) -> None:
        """Record a warning the client must see (e.g. a target that cannot be met).

        The run prints it on the command line and lists it with the phase's headlines in
        ``index.html``.
        """
        path = self.output_dir / WARNINGS_FILE
        items = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        if text not in items:
            items.append(text)
        atomic_write_bytes(path, json.dumps(items, indent=2, ensure_ascii=False).encode("utf-8"))

    def headline(self, text: str) -> None:
        """Record a headline finding; the run's ``index.html`` lists them under the phase.

        The first headline of a notebook execution (of this ``Workspace``) replaces the
        headlines an earlier execution left in the output folder.
        """
        items = self._headlines if self._headlines is not None else []
        if text not in items:
            items.append(text)
        self._headlines = items
        atomic_write_bytes(
            self.output_dir / HEADLINES_FILE,
            json.dumps(items, indent=2, ensure_ascii=False).encode("utf-8"),
        )
