"""salesanalytics: phased CRM sales-strategy analyses for consultants, as tested package + notebooks."""

from __future__ import annotations

import warnings
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("salesanalytics")
except PackageNotFoundError:  # pragma: no cover - source checkout without install
    __version__ = "0.0.0"

__all__ = ["__version__"]

# With pyspark installed (the Spark engine of the aggregation layer, extra ``spark``), pandera
# imports pyspark.pandas, which warns that it does not support pandas 3 yet. The package never uses
# pyspark.pandas (Spark runs the aggregations through Ibis's PySpark SQL backend): that one warning
# is noise in every report and test, so it is silenced here, by its text.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)

from salesanalytics import _compat  # noqa: E402 - after the warning filter above

_compat.install()
