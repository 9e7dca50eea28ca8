"""``salesanalytics compare RUN_A RUN_B``: what changed between two run folders.

Two runs of the same data and parameters must agree: every Parquet output under ``data/`` is
compared frame by frame (columns, dtypes, index, every cell exactly; NaN equals NaN) and every
client report under ``client/`` by its visible text (what a reader sees: text outside scripts and
styles, image alt texts; the charts' pixels are not compared). The differences are listed by table,
column and row, or by report and line.

What legitimately differs between two runs is ignored explicitly, never by a loose match: each
run's own run id (from its ``manifest.json``, e.g. ``20261207-132304``) and the date and time the run
started, in the forms the reports show them (``07.12.2026``, ``2026-12-07``, ``13:23``), are replaced
by placeholders in the report texts before comparing (:data:`RUN_STAMP_FORMATS`).
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from salesanalytics.errors import UserError

__all__ = [
    "RUN_STAMP_FORMATS",
    "Difference",
    "compare_frames",
    "compare_runs",
    "compare_texts",
    "format_differences",
    "register_cli",
    "run_stamps",
    "visible_text",
]

RUN_STAMP_FORMATS: tuple[tuple[str, str], ...] = (
    ("%d.%m.%Y %H:%M", "<run time>"),
    ("%Y-%m-%d %H:%M", "<run time>"),
    ("%d.%m.%Y", "<run date>"),
    ("%Y-%m-%d", "<run date>"),
)
"""How the reports show the moment a run started (``strftime`` format -> placeholder); longest
first so that a date with its time is replaced as a whole."""

_SKIP_TAGS = {"script", "style", "template", "noscript"}


@dataclass(frozen=True)
class Difference:
    """One difference between two runs.

    Attributes
    ----------
    path
        File inside the run folder (``data/potential/account_potential.parquet``).
    what
        ``"only in A"``, ``"only in B"``, ``"columns"``, ``"dtypes"``, ``"rows"``, ``"index"``,
        ``"values"`` or ``"text"``.
    detail
        Readable description (differing columns with their first differing rows, or text lines).
    """

    path: str
    what: str
    detail: str


# --- reading ----------------------------------------------------------------------------------


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[image: {alt}]")
        if tag in {"p", "div", "li", "tr", "br", "h1", "h2", "h3", "h4", "section", "table"}:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        elif tag in {"td", "th"}:
            self.parts.append(" | ")
        elif tag in {"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "section", "table"}:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> list[str]:
    """The text a reader sees on an HTML page, one non-empty line per block, spaces collapsed.

    Text inside ``script``, ``style``, ``template`` and ``noscript`` is left out; an image
    counts by its ``alt`` text.
    """
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return [line for line in lines if line and line != "|"]


def run_stamps(run_dir: Path) -> dict[str, str]:
    """The run's own id and start time as the reports show them -> their placeholders.

    Read from ``manifest.json`` (``run_id``, ``started``); the folder name stands in for the
    run id when there is no manifest.
    """
    manifest: dict[str, Any] = {}
    mf = run_dir / "manifest.json"
    if mf.exists():
        manifest = json.loads(mf.read_text(encoding="utf-8"))
    stamps: dict[str, str] = {}
    run_id = str(manifest.get("run_id") or run_dir.resolve().name)
    stamps[run_id] = "<run id>"
    started = manifest.get("started")
    if started:
        moment = datetime.fromisoformat(str(started))
        for fmt, placeholder in RUN_STAMP_FORMATS:
            stamps.setdefault(moment.strftime(fmt), placeholder)
    return stamps


RUN_ID = re.compile(r"\b\d{8}-\d{6}(?:-\d\d)?\b")
"""Any run id (``20261207-153216``): a report reused from an earlier run shows that run's id."""


def _mask(lines: Iterable[str], stamps: dict[str, str]) -> list[str]:
    out = list(lines)
    if stamps:
        pattern = re.compile("|".join(re.escape(s) for s in sorted(stamps, key=len, reverse=True)))
        out = [pattern.sub(lambda m: stamps[m.group(0)], line) for line in out]
    return [RUN_ID.sub("<run id>", line) for line in out]


# --- comparing --------------------------------------------------------------------------------


def _same(x: Any, y: Any) -> bool:
    """Exact equality of two cells; NaN/None/NA equal each other; arrays/lists element-wise."""
    if hasattr(x, "tolist") and not isinstance(x, str | bytes):
        x = x.tolist()
    if hasattr(y, "tolist") and not isinstance(y, str | bytes):
        y = y.tolist()
    if isinstance(x, list | tuple) or isinstance(y, list | tuple):
        if not (isinstance(x, list | tuple) and isinstance(y, list | tuple)) or len(x) != len(y):
            return False
        return all(_same(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, dict) or isinstance(y, dict):
        return (
            isinstance(x, dict)
            and isinstance(y, dict)
            and x.keys() == y.keys()
            and all(_same(x[k], y[k]) for k in x)
        )
    x_missing, y_missing = _missing(x), _missing(y)
    if x_missing or y_missing:
        return x_missing and y_missing
    try:
        return bool(x == y)
    except (TypeError, ValueError):
        return repr(x) == repr(y)


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        import pandas as pd

        return bool(v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)))
    except (TypeError, ValueError):
        return False


def compare_frames(a: Any, b: Any, path: str = "", max_rows: int = 5) -> list[Difference]:
    """Differences between two DataFrames: columns, dtypes, index and every cell, exactly.

    Parameters
    ----------
    a, b
        The frames (any columns).
    path
        Name of the table in the messages.
    max_rows
        How many differing rows to show per column (all are counted).

    Returns
    -------
    list of Difference
        Empty when the frames are equal.
    """
    out: list[Difference] = []
    cols_a, cols_b = [str(c) for c in a.columns], [str(c) for c in b.columns]
    if cols_a != cols_b:
        only_a = [c for c in cols_a if c not in cols_b]
        only_b = [c for c in cols_b if c not in cols_a]
        detail = f"only in A: {only_a or '-'}; only in B: {only_b or '-'}"
        if not only_a and not only_b:
            detail = f"same columns in another order: A {cols_a}, B {cols_b}"
        out.append(Difference(path, "columns", detail))
    common = [c for c in a.columns if c in set(b.columns)]
    dtypes = [f"{c}: {a[c].dtype} vs {b[c].dtype}" for c in common if a[c].dtype != b[c].dtype]
    if dtypes:
        out.append(Difference(path, "dtypes", "; ".join(dtypes)))
    if len(a) != len(b):
        out.append(Difference(path, "rows", f"{len(a)} rows in A, {len(b)} in B"))
        return out
    if not a.index.equals(b.index):
        bad = [i for i, (x, y) in enumerate(zip(a.index, b.index, strict=True)) if not _same(x, y)]
        out.append(
            Difference(
                path, "index", f"{len(bad)} row labels differ, first at rows {bad[:max_rows]}"
            )
        )
    for c in common:
        va, vb = a[c].tolist(), b[c].tolist()
        rows = [i for i, (x, y) in enumerate(zip(va, vb, strict=True)) if not _same(x, y)]
        if rows:
            shown = ", ".join(f"row {i}: {va[i]!r} vs {vb[i]!r}" for i in rows[:max_rows])
            more = f" (+{len(rows) - max_rows} more)" if len(rows) > max_rows else ""
            out.append(
                Difference(path, "values", f"column {c}: {len(rows)} rows differ: {shown}{more}")
            )
    return out


def compare_texts(
    a: Sequence[str], b: Sequence[str], path: str = "", max_lines: int = 12
) -> list[Difference]:
    """Differences between two texts (lists of lines) as one unified diff, ``max_lines`` shown."""
    if list(a) == list(b):
        return []
    diff = [
        d
        for d in difflib.unified_diff(list(a), list(b), "A", "B", n=0, lineterm="")
        if d[:1] in "+-" and not d.startswith(("+++", "---"))
    ]
    more = f"\n  ... (+{len(diff) - max_lines} more lines)" if len(diff) > max_lines else ""
    return [Difference(path, "text", "\n  ".join(diff[:max_lines]) + more)]


def _files(run: Path, folder: str, pattern: str) -> set[str]:
    base = run / folder
    return {p.relative_to(run).as_posix() for p in base.rglob(pattern)} if base.is_dir() else set()


def compare_runs(
    run_a: str | Path, run_b: str | Path, max_rows: int = 5, max_lines: int = 12
) -> list[Difference]:
    """Every difference between two run folders' Parquet outputs and client reports.

    Parameters
    ----------
    run_a, run_b
        Run folders (``reports/<slug>/<run-id>`` or a ``latest`` link).
    max_rows, max_lines
        How many differing rows per column / report lines to show.

    Returns
    -------
    list of Difference
        Sorted by file; empty when the runs agree. Run ids and start times are masked in the
        reports (see the module docstring).

    Raises
    ------
    UserError
        When a folder does not exist or holds neither ``data/`` nor ``client/``.
    """
    import pandas as pd

    runs = [Path(run_a), Path(run_b)]
    for label, run in zip("AB", runs, strict=True):
        if not (run / "data").is_dir() and not (run / "client").is_dir():
            raise UserError(
                f"run {label}: {run} is not a run folder (no data/ or client/ inside); "
                "give a folder such as reports/<slug>/<run-id> or reports/<slug>/latest"
            )
    out: list[Difference] = []
    for kind, folder, pattern in (("table", "data", "*.parquet"), ("report", "client", "*.html")):
        fa, fb = _files(runs[0], folder, pattern), _files(runs[1], folder, pattern)
        out += [Difference(p, "only in A", f"{kind} missing in B") for p in sorted(fa - fb)]
        out += [Difference(p, "only in B", f"{kind} missing in A") for p in sorted(fb - fa)]
        for rel in sorted(fa & fb):
            if kind == "table":
                da, db = (pd.read_parquet(r / rel) for r in runs)
                out += compare_frames(da, db, rel, max_rows=max_rows)
            else:
                ta, tb = (
                    _mask(visible_text((r / rel).read_text(encoding="utf-8")), run_stamps(r))
                    for r in runs
                )
                out += compare_texts(ta, tb, rel, max_lines=max_lines)
    return sorted(out, key=lambda d: d.path)


def format_differences(diffs: Sequence[Difference]) -> str:
    """The differences as a readable list, one block per file."""
    if not diffs:
        return "no differences"
    lines = [f"{len(diffs)} difference(s) in {len({d.path for d in diffs})} file(s):"]
    for d in diffs:
        lines.append(f"- {d.path} [{d.what}]: {d.detail}")
    return "\n".join(lines)


# --- command line -----------------------------------------------------------------------------


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``compare`` subcommand."""
    p = subparsers.add_parser(
        "compare",
        help="list what differs between two runs (Parquet outputs, client report texts)",
        description="Compare two run folders: every Parquet output under data/ exactly (columns, "
        "dtypes, every cell) and every client report under client/ by its visible text. Each "
        "run's own run id and start date/time are ignored in the reports. Exit status 0 when "
        "they agree, 1 when they differ.",
    )
    p.add_argument("run_a", metavar="RUN_A", help="first run folder")
    p.add_argument("run_b", metavar="RUN_B", help="second run folder")
    p.add_argument(
        "--max-rows", type=int, default=5, help="differing rows shown per column (default 5)"
    )
    p.add_argument(
        "--max-lines", type=int, default=12, help="differing lines shown per report (default 12)"
    )
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """Handler of ``salesanalytics compare``: print the differences; 1 when there are any."""
    diffs = compare_runs(args.run_a, args.run_b, max_rows=args.max_rows, max_lines=args.max_lines)
    print(format_differences(diffs))
    return 1 if diffs else 0
