"""Validation of mapped tables: schema, cross-table checks, geography fill, report, quarantine."""

from __future__ import annotations

import pandas as pd
import pytest

from salesanalytics.ingest import schema
from salesanalytics.ingest import validation as v

PCS = pd.DataFrame(
    {
        "postal_code": pd.array(["8004", "3011"], dtype="string"),
        "municipality": pd.array(["Zürich", "Bern"], dtype="string"),
        "canton": pd.array(["ZH", "BE"], dtype="string"),
        "latitude": [47.37, 46.95],
        "longitude": [8.52, 7.45],
    }
)


def _mapped(name: str, file: str, rows: list[dict]) -> pd.DataFrame:
    df = schema.coerce_table(name, pd.DataFrame(rows))
    df["_file"] = file
    df["_row"] = range(2, 2 + len(df))
    return df


def _tables() -> dict[str, pd.DataFrame]:
    t = {n: _mapped(n, f"{n}.csv", []) for n in schema.TABLES}
    t["reps"] = _mapped("reps", "User.csv", [{"rep_id": "R1", "name": "Anna", "role": "field"}])
    t["accounts"] = _mapped(
        "accounts",
        "Account.csv",
        [
            {
                "account_id": "A1",
                "name": "Müller",
                "postal_code": "8004",
                "status": "customer",
                "owner_id": "R1",
            },
            {
                "account_id": "A2",
                "name": "Favre",
                "postal_code": "3011",
                "status": "prospect",
                "municipality": "Bümpliz",
            },
            {"account_id": "A3", "name": "X", "postal_code": "9999", "status": "customer"},
        ],
    )
    t["contracts"] = _mapped(
        "contracts",
        "Contract.csv",
        [
            {
                "contract_id": "C1",
                "account_id": "A1",
                "start_date": pd.Timestamp("2024-01-01"),
                "term_months": 12,
                "mrr": 89.0,
            },
            {
                "contract_id": "C2",
                "account_id": "A2",
                "start_date": pd.Timestamp("2024-01-01"),
                "end_date": pd.Timestamp("2023-12-31"),
                "term_months": 12,
                "mrr": -5.0,
            },
        ],
    )
    return t


def test_validate_finds_each_problem_once() -> None:
    tables, rep = v.validate_tables(_tables(), postal_codes=PCS)
    got = {(r.check, r.file, r.field, int(r.row), r.severity) for r in rep.problems.itertuples()}
    assert got == {
        ("negative_value", "Contract.csv", "mrr", 3, "error"),
        ("date_order", "Contract.csv", "end_date", 3, "error"),
        ("unknown_postal_code", "Account.csv", "postal_code", 4, "warning"),
    }
    assert (rep.n_errors, rep.n_warnings, rep.ok) == (2, 1, False)


def test_geography_filled_only_where_missing() -> None:
    t = _tables()
    before = t["accounts"].copy()
    filled, fills = v.fill_geography(t, PCS)
    a = filled["accounts"].set_index("account_id")
    assert a.loc["A1", "municipality"] == "Zürich" and a.loc["A1", "canton"] == "ZH"
    assert a.loc["A2", "municipality"] == "Bümpliz"  # kept: it was given
    assert a.loc["A2", "latitude"] == 46.95
    assert pd.isna(a.loc["A3", "canton"])  # unknown postal code
    f = fills.set_index(["table", "field"])["filled"]
    assert (f[("accounts", "municipality")], f[("accounts", "canton")]) == (1, 2)
    pd.testing.assert_frame_equal(t["accounts"], before)  # input untouched


def test_duplicates_keep_first_and_name_it() -> None:
    df = _mapped(
        "reps",
        "User.csv",
        [{"rep_id": i, "name": "n", "role": "field"} for i in ("R1", "R2", "R1", "R1")],
    )
    p = v.check_duplicates("reps", df, {("User.csv", "rep_id"): "Id"})
    assert list(p["row"]) == [4, 5]
    assert set(p["column"]) == {"Id"}
    assert set(p["message"]) == {"duplicate id in reps.rep_id (first seen in User.csv row 2)"}


def test_missing_required_and_allowed_values() -> None:
    t = _tables()
    t["reps"] = _mapped("reps", "User.csv", [{"rep_id": "R1", "name": None, "role": "boss"}])
    _, rep = v.validate_tables(t, postal_codes=PCS, warn_missing={"reps": ["name"]})
    p = rep.problems
    assert list(p.loc[p["check"] == "not_allowed", "value"]) == ["boss"]
    # name is a declared known gap: a warning, not an error
    assert list(p.loc[p["field"] == "name", "severity"]) == ["warning"]


def test_report_text_groups_and_counts() -> None:
    rep = v.ValidationReport()
    rep.add_frame(
        v.problem_frame(
            severity="error",
            check="not_a_number",
            message="cannot be read as a number",
            hint="Write numbers like 1234.50.",
            file="Task.csv",
            table="activities",
            column="Min",
            row=list(range(2, 12)),
            value=[f"x{i}" for i in range(10)],
        )
    )
    rep.add(
        v.Problem(
            "warning",
            "Account.csv",
            "accounts",
            "PLZ",
            5,
            "9999",
            "unknown_postal_code",
            "not a Swiss postal code",
        )
    )
    text = rep.to_text(examples=3)
    assert (
        "ERROR: file Task.csv, column Min: cannot be read as a number [10x] - row 2: 'x0', "
        "row 3: 'x1', row 4: 'x2' and 7 more"
    ) in text
    assert "hint: Write numbers like 1234.50." in text
    assert "WARNING: file Account.csv, column PLZ: not a Swiss postal code - row 5: '9999'" in text
    assert text.endswith("Result: INVALID (10 errors)")
    s = rep.problem_summary()
    assert list(s["count"]) == [10, 1] and list(s["severity"]) == ["error", "warning"]


def test_problem_frame_rejects_unknown_severity() -> None:
    with pytest.raises(ValueError, match="severity must be one of"):
        v.problem_frame(severity="fatal", check="x", message="y")


def test_quarantine_cascades_and_downgrades() -> None:
    t = _tables()
    t["opportunities"] = _mapped(
        "opportunities",
        "Opportunity.csv",
        [
            {
                "opportunity_id": "O1",
                "account_id": "A2",
                "type": "new_business",
                "created_date": pd.Timestamp("2024-01-01"),
                "status": "open",
            },
            {
                "opportunity_id": "O2",
                "account_id": "A1",
                "type": "new_business",
                "created_date": pd.Timestamp("2024-01-01"),
                "status": "open",
            },
        ],
    )
    t["opportunity_stages"] = _mapped(
        "opportunity_stages",
        "OpportunityHistory.csv",
        [{"opportunity_id": "O1", "stage": "Proposal", "entered_at": pd.Timestamp("2024-02-01")}],
    )
    # make account A2 invalid
    t["accounts"].loc[1, "status"] = "partner"
    tables, rep = v.validate_tables(t, postal_codes=PCS)
    kept, excluded = v.apply_quarantine(tables, rep)
    assert list(kept["accounts"]["account_id"]) == ["A1", "A3"]
    assert list(kept["contracts"]["contract_id"]) == ["C1"]
    assert list(kept["opportunities"]["opportunity_id"]) == ["O2"]
    assert kept["opportunity_stages"].empty
    assert list(zip(excluded["table"], excluded["row"], strict=True)) == [
        ("accounts", 3),
        ("contracts", 3),
        ("opportunities", 2),
        ("opportunity_stages", 2),
    ]
    assert excluded.iloc[0]["reason"].startswith("status: value is not one of")
    assert rep.ok  # quarantined errors are notes now
    assert rep.n_warnings == 1  # the unknown postal code stays a warning
    rc = rep.row_counts.set_index("table")
    assert rc.loc["contracts", "excluded"] == 1


def test_completeness_shares() -> None:
    c = v.completeness(_tables())
    row = c[(c["table"] == "accounts") & (c["column"] == "municipality")].iloc[0]
    assert (row["rows"], row["filled"]) == (3, 1) and row["share"] == pytest.approx(1 / 3)


def test_distinct_count_ignores_missing_values() -> None:
    s = pd.Series(["a", "b", None, "a", None], dtype="string")
    assert v._n_distinct(s) == 2
    assert v._n_distinct(pd.Series([None, None], dtype="string")) == 0
    assert v._n_distinct(pd.Series(["x", "y", "z"], dtype="string")) == 3


def test_every_check_is_documented_with_its_severity() -> None:
    """docs/validation.md lists every check the import can report."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "validation.md").read_text(encoding="utf-8")
    checks: set[str] = set()
    for mod in ("validation.py", "mapping.py", "intake.py"):
        text = (root / "salesanalytics" / "ingest" / mod).read_text(encoding="utf-8")
        checks |= set(re.findall(r'check="([a-z_]+)"', text))
        checks |= set(
            re.findall(r'"(not_a_[a-z_]+|[a-z]+_value|below_minimum|above_maximum)"', text)
        )
    checks -= {"from_value", "to_value"}  # columns of the remappings table, not checks
    assert len(checks) >= 25
    undocumented = sorted(c for c in checks if f"`{c}`" not in doc)
    assert undocumented == []
    assert "| 0 |" in doc and "| 1 |" in doc and "| 2 |" in doc


def _country_tables() -> dict[str, pd.DataFrame]:
    t = {n: _mapped(n, f"{n}.csv", []) for n in schema.TABLES}
    t["reps"] = _mapped(
        "reps",
        "User.csv",
        [
            {"rep_id": "R1", "name": "Anna", "role": "field", "home_postal_code": "80331",
             "home_country": "Germany"},
            {"rep_id": "R2", "name": "Beat", "role": "field", "home_postal_code": "8004"},
        ],
    )  # fmt: skip
    rows = [
        ("A1", "1010", "Österreich"),  # Vienna
        ("A2", "1010", "Schweiz"),  # Lausanne
        ("A3", "01067", "Deutschland"),  # Dresden, leading zero kept
        ("A4", "99999", "DE"),  # not a German code
        ("A5", "8004", None),  # the project's default country
        ("A6", "D-80331", None),  # the prefix names the country
        ("A7", "75001", "France"),  # no geography for France
        ("A8", "9490", "FL"),  # Vaduz
    ]
    t["accounts"] = _mapped(
        "accounts",
        "Account.csv",
        [
            {"account_id": a, "name": a, "postal_code": pc, "country": c, "status": "prospect"}
            for a, pc, c in rows
        ],
    )
    return t


def test_postal_codes_are_checked_and_joined_per_country() -> None:
    tables, rep = v.validate_tables(_country_tables(), default_country="CH")
    a = tables["accounts"].set_index("account_id")
    assert a["country"].tolist() == ["AT", "CH", "DE", "DE", "CH", "DE", "", "LI"]
    # 1010 is Vienna in Austria and Lausanne in Switzerland
    assert a.loc["A1", "latitude"] == pytest.approx(48.21, abs=0.02)
    assert a.loc["A2", "latitude"] == pytest.approx(46.52, abs=0.02)
    assert a.loc["A3", "municipality"] == "Dresden"
    assert a.loc["A6", "latitude"] == pytest.approx(48.14, abs=0.02)  # München
    assert a.loc["A8", "canton"] == "LI"
    r = tables["reps"].set_index("rep_id")
    assert r["home_country"].tolist() == ["DE", "CH"]
    assert r.loc["R1", "home_latitude"] == pytest.approx(48.14, abs=0.02)
    p = rep.problems
    got = {(x.check, x.file, x.field, int(x.row), x.value, x.message) for x in p.itertuples()}
    assert got == {
        (
            "unknown_postal_code",
            "Account.csv",
            "postal_code",
            5,
            "99999",
            "not a German postal code (country DE)",
        ),
        (
            "unknown_country",
            "Account.csv",
            "country",
            8,
            "France",
            "not a country with postal-code geography (CH, LI, DE, AT)",
        ),
    }
    sev = dict(zip(p["check"], p["severity"], strict=True))
    assert sev == {"unknown_postal_code": "warning", "unknown_country": "error"}


def test_default_country_applies_to_rows_without_one() -> None:
    t = _country_tables()
    t["accounts"] = t["accounts"][t["accounts"]["account_id"].isin(["A5"])].copy()
    t["accounts"]["postal_code"] = "10115"
    t["reps"] = t["reps"][t["reps"]["rep_id"] == "R1"].copy()
    tables, rep = v.validate_tables(t, default_country="DE")
    assert tables["accounts"]["country"].tolist() == ["DE"]
    assert tables["accounts"]["municipality"].tolist() == ["Berlin"]
    assert rep.problems.empty
    tables, rep = v.validate_tables(t, default_country="CH")
    assert rep.problems["message"].tolist() == ["not a Swiss postal code"]
    assert rep.problems["value"].tolist() == ["10115"]


def test_date_checks_table_future_rule_needs_its_columns() -> None:
    from salesanalytics.ingest.validation import DATE_CHECKS, FutureRule, OrderRule

    rule = FutureRule("activities", "date", severity="warning", message="after {day}", hint="h")
    acts = _mapped(
        "activities",
        "Task.csv",
        [
            {"activity_id": "T1", "date": pd.Timestamp("2030-01-02")},
            {"activity_id": "T2", "date": pd.Timestamp("2024-01-02")},
        ],
    )
    (p,) = rule({"activities": acts}, None, pd.Timestamp("2025-01-01"))
    assert list(p["row"]) == [2] and list(p["message"]) == ["after 01.01.2025"]
    assert list(p["check"]) == ["future_date"]
    assert rule({"activities": acts.drop(columns="date")}, None, pd.Timestamp("2025-01-01")) == []
    assert rule({}, None, pd.Timestamp("2025-01-01")) == []
    kinds = [type(c).__name__ for c in DATE_CHECKS]
    assert kinds.count("OrderRule") == 3 and kinds.count("FutureRule") == 5
    assert all(isinstance(c, OrderRule | FutureRule) or callable(c) for c in DATE_CHECKS)


def test_order_rule_names_both_dates() -> None:
    from salesanalytics.ingest.validation import DATE_CHECKS

    rule = DATE_CHECKS[0]
    c = _mapped(
        "contracts",
        "Contract.csv",
        [
            {
                "contract_id": "C1",
                "account_id": "A1",
                "start_date": pd.Timestamp("2024-03-01"),
                "end_date": pd.Timestamp("2024-01-01"),
            }
        ],
    )
    (p,) = rule({"contracts": c}, None, pd.Timestamp("2025-01-01"))
    assert p["message"].iloc[0] == (
        "contract is cancelled before it starts (end_date before start_date)"
    )
    assert p["value"].iloc[0].startswith("2024-01-01 (") and p["value"].iloc[0].endswith(
        " 2024-03-01)"
    )
