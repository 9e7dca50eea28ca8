"""Funnels: known answers on hand-built deals, Kaplan–Meier conventions, the Maven CRM headline."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesanalytics.aggregate.catalogue import Aggregator
from salesanalytics.analyses.funnel import model as funnel

ORDERS = {"new_business": ("A", "B", "C"), "existing": ("B", "C")}
AS_OF = pd.Timestamp("2025-06-30")


def _opps() -> pd.DataFrame:
    # id, owner, type, status, current stage, amount, created, closed
    rows = [
        ("o1", "r1", "new_business", "won", "Closed Won", 100.0, "2025-01-01", "2025-03-01"),
        ("o2", "r1", "new_business", "lost", "Closed Lost", 50.0, "2025-01-01", "2025-02-01"),
        ("o3", "r2", "new_business", "open", "B", 70.0, "2025-01-01", "2025-09-30"),
        ("o4", "r2", "new_business", "lost", "Closed Lost", 20.0, "2025-02-01", "2025-02-11"),
        ("o5", "r2", "new_business", "open", "A", np.nan, "2025-06-01", "2025-06-15"),
        ("o6", "r1", "new_business", "won", "Closed Won", 300.0, "2025-01-01", "2025-01-31"),
        ("o7", "r1", "upsell", "won", "Closed Won", 40.0, "2024-03-01", "2024-04-01"),
        ("o8", "r2", "renewal", "lost", "Closed Lost", 10.0, "2025-03-01", "2025-04-01"),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "opportunity_id",
            "owner_id",
            "type",
            "status",
            "stage",
            "amount",
            "created_date",
            "close_date",
        ],
    )
    df["created_date"] = pd.to_datetime(df["created_date"])
    df["close_date"] = pd.to_datetime(df["close_date"])
    df["channel"] = ["field", "tele", "field", "tele", "field", "field", "tele", "tele"]
    df["account_id"] = [f"a{i}" for i in range(8)]
    return df


def _history() -> pd.DataFrame:
    rows = [
        ("o1", "A", "2025-01-01"),
        ("o1", "B", "2025-01-20"),
        ("o1", "C", "2025-02-10"),
        ("o1", "Closed Won", "2025-03-01"),
        ("o2", "A", "2025-01-01"),
        ("o2", "B", "2025-01-11"),
        ("o2", "Closed Lost", "2025-02-01"),
        ("o3", "A", "2025-01-01"),
        ("o3", "B", "2025-01-31"),
        ("o4", "A", "2025-02-01"),
        ("o5", "A", "2025-06-01"),
        ("o6", "A", "2025-01-01"),
        ("o6", "B", "2025-01-06"),
        ("o6", "C", "2025-01-16"),
        ("o7", "B", "2024-03-01"),
        ("o7", "C", "2024-03-11"),
        ("o8", "B", "2025-03-01"),
        ("ghost", "A", "2025-01-01"),
    ]
    h = pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered_at"])
    h["entered_at"] = pd.to_datetime(h["entered_at"])
    return h


def _progress() -> pd.DataFrame:
    return funnel.deal_progress(_opps(), _history(), AS_OF, ORDERS)


def test_deal_progress_finds_furthest_stage_time_in_stage_and_cycle() -> None:
    p = _progress().set_index("opportunity_id")
    assert p.loc[["o1", "o2", "o3", "o4", "o5", "o6"], "furthest_index"].tolist() == [
        3,
        1,
        1,
        0,
        0,
        3,
    ]
    assert p.loc["o1", "furthest_stage"] == "Won" and p.loc["o3", "furthest_stage"] == "B"
    assert p.loc[["o7", "o8"], "funnel"].tolist() == ["existing", "existing"]
    # o3 entered B on 31 Jan: 150 days in stage at 30 June; cycle 180 days censored
    assert p.loc["o3", "days_in_stage"] == 150
    assert p.loc["o3", "cycle_days"] == 180 and not p.loc["o3", "closed"]
    assert p.loc["o1", "cycle_days"] == 59 and p.loc["o1", "closed"]
    assert np.isnan(p.loc["o1", "days_in_stage"])


def test_stage_conversion_censors_open_deals() -> None:
    conv = funnel.stage_conversion(_progress())
    nb = conv[conv["funnel"] == "new_business"].set_index("stage")
    assert nb["reached"].tolist() == [6, 4, 2, 2]
    assert nb["open_here"].tolist() == [1, 1, 0, 0]
    # A->B: 4 of the 5 decided deals, B->C: 2 of 3, C->Won: 2 of 2
    assert nb.loc[["A", "B", "C"], "conversion"].tolist() == pytest.approx([0.8, 2 / 3, 1.0])
    # empirical win probability: closed deals reaching the stage that were won
    assert nb.loc[["A", "B", "C"], "win_probability"].tolist() == pytest.approx([0.5, 2 / 3, 1.0])
    assert nb.loc["Won", "cumulative"] == pytest.approx(2 / 6)


def test_stage_conversion_by_owner_keeps_groups_apart() -> None:
    conv = funnel.stage_conversion(_progress(), by=["owner_id"])
    r2 = conv[(conv["owner_id"] == "r2") & (conv["funnel"] == "new_business")]
    assert r2["reached"].tolist() == [3, 1, 0, 0]
    r1 = conv[(conv["owner_id"] == "r1") & (conv["funnel"] == "new_business")]
    assert r1["reached"].tolist() == [3, 3, 2, 2]


def test_without_history_lost_deals_count_as_lost_in_first_stage() -> None:
    p = funnel.deal_progress(_opps(), None, AS_OF, ORDERS).set_index("opportunity_id")
    assert p.loc[["o1", "o2", "o3", "o5"], "furthest_index"].tolist() == [3, 0, 1, 0]


def test_win_rates_deal_size_and_km_cycle() -> None:
    rates = funnel.win_rates(_progress()).set_index("funnel")
    nb = rates.loc["new_business"]
    assert (nb["won"], nb["lost"], nb["open"]) == (2, 2, 2)
    assert nb["win_rate"] == 0.5
    assert nb["avg_deal_size"] == 200.0 and nb["won_amount"] == 400.0
    # closed cycles: o6 30, o2 31, o4 10, o1 59; open o3 180 and o5 29 censored
    # KM: t=10 S=5/6, t=30 S=5/6*3/4=0.625, t=31 S=0.625*2/3=0.4167 -> median 31
    assert nb["median_cycle_days"] == 31
    assert rates.loc["existing", "win_rate"] == 0.5


def test_km_quantile_follows_statsmodels_and_handles_censoring() -> None:
    assert funnel.km_quantile([1, 2, 3, 4], [1, 0, 1, 1]) == 3.0
    assert np.isnan(funnel.km_quantile([1, 2, 3], [0, 0, 0]))
    with pytest.raises(ValueError, match="quantile q must be between 0 and 1"):
        funnel.km_quantile([1, 2], [1, 1], q=1.5)
    km = funnel.kaplan_meier([1, 2, 3, 4], [1, 0, 1, 1])
    assert km["survival"].tolist() == pytest.approx([0.75, 0.375, 0.0])


def test_stage_durations_and_transition_matrix() -> None:
    d = funnel.stage_durations(_opps(), _history(), AS_OF, ORDERS)
    assert d.attrs["dropped_rows"] == 1  # 'ghost' has no opportunity
    o2 = d[d["opportunity_id"] == "o2"].set_index("stage")
    assert o2.loc["A", "days"] == 10 and o2.loc["A", "next_stage"] == "B"
    assert o2.loc["B", "next_stage"] == "Lost" and o2.loc["B", "days"] == 21
    o3b = d[(d["opportunity_id"] == "o3") & (d["stage"] == "B")].iloc[0]
    assert not o3b["left"] and o3b["days"] == 150
    # o6 won without a closing-stage row: its stay in C ends at the close date
    o6c = d[(d["opportunity_id"] == "o6") & (d["stage"] == "C")].iloc[0]
    assert o6c["next_stage"] == "Won" and o6c["days"] == 15
    m = funnel.transition_matrix(d, "new_business")
    # from A: o1,o2,o3,o6 -> B; o4 -> Lost; o5 still open
    assert m.loc["A", "B"] == pytest.approx(0.8) and m.loc["A", "Lost"] == pytest.approx(0.2)
    assert m.loc["B", "C"] == pytest.approx(2 / 3) and m.loc["B", "Lost"] == pytest.approx(1 / 3)
    assert m.loc["C", "Won"] == 1.0
    assert m.loc["A", "stays_left"] == 5
    assert m.loc["A", "win_probability"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="funnel must be one of new_business, existing"):
        funnel.transition_matrix(d, "upsell")


def test_time_in_stage_and_stuck_deals() -> None:
    d = funnel.stage_durations(_opps(), _history(), AS_OF, ORDERS)
    tis = funnel.time_in_stage(d)
    a = tis[(tis["funnel"] == "new_business") & (tis["stage"] == "A")].iloc[0]
    # stays in A: 19, 10, 30 (left), 10 (o4 lost), 29 censored (o5), 5 (o6)
    assert a["stays"] == 6 and a["censored"] == 1
    # KM: S(5)=5/6, S(10)=5/6*3/5=0.5, S(19)=1/3: first time below 0.5 is 19 (statsmodels rule)
    assert a["p50_days"] == 19
    stuck = funnel.stuck_deals(_progress(), tis, min_days=30)
    # o3 has been in B for 150 days (threshold: max(30, KM p90 of B)); o5 is only 29 days in A
    # but its expected close date (15 June) has passed
    assert stuck["opportunity_id"].tolist() == ["o3", "o5"]
    assert stuck["reason"].tolist() == ["too long in stage", "past expected close date"]
    with pytest.raises(ValueError, match="min_days must be ≥ 0"):
        funnel.stuck_deals(_progress(), tis, min_days=-1)


def test_bookings_targets_and_pipeline_coverage() -> None:
    p = _progress()
    t = funnel.bookings_targets(p, AS_OF, growth=0.5).set_index("owner_id")
    assert t.loc["r1", "prior_year_bookings"] == 40.0 and t.loc["r1", "target"] == 60.0
    assert t.loc["r2", "target"] == 0.0
    targets = pd.DataFrame({"owner_id": ["r1", "r2"], "target": [1000.0, 100.0]})
    cov = funnel.pipeline_coverage(p, targets, AS_OF).set_index("owner_id")
    assert cov.loc["r1", "won_ytd"] == 400.0 and cov.loc["r1", "remaining"] == 600.0
    assert cov.loc["r1", "pipeline"] == 0.0
    # r2: o3 (70) and o5 (no amount, counted) are open and close this year
    assert cov.loc["r2", "pipeline"] == 70.0 and cov.loc["r2", "coverage"] == pytest.approx(0.7)
    assert cov.loc["r2", "open_without_amount"] == 1
    with pytest.raises(ValueError, match="growth must be ≥ -1"):
        funnel.bookings_targets(p, AS_OF, growth=-2)


def test_bad_input_is_reported_clearly() -> None:
    bad = _opps().assign(status=["won", "lost", "open", "lost", "open", "gewonnen", "won", "x"])
    with pytest.raises(ValueError, match=r"2 value\(s\) other than won/lost/open: gewonnen, x"):
        funnel.deal_progress(bad, None, AS_OF)
    with pytest.raises(KeyError, match="opportunities lacks column\\(s\\) status"):
        funnel.deal_progress(_opps().drop(columns="status"))


def test_inputs_are_not_modified() -> None:
    opps, hist = _opps(), _history()
    before = opps.copy(), hist.copy()
    funnel.stage_durations(opps, hist, AS_OF, ORDERS)
    funnel.deal_progress(opps, hist, AS_OF, ORDERS)
    pd.testing.assert_frame_equal(opps, before[0])
    pd.testing.assert_frame_equal(hist, before[1])


# ----------------------------------------------------------------------------- real and demo data
ROOT = Path(__file__).resolve().parents[3]


def test_maven_crm_headline_matches_a_direct_count() -> None:
    from salesanalytics.ingest import intake

    res = intake.load_export(ROOT / "tests/data/real/maven_crm", "maven-crm", raise_on_error=False)
    opps = res.tables["opportunities"]
    progress = funnel.deal_progress(opps, res.tables["opportunity_stages"], res.as_of)
    rates = funnel.win_rates(progress).set_index("funnel").loc["new_business"]
    raw = pd.read_csv(ROOT / "tests/data/real/maven_crm/sales_pipeline.csv")
    counts = raw["deal_stage"].value_counts()
    assert (rates["won"], rates["lost"]) == (counts["Won"], counts["Lost"]) == (4238, 2473)
    assert rates["open"] == counts["Engaging"] + counts["Prospecting"]
    assert round(rates["win_rate"], 3) == 0.632
    won = raw[raw["deal_stage"] == "Won"]["close_value"]
    assert rates["won_amount"] == pytest.approx(won.sum())
    assert rates["avg_deal_size"] == pytest.approx(won.mean())
    # Maven's own stage names: Prospecting -> Engaging -> Won
    conv = funnel.stage_conversion(progress)
    assert conv["stage"].tolist() == ["Prospecting", "Engaging", "Won"]
    # no stage history: where the 2,473 lost deals were lost is unknown, so the deals reaching
    # Engaging and the stage conversions are left empty instead of counting every lost deal as
    # lost at Prospecting; the win rate, today's open deals per stage and Won stay known
    reached = conv["reached"].tolist()
    assert reached[0] == 8800 and np.isnan(reached[1]) and reached[2] == 4238
    assert conv["conversion"].isna().all()
    assert conv["open_here"].tolist() == [500, 1589, 0]
    assert conv["win_probability"].iloc[0] == pytest.approx(4238 / (4238 + 2473))
    assert "2'473 lost deals" in funnel.history_note(progress)
    # the whole phase runs without a stage history (time in stage and transitions stay empty)
    fa = funnel.analyse_funnels(
        opps, res.tables["opportunity_stages"], res.tables["reps"], res.as_of
    )
    assert fa.counts["deals"] == 8800 and fa.counts["stage_history_rows"] == 0
    assert fa.time_in_stage.empty and fa.transitions.empty
    assert fa.rep_rates["won"].sum() == 4238


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    from salesanalytics.ingest import demo as demo_mod
    from salesanalytics.ingest import intake

    out = tmp_path_factory.mktemp("demo")
    demo_mod.generate(out, n_accounts=3000, seed=7)
    res = intake.load_export(out)
    return {
        "tables": res.tables,
        "as_of": res.as_of,
        "truth": json.loads((out / "truth.json").read_text(encoding="utf-8")),
    }


def test_demo_planted_stage_conversions_are_recovered(demo) -> None:
    t = demo["tables"]
    progress = funnel.deal_progress(t["opportunities"], t["opportunity_stages"], demo["as_of"])
    conv = funnel.stage_conversion(progress, by=["type"])
    truth = demo["truth"]["funnel"]
    for typ, key, planted_key in (
        ("new_business", "new_business", "new_business"),
        ("upsell", "upsell", "existing_upsell"),
    ):
        got = conv[(conv["type"] == typ) & conv["conversion"].notna()]
        assert got["stage"].tolist() == truth[planted_key]["stages"]
        # exactly the generator's own count on the decided deals ...
        emp = truth["empirical"][key]["stage_conversion_decided"]
        assert got["conversion"].to_numpy() == pytest.approx(emp, abs=1e-9)
        # ... and close to the planted rates
        assert got["conversion"].to_numpy() == pytest.approx(
            truth[planted_key]["conversion"], abs=0.08
        )
    rates = funnel.win_rates(progress, by=["type"]).set_index("type")
    for typ in ("new_business", "upsell", "renewal"):
        emp = truth["empirical"][typ]
        assert rates.loc[typ, "won"] == emp["won"] and rates.loc[typ, "open"] == emp["open"]
        assert rates.loc[typ, "win_rate"] == pytest.approx(emp["win_rate_closed"])


def test_pipeline_coverage_with_a_horizon() -> None:
    p = _progress()
    targets = pd.DataFrame({"owner_id": ["r2"], "target": [365.25]})
    cov = funnel.pipeline_coverage(p, targets, AS_OF, horizon_days=30).iloc[0]
    # target for 30 days = 30; only o5 (overdue, no amount) closes within 30 days: pipeline 0
    assert cov["remaining"] == pytest.approx(30.0) and cov["pipeline"] == 0.0
    cov = funnel.pipeline_coverage(p, targets, AS_OF, horizon_days=100).iloc[0]
    assert cov["pipeline"] == 70.0 and cov["coverage"] == pytest.approx(70 / 100)
    with pytest.raises(ValueError, match="horizon_days must be between 0 and 730"):
        funnel.pipeline_coverage(p, targets, AS_OF, horizon_days=-5)


# ------------------------------------------------------------------ fast paths = pandas reference
def test_positions_match_get_indexer_and_fall_back_where_needed() -> None:
    keys = pd.Series(["b", "a", "c"], dtype="string")
    target = pd.Series(["a", "x", "c", "a"], dtype="string")
    assert funnel._positions(keys, target).tolist() == [1, -1, 2, 1]
    np.testing.assert_array_equal(
        funnel._positions(keys, target), pd.Index(keys).get_indexer(target)
    )
    # missing values and differing dtypes take get_indexer itself
    with_na = pd.Series(["a", None], dtype="string")
    np.testing.assert_array_equal(
        funnel._positions(keys, with_na), pd.Index(keys).get_indexer(with_na)
    )
    obj = pd.Series(["c", "b"], dtype=object)
    assert funnel._positions(keys, obj).tolist() == [2, 0]
    # duplicated keys: get_indexer's own error, as before
    with pytest.raises(Exception, match="uniquely valued"):
        funnel._positions(pd.Series(["a", "a"], dtype="string"), target)


def test_stay_helpers_equal_the_pandas_merge_and_sort() -> None:
    h = pd.DataFrame(
        {
            "opportunity_id": pd.array(["o2", "o1", "zz", "o1", "o2"], dtype="string"),
            "stage": pd.array(["B", "a", "A", "Closed Won", "b"], dtype="string"),
            "entered_at": pd.to_datetime(
                ["2025-01-05", "2025-01-02", "2025-01-01", "2025-01-01", "2025-01-03"]
            ),
        }
    )
    opp = pd.DataFrame(
        {
            "opportunity_id": pd.array(["o1", "o2"], dtype="string"),
            "funnel": pd.array(["new_business", "existing"], dtype="string"),
            "status": pd.array(["won", "open"], dtype="string"),
            "close_date": pd.to_datetime(["2025-02-01", None]),
        }
    )
    joined = funnel._join_opportunities(h, opp)
    pd.testing.assert_frame_equal(joined, h.merge(opp, on="opportunity_id", how="inner"))
    lookup = pd.DataFrame(
        [("new_business", "a", 0), ("new_business", "b", 1), ("existing", "b", 0)],
        columns=["funnel", "stage_key", "stage_index"],
    ).astype({"funnel": "string", "stage_key": "string"})
    keyed = joined.assign(stage_key=joined["stage"].str.lower())
    pd.testing.assert_frame_equal(
        funnel._add_stage_index(keyed, lookup),
        keyed.merge(lookup, on=["funnel", "stage_key"], how="left"),
    )
    pd.testing.assert_frame_equal(
        funnel._sort_stays(joined),
        joined.sort_values(["opportunity_id", "entered_at"], kind="stable").reset_index(drop=True),
    )


def test_transition_counting_equals_the_pandas_table() -> None:
    dur = funnel.stage_durations(_opps(), _history(), AS_OF, ORDERS)
    for f in funnel.FUNNELS:
        d = dur[dur["funnel"].eq(f).to_numpy(bool)]
        done = d[d["left"].to_numpy(bool) & d["next_stage"].notna().to_numpy(bool)]
        stages = list(dur.attrs["stage_orders"][f])
        fast = funnel._transition_counts(d, done, stages)
        assert fast is not None
        pd.testing.assert_frame_equal(fast, funnel._transition_table(d, done, stages))
    # no completed stay: the pandas path
    empty = dur.iloc[:0]
    assert funnel._transition_counts(empty, empty, ["A"]) is None


def test_sales_cycle_groups_match_a_per_group_kaplan_meier() -> None:
    p = _progress()
    cyc = funnel.sales_cycle(p, by=["owner_id"], quantiles=(0.5, 0.9))
    for r in cyc.itertuples(index=False):
        g = p[(p["funnel"] == r.funnel) & (p["owner_id"] == r.owner_id)]
        assert r.deals == len(g) and r.events == int(g["closed"].sum())
        for q, got in ((0.5, r.p50_days), (0.9, r.p90_days)):
            want = funnel.km_quantile(g["cycle_days"], g["closed"], q)
            assert (np.isnan(got) and np.isnan(want)) or got == want
    assert list(cyc[["funnel", "owner_id"]].itertuples(index=False, name=None)) == sorted(
        cyc[["funnel", "owner_id"]].itertuples(index=False, name=None)
    )


def test_funnel_of_gives_string_labels() -> None:
    s = funnel.funnel_of(
        pd.Series(["new_business", "Upsell", None, "NEW_BUSINESS"], index=[5, 6, 7, 8])
    )
    assert s.dtype == "string" and list(s.index) == [5, 6, 7, 8]
    assert s.tolist() == ["new_business", "existing", "existing", "new_business"]


def test_product_groups_fall_back_to_the_product_name() -> None:
    products = pd.DataFrame(
        {"product_id": ["p1", "p2", "p3"], "product_group": ["SEO", None, None],
         "name": ["SEO Premium", "Website Basic", None]}
    )  # fmt: skip
    g = funnel.product_groups(products)
    assert g[["p1", "p2"]].tolist() == ["SEO", "Website Basic"] and pd.isna(g["p3"])


def test_long_tables_show_a_top_n_and_the_workbook_holds_every_row(tmp_path) -> None:
    from openpyxl import load_workbook

    reps = pd.DataFrame(
        {
            "funnel": ["new_business"] * 15 + ["existing"] * 12,
            "rep_id": [f"r{i}" for i in range(27)],
            "rep_name": [f"Rep {i}" for i in range(27)],
            "won_amount": [float(i) for i in range(27)],
        }
    )
    shown, note = funnel.top_rows(reps, "won_amount", n=10, per="funnel")
    assert shown.groupby("funnel", sort=False).size().to_dict() == {
        "new_business": 10,
        "existing": 10,
    }
    assert shown["won_amount"].iloc[0] == 14.0  # largest first within the funnel
    assert note == "top 10 of up to 15 per funnel; all in the Excel workbook"
    few, few_note = funnel.top_rows(reps.head(5), "won_amount", n=10)
    assert len(few) == 5 and few_note == ""  # everything shown: no note
    with pytest.raises(KeyError, match=r"table lacks column\(s\) coverage"):
        funnel.top_rows(reps, "coverage")  # names the missing column
    view = funnel.for_report(shown)
    assert "rep_id" not in view.columns and set(view["funnel"]) == {
        "New business",
        "Existing customers",
    }
    stuck = pd.DataFrame(
        {
            "opportunity_id": ["o1"],
            "account_id": ["a1"],
            "owner_id": ["r1"],
            "rep_name": ["Rep 1"],
            "days_in_stage": [40.0],
        }
    )
    accounts = pd.DataFrame({"account_id": ["a1"], "name": ["Bäckerei Frei"]})
    v = funnel.for_report(stuck, accounts)
    assert list(v.columns) == ["account", "rep_name", "days_in_stage"]  # id: in the workbook
    assert list(funnel.for_report(stuck).columns)[-1] == "opportunity_id"  # no name beside it
    assert v["account"].tolist() == ["Bäckerei Frei"]
    # the workbook: every rep, names beside ids
    fa = funnel.FunnelAnalysis(
        progress=pd.DataFrame(),
        stages=pd.DataFrame(),
        rep_funnel=reps.assign(stage="Proposal"),
        rates=pd.DataFrame(),
        rates_by_channel=pd.DataFrame({"funnel": ["new_business"], "win_rate": [0.3]}),
        rep_rates=reps,
        cycle=pd.DataFrame(),
        time_in_stage=pd.DataFrame(),
        transitions=pd.DataFrame(),
        coverage=reps.assign(coverage=1.0),
        stuck=stuck,
    )
    from salesanalytics.analyses.funnel.plots import write_workbook

    path = write_workbook(tmp_path / "funnel.xlsx", fa, names={"a1": "Bäckerei Frei"})
    wb = load_workbook(path, read_only=True)
    rows = list(wb["Per rep"].values)
    assert len(rows) == 1 + 27
    stuck_rows = list(wb["Stuck deals"].values)
    assert "Bäckerei Frei" in stuck_rows[1]


# --- the stage history on the aggregation layer (the same figures as on the raw table) -----


def _assert_same_analysis(raw: funnel.FunnelAnalysis, eng: funnel.FunnelAnalysis) -> None:
    for f in dataclasses.fields(funnel.FunnelAnalysis):
        a, b = getattr(raw, f.name), getattr(eng, f.name)
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f.name)
        else:
            assert a == b, f.name
    assert raw.progress.attrs == eng.progress.attrs


def _reps() -> pd.DataFrame:
    return pd.DataFrame({"rep_id": ["r1", "r2"], "name": ["Rep One", "Rep Two"]})


def test_demo_funnel_from_the_engine_equals_the_raw_tables(small_intake_dir: Path) -> None:
    """The small demo: every table of the funnel report, exactly (the phase's own output)."""
    d = small_intake_dir
    opp = pd.read_parquet(d / "opportunities.parquet")
    hist = pd.read_parquet(d / "opportunity_stages.parquet")
    reps = pd.read_parquet(d / "reps.parquet")
    as_of = pd.Timestamp(opp["close_date"].max()).normalize()
    history = funnel.EngineStageHistory(Aggregator(d, as_of=as_of))
    raw = funnel.analyse_funnels(opp, hist, reps, as_of, stuck_quantile=0.8)
    eng = funnel.analyse_funnels(opp, history, reps, as_of, stuck_quantile=0.8)
    assert len(history) == len(hist) > 0 and len(raw.stuck) > 0
    _assert_same_analysis(raw, eng)


def test_hand_built_deals_on_the_engine(tmp_path: Path) -> None:
    """Unknown stages, closing stages, a deal missing from the opportunities, open deals."""
    _opps().to_parquet(tmp_path / "opportunities.parquet")
    _history().to_parquet(tmp_path / "opportunity_stages.parquet")
    history = funnel.EngineStageHistory(Aggregator(tmp_path, as_of=AS_OF))
    assert history.dropped_rows == 1  # the ghost deal
    raw = funnel.analyse_funnels(_opps(), _history(), _reps(), AS_OF, stage_orders=ORDERS)
    eng = funnel.analyse_funnels(_opps(), history, _reps(), AS_OF, stage_orders=ORDERS)
    _assert_same_analysis(raw, eng)
    # a stage of the data's own (not configured) is placed by its median entry day
    h = _history()
    h.loc[h["stage"].eq("B") & h["opportunity_id"].isin(["o7", "o8"]), "stage"] = "Engaging"
    h.to_parquet(tmp_path / "opportunity_stages.parquet")
    history = funnel.EngineStageHistory(Aggregator(tmp_path, as_of=AS_OF))
    assert funnel.resolve_stage_orders(_opps(), history, ORDERS) == funnel.resolve_stage_orders(
        _opps(), h, ORDERS
    )


def test_without_a_stage_history_the_engine_gives_the_same_figures(tmp_path: Path) -> None:
    _opps().to_parquet(tmp_path / "opportunities.parquet")
    history = funnel.EngineStageHistory(Aggregator(tmp_path, as_of=AS_OF))
    assert len(history) == 0
    raw = funnel.analyse_funnels(_opps(), None, _reps(), AS_OF, stage_orders=ORDERS)
    eng = funnel.analyse_funnels(_opps(), history, _reps(), AS_OF, stage_orders=ORDERS)
    _assert_same_analysis(raw, eng)


def test_aggregations_name_their_options(tmp_path: Path) -> None:
    _opps().to_parquet(tmp_path / "opportunities.parquet")
    _history().to_parquet(tmp_path / "opportunity_stages.parquet")
    agg = Aggregator(tmp_path, as_of=AS_OF)
    with pytest.raises(TypeError, match="'stage_entries' has no option orders; its options: none"):
        agg.frame("stage_entries", orders=ORDERS)
    path = agg.frame("deal_stage_path", orders=ORDERS).set_index("opportunity_id")
    # o3 is open in B, entered on 31 January; o1 got to C (index 2) before it was won
    assert path.loc["o3", "entered_current"] == pd.Timestamp("2025-01-31")
    assert path.loc["o1", "furthest_index"] == 2 and pd.isna(path.loc["o1", "entered_current"])
