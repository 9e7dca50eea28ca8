"""Streamed intake: the large tables read in batches give the whole-table intake's report and tables."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from salesanalytics.engagement import intake as run_intake
from salesanalytics.engagement.workspace import Workspace
from salesanalytics.ingest import intake
from salesanalytics.ingest import io as sio
from salesanalytics.ingest.stream import STREAMED_TABLES, merge_remappings

REPORT_FRAMES = (
    "problems",
    "files",
    "row_counts",
    "completeness",
    "remappings",
    "fills",
    "excluded",
)


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _set(path: Path, row: int, column: str, value: str) -> None:
    rows = _rows(path)
    rows[row - 1][rows[0].index(column)] = value
    _write(path, rows)


def assert_same_intake(whole: intake.IntakeResult, streamed: intake.IntakeResult) -> None:
    """Every report frame, every table and the quarantine equal, cell by cell."""
    for what in REPORT_FRAMES:
        a, b = getattr(whole.report, what), getattr(streamed.report, what)
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, obj=what
        )
    assert set(streamed.stored) <= set(STREAMED_TABLES)
    assert not set(streamed.stored) & set(streamed.tables)
    for t, df in whole.tables.items():
        pd.testing.assert_frame_equal(df, streamed.table(t), obj=t)
    pd.testing.assert_frame_equal(
        whole.quarantined.reset_index(drop=True),
        streamed.quarantined.reset_index(drop=True),
        check_dtype=False,
    )
    assert whole.as_of == streamed.as_of
    assert [d.table for d in whole.derivations] == [d.table for d in streamed.derivations]


def _dirty_sf(folder: Path) -> Path:
    """The small export with problems in the streamed files, some across batches of one row."""
    _set(folder / "Task.csv", 2, "OwnerId", "005NOBODY")  # orphan
    _set(folder / "Task.csv", 3, "ActivityDate", "gestern")  # not a date
    _set(folder / "Task.csv", 4, "Id", "00TT1")  # duplicate of row 2, in another batch
    _set(folder / "Event.csv", 3, "DurationInMinutes", "-45")  # negative
    _set(folder / "OpportunityHistory.csv", 4, "CreatedDate", "2024-10-01")  # before created
    _set(folder / "OpportunityHistory.csv", 5, "StageName", "Verhandlung")  # unknown stage
    rows = _rows(folder / "OpportunityHistory.csv")
    # an unknown stage again (other case, later batch) and a stage after the final one
    rows.append(["008H5", "006O4", "verhandlung", "2024-12-01T09:30:00.000Z", "1788", ""])
    rows.append(["008H6", "006O1", "Proposal", "2024-02-10T09:30:00.000Z", "1788", ""])
    _write(folder / "OpportunityHistory.csv", rows)
    with open(folder / "Task.csv", "a", encoding="utf-8") as fh:
        fh.write("00TT9,005R1\n")  # malformed
    return folder


@pytest.mark.parametrize("quarantine", [False, True])
def test_streamed_small_export_equals_whole(
    sf_export: Path, tmp_path: Path, quarantine: bool
) -> None:
    src = _dirty_sf(sf_export)
    whole = intake.load_export(src, quarantine=quarantine, raise_on_error=False)
    store = tmp_path / "store"
    streamed = intake.load_export(
        src, quarantine=quarantine, raise_on_error=False, store=store, batch_rows=2
    )
    assert set(streamed.stored) == {"activities", "opportunity_stages"}
    checks = set(whole.report.problems["check"])
    assert {"orphan_reference", "not_a_date", "duplicate_id", "negative_value"} <= checks
    assert {"date_order", "unknown_value", "stage_order", "malformed_row"} <= checks
    assert_same_intake(whole, streamed)
    dup = streamed.report.problems.query("check == 'duplicate_id'")
    assert list(dup["message"]) == [
        "duplicate id in activities.activity_id (first seen in Task.csv row 2)"
    ]
    assert list(dup["row"]) == [4]
    unknown = streamed.report.problems.query("check == 'unknown_value'")
    assert unknown["message"].str.contains(r"\(2 rows; the first is shown\)").all()
    assert list(unknown["row"]) == [5]


def test_write_intake_places_the_streamed_tables(sf_export: Path, tmp_path: Path) -> None:
    store = tmp_path / "run" / "data" / "intake"
    res = intake.load_export(sf_export, store=store, batch_rows=2)
    run_intake.write_intake(res, store)
    assert sorted(p.name for p in store.iterdir() if p.name.startswith(".")) == []
    whole = intake.load_export(sf_export)
    ws = Workspace(tmp_path / "run", "territory")
    for t in STREAMED_TABLES:
        assert pq.ParquetFile(store / f"{t}.parquet").metadata.num_row_groups >= 2
        pd.testing.assert_frame_equal(ws.read("intake", t), whole.tables[t])
    cov_whole = run_intake.export_coverage(whole).to_json()
    assert run_intake.export_coverage(res).to_json() == cov_whole


def test_a_failed_streamed_intake_leaves_no_table_behind(sf_export: Path, tmp_path: Path) -> None:
    _set(sf_export / "Task.csv", 2, "OwnerId", "005NOBODY")
    store = tmp_path / "store"
    with pytest.raises(intake.IntakeError, match="tasks|refers to a reps id"):
        intake.load_export(sf_export, store=store, batch_rows=1)
    assert list(store.iterdir()) == []


def test_streamed_demo_export_with_planted_dirt_equals_whole(
    demo_export: Path, tmp_path: Path
) -> None:
    """The end-to-end check on the 1,500-account demo: thousands of rows in batches of 997."""
    src = tmp_path / "export"
    shutil.copytree(demo_export, src)
    rows = _rows(src / "Task.csv")
    head = rows[0]
    rows[1500][head.index("Id")] = rows[10][head.index("Id")]  # a duplicate two batches later
    rows[2100][head.index("AccountId")] = "001NOPE"
    rows[2101][head.index("ActivityDate")] = "2999-01-01"
    _write(src / "Task.csv", rows)
    whole = intake.load_export(src, quarantine=True)
    streamed = intake.load_export(src, quarantine=True, store=tmp_path / "s", batch_rows=997)
    assert len(streamed.quarantined) == len(whole.quarantined) >= 3
    assert_same_intake(whole, streamed)


def test_iter_file_rows_match_the_whole_file_reader(tmp_path: Path) -> None:
    lines = ["sep=;", "Id;Name"] + [f"{i};Name {i}" for i in range(1, 40)]
    lines[12] = "11;broken;extra"  # a malformed row
    lines[30] = 'x;"two\nlines"'
    p = tmp_path / "t.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [whole] = sio.read_file(p)
    sf = sio.iter_file(p, batch_rows=4)
    batches = list(sf)
    data = pd.concat([b.data for b in batches], ignore_index=True)
    rows = [r for b in batches for r in b.rows]
    pd.testing.assert_frame_equal(data, whole.data)
    assert rows == list(whole.rows)
    assert sf.bad_rows == whole.bad_rows
    assert sf.rows == len(whole.data) + len(whole.bad_rows)


def test_iter_file_finds_a_windows_byte_beyond_the_first_megabyte(tmp_path: Path) -> None:
    body = "".join(f"{i};Firma {i}\n" for i in range(120_000))  # > 1 MB of plain text
    p = tmp_path / "a.csv"
    p.write_bytes(("Id;Name\n" + body + "999999;Bäckerei\n").encode("cp1252"))
    [whole] = sio.read_file(p)
    sf = sio.iter_file(p, batch_rows=50_000)
    data = pd.concat([b.data for b in sf], ignore_index=True)
    assert sf.encoding == whole.encoding == "cp1252"
    assert data["Name"].iloc[-1] == "Bäckerei"
    pd.testing.assert_frame_equal(data, whole.data)


def test_iter_file_parquet_batches_number_rows_from_one(tmp_path: Path) -> None:
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"Id": [1, 2, 3, 4, 5], "When": pd.to_datetime(["2024-01-02"] * 5)}), p)
    batches = list(sio.iter_file(p, batch_rows=2))
    assert [list(b.rows) for b in batches] == [[1, 2], [3, 4], [5]]
    [whole] = sio.read_file(p)
    pd.testing.assert_frame_equal(
        pd.concat([b.data for b in batches], ignore_index=True), whole.data
    )
    with pytest.raises(ValueError, match=r"only CSV and Parquet files are read in batches"):
        sio.iter_file(tmp_path / "book.xlsx")


def test_remappings_of_batches_are_counted_once_in_first_seen_order() -> None:
    cols = ["file", "table", "column", "field", "from_value", "to_value", "count"]
    b1 = pd.DataFrame([["T.csv", "activities", "Sub", "type", "Call", "call", 2]], columns=cols)
    b2 = pd.DataFrame(
        [
            ["T.csv", "activities", "Ch", "channel", "Tele", "tele", 1],
            ["T.csv", "activities", "Sub", "type", "Email", "email", 1],
            ["T.csv", "activities", "Sub", "type", "Call", "call", 3],
        ],
        columns=cols,
    )
    out = merge_remappings([b1, b2])
    assert out[["from_value", "count"]].values.tolist() == [["Call", 5], ["Email", 1], ["Tele", 1]]


def test_hash_lookups_of_many_ids_give_the_same_intake(
    sf_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key sets looked up through one hash index (as for a million ids) change nothing."""
    from salesanalytics.ingest import validation

    src = _dirty_sf(sf_export)
    whole = intake.load_export(src, quarantine=True, raise_on_error=False)
    monkeypatch.setattr(validation, "LOOKUP_INDEX_KEYS", 1)
    lookup = validation.lookup_set(pd.Series(["a", "b", None, "a"]))
    assert isinstance(lookup, validation.KeyLookup)
    assert list(lookup.positions(pd.Series(["b", "x", None, "a"]))) == [1, -1, -1, 0]
    streamed = intake.load_export(
        src, quarantine=True, raise_on_error=False, store=tmp_path / "s", batch_rows=2
    )
    assert_same_intake(whole, streamed)
