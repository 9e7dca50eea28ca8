"""Kernel pool: kernels are recycled after a successful notebook, with a clean namespace and the
global state of a fresh kernel; a kernel whose notebook failed is never reused."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from waiting import LIMIT, wait_for_async

from salesanalytics.engagement.pipeline import kernelstate
from salesanalytics.engagement.pipeline.execute import ExecutionFailed, KernelPool, execute_notebook

WARMUP = "import pandas, matplotlib, matplotlib.pyplot"

MESSY = """\
import os, sys, warnings
import matplotlib as mpl
import pandas as pd
leaked = 42
mpl.rcParams["axes.grid"] = True
mpl.rcParams["figure.figsize"] = (3.0, 2.0)
pd.set_option("display.max_rows", 7)
warnings.simplefilter("error")
os.environ["SA_TEST_LEAK"] = "1"
sys.path.insert(0, "/nowhere")
os.chdir("/")
"""

PROBE = """\
import os, sys, json, warnings
import matplotlib as mpl
import pandas as pd
print(json.dumps({
    "leaked": "leaked" in globals(),
    "grid": bool(mpl.rcParams["axes.grid"]),
    "figsize": list(mpl.rcParams["figure.figsize"]),
    "max_rows": pd.get_option("display.max_rows"),
    "always_error": bool(warnings.filters) and warnings.filters[0][0] == "error",
    "env": os.environ.get("SA_TEST_LEAK"),
    "nowhere": "/nowhere" in sys.path,
    "cwd": os.getcwd(),
    "pid": os.getpid(),
    "cached_outputs": len(Out),
    "last_output": repr(_),
}))
"""


def _nb(*sources: str) -> Any:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _probe(nb: Any) -> dict[str, Any]:
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return json.loads(text)


async def _scenario(cwd: Path, recycle: bool) -> dict[str, Any]:
    pool = KernelPool(cwd, size=1, warmup=WARMUP, recycle=recycle)
    try:
        pool.prefetch(1)
        k1 = await pool.acquire()
        fresh = _probe(await execute_notebook(_nb(PROBE), k1))
        messy = await execute_notebook(_nb(MESSY, "leaked", PROBE), k1)
        pool.release(k1, reuse=True)
        k2 = await pool.acquire()
        after = await execute_notebook(_nb("x = 1", PROBE), k2)
        with pytest.raises(ExecutionFailed, match=r"cell 1 .*ZeroDivisionError"):
            await execute_notebook(_nb("1 / 0"), k2)
        pool.release(k2, reuse=False)
        k3 = await pool.acquire()
        third = _probe(await execute_notebook(_nb(PROBE), k3))
        pool.release(k3, reuse=True)
        return {
            "fresh": fresh,
            "messy": _probe(messy),
            "after": _probe(after),
            "after_counts": [c.execution_count for c in after.cells],
            "third": third,
            "started": pool.started,
            "recycled": pool.recycled,
        }
    finally:
        await pool.close()


@pytest.fixture(scope="module")
def recycled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return asyncio.run(_scenario(tmp_path_factory.mktemp("kernels"), recycle=True))


def test_recycled_kernel_is_the_same_process_with_a_clean_state(recycled: dict[str, Any]) -> None:
    fresh, messy, after = recycled["fresh"], recycled["messy"], recycled["after"]
    assert messy["leaked"] and messy["grid"] and messy["max_rows"] == 7 and messy["env"] == "1"
    assert messy["cwd"] == "/" and messy["nowhere"] and messy["always_error"]
    assert messy["cached_outputs"] == 1 and messy["last_output"] == "42"
    assert after["pid"] == fresh["pid"]  # recycled, not restarted
    assert {k: v for k, v in after.items() if k != "pid"} == {
        k: v for k, v in fresh.items() if k != "pid"
    }
    assert after["leaked"] is False and after["env"] is None and after["max_rows"] == 60
    assert after["cached_outputs"] == 0 and after["last_output"] == "''"
    assert recycled["after_counts"] == [1, 2]  # numbering restarts, as in a fresh kernel


def test_failed_kernel_is_not_reused(recycled: dict[str, Any]) -> None:
    assert recycled["third"]["pid"] != recycled["fresh"]["pid"]
    assert recycled["started"] == 2
    assert recycled["recycled"] == 1


def test_without_recycling_every_acquire_gets_a_new_kernel(tmp_path: Path) -> None:
    async def go() -> tuple[int, int, int]:
        pool = KernelPool(tmp_path, size=1, warmup=WARMUP, recycle=False)
        try:
            k1 = await pool.acquire()
            p1 = _probe(await execute_notebook(_nb(PROBE), k1))["pid"]
            pool.release(k1, reuse=True)
            k2 = await pool.acquire()
            p2 = _probe(await execute_notebook(_nb(PROBE), k2))["pid"]
            pool.release(k2, reuse=True)
            return p1, p2, pool.recycled
        finally:
            await pool.close()

    p1, p2, n_recycled = asyncio.run(go())
    assert p1 != p2 and n_recycled == 0


def test_restore_without_snapshot_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernelstate, "_STATE", {})
    with pytest.raises(RuntimeError, match="call snapshot\\(\\) after the warm-up first"):
        kernelstate.restore()


def test_snapshot_and_restore_in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import matplotlib as mpl
    import pandas as pd

    monkeypatch.setattr(kernelstate, "_STATE", {})
    monkeypatch.chdir(tmp_path)
    kernelstate.snapshot()
    grid = mpl.rcParams["axes.grid"]
    mpl.rcParams["axes.grid"] = not grid
    pd.set_option("display.max_columns", 3)
    monkeypatch.setenv("SA_TEST_OTHER", "x")
    kernelstate.restore()
    assert mpl.rcParams["axes.grid"] == grid
    assert pd.get_option("display.max_columns") != 3
    assert "SA_TEST_OTHER" not in os.environ


def test_waiting_acquire_takes_a_kernel_handed_back_meanwhile(tmp_path: Path) -> None:
    """A phase waiting for a kernel that is still starting gets a recycled one as soon as it is
    handed back, instead of waiting for the start-up.

    The second kernel's warm-up blocks until the test opens a gate (after the assertions): the
    kernel handed out can only be the recycled one, however fast or slow the machine is."""
    first, starting, gate = tmp_path / "first", tmp_path / "second-starting", tmp_path / "gate"
    warmup = (
        "import os, time\n"
        "try:\n"
        f"    os.close(os.open({str(first)!r}, os.O_CREAT | os.O_EXCL))\n"
        "except FileExistsError:\n"
        f"    open({str(starting)!r}, 'w').close()\n"
        f"    while not os.path.exists({str(gate)!r}):\n"
        "        time.sleep(0.05)\n"
    )

    async def go() -> tuple[int, int, bool, int]:
        pool = KernelPool(tmp_path, size=2, warmup=warmup)
        try:
            k1 = await pool.acquire()
            p1 = _probe(await execute_notebook(_nb(PROBE), k1))["pid"]
            waiting = asyncio.ensure_future(pool.acquire())  # starts a second, blocked kernel
            await wait_for_async("the second kernel's warm-up", starting.exists)
            pool.release(k1, reuse=True)
            k2 = await asyncio.wait_for(waiting, LIMIT)
            second_still_blocked = not gate.exists() and pool.started == 2
            p2 = _probe(await execute_notebook(_nb(PROBE), k2))["pid"]
            pool.release(k2, reuse=True)
            return p1, p2, second_still_blocked, pool.started
        finally:
            gate.touch()
            await pool.close()

    p1, p2, second_still_blocked, started = asyncio.run(go())
    assert p2 == p1 and second_still_blocked
    assert started == 2  # the blocked one was started, then not needed


def test_text_printed_in_chunks_becomes_one_output_and_order_is_kept(tmp_path: Path) -> None:
    code = (
        "import sys, time\nfrom IPython.display import display, HTML\n"
        "sys.stdout.write('a'); sys.stdout.flush(); time.sleep(0.05)\n"
        "sys.stdout.write('b\\n'); sys.stdout.flush()\n"
        "display(HTML('<p>t</p>'))\nprint('c')"
    )

    async def go() -> Any:
        pool = KernelPool(tmp_path, size=1, warmup=WARMUP)
        try:
            k = await pool.acquire()
            nb = await execute_notebook(_nb(code), k)
            pool.release(k)
            return nb
        finally:
            await pool.close()

    outs = asyncio.run(go()).cells[0].outputs
    kinds = [(o.output_type, o.get("text")) for o in outs]
    assert kinds[0] == ("stream", "ab\n")
    assert kinds[1][0] == "display_data" and kinds[2] == ("stream", "c\n")
