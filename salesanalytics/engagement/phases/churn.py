"""Phase ``churn``: churn and retention rates, survival curves, churn drivers, propensity, sBG."""

from __future__ import annotations

from pydantic import Field, model_validator

from salesanalytics.analyses.churn.model import CustomerTableConfig
from salesanalytics.engagement.paramcheck import check_order
from salesanalytics.engagement.spec import Need, PhaseParams, PhaseSpec, setting

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the churn phase."""

    window_months: int = Field(
        12, ge=1, le=60, description="Window in months for churn and retention rates."
    )
    start_window_days: int = setting(
        CustomerTableConfig,
        "start_window_days",
        description="Contracts starting within this many days count as products at start.",
    )
    horizon_months: int = Field(
        6,
        ge=1,
        le=24,
        description="Churn-propensity horizon in months (and out-of-time test shift).",
    )
    risk_high_quantile: float = Field(
        0.9, gt=0, lt=1, description="Customers above this propensity quantile are 'high' risk."
    )
    risk_medium_quantile: float = Field(
        0.7, gt=0, lt=1, description="Customers above this propensity quantile are 'medium' risk."
    )
    km_min_customers: int = Field(
        50,
        ge=1,
        le=100000,
        description="Survival curves only for groups with at least this many customers.",
    )
    sbg_period_months: int = Field(
        12,
        ge=1,
        le=36,
        description="Renewal period of the shifted-beta-geometric projection (months).",
    )
    sbg_projection_periods: int = Field(
        10, ge=1, le=50, description="Number of periods the cohort projection looks ahead."
    )
    discount_rate: float = Field(
        0.1, gt=0, le=1, description="Discount rate per period for the expected remaining value."
    )

    @model_validator(mode="after")
    def _risk_bands_in_order(self) -> Params:
        check_order(
            self,
            "risk_medium_quantile",
            "risk_high_quantile",
            "customers above the medium quantile and below the high one form the 'medium' "
            "risk band, which would otherwise be empty or overlap the 'high' band",
        )
        return self


PHASE = PhaseSpec(
    name="churn",
    notebook="40_churn.ipynb",
    title="Churn: who the client keeps, who it loses and why",
    reads=("intake",),
    writes=(
        "customers",
        "retention_summary",
        "km_curves",
        "hazard_ratios",
        "calibration",
        "customer_churn",
        "at_risk_by_rep",
        "propensity_validation",
        "sbg_projection",
        "sbg_fit",
    ),
    params=Params,
    seconds=4,
    needs=(
        Need(
            "churn and retention rates, survival curves",
            requires=("contracts.start_date",),
            min_rows=20,
            add="Export contracts with start and end dates, or won deals (the intake derives "
            "relationships from them).",
        ),
        Need(
            "churn drivers (Cox), propensity and sBG projection",
            requires=("accounts.status=former_customer",),
            min_rows=10,
            add="The models need customers who have left: export contracts with their end or "
            "cancellation dates (or the deals of a longer period).",
        ),
        Need(
            "churn by acquisition channel",
            improves=("contracts.channel",),
            core=False,
            limitation="no comparison by sales channel",
            add="Map the channel that sold each contract.",
        ),
    ),
)
