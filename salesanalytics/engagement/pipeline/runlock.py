"""One run of a project at a time.

A lock file in the client's reports folder, and recovery of the folders that killed runs leave
behind.

``<reports>/<slug>/.run.lock`` holds the holder's pid, host, start time and command line. It is
locked with ``flock`` while a run (or ``salesanalytics clean``) works on the folder; the operating
system releases that lock when the holder's process ends in any way, so a lock left by a killed
run is recognised as stale (its pid recorded, the ``flock`` free) and taken over with a message.
On a file system without ``flock`` the pid alone decides: a holder that no longer exists on this
host is stale.

Holding the lock, :func:`recover_interrupted` marks run folders whose manifest still says
``running`` (or that have none) as ``interrupted`` and removes their ``.staging/`` folders and
half-written temporary files: no other run can be working in them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesanalytics.errors import UserError
from salesanalytics.present.deliverables import atomic_write_bytes

try:  # pragma: no cover - always there on Linux and macOS
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_FILE",
    "RUN_ID",
    "RecoveredRun",
    "RunLockedError",
    "project_lock",
    "recover_interrupted",
]

LOCK_FILE = ".run.lock"
RUN_ID = re.compile(r"\d{8}-\d{6}(-\d\d)?")
"""Names of run folders (``YYYYmmdd-HHMMSS`` with a ``-NN`` suffix for runs in the same second)."""
_STAGING = ".staging"
_MANIFEST = "manifest.json"


class RunLockedError(UserError):
    """Another run (or ``clean``) of the same project is working on its reports folder."""

    exit_code = 3


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    except OSError:  # pragma: no cover
        return False
    return True


def _read_holder(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = b""
    while chunk := os.read(fd, 65536):
        raw += chunk
    try:
        holder = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except ValueError:
        holder = {}
    return holder if isinstance(holder, dict) else {}


def _write_holder(fd: int, holder: dict[str, Any]) -> None:
    data = json.dumps(holder, ensure_ascii=False).encode("utf-8")
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)


def _describe(holder: dict[str, Any]) -> str:
    what = str(holder.get("command") or "a run")
    if len(what) > 120:
        what = what[:117] + "..."
    return (
        f"{what} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"started {holder.get('started', '?')})"
    )


def _try_flock(fd: int, blocking: bool) -> bool | None:
    """True if locked, False if held by another process, None if the file system has no flock."""
    if fcntl is None:  # pragma: no cover
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError:  # e.g. ENOLCK on some network file systems
        return None
    return True


@contextlib.contextmanager
def project_lock(
    folder: Path,
    *,
    wait: bool = False,
    command: str | None = None,
    log: Callable[[str], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Hold the run lock of the client's reports ``folder`` (``<reports>/<slug>``).

    Parameters
    ----------
    folder
        The client's reports folder (created if missing).
    wait
        Wait until the holder has finished instead of refusing.
    command
        What the holder is doing, shown to a run that finds the lock held.
    log
        Receives the messages (waiting, stale lock taken over); default: standard error.

    Yields
    ------
    dict
        The holder record written to the lock file (pid, host, started, command).

    Raises
    ------
    RunLockedError
        If another live process holds the lock and ``wait`` is false; the message names it.
    """
    say = log or (lambda msg: print(msg, file=sys.stderr))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        got = _try_flock(fd, blocking=False)
        holder = _read_holder(fd)
        if got is None:  # no flock here: the recorded pid decides
            pid = int(holder.get("pid") or 0)
            mine = holder.get("host") == socket.gethostname()
            if pid and holder.get("state") == "held" and mine and _pid_alive(pid):
                got = False
        if got is False:
            msg = f"another run of this project is in progress in {folder}: {_describe(holder)}. "
            if not wait:
                raise RunLockedError(
                    msg + "Wait for it to finish, or pass --wait to start when it has."
                )
            say(msg + "Waiting for it to finish ...")
            if _try_flock(fd, blocking=True) is None:  # pragma: no cover - no flock
                raise RunLockedError(msg + "Wait for it to finish, then run again.")
            holder = _read_holder(fd)
        if holder.get("state") == "held":
            say(
                f"note: taking over a stale lock of {_describe(holder)}: that process ended "
                "without releasing it (killed?)"
            )
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": _now(),
            "command": command or " ".join(["salesanalytics", *sys.argv[1:]]),
            "state": "held",
        }
        _write_holder(fd, me)
        try:
            yield me
        finally:
            with contextlib.suppress(OSError):
                _write_holder(fd, {**me, "state": "released", "released": _now()})
    finally:
        os.close(fd)  # releases the flock


@dataclass(frozen=True)
class RecoveredRun:
    """A run folder found unfinished (its process was killed) and marked ``interrupted``."""

    run_id: str
    removed: tuple[str, ...]


def _run_folders(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        d
        for d in folder.iterdir()
        if d.is_dir() and not d.is_symlink() and RUN_ID.fullmatch(d.name)
    )


def recover_interrupted(folder: Path, skip: Path | None = None) -> list[RecoveredRun]:
    """Mark the run folders of killed runs as ``interrupted`` and remove their leftovers.

    Call only while holding :func:`project_lock` (no run can be working in the folders then).
    A folder is unfinished when its manifest says ``running`` or it has no readable manifest.
    Its ``.staging/`` folder (half-written phase outputs) and temporary files of interrupted
    atomic writes (``.<name>.*.tmp``) are removed; finished phases' outputs are kept.

    Parameters
    ----------
    folder
        The client's reports folder.
    skip
        A run folder to leave alone (the caller's own new run).
    """
    out: list[RecoveredRun] = []
    for d in _run_folders(folder):
        if skip is not None and d == skip:
            continue
        path = d / _MANIFEST
        try:
            man = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            man = None
        if isinstance(man, dict) and man.get("status") != "running":
            continue
        removed: list[str] = []
        if (d / _STAGING).exists():
            shutil.rmtree(d / _STAGING, ignore_errors=True)
            removed.append(_STAGING + "/")
        for tmp in sorted(d.rglob(".*.tmp")):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp.relative_to(d).as_posix())
        if not isinstance(man, dict):
            man = {"run_id": d.name, "phases": {}}
        man["status"] = "interrupted"
        man["interrupted"] = (
            "the run's process ended before the run finished (killed or the machine stopped); "
            f"found by a later command at {_now()}"
        )
        atomic_write_bytes(
            path, json.dumps(man, indent=2, ensure_ascii=False, default=str).encode("utf-8")
        )
        with contextlib.suppress(OSError):
            os.chmod(path, 0o644)
        out.append(RecoveredRun(d.name, tuple(removed)))
    return out
