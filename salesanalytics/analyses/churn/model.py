"""Churn: who the client keeps, who it loses and why.

Building blocks, all working on plain DataFrames:

* :func:`build_customer_table` turns the canonical ``contracts`` (+ ``accounts``) into one row per
  customer with duration, churn event and the covariates fixed at acquisition (first contract's
  term, auto-renewal, channel, number of products at start).
* :func:`retention_rates`: logo and revenue churn, gross and net revenue retention over a window,
  by any segment (cohort, channel, product group, rep).
* :func:`km_curves`: Kaplan–Meier retention curves with pointwise confidence bands
  (statsmodels ``SurvfuncRight``).
* :func:`fit_cox`: Cox proportional-hazards model (statsmodels ``PHReg``) on any customer table
  described by a :class:`ModelConfig` (duration, event, covariates, categorical reference levels);
  :func:`describe_hazard_ratios` writes the result up in plain words.
* :func:`design_matrix`: the shared model-matrix builder. Categorical levels that duplicate another
  column (e.g. "No internet service") are dropped and reported; a singular design raises a
  ``ValueError`` naming the culprit columns instead of a linear-algebra traceback.
* :func:`fit_logistic`, :func:`roc_auc`, :func:`calibration_by_decile`,
  :func:`cross_validated_auc`, :func:`snapshot_table`, :func:`propensity_out_of_time`: churn
  propensity (logistic GLM) validated out of time, and the at-risk list.
* The shifted-beta-geometric model of contractual retention (Fader & Hardie 2007):
  :func:`fit_sbg`, :func:`sbg_survival`, :func:`sbg_retention`, :func:`sbg_derl`,
  :func:`sbg_periods_from_customers`, :func:`sbg_projection`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from pydantic import BaseModel, ConfigDict, Field
from scipy import optimize, special, stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight

from salesanalytics.errors import require_columns
from salesanalytics.ingest.derive import CHURN_FALSE, CHURN_TRUE, parse_flag
from salesanalytics.present import formats
from salesanalytics.present.i18n import N_
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "DAYS_PER_MONTH",
    "MAX_LEVELS",
    "MAX_LEVEL_SHARE",
    "CoxResult",
    "CustomerTableConfig",
    "DesignMatrix",
    "LogisticResult",
    "ModelConfig",
    "OutOfTimeResult",
    "SBGFit",
    "SURVIVAL_GROUPS",
    "active_mrr",
    "at_risk_by_rep",
    "build_customer_table",
    "calibration_by_decile",
    "canonical_cox_config",
    "churn_driver_config",
    "cross_validated_auc",
    "describe_hazard_ratios",
    "describe_churn",
    "describe_excluded",
    "design_matrix",
    "prepare_model_table",
    "drop_constant_covariates",
    "fit_cox",
    "fit_logistic",
    "fit_sbg",
    "km_curves",
    "propensity_cross_validated",
    "propensity_out_of_time",
    "retention_rates",
    "retention_summary",
    "risk_bands",
    "roc_auc",
    "sbg_derl",
    "sbg_periods_from_customers",
    "sbg_projection",
    "sbg_retention",
    "sbg_survival",
    "snapshot_table",
    "survival_groups",
    "with_attributes",
]

DAYS_PER_MONTH = 365.25 / 12
"""Average days per month, used to express durations in months."""


def _months_between(start: pd.Series, end: pd.Series) -> pd.Series:
    return (end - start).dt.days / DAYS_PER_MONTH


def _active_mask(contracts: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    end = contracts["end_date"]
    return (contracts["start_date"] <= at) & (end.isna() | (end > at))


def active_mrr(
    contracts: pd.DataFrame, at: str | pd.Timestamp, by: str = "account_id"
) -> pd.Series:
    """MRR of the contracts active on date ``at``, summed per ``by``.

    Parameters
    ----------
    contracts
        Canonical contracts; required columns ``start_date``, ``end_date`` (empty while active),
        ``mrr`` and ``by`` (default ``account_id``). A contract is active on ``at`` if
        ``start_date <= at`` and it has no end date or ends after ``at``.
    at
        The reference date.
    by
        Column to sum by.

    Returns
    -------
    pandas.Series
        MRR per ``by`` value (only those with an active contract).
    """
    require_columns(contracts, ["start_date", "end_date", "mrr", by], "active_mrr(contracts)")
    m = _active_mask(contracts, pd.Timestamp(at))
    return contracts.loc[m].groupby(by, observed=True)["mrr"].sum()


# --------------------------------------------------------------------------------------------
# customer table
# --------------------------------------------------------------------------------------------


class CustomerTableConfig(BaseModel):
    """How :func:`build_customer_table` derives the customer table from contracts.

    Parameters
    ----------
    start_window_days
        Contracts starting within this many days of ``customer_since`` count as "products at start".
    customer_since_from
        ``"accounts"``: use ``accounts.customer_since`` where filled (else the first contract start);
        ``"contracts"``: always the first contract start.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_window_days: int = Field(30, ge=0, le=366)
    customer_since_from: str = Field("accounts", pattern="^(accounts|contracts)$")


def build_customer_table(
    contracts: pd.DataFrame,
    accounts: pd.DataFrame,
    as_of: str | pd.Timestamp,
    config: CustomerTableConfig | None = None,
    products: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (current or former) customer: duration, churn event, covariates at acquisition.

    An account has churned when none of its contracts is active at ``as_of``; its churn date is the
    latest contract end. Duration is in months from ``customer_since`` to the churn date, or to
    ``as_of`` for customers still active (censored).

    Parameters
    ----------
    contracts
        Canonical contracts; required columns ``contract_id``, ``account_id``, ``product_id``,
        ``start_date``, ``end_date``, ``term_months``, ``auto_renewal``, ``mrr``, ``channel``.
    accounts
        Canonical accounts; required columns ``account_id``, ``owner_id``; ``customer_since`` is
        used when present (see :class:`CustomerTableConfig`).
    as_of
        The export's reference date ("today"); contracts starting after it are ignored (counted).
    config
        Derivation options.
    products
        Optional canonical products (``product_id``, ``product_group``) to add the first contract's
        ``first_product_group``.

    Returns
    -------
    pandas.DataFrame
        Columns ``account_id``, ``rep_id`` (accounts.owner_id), ``customer_since``, ``churn_date``
        (NaT while active), ``duration_months``, ``churned`` (bool), ``cohort`` (year of
        customer_since), ``first_term`` (term of the first contract, as text), ``auto_renewal``
        (bool, of the first contract), ``channel`` (of the first contract), ``n_products_start``,
        ``mrr_start``, ``mrr_current``, ``first_product_group`` (if ``products`` given).
        ``df.attrs["excluded"]`` maps reasons to counts of rows left out.
    """
    cfg = config or CustomerTableConfig()
    require_columns(
        contracts,
        ["contract_id", "account_id", "product_id", "start_date", "end_date", "term_months"]
        + ["auto_renewal", "mrr", "channel"],
        "build_customer_table(contracts)",
    )
    require_columns(accounts, ["account_id", "owner_id"], "build_customer_table(accounts)")
    as_of = pd.Timestamp(as_of)
    excluded: dict[str, int] = {}
    c = _usable_contracts(contracts, as_of, excluded)
    cust = _customer_lifetimes(c, accounts, as_of, cfg, excluded)
    first = _add_start_covariates(cust, c, cfg)
    ids = cust["account_id"]
    cols = [
        "account_id",
        "rep_id",
        "customer_since",
        "churn_date",
        "duration_months",
        "churned",
        "cohort",
        "first_term",
        "auto_renewal",
        "channel",
        "n_products_start",
        "mrr_start",
        "mrr_current",
    ]
    if products is not None:
        require_columns(products, ["product_id", "product_group"], "build_customer_table(products)")
        group = products.set_index("product_id")["product_group"]
        cust["first_product_group"] = ids.map(first["product_id"]).map(group).astype("string")
        cols.append("first_product_group")
    out = cust[cols].reset_index(drop=True)
    out["churned"] = out["churned"].astype(bool)
    out.attrs["excluded"] = excluded
    return out


def _usable_contracts(
    contracts: pd.DataFrame, as_of: pd.Timestamp, excluded: dict[str, int]
) -> pd.DataFrame:
    """The contracts with an account and a start on or before ``as_of``; ends after it unknown.

    Rows left out are counted into ``excluded`` by reason; an end after ``as_of`` is not known
    yet and becomes NaT (the contract is active).
    """
    c = contracts[
        ["contract_id", "account_id", "product_id", "start_date", "end_date", "term_months"]
        + ["auto_renewal", "mrr", "channel"]
    ]
    bad = c["start_date"].isna() | c["account_id"].isna()
    if bad.any():
        excluded["contracts without account or start date"] = int(bad.sum())
    future = c["start_date"] > as_of
    if future.any():
        excluded["contracts starting after as_of"] = int(future.sum())
    c = c.loc[~bad & ~future].copy()
    # an end after as_of is not known yet: treat it as active
    c.loc[c["end_date"] > as_of, "end_date"] = pd.NaT
    return c


def _customer_lifetimes(
    c: pd.DataFrame,
    accounts: pd.DataFrame,
    as_of: pd.Timestamp,
    cfg: CustomerTableConfig,
    excluded: dict[str, int],
) -> pd.DataFrame:
    """Per customer: ``customer_since``, ``churned``, ``churn_date`` and ``duration_months``.

    ``c`` are :func:`_usable_contracts`; customers whose churn date lies before their
    ``customer_since`` are left out and counted into ``excluded``.
    """
    first_start = c.groupby("account_id")["start_date"].min()
    cust = pd.DataFrame({"account_id": first_start.index, "first_start": first_start.to_numpy()})
    acc = accounts[["account_id", "owner_id"]].copy()
    acc["customer_since_acc"] = (
        accounts["customer_since"] if "customer_since" in accounts.columns else pd.NaT
    )
    cust = cust.merge(acc, on="account_id", how="left")
    since = cust["first_start"]
    if cfg.customer_since_from == "accounts":
        since = cust["customer_since_acc"].where(cust["customer_since_acc"].notna(), since)
    cust["customer_since"] = pd.to_datetime(since).astype("datetime64[ns]")

    active = c["end_date"].isna()
    n_active = active.groupby(c["account_id"]).sum()
    last_end = c.groupby("account_id")["end_date"].max()
    cust["churned"] = cust["account_id"].map(n_active).fillna(0).to_numpy() == 0
    ends = pd.to_datetime(last_end).astype("datetime64[ns]")  # reindex: map fails when empty
    cust["churn_date"] = pd.Series(
        ends.reindex(cust["account_id"].to_numpy()).to_numpy(), index=cust.index
    ).where(cust["churned"])
    cust["churn_date"] = pd.to_datetime(cust["churn_date"]).astype("datetime64[ns]")
    end = cust["churn_date"].where(cust["churned"], as_of)
    cust["duration_months"] = _months_between(cust["customer_since"], end)
    neg = cust["duration_months"] < 0
    if neg.any():
        excluded["customers whose churn date is before customer_since"] = int(neg.sum())
    return cust.loc[~neg].copy()


def _add_start_covariates(
    cust: pd.DataFrame, c: pd.DataFrame, cfg: CustomerTableConfig
) -> pd.DataFrame:
    """Add the covariates at acquisition and today's MRR to ``cust`` (in place).

    The first contract is the earliest start, then the highest MRR, then the contract id
    (deterministic); "at start" counts contracts within ``start_window_days`` of
    ``customer_since``. Returns the first contract per account (index account id).
    """
    active = c["end_date"].isna()
    cs = c.merge(cust[["account_id", "customer_since"]], on="account_id", how="inner")
    cs = cs.sort_values(["account_id", "start_date", "mrr", "contract_id"], ascending=[1, 1, 0, 1])
    first = cs.drop_duplicates("account_id").set_index("account_id")
    window = pd.Timedelta(days=cfg.start_window_days)
    early = cs["start_date"] <= cs["customer_since"] + window
    n_start = cs.loc[early].groupby("account_id")["product_id"].nunique()
    mrr_start = cs.loc[early].groupby("account_id")["mrr"].sum()
    mrr_now = c.loc[active].groupby("account_id")["mrr"].sum()

    ids = cust["account_id"]
    cust["rep_id"] = cust["owner_id"].astype("string")
    cust["cohort"] = cust["customer_since"].dt.year.astype("Int64")
    cust["first_term"] = ids.map(first["term_months"]).astype("Int64").astype("string")
    cust["auto_renewal"] = ids.map(first["auto_renewal"]).astype("boolean")
    cust["channel"] = ids.map(first["channel"]).astype("string")
    cust["n_products_start"] = ids.map(n_start).fillna(1).astype("int64").clip(lower=1)
    cust["mrr_start"] = ids.map(mrr_start).fillna(0.0).astype("float64")
    cust["mrr_current"] = ids.map(mrr_now).fillna(0.0).astype("float64")
    return first


# --------------------------------------------------------------------------------------------
# churn and retention rates
# --------------------------------------------------------------------------------------------


def retention_rates(
    contracts: pd.DataFrame,
    as_of: str | pd.Timestamp,
    window_months: int = 12,
    by: str | None = None,
) -> pd.DataFrame:
    """Logo and revenue churn, gross and net revenue retention over the window before ``as_of``.

    The base is every (account, segment) with MRR at the window start ``t0 = as_of - window``;
    its MRR at ``as_of`` decides: zero = churned logo (all its MRR is churned MRR), lower =
    contraction, higher = expansion. New customers won in the window are not in the base.

    Parameters
    ----------
    contracts
        Contracts with ``account_id``, ``start_date``, ``end_date``, ``mrr`` and, if given, the
        segment column ``by`` (account attributes such as cohort or rep must be merged onto the
        contracts first; a contract-level column such as ``product_group`` gives churn per product).
    as_of
        End of the window.
    window_months
        Window length in months.
    by
        Segment column, or ``None`` for the total.

    Returns
    -------
    pandas.DataFrame
        One row per segment: ``segment`` (the ``by`` value or ``"total"``), ``customers_start``,
        ``customers_lost``, ``logo_churn``, ``mrr_start``, ``mrr_churned``, ``mrr_contraction``,
        ``mrr_expansion``, ``mrr_end``, ``revenue_churn`` (churned + contraction ÷ start),
        ``grr``, ``nrr``.

    Raises
    ------
    ValueError
        If ``window_months`` is not positive.
    """
    if window_months <= 0:
        raise ValueError(f"window_months must be positive, got {window_months}")
    cols = ["account_id", "start_date", "end_date", "mrr"] + ([by] if by else [])
    require_columns(contracts, cols, "retention_rates(contracts)")
    t1 = pd.Timestamp(as_of)
    t0 = t1 - pd.DateOffset(months=window_months)
    c = contracts[cols]
    return _rates(
        pd.factorize(c["account_id"])[0],
        c[by] if by else None,
        c["mrr"].fillna(0).to_numpy(float),
        _active_mask(c, t0).to_numpy(),
        _active_mask(c, t1).to_numpy(),
        by or "_segment",
    )


def _rates(
    account: np.ndarray,
    segment: pd.Series | None,
    mrr: np.ndarray,
    on0: np.ndarray,
    on1: np.ndarray,
    seg: str,
) -> pd.DataFrame:
    """:func:`retention_rates` from per-contract arrays (account codes, MRR, active masks)."""
    if segment is None:
        labels_codes, labels = np.zeros(len(account), dtype=np.intp), pd.Index(["total"])
    else:
        labels_codes, labels = pd.factorize(segment.astype("string").fillna("(unknown)"))
    # one integer key per (account, segment): fast at millions of contracts
    key = account.astype(np.int64) * len(labels) + labels_codes
    keys, inv = np.unique(key, return_inverse=True)
    start_k = np.bincount(inv[on0], weights=mrr[on0], minlength=len(keys))
    end_k = np.bincount(inv[on1], weights=mrr[on1], minlength=len(keys))
    # a customer at the start: MRR then; without any revenue in the data (a flat customer
    # extract): an active contract then, lost when none is active at the end
    by_revenue = bool((mrr > 0).any())
    if by_revenue:
        in_base = start_k > 0
    else:
        in_base = np.bincount(inv[on0], minlength=len(keys)) > 0
        active_end = np.bincount(inv[on1], minlength=len(keys)) > 0
    base = pd.DataFrame(
        {
            seg: pd.Categorical.from_codes(keys[in_base] % len(labels), categories=labels)
            if len(labels)
            else pd.Categorical([]),
            "start": start_k[in_base],
            "end": end_k[in_base],
        }
    )
    lost = base["end"] <= 0 if by_revenue else pd.Series(~active_end[in_base], index=base.index)
    base["churned"] = base["start"].where(lost, 0.0)
    base["contraction"] = (base["start"] - base["end"]).clip(lower=0).where(~lost, 0.0)
    base["expansion"] = (base["end"] - base["start"]).clip(lower=0)
    base["lost"] = lost
    g = base.groupby(seg, observed=True)
    sums = g[["lost", "start", "churned", "contraction", "expansion", "end"]].sum()
    out = pd.DataFrame(
        {
            "customers_start": g.size(),
            "customers_lost": sums["lost"],
            "mrr_start": sums["start"],
            "mrr_churned": sums["churned"],
            "mrr_contraction": sums["contraction"],
            "mrr_expansion": sums["expansion"],
            "mrr_end": sums["end"],
        }
    )
    out["logo_churn"] = out["customers_lost"] / out["customers_start"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["revenue_churn"] = (out["mrr_churned"] + out["mrr_contraction"]) / out["mrr_start"]
    out["grr"] = 1 - out["revenue_churn"]
    out["nrr"] = out["mrr_end"] / out["mrr_start"]
    out = out.reset_index().rename(columns={seg: "segment"})
    out["segment"] = out["segment"].astype("string")
    order = [
        "segment",
        "customers_start",
        "customers_lost",
        "logo_churn",
        "mrr_start",
        "mrr_churned",
        "mrr_contraction",
        "mrr_expansion",
        "mrr_end",
        "revenue_churn",
        "grr",
        "nrr",
    ]
    out["customers_lost"] = out["customers_lost"].astype("int64")
    return out[order].sort_values("mrr_start", ascending=False, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------


def km_curves(
    customers: pd.DataFrame,
    duration: str = "duration_months",
    event: str = "churned",
    by: str | None = None,
    grid: Sequence[float] | None = None,
    alpha: float = 0.05,
    min_customers: int = 20,
) -> pd.DataFrame:
    """Kaplan–Meier retention curves with pointwise confidence bands, per group.

    Fitted with statsmodels ``SurvfuncRight``; the band uses the log(-log) transform, which stays
    within [0, 1]. Curves are evaluated on a common ``grid`` (default: whole months from 0 to the
    longest duration) so they can be plotted and stored compactly.

    Parameters
    ----------
    customers
        One row per customer; required columns ``duration`` (time observed, ≥ 0), ``event`` (bool
        or 0/1: 1 = churned, 0 = still active / censored) and ``by`` if given.
    duration, event, by
        Column names.
    grid
        Times at which to evaluate the curves.
    alpha
        1 - confidence level of the band.
    min_customers
        Groups with fewer customers are left out (counted in ``attrs["excluded"]``).

    Returns
    -------
    pandas.DataFrame
        Long table ``group``, ``time``, ``survival``, ``ci_low``, ``ci_high``, ``at_risk``,
        ``n`` (customers in the group).
    """
    require_columns(customers, [duration, event] + ([by] if by else []), "km_curves(customers)")
    df = customers[[duration, event] + ([by] if by else [])].copy()
    bad = df[duration].isna() | df[event].isna() | (df[duration] < 0)
    df = df.loc[~bad]
    if grid is None:
        grid = np.arange(0, np.floor(df[duration].max() if len(df) else 0) + 1)
    grid = np.asarray(grid, dtype=float)
    groups = df.groupby(df[by].astype("string").fillna("(unknown)")) if by else [("all", df)]
    z = stats.norm.ppf(1 - alpha / 2)
    frames = []
    excluded: dict[str, int] = {}
    if bad.any():
        excluded["rows with missing or negative duration/event"] = int(bad.sum())
    for name, g in groups:
        if len(g) < min_customers:
            excluded[f"group {name!r} (fewer than {min_customers} customers)"] = len(g)
            continue
        sf = SurvfuncRight(
            g[duration].to_numpy(float), g[event].astype(float).to_numpy(), title=str(name)
        )
        times = np.asarray(sf.surv_times)
        idx = np.searchsorted(times, grid, side="right") - 1
        prob = np.where(idx >= 0, np.asarray(sf.surv_prob)[np.maximum(idx, 0)], 1.0)
        se = np.where(idx >= 0, np.asarray(sf.surv_prob_se)[np.maximum(idx, 0)], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            loglog = np.log(-np.log(prob))
            se_ll = se / (prob * np.abs(np.log(prob)))
            lo = np.exp(-np.exp(loglog + z * se_ll))
            hi = np.exp(-np.exp(loglog - z * se_ll))
        lo = np.where(np.isfinite(lo), lo, prob)
        hi = np.where(np.isfinite(hi), hi, prob)
        at_risk = len(g) - np.searchsorted(np.sort(g[duration].to_numpy(float)), grid, side="left")
        frames.append(
            pd.DataFrame(
                {
                    "group": str(name),
                    "time": grid,
                    "survival": prob,
                    "ci_low": lo,
                    "ci_high": hi,
                    "at_risk": at_risk,
                    "n": len(g),
                }
            )
        )
    cols = ["group", "time", "survival", "ci_low", "ci_high", "at_risk", "n"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out.attrs["excluded"] = excluded
    return out


# --------------------------------------------------------------------------------------------
# model configuration and design matrix
# --------------------------------------------------------------------------------------------


class ModelConfig(BaseModel):
    """Which columns of a customer table a churn model uses.

    Parameters
    ----------
    event
        Churn indicator column (bool or 0/1; 1 = churned).
    duration
        Time observed (Cox models only), e.g. months since the customer started.
    covariates
        Explanatory columns. Text/categorical/bool-like text columns are dummy-coded; numeric and
        bool columns enter as they are.
    categorical
        Columns to treat as categorical even if numeric (e.g. contract term 1/12/24/36), mapped to
        their reference level (``None`` = the most frequent level).
    labels
        Optional plain-language names for columns, used in :func:`describe_hazard_ratios`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str
    duration: str | None = None
    covariates: tuple[str, ...]
    categorical: dict[str, str | None] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


def canonical_cox_config() -> ModelConfig:
    """The churn-driver model on the table of :func:`build_customer_table`.

    First contract's term (reference 12 months), auto-renewal, acquisition channel (reference
    field) and number of products at start.
    """
    return ModelConfig(
        event="churned",
        duration="duration_months",
        covariates=("first_term", "auto_renewal", "channel", "n_products_start"),
        categorical={"first_term": "12", "channel": "field"},
        labels={
            "first_term": "first contract term (months)",
            "auto_renewal": "automatic renewal",
            "channel": "acquisition channel",
            "n_products_start": "product at start",
        },
    )


MAX_LEVELS = 50
"""A categorical covariate may have at most this many levels (each becomes a model term) ..."""
MAX_LEVEL_SHARE = 0.05
"""... and at most this share of the rows (an id, a name or amounts read as text has nearly one
level per row: one-hot encoding it makes a fit that runs for minutes and explains nothing)."""
NUMERIC_TEXT_SHARE = 0.95
"""A text covariate whose filled values are numbers in at least this share is read as numbers."""


def prepare_model_table(
    df: pd.DataFrame,
    config: ModelConfig,
    what: str = "model",
    max_levels: int = MAX_LEVELS,
    max_level_share: float = MAX_LEVEL_SHARE,
    check_levels: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """Check and coerce a model's input columns before anything is fitted.

    * the event column: booleans, 0/1 and the usual spellings (Yes/No, True/False,
      "Churned"/"Stayed", "Exited"/"Retained", ...) become 0/1 (noted when it was text); any other
      value is an error naming the column and the values;
    * a covariate stored as text whose filled values are numbers (at least
      :data:`NUMERIC_TEXT_SHARE`, e.g. charges exported as text) is read as numbers, the
      unreadable values becoming missing (noted);
    * a text covariate with only flag spellings (Yes/No, True/False) becomes 0/1 (noted);
    * a categorical covariate with more than ``max_levels`` levels or more levels than
      ``max_level_share`` of the rows is refused (with ``check_levels``): one-hot encoding an id or
      a name makes a fit that runs for minutes and explains nothing.

    Every problem is reported at once. Categorical columns declared in ``config.categorical``
    are left as they are.

    Parameters
    ----------
    df
        The model table with ``config.event``, ``config.covariates`` (and ``config.duration``).
    config
        The model configuration.
    what
        Name of the model, for messages.

    Returns
    -------
    tuple
        A copy of ``df`` with the coerced columns, and notes on what was coerced.

    Raises
    ------
    KeyError
        If a configured column is missing.
    ValueError
        Naming every column that cannot be used and what to do.
    """
    needed = list(config.covariates) + [config.event]
    require_columns(df, needed, f"{what}: customer table")
    out = df.copy()
    notes: list[str] = []
    problems: list[str] = []
    ev = out[config.event]
    if not (pd.api.types.is_numeric_dtype(ev) or pd.api.types.is_bool_dtype(ev)):
        flag = parse_flag(ev, churn=True)
        if flag is None:
            odd = sorted(
                set(ev.astype("string").str.strip().str.lower().dropna().unique())
                - CHURN_TRUE
                - CHURN_FALSE
            )
            problems.append(
                f"event column '{config.event}' has value(s) {', '.join(map(repr, odd[:8]))} that "
                "are not a churn flag: use 1/0, Yes/No, True/False or Churned/Stayed"
            )
        else:
            out[config.event] = flag
            notes.append(f"'{config.event}' read as a churn flag (1 = churned) from text")
    elif pd.api.types.is_bool_dtype(ev):
        out[config.event] = ev.astype("Float64").astype(float)
    n = max(len(out), 1)
    for col in config.covariates:
        s = out[col]
        if col in config.categorical or pd.api.types.is_numeric_dtype(s):
            continue
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.astype("Float64").astype(float)
            continue
        txt = s.astype("string").str.strip()
        filled = txt.dropna()
        filled = filled[filled != ""]
        num = pd.to_numeric(filled.str.replace("'", "", regex=False), errors="coerce")
        if len(filled) and num.notna().mean() >= NUMERIC_TEXT_SHARE:
            values = pd.to_numeric(txt.str.replace("'", "", regex=False), errors="coerce")
            bad = int(txt.notna().sum() - values.notna().sum())
            out[col] = values.astype(float)
            notes.append(
                f"'{col}' is text holding numbers: read as numbers"
                + (f" ({bad:,} empty or unreadable value(s) left out)" if bad else "")
            )
            continue
        flag = parse_flag(txt)
        if flag is not None:
            out[col] = flag
            notes.append(f"'{col}' read as a yes/no flag (1 = yes)")
            continue
        levels = int(filled.nunique())
        limit = min(max_levels, max(2, int(max_level_share * n)))
        if check_levels and levels > limit:
            problems.append(
                f"categorical covariate '{col}' has {levels:,} distinct values (limit {limit:,}: "
                f"at most {max_levels} and at most {max_level_share:.0%} of the {n:,} rows); it "
                "looks like an id, a name or numbers stored as text. Leave it out of the "
                "covariates, group its values into a few classes, or convert it to numbers"
            )
    if problems:
        raise ValueError(f"{what}: the inputs cannot be used: " + "; ".join(problems) + ".")
    return out, notes


def drop_constant_covariates(
    config: ModelConfig, df: pd.DataFrame
) -> tuple[ModelConfig, list[str]]:
    """``config`` without the covariates that do not vary in ``df``.

    A covariate with fewer than two distinct filled values cannot be estimated by any model: e.g.
    the contract term when every contract was derived from a won deal with the same term. Returns
    the reduced config and the dropped covariates' labels (for a note in the report).

    Raises
    ------
    ValueError
        If no covariate varies (naming them): there is nothing to explain churn with.
    """
    keep, dropped = [], []
    for c in config.covariates:
        if c in df.columns and df[c].dropna().nunique() >= 2:
            keep.append(c)
        else:
            dropped.append(config.labels.get(c, c))
    if not keep:
        raise ValueError(
            "none of the covariates "
            + ", ".join(repr(c) for c in config.covariates)
            + " varies between customers: the churn drivers cannot be estimated. Export the "
            "contract terms, renewal flags and sales channels of the contracts."
        )
    cat = {k: v for k, v in config.categorical.items() if k in keep}
    return config.model_copy(update={"covariates": tuple(keep), "categorical": cat}), dropped


@dataclass
class DesignMatrix:
    """A model matrix with its provenance.

    Attributes
    ----------
    X
        Float matrix, one column per term (no intercept).
    source
        Term -> the input column it came from.
    reference
        Categorical column -> its reference level.
    dropped
        Human-readable notes on terms dropped because they duplicate another column.
    mask
        Boolean mask of the input rows used (rows with missing values are excluded).
    """

    X: pd.DataFrame
    source: dict[str, str]
    reference: dict[str, str]
    dropped: list[str] = field(default_factory=list)
    mask: pd.Series | None = None


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def design_matrix(
    df: pd.DataFrame, config: ModelConfig, intercept: bool = False, what: str = "model"
) -> DesignMatrix:
    """Build the model matrix of ``config.covariates`` from ``df``.

    Categorical columns are dummy-coded against their reference level (named ``col[level]``).
    Rows with a missing covariate, event or duration are excluded (``mask``); the caller reports
    the count. Dummy columns identical to an earlier column (e.g. ``OnlineSecurity[No internet
    service]`` = ``InternetService[No]``) are dropped and noted in ``dropped``.

    Parameters
    ----------
    df
        The customer table; required columns: ``config.covariates``, ``config.event`` and
        ``config.duration`` (if set).
    config
        Model configuration.
    intercept
        Whether the model has an intercept (logistic: yes; Cox: no). Used in the singularity check.
    what
        Name of the model, for messages.

    Raises
    ------
    KeyError
        If a configured column is missing from ``df``.
    ValueError
        If a covariate is constant, or the design is singular (one term is a linear combination of
        others); the message names the culprit columns.
    """
    needed = (
        list(config.covariates) + [config.event] + ([config.duration] if config.duration else [])
    )
    require_columns(df, needed, f"{what}: customer table")
    unknown = [c for c in config.categorical if c not in config.covariates]
    if unknown:
        raise KeyError(
            f"{what}: categorical column(s) {', '.join(unknown)} are not among the covariates "
            f"({', '.join(config.covariates)})"
        )
    mask = df[needed].notna().all(axis=1)
    d = df.loc[mask, list(config.covariates)]
    parts: list[pd.DataFrame] = []
    source: dict[str, str] = {}
    reference: dict[str, str] = {}
    problems: list[str] = []
    for col in config.covariates:
        s = d[col]
        if col in config.categorical or _is_categorical(s):
            s = s.astype("string")
            counts = s.value_counts()
            if len(counts) < 2:
                problems.append(f"'{col}' has a single value ({', '.join(counts.index)})")
                continue
            ref = config.categorical.get(col) or str(counts.index[0])
            if ref not in counts.index:
                raise ValueError(
                    f"{what}: reference level {ref!r} of '{col}' does not occur; "
                    f"levels: {', '.join(map(str, counts.index))}"
                )
            reference[col] = ref
            levels = sorted(lv for lv in counts.index if lv != ref)
            for lv in levels:
                name = f"{col}[{lv}]"
                parts.append(pd.DataFrame({name: (s == lv).astype(float).to_numpy()}))
                source[name] = col
        else:
            v = pd.to_numeric(s, errors="coerce").astype(float)
            if v.nunique() < 2:
                problems.append(f"'{col}' is constant ({v.iloc[0] if len(v) else 'no rows'})")
                continue
            parts.append(pd.DataFrame({col: v.to_numpy()}))
            source[col] = col
    if problems:
        raise ValueError(
            f"{what}: covariate(s) without variation cannot be estimated: {'; '.join(problems)}. "
            "Remove them from the covariates or filter the customer table differently."
        )
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=range(int(mask.sum())))
    X.index = d.index
    # drop exact duplicates of an earlier term (e.g. "No internet service" levels)
    dropped: list[str] = []
    if X.shape[1] > 1:
        M = X.to_numpy(float)
        signature = np.round(np.sin(np.arange(1, len(M) + 1)) @ M, 6)
        keep: list[str] = []
        for j, name in enumerate(X.columns):
            twin = next(
                (
                    k
                    for k in keep
                    if signature[X.columns.get_loc(k)] == signature[j]
                    and np.array_equal(X[k].to_numpy(), M[:, j])
                ),
                None,
            )
            if twin is None:
                keep.append(name)
            else:
                dropped.append(f"'{name}' duplicates '{twin}' and was dropped")
        X = X[keep]
    _check_rank(X, intercept, what, source)
    return DesignMatrix(X=X, source=source, reference=reference, dropped=dropped, mask=mask)


def _check_rank(X: pd.DataFrame, intercept: bool, what: str, source: Mapping[str, str]) -> None:
    M = X.to_numpy(float)
    names = list(X.columns)
    if intercept:
        M = np.column_stack([np.ones(len(M)), M])
        names = ["(intercept)", *names]
    if M.shape[1] == 0:
        return
    if M.shape[0] <= M.shape[1]:
        raise ValueError(
            f"{what}: only {M.shape[0]} complete rows for {M.shape[1]} model terms; "
            "use fewer covariates or more data."
        )
    scale = np.sqrt((M**2).sum(axis=0))
    scale[scale == 0] = 1
    gram = (M / scale).T @ (M / scale)  # k x k: cheap even for millions of rows
    eigval, eigvec = np.linalg.eigh(gram)
    null = eigval < eigval.max() * 1e-10
    rank = int((~null).sum())
    if rank == M.shape[1]:
        return
    groups = []
    involved: set[str] = set()
    for v in eigvec[:, null].T:
        w = np.abs(v) / np.abs(v).max()
        names_in = [names[i] for i in np.flatnonzero(w > 1e-4)]
        involved.update(names_in)
        groups.append(" + ".join(repr(n) for n in names_in))
    cols = sorted({source.get(n, n) for n in involved} - {"(intercept)"})
    raise ValueError(
        f"{what}: the design matrix is singular (rank {rank} of {M.shape[1]} terms): these "
        f"terms are linear combinations of each other: {'; '.join(groups)}. Culprit column(s): "
        f"{', '.join(cols)}. Drop one of them from the covariates or merge the levels that carry "
        "the same information."
    )


# --------------------------------------------------------------------------------------------
# Cox proportional hazards
# --------------------------------------------------------------------------------------------


@dataclass
class CoxResult:
    """Result of :func:`fit_cox`.

    Attributes
    ----------
    hazard_ratios
        One row per term: ``term``, ``column``, ``level``, ``reference``, ``hazard_ratio``,
        ``ci_low``, ``ci_high``, ``p_value``, ``coef``, ``se``, ``kind`` (``level`` of a
        categorical, ``binary`` 0/1 column, ``numeric``).
    n, events
        Customers and churn events used.
    excluded
        Rows left out (missing values), by reason.
    dropped
        Notes on duplicate terms dropped.
    """

    hazard_ratios: pd.DataFrame
    n: int
    events: int
    excluded: dict[str, int]
    dropped: list[str]
    config: ModelConfig


def fit_cox(
    customers: pd.DataFrame, config: ModelConfig, alpha: float = 0.05, ties: str = "breslow"
) -> CoxResult:
    """Fit a Cox proportional-hazards model of churn (statsmodels ``PHReg``).

    Parameters
    ----------
    customers
        One row per customer; required columns ``config.duration``, ``config.event`` and
        ``config.covariates``.
    config
        Model configuration; ``duration`` must be set.
    alpha
        1 - confidence level of the hazard-ratio intervals.
    ties
        ``"breslow"`` (fast) or ``"efron"``.

    Returns
    -------
    CoxResult
        Hazard ratios with confidence intervals (HR > 1: churns faster than the reference).

    Raises
    ------
    ValueError
        If ``config.duration`` is not set, there are no events, or the design is singular.
    """
    if not config.duration:
        raise ValueError("fit_cox: config.duration is not set; name the duration column")
    customers, notes = prepare_model_table(customers, config, what="Cox model")
    dm = design_matrix(customers, config, intercept=False, what="Cox model")
    sub = customers.loc[dm.mask]
    dur = pd.to_numeric(sub[config.duration], errors="coerce").astype(float).to_numpy()
    ev = sub[config.event].astype(float).to_numpy()
    if ev.sum() == 0:
        raise ValueError(
            f"Cox model: no churn events in column '{config.event}' ({len(sub)} customers); "
            "nothing to explain."
        )
    res = PHReg(dur, dm.X.to_numpy(float), status=ev, ties=ties).fit()
    ci = np.asarray(res.conf_int(alpha=alpha))
    params = np.asarray(res.params)
    terms = list(dm.X.columns)
    cols = [dm.source[t] for t in terms]
    hr = pd.DataFrame(
        {
            "term": terms,
            "column": cols,
            "level": [
                t[len(c) + 1 : -1] if t != c else "" for t, c in zip(terms, cols, strict=True)
            ],
            "reference": [dm.reference.get(c, "") for c in cols],
            "hazard_ratio": np.exp(params),
            "ci_low": np.exp(ci[:, 0]),
            "ci_high": np.exp(ci[:, 1]),
            "p_value": np.asarray(res.pvalues),
            "coef": params,
            "se": np.asarray(res.bse),
        }
    )
    binary = [bool(np.isin(dm.X[t].to_numpy(), [0.0, 1.0]).all()) for t in terms]
    hr["kind"] = np.where(hr["level"] != "", "level", np.where(binary, "binary", "numeric"))
    n_ex = int((~dm.mask).sum())
    return CoxResult(
        hazard_ratios=hr,
        n=len(sub),
        events=int(ev.sum()),
        excluded={"rows with missing values": n_ex} if n_ex else {},
        dropped=notes + dm.dropped,
        config=config,
    )


def describe_hazard_ratios(result: CoxResult, alpha: float = 0.05) -> list[str]:
    """Plain-language sentences for a client, one per term, strongest effects first.

    Parameters
    ----------
    result
        A :class:`CoxResult`.
    alpha
        Terms with a p-value above ``alpha`` are described as "no clear difference".
    """
    cfg = result.config
    hr = result.hazard_ratios.assign(strength=lambda d: np.abs(np.log(d["hazard_ratio"])))
    out = []
    for r in hr.sort_values("strength", ascending=False).itertuples():
        label = cfg.labels.get(r.column, r.column)
        label = _(label)
        if r.level:
            who = _("Customers with {label} = {level} (compared with {reference})").format(
                label=label, level=_(str(r.level)), reference=_(str(r.reference))
            )
        elif r.kind == "binary":
            who = _("Customers with {label}").format(label=label)
        else:
            who = _("Per additional {label}, customers").format(label=label)
        if r.p_value > alpha:
            out.append(
                _(
                    "{who}: no clear difference in churn (hazard ratio {hr}, range {low}–{high})."
                ).format(
                    who=who,
                    hr=formats.num(r.hazard_ratio, 2),
                    low=formats.num(r.ci_low, 2),
                    high=formats.num(r.ci_high, 2),
                )
            )
            continue
        if r.hazard_ratio >= 1:
            effect = _("churn {pct} faster").format(pct=formats.pct(r.hazard_ratio - 1, 0))
        else:
            effect = _("churn {pct} slower").format(pct=formats.pct(1 - r.hazard_ratio, 0))
        out.append(
            _("{who} {effect} (hazard ratio {hr}, 95% range {low}–{high}).").format(
                who=who,
                effect=effect,
                hr=formats.num(r.hazard_ratio, 2),
                low=formats.num(r.ci_low, 2),
                high=formats.num(r.ci_high, 2),
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# logistic propensity
# --------------------------------------------------------------------------------------------


@dataclass
class LogisticResult:
    """A fitted logistic churn model: terms, coefficients and the design recipe."""

    params: pd.Series
    reference: dict[str, str]
    source: dict[str, str]
    config: ModelConfig
    n: int
    dropped: list[str]

    def predict(self, df: pd.DataFrame) -> pd.Series:
        """Churn probability for each row of ``df`` (NaN where a covariate is missing).

        ``df`` needs the covariate columns of the config; unseen categorical levels count as the
        reference level.
        """
        require_columns(df, list(self.config.covariates), "predict")
        if self.config.event not in df.columns:
            df = df.assign(**{self.config.event: 0.0})
        df, _ = prepare_model_table(df, self.config, what="predict", check_levels=False)
        eta = np.full(len(df), float(self.params["(intercept)"]))
        for term, beta in self.params.items():
            if term == "(intercept)":
                continue
            col = self.source[term]
            if col in self.reference:
                lv = term[len(col) + 1 : -1]
                x = (df[col].astype("string") == lv).fillna(False).to_numpy(float)
            else:
                x = pd.to_numeric(df[col], errors="coerce").astype(float).to_numpy()
            eta = eta + beta * x
        miss = df[list(self.config.covariates)].isna().any(axis=1).to_numpy()
        p = special.expit(eta)
        p[miss] = np.nan
        return pd.Series(p, index=df.index, name="churn_probability")


def fit_logistic(df: pd.DataFrame, config: ModelConfig) -> LogisticResult:
    """Fit a logistic GLM (statsmodels, binomial family) of ``config.event`` on the covariates.

    Parameters
    ----------
    df
        Training table; required columns ``config.event`` (0/1 or bool) and ``config.covariates``.
    config
        Model configuration (``duration`` is ignored).

    Raises
    ------
    ValueError
        If the event has a single value or the design is singular (culprits named).
    """
    cfg = config.model_copy(update={"duration": None})
    df, notes = prepare_model_table(df, cfg, what="logistic model")
    dm = design_matrix(df, cfg, intercept=True, what="logistic model")
    y = df.loc[dm.mask, cfg.event].astype(float).to_numpy()
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"logistic model: event column '{cfg.event}' has a single value in the "
            f"{len(y)} rows; need both churned and retained customers"
        )
    X = sm.add_constant(dm.X.to_numpy(float), has_constant="add")
    res = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    params = pd.Series(np.asarray(res.params), index=["(intercept)", *dm.X.columns])
    return LogisticResult(params, dm.reference, dm.source, cfg, len(y), notes + dm.dropped)


def roc_auc(y_true: Sequence[float] | np.ndarray, score: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney statistic; ties count one half).

    Raises
    ------
    ValueError
        If ``y_true`` contains only one class.
    """
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(score, dtype=float)
    ok = ~np.isnan(s) & ~np.isnan(y)
    y, s = y[ok], s[ok]
    n1 = int((y == 1).sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        raise ValueError("roc_auc: need both positive and negative cases")
    ranks = stats.rankdata(s)
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def calibration_by_decile(
    y_true: Sequence[float] | np.ndarray, prob: Sequence[float] | np.ndarray, bins: int = 10
) -> pd.DataFrame:
    """Predicted against observed churn by decile of predicted probability.

    Returns
    -------
    pandas.DataFrame
        ``decile`` (1 = lowest risk), ``customers``, ``predicted`` (mean probability),
        ``observed`` (churn share).
    """
    df = pd.DataFrame({"y": np.asarray(y_true, float), "p": np.asarray(prob, float)}).dropna()
    df["decile"] = pd.qcut(df["p"].rank(method="first"), bins, labels=False) + 1
    g = df.groupby("decile")
    return pd.DataFrame(
        {"customers": g.size(), "predicted": g["p"].mean(), "observed": g["y"].mean()}
    ).reset_index()


def cross_validated_auc(
    df: pd.DataFrame, config: ModelConfig, folds: int = 5, seed: int = 0
) -> list[float]:
    """ROC AUC of the logistic model under ``folds``-fold cross-validation (shuffled with ``seed``).

    Parameters
    ----------
    df
        Table with ``config.event`` and ``config.covariates``.
    """
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    df, _ = prepare_model_table(df, config, what="logistic model")
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(df)) % folds
    aucs = []
    for k in range(folds):
        train, test = df.iloc[fold != k], df.iloc[fold == k]
        model = fit_logistic(train, config)
        aucs.append(roc_auc(test[config.event].astype(float), model.predict(test)))
    return aucs


def snapshot_table(
    contracts: pd.DataFrame,
    customers: pd.DataFrame,
    at: str | pd.Timestamp,
    horizon_months: int,
) -> pd.DataFrame:
    """Customers active on ``at`` with features known on that date and whether they churned after.

    Parameters
    ----------
    contracts
        Canonical contracts: ``account_id``, ``product_id``, ``start_date``, ``end_date``, ``mrr``,
        ``term_months``, ``auto_renewal``.
    customers
        Output of :func:`build_customer_table` (``account_id``, ``rep_id``, ``customer_since``,
        ``churn_date``, ``first_term``, ``auto_renewal``, ``channel``, ``n_products_start``).
    at
        Snapshot date.
    horizon_months
        Churn within this many months after ``at`` is the label.

    Returns
    -------
    pandas.DataFrame
        The customer columns plus ``tenure_months``, ``n_products_now``, ``mrr_now``,
        ``share_auto_renewal_now`` (MRR share), ``churn_next`` (bool label).
    """
    at = pd.Timestamp(at)
    horizon_end = at + pd.DateOffset(months=horizon_months)
    c = customers
    alive = (c["customer_since"] <= at) & (c["churn_date"].isna() | (c["churn_date"] > at))
    snap = c.loc[alive].copy()
    con = contracts.loc[_active_mask(contracts, at)]
    g = con.groupby("account_id")
    ar_mrr = (
        (con["mrr"] * con["auto_renewal"].fillna(False).astype(float))
        .groupby(con["account_id"])
        .sum()
    )
    ids = snap["account_id"]
    snap["tenure_months"] = _months_between(snap["customer_since"], pd.Series(at, index=snap.index))
    snap["n_products_now"] = ids.map(g["product_id"].nunique()).fillna(0).astype("int64")
    snap["mrr_now"] = ids.map(g["mrr"].sum()).fillna(0.0)
    snap["share_auto_renewal_now"] = (ids.map(ar_mrr).fillna(0.0) / snap["mrr_now"]).fillna(0.0)
    snap["churn_next"] = snap["churn_date"].notna() & (snap["churn_date"] <= horizon_end)
    return snap.reset_index(drop=True)


def risk_bands(prob: pd.Series, high: float = 0.9, medium: float = 0.7) -> pd.Series:
    """Label probabilities by quantile: top ``1-high`` share ``"high"``, next ``"medium"``, rest ``"low"``.

    Missing probabilities (a covariate was missing) are ``"unknown"``.
    """
    if not 0 < medium < high < 1:
        raise ValueError(f"need 0 < medium < high < 1, got medium={medium}, high={high}")
    qh, qm = prob.quantile(high), prob.quantile(medium)
    band = np.where(prob >= qh, "high", np.where(prob >= qm, "medium", "low"))
    band = np.where(prob.isna(), "unknown", band)
    return pd.Series(band, index=prob.index, dtype="string", name="risk_band")


@dataclass
class OutOfTimeResult:
    """Result of :func:`propensity_out_of_time`."""

    auc: float
    calibration: pd.DataFrame
    train_at: pd.Timestamp
    test_at: pd.Timestamp
    n_train: int
    n_test: int
    churn_rate_test: float
    scores: pd.DataFrame
    model: LogisticResult
    method: str = "out_of_time"
    folds: int = 0

    def validation(self, horizon_months: int = 6) -> dict[str, Any]:
        """The validation figures for ``propensity_validation.json``.

        ``auc``, ``method``, ``folds``, ``train_at``/``test_at`` (ISO dates, ``None`` under
        cross-validation), ``n_train``, ``n_test``, ``horizon_months``.
        """

        def day(t: pd.Timestamp) -> str | None:
            return None if pd.isna(t) else t.date().isoformat()

        return {
            "auc": self.auc,
            "method": self.method,
            "folds": self.folds,
            "train_at": day(self.train_at),
            "test_at": day(self.test_at),
            "n_train": self.n_train,
            "n_test": self.n_test,
            "horizon_months": horizon_months,
        }

    def describe(self, horizon_months: int = 6) -> str:
        """How the score was validated, in one sentence for the report."""
        if self.method == "cross_validation":
            return _(
                "Validated by {folds}-fold cross-validation on {n} customers ({rate} churned): "
                "every customer is scored by a model that did not see it; ROC AUC {auc}."
            ).format(
                folds=self.folds,
                n=formats.num(self.n_test),
                rate=formats.pct(self.churn_rate_test),
                auc=formats.num(self.auc, 2),
            )
        return _(
            "Trained on customers active on {train_at} ({n_train}), tested on those active on "
            "{test_at} ({n_test}, {rate} churned within {months} months): ROC AUC {auc}."
        ).format(
            train_at=f"{self.train_at:%d.%m.%Y}",
            n_train=formats.num(self.n_train),
            test_at=f"{self.test_at:%d.%m.%Y}",
            n_test=formats.num(self.n_test),
            rate=formats.pct(self.churn_rate_test),
            months=horizon_months,
            auc=formats.num(self.auc, 2),
        )


def propensity_out_of_time(
    contracts: pd.DataFrame,
    customers: pd.DataFrame,
    as_of: str | pd.Timestamp,
    horizon_months: int = 6,
    config: ModelConfig | None = None,
    high: float = 0.9,
    medium: float = 0.7,
) -> OutOfTimeResult:
    """Churn propensity per active customer, validated out of time.

    Train on the snapshot ``as_of - 2 horizons`` (label: churn in the following horizon), test on
    the snapshot ``as_of - horizon`` (label: churn up to ``as_of``), report ROC AUC and calibration
    by decile on the test snapshot; then refit on the latest labelled snapshot and score every
    customer active on ``as_of`` (their churn in the next horizon).

    Parameters
    ----------
    contracts
        Canonical contracts (see :func:`snapshot_table`).
    customers
        Output of :func:`build_customer_table`.
    as_of
        Today.
    horizon_months
        Prediction horizon.
    config
        Model; default: tenure, first term, auto-renewal, channel, products and MRR now.
    high, medium
        Quantiles for the risk bands (see :func:`risk_bands`).

    Returns
    -------
    OutOfTimeResult
        ``scores``: ``account_id``, ``rep_id``, ``churn_probability``, ``risk_band``, ``mrr_now``
        for customers active on ``as_of``, highest risk first.
    """
    as_of = pd.Timestamp(as_of)
    cfg = config or ModelConfig(
        event="churn_next",
        covariates=(
            "tenure_months",
            "first_term",
            "auto_renewal",
            "channel",
            "n_products_now",
            "share_auto_renewal_now",
        ),
        categorical={"first_term": "12", "channel": "field"},
    )
    t_test = as_of - pd.DateOffset(months=horizon_months)
    t_train = t_test - pd.DateOffset(months=horizon_months)
    train = snapshot_table(contracts, customers, t_train, horizon_months)
    test = snapshot_table(contracts, customers, t_test, horizon_months)
    now = snapshot_table(contracts, customers, as_of, horizon_months)
    if config is None:  # the default covariates that vary (derived contracts share one term)
        cfg, _ = drop_constant_covariates(cfg, train)
    model = fit_logistic(train, cfg)
    p_test = model.predict(test)
    auc = roc_auc(test[cfg.event].astype(float), p_test)
    calib = calibration_by_decile(test[cfg.event].astype(float), p_test)
    final = fit_logistic(test, cfg)
    p_now = final.predict(now)
    scores = pd.DataFrame(
        {
            "account_id": now["account_id"],
            "rep_id": now["rep_id"],
            "churn_probability": p_now,
            "mrr_now": now["mrr_now"],
        }
    )
    scores["risk_band"] = risk_bands(scores["churn_probability"], high, medium)
    scores = scores.sort_values("churn_probability", ascending=False, ignore_index=True)
    return OutOfTimeResult(
        auc=auc,
        calibration=calib,
        train_at=t_train,
        test_at=t_test,
        n_train=len(train),
        n_test=len(test),
        churn_rate_test=float(test[cfg.event].mean()),
        scores=scores,
        model=final,
    )


def propensity_cross_validated(
    table: pd.DataFrame,
    config: ModelConfig,
    folds: int = 5,
    seed: int = 0,
    high: float = 0.9,
    medium: float = 0.7,
) -> OutOfTimeResult:
    """Churn propensity of a single snapshot (a flat customer extract).

    A logistic model validated by ``folds``-fold cross-validation, scores for today's customers.

    Parameters
    ----------
    table
        One row per customer: ``account_id``, ``rep_id``, ``mrr_current``, ``churned`` (or
        ``config.event``) and ``config.covariates`` (inputs checked by
        :func:`prepare_model_table`).
    config
        The model (``duration`` is ignored).
    folds, seed
        Cross-validation folds and shuffling seed.
    high, medium
        Risk-band quantiles (:func:`risk_bands`).

    Returns
    -------
    OutOfTimeResult
        ``method="cross_validation"``; ``auc`` = mean AUC of the folds, ``calibration`` from the
        out-of-fold predictions, ``scores`` of the customers not churned (model fitted on all).
    """
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    cfg = config.model_copy(update={"duration": None})
    data, _ = prepare_model_table(table, cfg, what="propensity model")
    y = data[cfg.event].astype(float)
    fold = np.random.default_rng(seed).permutation(len(data)) % folds
    p_oof = pd.Series(np.nan, index=data.index)
    aucs = []
    for k in range(folds):
        tr, te = data.iloc[fold != k], data.iloc[fold == k]
        p = fit_logistic(tr, cfg).predict(te)
        p_oof.loc[te.index] = p.to_numpy()
        ok = p.notna()
        aucs.append(roc_auc(te.loc[ok, cfg.event].astype(float), p[ok]))
    ok = p_oof.notna()
    calib = calibration_by_decile(y[ok], p_oof[ok])
    final = fit_logistic(data, cfg)
    now = data[y == 0]
    scores = pd.DataFrame(
        {
            "account_id": now["account_id"],
            "rep_id": now["rep_id"] if "rep_id" in now else pd.NA,
            "churn_probability": final.predict(now),
            "mrr_now": now["mrr_current"] if "mrr_current" in now else np.nan,
        }
    )
    scores["risk_band"] = risk_bands(scores["churn_probability"], high, medium)
    scores = scores.sort_values("churn_probability", ascending=False, ignore_index=True)
    return OutOfTimeResult(
        auc=float(np.mean(aucs)),
        calibration=calib,
        train_at=pd.NaT,
        test_at=pd.NaT,
        n_train=len(data),
        n_test=int(ok.sum()),
        churn_rate_test=float(y.mean()),
        scores=scores,
        model=final,
        method="cross_validation",
        folds=folds,
    )


def with_attributes(customers: pd.DataFrame, attributes: pd.DataFrame | None) -> pd.DataFrame:
    """The customer table with a flat extract's attribute columns (joined on ``account_id``).

    ``customers`` unchanged when there are none.
    """
    if attributes is None:
        return customers
    require_columns(attributes, ["account_id"], "with_attributes(attributes)")
    extra = attributes.drop(
        columns=[c for c in attributes.columns if c in customers.columns and c != "account_id"]
    )
    return customers.merge(extra, on="account_id", how="left")


SURVIVAL_GROUPS: tuple[tuple[str, str], ...] = (
    ("first_term", N_("By term of the first contract (months)")),
    ("channel", N_("By acquisition channel")),
    ("first_product_group", N_("By first product group")),
)
"""Survival-curve groupings of a CRM export's customers: column, chart title."""


def survival_groups(
    table: pd.DataFrame,
    attributes: pd.DataFrame | None = None,
    min_customers: int = 50,
    max_levels: int = 8,
    limit: int = 3,
) -> list[tuple[str, str]]:
    """The groupings worth a survival curve.

    The CRM groupings (:data:`SURVIVAL_GROUPS`) or, for a flat extract, its attribute columns with 2
    to ``max_levels`` values, each keeping those with at least two groups of ``min_customers``
    customers (at most ``limit``).
    """
    cands = (
        list(SURVIVAL_GROUPS)
        if attributes is None
        else [
            (c, _("By {column}").format(column=c)) for c in attributes.columns if c != "account_id"
        ]
    )
    out = []
    for col, title in cands:
        if col not in table.columns:
            continue
        counts = table[col].astype("string").value_counts()
        if 2 <= len(counts) <= max_levels and int((counts >= min_customers).sum()) >= 2:
            out.append((col, title))
    return out[:limit]


def churn_driver_config(
    table: pd.DataFrame, attributes: pd.DataFrame | None = None
) -> tuple[ModelConfig, list[str]]:
    """The churn-driver model for ``table`` and the labels of the covariates left out.

    The canonical model (:func:`canonical_cox_config`) without covariates that do not vary, or, for
    a flat extract, its attribute columns. Returns the config and the labels of the covariates left
    out.
    """
    if attributes is None:
        return drop_constant_covariates(canonical_cox_config(), table)
    cov = tuple(c for c in attributes.columns if c != "account_id")
    cfg = ModelConfig(event="churned", duration="duration_months", covariates=cov)
    return drop_constant_covariates(cfg, table)


# --------------------------------------------------------------------------------------------
# shifted-beta-geometric
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SBGFit:
    """Maximum-likelihood fit of the shifted-beta-geometric model.

    Attributes
    ----------
    alpha, beta
        Parameters of the beta distribution of churn probabilities across customers.
    loglik
        Log-likelihood at the optimum.
    n
        Customers in the fit.
    """

    alpha: float
    beta: float
    loglik: float
    n: int


def sbg_survival(alpha: float, beta: float, t: np.ndarray | Sequence[float]) -> np.ndarray:
    """S(t) = B(α, β + t) / B(α, β): share of a cohort still a customer after ``t`` periods."""
    t = np.asarray(t, dtype=float)
    return np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))


def sbg_retention(alpha: float, beta: float, t: np.ndarray | Sequence[float]) -> np.ndarray:
    """r(t) = (β + t - 1) / (α + β + t - 1): retention rate from period t-1 to t (t ≥ 1)."""
    t = np.asarray(t, dtype=float)
    return (beta + t - 1) / (alpha + beta + t - 1)


def sbg_derl(alpha: float, beta: float, renewals: int | np.ndarray, discount: float) -> np.ndarray:
    """Discounted expected residual lifetime of a customer who has made ``renewals`` renewals.

    Fader & Hardie (2010): DERL = (β+n) / (α+β+n) · ₂F₁(1, β+n+1; α+β+n+1; 1/(1+d)), counted in
    periods, payments at the start of each future period discounted at rate ``d`` per period;
    multiply by the revenue per period for the expected remaining value.
    """
    if discount <= 0:
        raise ValueError(f"discount must be positive, got {discount}")
    n = np.asarray(renewals, dtype=float)
    return (
        (beta + n)
        / (alpha + beta + n)
        * special.hyp2f1(1.0, beta + n + 1, alpha + beta + n + 1, 1 / (1 + discount))
    )


def fit_sbg(
    periods: Sequence[int] | np.ndarray,
    churned: Sequence[bool] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
) -> SBGFit:
    """Fit the shifted-beta-geometric model by maximum likelihood (scipy L-BFGS-B on log α, log β).

    Parameters
    ----------
    periods
        Per customer: the period in which they churned (1 = did not renew after the first period),
        or for active customers the number of periods completed so far (censored).
    churned
        Whether the customer churned (True) or is still active (False).
    weights
        Optional counts (for aggregated data).

    Raises
    ------
    ValueError
        If lengths differ, a churned customer has a period below 1, or there is no churn at all.
    """
    t = np.asarray(periods, dtype=float)
    c = np.asarray(churned, dtype=bool)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    if not (len(t) == len(c) == len(w)):
        raise ValueError("fit_sbg: periods, churned and weights must have the same length")
    if (t[c] < 1).any():
        raise ValueError("fit_sbg: a churned customer must have churned in period 1 or later")
    if not c.any():
        raise ValueError("fit_sbg: no churn observed; the model cannot be estimated")
    # aggregate for speed
    agg = pd.DataFrame({"t": t, "c": c, "w": w}).groupby(["t", "c"], as_index=False)["w"].sum()
    tt, cc, ww = agg["t"].to_numpy(), agg["c"].to_numpy(), agg["w"].to_numpy()

    def nll(theta: np.ndarray) -> float:
        a, b = np.exp(theta)
        base = special.betaln(a, b)
        ll_churn = special.betaln(a + 1, b + tt - 1) - base
        ll_alive = special.betaln(a, b + tt) - base
        return -float(np.sum(ww * np.where(cc, ll_churn, ll_alive)))

    res = optimize.minimize(nll, x0=np.zeros(2), method="L-BFGS-B", bounds=[(-10, 10)] * 2)
    a, b = np.exp(res.x)
    return SBGFit(alpha=float(a), beta=float(b), loglik=-float(res.fun), n=int(w.sum()))


def sbg_periods_from_customers(
    customers: pd.DataFrame,
    period_months: int = 12,
    duration: str = "duration_months",
    event: str = "churned",
) -> pd.DataFrame:
    """Convert a customer table (durations in months) into sBG periods.

    A churned customer churned in period ``ceil(duration / period_months)`` (at least 1); an active
    customer has completed ``floor(duration / period_months)`` periods.

    Parameters
    ----------
    customers
        Required columns ``duration`` and ``event``.

    Returns
    -------
    pandas.DataFrame
        ``period`` (int) and ``churned`` (bool), same index as ``customers``.
    """
    require_columns(customers, [duration, event], "sbg_periods_from_customers")
    d = customers[duration].astype(float) / period_months
    ev = customers[event].astype(bool)
    period = np.where(ev, np.maximum(1, np.ceil(d - 1e-9)), np.floor(d + 1e-9))
    return pd.DataFrame(
        {"period": period.astype(int), "churned": ev.to_numpy()}, index=customers.index
    )


def sbg_projection(
    fit: SBGFit, periods: int = 10, discount: float = 0.1, value_per_period: float | None = None
) -> pd.DataFrame:
    """Survival and retention curves projected ``periods`` ahead, with remaining lifetime and value.

    Parameters
    ----------
    fit
        The fitted model.
    periods
        How many periods to project.
    discount
        Discount rate per period.
    value_per_period
        Revenue of a customer per period (e.g. 12 x average MRR); adds ``remaining_value``.

    Returns
    -------
    pandas.DataFrame
        ``period`` (0..periods), ``survival`` S(t), ``retention`` r(t) (NaN at 0) and
        ``derl`` (discounted expected remaining periods of a customer who has just completed
        ``period`` periods, i.e. made ``period - 1`` renewals; at period 0 a new customer,
        first period included), ``remaining_value`` = ``derl x value_per_period`` if given.
    """
    t = np.arange(0, periods + 1)
    ret = np.where(t >= 1, sbg_retention(fit.alpha, fit.beta, np.maximum(t, 1)), np.nan)
    # a new customer pays the first period for sure: 1 + discounted residual after the first
    derl_new = 1 + sbg_derl(fit.alpha, fit.beta, 0, discount) / (1 + discount)
    derl = np.where(t >= 1, sbg_derl(fit.alpha, fit.beta, np.maximum(t - 1, 0), discount), derl_new)
    out = pd.DataFrame(
        {
            "period": t,
            "survival": sbg_survival(fit.alpha, fit.beta, t),
            "retention": ret,
            "derl": derl,
        }
    )
    if value_per_period is not None:
        out["remaining_value"] = out["derl"] * value_per_period
    return out


# --------------------------------------------------------------------------------------------
# summaries for the report
# --------------------------------------------------------------------------------------------


def retention_summary(
    contracts: pd.DataFrame,
    customers: pd.DataFrame,
    as_of: str | pd.Timestamp,
    window_months: int = 12,
    accounts: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Churn and retention rates (see :func:`retention_rates`) by every reporting dimension.

    Dimensions: ``total``; ``cohort`` (year the customer started), ``channel`` (acquisition
    channel), ``first_term`` and ``rep`` (current owner) from the customer table; ``segment``
    (``accounts.industry``) if ``accounts`` is given; ``product_group`` (per contract) if
    ``products`` is given.

    Parameters
    ----------
    contracts
        Canonical contracts (``account_id``, ``product_id``, ``start_date``, ``end_date``, ``mrr``).
    customers
        Output of :func:`build_customer_table` (``account_id``, ``cohort``, ``channel``,
        ``first_term``, ``rep_id``).
    accounts
        Optional ``account_id``, ``industry``.
    products
        Optional ``product_id``, ``product_group``.

    Returns
    -------
    pandas.DataFrame
        ``dimension`` plus the columns of :func:`retention_rates`.
    """
    require_columns(
        customers, ["account_id", "cohort", "channel", "first_term", "rep_id"], "retention_summary"
    )
    c = contracts[["account_id", "product_id", "start_date", "end_date", "mrr"]].copy()
    # look accounts up once by position (string maps are slow at millions of rows)
    pos = pd.Index(customers["account_id"]).get_indexer(c["account_id"])
    found = pos >= 0
    dims = {"cohort": "cohort", "channel": "channel", "first_term": "first_term", "rep": "rep_id"}
    for name, col in dims.items():
        values = customers[col].astype("string").to_numpy()[np.maximum(pos, 0)]
        c[name] = pd.array(np.where(found, values, pd.NA), dtype="string")
    if accounts is not None and "industry" in accounts.columns:
        apos = pd.Index(accounts["account_id"]).get_indexer(c["account_id"])
        values = accounts["industry"].astype("string").to_numpy()[np.maximum(apos, 0)]
        c["segment"] = pd.array(np.where(apos >= 0, values, pd.NA), dtype="string")
        dims["segment"] = "industry"
    if products is not None:
        c["product_group"] = c["product_id"].map(products.set_index("product_id")["product_group"])
        dims["product_group"] = "product_group"
    if window_months <= 0:
        raise ValueError(f"window_months must be positive, got {window_months}")
    # what every dimension shares: account codes, MRR and the contracts active at both ends
    t1 = pd.Timestamp(as_of)
    t0 = t1 - pd.DateOffset(months=window_months)
    account = pd.factorize(c["account_id"])[0]
    mrr = c["mrr"].fillna(0).to_numpy(float)
    on0, on1 = _active_mask(c, t0).to_numpy(), _active_mask(c, t1).to_numpy()
    frames = [_rates(account, None, mrr, on0, on1, "_segment").assign(dimension="total")]
    for name in dims:
        frames.append(_rates(account, c[name], mrr, on0, on1, name).assign(dimension=name))
    out = pd.concat(frames, ignore_index=True)
    return out[["dimension", *[x for x in out.columns if x != "dimension"]]]


def describe_excluded(excluded: Mapping[str, int]) -> str:
    """One sentence listing rows left out of an analysis and why (``"nothing"`` if none).

    Parameters
    ----------
    excluded
        Reason -> count, e.g. ``df.attrs["excluded"]`` of :func:`build_customer_table`.
    """
    if not excluded:
        return _("Nothing was left out.")
    parts = [f"{formats.num(n)} {_(reason)}" for reason, n in excluded.items()]
    return _("Left out: ") + "; ".join(parts) + "."


def at_risk_by_rep(scores: pd.DataFrame, reps: pd.DataFrame | None = None) -> pd.DataFrame:
    """The at-risk list summarised per rep.

    Parameters
    ----------
    scores
        ``OutOfTimeResult.scores`` (``account_id``, ``rep_id``, ``churn_probability``,
        ``risk_band``, ``mrr_now``).
    reps
        Optional ``rep_id``, ``name``.

    Returns
    -------
    pandas.DataFrame
        ``rep_id``, ``rep_name``, ``customers``, ``high_risk``, ``medium_risk``,
        ``expected_churn`` (sum of probabilities), ``mrr_at_risk`` (MRR x probability), most MRR
        at risk first.
    """
    require_columns(
        scores, ["rep_id", "churn_probability", "risk_band", "mrr_now"], "at_risk_by_rep"
    )
    s = scores.assign(
        rep_id=scores["rep_id"].astype("string").fillna("(no owner)"),
        high=scores["risk_band"] == "high",
        medium=scores["risk_band"] == "medium",
        at_risk=scores["mrr_now"] * scores["churn_probability"],
    )
    g = s.groupby("rep_id")
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "high_risk": g["high"].sum().astype("int64"),
            "medium_risk": g["medium"].sum().astype("int64"),
            "expected_churn": g["churn_probability"].sum(),
            "mrr_at_risk": g["at_risk"].sum(),
        }
    ).reset_index()
    names = reps.set_index("rep_id")["name"] if reps is not None else pd.Series(dtype="string")
    out.insert(1, "rep_name", out["rep_id"].map(names).astype("string"))
    return out.sort_values("mrr_at_risk", ascending=False, ignore_index=True)


def describe_churn(
    total: pd.Series,
    oot: OutOfTimeResult,
    fit: SBGFit,
    projection: pd.DataFrame,
    period_months: int = 12,
) -> list[str]:
    """Plain-language headline sentences on churn for the client's management.

    Parameters
    ----------
    total
        The ``total`` row of :func:`retention_summary` / :func:`retention_rates`.
    oot
        Propensity result.
    fit, projection
        sBG fit and :func:`sbg_projection` (with ``remaining_value`` if available).
    """
    auc = oot.auc
    quality = (
        _("well") if auc >= 0.75 else _("moderately well") if auc >= 0.65 else _("only weakly")
    )
    first = _("Of the {n} customers of a year ago, {share} have left (logo churn)").format(
        n=formats.num(total["customers_start"]), share=formats.pct(total["logo_churn"])
    )
    if pd.notna(total["revenue_churn"]):
        first += _(
            "; together with downgrades the company lost {revenue_churn} of their monthly "
            "revenue. Upsell from the remaining customers brings net revenue retention to {nrr}."
        ).format(revenue_churn=formats.pct(total["revenue_churn"]), nrr=formats.pct(total["nrr"]))
    else:
        first += _("; the data holds no revenue per customer, so revenue churn is not measured.")
    out = [
        first,
        _("The churn-risk score ranks customers {quality}: ").format(quality=quality)
        + (
            _("scored by models that did not see them ({folds}-fold cross-validation)").format(
                folds=oot.folds
            )
            if oot.method == "cross_validation"
            else _("tested on a later period than it was trained on")
        )
        + _(
            ", it puts a customer who churned above one who stayed {pct}% of the time "
            "(ROC AUC {auc})."
        ).format(pct=formats.num(auc * 100), auc=formats.num(auc, 2)),
    ]
    years = period_months / 12
    s5 = projection.loc[projection["period"] == min(5, projection["period"].max()), "survival"]
    if len(s5):
        per = int(min(5, projection["period"].max()))
        out.append(
            _(
                "Projected over {years} years, {share}% of a new customer cohort will still be a "
                "customer; retention improves with tenure (from {first}% after the first period "
                "to {last}% in period {period})."
            ).format(
                years=formats.plain(per * years),
                share=formats.num(float(s5.iloc[0]) * 100),
                first=formats.num(float(projection["retention"].iloc[1]) * 100),
                last=formats.num(float(projection["retention"].iloc[-1]) * 100),
                period=int(projection["period"].iloc[-1]),
            )
        )
    if "remaining_value" in projection.columns and pd.notna(projection["remaining_value"].iloc[0]):
        out.append(
            _(
                "A new customer is worth about {value} of revenue over its expected (discounted) "
                "lifetime."
            ).format(value=formats.chf(projection["remaining_value"].iloc[0]))
        )
    return out


# --------------------------------------------------------------------------------------------
# charts
# --------------------------------------------------------------------------------------------
