"""The engagement's results as a Salesforce deployment.

Territory model, Account fields, the KPI cockpit as reports and dashboards, Data Loader files,
manifest, guide and dry run.

Every run writes ``<run>/salesforce/`` (:func:`write_salesforce_folder`) from the phases' output
tables. Modules: :mod:`~salesanalytics.salesforce.names` (DeveloperName rules),
:mod:`~salesanalytics.salesforce.metadata` (source-format XML),
:mod:`~salesanalytics.salesforce.territories`, :mod:`~salesanalytics.salesforce.fields`,
:mod:`~salesanalytics.salesforce.cockpit`, :mod:`~salesanalytics.salesforce.export`.
"""

from __future__ import annotations

from salesanalytics.salesforce.export import (
    FOLDER,
    PARTS,
    SalesforceExport,
    write_salesforce_folder,
)

__all__ = ["FOLDER", "PARTS", "SalesforceExport", "write_salesforce_folder"]
