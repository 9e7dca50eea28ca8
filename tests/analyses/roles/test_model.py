"""Tests of salesanalytics.analyses.roles.model: role catalogue, profiles, development paths and headcount."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from salesanalytics.analyses.compensation import load_plan, plan_overview
from salesanalytics.analyses.roles.model import (
    ROLES_FILE,
    development_paths,
    fte_today,
    headcount,
    headcount_text,
    load_roles,
    role_profiles,
    roles_from_dict,
)
from salesanalytics.ingest.schema import REP_ROLES


def _cat():
    return roles_from_dict(
        {
            "span_of_control": 4,
            "key_account_hours": 50,
            "roles": {
                "field": {
                    "name": "Field",
                    "channel": "field",
                    "capacity_hours": 1000,
                    "development": [{"to": "key_account", "requirement": "2 years"}],
                },
                "tele": {"name": "Tele", "channel": "tele", "capacity_hours": 1500},
                "online": {"name": "Online", "channel": "online", "capacity_hours": 1500},
                "key_account": {"name": "KAM", "channel": "field", "capacity_hours": 1000},
                "team_lead": {"name": "Lead", "channel": None},
            },
        }
    )


def test_builtin_catalogue_is_valid_against_kpi_catalogue():
    kpis = yaml.safe_load((ROLES_FILE.parent / "kpi_catalogue.yaml").read_text(encoding="utf-8"))
    ids = {k["id"] for k in kpis["kpis"]}
    cat = load_roles(kpi_ids=ids)
    assert set(cat.roles) == set(REP_ROLES)
    assert all(r.kpis for r in cat.roles.values())


def test_catalogue_problems_reported_at_once():
    raw = {
        "roles": {
            "field": {
                "name": "F",
                "channel": "car",
                "kpis": ["nps"],
                "development": [{"to": "astronaut"}, {"to": "field"}],
            },
            "boss": {"name": "B"},
        }
    }
    with pytest.raises(ValueError) as exc:
        roles_from_dict(raw, source="roles.yaml", kpi_ids={"arr"})
    msg = str(exc.value)
    assert msg.startswith("roles.yaml: invalid role catalogue (5 problem(s))")
    assert "roles.field.channel: 'car' is not a channel" in msg
    assert "unknown target role 'astronaut'" in msg
    assert "a role cannot develop into itself" in msg
    assert "unknown KPI id(s) nps" in msg
    assert "roles.boss: unknown role" in msg


def test_type_error_names_the_entry():
    with pytest.raises(ValueError, match=r"roles\.field\.capacity_hours"):
        roles_from_dict({"roles": {"field": {"name": "F", "capacity_hours": -5}}})


def test_profiles_show_pay_mix_from_plan_and_next_roles():
    pay = plan_overview(load_plan("proposed"))
    prof = role_profiles(_cat(), pay, kpi_names={"x": "y"}).set_index("role")
    assert prof.loc["field", "pay_mix"] == "80/20"
    assert prof.loc["field", "next_roles"] == "KAM"
    assert "New ARR 35%" in prof.loc["field", "plan_measures"]
    paths = development_paths(_cat())
    assert paths.to_dict("records") == [
        {"from_role": "Field", "to_role": "KAM", "requirement": "2 years"}
    ]


def test_fte_today_counts_active_fte_per_role():
    reps = pd.DataFrame(
        {
            "rep_id": list("abcd"),
            "role": ["field", "field", "tele", "field"],
            "fte": [1.0, 0.5, None, 1.0],
            "active": [True, True, True, False],
        }
    )
    t = fte_today(reps).set_index("role")
    assert t.loc["field", "fte_today"] == 1.5 and t.loc["field", "heads_today"] == 2
    assert t.loc["tele", "fte_today"] == 1.0
    assert t.loc["team_lead", "fte_today"] == 0.0


def test_headcount_known_answer():
    cs = pd.DataFrame(
        {
            "channel": ["field", "tele", "online"],
            "workload_hours": [6000.0, 3000.0, 1500.0],
            "fte_needed": [5.0, 2.0, 1.0],
        }
    )
    reps = pd.DataFrame({"rep_id": list("abcde"), "role": ["field"] * 4 + ["tele"]})
    hc = headcount(_cat(), cs, reps, n_key_accounts=24).set_index("role")
    # field capacity implied by the channel phase: 6000 / 5 = 1200 h; 24 x 50 h go to the KAMs
    assert hc.loc["field", "fte_needed"] == pytest.approx((6000 - 1200) / 1200)
    assert hc.loc["key_account", "fte_needed"] == pytest.approx(1200 / 1000)
    assert hc.loc["tele", "fte_needed"] == pytest.approx(2.0)
    # team leads: ceil((4 + 1.2 + 2 + 1) / 4) = 3
    assert hc.loc["team_lead", "fte_needed"] == 3.0
    assert hc.loc["field", "gap"] == pytest.approx(0.0)
    assert hc.loc["tele", "gap"] == pytest.approx(1.0)
    text = headcount_text(hc.reset_index())
    assert "needs 11.2 FTE in sales against 5.0 today" in text


def test_headcount_takes_the_field_need_from_the_territory_plan():
    """One set of numbers: the field headcount is the territory plan's (travel included)."""
    cs = pd.DataFrame(
        {
            "channel": ["field", "tele", "online"],
            "workload_hours": [6000.0, 3000.0, 1500.0],
            "fte_needed": [5.0, 2.0, 1.0],
        }
    )
    reps = pd.DataFrame({"rep_id": list("abcde"), "role": ["field"] * 4 + ["tele"]})
    fc = pd.DataFrame(
        {
            "workload_from_bases_hours": [9900.0],
            "capacity_hours_per_fte": [1320.0],
            "n_territories": [8],
        }
    )
    hc = headcount(_cat(), cs, reps, n_key_accounts=24, field_capacity=fc).set_index("role")
    assert hc.loc["field", "fte_needed"] == 8.0
    assert hc.loc["field", "workload_hours"] == 9900.0
    assert hc.loc["field", "gap"] == pytest.approx(4.0)
    assert hc.loc["key_account", "fte_needed"] == pytest.approx(1200 / 1000)  # unchanged
    # team leads follow: ceil((8 + 1.2 + 2 + 1) / 4) = 4
    assert hc.loc["team_lead", "fte_needed"] == 4.0
    with pytest.raises(KeyError, match=r"field_capacity.*n_territories"):
        headcount(_cat(), cs, reps, field_capacity=fc.drop(columns="n_territories"))


def test_headcount_missing_channel_is_named():
    cs = pd.DataFrame({"channel": ["field"], "workload_hours": [10.0]})
    with pytest.raises(KeyError, match="no row for channel\\(s\\) online, tele"):
        headcount(_cat(), cs, pd.DataFrame({"rep_id": [], "role": []}))


def test_headcount_uses_the_proposed_scenario():
    cs = pd.DataFrame(
        {
            "scenario": ["today"] * 3 + ["proposed"] * 3,
            "channel": ["field", "tele", "online"] * 2,
            "workload_hours": [9000.0, 1.0, 1.0, 3000.0, 1500.0, 1500.0],
        }
    )
    hc = headcount(
        _cat(), cs, pd.DataFrame({"rep_id": [], "role": []}), method="capacity"
    ).set_index("role")
    assert hc.loc["field", "fte_needed"] == pytest.approx(3.0)
    with pytest.raises(KeyError, match="no scenario 'future'; scenarios: proposed, today"):
        headcount(_cat(), cs, pd.DataFrame({"rep_id": [], "role": []}), scenario="future")


def test_headcount_relative_scales_todays_team_by_workload_change():
    cs = pd.DataFrame(
        {
            "scenario": ["today"] * 3 + ["proposed"] * 3,
            "channel": ["field", "tele", "online"] * 2,
            "workload_hours": [9000.0, 1000.0, 1000.0, 3000.0, 3000.0, 1000.0],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": list("abcdefg"),
            "role": ["field"] * 3 + ["tele", "online", "key_account", "team_lead"],
        }
    )
    hc = headcount(_cat(), cs, reps).set_index("role")  # auto -> relative
    assert hc.loc["field", "fte_needed"] == pytest.approx(1.0)  # 3 FTE x 3000 / 9000
    assert hc.loc["tele", "fte_needed"] == pytest.approx(3.0)
    assert hc.loc["online", "fte_needed"] == pytest.approx(1.0)
    assert hc.loc["key_account", "fte_needed"] == pytest.approx(1.0)  # no key-account list
    assert hc.loc["team_lead", "fte_needed"] == 2.0  # ceil(6 / 4)
    assert hc.loc["tele", "gap"] == pytest.approx(2.0)


def test_territory_fte_from_workload_and_capacity():
    from salesanalytics.analyses.roles.model import territory_fte

    t = pd.DataFrame(
        {
            "territory_id": ["T1", "T2", "T3", "T4"],
            "rep_id": ["a", "b", "k", "x"],
            "workload_hours": [1000.0, 1400.0, 500.0, 10.0],
            "travel_hours": [200.0, 100.0, 0.0, 0.0],
            "capacity_hours": [1200.0, 1000.0, 1000.0, 0.0],
        }
    )
    reps = pd.DataFrame({"rep_id": ["a", "b", "k"], "role": ["field", "field", "key_account"]})
    out = territory_fte(t, reps).set_index("role")
    # the workload includes travel already (travel_hours is a part of it, not added)
    assert out.loc["field", "fte_needed"] == pytest.approx(1000 / 1200 + 1400 / 1000)
    assert out.loc["key_account", "fte_needed"] == pytest.approx(0.5)
    assert out.attrs["no_capacity"] == 1


def test_headcount_reads_the_channel_phases_fte_as_they_are():
    # the channel phase owns the FTE per channel: with fte_needed given, "auto" does not rescale
    # today's team (one set of numbers between the channel mix and the role profiles)
    cs = pd.DataFrame(
        {
            "scenario": ["today"] * 3 + ["proposed"] * 3,
            "channel": ["field", "tele", "online"] * 2,
            "workload_hours": [9000.0, 1000.0, 1000.0, 3000.0, 4500.0, 1600.0],
            "fte_needed": [6.0, 0.5, 0.5, 2.0, 3.0, 1.0],
        }
    )
    reps = pd.DataFrame({"rep_id": list("abcdefg"), "role": ["field"] * 3 + ["tele"] * 4})
    hc = headcount(_cat(), cs, reps).set_index("role")
    assert hc.loc["tele", "fte_needed"] == pytest.approx(3.0)
    assert hc.loc["online", "fte_needed"] == pytest.approx(1.0)
    assert hc.loc["tele", "gap"] == pytest.approx(-1.0)
