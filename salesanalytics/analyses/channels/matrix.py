"""Channel matrix: which channel sells which product group to which kind of customer.

The case's channel result is a separation of field, tele and online sales *along customers and
product groups*. This module measures it from the deals in the CRM and turns it into the one
routing table every later figure reads:

1. **Segments** (:func:`account_segments`): status (*new* = prospects and former customers,
   *existing* = customers) × a size class (quantile classes of the potential, the employees or the
   company's revenue; a parameter).
2. **Deals per cell** (:func:`deal_table`): new-business deals count for *new* segments, upsell
   and renewal deals for *existing* ones (a lost renewal is a customer lost: what a channel keeps
   counts as much as what it sells). A deal's channel is the
   opportunity's channel field, else its owner's role; its product group the product's group.
3. **Measures per cell and channel** (:func:`cell_measures`): win rate (won ÷ closed), median sales
   cycle (Kaplan–Meier, open deals censored), mean first-year value of won deals, closed deals.
   Thin cells borrow strength from the product group's figures over all size classes of the
   status (a Beta prior of ``prior_deals`` pseudo-deals: win rate = (won + k × pooled rate) ÷
   (closed + k)).
4. **Selling cost per deal** (:func:`cost_per_deal`): the channel's yearly activity cost on
   accounts of the status (time-driven activity-based costing of the channel phase) ÷ the deals it
   closed per year: what one deal worked costs in that channel.
5. **Decision per cell** (:func:`decide_cells`): the channel with the highest *contribution per
   deal worked* = win rate × deal value × product margin − selling cost per deal. A stated
   preference of most of the cell's accounts wins when its channel comes within
   ``preference_band`` of the best; online with a tele follow-up when online is best but the
   group needs explanation (complexity above ``online_max_complexity``) or tele comes within
   ``hybrid_band``. **Fallback rule** for cells without ``min_deals`` closed deals in any channel
   (even pooled): complexity ≥ ``field_min_complexity`` → field for the largest size class, tele
   for the others; ≤ ``online_max_complexity`` → online; else tele; unknown complexity → the
   channel that sells the group today (most closed deals), else tele (the reason says so).
6. **Accounts follow the matrix** (:func:`assign_account_groups`): account × product group →
   channel, the canonical table. Accounts of key-account managers stay in the field for every
   group. Each row carries a weight (the account's yearly revenue in the group, or for accounts
   without revenue the segment's mix of won deal value): the share of the account's workload
   that goes to the row's channel.
7. **Workload per channel** (:func:`channel_workload`): field hours per account follow the
   territory design's norm model (status × potential class activity norm plus travel from the
   nearest field base, :mod:`salesanalytics.analyses.territory.design`), so the territory phase, the
   channel mix and the role profiles show one field figure; tele and online hours are the
   channel's measured mean per account of the status. An account's hours in a channel = the
   channel's hours for the account × its weight share in that channel.
8. **Migration waves** (:func:`matrix_waves`): cells whose proposed channel differs from today's
   move in waves, the largest yearly contribution gain first, with the accounts they carry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from salesanalytics.errors import require_columns
from salesanalytics.ingest.schema import CHANNELS, ROLE_CHANNEL
from salesanalytics.present import formats
from salesanalytics.present.i18n import N_
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "CHANNEL_LABELS",
    "DealMeasures",
    "FieldWorkloadModel",
    "MatrixResult",
    "MatrixRules",
    "Routing",
    "account_channel_shares",
    "account_groups_for_excel",
    "account_segments",
    "analyse_matrix",
    "assign_account_groups",
    "cell_measures",
    "channel_workload",
    "cost_per_deal",
    "data_gaps",
    "data_used",
    "deal_table",
    "decide_cells",
    "field_scope",
    "field_workload",
    "matrix_sentence",
    "matrix_tracking",
    "matrix_waves",
    "planted_matrix_checks",
    "proposed_account_channel",
    "route_accounts",
    "segment_preferences",
    "territory_field_workload",
    "today_vs_proposed",
    "wave_effects",
    "workbook_sheets",
]

CHANNEL_LABELS: dict[str, str] = {"field": "Field", "tele": "Tele", "online": "Online"}
"""Client labels of the channel tokens."""

_SIZE_LABELS: dict[int, tuple[str, ...]] = {
    1: ("all sizes",),
    2: ("small", "large"),
    3: ("small", "medium", "large"),
    4: ("small", "medium", "large", "very large"),
    5: ("very small", "small", "medium", "large", "very large"),
}
_TYPE_LABEL = {"new": "New", "existing": "Existing"}
_RANK = {"online": 0, "tele": 1, "field": 2}
_CELL_COLUMNS = (
    "segment",
    "deals",
    "won",
    "lost",
    "open",
    "closed",
    "win_rate_raw",
    "win_rate",
    "deal_size",
    "cycle_days",
    "pooled_closed",
    "pooled_win_rate",
    "basis",
)
"""Measured columns of a segment x product-group cell (after its key columns)."""


class DealMeasures(Protocol):
    """The funnel analysis' deal measures the matrix reads, handed in by the phase.

    :mod:`salesanalytics.analyses.funnel.model` meets it: the channel notebook passes that module,
    so a deal's funnel, cycle and win rate are computed by the funnel's code alone.
    """

    def deal_progress(
        self,
        opportunities: pd.DataFrame,
        opportunity_stages: Any = ...,
        as_of: str | pd.Timestamp | None = ...,
        stage_orders: Mapping[str, Sequence[str]] | None = ...,
    ) -> pd.DataFrame:
        """One row per deal: funnel, furthest stage, cycle length (``deal_progress``)."""
        ...

    def product_groups(self, products: pd.DataFrame) -> pd.Series:
        """Product group of every product, indexed by product id (``product_groups``)."""
        ...

    def win_rates(self, progress: pd.DataFrame, by: Sequence[str] = ...) -> pd.DataFrame:
        """Deals, win rate, deal size and median cycle per funnel and group (``win_rates``)."""
        ...


class FieldWorkloadModel(Protocol):
    """The territory design's workload model the matrix reads, handed in by the phase.

    :mod:`salesanalytics.analyses.territory.design` meets it: the channel notebook passes that
    module, so the channel mix, the territories and the roles show one field workload.
    """

    def workload_segment(self, accounts: pd.DataFrame) -> pd.Series:
        """Norm segment per account: status x potential class (``workload_segment``)."""
        ...

    def activity_norms(
        self, activities: Any, segments: pd.Series, channel: str | None = ...
    ) -> pd.DataFrame:
        """Minutes and visits per account and year by segment (``activity_norms``)."""
        ...

    def account_workload(
        self,
        accounts: pd.DataFrame,
        segments: pd.Series,
        norms: pd.DataFrame,
        reps: pd.DataFrame,
        road_factor: float = ...,
        speed_kmh: float = ...,
    ) -> pd.DataFrame:
        """Hours per account and year: activity norm plus travel (``account_workload``)."""
        ...


@dataclass(frozen=True)
class MatrixRules:
    """Parameters of the channel matrix.

    Parameters
    ----------
    size_basis
        What the size class is cut on: ``potential`` (potential phase's ``potential_mrr``),
        ``employees`` or ``revenue`` (company revenue). Falls back to employees, then to one class,
        when the basis is missing (said in :func:`data_gaps`).
    size_classes
        Number of quantile classes (1-5).
    min_deals
        Closed deals a cell needs in a channel for its own figures; fewer borrow from the group.
    prior_deals
        Weight (in pseudo-deals) of the product group's pooled figures in a cell's estimate.
    field_min_complexity, online_max_complexity
        Complexity bounds (1-5) of the fallback rule and of the tele follow-up.
    hybrid_band
        Online with tele follow-up when tele's contribution per deal is within this share of
        online's.
    preference_share
        Share of a cell's accounts stating one channel from which their preference counts.
    preference_band
        The preferred channel is chosen when its contribution per deal is within this share of
        the best channel's.
    default_margin
        Product margin (1 − cost share) for groups without a cost share.
    """

    size_basis: str = "potential"
    size_classes: int = 3
    min_deals: int = 30
    prior_deals: float = 20.0
    field_min_complexity: int = 3
    online_max_complexity: int = 2
    hybrid_band: float = 0.15
    preference_share: float = 0.5
    preference_band: float = 0.10
    default_margin: float = 0.7

    def __post_init__(self) -> None:
        problems = []
        if self.size_basis not in ("potential", "employees", "revenue"):
            problems.append(
                f"size_basis must be 'potential', 'employees' or 'revenue', got '{self.size_basis}'"
            )
        if not 1 <= self.size_classes <= 5:
            problems.append(f"size_classes must be between 1 and 5, got {self.size_classes}")
        if self.min_deals < 1:
            problems.append(f"min_deals must be ≥ 1, got {self.min_deals}")
        if self.prior_deals < 0:
            problems.append(f"prior_deals must be ≥ 0, got {self.prior_deals}")
        if not 1 <= self.online_max_complexity <= self.field_min_complexity <= 5:
            problems.append(
                "complexities must satisfy 1 ≤ online_max_complexity ≤ field_min_complexity ≤ 5, "
                f"got {self.online_max_complexity} and {self.field_min_complexity}"
            )
        for name in ("hybrid_band", "preference_band"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                problems.append(f"{name} must be between 0 and 1, got {v}")
        if not 0 < self.preference_share <= 1:
            problems.append(f"preference_share must be in (0, 1], got {self.preference_share}")
        if not 0 < self.default_margin <= 1:
            problems.append(f"default_margin must be in (0, 1], got {self.default_margin}")
        if problems:
            raise ValueError(
                "invalid channel-matrix parameters: "
                + "; ".join(problems)
                + ". Fix them in project.yaml (phase channels)."
            )


# --------------------------------------------------------------------------- segments
def account_segments(
    accounts: pd.DataFrame,
    potential: pd.DataFrame | None = None,
    basis: str = "potential",
    n_classes: int = 3,
) -> pd.DataFrame:
    """Segment of every account: status (new / existing) × size class.

    Parameters
    ----------
    accounts
        Canonical accounts: ``account_id``, ``status``; ``employees`` and ``company_revenue`` if
        present.
    potential
        Potential phase ``account_potential`` (``account_id``, ``potential_mrr``); optional.
    basis
        ``potential``, ``employees`` or ``revenue`` (see :class:`MatrixRules`).
    n_classes
        Number of quantile classes (1-5).

    Returns
    -------
    pandas.DataFrame
        ``account_id, customer_type`` (``new``/``existing``), ``size_class`` (``small`` ...),
        ``size_value``, ``segment`` (e.g. ``New · small``); ``attrs["size_basis"]`` names the
        basis used (after fallbacks) and ``attrs["size_edges"]`` the class limits.
    """
    require_columns(accounts, ["account_id", "status"], "accounts")
    if not 1 <= n_classes <= 5:
        raise ValueError(f"n_classes must be between 1 and 5, got {n_classes}")
    ids = accounts["account_id"].astype("string")
    status = accounts["status"].astype("string")
    ctype = np.where(status.eq("customer").fillna(False).to_numpy(bool), "existing", "new")
    candidates: list[tuple[str, pd.Series]] = []
    if potential is not None and {"account_id", "potential_mrr"} <= set(potential.columns):
        pot = pd.Series(
            potential["potential_mrr"].to_numpy(dtype="float64", na_value=np.nan),
            index=potential["account_id"].astype("string").to_numpy(),
        )
        candidates.append(("potential", ids.map(pot).astype("float64")))
    for name, col in (("employees", "employees"), ("revenue", "company_revenue")):
        if col in accounts.columns:
            candidates.append((name, pd.to_numeric(accounts[col], errors="coerce")))
    order = [basis] + [b for b in ("potential", "employees", "revenue") if b != basis]
    value, used = None, "none"
    for b in order:
        for name, v in candidates:
            if name == b and v.notna().mean() >= 0.5 and v.nunique() > 1:
                value, used = v.to_numpy(dtype="float64"), name
                break
        if value is not None:
            break
    labels = _SIZE_LABELS[n_classes]
    edges: list[float] = []
    if value is None or n_classes == 1:
        size = np.full(len(ids), labels[0] if value is not None else "all sizes", dtype=object)
        value = np.full(len(ids), np.nan) if value is None else value
    else:
        qs = np.nanquantile(value, np.linspace(0, 1, n_classes + 1)[1:-1])
        edges = [float(q) for q in qs]
        cls = np.searchsorted(np.asarray(edges), np.nan_to_num(value, nan=np.nanmedian(value)))
        size = np.asarray(labels, dtype=object)[cls]
    seg = pd.Series(
        [f"{_TYPE_LABEL[t]} · {s}" for t, s in zip(ctype, size, strict=True)], dtype="string"
    )
    out = pd.DataFrame(
        {
            "account_id": ids.to_numpy(),
            "customer_type": pd.array(ctype, dtype="string"),
            "size_class": pd.array(size, dtype="string"),
            "size_value": value,
            "segment": seg.to_numpy(),
        }
    )
    out.attrs["size_basis"] = used
    out.attrs["size_edges"] = edges
    out.attrs["size_labels"] = list(labels) if used != "none" else ["all sizes"]
    return out


def _segment_order(size_labels: Sequence[str]) -> list[str]:
    return [f"{_TYPE_LABEL[t]} · {s}" for t in ("new", "existing") for s in size_labels]


# --------------------------------------------------------------------------- deals
def deal_table(
    opportunities: pd.DataFrame,
    products: pd.DataFrame,
    segments: pd.DataFrame,
    reps: pd.DataFrame | None = None,
    opportunity_stages: Any = None,
    as_of: str | pd.Timestamp | None = None,
    stage_orders: Mapping[str, Sequence[str]] | None = None,
    *,
    funnel: DealMeasures,
) -> pd.DataFrame:
    """Deals with their channel, product group and segment (new business, upsell, renewal).

    Parameters
    ----------
    opportunities
        Canonical opportunities (``opportunity_id, account_id, owner_id, type, amount,
        created_date, close_date, status``; ``channel``, ``product_id`` when present).
    products
        ``product_id``; ``product_group`` (else the product name is the group).
    segments
        :func:`account_segments`.
    reps
        ``rep_id, role``: the channel of deals without a channel field.
    opportunity_stages, as_of, stage_orders
        For :func:`salesanalytics.analyses.funnel.model.deal_progress`.
    funnel
        The funnel's deal measures (:class:`DealMeasures`).

    Returns
    -------
    pandas.DataFrame
        :func:`~salesanalytics.analyses.funnel.model.deal_progress` columns plus ``product_group``,
        ``channel_source`` (``opportunity``/``owner role``), ``customer_type``, ``size_class``,
        ``segment``; ``customer_type`` is ``new`` for new business, ``existing`` for upsell and
        renewal. ``attrs["counts"]`` counts what could not be used.
    """
    require_columns(opportunities, ["opportunity_id", "type", "status"], "opportunities")
    require_columns(products, ["product_id"], "products")
    p = funnel.deal_progress(opportunities, opportunity_stages, as_of, stage_orders)
    opp = opportunities.set_index(opportunities["opportunity_id"].astype("string"))
    oid = p["opportunity_id"].astype("string")
    counts: dict[str, int] = {"deals": len(p)}
    # channel: the deal's own field, else the owner's role
    ch = (
        p["channel"].astype("string") if "channel" in p.columns else pd.Series(pd.NA, index=p.index)
    )
    src = np.where(ch.notna().to_numpy(bool), "opportunity", None).astype(object)
    if reps is not None and {"rep_id", "role"} <= set(reps.columns):
        role_ch = pd.Series(
            reps["role"].astype("string").map(ROLE_CHANNEL).to_numpy(),
            index=reps["rep_id"].astype("string").to_numpy(),
        )
        by_owner = p["owner_id"].astype("string").map(role_ch)
        fill = ch.isna().to_numpy(bool) & by_owner.notna().to_numpy(bool)
        ch = ch.where(~fill, by_owner)
        src[fill] = "owner role"
    p["channel"] = ch.astype("string")
    p["channel_source"] = pd.array(src, dtype="string")
    counts["without_channel"] = int(p["channel"].isna().sum())
    # product group
    group = funnel.product_groups(products)
    group = group.fillna(pd.Series(group.index, index=group.index, dtype="string"))
    pid = (
        oid.map(opp["product_id"].astype("string"))
        if "product_id" in opp.columns
        else pd.Series(pd.NA, index=p.index, dtype="string")
    )
    p["product_group"] = pid.map(group).astype("string").to_numpy()
    counts["without_product_group"] = int(p["product_group"].isna().sum())
    # segment
    seg = segments.set_index(segments["account_id"].astype("string"))
    acc = p["account_id"].astype("string")
    p["size_class"] = acc.map(seg["size_class"]).astype("string").to_numpy()
    p["customer_type"] = pd.array(
        np.where(p["funnel"].eq("new_business").to_numpy(bool), "new", "existing"),
        dtype="string",
    )
    counts["renewals"] = int(p["type"].astype("string").eq("renewal").fillna(False).sum())
    counts["without_account"] = int(p["size_class"].isna().sum())
    p["segment"] = (
        p["customer_type"].map(_TYPE_LABEL).astype("string") + " · " + p["size_class"]
    ).astype("string")
    usable = p["channel"].notna() & p["product_group"].notna() & p["size_class"].notna()
    counts["usable"] = int(usable.sum())
    p = p[usable.to_numpy(bool)].reset_index(drop=True)
    p.attrs["counts"] = counts
    return p


# --------------------------------------------------------------------------- measures
def cell_measures(
    deals: pd.DataFrame,
    rules: MatrixRules | None = None,
    size_classes: Sequence[str] | None = None,
    *,
    funnel: DealMeasures,
) -> pd.DataFrame:
    """Win rate, cycle and deal size per segment × product group × channel.

    Parameters
    ----------
    deals
        :func:`deal_table` (``customer_type, size_class, segment, product_group, channel,
        status, amount, cycle_days, closed``).
    rules
        ``min_deals`` and ``prior_deals``.
    size_classes
        All size classes (cells of classes without deals get the pooled figures); default the
        classes seen in ``deals``.
    funnel
        The funnel's deal measures (:class:`DealMeasures`: ``win_rates``).

    Returns
    -------
    pandas.DataFrame
        ``customer_type, size_class, segment, product_group, channel, deals, won, lost, open,
        closed, win_rate_raw`` (won ÷ closed), ``win_rate`` (shrunk towards the group's pooled
        rate), ``deal_size`` (mean value of won deals; pooled when fewer than 5 wins),
        ``cycle_days`` (median, Kaplan–Meier), ``pooled_closed``, ``pooled_win_rate``,
        ``basis`` (``measured`` when ``closed ≥ min_deals``, ``pooled`` when only the group's
        figures reach it, ``thin`` otherwise).
    """
    rules = rules or MatrixRules()
    keys = ["customer_type", "size_class", "product_group", "channel"]
    require_columns(deals, [*keys, "status", "amount"], "deals")
    if deals.empty:
        return pd.DataFrame(columns=[*keys, *_CELL_COLUMNS])
    cell = funnel.win_rates(deals, by=keys)
    pool = funnel.win_rates(deals, by=["customer_type", "product_group", "channel"])
    pool = pool.rename(
        columns={
            "win_rate": "pooled_win_rate",
            "avg_deal_size": "pooled_deal_size",
            "median_cycle_days": "pooled_cycle_days",
        }
    )
    pool["pooled_closed"] = pool["won"] + pool["lost"]
    pool["pooled_won"] = pool["won"]
    # full grid: every segment × group × channel seen anywhere
    grid = pd.MultiIndex.from_product(
        [
            sorted(deals["customer_type"].dropna().unique()),
            list(size_classes)
            if size_classes is not None
            else sorted(deals["size_class"].dropna().unique()),
            sorted(deals["product_group"].dropna().unique()),
            sorted(deals["channel"].dropna().unique()),
        ],
        names=keys,
    ).to_frame(index=False)
    for k in keys:
        grid[k] = grid[k].astype("string")
        cell[k] = cell[k].astype("string")
    m = grid.merge(cell, on=keys, how="left")
    pk = ["customer_type", "product_group", "channel"]
    for k in pk:
        pool[k] = pool[k].astype("string")
    m = m.merge(
        pool[
            [
                *pk,
                "pooled_win_rate",
                "pooled_deal_size",
                "pooled_cycle_days",
                "pooled_closed",
                "pooled_won",
            ]
        ],
        on=pk,
        how="left",
    )
    for c in ("deals", "won", "lost", "open", "pooled_closed", "pooled_won"):
        m[c] = m[c].fillna(0).astype("int64")
    m["closed"] = m["won"] + m["lost"]
    m["win_rate_raw"] = np.where(m["closed"] > 0, m["won"] / m["closed"].clip(lower=1), np.nan)
    k = float(rules.prior_deals)
    prior = m["pooled_win_rate"].fillna(0.0)
    m["win_rate"] = np.where(
        m["closed"] + (k if k > 0 else 0) > 0,
        (m["won"] + k * prior) / (m["closed"] + k).where(m["closed"] + k > 0, 1),
        np.nan,
    )
    m.loc[m["pooled_closed"].eq(0) & m["closed"].eq(0), "win_rate"] = np.nan
    m["deal_size"] = np.where(m["won"] >= 5, m["avg_deal_size"], m["pooled_deal_size"])
    m["cycle_days"] = np.where(
        m["closed"] >= rules.min_deals, m["median_cycle_days"], m["pooled_cycle_days"]
    )
    m["basis"] = np.where(
        m["closed"] >= rules.min_deals,
        "measured",
        np.where(m["pooled_closed"] >= rules.min_deals, "pooled", "thin"),
    )
    m["segment"] = (
        m["customer_type"].map(_TYPE_LABEL).astype("string") + " · " + m["size_class"]
    ).astype("string")
    return m[[*keys, *_CELL_COLUMNS]]


def cost_per_deal(
    cts: pd.DataFrame | None,
    segments: pd.DataFrame,
    deals: pd.DataFrame,
    as_of: str | pd.Timestamp,
    window_days: int = 365,
) -> pd.DataFrame:
    """Selling cost of one deal worked, per channel and customer type.

    The channel's yearly activity cost on accounts of the type (``cost_<channel>`` of the channel
    phase's cost-to-serve) ÷ the deals of that type it closed per year in the same window.

    Parameters
    ----------
    cts
        :func:`salesanalytics.analyses.channels.model.cost_to_serve` (index ``account_id``; ``cost_field``,
        ``cost_tele``, ``cost_online``); None when the export has no activities or rates.
    segments
        :func:`account_segments` (``account_id, customer_type``).
    deals
        :func:`deal_table` (``channel, customer_type, close_date, closed``).
    as_of, window_days
        The costing window ``(as_of − window_days, as_of]``.

    Returns
    -------
    pandas.DataFrame
        ``channel, customer_type, yearly_cost, deals_per_year, cost_per_deal`` (NaN where
        unknown).
    """
    as_of = pd.Timestamp(as_of)
    start = as_of - pd.Timedelta(days=window_days)
    scale = 365.25 / window_days
    d = deals[
        deals["closed"].fillna(False).to_numpy(bool)
        & (deals["close_date"] > start).fillna(False).to_numpy(bool)
        & (deals["close_date"] <= as_of).fillna(False).to_numpy(bool)
    ]
    n = d.groupby(["channel", "customer_type"]).size() * scale
    rows = []
    seg = segments.set_index(segments["account_id"].astype("string"))["customer_type"]
    for ch in CHANNELS:
        for t in ("new", "existing"):
            cost = np.nan
            if cts is not None and f"cost_{ch}" in cts.columns:
                ctype = pd.Series(cts.index.astype("string"), index=cts.index).map(seg)
                cost = float(cts.loc[(ctype == t).to_numpy(bool), f"cost_{ch}"].sum())
            per_year = float(n.get((ch, t), 0.0))
            rows.append(
                {
                    "channel": ch,
                    "customer_type": t,
                    "yearly_cost": cost,
                    "deals_per_year": per_year,
                    "cost_per_deal": cost / per_year if per_year > 0 else np.nan,
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- decision
def _group_facts(products: pd.DataFrame, default_margin: float) -> pd.DataFrame:
    prod = products.copy()
    grp = (
        prod["product_group"].astype("string")
        if "product_group" in prod.columns
        else pd.Series(pd.NA, index=prod.index, dtype="string")
    )
    if "name" in prod.columns:
        grp = grp.fillna(prod["name"].astype("string"))
    prod["product_group"] = grp.fillna(prod["product_id"].astype("string"))
    prod["complexity"] = (
        pd.to_numeric(prod["complexity"], errors="coerce").astype("float64")
        if "complexity" in prod.columns
        else np.nan
    )
    prod["margin"] = (
        1 - pd.to_numeric(prod["cost_share"], errors="coerce").astype("float64")
        if "cost_share" in prod.columns
        else np.nan
    )
    g = prod.groupby("product_group").agg(
        complexity=("complexity", "mean"),
        margin=("margin", "mean"),
        products=("product_id", "size"),
    )
    g["margin"] = g["margin"].fillna(default_margin)
    g.index = g.index.astype("string")
    return g


def _rule_channel(complexity: float, rules: MatrixRules, largest: bool = True) -> str:
    if np.isnan(complexity):
        return "tele"
    if complexity >= rules.field_min_complexity:
        return "field" if largest else "tele"
    if complexity <= rules.online_max_complexity:
        return "online"
    return "tele"


def decide_cells(
    measures: pd.DataFrame,
    costs: pd.DataFrame,
    products: pd.DataFrame,
    segments: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    rules: MatrixRules | None = None,
) -> pd.DataFrame:
    """The proposed channel of every segment × product group, with its reason.

    Parameters
    ----------
    measures
        :func:`cell_measures`.
    costs
        :func:`cost_per_deal`.
    products
        ``product_id``, ``product_group``; ``complexity`` and ``cost_share`` when present.
    segments
        :func:`account_segments` (the cells' accounts, for preferences).
    accounts
        ``account_id, channel_preference`` (optional).
    rules
        :class:`MatrixRules`.

    Returns
    -------
    pandas.DataFrame
        One row per segment × group: ``customer_type, size_class, segment, product_group,
        channel`` (proposed, ``field``/``tele``/``online``), ``mode`` (client label, e.g.
        ``Online with tele follow-up``), ``basis`` (``measured``, ``pooled``, ``rule``),
        ``reason`` (plain words), ``closed_deals``, ``complexity``, ``margin``, and per channel
        ``win_rate_<c>``, ``deal_size_<c>``, ``cycle_days_<c>``, ``cost_per_deal_<c>``,
        ``contribution_<c>`` (per deal worked; NaN where not measurable); ``contribution`` of the
        proposed channel, ``preferred`` (channel most accounts of the cell prefer, if any) and
        ``preference_share``.
    """
    rules = rules or MatrixRules()
    facts = _group_facts(products, rules.default_margin)
    sizes = list(segments.attrs.get("size_labels") or sorted(segments["size_class"].unique()))
    groups = list(facts.index)
    seen = measures["product_group"].dropna().unique().tolist() if len(measures) else []
    groups = [g for g in groups if g in set(seen)] + [g for g in groups if g not in set(seen)]
    pref_share = segment_preferences(segments, accounts)
    cost = costs.set_index(["channel", "customer_type"])["cost_per_deal"]
    meas = measures.set_index(["customer_type", "size_class", "product_group", "channel"])
    today_ch = _selling_channel_today(measures)
    rows = []
    for t in ("new", "existing"):
        for s in sizes:
            seg = f"{_TYPE_LABEL[t]} · {s}"
            for g in groups:
                cx = float(facts.loc[g, "complexity"]) if g in facts.index else np.nan
                margin = float(facts.loc[g, "margin"]) if g in facts.index else rules.default_margin
                row: dict[str, Any] = {
                    "customer_type": t,
                    "size_class": s,
                    "largest_class": s == sizes[-1],
                    "group_channel": today_ch.get(g),
                    "segment": seg,
                    "product_group": g,
                    "complexity": cx,
                    "margin": margin,
                }
                cand, bases = _cell_channel_figures(row, meas, cost)
                pref, pshare = None, 0.0
                if seg in pref_share.index:
                    ps = pref_share.loc[seg].drop(labels=["none"], errors="ignore")
                    if len(ps):
                        pref, pshare = str(ps.idxmax()), float(ps.max())
                row["preferred"] = pref if pshare >= rules.preference_share else None
                row["preference_share"] = pshare
                row.update(_choose(cand, bases, row, cx, rules))
                rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["contribution"] = [
        r[f"contribution_{r['channel']}"] if r["basis"] != "rule" else np.nan
        for _, r in out.iterrows()
    ]
    return out


def segment_preferences(segments: pd.DataFrame, accounts: pd.DataFrame | None) -> pd.DataFrame:
    """Share of each segment's accounts per stated channel preference (``none`` = no preference).

    Parameters
    ----------
    segments
        :func:`account_segments` (``account_id, segment``).
    accounts
        ``account_id, channel_preference`` (optional).

    Returns
    -------
    pandas.DataFrame
        Index segment, one column per preference, rows summing to 1; empty without preferences.
    """
    if accounts is None or "channel_preference" not in accounts.columns:
        return pd.DataFrame()
    pa_ = segments[["account_id", "segment"]].merge(
        accounts[["account_id", "channel_preference"]].assign(
            account_id=accounts["account_id"].astype("string")
        ),
        on="account_id",
        how="left",
    )
    return (
        pd.crosstab(pa_["segment"], pa_["channel_preference"].fillna("none"), normalize="index")
        if len(pa_)
        else pd.DataFrame()
    )


def _selling_channel_today(measures: pd.DataFrame) -> dict[str, str]:
    """The channel that sells each group today (most closed deals).

    The rule's default when the group's complexity is unknown.
    """
    today_ch: dict[str, str] = {}
    if len(measures):
        by = measures.groupby(["product_group", "channel"])["closed"].sum()
        by = by[by > 0]
        for (g_, c_), _n in by.sort_values(ascending=False, kind="stable").items():
            today_ch.setdefault(str(g_), str(c_))
    return today_ch


def _cell_channel_figures(
    row: dict[str, Any], meas: pd.DataFrame, cost: pd.Series
) -> tuple[dict[str, float], dict[str, str]]:
    """Fill a cell's per-channel figures into ``row``.

    Returns the candidates (channel -> contribution per deal worked, measured or pooled) and
    each channel's basis.
    """
    t, s, g, margin = row["customer_type"], row["size_class"], row["product_group"], row["margin"]
    cand: dict[str, float] = {}
    closed = 0
    bases = {}
    for c in CHANNELS:
        key = (t, s, g, c)
        mr = meas.loc[key] if key in meas.index else None
        wr = float(mr["win_rate"]) if mr is not None else np.nan
        ds = float(mr["deal_size"]) if mr is not None else np.nan
        cy = float(mr["cycle_days"]) if mr is not None else np.nan
        basis = str(mr["basis"]) if mr is not None else "thin"
        closed += int(mr["closed"]) if mr is not None else 0
        cpd = float(cost.get((c, t), np.nan))
        contrib = wr * ds * margin - (0.0 if np.isnan(cpd) else cpd)
        row[f"win_rate_{c}"] = wr
        row[f"deal_size_{c}"] = ds
        row[f"cycle_days_{c}"] = cy
        row[f"cost_per_deal_{c}"] = cpd
        row[f"contribution_{c}"] = contrib if basis != "thin" else np.nan
        row[f"closed_{c}"] = int(mr["closed"]) if mr is not None else 0
        bases[c] = basis
        if basis != "thin" and not np.isnan(contrib):
            cand[c] = contrib
    row["closed_deals"] = closed
    return cand, bases


def _choose(
    cand: Mapping[str, float],
    bases: Mapping[str, str],
    row: Mapping[str, Any],
    complexity: float,
    rules: MatrixRules,
) -> dict[str, Any]:
    label = CHANNEL_LABELS
    if not cand:
        largest = bool(row.get("largest_class", True))
        ch = _rule_channel(complexity, rules, largest)
        cx = "unknown" if np.isnan(complexity) else f"{complexity:.1f}"
        today = row.get("group_channel")
        if np.isnan(complexity) and today in CHANNELS:
            ch = str(today)
            return {
                "channel": ch,
                "mode": label[ch],
                "basis": "rule",
                "reason": _(
                    "Too little data ({closed} closed deals, fewer than {min_deals} in every "
                    "channel) and no product complexity: stays with the channel that sells the "
                    "product group today ({channel})."
                ).format(
                    closed=row.get("closed_deals", 0),
                    min_deals=rules.min_deals,
                    channel=_(ch),
                ),
            }
        why = (
            _("needs explanation, worth a visit for the largest customers")
            if ch == "field"
            else _("needs explanation, by phone for customers of this size")
            if not np.isnan(complexity) and complexity >= rules.field_min_complexity
            else _("simple enough to buy online")
            if ch == "online"
            else _("needs some explanation")
        )
        return {
            "channel": ch,
            "mode": label[ch],
            "basis": "rule",
            "reason": _(
                "Too little data ({closed} closed deals, fewer than {min_deals} in every "
                "channel): rule by complexity ({complexity} of 5, {why}) → {channel}."
            ).format(
                closed=row.get("closed_deals", 0),
                min_deals=rules.min_deals,
                complexity=_(cx),
                why=why,
                channel=_(label[ch]).lower(),
            ),
        }
    best = max(cand, key=lambda c: (cand[c], -_RANK[c]))
    ch, mode = best, label[best]
    basis = "measured" if bases[best] == "measured" else "pooled"
    others = {c: v for c, v in cand.items() if c != best}
    wr = row[f"win_rate_{best}"]
    parts = [
        _("{channel} wins {share} of deals").format(
            channel=_(label[best]), share=formats.pct(wr, 0)
        )
    ]
    if others:
        runner = max(others, key=others.get)
        parts[0] += _(" (vs {share} by {channel})").format(
            share=formats.pct(row[f"win_rate_{runner}"], 0), channel=_(runner)
        )
    size, cycle = row[f"deal_size_{best}"], row[f"cycle_days_{best}"]
    if not np.isnan(size):
        parts[0] += _(", won deals worth {size} in the first year").format(size=formats.chf(size))
        if not np.isnan(cycle):
            parts[0] += _(", closing in {days} days (median)").format(days=formats.num(cycle))
    cpd = row[f"cost_per_deal_{best}"]
    if not np.isnan(cpd):
        parts.append(_("selling cost {cost} per deal").format(cost=formats.chf(cpd)))
    if others:
        gap = cand[best] - others[runner]
        parts.append(
            _("earns {gap} more per deal worked than {channel}").format(
                gap=formats.chf(gap), channel=_(runner)
            )
        )
    if not np.isnan(complexity):
        parts.append(_("complexity {value} of 5").format(value=formats.num(complexity, 1)))
    reason = "; ".join(parts) + "."
    pref = row.get("preferred")
    if pref and pref != best and pref in cand:
        if cand[pref] >= cand[best] - rules.preference_band * abs(cand[best]):
            ch, mode = pref, label[pref]
            basis = "measured" if bases[pref] == "measured" else "pooled"
            reason = _(
                "Most customers of this segment ({share}) prefer {preferred}, which earns within "
                "{band} of the best channel ({best})."
            ).format(
                share=formats.pct(row["preference_share"], 0),
                preferred=_(pref),
                band=formats.pct(rules.preference_band, 0),
                best=_(best),
            )
    if ch == "online" and "tele" in cand:
        close = cand["tele"] >= cand["online"] - rules.hybrid_band * abs(cand["online"])
        needs_talk = not np.isnan(complexity) and complexity > rules.online_max_complexity
        if close or needs_talk:
            mode = "Online with tele follow-up"
            reason += (
                _(" Tele follows up: the product needs explanation.")
                if needs_talk
                else _(" Tele follows up: it earns nearly as much.")
            )
    if basis == "pooled":
        reason += _(" (Few deals in this size class: the product group's figures over all sizes.)")
    return {"channel": ch, "mode": mode, "basis": basis, "reason": reason}


# --------------------------------------------------------------------------- accounts
def assign_account_groups(
    segments: pd.DataFrame,
    matrix: pd.DataFrame,
    accounts: pd.DataFrame,
    reps: pd.DataFrame | None = None,
    contracts: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    current: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
    key_accounts: pd.Series | None = None,
) -> pd.DataFrame:
    """Account × product group → channel: the canonical routing table.

    Every account gets one row per product group of the matrix. Key accounts stay in the field
    for every group: the engagement's key-account list where given (``key_accounts``), else the
    accounts owned by a key-account manager.

    Parameters
    ----------
    segments
        :func:`account_segments`.
    matrix
        :func:`decide_cells`.
    accounts
        ``account_id``, ``name``, ``owner_id``.
    reps
        ``rep_id``, ``role`` (key-account managers).
    contracts, products, as_of
        Active contracts give each row its yearly revenue and today's channel (``channel`` of
        the contract); optional.
    current
        Today's channel per account (``account_id, current_channel``), used where a group has no
        contract.
    key_accounts
        Boolean per account id: the potential phase's key-account list (``account_potential``
        column ``key_account``), so that the channel mix, the territories and the portfolio count
        the same key accounts.

    Returns
    -------
    pandas.DataFrame
        ``account_id, name, segment, customer_type, size_class, product_group, cell_id`` (row of
        ``matrix``), ``holds`` (active contract in the group), ``revenue`` (yearly, active
        contracts), ``weight`` (share of the account's workload the row carries; sums to 1 per
        account), ``current_channel, channel, mode, basis, key_account, moves``. Text columns
        with few values are categorical.
    """
    require_columns(segments, ["account_id", "segment", "customer_type", "size_class"], "segments")
    require_columns(matrix, ["segment", "product_group", "channel", "mode", "basis"], "matrix")
    mx = matrix.reset_index(drop=True)
    groups = list(dict.fromkeys(mx["product_group"].astype(str)))
    seg_names = list(dict.fromkeys(mx["segment"].astype(str)))
    n, g = len(segments), len(groups)
    ids = pd.Index(segments["account_id"].astype("string").to_numpy())
    acc = np.repeat(np.arange(n), g)
    grp = np.tile(np.arange(g), n)
    cell = _row_cells(mx, segments, seg_names, groups)
    has = cell >= 0

    def from_matrix(col: str, fill: str) -> np.ndarray:
        v = mx[col].astype(str).to_numpy(dtype=object)
        return np.where(has, v[np.maximum(cell, 0)], fill)

    channel = from_matrix("channel", "tele")
    mode = from_matrix("mode", "Tele")
    basis = from_matrix("basis", "rule")
    # key accounts stay in the field
    a_idx = accounts.assign(account_id=accounts["account_id"].astype("string")).set_index(
        "account_id"
    )
    ka = _key_account_mask(a_idx, ids, reps, key_accounts)[acc]
    channel = np.where(ka, "field", channel)
    mode = np.where(ka, "Field", mode)
    basis = np.where(ka, "key account", basis)
    # revenue and today's channel per account and group
    revenue, held, cur_ch = _group_revenue(contracts, products, as_of, ids, groups)
    if current is not None:
        cur = pd.Series(
            current["current_channel"].astype("string").to_numpy(dtype=object, na_value=None),
            index=current["account_id"].astype("string").to_numpy(),
        )
        acc_cur = cur.reindex(ids).to_numpy(dtype=object)
        fill = pd.isna(cur_ch)
        cur_ch[fill] = acc_cur[acc[fill]]
    cur_ch = np.where(pd.Series(cur_ch).isin(list(CHANNELS)).to_numpy(), cur_ch, None)
    # weights: revenue in the group, else the segment's mix of won deal value
    weight = _row_weights(mx, cell, acc, revenue, n, g)
    moves = pd.notna(cur_ch) & (cur_ch != channel) & (held | (weight > 0))
    names = a_idx["name"].astype("string").reindex(ids) if "name" in a_idx.columns else None
    seg_cat = segments["segment"].astype(str).to_numpy()
    cat = pd.Categorical

    out = pd.DataFrame(
        {
            "account_id": pd.array(ids, dtype="string").take(acc),
            "name": (
                pd.array(names.to_numpy(), dtype="string").take(acc)
                if names is not None
                else pd.array([pd.NA] * (n * g), dtype="string")
            ),
            "segment": cat(seg_cat[acc], categories=_segment_categories(seg_names, seg_cat)),
            "customer_type": cat(segments["customer_type"].astype(str).to_numpy()[acc]),
            "size_class": cat(segments["size_class"].astype(str).to_numpy()[acc]),
            "product_group": cat(np.asarray(groups, dtype=object)[grp], categories=groups),
            "cell_id": cell,
            "holds": held,
            "revenue": revenue,
            "weight": weight,
            "current_channel": cat(cur_ch, categories=list(CHANNELS)),
            "channel": cat(channel, categories=list(CHANNELS)),
            "mode": cat(mode),
            "basis": cat(basis),
            "key_account": ka,
            "moves": moves,
        }
    )
    return out


def _row_cells(
    mx: pd.DataFrame, segments: pd.DataFrame, seg_names: Sequence[str], groups: Sequence[str]
) -> np.ndarray:
    """The matrix row (cell) of every account × group row; -1 where the segment has none.

    Rows run account by account (``account * len(groups) + group``) over ``segments``.
    """
    n, g = len(segments), len(groups)
    seg_code = pd.Index(seg_names).get_indexer(segments["segment"].astype(str))
    # cell of every (segment, group): row of the matrix
    cell_of = np.full((len(seg_names), g), -1, dtype=np.int64)
    cell_of[
        pd.Index(seg_names).get_indexer(mx["segment"].astype(str)),
        pd.Index(groups).get_indexer(mx["product_group"].astype(str)),
    ] = np.arange(len(mx))
    sc = seg_code[np.repeat(np.arange(n), g)]
    return np.where(sc >= 0, cell_of[np.maximum(sc, 0), np.tile(np.arange(g), n)], -1)


def _key_account_mask(
    a_idx: pd.DataFrame,
    ids: pd.Index,
    reps: pd.DataFrame | None,
    key_accounts: pd.Series | None,
) -> np.ndarray:
    """Key account or not, per account of ``ids``.

    The engagement's key-account list where given, else the accounts owned by a key-account
    manager (``a_idx``: accounts indexed by account id, ``owner_id``).
    """
    n = len(ids)
    is_ka = np.zeros(n, dtype=bool)
    if key_accounts is not None:
        flags = pd.Series(
            key_accounts.to_numpy(dtype=bool), index=key_accounts.index.astype("string")
        )
        is_ka = flags.reindex(pd.Index(ids, dtype="string")).fillna(False).to_numpy(bool)
    elif (
        reps is not None and "owner_id" in a_idx.columns and {"rep_id", "role"} <= set(reps.columns)
    ):
        kam = set(reps.loc[reps["role"].astype("string").eq("key_account").fillna(False), "rep_id"])
        is_ka = (
            a_idx["owner_id"].astype("string").isin(kam).fillna(False).reindex(ids).fillna(False)
        ).to_numpy(bool)
    return is_ka


def _group_revenue(
    contracts: pd.DataFrame | None,
    products: pd.DataFrame | None,
    as_of: str | pd.Timestamp | None,
    ids: pd.Index,
    groups: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Yearly revenue, held or not and today's channel per account × group row.

    Rows run account by account (``account * len(groups) + group``); revenue counts the active
    contracts on ``as_of``, today's channel is that of the latest contract of the row.
    """
    n, g = len(ids), len(groups)
    revenue = np.zeros(n * g)
    cur_ch = np.full(n * g, None, dtype=object)
    if contracts is not None and products is not None and as_of is not None and len(contracts):
        as_of = pd.Timestamp(as_of)
        c = contracts
        active = ((c["start_date"] <= as_of) & ~(c["end_date"] < as_of)).fillna(False)
        c = c[active.to_numpy(bool)]
        facts = products.assign(product_id=products["product_id"].astype("string"))
        gname = (
            facts["product_group"].astype("string")
            if "product_group" in facts.columns
            else pd.Series(pd.NA, index=facts.index, dtype="string")
        )
        if "name" in facts.columns:
            gname = gname.fillna(facts["name"].astype("string"))
        gmap = pd.Series(gname.to_numpy(), index=facts["product_id"].to_numpy())
        ci = ids.get_indexer(c["account_id"].astype("string"))
        gi = pd.Index(groups).get_indexer(
            c["product_id"].astype("string").map(gmap).astype(str).to_numpy()
        )
        ok = (ci >= 0) & (gi >= 0)
        row = ci[ok] * g + gi[ok]
        mrr = pd.to_numeric(c["mrr"], errors="coerce").fillna(0.0).to_numpy()[ok]
        revenue = np.bincount(row, weights=12.0 * mrr, minlength=n * g)
        held = np.bincount(row, minlength=n * g) > 0
        if "channel" in c.columns:
            latest = (
                pd.DataFrame(
                    {
                        "row": row,
                        "ch": c["channel"].astype("string").to_numpy()[ok],
                        "start": c["start_date"].to_numpy()[ok],
                    }
                )
                .dropna(subset=["ch"])
                .sort_values("start", kind="stable")
                .drop_duplicates("row", keep="last")
            )  # the latest contract of each account and group says how it is sold today
            cur_ch[latest["row"].to_numpy()] = latest["ch"].to_numpy(dtype=object)
    else:
        held = np.zeros(n * g, dtype=bool)
    return revenue, held, cur_ch


def _row_weights(
    mx: pd.DataFrame, cell: np.ndarray, acc: np.ndarray, revenue: np.ndarray, n: int, g: int
) -> np.ndarray:
    """Share of the account's workload each account × group row carries (sums to 1 per account).

    The row's revenue share where the account has revenue, else the segment's mix of won deal
    value (win rate × deal size of the best channel), else equal shares.
    """
    has = cell >= 0
    v = np.zeros(len(mx))
    for c_ in CHANNELS:
        if f"win_rate_{c_}" in mx.columns:
            x = (mx[f"win_rate_{c_}"] * mx[f"deal_size_{c_}"]).to_numpy(dtype="float64")
            v = np.fmax(v, np.nan_to_num(x, nan=0.0))
    seg_tot = pd.Series(v).groupby(mx["segment"].astype(str).to_numpy()).transform("sum").to_numpy()
    share = np.where(seg_tot > 0, v / np.where(seg_tot > 0, seg_tot, 1), 1.0 / max(g, 1))
    seg_share = np.where(has, share[np.maximum(cell, 0)], 0.0)
    acc_rev = np.bincount(acc, weights=revenue, minlength=n)[acc]
    weight = np.where(acc_rev > 0, revenue / np.where(acc_rev > 0, acc_rev, 1), seg_share)
    wsum = np.bincount(acc, weights=weight, minlength=n)[acc]
    return np.where(wsum > 0, weight / np.where(wsum > 0, wsum, 1), 1.0 / g)


def _segment_categories(seg_names: Sequence[str], seen: np.ndarray) -> list[str]:
    return list(dict.fromkeys([*seg_names, *pd.unique(seen).tolist()]))


def account_channel_shares(assignment: pd.DataFrame, column: str = "channel") -> pd.DataFrame:
    """Share of each account's weight per channel.

    Parameters
    ----------
    assignment
        :func:`assign_account_groups` (``account_id``, ``weight`` and ``column``).
    column
        The channel column (``channel`` proposed, ``current_channel`` today).

    Returns
    -------
    pandas.DataFrame
        Index ``account_id`` (in first-seen order); columns ``field, tele, online``.
    """
    codes, uniques = pd.factorize(assignment["account_id"], sort=False)
    ch = pd.Categorical(assignment[column].astype(object), categories=list(CHANNELS)).codes
    ok = (codes >= 0) & (ch >= 0)
    k = len(uniques)
    w = assignment["weight"].to_numpy(dtype="float64")
    flat = np.bincount(codes[ok] * len(CHANNELS) + ch[ok], weights=w[ok], minlength=k * 3)
    return pd.DataFrame(
        flat.reshape(k, len(CHANNELS)),
        index=pd.Index(uniques, name="account_id"),
        columns=list(CHANNELS),
    )


# --------------------------------------------------------------------------- workload
def field_workload(
    accounts: pd.DataFrame,
    potential: pd.DataFrame | None,
    activities: Any,
    reps: pd.DataFrame,
    served_today: pd.Series,
    road_factor: float | None = None,
    speed_kmh: float | None = None,
    *,
    model: FieldWorkloadModel,
) -> pd.DataFrame:
    """Full field workload per account (hours per year) by the territory design's norm model.

    Norms (status × potential class, :func:`salesanalytics.analyses.territory.design.workload_segment`)
    are measured on the accounts the field serves today, so an account moved to the field gets
    the workload of a field account like it, and one moved away drops it.

    Parameters
    ----------
    accounts
        ``account_id, status, latitude, longitude``.
    potential
        ``account_id, potential_mrr`` (else every account is class C).
    activities
        Canonical activities, or the field activities per account aggregated by the run's engine
        (what the model's ``activity_norms`` reads: the territory design's ``ActivityEffort``).
    reps
        Canonical reps (field bases for travel).
    served_today
        Boolean per account id: served by the field today (norm population).
    road_factor, speed_kmh
        Travel model (defaults of :mod:`salesanalytics.reference.travel`).
    model
        The territory design's workload model (:class:`FieldWorkloadModel`).

    Returns
    -------
    pandas.DataFrame
        :func:`salesanalytics.analyses.territory.design.account_workload` columns (``account_id, segment,
        activity_hours, visits_per_year, travel_km, travel_hours, workload_hours``) for all
        accounts.
    """
    from salesanalytics.reference.travel import ROAD_FACTOR, SPEED_KMH

    acc = accounts[["account_id", "status", "latitude", "longitude"]].copy()
    acc["account_id"] = acc["account_id"].astype("string")
    if potential is not None and "potential_mrr" in potential.columns:
        pot = pd.Series(
            potential["potential_mrr"].to_numpy(dtype="float64", na_value=np.nan),
            index=potential["account_id"].astype("string").to_numpy(),
        )
        acc["potential_mrr"] = acc["account_id"].map(pot).fillna(0.0).to_numpy()
    else:
        acc["potential_mrr"] = 0.0
    seg = model.workload_segment(acc)
    seg.index = acc["account_id"].to_numpy()
    today = served_today.reindex(seg.index).fillna(False).astype(bool)
    norms = model.activity_norms(activities, seg[today.to_numpy()], channel="field")
    return model.account_workload(
        acc,
        seg,
        norms,
        reps,
        road_factor=road_factor or ROAD_FACTOR,
        speed_kmh=speed_kmh or SPEED_KMH,
    )


def channel_workload(
    assignment: pd.DataFrame,
    field_hours: pd.Series,
    other_hours: pd.DataFrame,
    rates: pd.DataFrame | None,
    reps: pd.DataFrame | None = None,
    account_value: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Workload, FTE, cost and contribution per channel, today and proposed.

    Parameters
    ----------
    assignment
        :func:`assign_account_groups` (``account_id, weight, current_channel, channel``).
    field_hours
        Full field hours per account (:func:`field_workload` ``workload_hours``), index account id.
    other_hours
        Hours per account served in tele / online: index ``(channel, status)``, column ``hours``
        (:func:`salesanalytics.analyses.channels.model.service_model`), plus the accounts' status in
        ``attrs["status"]`` (Series by account id).
    rates
        Canonical ``channel_rates`` (capacity and cost per FTE); None = FTE unknown.
    reps
        ``role, fte, active``: FTE available per channel.
    account_value
        Per account ``contribution_2`` (index account id), for the contribution columns.

    Returns
    -------
    tuple of pandas.DataFrame
        (``scenario, channel, accounts`` (accounts with any weight in the channel),
        ``workload_hours, fte_needed, fte_available, cost, contribution``;
        per account ``account_id, field_share, tele_share, online_share, field_hours,
        tele_hours, online_hours`` for the proposed scenario).
    """
    from salesanalytics.analyses.channels.model import channel_rates

    r = channel_rates(rates) if rates is not None else None
    status = other_hours.attrs.get("status")
    fte_avail = pd.Series(0.0, index=list(CHANNELS))
    if reps is not None and "role" in reps.columns:
        rr = reps
        if "active" in rr.columns:
            rr = rr[rr["active"].fillna(True).astype(bool).to_numpy()]
        ch = rr["role"].astype("string").map(ROLE_CHANNEL)
        fte = rr["fte"].fillna(1.0) if "fte" in rr.columns else pd.Series(1.0, index=rr.index)
        fte_avail = fte.groupby(ch.to_numpy()).sum().reindex(list(CHANNELS)).fillna(0.0)
    rows = []
    per_acc = None
    for scen, col in (("today", "current_channel"), ("proposed", "channel")):
        a = assignment.assign(_ch=assignment[col].fillna(assignment["channel"]))
        shares = account_channel_shares(a, "_ch")
        ids = shares.index
        hours = pd.DataFrame(index=ids)
        hours["field"] = field_hours.reindex(ids).fillna(0.0).to_numpy() * shares["field"]
        st = status.reindex(ids) if status is not None else pd.Series("customer", index=ids)
        for c in ("tele", "online"):
            key = pd.MultiIndex.from_arrays([np.full(len(ids), c), st.to_numpy(dtype=object)])
            h = other_hours["hours"].reindex(key).fillna(0.0).to_numpy()
            hours[c] = h * shares[c].to_numpy()
        val = (
            account_value["contribution_2"].reindex(ids).fillna(0.0)
            if account_value is not None
            else pd.Series(0.0, index=ids)
        )
        for c in CHANNELS:
            work = float(hours[c].sum())
            cap = float(r.loc[c, "capacity_hours"]) if r is not None else np.nan
            rows.append(
                {
                    "scenario": scen,
                    "channel": c,
                    "accounts": int((shares[c] > 0).sum()),
                    "workload_hours": work,
                    "fte_needed": work / cap if cap and cap > 0 else np.nan,
                    "fte_available": float(fte_avail.get(c, 0.0)),
                    "cost": work * float(r.loc[c, "cost_per_hour"]) if r is not None else np.nan,
                    "contribution": float((val * shares[c]).sum()),
                }
            )
        if scen == "proposed":
            per_acc = pd.DataFrame(
                {
                    "account_id": ids.astype("string"),
                    **{f"{c}_share": shares[c].to_numpy() for c in CHANNELS},
                    **{f"{c}_hours": hours[c].to_numpy() for c in CHANNELS},
                }
            ).reset_index(drop=True)
    return pd.DataFrame(rows), per_acc


# --------------------------------------------------------------------------- waves
def matrix_waves(
    matrix: pd.DataFrame, assignment: pd.DataFrame, deals: pd.DataFrame, n_waves: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Group the moves of cells (and the accounts they carry) in migration waves.

    The yearly effect of a moving account × group row = (contribution per deal worked in the
    proposed channel − in today's channel, from the cell's figures) × the deals worked per
    account and year in the cell (closed deals of the cell per year ÷ accounts of the segment).
    Cells are ranked by their total yearly effect; wave 1 holds the largest.

    Parameters
    ----------
    matrix
        :func:`decide_cells`.
    assignment
        :func:`assign_account_groups` (``cell_id, current_channel, channel, moves, revenue,
        account_id``).
    deals
        :func:`deal_table` (``segment, product_group, closed, close_date``).
    n_waves
        Number of waves (1-12).

    Returns
    -------
    tuple of pandas.DataFrame
        (the assignment with ``yearly_effect`` and ``migration_wave`` (Int64, missing for rows
        that stay); per wave ``migration_wave, cells, accounts, rows, revenue, yearly_effect,
        cumulative_effect``).
    """
    if not 1 <= n_waves <= 12:
        raise ValueError(f"n_waves must be between 1 and 12, got {n_waves}")
    a = assignment.copy()
    mx = matrix.reset_index(drop=True)
    closed = deals[deals["closed"].fillna(False).to_numpy(bool)]
    years = 1.0
    if len(closed):
        span = (closed["close_date"].max() - closed["close_date"].min()) / pd.Timedelta(days=365.25)
        years = max(float(span), 1.0) if pd.notna(span) else 1.0
    per_cell = closed.groupby(["segment", "product_group"]).size() / years
    cell_deals = (
        per_cell.reindex(
            pd.MultiIndex.from_arrays([mx["segment"].astype(str), mx["product_group"].astype(str)])
        )
        .fillna(0.0)
        .to_numpy()
    )
    cell = a["cell_id"].to_numpy()
    has = cell >= 0
    cix = np.maximum(cell, 0)
    seg_codes, _ = pd.factorize(a["segment"].astype(str))
    n_acc_seg = np.bincount(
        seg_codes[has], weights=None, minlength=int(seg_codes.max()) + 1 if len(a) else 0
    )
    groups_per_acc = max(int(a["product_group"].nunique()), 1)
    accounts_in_seg = n_acc_seg[seg_codes] / groups_per_acc
    rate = np.where(has, cell_deals[cix] / np.maximum(accounts_in_seg, 1), 0.0)
    contrib = np.column_stack([mx[f"contribution_{c}"].to_numpy(dtype="float64") for c in CHANNELS])
    new = pd.Categorical(a["channel"].astype(object), categories=list(CHANNELS)).codes
    cur = pd.Categorical(a["current_channel"].astype(object), categories=list(CHANNELS)).codes
    c_new = np.where(has & (new >= 0), contrib[cix, np.maximum(new, 0)], np.nan)
    c_cur = np.where(has & (cur >= 0), contrib[cix, np.maximum(cur, 0)], np.nan)
    eff = np.nan_to_num((c_new - c_cur) * rate, nan=0.0)
    moves = a["moves"].to_numpy(bool)
    a["yearly_effect"] = np.where(moves, eff, 0.0)
    # rank the cells that move by their total effect
    mv_cells = cell[moves & has]
    cell_eff = np.bincount(
        mv_cells, weights=a["yearly_effect"].to_numpy()[moves & has], minlength=len(mx)
    )
    moving = np.flatnonzero(np.bincount(mv_cells, minlength=len(mx)) > 0)
    wave_of = np.full(len(mx), -1, dtype=np.int64)
    if len(moving):
        order = moving[np.argsort(-cell_eff[moving], kind="stable")]
        wave_of[order] = np.arange(len(order)) * n_waves // len(order) + 1
    w = np.where(moves & has, wave_of[cix], -1)
    a["migration_wave"] = pd.array(np.where(w > 0, w, pd.NA), dtype="Int64")
    mvd = a[w > 0]
    summary = (
        mvd.groupby("migration_wave")
        .agg(
            accounts=("account_id", "nunique"),
            rows=("account_id", "size"),
            revenue=("revenue", "sum"),
            yearly_effect=("yearly_effect", "sum"),
        )
        .reset_index()
    )
    cells = pd.Series(wave_of[wave_of > 0]).value_counts()
    summary.insert(1, "cells", summary["migration_wave"].map(cells).fillna(0).astype("int64"))
    summary["migration_wave"] = summary["migration_wave"].astype("int64")
    summary["cumulative_effect"] = summary["yearly_effect"].cumsum()
    return a, summary


def wave_effects(assignment: pd.DataFrame) -> pd.DataFrame:
    """Moves per wave and cell (from :func:`matrix_waves`).

    Columns ``migration_wave, segment, product_group, current_channel, channel, accounts, revenue,
    yearly_effect``.
    """
    m = assignment[assignment["migration_wave"].notna().to_numpy(bool)]
    g = (
        m.groupby(
            ["migration_wave", "segment", "product_group", "current_channel", "channel"],
            observed=True,
        )
        .agg(
            accounts=("account_id", "nunique"),
            revenue=("revenue", "sum"),
            yearly_effect=("yearly_effect", "sum"),
        )
        .reset_index()
    )
    return g.sort_values(["migration_wave", "yearly_effect"], ascending=[True, False]).reset_index(
        drop=True
    )


# --------------------------------------------------------------------------- gaps, report
def data_gaps(
    tables: Mapping[str, pd.DataFrame | None],
    segments: pd.DataFrame,
    deals: pd.DataFrame,
    rules: MatrixRules | None = None,
    has_activities: bool | None = None,
) -> list[str]:
    """What the data lacks for a full channel matrix, in plain words (empty when complete).

    Parameters
    ----------
    tables
        Canonical tables by name (``opportunities``, ``products``, ``activities``,
        ``channel_rates``, ``contracts``, ``accounts``); missing or empty ones count as absent.
    segments
        :func:`account_segments`.
    deals
        :func:`deal_table`.
    rules
        :class:`MatrixRules`.
    has_activities
        Whether the export holds activities (when the phase reads them aggregated, not as a
        table); ``None`` = from ``tables["activities"]``.
    """
    rules = rules or MatrixRules()
    gaps: list[str] = []

    def empty(name: str) -> bool:
        t = tables.get(name)
        return t is None or len(t) == 0

    if empty("opportunities"):
        gaps.append("no opportunities: win rates, cycle times and deal sizes cannot be measured")
    no_activities = empty("activities") if has_activities is None else not has_activities
    if no_activities or empty("channel_rates"):
        gaps.append(
            "no activities or channel cost rates: the selling cost per deal is unknown, so the "
            "channel is chosen on win rate × deal value × margin alone"
        )
    if empty("contracts"):
        gaps.append(
            "no contracts: no revenue per product group (workload weights use the deal mix) and "
            "no channel per contract today"
        )
    prod = tables.get("products")
    if prod is None or "complexity" not in prod.columns or prod["complexity"].isna().all():
        gaps.append(
            _(
                "no product complexity: thin cells stay with the channel that sells the product "
                "group today"
            )
        )
    if prod is None or "cost_share" not in prod.columns or prod["cost_share"].isna().all():
        gaps.append(
            _("no product cost shares: a margin of {margin} is assumed").format(
                margin=formats.pct(rules.default_margin, 0)
            )
        )
    acc = tables.get("accounts")
    if (
        acc is None
        or "channel_preference" not in acc.columns
        or acc["channel_preference"].isna().all()
    ):
        gaps.append(_("no stated channel preferences"))
    if len(deals):
        seen = sorted(deals["channel"].dropna().unique())
        if len(seen) < len(CHANNELS):
            missing = [c for c in CHANNELS if c not in seen]
            gaps.append(
                _(
                    "deals only in {seen}: {missing} cannot be measured, so the matrix can only "
                    "confirm or rule out the channels seen"
                ).format(
                    seen=", ".join(_(c) for c in seen), missing=", ".join(_(c) for c in missing)
                )
            )
        src = deals.get("channel_source")
        if src is not None and src.eq("owner role").all():
            gaps.append(_("no channel field on deals: each deal's channel is its owner's role"))
        if not deals["customer_type"].eq("existing").any():
            gaps.append(_("no upsell deals: the existing-customer rows rest on the fallback rule"))
    if segments.attrs.get("size_basis", rules.size_basis) != rules.size_basis:
        gaps.append(
            f"no {rules.size_basis} for most accounts: size classes use "
            f"{segments.attrs.get('size_basis')}"
        )
    counts = deals.attrs.get("counts", {})
    for key, text in (
        ("without_product_group", N_("deals without a product group")),
        ("without_account", N_("deals without an account")),
        ("without_channel", N_("deals without a channel or owner role")),
    ):
        if counts.get(key):
            gaps.append(_("{n} {what} (left out)").format(n=formats.num(counts[key]), what=_(text)))
    return gaps


def matrix_sentence(matrix: pd.DataFrame, summary: pd.DataFrame | None = None) -> str:
    """One plain-language paragraph on the matrix (and the FTE per channel when given)."""
    n = len(matrix)
    by = matrix["channel"].value_counts()
    parts = [
        _("Of {n} segment × product-group cells, ").format(n=n)
        + ", ".join(
            _("{n} go to {channel}").format(n=formats.num(by.get(c, 0)), channel=_(c))
            for c in CHANNELS
        )
        + _("; {n} have too little data and follow the complexity rule.").format(
            n=formats.num(int(matrix["basis"].eq("rule").sum()))
        )
    ]
    if summary is not None and len(summary):
        s = summary[summary["scenario"] == "proposed"].set_index("channel")
        if s["fte_needed"].notna().any():
            parts.append(
                _("The proposed split needs ")
                + ", ".join(
                    _("{fte} FTE in {channel}").format(
                        fte=formats.num(s.loc[c, "fte_needed"], 1), channel=_(c)
                    )
                    for c in CHANNELS
                )
                + _(
                    " for their customer work; the field's travel comes on top and is sized "
                    "with the territories."
                )
            )
    return " ".join(parts)


def _groups_held(
    hold: np.ndarray, pos: np.ndarray, gpos: np.ndarray, groups: list[str], ids: pd.Index
) -> pd.Series:
    """Per account the product groups it holds, sorted and joined (``""`` for none).

    One bit per group and account; each combination of groups is joined once.
    """
    if len(groups) > 62:  # more groups than bits: join per account
        s = pd.Series(np.asarray(groups, dtype=object)[gpos[hold]], index=ids[pos[hold]])
        joined = s.groupby(level=0).agg(lambda x: ", ".join(sorted(x)))
        return joined.reindex(ids).fillna("")
    bits = np.zeros(len(ids), dtype=np.int64)
    np.bitwise_or.at(bits, pos[hold], np.left_shift(1, gpos[hold]).astype(np.int64))
    names = {
        m: ", ".join(sorted(g for j, g in enumerate(groups) if m >> j & 1))
        for m in np.unique(bits).tolist()
    }
    return pd.Series([names[m] for m in bits.tolist()], index=ids, dtype=object)


def account_groups_for_excel(assignment: pd.DataFrame) -> pd.DataFrame:
    """The account × product-group assignment for the workbook: one row per account.

    Columns: ``Account``, ``Segment``, ``Key account`` (yes/no), ``Revenue per year (CHF)``,
    ``Product groups held today``, one column per product group with its proposed channel,
    ``First migration wave`` and ``Account id`` (last, for finding the record in the CRM). One
    row per account keeps the sheet readable and within Excel's row limit.
    """
    a = assignment
    groups = list(dict.fromkeys(a["product_group"].astype(str)))
    ids = pd.Index(pd.unique(a["account_id"]))
    pos = ids.get_indexer(a["account_id"])
    gpos = pd.Index(groups).get_indexer(a["product_group"].astype(str))
    grid = np.full((len(ids), len(groups)), "", dtype=object)
    grid[pos, gpos] = a["mode"].astype(str).to_numpy(dtype=object)
    first = a.drop_duplicates("account_id").set_index("account_id")
    held = _groups_held(a["holds"].to_numpy(bool), pos, gpos, groups, ids)
    rev = a.groupby("account_id")["revenue"].sum()
    out = pd.DataFrame(
        {
            "Account": first["name"].reindex(ids).to_numpy(),
            "Segment": first["segment"].reindex(ids).to_numpy(),
            "Key account": np.where(
                a.groupby("account_id")["key_account"].any().reindex(ids).to_numpy(bool),
                _("yes"),
                _("no"),
            ),
            f"Revenue per year ({formats.currency()})": rev.reindex(ids).round(0).to_numpy(),
            "Product groups held today": held.to_numpy(),
        }
    )
    for j, g in enumerate(groups):
        out[_("{group}: channel").format(group=g)] = grid[:, j]
    if "migration_wave" in a.columns:
        w = a.groupby("account_id")["migration_wave"].min().reindex(ids)
        out["First migration wave"] = w.to_numpy()
    out["Account id"] = ids.to_numpy()
    return out.sort_values("Account", kind="stable").reset_index(drop=True)


def planted_matrix_checks(
    measures: pd.DataFrame, matrix: pd.DataFrame, truth: Mapping[str, Any] | None
) -> pd.DataFrame:
    """Measured against the demo's planted win rates and channels (empty for a real client).

    Parameters
    ----------
    measures
        :func:`cell_measures` (new-business cells are pooled over size classes here).
    matrix
        :func:`decide_cells`.
    truth
        The demo's ``truth.json`` (its ``channel_matrix`` section).

    Returns
    -------
    pandas.DataFrame
        ``product_group, channel, closed, measured_win_rate, planted_win_rate, difference,
        planted_channel, proposed_channels`` (the channels the matrix proposes for the group's
        new-business cells).
    """
    cols = [
        "product_group",
        "channel",
        "closed",
        "measured_win_rate",
        "planted_win_rate",
        "difference",
        "planted_channel",
        "proposed_channels",
    ]
    if truth is None or "channel_matrix" not in truth:
        return pd.DataFrame(columns=cols)
    cm = truth["channel_matrix"]
    planted = cm["expected_win_rate_new_business"]
    new = measures[measures["customer_type"] == "new"]
    g = new.groupby(["product_group", "channel"])[["won", "closed"]].sum().reset_index()
    g["measured_win_rate"] = g["won"] / g["closed"].where(g["closed"] > 0)
    g["planted_win_rate"] = pd.to_numeric(
        pd.Series(
            [
                planted.get(f, {}).get(c)  # None: no closed deal of the cell in the demo
                for f, c in zip(g["product_group"], g["channel"], strict=True)
            ],
            index=g.index,
            dtype=object,
        ),
        errors="coerce",
    ).astype(float)
    g["difference"] = g["measured_win_rate"] - g["planted_win_rate"]
    exp_ch = cm.get("expected_channel", {})
    g["planted_channel"] = g["product_group"].map(exp_ch)
    newm = matrix[matrix["customer_type"] == "new"]
    prop = newm.groupby("product_group")["channel"].agg(lambda s: ", ".join(sorted(set(s))))
    g["proposed_channels"] = g["product_group"].map(prop)
    return g[cols]


# --------------------------------------------------------------------------- the whole thing
@dataclass
class MatrixResult:
    """Everything the channel matrix shows (see :func:`analyse_matrix`)."""

    segments: pd.DataFrame
    deals: pd.DataFrame
    measures: pd.DataFrame
    costs: pd.DataFrame
    matrix: pd.DataFrame
    gaps: list[str] = field(default_factory=list)


def analyse_matrix(
    tables: Mapping[str, pd.DataFrame | None],
    as_of: str | pd.Timestamp,
    potential: pd.DataFrame | None = None,
    cts: pd.DataFrame | None = None,
    rules: MatrixRules | None = None,
    window_days: int = 365,
    *,
    funnel: DealMeasures,
    has_activities: bool | None = None,
) -> MatrixResult:
    """Measure and decide the channel matrix from canonical tables.

    Works on whatever the export holds: without activities or cost rates the cost per deal is
    unknown (decided on win rate × value × margin), without deals in a channel that channel is
    not a candidate, without any usable deal every cell follows the fallback rule. What is
    missing is listed in :attr:`MatrixResult.gaps`.

    Parameters
    ----------
    tables
        Canonical tables by name: ``accounts``, ``reps``, ``products``, ``opportunities`` (needed),
        ``opportunity_stages``, ``contracts``, ``activities``, ``channel_rates`` (optional).
    as_of
        Reference date.
    potential
        Potential phase ``account_potential`` (size classes by potential).
    cts
        Cost-to-serve per account with ``cost_<channel>`` columns
        (:func:`salesanalytics.analyses.channels.model.cost_to_serve`).
    rules
        :class:`MatrixRules`.
    window_days
        Costing window.
    funnel
        The funnel's deal measures (:class:`DealMeasures`), handed in by the phase.
    has_activities
        Whether the export holds activities (see :func:`data_gaps`).
    """
    rules = rules or MatrixRules()
    for name in ("accounts", "products", "opportunities"):
        if tables.get(name) is None:
            raise KeyError(f"the channel matrix needs the '{name}' table; the export has none")
    accounts = tables["accounts"]
    segs = account_segments(accounts, potential, rules.size_basis, rules.size_classes)
    deals = deal_table(
        tables["opportunities"],
        tables["products"],
        segs,
        tables.get("reps"),
        tables.get("opportunity_stages"),
        as_of,
        funnel=funnel,
    )
    measures = cell_measures(deals, rules, segs.attrs.get("size_labels"), funnel=funnel)
    costs = cost_per_deal(cts, segs, deals, as_of, window_days)
    matrix = decide_cells(measures, costs, tables["products"], segs, accounts, rules)
    gaps = data_gaps(tables, segs, deals, rules, has_activities)
    return MatrixResult(segs, deals, measures, costs, matrix, gaps)


@dataclass
class Routing:
    """The channel matrix applied to the accounts (see :func:`route_accounts`)."""

    result: MatrixResult
    assignment: pd.DataFrame
    waves: pd.DataFrame
    summary: pd.DataFrame
    account_workload: pd.DataFrame
    field_workload: pd.DataFrame
    account_channel: pd.DataFrame


def route_accounts(
    mix: Any,
    tables: Mapping[str, pd.DataFrame | None],
    as_of: str | pd.Timestamp,
    potential: pd.DataFrame | None = None,
    rules: MatrixRules | None = None,
    n_waves: int = 3,
    window_days: int = 365,
    road_factor: float | None = None,
    speed_kmh: float | None = None,
    *,
    funnel: DealMeasures,
    workload_model: FieldWorkloadModel,
    field_effort: object | None = None,
) -> Routing:
    """Matrix, account × product-group routing, workload per channel and migration waves.

    Parameters
    ----------
    mix
        :class:`salesanalytics.analyses.channels.model.ChannelMix` (cost-to-serve, contributions,
        today's channel, service model).
    tables
        Canonical tables (``accounts, reps, products, opportunities, opportunity_stages,
        contracts, activities, channel_rates``).
    as_of
        Reference date.
    potential
        Potential phase ``account_potential``.
    rules, n_waves, window_days, road_factor, speed_kmh
        See :class:`MatrixRules`, :func:`matrix_waves`, :func:`field_workload`.
    funnel, workload_model
        The funnel's deal measures (:class:`DealMeasures`) and the territory design's workload
        model (:class:`FieldWorkloadModel`), handed in by the phase.
    field_effort
        The field activities per account aggregated by the run's engine (the territory design's
        ``field_effort``), read instead of ``tables["activities"]`` (which the phase then need
        not load).

    Returns
    -------
    Routing
        ``assignment`` (account × group, with waves), ``waves`` (per wave), ``summary`` (per
        channel today and proposed: the one workload/FTE table), ``account_workload`` (per
        account shares and hours per channel), ``field_workload`` (territory input: accounts
        with field work, their field hours, ``key_account``), ``account_channel`` (the channel
        phase's per-account table with ``proposed_channel`` = the channel carrying most of the
        account's weight).
    """
    rules = rules or MatrixRules()
    has_activities = None if field_effort is None else mix.activity_rows > 0
    res = analyse_matrix(
        tables,
        as_of,
        potential,
        mix.cost_to_serve,
        rules,
        window_days,
        funnel=funnel,
        has_activities=has_activities,
    )
    accounts = tables["accounts"]
    asg = assign_account_groups(
        res.segments,
        res.matrix,
        accounts,
        tables.get("reps"),
        tables.get("contracts"),
        tables.get("products"),
        mix.account_channel[["account_id", "current_channel"]],
        as_of,
        key_accounts=_key_account_flags(potential),
    )
    asg, waves = matrix_waves(res.matrix, asg, res.deals, n_waves)
    today_field = account_channel_shares(
        asg.assign(_c=asg["current_channel"].fillna(asg["channel"])), "_c"
    )["field"]
    fw = field_workload(
        accounts,
        potential,
        field_effort if field_effort is not None else tables["activities"],
        tables["reps"],
        today_field > 0,
        road_factor,
        speed_kmh,
        model=workload_model,
    )
    fw_full = fw.set_index(fw["account_id"].astype("string"))
    ac = mix.account_channel
    rates = tables.get("channel_rates")
    if rates is not None and rates.empty:
        rates = None  # no cost rates in the export: FTE and cost stay unknown
    summary, per_acc = channel_workload(
        asg,
        fw_full["workload_hours"],
        _service_hours(mix.model, accounts),
        rates,
        tables.get("reps"),
        ac.set_index(ac["account_id"].astype("string"))[["contribution_2"]],
    )
    return Routing(
        result=res,
        assignment=asg,
        waves=waves,
        summary=summary,
        account_workload=per_acc,
        field_workload=territory_field_workload(fw_full, per_acc, asg),
        account_channel=proposed_account_channel(ac, asg, per_acc, rates),
    )


def _key_account_flags(potential: pd.DataFrame | None) -> pd.Series | None:
    """The potential phase's key-account flag per account id (None when it has none)."""
    if potential is None or "key_account" not in potential.columns:
        return None
    return pd.Series(
        potential["key_account"].fillna(False).to_numpy(bool),
        index=potential["account_id"].astype("string").to_numpy(),
    )


def _service_hours(service_model: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """The channel mix's service model by ``(channel, status)``, accounts' status in ``attrs``."""
    status = pd.Series(
        accounts["status"].astype("string").to_numpy(),
        index=accounts["account_id"].astype("string").to_numpy(),
    )
    model = (
        service_model.set_index(["channel", "status"])
        if "channel" in service_model.columns
        else service_model
    )
    model = model.copy()
    model.attrs["status"] = status
    return model


def territory_field_workload(
    field_workload: pd.DataFrame, account_workload: pd.DataFrame, assignment: pd.DataFrame
) -> pd.DataFrame:
    """The territory input: the field share of every account with field work.

    Parameters
    ----------
    field_workload
        :func:`field_workload` indexed by account id (full field hours per account).
    account_workload
        :func:`channel_workload` per account (``account_id, field_share``).
    assignment
        :func:`assign_account_groups` (``account_id, key_account``).

    Returns
    -------
    pandas.DataFrame
        The accounts with a field share above 0, their hours (``activity_hours,
        visits_per_year, travel_hours, workload_hours``) times that share, ``field_share`` and
        ``key_account``.
    """
    share = account_workload.set_index("account_id")["field_share"]
    fwp = field_workload.loc[share.index[share.to_numpy() > 0]].copy()
    sh = share.reindex(fwp.index).to_numpy()
    for c in ("activity_hours", "visits_per_year", "travel_hours", "workload_hours"):
        fwp[c] = fwp[c].to_numpy() * sh
    fwp["field_share"] = sh
    is_ka = assignment.groupby("account_id", observed=True)["key_account"].any()
    fwp["key_account"] = is_ka.reindex(fwp.index).fillna(False).to_numpy(bool)
    return fwp.reset_index(drop=True)


def proposed_account_channel(
    account_channel: pd.DataFrame,
    assignment: pd.DataFrame,
    account_workload: pd.DataFrame,
    rates: pd.DataFrame | None,
) -> pd.DataFrame:
    """The channel phase's per-account table following the matrix.

    Parameters
    ----------
    account_channel
        The channel mix's per-account table (``account_id``).
    assignment
        :func:`assign_account_groups` with waves (``account_id, key_account, yearly_effect,
        migration_wave``).
    account_workload
        :func:`channel_workload` per account (``<channel>_share``, ``<channel>_hours``).
    rates
        Canonical ``channel_rates``; None = the proposed cost stays unknown.

    Returns
    -------
    pandas.DataFrame
        ``account_channel`` plus ``proposed_channel`` (the channel carrying most of the
        account's weight; ties go to the most personal channel), ``reason``,
        ``proposed_cost`` (with rates), ``delta_contribution`` and ``migration_wave``.
    """
    from salesanalytics.analyses.channels.model import channel_rates

    shares = account_workload.set_index("account_id")[[f"{c}_share" for c in CHANNELS]]
    order = np.array([_RANK[c] for c in CHANNELS]) * 1e-9  # ties: most personal channel
    primary = np.asarray(CHANNELS, dtype=object)[
        np.argmax(shares.to_numpy() + order[None, :], axis=1)
    ]
    prim = pd.Series(primary, index=shares.index)
    eff = assignment.groupby("account_id")["yearly_effect"].sum()
    wave = assignment.groupby("account_id")["migration_wave"].min()
    hours = account_workload.set_index("account_id")
    rr = channel_rates(rates) if rates is not None else None
    ac = account_channel.copy()
    aid = ac["account_id"].astype("string")
    ac["proposed_channel"] = pd.array(aid.map(prim).to_numpy(), dtype="string")
    ka = aid.map(assignment.groupby("account_id")["key_account"].any())
    ac["reason"] = pd.array(
        np.where(
            ka.fillna(False).to_numpy(bool),
            "key account: stays with its key-account manager",
            "follows the channel matrix (segment × product group)",
        ),
        dtype="string",
    )
    if rr is not None:
        cost = sum(
            hours[f"{c}_hours"].reindex(aid).fillna(0.0).to_numpy()
            * float(rr.loc[c, "cost_per_hour"])
            for c in CHANNELS
        )
        ac["proposed_cost"] = cost
    ac["delta_contribution"] = aid.map(eff).fillna(0.0).to_numpy()
    ac["migration_wave"] = pd.array(aid.map(wave).to_numpy(), dtype="Int64")
    return ac


def workbook_sheets(routing: Routing) -> dict[str, pd.DataFrame]:
    """The sheets of the channel workbook, client words as headers.

    Matrix with reasons, account × product-group assignment with names, migration waves, workload
    per channel.

    Written by :func:`salesanalytics.analyses.channels.plots.write_workbook`.
    """
    m = routing.result.matrix
    matrix = pd.DataFrame(
        {
            "Customer segment": m["segment"],
            "Product group": m["product_group"],
            "Channel": m["mode"],
            "Decided on": m["basis"].map(
                {
                    "measured": "deals of the cell",
                    "pooled": "the product group's deals",
                    "rule": "complexity rule (too little data)",
                }
            ),
            "Reason": m["reason"],
            "Closed deals": m["closed_deals"],
            **{
                f"Win rate {CHANNEL_LABELS[c].lower()}": m[f"win_rate_{c}"].round(4)
                for c in CHANNELS
            },
            **{
                f"Contribution per deal {CHANNEL_LABELS[c].lower()} ({formats.currency()})": m[
                    f"contribution_{c}"
                ].round(0)
                for c in CHANNELS
            },
        }
    )
    waves = routing.waves.rename(
        columns={
            "migration_wave": "Wave",
            "cells": "Cells",
            "accounts": "Accounts",
            "rows": "Account × product-group moves",
            "revenue": f"Revenue moved ({formats.currency()} per year)",
            "yearly_effect": f"Contribution effect ({formats.currency()} per year)",
            "cumulative_effect": f"Cumulative effect ({formats.currency()} per year)",
        }
    )
    s = routing.summary.assign(
        scenario=routing.summary["scenario"].map({"today": "today", "proposed": "proposed"}),
        channel=routing.summary["channel"].map(CHANNEL_LABELS),
    ).rename(
        columns={
            "scenario": "Scenario",
            "channel": "Channel",
            "accounts": "Accounts",
            "workload_hours": "Workload (h per year)",
            "fte_needed": "FTE needed",
            "fte_available": "FTE today",
            "cost": f"Cost ({formats.currency()} per year)",
            "contribution": f"Contribution II ({formats.currency()} per year)",
        }
    )
    return {
        _("Channel matrix"): matrix,
        _("Accounts x product groups"): account_groups_for_excel(routing.assignment),
        _("Migration waves"): waves,
        _("Workload per channel"): s,
    }


def field_scope(accounts: pd.DataFrame, field_workload: pd.DataFrame | None) -> pd.DataFrame:
    """The accounts the channel mix leaves (wholly or in part) in the field.

    Parameters
    ----------
    accounts
        Canonical accounts (``account_id``).
    field_workload
        The channel phase's ``field_workload`` (``account_id``); None = every account (a run
        without the channel phase).

    Returns
    -------
    pandas.DataFrame
        The rows of ``accounts`` with field work; ``attrs["left_out"]`` counts the others.

    Raises
    ------
    ValueError
        If ``field_workload`` is given but empty (no account left in the field).
    """
    if field_workload is None:
        out = accounts.copy()
        out.attrs["left_out"] = 0
        return out
    require_columns(field_workload, ["account_id"], "field_workload")
    if field_workload.empty:
        raise ValueError(
            "the channel mix leaves no account in the field, so there are no field territories "
            "to design; check the channel phase's parameters (e.g. min_deals, size_classes) or "
            "leave the territory phase out of the run"
        )
    keep = (
        accounts["account_id"].astype("string").isin(set(field_workload["account_id"].astype(str)))
    )
    out = accounts[keep.fillna(False).to_numpy(bool)].copy()
    out.attrs["left_out"] = int((~keep.fillna(False)).sum())
    return out


def today_vs_proposed(account_channel: pd.DataFrame) -> pd.DataFrame:
    """Accounts by today's channel (rows) and the channel carrying most of their business after it.

    The channel after the matrix in the columns: ``today, field, tele, online``.

    Parameters
    ----------
    account_channel
        :attr:`Routing.account_channel` (``current_channel``, ``proposed_channel``).
    """
    require_columns(account_channel, ["current_channel", "proposed_channel"], "account_channel")
    m = pd.crosstab(
        account_channel["current_channel"].astype(str),
        account_channel["proposed_channel"].astype(str),
    ).reindex(index=list(CHANNELS), columns=list(CHANNELS), fill_value=0)
    m.index.name, m.columns.name = "today", "proposed"
    return m.reset_index()


def data_used(routing: Routing, mix_counts: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """What the matrix and the costing used and left out, in plain words (``item, count``)."""
    c = routing.result.deals.attrs.get("counts", {})
    labels = {
        "deals": N_("deals in the CRM"),
        "usable": N_("deals used (with channel, product group and account)"),
        "renewals": N_("of which renewals (existing customers)"),
        "without_channel": N_("deals without channel or owner role (left out)"),
        "without_product_group": N_("deals without product group (left out)"),
        "without_account": N_("deals without a known account (left out)"),
    }
    rows = [(labels[k], c[k]) for k in labels if k in c]
    rows.append((N_("accounts routed"), routing.assignment["account_id"].nunique()))
    rows.append((N_("account × product-group rows"), len(routing.assignment)))
    more = {
        "activities_in_window": N_("activities costed (window)"),
        "activities_without_account": N_("activities without account (left out)"),
        "visits_without_coordinates": N_("visits without coordinates (no travel cost)"),
        "contracts_with_default_cost_share": N_("contracts with the default product cost share"),
    }
    for k, lab in more.items():
        if mix_counts and k in mix_counts:
            rows.append((lab, mix_counts[k]))
    return pd.DataFrame([(_(i), n) for i, n in rows], columns=["item", "count"])


TRACKING_COLUMNS = (
    "funnel",
    "product_group",
    "matrix_channels",
    "deals",
    "deals_in_matrix_channel",
    "win_rate_matrix_channel",
    "win_rate_other_channels",
    "open_in_matrix_channel",
)


def matrix_tracking(matrix: pd.DataFrame | None, group_rates: pd.DataFrame | None) -> pd.DataFrame:
    """Cockpit view: whether each product group sells where the matrix sends it.

    Parameters
    ----------
    matrix
        The channel phase's ``segment_matrix`` (``customer_type, product_group, channel``).
    group_rates
        The funnel phase's ``channel_group_win_rates`` (``funnel, channel, product_group,
        deals, open, win_rate``).

    Returns
    -------
    pandas.DataFrame
        Per ``funnel`` (new business / existing customers) and ``product_group``:
        ``matrix_channels`` (channels the matrix proposes, by number of segments),
        ``deals_in_matrix_channel`` (share of the group's deals worked in those channels),
        ``win_rate_matrix_channel`` and ``win_rate_other_channels`` (won ÷ closed),
        ``open_in_matrix_channel`` (open deals there). Empty (with these columns) when the
        channel or the funnel phase produced no table (``None``: the phase was skipped).
    """
    if matrix is None or group_rates is None:
        return pd.DataFrame(columns=list(TRACKING_COLUMNS))
    require_columns(matrix, ["customer_type", "product_group", "channel"], "segment_matrix")
    require_columns(
        group_rates, ["funnel", "channel", "product_group", "deals", "won", "lost", "open"], "rates"
    )
    rows = []
    ftype = {"new_business": "new", "existing": "existing"}
    for f, t in ftype.items():
        m = matrix[matrix["customer_type"] == t]
        r = group_rates[group_rates["funnel"] == f]
        for g in dict.fromkeys(m["product_group"].astype(str)):
            chans = m.loc[m["product_group"] == g, "channel"].value_counts()
            rg = r[r["product_group"].astype(str) == g]
            inm = rg["channel"].isin(chans.index)
            won_in, lost_in = rg.loc[inm, "won"].sum(), rg.loc[inm, "lost"].sum()
            won_out, lost_out = rg.loc[~inm, "won"].sum(), rg.loc[~inm, "lost"].sum()
            deals = rg["deals"].sum()
            rows.append(
                {
                    "funnel": f,
                    "product_group": g,
                    "matrix_channels": ", ".join(f"{c} ({n})" for c, n in chans.items() if n > 0),
                    "deals": int(deals),
                    "deals_in_matrix_channel": rg.loc[inm, "deals"].sum() / deals
                    if deals
                    else np.nan,
                    "win_rate_matrix_channel": won_in / (won_in + lost_in)
                    if won_in + lost_in
                    else np.nan,
                    "win_rate_other_channels": won_out / (won_out + lost_out)
                    if won_out + lost_out
                    else np.nan,
                    "open_in_matrix_channel": int(rg.loc[inm, "open"].sum()),
                }
            )
    return pd.DataFrame(rows, columns=list(TRACKING_COLUMNS))
