"""Workspace: phase notebooks read upstream outputs and write their own, atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesanalytics.engagement.workspace import (
    ENGINE_FILE,
    HEADLINES_FILE,
    TRUTH_DIR,
    WARNINGS_FILE,
    Workspace,
    engine_settings,
    place_truth,
    write_engine_settings,
)


def test_round_trip_between_phases(tmp_path: Path) -> None:
    up = Workspace(tmp_path, "intake")
    df = pd.DataFrame({"account_id": ["001", "002"], "mrr": [10.0, 20.5]})
    up.write("accounts", df)
    up.write_json("as_of", {"as_of": "2026-06-30"})
    down = Workspace(tmp_path, "potential", tmp_path / "staging")
    pd.testing.assert_frame_equal(down.read("intake", "accounts"), df)
    assert down.read_json("intake", "as_of") == {"as_of": "2026-06-30"}
    assert down.has("intake", "accounts") and not down.has("intake", "reps")
    down.write("account_potential", df)
    assert (tmp_path / "staging" / "account_potential.parquet").exists()
    assert not (tmp_path / "data" / "potential").exists()
    assert not list((tmp_path / "staging").glob("*.tmp"))


def test_missing_upstream_output_says_which_phase_to_run(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, "territory")
    with pytest.raises(FileNotFoundError, match="phase 'potential' is missing.*--phase potential"):
        ws.read("potential", "account_potential")
    with pytest.raises(FileNotFoundError, match="'truth.json' of phase 'intake' is missing"):
        ws.read_json("intake", "truth")


def test_planted_truths_live_in_the_analyst_folder_not_in_the_data_folder(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "Account.csv").write_text("Id\n1\n", encoding="utf-8")
    (export / "truth.json").write_text('{"as_of": "2026-06-30"}', encoding="utf-8")
    pd.DataFrame({"account_id": ["001"], "potential_mrr": [12.5]}).to_parquet(
        export / "truth_accounts.parquet"
    )
    run = tmp_path / "run"
    assert place_truth(export, run) == ["truth.json", "truth_accounts.parquet"]
    assert sorted(p.name for p in (run / TRUTH_DIR).iterdir()) == [
        "truth.json",
        "truth_accounts.parquet",
    ]
    assert TRUTH_DIR.startswith("analyst/") and not (run / "data").exists()
    ws = Workspace(run, "potential", tmp_path / "staging")
    assert ws.truth("truth") == {"as_of": "2026-06-30"}
    assert ws.truth("truth_accounts")["potential_mrr"].tolist() == [12.5]
    # a client's export has no planted truths: nothing is placed, the demo checks get None
    client = tmp_path / "client"
    client.mkdir()
    assert place_truth(export.parent / "client", tmp_path / "run2") == []
    assert not (tmp_path / "run2").exists()
    assert Workspace(tmp_path / "run2", "potential", tmp_path / "s2").truth("truth") is None


def test_headlines_accumulate_without_duplicates(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, "churn")
    ws.headline("Logo churn fell to 11%.")
    ws.headline("Logo churn fell to 11%.")
    ws.headline("Month-to-month contracts churn twice as often.")
    assert ws.read_json("churn", HEADLINES_FILE.removesuffix(".json")) == [
        "Logo churn fell to 11%.",
        "Month-to-month contracts churn twice as often.",
    ]


def test_warnings_accumulate_without_duplicates(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, "territory")
    ws.warning("2 of 28 territories miss ±5%.")
    ws.warning("2 of 28 territories miss ±5%.")
    assert ws.read_json("territory", WARNINGS_FILE.removesuffix(".json")) == [
        "2 of 28 territories miss ±5%."
    ]


def test_aggregator_runs_on_the_engine_the_run_names(small_intake_dir: Path) -> None:
    """The runner writes the project's engine to engine.json; the workspace opens that engine on
    the intake's tables, with the intake's reference date (DuckDB when the run names none)."""
    import json

    run = small_intake_dir.parent.parent
    assert engine_settings(run).engine == "duckdb"  # no engine.json: DuckDB
    write_engine_settings(run, {"engine": "spark", "master": "spark://head:7077"})
    assert json.loads((run / ENGINE_FILE).read_text())["master"] == "spark://head:7077"
    assert engine_settings(run).engine == "spark"
    write_engine_settings(run, {})
    ws = Workspace(run, "controlling", run / "out")
    agg = ws.aggregator()
    as_of = json.loads((small_intake_dir / "as_of.json").read_text())["as_of"]
    assert agg.settings.engine == "duckdb" and agg.as_of == as_of
    assert agg.frame("account_mrr")["mrr"].gt(0).all()
