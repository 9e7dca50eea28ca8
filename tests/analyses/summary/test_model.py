"""Tests of salesanalytics.analyses.summary.model: headlines, key figures and links of a run."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from salesanalytics.analyses.summary.model import (
    blocks_html,
    building_blocks,
    key_figures,
    phase_status,
)
from salesanalytics.engagement.phases import titles as phase_titles

TITLES = phase_titles()


def _run(tmp_path):
    run = tmp_path / "run"
    comp = run / "data" / "compensation"
    comp.mkdir(parents=True)
    (comp / "headlines.json").write_text(
        json.dumps(["Pay <script>alert(1)</script> follows performance"]), encoding="utf-8"
    )
    pd.DataFrame({"plan": ["current", "proposed"], "cost_of_sales": [0.2, 0.15]}).to_parquet(
        comp / "plan_comparison.parquet"
    )
    pd.DataFrame(
        {
            "scenario": ["proposed", "proposed"],
            "statistic": ["cost_p10", "cost_p90"],
            "value": [900_000.0, 1_100_000.0],
        }
    ).to_parquet(comp / "simulation_summary.parquet")
    roles = run / "data" / "roles"
    roles.mkdir(parents=True)
    pd.DataFrame(
        {
            "name": ["Field", "Tele"],
            "fte_needed": [3.0, 2.5],
            "fte_today": [4.0, 1.0],
            "gap": [-1.0, 1.5],
        }
    ).to_parquet(roles / "headcount.parquet")
    (run / "data" / "territory").mkdir(parents=True)  # ran, but its tables are missing
    return run


def test_phase_status_links_relative_to_client_folder(tmp_path):
    st = phase_status(_run(tmp_path), titles=TITLES).set_index("phase")
    assert st.loc["compensation", "href"] == "compensation.html"
    assert st.loc["compensation", "headlines"] == [
        "Pay <script>alert(1)</script> follows performance"
    ]
    assert st.loc["potential", "href"] == "" and not st.loc["potential", "available"]
    from_root = phase_status(_run(tmp_path / "x"), from_dir=".", titles=TITLES).set_index("phase")
    assert from_root.loc["roles", "href"] == "client/roles.html"


def test_key_figures_computed_from_tables_and_missing_counted(tmp_path):
    f = key_figures(_run(tmp_path))
    v = dict(zip(f["figure"], f["value"], strict=True))
    assert v["Cost of sales today"] == "20.0%"
    assert v["Cost of sales, proposed plan"] == "15.0%"
    assert v["Simulated incentive cost, proposed plan (P10-P90)"] == "CHF 900k – CHF 1.1 Mio."
    assert v["Sales FTE needed by role"] == "5.5" and v["FTE today"] == "5.0"
    assert any(m.startswith("territory:") for m in f.attrs["missing"])


def test_blocks_html_escapes_and_links(tmp_path):
    b = building_blocks(_run(tmp_path), titles=TITLES)
    page = blocks_html(b)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert '<a href="compensation.html">' in page
    assert "Not part of this run" in page  # e.g. controlling did not run
    comp = b.set_index("block").loc["Compensation"]
    assert comp["phases_run"] == ["compensation"]


def test_recommendations_are_worded_from_figures(tmp_path):
    from salesanalytics.analyses.summary.model import recommendations

    run = _run(tmp_path)
    r = recommendations(run)
    assert "lowers the cost of sales by 5.0 percentage points" in r["Compensation"]
    assert "shift capacity from Field; build up Tele" in r["Role profiles"]
    assert "Territory model" not in r  # its tables are missing
    # every role above its need: nothing to shift capacity to, the freed capacity is named
    pd.DataFrame(
        {
            "name": ["Field", "Tele"],
            "fte_needed": [3.0, 0.5],
            "fte_today": [4.0, 1.0],
            "gap": [-1.0, -0.5],
        }
    ).to_parquet(run / "data" / "roles" / "headcount.parquet")
    text = recommendations(run)["Role profiles"]
    assert "shift capacity" not in text
    assert text.startswith("The new channel mix needs 3.5 sales FTE for its workload against 5.0")


def test_one_page_answers_first_with_tiles_charts_recommendations_and_links(tmp_path):
    from salesanalytics.analyses.summary.model import one_page_html, tiles
    from salesanalytics.analyses.summary.plots import plot_overview

    run = _run(tmp_path)
    pot = run / "data" / "potential"
    pot.mkdir(parents=True)
    pd.DataFrame({"potential_mrr": [100.0, 300.0], "current_mrr": [50.0, 50.0]}).to_parquet(
        pot / "account_potential.parquet"
    )
    pd.DataFrame({"account_id": ["a", "b", "c"]}).to_parquet(pot / "key_accounts.parquet")
    t = tiles(run)
    assert ("CHF 3'600", "yearly revenue not yet won (25% of the potential is won today)") in t
    assert ("3", "key accounts with their own manager") in t
    assert ("15.0%", "cost of sales with the new pay plan (today 20.0%)") in t
    assert 3 <= len(t) <= 5
    top = one_page_html(run, "top")
    assert top.startswith('<div class="sa-answer">The new sales model rests on 3 key accounts')
    assert "cost of sales of 15.0% (today 20.0%)" in top and top.count('class="sa-tile"') == len(t)
    bottom = one_page_html(run, "bottom", TITLES)
    assert "<h2>What we recommend</h2>" in bottom and "pilot year" in bottom
    assert '<a href="compensation.html">' in bottom
    assert "&lt;script&gt;" not in bottom and "<script>" not in bottom  # no headline bullets
    fig = plot_overview(run)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["Headcount: FTE per role", "Pay: cost of sales"]
    assert plot_overview(tmp_path / "empty") is None


def test_channel_tile_reads_the_contribution_of_the_channel_phases_migration_waves(tmp_path):
    from salesanalytics.analyses.summary.model import tiles

    d = tmp_path / "data" / "channels"
    d.mkdir(parents=True)
    pd.DataFrame(
        {"account_id": ["a", "b", "c"], "current_channel": ["field", "tele", "online"],
         "proposed_channel": ["tele", "tele", "field"]}
    ).to_parquet(d / "account_channel.parquet")  # fmt: skip
    pd.DataFrame(
        {
            "scenario": ["today", "proposed"],
            "channel": ["field", "field"],
            "contribution": [5.0, 5.0],
        }
    ).to_parquet(d / "channel_summary.parquet")
    pd.DataFrame({"migration_wave": [1, 2], "yearly_effect": [2_000_000.0, 500_000.0]}).to_parquet(
        d / "migration_waves.parquet"
    )
    value, label = next(t for t in tiles(tmp_path) if "another channel" in t[1])
    assert value == "+CHF 2.5 Mio." and "2 accounts" in label


def test_summary_is_handed_phase_titles(tmp_path):
    st = phase_status(_run(tmp_path), titles={"compensation": "Pay plan"}).set_index("phase")
    assert st.loc["compensation", "title"] == "Pay plan"
    assert st.loc["roles", "title"] == "roles"  # no title handed in: the phase's name
    from salesanalytics.analyses.summary.model import one_page_html

    with pytest.raises(ValueError, match=r"needs their titles: pass titles="):
        one_page_html(_run(tmp_path / "y"), "bottom")


def test_channel_panel_shows_hours_which_add_up_not_accounts_served_by_several_channels(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from salesanalytics.analyses.summary.plots import plot_overview

    d = tmp_path / "data" / "channels"
    d.mkdir(parents=True)
    pd.DataFrame(
        {
            "scenario": ["today"] * 3 + ["proposed"] * 3,
            "channel": ["field", "tele", "online"] * 2,
            # proposed: 3 accounts, each with work in two channels
            "accounts": [2, 1, 0, 3, 2, 1],
            "workload_hours": [100.0, 20.0, 0.0, 40.0, 50.0, 30.0],
        }
    ).to_parquet(d / "channel_summary.parquet")
    fig = plot_overview(tmp_path)
    ax = next(a for a in fig.axes if a.get_title().startswith("Channel mix"))
    assert ax.get_title() == "Channel mix: workload per channel (h per year)"
    heights = sorted(round(p.get_height()) for p in ax.patches)
    assert heights == [0, 20, 30, 40, 50, 100]
