"""The run's salesforce/ folder: parts, manifest, well-formed metadata, field rules, Data Loader
files, round trip, dry run, partial runs, the pipeline hook and the real Salesforce CLI."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
import salesforce_run as sr

from salesanalytics.salesforce import write_salesforce_folder
from salesanalytics.salesforce.__main__ import main as sf_main
from salesanalytics.salesforce.fields import (
    ACCOUNT_FIELDS,
    account_values,
    read_account_update,
)
from salesanalytics.salesforce.metadata import NS, parse_metadata
from salesanalytics.salesforce.names import check_developer_name

ROOT = Path(__file__).resolve().parents[2]
SRC = "force-app/main/default"
Q = "{" + NS + "}"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = sr.make_run(tmp_path_factory.mktemp("reports") / "20260701-120000")
    res = write_salesforce_folder(run)
    assert res is not None and res.parts == ["territories", "fields", "cockpit"]
    return run


def _text(el: ET.Element, tag: str) -> str | None:
    child = el.find(Q + tag)
    return None if child is None else child.text


def _members(package: Path) -> dict[str, set[str]]:
    root = parse_metadata(package)
    return {
        _text(t, "name"): {m.text.rstrip("/") for m in t.findall(Q + "members")}
        for t in root.findall(Q + "types")
    }


def _components_on_disk(src: Path) -> dict[str, set[str]]:
    """Metadata type -> members, derived from the source files (what package.xml must list)."""
    out: dict[str, set[str]] = {}
    suffixes = {
        ".field-meta.xml": "CustomField",
        ".territory2Type-meta.xml": "Territory2Type",
        ".territory2Model-meta.xml": "Territory2Model",
        ".territory2-meta.xml": "Territory2",
        ".report-meta.xml": "Report",
        ".reportFolder-meta.xml": "Report",
        ".dashboard-meta.xml": "Dashboard",
        ".dashboardFolder-meta.xml": "Dashboard",
        ".permissionset-meta.xml": "PermissionSet",
    }
    for path in src.rglob("*-meta.xml"):
        suffix = next(s for s in suffixes if path.name.endswith(s))
        kind = suffixes[suffix]
        name = path.name.removesuffix(suffix)
        if kind == "CustomField":
            member = f"{path.parent.parent.name}.{name}"
        elif kind == "Territory2":
            member = f"{path.parent.parent.name}.{name}"
        elif kind in {"Report", "Dashboard"} and "Folder" not in suffix:
            member = f"{path.parent.name}/{name}"
        else:
            member = name
        out.setdefault(kind, set()).add(member)
    return out


def test_every_component_is_listed_in_package_xml_and_every_file_is_well_formed(
    run: Path,
) -> None:
    folder = run / "salesforce"
    listed = _members(folder / "manifest" / "package.xml")
    assert listed == _components_on_disk(folder / SRC)
    assert parse_metadata(folder / "manifest" / "package.xml").find(Q + "version").text == "62.0"
    files = list((folder / SRC).rglob("*-meta.xml"))
    assert len(files) == sum(len(v) for v in listed.values())
    for f in files:
        root = parse_metadata(f)  # well-formed, in the Metadata API namespace
        assert f.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        assert root.tag.removeprefix(Q) in {
            "CustomField", "Territory2Type", "Territory2Model", "Territory2", "Report",
            "ReportFolder", "Dashboard", "DashboardFolder", "PermissionSet",
        }  # fmt: skip
    proj = json.loads((folder / "sfdx-project.json").read_text())
    assert proj["packageDirectories"] == [{"path": "force-app", "default": True}]


def test_not_well_formed_metadata_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "x.report-meta.xml"
    bad.write_text("<Report><name>x</Report>")
    with pytest.raises(ValueError, match=r"x.report-meta.xml: not well-formed XML"):
        parse_metadata(bad)
    bad.write_text("<Report><name>x</name></Report>")
    with pytest.raises(ValueError, match="is not in the namespace"):
        parse_metadata(bad)


def test_territory_model_has_a_parent_per_team_and_valid_unique_names(run: Path) -> None:
    models = list((run / "salesforce" / SRC / "territory2Models").iterdir())
    assert [m.name for m in models] == ["Sales_territories_2026_06_30"]
    terr = {}
    for f in (models[0] / "territories").glob("*.territory2-meta.xml"):
        root = parse_metadata(f)
        dev = f.name.removesuffix(".territory2-meta.xml")
        assert check_developer_name(dev) == []
        name = _text(root, "name")
        assert name is not None and len(name) <= 80
        terr[dev] = (name, _text(root, "parentTerritory"), _text(root, "territory2Type"))
    assert len({d.lower() for d in terr}) == len(terr)
    types = {
        f.name.removesuffix(".territory2Type-meta.xml")
        for f in (run / "salesforce" / SRC / "territory2Types").iterdir()
    }
    assert {t for _n, _p, t in terr.values()} <= types
    assert terr["Team_Zuerich_and_Ostschweiz"] == ("Team Zürich & Ostschweiz", None, "Sales_Team")
    assert terr["T01_Zuerich_and_Ostschweiz"] == (
        "T01 Zürich & Ostschweiz", "Team_Zuerich_and_Ostschweiz", "Field_Territory",
    )  # fmt: skip
    # the vacant territory goes under the team of its accounts' previous owners
    assert terr["T04_Romandie"][1] == "Team_Romandie"
    assert terr["Key_Accounts_Patrick_Berset"] == (
        "Key Accounts Patrick Berset", "Key_Accounts", "Key_Account_Territory",
    )  # fmt: skip
    assert all(p is None or p in terr for _n, p, _t in terr.values())
    desc = _text(
        parse_metadata(
            models[0] / "territories" / "T01_Zuerich_and_Ostschweiz.territory2-meta.xml"
        ),
        "description",
    )
    assert desc == (
        "Territory T01 of the proposal: 3 accounts, potential CHF 12'346 per month, "
        "workload 812 h per year; rep: Nina Studer."
    )  # the territory phase's figures, not recomputed


def test_association_files_assign_every_account_and_the_active_people(run: Path) -> None:
    data = run / "salesforce" / "data"
    objects = pd.read_csv(data / "object_territory_associations.csv", dtype=str)
    assert list(objects.columns) == ["ObjectId", "Territory2Id", "AssociationCause"]
    assert (objects["AssociationCause"] == "Territory2Manual").all()
    got = dict(zip(objects["ObjectId"], objects["Territory2Id"], strict=True))
    assert got["001A01"] == "T01_Zuerich_and_Ostschweiz"
    assert got["001A12"] == "T02_Zuerich_and_Ostschweiz"
    assert got["001A10"] == got["001A11"] == "Key_Accounts_Patrick_Berset"
    assert set(got) == set(sr.ACCOUNTS)
    users = pd.read_csv(data / "user_territory_associations.csv", dtype=str)
    assert list(users.columns) == ["UserId", "Territory2Id", "RoleInTerritory2"]
    assert set(map(tuple, users.to_numpy())) == {
        ("005R1", "T01_Zuerich_and_Ostschweiz", "Territory Owner"),
        ("005R2", "T02_Zuerich_and_Ostschweiz", "Territory Owner"),
        ("005R3", "T03_Romandie", "Territory Owner"),
        ("005K1", "Key_Accounts_Patrick_Berset", "Key Account Manager"),
        ("005L1", "Team_Zuerich_and_Ostschweiz", "Team Lead"),
        ("005L2", "Team_Romandie", "Team Lead"),
    }  # no user on the vacant T04, none for the inactive R9
    owners = pd.read_csv(data / "account_owner_update.csv", dtype=str)
    assert list(owners.columns) == ["Id", "OwnerId"]
    assert dict(zip(owners["Id"], owners["OwnerId"], strict=True)) == {
        "001A03": "005R1", "001A07": "005R3", "001A11": "005K1",
    }  # fmt: skip


def test_custom_fields_follow_salesforce_field_rules(run: Path) -> None:
    fdir = run / "salesforce" / SRC / "objects" / "Account" / "fields"
    files = sorted(fdir.iterdir())
    assert [f.name.removesuffix(".field-meta.xml") for f in files] == sorted(
        f.api_name for f in ACCOUNT_FIELDS
    )
    for f in files:
        root = parse_metadata(f)
        full = _text(root, "fullName")
        assert f.name == f"{full}.field-meta.xml" and full.endswith("__c")
        assert check_developer_name(full.removesuffix("__c")) == []
        assert len(_text(root, "label")) <= 40
        assert len(_text(root, "description")) <= 1000 and len(_text(root, "inlineHelpText")) <= 510
        kind = _text(root, "type")
        if kind == "Currency":
            assert 0 <= int(_text(root, "scale")) <= int(_text(root, "precision")) <= 18
        if kind == "Text":
            assert 1 <= int(_text(root, "length")) <= 255
        if kind == "Checkbox":
            assert _text(root, "defaultValue") == "false"
    channel = parse_metadata(fdir / "Proposed_Channel__c.field-meta.xml")
    assert _text(channel, "type") == "Picklist"
    vs = channel.find(Q + "valueSet")
    assert _text(vs, "restricted") == "true"
    values = [_text(v, "fullName") for v in vs.find(Q + "valueSetDefinition").findall(Q + "value")]
    assert values == ["Field", "Tele", "Online"]


def test_account_update_has_salesforce_headers_and_formats(run: Path) -> None:
    path = run / "salesforce" / "data" / "account_update.csv"
    text = path.read_text(encoding="utf-8")
    header = text.splitlines()[0].split(",")
    assert header == ["Id"] + [f.api_name for f in ACCOUNT_FIELDS]
    df = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("Id")
    assert df.loc["001A12", "Potential_MRR__c"] == "12234.50"  # no thousands separator
    assert df.loc["001A10", "Key_Account__c"] == "true"
    assert df.loc["001A01", "Key_Account__c"] == "false"
    assert df.loc["001A04", "Portfolio_Class__c"] == "Serve efficiently"
    assert df.loc["001A03", "Churn_Risk__c"] == "High" and df.loc["001A09", "Churn_Risk__c"] == ""
    assert (df["Analysis_Date__c"] == sr.AS_OF).all()
    for f in ACCOUNT_FIELDS:
        if f.values:
            assert set(df[f.api_name]) - {""} <= set(f.values)


@pytest.mark.parametrize("dialect", ["as written", "Swiss Excel"])
def test_round_trip_gives_back_territory_channel_and_key_account(
    run: Path, tmp_path: Path, dialect: str
) -> None:
    path = run / "salesforce" / "data" / "account_update.csv"
    if dialect == "Swiss Excel":  # semicolons, BOM, Windows line ends: as Excel saves it
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        path = tmp_path / "Account.csv"
        path.write_bytes(
            b"\xef\xbb\xbf" + df.to_csv(index=False, sep=";", lineterminator="\r\n").encode()
        )
    back = read_account_update(path).set_index("account_id")
    names = {
        "T01": "T01 Zürich & Ostschweiz", "T02": "T02 Zürich & Ostschweiz", "T03": "T03 Romandie",
        "T04": "T04 Romandie", "key_accounts": "Key Accounts Patrick Berset",
    }  # fmt: skip
    for a in sr.ACCOUNTS:
        assert back.loc[a, "territory"] == names[sr.TERRITORY[a]]
        assert back.loc[a, "proposed_channel"] == sr.CHANNEL[a]
        assert bool(back.loc[a, "key_account"]) == (a in sr.KEY)
    assert back.loc["001A02", "potential_mrr"] == pytest.approx(2234.5)
    assert back.loc["001A02", "churn_risk"] == "medium"


def test_read_back_names_invalid_cells(tmp_path: Path) -> None:
    path = tmp_path / "Account.csv"
    path.write_text("Id,Proposed_Channel__c,Key_Account__c\n001,Fax,true\n002,Tele,maybe\n")
    with pytest.raises(
        ValueError, match=r"Key_Account__c row 3: 'maybe'; Proposed_Channel__c row 2: 'Fax'"
    ):
        read_account_update(path)


def test_undeclared_picklist_values_are_refused_with_every_problem() -> None:
    acc = pd.DataFrame({"account_id": ["a", "b"]})
    with pytest.raises(ValueError, match=r"Proposed_Channel__c: value\(s\) partner.*e.g. b"):
        account_values(
            acc,
            pd.DataFrame({"account_id": ["a"], "potential_mrr": [1.0], "white_space_mrr": [0.0]}),
            pd.DataFrame({"account_id": []}),
            pd.DataFrame({"account_id": ["a", "b"], "proposed_channel": ["tele", "partner"]}),
            pd.DataFrame({"account_id": ["a"], "matrix_cell": ["develop"]}),
            pd.DataFrame({"account_id": ["a"], "risk_band": ["low"]}),
            pd.Series({"a": "T01"}),
            "2026-06-30",
        )


def test_dry_run_lists_the_accounts_changing_owner_or_territory_per_rep(run: Path) -> None:
    dry = run / "salesforce" / "dry_run"
    changes = pd.read_csv(dry / "account_changes.csv", dtype=str, keep_default_na=False)
    moved = {a for a in sr.ACCOUNTS if sr.PREVIOUS[a] != sr.OWNER[sr.TERRITORY[a]]}
    assert set(changes["Account Id"]) == moved == {"001A03", "001A07", "001A08", "001A09", "001A11"}
    row = changes.set_index("Account Id").loc["001A03"]
    assert (row["From owner"], row["From territory"]) == ("Jürg Müller", "T02 Zürich & Ostschweiz")
    assert (row["To owner"], row["To territory"]) == ("Nina Studer", "T01 Zürich & Ostschweiz")
    assert changes.set_index("Account Id").loc["001A08", "To owner"] == "vacant (rep to be named)"
    per_rep = pd.read_csv(dry / "changes_by_rep.csv").set_index("Rep")
    assert per_rep.loc["Chloé Favre"].tolist() == [2, 1, 1, 1]
    assert per_rep["Accounts handed over"].sum() == per_rep["Accounts taken over"].sum() == 5
    readme = (run / "salesforce" / "README.md").read_text()
    assert "| Chloé Favre | 2 | 1 | 1 | 1 |" in readme


def test_cockpit_reports_dashboards_breakpoints_and_kpis_left_out(run: Path) -> None:
    src = run / "salesforce" / SRC
    reports = {f.name.removesuffix(".report-meta.xml"): parse_metadata(f)
               for f in (src / "reports" / "Sales_Cockpit").iterdir()}  # fmt: skip
    assert len(reports) == 14  # 7 reportable KPIs x (rep, team)
    for dev, root in reports.items():
        assert check_developer_name(dev) == [] and len(dev) <= 40
        assert len(_text(root, "name")) <= 40
    win = reports["Win_rate_new_business_Rep"]
    assert _text(win.find(Q + "aggregates"), "calculatedFormula") == "WON:SUM / CLOSED:SUM"
    assert (
        _text(win, "scope") == "user"
        and _text(reports["Bookings_YTD_Team"], "scope") == "organization"
    )
    crit = {_text(c, "column"): _text(c, "value")
            for c in reports["Bookings_YTD_Rep"].find(Q + "filter").findall(Q + "criteriaItems")}  # fmt: skip
    assert crit == {"WON": "1", "TYPE": "New Business,Upsell"}  # the client's own values
    contacts = reports["Customer_contacts_YTD_Rep"].find(Q + "filter")
    assert "Email" in [_text(c, "value") for c in contacts.findall(Q + "criteriaItems")]
    left = pd.read_csv(run / "salesforce" / "notes" / "kpis_not_in_salesforce.csv")
    assert set(left["kpi_id"]) == {
        "mrr_churn_rate_ytd", "revenue_churn", "cross_sell_rate", "pipeline_coverage",
        "stuck_deal_share", "mrr_at_risk_share", "cost_to_serve_ratio",
    }  # fmt: skip
    assert left["reason"].str.len().min() > 30
    dashes = {f.name: parse_metadata(f) for f in (src / "dashboards" / "Sales_Cockpit").iterdir()}
    assert set(dashes) == {"Rep_cockpit.dashboard-meta.xml", "Team_lead_cockpit.dashboard-meta.xml"}
    bps = {}
    for name, root in dashes.items():
        assert _text(root, "dashboardType") == "LoggedInUser"
        comps = root.find(Q + "dashboardGridLayout").findall(Q + "dashboardGridComponents")
        assert 0 < len(comps) <= 20
        for c in comps:
            comp = c.find(Q + "dashboardComponent")
            ref = _text(comp, "report")
            assert ref.split("/")[1] in reports
            if _text(comp, "indicatorBreakpoint1") is not None:
                bps[(name, ref)] = (
                    float(_text(comp, "indicatorBreakpoint1")),
                    float(_text(comp, "indicatorBreakpoint2")),
                )
    # penetration: peer median 0.25 (reps) / 0.30 (teams), green from 100 %, amber from 90 %
    assert bps == {
        ("Rep_cockpit.dashboard-meta.xml", "Sales_Cockpit/Penetration_Rep"): (22.5, 25.0),
        ("Team_lead_cockpit.dashboard-meta.xml", "Sales_Cockpit/Penetration_Team"): (27.0, 30.0),
    }


def test_absolute_and_lower_is_better_targets_become_reversed_breakpoints() -> None:
    from salesanalytics.analyses.controlling import model as kpi
    from salesanalytics.salesforce.cockpit import GREEN, RED, cockpit

    system = kpi.KpiSystem.model_validate(
        {
            "kpis": [
                {"id": "calls", "name": "Contacts", "definition": "d", "formula": "contacts",
                 "unit": "num", "indicator": "leading", "direction": "higher",
                 "owner_role": "rep", "target": {"type": "absolute", "value": 200},
                 "thresholds": {"green": 1.0, "amber": 0.8}},
                {"id": "few_lost", "name": "Won", "definition": "d", "formula": "won_new",
                 "unit": "num", "indicator": "lagging", "direction": "lower",
                 "owner_role": "rep", "target": {"type": "absolute", "value": 10},
                 "thresholds": {"green": 1.0, "amber": 0.8}},
                {"id": "odd", "name": "Odd", "definition": "d", "formula": "visits * 2",
                 "unit": "num", "indicator": "leading", "direction": "higher",
                 "owner_role": "rep", "target": {"type": "absolute", "value": 1}},
            ]
        }
    )  # fmt: skip
    c = cockpit(system, ["calls", "few_lost", "odd"], pd.DataFrame())
    rep = {r.kpi_id: r for r in c.reports if r.audience == "rep"}
    assert rep["calls"].breakpoints == (160.0, 200.0) and rep["calls"].colors[0] == RED
    assert rep["few_lost"].breakpoints == (10.0, 12.5) and rep["few_lost"].colors[0] == GREEN
    assert c.not_in_salesforce.to_dict("records") == [
        {"kpi_id": "odd", "KPI": "Odd",
         "reason": "no Salesforce report recipe for the formula 'visits * 2' (window ytd)"}
    ]  # fmt: skip


def test_partial_run_writes_the_territory_files_only(tmp_path: Path) -> None:
    run = sr.make_run(tmp_path / "partial", phases=("intake", "potential", "territory"))
    res = write_salesforce_folder(run, ["intake", "potential", "territory"])
    assert res is not None and res.parts == ["territories"]
    assert res.missing == {
        "fields": ["portfolio", "channels", "churn"],
        "cockpit": ["controlling"],
    }
    folder = run / "salesforce"
    assert sorted(p.name for p in (folder / SRC).iterdir()) == [
        "territory2Models",
        "territory2Types",
    ]
    assert set(_members(folder / "manifest" / "package.xml")) == {
        "Territory2", "Territory2Model", "Territory2Type",
    }  # fmt: skip
    assert sorted(p.name for p in (folder / "data").iterdir()) == [
        "account_owner_update.csv", "object_territory_associations.csv",
        "user_territory_associations.csv",
    ]  # fmt: skip
    assert (
        "~~fields~~: not in this run (needs phase(s) portfolio, channels, churn)"
        in (folder / "README.md").read_text()
    )
    # nothing to export without the territory or controlling phase: no folder
    assert write_salesforce_folder(tmp_path / "partial", ["intake", "potential"]) is None


def test_rewriting_replaces_the_folder_as_a_whole(tmp_path: Path) -> None:
    run = sr.make_run(tmp_path / "r")
    write_salesforce_folder(run)
    (run / "salesforce" / "stale.txt").write_text("from an earlier export")
    write_salesforce_folder(run, ["intake", "territory"])
    assert not (run / "salesforce" / "stale.txt").exists()
    assert not (run / "salesforce" / "data" / "account_update.csv").exists()
    assert not (run / ".salesforce.tmp").exists()


def test_pipeline_runner_writes_the_folder_after_its_phases(tmp_path: Path) -> None:
    from salesanalytics.engagement.pipeline import runner
    from salesanalytics.engagement.spec import PhaseParams, PhaseSpec

    run = sr.make_run(tmp_path / "reports" / "x" / "run")
    specs = [
        PhaseSpec(name=n, notebook=f"{n}.ipynb", title=n, reads=(), writes=(), params=PhaseParams)
        for n in ("intake", "potential", "territory", "controlling")
    ]
    opts = runner.RunOptions(
        phases=specs, notebooks_dir=tmp_path, reports_dir=tmp_path / "reports", client="Muster AG",
        slug="x", quiet=True,
    )  # fmt: skip
    r = runner._Runner(opts)
    try:
        r.run_dir = run
        for name, res in r.results.items():
            res.status = "failed" if name == "controlling" else "ran"
        r.export_salesforce()
    finally:
        r.executor.shutdown()
    assert r.salesforce["parts"] == ["territories"]
    assert r.salesforce["missing"]["cockpit"] == ["controlling"]
    log = (run / "run.log").read_text()
    assert "salesforce: territories written" in log
    # a broken input costs the export, not the run, and says why
    (run / "data" / "territory" / "assignment.parquet").write_bytes(b"not parquet")
    r2 = runner._Runner(opts)
    try:
        r2.run_dir = run
        for res in r2.results.values():
            res.status = "ran"
        r2.export_salesforce()
    finally:
        r2.executor.shutdown()
    assert "error" in r2.salesforce
    assert "FAILED salesforce export" in (run / "run.log").read_text()


def test_resolve_replaces_developer_names_by_ids(run: Path, tmp_path: Path) -> None:
    ids = tmp_path / "territory2.csv"
    devs = pd.read_csv(run / "salesforce" / "data" / "object_territory_associations.csv")
    uniq = sorted(set(devs["Territory2Id"]))
    pd.DataFrame({"Id": [f"0MI{i:015d}" for i in range(len(uniq))], "DeveloperName": uniq}).to_csv(
        ids, index=False
    )
    out = tmp_path / "accounts_ids.csv"
    src = run / "salesforce" / "data" / "object_territory_associations.csv"
    assert sf_main(["resolve", str(src), str(ids), "--out", str(out)]) == 0
    got = pd.read_csv(out, dtype=str)
    assert got["Territory2Id"].str.startswith("0MI").all() and len(got) == len(devs)
    pd.DataFrame({"Id": ["0MI1"], "DeveloperName": ["T01_Zuerich_and_Ostschweiz"]}).to_csv(
        ids, index=False
    )
    from salesanalytics.salesforce.territories import resolve_territory_ids

    with pytest.raises(ValueError, match=r"no territory with DeveloperName Key_Accounts_Patrick"):
        resolve_territory_ids(src, ids)
    assert sf_main(["export", str(tmp_path / "nothing")]) == 2


# --------------------------------------------------------------------------- the real CLI
def test_salesforce_cli_converts_every_component(run: Path, tmp_path: Path) -> None:
    """The hand-made run here; the demo run's folder is converted in test_pipeline_demo_run."""
    sr.check_cli_converts(sr.require_sf(), run / "salesforce", tmp_path)


def test_an_unchanged_folder_is_hard_linked_from_the_earlier_run(tmp_path: Path) -> None:
    first = sr.make_run(tmp_path / "run1")
    write_salesforce_folder(first, key="k1")
    second = sr.make_run(tmp_path / "run2")
    res = write_salesforce_folder(second, key="k1", reuse_from=[tmp_path / "nope", first])
    assert res is not None and res.reused_from == "run1"
    a = first / "salesforce" / "data" / "account_update.csv"
    b = second / "salesforce" / "data" / "account_update.csv"
    assert os.stat(a).st_ino == os.stat(b).st_ino
    assert res.files["data/account_update.csv"] == 12 and res.notes
    again = write_salesforce_folder(second, key="k2", reuse_from=[first])
    assert again is not None and again.reused_from == ""
    assert os.stat(a).st_ino != os.stat(b).st_ino
