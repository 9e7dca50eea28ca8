"""Tables derived from others when the export lacks them (salesanalytics.ingest.derive)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesanalytics.ingest import schema
from salesanalytics.ingest.derive import DeriveOptions, derivation_frame, derive_tables

MAVEN = Path(__file__).resolve().parents[1] / "data" / "real" / "maven_crm"
AS_OF = pd.Timestamp("2024-06-30")


def _tables(with_owner: bool = False) -> dict[str, pd.DataFrame]:
    accounts = pd.DataFrame(
        {
            "account_id": ["A", "B", "C"],
            "name": ["Alpha AG", "Beta GmbH", "Gamma SA"],
            "status": ["prospect"] * 3,
            "owner_id": ["R1", None, None] if with_owner else [None] * 3,
        }
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3", "o4", "o5"],
            "account_id": ["A", "A", "B", "C", None],
            "owner_id": ["R1", "R2", "R1", "R3", "R1"],
            "type": ["new_business"] * 5,
            "product_id": ["P1", "P2", "P1", "P1", "P1"],
            "amount": [1200.0, 2400.0, 600.0, 900.0, 500.0],
            "created_date": pd.to_datetime(
                ["2022-12-01", "2024-02-01", "2021-12-01", "2024-01-01", "2024-01-01"]
            ),
            "close_date": pd.to_datetime(
                ["2023-01-15", "2024-03-01", "2022-01-10", "2024-02-01", "2024-02-01"]
            ),
            "status": ["won", "won", "won", "lost", "won"],
        }
    )
    return {
        "accounts": schema.coerce_table("accounts", accounts),
        "opportunities": schema.coerce_table("opportunities", opps),
        "contracts": schema.coerce_table("contracts", pd.DataFrame()),
    }


def test_won_deals_become_contracts_status_and_owner() -> None:
    out, done = derive_tables(_tables(), AS_OF)
    assert [d.name for d in done] == [
        "contracts_from_won_deals",
        "account_status_from_deals",
        "account_owner_from_deals",
    ]
    c = out["contracts"].set_index("contract_id")
    # the won deal without account (o5) and the lost deal (o4) give no contract
    assert sorted(c.index) == ["deal:o1", "deal:o2", "deal:o3"]
    assert c.loc["deal:o1", "mrr"] == 100 and c.loc["deal:o2", "mrr"] == 200
    assert c.loc["deal:o1", "end_date"] == pd.Timestamp("2024-01-15")  # term over before as_of
    assert pd.isna(c.loc["deal:o2", "end_date"])  # runs beyond the reference date: active
    assert c.loc["deal:o3", "end_date"] == pd.Timestamp("2023-01-10")
    assert (c["term_months"] == 12).all() and c.loc["deal:o2", "owner_id"] == "R2"
    acc = out["accounts"].set_index("account_id")
    assert acc["status"].to_dict() == {"A": "customer", "B": "former_customer", "C": "prospect"}
    assert acc.loc["A", "customer_since"] == pd.Timestamp("2023-01-15")
    # owner of the latest won deal; C (no won deal) gets the owner of its latest deal
    assert acc["owner_id"].to_dict() == {"A": "R2", "B": "R1", "C": "R3"}
    frame = derivation_frame(done)
    assert frame["rows"].tolist() == [3, 3, 3]
    assert "each of the 4 won deals" in frame["description"][0]
    assert "3 contracts derived, 1 won deal(s) left out" in frame["description"][0]


def test_recurring_term_and_one_off_revenue() -> None:
    out, _ = derive_tables(_tables(), AS_OF, DeriveOptions(term_months=24))
    c = out["contracts"].set_index("contract_id")
    assert c.loc["deal:o1", "mrr"] == 50 and pd.isna(c.loc["deal:o1", "end_date"])
    out, done = derive_tables(_tables(), AS_OF, DeriveOptions(revenue="one_off", term_months=36))
    c = out["contracts"].set_index("contract_id")
    assert c.loc["deal:o1", "mrr"] == 100 and (c["term_months"] == 12).all()
    assert "one-time sale" in done[0].description


def test_nothing_is_derived_where_the_export_has_it() -> None:
    tables = _tables(with_owner=True)
    tables["contracts"] = schema.coerce_table(
        "contracts",
        pd.DataFrame(
            {
                "contract_id": ["k1"],
                "account_id": ["A"],
                "start_date": [pd.Timestamp("2023-01-01")],
                "term_months": [12],
                "mrr": [10.0],
            }
        ),
    )
    out, done = derive_tables(tables, AS_OF)
    assert done == []
    assert out["contracts"] is tables["contracts"] and out["accounts"] is tables["accounts"]
    assert derive_tables(tables, None)[1] == []


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="revenue"):
        DeriveOptions(revenue="monthly")
    with pytest.raises(ValueError, match="term_months"):
        DeriveOptions(term_months=0)


def test_maven_revenue_and_customers_come_from_won_deals() -> None:
    from salesanalytics.ingest import intake

    res = intake.load_export(MAVEN, "maven-crm")
    raw = pd.read_csv(MAVEN / "sales_pipeline.csv")
    won = raw[(raw["deal_stage"] == "Won") & raw["account"].notna()]
    by_name = {d.name: d for d in res.derivations}
    assert by_name["contracts_from_won_deals"].rows == len(won) == 4238
    c = res.tables["contracts"]
    assert (c["mrr"] * 12).sum() == pytest.approx(won["close_value"].sum())
    assert res.currency == "USD"
    acc = res.tables["accounts"]
    assert set(acc["status"]) == {"customer"} and acc["owner_id"].notna().all()
    assert by_name["account_owner_from_deals"].rows == 85
    assert res.report.row_counts.set_index("table").loc["contracts", "rows"] == 4238
    # the project's currency overrides the mapping's
    assert intake.load_export(MAVEN, "maven-crm", currency="eur").currency == "EUR"


# ------------------------------------------------------------------ flat customer extract
def _extract(**over) -> tuple:
    from salesanalytics.ingest.derive import CustomerExtract, tables_from_extract

    raw = pd.DataFrame(
        {
            "id": ["c1", "c2", "c3", "c4"],
            "tenure": ["12", "0", "30", "6"],
            "churn": ["Churned", "Stayed", "stayed", "CHURNED"],
            "charges": ["70.5", "80", "1'200.25", ""],
            "plan": ["basic", "pro", "basic", "pro"],
        }
    ).astype("string")
    raw = raw.assign(**over)
    spec = CustomerExtract(
        source="s", id="id", tenure="tenure", churned="churn", as_of="2024-06-30",
        attributes=["charges", "plan"],
    )  # fmt: skip
    return tables_from_extract(raw, spec, "extract.csv")


def test_extract_gives_one_contract_per_customer_from_tenure_and_flag() -> None:
    tables, problems, d, as_of = _extract()
    assert problems == [] and as_of == pd.Timestamp("2024-06-30")
    c = tables["contracts"].set_index("account_id")
    assert c.loc["c1", "start_date"] == pd.Timestamp("2023-06-30")  # 12 months before
    assert c.loc["c1", "end_date"] == as_of and c.loc["c4", "end_date"] == as_of  # churned
    assert pd.isna(c.loc["c2", "end_date"]) and c.loc["c2", "start_date"] == as_of
    acc = tables["accounts"].set_index("account_id")["status"]
    assert acc.to_dict() == {
        "c1": "former_customer",
        "c2": "customer",
        "c3": "customer",
        "c4": "former_customer",
    }
    a = tables["customer_attributes"]
    assert a["charges"].tolist()[:3] == [70.5, 80.0, 1200.25] and pd.isna(a["charges"][3])
    assert a["plan"].tolist() == ["basic", "pro", "basic", "pro"]
    assert d.rows == 4 and "2 churned customers" in d.description


def test_extract_problems_name_file_column_row_and_value() -> None:
    tables, problems, d, _ = _extract(
        churn=["Yes", "No", "perhaps", "No"], tenure=["1", "x", "2", "3"]
    )
    by_col = {p["column"]: p for p in problems}
    assert by_col["churn"]["row"] == [4] and by_col["churn"]["value"] == ["perhaps"]
    assert by_col["churn"]["hint"].startswith("Use 1/0, Yes/No")
    assert by_col["tenure"]["row"] == [3] and by_col["tenure"]["file"] == "extract.csv"
    assert sorted(tables["accounts"]["account_id"]) == ["c1", "c4"]  # the bad rows left out
    assert "2 row(s) left out" in d.description


def test_workload_from_deal_counts_only_when_asked_and_without_activities() -> None:
    tables = _tables(with_owner=True)
    tables["reps"] = schema.coerce_table(
        "reps",
        pd.DataFrame(
            {
                "rep_id": ["R1", "R2", "R3"],
                "name": ["a", "b", "c"],
                "role": ["field", "tele", "online"],
            }
        ),
    )
    tables["activities"] = schema.coerce_table("activities", pd.DataFrame())
    _, done = derive_tables(tables, AS_OF)
    assert "workload_from_deals" not in [d.name for d in done]  # off by default
    out, done = derive_tables(tables, AS_OF, DeriveOptions(workload_minutes_per_deal=90))
    act = out["activities"].set_index("activity_id")
    # the 4 deals with account and owner (o5 has no account); channel from the owner's role
    assert sorted(act.index) == ["deal:o1", "deal:o2", "deal:o3", "deal:o4"]
    assert act["minutes"].eq(90).all()
    assert act.loc["deal:o2", "channel"] == "tele" and act.loc["deal:o2", "type"] == "call"
    assert act.loc["deal:o4", "type"] == "online_session"
    assert act.loc["deal:o1", "date"] == pd.Timestamp("2023-01-15")
    d = {x.name: x for x in done}["workload_from_deals"]
    assert d.rows == 4 and "90 minutes of sales work" in d.description
