"""Tests of salesanalytics.engagement.pipeline.compare: two runs' outputs and report texts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesanalytics import cli
from salesanalytics.engagement.pipeline.compare import (
    compare_frames,
    compare_runs,
    format_differences,
    run_stamps,
    visible_text,
)
from salesanalytics.errors import UserError

PAGE = """<html><head><title>Churn</title><style>.x{{color:red}}</style>
<script>var secret = "not shown";</script></head><body>
<h1>Churn: who the client keeps</h1><p>Churn rate {rate}</p>
<table><tr><th>Segment</th><th>Rate</th></tr><tr><td>SME</td><td>{rate}</td></tr></table>
<img src="data:image/png;base64,AAAA" alt="Churn by segment">
<footer class="sa-footer">Client · {day} · run {run_id}</footer></body></html>"""


def _run(tmp: Path, name: str, run_id: str, started: str, rate: str = "4.2%") -> Path:
    run = tmp / name
    (run / "data" / "churn").mkdir(parents=True)
    (run / "client").mkdir()
    (run / "manifest.json").write_text(json.dumps({"run_id": run_id, "started": started}))
    pd.DataFrame(
        {
            "segment": pd.array(["SME", "Enterprise"], dtype="string"),
            "rate": [0.042, np.nan],
            "flags": [[1, 2], [3]],
        }
    ).to_parquet(run / "data" / "churn" / "rates.parquet")
    day = started[8:10] + "." + started[5:7] + "." + started[:4]
    (run / "client" / "churn.html").write_text(
        PAGE.format(rate=rate, day=day, run_id=run_id), encoding="utf-8"
    )
    return run


def test_visible_text_leaves_out_scripts_and_styles_and_keeps_alt_text():
    lines = visible_text(PAGE.format(rate="4.2%", day="07.12.2026", run_id="r1"))
    text = "\n".join(lines)
    assert "secret" not in text and "color:red" not in text
    assert "Churn: who the client keeps" in lines
    assert "SME | 4.2% |" in lines
    assert "[image: Churn by segment]" in text


def test_runs_differing_only_in_run_id_and_date_agree(tmp_path):
    a = _run(tmp_path, "a", "20261207-132304", "2026-12-07T13:23:04+00:00")
    b = _run(tmp_path, "b", "20261208-090000", "2026-12-08T09:00:00+00:00")
    assert run_stamps(a)["20261207-132304"] == "<run id>"
    assert run_stamps(a)["07.12.2026"] == "<run date>"
    assert compare_runs(a, b) == []
    assert cli.main(["compare", str(a), str(b)]) == 0


def test_changed_cell_and_report_text_are_listed(tmp_path, capsys):
    a = _run(tmp_path, "a", "r1", "2026-12-07T13:23:04+00:00")
    b = _run(tmp_path, "b", "r2", "2026-12-07T14:00:00+00:00", rate="5.0%")
    df = pd.read_parquet(b / "data" / "churn" / "rates.parquet")
    df.loc[1, "rate"] = 0.1
    df.to_parquet(b / "data" / "churn" / "rates.parquet")
    (b / "data" / "churn" / "extra.parquet").write_bytes(
        (b / "data" / "churn" / "rates.parquet").read_bytes()
    )
    diffs = compare_runs(a, b)
    by_what = {(d.path, d.what): d.detail for d in diffs}
    assert by_what[("data/churn/rates.parquet", "values")] == (
        "column rate: 1 rows differ: row 1: nan vs 0.1"
    )
    assert by_what[("data/churn/extra.parquet", "only in B")] == "table missing in A"
    text = by_what[("client/churn.html", "text")]
    assert "-Churn rate 4.2%" in text and "+Churn rate 5.0%" in text
    assert "Client ·" not in text  # the footer differs only in run id and date: masked
    assert cli.main(["compare", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("3 difference(s) in 3 file(s):")
    assert "- data/churn/rates.parquet [values]: column rate: 1 rows differ" in out


def test_compare_frames_columns_dtypes_rows_exactly():
    a = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    assert compare_frames(a, a.copy()) == []
    tiny = a.assign(x=[1.0, 2.0 + 1e-12])
    assert [d.what for d in compare_frames(a, tiny)] == ["values"]  # exact, no tolerance
    assert [d.what for d in compare_frames(a, a[["y", "x"]])] == ["columns"]
    assert [d.what for d in compare_frames(a, a.astype({"x": "float32"}), "t")] == ["dtypes"]
    rows = compare_frames(a, a.iloc[:1], "t")
    assert rows[-1].detail == "2 rows in A, 1 in B"


def test_not_a_run_folder_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match=r"run B: .* is not a run folder \(no data/ or client/"):
        compare_runs(_run(tmp_path, "a", "r1", "2026-12-07T13:23:04"), tmp_path / "nothing")
    assert format_differences([]) == "no differences"
