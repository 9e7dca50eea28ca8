"""Tests for salesanalytics.ingest.demo: the export's integrity (straight on the CSVs) and the planted truths."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from salesanalytics import cli
from salesanalytics.ingest import demo
from salesanalytics.reference import geo

N = 5_000
AS_OF = pd.Timestamp("2026-06-30")


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "export"
    demo.generate(out, n_accounts=N, seed=7)
    return out


def _read(export: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(export / name, dtype=str, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def t(export: Path) -> dict[str, pd.DataFrame]:
    return {f.removesuffix(".csv"): _read(export, f) for f in demo.FILES}


@pytest.fixture(scope="module")
def truth(export: Path) -> dict:
    return json.loads((export / "truth.json").read_text(encoding="utf-8"))


def _d(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="%Y-%m-%d")


def _f(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s).astype(float)


# ------------------------------------------------------------------------------ structure


def test_files_have_exactly_the_documented_columns(export: Path) -> None:
    for name, cols in demo.FILES.items():
        header = (export / name).read_text(encoding="utf-8").splitlines()[0]
        assert header == ",".join(f'"{c}"' for c in cols), name
    assert (export / "truth.json").exists() and (export / "truth_accounts.parquet").exists()


def test_salesforce_id_checksum_known_value() -> None:
    # documented example of Salesforce's case-safe id: 001A0000006Vm9r -> 001A0000006Vm9rIAC
    assert demo.salesforce_id_checksum("001A0000006Vm9r") == "IAC"
    with pytest.raises(ValueError, match="15 characters"):
        demo.salesforce_id_checksum("001A")


def test_ids_unique_18_chars_with_standard_prefixes(t: dict[str, pd.DataFrame]) -> None:
    prefixes = {
        "Account": "001",
        "User": "005",
        "Product2": "01t",
        "Contract": "800",
        "Opportunity": "006",
        "OpportunityHistory": "008",
        "OpportunityLineItem": "00k",
        "Task": "00T",
        "Event": "00U",
    }
    for name, prefix in prefixes.items():
        ids = t[name]["Id"]
        assert ids.is_unique, name
        assert ids.str.fullmatch(prefix + r"[0-9A-Za-z]{15}").all(), name
        sample = ids.iloc[[0, -1]]
        for i in sample:
            assert i[15:] == demo.salesforce_id_checksum(i[:15])


def test_references_are_consistent(t: dict[str, pd.DataFrame]) -> None:
    acc, users = set(t["Account"]["Id"]), set(t["User"]["Id"])
    prods, opps = set(t["Product2"]["Id"]), set(t["Opportunity"]["Id"])
    checks = [
        ("Account", "OwnerId", users),
        ("Account", "ParentId", acc),
        ("User", "ManagerId", users),
        ("Contract", "AccountId", acc),
        ("Contract", "OwnerId", users),
        ("Contract", "Product__c", prods),
        ("Opportunity", "AccountId", acc),
        ("Opportunity", "OwnerId", users),
        ("OpportunityHistory", "OpportunityId", opps),
        ("OpportunityLineItem", "OpportunityId", opps),
        ("OpportunityLineItem", "Product2Id", prods),
        ("Task", "OwnerId", users),
        ("Task", "AccountId", acc),
        ("Task", "WhatId", acc),
        ("Event", "OwnerId", users),
        ("Event", "AccountId", acc),
    ]
    for table, col, keys in checks:
        vals = t[table][col].dropna()
        assert vals.isin(keys).all(), f"{table}.{col} has orphans"
    required = {"Contract": ["AccountId", "OwnerId", "Product__c"], "Opportunity": ["AccountId"]}
    for table, cols in required.items():
        assert t[table][cols].notna().all().all()
    assert set(t["Opportunity"]["Id"]) == set(t["OpportunityLineItem"]["OpportunityId"])
    assert set(t["Opportunity"]["Id"]) == set(t["OpportunityHistory"]["OpportunityId"])


def test_values_are_allowed_and_postal_codes_real(t: dict[str, pd.DataFrame]) -> None:
    a = t["Account"]
    real = set(geo.postal_codes()["postal_code"])
    assert a["BillingPostalCode"].isin(real).all()
    assert set(a["Type"]) == {"Customer", "Prospect", "Former Customer"}
    assert set(a["Channel_Preference__c"].dropna()) == {"Field", "Tele", "Online"}
    assert set(a["Industry"]) == set(demo.INDUSTRIES)
    assert set(t["User"]["Sales_Role__c"]) == {
        "Field Sales", "Tele Sales", "Inside Sales", "Key Account Manager", "Team Lead"
    }  # fmt: skip
    assert set(t["Contract"]["Status"]) == {"Activated", "Terminated"}
    assert set(t["Contract"]["ContractTerm"].astype(int)) == {1, 12, 24, 36}
    assert set(t["Opportunity"]["Type"]) == {
        "New Business", "Existing Business - Upsell", "Existing Business - Renewal"
    }  # fmt: skip
    assert set(t["Task"]["TaskSubtype"]) == {"Call", "Email"}
    assert set(t["Event"]["Type"]) == {"Visit", "Online Session"}
    assert set(t["Task"]["Channel__c"]) == {"Field", "Tele", "Online"}
    assert set(t["Event"]["Channel__c"]) == {"Field", "Online"}  # tele reps do not meet customers
    assert set(t["Channel_Cost_Rates"]["Channel"]) == {"Field", "Tele", "Online"}
    # coordinates within 1 km of the postal code's coordinates
    pc = geo.postal_codes().set_index("postal_code")
    d = geo.haversine_km(
        _f(a["BillingLatitude"]),
        _f(a["BillingLongitude"]),
        pc.loc[a["BillingPostalCode"], "latitude"].to_numpy(),
        pc.loc[a["BillingPostalCode"], "longitude"].to_numpy(),
    )
    assert d.max() < 1.0
    assert (pc.loc[a["BillingPostalCode"], "canton"].to_numpy() == a["BillingState"]).all()


def test_dates_in_order_and_not_after_as_of(t: dict[str, pd.DataFrame]) -> None:
    c = t["Contract"]
    start, end, cancel = _d(c["StartDate"]), _d(c["EndDate"]), _d(c["Cancellation_Date__c"])
    assert (start <= end).all() and (start <= AS_OF).all()
    term = c["Status"] == "Terminated"
    assert cancel[term].notna().all() and cancel[~term].isna().all()
    assert (cancel[term] >= start[term]).all() and (cancel[term] <= end[term]).all()
    assert (cancel[term] <= AS_OF).all() and (end[~term] >= AS_OF).all()
    o = t["Opportunity"]
    created, close = _d(o["CreatedDate"]), _d(o["CloseDate"])
    assert (created <= close).all() and (created <= AS_OF).all()
    closed = o["IsClosed"] == "true"
    assert (close[closed] <= AS_OF).all() and (close[~closed] > AS_OF).all()
    h = t["OpportunityHistory"].merge(
        o[["Id", "CreatedDate"]], left_on="OpportunityId", right_on="Id", suffixes=("", "_opp")
    )
    hd = _d(h["CreatedDate"])
    assert (hd >= _d(h["CreatedDate_opp"])).all() and (hd <= AS_OF).all()
    hist = t["OpportunityHistory"]  # rows of one deal are adjacent, in the order entered
    same = hist["OpportunityId"].eq(hist["OpportunityId"].shift())
    assert (_d(hist["CreatedDate"]).diff()[same].dt.days >= 0).all()
    a = t["Account"]
    since = _d(a["Customer_Since__c"])
    assert (_d(a["CreatedDate"])[since.notna()] <= since[since.notna()]).all()
    for name in ("Task", "Event"):
        day = _d(t[name]["ActivityDate"])
        assert day.between(AS_OF - pd.Timedelta(days=730), AS_OF).all()
    # nobody works before being hired
    hire = _d(t["User"].set_index("Id")["Hire_Date__c"])
    for name, col in (("Task", "ActivityDate"), ("Contract", "StartDate")):
        df = t[name]
        assert (_d(df[col]).to_numpy() >= hire.loc[df["OwnerId"]].to_numpy()).all(), name


def test_html_names_present_verbatim(t: dict[str, pd.DataFrame]) -> None:
    names = set(t["Account"]["Name"])
    assert set(demo.HTML_NAMES) <= names


def test_proportions_and_row_counts(t: dict[str, pd.DataFrame], truth: dict, export: Path) -> None:
    a = t["Account"]
    assert len(a) == N
    shares = a["Type"].value_counts(normalize=True)
    assert shares["Customer"] == pytest.approx(0.35, abs=0.04)
    assert shares["Former Customer"] == pytest.approx(0.15, abs=0.04)
    assert shares["Prospect"] == pytest.approx(0.50, abs=0.04)
    assert truth["status_shares"]["customer"] == pytest.approx(shares["Customer"])
    assert a["ParentId"].notna().mean() == pytest.approx(0.01, abs=0.005)
    emp = a["NumberOfEmployees"].astype(int)
    assert 5 <= emp.median() <= 8 and emp.max() > 100
    n_act = len(t["Task"]) + len(t["Event"])
    assert 8 * N <= n_act <= 12 * N  # ~10 activities per account over two years
    u = t["User"]
    active = u[u["IsActive"] == "true"]
    assert 40 <= len(u) <= 60
    roles = active["Sales_Role__c"].value_counts()
    assert roles["Field Sales"] == 28 and roles["Tele Sales"] == 10
    assert roles["Inside Sales"] == 5 and roles["Key Account Manager"] == 4
    assert roles["Team Lead"] == 5
    hire = _d(active["Hire_Date__c"])
    assert 1 <= (hire > AS_OF - pd.DateOffset(months=6)).sum() <= 6
    fte = _f(active["FTE__c"])
    cap = _f(active["Capacity_Hours__c"])
    assert set(fte) <= {0.6, 0.8, 1.0} and (fte < 1).any()
    assert ((cap / fte) >= 1190).all() and ((cap / fte) <= 1410).all()
    # reps of a region team report to its team lead
    lead = active[active["Sales_Role__c"] == "Team Lead"].set_index("Department")["Id"]
    field = active[active["Sales_Role__c"] == "Field Sales"]
    assert (field["ManagerId"].to_numpy() == lead.loc[field["Department"]].to_numpy()).all()
    p = t["Product2"]
    assert 10 <= len(p) <= 12
    assert _f(p["List_Price__c"]).between(29, 990).all()
    launch = _d(p["Launch_Date__c"])
    assert (launch > AS_OF - pd.DateOffset(months=18)).sum() == 2
    files = {k: v for k, v in truth["rows"].items()}
    for name, rows in files.items():
        assert rows == len(t[name.removesuffix(".csv")]), name


def test_status_quo_territories_follow_postal_code_prefixes(
    t: dict[str, pd.DataFrame], truth: dict
) -> None:
    a = t["Account"]
    users = t["User"].set_index("Id")
    role = users.loc[a["OwnerId"], "Sales_Role__c"].to_numpy()
    assert set(role) == {"Field Sales", "Key Account Manager"}
    assert (role == "Key Account Manager").mean() == pytest.approx(0.01, abs=0.002)
    field = a[role == "Field Sales"]
    owners_per_prefix = field.groupby(field["BillingPostalCode"].str[:2])["OwnerId"].nunique()
    assert (owners_per_prefix == 1).all()
    terr = truth["territories"]
    assert terr["field_potential_max_over_min"] > 2  # deliberately unbalanced
    prefixes = [p for r in terr["reps"] for p in r["prefixes"]]
    assert len(prefixes) == len(set(prefixes))


def test_customer_mrr_is_potential_times_penetration(
    t: dict[str, pd.DataFrame], export: Path
) -> None:
    ta = pd.read_parquet(export / "truth_accounts.parquet")
    c = t["Contract"]
    active = c[c["Status"] == "Activated"]
    mrr = _f(active["MRR__c"]).groupby(active["AccountId"]).sum()
    ncon = active.groupby("AccountId").size()
    cust = ta.set_index("account_id").loc[mrr.index]
    assert (cust["status"] == "customer").all()
    expected = cust["potential_mrr"] * cust["penetration"]
    assert (np.abs(mrr - expected) <= 0.05 * ncon + 1e-9).all()
    assert set(mrr.index) == set(ta.loc[ta["status"] == "customer", "account_id"])


def test_won_new_business_matches_first_contracts(t: dict[str, pd.DataFrame]) -> None:
    o = t["Opportunity"]
    a = t["Account"].set_index("Id")
    won = o[(o["Type"] == "New Business") & (o["IsWon"] == "true")]
    ever = a[a["Customer_Since__c"].notna()]
    assert won["AccountId"].is_unique and set(won["AccountId"]) == set(ever.index)
    assert (
        won["CloseDate"].to_numpy() == a.loc[won["AccountId"], "Customer_Since__c"].to_numpy()
    ).all()
    c = t["Contract"]
    c = c.assign(since=a.loc[c["AccountId"], "Customer_Since__c"].to_numpy())
    init = c[(_d(c["StartDate"]) - _d(c["since"])).dt.days.between(0, 30)]
    init_mrr = _f(init["MRR__c"]).groupby(init["AccountId"]).sum()
    amount = _f(won.set_index("AccountId")["Amount"])
    np.testing.assert_allclose(amount.loc[init_mrr.index], 12 * init_mrr, atol=0.02)
    li = t["OpportunityLineItem"]
    li_sum = _f(li["TotalPrice"]).groupby(li["OpportunityId"]).sum()
    np.testing.assert_allclose(li_sum.loc[won["Id"]], _f(won["Amount"]), atol=0.05)
    # line items carry the initial contracts' products
    won_li = li[li["OpportunityId"].isin(won["Id"])].merge(
        won[["Id", "AccountId"]], left_on="OpportunityId", right_on="Id"
    )
    pairs_li = set(zip(won_li["AccountId"], won_li["Product2Id"], strict=True))
    pairs_c = set(zip(init["AccountId"], init["Product__c"], strict=True))
    assert pairs_li == pairs_c


# ------------------------------------------------------------------------------ planted truths


def _churn_frame(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    a = t["Account"].set_index("Id")
    ever = a[a["Customer_Since__c"].notna()].copy()
    since = _d(ever["Customer_Since__c"])
    c = t["Contract"]
    c = c[c["AccountId"].isin(ever.index)].copy()
    c["start"] = _d(c["StartDate"])
    c["since"] = since.loc[c["AccountId"]].to_numpy()
    first = c[c["start"] == c["since"]].groupby("AccountId").first()
    n0 = c[(c["start"] - c["since"]).dt.days <= 30].groupby("AccountId").size()
    end = _d(c["Cancellation_Date__c"]).groupby(c["AccountId"]).max()
    df = pd.DataFrame(
        {
            "term": first["ContractTerm"].astype(int),
            "auto": first["Auto_Renewal__c"] == "true",
            "channel": first["Sales_Channel__c"],
            "n0": n0,
            "since": since,
            "end": end,
        }
    )
    df["event"] = df["end"].notna()
    df["months"] = ((df["end"].fillna(AS_OF) - df["since"]).dt.days) / 30.4375
    return df[df["months"] > 0]  # acquired on as_of: no time at risk yet


def test_churn_hazard_ratios_recovered(t: dict[str, pd.DataFrame], truth: dict) -> None:
    """Weibull PH with the known shape is a Poisson GLM with offset k*log(t): exact MLE."""
    df = _churn_frame(t)
    ch = truth["churn"]
    k = ch["shape"]
    X = pd.DataFrame(
        {
            "term1": df["term"] == 1,
            "term24": df["term"] == 24,
            "term36": df["term"] == 36,
            "auto": df["auto"],
            "tele": df["channel"] == "Tele",
            "online": df["channel"] == "Online",
            "extra_products": df["n0"] - 1,
        }
    ).astype(float)
    fit = sm.GLM(
        df["event"].astype(float),
        sm.add_constant(X),
        family=sm.families.Poisson(),
        offset=k * np.log(df["months"]),
    ).fit()
    hr = ch["hazard_ratios"]
    planted = {
        "term1": hr["term_months"]["1"],
        "term24": hr["term_months"]["24"],
        "term36": hr["term_months"]["36"],
        "auto": hr["auto_renewal"],
        "tele": hr["channel"]["tele"],
        "online": hr["channel"]["online"],
        "extra_products": hr["per_additional_product_at_start"],
    }
    for name, value in planted.items():
        assert abs(fit.params[name] - np.log(value)) < 3.5 * fit.bse[name], name
    scale = np.exp(-fit.params["const"] / k)
    assert scale == pytest.approx(ch["scale_months"], rel=0.25)


def test_twelve_month_churn_by_term_matches_truth(t: dict[str, pd.DataFrame], truth: dict) -> None:
    df = _churn_frame(t)
    followed = df[df["since"] <= AS_OF - pd.Timedelta(days=round(12 * 30.4375))]
    churn12 = followed["event"] & (followed["months"] <= 12)
    rate = churn12.groupby(followed["term"]).mean()
    expected = truth["churn"]["expected_12m_churn_by_term_customers_with_12m_followup"]
    for term, exp_rate in expected.items():
        assert rate[int(term)] == pytest.approx(exp_rate, abs=0.05), term
    # month-to-month churns much more than multi-year contracts
    assert rate[1] > 1.5 * rate[36]
    ref = truth["churn"]["expected_12m_churn_by_term_reference_covariates"]
    assert ref["12"] == pytest.approx(truth["churn"]["reference_12m_churn"])


def test_mean_minutes_per_activity_type(t: dict[str, pd.DataFrame], truth: dict) -> None:
    tasks, events = t["Task"], t["Event"]
    means = {
        "call": _f(tasks.loc[tasks["TaskSubtype"] == "Call", "Duration_Minutes__c"]).mean(),
        "email": _f(tasks.loc[tasks["TaskSubtype"] == "Email", "Duration_Minutes__c"]).mean(),
        "visit": _f(events.loc[events["Type"] == "Visit", "DurationInMinutes"]).mean(),
        "online_session": _f(
            events.loc[events["Type"] == "Online Session", "DurationInMinutes"]
        ).mean(),
    }
    planted = truth["channel_costs"]["activity_mean_minutes"]
    for k, v in means.items():
        assert v == pytest.approx(planted[k], rel=0.06), k
    calls = tasks[tasks["TaskSubtype"] == "Call"]
    assert (_f(calls["CallDurationInSeconds"]) == 60 * _f(calls["Duration_Minutes__c"])).all()
    # visits only in the field channel, online sessions only online
    assert set(events.loc[events["Type"] == "Visit", "Channel__c"]) == {"Field"}
    assert set(events.loc[events["Type"] == "Online Session", "Channel__c"]) == {"Online"}
    cpm = truth["channel_costs"]["cost_per_minute"]
    assert cpm["field"] == pytest.approx(165_000 / (1_320 * 60))


def test_stage_conversion_rates_recovered(t: dict[str, pd.DataFrame], truth: dict) -> None:
    o = t["Opportunity"].set_index("Id")
    h = t["OpportunityHistory"]
    for label, opp_type in (
        ("new_business", "New Business"),
        ("existing_upsell", "Existing Business - Upsell"),
    ):
        f = truth["funnel"][label]
        ids = o.index[o["Type"] == opp_type]
        hh = h[h["OpportunityId"].isin(ids)]
        entered = pd.DataFrame(
            {
                st: ids.isin(hh.loc[hh["StageName"] == st, "OpportunityId"])
                for st in set(hh["StageName"])
            },
            index=ids,
        )
        closed = (o.loc[ids, "IsClosed"] == "true").to_numpy()
        stages = f["stages"]
        for j, stage in enumerate(stages):
            nxt = entered[stages[j + 1]] if j + 1 < len(stages) else entered["Closed Won"]
            decided = entered[stage] & (nxt | closed)
            rate = nxt[decided].mean()
            assert rate == pytest.approx(f["conversion"][j], abs=0.04), (label, stage)
    opened = o[o["IsClosed"] == "false"]
    assert len(opened) > 0 and set(opened["StageName"]) <= set(
        truth["funnel"]["new_business"]["stages"]
    )


def test_revenue_employee_elasticity_at_upper_quantile(
    t: dict[str, pd.DataFrame], truth: dict
) -> None:
    a = t["Account"].set_index("Id")
    c = t["Contract"]
    active = c[c["Status"] == "Activated"]
    mrr = _f(active["MRR__c"]).groupby(active["AccountId"]).sum()
    emp = a.loc[mrr.index, "NumberOfEmployees"].astype(float)
    fit = sm.QuantReg(np.log(mrr.to_numpy()), sm.add_constant(np.log(emp.to_numpy()))).fit(q=0.9)
    assert fit.params[1] == pytest.approx(truth["potential"]["elasticity_employees"], abs=0.07)


def test_truth_json_sections(truth: dict) -> None:
    for key in ("seed", "n_accounts", "as_of", "potential", "churn", "channel_costs", "funnel",
                "territories", "reps"):  # fmt: skip
        assert key in truth
    assert truth["seed"] == 7 and truth["n_accounts"] == N and truth["as_of"] == "2026-06-30"
    assert truth["potential"]["elasticity_employees"] == 0.6
    assert truth["churn"]["shape"] == 0.8
    assert truth["funnel"]["new_business"]["win_rate"] == pytest.approx(
        float(np.prod(truth["funnel"]["new_business"]["conversion"]))
    )


# ------------------------------------------------------------------------------ determinism, errors, CLI


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.suffix in (".csv", ".json")
    }


def test_same_seed_identical_files_other_seed_different(tmp_path: Path) -> None:
    demo.generate(tmp_path / "a", n_accounts=400, seed=3)
    demo.generate(tmp_path / "b", n_accounts=400, seed=3)
    demo.generate(tmp_path / "c", n_accounts=400, seed=4)
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert len(a) == len(demo.FILES) + 1
    assert a["Account.csv"] != c["Account.csv"] and a["Task.csv"] != c["Task.csv"]
    ta = pd.read_parquet(tmp_path / "a" / "truth_accounts.parquet")
    tb = pd.read_parquet(tmp_path / "b" / "truth_accounts.parquet")
    pd.testing.assert_frame_equal(ta, tb)


def test_bad_arguments_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"n_accounts must be .* at least 100.*seed must be"):
        demo.generate(tmp_path, n_accounts=5, seed=-1)
    with pytest.raises(ValueError, match="as_of must be an ISO date"):
        demo.generate(tmp_path, n_accounts=200, as_of="30.06.2026")


def test_cli_demo_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["demo-data", "--out", str(tmp_path / "x"), "--accounts", "300", "--seed", "5"])
    assert rc == 0
    assert "demo client written to" in capsys.readouterr().out
    assert json.loads((tmp_path / "x" / "truth.json").read_text())["n_accounts"] == 300
    rc = cli.main(["demo-data", "--out", str(tmp_path / "y"), "--accounts", "3"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "error: demo-data: n_accounts must be an integer of at least 100" in err
    assert "Traceback" not in err


def test_german_demo_client_follows_the_population_proxy(tmp_path: Path) -> None:
    from salesanalytics.reference.geography import REGION_POPULATION, geography

    out = tmp_path / "de"
    demo.generate(out, n_accounts=4000, seed=3, country="DE")
    a = pd.read_csv(out / "Account.csv", dtype=str, keep_default_na=False)
    plz = geography("DE").places().set_index("postal_code")
    assert a["BillingPostalCode"].str.fullmatch(r"\d{5}").all()
    assert a["BillingPostalCode"].isin(plz.index).all()
    assert (a["BillingCountry"] == "Deutschland").all()
    # accounts per Land follow the Länder populations (Destatis) within 1.5 percentage points
    share = a["BillingState"].value_counts(normalize=True)
    pop = pd.Series(REGION_POPULATION["DE"], dtype=float)
    pop = pop / pop.sum()
    assert (share.reindex(pop.index).fillna(0) - pop).abs().max() < 0.015
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert truth["client"] == "Digitalwerk Deutschland GmbH (demo)"
    geo_t = truth["geography"]
    assert geo_t["country"] == "DE" and geo_t["currency"] == "EUR"
    assert "Destatis" in geo_t["population_proxy"] and "-0.44" in geo_t["population_proxy"]
    rates = pd.read_csv(out / "Channel_Cost_Rates.csv")
    assert "Cost_Per_Year_EUR" in rates.columns
    users = pd.read_csv(out / "User.csv", dtype=str)
    field = users[
        (users["Sales_Role__c"] == "Field Sales") & (users["IsActive"].str.lower() == "true")
    ]
    assert len(field) == sum(r["field_reps"] for r in truth["territories"]["regions"].values())
    assert users["PostalCode"].isin(plz.index).all()


def test_swiss_demo_with_accounts_abroad(tmp_path: Path) -> None:
    out = tmp_path / "mix"
    demo.generate(out, n_accounts=1500, seed=7, abroad=0.2)
    a = pd.read_csv(out / "Account.csv", dtype=str, keep_default_na=False)
    by = a["BillingCountry"].value_counts()
    assert set(by.index) == {"Switzerland", "Liechtenstein", "Deutschland"}
    assert by["Deutschland"] + by["Liechtenstein"] == pytest.approx(300, abs=60)
    de = a[a["BillingCountry"] == "Deutschland"]
    assert de["BillingState"].isin(["BW", "BY"]).all()
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert truth["geography"]["accounts_by_country"] == {k: int(v) for k, v in by.items()}
    with pytest.raises(ValueError, match="abroad must be a share"):
        demo.generate(out, n_accounts=1500, seed=7, abroad=0.2, country="DE")


def test_small_early_demo_writes_a_valid_truth_with_cells_without_closed_deals(
    tmp_path: Path,
) -> None:
    # 1,500 accounts as of March 2025: some product families have no closed new-business deal
    # in a channel yet; their planted win rate is null (no rate), not NaN (invalid JSON)
    demo.generate(tmp_path, n_accounts=1500, seed=42, as_of="2025-03-31")
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    rates = truth["channel_matrix"]["expected_win_rate_new_business"]
    counts = truth["channel_matrix"]["expected_closed_deals_new_business"]
    empty = [(f, c) for f, by in rates.items() for c, r in by.items() if r is None]
    assert empty, "this case is meant to have cells without closed deals"
    assert all(counts[f][c] == 0 for f, c in empty)
    assert all(0 <= r <= 1 for by in rates.values() for r in by.values() if r is not None)
