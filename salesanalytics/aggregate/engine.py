"""The engine the aggregations run on: DuckDB embedded (default) or Apache Spark, through Ibis.

The aggregation layer (:mod:`salesanalytics.aggregate`) writes every per-account, per-rep, per-unit
and per-period aggregation once, as an Ibis expression over the canonical tables. This module opens
the canonical tables (the intake's Parquet files) on an engine and executes such expressions:

* ``duckdb`` (default): embedded, nothing to start; DuckDB reads the Parquet files out of core,
  so the activity log is never held as one pandas frame.
* ``spark``: the same expressions on Apache Spark through Ibis's PySpark backend. ``master`` is the
  Spark master URL (``local[2]`` for a local Spark, ``spark://host:7077``, ``yarn``, ``k8s://...``);
  ``location`` is a folder every Spark executor can read (``s3a://bucket/prefix``,
  ``hdfs:///...``, ``abfs://...``, or a shared file system): the canonical tables are copied
  there (with :mod:`pyarrow.fs`, timestamps in microseconds, which Spark reads) before Spark reads
  them. Without ``location`` the copies go to a local temporary folder (enough for a local master).

The phases do not know which engine ran: :func:`execute` returns a pandas frame with the
canonical dtypes (ids and codes as ``string``, counts as ``int64``, amounts as ``float64``),
sorted by its keys.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd
    from ibis.backends import BaseBackend

__all__ = [
    "ENGINES",
    "EngineSettings",
    "TableSet",
    "connect",
    "execute",
    "open_tables",
    "spark_session",
]

ENGINES = ("duckdb", "spark")
"""The engines the aggregation layer runs on."""


class EngineSettings(BaseModel):
    """Where the aggregations run (``engine:`` in ``project.yaml``).

    Attributes
    ----------
    engine
        ``duckdb`` (embedded, default) or ``spark``.
    master
        Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://...``); Spark only.
    location
        A folder Spark can read (``s3a://bucket/prefix``, ``hdfs:///...``, a shared file system);
        the canonical tables are copied there; empty = a local temporary folder (local master).
        Spark only.
    spark_conf
        Further Spark settings (``spark.executor.memory: 8g``, credentials providers, ...).
    threads
        DuckDB threads; 0 = DuckDB's default (all cores).
    memory_limit
        DuckDB memory limit (``4GB``); empty = DuckDB's default (80% of the memory). DuckDB spills
        to disk beyond it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: Literal["duckdb", "spark"] = Field("duckdb", description="Engine of the aggregations.")
    master: str = Field("local[2]", description="Spark master URL (Spark only).")
    location: str = Field(
        "", description="Folder Spark can read; the canonical tables are copied there."
    )
    spark_conf: dict[str, str] = Field(default_factory=dict, description="Extra Spark settings.")
    threads: int = Field(0, ge=0, le=512, description="DuckDB threads (0 = all cores).")
    memory_limit: str = Field("", description="DuckDB memory limit such as 4GB (empty = default).")


_SPARK_LOCK = threading.Lock()


def spark_session(settings: EngineSettings) -> Any:
    """The Spark session for ``settings`` (created once per process, then reused).

    Raises
    ------
    ImportError
        If ``pyspark`` is not installed (``pip install 'salesanalytics[spark]'``).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "engine 'spark' needs pyspark: pip install 'salesanalytics[spark]' (and a Java 17+ "
            "runtime for a local master)"
        ) from exc
    with _SPARK_LOCK:
        builder = (
            SparkSession.builder.master(settings.master)
            .appName("salesanalytics")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
        )
        if settings.master.startswith("local"):
            # a local master: as many shuffle partitions as cores (Spark's 200 are for clusters)
            cores = settings.master.partition("[")[2].rstrip("]")
            n = cores if cores.isdigit() else str(os.cpu_count() or 2)
            builder = builder.config("spark.sql.shuffle.partitions", n).config(
                "spark.default.parallelism", n
            )
        for key, value in settings.spark_conf.items():
            builder = builder.config(key, value)
        return builder.getOrCreate()


def connect(settings: EngineSettings | None = None) -> BaseBackend:
    """An Ibis connection to the engine of ``settings`` (default: DuckDB in memory)."""
    import ibis

    s = settings or EngineSettings()
    if s.engine == "spark":
        return ibis.pyspark.connect(spark_session(s))
    config: dict[str, Any] = {}
    if s.threads:
        config["threads"] = s.threads
    if s.memory_limit:
        config["memory_limit"] = s.memory_limit
    return ibis.duckdb.connect(**config)


def _spark_copies(paths: Mapping[str, Path], location: str) -> dict[str, str]:
    """Copies of the Parquet files that Spark can read, under ``location`` (a URI); their URIs.

    Spark reads no nanosecond timestamps (the canonical dates are ``datetime64[ns]``): the copies
    store them in microseconds. They are written batch by batch (never a whole table in memory)
    through :mod:`pyarrow.fs`, so ``location`` may be any file system pyarrow knows (``s3://``,
    ``gs://``, ``hdfs://``, ``abfs://``, a local or shared folder).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyarrow import fs

    target_fs, base = fs.FileSystem.from_uri(location)
    target_fs.create_dir(base, recursive=True)
    out = {}
    for name, path in paths.items():
        src = pq.ParquetFile(path)
        fields = [
            pa.field(f.name, pa.timestamp("us"), f.nullable) if pa.types.is_timestamp(f.type) else f
            for f in src.schema_arrow
        ]
        schema = pa.schema(fields)
        with pq.ParquetWriter(f"{base}/{path.name}", schema, filesystem=target_fs) as w:
            for batch in src.iter_batches(batch_size=1_000_000):
                w.write_table(pa.Table.from_batches([batch]).cast(schema))
        out[name] = location.rstrip("/") + "/" + path.name
    return out


def _spark_location(settings: EngineSettings, folder: Path) -> str:
    """Where the Spark copies of ``folder``'s tables go: ``location/<run>/``, else a local folder."""
    if settings.location:
        run = folder.resolve().parent.parent.name or "tables"
        return settings.location.rstrip("/") + "/" + run
    return Path(tempfile.mkdtemp(prefix="salesanalytics-spark-")).as_uri()


@dataclass
class TableSet:
    """Canonical tables on an engine, each opened when an aggregation first reads it.

    Attributes
    ----------
    con
        The Ibis connection.
    paths
        Table name -> Parquet file in the intake's folder (only the tables that exist).
    settings
        The engine settings.
    """

    con: BaseBackend
    paths: dict[str, Path]
    settings: EngineSettings = field(default_factory=EngineSettings)
    _opened: dict[str, ir.Table] = field(default_factory=dict, repr=False)
    _spark_dir: str = field(default="", repr=False)

    def __getitem__(self, name: str) -> ir.Table:
        if name not in self.paths:
            raise KeyError(
                f"canonical table '{name}' is not available to the aggregation layer; it has "
                f"{sorted(self.paths)} (did the intake write it?)"
            )
        if name not in self._opened:
            uri = str(self.paths[name])
            if self.settings.engine == "spark":
                base = self.paths[name].parent
                self._spark_dir = self._spark_dir or _spark_location(self.settings, base)
                uri = _spark_copies({name: self.paths[name]}, self._spark_dir)[name]
            tname = f"sa_{name}_{abs(hash(uri)) % 10**8}"
            self._opened[name] = self.con.read_parquet(uri, table_name=tname)
        return self._opened[name]

    def __contains__(self, name: object) -> bool:
        return name in self.paths


def open_tables(
    folder: str | os.PathLike[str],
    settings: EngineSettings | None = None,
    names: Sequence[str] | None = None,
    con: BaseBackend | None = None,
) -> TableSet:
    """The canonical Parquet tables in ``folder`` (``<name>.parquet``) on an engine.

    Each table is opened (for Spark: copied to the location, then read) when an aggregation
    first reads it.

    Parameters
    ----------
    folder
        The intake's folder (``<run>/data/intake``) or any folder of canonical Parquet tables.
    settings
        Engine settings (default DuckDB).
    names
        Tables to offer; default: every canonical table present.
    con
        An open connection to reuse (else one is opened with :func:`connect`).

    Raises
    ------
    FileNotFoundError
        If ``folder`` does not exist.
    """
    from salesanalytics.ingest.schema import TABLES

    s = settings or EngineSettings()
    base = Path(folder)
    if not base.is_dir():
        raise FileNotFoundError(
            f"{base} does not exist: the aggregation layer reads the intake's canonical tables "
            "(run the intake phase first)"
        )
    wanted = list(names) if names is not None else list(TABLES)
    paths = {n: base / f"{n}.parquet" for n in wanted if (base / f"{n}.parquet").is_file()}
    return TableSet(con if con is not None else connect(s), paths, s)


def execute(expr: ir.Table, keys: Sequence[str] = (), strings: Sequence[str] = ()) -> pd.DataFrame:
    """Execute ``expr`` on its engine; a pandas frame with canonical dtypes, sorted by ``keys``.

    Parameters
    ----------
    expr
        An Ibis table expression.
    keys
        Columns to sort by (the aggregation's grouping keys): the row order does not depend on
        the engine.
    strings
        Columns returned as pandas ``string`` dtype (ids, codes); other integer columns become
        ``int64`` and floating ones ``float64``.
    """
    import pandas as pd

    df = expr.to_pandas()
    for c in df.columns:
        col = df[c]
        if c in strings:
            df[c] = col.astype("string")
        elif pd.api.types.is_bool_dtype(col):
            df[c] = col.astype(bool)
        elif pd.api.types.is_integer_dtype(col):
            df[c] = col.astype("int64")
        elif pd.api.types.is_float_dtype(col) or pd.api.types.is_numeric_dtype(col):
            df[c] = pd.to_numeric(col).astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(col):
            df[c] = col.dt.tz_localize(None) if col.dt.tz is not None else col
            df[c] = df[c].astype("datetime64[ns]")
    if keys:
        df = df.sort_values(list(keys), kind="mergesort", na_position="last")
    return df.reset_index(drop=True)
