"""Workspace: phase notebooks read upstream outputs and write their own, atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesanalytics.workspace import HEADLINES_FILE, Workspace


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


def test_headlines_accumulate_without_duplicates(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, "churn")
    ws.headline("Logo churn fell to 11%.")
    ws.headline("Logo churn fell to 11%.")
    ws.headline("Month-to-month contracts churn twice as often.")
    assert ws.read_json("churn", HEADLINES_FILE.removesuffix(".json")) == [
        "Logo churn fell to 11%.",
        "Month-to-month contracts churn twice as often.",
    ]
