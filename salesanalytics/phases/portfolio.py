"""Phase ``portfolio``: portfolios, ABC classes, the portfolio matrix, key accounts and KPIs."""

from __future__ import annotations

from pydantic import Field

from salesanalytics.pipeline.spec import Need, PhaseParams, PhaseSpec

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the portfolio phase."""

    window_months: int = Field(
        12,
        ge=1,
        le=60,
        description="Look-back window in months for churn, bookings, cross-/upsell.",
    )
    renewal_days: int = Field(
        90, ge=1, le=366, description="Renewals due within this many days are listed as due."
    )
    new_product_months: int = Field(
        24, ge=1, le=120, description="Products launched within this many months count as new."
    )
    abc_a_share: float = Field(
        0.8, gt=0, lt=1, description="Cumulative share of revenue/potential closing class A."
    )
    abc_b_share: float = Field(
        0.95, gt=0, lt=1, description="Cumulative share of revenue/potential closing class B."
    )
    ka_potential_quantile: float = Field(
        0.98, gt=0, lt=1, description="Key-account criterion: potential at or above this quantile."
    )
    ka_revenue_quantile: float = Field(
        0.98, gt=0, lt=1, description="Key-account criterion: MRR at or above this quantile."
    )
    ka_min_products: int = Field(
        3, ge=1, le=50, description="Key-account criterion: at least this many products."
    )
    ka_min_locations: int = Field(
        3,
        ge=2,
        le=1000,
        description="Key-account criterion: a group with at least this many locations.",
    )
    ka_min_criteria: int = Field(
        2, ge=1, le=4, description="How many of the four key-account criteria an account must meet."
    )


PHASE = PhaseSpec(
    name="portfolio",
    notebook="30_portfolio_key_accounts.ipynb",
    title="Portfolios, key accounts and the KPI catalogue",
    reads=("intake", "potential", "territory"),
    writes=(
        "account_segments",
        "matrix_summary",
        "key_accounts",
        "kpi_catalogue",
        "rep_kpis",
        "team_kpis",
        "rep_ranking",
        "bookings_by_group",
    ),
    params=Params,
    seconds=2,
    needs=(
        Need(
            "portfolio matrix, ABC classes and key accounts",
            requires=("accounts", "contracts"),
            add="Export contracts / subscriptions, or won deals with amounts.",
        ),
        Need(
            "portfolios per rep",
            requires=("accounts.owner_id",),
            add="Map the account owner (or export deals with their owners).",
        ),
        Need(
            "cross-selling and renewal KPIs",
            improves=("opportunities", "products.product_group"),
            core=False,
            limitation="deal-based KPIs are left empty",
            add="Export the opportunities and the product groups.",
        ),
    ),
    optional_reads=(
        ("territory", "portfolios are today's account owners instead of the new territories"),
    ),
)
