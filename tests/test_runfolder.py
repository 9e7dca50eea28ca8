"""runfolder: a finished phase's tables read back from a run folder, cached while unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from salesanalytics.runfolder import read_phase_tables


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
