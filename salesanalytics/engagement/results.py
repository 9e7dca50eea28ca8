"""Reading a phase's results back from a run folder, for the per-rep and per-team report templates.

The templates (rep cockpit, team cockpit, rep statement) run once per rep or team in one kernel:
these readers load the phase's tables once per run folder and file version (through
:func:`~salesanalytics.runfolder.read_phase_tables`), set the run's currency, and hand
the tables to the analysis' pure functions.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from salesanalytics.analyses.compensation.analysis import rep_statement
from salesanalytics.analyses.controlling.model import Cockpit, cockpit_data, first_entity
from salesanalytics.engagement.workspace import apply_run_settings
from salesanalytics.runfolder import read_phase_tables

__all__ = ["read_cockpit", "read_statement"]


_COCKPIT_TABLES = ("kpi_actuals", "kpi_trend", "cockpit_funnel", "cockpit_retention")


def read_cockpit(run_dir: str | Path, level: str, entity_id: str) -> Cockpit:
    """Read one rep's or team's cockpit from a run's controlling outputs (cached across calls).

    The per-rep and per-team report templates call this once per entity in one kernel; the
    controlling tables are read once and cut down with :func:`~salesanalytics.analyses.controlling.model.cockpit_data`. An empty
    ``entity_id`` shows the first entity with data (for opening the template by hand): reps
    without data of their own (e.g. team leads without accounts) get no cockpit.

    Raises
    ------
    FileNotFoundError
        If the controlling phase has not run in ``run_dir``.
    KeyError
        If the entity is unknown.
    """
    apply_run_settings(run_dir)  # the run's currency, also in a freshly started kernel
    tables = read_phase_tables(run_dir, "controlling", _COCKPIT_TABLES)
    if not entity_id:  # opened by hand in JupyterLab: show the first entity with data
        entity_id = first_entity(tables[0], level)
    return cockpit_data(level, entity_id, *tables)


_STATEMENT_TABLES = ("statement_reps", "statement_lines", "totals_current", "totals_proposed")


def read_statement(run_dir: str | Path, rep_id: str = "") -> tuple[str, pd.DataFrame]:
    """One rep's incentive statement from a run's compensation outputs (see :func:`~salesanalytics.analyses.compensation.analysis.rep_statement`).

    The per-rep statement template calls this once per rep in one kernel: the compensation
    tables (``statement_reps``, ``statement_lines``, ``totals_current``, ``totals_proposed``)
    are read once per run folder and file version, then cut down to the rep. An empty ``rep_id``
    shows the first rep with a statement (for opening the template by hand).

    Returns
    -------
    tuple
        The header sentence (with the rep's name) and the statement lines ``line, description,
        attainment, amount``.

    Raises
    ------
    FileNotFoundError
        If the compensation phase has not run in ``run_dir``.
    KeyError
        If the rep has no statement (the message lists some reps that have one).
    """
    apply_run_settings(run_dir)  # the run's currency, also in a freshly started kernel
    reps, lines, cur, new = read_phase_tables(run_dir, "compensation", _STATEMENT_TABLES)
    rep_id = rep_id or str(reps["rep_id"].iloc[0])
    names = pd.Series(reps["rep_name"].to_numpy(), index=reps["rep_id"].astype(str).to_numpy())
    name = names.get(rep_id)
    return rep_statement(lines, cur, new, rep_id, rep_id if pd.isna(name) else str(name))
