"""Revenue potential, white space and market potential of every account.

Potential is *what the best comparable customers achieve*: a quantile regression (statsmodels
``QuantReg``, default the 0.8 quantile) of log monthly revenue on firmographics (log employees,
industry, urban location) fitted on today's paying customers, predicted for every account --
customers, prospects and former customers alike. A customer already above its predicted potential
gets its current revenue as potential (no negative white space; counted).

* :func:`current_mrr` -- monthly recurring revenue per account at a date, from contracts.
* :func:`account_features` -- the firmographic features (missing values imputed and counted).
* :func:`estimate_potential` -- fit + predict; returns :class:`PotentialResult`.
* :func:`white_space_by_group` -- which product groups comparable customers buy that an account
  does not, and the white space per group.
* :func:`aggregate_potential` -- market potential by postal code, municipality, canton, territory.
* :func:`recovery_report` -- how well a known (planted) potential is recovered.
* :func:`potential_findings` -- plain-language findings for the client report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from salesanalytics.errors import require_columns
from salesanalytics.present import formats
from salesanalytics.present.i18n import gettext as _
from salesanalytics.reference import geo
from salesanalytics.reference.geography import (
    Geography,
    SwissPolygons,
    account_keys,
    for_accounts,
)

__all__ = [
    "FEATURES",
    "PotentialResult",
    "account_features",
    "aggregate_potential",
    "current_mrr",
    "estimate_potential",
    "map_geography",
    "model_summary",
    "potential_findings",
    "recovery_report",
    "white_space_by_group",
    "with_map_key",
]

FEATURES: tuple[str, ...] = ("log_employees", "industry", "urban")
"""Default features of the potential model (those without data are left out automatically)."""

SIZE_BANDS: tuple[tuple[float, float, str], ...] = (
    (0, 4, "1-4"),
    (5, 9, "5-9"),
    (10, 49, "10-49"),
    (50, np.inf, "50+"),
)


def current_mrr(contracts: pd.DataFrame, as_of: str | pd.Timestamp) -> pd.Series:
    """Monthly recurring revenue per account from the contracts active at ``as_of``.

    Parameters
    ----------
    contracts
        Canonical ``contracts`` table; required columns ``account_id``, ``start_date``,
        ``end_date`` (missing while active) and ``mrr``.
    as_of
        Reference date ("today"); a contract is active if it started on or before and has not
        ended by then.

    Returns
    -------
    pandas.Series
        MRR in CHF indexed by ``account_id`` (accounts without an active contract are absent).
    """
    require_columns(contracts, ["account_id", "start_date", "end_date", "mrr"], "contracts")
    day = pd.Timestamp(as_of)
    c = contracts
    active = (c["start_date"] <= day) & (c["end_date"].isna() | (c["end_date"] > day))
    out = c.loc[active].groupby("account_id", sort=True)["mrr"].sum()
    out.name = "current_mrr"
    return out


def size_band(employees: pd.Series) -> pd.Series:
    """Employee size band (``1-4``, ``5-9``, ``10-49``, ``50+``; missing -> ``unknown``)."""
    e = pd.to_numeric(employees, errors="coerce").astype("float64")
    out = pd.Series("unknown", index=employees.index, dtype="string")
    for lo, hi, label in SIZE_BANDS:
        out[(e >= lo) & (e <= hi)] = label
    return out


def map_geography(accounts: pd.DataFrame) -> Geography:
    """The geography the accounts' maps are drawn on.

    Every country of the accounts (``country``; Switzerland where there is none), see
    :func:`salesanalytics.reference.geography.for_accounts`.
    """
    return for_accounts(accounts)


def with_map_key(accounts: pd.DataFrame, g: Geography | None = None) -> pd.DataFrame:
    """``accounts`` with a column ``map_key``: the key of its postal code on the map of ``g``.

    ``g`` defaults to :func:`map_geography`; the key is the postal code itself, or ``"DE-10115"``
    when the map spans several countries (Swiss and Austrian codes overlap).

    Parameters
    ----------
    accounts
        ``postal_code`` and (optional) ``country`` per account.
    """
    require_columns(accounts, ["postal_code"], "accounts")
    g = map_geography(accounts) if g is None else g
    return accounts.assign(map_key=account_keys(accounts, g).to_numpy())


def account_features(
    accounts: pd.DataFrame, postal_codes: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Firmographic features of the potential model, with imputation counts.

    Parameters
    ----------
    accounts
        Canonical ``accounts``; uses ``account_id``, ``employees``, ``industry`` and
        ``postal_code`` (each optional except the id).
    postal_codes
        Postal-code table with ``postal_code`` and ``density`` (default: the postal codes of the
        accounts' countries, :func:`map_geography`; Swiss densities from the 2016 population,
        elsewhere from the population estimate of
        :meth:`salesanalytics.reference.geography.GeoNamesPoints.postal_codes`). An account is *urban* when
        its postal code is in the densest third of postal codes (density at or above the
        2/3-quantile).

    Returns
    -------
    (features, imputed)
        ``features`` indexed like ``accounts`` with ``account_id``, ``log_employees`` (log of
        employees, at least 1), ``industry`` (``unknown`` if missing), ``urban`` (0/1, NaN where
        the postal code is unknown), ``size_band``; ``imputed`` counts the missing values filled:
        employees by the median of the account's industry, urban by 0 when some accounts have it.
    """
    require_columns(accounts, ["account_id"], "accounts")
    n = len(accounts)
    feat = pd.DataFrame(
        {"account_id": accounts["account_id"].astype("string")}, index=accounts.index
    )
    ind = (
        accounts["industry"].astype("string")
        if "industry" in accounts
        else pd.Series(pd.NA, index=accounts.index, dtype="string")
    )
    imputed: dict[str, int] = {"industry": int(ind.isna().sum())}
    feat["industry"] = ind.fillna("unknown")
    emp = (
        pd.to_numeric(accounts["employees"], errors="coerce").astype("float64")
        if "employees" in accounts
        else pd.Series(np.nan, index=accounts.index)
    )
    miss = emp.isna()
    imputed["employees"] = int(miss.sum())
    if miss.any():
        med = emp.groupby(feat["industry"]).transform("median")
        emp = emp.fillna(med).fillna(emp.median() if emp.notna().any() else 1.0)
    feat["employees"] = emp
    feat["log_employees"] = np.log(emp.clip(lower=1.0))
    feat["size_band"] = size_band(emp)
    urban = pd.Series(np.nan, index=accounts.index)
    if "postal_code" in accounts and accounts["postal_code"].notna().any():
        codes = accounts["postal_code"]
        if postal_codes is not None:
            pc = postal_codes
        else:
            g = map_geography(accounts)
            if isinstance(g, SwissPolygons):
                pc = geo.postal_codes()
            else:  # the geography's keys ("DE-10115" when several countries)
                pc = g.postal_codes().assign(postal_code=lambda d: d["key"])
                codes = account_keys(accounts, g)
        dens = pc.dropna(subset=["density"])
        threshold = float(dens["density"].quantile(2 / 3))
        is_urban = (dens["density"] >= threshold).astype(float)
        is_urban.index = dens["postal_code"].astype("string")
        urban = codes.astype("string").map(is_urban).astype("float64")
        known = urban.notna()
        imputed["urban"] = int((~known).sum())
        urban = urban.fillna(0.0)
    else:
        imputed["urban"] = n
    feat["urban"] = urban
    return feat, imputed


@dataclass
class PotentialResult:
    """Outcome of :func:`estimate_potential`.

    Attributes
    ----------
    accounts
        One row per account: ``account_id``, ``status``, ``current_mrr``, ``potential_mrr``,
        ``white_space_mrr``, ``postal_code``, ``country``, ``canton``, ``municipality``,
        ``industry``,
        ``size_band``, ``employees``, ``urban``, ``predicted_mrr`` (model value before the floor at
        current revenue), ``capped`` (current revenue above the prediction).
    coefficients
        ``term``, ``coef``, ``lower``, ``upper`` (95% interval) of the quantile regression.
    info
        ``quantile``, ``features``, ``formula``, ``n_fit`` (customers used), ``n_excluded_fit``
        (customers without revenue), ``imputed`` (counts), ``n_capped``, ``pseudo_r2``.
    """

    accounts: pd.DataFrame
    coefficients: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def estimate_potential(
    accounts: pd.DataFrame,
    revenue: pd.Series,
    quantile: float = 0.8,
    features: Sequence[str] = FEATURES,
    fit_status: Sequence[str] = ("customer",),
    log_scale: bool = True,
    postal_codes: pd.DataFrame | None = None,
) -> PotentialResult:
    """Estimate each account's revenue potential by quantile regression on firmographics.

    Parameters
    ----------
    accounts
        Canonical ``accounts``; required ``account_id`` and ``status``; features come from
        ``employees``, ``industry``, ``postal_code`` (see :func:`account_features`); ``canton``
        and ``municipality`` are carried along when present.
    revenue
        Current revenue per account (e.g. :func:`current_mrr`), indexed by ``account_id``;
        accounts not in it have revenue 0.
    quantile
        Quantile of comparable customers' revenue that defines potential (0.5-0.95).
    features
        Subset of :data:`FEATURES`; features without data (e.g. ``urban`` without postal
        codes) or with a single value are left out.
    fit_status
        Account statuses whose positive revenue is used to fit the model.
    log_scale
        Fit on log revenue (multiplicative effects; recommended for skewed revenue).

    Returns
    -------
    PotentialResult

    Raises
    ------
    ValueError
        For a quantile outside (0, 1), unknown features, or fewer than 20 accounts with revenue
        to fit on.
    """
    require_columns(accounts, ["account_id", "status"], "accounts")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be between 0 and 1 (e.g. 0.8); got {quantile}")
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; choose from {list(FEATURES)}")
    feat, imputed = account_features(accounts, postal_codes)
    rev = pd.to_numeric(revenue, errors="coerce")
    rev.index = rev.index.astype("string")
    feat["current_mrr"] = feat["account_id"].map(rev).fillna(0.0).astype("float64").to_numpy()
    feat["status"] = accounts["status"].astype("string").to_numpy()
    fit_mask = feat["status"].isin(list(fit_status)) & (feat["current_mrr"] > 0)
    n_fit = int(fit_mask.sum())
    n_excluded = int((feat["status"].isin(list(fit_status)) & ~(feat["current_mrr"] > 0)).sum())
    if n_fit < 20:
        raise ValueError(
            f"only {n_fit} account(s) with status {list(fit_status)} and positive revenue: "
            "need at least 20 to estimate potential; check the revenue input (contracts / won deals)"
        )
    fit = feat.loc[fit_mask]
    used = _usable_features(fit, features)
    formula, data = _regression_data(fit, used, log_scale)
    model = smf.quantreg(formula, data).fit(q=quantile, max_iter=2000)
    predicted = _predict_mrr(
        model, feat, used, set(data["industry"]) if "industry" in used else None, log_scale
    )
    out = _potential_table(accounts, feat, predicted)
    coefs = _coefficient_table(model)
    info = {
        "quantile": quantile,
        "features": used,
        "formula": formula,
        "n_fit": n_fit,
        "n_excluded_fit": n_excluded,
        "imputed": imputed,
        "n_capped": int(out["capped"].sum()),
        "pseudo_r2": float(model.prsquared),
        "log_scale": log_scale,
    }
    return PotentialResult(accounts=out, coefficients=coefs, info=info)


def _usable_features(fit: pd.DataFrame, features: Sequence[str]) -> list[str]:
    """The ``features`` with data and at least two values among the customers fitted on."""
    used = []
    for f in features:
        col = fit[f]
        if col.isna().all() or col.nunique(dropna=True) < 2:
            continue
        used.append(f)
    return used


def _regression_data(
    fit: pd.DataFrame, used: Sequence[str], log_scale: bool
) -> tuple[str, pd.DataFrame]:
    """The regression formula (industry as a category) and the frame it is fitted on."""
    terms = ["C(industry)" if f == "industry" else f for f in used]
    target = "np.log(current_mrr)" if log_scale else "current_mrr"
    formula = f"{target} ~ " + (" + ".join(terms) if terms else "1")
    data = fit[["current_mrr", *used]].copy()
    if "industry" in used:
        data["industry"] = data["industry"].astype(object)
    return formula, data


def _predict_mrr(
    model: Any,
    feat: pd.DataFrame,
    used: Sequence[str],
    seen_industries: set[Any] | None,
    log_scale: bool,
) -> np.ndarray:
    """The fitted quantile of MRR for every account (never below 0).

    Industries unseen in the fit (``seen_industries``) fall back to the reference level.
    """
    pred_data = feat[list(used)].copy()
    if seen_industries is not None:
        # industries unseen in the fit fall back to the reference level
        ref = sorted(seen_industries)[0]
        pred_data["industry"] = (
            pred_data["industry"]
            .astype(object)
            .where(pred_data["industry"].isin(seen_industries), ref)
        )
    lin = np.asarray(model.predict(pred_data), dtype=float)
    return np.asarray(np.exp(lin) if log_scale else np.clip(lin, 0, None), dtype=float)


def _potential_table(
    accounts: pd.DataFrame, feat: pd.DataFrame, predicted: np.ndarray
) -> pd.DataFrame:
    """Per account: current, predicted and potential MRR, white space, location and features.

    Potential is the prediction, at least the current MRR (``capped`` where the current MRR is
    above the prediction).
    """
    out = pd.DataFrame(
        {
            "account_id": feat["account_id"].to_numpy(),
            "status": feat["status"].to_numpy(),
            "current_mrr": feat["current_mrr"].to_numpy(),
            "predicted_mrr": predicted,
        }
    )
    out["potential_mrr"] = np.maximum(out["predicted_mrr"], out["current_mrr"])
    out["capped"] = out["current_mrr"] > out["predicted_mrr"]
    out["white_space_mrr"] = out["potential_mrr"] - out["current_mrr"]
    for col in ("postal_code", "country", "canton", "municipality"):
        out[col] = (
            accounts[col].astype("string").to_numpy()
            if col in accounts
            else pd.array([pd.NA] * len(out), dtype="string")
        )
    for col in ("industry", "size_band", "employees", "urban"):
        out[col] = feat[col].to_numpy()
    for col in (
        "account_id",
        "status",
        "postal_code",
        "country",
        "canton",
        "municipality",
        "industry",
    ):
        out[col] = out[col].astype("string")
    return out


def _coefficient_table(model: Any) -> pd.DataFrame:
    """The fitted terms with coefficient and confidence interval: ``term, coef, lower, upper``."""
    ci = model.conf_int()
    return pd.DataFrame(
        {
            "term": [str(t) for t in model.params.index],
            "coef": model.params.to_numpy(),
            "lower": ci.iloc[:, 0].to_numpy(),
            "upper": ci.iloc[:, 1].to_numpy(),
        }
    )


def white_space_by_group(
    potential: pd.DataFrame,
    contracts: pd.DataFrame,
    products: pd.DataFrame,
    as_of: str | pd.Timestamp,
    segment_cols: Sequence[str] = ("industry", "size_band"),
    min_segment: int = 20,
) -> pd.DataFrame:
    """Split each account's white space over the product groups it does not (yet) buy.

    For every segment of comparable accounts (default industry x size band; segments with fewer
    than ``min_segment`` paying customers use the industry, then all customers) the *adoption
    rate* of a product group is the share of paying customers with an active contract in it, and
    the *mix* its share of the segment's MRR. An account's white space is split over the groups it
    does not hold in proportion to adoption x mix; an account holding every adopted group gets its
    white space split over all groups by mix (more of the same).

    Parameters
    ----------
    potential
        :attr:`PotentialResult.accounts`: ``account_id``, ``white_space_mrr`` and the
        ``segment_cols``.
    contracts
        Canonical ``contracts``: ``account_id``, ``product_id``, ``start_date``, ``end_date``,
        ``mrr``.
    products
        Canonical ``products``: ``product_id``, ``product_group``.
    as_of
        Reference date for active contracts.
    segment_cols
        Columns of ``potential`` defining comparable accounts.
    min_segment
        Minimum paying customers per segment.

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``product_group``, ``white_space_mrr``, ``adoption_rate``, ``held``
        (bool); only rows with white space > 0. Per account the rows sum to its
        ``white_space_mrr``.
    """
    require_columns(
        potential, ["account_id", "white_space_mrr", *segment_cols], "account_potential"
    )
    require_columns(
        contracts, ["account_id", "product_id", "start_date", "end_date", "mrr"], "contracts"
    )
    require_columns(products, ["product_id", "product_group"], "products")
    held = _held_groups(contracts, products, pd.Timestamp(as_of))
    groups = sorted(held["product_group"].unique())
    if not groups:
        return pd.DataFrame(
            {
                "account_id": pd.array([], dtype="string"),
                "product_group": pd.array([], dtype="string"),
                "white_space_mrr": [],
                "adoption_rate": [],
                "held": pd.array([], dtype=bool),
            }
        )
    pot = potential[["account_id", "white_space_mrr", *segment_cols]].copy()
    pot["account_id"] = pot["account_id"].astype("string")
    holding = held.pivot_table(
        index="account_id", columns="product_group", values="mrr", aggfunc="sum", fill_value=0.0
    ).reindex(columns=groups, fill_value=0.0)
    adopt_rows, mix_rows = _segment_adoption(pot, holding, segment_cols, min_segment)
    own = holding.reindex(pot["account_id"]).fillna(0.0).to_numpy() > 0
    weight = np.where(own, 0.0, adopt_rows * mix_rows)
    none_left = weight.sum(axis=1) <= 0
    weight[none_left] = mix_rows[none_left]
    still = weight.sum(axis=1) <= 0
    weight[still] = 1.0
    weight = weight / weight.sum(axis=1, keepdims=True)
    ws = weight * pot["white_space_mrr"].to_numpy()[:, None]
    # one row per account and group with white space > 0 (rows account-major, groups in order)
    keep = ws.ravel() > 0
    row = np.repeat(np.arange(len(pot)), len(groups))[keep]
    col = np.tile(np.arange(len(groups)), len(pot))[keep]
    return pd.DataFrame(
        {
            "account_id": pot["account_id"].array.take(row),
            "product_group": pd.array(groups, dtype="string").take(col),
            "white_space_mrr": ws.ravel()[keep],
            "adoption_rate": adopt_rows.ravel()[keep],
            "held": own.ravel()[keep],
        }
    )


def _held_groups(
    contracts: pd.DataFrame, products: pd.DataFrame, day: pd.Timestamp
) -> pd.DataFrame:
    """MRR of the contracts active on ``day`` per account and product group (``other`` unknown).

    Returns ``account_id, product_group, mrr``.
    """
    c = contracts
    active = c.loc[(c["start_date"] <= day) & (c["end_date"].isna() | (c["end_date"] > day))]
    grp = products.set_index("product_id")["product_group"].astype("string")
    held = pd.DataFrame(
        {
            "account_id": active["account_id"].astype("string").to_numpy(),
            "product_group": active["product_id"]
            .map(grp)
            .fillna("other")
            .astype("string")
            .to_numpy(),
            "mrr": active["mrr"].to_numpy(),
        }
    )
    return held.groupby(["account_id", "product_group"], as_index=False)["mrr"].sum()


def _segment_key(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    """The segment of every row: its ``keys`` joined by ``|`` (``all`` without keys)."""
    if not keys:
        return pd.Series("all", index=df.index)
    out = df[keys[0]].astype(str)
    for k in keys[1:]:
        out = out + "|" + df[k].astype(str)
    return out


def _segment_adoption(
    pot: pd.DataFrame,
    holding: pd.DataFrame,
    segment_cols: Sequence[str],
    min_segment: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Adoption rate and MRR mix of each product group in every account's segment.

    The segment is the finest level (``segment_cols``, their first column, all customers) with
    at least ``min_segment`` paying customers. ``holding``: MRR per paying account (index) and
    group (columns); returns two arrays accounts of ``pot`` × groups.
    """
    groups = list(holding.columns)
    indexed = pot.set_index("account_id")
    # holding.index is unique: get_indexer is a fast isin for Arrow-backed text
    payers = indexed.loc[holding.index.get_indexer(indexed.index) >= 0]
    hold_mat = holding.reindex(payers.index).fillna(0.0)

    def seg_stats(keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
        k = _segment_key(payers, keys)
        adopt = (hold_mat > 0).groupby(k.to_numpy()).mean()
        mix = hold_mat.groupby(k.to_numpy()).sum()
        mix = mix.div(mix.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
        size = k.value_counts()
        return adopt, mix, size

    levels = [list(segment_cols), list(segment_cols[:1]), []]
    stats = [seg_stats(lv) for lv in levels]
    # per account: choose the finest level whose segment is large enough
    adopt_rows = np.zeros((len(pot), len(groups)))
    mix_rows = np.zeros((len(pot), len(groups)))
    chosen = np.zeros(len(pot), dtype=bool)
    for lv, (adopt, mix, size) in zip(levels, stats, strict=True):
        key = _segment_key(pot, lv)
        pos = size.index.get_indexer(key)  # size.index is unique (value counts)
        n_seg = np.where(pos >= 0, size.to_numpy()[np.maximum(pos, 0)], 0)
        ok = n_seg >= (min_segment if lv else 0)
        take = ok & ~chosen
        if take.any():
            adopt_rows[take] = adopt.reindex(key[take].to_numpy()).fillna(0.0).to_numpy()
            mix_rows[take] = mix.reindex(key[take].to_numpy()).fillna(0.0).to_numpy()
            chosen |= take
    return adopt_rows, mix_rows


def aggregate_potential(
    potential: pd.DataFrame, by: str | Sequence[str] = "postal_code"
) -> pd.DataFrame:
    """Market potential aggregated by postal code, municipality, canton, territory or rep.

    Parameters
    ----------
    potential
        Account potentials with ``account_id``, ``status``, ``current_mrr``, ``potential_mrr``,
        ``white_space_mrr`` and the grouping column(s) ``by``.
    by
        Column name(s) to group by; accounts with a missing key are grouped under ``unknown``
        (counted in that row, never dropped).

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``n_accounts``, ``n_customers``, ``current_mrr``, ``potential_mrr``,
        ``white_space_mrr``, ``penetration`` (current / potential), ``share_of_potential``;
        sorted by potential, largest first.
    """
    keys = [by] if isinstance(by, str) else list(by)
    require_columns(
        potential,
        ["account_id", "status", "current_mrr", "potential_mrr", "white_space_mrr", *keys],
        "account_potential",
    )
    df = potential.copy()
    for k in keys:
        df[k] = df[k].astype("string").fillna("unknown")
    df["is_customer"] = (df["status"] == "customer").astype(int)
    agg = df.groupby(keys, as_index=False).agg(
        n_accounts=("account_id", "size"),
        n_customers=("is_customer", "sum"),
        current_mrr=("current_mrr", "sum"),
        potential_mrr=("potential_mrr", "sum"),
        white_space_mrr=("white_space_mrr", "sum"),
    )
    agg["penetration"] = agg["current_mrr"] / agg["potential_mrr"].replace(0, np.nan)
    total = agg["potential_mrr"].sum()
    agg["share_of_potential"] = agg["potential_mrr"] / total if total > 0 else 0.0
    return agg.sort_values(
        ["potential_mrr", *keys], ascending=[False] + [True] * len(keys)
    ).reset_index(drop=True)


def recovery_report(
    estimated: pd.DataFrame, truth: pd.DataFrame, n_bins: int = 10
) -> tuple[dict[str, float], pd.DataFrame]:
    """Compare estimated potentials with known true ones (demo client's planted potential).

    Parameters
    ----------
    estimated
        ``account_id``, ``potential_mrr`` (estimate); optional ``predicted_mrr``.
    truth
        ``account_id``, ``potential_mrr`` (true potential, e.g. ``truth_accounts.parquet``).
    n_bins
        Number of calibration bins (deciles of the estimate).

    Returns
    -------
    (metrics, calibration)
        ``metrics``: ``n`` (accounts matched), ``corr_log`` (Pearson correlation of log
        potentials), ``spearman``, ``level_ratio`` (median estimate / truth: the quantile's level,
        0.8 quantile of revenue is not the full potential), ``calibration_slope`` (slope of log
        estimate on log truth). ``calibration``: per decile of the estimate ``decile``, ``n``,
        ``mean_estimate``, ``mean_truth``, ``ratio``.
    """
    require_columns(estimated, ["account_id", "potential_mrr"], "estimated")
    require_columns(truth, ["account_id", "potential_mrr"], "truth")
    m = estimated[["account_id", "potential_mrr"]].merge(
        truth[["account_id", "potential_mrr"]].astype({"account_id": "string"}),
        on="account_id",
        suffixes=("_est", "_true"),
    )
    m = m[(m["potential_mrr_est"] > 0) & (m["potential_mrr_true"] > 0)]
    le, lt = np.log(m["potential_mrr_est"]), np.log(m["potential_mrr_true"])
    slope = float(np.polyfit(lt, le, 1)[0]) if len(m) > 2 else float("nan")
    metrics = {
        "n": float(len(m)),
        "corr_log": float(np.corrcoef(le, lt)[0, 1]) if len(m) > 2 else float("nan"),
        "spearman": float(m["potential_mrr_est"].corr(m["potential_mrr_true"], method="spearman")),
        "level_ratio": float((m["potential_mrr_est"] / m["potential_mrr_true"]).median()),
        "calibration_slope": slope,
    }
    m["decile"] = pd.qcut(m["potential_mrr_est"].rank(method="first"), n_bins, labels=False) + 1
    cal = m.groupby("decile", as_index=False).agg(
        n=("account_id", "size"),
        mean_estimate=("potential_mrr_est", "mean"),
        mean_truth=("potential_mrr_true", "mean"),
    )
    cal["ratio"] = cal["mean_estimate"] / cal["mean_truth"]
    return metrics, cal


def potential_findings(result: PotentialResult) -> list[str]:
    """Plain-language findings about the estimated potential (for the client report)."""
    a = result.accounts
    pot, cur = a["potential_mrr"].sum(), a["current_mrr"].sum()
    cust = a[a["status"] == "customer"]
    pros = a[a["status"] != "customer"]
    q = int(round(result.info["quantile"] * 100))
    lines = [
        _(
            "Total monthly revenue potential: {potential} against {current} today "
            "({penetration} penetration)."
        ).format(
            potential=formats.money(pot),
            current=formats.money(cur),
            penetration=formats.pct(cur / pot, 0),
        ),
        _(
            "Existing customers could grow by {customers} per month if each bought as much as "
            "the top {top}% of comparable customers; prospects and former customers add "
            "{prospects} per month."
        ).format(
            customers=formats.money(cust["white_space_mrr"].sum()),
            top=100 - q,
            prospects=formats.money(pros["white_space_mrr"].sum()),
        ),
    ]
    coef = result.coefficients.set_index("term")["coef"]
    if "log_employees" in coef:
        lines.append(
            _(
                "Potential grows with company size: 10% more employees means about {effect} more "
                "potential revenue."
            ).format(effect=formats.pct((1.1 ** coef["log_employees"] - 1), 1))
        )
    if "urban" in coef:
        lines.append(
            _(
                "Accounts in dense (urban) postal codes have about {effect} potential compared "
                "with rural ones of the same size and industry."
            ).format(effect=formats.pct(np.exp(coef["urban"]) - 1, 0, signed=True))
        )
    return lines


def model_summary(result: PotentialResult) -> str:
    """How the potential model was fitted, in words for the client.

    Customers used, accounts scored, the characteristics used and how many missing values were
    filled in.
    """
    from salesanalytics.present import formats

    info = result.info
    feats = ", ".join(formats.label(f).lower() for f in info["features"])
    filled = [
        f"{formats.num(n)} × {formats.label(k).lower()}" for k, n in info["imputed"].items() if n
    ]
    return _(
        "Model fitted on {n_fit} paying customers ({n_excluded} customers without active "
        "contracts left out of the fit), applied to all {n} accounts. Characteristics used: "
        "{features}. Missing values filled in: {filled}."
    ).format(
        n_fit=formats.num(info["n_fit"]),
        n_excluded=formats.num(info["n_excluded_fit"]),
        n=formats.num(len(result.accounts)),
        features=feats,
        filled=", ".join(filled) if filled else _("none"),
    )
