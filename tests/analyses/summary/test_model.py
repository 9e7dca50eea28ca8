"""Tests of salesanalytics.analyses.summary.model: headlines, key figures and links of a run."""

from __future__ import annotations

import json

import pandas as pd

from salesanalytics.analyses.summary.model import (
    blocks_html,
    building_blocks,
    key_figures,
    phase_status,
)


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
    st = phase_status(_run(tmp_path)).set_index("phase")
    assert st.loc["compensation", "href"] == "compensation.html"
    assert st.loc["compensation", "headlines"] == [
        "Pay <script>alert(1)</script> follows performance"
    ]
    assert st.loc["potential", "href"] == "" and not st.loc["potential", "available"]
    from_root = phase_status(_run(tmp_path / "x"), from_dir=".").set_index("phase")
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
    b = building_blocks(_run(tmp_path))
    page = blocks_html(b)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert '<a href="compensation.html">' in page
    assert "Not part of this run" in page  # e.g. controlling did not run
    comp = b.set_index("block").loc["Compensation"]
    assert comp["phases_run"] == ["compensation"]


def test_recommendations_are_worded_from_figures(tmp_path):
    from salesanalytics.analyses.summary.model import recommendations

    r = recommendations(_run(tmp_path))
    assert "lowers the cost of sales by 5.0 percentage points" in r["Compensation"]
    assert "shift capacity from Field; build up Tele" in r["Role profiles"]
    assert "Territory model" not in r  # its tables are missing


def test_one_page_answers_first_with_tiles_charts_recommendations_and_links(tmp_path):
    from salesanalytics.analyses.summary.model import one_page_html, plot_overview, tiles

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
    bottom = one_page_html(run, "bottom")
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
