"""Built-in mappings for HubSpot and Dynamics 365 Sales, on small exports written with the
vendors' documented field names (HubSpot internal property names, Dataverse logical names)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from salesanalytics.engagement import intake as run_intake
from salesanalytics.ingest import intake

# fmt: off
DYNAMICS: dict[str, list[list[str]]] = {
    "account.csv": [
        ["accountid", "name", "address1_postalcode", "address1_city", "industrycode",
         "numberofemployees", "revenue", "ownerid", "parentaccountid", "customertypecode",
         "createdon"],
        ["a-1", "Bäckerei Müller GmbH", "8004", "Zürich", "Hospitality", "12", "1800000", "u-1", "",
         "Customer", "2021-01-04T09:00:00Z"],
        ["a-2", "Garage Favre SA", "1003", "Lausanne", "Automotive", "25", "", "u-2", "", "3",
         "2021-02-01T09:00:00Z"],
        ["a-3", "Coiffeur Bernasconi", "6900", "Lugano", "Beauty", "3", "", "u-2", "", "Prospect",
         "2023-06-01T09:00:00Z"],
    ],
    "systemuser.csv": [
        ["systemuserid", "fullname", "firstname", "lastname", "title", "address1_postalcode",
         "businessunitidname", "parentsystemuserid", "isdisabled"],
        ["u-1", "Beat Keller", "Beat", "Keller", "Account Executive", "8004", "Mittelland", "", "0"],
        ["u-2", "Chloé Rochat", "Chloé", "Rochat", "Account Executive", "1003", "Romandie", "u-1",
         "False"],
    ],
    "product.csv": [
        ["productid", "name", "productnumber", "parentproductidname", "price"],
        ["p-1", "Website Pro", "WEB-PRO", "Website", "89"],
        ["p-2", "SEO Local", "SEO-LOC", "SEO", "149"],
    ],
    "opportunity.csv": [
        ["opportunityid", "name", "parentaccountid", "ownerid", "estimatedvalue", "actualvalue",
         "estimatedclosedate", "actualclosedate", "createdon", "statecode", "stepname"],
        ["o-1", "Website", "a-1", "u-1", "1000", "1068", "2024-02-01", "2024-02-15",
         "2024-01-10T10:00:00Z", "Won", "Close"],
        ["o-2", "SEO", "a-1", "u-1", "1800", "", "2024-05-01", "2024-05-03",
         "2024-03-01T10:00:00Z", "1", "Close"],
        ["o-3", "Website", "a-2", "u-2", "950", "954", "2023-03-01", "2023-03-20",
         "2023-02-01T10:00:00Z", "1", "Close"],
        ["o-4", "Website", "a-3", "u-2", "1000", "", "2024-04-01", "2024-04-10",
         "2024-03-15T10:00:00Z", "Lost", "Propose"],
        ["o-5", "SEO", "a-3", "u-2", "1500", "", "2024-09-30", "",
         "2024-05-20T10:00:00Z", "0", "Develop"],
    ],
    "opportunityproduct.csv": [
        ["opportunityproductid", "opportunityid", "productid", "quantity", "priceperunit",
         "extendedamount"],
        ["op-1", "o-1", "p-1", "12", "89", "1068"],
        ["op-2", "o-2", "p-2", "12", "149", "1788"],
        ["op-3", "o-3", "p-1", "12", "79.5", "954"],
    ],
}

HUBSPOT: dict[str, list[list[str]]] = {
    "companies.csv": [
        ["hs_object_id", "name", "domain", "zip", "city", "country", "industry",
         "numberofemployees", "annualrevenue", "hubspot_owner_id", "lifecyclestage", "createdate"],
        ["101", "Bäckerei Müller GmbH", "baeckerei-mueller.ch", "8004", "Zürich", "Switzerland",
         "FOOD_BEVERAGES", "12", "1800000", "9001", "customer", "2021-01-04T09:00:00.000Z"],
        ["102", "Garage Favre SA", "garage-favre.ch", "1003", "Lausanne", "Switzerland",
         "AUTOMOTIVE", "25", "", "9002", "customer", "2021-02-01T09:00:00.000Z"],
        ["103", "Coiffeur Bernasconi", "bernasconi.ch", "6900", "Lugano", "Switzerland", "", "3",
         "", "9002", "lead", "2023-06-01T09:00:00.000Z"],
    ],
    "owners.csv": [
        ["id", "email", "firstName", "lastName", "archived"],
        ["9001", "beat.keller@example.ch", "Beat", "Keller", "false"],
        ["9002", "chloe.rochat@example.ch", "Chloé", "Rochat", "false"],
    ],
    "products.csv": [
        ["hs_object_id", "name", "price", "hs_sku", "hs_product_type"],
        ["501", "Website Pro", "89", "WEB-PRO", "service"],
        ["502", "SEO Local", "149", "SEO-LOC", "service"],
    ],
    "deals.csv": [
        ["hs_object_id", "dealname", "dealstage", "pipeline", "amount", "closedate", "createdate",
         "hubspot_owner_id", "dealtype", "associatedcompanyid"],
        ["701", "Website", "closedwon", "default", "1068", "2024-02-15T00:00:00.000Z",
         "2024-01-10T10:00:00.000Z", "9001", "newbusiness", "101"],
        ["702", "SEO", "closedwon", "default", "1788", "2024-05-03T00:00:00.000Z",
         "2024-03-01T10:00:00.000Z", "9001", "existingbusiness", "101"],
        ["703", "Website", "closedwon", "default", "954", "2023-03-20T00:00:00.000Z",
         "2023-02-01T10:00:00.000Z", "9002", "newbusiness", "102"],
        ["704", "Website", "closedlost", "default", "1000", "2024-04-10T00:00:00.000Z",
         "2024-03-15T10:00:00.000Z", "9002", "newbusiness", "103"],
        ["705", "SEO", "contractsent", "default", "1500", "2024-09-30T00:00:00.000Z",
         "2024-05-20T10:00:00.000Z", "9002", "", "103"],
    ],
    "line_items.csv": [
        ["hs_object_id", "name", "hs_product_id", "quantity", "price", "amount",
         "associateddealid"],
        ["801", "Website Pro", "501", "12", "89", "1068", "701"],
        ["802", "SEO Local", "502", "12", "149", "1788", "702"],
        ["803", "Website Pro", "501", "12", "79.5", "954", "703"],
    ],
}
# fmt: on


def _write(folder: Path, files: dict[str, list[list[str]]]) -> Path:
    folder.mkdir(parents=True)
    for name, rows in files.items():
        with open(folder / name, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
    return folder


@pytest.mark.parametrize(
    ("mapping", "files", "ids"),
    [
        ("dynamics365", DYNAMICS, {"a-1": "A", "a-2": "B", "a-3": "C", "o-": "o"}),
        ("hubspot", HUBSPOT, {"101": "A", "102": "B", "103": "C", "70": "o"}),
    ],
)
def test_vendor_export_maps_to_the_canonical_tables(
    mapping: str, files: dict, ids: dict, tmp_path: Path
) -> None:
    res = intake.load_export(_write(tmp_path / "export", files), mapping)
    assert res.report.ok, res.report.to_text()
    t = res.tables
    assert len(t["accounts"]) == 3 and len(t["reps"]) == 2 and len(t["products"]) == 2
    opp = t["opportunities"]
    assert opp["status"].tolist() == ["won", "won", "won", "lost", "open"]
    assert opp["amount"].tolist() == [
        1068,
        1800 if mapping == "dynamics365" else 1788,
        954,
        1000,
        1500,
    ]
    names = dict(zip(t["products"]["product_id"], t["products"]["name"], strict=True))
    assert [names.get(p) for p in opp["product_id"]][:3] == [
        "Website Pro",
        "SEO Local",
        "Website Pro",
    ]
    # no subscriptions in these CRMs: revenue and customers from the won deals
    assert [d.name for d in res.derivations] == [
        "contracts_from_won_deals",
        "account_status_from_deals",
    ]
    status = dict(zip(t["accounts"]["account_id"], t["accounts"]["status"], strict=True))
    first, second, third = list(status)
    assert [status[first], status[second], status[third]] == [
        "customer",
        "former_customer",
        "prospect",
    ]
    assert t["accounts"]["postal_code"].tolist() == ["8004", "1003", "6900"]
    cov = run_intake.export_coverage(res)
    assert cov.get("funnel").status == "skipped"  # 5 deals: a funnel needs at least 10
    design = {a.analysis: a.status for a in cov.get("territory").analyses}
    assert design["territory design"] == "runs"  # Swiss postal codes and reps are there


def test_vendor_mappings_are_listed_as_built_in() -> None:
    from salesanalytics.ingest.mapping import builtin_mapping_names

    assert {"hubspot", "dynamics365", "bank-churn", "maven-crm", "salesforce"} <= set(
        builtin_mapping_names()
    )
