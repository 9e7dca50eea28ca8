"""The engines of the aggregation layer: settings, opening the canonical tables, and the same
aggregates on DuckDB and on a local Apache Spark (``local[2]``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from salesanalytics.aggregate.catalogue import AGGREGATES, Aggregator
from salesanalytics.aggregate.engine import EngineSettings, execute, open_tables

# a local Spark for small data: no whole-stage code generation, a JVM that starts fast
SPARK = EngineSettings(
    engine="spark",
    master="local[2]",
    spark_conf={
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.adaptive.enabled": "false",
        "spark.driver.extraJavaOptions": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
    },
)


def test_settings_default_to_embedded_duckdb_and_reject_unknown_keys() -> None:
    assert EngineSettings().engine == "duckdb"
    with pytest.raises(ValidationError, match="Input should be 'duckdb' or 'spark'"):
        EngineSettings(engine="oracle")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        EngineSettings.model_validate({"engine": "spark", "mastr": "local[2]"})


def test_open_tables_names_a_missing_folder_and_table(
    tmp_path: Path, small_intake_dir: Path
) -> None:
    with pytest.raises(FileNotFoundError, match="run the intake phase first"):
        open_tables(tmp_path / "nothing")
    ts = open_tables(small_intake_dir, names=["accounts"])
    assert "accounts" in ts and "activities" not in ts
    with pytest.raises(KeyError, match="'activities' is not available"):
        ts["activities"]
    with pytest.raises(KeyError, match="unknown aggregation 'nope'; known: account_effort"):
        Aggregator(small_intake_dir).expression("nope")


def test_dated_aggregations_need_the_reference_date(small_intake_dir: Path) -> None:
    with pytest.raises(ValueError, match="needs the export's reference date"):
        Aggregator(small_intake_dir).frame("account_mrr")


def test_execute_sorts_by_the_keys_and_gives_canonical_dtypes(small_intake_dir: Path) -> None:
    ts = open_tables(small_intake_dir, settings=EngineSettings(threads=1, memory_limit="1GB"))
    t = ts["activities"]
    expr = t.group_by("channel").aggregate(n=t.count(), minutes=t.minutes.sum())
    df = execute(expr, keys=["channel"], strings=["channel"])
    assert df["channel"].tolist() == sorted(df["channel"]) and df["channel"].dtype == "string"
    assert df["n"].dtype == "int64" and df["minutes"].dtype == "float64"


# --- Spark ---------------------------------------------------------------------------------


def _spark_or_skip() -> None:
    """Skip without pyspark or Java locally; in CI (``CI`` set) both must be there."""
    missing = []
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing.append("pyspark (pip install '.[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing.append("a Java runtime (.ci/run installs openjdk-17-jre-headless)")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the Spark engine test needs {' and '.join(missing)}")
        pytest.skip(f"Spark engine not testable here: needs {' and '.join(missing)}")


@pytest.fixture(scope="session")
def spark_con():
    """One local Spark (``local[2]``) and its Ibis connection for the whole test session."""
    _spark_or_skip()
    from salesanalytics.aggregate.engine import connect, spark_session

    con = connect(SPARK)
    yield con
    spark_session(SPARK).stop()


def _equal_to_the_cent(spark: pd.DataFrame, duck: pd.DataFrame, name: str) -> None:
    assert list(spark.columns) == list(duck.columns), name
    assert len(spark) == len(duck) > 0, name
    for c in duck.columns:
        assert spark[c].dtype == duck[c].dtype, (name, c)
        if pd.api.types.is_float_dtype(duck[c]):
            np.testing.assert_array_equal(
                spark[c].round(2).to_numpy(), duck[c].round(2).to_numpy(), err_msg=f"{name}.{c}"
            )
        else:
            assert spark[c].astype(object).tolist() == duck[c].astype(object).tolist(), (name, c)


def test_spark_gives_every_aggregate_of_duckdb(spark_con, small_intake_dir, small_intake) -> None:
    """The same expressions on Spark: every aggregate equal (money to the cent, counts exactly)."""
    duck = Aggregator(small_intake_dir, as_of=small_intake.as_of)
    spark = Aggregator(small_intake_dir, settings=SPARK, as_of=small_intake.as_of, con=spark_con)
    for name in AGGREGATES:
        s = spark.frame(name)
        assert s.attrs["engine"] == "spark"
        _equal_to_the_cent(s, duck.frame(name), name)


def test_spark_reads_the_tables_from_its_location(spark_con, small_intake_dir, tmp_path) -> None:
    """With a location (here a folder as a file:// URI) the tables are copied there first."""
    settings = SPARK.model_copy(update={"location": tmp_path.as_uri()})
    ts = open_tables(small_intake_dir, settings=settings, names=["activities"], con=spark_con)
    assert not list(tmp_path.rglob("*.parquet"))  # a table is copied when first read
    t = ts["activities"]
    copied = list(tmp_path.rglob("*.parquet"))
    assert [p.name for p in copied] == ["activities.parquet"]
    n = execute(t.aggregate(n=t.count()))["n"].iloc[0]
    assert n == len(pd.read_parquet(small_intake_dir / "activities.parquet"))
