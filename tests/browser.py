"""Headless Chromium for the tests (Selenium + Debian's ``chromium`` and ``chromium-driver``).

:func:`chromium_driver` skips the calling test with the reason when Chromium or its driver is
missing, except in CI (``CI`` set), where ``.ci/run`` installs them and a missing one fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = ["DEEP_TEXT_JS", "chromium_driver", "hover_at"]

DEEP_TEXT_JS = """
const want = arguments[0].toLowerCase();
const out = [];
function walk(root) {
  for (const el of root.querySelectorAll('*')) {
    const cls = (el.getAttribute && el.getAttribute('class')) || '';
    if (cls.toLowerCase().includes(want) && el.offsetParent !== null) { out.push(el.innerText); }
    if (el.shadowRoot) { walk(el.shadowRoot); }
  }
}
walk(document);
return out.join('\\n');
"""
"""Visible text of every element (shadow roots included) whose class contains the argument."""


def _find(names: tuple[str, ...]) -> str | None:
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


@contextmanager
def chromium_driver(tmp: Path, width: int = 1280, height: int = 1400) -> Iterator[Any]:
    """A headless Chromium WebDriver with the network off and the console log recorded."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover - dev extra missing
        if os.environ.get("CI"):
            raise
        pytest.skip("selenium is not installed (dev extra)")
    browser = _find(("chromium", "chromium-browser", "google-chrome"))
    driver_bin = _find(("chromedriver",))
    if browser is None or driver_bin is None:
        missing = "chromium" if browser is None else "chromium-driver"
        msg = f"{missing} is not installed (Debian: apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(msg + "; .ci/run installs it in CI")
        pytest.skip(msg)
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        f"--window-size={width},{height}",
        # network off: every host name fails to resolve, nothing can be fetched
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://0.0.0.0:9",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_bin), options=opts)
    try:
        drv.execute_cdp_cmd("Network.enable", {})
        drv.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
        )
        yield drv
    finally:
        drv.quit()


def hover_at(driver: Any, x: float, y: float) -> None:
    """Move the mouse to viewport position (x, y) (CSS pixels)."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    ab = ActionBuilder(driver)
    ab.pointer_action.move_to_location(int(x), int(y))
    ab.perform()
