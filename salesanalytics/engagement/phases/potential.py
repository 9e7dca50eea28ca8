"""Phase ``potential``: account potential, white space, market potential, key accounts.

Revenue potential and white space of every account, market potential, and the engagement's
key-account list (drawn once here, read by territory, portfolio, roles and summary).
"""

from __future__ import annotations

from pydantic import Field

from salesanalytics.analyses.portfolio.model import KeyAccountCriteria
from salesanalytics.engagement.spec import Need, PhaseParams, PhaseSpec, setting

__all__ = ["PHASE", "Params"]


class Params(PhaseParams):
    """Parameters of the potential phase."""

    quantile: float = Field(
        0.8,
        ge=0.5,
        le=0.95,
        description="Potential = this quantile of comparable customers' revenue (0.8 = top 20%).",
    )
    log_scale: bool = Field(
        True, description="Fit the potential model on log revenue (multiplicative effects)."
    )
    min_segment: int = Field(
        20,
        ge=1,
        le=1000,
        description="Minimum paying customers in a segment for its product-group white space.",
    )
    # The key-account criteria are declared once, by portfolio.KeyAccountCriteria (default and
    # bounds); the phase adds only the upper bounds of a plausible project file.
    ka_potential_quantile: float = setting(
        KeyAccountCriteria,
        "potential_quantile",
        description="Key-account criterion: potential at or above this quantile.",
    )
    ka_revenue_quantile: float = setting(
        KeyAccountCriteria,
        "revenue_quantile",
        description="Key-account criterion: MRR at or above this quantile.",
    )
    ka_min_products: int = setting(
        KeyAccountCriteria,
        "min_products",
        le=50,
        description="Key-account criterion: at least this many products.",
    )
    ka_min_locations: int = setting(
        KeyAccountCriteria,
        "min_locations",
        le=1000,
        description="Key-account criterion: a group with at least this many locations.",
    )
    ka_min_criteria: int = setting(
        KeyAccountCriteria,
        "min_criteria",
        description="How many of the four key-account criteria an account must meet.",
    )

    def key_account_criteria(self) -> KeyAccountCriteria:
        """The ``ka_*`` parameters as the portfolio analysis' settings object."""
        return KeyAccountCriteria(
            potential_quantile=self.ka_potential_quantile,
            revenue_quantile=self.ka_revenue_quantile,
            min_products=self.ka_min_products,
            min_locations=self.ka_min_locations,
            min_criteria=self.ka_min_criteria,
        )


PHASE = PhaseSpec(
    name="potential",
    notebook="10_potential.ipynb",
    title="Revenue potential and white space",
    reads=("intake",),
    writes=(
        "account_potential",
        "white_space_by_group",
        "potential_by_postal_code",
        "potential_by_municipality",
        "potential_by_canton",
        "potential_coefficients",
        "key_accounts",
    ),
    params=Params,
    seconds=3,
    needs=(
        Need(
            "revenue potential model",
            requires=("accounts.status=customer", "contracts.mrr"),
            min_rows=10,
            add="Export contracts / subscriptions, or won deals with amounts (the intake derives "
            "revenue from them), for at least 10 customers.",
        ),
        Need(
            "company size in the model",
            improves=("accounts.employees",),
            core=False,
            limitation="customers are compared by industry only, not by size",
            add="Map the number of employees of the accounts.",
        ),
        Need(
            "industry segments",
            improves=("accounts.industry",),
            core=False,
            limitation="customers are compared by size only",
            add="Map the industry / sector of the accounts.",
        ),
        Need(
            "potential by postal code, municipality and canton",
            improves=("accounts.postal_code",),
            core=False,
            limitation="no regional breakdown of the potential",
            add="Map the accounts' (Swiss) billing postal code.",
        ),
        Need(
            "white space per product group",
            improves=("products.product_group",),
            core=False,
            limitation="white space is shown for all products together",
            add="Map the product group / family of the products.",
        ),
    ),
)
