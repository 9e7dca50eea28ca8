"""The territory proposal as Enterprise Territory Management metadata and Data Loader files.

One ``Territory2Model`` holds a parent territory per sales team (type ``Sales_Team``) and under it
one territory per field territory of the proposal (type ``Field_Territory``); key accounts get a
parent ``Key Accounts`` with one territory per key-account manager (type ``Key_Account_Territory``).
The records are associated by two Data Loader files: ``UserTerritory2Association`` (rep or manager
per territory, team leads on their team's parent) and ``ObjectTerritory2Association`` (account per
territory, ``AssociationCause = Territory2Manual``). Their ``Territory2Id`` column holds the
territory's DeveloperName until :func:`resolve_territory_ids` replaces it by the Id Salesforce gave
the territory on deployment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from salesanalytics.errors import InputFileError, ParameterError, require_columns
from salesanalytics.salesforce.names import developer_name, label, unique_developer_names

__all__ = [
    "ASSOCIATION_CAUSE",
    "ROLE_IN_TERRITORY",
    "TERRITORY_TYPES",
    "TerritoryModel",
    "TerritoryType",
    "changes_by_rep",
    "dry_run",
    "resolve_territory_ids",
    "territory_model",
]

ASSOCIATION_CAUSE = "Territory2Manual"
"""``ObjectTerritory2Association.AssociationCause`` of a manual (file-loaded) assignment."""
ROLE_IN_TERRITORY = {
    "field": "Territory Owner",
    "key_account": "Key Account Manager",
    "team_lead": "Team Lead",
}
"""``UserTerritory2Association.RoleInTerritory2`` per role (values of the org's picklist; the
folder's README tells the administrator to add them)."""
KEY_ACCOUNT_TEAM = "Key Accounts"
VACANT_LABEL = "vacant (rep to be named)"
UNASSIGNED_TEAM = "Unassigned"


@dataclass(frozen=True)
class TerritoryType:
    """A ``Territory2Type``: DeveloperName, label, description and priority (unique per org)."""

    developer_name: str
    label: str
    description: str
    priority: int


TERRITORY_TYPES: dict[str, TerritoryType] = {
    "team": TerritoryType(
        "Sales_Team", "Sales team", "A sales team: parent of its reps' territories.", 110
    ),
    "field": TerritoryType(
        "Field_Territory",
        "Field territory",
        "A field rep's territory from the territory design (balanced potential and workload).",
        120,
    ),
    "key_account": TerritoryType(
        "Key_Account_Territory",
        "Key-account territory",
        "The key accounts one key-account manager looks after.",
        100,
    ),
}
"""The territory types written, by kind of territory."""


@dataclass
class TerritoryModel:
    """Everything the territory part of the Salesforce folder is written from.

    Attributes
    ----------
    name, developer_name, description
        The ``Territory2Model``.
    territories
        One row per territory: ``developer_name``, ``name`` (label), ``kind`` (team, field,
        key_account), ``parent`` (DeveloperName or empty), ``territory_id`` (the proposal's id; empty
        for parents), ``rep_id``, ``rep_name``, ``team``, ``accounts``, ``potential_mrr``,
        ``workload_hours`` (the territory phase's figures; missing for parents).
    users
        ``UserTerritory2Association`` rows: ``UserId``, ``Territory2Id`` (DeveloperName),
        ``RoleInTerritory2``.
    objects
        ``ObjectTerritory2Association`` rows: ``ObjectId``, ``Territory2Id`` (DeveloperName),
        ``AssociationCause``.
    account_territory
        Per account (index ``account_id``) the territory's label (for ``Territory_Name__c``).
    vacant
        Territories without a rep (``VACANT-...``): no user association is written for them.
    """

    name: str
    developer_name: str
    description: str
    territories: pd.DataFrame
    users: pd.DataFrame
    objects: pd.DataFrame
    account_territory: pd.Series
    vacant: list[str]


def _figure(row: object, column: str, default: float) -> float:
    """The territory phase's figure ``column`` of ``row`` (``default`` if it has none)."""
    v = getattr(row, column, None)
    if v is None or pd.isna(v):
        return default
    return type(default)(v) if not isinstance(default, float) else float(v)


def _short_team(team: str) -> str:
    t = str(team).strip()
    return t[5:].strip() if t.lower().startswith("team ") and len(t) > 5 else t


def _leaf_territories(t: pd.DataFrame, a: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """One row per territory and rep.

    Its label, kind, team (the rep's, else the team most of its accounts came from), rep and
    figures.
    """
    rep_team = dict(zip(reps["rep_id"].astype(str), reps["team"].astype("string"), strict=True))
    rep_role = dict(zip(reps["rep_id"].astype(str), reps["role"].astype(str), strict=True))
    shared = t["territory_id"].duplicated(keep=False)
    prev_team = a["previous_rep_id"].astype("string").map(rep_team)
    rows = []
    for r in t.itertuples(index=False):
        tid, rid = str(r.territory_id), r.rep_id
        rid_s = "" if pd.isna(rid) else str(rid)
        vacant = rid_s == "" or rid_s.startswith("VACANT-")
        kam = rep_role.get(rid_s) == "key_account"
        if shared.loc[t["territory_id"] == tid].any():
            mine = (a["territory_id"] == tid) & (a["rep_id"] == rid_s)
        else:
            mine = a["territory_id"] == tid
        team = rep_team.get(rid_s)
        if team is None or pd.isna(team):
            counts = prev_team[mine].dropna().value_counts()
            team = str(counts.index[0]) if len(counts) else UNASSIGNED_TEAM
        kind = "key_account" if kam else "field"
        if kam:
            team = KEY_ACCOUNT_TEAM
        own = getattr(r, "territory_name", None)
        if own is not None and not pd.isna(own) and str(own).strip():
            name = str(own)
        elif kam or bool(shared.loc[t["territory_id"] == tid].any()):
            name = f"{KEY_ACCOUNT_TEAM if kam else tid} {r.rep_name}"
        else:
            name = f"{tid} {_short_team(team)}"
        rows.append(
            {
                "name": label(name),
                "kind": kind,
                "territory_id": tid,
                "rep_id": "" if vacant else rid_s,
                "rep_name": "" if vacant else str(r.rep_name),
                "team": str(team),
                "accounts": _figure(r, "n_accounts", int(mine.sum())),
                "potential_mrr": _figure(r, "potential_mrr", float("nan")),
                "workload_hours": _figure(r, "workload_hours", float("nan")),
                "vacant": vacant,
            }
        )
    return pd.DataFrame(rows)


def _with_team_parents(leaves: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The hierarchy: one parent territory per team (key accounts last) above the leaves.

    The leaves get developer names. Returns the territories and the team -> developer name map.
    """
    teams = sorted(leaves["team"].unique(), key=lambda s: (s == KEY_ACCOUNT_TEAM, s))
    team_dev = dict(zip(teams, unique_developer_names(teams, prefix="Team"), strict=True))
    leaves["developer_name"] = unique_developer_names(
        leaves["name"], prefix="T", taken=team_dev.values()
    )
    leaves["parent"] = leaves["team"].map(team_dev)
    parents = pd.DataFrame(
        {
            "name": [label(tm) for tm in teams],
            "kind": "team",
            "territory_id": "",
            "rep_id": "",
            "rep_name": "",
            "team": teams,
            "accounts": [int(leaves.loc[leaves["team"] == tm, "accounts"].sum()) for tm in teams],
            "potential_mrr": float("nan"),
            "workload_hours": float("nan"),
            "vacant": False,
            "developer_name": [team_dev[tm] for tm in teams],
            "parent": "",
        }
    )
    return pd.concat([parents, leaves], ignore_index=True), team_dev


def _user_associations(
    leaves: pd.DataFrame, reps: pd.DataFrame, team_dev: dict[str, str]
) -> pd.DataFrame:
    """Reps on their territory, active team leads on their team's parent territory."""
    users = leaves.loc[~leaves["vacant"], ["rep_id", "developer_name", "kind"]]
    users = pd.DataFrame(
        {
            "UserId": users["rep_id"].to_numpy(),
            "Territory2Id": users["developer_name"].to_numpy(),
            "RoleInTerritory2": users["kind"].map(ROLE_IN_TERRITORY).to_numpy(),
        }
    )
    active = reps["active"].fillna(True).astype(bool) if "active" in reps else True
    leads = reps[(reps["role"].astype(str) == "team_lead") & active]
    lead_rows = [
        {
            "UserId": str(r.rep_id),
            "Territory2Id": team_dev[str(r.team)],
            "RoleInTerritory2": "Team Lead",
        }
        for r in leads.itertuples(index=False)
        if not pd.isna(r.team) and str(r.team) in team_dev
    ]
    users = pd.concat([users, pd.DataFrame(lead_rows, columns=users.columns)], ignore_index=True)
    return users.sort_values(["Territory2Id", "UserId"], ignore_index=True)


def _account_territories(a: pd.DataFrame, t: pd.DataFrame, leaves: pd.DataFrame) -> pd.Series:
    """Each account's territory (developer name; a shared territory id by the account's rep).

    Raises
    ------
    ParameterError
        If an account's territory is not listed in the territories.
    """
    shared = t["territory_id"].duplicated(keep=False)
    key = leaves.set_index(["territory_id", "rep_id"])["developer_name"]
    by_tid = leaves.drop_duplicates("territory_id").set_index("territory_id")["developer_name"]
    shared_ids = set(t.loc[shared, "territory_id"])
    has_t = a["territory_id"].notna()
    dev = pd.Series(pd.NA, index=a.index, dtype="string")
    sh = has_t & a["territory_id"].isin(shared_ids)
    dev[sh] = [
        key.get((tid, rid), pd.NA)
        for tid, rid in zip(a.loc[sh, "territory_id"], a.loc[sh, "rep_id"].fillna(""), strict=True)
    ]
    dev[has_t & ~sh] = a.loc[has_t & ~sh, "territory_id"].map(by_tid)
    unknown = a.loc[has_t & dev.isna(), "territory_id"].astype(str).unique().tolist()
    if unknown:
        raise ParameterError(
            f"assignment lists territory id(s) {', '.join(sorted(unknown)[:10])} that the "
            "territories table does not hold; rerun the territory phase"
        )
    return dev


def territory_model(
    assignment: pd.DataFrame,
    territories: pd.DataFrame,
    reps: pd.DataFrame,
    as_of: str,
    client: str = "",
) -> TerritoryModel:
    """Build the territory model from the territory phase's outputs.

    Parameters
    ----------
    assignment
        Territory phase ``assignment``: ``account_id``, ``territory_id``, ``rep_id``,
        ``previous_rep_id``.
    territories
        Territory phase ``territories``: ``territory_id``, ``rep_id``, ``rep_name``; optional
        ``territory_name`` (used as label when present), ``n_accounts``, ``potential_mrr``,
        ``workload_hours`` (shown in the descriptions). A territory id that appears with several
        reps (``key_accounts``) becomes one territory per rep.
    reps
        Intake ``reps``: ``rep_id``, ``name``, ``role``, ``team``.
    as_of
        Reference date of the analysis (``YYYY-MM-DD``), part of the model's name.
    client
        Client name for the model's description.

    Returns
    -------
    TerritoryModel
        Names follow Salesforce's rules (see :mod:`salesanalytics.salesforce.names`).

    Raises
    ------
    MissingColumnsError
        If a table lacks a required column (also a ``KeyError``).
    ParameterError
        If an account's territory is not listed in ``territories`` (also a ``ValueError``).
    """
    require_columns(
        assignment, ["account_id", "territory_id", "rep_id", "previous_rep_id"], "assignment"
    )
    require_columns(territories, ["territory_id", "rep_id", "rep_name"], "territories")
    require_columns(reps, ["rep_id", "name", "role", "team"], "reps")
    t = territories.copy()
    t["territory_id"] = t["territory_id"].astype(str)
    t["rep_id"] = t["rep_id"].astype("string")
    a = assignment.copy()
    a["territory_id"] = a["territory_id"].astype("string")
    a["rep_id"] = a["rep_id"].astype("string")

    leaves = _leaf_territories(t, a, reps)
    all_t, team_dev = _with_team_parents(leaves)
    dev = _account_territories(a, t, leaves)
    has_t = a["territory_id"].notna()
    objects = pd.DataFrame(
        {
            "ObjectId": a.loc[has_t, "account_id"].astype(str).to_numpy(),
            "Territory2Id": dev[has_t].to_numpy(),
            "AssociationCause": ASSOCIATION_CAUSE,
        }
    ).sort_values(["Territory2Id", "ObjectId"], ignore_index=True)
    dev_label = all_t.set_index("developer_name")["name"]
    account_territory = pd.Series(
        dev.map(dev_label).to_numpy(),
        index=a["account_id"].astype(str),
        name="territory",
        dtype="string",
    )
    model_label = label(f"Sales territories {as_of}")
    return TerritoryModel(
        name=model_label,
        developer_name=developer_name(model_label, prefix="M"),
        description=label(
            f"Territory proposal of the sales-strategy analysis of {client or 'the client'} "
            f"(data as of {as_of}).",
            255,
        ),
        territories=all_t,
        users=_user_associations(leaves, reps, team_dev),
        objects=objects,
        account_territory=account_territory,
        vacant=leaves.loc[leaves["vacant"], "name"].tolist(),
    )


def dry_run(
    model: TerritoryModel, assignment: pd.DataFrame, accounts: pd.DataFrame, reps: pd.DataFrame
) -> pd.DataFrame:
    """Accounts whose owner or territory changes, one row per account, sorted by rep.

    Parameters
    ----------
    model
        From :func:`territory_model`.
    assignment
        Territory phase ``assignment``: ``account_id``, ``rep_id``, ``previous_rep_id``.
    accounts
        Intake ``accounts``: ``account_id``, ``name``, ``status``.
    reps
        Intake ``reps``: ``rep_id``, ``name``.

    Returns
    -------
    pandas.DataFrame
        ``Account Id``, ``Account``, ``Status``, ``From owner``, ``From territory`` (the territory
        the previous owner gets, empty if none), ``To owner``, ``To territory``.
    """
    require_columns(assignment, ["account_id", "rep_id", "previous_rep_id"], "assignment")
    require_columns(accounts, ["account_id", "name", "status"], "accounts")
    names = dict(zip(reps["rep_id"].astype(str), reps["name"].astype(str), strict=True))
    leaves = model.territories[model.territories["kind"] != "team"]
    rep_terr = leaves[leaves["rep_id"] != ""].drop_duplicates("rep_id").set_index("rep_id")["name"]
    a = assignment.copy()
    a["account_id"] = a["account_id"].astype(str)
    new_t = a["account_id"].map(model.account_territory)
    prev = a["previous_rep_id"].astype("string")
    new = a["rep_id"].astype("string")
    old_t = prev.map(rep_terr)
    moved = (prev.fillna("") != new.fillna("")) | (old_t.fillna("") != new_t.fillna(""))
    acc = accounts.assign(account_id=accounts["account_id"].astype(str)).set_index("account_id")
    out = pd.DataFrame(
        {
            "Account Id": a["account_id"],
            "Account": a["account_id"].map(acc["name"]),
            "Status": a["account_id"].map(acc["status"]).str.replace("_", " ").str.capitalize(),
            "From owner": prev.map(names).fillna(prev),
            "From territory": old_t,
            "To owner": new.map(names)
            .fillna(new)
            .mask(new.str.startswith("VACANT-").fillna(False), VACANT_LABEL),
            "To territory": new_t,
        }
    )[moved.to_numpy()]
    return out.sort_values(["To owner", "Account Id"], na_position="last", ignore_index=True)


def changes_by_rep(changes: pd.DataFrame) -> pd.DataFrame:
    """Per rep: accounts the rep hands over and takes over (from :func:`dry_run`).

    Returns
    -------
    pandas.DataFrame
        ``Rep``, ``Accounts handed over``, ``Accounts taken over``, ``Customers handed over``,
        ``Customers taken over``, sorted by rep.
    """
    cust = changes["Status"] == "Customer"
    out_ = changes.groupby("From owner").agg(**{"Accounts handed over": ("Account Id", "size")})
    in_ = changes.groupby("To owner").agg(**{"Accounts taken over": ("Account Id", "size")})
    c_out = changes[cust].groupby("From owner").size().rename("Customers handed over")
    c_in = changes[cust].groupby("To owner").size().rename("Customers taken over")
    res = pd.concat([out_, in_, c_out, c_in], axis=1).fillna(0).astype("int64")
    res = res[
        [
            "Accounts handed over",
            "Accounts taken over",
            "Customers handed over",
            "Customers taken over",
        ]
    ]
    return res.rename_axis("Rep").reset_index().sort_values("Rep", ignore_index=True)


def resolve_territory_ids(csv_path: str | Path, territory2_export: str | Path) -> pd.DataFrame:
    """Replace the DeveloperNames in a file's ``Territory2Id`` column by the org's Ids.

    Parameters
    ----------
    csv_path
        ``user_territory_associations.csv`` or ``object_territory_associations.csv`` of the folder.
    territory2_export
        CSV of the deployed territories with columns ``Id`` and ``DeveloperName`` (e.g. from
        ``sf data query --query "SELECT Id, DeveloperName FROM Territory2" --result-format csv``).

    Returns
    -------
    pandas.DataFrame
        The file's rows with Ids in ``Territory2Id``.

    Raises
    ------
    ValueError
        Naming every DeveloperName the export does not hold (deploy the territories first).
    """
    rows = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    ids = pd.read_csv(territory2_export, dtype=str, keep_default_na=False)
    require_columns(ids, ["Id", "DeveloperName"], str(territory2_export))
    require_columns(rows, ["Territory2Id"], str(csv_path))
    lookup = dict(zip(ids["DeveloperName"].str.lower(), ids["Id"], strict=True))
    mapped = rows["Territory2Id"].str.lower().map(lookup)
    missing = sorted(set(rows.loc[mapped.isna(), "Territory2Id"]))
    if missing:
        raise InputFileError(
            f"{territory2_export} has no territory with DeveloperName "
            f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''} "
            f"({len(missing)} missing); deploy the territory model first and export again"
        )
    return rows.assign(Territory2Id=mapped)
