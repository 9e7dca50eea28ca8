"""Every aggregation of the layer, run on DuckDB, against the same figure computed in pandas from
the canonical tables (counts exactly, money to the cent)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesanalytics.aggregate.catalogue import AGGREGATES, Aggregator
from salesanalytics.analyses import territory as tm
from salesanalytics.ingest.intake import customer_profile


@pytest.fixture(scope="module")
def agg(small_intake_dir, small_intake) -> Aggregator:
    return Aggregator(small_intake_dir, as_of=small_intake.as_of)


def _same(got: pd.DataFrame, want: pd.DataFrame, keys: list[str]) -> None:
    """Equal frames: the same keys in the same order, counts exactly, amounts to the cent."""
    got = got.reset_index(drop=True)
    want = want.sort_values(keys, kind="mergesort").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 0
    for c in got.columns:
        if pd.api.types.is_float_dtype(got[c]):
            np.testing.assert_array_equal(
                got[c].round(2).to_numpy(), want[c].astype(float).round(2).to_numpy(), err_msg=c
            )
        else:
            assert got[c].astype(object).tolist() == want[c].astype(object).tolist(), c


def test_activity_span_counts_the_log(agg, small_intake) -> None:
    a = small_intake.tables["activities"]
    got = agg.frame("activity_span").iloc[0]
    assert got["rows"] == len(a) > 0
    assert got["without_account"] == a["account_id"].isna().sum()
    assert got["first_date"] == a["date"].min() and got["last_date"] == a["date"].max()


def test_account_effort_per_account_and_channel(agg, small_intake) -> None:
    a = small_intake.tables["activities"]
    want = (
        a.assign(visit=(a["type"] == "visit").astype("int64"))
        .groupby(["account_id", "channel"], dropna=False)
        .agg(activities=("type", "size"), minutes=("minutes", "sum"), visits=("visit", "sum"))
        .reset_index()
    )
    _same(agg.frame("account_effort"), want, ["account_id", "channel"])
    field = agg.frame("field_effort")
    assert set(field["channel"]) == {"field"}
    assert field["activities"].sum() == (a["channel"] == "field").sum()


def test_field_effort_gives_the_territory_norms_of_the_activity_log(agg, small_intake) -> None:
    """The territory phases read the aggregate; their norms are those of the raw log, exactly."""
    t = small_intake.tables
    seg = pd.Series(
        np.where(np.arange(len(t["accounts"])) % 3 == 0, "customer|A", "prospect|C"),
        index=t["accounts"]["account_id"],
    )
    raw = tm.activity_norms(t["activities"], seg, channel="field")
    via_engine = tm.activity_norms(tm.field_effort(agg), seg, channel="field")
    pd.testing.assert_frame_equal(raw, via_engine, check_exact=True)
    assert raw.attrs == via_engine.attrs and raw["minutes_per_year"].gt(0).all()


def test_rep_workload_per_rep_channel_and_month(agg, small_intake) -> None:
    a = small_intake.tables["activities"]
    want = (
        a.assign(
            visit=(a["type"] == "visit").astype("int64"),
            month=a["date"].dt.to_period("M").dt.to_timestamp(),
        )
        .groupby(["rep_id", "channel", "month"], dropna=False)
        .agg(
            activities=("type", "size"),
            minutes=("minutes", "sum"),
            visits=("visit", "sum"),
            accounts=("account_id", "nunique"),
        )
        .reset_index()
    )
    _same(agg.frame("rep_workload"), want, ["rep_id", "channel", "month"])


def test_deal_outcomes_per_owner_funnel_and_channel(agg, small_intake) -> None:
    o = small_intake.tables["opportunities"]
    amt = o["amount"].fillna(0.0)
    want = (
        o.assign(
            won=(o["status"] == "won").astype("int64"),
            lost=(o["status"] == "lost").astype("int64"),
            open=(o["status"] == "open").astype("int64"),
            won_amount=amt.where(o["status"] == "won", 0.0),
            lost_amount=amt.where(o["status"] == "lost", 0.0),
            open_amount=amt.where(o["status"] == "open", 0.0),
            without_amount=o["amount"].isna().astype("int64"),
        )
        .groupby(["owner_id", "type", "channel"], dropna=False)
        .agg(
            deals=("status", "size"),
            **{
                c: (c, "sum")
                for c in ("won", "lost", "open", "won_amount", "lost_amount", "open_amount")
            },
            without_amount=("without_amount", "sum"),
        )
        .reset_index()
    )
    _same(agg.frame("deal_outcomes"), want, ["owner_id", "type", "channel"])


def test_stage_reach_from_the_stage_history(agg, small_intake) -> None:
    o = small_intake.tables["opportunities"][["opportunity_id", "type", "status"]]
    j = small_intake.tables["opportunity_stages"].merge(o, on="opportunity_id")
    want = (
        j.assign(won_id=j["opportunity_id"].where(j["status"] == "won"))
        .groupby(["type", "stage"])
        .agg(
            deals=("opportunity_id", "nunique"),
            entries=("stage", "size"),
            won=("won_id", "nunique"),
            first_entered=("entered_at", "min"),
            last_entered=("entered_at", "max"),
        )
        .reset_index()
    )
    got = agg.frame("stage_reach")
    _same(got, want, ["type", "stage"])
    assert got["won"].le(got["deals"]).all()


def test_account_mrr_is_the_intake_customer_profile(agg, small_intake) -> None:
    """One set of numbers: the MRR per account equals the intake's customer profile."""
    t = small_intake.tables
    prof = customer_profile(t["accounts"], t["contracts"], small_intake.as_of)
    want = prof[["account_id", "mrr", "products", "contracts"]].astype(
        {"account_id": "string", "products": "int64", "contracts": "int64"}
    )
    _same(agg.frame("account_mrr"), want, ["account_id"])


def test_white_space_per_account_and_product_group(agg, small_intake) -> None:
    t = small_intake.tables
    groups = t["products"].set_index("product_id")["product_group"]
    got = agg.frame("white_space")
    day = pd.Timestamp(small_intake.as_of)
    c = t["contracts"]
    c = c[(c["start_date"] <= day) & (c["end_date"].isna() | (c["end_date"] > day))]
    w = t["opportunities"][t["opportunities"]["status"] == "won"]
    held = (
        c.assign(product_group=c["product_id"].map(groups))
        .groupby(["account_id", "product_group"])
        .agg(mrr=("mrr", "sum"), contracts=("mrr", "size"))
    )
    won = (
        w.assign(product_group=w["product_id"].map(groups), amount=w["amount"].fillna(0.0))
        .groupby(["account_id", "product_group"])
        .agg(won_deals=("amount", "size"), won_amount=("amount", "sum"))
    )
    want = held.join(won, how="outer").fillna(0).reset_index()
    want = want.astype({"contracts": "int64", "won_deals": "int64"})
    _same(got, want, ["account_id", "product_group"])
    # a product group bought today and never won on a deal (e.g. a migrated contract) is still held
    assert (got["mrr"] > 0).sum() == len(held) and (got["won_deals"] > 0).sum() == len(won)


def test_every_aggregation_is_named_with_its_tables_and_keys(agg) -> None:
    for name, a in AGGREGATES.items():
        df = agg.frame(name)
        assert set(a.keys) <= set(df.columns), name
        for c in a.strings:
            assert df[c].dtype == "string", (name, c)
        assert not df.duplicated(list(a.keys)).any() if a.keys else len(df) == 1
        assert df.attrs["engine"] == "duckdb"


def test_rep_activity_rows_stand_for_the_log(agg, small_intake) -> None:
    a = small_intake.tables["activities"]
    got = agg.frame("rep_activity")
    assert got["activities"].sum() == len(a) and len(got) < len(a)
    assert got["minutes"].sum() == a["minutes"].sum()
    per_type = got.groupby("type")["activities"].sum().sort_index()
    assert per_type.to_dict() == a["type"].value_counts().sort_index().to_dict()
