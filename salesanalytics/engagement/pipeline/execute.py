"""Notebook execution: a pool of pre-started, pre-warmed kernels and papermill-style parameters.

Starting a Python kernel and importing pandas, seaborn and statsmodels costs seconds; the pool starts
kernels ahead of need and runs the warm-up imports while other phases execute. A kernel that has
finished a phase successfully is recycled for the next one: its namespace is cleared and its global
state (matplotlib, pandas options, warning filters, working directory, ...) restored to the snapshot
taken after the warm-up (:mod:`salesanalytics.engagement.pipeline.kernelstate`); imported modules stay, which is
what saves the time. A kernel whose phase failed is never reused. ``recycle=False`` gives every phase
a fresh kernel. Per-entity reports run many entities in the same kernel (see the runner).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import copy
import os
import re
import subprocess
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

__all__ = [
    "FIRST_WARMUP_CODE",
    "RESET_CODE",
    "SNAPSHOT_CODE",
    "WARMUP_CODE",
    "ExecutionFailed",
    "Kernel",
    "KernelPool",
    "execute_notebook",
    "parameterize",
]

FIRST_WARMUP_CODE = """\
import warnings as _w
with _w.catch_warnings():
    _w.simplefilter("ignore")
    import numpy, pandas, pyarrow, pyarrow.parquet, pyarrow.dataset, matplotlib, matplotlib.pyplot
    import seaborn, jinja2, pandas.io.formats.style, matplotlib_inline.backend_inline
    import IPython.display
    import salesanalytics, salesanalytics.present.style, salesanalytics.engagement.workspace
del _w
"""
"""Imports every phase notebook needs: the warm-up of the first kernel of a run, which a phase
is already waiting for (importing more would only delay it)."""

WARMUP_CODE = (
    FIRST_WARMUP_CODE
    + """\
for _m in ("statsmodels.api", "scipy.optimize", "scipy.stats", "scipy.sparse.csgraph",
           "pandera.pandas", "salesanalytics.ingest.schema", "salesanalytics.reference.geo"):
    try:
        __import__(_m)
    except Exception:
        pass
del _m
"""
)
"""Imports run in every further kernel as soon as it has started, ahead of need: also the
modules many phases use."""

SNAPSHOT_CODE = """\
import salesanalytics.engagement.pipeline.kernelstate as _ks
_ks.snapshot()
del _ks
"""
"""Run after the warm-up: remembers the kernel's global state for :data:`RESET_CODE`."""

RESET_CODE = """\
import salesanalytics.engagement.pipeline.kernelstate as _ks
_ks.restore()
"""
"""Run in a kernel between two notebooks: clears the namespace and restores the global state."""

CellHook = Callable[[int, int], None]


class ExecutionFailed(Exception):
    """A notebook failed; ``summary`` is the one-line message (cell and error), ``nb`` the notebook."""

    def __init__(self, summary: str, nb: Any, cell_index: int | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.nb = nb
        self.cell_index = cell_index


@dataclass
class Kernel:
    """A started kernel: its manager and a connected, ready client."""

    km: AsyncKernelManager
    kc: Any

    async def shutdown(self) -> None:
        """Stop the client channels and the kernel process."""
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
        with contextlib.suppress(Exception):
            await self.km.shutdown_kernel(now=True)
        with contextlib.suppress(Exception):
            await self.km.cleanup_resources()


async def start_kernel(
    cwd: Path,
    kernel_name: str = "python3",
    warmup: str = WARMUP_CODE,
    timeout: float = 600,
    log_file: Path | None = None,
    on_launch: Callable[[], None] | None = None,
) -> Kernel:
    """Start a kernel with working directory ``cwd`` and run the warm-up code in it.

    ``on_launch`` is called once the kernel process exists, while it starts up.

    The kernel process's own stdout/stderr (not the cells' outputs) go to ``log_file`` (or nowhere).
    """
    km = AsyncKernelManager(kernel_name=kernel_name)
    env = dict(os.environ)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # always the inline backend: a user's MPLBACKEND=Agg (common on servers/CI) would otherwise
    # silently drop every chart from the reports
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    # phases run in parallel, one kernel per core: one BLAS/OpenMP thread per kernel avoids
    # oversubscribing the cores (a user's explicit setting wins)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    # the order of a set of texts depends on Python's per-process hash seed: fixed, the same
    # input gives the same tables and reports wherever such an order shows
    env.setdefault("PYTHONHASHSEED", "0")
    kc = None
    out: Any = subprocess.DEVNULL
    try:
        if log_file is not None:
            out = open(log_file, "ab")
        try:
            await km.start_kernel(
                cwd=str(cwd),
                env=env,
                extra_arguments=["--HistoryManager.enabled=False"],
                stdout=subprocess.DEVNULL,
                stderr=out,
            )
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        if on_launch is not None:
            on_launch()
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=timeout)
        for code in (warmup, SNAPSHOT_CODE):
            if code:
                await _run_silent(kc, code, timeout)
    except BaseException:
        await asyncio.shield(Kernel(km, kc).shutdown())
        raise
    return Kernel(km, kc)


async def _run_silent(kc: Any, code: str, timeout: float) -> None:
    """Execute ``code`` in the kernel without output; raise if it fails."""
    reply = await kc.execute_interactive(
        code, silent=True, store_history=False, timeout=timeout, output_hook=lambda m: None
    )
    content = reply.get("content", {})
    if content.get("status") != "ok":
        raise RuntimeError(
            f"kernel set-up code failed: {content.get('ename', '')}: {content.get('evalue', '')}"
        )


class KernelPool:
    """Kernels started ahead of need, in working directory ``cwd``; finished kernels are recycled.

    Parameters
    ----------
    cwd
        Working directory of the kernels.
    size
        At most this many kernels are kept ahead (idle, starting or being reset).
    kernel_name, warmup
        Kernel spec name and the code run in each new kernel.
    recycle
        Reuse a kernel released after a successful phase (see :meth:`release`).
    on_launch
        Called once, when the first kernel process has been launched (work for the caller to
        do while kernels start up).
    first_warmup
        Warm-up of the first kernel instead of ``warmup`` (a phase is already waiting for it).
    """

    def __init__(
        self,
        cwd: Path,
        size: int = 2,
        kernel_name: str = "python3",
        warmup: str = WARMUP_CODE,
        log_file: Path | None = None,
        recycle: bool = True,
        on_launch: Callable[[], None] | None = None,
        first_warmup: str | None = None,
    ) -> None:
        self.cwd = cwd
        self.log_file = log_file
        self.size = max(1, size)
        self.kernel_name = kernel_name
        self.warmup = warmup
        self.recycle = recycle
        self.on_launch = on_launch
        self.first_warmup = first_warmup
        self._ready: list[asyncio.Task[Kernel]] = []
        self._bg: list[asyncio.Future[Any]] = []
        self._starting: set[asyncio.Task[Kernel]] = set()
        self._changed = asyncio.Event()
        self.started = 0
        self.recycled = 0
        self.in_use = 0
        self.wanted = 0
        self._closed = False

    def prefetch(self, wanted: int) -> None:
        """Expect ``wanted`` kernels to be needed soon: keep ``min(wanted, size)`` ahead.

        Each :meth:`acquire` lowers the expectation by one and starts a replacement if still needed.
        """
        self.wanted = max(0, wanted)
        self._fill()

    def _capacity(self) -> int:
        """Kernels to keep ahead: ``size``, less the kernels in use that will be recycled."""
        return max(0, self.size - (self.in_use if self.recycle else 0))

    def _fill(self) -> None:
        """Start kernels up to the expected need, one at a time.

        Two kernels warming up at once on a small machine make the first one ready no sooner than
        both, and the first phase of a run waits for it.
        """
        if self._closed or any(not t.done() for t in self._starting):
            return
        if len(self._ready) < min(self.wanted, self._capacity()):
            task = asyncio.ensure_future(self._start())
            self._starting.add(task)
            task.add_done_callback(self._started)
            self._ready.append(task)

    def _started(self, task: asyncio.Task[Kernel]) -> None:
        self._starting.discard(task)
        self._fill()

    async def _start(self) -> Kernel:
        self.started += 1
        hook, self.on_launch = self.on_launch, None  # only the first launch
        warmup = self.warmup
        if self.first_warmup is not None:
            warmup, self.first_warmup = self.first_warmup, None
        return await start_kernel(
            self.cwd, self.kernel_name, warmup, log_file=self.log_file, on_launch=hook
        )

    async def _reset(self, kernel: Kernel) -> Kernel:
        """Clear and restore a used kernel; a fresh one instead if that fails."""
        try:
            if not await kernel.km.is_alive():
                raise RuntimeError("kernel died")
            await _run_silent(kernel.kc, RESET_CODE, timeout=60)
        except asyncio.CancelledError:
            await asyncio.shield(kernel.shutdown())
            raise
        except Exception:
            await asyncio.shield(kernel.shutdown())
            return await self._start()
        self.recycled += 1
        return kernel

    def release(self, kernel: Kernel, reuse: bool = True) -> None:
        """Hand back a kernel that is no longer used.

        With ``reuse`` (the notebook it ran finished without error) and recycling on, the kernel
        is reset and kept for the next :meth:`acquire`, in place of a kernel still starting;
        otherwise it is shut down.
        """
        self.in_use = max(0, self.in_use - 1)
        if not (reuse and self.recycle and not self._closed):
            self._bg.append(asyncio.ensure_future(kernel.shutdown()))
            self._fill()
            return
        self._ready.insert(0, asyncio.ensure_future(self._reset(kernel)))
        self._changed.set()
        limit = self._capacity()
        for task in [t for t in self._ready[1:] if not t.done()][::-1]:
            if len(self._ready) <= limit:
                break
            task.cancel()  # a kernel still starting: the recycled one replaces it
            self._ready.remove(task)
            self._bg.append(task)
        while len(self._ready) > limit:  # idle kernels beyond the limit
            task = self._ready.pop()
            self._bg.append(asyncio.ensure_future(self._shutdown_task(task)))

    @staticmethod
    async def _shutdown_task(task: asyncio.Task[Kernel]) -> None:
        with contextlib.suppress(BaseException):
            await (await task).shutdown()

    def idle(self) -> int:
        """Kernels ready to hand out right now (started or recycled, not in use)."""
        return sum(1 for t in self._ready if t.done() and not t.cancelled() and not t.exception())

    async def acquire(self) -> Kernel:
        """A kernel ready for a notebook (recycled or started ahead if available).

        Hand it back with :meth:`release`.
        """
        while True:
            if not self._ready:  # needed now: start one even while another is starting
                self._ready.append(asyncio.ensure_future(self._start()))
            done = [t for t in self._ready if t.done()]
            if done:
                good = [t for t in done if not t.cancelled() and t.exception() is None]
                task = good[0] if good else done[0]
                break
            # wake up when a kernel is ready or another one is handed back (recycled kernels
            # are ready long before one still starting)
            self._changed.clear()
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait([*self._ready, changed], return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()
        self._ready.remove(task)
        self.wanted = max(0, self.wanted - 1)
        kernel = task.result()
        self.in_use += 1
        self._fill()
        return kernel

    async def close(self) -> None:
        """Shut down every kernel not handed out."""
        self._closed = True
        tasks, self._ready = self._ready, []
        for t in tasks:
            if not t.done():
                t.cancel()
        for t in tasks:
            try:
                k = await t
            except BaseException:
                continue
            await k.shutdown()
        for f in self._bg:
            with contextlib.suppress(BaseException):
                await f
        self._bg = []


class _Client(NotebookClient):
    """A notebook client on a kernel we started: no kernel start/stop, no signal handlers.

    (nbclient's own set-up replaces the SIGINT handler and kills the kernel on Ctrl-C, after which the
    run would go on; here Ctrl-C cancels the whole run and the runner shuts the kernels down.)
    """

    @asynccontextmanager
    async def async_setup_kernel(self, **kwargs: Any) -> AsyncGenerator[None, None]:
        yield


def parameterize(nb: Any, parameters: Mapping[str, Any]) -> Any:
    """A copy of ``nb`` with an ``injected-parameters`` cell after its ``parameters`` cell."""
    from papermill.parameterize import parameterize_notebook  # slow to import: only when used

    nb = nbformat.from_dict(copy.deepcopy(nb))
    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    ks = nb.metadata.setdefault("kernelspec", {})
    ks.setdefault("name", "python3")
    ks.setdefault("display_name", "Python 3")
    ks.setdefault("language", "python")
    out = parameterize_notebook(
        nb, dict(parameters), kernel_name=ks["name"], language=ks.get("language", "python")
    )
    # papermill gives the injected cell a random id, which the HTML reports show: the same
    # input must give the same report
    for cell in out.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"
    return out


def _merge_adjacent_streams(nb: Any) -> None:
    """Join consecutive stream outputs of the same name (stdout after stdout) in every cell.

    The kernel sends printed text in chunks as its buffer is flushed by a timer, so one
    ``print`` can arrive as two outputs on a busy machine; joined, a report does not depend on
    timing. Interleaving with other outputs (a table between two prints) is kept.
    """
    for cell in nb.cells:
        outs = cell.get("outputs") if cell.get("cell_type") == "code" else None
        if not outs:
            continue
        merged: list[Any] = []
        for out in outs:
            prev = merged[-1] if merged else None
            if (
                prev is not None
                and out.get("output_type") == "stream"
                and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")
            ):
                prev["text"] = "".join(prev["text"]) + "".join(out["text"])
            else:
                merged.append(out)
        cell.outputs = merged


_STYLER_ID = re.compile(r"\bT_([0-9a-f]{5})(?=[_\"' ])")


def _stable_table_ids(nb: Any) -> None:
    """Replace the random ids of styled tables by ids numbered in order of appearance.

    pandas gives each styled table random ids (``T_9e48c``, ``T_9e48c_row0_col0``); numbered in
    order of appearance, the same input gives the same report.
    """
    names: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        return names.setdefault(m.group(1), f"T_s{len(names) + 1:04d}")

    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data") or {}
            html = data.get("text/html")
            if html is not None:
                data["text/html"] = _STYLER_ID.sub(
                    sub, html if isinstance(html, str) else "".join(html)
                )


def _source_line(cell: Any) -> str:
    for line in str(cell.get("source", "")).splitlines():
        if line.strip() and not line.strip().startswith("#"):
            line = line.strip()
            return line if len(line) <= 60 else line[:57] + "..."
    return ""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_FRAME = re.compile(r"Cell In\[\d*\], line (\d+)")


def _failing_statement(cell: Any) -> str:
    """The statement of ``cell`` that raised, from its error output.

    ``line N: <first line of the innermost statement containing line N>``; the cell's first line
    when the traceback does not say (a syntax error, an error raised before the cell's code ran).
    """
    source = str(cell.get("source", ""))
    lineno = None
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            m = _CELL_FRAME.search(_ANSI.sub("", "\n".join(out.get("traceback", []))))
            if m:
                lineno = int(m.group(1))
    lines = source.splitlines()
    if lineno is None or not 1 <= lineno <= len(lines):
        return _source_line(cell)
    start = lineno
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    if tree is not None:
        best = None
        for node in ast.walk(tree):
            if isinstance(node, ast.stmt) and node.lineno <= lineno <= (node.end_lineno or 0):
                if best is None or node.lineno >= best.lineno:
                    best = node
        if best is not None:
            start = best.lineno
    text = lines[start - 1].strip()
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"line {start}: {text}"


def _original_index(nb: Any, index: int) -> int:
    """1-based position of executed cell ``index`` in the notebook before parameter injection."""
    injected = [
        i
        for i, c in enumerate(nb.cells)
        if "injected-parameters" in c.get("metadata", {}).get("tags", [])
    ]
    shift = sum(1 for i in injected if i < index)
    return index - shift + 1


async def execute_notebook(
    nb: Any,
    kernel: Kernel,
    timeout: int | None = 900,
    on_cell: CellHook | None = None,
    label: str = "notebook",
) -> Any:
    """Execute ``nb`` (already parameterised) in ``kernel``; return the executed notebook.

    Raises
    ------
    ExecutionFailed
        With a one-line summary ``"<label> failed in cell N (`code`): Error: message"``; the partly
        executed notebook (with the error output) is attached.
    """
    current = {"index": 0}
    n_code = sum(1 for c in nb.cells if c.cell_type == "code")
    counter = {"n": 0}

    def _start(cell: Any, cell_index: int) -> None:
        current["index"] = cell_index

    def _done(cell: Any, cell_index: int, **_: Any) -> None:
        counter["n"] += 1
        if on_cell is not None:
            on_cell(counter["n"], n_code)

    client = _Client(
        nb,
        km=kernel.km,
        timeout=timeout,
        kernel_name=kernel.km.kernel_name,
        on_cell_start=_start,
        on_cell_executed=_done,
        record_timing=False,
    )
    client.kc = kernel.kc
    try:
        await client.async_execute()
        _merge_adjacent_streams(nb)
        _stable_table_ids(nb)
    except CellTimeoutError:
        i = current["index"]
        raise ExecutionFailed(
            f"{label} failed in cell {_original_index(nb, i)} (`{_source_line(nb.cells[i])}`): "
            f"the cell ran longer than the cell time-out of {timeout} s",
            nb,
            i,
        ) from None
    except DeadKernelError:
        i = current["index"]
        raise ExecutionFailed(
            f"{label} failed in cell {_original_index(nb, i)} (`{_source_line(nb.cells[i])}`): "
            "the kernel died (out of memory?)",
            nb,
            i,
        ) from None
    except CellExecutionError as exc:
        i = current["index"]
        evalue = " ".join(str(exc.evalue).split())
        if len(evalue) > 300:
            evalue = evalue[:297] + "..."
        raise ExecutionFailed(
            f"{label} failed in cell {_original_index(nb, i)} (`{_failing_statement(nb.cells[i])}`): "
            f"{exc.ename}: {evalue}",
            nb,
            i,
        ) from None
    return nb
