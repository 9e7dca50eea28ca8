"""Write a run's ``salesforce/`` folder.

Metadata (source format), Data Loader files, dry run, manifest and guide, from the phases' output
tables in the run folder (never recomputed).

The folder holds the parts whose phases finished in the run:

=============  ==========================================================  ======================
part           what                                                        phases
=============  ==========================================================  ======================
territories    Territory2Model, Territory2Type, Territory2, associations,  intake, territory
               dry run per rep
fields         CustomField on Account, permission set, Account update      + potential, portfolio,
                                                                           channels, churn
cockpit        reports, dashboards (rep, team lead), KPIs left out          intake, controlling
=============  ==========================================================  ======================

A partial run (``--phase territory``) therefore writes the territory part only. The folder is
written beside the run's other outputs and replaced as a whole (written to a temporary folder
first), so it never mixes two runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from salesanalytics.errors import InputNotFoundError
from salesanalytics.present.deliverables import atomic_write_bytes, write_csv
from salesanalytics.runfolder import read_phase_tables
from salesanalytics.salesforce import cockpit as ck
from salesanalytics.salesforce import fields as fl
from salesanalytics.salesforce import territories as tr
from salesanalytics.salesforce.metadata import API_VERSION, Field, write_metadata
from salesanalytics.salesforce.names import developer_name

__all__ = ["FOLDER", "PARTS", "SalesforceExport", "write_salesforce_folder"]

FOLDER = "salesforce"
"""Name of the folder in the run."""
SOURCE_DIR = "force-app/main/default"
PARTS: dict[str, tuple[str, ...]] = {
    "territories": ("intake", "territory"),
    "fields": ("intake", "territory", "potential", "portfolio", "channels", "churn"),
    "cockpit": ("intake", "controlling"),
}
"""Parts of the folder and the phases each needs."""
PERMISSION_SET = "Sales_Analysis_Fields"
OWNER_CHANGES = "salesforce_owner_changes.csv"
"""The territory phase's owner-change file (``Id``, ``OwnerId``), copied into ``data/``."""


@dataclass
class SalesforceExport:
    """What :func:`write_salesforce_folder` wrote.

    Attributes
    ----------
    folder
        The ``salesforce/`` folder.
    parts
        Parts written (see :data:`PARTS`); ``missing`` the others, with the phases they lack.
    components
        Metadata type -> member names (as in ``package.xml``).
    files
        Data files written (relative paths) -> rows.
    notes
        Lines for the run log: KPIs a report cannot compute, vacant territories.
    reused_from
        Run id whose identical folder was hard-linked (empty: written anew).
    """

    folder: Path
    parts: list[str]
    missing: dict[str, list[str]]
    components: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reused_from: str = ""

    def summary(self) -> str:
        """One line for the run log."""
        if self.reused_from:
            return f"salesforce: {', '.join(self.parts)} reused from run {self.reused_from}"
        n = sum(len(v) for v in self.components.values())
        rows = ", ".join(f"{Path(k).name} {v:,}" for k, v in self.files.items())
        left = "; ".join(f"{p} needs {', '.join(m)}" for p, m in self.missing.items())
        return f"salesforce: {', '.join(self.parts)} written ({n} components; {rows})" + (
            f"; not written: {left}" if left else ""
        )


def _num(x: float) -> str:
    """A whole number Swiss style (``1'234``)."""
    return f"{float(x):,.0f}".replace(",", "'")


def _csv(path: Path, df: pd.DataFrame) -> int:
    # atomic, and CRM text a spreadsheet would run as a formula gets a leading ' (ids never do)
    write_csv(df, path, lineterminator="\n", encoding="utf-8")
    return len(df)


def _md_table(df: pd.DataFrame, limit: int = 60) -> str:
    if df.empty:
        return "_none_\n"

    def cell(v: Any) -> str:
        s = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
        return s.replace("|", "\\|").replace("\n", " ")

    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.head(limit).itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    if len(df) > limit:
        lines.append(f"\n… {len(df) - limit} more rows in the CSV file.")
    return "\n".join(lines) + "\n"


def _manifest(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _as_of(run_dir: Path) -> str:
    path = run_dir / "data" / "intake" / "as_of.json"
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["as_of"])[:10]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputNotFoundError(
            f"{path} is missing or unreadable ({exc}); rerun the intake phase"
        ) from None


def _kpi_system(run_dir: Path, manifest: dict[str, Any]) -> Any:
    from salesanalytics.analyses.controlling import model as kpi

    param = ((manifest.get("parameters") or {}).get("controlling") or {}).get("kpi_system") or ""
    if not param:
        return kpi.load_kpi_system(None)
    p = Path(param)
    return kpi.load_kpi_system(p if p.is_absolute() else run_dir / p)


def _currency(run_dir: Path) -> str:
    """The run's currency (intake ``settings.json``; CHF for runs without it)."""
    path = run_dir / "data" / "intake" / "settings.json"
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("currency") or "CHF")
    except (OSError, ValueError):
        return "CHF"


def _territory_part(
    run_dir: Path, out: Path, res: SalesforceExport, client: str, as_of: str
) -> tuple[tr.TerritoryModel, pd.DataFrame, pd.DataFrame]:
    (accounts, reps) = read_phase_tables(run_dir, "intake", ["accounts", "reps"])
    assignment, territories = read_phase_tables(run_dir, "territory", ["assignment", "territories"])
    model = tr.territory_model(assignment, territories, reps, as_of, client)
    cur = _currency(run_dir)
    src = out / SOURCE_DIR
    for t in tr.TERRITORY_TYPES.values():
        write_metadata(
            src / "territory2Types" / f"{t.developer_name}.territory2Type-meta.xml",
            "Territory2Type",
            [("description", t.description), ("name", t.label), ("priority", t.priority)],
        )
    res.components["Territory2Type"] = sorted(t.developer_name for t in tr.TERRITORY_TYPES.values())
    mdir = src / "territory2Models" / model.developer_name
    write_metadata(
        mdir / f"{model.developer_name}.territory2Model-meta.xml",
        "Territory2Model",
        [("description", model.description), ("name", model.name)],
    )
    res.components["Territory2Model"] = [model.developer_name]
    members = []
    for t in model.territories.itertuples(index=False):
        kind = "team" if t.kind == "team" else t.kind
        if t.kind == "team":
            desc = f"{t.team} (sales team): {_num(t.accounts)} accounts."
        else:
            desc = (
                f"Key accounts of {t.rep_name}: {_num(t.accounts)} accounts"
                if t.kind == "key_account"
                else f"Territory {t.territory_id} of the proposal: {_num(t.accounts)} accounts"
            )
            if not pd.isna(t.potential_mrr):
                desc += f", potential {cur} {_num(t.potential_mrr)} per month"
            if not pd.isna(t.workload_hours):
                desc += f", workload {_num(t.workload_hours)} h per year"
            desc += "; " + (f"rep: {t.rep_name}." if t.rep_name else "vacant: name a rep.")
        fields: list[Field] = [
            ("accountAccessLevel", "Edit"),
            ("caseAccessLevel", "Read"),
            ("contactAccessLevel", "Edit"),
            ("description", desc),
            ("name", t.name),
            ("opportunityAccessLevel", "Edit"),
            ("parentTerritory", t.parent or None),
            ("territory2Type", tr.TERRITORY_TYPES[kind].developer_name),
        ]
        write_metadata(
            mdir / "territories" / f"{t.developer_name}.territory2-meta.xml", "Territory2", fields
        )
        members.append(f"{model.developer_name}.{t.developer_name}")
    res.components["Territory2"] = sorted(members)
    data = out / "data"
    res.files["data/user_territory_associations.csv"] = _csv(
        data / "user_territory_associations.csv", model.users
    )
    res.files["data/object_territory_associations.csv"] = _csv(
        data / "object_territory_associations.csv", model.objects
    )
    owners = run_dir / "data" / "territory" / OWNER_CHANGES
    if owners.is_file():  # the territory phase's Data Loader file (Id, OwnerId), as it wrote it
        df = pd.read_csv(owners, dtype=str, keep_default_na=False)
        res.files["data/account_owner_update.csv"] = _csv(data / "account_owner_update.csv", df)
    changes = tr.dry_run(model, assignment, accounts, reps)
    per_rep = tr.changes_by_rep(changes)
    res.files["dry_run/account_changes.csv"] = _csv(
        out / "dry_run" / "account_changes.csv", changes
    )
    res.files["dry_run/changes_by_rep.csv"] = _csv(out / "dry_run" / "changes_by_rep.csv", per_rep)
    if model.vacant:
        res.notes.append(
            f"salesforce: {len(model.vacant)} vacant territorie(s) without a user association: "
            + ", ".join(model.vacant)
        )
    return model, changes, per_rep


def _fields_part(
    run_dir: Path, out: Path, res: SalesforceExport, model: tr.TerritoryModel, as_of: str
) -> pd.DataFrame:
    (accounts,) = read_phase_tables(run_dir, "intake", ["accounts"])
    (potential,) = read_phase_tables(run_dir, "potential", ["account_potential"])
    # the one key-account list: drawn by the potential phase (portfolio and territory read it)
    (key_accounts,) = read_phase_tables(run_dir, "potential", ["key_accounts"])
    (segments,) = read_phase_tables(run_dir, "portfolio", ["account_segments"])
    (channels,) = read_phase_tables(run_dir, "channels", ["account_channel"])
    (churn,) = read_phase_tables(run_dir, "churn", ["customer_churn"])
    values = fl.account_values(
        accounts, potential, key_accounts, channels, segments, churn, model.account_territory, as_of
    )
    src = out / SOURCE_DIR
    for f in fl.ACCOUNT_FIELDS:
        write_metadata(
            src / "objects" / "Account" / "fields" / f"{f.api_name}.field-meta.xml",
            "CustomField",
            fl.field_metadata(f),
        )
    res.components["CustomField"] = sorted(f"Account.{f.api_name}" for f in fl.ACCOUNT_FIELDS)
    perms: list[Field] = [("description", "Read access to the sales-analysis fields on Account.")]
    for f in sorted(fl.ACCOUNT_FIELDS, key=lambda f: f.api_name):
        perms.append(
            (
                "fieldPermissions",
                [("editable", False), ("field", f"Account.{f.api_name}"), ("readable", True)],
            )
        )
    perms += [("hasActivationRequired", False), ("label", "Sales analysis fields")]
    write_metadata(
        src / "permissionsets" / f"{PERMISSION_SET}.permissionset-meta.xml", "PermissionSet", perms
    )
    res.components["PermissionSet"] = [PERMISSION_SET]
    update = fl.account_update(values)
    res.files["data/account_update.csv"] = _csv(out / "data" / "account_update.csv", update)
    return update


def _cockpit_part(
    run_dir: Path, out: Path, res: SalesforceExport, manifest: dict[str, Any]
) -> ck.Cockpit:
    system_table, actuals = read_phase_tables(run_dir, "controlling", ["kpi_system", "kpi_actuals"])
    rem_path = run_dir / "data" / "intake" / "quality_remappings.parquet"
    remappings = pd.read_parquet(rem_path) if rem_path.exists() else None
    system = _kpi_system(run_dir, manifest)
    c = ck.cockpit(system, system_table["kpi_id"].astype(str).tolist(), actuals, remappings)
    src = out / SOURCE_DIR
    folder = c.folder_developer_name
    write_metadata(
        src / "reports" / f"{folder}.reportFolder-meta.xml", "ReportFolder", [("name", c.folder)]
    )
    for r in c.reports:
        write_metadata(
            src / "reports" / folder / f"{r.developer_name}.report-meta.xml",
            "Report",
            ck.report_metadata(r),
        )
    res.components["Report"] = sorted(
        [folder] + [f"{folder}/{r.developer_name}" for r in c.reports]
    )
    write_metadata(
        src / "dashboards" / f"{folder}.dashboardFolder-meta.xml",
        "DashboardFolder",
        [("name", c.folder)],
    )
    dashes = [folder]
    for audience in ("rep", "team"):
        dev, _title, meta = ck.dashboard_metadata(c, audience)
        write_metadata(src / "dashboards" / folder / f"{dev}.dashboard-meta.xml", "Dashboard", meta)
        dashes.append(f"{folder}/{dev}")
    res.components["Dashboard"] = sorted(dashes)
    notes = out / "notes"
    res.files["notes/kpis_not_in_salesforce.csv"] = _csv(
        notes / "kpis_not_in_salesforce.csv", c.not_in_salesforce
    )
    res.files["notes/kpis_without_traffic_light.csv"] = _csv(
        notes / "kpis_without_traffic_light.csv", c.no_breakpoints
    )
    for row in c.not_in_salesforce.itertuples(index=False):
        res.notes.append(f"salesforce: KPI '{row.KPI}' is not a Salesforce report: {row.reason}")
    return c


def _package_xml(components: dict[str, list[str]]) -> list[Field]:
    out: list[Field] = []
    for name in sorted(components):
        out.append(("types", [*(("members", m) for m in components[name]), ("name", name)]))
    out.append(("version", API_VERSION))
    return out


def _sfdx_project(name: str) -> bytes:
    proj = {
        "packageDirectories": [{"path": "force-app", "default": True}],
        "name": name,
        "namespace": "",
        "sourceApiVersion": API_VERSION,
    }
    return (json.dumps(proj, indent=2) + "\n").encode("utf-8")


_ORDER = """\
## Order of deployment

Run the commands from this folder (`cd salesforce`), with the Salesforce CLI (`sf`) logged in
to the org (`sf org login web --alias client`). Try a sandbox first; `--dry-run` on a deploy
checks it without saving anything.

1. **Fields** on Account and the permission set that lets users read them:

   ```bash
   sf project deploy start --source-dir force-app/main/default/objects --source-dir force-app/main/default/permissionsets --target-org client
   sf org assign permset --name {permset} --target-org client   # add --on-behalf-of for each user
   sf data update bulk --sobject Account --file data/account_update.csv --wait 30 --target-org client
   ```

   (Data Loader: *Update*, object Account, map the columns by name; the files are UTF-8, so
   tick *Read all CSVs with UTF-8 encoding* in its settings.)
2. **Territory model** and types (Enterprise Territory Management must be enabled in Setup; the
   model arrives in state *Planning*):

   ```bash
   sf project deploy start --source-dir force-app/main/default/territory2Types --target-org client
   sf project deploy start --source-dir force-app/main/default/territory2Models --target-org client
   ```
3. **Territories** are part of the model folder above (parents per team first; the deploy orders them).
4. **Associations** of users and accounts. Their `Territory2Id` column holds the territory's
   DeveloperName; replace it by the Id the org gave the territory, then load:

   ```bash
   sf data query --query "SELECT Id, DeveloperName FROM Territory2 WHERE Territory2Model.DeveloperName = '{model}'" --result-format csv --target-org client > territory2.csv
   python -m salesanalytics.salesforce resolve data/user_territory_associations.csv territory2.csv --out users_ids.csv
   python -m salesanalytics.salesforce resolve data/object_territory_associations.csv territory2.csv --out accounts_ids.csv
   sf data import bulk --sobject UserTerritory2Association --file users_ids.csv --wait 30 --target-org client
   sf data import bulk --sobject ObjectTerritory2Association --file accounts_ids.csv --wait 30 --target-org client
   ```

   The new account owners (accounts that change rep; none to a vacant territory) are in
   `data/account_owner_update.csv`:
   `sf data update bulk --sobject Account --file data/account_owner_update.csv --wait 30 --target-org client`.
   The values of `RoleInTerritory2` ({roles}) must exist in that field's picklist
   (Setup > Object Manager > User Territory Association). Activate the model in Setup >
   Territory Models when the associations are checked.
5. **Reports** and 6. **dashboards** (folder *{folder}*):

   ```bash
   sf project deploy start --source-dir force-app/main/default/reports --target-org client
   sf project deploy start --source-dir force-app/main/default/dashboards --target-org client
   ```

Everything that is metadata at once: `sf project deploy start --manifest manifest/package.xml --target-org client`.
"""


def _readme(
    res: SalesforceExport,
    client: str,
    as_of: str,
    model: tr.TerritoryModel | None,
    per_rep: pd.DataFrame | None,
    c: ck.Cockpit | None,
) -> str:
    parts = {
        "territories": "territory model, territories, user and account associations, dry run",
        "fields": "custom fields on Account, permission set, Account update file",
        "cockpit": "reports and dashboards of the KPI system",
    }
    lines = [
        f"# Salesforce deployment: {client}",
        "",
        f"Results of the sales-strategy analysis (data as of {as_of}) as Salesforce metadata in "
        "source format and Data Loader files. Written by `salesanalytics` from the phases' output tables; "
        "nothing here is computed anew.",
        "",
        "## Contents",
        "",
    ]
    for p, text in parts.items():
        if p in res.parts:
            lines.append(f"* **{p}**: {text}")
        else:
            lines.append(f"* ~~{p}~~: not in this run (needs phase(s) {', '.join(res.missing[p])})")
    lines += ["", "| type | components |", "|---|---|"]
    lines += [f"| {k} | {len(v)} |" for k, v in sorted(res.components.items())]
    lines += ["", "| file | rows |", "|---|---|"]
    lines += [f"| `{k}` | {v:,} |" for k, v in res.files.items()]
    lines += [
        "",
        _ORDER.format(
            permset=PERMISSION_SET,
            model=model.developer_name if model is not None else "<model>",
            roles=", ".join(f"*{v}*" for v in dict.fromkeys(tr.ROLE_IN_TERRITORY.values())),
            folder=c.folder if c is not None else "Sales Cockpit",
        ),
    ]
    if model is not None and per_rep is not None:
        lines += [
            "## Dry run: what changes for the reps",
            "",
            f"Territory model *{model.name}* (`{model.developer_name}`): "
            f"{(model.territories['kind'] != 'team').sum()} territories under "
            f"{(model.territories['kind'] == 'team').sum()} parents; "
            f"{len(model.objects):,} accounts associated. Per rep (all accounts in "
            "`dry_run/account_changes.csv`):",
            "",
            _md_table(per_rep),
        ]
        if model.vacant:
            lines += [
                f"Vacant territories (no user association until a rep is named): "
                f"{', '.join(model.vacant)}.",
                "",
            ]
    if c is not None:
        lines += [
            "## KPIs that a Salesforce report cannot compute",
            "",
            "They stay in the HTML cockpits of the run:",
            "",
            _md_table(c.not_in_salesforce[["KPI", "reason"]]),
            "## Traffic lights",
            "",
            "Written as dashboard breakpoints (percentages in percent points):",
            "",
            _md_table(ck.breakpoint_table(c)),
            "Without a breakpoint (shown as a plain value):",
            "",
            _md_table(c.no_breakpoints[["KPI", "reason"]]),
            "The reports use Salesforce's standard report types (Opportunity, Activity, "
            "AccountList). They were converted with `sf project convert source`, which checks "
            "the folder's structure and files, not the fields of an org: deploy to a sandbox "
            "first and adjust a filter if the org names a value differently.",
            "",
        ]
    return "\n".join(lines)


def _reuse(
    final: Path, key: str, candidates: Iterable[Path], parts: list[str]
) -> SalesforceExport | None:
    """Hard-link an earlier run's folder written from the same inputs (same ``key``)."""
    for cand in candidates:
        folder = cand / FOLDER
        try:
            info = json.loads((folder / "export.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or info.get("key") != key or info.get("parts") != parts:
            continue
        tmp = final.parent / f".{FOLDER}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            shutil.copytree(folder, tmp, copy_function=_link_or_copy)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            continue
        return SalesforceExport(
            folder=final,
            parts=list(info["parts"]),
            missing={k: list(v) for k, v in (info.get("missing") or {}).items()},
            components={k: list(v) for k, v in (info.get("components") or {}).items()},
            files=dict(info.get("files") or {}),
            notes=list(info.get("notes") or []),
            reused_from=cand.name,
        )
    return None


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_salesforce_folder(
    run_dir: str | os.PathLike[str],
    phases: Iterable[str] | None = None,
    client: str | None = None,
    key: str = "",
    reuse_from: Iterable[str | os.PathLike[str]] = (),
) -> SalesforceExport | None:
    """Write ``run_dir/salesforce/`` from the run's phase outputs (see the module docs).

    Parameters
    ----------
    run_dir
        The run folder.
    phases
        Phases that finished in this run (default: every phase with a ``data/<phase>`` folder).
    client
        Client name for titles (default: the run's manifest).
    key
        Fingerprint of everything the folder is written from (the pipeline passes the phases'
        output fingerprints and the package's); with ``reuse_from``, an earlier run's folder
        written from the same key is hard-linked instead of written anew.
    reuse_from
        Earlier run folders to look in.

    Returns
    -------
    SalesforceExport or None
        What was written; ``None`` (and no folder) when no part's phases are in the run.
    """
    run = Path(run_dir)
    done = set(phases) if phases is not None else set()
    if phases is None:
        done = (
            {p.name for p in (run / "data").iterdir() if p.is_dir()}
            if (run / "data").is_dir()
            else set()
        )
    done = {p for p in done if (run / "data" / p).is_dir()}
    parts = [p for p, need in PARTS.items() if set(need) <= done]
    missing = {p: [n for n in need if n not in done] for p, need in PARTS.items() if p not in parts}
    if not parts:
        return None
    final = run / FOLDER
    if key:
        reused = _reuse(final, key, [Path(c) for c in reuse_from], parts)
        if reused is not None:
            return reused
    manifest = _manifest(run)
    client = client or str(manifest.get("client") or "the client")
    run_id = str(manifest.get("run_id") or run.name)
    as_of = _as_of(run)
    tmp = run / f".{FOLDER}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    res = SalesforceExport(folder=final, parts=parts, missing=missing)
    model = per_rep = c = None
    try:
        if "territories" in parts:
            model, _changes, per_rep = _territory_part(run, tmp, res, client, as_of)
        if "fields" in parts and model is not None:
            _fields_part(run, tmp, res, model, as_of)
        if "cockpit" in parts:
            c = _cockpit_part(run, tmp, res, manifest)
        write_metadata(tmp / "manifest" / "package.xml", "Package", _package_xml(res.components))
        atomic_write_bytes(
            tmp / "sfdx-project.json", _sfdx_project(developer_name(f"salesanalytics {client}"))
        )
        readme = _readme(res, client, as_of, model, per_rep, c)
        atomic_write_bytes(tmp / "README.md", readme.encode("utf-8"))
        info = {
            "run_id": run_id,
            "as_of": as_of,
            "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "parts": parts,
            "missing": missing,
            "components": res.components,
            "files": res.files,
            "api_version": API_VERSION,
            "notes": res.notes,
            "key": key,
        }
        atomic_write_bytes(tmp / "export.json", json.dumps(info, indent=2).encode("utf-8"))
        for dirpath, _dirs, files in os.walk(tmp):
            for fn in files:
                os.chmod(Path(dirpath) / fn, 0o644)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return res
