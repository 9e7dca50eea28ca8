"""Waiting for events in tests: a test waits for a file or a state, never for a duration.

The limits are generous safety nets (minutes) against a hung process, not speed expectations: on
a busy machine a test takes longer but passes.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["LIMIT", "wait_for", "wait_for_async", "wait_process"]

LIMIT = 600.0
"""Seconds after which a wait gives up (10 minutes: a hung process, not a slow machine)."""

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T], limit: float = LIMIT) -> T:
    """Poll ``probe`` until it returns a truthy value and return it.

    Raises
    ------
    AssertionError
        Naming ``what`` if nothing happened within ``limit`` seconds.
    """
    deadline = time.monotonic() + limit
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {limit / 60:.0f} minutes")
        time.sleep(0.05)


async def wait_for_async(what: str, probe: Callable[[], T], limit: float = LIMIT) -> T:
    """:func:`wait_for` inside an event loop (other tasks go on while waiting)."""
    deadline = time.monotonic() + limit
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {limit / 60:.0f} minutes")
        await asyncio.sleep(0.05)


def wait_process(proc: subprocess.Popen[bytes], limit: float = LIMIT) -> int:
    """Wait for ``proc`` to end and return its exit status (kill it after ``limit`` seconds)."""
    try:
        return proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(
            f"process {proc.args!r} still running after {limit / 60:.0f} minutes"
        ) from None
