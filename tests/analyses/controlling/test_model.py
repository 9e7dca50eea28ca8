"""KPI system and cockpits: config checks, measures, targets and traffic lights, per-entity data."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest

from salesanalytics.analyses.controlling import model as kpi
from salesanalytics.engagement import results

from .tables import (
    AS_OF,
    _accounts,
    _activities,
    _actuals,
    _cockpit_tables,
    _contracts,
    _measures,
    _opps,
    _reps,
)


def test_packaged_kpi_system_loads_and_names_owner_targets_and_indicators() -> None:
    system = kpi.load_kpi_system()
    ids = [k.id for k in system.kpis]
    assert len(ids) == len(set(ids))
    assert {"bookings_ytd", "pipeline_coverage", "mrr_churn_rate_ytd"} <= set(ids)
    assert {k.indicator for k in system.kpis} == {"leading", "lagging"}
    table = system.table()
    assert table.loc[table["kpi_id"] == "bookings_ytd", "target"].item() == "last year +10%"


def test_bad_kpi_system_reports_every_problem(tmp_path) -> None:
    path = tmp_path / "kpis.yaml"
    path.write_text(
        """
kpis:
  - {id: a, name: A, definition: d, formula: bookings / visitz, unit: chf, indicator: lagging,
     direction: higher, owner_role: rep, target: {type: absolute, value: 1}}
  - {id: b, name: B, definition: d, formula: bookings, unit: euro, indicator: lagging,
     direction: higher, owner_role: rep, target: {type: absolute, value: 1}}
""",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="has 2 problem") as err:
        kpi.load_kpi_system(path)
    assert "unknown measure(s) visitz" in str(err.value)
    assert "(KPI 'b')" in str(err.value) and "unit" in str(err.value)


def test_ytd_windows() -> None:
    w = kpi.ytd_windows("2025-06-30")
    assert w["ytd"] == (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-06-30"))
    assert w["prior"] == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-06-30"))


def test_measures_known_answers() -> None:
    cur = _measures("ytd")
    assert cur.loc["r1", "bookings"] == 1200.0  # 1000 new + 200 upsell, renewal excluded
    assert cur.loc["r1", "bookings_upsell"] == 200.0
    assert (cur.loc["r1", "won_new"], cur.loc["r1", "lost_new"]) == (1, 1)
    assert cur.loc["r2", "won_new"] == 1  # closed on as_of itself counts
    assert cur.loc["r1", "contacts"] == 2 and cur.loc["r1", "emails"] == 1
    assert cur.loc["r1", "activity_minutes"] == 80.0
    assert cur.loc["r2", "calls"] == 1  # the July call is after as_of
    assert cur.loc["r1", "start_mrr"] == 150.0 and cur.loc["r1", "churned_mrr"] == 50.0
    assert cur.loc["r2", "start_mrr"] == 0.0
    assert cur.attrs["without_rep"]["opportunities"] == 1
    pri = _measures("prior")
    assert pri.loc["r1", "bookings"] == 800.0 and pri.loc["r3", "bookings"] == 400.0
    assert pri.loc["r2", "churned_mrr"] == 80.0 and pri.loc["r2", "start_mrr"] == 80.0
    with pytest.raises(ValueError, match="window end 2024-01-01 is before its start 2025-01-01"):
        kpi.measures(_opps(), _activities(), _contracts(), _accounts(), "2025-01-01", "2024-01-01")


def test_traffic_light_known_answers() -> None:
    att, st = kpi.traffic_light([100, 95, 80, np.nan, 5], [100, 100, 100, 100, 0], "higher")
    assert st.tolist() == ["green", "amber", "red", "grey", "green"]
    assert att[:3].tolist() == pytest.approx([1.0, 0.95, 0.8])
    att, st = kpi.traffic_light([0.2, 0.1, 0.0], [0.1, 0.1, 0.1], "lower", green=1.0, amber=0.75)
    assert st.tolist() == ["red", "green", "green"]
    assert att[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="direction must be 'higher' or 'lower'"):
        kpi.traffic_light([1], [1], "up")


def test_kpi_actuals_targets_statuses_and_pooled_team_ratios() -> None:
    a = _actuals().set_index(["level", "entity_id", "kpi_id"])
    b = a.loc[("rep", "r1", "bookings_ytd")]
    assert b["actual"] == 1200.0 and b["target"] == pytest.approx(880.0)
    assert b["status"] == "green"
    assert a.loc[("rep", "r3", "bookings_ytd"), "status"] == "red"  # 0 vs 440
    # team Nord win rate is pooled: (1 + 1) won / 4 closed, not the mean of 50% and 50%
    assert a.loc[("team", "Nord", "win_rate_new"), "actual"] == pytest.approx(0.5)
    assert a.loc[("team", "Nord", "bookings_ytd"), "actual"] == 1300.0
    # churn: r1 lost 50 of 150 this year, nothing last year -> target 0, actual above -> red
    ch = a.loc[("rep", "r1", "mrr_churn_rate_ytd")]
    assert ch["actual"] == pytest.approx(1 / 3) and ch["status"] == "red"
    cov = a.loc[("rep", "r1", "pipeline_coverage")]
    assert cov["actual"] == 3.0 and cov["status"] == "green"
    assert a.loc[("rep", "r2", "pipeline_coverage"), "status"] == "red"  # 1.0 of 3.0
    assert a.loc[("team", "Nord", "pipeline_coverage"), "actual"] == pytest.approx(1.6)
    # no churn model given: grey, not a misleading zero
    assert a.loc[("rep", "r1", "mrr_at_risk_share"), "status"] == "grey"
    assert a.loc[("rep", "r1", "bookings_ytd"), "entity_name"] == "Anna <b>Meier</b>"


def test_status_matrix_has_one_row_per_rep() -> None:
    m = kpi.status_matrix(_actuals(), "rep")
    assert m["rep"].tolist() == ["Anna <b>Meier</b>", "Beat Keller", "Carla Rossi"]
    assert m.loc[0, "Bookings YTD"] == "green"
    with pytest.raises(ValueError, match="level must be one of rep, team"):
        kpi.status_matrix(_actuals(), "region")


def test_monthly_trend_values_and_prior_year() -> None:
    tr = kpi.monthly_trend(_opps(), _activities(), _reps(), AS_OF, months=6)
    r1 = tr[(tr["level"] == "rep") & (tr["entity_id"] == "r1")].set_index(["measure", "month"])
    assert r1.loc[("bookings", pd.Timestamp("2025-02-01")), "value"] == 1000.0
    assert r1.loc[("bookings", pd.Timestamp("2025-02-01")), "prior_value"] == 800.0
    assert r1.loc[("bookings", pd.Timestamp("2025-04-01")), "value"] == 200.0
    assert r1.loc[("visits", pd.Timestamp("2025-01-01")), "value"] == 1.0
    assert tr["month"].min() == pd.Timestamp("2025-01-01")
    nord = tr[(tr["level"] == "team") & (tr["entity_id"] == "Nord")].set_index(["measure", "month"])
    assert nord.loc[("bookings", pd.Timestamp("2025-06-01")), "value"] == 100.0
    with pytest.raises(ValueError, match="months must be between 1 and 36"):
        kpi.monthly_trend(_opps(), _activities(), _reps(), AS_OF, months=0)


def test_team_funnel_pools_counts() -> None:
    rf = pd.DataFrame(
        {
            "rep_id": ["r1", "r2"],
            "funnel": ["new_business"] * 2,
            "stage_index": [0, 0],
            "stage": ["A", "A"],
            "reached": [10, 5],
            "open_here": [2, 3],
            "advanced": [4, 1],
        }
    )
    tf = kpi.team_funnel(rf, _reps()).set_index(["level", "entity_id"])
    assert tf.loc[("rep", "r1"), "conversion"] == 0.5
    assert tf.loc[("team", "Nord"), "reached"] == 15
    assert tf.loc[("team", "Nord"), "conversion"] == pytest.approx(5 / 10)


def test_rep_cockpit_contains_no_other_reps_data() -> None:
    tables = _cockpit_tables()
    for rep in ("r1", "r2", "r3"):
        c = kpi.cockpit_data("rep", rep, *tables)
        for part in (c.kpis, c.trend, c.funnel, c.retention):
            assert len(part) > 0
            assert set(part["entity_id"]) == {rep} and set(part["level"]) == {"rep"}
    team = kpi.cockpit_data("team", "Nord", *tables)
    assert set(team.kpis["entity_id"]) == {"Nord"}
    r1 = kpi.cockpit_data("rep", "r1", *tables)
    assert r1.retention.set_index("risk_band").loc["high", "mrr"] == 100.0
    with pytest.raises(KeyError, match="no cockpit data for rep 'r9'; known rep ids include: r1"):
        kpi.cockpit_data("rep", "r9", *tables)


def test_cockpit_entities() -> None:
    reps, teams = kpi.cockpit_entities(_reps(), _actuals())
    assert reps["rep_id"].tolist() == ["r1", "r2", "r3"]
    assert teams.set_index("team_id")["reps"].to_dict() == {"Nord": 2, "Süd": 1}


def test_catalogue_kpis_take_the_portfolio_values_and_ids_are_checked(tmp_path) -> None:
    system = kpi.load_kpi_system()
    cat = [k.id for k in system.kpis if k.source == "catalogue"]
    assert cat and set(cat) <= set(kpi.catalogue_ids())
    values = pd.DataFrame(
        {
            "level": ["rep", "rep", "rep", "team"],
            "entity_id": ["r1", "r2", "r3", "Nord"],
            "kpi_id": ["penetration"] * 4,
            "value": [0.5, 0.3, 0.1, 0.4],
        }
    )
    a = kpi.kpi_actuals(
        system, _reps(), _measures("ytd"), _measures("prior"), None, values
    ).set_index(["level", "entity_id", "kpi_id"])
    pen = a.xs("penetration", level="kpi_id")
    # peer median of the reps is 0.3: r1 green, r2 green (on target), r3 red
    assert pen.loc[("rep", "r1"), "actual"] == 0.5 and pen.loc[("rep", "r1"), "target"] == 0.3
    assert pen.loc[("rep", "r3"), "status"] == "red" and pen.loc[("rep", "r2"), "status"] == "green"
    assert pen.loc[("team", "Süd"), "status"] == "grey"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kpis:\n  - {id: no_such_kpi, name: X, definition: d, formula: x, source: catalogue,\n"
        "     unit: pct, indicator: lagging, direction: higher, owner_role: rep,\n"
        "     window: now, target: {type: absolute, value: 1}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="no_such_kpi have source 'catalogue' but are not in"):
        kpi.load_kpi_system(bad)


def test_inactive_reps_count_for_their_team_but_get_no_cockpit() -> None:
    reps = _reps().assign(active=[True, False, True])
    a = kpi.kpi_actuals(kpi.load_kpi_system(), reps, _measures("ytd"), _measures("prior"))
    assert "r2" not in set(a.loc[a["level"] == "rep", "entity_id"])
    nord = a[(a["level"] == "team") & (a["entity_id"] == "Nord") & (a["kpi_id"] == "bookings_ytd")]
    assert nord["actual"].item() == 1300.0  # r1 1200 + r2 100
    cockpit_reps, _ = kpi.cockpit_entities(reps, a)
    assert cockpit_reps["rep_id"].tolist() == ["r1", "r3"]


def test_build_controlling_and_read_cockpit_show_one_rep_only(tmp_path) -> None:
    rf = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3"],
            "funnel": ["new_business"] * 3,
            "stage_index": [0, 0, 0],
            "stage": ["A"] * 3,
            "reached": [3, 2, 1],
            "open_here": [0, 1, 0],
            "advanced": [1, 1, 1],
        }
    )
    ctl = kpi.build_controlling(
        _accounts(),
        _reps(),
        _contracts(),
        _opps(),
        _activities(),
        AS_OF,
        upstream=kpi.UpstreamResults(
            rep_funnel=rf,
            customer_churn=pd.DataFrame({"account_id": ["a1"], "risk_band": ["high"]}),
        ),
    )
    assert ctl.sources == {"funnel": True, "churn": True, "channels": False, "portfolio": False}
    assert ctl.excluded["opportunities without a rep"] == 1  # counted, not silently dropped
    folder = tmp_path / "data" / "controlling"
    folder.mkdir(parents=True)
    for name, df in {
        "kpi_actuals": ctl.actuals,
        "kpi_trend": ctl.trend,
        "cockpit_funnel": ctl.funnel,
        "cockpit_retention": ctl.retention,
    }.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    for rep in ctl.cockpit_reps["rep_id"]:
        c = results.read_cockpit(tmp_path, "rep", rep)
        for part in (c.kpis, c.trend, c.funnel, c.retention):
            assert set(part["entity_id"]) <= {rep} and set(part["level"]) <= {"rep"}
        assert len(c.kpis) == len([k for k in kpi.load_kpi_system().kpis if "rep" in k.levels])
    r1 = results.read_cockpit(tmp_path, "rep", "r1")
    risk = r1.kpis.set_index("kpi_id").loc["mrr_at_risk_share", "actual"]
    assert risk == pytest.approx(1.0)  # all of r1's current MRR (a1: 100) is high risk
    assert results.read_cockpit(tmp_path, "rep", "").entity_id == "r1"  # opened by hand

    team = results.read_cockpit(tmp_path, "team", "Süd")
    assert set(team.trend["entity_id"]) == {"Süd"}
    with pytest.raises(FileNotFoundError, match="run the controlling phase first"):
        results.read_cockpit(tmp_path / "nowhere", "rep", "r1")


def test_template_opened_by_hand_shows_the_first_rep_with_data() -> None:
    # a team lead without accounts ("r0") has only grey KPIs and gets no cockpit: the template
    # opened without a rep id must not show that all-grey page but the first listed rep
    a = _actuals()
    lead = a[a["entity_id"] == "r1"].assign(
        entity_id="r0", entity_name="Lead", actual=float("nan"), status="grey"
    )
    a = pd.concat([lead, a], ignore_index=True)
    assert kpi.first_entity(a, "rep") == "r1"
    reps, _ = kpi.cockpit_entities(
        pd.concat([pd.DataFrame({"rep_id": ["r0"], "name": ["Lead"], "team": ["Nord"]}), _reps()]),
        a,
    )
    assert "r0" not in set(reps["rep_id"])
    assert kpi.first_entity(a[a["entity_id"] == "r0"], "rep") == "r0"  # nobody has data


def test_kpi_formulas_evaluate_like_arithmetic_on_the_columns() -> None:
    frame = pd.DataFrame({"won_new": [1.0, 0.0, 3.0, 0.0], "lost_new": [1.0, 0.0, 1.0, 2.0]})
    got = kpi._eval("won_new / (won_new + lost_new)", frame)
    np.testing.assert_array_equal(got, [0.5, np.nan, 0.75, 0.0])  # 0/0 -> NaN, not an error
    np.testing.assert_array_equal(kpi._eval("-won_new * 2 + 1", frame), [-1.0, 1.0, -5.0, 1.0])
    np.testing.assert_array_equal(kpi._eval("won_new / lost_new", frame)[1], np.nan)  # x/0
    np.testing.assert_array_equal(kpi._eval("2", frame), [2.0] * 4)


def test_status_headline_follows_the_kpi_system():
    from salesanalytics.analyses.controlling import model as kpi

    def actuals(kpi_id, name, indicator, statuses):
        return pd.DataFrame(
            {
                "level": "rep",
                "kpi_id": kpi_id,
                "kpi_name": name,
                "indicator": indicator,
                "status": statuses,
            }
        )

    both = pd.concat(
        [
            actuals("contacts", "Contacts", "leading", ["green", "green", "red"]),
            actuals("bookings_ytd", "Bookings YTD", "lagging", ["green", "red", "red"]),
        ]
    )
    assert kpi.status_headline(both) == (
        "1 of the 3 reps with a target for Bookings YTD are on or above it; 2 are clearly behind."
    )
    # a system with a single KPI, not the bookings one
    one = actuals("contacts", "Contacts", "leading", ["green", "amber", "grey"])
    assert kpi.status_headline(one) == (
        "1 of the 2 reps with a target for Contacts are on or above it; 0 are clearly behind."
    )
    assert "no KPI at rep level" in kpi.status_headline(one.assign(level="team"))


def test_measures_and_trend_from_the_aggregation_layer_equal_those_of_the_log(
    small_intake, small_intake_dir
) -> None:
    """The controlling phase reads ``rep_activity`` (rep x date x type with counts): the window
    measures and the monthly trend are those of the activity log, exactly."""
    from salesanalytics.aggregate.catalogue import Aggregator

    t = small_intake.tables
    agg = Aggregator(small_intake_dir).frame("rep_activity")
    assert len(agg) < len(t["activities"])
    ids = t["reps"]["rep_id"].astype("string").tolist()
    w = kpi.ytd_windows(pd.Timestamp(small_intake.as_of))

    def both(acts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        m = kpi.measures(t["opportunities"], acts, t["contracts"], t["accounts"], *w["ytd"], ids)
        return m, kpi.monthly_trend(t["opportunities"], acts, t["reps"], small_intake.as_of)

    (raw_m, raw_tr), (agg_m, agg_tr) = both(t["activities"]), both(agg)
    pd.testing.assert_frame_equal(agg_m, raw_m, check_exact=True)
    pd.testing.assert_frame_equal(agg_tr, raw_tr, check_exact=True)
    assert agg_m.attrs == raw_m.attrs
    assert raw_m["visits"].sum() > 0 and raw_m["activity_minutes"].sum() > 0


def _kpi(target_type: str, value: float, direction: str = "higher") -> kpi.KpiDefinition:
    return kpi.KpiDefinition(
        id="bookings_ytd",
        name="Bookings",
        definition="Won bookings year to date",
        formula="bookings",
        unit="chf",
        indicator="lagging",
        direction=direction,
        owner_role="rep",
        target=kpi.Target(type=target_type, value=value),
    )


def test_kpi_target_per_target_type() -> None:
    actual = np.array([100.0, 200.0, 300.0])
    prior = np.array([50.0, 0.0, 100.0])
    growth = kpi.kpi_target(_kpi("prior_year_growth", 0.1), actual, prior)
    # no basis last year (0): no target rather than a target of 0
    np.testing.assert_allclose(growth, [55.0, np.nan, 110.0])
    # a lower-is-better KPI keeps a 0 basis
    lower = kpi.kpi_target(_kpi("prior_year_growth", 0.1, "lower"), actual, prior)
    np.testing.assert_allclose(lower, [55.0, 0.0, 110.0])
    np.testing.assert_allclose(kpi.kpi_target(_kpi("absolute", 250.0), actual, prior), 250.0)
    np.testing.assert_allclose(kpi.kpi_target(_kpi("peer_median", 1.1), actual, prior), 220.0)
    nothing = kpi.kpi_target(_kpi("peer_median", 1.1), np.full(3, np.nan), prior)
    assert np.isnan(nothing).all()
