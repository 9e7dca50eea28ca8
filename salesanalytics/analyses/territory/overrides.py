"""Manual territory changes (``territory_overrides.yaml``): read, check, apply, cost.

A consultant moves postal codes between territories in a workshop (the territory editor,
:mod:`salesanalytics.analyses.territory.editor`) and saves the moves in the project folder::

    # Manual territory changes: the next run keeps each unit in its territory (locked).
    overrides:
      - unit: "8004"               # a postal code (all its units) or a unit id ("8004#2")
        territory: T05             # the territory it goes to, as named in the edited plan
        rep_id: 0055g000000000DAAQ # that territory's rep: a territory is its rep across runs
        rep: Anna Muster
        from_territory: T07
        from_rep_id: 0055g0000000009AAA
        who: Lea Keller
        why: Anna serves the customers of 8004 since 2019
        date: 2026-12-07

The territory phase reads the file (parameter ``territory.overrides``; by default the project's
``territory_overrides.yaml`` when it exists): the units are locked to their rep's territory, the
optimiser balances the rest around them, and the report lists each change with what it cost in
balance. An entry that no longer fits the data (unknown unit, a rep who no longer has a
territory) is an error naming the file and line, never ignored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from salesanalytics.analyses.territory.plan import METRICS, TerritoryInputs, TerritoryPlan
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "OVERRIDES_FILE",
    "Override",
    "OverrideError",
    "apply_overrides",
    "change_findings",
    "check_overrides",
    "dump_overrides",
    "load_overrides",
    "override_costs",
    "overrides_from_records",
    "save_overrides",
]

OVERRIDES_FILE = "territory_overrides.yaml"
"""Name of the overrides file in a project folder."""

_REQUIRED = ("unit", "rep_id", "who", "why")
_FIELDS = (
    "unit",
    "territory",
    "rep_id",
    "rep",
    "from_territory",
    "from_rep_id",
    "who",
    "why",
    "date",
)


class OverrideError(ValueError):
    """An overrides file that cannot be used; the message lists every problem with its line."""


@dataclass(frozen=True)
class Override:
    """One manual change: ``unit`` goes to the territory of rep ``rep_id``."""

    unit: str
    rep_id: str
    who: str
    why: str
    territory: str = ""
    rep: str = ""
    from_territory: str = ""
    from_rep_id: str = ""
    date: str = ""
    line: int = 0
    """Line of the entry in its file (1-based; 0 = not from a file)."""

    def as_dict(self) -> dict[str, str]:
        """The entry as written to the file (empty fields left out)."""
        d = dataclasses.asdict(self)
        return {k: str(d[k]) for k in _FIELDS if d[k] not in ("", None)}


def _where(path: str | os.PathLike[str] | None, line: int) -> str:
    name = Path(path).name if path else OVERRIDES_FILE
    return f"{name}, line {line}" if line else name


def load_overrides(path: str | os.PathLike[str]) -> list[Override]:
    """Read an overrides file.

    Parameters
    ----------
    path
        The YAML file (``territory_overrides.yaml``).

    Returns
    -------
    list of Override
        In file order, each with its line.

    Raises
    ------
    OverrideError
        If the file is not valid YAML, has no ``overrides`` list, or entries lack ``unit``,
        ``rep_id``, ``who`` or ``why`` or name a unit twice: every problem with its line.
    """
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise OverrideError(
            f"{_where(p, line)}: not valid YAML ({getattr(exc, 'problem', exc)}); "
            "fix the file or save it again from the territory editor"
        ) from None
    if root is None:
        return []
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("overrides", []), list):
        raise OverrideError(
            f"{_where(p, 1)}: expected a mapping with a list 'overrides' (one entry per unit: "
            "unit, rep_id, who, why)"
        )
    nodes = next((v.value for k, v in root.value if getattr(k, "value", None) == "overrides"), [])
    problems: list[str] = []
    out: list[Override] = []
    seen: dict[str, int] = {}
    for node, entry in zip(nodes, data.get("overrides") or [], strict=True):
        line = node.start_mark.line + 1
        if not isinstance(entry, dict):
            problems.append(f"{_where(p, line)}: an entry must be a mapping (unit, rep_id, ...)")
            continue
        unknown = sorted(set(map(str, entry)) - set(_FIELDS))
        if unknown:
            problems.append(
                f"{_where(p, line)}: unknown field(s) {unknown}; allowed: {list(_FIELDS)}"
            )
        missing = [k for k in _REQUIRED if entry.get(k) in (None, "")]
        if missing:
            problems.append(f"{_where(p, line)}: missing {missing}")
            continue
        unit = str(entry["unit"]).strip()
        if unit in seen:
            problems.append(
                f"{_where(p, line)}: unit {unit} is already moved at line {seen[unit]}; "
                "keep one entry per unit"
            )
            continue
        seen[unit] = line
        out.append(
            Override(
                **{k: str(entry[k]).strip() for k in _FIELDS if entry.get(k) not in (None, "")},
                line=line,
            )
        )
    if problems:
        raise OverrideError("; ".join(problems))
    return out


def overrides_from_records(records: Sequence[dict[str, str]]) -> list[Override]:
    """Read the manual changes as the territory phase recorded them.

    ``Override.as_dict`` each, in the phase's ``design``; for the phases that redo its design (the
    scenarios).

    Raises
    ------
    OverrideError
        A record without ``unit`` or ``rep_id``.
    """
    bad = [i for i, r in enumerate(records) if not r.get("unit") or not r.get("rep_id")]
    if bad:
        raise OverrideError(
            f"manual changes recorded by the territory phase lack unit or rep_id (entries {bad}); "
            "rerun the territory phase"
        )
    fields: list[dict[str, Any]] = [
        {k: str(v) for k, v in r.items() if k in _FIELDS} for r in records
    ]  # text fields only (_FIELDS has no line number)
    return [Override(**f) for f in fields]


def dump_overrides(overrides: Sequence[Override]) -> str:
    """The text of an overrides file (with a header explaining it)."""
    body = yaml.safe_dump(
        {"overrides": [o.as_dict() for o in overrides]},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return (
        "# Manual territory changes (territory editor). The next `salesanalytics run` keeps each\n"
        "# unit in the territory of rep_id (locked) and balances the other units around it.\n"
        + body
    )


def save_overrides(path: str | os.PathLike[str], overrides: Sequence[Override]) -> Path:
    """Write ``overrides`` to ``path`` (atomically: a new file renamed into place)."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(dump_overrides(overrides), encoding="utf-8")
    os.replace(tmp, p)
    return p


def _unit_rows(units: pd.DataFrame, unit: str) -> np.ndarray:
    ids = units["unit_id"].astype(str).to_numpy()
    hit = ids == unit
    if hit.any():
        return hit
    return units["postal_code"].astype(str).to_numpy() == unit


def check_overrides(
    overrides: Sequence[Override],
    inputs: TerritoryInputs,
    n_territories: int | None = None,
    path: str | os.PathLike[str] | None = None,
) -> None:
    """Check that every override fits the data.

    Parameters
    ----------
    overrides
        From :func:`load_overrides`.
    inputs
        The territory phase's inputs (units with ``unit_id``, ``postal_code``; active field
        reps with ``rep_id``).
    n_territories
        The plan's number of territories (``None`` or 0 = derived): the reps named by the
        overrides each keep a territory, so there must be at least as many territories.
    path
        The file (for messages).

    Raises
    ------
    OverrideError
        Every entry whose unit is unknown, whose rep no longer has a territory (not an active
        field rep), or all of them when the plan has fewer territories than reps named: with file and
        line and what to do.
    """
    if not overrides:
        return
    problems = []
    reps = set(inputs.field_reps["rep_id"].astype(str))
    n_named = len({o.rep_id for o in overrides})
    if n_territories and n_territories < n_named:
        problems.append(
            f"{_where(path, 0)}: manual changes lock units to the territories of {n_named} reps, "
            f"but the plan has only {n_territories} territories (territory.n_territories); "
            "set at least that many territories (0 = derived from the workload) or remove "
            "entries"
        )
    for o in overrides:
        if not _unit_rows(inputs.units, o.unit).any():
            problems.append(
                f"{_where(path, o.line)}: unit {o.unit} is not in the data (no account in this "
                "postal code is in the field territories any more); remove the entry"
            )
        if o.rep_id not in reps:
            who = f"{o.rep} ({o.rep_id})" if o.rep else o.rep_id
            was = f" {o.territory}" if o.territory else ""
            problems.append(
                f"{_where(path, o.line)}: territory{was} of {who} no longer exists (not an "
                "active field rep); move the unit to another territory in the editor or remove "
                "the entry"
            )
    if problems:
        raise OverrideError("; ".join(problems))


def apply_overrides(
    inputs: TerritoryInputs,
    overrides: Sequence[Override],
    n_territories: int | None = None,
    path: str | os.PathLike[str] | None = None,
) -> TerritoryInputs:
    """The inputs with every overridden unit locked to its rep's territory.

    The units of an overridden postal code (its account groups and customer units too) get
    ``current`` = the override's rep and ``locked`` = True: the optimiser keeps them in that
    rep's territory and balances the other units around them. The original inputs are not
    changed (measure today's plan and disruption on them).

    Raises
    ------
    OverrideError
        See :func:`check_overrides`.
    """
    check_overrides(overrides, inputs, n_territories, path)
    if not overrides:
        return inputs
    u = inputs.units.copy()
    cur = u["current"].astype("string")
    locked = u["locked"].astype(bool).to_numpy().copy()
    for o in overrides:
        rows = _unit_rows(u, o.unit)
        cur[rows] = o.rep_id
        locked[rows] = True
    u["current"] = cur
    u["locked"] = locked
    u["manual"] = False
    for o in overrides:
        u.loc[_unit_rows(u, o.unit), "manual"] = True
    return dataclasses.replace(inputs, units=u)


def override_costs(
    plan: TerritoryPlan, inputs: TerritoryInputs, overrides: Sequence[Override]
) -> pd.DataFrame:
    """Each manual change and what it costs in balance.

    The cost of a change is measured in the final plan: the two territories involved (the one
    the unit went to and the one it came from, by their reps) with the change and with the unit
    back where it came from; the cost is how much further the worse of the two is from its
    target (percentage points, for potential and for service workload). A negative cost means
    the change improved the balance.

    Parameters
    ----------
    plan
        The plan designed with the overrides (:func:`apply_overrides`); its ``territories``
        carry ``potential_mrr``, ``workload_hours`` and their targets.
    inputs
        The inputs (units with ``unit_id``, ``postal_code``, ``place``, ``potential_mrr``,
        ``workload_hours``, ``n_accounts``).
    overrides
        The manual changes.

    Returns
    -------
    pandas.DataFrame
        One row per change: ``unit``, ``place``, ``from_territory``, ``from_rep``,
        ``to_territory``, ``to_rep``, ``who``, ``why``, ``n_accounts``, ``potential_mrr``,
        ``workload_hours``, ``cost_potential_pp``, ``cost_workload_pp``.
    """
    cols = [
        "unit",
        "place",
        "from_territory",
        "from_rep",
        "to_territory",
        "to_rep",
        "who",
        "why",
        "n_accounts",
        "potential_mrr",
        "workload_hours",
        "cost_potential_pp",
        "cost_workload_pp",
    ]
    if not overrides:
        return pd.DataFrame(columns=cols)
    t = plan.territories
    t = t[t["territory_id"].astype(str).isin(set(plan.territory_rep))].copy()
    t["territory_id"] = t["territory_id"].astype(str)
    t = t.drop_duplicates("territory_id").set_index("territory_id")
    rep_t = {str(r): str(k) for k, r in plan.territory_rep.items()}
    names = inputs.reps.set_index(inputs.reps["rep_id"].astype(str))["name"].astype(str)
    u = inputs.units
    rows = []
    for o in overrides:
        sel = u[_unit_rows(u, o.unit)]
        vals = {m: float(sel[m].sum()) for m in METRICS}
        to_t = rep_t.get(o.rep_id, "")
        from_t = rep_t.get(o.from_rep_id, "") if o.from_rep_id else ""
        cost = {}
        for m in METRICS:
            if not to_t or not from_t or to_t == from_t or f"target_{m}" not in t:
                cost[m] = 0.0
                continue
            tot_to, tgt_to = float(t.at[to_t, m]), float(t.at[to_t, f"target_{m}"])
            tot_fr, tgt_fr = float(t.at[from_t, m]), float(t.at[from_t, f"target_{m}"])
            with_change = max(abs(tot_to / tgt_to - 1), abs(tot_fr / tgt_fr - 1))
            without = max(
                abs((tot_to - vals[m]) / tgt_to - 1), abs((tot_fr + vals[m]) / tgt_fr - 1)
            )
            cost[m] = round(100 * (with_change - without), 2)
        place = sel["place"].astype("string").dropna() if "place" in sel else pd.Series([])
        rows.append(
            {
                "unit": o.unit,
                "place": str(place.iloc[0]) if len(place) else "",
                "from_territory": from_t or o.from_territory,
                "from_rep": names.get(o.from_rep_id, o.from_rep_id) if o.from_rep_id else "",
                "to_territory": to_t or o.territory,
                "to_rep": names.get(o.rep_id, o.rep or o.rep_id),
                "who": o.who,
                "why": o.why,
                "n_accounts": float(sel["n_accounts"].sum()) if "n_accounts" in sel else np.nan,
                "potential_mrr": vals["potential_mrr"],
                "workload_hours": vals["workload_hours"],
                "cost_potential_pp": cost["potential_mrr"],
                "cost_workload_pp": cost["workload_hours"],
            }
        )
    return pd.DataFrame(rows, columns=cols)


def today() -> str:
    """Today's date as written into an override (ISO)."""
    return dt.date.today().isoformat()


def change_findings(costs: pd.DataFrame) -> list[str]:
    """Plain-language lines on the manual changes (:func:`override_costs`)."""
    if costs.empty:
        return [
            _(
                "No manual changes: the territories are the optimiser's proposal. Changes agreed "
                "in a workshop are saved with the territory editor and kept by the next run."
            )
        ]
    worst = costs[["cost_potential_pp", "cost_workload_pp"]].max(axis=1)
    lines = [
        _(
            "{n} postal code(s) were moved by hand in the workshop and are kept where they were "
            "put; the other postal codes were balanced around them."
        ).format(n=len(costs))
    ]
    if (worst > 0).any():
        top = costs.loc[worst.idxmax()]
        lines.append(
            _(
                "The costliest change is {unit} {place} to {rep}: the worse of the two territories "
                "involved is {points} percentage points further from its target."
            ).format(
                unit=top["unit"], place=top["place"], rep=top["to_rep"], points=f"{worst.max():.1f}"
            )
        )
    else:
        lines.append(_("No change made the balance worse."))
    return lines
