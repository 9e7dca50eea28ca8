"""The phase graph: order, upstream closure for ``--phase`` selections, downstream closure."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from salesanalytics.engagement.spec import PhaseSpec

__all__ = ["downstream", "effective_reads", "select_phases", "topological_order"]


def effective_reads(phase: PhaseSpec, available: Iterable[str]) -> tuple[str, ...]:
    """The upstream phases of ``phase`` that exist (phases whose module is absent are ignored)."""
    names = set(available)
    return tuple(r for r in phase.reads if r in names)


def topological_order(phases: Sequence[PhaseSpec]) -> list[PhaseSpec]:
    """``phases`` ordered so every phase comes after what it reads (stable: engagement order).

    Raises
    ------
    ValueError
        If two phases share a name or the reads form a cycle.
    """
    names = [p.name for p in phases]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"phase names must be unique; duplicated: {', '.join(dup)}")
    done: list[PhaseSpec] = []
    placed: set[str] = set()
    pending = list(phases)
    while pending:
        for p in pending:
            if set(effective_reads(p, names)) <= placed:
                done.append(p)
                placed.add(p.name)
                pending.remove(p)
                break
        else:
            cyc = ", ".join(p.name for p in pending)
            raise ValueError(f"the phases' reads form a cycle among: {cyc}")
    return done


def select_phases(phases: Sequence[PhaseSpec], wanted: Sequence[str] = ()) -> list[PhaseSpec]:
    """The phases to run for ``--phase`` names ``wanted`` (all if empty), plus what they need.

    Raises
    ------
    KeyError
        For an unknown phase name, with a suggestion and the known names.
    """
    ordered = topological_order(phases)
    if not wanted:
        return ordered
    by_name = {p.name: p for p in ordered}
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        msgs = []
        for w in unknown:
            close = difflib.get_close_matches(w, list(by_name), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            msgs.append(f"unknown phase '{w}'{hint}")
        raise KeyError("; ".join(msgs) + f" (known phases: {', '.join(by_name)})")
    need: set[str] = set()
    stack = list(wanted)
    while stack:
        n = stack.pop()
        if n in need:
            continue
        need.add(n)
        stack.extend(effective_reads(by_name[n], by_name))
    return [p for p in ordered if p.name in need]


def downstream(phases: Sequence[PhaseSpec], name: str) -> list[str]:
    """Names of every phase that (transitively) reads ``name``, in order."""
    ordered = topological_order(phases)
    names = [p.name for p in ordered]
    hit = {name}
    out = []
    for p in ordered:
        if set(effective_reads(p, names)) & hit:
            hit.add(p.name)
            out.append(p.name)
    return out
