"""Kernel-side state for recycled kernels: a snapshot taken after the warm-up, restored between phases.

The pipeline runs the next phase in a kernel that has just finished another one (starting a
kernel and importing pandas, scipy, statsmodels and seaborn costs about 2.5 s of CPU, more than
many phases compute). Between two notebooks the runner calls :func:`restore`, which clears the user namespace
(variables, output caches, input history) and puts back what a notebook may change globally: matplotlib
figures and ``rcParams`` (themes), pandas options, warning filters, working directory,
``sys.path``, environment variables, the execution counter and open widgets. Modules stay
imported; package functions keep no state between calls other than caches of immutable package
data, so a phase computes the same numbers in a recycled kernel as in a fresh one (a test runs
the same notebook both ways and compares).

This module runs inside the kernel; it is imported by the warm-up code.
"""

from __future__ import annotations

import copy
import gc
import os
import sys
import warnings
from typing import Any

__all__ = ["restore", "snapshot"]

_STATE: dict[str, Any] = {}


def snapshot() -> None:
    """Remember the kernel's global state as it is now (call once, after the warm-up imports)."""
    import matplotlib as mpl

    _STATE["rc"] = copy.deepcopy({k: v for k, v in mpl.rcParams.items() if k != "backend"})
    _STATE["filters"] = list(warnings.filters)
    _STATE["cwd"] = os.getcwd()
    _STATE["sys_path"] = list(sys.path)
    _STATE["environ"] = dict(os.environ)
    # everything loaded so far (modules, their data) lives as long as the kernel: keep it out of
    # every garbage collection, which would otherwise walk it again and again
    gc.collect()
    gc.freeze()


def restore() -> None:
    """Clear the user namespace and put the global state back to the :func:`snapshot`.

    Raises
    ------
    RuntimeError
        If no snapshot was taken in this kernel.
    """
    if not _STATE:
        raise RuntimeError("no kernel state snapshot: call snapshot() after the warm-up first")
    import matplotlib as mpl
    import matplotlib.pyplot as plt
    import pandas as pd

    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mpl.rcParams.update(copy.deepcopy(_STATE["rc"]))
        pd.reset_option("all")  # the warm-up sets no pandas option
    warnings.filters[:] = _STATE["filters"]  # type: ignore[index]  # a list at run time
    mutated = getattr(warnings, "_filters_mutated", None)  # resets the "once" registries
    if mutated is not None:
        mutated()
    os.chdir(_STATE["cwd"])
    sys.path[:] = _STATE["sys_path"]
    for key in set(os.environ) - set(_STATE["environ"]):
        del os.environ[key]
    for key, value in _STATE["environ"].items():
        if os.environ.get(key) != value:
            os.environ[key] = value
    widgets = sys.modules.get("ipywidgets")
    if widgets is not None:
        widgets.Widget.close_all()
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - always present in a kernel
        shell = None
    if shell is not None:
        _clear_namespace(shell)
    gc.collect(1)  # young reference cycles; older ones go with Python's own collections


def _clear_namespace(shell: Any) -> None:
    """What ``%reset -f`` does, without its full garbage collection.

    User variables, output caches, input history. The full collection takes a fifth of a second with
    pandas, scipy and matplotlib loaded.
    """
    ns = shell.user_ns
    for key in [k for k in ns if k not in shell.user_ns_hidden]:
        del ns[key]
    hook = shell.displayhook
    for name in ("_", "__", "___"):
        ns[name] = ""
        if hasattr(hook, name):
            setattr(hook, name, "")
    shell.history_manager.reset(new_session=False)
    del shell.history_manager.input_hist_parsed[1:]
    del shell.history_manager.input_hist_raw[1:]
    shell.execution_count = 1
