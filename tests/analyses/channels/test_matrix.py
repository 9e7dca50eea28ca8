"""Channel matrix: planted cells recovered on the demo, the Maven export as far as it goes,
thin cells, routing, workload and the territory hand-over."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesanalytics.analyses.channels import matrix as cm
from salesanalytics.analyses.channels import model as channels
from salesanalytics.analyses.channels import plots as chanplots
from salesanalytics.analyses.funnel import model as funnel_model
from salesanalytics.analyses.funnel.model import channel_group_funnels, deal_progress
from salesanalytics.analyses.roles import model as roles
from salesanalytics.analyses.territory import design as territory_design
from salesanalytics.ingest import demo, intake

MAVEN = Path(__file__).resolve().parents[2] / "data" / "real" / "maven_crm"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("matrix_demo")
    demo.generate(out, n_accounts=12_000, seed=42)
    res = intake.load_export(out, "salesforce")
    t = res.tables
    mix = channels.analyse_channel_mix(
        t["accounts"],
        t["reps"],
        t["products"],
        t["contracts"],
        t["activities"],
        t["channel_rates"],
        res.as_of,
    )
    routing = cm.route_accounts(
        mix, t, res.as_of, funnel=funnel_model, workload_model=territory_design
    )
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return {"tables": t, "as_of": res.as_of, "mix": mix, "routing": routing, "truth": truth}


def test_planted_win_rates_are_recovered_per_channel_and_family(demo_run) -> None:
    r = demo_run["routing"].result
    chk = cm.planted_matrix_checks(r.measures, r.matrix, demo_run["truth"])
    chk = chk[chk["closed"] >= 100]
    assert len(chk) >= 15  # every channel x family with enough closed deals
    # tolerance: 3 binomial standard errors of the measured rate + 1 point for the expectation
    se = np.sqrt(chk["planted_win_rate"] * (1 - chk["planted_win_rate"]) / chk["closed"])
    bad = chk[(chk["difference"].abs() > 3 * se + 0.01).to_numpy()]
    assert bad.empty, bad.to_string()


def test_a_planted_cell_without_closed_deals_has_no_rate_to_compare(demo_run) -> None:
    r = demo_run["routing"].result
    truth = json.loads(json.dumps(demo_run["truth"]))
    rates = truth["channel_matrix"]["expected_win_rate_new_business"]
    family = next(iter(rates))
    rates[family] = dict.fromkeys(rates[family])  # JSON null: the demo closed no deal there
    chk = cm.planted_matrix_checks(r.measures, r.matrix, truth)
    cell = chk[chk["product_group"] == family]
    assert len(cell) and cell["planted_win_rate"].isna().all() and cell["difference"].isna().all()
    assert chk["planted_win_rate"].dtype == float
    assert chk.loc[chk["product_group"] != family, "planted_win_rate"].notna().any()


def test_planted_cells_get_the_planted_channel(demo_run) -> None:
    m = demo_run["routing"].result.matrix
    new = m[(m["customer_type"] == "new") & (m["basis"] != "rule")]
    seo = new[new["product_group"] == "SEO"]
    assert len(seo) == 3 and (seo["channel"] == "field").all(), seo[["segment", "channel"]]
    # SEO wins far more often in the field than by tele or online, in every size class
    assert (seo["win_rate_field"] > 2 * seo[["win_rate_tele", "win_rate_online"]].max(axis=1)).all()
    lst = new[new["product_group"] == "Listings"]
    assert not (lst["channel"] == "field").any()
    assert (lst["channel"] == "online").sum() >= 2
    # Listings: online wins at least as often as tele (3 points slack) at a fraction of the cost
    assert (lst["win_rate_online"] >= lst["win_rate_tele"] - 0.03).all()
    assert (lst["cost_per_deal_online"] < lst["cost_per_deal_tele"]).all()
    assert seo["reason"].str.contains("Field wins").all()


def test_every_cell_has_a_channel_and_a_reason(demo_run) -> None:
    m = demo_run["routing"].result.matrix
    groups = set(demo_run["tables"]["products"]["product_group"])
    assert set(m["product_group"]) == groups
    assert len(m) == 2 * 3 * len(groups)
    assert m["channel"].isin(["field", "tele", "online"]).all()
    assert m["reason"].str.len().gt(20).all()
    assert m["basis"].isin(["measured", "pooled", "rule"]).all()


def test_accounts_follow_the_matrix_and_key_accounts_stay_in_the_field(demo_run) -> None:
    ro = demo_run["routing"]
    a = ro.assignment
    t = demo_run["tables"]
    n_groups = a["product_group"].nunique()
    assert len(a) == len(t["accounts"]) * n_groups
    w = a.groupby("account_id")["weight"].sum()
    assert np.allclose(w, 1.0)
    m = ro.result.matrix.set_index(["segment", "product_group"])["channel"]
    plain = a[~a["key_account"]]
    expect = m.reindex(pd.MultiIndex.from_arrays([plain["segment"], plain["product_group"]]))
    assert (plain["channel"].to_numpy() == expect.to_numpy()).all()
    kam = set(t["reps"].loc[t["reps"]["role"] == "key_account", "rep_id"])
    ka_ids = set(t["accounts"].loc[t["accounts"]["owner_id"].isin(kam), "account_id"])
    assert ka_ids and set(a.loc[a["key_account"], "account_id"]) == ka_ids
    assert (a.loc[a["key_account"], "channel"] == "field").all()
    # an account may have more than one channel
    assert (a[a["weight"] > 0].groupby("account_id")["channel"].nunique() > 1).any()


def test_one_field_workload_for_channels_territory_and_roles(demo_run) -> None:
    from salesanalytics.analyses import territory as tm

    ro = demo_run["routing"]
    t = demo_run["tables"]
    s = ro.summary.set_index(["scenario", "channel"])
    field_hours = s.loc[("proposed", "field"), "workload_hours"]
    assert ro.field_workload["workload_hours"].sum() == pytest.approx(field_hours)
    assert ro.account_workload["field_hours"].sum() == pytest.approx(field_hours)
    # the territory phase is fed exactly this workload
    accounts = cm.field_scope(t["accounts"], ro.field_workload)
    assert accounts.attrs["left_out"] == len(t["accounts"]) - len(ro.field_workload)
    pot = pd.DataFrame(
        {
            "account_id": t["accounts"]["account_id"],
            "potential_mrr": 100.0,
            "current_mrr": 0.0,
            "white_space_mrr": 100.0,
        }
    )
    inputs = tm.prepare_inputs(
        accounts, pot, t["activities"], t["reps"], workload=ro.field_workload
    )
    assert inputs.accounts["workload_hours"].sum() == pytest.approx(field_hours)
    with pytest.raises(KeyError, match=r"table 'workload' lacks column\(s\) \['travel_hours'\]"):
        tm.prepare_inputs(
            accounts,
            pot,
            t["activities"],
            t["reps"],
            workload=ro.field_workload.drop(columns="travel_hours"),
        )
    # roles read the channel phase's FTE: tele FTE agree
    hc = roles.headcount(roles.load_roles(), ro.summary, t["reps"]).set_index("role")
    assert hc.loc["tele", "fte_needed"] == pytest.approx(s.loc[("proposed", "tele"), "fte_needed"])
    assert hc.loc["online", "fte_needed"] == pytest.approx(
        s.loc[("proposed", "online"), "fte_needed"]
    )
    # key-account managers carry the key accounts' measured hours: field + KAM = the channel's
    # field figure, field alone = the territories' workload outside the key accounts
    fw = ro.field_workload
    ka_hours = fw.loc[fw["key_account"], "workload_hours"].sum()
    hc2 = roles.headcount(
        roles.load_roles(), ro.summary, t["reps"], key_account_hours=ka_hours
    ).set_index("role")
    assert hc2.loc["field", "workload_hours"] + hc2.loc["key_account", "workload_hours"] == (
        pytest.approx(field_hours)
    )
    scope = inputs.accounts[~inputs.accounts["key_account"]]
    assert hc2.loc["field", "workload_hours"] == pytest.approx(scope["workload_hours"].sum())
    cap = ro.summary["workload_hours"] / ro.summary["fte_needed"]
    rates = channels.channel_rates(t["channel_rates"])["capacity_hours"]
    assert np.allclose(cap.to_numpy(), rates.reindex(ro.summary["channel"]).to_numpy())


def test_waves_add_up_and_come_biggest_first(demo_run) -> None:
    ro = demo_run["routing"]
    w = ro.waves
    assert list(w["migration_wave"]) == [1, 2, 3]
    moved = ro.assignment[ro.assignment["migration_wave"].notna()]
    assert w["rows"].sum() == len(moved)
    assert w["yearly_effect"].sum() == pytest.approx(moved["yearly_effect"].sum())
    assert w["yearly_effect"].iloc[0] >= w["yearly_effect"].iloc[-1]
    ac = ro.account_channel
    assert ac["delta_contribution"].sum() == pytest.approx(ro.assignment["yearly_effect"].sum())


def test_excel_holds_the_assignment_with_names(demo_run, tmp_path: Path) -> None:
    ro = demo_run["routing"]
    a = ro.assignment
    x = cm.account_groups_for_excel(a)
    assert len(x) == a["account_id"].nunique()
    assert x["Account"].notna().all() and x.columns[-1] == "Account id"
    assert set(x["Key account"]) == {"yes", "no"}
    one = a[a["account_id"] == x["Account id"].iloc[0]].set_index("product_group")["mode"]
    for g, mode in one.items():
        assert x.loc[0, f"{g}: channel"] == mode
    # the groups held, joined per account (bit masks) as a plain join per account gives them
    held = (
        a[a["holds"].to_numpy(bool)]
        .groupby("account_id")["product_group"]
        .agg(lambda s: ", ".join(sorted(map(str, s))))
    )
    expected = held.reindex(x["Account id"]).fillna("").tolist()
    assert x["Product groups held today"].tolist() == expected
    assert any(", " in h for h in expected) and "" in expected
    path = chanplots.write_workbook(tmp_path / "m.xlsx", ro)
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == [
        "Channel matrix",
        "Accounts x product groups",
        "Migration waves",
        "Workload per channel",
    ]
    assert len(sheets["Accounts x product groups"]) == len(x)


def test_heat_table_renders_every_cell(demo_run) -> None:
    m = demo_run["routing"].result.matrix
    html = chanplots.heat_table(m).to_html()
    for g in m["product_group"].unique():
        assert g in html
    assert "New · small" in html and "rgba(" in html


def test_funnels_per_channel_and_product_group(demo_run) -> None:
    t = demo_run["tables"]
    p = deal_progress(t["opportunities"], t["opportunity_stages"], demo_run["as_of"])
    stages, rates = channel_group_funnels(p, t["opportunities"], t["products"], t["reps"])
    assert {"funnel", "channel", "product_group", "win_rate"} <= set(rates.columns)
    assert set(rates["funnel"]) == {"new_business", "existing"}
    assert rates["deals"].sum() == len(p)
    seo = rates[(rates["funnel"] == "new_business") & (rates["product_group"] == "SEO")]
    seo = seo.set_index("channel")["win_rate"]
    assert seo["field"] > 2 * seo["tele"]
    assert {"stage", "conversion"} <= set(stages.columns)


def test_maven_export_computes_as_far_as_the_data_allows() -> None:
    res = intake.load_export(MAVEN, "maven-crm", quarantine=True)
    t = res.tables
    r = cm.analyse_matrix(
        t, res.as_of, rules=cm.MatrixRules(size_basis="employees"), funnel=funnel_model
    )
    m = r.matrix
    assert r.segments.attrs["size_basis"] == "employees"
    series = set(t["products"]["product_group"].dropna())
    assert set(m["product_group"]) == series
    new = m[m["customer_type"] == "new"]
    # only field agents sell: field is measured, the other channels cannot be
    assert (new.loc[new["basis"] != "rule", "channel"] == "field").all()
    assert new["basis"].eq("measured").any()
    assert new["win_rate_tele"].isna().all() and new["win_rate_online"].isna().all()
    assert new["win_rate_field"].between(0.4, 0.8).all()
    # existing customers: no upsell deals, so the rule decides; without product complexity
    # the rule keeps the channel that sells the group today (field)
    ex = m[m["customer_type"] == "existing"]
    assert (ex["basis"] == "rule").all() and (ex["channel"] == "field").all()
    assert ex["reason"].str.contains("channel that sells the product group today").all()
    text = " ".join(r.gaps)
    for phrase in (
        "no activities or channel cost rates",
        "deals only in field",
        "no upsell deals",
        "no product complexity",
        "no stated channel preferences",
    ):
        assert phrase in text, text
    # the Maven win rate per series matches a direct count on the raw file
    raw = pd.read_csv(MAVEN / "sales_pipeline.csv")
    prods = pd.read_csv(MAVEN / "products.csv").set_index("product")["series"]
    raw["series"] = raw["product"].replace({"GTXPro": "GTX Pro"}).map(prods)
    closed = raw[raw["deal_stage"].isin(["Won", "Lost"])]
    direct = closed.groupby("series")["deal_stage"].apply(lambda s: (s == "Won").mean())
    meas = r.measures[r.measures["customer_type"] == "new"]
    got = meas.groupby("product_group")[["won", "closed"]].sum()
    got = got["won"] / got["closed"]
    for s in direct.index:
        assert got[s] == pytest.approx(direct[s], abs=0.02)
    # the routing table follows: every Maven account × series, by name, weights summing to 1
    acc = t["accounts"]
    routed = cm.assign_account_groups(
        r.segments,
        m,
        acc,
        reps=t["reps"],
        contracts=t.get("contracts"),
        products=t["products"],
        as_of=res.as_of,
    )
    assert len(routed) == len(r.segments) * len(series)
    assert routed["name"].notna().all()
    per_account = routed.groupby("account_id", observed=True)["weight"].sum()
    assert per_account.to_numpy() == pytest.approx(1.0)
    assert set(routed["channel"].astype(str)) == {"field"}  # only field agents in the data


def _tiny() -> dict[str, pd.DataFrame]:
    accounts = pd.DataFrame(
        {
            "account_id": pd.array([f"A{i}" for i in range(40)], dtype="string"),
            "name": [f"Firma {i}" for i in range(40)],
            "status": ["prospect"] * 40,
            "employees": np.arange(40) + 1,
            "owner_id": ["R1"] * 40,
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3"],
            "name": ["Simple", "Complex", "Middle"],
            "product_group": ["Simple", "Complex", "Middle"],
            "complexity": [1, 5, pd.NA],
            "cost_share": [0.2, 0.3, 0.3],
        }
    )
    rows = []
    for i in range(12):  # a handful of deals: every cell is thin
        rows.append(
            {
                "opportunity_id": f"O{i}",
                "account_id": f"A{i}",
                "owner_id": "R1",
                "type": "new_business",
                "channel": "tele",
                "product_id": ["P1", "P2", "P3"][i % 3],
                "amount": 1000.0,
                "created_date": pd.Timestamp("2024-01-01"),
                "close_date": pd.Timestamp("2024-02-01"),
                "status": "won" if i % 2 else "lost",
                "stage": "Closed",
            }
        )
    opps = pd.DataFrame(rows)
    reps = pd.DataFrame({"rep_id": ["R1"], "role": ["tele"], "name": ["Rita"]})
    return {"accounts": accounts, "products": products, "opportunities": opps, "reps": reps}


def test_thin_cells_follow_the_documented_rule() -> None:
    t = _tiny()
    r = cm.analyse_matrix(
        t, "2024-06-30", rules=cm.MatrixRules(size_basis="employees"), funnel=funnel_model
    )
    m = r.matrix.set_index(["segment", "product_group"])
    assert (r.matrix["basis"] == "rule").all()
    assert m.loc[("New · large", "Complex"), "channel"] == "field"
    assert m.loc[("New · small", "Complex"), "channel"] == "tele"
    assert m.loc[("New · small", "Simple"), "channel"] == "online"
    assert m.loc[("New · large", "Middle"), "channel"] == "tele"  # complexity unknown: today's
    assert "sells the product group today (tele)" in m.loc[("New · large", "Middle"), "reason"]
    assert m.loc[("New · small", "Complex"), "reason"].startswith("Too little data")
    # with a lower threshold the same cells are measured from the pooled deals
    r2 = cm.analyse_matrix(
        t,
        "2024-06-30",
        rules=cm.MatrixRules(size_basis="employees", min_deals=2),
        funnel=funnel_model,
    )
    assert set(r2.matrix.loc[r2.matrix["customer_type"] == "new", "basis"]) <= {
        "measured",
        "pooled",
    }


def test_shrinkage_pulls_thin_cells_to_the_group_rate() -> None:
    deals = pd.DataFrame(
        {
            "customer_type": ["new"] * 110,
            "size_class": ["small"] * 100 + ["large"] * 10,
            "product_group": ["G"] * 110,
            "channel": ["tele"] * 110,
            "status": ["won"] * 20 + ["lost"] * 80 + ["won"] * 10,
            "amount": 100.0,
            "cycle_days": 10.0,
            "closed": True,
            "funnel": "new_business",
        }
    )
    m = cm.cell_measures(
        deals, cm.MatrixRules(prior_deals=10, min_deals=30), funnel=funnel_model
    ).set_index("size_class")
    pooled = 30 / 110
    assert m.loc["large", "win_rate_raw"] == 1.0
    assert m.loc["large", "win_rate"] == pytest.approx((10 + 10 * pooled) / 20)
    assert m.loc["large", "basis"] == "pooled" and m.loc["small", "basis"] == "measured"


def test_bad_rules_are_all_reported() -> None:
    with pytest.raises(
        ValueError,
        match="size_basis must be 'potential', 'employees' or 'revenue', got 'turnover'; "
        "size_classes must be between 1 and 5, got 9",
    ):
        cm.MatrixRules(size_basis="turnover", size_classes=9)


def test_segments_are_quantile_classes_of_the_basis() -> None:
    acc = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(9)],
            "status": ["customer"] * 3 + ["prospect"] * 6,
            "employees": [1, 2, 3, 10, 20, 30, 100, 200, 300],
        }
    )
    pot = pd.DataFrame({"account_id": [f"A{i}" for i in range(9)], "potential_mrr": [np.nan] * 9})
    s = cm.account_segments(acc, pot, "potential", 3)
    assert s.attrs["size_basis"] == "employees"  # potential missing: falls back
    assert list(s["size_class"]) == ["small"] * 3 + ["medium"] * 3 + ["large"] * 3
    assert list(s["segment"][:3]) == ["Existing · small"] * 3
    assert s["segment"][8] == "New · large"
    one = cm.account_segments(acc, None, "employees", 1)
    assert set(one["size_class"]) == {"all sizes"}
    assert math.isclose(len(s), 9)


def test_data_used_counts_what_is_left_out(demo_run) -> None:
    ro = demo_run["routing"]
    d = cm.data_used(ro, demo_run["mix"].counts).set_index("item")["count"]
    assert d["deals in the CRM"] == len(demo_run["tables"]["opportunities"])
    assert d["deals used (with channel, product group and account)"] == len(ro.result.deals)
    assert d["account × product-group rows"] == len(ro.assignment)


def test_no_field_accounts_is_a_clear_error() -> None:
    acc = pd.DataFrame({"account_id": ["A1", "A2"]})
    with pytest.raises(ValueError, match="the channel mix leaves no account in the field"):
        cm.field_scope(acc, pd.DataFrame({"account_id": pd.Series([], dtype="string")}))
    assert len(cm.field_scope(acc, None)) == 2


def test_cockpit_tracks_the_matrix_from_the_funnels(demo_run) -> None:
    t = demo_run["tables"]
    m = demo_run["routing"].result.matrix
    p = deal_progress(t["opportunities"], t["opportunity_stages"], demo_run["as_of"])
    _, rates = channel_group_funnels(p, t["opportunities"], t["products"], t["reps"])
    tr = cm.matrix_tracking(m, rates).set_index(["funnel", "product_group"])
    seo = tr.loc[("new_business", "SEO")]
    assert seo["matrix_channels"] == "field (3)"
    field = rates[
        (rates["funnel"] == "new_business")
        & (rates["product_group"] == "SEO")
        & (rates["channel"] == "field")
    ].iloc[0]
    assert seo["win_rate_matrix_channel"] == pytest.approx(field["win_rate"])
    assert seo["win_rate_matrix_channel"] > 2 * seo["win_rate_other_channels"]
    assert tr["deals"].sum() == rates["deals"].sum()


def test_matrix_tracking_without_a_channel_or_funnel_table_is_empty_with_its_columns():
    out = cm.matrix_tracking(None, None)
    assert out.empty
    assert tuple(out.columns) == cm.TRACKING_COLUMNS


def test_territory_field_workload_takes_the_field_share_of_each_account() -> None:
    fw = pd.DataFrame(
        {
            "activity_hours": [10.0, 20.0, 30.0],
            "visits_per_year": [4.0, 8.0, 12.0],
            "travel_hours": [2.0, 4.0, 6.0],
            "workload_hours": [12.0, 24.0, 36.0],
        },
        index=pd.Index(["a", "b", "c"], dtype="string"),
    )
    per_acc = pd.DataFrame({"account_id": ["a", "b", "c"], "field_share": [1.0, 0.25, 0.0]})
    asg = pd.DataFrame(
        {"account_id": ["a", "a", "b", "c"], "key_account": [True, False, False, False]}
    )
    out = cm.territory_field_workload(fw, per_acc, asg)
    assert out["field_share"].tolist() == [1.0, 0.25]  # c has no field work: left out
    assert out["workload_hours"].tolist() == [12.0, 6.0]
    assert out["visits_per_year"].tolist() == [4.0, 2.0]
    assert out["key_account"].tolist() == [True, False]


def test_segment_preferences_share_per_segment() -> None:
    segs = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "segment": ["S1", "S1", "S1", "S2"]})
    acc = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "channel_preference": ["online", "online", None, "tele"],
        }
    )
    p = cm.segment_preferences(segs, acc)
    assert p.loc["S1", "online"] == pytest.approx(2 / 3)
    assert p.loc["S1", "none"] == pytest.approx(1 / 3)
    assert p.loc["S2", "tele"] == 1.0
    assert cm.segment_preferences(segs, acc.drop(columns="channel_preference")).empty
