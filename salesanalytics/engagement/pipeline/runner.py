"""Run the engagement: phases as a graph, in parallel, with reuse of unchanged phases.

Each run is written to its own folder ``<reports>/<slug>/<run-id>/``::

    index.html            links every phase (client + analyst) with headlines and status
    manifest.json         parameters, input fingerprints, versions, git commit, per-phase status/timing
    run.log               what ran, what was reused and why
    data/<phase>/         phase outputs (Parquet, JSON, headlines.json)
    client/<phase>.html   client report (no code); client/<phase>/<entity>.html per-entity reports
    analyst/<phase>.html  analyst report (with code); analyst/<phase>.ipynb executed notebook

A phase writes into ``<run>/.staging/<phase>/``; the folder is renamed to ``data/<phase>`` only when
the notebook succeeded, and the phase is recorded in the manifest only after that. A run killed
midway therefore never leaves an output that a later run would take as complete.

A phase is reused (outputs and reports hard-linked from an earlier run) when its fingerprint is
unchanged: notebook file, package source, parameters, upstream output fingerprints and, for the
intake, the source data files; and when the earlier run's output files still have the content
fingerprints recorded in its manifest (a file changed afterwards makes the phase run again).
Nothing is ever written through such a link: every file of a run is written to a new file and
renamed into place.

A run folder is always a whole engagement. With ``--phase X`` the phases X reads and X itself run
(or are reused when unchanged), and so do the phases downstream of X; every other phase is
reused when unchanged, else carried over from the run ``latest`` points to and marked *stale*
(out of date with the project file) in the manifest and the index. With ``only`` the phases
downstream of X are carried over (and marked stale) too.

One run of a project at a time: the run holds the project's lock (:mod:`.runlock`); a second run
refuses (or waits with ``wait``). Run folders left by killed runs are marked ``interrupted`` and
their staging folders removed when the next run starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import nbformat

from salesanalytics.engagement.pipeline.config import TOP_LEVEL_PARAMS, ProjectConfig
from salesanalytics.engagement.pipeline.execute import (
    FIRST_WARMUP_CODE,
    WARMUP_CODE,
    ExecutionFailed,
    KernelPool,
    execute_notebook,
    parameterize,
)
from salesanalytics.engagement.pipeline.fingerprint import (
    file_digest,
    folder_fingerprint,
    json_digest,
    package_fingerprint,
)
from salesanalytics.engagement.pipeline.graph import (
    downstream,
    effective_reads,
    select_phases,
    topological_order,
)
from salesanalytics.engagement.pipeline.runlock import project_lock, recover_interrupted
from salesanalytics.engagement.spec import PerEntitySpec, PhaseSpec
from salesanalytics.engagement.workspace import (
    HEADLINES_FILE,
    TRUTH_DIR,
    WARNINGS_FILE,
    place_truth,
    write_engine_settings,
)
from salesanalytics.present.deliverables import atomic_write_bytes, safe_file_stem
from salesanalytics.present.i18n import check_locale, select_language, set_language
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "LATEST",
    "MANIFEST",
    "PhaseResult",
    "RunOptions",
    "RunResult",
    "options_from_project",
    "run_pipeline",
]

MANIFEST = "manifest.json"
LATEST = "latest"
STAGING = ".staging"
ENTITY_KERNEL_SECONDS = 6.0
"""A per-entity rendering starts a further kernel (if a worker slot is free) only while the reports
left would take each running kernel longer than this (estimated from the reports rendered so far):
starting and warming up a kernel costs a few seconds of CPU."""
ENTITY_IDLE_KERNEL_SECONDS = 1.0
"""The same threshold when a kernel is idle in the pool (recycled after a phase): taking it costs
nothing but the switch."""
_VERSION_PACKAGES = (
    "salesanalytics", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn",
    "pyarrow", "pandera", "pydantic", "papermill", "nbclient", "nbconvert", "ipykernel",
)  # fmt: skip


@dataclass
class RunOptions:
    """Everything a run needs.

    Attributes
    ----------
    phases
        All known phases (any list of PhaseSpecs; tests use tiny fake phases).
    notebooks_dir
        Folder with the phases' notebooks.
    reports_dir
        Root of the reports; the run goes to ``reports_dir/slug/<run-id>``.
    client, slug
        Client name (title blocks) and folder-safe slug.
    params
        Validated parameters per phase (JSON-compatible); missing phases use the model defaults.
    source, source_display
        Intake source data folder (absolute) and how it is shown (relative, from the project file).
    selected
        ``--phase`` names; empty = all. Their upstream and downstream phases are run too (or
        reused when unchanged); the other phases are reused or carried over (see module docs).
    only
        With ``selected``: run only the named phases and what they read; the phases downstream
        are carried over from the latest run and marked stale when their inputs changed.
    wait
        When another run of the project holds its lock: wait for it instead of refusing.
    cell_timeout
        Seconds a single cell may run.
    workers
        Phases executed in parallel; 0 = available cores.
    quiet, verbose
        No progress output except errors / also show cell progress.
    warmup
        Code run in each kernel when it starts.
    recycle_kernels
        Run the next phase in the kernel of a phase that finished without error, after clearing
        its namespace and restoring its global state (saves the kernel start and imports);
        ``False`` starts a fresh kernel for every phase.
    date
        Date shown in the reports (default: today).
    """

    phases: Sequence[PhaseSpec]
    notebooks_dir: Path
    reports_dir: Path
    client: str
    slug: str
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: Path | None = None
    source_display: str = ""
    selected: Sequence[str] = ()
    only: bool = False
    wait: bool = False
    cell_timeout: int = 900
    workers: int = 0
    quiet: bool = False
    verbose: bool = False
    warmup: str = WARMUP_CODE
    recycle_kernels: bool = True
    date: dt.date | None = None
    project_dir: Path | None = None
    deck_template: Path | None = None
    engine: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class PhaseResult:
    """Outcome of one phase in a run (also its manifest entry)."""

    name: str
    title: str
    status: str = "pending"  # ran | reused | failed | skipped
    stale: str = ""  # why the phase's outputs are out of date with the project file (if they are)
    reason: str = ""
    seconds: float = 0.0
    started: str = ""
    fingerprint: str = ""
    output_fingerprint: str = ""
    output_files: dict[str, str] = field(default_factory=dict)
    components: dict[str, Any] = field(default_factory=dict)
    reused_from: str = ""
    error: str = ""
    outputs: list[str] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)
    entities: list[dict[str, Any]] = field(default_factory=list)
    entity_seconds: float = 0.0
    entity_kernels: int = 0
    headlines: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """Outcome of a run."""

    run_dir: Path
    run_id: str
    phases: dict[str, PhaseResult]
    seconds: float
    kernels_started: int = 0
    kernels_recycled: int = 0
    error: str = ""
    """A failure of the run itself (a file it could not write), empty otherwise."""
    notes: list[str] = field(default_factory=list)
    """Messages for the user beyond the phases' (stale phases, recovered interrupted runs)."""

    @property
    def ok(self) -> bool:
        """Whether the run could write its files and no phase failed (a phase skipped for what the data lacks is no error)."""
        return not self.error and not any(p.status == "failed" for p in self.phases.values())

    @property
    def exit_code(self) -> int:
        """0 if every phase ran, was reused or was skipped for lack of data, 1 if one failed."""
        return 0 if self.ok else 1


def options_from_project(
    cfg: ProjectConfig,
    phases: Sequence[PhaseSpec],
    selected: Sequence[str] = (),
    quiet: bool = False,
    verbose: bool = False,
    cell_timeout: int | None = None,
    workers: int | None = None,
    recycle_kernels: bool = True,
    only: bool = False,
    wait: bool = False,
) -> RunOptions:
    """Run options for a loaded project."""
    return RunOptions(
        phases=phases,
        notebooks_dir=cfg.notebooks_dir,
        reports_dir=cfg.reports_dir,
        client=cfg.client,
        slug=cfg.slug,
        params=cfg.phase_params,
        source=cfg.source,
        source_display=cfg.source_display,
        selected=selected,
        only=only,
        wait=wait,
        cell_timeout=cell_timeout or cfg.cell_timeout,
        workers=cfg.workers if workers is None else workers,
        quiet=quiet,
        verbose=verbose,
        recycle_kernels=recycle_kernels,
        project_dir=cfg.project_dir,
        deck_template=cfg.deck_template,
        engine=cfg.engine,
    )


def _client_html(*args: Any, **kw: Any) -> str:
    """:func:`~salesanalytics.engagement.pipeline.report.client_html`, imported when first used.

    nbconvert and bleach take a while to import, which would delay the start of the first kernel.
    """
    from salesanalytics.engagement.pipeline.report import client_html

    return client_html(*args, **kw)


def _analyst_html(*args: Any, **kw: Any) -> str:
    """:func:`~salesanalytics.engagement.pipeline.report.analyst_html`, imported when first used."""
    from salesanalytics.engagement.pipeline.report import analyst_html

    return analyst_html(*args, **kw)


def _preload() -> None:
    """Import what the exports need, in the export thread, while the first kernel starts.

    The exports and per-entity listings need nbconvert, bleach and pandas; imported on first use
    instead, they would stall the run for a second or two between two phases.
    """
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from salesanalytics.engagement.pipeline import report

    report.warm_up()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _new_run_dir(base: Path) -> tuple[str, Path]:
    base.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        run_id = stamp if n == 0 else f"{stamp}-{n:02d}"
        d = base / run_id
        try:
            d.mkdir()
        except FileExistsError:
            continue
        return run_id, d
    raise RuntimeError(f"cannot create a new run folder in {base}")  # pragma: no cover


def _link_tree(src: Path, dst: Path) -> None:
    """Hard-link (or copy) ``src`` (file or folder) to ``dst``."""
    if src.is_dir():
        for dirpath, _dirs, files in os.walk(src):
            rel = Path(dirpath).relative_to(src)
            (dst / rel).mkdir(parents=True, exist_ok=True)
            for fn in files:
                _link_file(Path(dirpath) / fn, dst / rel / fn)
    elif src.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        _link_file(src, dst)


def _link_file(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[3]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _VERSION_PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _entity_file(entity_id: Any) -> str:
    """A file name stem for an entity id.

    See :func:`salesanalytics.present.deliverables.safe_file_stem`: readable, umlauts
    transliterated, never a path or a reserved name, at most 80 characters.
    """
    return safe_file_stem(entity_id)


def _consistency(run_dir: Path) -> dict[str, Any]:
    """The run's shared figures compared across phases.

    See :func:`salesanalytics.engagement.pipeline.consistency.check_run`; a check that cannot run is
    reported as such instead of failing the run.
    """
    from salesanalytics.engagement.pipeline.consistency import check_run

    try:
        return check_run(run_dir)
    except Exception as exc:  # a broken declaration must not cost the run its manifest
        return {"status": "error", "message": f"{type(exc).__name__}: {exc}", "figures": []}


def _distribute(run_dir: Path, results: Mapping[str, Any]) -> dict[str, Any]:
    """Per-recipient folders of the personal reports.

    See :func:`salesanalytics.engagement.pipeline.distribution.build_distribution`.
    """
    from salesanalytics.engagement.pipeline.distribution import build_distribution

    try:
        return build_distribution(run_dir, {n: r.entities for n, r in results.items()})
    except Exception as exc:  # the folders are a convenience: never cost the run its index
        return {"recipients": 0, "pages": 0, "error": f"{type(exc).__name__}: {exc}"}


def _describe_change(old: Mapping[str, Any], new: Mapping[str, Any], reran: set[str]) -> str:
    """Why a phase must rerun, from its previous and current fingerprint components."""
    reasons = []
    if old.get("notebook") != new.get("notebook"):
        reasons.append("notebook changed")
    if old.get("templates") != new.get("templates"):
        reasons.append("report template notebook changed")
    op, np_ = old.get("params", {}), new.get("params", {})
    for k in sorted(set(op) | set(np_)):
        if op.get(k) != np_.get(k):
            reasons.append(f"parameter {k} changed ({op.get(k, '–')!r} → {np_.get(k, '–')!r})")
    of, nf = old.get("files", {}), new.get("files", {})
    for k in sorted(set(of) | set(nf)):
        if of.get(k) != nf.get(k) and op.get(k) == np_.get(k):
            reasons.append(f"file of parameter {k} changed")
    ou, nu = old.get("upstream", {}), new.get("upstream", {})
    for k in sorted(set(ou) | set(nu)):
        if ou.get(k) != nu.get(k):
            reasons.append(f"upstream {k} {'reran' if k in reran else 'changed'}")
    os_, ns = old.get("source", {}), new.get("source", {})
    if os_ != ns:
        changed = sorted(k for k in set(os_) | set(ns) if os_.get(k) != ns.get(k))
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        reasons.append(f"source data changed: {shown}")
    if old.get("mapping") != new.get("mapping"):
        reasons.append("mapping changed")
    if old.get("package") != new.get("package"):
        reasons.append("package code changed")
    return "; ".join(reasons) or "earlier outputs not available"


class _Runner:
    def __init__(self, opts: RunOptions) -> None:
        self.o = opts
        self.all = list(opts.phases)
        self.phases = topological_order(self.all)  # a run folder is a whole engagement
        self.scope = self.in_scope(opts)
        self.names = [p.name for p in self.all]
        self.by_name = {p.name: p for p in self.phases}
        self.workers = opts.workers or _cores()
        self.base = opts.reports_dir / opts.slug
        intake = dict(opts.params.get("intake") or {})
        self.language, self.locale = check_locale(
            str(intake.get("language") or "en"), str(intake.get("locale") or "")
        )
        set_language(self.language, self.locale)  # index page, titles, entity listings
        self.results = {p.name: PhaseResult(p.name, _(p.title)) for p in self.phases}
        self.exports: list[Future[Any]] = []
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sa-export")
        self.pkg_fp = package_fingerprint()
        self.date = opts.date or dt.date.today()
        self.reran: set[str] = set()
        self.awaiting_kernel = 0
        self.extra_slots = 0  # extra kernels of per-entity renderings, counted as worker slots
        self.cancelling = False
        self.log_lines: list[str] = []
        self.bar: Any = None
        self.source_fp: dict[str, str] | None = None
        self.mapping_fp: str | None = None
        self.lock_notes: list[str] = []
        self.error = ""
        self.notes: list[str] = []
        self.coverage: dict[str, Any] | None = None
        self.coverage_skip: dict[str, str] = {}

    def in_scope(self, opts: RunOptions) -> set[str]:
        """Phases this run may execute.

        All, or for ``--phase`` the named ones, what they read and (unless ``only``) what reads
        them; the others are reused or carried over.
        """
        wanted = [p.name for p in select_phases(self.all, list(opts.selected))]
        if not opts.selected:
            return set(wanted)
        scope = set(wanted)
        if not opts.only:
            for name in opts.selected:
                scope.update(downstream(self.all, name))
        return scope

    # ------------------------------------------------------------------ logging
    def log(self, msg: str, *, always: bool = False) -> None:
        line = f"{dt.datetime.now().strftime('%H:%M:%S')} {msg}"
        self.log_lines.append(line)
        with contextlib.suppress(OSError):
            with open(self.run_dir / "run.log", "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        if self.o.quiet and not always:
            return
        if self.bar is not None:
            self.bar.write(msg, file=sys.stderr)
        else:
            print(msg, file=sys.stderr)

    # ------------------------------------------------------------ fingerprints
    def phase_params(self, phase: PhaseSpec) -> dict[str, Any]:
        """The phase's parameters, with the project's own files filled in.

        The project's own files (``PhaseSpec.project_files``, e.g. ``territory_overrides.yaml``) are
        filled in as absolute paths where the parameter is empty and the project folder holds the
        file.
        """
        params = dict(self.o.params.get(phase.name) or phase.params().model_dump(mode="json"))
        if self.o.project_dir is not None:
            for key, name in phase.project_files:
                f = Path(self.o.project_dir) / name
                if not params.get(key) and f.is_file():
                    params[key] = str(f.resolve())
        return params

    def display_params(self, phase: PhaseSpec) -> dict[str, Any]:
        params = self.phase_params(phase)
        for key, _name in phase.project_files:
            if params.get(key):
                params[key] = Path(str(params[key])).name
        if phase.name in TOP_LEVEL_PARAMS and "source" in params:
            params["source"] = self.o.source_display or Path(str(params["source"])).name
        if phase.name in TOP_LEVEL_PARAMS and "mapping" in params:
            m = Path(str(params["mapping"]))
            if m.is_absolute():
                params["mapping"] = m.name
        return params

    def notebook_params(self, phase: PhaseSpec) -> dict[str, Any]:
        params = self.phase_params(phase)
        for key in ("source", "mapping"):
            if phase.name in TOP_LEVEL_PARAMS and key in params:
                p = Path(str(params[key]))
                if p.is_absolute():
                    params[key] = os.path.relpath(p, self.run_dir)
        return {"run_dir": ".", "output_dir": f"{STAGING}/{phase.name}", **params}

    def components(self, phase: PhaseSpec) -> dict[str, Any]:
        nb_path = self.o.notebooks_dir / phase.notebook
        comp: dict[str, Any] = {
            "notebook": file_digest(nb_path),
            "package": self.pkg_fp,
            "params": self.display_params(phase),
            "upstream": {
                u: self.results[u].output_fingerprint for u in effective_reads(phase, self.by_name)
            },
        }
        files = self.param_files(phase)
        if files:
            comp["files"] = files
        if phase.per_entity:
            comp["templates"] = {
                pe.notebook: file_digest(self.o.notebooks_dir / pe.notebook)
                for pe in phase.per_entity
            }
        if phase.name in TOP_LEVEL_PARAMS:
            if self.source_fp is None:
                self.source_fp = (
                    folder_fingerprint(self.o.source) if self.o.source is not None else {}
                )
                mp = Path(str((self.o.params.get(phase.name) or {}).get("mapping", "")))
                self.mapping_fp = file_digest(mp) if mp.is_file() else str(mp.name)
            comp["source"] = self.source_fp
            comp["mapping"] = self.mapping_fp
        return comp

    def param_files(self, phase: PhaseSpec) -> dict[str, str]:
        """Content digest of every file a file parameter of the phase names.

        Editing the file (a pay plan, the territory overrides) reruns the phase and those
        downstream.
        """
        from salesanalytics.engagement.paramcheck import is_path_param

        params = self.phase_params(phase)
        out = {}
        for key, info in phase.params.model_fields.items():
            value = params.get(key)
            if is_path_param(info) and isinstance(value, str) and value:
                p = Path(value)
                if p.is_absolute() and p.is_file():
                    out[key] = file_digest(p)
        return out

    def load_history(self) -> None:
        """Earlier runs' phase entries.

        By fingerprint (for reuse, newest run first), latest per phase (for reasons) and those of
        the run ``latest`` points to (for carrying over).
        """
        self.cache: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.previous: dict[str, dict[str, Any]] = {}
        self.base_run = ""
        self.base_entries: dict[str, dict[str, Any]] = {}
        link = self.base / LATEST
        self.durations: dict[str, float] = {}  # seconds of the latest run that ran the phase
        if not self.base.exists():
            return
        if link.is_symlink():
            self.base_run = os.readlink(link)
        runs = sorted(
            (d for d in self.base.iterdir() if d.is_dir() and not d.is_symlink()),
            key=lambda d: d.name,
            reverse=True,
        )
        for d in runs:
            if d == self.run_dir:
                continue
            man = _read_json(d / MANIFEST)
            if not isinstance(man, dict):
                continue
            for name, entry in (man.get("phases") or {}).items():
                if entry.get("status") == "ran" and name not in self.durations:
                    self.durations[name] = float(entry.get("seconds") or 0.0)
                if entry.get("status") not in {"ran", "reused"}:
                    continue
                if not (d / "data" / name).is_dir():
                    continue
                files = list((entry.get("reports") or {}).values()) + [
                    i["href"]
                    for g in entry.get("entities") or []
                    for i in g.get("items", [])
                    if i.get("href")
                ]
                if not all((d / f).exists() for f in files):
                    continue
                self.previous.setdefault(name, entry)
                self.cache.setdefault(f"{name}:{entry.get('fingerprint')}", []).append(
                    (d.name, entry)
                )
                if d.name == self.base_run:
                    self.base_entries[name] = entry

    def priorities(self) -> dict[str, float]:
        """Per phase: the expected seconds from its start to the end of its longest dependent chain.

        The chain is the longest one of phases that depend on it (durations of the latest run that
        ran each phase, else the phase's own estimate ``PhaseSpec.seconds``). Phases ready at the
        same time start longest chain first, so the critical path of the engagement (e.g. territory
        before churn) never waits for a side branch.
        """
        names = [p.name for p in self.phases]
        prio: dict[str, float] = {}
        for p in reversed(topological_order(self.phases)):
            after = [q.name for q in self.phases if p.name in effective_reads(q, names)]
            own = self.durations.get(p.name, p.seconds)
            prio[p.name] = own + max((prio[q] for q in after), default=0.0)
        return prio

    # ------------------------------------------------------------ phase steps
    def changed_outputs(self, run_id: str, name: str, entry: Mapping[str, Any]) -> list[str]:
        """Output files of phase ``name`` in run ``run_id`` whose content changed since it finished.

        Those whose content no longer matches the fingerprints recorded when the phase finished
        (empty: unchanged).
        """
        files = folder_fingerprint(self.base / run_id / "data" / name)
        if json_digest(files) == entry.get("output_fingerprint"):
            return []
        recorded = entry.get("output_files") or {}
        changed = sorted(k for k in set(files) | set(recorded) if files.get(k) != recorded.get(k))
        return changed or ["(outputs)"]

    def try_reuse(self, phase: PhaseSpec, candidates: Sequence[tuple[str, dict[str, Any]]]) -> bool:
        """Reuse the first candidate (run id, manifest entry) whose outputs are intact."""
        r = self.results[phase.name]
        for run_id, entry in candidates:
            changed = self.changed_outputs(run_id, phase.name, entry)
            if changed:
                shown = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
                r.reason = (
                    f"outputs of run {run_id} were changed after it finished ({shown}); not reused"
                )
                self.log(f"{phase.name}: {r.reason}", always=True)
                continue
            try:
                self.link_outputs(phase, run_id, entry)
            except OSError as exc:
                r.reason = f"could not reuse earlier result ({exc})"
                continue
            self.reuse(phase, run_id, entry)
            return True
        return False

    def link_outputs(self, phase: PhaseSpec, run_id: str, entry: Mapping[str, Any]) -> None:
        """Hard-link the outputs and reports of ``phase`` in run ``run_id`` into this run.

        All or, on an error, none.
        """
        src = self.base / run_id
        staging = self.run_dir / STAGING / phase.name
        shutil.rmtree(staging, ignore_errors=True)
        linked: list[Path] = []
        try:
            _link_tree(src / "data" / phase.name, staging)
            rels = list((entry.get("reports") or {}).values()) + [
                item["href"]
                for group in entry.get("entities") or []
                for item in group.get("items", [])
                if item.get("href")
            ]
            for rel in rels:
                linked.append(self.run_dir / rel)
                _link_tree(src / rel, self.run_dir / rel)
            os.replace(staging, self.run_dir / "data" / phase.name)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            for path in linked:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise

    def reuse(self, phase: PhaseSpec, run_id: str, entry: Mapping[str, Any]) -> None:
        """Record ``phase`` as reused from run ``run_id`` (its files linked already)."""
        r = self.results[phase.name]
        r.status = "reused"
        r.fingerprint = str(entry.get("fingerprint", ""))
        r.components = dict(entry.get("components") or {})
        r.reused_from = entry.get("reused_from") or run_id
        r.reason = f"unchanged since run {r.reused_from}"
        r.reports = dict(entry.get("reports") or {})
        r.entities = list(entry.get("entities") or [])
        r.output_fingerprint = entry.get("output_fingerprint", "")
        r.output_files = dict(entry.get("output_files") or {})
        r.outputs = list(entry.get("outputs") or [])
        self.finish_phase(phase)
        self.log(f"{phase.name}: reused ({r.reason})")

    def carry_over(self, phase: PhaseSpec, comp: Mapping[str, Any]) -> bool:
        """Carry ``phase`` over, out of date, from the run ``latest`` points to.

        A phase outside a ``--phase`` selection whose inputs or parameters changed; False if that
        run lacks it.
        """
        entry = self.base_entries.get(phase.name)
        if entry is None or not self.try_reuse(phase, [(self.base_run, entry)]):
            return False
        r = self.results[phase.name]
        why = _describe_change(entry.get("components") or {}, comp, self.reran)
        how = "--only" if self.o.only else "--phase " + " ".join(self.o.selected)
        r.stale = f"out of date ({why}): not rerun because this run was limited by {how}"
        r.reason = f"carried over from run {self.base_run}"
        self.notes.append(f"{phase.name}: {r.stale}")
        self.log(f"{phase.name}: {r.reason}, {r.stale}", always=True)
        self.write_manifest("running")
        return True

    def mark_stale_readers(self, phase: PhaseSpec, ups: Sequence[str]) -> None:
        """A phase that read an out-of-date phase's outputs is out of date too."""
        stale = [u for u in ups if self.results[u].stale]
        if stale and not self.results[phase.name].stale:
            r = self.results[phase.name]
            r.stale = f"reads the out-of-date results of {', '.join(stale)}"
            self.notes.append(f"{phase.name}: {r.stale}")

    def finish_phase(self, phase: PhaseSpec) -> None:
        r = self.results[phase.name]
        hp = self.run_dir / "data" / phase.name / HEADLINES_FILE
        heads = _read_json(hp) if hp.exists() else None
        r.headlines = [str(h) for h in heads] if isinstance(heads, list) else []
        wp = self.run_dir / "data" / phase.name / WARNINGS_FILE
        warns = _read_json(wp) if wp.exists() else None
        for w in warns if isinstance(warns, list) else []:
            r.headlines.append(f"Warning: {w}")
            self.log(f"{phase.name}: warning: {w}", always=True)
        self.write_manifest("running")
        if self.bar is not None:
            self.bar.update(1)

    def place_truth(self, phase: PhaseSpec) -> None:
        """A demo export's planted truths go to the run's analyst folder (``analyst/truth/``).

        Never to the client's data folder: the demo checks read them there. Recorded with the
        phase's reports, so that a reused intake brings its truths along.
        """
        src = self.o.source or (self.o.params.get(phase.name) or {}).get("source")
        if src is None:
            return
        path = Path(str(src))
        if not path.is_absolute():
            path = (self.run_dir / path).resolve()
        if place_truth(path, self.run_dir):
            self.results[phase.name].reports["truth"] = TRUTH_DIR

    def submit_export(self, fn: Callable[..., str], target: Path, *args: Any, **kw: Any) -> None:
        def job() -> None:
            text = fn(*args, **kw)
            atomic_write_bytes(target, text.encode("utf-8"))
            os.chmod(target, 0o644)  # reports are meant to be shared

        self.exports.append(self.executor.submit(job))

    def local_paths(self) -> list[str]:
        paths = [str(self.run_dir), str(self.run_dir.resolve()), str(self.o.notebooks_dir)]
        if self.o.project_dir is not None:
            paths.append(str(self.o.project_dir))
        if self.o.source is not None:
            paths.append(str(self.o.source))
        paths.append(str(Path.home()))
        return paths

    def client_kwargs(self, phase: PhaseSpec, title: str | None = None) -> dict[str, Any]:
        return {
            "client": self.o.client,
            "title": title or _(phase.title),
            "date": self.date.strftime("%d.%m.%Y"),
            "lang": self.language,
            "run_id": self.run_id,
            "local_paths": self.local_paths(),
            "phase": phase.name,
        }

    def on_cell(self, label: str) -> Callable[[int, int], None] | None:
        if not self.o.verbose:
            return None

        def hook(i: int, n: int) -> None:
            self.log(f"  {label}: cell {i}/{n} done")

        return hook

    async def execute_phase(self, phase: PhaseSpec, comp: dict[str, Any]) -> None:
        r = self.results[phase.name]
        r.started = _now()
        t0 = time.perf_counter()
        staging = self.run_dir / STAGING / phase.name
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        nb = nbformat.read(self.o.notebooks_dir / phase.notebook, as_version=4)
        nb = select_language(nb, self.language, self.locale)
        pnb = parameterize(nb, self.notebook_params(phase))
        try:
            kernel = await self.pool.acquire()
        except Exception as exc:
            kernel = None
            executed = pnb
            failure: str | None = (
                f"phase {phase.name} failed: could not start a kernel: {type(exc).__name__}: {exc}"
            )
        finally:
            self.awaiting_kernel -= 1
        if kernel is not None:
            reusable = False
            try:
                executed = await execute_notebook(
                    pnb,
                    kernel,
                    timeout=self.o.cell_timeout,
                    on_cell=self.on_cell(phase.name),
                    label=f"phase {phase.name}",
                )
                failure = None
                reusable = True
            except ExecutionFailed as exc:
                if self.cancelling:  # the run is being interrupted: not this phase's failure
                    raise asyncio.CancelledError from None
                executed, failure = exc.nb, exc.summary
            except Exception as exc:  # kernel protocol errors and the like: fail the phase only
                executed = pnb
                failure = f"phase {phase.name} failed: {type(exc).__name__}: {exc}"
            finally:
                self.pool.release(kernel, reuse=reusable and not self.cancelling)
        analyst_nb = self.run_dir / "analyst" / f"{phase.name}.ipynb"
        analyst_nb.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(analyst_nb, nbformat.writes(executed).encode("utf-8"))
        os.chmod(analyst_nb, 0o644)
        r.reports["analyst"] = f"analyst/{phase.name}.html"
        r.reports["notebook"] = f"analyst/{phase.name}.ipynb"
        self.submit_export(
            _analyst_html,
            self.run_dir / r.reports["analyst"],
            executed,
            title=_(phase.title),
            client=self.o.client,
        )
        if failure is None:
            missing = [
                w
                for w in phase.writes
                if not any((staging / f"{w}{ext}").exists() for ext in (".parquet", ".json", ""))
            ]
            if missing:
                failure = (
                    f"phase {phase.name} finished but did not write its declared output(s) "
                    f"{', '.join(repr(m) for m in missing)} (see PhaseSpec.writes)"
                )
        r.seconds = round(time.perf_counter() - t0, 2)
        r.components = comp
        r.fingerprint = json_digest(comp)
        if failure is not None:
            shutil.rmtree(staging, ignore_errors=True)
            r.status = "failed"
            r.error = failure
            r.reason = r.reason or "failed"
            self.log(f"FAILED {failure} (executed notebook: {r.reports['notebook']})", always=True)
            self.finish_phase(phase)
            return
        final = self.run_dir / "data" / phase.name
        os.replace(staging, final)
        if phase.name in TOP_LEVEL_PARAMS:
            self.place_truth(phase)
        r.output_files = folder_fingerprint(final)
        r.outputs = sorted(r.output_files)
        r.output_fingerprint = json_digest(r.output_files)
        r.reports["client"] = f"client/{phase.name}.html"
        self.submit_export(
            _client_html,
            self.run_dir / r.reports["client"],
            executed,
            params=self.display_params(phase),
            **self.client_kwargs(phase),
        )
        r.status = "ran"
        self.reran.add(phase.name)
        self.log(f"{phase.name}: ran in {r.seconds:.1f} s ({r.reason})")

    async def render_entities(self, phase: PhaseSpec) -> None:
        """Render every per-entity report of ``phase``.

        All groups' entities form one job list, worked off by one kernel, or by a second one (third,
        ...) while the list is long and a worker slot is free. Each report depends only on its
        parameters, so which kernel renders it does not change it; the listing keeps the entities'
        order.
        """
        r = self.results[phase.name]
        t0 = time.perf_counter()
        self.awaiting_kernel -= len(phase.per_entity)  # the scheduler's hint; counted below
        groups: list[dict[str, Any]] = []
        jobs: list[_EntityJob] = []
        seen: set[str] = set()  # file names used in client/<phase>/ (ids of all groups)
        for gi, spec in enumerate(phase.per_entity):
            groups.append(self.entity_jobs(phase, gi, spec, seen, jobs))
        results: dict[int, dict[str, Any]] = {}
        queue = list(range(len(jobs)))[::-1]  # pop() from the end = next job in order
        workers: list[asyncio.Future[None]] = []
        times: list[float] = []

        def start_worker() -> None:
            extra = bool(workers)
            if extra:
                self.extra_slots += 1
            workers.append(
                asyncio.ensure_future(
                    self.entity_worker(phase, jobs, queue, results, more_workers, extra)
                )
            )

        def more_workers(seconds: float) -> None:
            """Start another kernel while the work left per kernel is worth its start-up.

            A kernel idle in the pool costs nothing to start; a new one several seconds.
            """
            times.append(seconds)
            if len(times) < 3:  # the first report also pays the template's imports
                return
            per_job = sorted(times)[len(times) // 2]
            worth = ENTITY_IDLE_KERNEL_SECONDS if self.pool.idle() else ENTITY_KERNEL_SECONDS
            if (
                len(workers) < self.workers
                and self.free_slots() > 0
                and len(queue) * per_job / len(workers) > worth
            ):
                start_worker()

        broken = "not rendered"
        if jobs:
            start_worker()
            try:
                n = 0
                while n < len(workers):  # workers may be added while others run
                    try:
                        await workers[n]
                    except Exception as exc:  # a broken kernel etc.: fail its reports, not the run
                        broken = f"{phase.name} per-entity reports: {type(exc).__name__}: {exc}"
                    n += 1
            finally:
                for w in workers:
                    w.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
        for i, job in enumerate(jobs):
            groups[job.group]["items"].append(
                results.get(i) or {"label": job.label, "href": "", "error": broken}
            )
        for group, spec in zip(groups, phase.per_entity, strict=True):
            self.log(
                f"{phase.name}: {len(group['items'])} per-{spec.entity_param} reports rendered"
            )
        r.entities = groups
        r.entity_seconds = round(time.perf_counter() - t0, 2)
        r.entity_kernels = len(workers)
        if len(workers) > 1:
            self.log(f"{phase.name}: per-entity reports rendered on {len(workers)} kernels")
        errors = [i["error"] for g in groups for i in g["items"] if i.get("error")]
        r.seconds = round(r.seconds + time.perf_counter() - t0, 2)
        if errors:
            r.status = "failed"
            r.error = f"{len(errors)} per-entity report(s) failed; first: {errors[0]}"
            self.log(f"FAILED {r.error}", always=True)

    def free_slots(self) -> int:
        """Worker slots not taken by running phases, per-entity renderings or their extra kernels."""
        return self.workers - len(self.data_tasks) - len(self.report_tasks) - self.extra_slots

    def entity_jobs(
        self,
        phase: PhaseSpec,
        gi: int,
        spec: PerEntitySpec,
        seen: set[str],
        jobs: list[_EntityJob],
    ) -> dict[str, Any]:
        """The listing group of ``spec``; appends one job per entity to ``jobs`` (in order)."""
        src_phase, table = spec.entities_table
        title = (
            _(spec.title)
            if spec.title
            else _("{title}: one report per {entity}").format(
                title=_(phase.title), entity=spec.entity_param
            )
        )
        group: dict[str, Any] = {"title": title, "param": spec.entity_param, "items": []}
        path = self.run_dir / "data" / src_phase / f"{table}.parquet"
        try:
            import pandas as pd

            ents = pd.read_parquet(
                path, columns=list(dict.fromkeys([spec.id_column, spec.label_column]))
            )
            template = select_language(
                nbformat.read(self.o.notebooks_dir / spec.notebook, as_version=4),
                self.language,
                self.locale,
            )
        except (OSError, KeyError, ValueError) as exc:
            group["items"].append(
                {
                    "label": title,
                    "href": "",
                    "error": f"cannot read entities table {src_phase}/{table}: {exc}",
                }
            )
            return group
        for eid, label in zip(ents[spec.id_column], ents[spec.label_column], strict=True):
            fname = base = _entity_file(eid)
            n = 1
            while fname.lower() in seen:  # case-insensitive file systems
                n += 1
                fname = f"{base}-{n}"
            seen.add(fname.lower())
            jobs.append(_EntityJob(gi, spec, template, _plain(eid), str(label), fname))
        return group

    async def entity_worker(
        self,
        phase: PhaseSpec,
        jobs: list[_EntityJob],
        queue: list[int],
        results: dict[int, dict[str, Any]],
        more: Callable[[float], None],
        extra: bool,
    ) -> None:
        """Render jobs from ``queue`` in one kernel until it is empty."""
        sub = f"client/{phase.name}"
        self.awaiting_kernel += 1
        try:
            try:
                kernel = await self.pool.acquire()
            finally:
                self.awaiting_kernel -= 1
        except Exception as exc:
            if extra:  # the other kernel(s) go on
                self.extra_slots -= 1
                return
            while queue:
                i = queue.pop()
                results[i] = {
                    "label": jobs[i].label,
                    "href": "",
                    "error": f"could not start a kernel: {exc}",
                }
            return
        try:
            while queue:
                i = queue.pop()
                t0 = time.perf_counter()
                job = jobs[i]
                spec = job.spec
                pnb = parameterize(job.template, {"run_dir": ".", spec.entity_param: job.eid})
                lab = f"{phase.name} report {spec.entity_param}={job.eid}"
                try:
                    executed = await execute_notebook(
                        pnb,
                        kernel,
                        timeout=self.o.cell_timeout,
                        on_cell=self.on_cell(lab),
                        label=lab,
                    )
                except ExecutionFailed as exc:
                    if self.cancelling:
                        raise asyncio.CancelledError from None
                    results[i] = {"label": job.label, "href": "", "error": exc.summary}
                    if not await kernel.km.is_alive():  # e.g. out of memory: go on in a new one
                        self.pool.release(kernel, reuse=False)
                        self.awaiting_kernel += 1
                        try:
                            kernel = await self.pool.acquire()
                        finally:
                            self.awaiting_kernel -= 1
                    continue
                except Exception as exc:  # kernel protocol errors: this report fails, go on
                    if self.cancelling:
                        raise
                    results[i] = {
                        "label": job.label,
                        "href": "",
                        "error": f"{lab}: {type(exc).__name__}: {exc}",
                    }
                    continue
                href = f"{sub}/{job.fname}.html"
                self.submit_export(
                    _client_html,
                    self.run_dir / href,
                    executed,
                    params={},  # the page's subtitle names the rep or team
                    subtitle=job.label,
                    **self.client_kwargs(phase, title=_(spec.title or phase.title)),
                )
                results[i] = {"label": job.label, "href": href, "error": ""}
                more(time.perf_counter() - t0)
        finally:
            self.pool.release(kernel, reuse=not self.cancelling)
            if extra:
                self.extra_slots -= 1

    def background(self, coro: Any) -> None:
        self.bg.append(asyncio.ensure_future(coro))

    def export_salesforce(self) -> None:
        """Write the run's ``salesforce/`` folder from the phases that finished.

        A partial run writes the parts its phases allow; see :mod:`salesanalytics.salesforce`.
        """
        done = [n for n, r in self.results.items() if r.status in {"ran", "reused"}]
        try:
            from salesanalytics.salesforce import write_salesforce_folder

            key = json_digest(
                {
                    "phases": {n: self.results[n].output_fingerprint for n in sorted(done)},
                    "package": self.pkg_fp,
                    "client": self.o.client,
                }
            )
            earlier = sorted({self.results[n].reused_from for n in done} - {""}, reverse=True)
            res = write_salesforce_folder(
                self.run_dir,
                done,
                client=self.o.client,
                key=key,
                reuse_from=[self.base / r for r in earlier],
            )
        except Exception as exc:  # a broken export must not cost the run its reports
            self.salesforce: dict[str, Any] = {"error": f"{type(exc).__name__}: {exc}"}
            self.log(f"FAILED salesforce export: {type(exc).__name__}: {exc}", always=True)
            return
        if res is not None:
            self.salesforce = {
                "parts": res.parts,
                "missing": res.missing,
                "files": res.files,
                "reused_from": res.reused_from,
            }
            self.log(res.summary())
            for note in res.notes if not res.reused_from else ():
                self.log(note)

    def write_deck(self) -> bool:
        """Write the run's ``deck.pptx`` from its manifest and phase outputs.

        The manifest gives headlines and parameters (:mod:`salesanalytics.engagement.deck`); a deck
        that fails is logged and recorded, never failing the run's reports.
        """
        try:
            from salesanalytics.engagement.deck import write_deck

            self.deck = write_deck(self.run_dir, template=self.o.deck_template)
        except OSError:
            raise
        except Exception as exc:
            self.deck = {"error": f"{type(exc).__name__}: {exc}"}
            self.log(f"FAILED deck.pptx: {type(exc).__name__}: {exc}", always=True)
            return True
        self.log(f"deck.pptx: {self.deck['slides']} slides")
        return True

    # ------------------------------------------------------------ manifest / index
    def write_manifest(self, status: str) -> None:
        man = {
            "run_id": self.run_id,
            "client": self.o.client,
            "slug": self.o.slug,
            "status": status,
            "started": self.started,
            "finished": _now() if status != "running" else None,
            "seconds": round(time.perf_counter() - self.t0, 2),
            "selected": list(self.o.selected),
            "only": self.o.only,
            "error": self.error or None,
            "notes": self.notes,
            "parameters": {p.name: self.display_params(p) for p in self.phases},
            "inputs": {
                "source": self.o.source_display,
                "files": self.source_fp or {},
                "mapping": self.mapping_fp,
            },
            "package_fingerprint": self.pkg_fp,
            "versions": self.versions,
            "git_commit": self.git,
            "workers": self.workers,
            "kernels": {"started": self.pool.started, "recycled": self.pool.recycled},
            "phases": {n: asdict(r) for n, r in self.results.items() if r.status != "pending"},
            "consistency": getattr(self, "consistency", None),
            "distribution": getattr(self, "distribution", None),
            "coverage": self.coverage,
            "salesforce": getattr(self, "salesforce", None),
            "deck": getattr(self, "deck", None),
            "engine": dict(self.o.engine) or {"engine": "duckdb"},
        }
        atomic_write_bytes(
            self.run_dir / MANIFEST,
            json.dumps(man, indent=2, ensure_ascii=False, default=str).encode("utf-8"),
        )
        os.chmod(self.run_dir / MANIFEST, 0o644)

    def write_index(self) -> None:
        rows = []
        for p in self.phases:
            r = self.results[p.name]
            note = r.reason
            if r.status in {"ran", "reused"}:
                note = f"{r.status} ({r.reason})" + (
                    f" in {r.seconds:.1f} s" if r.status == "ran" else ""
                )
            if r.stale:
                note = f"Stale – {r.stale}. {note}"
            rows.append(
                {
                    "name": p.name,
                    "title": _(p.title),
                    "status": "stale" if r.stale and r.status in {"ran", "reused"} else r.status,
                    # a phase whose notebook succeeded but some per-entity reports failed keeps
                    # its (complete) client report
                    "client": r.reports.get("client", "")
                    if r.status in {"ran", "reused"} or r.output_fingerprint
                    else "",
                    "analyst": r.reports.get("analyst", ""),
                    "notebook": r.reports.get("notebook", ""),
                    "headlines": r.headlines,
                    "entities": r.entities,
                    "error": r.error,
                    "note": note,
                }
            )
        counts: dict[str, int] = {}
        for r in self.results.values():
            counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{v} {_(k)}" for k, v in counts.items())
        n_stale = sum(1 for r in self.results.values() if r.stale)
        if n_stale:
            summary += _(" ({n} stale: out of date with the project file)").format(n=n_stale)
        if self.error:
            summary += _(" · run failed: {error}").format(error=self.error)
        from salesanalytics import __version__
        from salesanalytics.engagement.pipeline.report import index_html

        text = index_html(
            client=self.o.client,
            run_id=self.run_id,
            date=self.date.strftime("%d.%m.%Y"),
            summary=summary,
            phases=rows,
            version=__version__,
            consistency=getattr(self, "consistency", None),
            distribution=bool((getattr(self, "distribution", None) or {}).get("recipients")),
            coverage=self.coverage_rows(),
            lang=self.language,
        )
        atomic_write_bytes(self.run_dir / "index.html", text.encode("utf-8"))
        os.chmod(self.run_dir / "index.html", 0o644)

    def coverage_rows(self) -> list[dict[str, str]]:
        """The coverage matrix for the index page.

        One row per phase with its status and reason, and one per analysis that does not simply run.
        """
        if not self.coverage:
            return []
        rows = []
        for p in self.coverage.get("phases", []):
            detail = p["reason"]
            if p["status"] != "skipped":  # limited analyses have their own rows below
                detail = "; ".join(p.get("upstream") or [])
            rows.append(
                {"phase": _(p["title"]), "analysis": "", "status": p["status"], "detail": detail}
            )
            for a in p.get("analyses", []):
                if a["status"] != "runs" and p["status"] != "skipped":
                    detail = "; ".join(x for x in (a.get("note"), a.get("add")) if x)
                    rows.append(
                        {
                            "phase": "",
                            "analysis": _(a["analysis"]),
                            "status": a["status"],
                            "detail": detail,
                        }
                    )
        return rows

    def load_coverage(self, phase: str) -> None:
        """Read the coverage matrix the intake wrote, print it and note the phases it skips.

        See ``salesanalytics.engagement.coverage``.
        """
        from salesanalytics.engagement.coverage import SKIPPED, Coverage

        path = self.run_dir / "data" / phase / "coverage.json"
        obj = _read_json(path) if path.exists() else None
        if not isinstance(obj, dict):
            return
        self.coverage = obj
        cov = Coverage.from_json(obj)
        self.coverage_skip = {p.phase: p.reason for p in cov.phases if p.status == SKIPPED}
        for line in cov.to_text().splitlines():
            self.log(line)

    def point_latest(self) -> None:
        link = self.base / LATEST
        tmp = self.base / f".{LATEST}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(self.run_id, tmp)
        os.replace(tmp, link)

    # ------------------------------------------------------------ scheduling
    async def run(self) -> RunResult:
        """Run the phases into a new run folder and write its manifest, index and deck."""
        self._open_run()
        ticker = asyncio.ensure_future(self._tick()) if self.bar is not None else None
        status = "interrupted"
        self.data_tasks: dict[asyncio.Task[None], PhaseSpec] = {}
        self.report_tasks: dict[asyncio.Task[None], PhaseSpec] = {}
        try:
            await self.schedule()
            self.export_salesforce()
            status = (
                "failed" if any(r.status == "failed" for r in self.results.values()) else "finished"
            )
        except OSError as exc:  # disk full, permissions: end the run with a clear message
            self.fail_run(exc)
            status = "failed"
        finally:
            status = await self._close_run(status, ticker)
        return self._result(status)

    def _open_run(self) -> None:
        """Create the run folder, the kernel pool and the progress bar; note recovered runs."""
        self.t0 = time.perf_counter()
        self.started = _now()
        self.run_id, self.run_dir = _new_run_dir(self.base)
        (self.run_dir / "data").mkdir()
        write_engine_settings(self.run_dir, self.o.engine)
        self.bg: list[asyncio.Future[Any]] = []
        self.versions = _versions()
        self.git = _git_commit()
        self.pool = KernelPool(
            self.run_dir,
            size=self.workers,
            warmup=self.o.warmup,
            log_file=self.run_dir / "kernels.log",
            recycle=self.o.recycle_kernels,
            on_launch=lambda: self.exports.append(self.executor.submit(_preload)),
            first_warmup=FIRST_WARMUP_CODE if self.o.warmup == WARMUP_CODE else None,
        )
        self.load_history()
        self.log(
            f"run {self.run_id} for {self.o.client}: {len(self.phases)} phase(s), "
            f"{self.workers} in parallel -> {self.run_dir}"
        )
        for msg in self.lock_notes:
            self.log(msg)
        for rec in recover_interrupted(self.base, skip=self.run_dir):
            removed = f"; removed {', '.join(rec.removed)}" if rec.removed else ""
            msg = f"run {rec.run_id} had been interrupted (killed): marked as interrupted{removed}"
            self.notes.append(msg)
            self.log(msg, always=True)
        if not self.o.quiet:
            from tqdm import tqdm

            self.bar = tqdm(
                total=len(self.phases),
                unit="phase",
                file=sys.stderr,
                bar_format="{l_bar}{bar:20}| {n_fmt}/{total_fmt} phases [{elapsed}]{postfix}",
                dynamic_ncols=True,
            )

    async def _close_run(self, status: str, ticker: asyncio.Future[None] | None) -> str:
        """Stop what still runs, wait for the exports, write manifest, deck and index.

        Returns the run's status (``failed`` when a write or an export failed).
        """
        if ticker is not None:
            ticker.cancel()
        self.cancelling = True
        unfinished = [t for t in (*self.data_tasks, *self.report_tasks) if not t.done()]
        for t in unfinished:
            t.cancel()
        if unfinished:
            await asyncio.gather(*unfinished, return_exceptions=True)
        await self.pool.close()
        for task in self.bg:
            with contextlib.suppress(BaseException):
                await task
        for fut in self.exports:
            try:
                await asyncio.wrap_future(fut)
            except OSError as exc:
                self.fail_run(exc)
                status = "failed"
            except Exception as exc:
                self.log(f"report export failed: {exc}", always=True)
                self.error = self.error or f"a report could not be written: {exc}"
                status = "failed"
        self.executor.shutdown(wait=True)
        shutil.rmtree(self.run_dir / STAGING, ignore_errors=True)
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.consistency = _consistency(self.run_dir)
        self.distribution = _distribute(self.run_dir, self.results)
        try:
            self.write_manifest(status)
            if self.write_deck():
                self.write_manifest(status)
            self.write_index()
        except OSError as exc:
            self.fail_run(exc)
            status = "failed"
        return status

    def _result(self, status: str) -> RunResult:
        """Move ``latest`` to a finished run and log the run's outcome."""
        if status == "finished":
            try:
                self.point_latest()
            except OSError as exc:
                self.fail_run(exc)
                status = "failed"
        res = RunResult(
            self.run_dir,
            self.run_id,
            self.results,
            round(time.perf_counter() - self.t0, 2),
            self.pool.started,
            self.pool.recycled,
            error=self.error,
            notes=list(self.notes),
        )
        counts = {
            s: sum(1 for r in self.results.values() if r.status == s)
            for s in ("ran", "reused", "failed", "skipped")
        }
        self.log(
            f"run {self.run_id} {status} in {res.seconds:.1f} s: "
            + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
            + f" -> {self.run_dir / 'index.html'}",
            always=True,
        )
        return res

    def fail_run(self, exc: OSError) -> None:
        """Record a write that failed as the run's error (the first one is kept)."""
        where = f" {exc.filename}" if exc.filename else ""
        msg = (
            f"the run could not write{where}: {exc.strerror or exc} (errno {exc.errno}); "
            "earlier runs are intact and `latest` was not moved: free disk space (or fix the "
            "folder's permissions) and run again"
        )
        self.error = self.error or msg
        with contextlib.suppress(OSError):
            self.log(f"FAILED {msg}", always=True)

    async def _tick(self) -> None:
        """Refresh the progress bar every second (elapsed time, running phases)."""
        while self.bar is not None:
            running = [p.name for p in (*self.data_tasks.values(), *self.report_tasks.values())]
            self.bar.set_postfix_str(("running: " + ", ".join(running)) if running else "", False)
            self.bar.refresh()
            await asyncio.sleep(1)

    async def schedule(self) -> None:
        """Run every phase once its upstream data is ready, longest chain first, in worker slots.

        A phase is skipped (coverage, failed upstream), reused, carried over or executed; a
        phase with per-entity reports finishes when they are rendered.
        """
        pending = list(self.phases)
        waiting: list[tuple[PhaseSpec, dict[str, Any]]] = []
        data_ready: set[str] = set()
        prio = self.priorities()
        while pending or self.data_tasks or self.report_tasks or waiting:
            while self._decide_pending(pending, waiting, data_ready):
                pass
            waiting.sort(key=lambda pc: -prio[pc[0].name])  # stable: engagement order on ties
            self._launch_waiting(waiting)
            # kernels wanted soon: tasks launched but not yet holding a kernel, phases waiting
            # for a slot, phases not decided yet (mostly downstream of running ones) and their
            # per-entity reports
            expected = (
                self.awaiting_kernel
                + sum(1 + len(p.per_entity) for p, _ in waiting)
                + sum(1 + len(p.per_entity) for p in pending)
            )
            self.pool.prefetch(expected)
            if not self.data_tasks and not self.report_tasks:
                if pending and not waiting:  # pragma: no cover - graph error guard
                    raise RuntimeError(f"phases cannot be scheduled: {[p.name for p in pending]}")
                continue
            done, _ = await asyncio.wait(
                set(self.data_tasks) | set(self.report_tasks), return_when=asyncio.FIRST_COMPLETED
            )
            for t in done:
                self._task_done(t, data_ready)

    def _decide_pending(
        self,
        pending: list[PhaseSpec],
        waiting: list[tuple[PhaseSpec, dict[str, Any]]],
        data_ready: set[str],
    ) -> bool:
        """One pass over the pending phases: skip, reuse or queue those that can be decided.

        Returns whether any phase was decided (another pass may then decide more).
        """
        progressed = False
        for p in list(pending):
            ups = effective_reads(p, self.by_name)
            optional = {u for u, _ in p.optional_reads}
            reason = self._skip_reason(p, ups, optional)
            if reason is not None:
                r = self.results[p.name]
                r.status = "skipped"
                r.reason = reason
                pending.remove(p)
                self.finish_phase(p)
                self.log(f"{p.name}: skipped ({r.reason})", always=True)
                progressed = True
                continue
            if not all(
                u in data_ready or (u in optional and self.results[u].status == "skipped")
                for u in ups
            ):
                continue
            pending.remove(p)
            progressed = True
            comp = self.components(p)
            if self._reused(p, ups, comp):
                data_ready.add(p.name)
                if "coverage" in p.writes:
                    self.load_coverage(p.name)
                continue
            r = self.results[p.name]
            prev = self.previous.get(p.name)
            if not r.reason:
                r.reason = (
                    _describe_change(prev.get("components") or {}, comp, self.reran)
                    if prev
                    else "no earlier result"
                )
            waiting.append((p, comp))
        return progressed

    def _skip_reason(self, p: PhaseSpec, ups: Sequence[str], optional: set[str]) -> str | None:
        """Why ``p`` is skipped (its core data is missing, an upstream phase failed), or None."""
        if p.name in self.coverage_skip:
            return self.coverage_skip[p.name]
        bad = [
            u
            for u in ups
            if self.results[u].status == "failed"
            or (self.results[u].status == "skipped" and u not in optional)
        ]
        return f"upstream {bad[0]} {self.results[bad[0]].status}" if bad else None

    def _reused(self, p: PhaseSpec, ups: Sequence[str], comp: dict[str, Any]) -> bool:
        """Reuse ``p`` from an earlier run with the same fingerprint, or carry it over."""
        if self.try_reuse(p, self.cache.get(f"{p.name}:{json_digest(comp)}", [])):
            self.mark_stale_readers(p, ups)
            return True
        return p.name not in self.scope and self.carry_over(p, comp)

    def _launch_waiting(self, waiting: list[tuple[PhaseSpec, dict[str, Any]]]) -> None:
        """Start the first waiting phases while worker slots are free."""
        while (
            waiting
            and len(self.data_tasks) + len(self.report_tasks) + self.extra_slots < self.workers
        ):
            p, comp = waiting.pop(0)
            self.awaiting_kernel += 1
            self.data_tasks[asyncio.ensure_future(self.execute_phase(p, comp))] = p

    def _task_done(self, t: asyncio.Task[None], data_ready: set[str]) -> None:
        """A phase's data task or its per-entity reports finished: release what waits on it."""
        if t not in self.data_tasks:
            p = self.report_tasks.pop(t)
            t.result()
            self.finish_phase(p)
            return
        p = self.data_tasks.pop(t)
        t.result()
        if self.results[p.name].status != "ran":
            return
        self.mark_stale_readers(p, effective_reads(p, self.by_name))
        data_ready.add(p.name)
        if "coverage" in p.writes:
            self.load_coverage(p.name)
        if p.per_entity:
            self.awaiting_kernel += len(p.per_entity)
            self.pool.prefetch(self.pool.wanted + len(p.per_entity))
            self.report_tasks[asyncio.ensure_future(self.render_entities(p))] = p
        else:
            self.finish_phase(p)


@dataclass(frozen=True)
class _EntityJob:
    """One per-entity report to render: group index, spec, template, entity id, label, file."""

    group: int
    spec: PerEntitySpec
    template: Any
    eid: Any
    label: str
    fname: str


def _plain(value: Any) -> Any:
    """A parameter value papermill can write (numpy scalars -> Python)."""
    if hasattr(value, "item"):
        return value.item()
    return value


def run_pipeline(options: RunOptions) -> RunResult:
    """Run the engagement (or the selected phases) and write the run folder; see module docs.

    Returns
    -------
    RunResult
        Per-phase results, the run folder and ``exit_code`` (1 if any phase failed or was skipped).

    Raises
    ------
    FileNotFoundError
        If a phase's notebook (or per-entity template) is missing; nothing runs then.
    ValueError
        If a notebook has no cell tagged ``parameters``.
    KeyError
        For an unknown ``--phase`` name.
    RunLockedError
        If another run of the project is in progress (and ``wait`` is false).
    """
    select_phases(list(options.phases), list(options.selected))  # unknown names: KeyError
    phases = topological_order(list(options.phases))  # a run folder is a whole engagement
    missing, untagged = [], []
    for p in phases:
        for nb in (p.notebook, *(pe.notebook for pe in p.per_entity)):
            path = options.notebooks_dir / nb
            if not path.is_file():
                missing.append(f"phase {p.name}: notebook {path} not found")
                continue
            cells = nbformat.read(path, as_version=4).cells
            if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in cells):
                untagged.append(
                    f"phase {p.name}: notebook {path} has no cell tagged 'parameters'; tag the "
                    "cell that sets run_dir and the parameters (View > Cell metadata in JupyterLab)"
                )
    if missing:
        raise FileNotFoundError("; ".join(missing + untagged))
    if untagged:
        raise ValueError("; ".join(untagged))
    runner = _Runner(options)

    def say(msg: str) -> None:
        runner.lock_notes.append(msg)
        print(msg, file=sys.stderr)

    try:
        with project_lock(options.reports_dir / options.slug, wait=options.wait, log=say):
            return asyncio.run(runner.run())
    finally:
        set_language(None)  # the runner's process goes back to English
