"""Phase ``intake``: load, map and validate the client's CRM export into the canonical tables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from salesanalytics.engagement.spec import PhaseParams, PhaseSpec
from salesanalytics.present.i18n import check_locale

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
        "the mapping's currency, else the legal tender of the accounts' country (CHF, EUR).",
    )
    country: str = Field(
        "CH",
        pattern="^(CH|LI|DE|AT)$",
        description="Default country (ISO code CH, LI, DE or AT) of accounts and reps whose "
        "export gives none; it also sets the default currency (CHF, EUR).",
    )
    language: Literal["en", "de"] = Field(
        "en",
        description="Language of the client's reports: en (English) or de (German).",
    )
    locale: str = Field(
        "",
        description="Locale of numbers, amounts and dates: en-CH, de-CH (CHF 1'234'567), de-DE, "
        "de-AT (1.234.567 €); empty = the language's Swiss locale (en-CH, de-CH).",
    )
    quarantine: bool = Field(
        False,
        description="Write invalid rows with their reasons to quarantine.csv instead of failing.",
    )

    @model_validator(mode="after")
    def _check_locale(self) -> Params:
        try:
            check_locale(self.language, self.locale)
        except ValueError as exc:
            raise ValueError(f"language={self.language!r}, locale={self.locale!r}: {exc}") from None
        return self


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
