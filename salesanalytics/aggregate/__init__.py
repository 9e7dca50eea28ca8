"""The aggregation layer: the canonical tables aggregated once, on DuckDB or Apache Spark.

Per-account, per-rep, per-unit and per-period aggregations are written once as Ibis expressions
(:mod:`~salesanalytics.aggregate.expressions`, named in :mod:`~salesanalytics.aggregate.catalogue`)
and run on DuckDB (embedded, the default) or Apache Spark (:mod:`~salesanalytics.aggregate.engine`;
see ``docs/scale.md``). The layer sits between :mod:`salesanalytics.ingest` (the canonical tables)
and :mod:`salesanalytics.analyses` (pandas, statsmodels, scipy on the aggregated frames): it
imports only ``ingest``, ``reference`` and ``errors``.
"""
