"""Sales funnels: separate funnels for new business and for existing customers (upsell, renewal).

The analysis works on the canonical ``opportunities`` table and, where the CRM exports it, the stage
history ``opportunity_stages``. It answers, per funnel and by channel or rep:

* how many deals reach each stage and how many of the decided ones move on (stage-to-stage
  conversion; deals still open in a stage are not counted as lost, they are *censored*);
* win rate, deal size and sales-cycle length (Kaplan–Meier, open deals censored);
* how long deals stay in each stage (Kaplan–Meier) and the stage transition matrix with the
  empirical win probability from each stage;
* pipeline coverage of the remaining yearly target, and the deals that are stuck.

Conventions
-----------
* Funnel of a deal: ``new_business`` for type ``new_business``, ``existing`` for ``upsell`` and
  ``renewal``.
* The funnel is monotone: a deal that reached stage *k* is counted as having passed every earlier
  stage of its funnel (deals created directly in a later stage count for the earlier ones too).
* Won deals reached every open stage and the final stage ``Won``. Lost deals without a stage
  history are counted as lost in the first stage of their funnel (nothing better is known).
* Stage names are matched case-insensitively to the funnel's stage order. Configured stages that
  the data never uses are dropped when there is a stage history or the data names stages of its
  own (e.g. Maven's ``Engaging``); stages that are not in
  the configured order (and are not closing stages of won/lost deals) are appended after the known
  ones in the order of their median entry time (or alphabetically without history).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
from statsmodels.duration.survfunc import SurvfuncRight

if TYPE_CHECKING:
    from salesanalytics.aggregate.catalogue import Aggregator

from salesanalytics.aggregate.expressions import DEFAULT_STAGE_ORDERS as _DEFAULT_ORDERS
from salesanalytics.errors import require_columns
from salesanalytics.ingest.schema import ROLE_CHANNEL
from salesanalytics.present.i18n import N_
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "product_groups",
    "DEFAULT_STAGE_ORDERS",
    "EngineStageHistory",
    "FUNNELS",
    "FUNNEL_LABELS",
    "TOP_N",
    "FunnelAnalysis",
    "analyse_funnels",
    "bookings_targets",
    "channel_group_funnels",
    "counts_table",
    "deal_progress",
    "for_report",
    "funnel_of",
    "funnel_sentence",
    "history_note",
    "kaplan_meier",
    "km_quantile",
    "parse_stage_order",
    "pipeline_coverage",
    "resolve_stage_orders",
    "sales_cycle",
    "stage_conversion",
    "stage_durations",
    "stuck_deals",
    "time_in_stage",
    "time_in_stage_counts",
    "transition_counts",
    "top_rows",
    "transition_matrix",
    "win_rates",
    "workbook_sheets",
]

FUNNELS: tuple[str, ...] = ("new_business", "existing")
"""The two funnels: new business, and existing customers (upsell and renewal)."""

FUNNEL_LABELS: dict[str, str] = {
    "new_business": N_("New business"),
    "existing": N_("Existing customers"),
}
"""The funnels in client words (English; translated where shown)."""

COUNT_LABELS: dict[str, str] = {
    "deals": N_("Deals analysed"),
    "open": N_("Open deals (still running)"),
    "without_owner": N_("Deals without an owner"),
    "without_created_date": N_("Deals without a creation date"),
    "without_amount": N_("Deals without an amount"),
    "stage_history_rows": N_("Rows of stage history"),
    "stage_history_rows_dropped": N_("Rows of stage history not used (unknown stage or deal)"),
}
"""The counts of :attr:`FunnelAnalysis.counts` in client words (English; translated where shown)."""

DEFAULT_STAGE_ORDERS: dict[str, tuple[str, ...]] = _DEFAULT_ORDERS
"""Open stages of each funnel in order (the closing stage ``Won``/``Lost`` follows the last)."""

WON = "Won"
LOST = "Lost"

TOP_N = 10
"""Rows of a per-rep or per-deal table shown in the report (per funnel where split by funnel);
every row is in the funnel workbook (:func:`write_workbook`)."""

_OPP_COLUMNS = ("opportunity_id", "owner_id", "type", "amount", "created_date", "status")
_HIST_COLUMNS = ("opportunity_id", "stage", "entered_at")


def _positions(keys: pd.Series, target: pd.Series) -> np.ndarray:
    """Position of every ``target`` value in ``keys`` (-1 if absent): ``Index.get_indexer``.

    Faster for long string ids (one factorisation of both); duplicated or missing keys, or
    differing dtypes, take ``get_indexer`` itself (which raises on duplicated keys).
    """
    if keys.dtype != target.dtype or keys.hasnans or target.hasnans:
        return pd.Index(keys).get_indexer(target)
    codes, uniq = pd.factorize(pd.concat([keys, target], ignore_index=True))
    k, t = codes[: len(keys)], codes[len(keys) :]
    if len(k) and np.bincount(k, minlength=len(uniq)).max() > 1:
        return pd.Index(keys).get_indexer(target)
    lut = np.full(len(uniq), -1, dtype=np.intp)
    lut[k] = np.arange(len(k), dtype=np.intp)
    return lut[t]


def funnel_of(opportunity_type: pd.Series) -> pd.Series:
    """Map opportunity types to funnels: ``new_business`` -> ``new_business``, else ``existing``.

    Parameters
    ----------
    opportunity_type
        Canonical ``opportunities.type`` values (``new_business``, ``upsell``, ``renewal``).
    """
    code = np.where(_is_new(opportunity_type), 0, 1)
    return pd.Series(
        _string_array(code, ["new_business", "existing"]), index=opportunity_type.index
    )


def _is_new(opportunity_type: pd.Series) -> np.ndarray:
    """True where the type is ``new_business`` (any case)."""
    t = opportunity_type.astype("string").str.lower()
    return t.eq("new_business").fillna(False).to_numpy(bool)


def _string_array(codes: np.ndarray, names: Sequence[str]) -> pd.api.extensions.ExtensionArray:
    """``names[code]`` as a ``string`` array (code -1 = missing), without Python string objects."""
    dictionary = pa.array([str(n) for n in names], type=pa.string())
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=np.asarray(codes) < 0)
    return pd.StringDtype().__from_arrow__(
        pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())
    )


def resolve_stage_orders(
    opportunities: pd.DataFrame,
    opportunity_stages: pd.DataFrame | EngineStageHistory | None = None,
    stage_orders: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, tuple[str, ...]]:
    """The ordered open stages of each funnel, as spelled in the data.

    Parameters
    ----------
    opportunities
        Canonical opportunities; needs ``opportunity_id``, ``type``, ``status``, ``stage``,
        ``created_date``.
    opportunity_stages
        Optional stage history with ``opportunity_id``, ``stage``, ``entered_at``, or the
        aggregation layer's (:class:`EngineStageHistory`).
    stage_orders
        Configured order per funnel; default :data:`DEFAULT_STAGE_ORDERS`.

    Returns
    -------
    dict
        Funnel -> tuple of stage names (spelling as in the data where it occurs there).
        Stages seen only as the current stage of closed deals (``Closed Won``, ``Lost``) are
        closing stages and not part of the order.
    """
    orders = {k: tuple(v) for k, v in (stage_orders or DEFAULT_STAGE_ORDERS).items()}
    opp = opportunities
    is_new = _is_new(opp["type"])
    stages: list[pd.Series] = []
    new_flags: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    if "stage" in opp.columns:
        is_open = opp["status"].astype("string").eq("open").fillna(False).to_numpy(bool)
        stages.append(opp["stage"].astype("string")[is_open].reset_index(drop=True))
        new_flags.append(is_new[is_open])
        ranks.append(np.full(int(is_open.sum()), np.nan))
    weights: list[np.ndarray] = [np.ones(len(s), dtype=np.int64) for s in stages]
    has_history = opportunity_stages is not None and len(opportunity_stages) > 0
    if has_history and isinstance(opportunity_stages, EngineStageHistory):
        entries = opportunity_stages.frame("stage_entries")
        stages.append(entries["stage"].reset_index(drop=True))
        new_flags.append(entries["funnel"].eq("new_business").to_numpy(bool))
        ranks.append(entries["days"].to_numpy(dtype="float64"))
        weights.append(entries["entries"].to_numpy(dtype=np.int64))
    elif has_history:
        assert isinstance(opportunity_stages, pd.DataFrame)
        pos = _positions(opp["opportunity_id"], opportunity_stages["opportunity_id"])
        ok = pos >= 0
        created = pd.to_datetime(opp["created_date"]).to_numpy(dtype="datetime64[ns]")[pos[ok]]
        entered = pd.to_datetime(opportunity_stages["entered_at"]).to_numpy(dtype="datetime64[ns]")[
            ok
        ]
        stages.append(opportunity_stages["stage"].astype("string")[ok].reset_index(drop=True))
        new_flags.append(is_new[pos[ok]])
        ranks.append((entered - created).astype("timedelta64[D]").astype("float64"))
        weights.append(np.ones(int(ok.sum()), dtype=np.int64))
    if not stages:
        return orders
    codes, uniq = pd.factorize(pd.concat(stages, ignore_index=True), use_na_sentinel=True)
    new_all = np.concatenate(new_flags)
    rank_all = np.concatenate(ranks)
    weight_all = np.concatenate(weights)
    names = [str(u) for u in uniq]
    closing = np.array(
        [any(w in n.lower() for w in ("closed", "won", "lost")) for n in names], dtype=bool
    )
    out: dict[str, tuple[str, ...]] = {}
    for funnel in FUNNELS:
        known = list(orders.get(funnel, ()))
        known_lower = {k.lower() for k in known}
        sel = (codes >= 0) & (new_all if funnel == "new_business" else ~new_all)
        present = [c for c in np.unique(codes[sel]) if not closing[c]]
        spelled = {names[c].lower(): names[c] for c in present}
        extra_codes = [c for c in present if names[c].lower() not in known_lower]
        # configured stages as spelled in the data; configured stages the data never uses are
        # left out when the data has a full stage history or names stages of its own
        drop_unseen = has_history or len(extra_codes) > 0
        ordered = [
            spelled.get(k.lower(), k) for k in known if not drop_unseen or k.lower() in spelled
        ]
        if extra_codes:
            m = sel & np.isin(codes, extra_codes)
            n = weight_all[m]  # history rows aggregated by day: each day as often as it occurs
            med = pd.Series(np.repeat(rank_all[m], n)).groupby(np.repeat(codes[m], n)).median()
            med = med.reindex(sorted(extra_codes, key=lambda c: names[c]))
            ordered += [names[c] for c in med.sort_values(kind="stable", na_position="last").index]
        out[funnel] = tuple(ordered)
    return out


def deal_progress(
    opportunities: pd.DataFrame,
    opportunity_stages: pd.DataFrame | EngineStageHistory | None = None,
    as_of: str | pd.Timestamp | None = None,
    stage_orders: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """One row per deal: its funnel, furthest stage reached, cycle length and time in stage.

    Parameters
    ----------
    opportunities
        Canonical opportunities with ``opportunity_id``, ``owner_id``, ``type``, ``amount``,
        ``created_date``, ``status`` and, if present, ``close_date``, ``stage``, ``channel``,
        ``account_id``.
    opportunity_stages
        Optional stage history (``opportunity_id``, ``stage``, ``entered_at``), or the
        aggregation layer's (:class:`EngineStageHistory`: the same result).
    as_of
        Reference date ("today"); open deals are censored here. Default: latest date in the data.
    stage_orders
        Open stages per funnel (see :func:`resolve_stage_orders`).

    Returns
    -------
    pandas.DataFrame
        Columns ``opportunity_id, account_id, owner_id, channel, type, funnel, status, amount,
        created_date, close_date, stage, furthest_index, furthest_stage, n_stages, entered_stage_at,
        days_in_stage, cycle_days, closed``. ``furthest_index`` counts from 0 (first open stage);
        ``n_stages`` is the number of open stages of the funnel (a won deal has
        ``furthest_index == n_stages``, the ``Won`` stage). ``cycle_days`` runs from creation to
        close (closed deals) or to ``as_of`` (open deals, ``closed`` False = censored); deals
        without a creation date have no cycle length and are counted in
        ``attrs["without_created_date"]``.

    Raises
    ------
    KeyError
        If a required column is missing.
    ValueError
        If a status is not ``won``, ``lost`` or ``open``.
    """
    require_columns(opportunities, _OPP_COLUMNS, "opportunities")
    hist = opportunity_stages
    if isinstance(hist, pd.DataFrame):
        require_columns(hist, _HIST_COLUMNS, "opportunity_stages")
    opp = opportunities
    status = opp["status"].astype("string").str.lower()
    bad = ~status.isin(["won", "lost", "open"]).fillna(False)
    if bad.any():
        vals = sorted({str(v) for v in status[bad].unique()})
        raise ValueError(
            f"opportunities.status has {int(bad.sum())} value(s) other than won/lost/open: "
            f"{', '.join(vals[:10])}; map them to won, lost or open in the column mapping."
        )
    orders = resolve_stage_orders(opp, hist, stage_orders)
    as_of = _default_as_of(opp, status, as_of)
    out = _deal_columns(opp, status)
    is_new = out["funnel"].eq("new_business").to_numpy(bool)
    n_stages = np.where(is_new, len(orders["new_business"]), len(orders["existing"]))
    is_won = out["status"].eq("won").to_numpy(bool)
    is_open = out["status"].eq("open").to_numpy(bool)
    furthest, entered = _furthest_and_entered(out, hist, orders)
    furthest = np.where(is_won, n_stages, furthest)
    furthest = np.where(np.isnan(furthest), 0, furthest).astype("int64")
    out["furthest_index"] = furthest
    out["n_stages"] = n_stages
    names = {f: {**dict(enumerate(st)), len(st): WON} for f, st in orders.items()}
    out["furthest_stage"] = _stage_names(is_new, furthest, names)
    entered = np.where(np.isnat(entered), out["created_date"].to_numpy(), entered)
    out["entered_stage_at"] = np.where(is_open, entered, np.datetime64("NaT")).astype(
        "datetime64[ns]"
    )
    out["days_in_stage"] = ((as_of - out["entered_stage_at"]).dt.days).astype("float64")
    end = np.where(is_open, np.datetime64(as_of, "ns"), out["close_date"].to_numpy())
    cycle = (pd.Series(pd.to_datetime(end)) - out["created_date"]).dt.days.to_numpy(
        dtype="float64", na_value=np.nan
    )
    out["cycle_days"] = np.clip(cycle, 0, None)
    out["closed"] = ~is_open
    # without a stage history the stage at which a lost deal was lost is unknown (its current
    # stage in the export is where it stopped, or just its first stage): only open and won deals
    # have a known furthest stage
    has_history = hist is not None and len(hist) > 0
    out["furthest_known"] = ~(out["status"].eq("lost").to_numpy(bool)) | has_history
    out.attrs["stage_history"] = bool(has_history)
    out.attrs["as_of"] = as_of.strftime("%Y-%m-%d")  # attrs go into Parquet metadata as JSON
    out.attrs["stage_orders"] = orders
    out.attrs["without_created_date"] = int(out["created_date"].isna().sum())
    return out


def _default_as_of(
    opp: pd.DataFrame, status: pd.Series, as_of: str | pd.Timestamp | None
) -> pd.Timestamp:
    """``as_of``, by default the latest creation or close date of a closed deal in the data."""
    if as_of is None:
        dates = [opp["created_date"].max()]
        if "close_date" in opp.columns:
            dates.append(opp.loc[status.ne("open").to_numpy(bool), "close_date"].max())
        as_of = max(d for d in dates if pd.notna(d))
    return pd.Timestamp(as_of)


def _deal_columns(opp: pd.DataFrame, status: pd.Series) -> pd.DataFrame:
    """The deal's own columns in canonical dtypes (missing optional ones as missing values)."""
    n = len(opp)

    def col(name: str) -> pd.Series:
        if name in opp.columns:
            return opp[name].astype("string")
        return pd.Series(pd.array([pd.NA] * n, dtype="string"), index=opp.index)

    return pd.DataFrame(
        {
            "opportunity_id": col("opportunity_id"),
            "account_id": col("account_id"),
            "owner_id": col("owner_id"),
            "channel": col("channel"),
            "type": col("type"),
            "funnel": funnel_of(opp["type"]),
            "status": status,
            "amount": pd.to_numeric(opp["amount"], errors="coerce").astype("float64"),
            "created_date": pd.to_datetime(opp["created_date"]).astype("datetime64[ns]"),
            "close_date": (
                pd.to_datetime(opp["close_date"]).astype("datetime64[ns]")
                if "close_date" in opp.columns
                else pd.Series(pd.NaT, index=opp.index, dtype="datetime64[ns]")
            ),
            "stage": col("stage"),
        }
    ).reset_index(drop=True)


def _stage_index(
    stage: pd.Series, new: np.ndarray, orders: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """Index of each stage name in its funnel's order (NaN if not an open stage)."""
    codes, uniq = pd.factorize(stage.str.lower(), use_na_sentinel=True)
    res = np.full(len(stage), np.nan)
    for f, sel in (("new_business", new), ("existing", ~new)):
        pos = {s.lower(): i for i, s in enumerate(orders[f])}
        lut = np.array([pos.get(str(u), np.nan) for u in uniq] + [np.nan], dtype="float64")
        res[sel] = lut[codes[sel]]
    return res


def _furthest_and_entered(
    out: pd.DataFrame,
    hist: pd.DataFrame | EngineStageHistory | None,
    orders: Mapping[str, Sequence[str]],
) -> tuple[np.ndarray, np.ndarray]:
    """Furthest open stage index reached (NaN unknown) and entry into the current stage.

    From the current stage of open deals and, with a stage history, every stage a deal entered;
    the entry (last entry of the current stage of open deals) is NaT without a history.
    """
    n = len(out)
    is_new = out["funnel"].eq("new_business").to_numpy(bool)
    cur_idx = _stage_index(out["stage"], is_new, orders)
    is_open = out["status"].eq("open").to_numpy(bool)
    furthest = np.where(is_open, cur_idx, np.nan)
    entered = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if isinstance(hist, EngineStageHistory) and len(hist):
        path = hist.frame("deal_stage_path", orders={f: tuple(o) for f, o in orders.items()})
        at = _positions(path["opportunity_id"], out["opportunity_id"])
        known = at >= 0
        hmax = np.full(n, np.nan)
        hmax[known] = path["furthest_index"].to_numpy(dtype="float64", na_value=np.nan)[at[known]]
        furthest = np.fmax(furthest, hmax)
        entered[known] = path["entered_current"].to_numpy(dtype="datetime64[ns]")[at[known]]
    elif isinstance(hist, pd.DataFrame) and len(hist):
        pos = _positions(out["opportunity_id"], hist["opportunity_id"].astype("string"))
        ok = pos >= 0
        pos = pos[ok]
        h_idx = _stage_index(
            hist["stage"].astype("string")[ok].reset_index(drop=True), is_new[pos], orders
        )
        h_at = pd.to_datetime(hist["entered_at"]).to_numpy(dtype="datetime64[ns]")[ok]
        hmax = np.full(n, -1.0)
        valid = ~np.isnan(h_idx)
        np.maximum.at(hmax, pos[valid], h_idx[valid])
        furthest = np.fmax(furthest, np.where(hmax >= 0, hmax, np.nan))
        # entry into the current stage (last entry of that stage) of open deals
        same = valid & is_open[pos] & (h_idx == cur_idx[pos])
        last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, pos[same], h_at[same].astype(np.int64))
        entered = last.astype("datetime64[ns]")  # the int64 minimum is NaT
    return furthest, entered


def _stage_names(
    is_new: np.ndarray, idx: np.ndarray, names: Mapping[str, Mapping[int, str]]
) -> pd.Categorical:
    labels = sorted({s for m in names.values() for s in m.values()})
    code_of = {s: i for i, s in enumerate(labels)}
    codes = np.full(len(idx), -1, dtype=np.int64)
    for f, m in names.items():
        sel = is_new if f == "new_business" else ~is_new
        lut = np.full(max(m) + 2, -1, dtype=np.int64)
        for i, s in m.items():
            lut[i] = code_of[s]
        codes[sel] = lut[np.clip(idx[sel], 0, len(lut) - 1)]
    return pd.Categorical.from_codes(codes, categories=labels)


def _group_keys(progress: pd.DataFrame, by: Sequence[str]) -> list[str]:
    by = list(by)
    require_columns(progress, ["funnel", *by], "deal progress")
    return ["funnel", *by]


def _count_by(gid: np.ndarray, mask: np.ndarray, n_groups: int) -> np.ndarray:
    """Number of ``mask`` rows per group number."""
    return np.bincount(gid[mask], minlength=n_groups).astype(np.int64)


def stage_conversion(progress: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Stage-to-stage conversion per funnel (and per ``by`` group, e.g. channel or owner).

    Parameters
    ----------
    progress
        Output of :func:`deal_progress` (columns ``funnel``, ``status``, ``furthest_index``,
        ``n_stages`` and the ``by`` columns); its ``attrs["stage_orders"]`` names the stages.
    by
        Extra grouping columns (``channel``, ``owner_id``).

    Returns
    -------
    pandas.DataFrame
        One row per group and stage (open stages, then ``Won``): ``stage_index, stage, reached``
        (deals that got this far), ``open_here`` (open deals now in the stage, censored),
        ``advanced`` (deals that got further), ``conversion`` = advanced / (reached − open_here),
        ``cumulative`` = reached / reached at the first stage, ``win_probability`` = won /
        closed deals that reached the stage.

        Without a stage history (``progress.attrs["stage_history"]`` False) the stage at which a
        lost deal was lost is unknown: ``reached``, ``advanced``, ``conversion``, ``cumulative``
        and ``win_probability`` of the stages after the first are then missing (NaN) instead of
        counting every lost deal as lost at the first stage; the first stage (every deal) and
        ``Won`` rows, and ``open_here``, stay known.
    """
    known_path = bool(progress.attrs.get("stage_history", True))
    keys = _group_keys(progress, by)
    orders: dict[str, tuple[str, ...]] = progress.attrs.get("stage_orders", DEFAULT_STAGE_ORDERS)
    rows = []
    used = progress[list(dict.fromkeys(["furthest_index", "status", *by]))]
    for funnel, stages in orders.items():
        p = used[progress["funnel"].eq(funnel).fillna(False).to_numpy(bool)]
        if p.empty:
            continue
        k = len(stages)
        fi = p["furthest_index"].to_numpy()
        is_open = p["status"].eq("open").to_numpy(bool)
        is_won = p["status"].eq("won").to_numpy(bool)
        if by:
            gb = p[list(by)].groupby(list(by), dropna=False, observed=True)
            gid = gb.ngroup().to_numpy()
            n_groups = gb.ngroups
        else:
            gid = np.zeros(len(p), dtype=np.int64)
            n_groups = 1

        cols: dict[str, np.ndarray] = {}
        for i in range(k + 1):
            cols[f"r{i}"] = _count_by(gid, fi >= i, n_groups)
            cols[f"o{i}"] = _count_by(gid, is_open & (fi == i), n_groups)
            cols[f"cw{i}"] = _count_by(gid, (fi >= i) & is_won, n_groups)
            cols[f"cc{i}"] = _count_by(gid, (fi >= i) & ~is_open, n_groups)
        agg = pd.DataFrame(cols, index=gb.size().index if by else None)
        for i in range(k + 1):
            reached = agg[f"r{i}"].to_numpy()
            open_here = agg[f"o{i}"].to_numpy()
            advanced = agg[f"r{i + 1}"].to_numpy() if i < k else np.full(len(agg), np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                decided = reached - open_here
                conv = np.where(decided > 0, advanced / np.where(decided > 0, decided, 1), np.nan)
                first = agg["r0"].to_numpy()
                cumul = np.where(first > 0, reached / np.where(first > 0, first, 1), np.nan)
                cc = agg[f"cc{i}"].to_numpy()
                winp = np.where(cc > 0, agg[f"cw{i}"].to_numpy() / np.where(cc > 0, cc, 1), np.nan)
            if not known_path and 0 < i < k:
                unknown = np.full(len(agg), np.nan)
                reached, advanced, conv, cumul, winp = (unknown,) * 5
            elif not known_path and i == 0:
                advanced, conv = np.full(len(agg), np.nan), np.full(len(agg), np.nan)
            frame = pd.DataFrame(
                {
                    "funnel": funnel,
                    "stage_index": i,
                    "stage": stages[i] if i < k else WON,
                    "reached": reached if not known_path else reached.astype("int64"),
                    "open_here": open_here.astype("int64"),
                    "advanced": advanced,
                    "conversion": conv if i < k else np.nan,
                    "cumulative": cumul,
                    "win_probability": winp,
                }
            )
            if by:
                idx = agg.index.to_frame(index=False)
                for col in by:
                    frame[col] = idx[col].to_numpy()
            rows.append(frame)
    if not rows:
        cols = [*keys, "stage_index", "stage", "reached", "open_here", "advanced", "conversion"]
        return pd.DataFrame(columns=[*cols, "cumulative", "win_probability"])
    res = pd.concat(rows, ignore_index=True)
    res = res[[*keys, *[c for c in res.columns if c not in keys]]]
    return res.sort_values([*keys, "stage_index"], kind="stable").reset_index(drop=True)


def kaplan_meier(
    durations: pd.Series | np.ndarray, observed: pd.Series | np.ndarray
) -> pd.DataFrame:
    """Kaplan–Meier survival curve (statsmodels ``SurvfuncRight``).

    Parameters
    ----------
    durations
        Time to event or to censoring (days), non-negative; NaN rows are left out.
    observed
        True where the event happened, False where the time is censored (deal still open).

    Returns
    -------
    pandas.DataFrame
        ``time``, ``survival`` (share still not closed / still in stage), ``at_risk``, ``events``.
    """
    t = np.asarray(durations, dtype="float64")
    e = np.asarray(observed, dtype=bool)
    ok = ~np.isnan(t)
    t, e = t[ok], e[ok]
    if len(t) == 0:
        return pd.DataFrame({"time": [], "survival": [], "at_risk": [], "events": []})
    sf = SurvfuncRight(t, e.astype("float64"))
    return pd.DataFrame(
        {
            "time": sf.surv_times,
            "survival": sf.surv_prob,
            "at_risk": sf.n_risk,
            "events": sf.n_events,
        }
    )


def km_quantile(
    durations: pd.Series | np.ndarray, observed: pd.Series | np.ndarray, q: float = 0.5
) -> float:
    """Time by which a share ``q`` of deals has had the event (Kaplan–Meier; NaN if not reached).

    Uses statsmodels' convention: the first event time at which the survival curve falls below
    ``1 - q``.

    Parameters
    ----------
    durations, observed
        As in :func:`kaplan_meier`.
    q
        Quantile in (0, 1); 0.5 gives the median.
    """
    if not 0 < q < 1:
        raise ValueError(f"quantile q must be between 0 and 1 (exclusive), got {q}")
    t = np.asarray(durations, dtype="float64")
    e = np.asarray(observed, dtype=bool)
    ok = ~np.isnan(t)
    t, e = t[ok], e[ok]
    if not e.any():
        return float("nan")
    q_value = SurvfuncRight(t, e.astype("float64")).quantile(q)
    return float(q_value) if q_value is not None and np.isfinite(q_value) else float("nan")


def _km_by(
    df: pd.DataFrame, keys: list[str], time: str, event: str, quantiles: Sequence[float]
) -> pd.DataFrame:
    rows = []
    gb = df[list(dict.fromkeys(keys))].groupby(keys, dropna=False, observed=True, sort=True)
    # group rows by number (groups in the order of iteration) instead of slicing frames
    gid = gb.ngroup().to_numpy()
    order = np.argsort(gid, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(gid, minlength=gb.ngroups))])
    t_all = df[time].to_numpy()[order]
    e_all = np.asarray(df[event].to_numpy(), dtype=bool)[order]
    group_keys = gb.size().index
    for i, key in enumerate(group_keys):
        key = key if isinstance(key, tuple) else (key,)
        t, e = t_all[bounds[i] : bounds[i + 1]], e_all[bounds[i] : bounds[i + 1]]
        row = dict(zip(keys, key, strict=True))
        row["deals"] = len(t)
        row["events"] = int(e.sum())
        row["censored"] = int((~e).sum())
        for q in quantiles:
            row[f"p{round(q * 100)}_days"] = km_quantile(t, e, q)
        rows.append(row)
    cols = [*keys, "deals", "events", "censored", *[f"p{round(q * 100)}_days" for q in quantiles]]
    return pd.DataFrame(rows, columns=cols)


def sales_cycle(
    progress: pd.DataFrame, by: Sequence[str] = (), quantiles: Sequence[float] = (0.25, 0.5, 0.75)
) -> pd.DataFrame:
    """Sales-cycle length (creation to close) by Kaplan–Meier; open deals are censored at ``as_of``.

    Parameters
    ----------
    progress
        Output of :func:`deal_progress` (``funnel``, ``cycle_days``, ``closed`` and ``by`` columns).
    by
        Extra grouping columns.
    quantiles
        KM quantiles to report (``p50_days`` = median cycle).
    """
    keys = _group_keys(progress, by)
    require_columns(progress, ["cycle_days", "closed"], "deal progress")
    return _km_by(progress, keys, "cycle_days", "closed", quantiles)


def win_rates(progress: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Deals, win rate, deal size and median sales cycle per funnel and group.

    Parameters
    ----------
    progress
        Output of :func:`deal_progress` (``funnel``, ``status``, ``amount``, ``cycle_days``,
        ``closed`` and the ``by`` columns).
    by
        Extra grouping columns.

    Returns
    -------
    pandas.DataFrame
        ``deals, won, lost, open, win_rate`` (won / (won + lost)), ``won_amount``,
        ``avg_deal_size``, ``median_deal_size`` (won deals), ``open_amount``,
        ``median_cycle_days`` (Kaplan–Meier over all deals, open ones censored).
    """
    keys = _group_keys(progress, by)
    p = progress
    won = p["status"].eq("won").to_numpy(bool)
    g = pd.DataFrame(
        {
            **{k: p[k].to_numpy() for k in keys},
            "won": won,
            "lost": p["status"].eq("lost").to_numpy(bool),
            "open": p["status"].eq("open").to_numpy(bool),
            "won_amt": np.where(won, p["amount"], np.nan),
            "open_amt": np.where(p["status"].eq("open").to_numpy(bool), p["amount"], np.nan),
        }
    )
    grp = g.groupby(keys, dropna=False, observed=True, sort=True)
    # one pass per statistic over all columns it applies to (same per-column algorithms as
    # a named aggregation, fewer group passes)
    sums = grp[["won", "lost", "open", "won_amt", "open_amt"]].sum()
    res = pd.DataFrame(
        {
            "deals": grp.size(),
            "won": sums["won"],
            "lost": sums["lost"],
            "open": sums["open"],
            "won_amount": sums["won_amt"],
            "avg_deal_size": grp["won_amt"].mean(),
            "median_deal_size": grp["won_amt"].median(),
            "open_amount": sums["open_amt"],
        }
    ).reset_index()
    decided = res["won"] + res["lost"]
    res.insert(
        res.columns.get_loc("open") + 1,
        "win_rate",
        np.where(decided > 0, res["won"] / decided.where(decided > 0, 1), np.nan),
    )
    cyc = sales_cycle(p, by, quantiles=(0.5,))
    res = res.merge(cyc[[*keys, "p50_days"]], on=keys, how="left").rename(
        columns={"p50_days": "median_cycle_days"}
    )
    return res


def stage_durations(
    opportunities: pd.DataFrame,
    opportunity_stages: pd.DataFrame,
    as_of: str | pd.Timestamp,
    stage_orders: Mapping[str, Sequence[str]] | None = None,
    resolve: bool = True,
) -> pd.DataFrame:
    """Every stay of a deal in an open stage, with its length (for time in stage and transitions).

    Parameters
    ----------
    opportunities
        Canonical opportunities (``opportunity_id``, ``owner_id``, ``type``, ``status``,
        ``close_date``, ``created_date``, ``amount``).
    opportunity_stages
        Stage history (``opportunity_id``, ``stage``, ``entered_at``).
    as_of
        Reference date; the current stay of an open deal is censored here.
    stage_orders
        Open stages per funnel (see :func:`resolve_stage_orders`).
    resolve
        Match ``stage_orders`` against the data first; pass False when they already come from
        :func:`deal_progress` (``attrs["stage_orders"]``), which saves a pass over the history.

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id, funnel, stage, stage_index, entered_at, left_at, next_stage, days, left``
        where ``next_stage`` is the next open stage, ``Won`` or ``Lost`` (missing while open) and
        ``left`` is False for censored stays. History rows of unknown opportunities are dropped
        (count in ``attrs["dropped_rows"]``).
    """
    require_columns(opportunities, _OPP_COLUMNS, "opportunities")
    require_columns(opportunity_stages, _HIST_COLUMNS, "opportunity_stages")
    as_of = pd.Timestamp(as_of)
    if resolve or stage_orders is None:
        orders = resolve_stage_orders(opportunities, opportunity_stages, stage_orders)
    else:
        orders = {f: tuple(st) for f, st in stage_orders.items()}
    opp = pd.DataFrame(
        {
            "opportunity_id": opportunities["opportunity_id"].astype("string"),
            "funnel": funnel_of(opportunities["type"]),
            "status": opportunities["status"].astype("string").str.lower(),
            "close_date": pd.to_datetime(opportunities.get("close_date")).astype("datetime64[ns]"),
        }
    )
    h = opportunity_stages[["opportunity_id", "stage", "entered_at"]].astype(
        {"opportunity_id": "string", "stage": "string", "entered_at": "datetime64[ns]"}
    )
    h = _join_opportunities(h, opp)
    dropped = len(opportunity_stages) - len(h)
    lookup = pd.DataFrame(
        [(f, s.lower(), i) for f, st in orders.items() for i, s in enumerate(st)],
        columns=["funnel", "stage_key", "stage_index"],
    ).astype({"funnel": "string", "stage_key": "string"})
    h = _add_stage_index(h.assign(stage_key=h["stage"].str.lower()), lookup)
    h = _sort_stays(h)
    same_next = h["opportunity_id"].eq(h["opportunity_id"].shift(-1)).fillna(False).to_numpy(bool)
    next_at = h["entered_at"].shift(-1).where(same_next)
    next_idx = h["stage_index"].shift(-1).where(same_next)
    is_last = ~same_next
    closed = h["status"].isin(["won", "lost"]).to_numpy(bool)
    won = h["status"].eq("won").fillna(False).to_numpy(bool)
    # next entry is a closing stage (not an open stage of the funnel)
    next_closing = same_next & next_idx.isna().to_numpy()
    left_at = np.where(is_last & closed, h["close_date"], next_at).astype("datetime64[ns]")
    # next stage: the next entry's name, else Won/Lost for closed deals, else missing (as codes
    # into the stage names + [Won, Lost]; -1 = missing)
    scodes, snames = pd.factorize(h["stage"], use_na_sentinel=True)
    following = np.append(scodes[1:], -1)
    k = len(snames)
    code = np.where(
        same_next & ~next_closing,
        following,
        np.where((is_last | next_closing) & closed, np.where(won, k, k + 1), -1),
    )
    next_stage = _string_array(code, [*snames, WON, LOST])
    left = (~is_last) | closed
    res = pd.DataFrame(
        {
            "opportunity_id": h["opportunity_id"],
            "funnel": h["funnel"],
            "stage": h["stage"],
            "stage_index": h["stage_index"],
            "entered_at": h["entered_at"],
            "left_at": left_at,
            "next_stage": next_stage,
            "left": left,
        }
    )
    res = res[res["stage_index"].notna().to_numpy()]  # a new frame (copy-on-write)
    res["stage_index"] = res["stage_index"].astype("int64")
    end = res["left_at"].where(res["left"], as_of)
    res["days"] = np.clip((end - res["entered_at"]).dt.days.astype("float64"), 0, None)
    res = res.reset_index(drop=True)
    res.attrs["dropped_rows"] = int(dropped)
    res.attrs["stage_orders"] = orders
    return res


def _join_opportunities(h: pd.DataFrame, opp: pd.DataFrame) -> pd.DataFrame:
    """``h.merge(opp, on="opportunity_id", how="inner")`` by position (ids unique in ``opp``)."""
    ids = opp["opportunity_id"]
    if ids.hasnans or not ids.is_unique or ids.dtype != h["opportunity_id"].dtype:
        return h.merge(opp, on="opportunity_id", how="inner")
    pos = _positions(ids, h["opportunity_id"])
    keep = pos >= 0
    left = h[keep].reset_index(drop=True) if not keep.all() else h.reset_index(drop=True)
    right = opp.drop(columns="opportunity_id").iloc[pos[keep]].reset_index(drop=True)
    return pd.concat([left, right], axis=1)


def _add_stage_index(h: pd.DataFrame, lookup: pd.DataFrame) -> pd.DataFrame:
    """``h.merge(lookup, on=["funnel", "stage_key"], how="left")`` without the hash join."""
    keys = ["funnel", "stage_key"]
    if lookup.duplicated(keys).any():
        return h.merge(lookup, on=keys, how="left")
    fcodes, funnels = pd.factorize(h["funnel"], use_na_sentinel=True)
    scodes, skeys = pd.factorize(h["stage_key"], use_na_sentinel=True)
    table = np.full((len(funnels) + 1, len(skeys) + 1), -1, dtype=np.int64)
    f_at = {f: i for i, f in enumerate(funnels)}
    s_at = {k: i for i, k in enumerate(skeys)}
    for f, k, i in lookup[[*keys, "stage_index"]].itertuples(index=False):
        if f in f_at and k in s_at:
            table[f_at[f], s_at[k]] = i
    idx = table[fcodes, scodes]  # -1 codes (missing values) hit the last row/column: no match
    if (idx >= 0).all():
        return h.assign(stage_index=idx)
    return h.assign(stage_index=np.where(idx >= 0, idx, np.nan))


def _sort_stays(h: pd.DataFrame) -> pd.DataFrame:
    """``h.sort_values(["opportunity_id", "entered_at"], kind="stable")`` with a fresh index."""
    at = h["entered_at"]
    if h["opportunity_id"].hasnans or at.hasnans or at.dtype != "datetime64[ns]":
        return h.sort_values(["opportunity_id", "entered_at"], kind="stable").reset_index(drop=True)
    codes, _ = pd.factorize(h["opportunity_id"], sort=True)
    order = np.lexsort((at.to_numpy().view(np.int64), codes))
    return h.take(order).reset_index(drop=True)


def time_in_stage(
    durations: pd.DataFrame, by: Sequence[str] = (), quantiles: Sequence[float] = (0.5, 0.9)
) -> pd.DataFrame:
    """Time deals spend in each stage, by Kaplan–Meier (stays of open deals are censored).

    Parameters
    ----------
    durations
        Output of :func:`stage_durations` (``funnel``, ``stage_index``, ``stage``, ``days``,
        ``left`` and the ``by`` columns).
    by
        Extra grouping columns.
    quantiles
        KM quantiles to report (``p50_days``, ``p90_days``).
    """
    keys = ["funnel", *by, "stage_index", "stage"]
    require_columns(durations, [*keys, "days", "left"], "stage durations")
    d = durations.assign(stage=durations["stage"].str.strip())
    # one spelling per index
    d["stage"] = d.groupby(["funnel", "stage_index"])["stage"].transform("first")
    return _km_by(d, keys, "days", "left", quantiles).rename(columns={"deals": "stays"})


def transition_matrix(durations: pd.DataFrame, funnel: str) -> pd.DataFrame:
    """Stage transition probabilities of one funnel and the empirical win probability per stage.

    Parameters
    ----------
    durations
        Output of :func:`stage_durations` (``funnel``, ``opportunity_id``, ``stage``,
        ``stage_index``, ``next_stage``, ``left``).
    funnel
        ``new_business`` or ``existing``.

    Returns
    -------
    pandas.DataFrame
        Index = from-stage (in funnel order), columns = to-stage (open stages, then ``Won``,
        ``Lost``): the share of stays that left the stage for each destination (rows sum to 1),
        plus ``stays_left`` (number of completed stays) and ``win_probability`` (share of the closed
        deals that were ever in the stage which were won).
    """
    require_columns(
        durations,
        ["funnel", "opportunity_id", "stage", "stage_index", "next_stage", "left"],
        "stage durations",
    )
    if funnel not in FUNNELS:
        raise ValueError(f"funnel must be one of {', '.join(FUNNELS)}, got '{funnel}'")
    d = durations[["opportunity_id", "stage_index", "next_stage", "left"]][
        durations["funnel"].eq(funnel).fillna(False).to_numpy(bool)
    ]
    orders = durations.attrs.get("stage_orders", DEFAULT_STAGE_ORDERS)
    stages = list(orders.get(funnel, ()))
    done = d[d["left"].to_numpy(bool) & d["next_stage"].notna().to_numpy(bool)]
    fast = _transition_counts(d, done, stages)
    return fast if fast is not None else _transition_table(d, done, stages)


def _transition_table(d: pd.DataFrame, done: pd.DataFrame, stages: list[str]) -> pd.DataFrame:
    """:func:`transition_matrix` of one funnel's stays ``d`` with pandas (the general path)."""
    counts = pd.crosstab(done["stage_index"], done["next_stage"])
    lower_to_name = {s.lower(): s for s in stages}
    counts.columns = [lower_to_name.get(str(c).lower(), str(c)) for c in counts.columns]
    counts = counts.T.groupby(level=0).sum().T
    cols = [*stages, WON, LOST]
    counts = counts.reindex(index=range(len(stages)), columns=cols, fill_value=0)
    totals = counts.sum(axis=1)
    probs = counts.div(totals.where(totals > 0), axis=0)
    probs.index = pd.Index(stages, name="from_stage")
    probs["stays_left"] = totals.to_numpy()
    # empirical win probability: closed deals ever in the stage
    flags = pd.DataFrame(
        {
            "opportunity_id": d["opportunity_id"].to_numpy(),
            "won": d["next_stage"].eq(WON).fillna(False).to_numpy(bool),
            "lost": d["next_stage"].eq(LOST).fillna(False).to_numpy(bool),
        }
    )
    outcome = flags.groupby("opportunity_id")[["won", "lost"]].any()
    ever = d[["opportunity_id", "stage_index"]].drop_duplicates()
    o = outcome.reindex(ever["opportunity_id"].to_numpy())
    closed = (o["won"] | o["lost"]).to_numpy(bool)
    ever = ever[closed].assign(w=o["won"].to_numpy(bool)[closed])
    wp = ever.groupby("stage_index")["w"].mean()
    probs["win_probability"] = wp.reindex(range(len(stages))).to_numpy()
    return probs


def _transition_shares(
    row: np.ndarray,
    col: np.ndarray,
    weights: np.ndarray | None,
    stages: list[str],
    cols: list[str],
) -> pd.DataFrame:
    """Share of stays leaving each stage (rows) for each next stage or outcome (columns).

    ``row``/``col`` index ``stages``/``cols`` per stay (``weights``: stays per row, e.g. counted
    ones); entries outside them are left out. Adds ``stays_left`` (completed stays per stage).
    """
    k = len(stages)
    ok = (row >= 0) & (row < k) & (col >= 0)
    counts = np.bincount(
        row[ok] * len(cols) + col[ok],
        weights=None if weights is None else weights[ok],
        minlength=k * len(cols),
    )
    counts = counts.reshape(k, len(cols)).astype(np.int64)
    totals = counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = counts / np.where(totals > 0, totals, np.nan)[:, None]
    probs = pd.DataFrame(shares, index=pd.Index(stages, name="from_stage"), columns=cols)
    probs["stays_left"] = totals
    return probs


def _transition_counts(
    d: pd.DataFrame, done: pd.DataFrame, stages: list[str]
) -> pd.DataFrame | None:
    """:func:`transition_matrix` of one funnel's stays ``d`` by array counting (same result).

    Returns None for inputs the counting does not cover (no completed stay, missing ids or
    stage indices), which then take the general path.
    """
    idx = d["stage_index"]
    if len(done) == 0 or d["opportunity_id"].hasnans or idx.hasnans:
        return None
    k = len(stages)
    cols = [*stages, WON, LOST]
    lower_to_name = {s.lower(): s for s in stages}
    col_at = {c: j for j, c in enumerate(cols)}
    ncodes, nnames = pd.factorize(done["next_stage"])
    name_col = np.array(
        [col_at.get(lower_to_name.get(str(c).lower(), str(c)), -1) for c in nnames] + [-1],
        dtype=np.int64,
    )
    row = done["stage_index"].to_numpy(dtype=np.int64)
    probs = _transition_shares(row, name_col[ncodes], None, stages, cols)
    # empirical win probability: closed deals ever in the stage
    ids, uniq = pd.factorize(d["opportunity_id"])
    nxt = d["next_stage"]
    won = np.bincount(ids, weights=nxt.eq(WON).fillna(False).to_numpy(bool), minlength=len(uniq))
    lost = np.bincount(ids, weights=nxt.eq(LOST).fillna(False).to_numpy(bool), minlength=len(uniq))
    won, closed = won > 0, (won > 0) | (lost > 0)
    stage = idx.to_numpy(dtype=np.int64)
    width = int(stage.max()) + 1 if len(stage) else 1
    if stage.min(initial=0) < 0:
        return None
    if width <= 64:  # each deal once per stage: a deal x stage table (few stages)
        seen = np.zeros((len(uniq), width), dtype=bool)
        seen[ids, stage] = True
        e_id, e_stage = np.nonzero(seen)
    else:
        ever = np.unique(ids.astype(np.int64) * width + stage)
        e_id, e_stage = ever // width, ever % width
    sel = closed[e_id] & (e_stage < k)
    n_closed = np.bincount(e_stage[sel], minlength=k)[:k]
    n_won = np.bincount(e_stage[sel], weights=won[e_id[sel]], minlength=k)[:k]
    with np.errstate(divide="ignore", invalid="ignore"):
        probs["win_probability"] = np.where(n_closed > 0, n_won / n_closed, np.nan)
    return probs


def bookings_targets(
    progress: pd.DataFrame,
    as_of: str | pd.Timestamp,
    growth: float = 0.10,
    by: str = "owner_id",
    types: Sequence[str] = ("new_business", "upsell"),
) -> pd.DataFrame:
    """Yearly bookings target per entity: prior calendar year's won amount × (1 + growth).

    Parameters
    ----------
    progress
        Output of :func:`deal_progress` (``type``, ``status``, ``amount``, ``close_date`` and ``by``).
    as_of
        Reference date; the target year is its calendar year.
    growth
        Growth on last year's bookings (0.10 = +10%).
    by
        Entity column (``owner_id`` or a team column).
    types
        Opportunity types that count as bookings (renewals are not new sales).

    Returns
    -------
    pandas.DataFrame
        ``<by>, prior_year_bookings, target``. Entities without bookings last year get a target of 0
        (shown, not hidden), so a new rep is measured on pipeline and activities instead.
    """
    require_columns(progress, ["type", "status", "amount", "close_date", by], "deal progress")
    if growth < -1:
        raise ValueError(f"growth must be ≥ -1 (a 100% decline), got {growth}")
    as_of = pd.Timestamp(as_of)
    prior = as_of.year - 1
    p = progress
    sel = (
        p["status"].eq("won").to_numpy(bool)
        & p["type"].isin(list(types)).fillna(False).to_numpy(bool)
        & (p["close_date"].dt.year == prior).fillna(False).to_numpy(bool)
    )
    ents = p[[by]].drop_duplicates().dropna()
    s = p[sel].groupby(by)["amount"].sum()
    res = ents.assign(prior_year_bookings=ents[by].map(s).fillna(0.0).astype("float64"))
    res["target"] = res["prior_year_bookings"] * (1 + growth)
    return res.sort_values(by).reset_index(drop=True)


def pipeline_coverage(
    progress: pd.DataFrame,
    targets: pd.DataFrame,
    as_of: str | pd.Timestamp,
    by: str = "owner_id",
    types: Sequence[str] = ("new_business", "upsell"),
    win_probability: pd.DataFrame | None = None,
    horizon_days: int = 0,
) -> pd.DataFrame:
    """Pipeline coverage of the target still to be won.

    With ``horizon_days`` = 0: coverage = open pipeline expected to close by 31 December /
    (yearly target − won so far this year). With a horizon (e.g. 90 days, better for short sales
    cycles): open pipeline expected to close within the horizon (overdue deals included) / (yearly
    target × horizon / 365.25). A coverage of about 3× is the usual rule of thumb.

    Parameters
    ----------
    progress
        Output of :func:`deal_progress` (``type``, ``status``, ``amount``, ``close_date``,
        ``funnel``, ``furthest_index`` and ``by``).
    targets
        ``<by>, target`` yearly targets (e.g. from :func:`bookings_targets`).
    as_of
        Reference date.
    by
        Entity column.
    types
        Opportunity types that count as bookings.
    win_probability
        Optional ``stage_conversion`` output (``funnel``, ``stage_index``, ``win_probability``)
        to also give the probability-weighted pipeline.
    horizon_days
        0 = the rest of the calendar year; otherwise the number of days ahead (1-730).

    Returns
    -------
    pandas.DataFrame
        ``<by>, target, won_ytd, remaining`` (target still to win in the period),
        ``pipeline, weighted_pipeline, coverage`` (NaN where nothing remains to be won),
        ``open_deals``, ``open_without_amount`` (counted, not in the pipeline sum).
    """
    if not 0 <= horizon_days <= 730:
        raise ValueError(f"horizon_days must be between 0 and 730, got {horizon_days}")
    require_columns(targets, [by, "target"], "targets")
    require_columns(
        progress,
        ["type", "status", "amount", "close_date", "funnel", "furthest_index", by],
        "deal progress",
    )
    as_of = pd.Timestamp(as_of)
    year_end = (
        pd.Timestamp(year=as_of.year, month=12, day=31)
        if horizon_days == 0
        else as_of + pd.Timedelta(days=horizon_days)
    )
    year_start = pd.Timestamp(year=as_of.year, month=1, day=1)
    p = progress[progress["type"].isin(list(types)).fillna(False).to_numpy(bool)]
    won = p[
        p["status"].eq("won").to_numpy(bool)
        & p["close_date"].between(year_start, as_of).fillna(False).to_numpy(bool)
    ]
    op = p[
        p["status"].eq("open").to_numpy(bool)
        & ~(p["close_date"] > year_end).fillna(False).to_numpy(bool)
    ]
    wp = np.ones(len(op))
    if win_probability is not None:
        w = win_probability[["funnel", "stage_index", "win_probability"]]
        wp = (
            op[["funnel", "furthest_index"]]
            .rename(columns={"furthest_index": "stage_index"})
            .merge(w, on=["funnel", "stage_index"], how="left")["win_probability"]
            .fillna(0.0)
            .to_numpy()
        )
    op = op.assign(weighted=op["amount"].fillna(0.0).to_numpy() * wp)
    res = targets[[by, "target"]].copy()
    res["won_ytd"] = res[by].map(won.groupby(by)["amount"].sum()).fillna(0.0)
    res["remaining"] = (
        np.clip(res["target"] - res["won_ytd"], 0, None)
        if horizon_days == 0
        else res["target"] * horizon_days / 365.25
    )
    res["pipeline"] = res[by].map(op.groupby(by)["amount"].sum()).fillna(0.0)
    res["weighted_pipeline"] = res[by].map(op.groupby(by)["weighted"].sum()).fillna(0.0)
    rem = res["remaining"].to_numpy()
    res["coverage"] = np.where(rem > 0, res["pipeline"] / np.where(rem > 0, rem, 1), np.nan)
    res["open_deals"] = res[by].map(op.groupby(by).size()).fillna(0).astype("int64")
    res["open_without_amount"] = (
        res[by].map(op[op["amount"].isna()].groupby(by).size()).fillna(0).astype("int64")
    )
    return res


def stuck_deals(
    progress: pd.DataFrame,
    stage_times: pd.DataFrame | None = None,
    quantile_column: str = "p90_days",
    min_days: float = 30.0,
) -> pd.DataFrame:
    """Open deals that sit in their stage longer than most deals do.

    A deal is stuck when its days in the current stage exceed the stage's threshold: the
    ``quantile_column`` of :func:`time_in_stage` (default: the time by which 90% of stays have
    ended), but at least ``min_days``. Without stage history, the deal's age is compared with the
    90% Kaplan–Meier sales-cycle length of its funnel instead. Deals whose expected close date has
    passed are flagged as overdue too.

    Parameters
    ----------
    progress
        Output of :func:`deal_progress`.
    stage_times
        Output of :func:`time_in_stage` (``funnel``, ``stage_index``, ``quantile_column``); None
        without stage history.
    quantile_column
        Threshold column of ``stage_times``.
    min_days
        Lower bound of every threshold (days).

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id, account_id, owner_id, channel, funnel, stage, amount, days_in_stage,
        threshold_days, overdue, reason``, longest-stuck first.
    """
    if min_days < 0:
        raise ValueError(f"min_days must be ≥ 0, got {min_days}")
    p = progress[progress["status"].eq("open").to_numpy(bool)].copy()
    as_of = pd.Timestamp(progress.attrs["as_of"]) if "as_of" in progress.attrs else None
    if stage_times is not None and len(stage_times):
        require_columns(stage_times, ["funnel", "stage_index", quantile_column], "stage times")
        th = stage_times.groupby(["funnel", "stage_index"])[quantile_column].max()
        key = pd.MultiIndex.from_arrays([p["funnel"], p["furthest_index"]])
        p["threshold_days"] = th.reindex(key).to_numpy()
        age = p["days_in_stage"].to_numpy()
    else:
        cyc = sales_cycle(progress, quantiles=(0.9,)).set_index("funnel")["p90_days"]
        p["threshold_days"] = p["funnel"].map(cyc).astype("float64")
        age = p["cycle_days"].to_numpy()
        p["days_in_stage"] = age
    p["threshold_days"] = np.fmax(p["threshold_days"].fillna(min_days), min_days)
    p["overdue"] = (
        (p["close_date"] < as_of).fillna(False).to_numpy(bool)
        if as_of is not None
        else np.zeros(len(p), bool)
    )
    slow = age > p["threshold_days"].to_numpy()
    keep = slow | p["overdue"].to_numpy(bool)
    p = p[keep].copy()
    slow = slow[keep]
    p["reason"] = np.where(
        slow & p["overdue"].to_numpy(bool),
        "too long in stage and past expected close",
        np.where(slow, "too long in stage", "past expected close date"),
    )
    cols = [
        "opportunity_id",
        "account_id",
        "owner_id",
        "channel",
        "funnel",
        "stage",
        "amount",
        "days_in_stage",
        "threshold_days",
        "overdue",
        "reason",
    ]
    return p.sort_values("days_in_stage", ascending=False, kind="stable")[cols].reset_index(
        drop=True
    )


def history_note(progress: pd.DataFrame) -> str:
    """What the funnel can and cannot say without a stage history (empty when there is one).

    Parameters
    ----------
    progress
        Output of :func:`deal_progress` (``status``; ``attrs["stage_history"]``).
    """
    if progress.attrs.get("stage_history", True):
        return ""
    from salesanalytics.present.formats import num

    lost = int(progress["status"].eq("lost").sum())
    return _(
        "The export has no stage history (the stages each deal went through, with dates). "
        "Known: the win rate (won / closed deals), deal sizes, sales-cycle lengths and the stage "
        "where each open deal stands today. Not known: at which stage the {lost} lost deals "
        "were lost, hence the conversion from stage to stage and the time spent in each stage; "
        "they are left empty rather than estimated. Export the opportunity stage history "
        "(e.g. Salesforce OpportunityHistory) to measure them."
    ).format(lost=num(lost))


def funnel_sentence(rates: pd.DataFrame) -> str:
    """One plain-language sentence per funnel on win rate, deal size and cycle, for the report.

    Parameters
    ----------
    rates
        Output of :func:`win_rates` without ``by`` (``funnel``, ``won``, ``lost``, ``win_rate``,
        ``avg_deal_size``, ``median_cycle_days``).
    """
    from salesanalytics.present.formats import chf, num, pct

    names = {"new_business": _("New business"), "existing": _("Existing customers")}
    parts = []
    for r in rates.itertuples(index=False):
        cyc = (
            _("a typical deal closes after {days} days").format(days=num(r.median_cycle_days))
            if pd.notna(r.median_cycle_days)
            else _("too few closed deals to measure the sales cycle")
        )
        parts.append(
            _(
                "{funnel}: {won} deals won and {lost} lost (win rate {rate}), average won deal "
                "{size}; {cycle}."
            ).format(
                funnel=names.get(r.funnel, r.funnel),
                won=num(r.won),
                lost=num(r.lost),
                rate=pct(r.win_rate),
                size=chf(r.avg_deal_size),
                cycle=cyc,
            )
        )
    return " ".join(parts)


# --------------------------------------------------------------------- the history on the engine
class EngineStageHistory:
    """The stage history as the aggregation layer computes it: never read into pandas.

    Pass it instead of the ``opportunity_stages`` frame to :func:`deal_progress`,
    :func:`resolve_stage_orders` or :func:`analyse_funnels`; the results are the same. The engine
    (DuckDB, or Spark) follows every deal's stage path; pandas gets one row per deal (furthest
    stage) and the stays counted by funnel, stage, next stage and length (time in stage,
    transitions).

    Parameters
    ----------
    aggregator
        The run's aggregation layer (``Workspace.aggregator()``), or any object with its
        ``frame(name, **options)`` and ``tables``.
    """

    def __init__(self, aggregator: Aggregator) -> None:
        self.aggregator = aggregator
        self._frames: dict[str, pd.DataFrame] = {}

    def frame(self, name: str, **options: object) -> pd.DataFrame:
        """Aggregate ``name`` of the stage history (computed once per name and options)."""
        key = f"{name}{sorted(options.items())!r}"
        if key not in self._frames:
            self._frames[key] = self.aggregator.frame(name, **options)
        return self._frames[key]

    def __len__(self) -> int:
        """Rows of the stage history."""
        if "opportunity_stages" not in self.aggregator.tables:
            return 0
        return int(self.frame("stage_history_rows")["rows"].iloc[0])

    @property
    def dropped_rows(self) -> int:
        """History rows of deals missing from the opportunities."""
        if not len(self):
            return 0
        return len(self) - int(self.frame("stage_entries")["entries"].sum())


def _km_counts(df: pd.DataFrame, keys: list[str], quantiles: Sequence[float]) -> pd.DataFrame:
    """:func:`_km_by` of ``days``/``left`` rows counted in ``stays`` (frequency weights)."""
    rows = []
    for key, g in df.groupby(keys, dropna=False, observed=True, sort=True):
        t = g["days"].to_numpy(dtype="float64")
        e = g["left"].to_numpy(bool)
        w = g["stays"].to_numpy(dtype=np.int64)
        row = dict(zip(keys, key, strict=True))
        row["stays"] = int(w.sum())
        row["events"] = int(w[e].sum())
        row["censored"] = int(w[~e].sum())
        ok = ~np.isnan(t)
        for q in quantiles:
            value = float("nan")
            if e[ok].any():
                sf = SurvfuncRight(t[ok], e[ok].astype("float64"), freq_weights=w[ok])
                q_value = sf.quantile(q)
                if q_value is not None and np.isfinite(q_value):
                    value = float(q_value)
            row[f"p{round(q * 100)}_days"] = value
        rows.append(row)
    cols = [*keys, "stays", "events", "censored", *[f"p{round(q * 100)}_days" for q in quantiles]]
    return pd.DataFrame(rows, columns=cols)


def time_in_stage_counts(
    stays: pd.DataFrame, quantiles: Sequence[float] = (0.5, 0.9)
) -> pd.DataFrame:
    """:func:`time_in_stage` (without ``by``) from the stays counted by the aggregation layer.

    Parameters
    ----------
    stays
        The ``stage_stays`` aggregate: ``funnel, stage_index, stage, left, days, stays,
        first_opportunity``.
    quantiles
        KM quantiles to report.
    """
    require_columns(
        stays, ["funnel", "stage_index", "stage", "left", "days", "stays"], "stage stays"
    )
    d = stays.assign(stage=stays["stage"].str.strip())
    # one spelling per index: that of the first deal (by id), as time_in_stage takes the first
    first = d.sort_values("first_opportunity", kind="stable").drop_duplicates(
        ["funnel", "stage_index"]
    )
    spelling = first.set_index(["funnel", "stage_index"])["stage"]
    d["stage"] = spelling.reindex(pd.MultiIndex.from_frame(d[["funnel", "stage_index"]])).to_numpy()
    return _km_counts(d, ["funnel", "stage_index", "stage"], quantiles)


def transition_counts(
    stays: pd.DataFrame, outcomes: pd.DataFrame, funnel: str, stages: Sequence[str]
) -> pd.DataFrame:
    """:func:`transition_matrix` of one funnel from the aggregation layer's counts.

    Parameters
    ----------
    stays
        The ``stage_stays`` aggregate (``funnel, stage_index, next_stage, left, stays``).
    outcomes
        The ``stage_outcomes`` aggregate (``funnel, stage_index, closed, won``).
    funnel
        ``new_business`` or ``existing``.
    stages
        The funnel's open stages in order.
    """
    stages = list(stages)
    k = len(stages)
    cols = [*stages, WON, LOST]
    lower_to_name = {x.lower(): x for x in stages}
    col_at = {c: j for j, c in enumerate(cols)}
    f = stays[stays["funnel"].eq(funnel).fillna(False).to_numpy(bool)]
    done = f[f["left"].to_numpy(bool) & f["next_stage"].notna().to_numpy(bool)]
    col = np.array(
        [col_at.get(lower_to_name.get(str(c).lower(), str(c)), -1) for c in done["next_stage"]],
        dtype=np.int64,
    )
    row = done["stage_index"].to_numpy(dtype=np.int64)
    probs = _transition_shares(row, col, done["stays"].to_numpy(dtype=np.int64), stages, cols)
    o = outcomes[outcomes["funnel"].eq(funnel).fillna(False).to_numpy(bool)]
    o = o.set_index("stage_index").reindex(range(k))
    n_closed = o["closed"].fillna(0).to_numpy(dtype=np.int64)
    n_won = o["won"].fillna(0).to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        probs["win_probability"] = np.where(n_closed > 0, n_won / n_closed, np.nan)
    return probs


def _history_tables(
    opportunities: pd.DataFrame,
    history: pd.DataFrame | EngineStageHistory,
    as_of: pd.Timestamp,
    orders: dict[str, tuple[str, ...]],
    quantiles: Sequence[float],
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Time in stage, the transition matrices and the dropped history rows."""
    if isinstance(history, EngineStageHistory):
        opts = {f: tuple(o) for f, o in orders.items()}
        stays = history.frame("stage_stays", orders=opts)
        outcomes = history.frame("stage_outcomes", orders=opts)
        tis = time_in_stage_counts(stays, quantiles=quantiles)
        present = set(stays["funnel"].dropna())
        parts = [
            transition_counts(stays, outcomes, f, orders.get(f, ())).reset_index().assign(funnel=f)
            for f in FUNNELS
            if f in present
        ]
        return tis, pd.concat(parts, ignore_index=True), history.dropped_rows
    dur = stage_durations(opportunities, history, as_of, orders, resolve=False)
    tis = time_in_stage(dur, quantiles=quantiles)
    trans = pd.concat(
        [
            transition_matrix(dur, f).reset_index().assign(funnel=f)
            for f in FUNNELS
            if (dur["funnel"] == f).any()
        ],
        ignore_index=True,
    )
    return tis, trans, int(dur.attrs["dropped_rows"])


# --------------------------------------------------------------------------- the whole analysis
@dataclass
class FunnelAnalysis:
    """Everything the funnel report shows (see :func:`analyse_funnels`)."""

    progress: pd.DataFrame
    stages: pd.DataFrame
    rep_funnel: pd.DataFrame
    rates: pd.DataFrame
    rates_by_channel: pd.DataFrame
    rep_rates: pd.DataFrame
    cycle: pd.DataFrame
    time_in_stage: pd.DataFrame
    transitions: pd.DataFrame
    coverage: pd.DataFrame
    stuck: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)


def parse_stage_order(text: str) -> tuple[str, ...]:
    """Split a comma-separated stage list (``"Prospecting, Qualification"``) into names.

    Raises
    ------
    ValueError
        If the list is empty or names a stage twice.
    """
    stages = tuple(s.strip() for s in str(text).split(",") if s.strip())
    if not stages:
        raise ValueError("a funnel needs at least one stage; give them comma-separated, in order")
    low = [s.lower() for s in stages]
    dup = sorted({s for s in stages if low.count(s.lower()) > 1})
    if dup:
        raise ValueError(f"stage(s) named twice in the stage order: {', '.join(dup)}")
    return stages


def analyse_funnels(
    opportunities: pd.DataFrame,
    opportunity_stages: pd.DataFrame | EngineStageHistory | None,
    reps: pd.DataFrame,
    as_of: str | pd.Timestamp,
    stage_orders: Mapping[str, Sequence[str]] | None = None,
    target_growth: float = 0.10,
    stuck_quantile: float = 0.9,
    stuck_min_days: float = 30.0,
    coverage_horizon_days: int = 90,
) -> FunnelAnalysis:
    """Run the funnel analysis on the canonical tables.

    Parameters
    ----------
    opportunities, opportunity_stages
        Canonical tables (see :func:`deal_progress`); the stage history may be empty, or the
        aggregation layer's (:class:`EngineStageHistory`, the same figures: the history is
        never read into pandas).
    reps
        ``rep_id, name`` (for names in the rep tables).
    as_of
        Reference date.
    stage_orders
        Open stages per funnel.
    target_growth
        Yearly bookings target = last year's bookings × (1 + growth), for pipeline coverage.
    stuck_quantile
        A deal is stuck beyond this Kaplan–Meier quantile of its stage's time (0.5-0.99).
    stuck_min_days
        ... but never before this many days.
    coverage_horizon_days
        Pipeline coverage horizon (see :func:`pipeline_coverage`; 0 = rest of the year).
    """
    if not 0.5 <= stuck_quantile <= 0.99:
        raise ValueError(f"stuck_quantile must be between 0.5 and 0.99, got {stuck_quantile}")
    as_of = pd.Timestamp(as_of)
    p = deal_progress(opportunities, opportunity_stages, as_of, stage_orders)
    p["channel"] = p["channel"].fillna("unknown")
    names = pd.Series(
        reps["name"].astype("string").to_numpy(), index=reps["rep_id"].astype("string").to_numpy()
    )
    overall = stage_conversion(p).assign(channel="all")
    by_ch = stage_conversion(p, by=["channel"])
    stages = pd.concat([overall, by_ch], ignore_index=True)
    stages = stages[
        ["funnel", "channel", *[c for c in stages.columns if c not in ("funnel", "channel")]]
    ]
    rf = stage_conversion(p, by=["owner_id"]).rename(columns={"owner_id": "rep_id"})
    rf.insert(2, "rep_name", rf["rep_id"].map(names))
    rates = win_rates(p)
    rates_ch = win_rates(p, by=["channel"])
    rep_rates = win_rates(p, by=["owner_id"]).rename(columns={"owner_id": "rep_id"})
    rep_rates.insert(2, "rep_name", rep_rates["rep_id"].map(names))
    cycle = sales_cycle(p, by=["channel"])
    q = round(stuck_quantile * 100)
    has_hist = opportunity_stages is not None and len(opportunity_stages) > 0
    dropped = 0
    if has_hist:
        assert opportunity_stages is not None
        tis, trans, dropped = _history_tables(
            opportunities,
            opportunity_stages,
            as_of,
            p.attrs["stage_orders"],
            sorted({0.5, stuck_quantile}),
        )
    else:
        tis = pd.DataFrame(columns=["funnel", "stage_index", "stage", "stays", "p50_days"])
        trans = pd.DataFrame(columns=["from_stage", "funnel"])
    stuck = stuck_deals(
        p, tis if has_hist else None, quantile_column=f"p{q}_days", min_days=stuck_min_days
    )
    stuck.insert(3, "rep_name", stuck["owner_id"].map(names))
    targets = bookings_targets(p, as_of, target_growth)
    conv_all = overall[["funnel", "stage_index", "win_probability"]]
    if not has_hist:  # stage-specific win probabilities are unknown: the funnel's win rate
        first = conv_all[conv_all["stage_index"] == 0].set_index("funnel")["win_probability"]
        conv_all = conv_all.assign(win_probability=conv_all["funnel"].map(first))
    cov = pipeline_coverage(
        p, targets, as_of, win_probability=conv_all, horizon_days=coverage_horizon_days
    ).rename(columns={"owner_id": "rep_id"})
    cov.insert(1, "rep_name", cov["rep_id"].map(names))
    counts = {
        "deals": len(p),
        "open": int(p["status"].eq("open").sum()),
        "without_owner": int(p["owner_id"].isna().sum()),
        "without_created_date": int(p.attrs["without_created_date"]),
        "without_amount": int(p["amount"].isna().sum()),
        "stage_history_rows": 0 if opportunity_stages is None else len(opportunity_stages),
        "stage_history_rows_dropped": dropped,
    }
    return FunnelAnalysis(
        progress=p,
        stages=stages,
        rep_funnel=rf,
        rates=rates,
        rates_by_channel=rates_ch,
        rep_rates=rep_rates,
        cycle=cycle,
        time_in_stage=tis,
        transitions=trans,
        coverage=cov,
        stuck=stuck,
        counts=counts,
    )


def product_groups(products: pd.DataFrame) -> pd.Series:
    """Product group of every product (``Product2.Family``), its name where it has no group.

    Parameters
    ----------
    products
        Canonical products (``product_id``; optional ``product_group``, ``name``).

    Returns
    -------
    pandas.Series
        ``string`` group per ``product_id`` (index); missing where neither is known.
    """
    prod = products.assign(product_id=products["product_id"].astype("string")).set_index(
        "product_id"
    )
    group = (
        prod["product_group"].astype("string")
        if "product_group" in prod.columns
        else pd.Series(pd.NA, index=prod.index, dtype="string")
    )
    if "name" in prod.columns:
        group = group.fillna(prod["name"].astype("string"))
    return group


def channel_group_funnels(
    progress: pd.DataFrame,
    opportunities: pd.DataFrame,
    products: pd.DataFrame,
    reps: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New-business and existing-customer funnels per channel and product group.

    So the cockpit can track whether the channel matrix works: each product group's funnel in
    each channel. A deal's channel is its own channel field, else its owner's role; its product
    group the group of its main product (else the product's name).

    Parameters
    ----------
    progress
        :func:`deal_progress` (``opportunity_id, channel, funnel, status, furthest_index,
        n_stages, amount, cycle_days, closed``); ``attrs["stage_orders"]`` names the stages.
    opportunities
        Canonical opportunities (``opportunity_id``; ``product_id`` when present).
    products
        ``product_id``; ``product_group`` and ``name`` when present.
    reps
        ``rep_id, role`` (channel of deals without one).

    Returns
    -------
    tuple of pandas.DataFrame
        (:func:`stage_conversion` per ``funnel, channel, product_group``; :func:`win_rates` per
        ``funnel, channel, product_group``). Deals without product group count as
        ``unknown product group``, without channel as ``unknown``.
    """
    require_columns(progress, ["opportunity_id", "channel", "funnel", "status"], "deal progress")
    require_columns(products, ["product_id"], "products")
    p = progress.copy()
    ch = p["channel"].astype("string").replace("unknown", pd.NA)
    if reps is not None and {"rep_id", "role"} <= set(reps.columns) and "owner_id" in p.columns:
        role = pd.Series(
            reps["role"].astype("string").map(ROLE_CHANNEL).to_numpy(),
            index=reps["rep_id"].astype("string").to_numpy(),
        )
        ch = ch.fillna(p["owner_id"].astype("string").map(role))
    p["channel"] = ch.fillna("unknown").astype("string")
    group = product_groups(products)
    if "product_id" in opportunities.columns:
        pid = pd.Series(
            opportunities["product_id"].astype("string").to_numpy(),
            index=opportunities["opportunity_id"].astype("string").to_numpy(),
        )
        g = p["opportunity_id"].astype("string").map(pid).map(group)
    else:
        g = pd.Series(pd.NA, index=p.index, dtype="string")
    p["product_group"] = g.fillna("unknown product group").astype("string").to_numpy()
    return (
        stage_conversion(p, by=["channel", "product_group"]),
        win_rates(p, by=["channel", "product_group"]),
    )


def top_rows(
    table: pd.DataFrame,
    by: str,
    n: int = TOP_N,
    ascending: bool = False,
    per: str | None = None,
) -> tuple[pd.DataFrame, str]:
    """The ``n`` first rows of a long table for the report and a caption note.

    The rest go to the workbook; the note says how many are shown.

    Parameters
    ----------
    table
        Any table with column ``by`` (and ``per`` when given).
    by
        Sort column (missing values last).
    n
        Rows shown (per value of ``per`` when given).
    ascending
        Sort order (``False``: largest first).
    per
        Optional grouping column (e.g. ``funnel``): the first ``n`` rows of each group, groups
        in their order of appearance.

    Returns
    -------
    tuple
        (the rows shown, a note such as ``"top 10 of 51 per funnel; all in the Excel workbook"``,
        empty when every row is shown).

    Raises
    ------
    KeyError
        If ``by`` or ``per`` is not a column of ``table``.
    """
    require_columns(table, [by] + ([per] if per else []), "table")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    ordered = table.sort_values(by, ascending=ascending, na_position="last", kind="stable")
    if per:
        shown = ordered.groupby(per, sort=False, observed=True).head(n)
        groups = ordered[per].value_counts(sort=False)
        largest = int(groups.max()) if len(groups) else 0
        order = pd.Index(pd.unique(table[per]))
        shown = shown.iloc[np.argsort(order.get_indexer(shown[per]), kind="stable")]
        note = (
            _("top {n} of up to {largest} per {group}; all in the Excel workbook").format(
                n=n, largest=largest, group=_(per.replace("_", " "))
            )
            if largest > n
            else ""
        )
    else:
        shown = ordered.head(n)
        note = (
            _("top {n} of {total}; all in the Excel workbook").format(n=n, total=len(table))
            if len(table) > n
            else ""
        )
    return shown.reset_index(drop=True), note


def workbook_sheets(
    analysis: FunnelAnalysis,
    group_rates: pd.DataFrame | None = None,
    group_stages: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The funnel workbook's sheets: every row of the report's tables, one sheet each.

    The report shows the top rows (:func:`top_rows`); ids are kept (the writer puts names beside
    them).

    Parameters
    ----------
    analysis
        :func:`analyse_funnels`.
    group_rates, group_stages
        :func:`channel_group_funnels` (optional).
    """
    sheets = {
        _("Per funnel and channel"): analysis.rates_by_channel,
        _("Per rep"): analysis.rep_rates.sort_values(
            ["funnel", "won_amount"], ascending=[True, False]
        ),
        _("Stages per rep"): analysis.rep_funnel,
        _("Pipeline coverage"): analysis.coverage.sort_values("coverage", na_position="last"),
        _("Stuck deals"): analysis.stuck,
    }
    if group_rates is not None:
        sheets[_("Channel x product group")] = group_rates
    if group_stages is not None:
        sheets[_("Stages channel x group")] = group_stages
    return sheets


def counts_table(counts: Mapping[str, int]) -> pd.DataFrame:
    """The analysis' counts (:attr:`FunnelAnalysis.counts`) as a two-column table.

    In client words (``item``, ``count``).
    """
    return pd.DataFrame(
        {
            "item": [_(COUNT_LABELS.get(k, str(k).replace("_", " "))) for k in counts],
            "count": [int(v) for v in counts.values()],
        }
    )


def for_report(table: pd.DataFrame, accounts: pd.DataFrame | None = None) -> pd.DataFrame:
    """A funnel table as the client reads it: funnels in words, reps and accounts by name.

    Rep ids are dropped where the rep's name is beside them (``rep_id`` with ``rep_name``,
    ``owner_id``), stage numbers where the stage's name is; an account id becomes the account's name (``account``, from ``accounts``);
    an ``opportunity_id`` is dropped where the account's name identifies the deal (it would
    not fit an A4 page beside it) and otherwise moves to the last column. The workbook keeps
    every id, for the CRM user who looks a record up.

    Parameters
    ----------
    table
        Any table of :class:`FunnelAnalysis` (optional columns ``funnel``, ``rep_id``,
        ``rep_name``, ``owner_id``, ``account_id``, ``opportunity_id``).
    accounts
        ``account_id, name`` (optional).
    """
    out = table.copy()
    if "funnel" in out.columns:
        out["funnel"] = (
            out["funnel"]
            .astype("string")
            .map(lambda f: _(FUNNEL_LABELS[f]) if f in FUNNEL_LABELS else f)
        )
    drop = [c for c in ("owner_id",) if c in out.columns]
    if "stage_index" in out.columns and "stage" in out.columns:
        drop.append("stage_index")  # the stage's name says it; the workbook keeps the number
    if "rep_id" in out.columns and "rep_name" in out.columns:
        drop.append("rep_id")
    if "account_id" in out.columns and accounts is not None:
        names = pd.Series(
            accounts["name"].astype("string").to_numpy(),
            index=accounts["account_id"].astype("string").to_numpy(),
        )
        ids = out["account_id"].astype("string")
        out.insert(
            list(out.columns).index("account_id"),
            "account",
            ids.map(names).fillna(ids).astype("string").to_numpy(),
        )
        drop.append("account_id")
        if "opportunity_id" in out.columns:
            drop.append("opportunity_id")
    out = out.drop(columns=drop)
    if "opportunity_id" in out.columns:
        out = out[[c for c in out.columns if c != "opportunity_id"] + ["opportunity_id"]]
    return out
