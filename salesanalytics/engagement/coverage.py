"""Coverage matrix: which phase and analysis the export supports, from the phases' declared needs.

Every phase declares, per analysis, what it needs from the canonical tables as data
(:class:`~salesanalytics.engagement.spec.Need` on its ``PhaseSpec.needs``). :func:`evaluate` checks
those needs against the intake's tables (derived tables included) and gives, per phase and
analysis, one of

``runs``
    everything it needs and uses is there;
``runs with limitations``
    it runs, but something it uses is missing (which, what it cannot say, what to add), or an
    upstream phase it can do without is skipped;
``skipped``
    something it cannot do without is missing (what, and what to add to the export), or an upstream
    phase it needs is skipped.

``salesanalytics validate`` prints the matrix; the intake writes it (``coverage.json``), and
``salesanalytics run`` prints it, skips the phases marked ``skipped`` (exit status 0, grey on the
index page with the reason) and records it in the manifest.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from salesanalytics.engagement.spec import Need, PhaseSpec
from salesanalytics.present.formats import num
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "LIMITED",
    "RUNS",
    "SKIPPED",
    "AnalysisCoverage",
    "Coverage",
    "PhaseCoverage",
    "count_requirement",
    "evaluate",
    "requirement_label",
]

RUNS = "runs"
LIMITED = "runs with limitations"
SKIPPED = "skipped"


@dataclass
class AnalysisCoverage:
    """Coverage of one analysis: status, what is missing and what to add."""

    analysis: str
    status: str
    missing: list[str] = field(default_factory=list)
    note: str = ""
    add: str = ""


@dataclass
class PhaseCoverage:
    """Coverage of one phase: its status, the reason (for skipped / limited) and its analyses."""

    phase: str
    title: str
    status: str
    reason: str = ""
    analyses: list[AnalysisCoverage] = field(default_factory=list)
    upstream: list[str] = field(default_factory=list)
    """What changes because an upstream phase it can do without is skipped (part of ``reason``)."""


@dataclass
class Coverage:
    """The coverage matrix of a whole engagement (phases in engagement order)."""

    phases: list[PhaseCoverage]

    def get(self, phase: str) -> PhaseCoverage | None:
        """Coverage of ``phase`` (``None`` if it was not evaluated)."""
        return next((p for p in self.phases if p.phase == phase), None)

    def to_json(self) -> dict[str, Any]:
        """Plain dict for ``coverage.json`` and the manifest."""
        return {"phases": [asdict(p) for p in self.phases]}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Coverage:
        """Inverse of :meth:`to_json`."""
        phases = []
        for p in obj.get("phases", []):
            analyses = [AnalysisCoverage(**a) for a in p.get("analyses", [])]
            phases.append(PhaseCoverage(**{**p, "analyses": analyses}))
        return cls(phases)

    def frame(self) -> pd.DataFrame:
        """One row per phase and analysis, with its status and what is missing.

        Columns ``phase``, ``title``, ``analysis``, ``status``, ``detail`` (what is missing or
        limited, and what to add); the first row of a phase has analysis ``whole phase``.
        """
        rows = []
        for p in self.phases:
            base = {"phase": p.phase, "title": p.title}
            rows.append({**base, "analysis": "whole phase", "status": p.status, "detail": p.reason})
            for a in p.analyses:
                detail = "; ".join(x for x in (a.note, a.add) if x)
                rows.append({**base, "analysis": a.analysis, "status": a.status, "detail": detail})
        return pd.DataFrame(rows, columns=["phase", "title", "analysis", "status", "detail"])

    def to_text(self, width: int = 100) -> str:
        """The matrix as text for the console.

        One line per phase, indented analyses below phases that do not simply run.
        """
        marks = {RUNS: "runs", LIMITED: "limited", SKIPPED: "SKIPPED"}
        lines = [
            "Coverage of the export (phase: runs / limited = runs with limitations / SKIPPED):"
        ]
        for p in self.phases:
            lines.append(f"  {p.phase:<20} {marks.get(p.status, p.status)}")
            if p.status == SKIPPED:
                lines.append(f"      {p.reason}")
                continue
            for a in p.analyses:
                if a.status != RUNS:
                    detail = "; ".join(x for x in (a.note, a.add) if x)
                    lines.append(f"      - {a.analysis} ({marks[a.status]}): {detail}")
            for note in p.upstream:
                lines.append(f"      - {note}")
        return "\n".join(_wrap(line, width) for line in lines)


def _wrap(line: str, width: int) -> str:
    body = line.lstrip()
    indent = " " * (len(line) - len(body))
    return textwrap.fill(
        body, width, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False
    )


def _parse(req: str) -> tuple[str, str | None, str | None]:
    table, _, rest = req.partition(".")
    if not rest:
        return table, None, None
    column, _, value = rest.partition("=")
    return table, column, (value if value else None)


def count_requirement(tables: Mapping[str, pd.DataFrame], req: str) -> int:
    """How many rows fulfil requirement ``req``.

    ``req`` is ``table``, ``table.column`` or ``table.column=value``; see
    :class:`~salesanalytics.engagement.spec.Need`.
    """
    table, column, value = _parse(req)
    df = tables.get(table)
    if df is None:
        return 0
    if column is None:
        return len(df)
    if column not in df.columns:
        return 0
    filled = getattr(df, "filled", None)
    if isinstance(filled, dict):  # a table the intake streamed to Parquet (not in memory)
        if value is None:
            return int(filled.get(column, 0))
        df = df.read([column])
    s = df[column]
    if value is None:
        return int(s.notna().sum())
    return int(s.astype("string").eq(value).fillna(False).sum())


def requirement_label(req: str) -> str:
    """``req`` in words.

    ``contracts`` -> ``table contracts``; ``accounts.postal_code`` -> ``column
    accounts.postal_code``; ``accounts.status=customer`` -> ``accounts with status 'customer'``.
    """
    table, column, value = _parse(req)
    if column is None:
        return _("table {table}").format(table=table)
    if value is None:
        return _("column {column}").format(column=f"{table}.{column}")
    return _("{table} with {column} '{value}'").format(table=table, column=column, value=value)


def _describe(req: str, n: int, need: int) -> str:
    rows = "." not in req or "=" in req
    found = (_("{n} rows") if rows else _("{n} filled values")).format(n=num(n))
    if need > 1:
        found = _("{found}, needs at least {need}").format(found=found, need=num(need))
    return f"{requirement_label(req)} ({found})"


def _short(title: str) -> str:
    """A phase's title in the run's language, up to its colon (``Kanal-Mix``, ``Churn``)."""
    return _(title).split(":")[0].strip()


def _analysis(need: Need, tables: Mapping[str, pd.DataFrame]) -> AnalysisCoverage:
    missing = [
        _describe(r, n, need.min_rows)
        for r in need.requires
        if (n := count_requirement(tables, r)) < need.min_rows
    ]
    add = _(need.add) if need.add else need.add  # the words in the run's language
    if missing:
        return AnalysisCoverage(
            need.analysis,
            SKIPPED,
            missing,
            _("missing {what}").format(what=_(" and ").join(missing)),
            add,
        )
    lacking = [_describe(r, n, 1) for r in need.improves if (n := count_requirement(tables, r)) < 1]
    if lacking:
        note = _("without {what}").format(what=_(" and ").join(lacking))
        if need.limitation:
            note += f": {_(need.limitation)}"
        return AnalysisCoverage(need.analysis, LIMITED, lacking, note, add)
    return AnalysisCoverage(need.analysis, RUNS)


def evaluate(phases: Sequence[PhaseSpec], tables: Mapping[str, pd.DataFrame]) -> Coverage:
    """The coverage matrix of ``phases`` on the canonical ``tables``.

    Parameters
    ----------
    phases
        Phases in an order where each comes after the phases it reads (engagement order).
    tables
        Canonical tables by name, after the intake's derivations; absent tables count as empty.

    Returns
    -------
    Coverage
        Per phase: ``skipped`` when a core analysis lacks what it requires or an upstream phase
        it needs is skipped; ``runs with limitations`` when an analysis is limited or left out,
        or an upstream phase it can do without is skipped; ``runs`` otherwise.
    """
    out: list[PhaseCoverage] = []
    by_name: dict[str, PhaseCoverage] = {}
    for ph in phases:
        analyses = [_analysis(n, tables) for n in ph.needs]
        core_missing = [
            a for n, a in zip(ph.needs, analyses, strict=True) if n.core and a.status == SKIPPED
        ]
        optional = dict(ph.optional_reads)
        skipped_up = [r for r in ph.reads if r in by_name and by_name[r].status == SKIPPED]
        needed_up = [r for r in skipped_up if r not in optional]
        if core_missing:
            a = core_missing[0]
            reason = f"{_(a.analysis)}: {a.note}" + (f". {a.add}" if a.add else "")
            pc = PhaseCoverage(ph.name, ph.title, SKIPPED, reason, analyses)
        elif needed_up:
            reason = _("needs “{phase}”, which is skipped").format(
                phase=_short(by_name[needed_up[0]].title)
            )
            pc = PhaseCoverage(ph.name, ph.title, SKIPPED, reason, analyses)
        else:
            upstream = [
                _("{phase} skipped: {effect}").format(
                    phase=_short(by_name[r].title), effect=_(optional[r])
                )
                for r in skipped_up
            ]
            notes = upstream + [
                (
                    _("{analysis} limited") if a.status == LIMITED else _("{analysis} skipped")
                ).format(analysis=_(a.analysis))
                for a in analyses
                if a.status != RUNS
            ]
            status = LIMITED if notes else RUNS
            pc = PhaseCoverage(ph.name, ph.title, status, "; ".join(notes), analyses, upstream)
        out.append(pc)
        by_name[ph.name] = pc
    return Coverage(out)
