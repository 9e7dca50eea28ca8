"""Canonical data model: schemas enforce the declared rules, docs are in step with the code."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.errors
import pytest

from salesanalytics.ingest import schema

ROOT = Path(__file__).resolve().parents[2]


def test_data_model_doc_is_generated_from_schema() -> None:
    doc = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    assert doc == schema.data_model_markdown(), (
        "docs/data-model.md is out of date: regenerate it with "
        "`python -c 'from salesanalytics.ingest.schema import data_model_markdown as m; print(m(), end=\"\")' > docs/data-model.md`"
    )


def test_every_table_documents_its_columns() -> None:
    for table in schema.TABLES.values():
        for col in table.columns:
            assert col.description and col.example, (table.name, col.name)
            if col.references:
                ref_table, ref_col = col.references.split(".")
                assert ref_col in schema.TABLES[ref_table].column_names


def test_empty_frames_validate() -> None:
    for name in schema.TABLES:
        schema.table_schema(name).validate(schema.empty_frame(name))


def _rates(**overrides: object) -> pd.DataFrame:
    row = {"channel": "field", "cost_per_year": 165000.0, "capacity_hours": 1320.0}
    row.update(overrides)
    return schema.coerce_table("channel_rates", pd.DataFrame([row]))


def test_schema_accepts_valid_rows_and_adds_optional_columns() -> None:
    df = _rates()
    assert "travel_cost_per_km" in df.columns
    schema.table_schema("channel_rates").validate(df)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"channel": "fax"}, "isin"),
        ({"cost_per_year": -1.0}, "greater_than_or_equal_to"),
    ],
)
def test_schema_rejects_rule_violations(override: dict[str, object], fragment: str) -> None:
    with pytest.raises(pandera.errors.SchemaErrors, match=fragment):
        schema.table_schema("channel_rates").validate(_rates(**override), lazy=True)


def test_duplicate_keys_are_rejected() -> None:
    df = pd.concat([_rates(), _rates()], ignore_index=True)
    with pytest.raises(pandera.errors.SchemaErrors, match="field_uniqueness|unique"):
        schema.table_schema("channel_rates").validate(df, lazy=True)


def test_coerce_keeps_leading_zeros_and_turns_garbage_into_missing() -> None:
    raw = pd.DataFrame(
        {
            "rep_id": ["0051"],
            "name": ["Anna"],
            "role": ["field"],
            "home_postal_code": ["0123"],
            "fte": ["abc"],
        }
    )
    out = schema.coerce_table("reps", raw)
    assert out.loc[0, "home_postal_code"] == "0123"
    assert pd.isna(out.loc[0, "fte"])
    assert str(out["rep_id"].dtype) == "string"


def test_unknown_table_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown table 'acounts'; known tables: accounts"):
        schema.table_schema("acounts")


def test_coerce_leaves_canonical_columns_and_the_input_alone() -> None:
    raw = pd.DataFrame(
        {
            "rep_id": pd.array(["r1", "r2"], dtype="string"),
            "name": ["Anna", "Ben"],  # plain str: converted
            "role": pd.array(["field", "tele"], dtype="string"),
            "fte": [1.0, 0.5],
            "extra": [1, 2],
        }
    )
    before = raw.copy()
    out = schema.coerce_table("reps", raw)
    pd.testing.assert_frame_equal(raw, before)  # input untouched
    assert list(out.columns) == [*schema.TABLES["reps"].column_names, "extra"]
    assert str(out["name"].dtype) == "string" and out["name"].tolist() == ["Anna", "Ben"]
    pd.testing.assert_series_equal(out["rep_id"], raw["rep_id"])
    out.loc[0, "rep_id"] = "changed"
    assert raw.loc[0, "rep_id"] == "r1"  # the result does not share writes with the input
    # coercing a coerced table changes nothing
    pd.testing.assert_frame_equal(schema.coerce_table("reps", out), out)


def test_empty_frames_are_independent_copies() -> None:
    a = schema.empty_frame("accounts")
    a["extra"] = pd.Series(dtype="float64")
    b = schema.empty_frame("accounts")
    assert list(b.columns) == schema.TABLES["accounts"].column_names
    assert str(b["account_id"].dtype) == "string" and len(b) == 0
