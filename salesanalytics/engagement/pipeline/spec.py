"""Declarations of the engagement's phases: what each runs, reads, writes and which parameters it takes."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

__all__ = ["Need", "PerEntitySpec", "PhaseParams", "PhaseSpec"]


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
    """What one analysis of a phase needs from the canonical tables (evaluated by
    :func:`salesanalytics.engagement.coverage.evaluate` on the intake's tables, derivations included).

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
