"""pandera for the package, imported without a warning of pyspark's at every validation.

With pyspark installed (the aggregation layer's Spark engine, extra ``spark``), pandera tries to
import ``pyspark.pandas`` when it is imported and again when it registers its checks (the first
validation). Under pandas 3 that import warns ("PySpark does not yet fully support pandas") and
then fails, so every attempt warns again. The package never uses ``pyspark.pandas`` (Spark runs
the aggregations through Ibis's PySpark SQL backend): it is tried here once, quietly, and when it
cannot be imported it is marked as such (``sys.modules[...] = None``), so that pandera's later
attempts fail at once, as they would anyway, without the warning.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    if "pyspark.pandas" not in sys.modules and importlib.util.find_spec("pyspark") is not None:
        try:
            importlib.import_module("pyspark.pandas")
        except (ImportError, AttributeError):  # pyspark.pandas does not support this pandas
            sys.modules["pyspark.pandas"] = None  # type: ignore[assignment]
    import pandera.errors as errors
    import pandera.pandas as pandas

__all__ = ["errors", "pandas"]
