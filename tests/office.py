"""LibreOffice for the tests: render a deck to PDF with ``soffice --headless``.

:func:`soffice` skips the calling test with the reason where LibreOffice is missing, except in
CI (``CI`` set), where ``.ci/run`` installs ``libreoffice-impress`` and a missing one fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["pdf_pages", "render_pdf", "soffice"]


def soffice() -> str:
    """LibreOffice's ``soffice``; skips where it is missing (fails in CI, which installs it)."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        msg = "LibreOffice (soffice) is not installed (Debian: apt-get install libreoffice-impress)"
        if os.environ.get("CI"):
            pytest.fail(msg + "; .ci/run installs it in CI")
        pytest.skip(msg)
    return exe


def render_pdf(pptx: Path, out: Path) -> Path:
    """``pptx`` rendered to PDF by LibreOffice (own profile folder; waits up to 10 minutes)."""
    exe = soffice()
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            exe,
            f"-env:UserInstallation=file://{out / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(pptx),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    pdf = out / (pptx.stem + ".pdf")
    assert pdf.is_file(), f"LibreOffice wrote no PDF for {pptx.name}"
    return pdf


def pdf_pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
