"""Workspace: phase notebooks read upstream outputs and write their own, atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from salesanalytics.engagement.workspace import (
    HEADLINES_FILE,
    TRUTH_DIR,
    WARNINGS_FILE,
    Workspace,
    place_truth,
    read_phase_tables,
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


def test_read_phase_tables_reads_once_until_a_file_changes(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "controlling"
    folder.mkdir(parents=True)
    pd.DataFrame({"a": [1, 2]}).to_parquet(folder / "one.parquet")
    pd.DataFrame({"b": ["x"]}).to_parquet(folder / "two.parquet")
    first = read_phase_tables(tmp_path, "controlling", ["two", "one"])
    assert list(first[0].columns) == ["b"] and first[1]["a"].tolist() == [1, 2]
    assert read_phase_tables(tmp_path, "controlling", ["two", "one"])[1] is first[1]  # cached
    pd.DataFrame({"a": [3]}).to_parquet(folder / "one.parquet")
    st = (folder / "one.parquet").stat()
    os.utime(folder / "one.parquet", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert read_phase_tables(tmp_path, "controlling", ["two", "one"])[1]["a"].tolist() == [3]
    with pytest.raises(
        FileNotFoundError,
        match=r"lacks three.parquet, four.parquet: run the controlling phase first "
        r"\(`salesanalytics run --phase controlling`\)",
    ):
        read_phase_tables(tmp_path, "controlling", ["one", "three", "four"])
