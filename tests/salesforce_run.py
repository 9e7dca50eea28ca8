"""A small run folder with the phase outputs the Salesforce export reads (real column names).

Planted facts the tests check:

* teams "Team Zürich & Ostschweiz" (lead L1, field reps R1, R2) and "Team Romandie" (lead L2, R3);
  key-account manager K1 (team "Key Accounts"); R9 inactive.
* territories: T01 -> R1, T02 -> R2, T03 -> R3, T04 vacant (previous owners in Romandie),
  key_accounts -> K1.
* accounts A01..A12: see ``TERRITORY``, ``PREVIOUS`` (owner before), ``CHANNEL``, ``KEY``.
* peer-median target of ``penetration``: 0.25 for reps, 0.3 for teams.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from salesanalytics.analyses.controlling import model as kpi

ACCOUNTS = [f"001A{i:02d}" for i in range(1, 13)]
TERRITORY = dict(zip(ACCOUNTS, ["T01", "T01", "T01", "T02", "T02", "T03", "T03", "T04", "T04",
                                "key_accounts", "key_accounts", "T02"], strict=True))  # fmt: skip
OWNER = {"T01": "005R1", "T02": "005R2", "T03": "005R3", "T04": "VACANT-1", "key_accounts": "005K1"}
PREVIOUS = dict(zip(ACCOUNTS, ["005R1", "005R1", "005R2", "005R2", "005R2", "005R3", "005R9",
                               "005R3", "005R3", "005K1", "005R1", "005R2"], strict=True))  # fmt: skip
CHANNEL = dict(zip(ACCOUNTS, ["field", "tele", "online"] * 4, strict=True))
KEY = {"001A10", "001A11"}
CUSTOMERS = ACCOUNTS[:8]
AS_OF = "2026-06-30"


def make_run(run: Path, phases: tuple[str, ...] | None = None) -> Path:
    """Write the phase outputs (all phases, or only ``phases``) into ``run/data``."""
    data = run / "data"

    def put(phase: str, table: str, df: pd.DataFrame) -> None:
        if phases is not None and phase not in phases:
            return
        (data / phase).mkdir(parents=True, exist_ok=True)
        df.to_parquet(data / phase / f"{table}.parquet", index=False)

    reps = pd.DataFrame(
        {
            "rep_id": ["005L1", "005L2", "005R1", "005R2", "005R3", "005K1", "005R9"],
            "name": ["Beat Rossi", "Luca Studer", "Nina Studer", "Jürg Müller", "Chloé Favre",
                     "Patrick Berset", "Urs Alt"],
            "role": ["team_lead", "team_lead", "field", "field", "field", "key_account", "field"],
            "team": ["Team Zürich & Ostschweiz", "Team Romandie", "Team Zürich & Ostschweiz",
                     "Team Zürich & Ostschweiz", "Team Romandie", "Key Accounts", "Team Romandie"],
            "active": [True, True, True, True, True, True, False],
        }
    ).astype({"rep_id": "string", "name": "string", "role": "string", "team": "string"})  # fmt: skip
    accounts = pd.DataFrame(
        {
            "account_id": ACCOUNTS,
            "name": [f"Firma {i} AG" for i in range(1, 13)],
            "status": ["customer"] * 8 + ["prospect"] * 3 + ["former_customer"],
        }
    ).astype("string")
    put("intake", "reps", reps)
    put("intake", "accounts", accounts)
    put(
        "intake",
        "quality_remappings",
        pd.DataFrame(
            {
                "file": ["Opportunity.csv"] * 3 + ["Task.csv"],
                "table": ["opportunities"] * 3 + ["activities"],
                "column": ["Type"] * 3 + ["TaskSubtype"],
                "field": ["type"] * 4,
                "from_value": ["New Business", "Upsell", "Renewal", "Email"],
                "to_value": ["new_business", "upsell", "renewal", "email"],
                "count": [10, 5, 3, 7],
            }
        ),
    )
    if phases is None or "intake" in phases:
        (data / "intake" / "as_of.json").write_text(json.dumps({"as_of": AS_OF}))
    assignment = pd.DataFrame(
        {
            "account_id": ACCOUNTS,
            "territory_id": [TERRITORY[a] for a in ACCOUNTS],
            "rep_id": [OWNER[TERRITORY[a]] for a in ACCOUNTS],
            "previous_rep_id": [PREVIOUS[a] for a in ACCOUNTS],
        }
    )
    assignment["changed"] = assignment["rep_id"] != assignment["previous_rep_id"]
    assignment["locked"] = False
    assignment["key_account"] = assignment["territory_id"] == "key_accounts"
    put("territory", "assignment", assignment)
    if phases is None or "territory" in phases:
        moved = assignment[assignment["changed"] & ~assignment["rep_id"].str.startswith("VACANT-")]
        moved[["account_id", "rep_id"]].set_axis(["Id", "OwnerId"], axis=1).to_csv(
            data / "territory" / "salesforce_owner_changes.csv", index=False
        )
    put(
        "territory",
        "territories",
        pd.DataFrame(
            {
                "territory_id": ["T01", "T02", "T03", "T04", "key_accounts"],
                "rep_id": ["005R1", "005R2", "005R3", "VACANT-1", "005K1"],
                "rep_name": [
                    "Nina Studer",
                    "Jürg Müller",
                    "Chloé Favre",
                    "vacant",
                    "Patrick Berset",
                ],
                "n_accounts": [3, 3, 2, 2, 2],
                "potential_mrr": [12345.6, 2000.0, 3000.0, 4000.0, 5000.0],
                "workload_hours": [812.2, 700.0, 600.0, 500.0, 400.0],
            }
        ).astype({"territory_id": "string", "rep_id": "string", "rep_name": "string"}),
    )
    pot = pd.DataFrame(
        {
            "account_id": ACCOUNTS,
            "potential_mrr": [1234.5 + 1000 * i for i in range(12)],
            "white_space_mrr": [234.5 + 10 * i for i in range(12)],
        }
    )
    put("potential", "account_potential", pot)
    put(
        "potential",
        "key_accounts",
        pd.DataFrame({"account_id": sorted(KEY), "rep_id": "005K1", "proposed_kam_id": "005K1"}),
    )
    put(
        "portfolio",
        "account_segments",
        pd.DataFrame(
            {
                "account_id": ACCOUNTS,
                "matrix_cell": ["develop", "defend", "maintain", "serve efficiently"] * 3,
            }
        ).astype("string"),
    )
    put(
        "channels",
        "account_channel",
        pd.DataFrame(
            {"account_id": ACCOUNTS, "proposed_channel": [CHANNEL[a] for a in ACCOUNTS]}
        ).astype("string"),
    )
    put(
        "churn",
        "customer_churn",
        pd.DataFrame(
            {"account_id": CUSTOMERS, "risk_band": ["low", "medium", "high", "low"] * 2}
        ).astype("string"),
    )
    system = kpi.load_kpi_system()
    put("controlling", "kpi_system", system.table())
    rows = []
    for k in system.kpis:
        for level, ent, target in (
            ("rep", "005R1", 0.25),
            ("rep", "005R2", 0.25),
            ("team", "T", 0.3),
        ):
            rows.append(
                {
                    "level": level,
                    "entity_id": ent,
                    "kpi_id": k.id,
                    "target": target if k.target.type == "peer_median" else 7.0 + len(rows),
                }
            )
    put("controlling", "kpi_actuals", pd.DataFrame(rows))
    (run / "manifest.json").write_text(
        json.dumps({"run_id": run.name, "client": "Muster Web AG", "parameters": {}})
    )
    return run


# --------------------------------------------------------------------------- the real CLI
def sf_binary() -> str | None:
    """The Salesforce CLI the tests use: ``SALESANALYTICS_SF``, the project's pinned copy
    (``tools/salesforce-cli``, installed by ``.ci/run``), or ``sf`` on the PATH."""
    import os
    import shutil

    root = Path(__file__).resolve().parents[1]
    for cand in (
        os.environ.get("SALESANALYTICS_SF"),
        str(root / "tools" / "salesforce-cli" / "node_modules" / ".bin" / "sf"),
        shutil.which("sf"),
    ):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def require_sf() -> str:
    """:func:`sf_binary`, or skip with how to install it; in CI (``CI`` set) a missing CLI fails."""
    import os

    import pytest

    sf = sf_binary()
    if sf is None:
        if os.environ.get("CI"):
            pytest.fail("the Salesforce CLI (sf) is missing in CI: .ci/run installs it")
        pytest.skip(
            "Salesforce CLI not installed: npm ci --prefix tools/salesforce-cli (or set "
            "SALESANALYTICS_SF to an sf binary)"
        )
    return sf


def package_members(package: Path) -> dict[str, set[str]]:
    """Component names per metadata type listed in a ``package.xml``."""
    from salesanalytics.salesforce.metadata import NS, parse_metadata

    q = "{" + NS + "}"
    return {
        t.find(q + "name").text: {m.text.rstrip("/") for m in t.findall(q + "members")}
        for t in parse_metadata(package).findall(q + "types")
    }


def check_cli_converts(sf: str, folder: Path, work: Path) -> None:
    """``sf project convert source`` (offline, no org) on a run's ``salesforce/`` folder, from the
    source tree and from its ``package.xml``: exit 0 and every listed component converted."""
    import os
    import subprocess

    env = {**os.environ, "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true",
           "SF_SKIP_NEW_VERSION_CHECK": "true", "HOME": str(work)}  # fmt: skip
    listed = package_members(folder / "manifest" / "package.xml")
    for how in (["--root-dir", "force-app"], ["--manifest", "manifest/package.xml"]):
        out = work / ("out-" + how[0].strip("-"))
        proc = subprocess.run(
            [sf, "project", "convert", "source", *how, "--output-dir", str(out), "--json"],
            cwd=folder, capture_output=True, text=True, timeout=600, env=env, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert json.loads(proc.stdout)["status"] == 0
        assert package_members(out / "package.xml") == listed  # every component converted
        converted = [p for p in out.rglob("*") if p.is_file() and p.name != "package.xml"]
        assert len(converted) >= len(listed) - 1  # fields merge into Account.object
