"""Shared fixtures: a small hand-written Salesforce-style export and a generated demo export."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

# Property-based tests (Hypothesis): no deadline, since a test never depends on the machine's speed;
# derandomized, so CI sees the same examples every run (a failure is reproducible); no example
# database written into the working tree; no shrinking (on the demo's tables a failing example can
# take many minutes to shrink; the failing parameters are printed as found). Each test sets its own
# ``max_examples``.
settings.register_profile(
    "salesanalytics",
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile("salesanalytics")

REAL = Path(__file__).parent / "data" / "real"
MAVEN = REAL / "maven_crm"

# A tiny Salesforce export with exactly the demo columns (docs/architecture.md, "Demo client").
# fmt: off
SF_FILES: dict[str, list[list[str]]] = {
    "Account.csv": [
        [
            "Id",
            "Name",
            "BillingStreet",
            "BillingPostalCode",
            "BillingCity",
            "BillingState",
            "BillingCountry",
            "BillingLatitude",
            "BillingLongitude",
            "Industry",
            "NumberOfEmployees",
            "AnnualRevenue",
            "Type",
            "OwnerId",
            "ParentId",
            "CreatedDate",
            "Customer_Since__c",
            "Channel_Preference__c",
        ],
        ["001A", "Bäckerei Müller GmbH", "Langstrasse 1", "8004", "Zürich", "ZH", "Switzerland",
         "47.3769", "8.5417", "Hospitality", "12", "1800000", "Customer", "005R1", "",
         "2020-01-15T08:00:00.000Z", "2021-03-01", "Field"],
        ["001B", "Garage Favre SA", "Rue du Lac 2", "1003", "", "", "Switzerland", "", "",
         "Automotive", "25", "", "Customer", "005R2", "", "2020-02-01T08:00:00.000Z",
         "2022-05-01", "Tele"],
        ["001C", "Coiffeur Bernasconi", "Via Nassa 3", "6900", "Lugano", "TI", "Switzerland",
         "46.0037", "8.9511", "Beauty", "3", "", "Prospect", "005R2", "",
         "2023-06-01T08:00:00.000Z", "", ""],
        ["001D", "Müller Filiale Bern", "Marktgasse 4", "3011", "Bern", "BE", "Switzerland",
         "46.948", "7.4474", "Hospitality", "5", "", "Former Customer", "005R1", "001A",
         "2021-01-01T08:00:00.000Z", "2021-04-01", "Online"],
    ],
    "User.csv": [
        ["Id", "FirstName", "LastName", "Name", "Title", "Sales_Role__c", "PostalCode", "City",
         "Latitude", "Longitude", "FTE__c", "Capacity_Hours__c", "Department", "ManagerId",
         "IsActive", "Hire_Date__c"],
        ["005TL", "Anna", "Meier", "Anna Meier", "Head of Sales", "Team Lead", "3011", "Bern",
         "46.948", "7.4474", "1.0", "400", "Team Mittelland", "", "true", "2015-01-01"],
        ["005R1", "Beat", "Keller", "Beat Keller", "Field Sales Rep", "Field Sales", "8004",
         "Zürich", "", "", "1.0", "1200", "Team Mittelland", "005TL", "true", "2019-04-01"],
        ["005R2", "Chloé", "Rochat", "Chloé Rochat", "Tele Sales Rep", "Tele Sales", "1003",
         "Lausanne", "46.52", "6.63", "0.8", "1000", "Team Romandie", "005TL", "true",
         "2021-09-01"],
    ],
    "Product2.csv": [
        ["Id", "Name", "ProductCode", "Family", "IsActive", "List_Price__c", "Complexity__c",
         "Cost_Share__c", "Launch_Date__c"],
        ["01tW", "Website Pro", "WEB-PRO", "Website", "true", "89", "3", "0.25", "2018-01-01"],
        ["01tS", "SEO Local", "SEO-LOC", "SEO", "true", "149", "4", "0.3", "2024-01-01"],
    ],
    "Contract.csv": [
        ["Id", "ContractNumber", "AccountId", "OwnerId", "Status", "StartDate", "EndDate",
         "ContractTerm", "Product__c", "MRR__c", "Auto_Renewal__c", "Sales_Channel__c",
         "Cancellation_Date__c"],
        ["800A1", "00000101", "001A", "005R1", "Activated", "2021-03-01", "2025-02-28", "12",
         "01tW", "89", "true", "Field", ""],
        ["800A2", "00000102", "001A", "005R1", "Activated", "2024-02-01", "2025-01-31", "12",
         "01tS", "149", "true", "Field", ""],
        ["800B1", "00000103", "001B", "005R2", "Activated", "2022-05-01", "2025-04-30", "24",
         "01tW", "79.5", "false", "Tele", ""],
        ["800D1", "00000104", "001D", "005R1", "Terminated", "2021-04-01", "2023-03-31", "12",
         "01tW", "89", "true", "Online", "2023-03-31"],
    ],
    "Opportunity.csv": [
        ["Id", "Name", "AccountId", "OwnerId", "Type", "StageName", "Amount", "CreatedDate",
         "CloseDate", "IsClosed", "IsWon", "LeadSource", "Sales_Channel__c"],
        ["006O1", "Müller SEO", "001A", "005R1", "Existing Business - Upsell", "Closed Won",
         "1788", "2024-01-10T09:30:00.000Z", "2024-01-31", "true", "true", "Web", "Field"],
        ["006O2", "Favre Website", "001B", "005R2", "New Business", "Closed Won", "954",
         "2022-04-01T09:30:00.000Z", "2022-04-30", "true", "true", "Phone", "Tele"],
        ["006O3", "Bernasconi Website", "001C", "005R2", "New Business", "Closed Lost", "1068",
         "2023-06-05T09:30:00.000Z", "2023-07-15", "true", "false", "Web", "Tele"],
        ["006O4", "Favre SEO", "001B", "005R2", "Existing Business - Upsell", "Proposal",
         "1788", "2024-11-01T09:30:00.000Z", "2025-01-31", "false", "false", "Phone", "Tele"],
        ["006O5", "Müller Renewal", "001A", "005R1", "Existing Business - Renewal",
         "Closed Won", "1068", "2024-12-01T09:30:00.000Z", "2024-12-20", "true", "true", "",
         "Field"],
    ],
    "OpportunityHistory.csv": [
        ["Id", "OpportunityId", "StageName", "CreatedDate", "Amount", "CloseDate"],
        ["008H1", "006O1", "Qualification", "2024-01-10T09:30:00.000Z", "1788", "2024-02-28"],
        ["008H2", "006O1", "Closed Won", "2024-01-31T10:00:00.000Z", "1788", "2024-01-31"],
        ["008H3", "006O4", "Qualification", "2024-11-01T09:30:00.000Z", "1788", "2025-01-31"],
        ["008H4", "006O4", "Proposal", "2024-11-20T09:30:00.000Z", "1788", "2025-01-31"],
    ],
    "OpportunityLineItem.csv": [
        ["Id", "OpportunityId", "Product2Id", "Quantity", "UnitPrice", "TotalPrice"],
        ["00kL1", "006O1", "01tS", "12", "149", "1788"],
        ["00kL2", "006O2", "01tW", "12", "79.5", "954"],
        ["00kL3", "006O3", "01tW", "12", "89", "1068"],
        ["00kL4", "006O4", "01tS", "12", "149", "1788"],
        ["00kL5", "006O4", "01tW", "1", "10", "10"],
    ],
    "Task.csv": [
        ["Id", "OwnerId", "AccountId", "WhatId", "ActivityDate", "Subject", "TaskSubtype",
         "CallDurationInSeconds", "Duration_Minutes__c", "Channel__c"],
        ["00TT1", "005R2", "001B", "006O4", "2024-11-05", "Call", "Call", "900", "", "Tele"],
        ["00TT2", "005R2", "001C", "", "2024-11-06", "Follow-up", "Email", "", "5", "Tele"],
        ["00TT3", "005R1", "001A", "", "2024-12-02", "Call", "Call", "1800", "", "Field"],
    ],
    "Event.csv": [
        ["Id", "OwnerId", "AccountId", "WhatId", "ActivityDate", "Subject", "Type",
         "DurationInMinutes", "Channel__c"],
        ["00UE1", "005R1", "001A", "006O5", "2024-12-10", "Visit", "Visit", "60", "Field"],
        ["00UE2", "005R2", "001B", "", "2024-12-15", "Demo", "Online Session", "45", "Online"],
    ],
    "Channel_Cost_Rates.csv": [
        ["Channel", "Cost_Per_Year_CHF", "Capacity_Hours", "Travel_Cost_Per_Km"],
        ["Field", "165000", "1350", "0.7"],
        ["Tele", "110000", "1500", ""],
        ["Online", "95000", "1550", ""],
    ],
}
# fmt: on


def write_sf_export(folder: Path, files: dict[str, list[list[str]]] | None = None) -> Path:
    """Write the small Salesforce-style export (UTF-8, comma-separated) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (files or SF_FILES).items():
        with open(folder / name, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return folder


@pytest.fixture
def sf_export(tmp_path: Path) -> Path:
    """A fresh copy of the small Salesforce-style export (safe to corrupt in a test)."""
    return write_sf_export(tmp_path / "export")


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated demo export (1,500 accounts, seed 7); skipped until ``demo.generate`` exists."""
    demo = pytest.importorskip("salesanalytics.ingest.demo")
    if not hasattr(demo, "generate"):
        pytest.skip("salesanalytics.ingest.demo.generate is not available yet")
    out = tmp_path_factory.mktemp("demo") / "export"
    demo.generate(out, n_accounts=1500, seed=7)
    return out


SMALL_DEMO_ACCOUNTS = 2000
"""Size of the small demo client of the parameter tests (property tests and the edge table)."""


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2,000-account demo export (seed 7), generated once per test session (per worker)."""
    from salesanalytics.ingest import demo

    out = tmp_path_factory.mktemp("small_demo") / "export"
    demo.generate(out, n_accounts=SMALL_DEMO_ACCOUNTS, seed=7)
    return out


@pytest.fixture(scope="session")
def small_intake(small_demo: Path):
    """The small demo export loaded and validated (``IntakeResult``: canonical tables, as_of)."""
    from salesanalytics.ingest import intake

    return intake.load_export(small_demo, "salesforce")
