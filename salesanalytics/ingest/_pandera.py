"""pandera for the package, imported without one warning of pyspark's.

With pyspark installed (the aggregation layer's Spark engine, extra ``spark``), importing pandera
imports ``pyspark.pandas``, which warns that it does not support pandas 3 yet. The package never
uses ``pyspark.pandas`` (Spark runs the aggregations through Ibis's PySpark SQL backend), so that
warning, and only it, is silenced here instead of showing in every report and test.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    import pandera.errors as errors
    import pandera.pandas as pandas

__all__ = ["errors", "pandas"]
