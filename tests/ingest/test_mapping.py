"""Declarative mappings: loading and checking YAML, recognising files, mapping columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesanalytics.ingest import mapping as mp
from salesanalytics.ingest.io import RawTable


def _raw(file: str, **cols: list[str | None]) -> RawTable:
    return RawTable(file, Path(file), pd.DataFrame(cols, dtype="str"))


def _mapping(tables: dict, sources: dict | None = None) -> mp.Mapping:
    return mp.Mapping.model_validate(
        {
            "name": "t",
            "sources": sources or {"S": {"files": ["s"]}, "L": {"files": ["l"]}},
            "tables": tables,
        }
    )


ACT = {
    "activity_id": "Id",
    "rep_id": "Owner",
    "account_id": {"constant": None},
    "date": "Day",
    "type": {"constant": "call"},
    "channel": {"constant": "tele"},
    "minutes": {"constant": 1},
}


def test_builtin_mappings_load() -> None:
    assert {"salesforce", "maven-crm"} <= set(mp.builtin_mapping_names())
    sf = mp.load_mapping("salesforce")
    assert sf.name == "salesforce"
    assert [i.source for i in sf.tables["activities"].inputs] == ["Task", "Event"]
    assert mp.load_mapping("maven-crm").tables["opportunities"].warn_missing == [
        "account_id",
        "amount",
        "created_date",
    ]


def test_unknown_mapping_lists_builtins() -> None:
    with pytest.raises(FileNotFoundError, match=r"mapping 'sap' is neither a built-in mapping \("):
        mp.load_mapping("sap")


def test_invalid_mapping_file_names_every_problem(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(
        """
name: bad
sources:
  S: {files: [s]}
tables:
  acounts:
    inputs: [{source: S, columns: {}}]
  reps:
    inputs:
      - source: X
        columns:
          rep_id: Id
          nmae: Name
          role: {source: R, constant: field}
""",
        encoding="utf-8",
    )
    with pytest.raises(ValueError) as exc:
        mp.load_mapping(p)
    msg = str(exc.value)
    assert msg.startswith(f"mapping file {p} is invalid: ")
    assert (
        "role: give exactly one of 'source', 'constant', 'cases' or 'lookup' (got source, constant)"
        in msg
    )


def test_mapping_consistency_errors(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(
        """
name: bad
sources:
  S: {files: [s]}
tables:
  acounts:
    inputs: [{source: S, columns: {}}]
  reps:
    inputs:
      - source: X
        columns: {rep_id: Id, nmae: Name}
""",
        encoding="utf-8",
    )
    with pytest.raises(ValueError) as exc:
        mp.load_mapping(p)
    msg = str(exc.value)
    assert "tables.acounts: unknown table; known tables: accounts, reps" in msg
    assert "tables.reps.inputs[0].source: unknown source 'X'" in msg
    assert "tables.reps.inputs[0].columns.nmae: 'nmae' is not a column of reps" in msg
    assert "tables.reps.inputs[0]: required column(s) name, role of reps are not mapped" in msg


def test_yaml_syntax_error(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"mapping file .* is not valid YAML"):
        mp.load_mapping(p)


def test_files_recognised_by_name_then_header() -> None:
    sf = mp.load_mapping("salesforce")
    headers = {
        "Account.csv": ["Id", "Name", "BillingPostalCode"],
        "extract.csv": ["Id", "AccountId", "StageName", "CloseDate", "Amount"],
        "extract2.csv": ["Id", "OwnerId", "ActivityDate", "DurationInMinutes", "Type"],
        "notes.csv": ["a", "b"],
    }
    matched, probs = mp.match_files(sf, headers)
    assert matched == {
        "Account.csv": "Account",
        "extract.csv": "Opportunity",
        "extract2.csv": "Event",
        "notes.csv": None,
    }
    by_check = probs.groupby("check")["severity"].first().to_dict()
    assert by_check["file_not_used"] == "info"
    assert by_check["missing_file"] == "warning"  # e.g. no Contract file: not required
    assert set(probs.loc[probs["check"] == "missing_file", "message"]) >= {
        "no Contract file found for table contracts",
        "no OpportunityLineItem file found (lookup)",
    }


def test_required_source_missing_is_an_error() -> None:
    sf = mp.load_mapping("salesforce")
    _, probs = mp.match_files(sf, {"Opportunity.csv": ["Id"]})
    acc = probs[probs["message"] == "no Account file found for table accounts"]
    assert list(acc["severity"]) == ["error"]


def test_value_map_any_case_default_and_counts() -> None:
    m = _mapping(
        {
            "activities": {
                "inputs": [
                    {
                        "source": "S",
                        "columns": {
                            **ACT,
                            "type": {
                                "source": "Kind",
                                "values": {"Anruf": "call", "BESUCH": "visit"},
                                "default": "email",
                            },
                        },
                    }
                ]
            }
        }
    )
    raw = _raw(
        "s.csv",
        Id=["1", "2", "3", "4", "5"],
        Owner=["r"] * 5,
        Day=["01.02.2024"] * 5,
        Kind=["anruf", "Anruf", "besuch", "Brief", None],
    )
    res = mp.map_input(m, "activities", m.tables["activities"].inputs[0], raw)
    assert list(res.data["type"].astype(object).where(res.data["type"].notna(), None)) == [
        "call",
        "call",
        "visit",
        "email",
        None,
    ]
    counts = {(r.from_value, r.to_value): r.count for r in res.remappings.itertuples()}
    assert counts == {
        ("anruf", "call"): 1,
        ("Anruf", "call"): 1,
        ("besuch", "visit"): 1,
        ("Brief", "email"): 1,
    }
    assert set(res.remappings["file"]) == {"s.csv"} and set(res.remappings["column"]) == {"Kind"}


def test_coalesce_with_scale_constant_and_fill() -> None:
    cols = {
        **ACT,
        "minutes": {"source": ["Secs", "Mins"], "divide": {"Secs": 60}},
        "channel": {"source": "Chan", "fill": "tele"},
        "account_id": {"source": "Acc", "optional": True},
    }
    m = _mapping({"activities": {"inputs": [{"source": "S", "columns": cols}]}})
    raw = _raw(
        "s.csv",
        Id=["1", "2", "3"],
        Owner=["r"] * 3,
        Day=["2024-01-01"] * 3,
        Secs=["90", None, "1'800"],
        Mins=["7", "5", None],
        Chan=["field", None, "online"],
    )
    res = mp.map_input(m, "activities", m.tables["activities"].inputs[0], raw)
    assert list(res.data["minutes"]) == [1.5, 5.0, 30.0]
    assert list(res.data["channel"]) == ["field", "tele", "online"]
    assert res.data["account_id"].isna().all()  # optional column absent: empty, no problem
    assert res.problems.empty
    fill = res.remappings[res.remappings["from_value"] == "(empty)"]
    assert list(fill["count"]) == [1] and list(fill["to_value"]) == ["tele"]


def test_cases_first_match_wins_and_are_counted() -> None:
    m = mp.load_mapping("salesforce")
    inp = m.tables["opportunities"].inputs[0]
    raw = _raw(
        "Opportunity.csv",
        Id=["o1", "o2", "o3", "o4"],
        AccountId=["a"] * 4,
        OwnerId=["r"] * 4,
        Type=[
            "New Business",
            "Existing Business - Upgrade",
            "Renewal",
            "Existing Business - Renewal",
        ],
        StageName=["Closed Won", "Closed Lost", "Proposal", "Closed Won"],
        Amount=["1", "2", "3", "4"],
        CreatedDate=["2024-01-01"] * 4,
        CloseDate=["2024-02-01"] * 4,
        IsClosed=["true", "true", "false", None],
        IsWon=["true", "false", "false", None],
    )
    res = mp.map_input(m, "opportunities", inp, raw)
    assert list(res.data["status"]) == ["won", "lost", "open", "won"]
    assert list(res.data["type"]) == ["new_business", "upsell", "renewal", "renewal"]
    rm = res.remappings[res.remappings["field"] == "status"]
    assert list(zip(rm["from_value"], rm["to_value"], rm["count"], strict=True)) == [
        ("IsWon = true/1/yes", "won", 1),
        ("IsClosed = true/1/yes", "lost", 1),
        ("IsClosed = false/0/no", "open", 1),
        ("StageName = closed won/won/gewonnen", "won", 1),
    ]
    # no OpportunityLineItem file: product stays empty, with a warning
    assert list(res.problems["check"]) == ["lookup_unavailable"]
    assert res.data["product_id"].isna().all()


def test_lookup_takes_largest_line_item() -> None:
    m = mp.load_mapping("salesforce")
    inp = m.tables["opportunities"].inputs[0]
    raw = _raw(
        "Opportunity.csv",
        Id=["o1", "o2", "o3"],
        AccountId=["a"] * 3,
        OwnerId=["r"] * 3,
        Type=["New Business"] * 3,
        StageName=["Closed Won"] * 3,
        Amount=["1"] * 3,
        CreatedDate=["2024-01-01"] * 3,
        CloseDate=["2024-02-01"] * 3,
        IsClosed=["true"] * 3,
        IsWon=["true"] * 3,
    )
    items = _raw(
        "OpportunityLineItem.csv",
        OpportunityId=["o1", "o1", "o2"],
        Product2Id=["small", "big", "p2"],
        TotalPrice=["10", "1'000", "5"],
    )
    res = mp.map_input(m, "opportunities", inp, raw, {"OpportunityLineItem": [items]})
    assert list(
        res.data["product_id"].astype(object).where(res.data["product_id"].notna(), None)
    ) == ["big", "p2", None]
    miss = res.remappings[res.remappings["from_value"] == "(no OpportunityLineItem row)"]
    assert list(miss["count"]) == [1]


def test_unreadable_cells_are_reported_with_file_column_row_value() -> None:
    m = _mapping(
        {"activities": {"inputs": [{"source": "S", "columns": {**ACT, "minutes": "Min"}}]}}
    )
    raw = _raw(
        "Task.csv",
        Id=["1", "2", "3"],
        Owner=["r"] * 3,
        Day=["2024-01-01", "31.02.2024", "2024-01-03"],
        Min=["5", "fünf", "-"],
    )
    res = mp.map_input(m, "activities", m.tables["activities"].inputs[0], raw)
    p = res.problems.sort_values("row")
    rows = [(r.file, r.column, int(r.row), r.value, r.check) for r in p.itertuples()]
    assert rows == [
        ("Task.csv", "Day", 3, "31.02.2024", "not_a_date"),
        ("Task.csv", "Min", 3, "fünf", "not_a_number"),
        ("Task.csv", "Min", 4, "-", "not_a_number"),
    ]
    assert set(p["message"]) == {
        "cannot be read as a date (activities.date)",
        "cannot be read as a number (activities.minutes)",
    }


def test_missing_source_column_is_one_problem() -> None:
    m = _mapping({"activities": {"inputs": [{"source": "S", "columns": ACT}]}})
    raw = _raw("Task.csv", Id=["1"], Day=["2024-01-01"])
    res = mp.map_input(m, "activities", m.tables["activities"].inputs[0], raw)
    [p] = res.problems.itertuples()
    assert (p.severity, p.file, p.column, p.check) == (
        "error",
        "Task.csv",
        "Owner",
        "missing_column",
    )
    assert p.message == "column Owner is missing (needed for activities.rep_id)"
    assert "The file has the columns: Id, Day." in p.hint


def test_stack_inputs_task_and_event() -> None:
    m = mp.load_mapping("salesforce")
    task = _raw(
        "Task.csv",
        Id=["t1", "t2"],
        OwnerId=["r", "r"],
        AccountId=["a", None],
        ActivityDate=["2024-01-01", "2024-01-02"],
        TaskSubtype=["Call", "Email"],
        CallDurationInSeconds=["600", None],
        Duration_Minutes__c=[None, "4"],
        Channel__c=["Tele", "Online"],
    )
    event = _raw(
        "Event.csv",
        Id=["e1"],
        OwnerId=["r"],
        AccountId=["a"],
        ActivityDate=["2024-01-03"],
        Type=["Visit"],
        DurationInMinutes=["60"],
        Channel__c=["Field"],
    )
    ins = m.tables["activities"].inputs
    parts = [
        mp.map_input(m, "activities", ins[0], task),
        mp.map_input(m, "activities", ins[1], event),
    ]
    st = mp.stack_inputs("activities", parts)
    d = st.data
    assert list(d["activity_id"]) == ["t1", "t2", "e1"]
    assert list(d["type"]) == ["call", "email", "visit"]
    assert list(d["minutes"]) == [10.0, 4.0, 60.0]
    assert list(d["_file"].astype(str)) == ["Task.csv", "Task.csv", "Event.csv"]
    assert list(d["_row"]) == [2, 3, 2]
    assert d["date"].dtype == "datetime64[ns]"
    assert list(d["account_id"].isna()) == [False, True, False]
    assert st.labels[("Task.csv", "minutes")] == "CallDurationInSeconds/Duration_Minutes__c"


def test_builtin_mappings_parse_like_yaml_safe_load() -> None:
    import yaml

    for name in mp.builtin_mapping_names():
        text = (Path(mp.__file__).parents[1] / "mappings" / f"{name}.yaml").read_text("utf-8")
        assert yaml.load(text, Loader=mp._YAML_LOADER) == yaml.safe_load(text), name


def _mapper(m: mp.Mapping, raw: RawTable) -> mp.InputMapper:
    return mp.InputMapper(m, "activities", raw, {})


def test_map_column_constant_and_missing_source_steps() -> None:
    cols = {**ACT, "minutes": {"source": ["Secs", "Mins"]}}
    m = _mapping({"activities": {"inputs": [{"source": "S", "columns": cols}]}})
    inp = m.tables["activities"].inputs[0]
    raw = _raw("s.csv", Id=["1", "2"], Owner=["r", "r"], Day=["2024-01-01", "2024-01-02"])
    ctx = _mapper(m, raw)
    table = mp.schema.TABLES["activities"]
    values, label = mp.map_column(ctx, table.column("channel"), inp.column("channel"))
    assert label == "(constant)" and list(values) == ["tele", "tele"]
    values, label = mp.map_column(ctx, table.column("minutes"), inp.column("minutes"))
    assert label == "Secs/Mins" and values.isna().all()
    (p,) = ctx.probs
    assert list(p["check"]) == ["missing_column"]
    assert p["message"].iloc[0] == "column Secs or Mins is missing (needed for activities.minutes)"
    assert ctx.remaps == []


def test_map_column_fill_counts_only_blank_cells() -> None:
    cols = {**ACT, "channel": {"source": "Chan", "fill": "tele"}}
    m = _mapping({"activities": {"inputs": [{"source": "S", "columns": cols}]}})
    inp = m.tables["activities"].inputs[0]
    raw = _raw("s.csv", Id=["1", "2", "3"], Chan=["field", " ", "bogus"])
    ctx = _mapper(m, raw)
    values, label = mp.map_column(
        ctx, mp.schema.TABLES["activities"].column("channel"), inp.column("channel")
    )
    assert label == "Chan"
    assert list(values.fillna("<NA>")) == ["field", "tele", "bogus"]
    assert ctx.remaps == [
        {
            "column": "Chan",
            "field": "channel",
            "from_value": "(empty)",
            "to_value": "tele",
            "count": 1,
        }
    ]


def test_mapping_reports_into_problems_not_validation() -> None:
    """Data flows one way: the mapping imports the problem frame, never the validation."""
    import ast

    tree = ast.parse(Path(mp.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert "salesanalytics.ingest.problems" in imported
    assert not {m for m in imported if m.startswith("salesanalytics.ingest.validation")}
