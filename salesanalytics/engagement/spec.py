"""Declarations of the engagement's phases: what each runs, reads, writes and which parameters it takes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BOUNDS",
    "Need",
    "PerEntitySpec",
    "PhaseParams",
    "PhaseSpec",
    "setting",
    "setting_source",
]

BOUNDS: tuple[str, ...] = ("gt", "ge", "lt", "le")
"""The bound keywords a phase parameter may take from, or add to, its settings object."""

_SETTINGS_KEY = "settings"


def _declared_bounds(source: type, name: str) -> dict[str, Any]:
    """The bounds a pydantic settings model declares for ``name`` (none for a dataclass)."""
    fields = getattr(source, "model_fields", None)
    if fields is None:
        return {}
    found: dict[str, Any] = {}
    for meta in fields[name].metadata:
        for key in BOUNDS:
            value = getattr(meta, key, None)
            if value is not None:
                found[key] = value
    return found


def _declared_default(source: type, name: str) -> Any:
    fields = getattr(source, "model_fields", None)
    if fields is not None:
        if name not in fields:
            raise TypeError(f"{source.__qualname__} has no setting '{name}'")
        return fields[name].get_default(call_default_factory=True)
    if dataclasses.is_dataclass(source):
        for f in dataclasses.fields(source):
            if f.name == name and f.default is not dataclasses.MISSING:
                return f.default
        raise TypeError(f"{source.__qualname__} has no setting '{name}' with a default")
    raise TypeError(f"{source!r} is neither a pydantic model nor a dataclass")


def _tighter(key: str, mine: Any, theirs: Any) -> bool:
    return mine >= theirs if key in ("gt", "ge") else mine <= theirs


def setting(source: type, name: str, *, description: str, **bounds: Any) -> Any:
    """A phase parameter declared by an analysis' settings object.

    The default is the settings field's default; a pydantic settings model's bounds (``gt``,
    ``ge``, ``lt``, ``le``) are taken over too. ``bounds`` may only add what the settings object
    leaves open (a plausible range for the project file, e.g. an upper bound) or narrow it: a looser
    bound is a declaration error. A dataclass settings object declares no bounds that can be read:
    the phase states them here and a test checks the settings object accepts them.

    Parameters
    ----------
    source
        The settings class (pydantic model or frozen dataclass), e.g. ``KeyAccountCriteria``.
    name
        Its field.
    description
        The one-line help written into ``project.yaml``.
    **bounds
        ``gt``/``ge``/``lt``/``le`` the phase adds.

    Returns
    -------
    pydantic.fields.FieldInfo
        For ``param: type = setting(...)`` in a :class:`PhaseParams`.
    """
    unknown = set(bounds) - set(BOUNDS)
    if unknown:
        raise TypeError(f"setting({source.__qualname__}, {name!r}): unknown bounds {unknown}")
    default = _declared_default(source, name)
    declared = _declared_bounds(source, name)
    for key, value in bounds.items():
        if key in declared and not _tighter(key, value, declared[key]):
            raise TypeError(
                f"setting({source.__qualname__}, {name!r}): {key}={value} is looser than the "
                f"settings object's {key}={declared[key]}; declare the bound once, there"
            )
    merged = {**declared, **bounds}
    return Field(
        default,
        description=description,
        json_schema_extra={_SETTINGS_KEY: f"{source.__module__}:{source.__qualname__}.{name}"},
        **merged,
    )


def setting_source(info: Any) -> tuple[str, str, str] | None:
    """``(module, class, field)`` of a parameter declared with :func:`setting`, else None."""
    extra = getattr(info, "json_schema_extra", None)
    ref = extra.get(_SETTINGS_KEY) if isinstance(extra, dict) else None
    if not ref:
        return None
    module, _, rest = str(ref).partition(":")
    cls, _, name = rest.rpartition(".")
    return module, cls, name


class PhaseParams(BaseModel):
    """Base class of every phase's parameter model.

    Subclasses declare each parameter with ``pydantic.Field(default, description=..., ge=..., le=...)``.
    The description is the one-line help written into ``project.yaml`` by ``salesanalytics init``;
    bounds are enforced before anything runs. Unknown names are rejected (``extra="forbid"``).
    The notebook's ``parameters`` cell must declare the same names with the same defaults (tested).
    """

    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True)


@dataclass(frozen=True)
class PerEntitySpec:
    """A report rendered once per entity (rep or team) from a template notebook.

    All entities of a phase run in one kernel, or in two when the list is long and a worker slot
    is free; a template's output must depend only on its parameters.

    Parameters
    ----------
    notebook
        Template notebook file in ``notebooks/``; it has a ``parameters`` cell with ``run_dir`` and
        the entity parameter.
    entity_param
        Name of the parameter that receives the entity id (e.g. ``"rep_id"``).
    entities_table
        Output table of the owning phase listing the entities: ``(phase, table)``, read from
        ``run_dir/data/<phase>/<table>.parquet``.
    id_column, label_column
        Columns of that table with the entity id and its display name.
    """

    notebook: str
    entity_param: str
    entities_table: tuple[str, str]
    id_column: str
    label_column: str
    title: str = ""


@dataclass(frozen=True)
class Need:
    """What one analysis of a phase needs from the canonical tables.

    Evaluated by :func:`salesanalytics.engagement.coverage.evaluate` on the intake's tables,
    derivations included.

    Parameters
    ----------
    analysis
        The analysis in plain words (``"Kaplan-Meier survival curves"``).
    requires
        What it cannot do without, each at least ``min_rows`` times: ``"table"`` (rows),
        ``"table.column"`` (filled values) or ``"table.column=value"`` (rows with that value).
    improves
        What it uses when present; without it the analysis runs with a limitation (``limitation``).
    min_rows
        Rows (filled values) each requirement needs.
    core
        ``True``: the phase cannot run without this analysis (the phase is skipped);
        ``False``: only this analysis is left out (the phase runs with a limitation).
    limitation
        What the analysis cannot say when an ``improves`` entry is missing.
    add
        What to add to the export to get the full analysis.
    """

    analysis: str
    requires: tuple[str, ...] = ()
    improves: tuple[str, ...] = ()
    min_rows: int = 1
    core: bool = True
    limitation: str = ""
    add: str = ""


@dataclass(frozen=True)
class PhaseSpec:
    """One phase of the engagement.

    Parameters
    ----------
    name
        Short name used on the command line and in ``project.yaml`` (``territory``).
    notebook
        Notebook file in ``notebooks/`` (``20_territory_design.ipynb``).
    title
        Title for reports and the index.
    reads
        Names of the upstream phases whose outputs this phase reads.
    writes
        Names of the tables (Parquet) or JSON files this phase writes to its output folder.
    params
        Its parameter model.
    per_entity
        Optional per-rep / per-team reports rendered after the phase.
    seconds
        Typical run time in seconds for a client of about 20,000 accounts, per-entity reports
        included: the scheduler's estimate until a run of this project has timed the phase
        (phases on the longest remaining chain start first).
    needs
        What each analysis of the phase needs from the data (the coverage matrix).
    optional_reads
        Upstream phases (of ``reads``) it can run without, each with what changes then
        (``("territory", "portfolios are today's account owners")``): when such a phase is
        skipped, this one runs with that limitation instead of being skipped too.
    project_files
        Files of the project folder the phase reads by default: ``(param, file name)``; when
        the parameter (a file parameter) is empty and the project folder holds the file, the run
        passes its path (``territory_overrides.yaml`` written by the territory editor). Like
        every file parameter, the file's content is part of the phase's fingerprint.
    """

    name: str
    notebook: str
    title: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    params: type[PhaseParams]
    per_entity: tuple[PerEntitySpec, ...] = field(default_factory=tuple)
    seconds: float = 1.0
    needs: tuple[Need, ...] = field(default_factory=tuple)
    optional_reads: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    project_files: tuple[tuple[str, str], ...] = field(default_factory=tuple)
