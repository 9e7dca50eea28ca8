"""Property-based tests: the analysis functions every phase calls with its parameters, over the whole
range its ``Params`` model allows (Hypothesis), on the small demo client.

For any valid parameter values the functions must not raise, and their outputs must keep the
invariants a reader relies on: every account in exactly one class / channel / territory, counts and
money conserved, shares between 0 and 1 and ordered, risk bands of the requested size.
Parameter combinations a model refuses are refused with a message naming the parameters.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from param_strategies import field_strategy, params_strategy
from pydantic import ValidationError

from salesanalytics.analyses.channels import model as channels
from salesanalytics.analyses.churn import model as churn
from salesanalytics.analyses.funnel import model as funnel
from salesanalytics.analyses.portfolio import model as portfolio
from salesanalytics.analyses.potential import model as pt
from salesanalytics.engagement.phases import all_phases
from salesanalytics.engagement.phases import channels as channels_phase
from salesanalytics.engagement.phases import churn as churn_phase
from salesanalytics.engagement.phases import compensation as compensation_phase
from salesanalytics.engagement.phases import controlling as controlling_phase
from salesanalytics.engagement.phases import funnel as funnel_phase
from salesanalytics.engagement.phases import portfolio as portfolio_phase
from salesanalytics.engagement.phases import potential as potential_phase
from salesanalytics.engagement.phases import territory as territory_phase

# Hypothesis settings of the whole suite (no deadline, derandomized): see conftest.py


def _numeric_fields(model) -> list[str]:
    return [
        n
        for n, f in model.model_fields.items()
        if f.annotation in (int, float, bool) and n != "seed"
    ]


# --------------------------------------------------------------------------------------------
# the parameter models themselves
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", all_phases(), ids=lambda p: p.name)
@given(data=st.data())
def test_any_values_within_bounds_are_accepted_or_refused_by_name(phase, data) -> None:
    """Every combination of in-range values either validates, or the model's message names the
    parameters involved with their values (never a bare pydantic error, never an exception)."""
    model = phase.params
    names = _numeric_fields(model)
    if not names:
        return
    values = {n: data.draw(field_strategy(model, n, soft_max=10_000), label=n) for n in names}
    try:
        model.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            assert err["type"] == "value_error", err  # only cross-field checks may refuse
            text = err["msg"]
            named = [n for n in names if re.search(rf"\b{n}\b", text)]
            assert len(named) >= 2, text
            for n in named:
                assert f"{n} = {values[n]!r}" in text, text
            assert re.search(r"\b(lower|raise|give)\b", text), text  # says what to do


@pytest.mark.parametrize(
    ("model", "values", "message"),
    [
        (
            portfolio_phase.Params,
            {"abc_a_share": 0.95, "abc_b_share": 0.9},
            r"abc_a_share = 0\.95 must be below abc_b_share = 0\.9 because .*; lower abc_a_share",
        ),
        (
            portfolio_phase.Params,
            {"abc_a_share": 0.9, "abc_b_share": 0.9},
            r"abc_a_share = 0\.9 must be below abc_b_share = 0\.9",
        ),
        (
            churn_phase.Params,
            {"risk_medium_quantile": 0.9, "risk_high_quantile": 0.8},
            r"risk_medium_quantile = 0\.9 must be below risk_high_quantile = 0\.8",
        ),
        (
            channels_phase.Params,
            {"online_max_complexity": 4, "field_min_complexity": 3},
            r"online_max_complexity = 4 must be at most field_min_complexity = 3",
        ),
        (
            compensation_phase.Params,
            {"threshold": 1.0, "excellence": 1.0},
            r"threshold = 1\.0 must be below excellence = 1\.0",
        ),
        (
            compensation_phase.Params,
            {"proposed_plan": "propsed"},
            r"proposed_plan = 'propsed' is neither a built-in pay plan \(current, proposed\)",
        ),
        (
            funnel_phase.Params,
            {"stages_existing": "Proposal, proposal"},
            r"stages_existing = 'Proposal, proposal': stage\(s\) named twice.*give each open stage once",
        ),
        (
            funnel_phase.Params,
            {"stages_new_business": " , "},
            r"stages_new_business = ' , ': a funnel needs at least one stage",
        ),
    ],
)
def test_impossible_combinations_are_refused_with_names_values_and_a_remedy(
    model, values, message
) -> None:
    with pytest.raises(ValidationError, match=message):
        model.model_validate(values)


def test_file_parameters_are_checked_before_the_run(tmp_path) -> None:
    from salesanalytics.engagement.phases import controlling, roles, territory_scenarios

    with pytest.raises(ValidationError, match=r"must be given as an absolute path"):
        controlling.Params(kpi_system="kpis.yaml")
    with pytest.raises(ValidationError, match=r"the KPI system file does not exist"):
        controlling.Params(kpi_system=str(tmp_path / "kpis.yaml"))
    bad = tmp_path / "roles.yaml"
    bad.write_text("roles: 3\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"roles_file = .* is not a valid role catalogue"):
        roles.Params(roles_file=str(bad))
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "name: x\nroles:\n  field: {base_salary: -1, target_incentive: 1, measures: []}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match=r"current_plan = .* is not a valid pay plan"):
        compensation_phase.Params(current_plan=str(plan))
    with pytest.raises(ValidationError, match=r"0 repeats the proposal itself; 4 given twice"):
        territory_scenarios.Params(scenario_offsets=[0, 4, 4])
    with pytest.raises(ValidationError, match=r"-1\.0 outside 0 to 100"):
        territory_scenarios.Params(pareto_weights=[-1.0, 2.0])


# --------------------------------------------------------------------------------------------
# potential
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def potential_inputs(small_intake):
    t = small_intake.tables
    return t["accounts"], pt.current_mrr(t["contracts"], small_intake.as_of)


@settings(max_examples=8)
@given(p=params_strategy(potential_phase.Params, "quantile", "log_scale"))
def test_potential_is_finite_and_at_least_todays_revenue(potential_inputs, p) -> None:
    accounts, revenue = potential_inputs
    res = pt.estimate_potential(accounts, revenue, quantile=p.quantile, log_scale=p.log_scale)
    a = res.accounts
    assert len(a) == len(accounts) and a["account_id"].is_unique
    assert np.isfinite(a["potential_mrr"]).all()
    assert (a["potential_mrr"] >= a["current_mrr"] - 1e-9).all()
    np.testing.assert_allclose(a["white_space_mrr"], a["potential_mrr"] - a["current_mrr"])


@settings(max_examples=6)
@given(p=params_strategy(potential_phase.Params, "min_segment"))
def test_white_space_by_group_splits_no_more_than_the_white_space(
    small_intake, potential_inputs, p
) -> None:
    accounts, revenue = potential_inputs
    res = pt.estimate_potential(accounts, revenue)
    t = small_intake.tables
    ws = pt.white_space_by_group(
        res.accounts, t["contracts"], t["products"], small_intake.as_of, min_segment=p.min_segment
    )
    assert (ws["white_space_mrr"] >= 0).all()
    per_account = ws.groupby("account_id")["white_space_mrr"].sum()
    total = res.accounts.set_index("account_id")["white_space_mrr"]
    assert (per_account <= total.reindex(per_account.index) + 1e-6).all()


# --------------------------------------------------------------------------------------------
# portfolio
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def portfolio_inputs(small_intake, potential_inputs):
    accounts, revenue = potential_inputs
    pot = pt.estimate_potential(accounts, revenue).accounts
    return small_intake.tables, small_intake.as_of, pot


@settings(max_examples=12)
@given(
    v=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=60),
    p=params_strategy(portfolio_phase.Params, "abc_a_share", "abc_b_share"),
)
def test_abc_classes_close_at_their_cumulative_share(v, p) -> None:
    values = pd.Series(v)
    cls = portfolio.abc_classes(values, p.abc_a_share, p.abc_b_share)
    assert set(cls) <= {"A", "B", "C"} and len(cls) == len(values)
    total = values.sum()
    assume(total > 0)
    for label, share in (("A", p.abc_a_share), (("A", "B"), p.abc_b_share)):
        inside = values[cls.isin(label if isinstance(label, tuple) else (label,))]
        # the class holds the accounts before the share is reached, plus the one reaching it
        assert inside.sum() >= min(share * total, values[values > 0].sum()) - 1e-6
        assert inside.sum() - inside.min() < share * total + 1e-6 if len(inside) else True
    assert (cls[values == 0] == "C").all()


@settings(max_examples=10)
@given(
    p=params_strategy(
        portfolio_phase.Params,
        "window_months",
        "renewal_days",
        "new_product_months",
        "abc_a_share",
        "abc_b_share",
    ),
    k=params_strategy(
        potential_phase.Params,
        "ka_potential_quantile",
        "ka_revenue_quantile",
        "ka_min_products",
        "ka_min_locations",
        "ka_min_criteria",
    ),
)
def test_portfolio_segments_and_key_accounts_conserve_accounts(portfolio_inputs, p, k) -> None:
    t, as_of, pot = portfolio_inputs
    portfolios = portfolio.portfolio_from_owners(t["accounts"])
    config = portfolio.PortfolioConfig(
        window_months=p.window_months,
        renewal_days=p.renewal_days,
        new_product_months=p.new_product_months,
        abc_a_share=p.abc_a_share,
        abc_b_share=p.abc_b_share,
    )
    m = portfolio.account_measures(
        portfolios,
        t["contracts"],
        as_of,
        potential=pot,
        products=t["products"],
        opportunities=t["opportunities"],
        accounts=t["accounts"],
        config=config,
    )
    seg = portfolio.segment_accounts(m, config)
    assert len(seg) == len(portfolios)
    summary = portfolio.matrix_summary(seg)
    assert summary["accounts"].sum() == len(portfolios)
    assert summary["current_mrr"].sum() == pytest.approx(seg["current_mrr"].sum())
    criteria = portfolio.KeyAccountCriteria(
        potential_quantile=k.ka_potential_quantile,
        revenue_quantile=k.ka_revenue_quantile,
        min_products=k.ka_min_products,
        min_locations=k.ka_min_locations,
        min_criteria=k.ka_min_criteria,
    )
    key = portfolio.key_accounts(m, t["accounts"], t["reps"], criteria)
    assert key["account_id"].is_unique and set(key["account_id"]) <= set(seg["account_id"])
    assert (key["n_criteria"] >= k.ka_min_criteria).all()
    assert (key["criteria_met"].str.split(", ").str.len() == key["n_criteria"]).all()


# --------------------------------------------------------------------------------------------
# churn
# --------------------------------------------------------------------------------------------


@settings(max_examples=25)
@given(
    n=st.integers(1, 400),
    seed=st.integers(0, 2**16),
    p=params_strategy(churn_phase.Params, "risk_high_quantile", "risk_medium_quantile"),
)
def test_risk_bands_have_the_requested_sizes(n, seed, p) -> None:
    prob = pd.Series(np.random.default_rng(seed).random(n))
    band = churn.risk_bands(prob, high=p.risk_high_quantile, medium=p.risk_medium_quantile)
    assert len(band) == n and set(band) <= {"high", "medium", "low"}
    high = (band == "high").sum()
    # continuous probabilities: the share above the quantile, up to the one boundary customer
    assert abs(high - n * (1 - p.risk_high_quantile)) <= 1 + 1e-9
    at_least_medium = (band != "low").sum()
    assert abs(at_least_medium - n * (1 - p.risk_medium_quantile)) <= 1 + 1e-9


@pytest.fixture(scope="module")
def churn_customers(small_intake):
    t = small_intake.tables
    return churn.build_customer_table(
        t["contracts"], t["accounts"], small_intake.as_of, products=t["products"]
    )


@settings(max_examples=8)
@given(p=params_strategy(churn_phase.Params, "window_months"))
def test_retention_rates_are_shares_and_counts_conserve(small_intake, churn_customers, p) -> None:
    t = small_intake.tables
    rates = churn.retention_summary(
        t["contracts"], churn_customers, small_intake.as_of, p.window_months
    )
    total = rates[rates["dimension"] == "total"].iloc[0]
    assert 0 <= total["logo_churn"] <= 1
    assert total["customers_lost"] <= total["customers_start"]
    for dim, g in rates.groupby("dimension"):
        if dim in ("channel", "first_term"):
            assert g["customers_start"].sum() == total["customers_start"], dim


@settings(max_examples=10)
@given(
    p=params_strategy(
        churn_phase.Params,
        "sbg_period_months",
        "sbg_projection_periods",
        "discount_rate",
        "km_min_customers",
    )
)
def test_survival_and_projection_are_monotone(churn_customers, p) -> None:
    km = churn.km_curves(churn_customers, by="channel", min_customers=p.km_min_customers)
    for _, g in km.groupby("group"):
        s = g.sort_values("time")["survival"].to_numpy()
        assert ((s >= 0) & (s <= 1)).all() and (np.diff(s) <= 1e-12).all()
    periods = churn.sbg_periods_from_customers(churn_customers, p.sbg_period_months)
    sbg = churn.fit_sbg(periods["period"], periods["churned"])
    proj = churn.sbg_projection(sbg, p.sbg_projection_periods, p.discount_rate, 100.0)
    s = proj["survival"].to_numpy()
    assert ((s >= 0) & (s <= 1)).all() and (np.diff(s) <= 1e-12).all()
    assert (proj["remaining_value"] >= 0).all()


# --------------------------------------------------------------------------------------------
# channels
# --------------------------------------------------------------------------------------------


@settings(max_examples=8)
@given(
    p=params_strategy(
        channels_phase.Params,
        "window_days",
        "service_cost_share",
        "white_space_weight",
        "field_uplift",
        "tele_uplift",
        "field_min_complexity",
        "online_max_complexity",
        "preference_tolerance",
        "n_waves",
    )
)
def test_channel_mix_gives_every_account_one_channel(small_intake, portfolio_inputs, p) -> None:
    t, as_of, pot = portfolio_inputs
    rules = channels.AssignmentRules(
        white_space_weight=p.white_space_weight,
        field_uplift=p.field_uplift,
        tele_uplift=p.tele_uplift,
        field_min_complexity=p.field_min_complexity,
        online_max_complexity=p.online_max_complexity,
        preference_tolerance=p.preference_tolerance,
    )
    mix = channels.analyse_channel_mix(
        t["accounts"],
        t["reps"],
        t["products"],
        t["contracts"],
        t["activities"],
        t["channel_rates"],
        as_of,
        potential=pot,
        settings=channels.ChannelMixSettings(
            window_days=p.window_days,
            service_cost_share=p.service_cost_share,
            rules=rules,
            n_waves=p.n_waves,
        ),
    )
    ac = mix.account_channel
    assert ac["account_id"].is_unique
    assert set(ac["proposed_channel"].dropna()) <= {"field", "tele", "online"}
    assert int(mix.matrix.to_numpy().sum()) == len(ac)
    waves = ac["migration_wave"].dropna()
    assert waves.between(1, p.n_waves).all()


# --------------------------------------------------------------------------------------------
# funnel
# --------------------------------------------------------------------------------------------


@settings(max_examples=8)
@given(
    p=params_strategy(
        funnel_phase.Params,
        "target_growth",
        "stuck_quantile",
        "coverage_horizon_days",
        "stuck_min_days",
    )
)
def test_funnel_counts_conserve_and_rates_are_shares(small_intake, p) -> None:
    t = small_intake.tables
    fa = funnel.analyse_funnels(
        t["opportunities"],
        t["opportunity_stages"],
        t["reps"],
        small_intake.as_of,
        target_growth=p.target_growth,
        stuck_quantile=p.stuck_quantile,
        stuck_min_days=p.stuck_min_days,
        coverage_horizon_days=p.coverage_horizon_days,
    )
    r = fa.rates
    assert (r["won"] + r["lost"] + r["open"] == r["deals"]).all()
    assert r["win_rate"].dropna().between(0, 1).all()
    assert fa.stages["conversion"].dropna().between(0, 1 + 1e-9).all()
    if len(fa.stuck):
        assert (fa.stuck["threshold_days"] >= p.stuck_min_days - 1e-9).all()


# --------------------------------------------------------------------------------------------
# territory
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def territory_inputs(small_intake, potential_inputs):
    from salesanalytics.analyses import territory as tm

    accounts, revenue = potential_inputs
    pot = pt.estimate_potential(accounts, revenue).accounts
    t = small_intake.tables
    return tm.prepare_inputs(t["accounts"], pot, t["activities"], t["reps"])


@settings(max_examples=5)
@given(
    p=params_strategy(
        territory_phase.Params,
        "n_territories",
        "tolerance",
        "continuity_weight",
        "fte_scaled",
        soft_max={"n_territories": 60, "continuity_weight": 10},
    ),
)
def test_territory_plan_assigns_every_field_account_once(territory_inputs, p) -> None:
    from salesanalytics.analyses import territory as tm

    plan = tm.run_scenario(
        territory_inputs,
        p.n_territories or None,
        tolerance=p.tolerance,
        continuity_weight=p.continuity_weight,
        fte_scaled=p.fte_scaled,
        settings=tm.solver_settings(tm.SCENARIO_SETTINGS, max_passes=2, exchange_rounds=1),
    )
    n = p.n_territories or len(territory_inputs.field_reps)
    assert plan.quality["n_territories"] == n
    a = plan.assignment
    assert a["account_id"].is_unique
    assert set(territory_inputs.accounts["account_id"]) <= set(a["account_id"])
    # potential is conserved: the territories hold exactly their accounts' potential
    acc = a.merge(territory_inputs.accounts[["account_id", "potential_mrr"]], on="account_id")
    in_territory = acc[acc["territory_id"].notna()]
    assert plan.territories["potential_mrr"].sum() == pytest.approx(
        in_territory["potential_mrr"].sum(), rel=1e-9
    )


# --------------------------------------------------------------------------------------------
# compensation
# --------------------------------------------------------------------------------------------


@settings(max_examples=5)
@given(
    p=params_strategy(
        compensation_phase.Params,
        "period_months",
        "new_product_months",
        "multi_year_months",
        "threshold",
        "excellence",
    )
)
def test_plan_evaluation_pays_everyone_once_and_orders_the_levels(small_intake, p) -> None:
    from salesanalytics.analyses import compensation as comp

    t = small_intake.tables
    ev = comp.evaluate_plans(
        comp.load_plan("current"),
        comp.load_plan("proposed"),
        t["accounts"],
        t["reps"],
        t["contracts"],
        t["opportunities"],
        t["products"],
        t["activities"],
        small_intake.as_of,
        settings=comp.EvaluationSettings(
            period_months=p.period_months,
            new_product_months=p.new_product_months,
            multi_year_months=p.multi_year_months,
            threshold=p.threshold,
            excellence=p.excellence,
        ),
    )
    c = ev.comparison.set_index("plan")
    # threshold <= 1 (target) < excellence: the shares reaching them are ordered
    assert (c["share_threshold"] >= c["share_target"]).all()
    assert (c["share_target"] >= c["share_excellence"]).all()
    for res in (ev.current, ev.proposed):
        tot = res.totals
        assert tot["rep_id"].is_unique and set(tot["rep_id"]) == set(ev.reps["rep_id"])
        assert (tot["incentive"] >= -1e-9).all()
    lines = ev.proposed.statement_lines
    paid = lines[lines["kind"] != "total"].groupby("rep_id")["amount"].sum()
    inc = ev.proposed.totals.set_index("rep_id")["incentive"]
    np.testing.assert_allclose(paid.reindex(inc.index, fill_value=0.0), inc, atol=0.01)


@settings(max_examples=6)
@given(
    p=params_strategy(
        compensation_phase.Params, "n_scenarios", "seed", soft_max={"n_scenarios": 1500}
    )
)
def test_simulated_cost_percentiles_are_ordered(p) -> None:
    from salesanalytics.analyses import compensation as comp

    rng = np.random.default_rng(0)
    hist = pd.DataFrame(
        {
            "rep_id": np.repeat([f"r{i}" for i in range(40)], 2),
            "measure": np.tile(["new_arr", "net_revenue_retention"], 40),
            "attainment": np.exp(rng.normal(0, 0.3, 80)),
        }
    )
    plan = comp.plan_from_dict(
        {
            "name": "p",
            "roles": {
                "field": {
                    "base_salary": 0,
                    "target_incentive": 1000,
                    "cap": 2.0,
                    "measures": [
                        {"id": "new_arr", "weight": 0.5, "quota": 100},
                        {"id": "net_revenue_retention", "weight": 0.5, "quota": 1.0},
                    ],
                }
            },
        }
    )
    reps = pd.DataFrame({"rep_id": [f"r{i}" for i in range(10)], "role": "field"})
    res = comp.simulate(plan, reps, comp.calibrate(hist), n_scenarios=p.n_scenarios, seed=p.seed)
    s = comp.simulation_summary(res).set_index("statistic")["value"]
    assert res.pay.shape == (p.n_scenarios, 10)
    assert 0 <= s["cost_p10"] <= s["cost_p50"] <= s["cost_p90"] <= 10 * 2000 + 1e-6
    assert 0 <= s["gini_p50"] <= 1


# --------------------------------------------------------------------------------------------
# controlling
# --------------------------------------------------------------------------------------------


@settings(max_examples=4)
@given(p=params_strategy(controlling_phase.Params, "trend_months"))
def test_cockpit_trend_shows_the_requested_months(small_intake, p) -> None:
    from salesanalytics.analyses.controlling import model as kpi

    t = small_intake.tables
    ctl = kpi.build_controlling(
        t["accounts"],
        t["reps"],
        t["contracts"],
        t["opportunities"],
        t["activities"],
        small_intake.as_of,
        settings=kpi.ControllingSettings(trend_months=p.trend_months),
    )
    assert ctl.trend["month"].nunique() == p.trend_months
    assert set(ctl.actuals["status"].dropna()) <= {"green", "amber", "red", "grey"}
    rep_ids = set(ctl.cockpit_reps["rep_id"])
    assert rep_ids <= set(t["reps"]["rep_id"])
