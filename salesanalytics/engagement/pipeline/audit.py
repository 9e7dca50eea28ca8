"""Checks that a run's client pages read as a deliverable, not as an analyst's output.

:func:`audit_client_pages` scans every client HTML page of a run folder (``client/**/*.html``)
and lists what a partner would not sign:

* table headers that are code (``current_mrr``, ``n_territories``) and code words in the text
  (``team_lead``, a formula such as ``churned_mrr / start_mrr``);
* ``True`` / ``False`` in a table cell;
* ids where a name exists: a rep, account or opportunity id of the run's CRM data in a table
  column not marked as an id column (header ending in ``ID``), or in a page's title block;
* internal paths and file names (``salesanalytics/config/...``, ``.yaml``, ``.parquet``,
  ``.ipynb``, home or temporary folders, "output table ...");
* the demo's planted truths (``truth.json``, "demo check", "planted");
* grey monospace boxes (``<pre>``: printed console output instead of prose).

It uses the standard library's HTML parser only, so it can run anywhere a run folder is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "ENGLISH_PHRASES",
    "GERMAN_LOANWORDS",
    "audit_client_pages",
    "audit_page",
    "english_left",
    "known_ids",
    "map_words",
]

_CODE_HEADER = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
_INTERNAL = re.compile(
    r"salesanalytics/|\.ya?ml\b|\.parquet\b|\.ipynb\b|/home/|/tmp/|/work/|\\Users\\|"
    r"output table\b|truth(?:_accounts)?\.(?:json|parquet)|demo check|planted",
    re.I,
)


_CODE_WORD = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b(?!\.(?:xlsx|csv|pdf|html))")
"""A snake_case word in running text (``team_lead``, ``churned_mrr / start_mrr``); a deliverable's
file name (``territory_plan.xlsx``) is fine."""


@dataclass
class _Table:
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


class _Page(HTMLParser):
    """Collects tables (headers and cells), ``<pre>`` blocks, the title block and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self.pre = 0
        self.text: list[str] = []
        self.title_block: list[str] = []
        self._stack: list[_Table] = []
        self._cell: list[str] | None = None
        self._cell_is_header = False
        self._row: list[str] | None = None
        self._in_thead = False
        self._skip = 0  # inside <style> or <script> (the map library and its data: not text)
        self._header = 0  # inside <header class="sa-header">
        self._map: list[str] | None = None  # inside a map's data block (its words are text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and "sa-imap-data" in (dict(attrs).get("class") or ""):
            self._map = []
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "header":
            self._header += 1
        elif tag == "table":
            self._stack.append(_Table())
        elif tag == "thead":
            self._in_thead = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
            self._cell_is_header = tag == "th" and (self._in_thead or not self._row)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._map is not None:
            self.text.extend(f" {w} " for w in map_words("".join(self._map)))
            self._map = None
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)
        elif tag == "header":
            self._header = max(0, self._header - 1)
        elif tag == "thead":
            self._in_thead = False
        elif tag in ("td", "th") and self._cell is not None and self._stack:
            text = " ".join("".join(self._cell).split())
            t = self._stack[-1]
            if self._cell_is_header and self._in_thead:
                t.headers.append(text)
            elif self._row is not None:
                self._row.append(text)
            self._cell = None
        elif tag == "tr" and self._row is not None and self._stack:
            if self._row:
                self._stack[-1].rows.append(self._row)
            self._row = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data: str) -> None:
        if self._map is not None:
            self._map.append(data)
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._header:
            self.title_block.append(data)


_MAP_TEXT = {"Title": ("text",), "ColorBar": ("title",), "LegendItem": ("label",)}


def _map_text(v: Any) -> list[str]:
    """A text attribute of a map model (a string or a ``{"value": ...}``), as a list."""
    if isinstance(v, str) and v.strip():
        return [v]
    if isinstance(v, dict) and isinstance(v.get("value"), str):
        return [v["value"]]
    return []


def _node_words(name: str, attrs: dict[str, Any]) -> list[str]:
    """The words one map model shows: its text attributes, a hover tool's labels and templates."""
    out = [w for key in _MAP_TEXT.get(name, ()) for w in _map_text(attrs.get(key))]
    if name == "HoverTool" and isinstance(attrs.get("tooltips"), list):
        for pair in attrs["tooltips"]:
            if isinstance(pair, list) and pair:
                out += _map_text(pair[0])
                # the value template's words ("@value per month"), not its fields
                if len(pair) > 1 and isinstance(pair[1], str):
                    out += _map_text(re.sub(r"@\{?\w+\}?", " ", pair[1]))
    return out


def map_words(data: str) -> list[str]:
    """The words a reader sees on an interactive map: title, legend, colour bar, tooltip labels.

    Parameters
    ----------
    data
        The JSON of a map's data block (a Bokeh ``json_item``); unreadable data gives no words.
    """
    try:
        item = json.loads(data)
    except ValueError:
        return []
    out: list[str] = []
    todo = [item]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            attrs = node.get("attributes")
            if isinstance(attrs, dict):
                out += _node_words(str(node.get("name")), attrs)
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return out


def known_ids(run_dir: str | Path) -> set[str]:
    """Ids of reps, accounts and opportunities in a run's intake tables (those have names)."""
    ids: set[str] = set()
    base = Path(run_dir) / "data" / "intake"
    for table, col in (
        ("reps", "rep_id"),
        ("accounts", "account_id"),
        ("opportunities", "opportunity_id"),
    ):
        path = base / f"{table}.parquet"
        if path.is_file():
            ids |= set(pd.read_parquet(path, columns=[col])[col].dropna().astype(str))
    return ids


def audit_page(
    html_text: str, ids: set[str] | frozenset[str] = frozenset(), name: str = "page"
) -> list[str]:
    """Problems of one client page (see the module docstring); empty when it is clean."""
    page = _Page()
    page.feed(html_text)
    problems: list[str] = []
    if page.pre:
        problems.append(f"{name}: {page.pre} monospace box(es) (<pre>): print output, not prose")
    text = " ".join(page.text)
    for m in sorted({m.group(0) for m in _INTERNAL.finditer(text)}):
        problems.append(f"{name}: internal path, file name or demo check in the text: {m!r}")
    for m in sorted({m.group(0) for m in _CODE_WORD.finditer(text)}):
        problems.append(f"{name}: code word in the text: {m!r}")
    title = " ".join(page.title_block)
    for i in sorted(i for i in ids if len(i) >= 6 and i in title):
        problems.append(f"{name}: id {i!r} in the title block (show the name)")
    for t in page.tables:
        for h in t.headers:
            if _CODE_HEADER.match(h):
                problems.append(f"{name}: column header {h!r} is code, not words")
        id_cols = {j for j, h in enumerate(t.headers) if re.search(r"\bID$", h)}
        for row in t.rows:
            for j, cell in enumerate(row):
                if cell in ("True", "False"):
                    problems.append(f"{name}: {cell} in a table cell (yes/no)")
                elif ids and cell in ids and j not in id_cols:
                    head = t.headers[j] if j < len(t.headers) else f"column {j + 1}"
                    problems.append(f"{name}: id {cell!r} in column {head!r} (show the name)")
    # one line per kind of problem and page is enough to find it
    return list(dict.fromkeys(problems))


def audit_client_pages(run_dir: str | Path) -> list[str]:
    """Problems of every client page of a run (``client/**/*.html``), page by page.

    Parameters
    ----------
    run_dir
        A run folder (``reports/<client>/<run-id>``).

    Returns
    -------
    list of str
        ``"client/<page>: <problem>"``; empty when every page is clean.
    """
    run = Path(run_dir)
    ids = known_ids(run)
    problems: list[str] = []
    for path in sorted((run / "client").rglob("*.html")):
        rel = path.relative_to(run).as_posix()
        problems += audit_page(path.read_text(encoding="utf-8"), ids, rel)
    return problems


ENGLISH_PHRASES: tuple[str, ...] = (
    "the",
    "and",
    "of",
    "with",
    "which",
    "from",
    "for",
    "this",
    "that",
    "are",
    "is",
    "than",
    "to",
    "their",
    "by",
    "or",
    "each",
    "every",
    "not",
    "none",
    "yes",
    "customers",
    "customer",
    "territory",
    "territories",
    "rep",
    "reps",
    "revenue",
    "workload",
    "today",
    "proposed",
    "proposal",
    "share",
    "deal",
    "deals",
    "per rep",
    "per month",
    "per year",
    "target",
    "churn risk",
    "key account",
    "key accounts",
    "field sales",
    "tele sales",
    "online sales",
    "base salary",
    "incentive",
    "statement",
    "cockpit of",
    "no data",
    "Contents",
    "report",
)
"""English words and phrases that never stand in German running text (whole words, case as
written for capitalised ones, any case for lower-case ones): a German report that shows one has
English left. CRM data (names, product groups, stage names) may hold English words; pass them as
``allowed``."""


_FIELD_CODE = re.compile(r"\b[a-z][a-z_]*\.[a-z][a-z_]*\b")
"""A canonical table and column (``accounts.postal_code``): a code, not English running text."""

GERMAN_LOANWORDS: tuple[str, ...] = ("Share of Wallet", "Key Accounts", "Key Account")
"""English terms a German sales consultancy uses as they are (always allowed by
:func:`english_left`; ``Account`` is German CRM usage and not in :data:`ENGLISH_PHRASES`)."""


def _client_part(html_text: str) -> str:
    """The client's part of the index page (the project team's part is internal)."""
    cut = html_text.find('<section class="sa-analyst">')
    return html_text if cut < 0 else html_text[:cut]


def english_left(
    run_dir: str | Path,
    phrases: Sequence[str] = ENGLISH_PHRASES,
    allowed: Sequence[str] = (),
) -> list[str]:
    """English left in a non-English run.

    Every phrase of ``phrases`` found in the visible text of the client pages (``client/**/*.html``)
    and the client part of ``index.html``.

    Parameters
    ----------
    run_dir
        A run folder.
    phrases
        Words and phrases to look for (:data:`ENGLISH_PHRASES`).
    allowed
        Text that may appear as it is (CRM data: names, product groups, stage names); removed
        from the page text before the search.

    Returns
    -------
    list of str
        ``"<page>: 'phrase' in …context…"``, one per page and phrase; empty when none is left.
    """
    run = Path(run_dir)
    pages = sorted((run / "client").rglob("*.html"))
    out: list[str] = []
    # CRM text is taken out as whole words ("Au", a place, leaves "Auto" alone)
    words = sorted({w for w in [*allowed, *GERMAN_LOANWORDS] if w}, key=len, reverse=True)
    allowed_re = re.compile(
        r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)" if words else r"(?!x)x"
    )
    pats = [
        (
            p,
            re.compile(
                rf"(?<![\w-]){re.escape(p)}(?![\w-])",
                0 if p[:1].isupper() else re.IGNORECASE,
            ),
        )
        for p in phrases
    ]
    for path in [run / "index.html", *pages]:
        if not path.is_file():
            continue
        page = _Page()
        raw = path.read_text(encoding="utf-8")
        page.feed(_client_part(raw) if path.name == "index.html" else raw)
        text = " ".join(" ".join(page.text).split())
        text = allowed_re.sub(" ", text)
        text = _FIELD_CODE.sub(" ", text)  # reps.home_postal_code: a field of the data model
        rel = path.relative_to(run).as_posix()
        for phrase, pat in pats:
            m = pat.search(text)
            if m:
                ctx = text[max(0, m.start() - 50) : m.end() + 50]
                out.append(f"{rel}: {phrase!r} in …{ctx}…")
    return out
