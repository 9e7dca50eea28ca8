"""Tests of salesanalytics.analyses.portfolio.model: every KPI definition on a small hand-built portfolio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesanalytics.analyses.portfolio import model as pf
from salesanalytics.analyses.portfolio import plots as pfplots

AS_OF = pd.Timestamp("2026-01-01")  # window: 2025-01-01 .. 2026-01-01


def _c(cid, acc, prod, start, end, mrr, term, auto):
    return {
        "contract_id": cid,
        "account_id": acc,
        "product_id": prod,
        "start_date": pd.Timestamp(start),
        "end_date": pd.Timestamp(end) if end else pd.NaT,
        "mrr": float(mrr),
        "term_months": term,
        "auto_renewal": auto,
    }


@pytest.fixture()
def world() -> dict[str, pd.DataFrame]:
    contracts = pd.DataFrame(
        [
            _c("c1", "a1", "P1", "2023-01-01", None, 100, 12, True),
            _c("c2", "a1", "P2", "2025-07-01", None, 50, 24, False),  # cross-sell, new product
            _c("c3", "a2", "P1", "2024-03-01", "2025-06-01", 80, 1, False),  # churned
            _c("c4", "a3", "P1", "2024-06-01", None, 40, 1, True),  # monthly: renewal due
            _c("c5", "a3", "P3", "2025-05-01", None, 20, 12, False),  # same group: upsell
            _c("c6", "a4", "P1", "2025-03-01", None, 200, 36, False),  # new customer
        ]
    )
    contracts["end_date"] = contracts["end_date"].astype("datetime64[ns]")
    accounts = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
            "name": ["Alpha AG", "Beta", "Alpha Filiale", "Delta", "Epsilon", "Delta Filiale"],
            "parent_account_id": [None, None, "a1", None, None, "a4"],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3"],
            "product_group": ["website", "seo", "website"],
            "launch_date": pd.to_datetime(["2020-01-01", "2025-06-01", "2020-01-01"]),
        }
    )
    opportunities = pd.DataFrame(
        {
            "account_id": ["a1", "a4", "a2", "a1"],
            "status": ["won", "won", "lost", "won"],
            "amount": [1200.0, 2400.0, 500.0, 999.0],
            "close_date": pd.to_datetime(["2025-06-15", "2025-02-20", "2025-05-01", "2024-06-01"]),
            "product_id": ["P2", "P1", "P1", "P1"],
        }
    )
    portfolio = pd.DataFrame(
        {"account_id": ["a1", "a2", "a3", "a4", "a5", "a6"], "rep_id": ["r1"] * 3 + ["r2"] * 3}
    )
    potential = pd.DataFrame(
        {"account_id": ["a1", "a2", "a3", "a4", "a5"], "potential_mrr": [1000.0, 500, 100, 400, 0]}
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "k1", "k2"],
            "name": ["Rita", "Reto", "Karin", "Kurt"],
            "role": ["field", "tele", "key_account", "key_account"],
            "team": ["T1", "T1", "KA", "KA"],
        }
    )
    return {
        "contracts": contracts,
        "accounts": accounts,
        "products": products,
        "opportunities": opportunities,
        "portfolio": portfolio,
        "potential": potential,
        "reps": reps,
    }


def _measures(w) -> pd.DataFrame:
    return pf.account_measures(
        w["portfolio"],
        w["contracts"],
        AS_OF,
        potential=w["potential"],
        products=w["products"],
        opportunities=w["opportunities"],
    )


def test_abc_classes_known_answer() -> None:
    v = pd.Series([5, 50, 0, 30, 10, 3, 2], index=list("abcdefg"))
    assert pf.abc_classes(v).to_dict() == dict(zip("abcdefg", "BACABCC", strict=True))
    assert (pf.abc_classes(pd.Series([0.0, 0.0])) == "C").all()
    with pytest.raises(ValueError, match="negative value.*at index 'x'"):
        pf.abc_classes(pd.Series([1.0, -2.0], index=["y", "x"]))
    with pytest.raises(ValueError, match="0 < a_share < b_share < 1"):
        pf.abc_classes(v, 0.9, 0.8)


def test_account_measures_known_answers(world) -> None:
    m = _measures(world).set_index("account_id")
    a1, a2, a3, a4 = (m.loc[k] for k in ["a1", "a2", "a3", "a4"])
    assert (a1["mrr"], a1["contracts"], a1["products"], a1["term_months_sum"]) == (150, 2, 2, 36)
    assert (a1["auto_renewal_mrr"], a1["multi_year_mrr"], a1["monthly_mrr"]) == (100, 50, 0)
    assert (a1["cross_sold"], a1["upsold"], a1["new_mrr"], a1["new_product_mrr"]) == (1, 0, 50, 50)
    assert a1["bookings"] == 1200  # the 2024 deal is outside the window
    assert (a2["customers"], a2["customers_start"], a2["customers_lost"]) == (0, 1, 1)
    assert (a2["mrr_start"], a2["mrr_lost"], a2["bookings"]) == (80, 80, 0)
    assert (a3["upsold"], a3["cross_sold"], a3["renewal_due_mrr"], a3["monthly_mrr"]) == (
        1,
        0,
        40,
        40,
    )
    assert (a4["customers"], a4["customers_start"], a4["new_mrr"], a4["bookings"]) == (
        1,
        0,
        200,
        2400,
    )
    assert m["renewal_due_mrr"].sum() == 40
    assert m.loc[["a1", "a4"], "a_customers"].tolist() == [1, 1] and m["a_customers"].sum() == 2
    assert m.loc["a6", "potential_mrr"] == 0


def test_segments_and_matrix(world) -> None:
    seg = pf.segment_accounts(_measures(world)).set_index("account_id")
    assert seg["abc_revenue"].to_dict() == {
        "a1": "A",
        "a2": "C",
        "a3": "B",
        "a4": "A",
        "a5": "C",
        "a6": "C",
    }
    assert seg["abc_potential"].to_dict() == {
        "a1": "A",
        "a2": "A",
        "a3": "C",
        "a4": "A",
        "a5": "C",
        "a6": "C",
    }
    # high potential: at or above the median over all accounts (250); high revenue: at or above
    # the median MRR of the customers (150)
    assert seg["matrix_cell"].to_dict() == {
        "a1": "defend",
        "a2": "develop",
        "a3": "serve efficiently",
        "a4": "defend",
        "a5": "serve efficiently",
        "a6": "serve efficiently",
    }
    strict = pf.PortfolioConfig(matrix_potential_quantile=0.9)  # threshold 750: only a1
    cells = pf.segment_accounts(_measures(world), strict).set_index("account_id")["matrix_cell"]
    assert cells[["a1", "a2", "a4"]].tolist() == ["defend", "serve efficiently", "maintain"]
    summary = pf.matrix_summary(seg.reset_index()).set_index("matrix_cell")
    assert summary.loc["defend", "accounts"] == 2 and summary.loc["defend", "current_mrr"] == 350
    assert summary["share_of_mrr"].sum() == pytest.approx(1.0)
    assert set(summary["treatment"]) == set(pf.MATRIX_TREATMENTS.values())


def test_key_accounts_and_proposed_managers(world) -> None:
    crit = pf.KeyAccountCriteria(
        min_potential_mrr=450, min_revenue_mrr=140, min_products=2, min_locations=2
    )
    ka = pf.key_accounts(_measures(world), world["accounts"], world["reps"], crit)
    assert ka["account_id"].tolist() == ["a1", "a4", "a3"]  # highest potential first
    row = ka.set_index("account_id")
    assert row.loc["a1", "criteria_met"] == "potential, revenue, products, locations"
    assert row.loc["a3", "criteria_met"] == "products, locations"
    assert row.loc["a4", "criteria_met"] == "revenue, locations"
    # groups dealt in snake order of potential: a1+a3 (1100) -> Karin, a4 (400) -> Kurt
    assert row["proposed_kam_name"].to_dict() == {"a1": "Karin", "a4": "Kurt", "a3": "Karin"}
    no_kam = world["reps"].assign(role="field")
    ka2 = pf.key_accounts(_measures(world), world["accounts"], no_kam, crit)
    assert (ka2["proposed_kam_id"] == ka2["rep_id"]).all()
    # quantile defaults: top 2% by potential or revenue and 2 criteria
    ka3 = pf.key_accounts(_measures(world), world["accounts"], world["reps"])
    assert ka3["account_id"].tolist() == []


def test_catalogue_is_complete_and_checked(tmp_path: Path) -> None:
    cat = pf.load_catalogue()
    assert set(cat["category"]) == set(pf.CATEGORIES)
    for kpi in [
        "arr", "mrr", "avg_contract_value", "avg_term_months", "auto_renewal_share",
        "multi_year_share", "renewals_due_90d", "customers", "a_customer_share", "tenure_months",
        "logo_churn", "revenue_churn", "products_per_customer", "penetration", "bookings",
        "cross_sell_rate", "upsell_rate", "new_product_share",
    ]:  # fmt: skip
        assert kpi in set(cat["id"])
    assert cat["id"].is_unique and cat["definition"].str.len().min() > 20
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kpis:\n"
        "  - {id: x, name: X, category: sales, definition: d, formula: mrr / nope, unit: chf,\n"
        "     direction: up, normalisation: none, normalised_unit: chf, ranking: true, window: now}\n"
        "  - {id: y, name: Y}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="4 problem") as err:
        pf.load_catalogue(bad)
    msg = str(err.value)
    assert "category 'sales'" in msg and "direction 'up'" in msg
    assert "formula 'mrr / nope'" in msg and "unknown measure 'nope'" in msg
    assert "KPI #2 (y): missing field(s) category" in msg
    evil = tmp_path / "evil.yaml"
    evil.write_text(
        "kpis:\n"
        "  - {id: x, name: X, category: product sales, definition: d, unit: chf,\n"
        "     formula: \"__import__('os').getcwd()\", direction: higher,\n"
        "     normalisation: none, normalised_unit: chf, ranking: true, window: now}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="'Call' is not allowed"):
        pf.load_catalogue(evil)


def test_kpis_per_rep_known_answers(world) -> None:
    m = _measures(world)
    cat = pf.load_catalogue()
    k = pf.compute_kpis(m, m["rep_id"], cat).set_index(["entity_id", "kpi_id"])
    r1 = k.loc["r1"]
    expected = {
        "arr": (2520, 2520 / (12 * 1600)),
        "mrr": (210, 210 / (12 * 1600)),
        "avg_contract_value": (630, 630),
        "avg_term_months": (12.25, 12.25),
        "monthly_term_share": (40 / 210, 40 / 210),
        "auto_renewal_share": (140 / 210, 140 / 210),
        "multi_year_share": (50 / 210, 50 / 210),
        "renewals_due_90d": (40, 40 / 210),
        "customers": (2, 2 / 3),
        "a_customer_share": (0.5, 0.5),
        "logo_churn": (1 / 3, 1 / 3),
        "revenue_churn": (80 / 220, 80 / 220),  # start MRR 100 + 80 + 40
        "products_per_customer": (2, 2),
        "penetration": (210 / 1600, 210 / 1600),
        "bookings": (1200, 1200 / (12 * 1600)),
        "cross_sell_rate": (1 / 3, 1 / 3),
        "upsell_rate": (1 / 3, 1 / 3),
        "new_product_share": (50 / 70, 50 / 70),
    }
    for kpi, (value, norm) in expected.items():
        assert r1.loc[kpi, "value"] == pytest.approx(value), kpi
        assert r1.loc[kpi, "normalised"] == pytest.approx(norm), kpi
    r2 = k.loc["r2"]
    assert r2.loc["penetration", "value"] == pytest.approx(0.5)
    assert np.isnan(r2.loc["logo_churn", "value"])  # no customers a year ago: not rankable
    assert pd.isna(r2.loc["logo_churn", "rank"]) and r1.loc["logo_churn", "rank"] == 1
    # direction: higher penetration ranks first; lower month-to-month share ranks first
    assert r2.loc["penetration", "rank"] == 1 and r1.loc["penetration", "score"] == 0
    assert r2.loc["monthly_term_share", "rank"] == 1  # r2 has no monthly contracts
    teams = world["reps"].set_index("rep_id")["team"]
    t = pf.compute_kpis(m, m["rep_id"].map(teams), cat, level="team").set_index(
        ["entity_id", "kpi_id"]
    )
    # a team ratio is the ratio of the team's sums, not the mean of the reps' ratios
    assert t.loc[("T1", "penetration"), "value"] == pytest.approx(410 / 2000)
    assert t.loc[("T1", "logo_churn"), "value"] == pytest.approx(1 / 3)


def test_fair_ranking(world) -> None:
    m = _measures(world)
    cat = pf.load_catalogue()
    k = pf.compute_kpis(m, m["rep_id"], cat)
    rank = pf.fair_ranking(k, cat)
    assert rank["entity_id"].tolist()[0] in {"r1", "r2"}
    ranked_ids = set(cat.loc[cat["ranking"], "id"])
    for r in rank.itertuples():
        mine = k[(k["entity_id"] == r.entity_id) & k["kpi_id"].isin(ranked_ids)]
        assert r.overall_score == pytest.approx(mine["score"].mean())
        assert r.kpis_scored == mine["score"].notna().sum()
    assert {"score_contract_structure", "score_customer_structure", "score_product_sales"} <= set(
        rank.columns
    )


def test_bookings_by_group(world) -> None:
    b = pf.bookings_by_group(
        world["opportunities"], world["portfolio"], world["products"], AS_OF
    ).set_index("rep_id")
    assert b.loc["r1", "seo"] == 1200 and b.loc["r2", "website"] == 2400
    assert b.loc["r1", "total"] == 1200


def test_measures_reject_double_assignment(world) -> None:
    dup = pd.concat([world["portfolio"], world["portfolio"].head(1)])
    with pytest.raises(ValueError, match="1 account\\(s\\) assigned twice, e.g. 'a1'"):
        pf.account_measures(dup, world["contracts"], AS_OF)
    with pytest.raises(KeyError, match=r"lacks column\(s\) rep_id"):
        pf.account_measures(world["portfolio"][["account_id"]], world["contracts"], AS_OF)


def test_report_helpers(world) -> None:
    owners = pf.portfolio_from_owners(
        pd.DataFrame({"account_id": ["a1", "a2"], "owner_id": ["r1", None]})
    )
    assert owners.columns.tolist() == ["account_id", "rep_id"]
    m = _measures(world)
    cat = pf.load_catalogue()
    k = pf.compute_kpis(m, m["rep_id"], cat)
    wide, fmt = pf.kpi_wide(k, cat, names=pd.Series({"r1": "Rita", "r2": "Reto"}))
    assert wide.set_index("name").loc["Rita", "Penetration"] == pytest.approx(210 / 1600)
    assert fmt["Penetration"] == "pct" and fmt["ARR"] == "chf" and fmt["Average tenure"] == "num1"
    seg = pf.segment_accounts(m)
    ranking = pf.fair_ranking(k, cat).assign(name=lambda d: d["entity_id"].str.upper())
    ka = pf.key_accounts(
        m, world["accounts"], world["reps"], pf.KeyAccountCriteria(min_potential_mrr=450)
    )
    text = pf.describe_portfolio(pf.matrix_summary(seg), ka, ranking)
    assert text[0].startswith("1 accounts (17%) have high potential") or "develop" in text[0]
    assert "CHF 500 potential MRR against CHF 0 today" in text[0]
    assert any(t.startswith(f"{len(ka)} accounts qualify as key accounts") for t in text)


def test_inputs_are_not_modified(world) -> None:
    before = {k: v.copy() for k, v in world.items()}
    m = _measures(world)
    pf.key_accounts(m, world["accounts"], world["reps"])
    pf.bookings_by_group(world["opportunities"], world["portfolio"], world["products"], AS_OF)
    for k, v in world.items():
        pd.testing.assert_frame_equal(v, before[k])


def test_measures_when_nothing_is_active() -> None:
    """A contract that started and ended inside the window, nothing active at either end."""
    contracts = pd.DataFrame(
        [_c("c1", "a1", "P1", "2025-03-01", "2025-08-01", 100, 1, False)]
    ).astype({"end_date": "datetime64[ns]"})
    m = pf.account_measures(
        pd.DataFrame({"account_id": ["a1", "a2"], "rep_id": ["r1", "r1"]}), contracts, AS_OF
    )
    row = m.set_index("account_id").loc["a1"]
    assert (row["mrr"], row["customers_start"], row["new_mrr"], row["cross_sold"]) == (0, 0, 100, 0)


def test_portfolio_overview(world) -> None:
    seg = pf.segment_accounts(_measures(world))
    ov = pf.portfolio_overview(seg, pd.Series({"r1": "Rita", "r2": "Reto"})).set_index("rep_id")
    assert ov.loc["r1", "name"] == "Rita"
    assert (ov.loc["r1", "accounts"], ov.loc["r1", "customers"]) == (3, 2)
    assert ov.loc["r1", "current_mrr"] == 210 and ov.loc["r1", "potential_mrr"] == 1600
    assert ov.loc["r1", "penetration"] == pytest.approx(210 / 1600)
    assert (ov.loc["r1", "defend"], ov.loc["r1", "develop"]) == (1, 1)
    assert ov.loc["r2", ["defend", "serve efficiently"]].tolist() == [1, 2]
    assert ov.index[0] == "r1"  # largest potential first


def test_ranking_within_peer_groups(world) -> None:
    m = _measures(world).assign(
        rep_id=lambda d: d["account_id"].map(
            {"a1": "r1", "a2": "r2", "a3": "r3", "a4": "k1", "a5": "k1", "a6": "k1"}
        )
    )
    cat = pf.load_catalogue()
    peers = pd.Series({"r1": "field", "r2": "field", "r3": "field", "k1": "key_account"})
    k = pf.compute_kpis(m, m["rep_id"], cat, peers=peers).set_index(["entity_id", "kpi_id"])
    # penetration: r1 150/1000, r2 0/500, r3 60/100 -> r3 best among field reps; k1 alone
    assert k.loc[("r3", "penetration"), "rank"] == 1 and k.loc[("r2", "penetration"), "rank"] == 3
    assert k.loc[("r3", "penetration"), "n_entities"] == 3
    assert (
        k.loc[("k1", "penetration"), "rank"] == 1 and k.loc[("k1", "penetration"), "score"] == 100
    )
    rank = pf.fair_ranking(k.reset_index(), cat)
    assert rank.loc[rank["entity_id"] == "k1", ["peer_group", "rank"]].iloc[0].tolist() == [
        "key_account",
        1,
    ]
    assert sorted(rank.loc[rank["peer_group"] == "field", "rank"].tolist())[0] == 1
    text = pf.describe_portfolio(
        pf.matrix_summary(pf.segment_accounts(m)), m.head(0).assign(potential_mrr=[]), rank
    )
    assert any("among the field reps" in t for t in text)
    assert not any("among the key-account reps" in t for t in text)  # a group of one is not ranked


def test_vacant_territories_get_their_own_name_team_and_peer_group():
    import matplotlib

    matplotlib.use("Agg")
    reps = pd.DataFrame(
        {
            "rep_id": ["r1", "r2"],
            "name": ["Anna Meier", pd.NA],
            "team": ["Ost", "West"],
            "role": ["field", "field"],
        }
    ).astype("string")
    portfolios = pd.DataFrame(
        {"account_id": ["a", "b", "c", "d"], "rep_id": ["r1", "VACANT-02", "VACANT-01", "r1"]}
    )
    owners = pf.portfolio_owners(portfolios, reps)
    assert owners.index.tolist() == ["r1", "r2", "VACANT-01", "VACANT-02"]
    assert owners.loc["VACANT-01", "name"] == "vacant territory (VACANT-01)"
    assert owners.loc["r2", "name"] == "r2"  # a rep without a name shows the id
    assert owners["vacant"].tolist() == [False, False, True, True]
    assert (owners.loc[owners["vacant"], ["team", "role"]] == pf.VACANT_LABEL).all().all()
    ranking = pd.DataFrame(
        {
            "entity_id": ["r1", "VACANT-01", "VACANT-02"],
            "peer_group": ["field", pf.VACANT_LABEL, pf.VACANT_LABEL],
            "overall_score": [60.0, 50.0, 40.0],
        }
    )
    ranking["name"] = ranking["entity_id"].map(owners["name"]).astype("string")
    ranking.loc[0, "name"] = pd.NA
    ax = pfplots.plot_ranking(
        ranking
    )  # a missing name falls back to the id; vacancies are not ranked
    assert [t.get_text() for t in ax.get_yticklabels()] == ["r1"]
    ax = pfplots.plot_ranking(ranking.drop(columns="peer_group"))
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "vacant territory (VACANT-02)",
        "vacant territory (VACANT-01)",
        "r1",
    ]
    text = pf.describe_portfolio(
        pd.DataFrame({"matrix_cell": [], "accounts": [], "current_mrr": [], "potential_mrr": []}),
        pd.DataFrame({"potential_mrr": []}),
        ranking,
    )
    assert any("2 portfolio(s) belong to territories without a rep yet" in t for t in text)
    assert not any("leads with a score" in t for t in text)


def test_key_account_list_is_drawn_on_todays_owners_and_flagged_on_the_potential(world) -> None:
    acc = world["accounts"].copy()
    if "owner_id" not in acc.columns:
        acc["owner_id"] = acc["account_id"].map(
            world["portfolio"].set_index("account_id")["rep_id"]
        )
    crit = pf.KeyAccountCriteria(min_criteria=1)
    key = pf.key_account_list(
        acc, world["reps"], world["contracts"], world["potential"], AS_OF, criteria=crit
    )
    # the same accounts as the portfolio's own measures would give (one definition)
    same = pf.key_accounts(_measures(world), acc, world["reps"], crit)
    assert set(key["account_id"]) == set(same["account_id"])
    assert len(key) > 0 and key["account_id"].is_unique
    flagged = pf.flag_key_accounts(world["potential"], key)
    assert int(flagged["key_account"].sum()) == len(key)
    kam = flagged.set_index("account_id")["key_account_manager_id"].dropna()
    assert kam.to_dict() == key.set_index("account_id")["proposed_kam_id"].astype(str).to_dict()
    with pytest.raises(KeyError, match="proposed_kam_id"):
        pf.flag_key_accounts(world["potential"], key.drop(columns="proposed_kam_id"))


def test_channel_split_reads_the_channel_matrix_not_a_rule_of_its_own() -> None:
    segments = pd.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "matrix_cell": ["develop", "serve efficiently", "serve efficiently"],
        }
    )
    # the channel phase's account_workload: "d" has no field work (in no field portfolio)
    workload = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "field_share": [1.0, 0.25, 1.0, 0.0],
            "field_hours": [10.0, 2.0, 4.0, 0.0],
            "tele_hours": [0.0, 3.0, 0.0, 1.5],
            "online_hours": [0.0, 1.0, 0.0, 0.5],
        }
    )
    split = pf.channel_split(segments, workload).set_index("matrix_cell")
    assert list(split.index) == [*pf.MATRIX_TREATMENTS, pf.NO_FIELD_WORK]
    se = split.loc["serve efficiently"]
    # "serve efficiently" accounts the matrix keeps in the field are counted as visited
    assert (se["accounts"], se["field_all_groups"], se["field_some_groups"], se["no_field"]) == (
        2,
        1,
        1,
        0,
    )
    assert se["field_share"] == pytest.approx(6.0 / 10.0)
    assert split.loc[pf.NO_FIELD_WORK, ["accounts", "no_field"]].tolist() == [1, 1]
    assert split["no_field"].sum() == int((workload["field_share"] <= 0).sum())
    text = pf.describe_channel_split(split.reset_index())
    assert text.startswith("The channel matrix leaves 1 accounts without field visits")
    assert "no field visits" not in pf.MATRIX_TREATMENTS["serve efficiently"]
    # the portfolios are the field portfolios: shares of MRR say so (the client's MRR is larger)
    seg = segments.assign(
        rep_id="r1", current_mrr=[100.0, 5.0, 0.0], potential_mrr=[200.0, 10.0, 5.0]
    )
    summary = pf.matrix_summary(pf.segment_accounts(seg.rename(columns={"current_mrr": "mrr"})))
    none = pd.DataFrame(columns=["name", "potential_mrr"])
    rank = pd.DataFrame(columns=["entity_id", "overall_score"])
    lines = pf.describe_portfolio(summary, none, rank, split.reset_index())
    assert any("of the field portfolios' MRR" in t for t in lines), lines
    assert not any("field portfolios" in t for t in pf.describe_portfolio(summary, none, rank))
    with pytest.raises(KeyError, match="account_workload"):
        pf.channel_split(segments, workload.drop(columns="tele_hours"))
