"""Phase ``intake``: load, map and validate the client's CRM export into the canonical tables."""

from __future__ import annotations

from pydantic import Field

from salesanalytics.engagement.spec import PhaseParams, PhaseSpec

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the intake phase."""

    source: str = Field(
        "../data/demo/export",
        description="Folder with the client's CRM export (CSV, Excel or Parquet files).",
    )
    mapping: str = Field(
        "salesforce",
        description="Built-in mapping name (salesforce, hubspot, dynamics365, maven-crm, bank-churn, online-retail) or path to a YAML mapping file.",
    )
    currency: str = Field(
        "",
        pattern="^([A-Za-z]{3})?$",
        description="Currency of the export's amounts (ISO code such as CHF, EUR, USD); empty = "
        "the mapping's currency.",
    )
    quarantine: bool = Field(
        False,
        description="Write invalid rows with their reasons to quarantine.csv instead of failing.",
    )


PHASE = PhaseSpec(
    name="intake",
    notebook="00_data_intake.ipynb",
    title="Data intake and quality",
    reads=(),
    writes=(
        "accounts",
        "reps",
        "products",
        "contracts",
        "opportunities",
        "opportunity_stages",
        "activities",
        "channel_rates",
        "quality",
        "as_of",
        "derivations",
        "settings",
        "coverage",
    ),
    params=Params,
    seconds=5,
)
