"""Phase ``portfolio``: portfolios, ABC classes, the portfolio matrix, key accounts and KPIs.

The key-account list itself is drawn by the potential phase (its ``ka_*`` parameters), so that
the territory design, this report, the role profiles and the summary count the same accounts.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from salesanalytics.engagement.paramcheck import check_order
from salesanalytics.engagement.spec import Need, PhaseParams, PhaseSpec

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

    @model_validator(mode="after")
    def _classes_in_order(self) -> Params:
        check_order(
            self,
            "abc_a_share",
            "abc_b_share",
            "class A holds the accounts making up the first abc_a_share of the cumulative "
            "revenue or potential and class B those up to abc_b_share, so A must close first",
        )
        return self


PHASE = PhaseSpec(
    name="portfolio",
    notebook="30_portfolio_key_accounts.ipynb",
    title="Portfolios, key accounts and the KPI catalogue",
    reads=("intake", "potential", "channels", "territory"),
    writes=(
        "account_segments",
        "matrix_summary",
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
        (
            "channels",
            "no channel split per matrix cell (which accounts get field visits is the channel "
            "matrix's decision)",
        ),
    ),
)
