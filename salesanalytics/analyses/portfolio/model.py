"""Portfolios and key accounts: ABC classes, the portfolio matrix, key accounts, the KPI catalogue.

Every rep's portfolio is the set of accounts assigned to them by the territory phase
(``assignment``: ``account_id``, ``rep_id``). On it:

* :func:`abc_classes`: ABC classes by cumulative share (A = the accounts making up the first 80%).
* :func:`account_measures`: one row per account with the additive measures (:data:`MEASURES`)
  every KPI is built from (MRR, contracts, churn over the window, bookings, cross-/upsell, ...).
* :func:`segment_accounts`: ABC by revenue and by potential and the portfolio matrix cell
  (develop / defend / maintain / serve efficiently, :data:`MATRIX_TREATMENTS`).
* :func:`key_accounts`: key accounts by configurable criteria (potential, revenue, products,
  locations), with a proposed key-account manager. :func:`key_account_list` draws the list once
  for the whole engagement (the potential phase owns it; territory, portfolio, roles and the
  summary read it) and :func:`flag_key_accounts` marks it on the account potential table.
* :func:`load_catalogue`, :func:`compute_kpis`, :func:`fair_ranking`: the KPI catalogue
  (``config/kpi_catalogue.yaml``) evaluated per rep and per team, normalised by potential and
  portfolio size, ranked fairly.
"""

from __future__ import annotations

import ast
import functools
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from salesanalytics.errors import require_columns
from salesanalytics.present import formats
from salesanalytics.present.i18n import N_
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "CATEGORIES",
    "MATRIX_TREATMENTS",
    "MEASURES",
    "NO_FIELD_WORK",
    "KeyAccountCriteria",
    "PortfolioConfig",
    "VACANT_LABEL",
    "abc_classes",
    "account_measures",
    "bookings_by_group",
    "channel_split",
    "compute_kpis",
    "describe_channel_split",
    "describe_portfolio",
    "fair_ranking",
    "flag_key_accounts",
    "key_account_list",
    "key_accounts",
    "kpi_wide",
    "load_catalogue",
    "matrix_summary",
    "portfolio_from_owners",
    "portfolio_overview",
    "portfolio_owners",
    "segment_accounts",
]

VACANT_LABEL = "vacant territory"
"""Name, team and peer group of a portfolio whose territory has no rep yet (a hire is needed)."""

DAYS_PER_MONTH = 365.25 / 12

CATEGORIES: tuple[str, ...] = ("contract structure", "customer structure", "product sales")
"""The seed's three KPI categories."""

MEASURES: dict[str, str] = {
    "accounts": "1 per account in the portfolio",
    "potential_mrr": "potential MRR of the account (potential phase)",
    "mrr": "MRR of the contracts active at the reference date",
    "contracts": "number of active contracts",
    "term_months_sum": "sum of the terms (months) of the active contracts",
    "monthly_mrr": "MRR of active month-to-month contracts (term of 1 month or less)",
    "auto_renewal_mrr": "MRR of active contracts that renew automatically",
    "multi_year_mrr": "MRR of active contracts with a term of 24 months or more",
    "renewal_due_mrr": "MRR of active contracts whose current term ends within the renewal window",
    "customers": "1 if the account has an active contract",
    "a_customers": "1 if the account is a customer in revenue class A",
    "tenure_months_sum": "months since customer_since, for customers",
    "customers_start": "1 if the account had an active contract at the window start",
    "customers_lost": "1 if it had one at the window start and has none now",
    "mrr_start": "MRR at the window start",
    "mrr_lost": "MRR lost over the window: cancellations and downgrades (start - now, if positive)",
    "products": "number of different products active now",
    "bookings": "won opportunity amounts closed in the window",
    "cross_sold": "1 if a customer at the window start added a product group it did not have",
    "upsold": "1 if a customer at the window start grew its MRR in a product group it had",
    "new_mrr": "MRR of contracts started in the window",
    "new_product_mrr": "MRR of contracts started in the window on products launched recently",
}
"""Additive account measures; KPI formulas in the catalogue are expressions over their sums."""

MATRIX_TREATMENTS: dict[str, str] = {
    "develop": N_(
        "High potential, low revenue today: invest selling time to win share of wallet "
        "(needs analysis, cross-sell offers, field visits for the largest)."
    ),
    "defend": N_(
        "High potential and high revenue: the most valuable relationships. Regular account "
        "reviews, early renewal talks, senior contact, proactive service."
    ),
    "maintain": N_(
        "Low remaining potential, high revenue: keep and protect. Secure renewals (auto-"
        "renewal, multi-year), efficient tele care, few visits."
    ),
    "serve efficiently": N_(
        "Low potential and low revenue: serve at the lowest cost. Which product group goes to "
        "tele, online or a field visit is the channel matrix's decision (see the channel split "
        "below)."
    ),
}
"""Portfolio matrix cells (current revenue against potential) and the recommended treatment."""

NO_FIELD_WORK = N_("no field work")
"""Row of :func:`channel_split` for the accounts the channel matrix leaves to tele and online
entirely (in no field portfolio)."""

_UNITS = {"chf", "pct", "num", "ratio", "months"}
_NORMALISATIONS = {"none", "potential", "accounts", "mrr"}


class PortfolioConfig(BaseModel):
    """Options of the portfolio measures and segments.

    Parameters
    ----------
    window_months
        Look-back window for churn, bookings, cross- and upsell.
    renewal_days
        Renewals due within this many days count in ``renewal_due_mrr``.
    new_product_months
        Products launched within this many months before the reference date are "new".
    abc_a_share, abc_b_share
        Cumulative shares closing classes A and B (A = accounts making up the first 80%).
    matrix_potential_quantile
        Portfolio matrix: an account has "high" potential when its potential is at or above this
        quantile over all accounts (0.5 = the upper half).
    matrix_revenue_quantile
        Portfolio matrix: a customer has "high" revenue when its MRR is at or above this quantile
        over the customers (accounts with MRR > 0); accounts without revenue are "low".
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_months: int = Field(12, ge=1, le=60)
    renewal_days: int = Field(90, ge=1, le=366)
    new_product_months: int = Field(24, ge=1, le=120)
    abc_a_share: float = Field(0.8, gt=0, lt=1)
    abc_b_share: float = Field(0.95, gt=0, lt=1)
    matrix_potential_quantile: float = Field(0.5, gt=0, lt=1)
    matrix_revenue_quantile: float = Field(0.5, gt=0, lt=1)

    @model_validator(mode="after")
    def _classes_in_order(self) -> PortfolioConfig:
        if self.abc_a_share >= self.abc_b_share:
            raise ValueError(
                f"abc_a_share = {self.abc_a_share!r} must be below abc_b_share = "
                f"{self.abc_b_share!r}: class A must close before class B; lower abc_a_share or "
                "raise abc_b_share"
            )
        return self


def abc_classes(values: pd.Series, a_share: float = 0.8, b_share: float = 0.95) -> pd.Series:
    """ABC classes by cumulative share of the total.

    Accounts are sorted by value (descending); an account is A while the accounts before it make
    up less than ``a_share`` of the total, B while less than ``b_share``, else C. Accounts with a
    value of zero or missing are always C.

    Parameters
    ----------
    values
        One value per account (revenue or potential), any index.
    a_share, b_share
        Cumulative shares closing A and B (``0 < a_share < b_share < 1``).

    Returns
    -------
    pandas.Series
        ``"A"``, ``"B"`` or ``"C"`` per account, same index.

    Raises
    ------
    ValueError
        If the shares are out of order or a value is negative.
    """
    if not 0 < a_share < b_share < 1:
        raise ValueError(f"need 0 < a_share < b_share < 1, got {a_share} and {b_share}")
    v = pd.to_numeric(values, errors="coerce").astype(float).fillna(0.0)
    if (v < 0).any():
        bad = v[v < 0]
        raise ValueError(
            f"abc_classes: {len(bad)} negative value(s), e.g. {bad.iloc[0]} at index "
            f"{bad.index[0]!r}; revenue and potential must be ≥ 0"
        )
    arr = v.to_numpy()
    total = arr.sum()
    cls = np.full(len(arr), "C", dtype=object)
    if total > 0:
        order = np.argsort(-arr, kind="stable")
        sorted_v = arr[order]
        before = (np.cumsum(sorted_v) - sorted_v) / total
        ranked = np.where(before < a_share, "A", np.where(before < b_share, "B", "C"))
        cls[order] = np.where(sorted_v > 0, ranked, "C")
    out = pd.Series(pd.array(cls, dtype="string"), index=values.index)
    return out
    order = v.sort_values(ascending=False, kind="stable")
    before = (order.cumsum() - order) / total
    cls = np.where(before < a_share, "A", np.where(before < b_share, "B", "C"))
    cls = np.where(order.to_numpy() > 0, cls, "C")
    out.loc[order.index] = cls
    return out


def _active(contracts: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    end = contracts["end_date"]
    return (contracts["start_date"] <= at) & (end.isna() | (end > at))


def account_measures(
    portfolio: pd.DataFrame,
    contracts: pd.DataFrame,
    as_of: str | pd.Timestamp,
    potential: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    accounts: pd.DataFrame | None = None,
    config: PortfolioConfig | None = None,
) -> pd.DataFrame:
    """One row per portfolio account with the additive :data:`MEASURES`.

    Parameters
    ----------
    portfolio
        ``account_id``, ``rep_id``: who owns which account (the territory phase's ``assignment``,
        or ``accounts.owner_id`` renamed). Accounts without a rep are kept with ``rep_id`` missing.
    contracts
        Canonical contracts: ``account_id``, ``product_id``, ``start_date``, ``end_date``,
        ``term_months``, ``auto_renewal``, ``mrr``.
    as_of
        Reference date.
    potential
        ``account_id``, ``potential_mrr`` (potential phase); missing potential counts as 0.
    products
        ``product_id``, ``product_group``, ``launch_date`` (for cross-sell and new products).
    opportunities
        ``account_id``, ``status``, ``amount``, ``close_date`` (for bookings).
    accounts
        ``account_id``, ``customer_since`` (for tenure; else the first contract start).
    config
        Options.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``rep_id`` and one column per measure; ``abc_revenue`` is added too
        (needed for ``a_customers``).
    """
    cfg = config or PortfolioConfig()
    require_columns(portfolio, ["account_id", "rep_id"], "account_measures(portfolio)")
    require_columns(
        contracts,
        [
            "account_id",
            "product_id",
            "start_date",
            "end_date",
            "term_months",
            "auto_renewal",
            "mrr",
        ],
        "account_measures(contracts)",
    )
    if portfolio["account_id"].duplicated().any():
        dup = portfolio.loc[portfolio["account_id"].duplicated(), "account_id"]
        raise ValueError(
            f"account_measures(portfolio): {len(dup)} account(s) assigned twice, e.g. "
            f"{dup.iloc[0]!r}; each account belongs to one portfolio"
        )
    t1 = pd.Timestamp(as_of)
    t0 = t1 - pd.DateOffset(months=cfg.window_months)
    out = portfolio[["account_id", "rep_id"]].copy().reset_index(drop=True)
    index = pd.Index(out["account_id"])
    n = len(index)
    out["accounts"] = 1.0
    if potential is not None:
        require_columns(potential, ["account_id", "potential_mrr"], "account_measures(potential)")
        pcode = index.get_indexer(potential["account_id"])
        ok = pcode >= 0
        out["potential_mrr"] = _per_account(n, pcode[ok], potential["potential_mrr"].fillna(0)[ok])
    else:
        out["potential_mrr"] = 0.0
    c = _coded_contracts(contracts, index, products)
    now = c.loc[_active(c, t1)]
    _book_measures(out, now, t1, cfg)
    out["tenure_months_sum"] = _tenure_months(out, c, index, accounts, t1)
    start = c.loc[_active(c, t0)]
    out["mrr_start"] = _per_account(n, start["code"].to_numpy(), start["mrr"].fillna(0))
    out["customers_start"] = (out["mrr_start"] > 0).astype(float)
    out["customers_lost"] = ((out["customers_start"] > 0) & (out["mrr"] <= 0)).astype(float)
    out["mrr_lost"] = (
        (out["mrr_start"] - out["mrr"]).clip(lower=0).where(out["customers_start"] > 0, 0.0)
    )
    _growth_measures(out, c, start, now, products, t0, t1, cfg)
    if opportunities is not None:
        require_columns(
            opportunities,
            ["account_id", "status", "amount", "close_date"],
            "account_measures(opportunities)",
        )
        o = opportunities
        won = (o["status"] == "won") & (o["close_date"] > t0) & (o["close_date"] <= t1)
        ocode = index.get_indexer(o.loc[won, "account_id"])
        amount = o.loc[won, "amount"].fillna(0).to_numpy(float)
        out["bookings"] = _per_account(n, ocode[ocode >= 0], amount[ocode >= 0])
    else:
        out["bookings"] = 0.0
    cols = ["account_id", "rep_id", *MEASURES, "abc_revenue"]
    return out[cols]


def _per_account(n: int, codes: np.ndarray, weights: Any = None) -> np.ndarray:
    """Sum of ``weights`` (or count) per portfolio account code; integer codes are fast at any size."""
    w = None if weights is None else np.asarray(weights, dtype=float)
    return np.bincount(codes, weights=w, minlength=n).astype(float)


def _coded_contracts(
    contracts: pd.DataFrame, index: pd.Index, products: pd.DataFrame | None
) -> pd.DataFrame:
    """The portfolio accounts' contracts with position, term and product group.

    The account's position (``code``), the term (at least a month) and the product group as an
    integer (``group``; the product where no group).
    """
    code_all = index.get_indexer(contracts["account_id"])
    c = contracts.loc[code_all >= 0].copy()
    c["code"] = code_all[code_all >= 0]
    c["term"] = pd.to_numeric(c["term_months"], errors="coerce").fillna(1).clip(lower=1)
    group_map = (
        products.set_index("product_id")["product_group"]
        if products is not None and "product_group" in products.columns
        else pd.Series(dtype="string")
    )
    product = c["product_id"].astype("string")
    group = product.map(group_map).astype("string").fillna(product)
    c["group"] = pd.factorize(group)[0]
    return c


def _book_measures(
    out: pd.DataFrame, now: pd.DataFrame, t1: pd.Timestamp, cfg: PortfolioConfig
) -> None:
    """The measures of the contracts active on ``t1``, added to ``out``.

    MRR by kind, contracts, products, customers, ABC class.
    """
    n = len(out)
    code = now["code"].to_numpy()
    mrr = now["mrr"].fillna(0).to_numpy(float)
    term = now["term"].to_numpy(float)
    auto = now["auto_renewal"].fillna(False).astype(bool).to_numpy()
    days_in = (t1 - now["start_date"]).dt.days.to_numpy(float)
    next_end = (np.floor(days_in / DAYS_PER_MONTH / term) + 1) * term * DAYS_PER_MONTH
    due = (next_end - days_in) <= cfg.renewal_days
    out["mrr"] = _per_account(n, code, mrr)
    out["contracts"] = _per_account(n, code)
    out["term_months_sum"] = _per_account(n, code, term)
    out["monthly_mrr"] = _per_account(n, code, mrr * (term <= 1))
    out["auto_renewal_mrr"] = _per_account(n, code, mrr * auto)
    out["multi_year_mrr"] = _per_account(n, code, mrr * (term >= 24))
    out["renewal_due_mrr"] = _per_account(n, code, mrr * due)
    prod_pairs = now[["code", "product_id"]].drop_duplicates()
    out["products"] = _per_account(n, prod_pairs["code"].to_numpy())
    out["customers"] = (out["mrr"] > 0).astype(float)
    out["abc_revenue"] = abc_classes(out["mrr"], cfg.abc_a_share, cfg.abc_b_share)
    out["a_customers"] = ((out["abc_revenue"] == "A") & (out["customers"] > 0)).astype(float)


def _tenure_months(
    out: pd.DataFrame,
    c: pd.DataFrame,
    index: pd.Index,
    accounts: pd.DataFrame | None,
    t1: pd.Timestamp,
) -> pd.Series:
    """Months each customer has been one on ``t1``; 0 for non-customers.

    From ``customer_since`` where the accounts give it, else the first contract's start.
    """
    n = len(index)
    first = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if len(c):
        fs = c.groupby("code")["start_date"].min()
        first[fs.index.to_numpy()] = fs.to_numpy(dtype="datetime64[ns]")
    since = pd.Series(first)
    if accounts is not None and "customer_since" in accounts.columns:
        acode = index.get_indexer(accounts["account_id"])
        acc_since = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        ok = acode >= 0
        acc_since[acode[ok]] = accounts["customer_since"].to_numpy(dtype="datetime64[ns]")[ok]
        since = pd.Series(acc_since).fillna(since)
    tenure = (t1 - since).dt.days / DAYS_PER_MONTH
    return tenure.where(out["customers"] > 0, 0.0).fillna(0.0).clip(lower=0)


def _growth_measures(
    out: pd.DataFrame,
    c: pd.DataFrame,
    start: pd.DataFrame,
    now: pd.DataFrame,
    products: pd.DataFrame | None,
    t0: pd.Timestamp,
    t1: pd.Timestamp,
    cfg: PortfolioConfig,
) -> None:
    """Cross-sold and upsold customers, new MRR and new products' MRR, added to ``out``.

    In the window ``(t0, t1]``.
    """
    n = len(out)
    code = now["code"].to_numpy()
    mrr = now["mrr"].fillna(0).to_numpy(float)
    # per (account, product group): MRR at the window start and now, as one integer key
    n_groups = int(c["group"].max()) + 1 if len(c) else 1
    key_start = start["code"].to_numpy(np.int64) * n_groups + start["group"].to_numpy(np.int64)
    key_now = code.astype(np.int64) * n_groups + now["group"].to_numpy(np.int64)
    keys, inv = np.unique(np.concatenate([key_start, key_now]), return_inverse=True)
    held_start = np.bincount(
        inv[: len(key_start)], weights=start["mrr"].fillna(0), minlength=len(keys)
    )
    held_now = np.bincount(inv[len(key_start) :], weights=mrr, minlength=len(keys))
    grew = (held_start > 0) & (held_now > held_start)
    upsold = np.bincount(keys[grew] // n_groups, minlength=n) > 0
    started = c.loc[(c["start_date"] > t0) & (c["start_date"] <= t1)]
    key_started = started["code"].to_numpy(np.int64) * n_groups + started["group"].to_numpy(
        np.int64
    )
    pos = np.minimum(np.searchsorted(keys, key_started), max(len(keys) - 1, 0))
    had = (
        (keys[pos] == key_started) & (held_start[pos] > 0)
        if len(keys)
        else np.zeros(len(key_started), dtype=bool)
    )
    new_group = ~had
    cross = _per_account(n, started["code"].to_numpy()[new_group]) > 0
    out["cross_sold"] = (cross & (out["customers_start"] > 0)).astype(float)
    out["upsold"] = (upsold & (out["customers_start"] > 0)).astype(float)
    out["new_mrr"] = _per_account(n, started["code"].to_numpy(), started["mrr"].fillna(0))
    if products is not None and "launch_date" in products.columns:
        launch = started["product_id"].map(products.set_index("product_id")["launch_date"])
        recent = pd.to_datetime(launch) > t1 - pd.DateOffset(months=cfg.new_product_months)
        new_prod = started["mrr"].fillna(0).where(recent.fillna(False).astype(bool), 0.0)
        out["new_product_mrr"] = _per_account(n, started["code"].to_numpy(), new_prod)
    else:
        out["new_product_mrr"] = 0.0


def bookings_by_group(
    opportunities: pd.DataFrame,
    portfolio: pd.DataFrame,
    products: pd.DataFrame,
    as_of: str | pd.Timestamp,
    window_months: int = 12,
    entity: str = "rep_id",
) -> pd.DataFrame:
    """Won bookings in the window per entity and product group (the "bookings per product group" KPI).

    Parameters
    ----------
    opportunities
        ``account_id``, ``status``, ``amount``, ``close_date``, ``product_id``.
    portfolio
        ``account_id`` and the ``entity`` column (``rep_id`` or ``team``).
    products
        ``product_id``, ``product_group``.

    Returns
    -------
    pandas.DataFrame
        Wide table: one row per entity, one column per product group (CHF), plus ``total``.
    """
    require_columns(
        opportunities,
        ["account_id", "status", "amount", "close_date", "product_id"],
        "bookings_by_group(opportunities)",
    )
    t1 = pd.Timestamp(as_of)
    t0 = t1 - pd.DateOffset(months=window_months)
    o = opportunities.loc[
        (opportunities["status"] == "won")
        & (opportunities["close_date"] > t0)
        & (opportunities["close_date"] <= t1)
    ]
    o = o.merge(portfolio[["account_id", entity]], on="account_id", how="inner")
    grp = o["product_id"].map(products.set_index("product_id")["product_group"])
    o = o.assign(product_group=grp.fillna("(no product)").astype("string"))
    wide = o.pivot_table(
        index=entity, columns="product_group", values="amount", aggfunc="sum", fill_value=0.0
    )
    wide.columns = [str(c) for c in wide.columns]
    wide["total"] = wide.sum(axis=1)
    return wide.reset_index()


def segment_accounts(measures: pd.DataFrame, config: PortfolioConfig | None = None) -> pd.DataFrame:
    """ABC classes by revenue and by potential, and the portfolio matrix cell of every account.

    High potential = potential at or above the ``config.matrix_potential_quantile`` over all
    accounts; high revenue = MRR at or above the ``config.matrix_revenue_quantile`` over the
    customers (ABC classes by cumulative share put most accounts of a flat potential
    distribution into A/B, so they are reported but do not define the matrix). Cells:
    high potential & low revenue → ``develop``; both high → ``defend``; low potential & high
    revenue → ``maintain``; both low → ``serve efficiently`` (see :data:`MATRIX_TREATMENTS`).

    Parameters
    ----------
    measures
        Output of :func:`account_measures` (``account_id``, ``rep_id``, ``mrr``,
        ``potential_mrr``, ``products``).

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``rep_id``, ``current_mrr``, ``potential_mrr``, ``abc_revenue``,
        ``abc_potential``, ``matrix_cell``, ``treatment``.
    """
    cfg = config or PortfolioConfig()
    require_columns(measures, ["account_id", "rep_id", "mrr", "potential_mrr"], "segment_accounts")
    out = measures[["account_id", "rep_id"]].copy()
    out["current_mrr"] = measures["mrr"]
    out["potential_mrr"] = measures["potential_mrr"]
    out["abc_revenue"] = abc_classes(measures["mrr"], cfg.abc_a_share, cfg.abc_b_share)
    out["abc_potential"] = abc_classes(measures["potential_mrr"], cfg.abc_a_share, cfg.abc_b_share)
    rev, pot = out["current_mrr"], out["potential_mrr"]
    pos = rev[rev > 0]
    t_rev = pos.quantile(cfg.matrix_revenue_quantile) if len(pos) else np.inf
    t_pot = pot.quantile(cfg.matrix_potential_quantile) if len(pot) else np.inf
    hi_rev = (rev > 0) & (rev >= t_rev)
    hi_pot = (pot > 0) & (pot >= t_pot)
    cell = np.select(
        [hi_pot & ~hi_rev, hi_pot & hi_rev, ~hi_pot & hi_rev],
        ["develop", "defend", "maintain"],
        "serve efficiently",
    )
    out["matrix_cell"] = pd.array(cell, dtype="string")
    out["treatment"] = (
        out["matrix_cell"].map({k: _(v) for k, v in MATRIX_TREATMENTS.items()}).astype("string")
    )
    return out.reset_index(drop=True)


def matrix_summary(segments: pd.DataFrame) -> pd.DataFrame:
    """Accounts, current and potential MRR per portfolio matrix cell, with the treatment.

    Parameters
    ----------
    segments
        Output of :func:`segment_accounts` (``matrix_cell``, ``current_mrr``, ``potential_mrr``).
    """
    require_columns(segments, ["matrix_cell", "current_mrr", "potential_mrr"], "matrix_summary")
    g = segments.groupby("matrix_cell")
    out = pd.DataFrame(
        {
            "accounts": g.size(),
            "current_mrr": g["current_mrr"].sum(),
            "potential_mrr": g["potential_mrr"].sum(),
        }
    ).reindex(list(MATRIX_TREATMENTS), fill_value=0)
    out["share_of_mrr"] = out["current_mrr"] / max(out["current_mrr"].sum(), 1e-12)
    out["treatment"] = [_(MATRIX_TREATMENTS[c]) for c in out.index]
    return out.rename_axis("matrix_cell").reset_index()


def portfolio_overview(segments: pd.DataFrame, names: pd.Series | None = None) -> pd.DataFrame:
    """Every rep's portfolio at a glance: size, revenue, potential and the matrix cells.

    Parameters
    ----------
    segments
        Output of :func:`segment_accounts` (``rep_id``, ``current_mrr``, ``potential_mrr``,
        ``matrix_cell``).
    names
        Optional rep id -> name.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``name`` (if given), ``accounts``, ``customers``, ``current_mrr``,
        ``potential_mrr``, ``penetration`` and one account count per matrix cell; largest
        potential first. Accounts without a rep appear as ``(no rep)``.
    """
    require_columns(
        segments, ["rep_id", "current_mrr", "potential_mrr", "matrix_cell"], "portfolio_overview"
    )
    seg = segments.assign(
        rep_id=segments["rep_id"].astype("string").fillna("(no rep)"),
        customer=segments["current_mrr"] > 0,
    )
    g = seg.groupby("rep_id")
    out = pd.DataFrame(
        {
            "accounts": g.size(),
            "customers": g["customer"].sum().astype("int64"),
            "current_mrr": g["current_mrr"].sum(),
            "potential_mrr": g["potential_mrr"].sum(),
        }
    )
    out["penetration"] = out["current_mrr"] / out["potential_mrr"].where(out["potential_mrr"] > 0)
    cells = pd.crosstab(seg["rep_id"], seg["matrix_cell"]).reindex(
        columns=list(MATRIX_TREATMENTS), fill_value=0
    )
    out = out.join(cells).reset_index()
    if names is not None:
        out.insert(1, "name", out["rep_id"].map(names).astype("string"))
    return out.sort_values("potential_mrr", ascending=False, ignore_index=True)


def channel_split(segments: pd.DataFrame, account_workload: pd.DataFrame) -> pd.DataFrame:
    """How the channel matrix serves the accounts of each portfolio matrix cell.

    Read from the channel phase's routing (its ``account_workload``: the share of each
    account's workload per channel), never decided here: one set of numbers for which accounts
    get field visits.

    Parameters
    ----------
    segments
        :func:`segment_accounts` (``account_id``, ``matrix_cell``): the accounts of the field
        portfolios.
    account_workload
        The channel phase's ``account_workload``: ``account_id``, ``field_share``,
        ``field_hours``, ``tele_hours``, ``online_hours`` (every account of the CRM).

    Returns
    -------
    pandas.DataFrame
        One row per matrix cell (in :data:`MATRIX_TREATMENTS` order) and a last row
        :data:`NO_FIELD_WORK` for the accounts in no field portfolio that the matrix serves by
        tele and online only: ``matrix_cell, accounts, field_all_groups`` (every product group
        in the field), ``field_some_groups`` (complex groups in the field, simple ones by tele
        or online), ``no_field`` (no field visits), ``field_hours, tele_hours, online_hours``
        (hours per year) and ``field_share`` (share of the cell's hours in the field).

    Raises
    ------
    KeyError
        If a required column is missing.
    """
    require_columns(segments, ["account_id", "matrix_cell"], "segments")
    require_columns(
        account_workload,
        ["account_id", "field_share", "field_hours", "tele_hours", "online_hours"],
        "account_workload",
    )
    aw = account_workload.assign(account_id=account_workload["account_id"].astype("string"))
    seg = segments[["account_id", "matrix_cell"]].assign(
        account_id=segments["account_id"].astype("string")
    )
    inside = aw["account_id"].isin(set(seg["account_id"].dropna()))
    rest = aw[~inside & aw["field_share"].le(0)].assign(matrix_cell=NO_FIELD_WORK)
    rows = pd.concat(
        [
            seg.merge(aw, on="account_id", how="left"),
            rest[seg.columns.tolist() + list(aw.columns[1:])],
        ],
        ignore_index=True,
    )
    share = rows["field_share"].fillna(0.0)
    rows = rows.assign(
        field_all_groups=share >= 1 - 1e-9,
        field_some_groups=(share > 0) & (share < 1 - 1e-9),
        no_field=share <= 0,
    )
    g = rows.groupby("matrix_cell", sort=False)
    out = pd.DataFrame(
        {
            "accounts": g.size(),
            "field_all_groups": g["field_all_groups"].sum(),
            "field_some_groups": g["field_some_groups"].sum(),
            "no_field": g["no_field"].sum(),
            "field_hours": g["field_hours"].sum(),
            "tele_hours": g["tele_hours"].sum(),
            "online_hours": g["online_hours"].sum(),
        }
    ).reindex([*MATRIX_TREATMENTS, NO_FIELD_WORK], fill_value=0)
    for c in ("accounts", "field_all_groups", "field_some_groups", "no_field"):
        out[c] = out[c].astype("int64")
    hours = out[["field_hours", "tele_hours", "online_hours"]].sum(axis=1)
    out["field_share"] = (out["field_hours"] / hours.where(hours > 0)).fillna(0.0)
    return out.rename_axis("matrix_cell").reset_index()


def describe_channel_split(split: pd.DataFrame) -> str:
    """One plain-language finding on :func:`channel_split`: who gets field visits."""
    s = split.set_index("matrix_cell")
    port = s.drop(index=NO_FIELD_WORK, errors="ignore")
    outside = int(s.loc[NO_FIELD_WORK, "accounts"]) if NO_FIELD_WORK in s.index else 0
    text = (
        _(
            "The channel matrix leaves {n} accounts without field visits: tele and online serve them"
        ).format(n=formats.num(s["no_field"].sum()))
        + (_(", so they are in no field portfolio") if outside == s["no_field"].sum() else "")
        + ". "
    )
    return text + _(
        "Of the {n} accounts in the field portfolios, {all_groups} are visited for every product "
        "group and {some_groups} for the complex groups only (the simple add-ons are sold by tele "
        "or online)."
    ).format(
        n=formats.num(port["accounts"].sum()),
        all_groups=formats.num(port["field_all_groups"].sum()),
        some_groups=formats.num(port["field_some_groups"].sum()),
    )


class KeyAccountCriteria(BaseModel):
    """Which accounts are key accounts.

    Thresholds on potential and revenue are quantiles among the accounts with a positive value
    (0.98 = the top 2%), so they adapt to the client's scale; ``min_potential_mrr`` /
    ``min_revenue_mrr`` override them with absolute CHF thresholds. An account is a key account
    when it meets at least ``min_criteria`` of the four criteria.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    potential_quantile: float = Field(0.98, gt=0, lt=1)
    revenue_quantile: float = Field(0.98, gt=0, lt=1)
    min_potential_mrr: float | None = Field(None, ge=0)
    min_revenue_mrr: float | None = Field(None, ge=0)
    min_products: int = Field(3, ge=1)
    min_locations: int = Field(3, ge=2)
    min_criteria: int = Field(2, ge=1, le=4)


def key_accounts(
    measures: pd.DataFrame,
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    criteria: KeyAccountCriteria | None = None,
) -> pd.DataFrame:
    """Key accounts by configurable criteria, with a proposed key-account manager.

    Locations: accounts sharing a ``parent_account_id`` (plus the parent) form a group; each
    member counts the group's size. Key-account managers (reps with role ``key_account``) are
    proposed per group: a group already owned by a key-account manager keeps them; the others are
    dealt to the managers in snake order of potential, which balances their potential. Without
    key-account managers the current rep is proposed.

    Parameters
    ----------
    measures
        Output of :func:`account_measures` (``account_id``, ``rep_id``, ``mrr``,
        ``potential_mrr``, ``products``).
    accounts
        ``account_id``, ``name``; ``parent_account_id`` if groups exist.
    reps
        ``rep_id``, ``name``, ``role``.
    criteria
        The criteria.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``name``, ``group_id``, ``rep_id``, ``potential_mrr``, ``current_mrr``,
        ``products``, ``locations``, ``criteria_met`` (text), ``n_criteria``,
        ``proposed_kam_id``, ``proposed_kam_name``; highest potential first.
    """
    cr = criteria or KeyAccountCriteria()
    require_columns(
        measures, ["account_id", "rep_id", "mrr", "potential_mrr", "products"], "key_accounts"
    )
    require_columns(accounts, ["account_id", "name"], "key_accounts(accounts)")
    require_columns(reps, ["rep_id", "name", "role"], "key_accounts(reps)")
    m = measures.merge(accounts[["account_id", "name"]], on="account_id", how="left")
    parent = (
        accounts.set_index("account_id")["parent_account_id"]
        if "parent_account_id" in accounts.columns
        else pd.Series(dtype="string")
    )
    m["group_id"] = m["account_id"].map(parent).fillna(m["account_id"]).astype("string")
    all_groups = accounts["account_id"].map(parent).fillna(accounts["account_id"])
    m["locations"] = m["group_id"].map(all_groups.value_counts()).fillna(1).astype(int)

    def threshold(col: str, q: float, absolute: float | None) -> float:
        if absolute is not None:
            return absolute
        pos = m.loc[m[col] > 0, col]
        return float(pos.quantile(q)) if len(pos) else np.inf

    t_pot = threshold("potential_mrr", cr.potential_quantile, cr.min_potential_mrr)
    t_rev = threshold("mrr", cr.revenue_quantile, cr.min_revenue_mrr)
    flags = pd.DataFrame(
        {
            "potential": m["potential_mrr"] >= t_pot,
            "revenue": m["mrr"] >= t_rev,
            "products": m["products"] >= cr.min_products,
            "locations": m["locations"] >= cr.min_locations,
        }
    )
    m["n_criteria"] = flags.sum(axis=1).astype(int)
    chosen = (m["n_criteria"] >= cr.min_criteria).to_numpy()
    ka = m.loc[chosen].copy()
    f = flags.loc[chosen]
    text = pd.Series("", index=f.index, dtype="string")
    for name in f.columns:
        text = text.where(~f[name], text + np.where(text == "", "", ", ") + _(name))
    ka["criteria_met"] = text
    ka = ka.rename(columns={"mrr": "current_mrr"})

    kams = reps.loc[reps["role"] == "key_account", ["rep_id", "name"]]
    kam_names = reps.set_index("rep_id")["name"]
    if len(kams) == 0:
        ka["proposed_kam_id"] = ka["rep_id"]
    else:
        grp = ka.groupby("group_id").agg(pot=("potential_mrr", "sum"), owner=("rep_id", "first"))
        owned = grp["owner"].isin(kams["rep_id"])
        free = grp.loc[~owned].sort_values("pot", ascending=False)
        k = len(kams)
        pos = np.arange(len(free))
        snake = np.where((pos // k) % 2 == 0, pos % k, k - 1 - pos % k)
        assigned = pd.Series(kams["rep_id"].to_numpy()[snake], index=free.index)
        assigned = pd.concat([assigned, grp.loc[owned, "owner"]])
        ka["proposed_kam_id"] = ka["group_id"].map(assigned)
    ka["proposed_kam_name"] = ka["proposed_kam_id"].map(kam_names).astype("string")
    cols = [
        "account_id",
        "name",
        "group_id",
        "rep_id",
        "potential_mrr",
        "current_mrr",
        "products",
        "locations",
        "criteria_met",
        "n_criteria",
        "proposed_kam_id",
        "proposed_kam_name",
    ]
    return ka[cols].sort_values("potential_mrr", ascending=False, ignore_index=True)


def key_account_list(
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    contracts: pd.DataFrame,
    potential: pd.DataFrame,
    as_of: str | pd.Timestamp,
    products: pd.DataFrame | None = None,
    criteria: KeyAccountCriteria | None = None,
) -> pd.DataFrame:
    """The engagement's key accounts, drawn once on today's portfolios.

    This is the one definition every phase uses: the potential phase writes it, the territory
    design carves these accounts out of the field territories and hands them to the proposed
    key-account manager, the portfolio report, the role profiles and the summary read it.
    Measures are taken on today's owners (``accounts.owner_id``), so the list does not depend on
    the new territories.

    Parameters
    ----------
    accounts
        Canonical accounts: ``account_id``, ``name``, ``owner_id``; ``parent_account_id`` if
        groups exist; ``customer_since`` optional.
    reps
        ``rep_id``, ``name``, ``role``.
    contracts
        Canonical contracts (see :func:`account_measures`).
    potential
        ``account_id``, ``potential_mrr``.
    as_of
        Reference date.
    products
        ``product_id``, ``product_group``, ``launch_date`` (optional).
    criteria
        The key-account criteria.

    Returns
    -------
    pandas.DataFrame
        As :func:`key_accounts`.
    """
    require_columns(accounts, ["account_id", "name", "owner_id"], "key_account_list(accounts)")
    measures = account_measures(
        portfolio_from_owners(accounts),
        contracts,
        as_of,
        potential=potential,
        products=products,
        accounts=accounts,
    )
    return key_accounts(measures, accounts, reps, criteria)


def flag_key_accounts(account_potential: pd.DataFrame, key: pd.DataFrame) -> pd.DataFrame:
    """``account_potential`` with the key-account list marked on it.

    Parameters
    ----------
    account_potential
        One row per account: ``account_id``.
    key
        Output of :func:`key_account_list` (``account_id``, ``proposed_kam_id``).

    Returns
    -------
    pandas.DataFrame
        A copy with ``key_account`` (bool) and ``key_account_manager_id`` (the proposed
        key-account manager; missing for other accounts).
    """
    require_columns(account_potential, ["account_id"], "flag_key_accounts(account_potential)")
    require_columns(key, ["account_id", "proposed_kam_id"], "flag_key_accounts(key)")
    out = account_potential.copy()
    kam = pd.Series(
        key["proposed_kam_id"].astype("string").to_numpy(),
        index=key["account_id"].astype(str).to_numpy(),
    )
    ids = out["account_id"].astype(str)
    out["key_account"] = ids.isin(kam.index).to_numpy()
    out["key_account_manager_id"] = ids.map(kam).astype("string").to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# KPI catalogue
# --------------------------------------------------------------------------------------------

_CATALOGUE_FIELDS = (
    "id",
    "name",
    "category",
    "definition",
    "formula",
    "unit",
    "direction",
    "normalisation",
    "normalised_unit",
    "ranking",
    "window",
)


_FORMULA_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.USub,
    ast.UAdd,
)


@functools.lru_cache(maxsize=256)
def _compile_formula(formula: str) -> Any:
    """Compile a KPI formula: arithmetic (+ - * /, numbers, parentheses) over :data:`MEASURES`.

    Raises
    ------
    ValueError
        If the formula does not parse, uses another construct or an unknown measure.
    """
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"syntax error: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _FORMULA_NODES):
            raise ValueError(f"'{type(node).__name__}' is not allowed (only + - * / and numbers)")
        if isinstance(node, ast.Name) and node.id not in MEASURES:
            raise ValueError(f"unknown measure '{node.id}'")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ValueError(f"constant {node.value!r} is not a number")
    return compile(tree, "<kpi formula>", "eval")


def load_catalogue(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check the KPI catalogue (default: ``salesanalytics/config/kpi_catalogue.yaml``).

    Returns
    -------
    pandas.DataFrame
        One row per KPI with the columns ``id``, ``name``, ``category``, ``definition``,
        ``formula``, ``unit``, ``direction``, ``normalisation``, ``normalised_unit``, ``ranking``,
        ``window``.

    Raises
    ------
    ValueError
        Listing every problem at once: missing fields, unknown category / unit / direction /
        normalisation, duplicate ids, formulas using unknown measures.
    """
    if path is None:
        text = (
            resources.files("salesanalytics")
            .joinpath("config/kpi_catalogue.yaml")
            .read_text(encoding="utf-8")
        )
        where = "kpi_catalogue.yaml"
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    data: Any = yaml.safe_load(text)
    items = data.get("kpis") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ValueError(f"{where}: expected a top-level 'kpis:' list with at least one KPI")
    problems: list[str] = []
    seen: set[str] = set()
    for i, k in enumerate(items):
        label = f"{where}: KPI #{i + 1} ({k.get('id', '?') if isinstance(k, dict) else '?'})"
        if not isinstance(k, dict):
            problems.append(f"{label}: not a mapping")
            continue
        missing = [f for f in _CATALOGUE_FIELDS if f not in k]
        if missing:
            problems.append(f"{label}: missing field(s) {', '.join(missing)}")
            continue
        if k["id"] in seen:
            problems.append(f"{label}: duplicate id")
        seen.add(k["id"])
        if k["category"] not in CATEGORIES:
            problems.append(f"{label}: category {k['category']!r} not one of {CATEGORIES}")
        if k["unit"] not in _UNITS or k["normalised_unit"] not in _UNITS:
            problems.append(f"{label}: unit must be one of {sorted(_UNITS)}")
        if k["direction"] not in ("higher", "lower"):
            problems.append(f"{label}: direction {k['direction']!r} must be 'higher' or 'lower'")
        if k["normalisation"] not in _NORMALISATIONS:
            problems.append(
                f"{label}: normalisation {k['normalisation']!r} not one of {sorted(_NORMALISATIONS)}"
            )
        try:
            _compile_formula(str(k["formula"]))
        except ValueError as exc:
            problems.append(
                f"{label}: formula {k['formula']!r} cannot be evaluated ({exc}); "
                f"use the measures {', '.join(MEASURES)}"
            )
    if problems:
        raise ValueError(
            f"{len(problems)} problem(s) in the KPI catalogue:\n" + "\n".join(problems)
        )
    return pd.DataFrame([{f: k[f] for f in _CATALOGUE_FIELDS} for k in items])


def compute_kpis(
    measures: pd.DataFrame,
    entity: pd.Series,
    catalogue: pd.DataFrame,
    level: str = "rep",
    peers: pd.Series | None = None,
) -> pd.DataFrame:
    """Evaluate the catalogue per entity (rep or team): value, normalised value, rank, score.

    Each formula is evaluated on the sums of the account measures over the entity's accounts.
    The normalised value divides by the portfolio's yearly potential (``potential``), its number
    of accounts (``accounts``) or its MRR (``mrr``). Ranks are on the normalised value in the
    KPI's direction (1 = best); ``score`` is the percentile (100 = best, 0 = worst).

    Parameters
    ----------
    measures
        Output of :func:`account_measures`.
    entity
        Entity id per row of ``measures`` (e.g. ``measures["rep_id"]`` or the reps' team); rows
        with a missing entity are left out and counted in ``attrs["excluded"]``.
    catalogue
        Output of :func:`load_catalogue`.
    level
        Label written to the ``level`` column (``rep`` or ``team``).
    peers
        Optional entity id -> peer group (e.g. the rep's role): ranks and scores are then
        computed within each peer group, so key-account managers are compared with each other
        and not with field reps whose portfolios are structurally different.

    Returns
    -------
    pandas.DataFrame
        Long format: ``level``, ``entity_id``, ``kpi_id``, ``value``, ``normalised``, ``rank``,
        ``score``, ``n_entities`` (entities ranked with it), ``peer_group``.
    """
    require_columns(measures, list(MEASURES), "compute_kpis(measures)")
    ent = pd.Series(entity.to_numpy(), index=measures.index)
    keep = ent.notna()
    sums = measures.loc[keep, list(MEASURES)].groupby(ent[keep].astype("string")).sum()
    group = pd.Series("all", index=sums.index, dtype="string")
    if peers is not None:
        group = pd.Series(sums.index.map(peers), index=sums.index, dtype="string").fillna("other")
    kpis = list(catalogue.itertuples())
    columns = dict(sums.items())  # the measures by name, for the formulas
    values, norms = [], []
    for k in kpis:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = pd.Series(
                eval(_compile_formula(k.formula), {"__builtins__": {}}, columns),
                index=sums.index,
            ).astype(float)
            if k.normalisation == "potential":
                norm = value / (12 * sums["potential_mrr"])
            elif k.normalisation == "accounts":
                norm = value / sums["accounts"]
            elif k.normalisation == "mrr":
                norm = value / sums["mrr"]
            else:
                norm = value
        values.append(value.replace([np.inf, -np.inf], np.nan))
        norms.append(norm.replace([np.inf, -np.inf], np.nan))
    # ranks and counts within each peer group, all KPIs of one direction at once (grouping is the
    # expensive part; each column is ranked on its own, as one KPI at a time)
    codes = pd.factorize(group)[0]
    wide = pd.DataFrame(dict(enumerate(norms)), index=sums.index)
    counts = wide.groupby(codes).transform("count")
    ranks = pd.DataFrame(index=sums.index, columns=wide.columns, dtype="float64")
    for asc in (False, True):
        cols = [i for i, k in enumerate(kpis) if (k.direction == "lower") == asc]
        if cols:
            ranks[cols] = wide[cols].groupby(codes).rank(ascending=asc, method="min")
    frames = []
    for i, k in enumerate(kpis):
        norm, rank, n = norms[i], ranks[i], counts[i]
        score = ((n - rank) / (n - 1) * 100).where(n > 1, 100.0)
        frames.append(
            pd.DataFrame(
                {
                    "level": level,
                    "entity_id": sums.index,
                    "kpi_id": k.id,
                    "value": values[i].to_numpy(),
                    "normalised": norm.to_numpy(),
                    "rank": rank.astype("Int64").to_numpy(),
                    "score": score.where(norm.notna()).to_numpy(),
                    "n_entities": n.astype("int64").to_numpy(),
                    "peer_group": group.to_numpy(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["entity_id"] = out["entity_id"].astype("string")
    out.attrs["excluded"] = {"accounts without entity": int((~keep).sum())} if (~keep).any() else {}
    return out


def fair_ranking(kpis: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """Overall ranking: the mean score over the catalogue's ranking KPIs (normalised values).

    Parameters
    ----------
    kpis
        Output of :func:`compute_kpis` (``entity_id``, ``kpi_id``, ``score``).
    catalogue
        Output of :func:`load_catalogue` (``id``, ``ranking``, ``category``).

    Returns
    -------
    pandas.DataFrame
        ``entity_id``, ``peer_group``, ``overall_score`` (0-100), one ``score_<category>`` column
        per category, ``kpis_scored``, ``rank`` (1 = best within the peer group); by peer group,
        best first.
    """
    require_columns(kpis, ["entity_id", "kpi_id", "score"], "fair_ranking(kpis)")
    cat = catalogue.loc[catalogue["ranking"].astype(bool), ["id", "category"]]
    k = kpis.merge(cat, left_on="kpi_id", right_on="id", how="inner")
    overall = k.groupby("entity_id")["score"].agg(["mean", "count"])
    by_cat = k.pivot_table(index="entity_id", columns="category", values="score", aggfunc="mean")
    by_cat.columns = [f"score_{c.replace(' ', '_')}" for c in by_cat.columns]
    out = overall.rename(columns={"mean": "overall_score", "count": "kpis_scored"}).join(by_cat)
    if "peer_group" in kpis.columns:
        peer = kpis.drop_duplicates("entity_id").set_index("entity_id")["peer_group"]
        out["peer_group"] = out.index.map(peer)
    else:
        out["peer_group"] = "all"
    out["rank"] = (
        out.groupby("peer_group")["overall_score"]
        .rank(ascending=False, method="min")
        .astype("Int64")
    )
    out = out.reset_index().sort_values(["peer_group", "rank", "entity_id"], ignore_index=True)
    cols = ["entity_id", "peer_group", "overall_score", *by_cat.columns, "kpis_scored", "rank"]
    return out[cols]


# --------------------------------------------------------------------------------------------
# helpers for the report
# --------------------------------------------------------------------------------------------

_UNIT_FORMAT = {"chf": "chf", "pct": "pct", "num": "num", "ratio": "num1", "months": "num1"}


def portfolio_from_owners(accounts: pd.DataFrame) -> pd.DataFrame:
    """Today's portfolios from ``accounts.owner_id`` (until the territory phase has run).

    Parameters
    ----------
    accounts
        Canonical accounts (``account_id``, ``owner_id``).

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``rep_id``.
    """
    require_columns(accounts, ["account_id", "owner_id"], "portfolio_from_owners")
    return accounts[["account_id", "owner_id"]].rename(columns={"owner_id": "rep_id"})


def portfolio_owners(portfolios: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Who holds each portfolio: the rep's name, team and role, or a vacancy.

    A territory plan with more territories than reps leaves territories without a rep; their
    portfolios carry an id that is not in the reps table (``VACANT-01``...). They are named
    ``vacant territory (VACANT-01)`` and form a team and peer group of their own, so every
    account stays in some portfolio (totals are conserved) and no vacancy is ranked among reps.

    Parameters
    ----------
    portfolios
        ``account_id``, ``rep_id`` (e.g. the territory phase's assignment).
    reps
        Canonical reps (``rep_id``, ``name``, ``team``, ``role``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``rep_id`` (every id of ``reps`` and of ``portfolios``): ``name``, ``team``,
        ``role`` (the peer group for fair rankings) and ``vacant`` (bool).
    """
    require_columns(portfolios, ["rep_id"], "portfolio_owners(portfolios)")
    require_columns(reps, ["rep_id", "name", "team", "role"], "portfolio_owners(reps)")
    known = reps.drop_duplicates("rep_id").set_index(reps["rep_id"].drop_duplicates().astype(str))
    out = known[["name", "team", "role"]].astype("string")
    out.index.name = "rep_id"
    extra = sorted(set(portfolios["rep_id"].dropna().astype(str)) - set(out.index))
    vac = pd.DataFrame(
        {
            "name": [f"{VACANT_LABEL} ({r})" for r in extra],
            "team": VACANT_LABEL,
            "role": VACANT_LABEL,
        },
        index=pd.Index(extra, name="rep_id"),
    ).astype("string")
    out = pd.concat([out.assign(vacant=False), vac.assign(vacant=True)])
    out["name"] = out["name"].fillna(pd.Series(out.index, index=out.index).astype("string"))
    return out


def kpi_wide(
    kpis: pd.DataFrame,
    catalogue: pd.DataFrame,
    names: pd.Series | None = None,
    column: str = "value",
) -> tuple[pd.DataFrame, dict[str, str]]:
    """KPIs as a wide table (one row per entity, one column per KPI name) and display formats.

    Parameters
    ----------
    kpis
        Output of :func:`compute_kpis` (``entity_id``, ``kpi_id``, ``value``, ``normalised``).
    catalogue
        Output of :func:`load_catalogue` (``id``, ``name``, ``unit``, ``normalised_unit``).
    names
        Optional entity id -> display name; adds a ``name`` column.
    column
        ``"value"`` or ``"normalised"``.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table and the ``formats`` argument for :func:`salesanalytics.present.style.table`.
    """
    require_columns(kpis, ["entity_id", "kpi_id", column], "kpi_wide")
    wide = kpis.pivot_table(index="entity_id", columns="kpi_id", values=column, aggfunc="first")
    cat = catalogue.set_index("id")
    ids = [i for i in cat.index if i in wide.columns]
    wide = wide[ids]
    unit_col = "unit" if column == "value" else "normalised_unit"
    fmt = {cat.loc[i, "name"]: _UNIT_FORMAT[cat.loc[i, unit_col]] for i in ids}
    wide.columns = [cat.loc[i, "name"] for i in ids]
    wide = wide.reset_index()
    if names is not None:
        wide.insert(1, "name", wide["entity_id"].map(names).astype("string"))
    return wide, fmt


def describe_portfolio(
    summary: pd.DataFrame,
    key_accounts: pd.DataFrame,
    ranking: pd.DataFrame,
    channel_split: pd.DataFrame | None = None,
) -> list[str]:
    """Plain-language findings on the portfolio matrix, key accounts and the rep ranking.

    Parameters
    ----------
    summary
        Output of :func:`matrix_summary`.
    key_accounts
        Output of :func:`key_accounts`.
    ranking
        Output of :func:`fair_ranking` (with an optional ``name`` column).
    channel_split
        :func:`channel_split`: when the channel matrix leaves accounts to tele and online
        entirely, the portfolios are the field portfolios and the shares say so (the MRR of the
        whole client is the intake's).
    """
    outside = 0
    if channel_split is not None and len(channel_split):
        cs = channel_split.set_index("matrix_cell")
        outside = int(cs.loc[NO_FIELD_WORK, "accounts"]) if NO_FIELD_WORK in cs.index else 0
    s = summary.set_index("matrix_cell")
    total_acc = max(int(s["accounts"].sum()), 1)
    dev = s.loc["develop"] if "develop" in s.index else None
    out = []
    if dev is not None:
        out.append(
            _(
                "{n} accounts ({share}) have high potential but little or no revenue today "
                "('develop'): together {potential} potential MRR against {current} today. This is "
                "where additional selling time pays most."
            ).format(
                n=formats.num(dev["accounts"]),
                share=formats.pct(dev["accounts"] / total_acc, 0),
                potential=formats.chf(dev["potential_mrr"]),
                current=formats.chf(dev["current_mrr"]),
            )
        )
    if "defend" in s.index:
        d = s.loc["defend"]
        out.append(
            (
                _(
                    "{n} accounts carry {share} of the field portfolios' MRR and still have high "
                    "potential ('defend'): they need regular reviews and early renewal talks."
                )
                if outside
                else _(
                    "{n} accounts carry {share} of today's MRR and still have high potential "
                    "('defend'): they need regular reviews and early renewal talks."
                )
            ).format(n=formats.num(d["accounts"]), share=formats.pct(d["share_of_mrr"], 0))
        )
    out.append(
        _(
            "{n} accounts qualify as key accounts ({potential} potential MRR); each has a "
            "proposed key-account manager."
        ).format(
            n=formats.num(len(key_accounts)),
            potential=formats.chf(key_accounts["potential_mrr"].sum()),
        )
    )
    label = "name" if "name" in ranking.columns else "entity_id"
    peer = (
        ranking["peer_group"]
        if "peer_group" in ranking.columns
        else pd.Series("all", index=ranking.index)
    )
    for group, r in ranking.groupby(peer, sort=False):
        if group == VACANT_LABEL:
            out.append(
                _(
                    "{n} portfolio(s) belong to territories without a rep yet (vacant "
                    "territories; a hire is needed): they are listed but not ranked."
                ).format(n=formats.num(len(r)))
            )
            continue
        if len(r) < 2:
            continue
        r = r.sort_values("overall_score", ascending=False)
        top, bottom = r.iloc[0], r.iloc[-1]
        among = (
            ""
            if group == "all"
            else _(" among the {group} reps").format(group=_(str(group).replace("_", "-")))
        )
        out.append(
            _(
                "Measured fairly (KPIs normalised by each portfolio's potential and size, compared "
                "with peers){among}, {top} leads with a score of {top_score} of 100; {bottom} is "
                "last with {bottom_score}."
            ).format(
                among=among,
                top=top[label],
                top_score=formats.num(top["overall_score"]),
                bottom=bottom[label],
                bottom_score=formats.num(bottom["overall_score"]),
            )
        )
    return out
