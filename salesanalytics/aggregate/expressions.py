"""The aggregations of the canonical tables, written once as Ibis expressions.

Every function takes Ibis tables (opened by :func:`salesanalytics.aggregate.engine.open_tables`) and
returns an Ibis expression; nothing is computed until :func:`salesanalytics.aggregate.engine.execute`
runs it on DuckDB or Spark. Pandas, statsmodels and scipy then work on the aggregated frames only:
their size grows with accounts, reps, units or periods, never with the activities or the stage
history.

The aggregations (table -> grain):

* activities -> :func:`activity_span` (one row), :func:`account_effort` (account x channel),
  :func:`rep_workload` (rep x channel x month), :func:`rep_activity` (rep x date x type),
  :func:`visit_routes` (account x rep x channel: visits, for their travel), :func:`type_effort`
  (channel x type), :func:`contacted_accounts` (accounts with a qualified contact in a period);
* opportunities and their stage history -> :func:`deal_outcomes` (owner x funnel x channel),
  :func:`stage_reach` (funnel x stage);
* contracts -> :func:`account_mrr` (account: MRR at a date);
* contracts and opportunities by product group -> :func:`white_space` (account x product group).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "account_effort",
    "account_mrr",
    "activity_span",
    "contacted_accounts",
    "DEFAULT_STAGE_ORDERS",
    "deal_outcomes",
    "deal_stage_path",
    "rep_activity",
    "rep_workload",
    "stage_entries",
    "stage_history_rows",
    "stage_outcomes",
    "stage_reach",
    "stage_stays",
    "type_effort",
    "visit_routes",
    "white_space",
]


def _day(value: str | dt.date | dt.datetime) -> dt.datetime:
    """A date as a naive timestamp at midnight (the canonical dates carry no time zone)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value[:10])
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=None)


def _window(t: ir.Table, column: str, start: object, end: object) -> ir.Table:
    """Rows of ``t`` with ``start < t[column] <= end`` (either bound may be None)."""
    import ibis

    if start is not None:
        t = t.filter(t[column] > ibis.literal(_day(start)))  # type: ignore[arg-type]
    if end is not None:
        t = t.filter(t[column] <= ibis.literal(_day(end)))  # type: ignore[arg-type]
    return t


def activity_span(activities: ir.Table) -> ir.Table:
    """One row: ``rows``, ``without_account``, ``first_date``, ``last_date`` of the activity log.

    Parameters
    ----------
    activities
        Canonical ``activities`` (``account_id``, ``date``).
    """
    t = activities
    return t.aggregate(
        rows=t.count(),
        without_account=t.account_id.isnull().sum(),
        first_date=t.date.min(),
        last_date=t.date.max(),
    )


def account_effort(
    activities: ir.Table,
    channel: str | None = None,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
) -> ir.Table:
    """Activities, minutes and visits per account and channel.

    Parameters
    ----------
    activities
        Canonical ``activities``: ``account_id`` (activities without account form one row with a
        missing ``account_id``), ``channel``, ``type``, ``minutes``, ``date``.
    channel
        Only this channel (e.g. ``field`` for the territories); ``None`` = every channel.
    start, end
        Window ``start < date <= end``; ``None`` = open.

    Returns
    -------
    ibis Table
        ``account_id``, ``channel``, ``activities`` (count), ``minutes`` (sum; missing minutes
        count as 0), ``visits`` (activities of type ``visit``).
    """
    t = _window(activities, "date", start, end)
    if channel is not None:
        t = t.filter(t.channel == channel)
    return t.group_by(["account_id", "channel"]).aggregate(
        activities=t.count(),
        minutes=t.minutes.sum().coalesce(0.0),
        visits=(t.type == "visit").cast("int64").sum(),
    )


def _in_window(t: ir.Table, start: object, end: object) -> ir.BooleanValue:
    """``start < t.date <= end`` as a column (either bound may be None; missing dates: False)."""
    import ibis

    inside = t.date.isnull() | t.date.notnull()  # a column (not a scalar): every row
    if start is not None:
        inside = t.date > ibis.literal(_day(start))  # type: ignore[arg-type]
    if end is not None:
        up_to_end = t.date <= ibis.literal(_day(end))  # type: ignore[arg-type]
        inside = up_to_end if start is None else inside & up_to_end
    return inside.coalesce(False)


def visit_routes(
    activities: ir.Table,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
) -> ir.Table:
    """Visits per account, rep and channel: the trips whose travel the channel phase costs.

    Parameters
    ----------
    activities
        Canonical ``activities``: ``account_id``, ``rep_id``, ``channel``, ``type``, ``date``.
    start, end
        Costing window ``start < date <= end``; ``None`` = open.

    Returns
    -------
    ibis Table
        ``account_id``, ``rep_id``, ``channel`` (missing ids form their own rows), ``visits``
        (activities of type ``visit`` in the whole log), ``window_visits`` (of them, in the
        window).
    """
    t = activities.filter(activities.type == "visit")
    inside = _in_window(t, start, end)
    return t.group_by(["account_id", "rep_id", "channel"]).aggregate(
        visits=t.count(), window_visits=inside.cast("int64").sum()
    )


def type_effort(
    activities: ir.Table,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
) -> ir.Table:
    """Activities and minutes per channel and activity type, in the whole log and in a window.

    Parameters
    ----------
    activities
        Canonical ``activities``: ``channel``, ``type``, ``minutes``, ``date``.
    start, end
        Window ``start < date <= end``; ``None`` = open.

    Returns
    -------
    ibis Table
        ``channel``, ``type`` (missing values form their own rows), ``activities``,
        ``window_activities``, ``window_minutes`` (sum in the window; missing minutes count as 0).
    """
    t = activities
    inside = _in_window(t, start, end)
    return t.group_by(["channel", "type"]).aggregate(
        activities=t.count(),
        window_activities=inside.cast("int64").sum(),
        window_minutes=inside.ifelse(t.minutes.coalesce(0.0), 0.0).sum(),
    )


def contacted_accounts(
    activities: ir.Table,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    call_minutes: float = 5.0,
) -> ir.Table:
    """Accounts with a qualified contact in a period (``start <= date <= end``).

    A qualified contact is a visit, an online session or a call of at least ``call_minutes``.

    Parameters
    ----------
    activities
        Canonical ``activities``: ``account_id``, ``type``, ``minutes``, ``date``.
    start, end
        The period, both days included; ``None`` = open.
    call_minutes
        Minimum length of a qualified call.

    Returns
    -------
    ibis Table
        ``account_id`` (accounts with at least one qualified contact), ``contacts`` (their number).
    """
    import ibis

    t = activities.filter(activities.account_id.notnull())
    if start is not None:
        t = t.filter(t.date >= ibis.literal(_day(start)))
    if end is not None:
        t = t.filter(t.date <= ibis.literal(_day(end)))
    qualified = t.type.isin(["visit", "online_session"]) | (
        (t.type == "call") & (t.minutes >= call_minutes)
    )
    t = t.filter(qualified.coalesce(False))
    return t.group_by("account_id").aggregate(contacts=t.count())


def rep_workload(
    activities: ir.Table,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
) -> ir.Table:
    """Activities, minutes, visits and accounts worked per rep, channel and month.

    Parameters
    ----------
    activities
        Canonical ``activities``: ``rep_id``, ``account_id``, ``channel``, ``type``, ``minutes``,
        ``date``.
    start, end
        Window ``start < date <= end``; ``None`` = open.

    Returns
    -------
    ibis Table
        ``rep_id``, ``channel``, ``month`` (first day of the month), ``activities``, ``minutes``,
        ``visits``, ``accounts`` (distinct accounts).
    """
    t = _window(activities, "date", start, end)
    t = t.mutate(month=t.date.truncate("M").cast("timestamp"))
    return t.group_by(["rep_id", "channel", "month"]).aggregate(
        activities=t.count(),
        minutes=t.minutes.sum().coalesce(0.0),
        visits=(t.type == "visit").cast("int64").sum(),
        accounts=t.account_id.nunique(),
    )


def rep_activity(activities: ir.Table) -> ir.Table:
    """Activities and minutes per rep, activity date and type (the controlling cockpit's input).

    The date is kept as it is (no truncation), so that any window or month a phase cuts from
    these rows holds exactly the activities it would hold of the log.

    Parameters
    ----------
    activities
        Canonical ``activities``: ``rep_id``, ``date``, ``type``, ``minutes``.

    Returns
    -------
    ibis Table
        ``rep_id``, ``date``, ``type``, ``activities`` (count), ``minutes`` (sum; missing = 0).
    """
    t = activities
    return t.group_by(["rep_id", "date", "type"]).aggregate(
        activities=t.count(), minutes=t.minutes.sum().coalesce(0.0)
    )


def deal_outcomes(opportunities: ir.Table) -> ir.Table:
    """Deals, won, lost, open and their amounts per owner, funnel (deal type) and channel.

    Parameters
    ----------
    opportunities
        Canonical ``opportunities``: ``owner_id``, ``type`` (``new_business``, ``upsell``,
        ``renewal``), ``channel``, ``status`` (``won``, ``lost``, ``open``), ``amount``.

    Returns
    -------
    ibis Table
        ``owner_id``, ``type``, ``channel``, ``deals``, ``won``, ``lost``, ``open``,
        ``won_amount``, ``lost_amount``, ``open_amount`` (missing amounts count as 0),
        ``without_amount`` (deals without amount).
    """
    t = opportunities
    amount = t.amount.coalesce(0.0)
    return t.group_by(["owner_id", "type", "channel"]).aggregate(
        deals=t.count(),
        won=(t.status == "won").cast("int64").sum(),
        lost=(t.status == "lost").cast("int64").sum(),
        open=(t.status == "open").cast("int64").sum(),
        won_amount=(t.status == "won").ifelse(amount, 0.0).sum(),
        lost_amount=(t.status == "lost").ifelse(amount, 0.0).sum(),
        open_amount=(t.status == "open").ifelse(amount, 0.0).sum(),
        without_amount=t.amount.isnull().cast("int64").sum(),
    )


def stage_reach(opportunities: ir.Table, stages: ir.Table) -> ir.Table:
    """How many deals of each funnel reached each stage, from the stage history.

    Parameters
    ----------
    opportunities
        Canonical ``opportunities``: ``opportunity_id``, ``type``, ``status``.
    stages
        Canonical ``opportunity_stages``: ``opportunity_id``, ``stage``, ``entered_at``. History
        rows of deals missing from ``opportunities`` are left out.

    Returns
    -------
    ibis Table
        ``type``, ``stage``, ``deals`` (distinct deals that entered the stage), ``entries``
        (history rows), ``won`` (of those deals, won), ``first_entered``, ``last_entered``.
    """
    o = opportunities.select("opportunity_id", "type", "status")
    j = stages.inner_join(o, "opportunity_id")
    return j.group_by(["type", "stage"]).aggregate(
        deals=j.opportunity_id.nunique(),
        entries=j.count(),
        won=(j.status == "won").ifelse(j.opportunity_id, None).nunique(),
        first_entered=j.entered_at.min(),
        last_entered=j.entered_at.max(),
    )


def _active(contracts: ir.Table, as_of: str | dt.date) -> ir.Table:
    import ibis

    day = ibis.literal(_day(as_of))
    c = contracts
    return c.filter((c.start_date <= day) & (c.end_date.isnull() | (c.end_date > day)))


def account_mrr(contracts: ir.Table, as_of: str | dt.date) -> ir.Table:
    """Monthly recurring revenue per account at ``as_of``.

    A contract is active when it started on or before ``as_of`` and has no end date or ends
    after it (as the intake's customer profile counts).

    Parameters
    ----------
    contracts
        Canonical ``contracts``: ``account_id``, ``product_id``, ``start_date``, ``end_date``,
        ``mrr``.
    as_of
        Reference date.

    Returns
    -------
    ibis Table
        ``account_id``, ``mrr`` (sum of the active contracts' MRR), ``products`` (distinct),
        ``contracts`` (active contracts).
    """
    a = _active(contracts, as_of)
    return a.group_by("account_id").aggregate(
        mrr=a.mrr.sum(), products=a.product_id.nunique(), contracts=a.count()
    )


def white_space(
    contracts: ir.Table,
    opportunities: ir.Table,
    products: ir.Table,
    as_of: str | dt.date,
) -> ir.Table:
    """What every account buys today and has bought, per product group (the white-space grid).

    Parameters
    ----------
    contracts
        Canonical ``contracts``: ``account_id``, ``product_id``, ``start_date``, ``end_date``,
        ``mrr``.
    opportunities
        Canonical ``opportunities``: ``account_id``, ``product_id``, ``status``, ``amount``.
    products
        Canonical ``products``: ``product_id``, ``product_group``.
    as_of
        Reference date of the active contracts.

    Returns
    -------
    ibis Table
        ``account_id``, ``product_group``, ``mrr`` (active contracts' MRR at ``as_of``),
        ``contracts`` (active), ``won_deals``, ``won_amount`` (missing amounts count as 0). An
        account x group pair appears when it has an active contract or a won deal; products
        missing from ``products`` fall into a missing group.
    """
    import ibis

    p = products.select("product_id", "product_group")
    a = _active(contracts, as_of)
    a = a.left_join(p, "product_id")
    held = a.group_by(["account_id", "product_group"]).aggregate(
        mrr=a.mrr.sum(), contracts=a.count()
    )
    w = opportunities.filter(opportunities.status == "won")
    w = w.left_join(p, "product_id")
    won = w.group_by(["account_id", "product_group"]).aggregate(
        won_deals=w.count(), won_amount=w.amount.coalesce(0.0).sum()
    )
    j = held.outer_join(
        won,
        [
            held.account_id == won.account_id,
            # a missing product group joins a missing one
            held.product_group.coalesce("\x00") == won.product_group.coalesce("\x00"),
        ],
    )
    return j.select(
        account_id=ibis.coalesce(j.account_id, j.account_id_right),
        product_group=ibis.coalesce(j.product_group, j.product_group_right),
        mrr=j.mrr.coalesce(0.0),
        contracts=j.contracts.coalesce(0),
        won_deals=j.won_deals.coalesce(0),
        won_amount=j.won_amount.coalesce(0.0),
    )


# --------------------------------------------------------------------------- the funnel's history
DEFAULT_STAGE_ORDERS: dict[str, tuple[str, ...]] = {
    "new_business": ("Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation"),
    "existing": ("Qualification", "Proposal", "Negotiation"),
}
"""Open stages of each funnel in order (the closing stage ``Won``/``Lost`` follows the last)."""

_DAY_SECONDS = 86_400


def _deals(opportunities: ir.Table) -> ir.Table:
    """The deals' columns the stage history needs.

    ``opportunity_id``, ``funnel`` (``new_business`` for that type, any case; else
    ``existing``), ``status`` (lower case), ``close_date``, ``created_date``, ``stage_key``
    (the current stage in lower case; missing without a stage column).
    """
    import ibis

    o = opportunities
    new = (o.type.lower() == "new_business").coalesce(False)
    stage_key = o.stage.lower() if "stage" in o.columns else ibis.null().cast("string")
    close = o.close_date if "close_date" in o.columns else ibis.null().cast("timestamp")
    return o.select(
        "opportunity_id",
        "created_date",
        funnel=new.ifelse("new_business", "existing"),
        status=o.status.lower(),
        close_date=close,
        stage_key=stage_key,
    )


def _stage_lookup(orders: dict[str, tuple[str, ...]] | None) -> ir.Table:
    """``funnel``, ``lookup_key`` (stage name in lower case), ``stage_index`` of ``orders``."""
    import ibis
    import pandas as pd

    rows = [
        (f, s.lower(), i)
        for f, st in (orders or DEFAULT_STAGE_ORDERS).items()
        for i, s in enumerate(st)
    ]
    df = pd.DataFrame(rows, columns=["lookup_funnel", "lookup_key", "stage_index"])
    return ibis.memtable(df.astype({"stage_index": "int64"}))


def _days(end: ir.TimestampValue, start: ir.TimestampValue) -> ir.NumericValue:
    """Whole days from ``start`` to ``end`` (floored, as pandas' ``Timedelta.days``)."""
    return ((end.epoch_seconds() - start.epoch_seconds()) / _DAY_SECONDS).floor().cast("float64")


def _history(
    opportunities: ir.Table, stages: ir.Table, orders: dict[str, tuple[str, ...]] | None
) -> ir.Table:
    """History rows of known deals, with the deal's columns and the row's ``stage_index``.

    The index of the row's stage in its funnel's order (missing where the stage is not an open
    stage of the funnel).
    """
    d = _deals(opportunities)
    h = stages.select("opportunity_id", "stage", "entered_at").inner_join(d, "opportunity_id")
    h = h.mutate(stage_key=h.stage.lower(), current_key=h.stage_key)
    lk = _stage_lookup(orders)
    j = h.left_join(lk, [h.funnel == lk.lookup_funnel, h.stage_key == lk.lookup_key])
    return j.drop("lookup_funnel", "lookup_key")


def stage_history_rows(stages: ir.Table) -> ir.Table:
    """One row: ``rows`` of the stage history (those of known deals: :func:`stage_entries`).

    Parameters
    ----------
    stages
        Canonical ``opportunity_stages``.
    """
    return stages.aggregate(rows=stages.count())


def stage_entries(opportunities: ir.Table, stages: ir.Table) -> ir.Table:
    """Entries into each stage per funnel and day of the deal's life (to resolve stage orders).

    Parameters
    ----------
    opportunities
        Canonical ``opportunities``: ``opportunity_id``, ``type``, ``status``, ``created_date``.
    stages
        Canonical ``opportunity_stages``: ``opportunity_id``, ``stage``, ``entered_at``; rows of
        deals missing from ``opportunities`` are left out.

    Returns
    -------
    ibis Table
        ``funnel``, ``stage`` (as spelled), ``days`` (whole days from the deal's creation to the
        entry, floored; missing without creation date), ``entries``.
    """
    d = _deals(opportunities)
    h = stages.select("opportunity_id", "stage", "entered_at").inner_join(d, "opportunity_id")
    h = h.mutate(days=_days(h.entered_at, h.created_date))
    return h.group_by(["funnel", "stage", "days"]).aggregate(entries=h.count())


def deal_stage_path(
    opportunities: ir.Table,
    stages: ir.Table,
    orders: dict[str, tuple[str, ...]] | None = None,
) -> ir.Table:
    """Per deal: the furthest open stage its history reached and when it entered its current one.

    Parameters
    ----------
    opportunities
        Canonical ``opportunities``: ``opportunity_id``, ``type``, ``status``, ``stage``.
    stages
        Canonical ``opportunity_stages``: ``opportunity_id``, ``stage``, ``entered_at``.
    orders
        Open stages of each funnel in order (matched in lower case); default
        :data:`DEFAULT_STAGE_ORDERS`.

    Returns
    -------
    ibis Table
        ``opportunity_id`` (deals with history), ``furthest_index`` (highest stage index of a
        history row; missing when none is an open stage of the funnel), ``entered_current``
        (open deals: last entry into the current stage; else missing).
    """
    h = _history(opportunities, stages, orders)
    lk = _stage_lookup(orders)
    cur = lk.select(
        cur_funnel=lk.lookup_funnel, cur_key=lk.lookup_key, current_index=lk.stage_index
    )
    h = h.left_join(cur, [h.funnel == cur.cur_funnel, h.current_key == cur.cur_key])
    same = (h.status == "open") & (h.stage_index == h.current_index)
    return h.group_by("opportunity_id").aggregate(
        furthest_index=h.stage_index.max(),
        entered_current=same.coalesce(False).ifelse(h.entered_at, None).max(),
    )


def _stays(
    opportunities: ir.Table,
    stages: ir.Table,
    orders: dict[str, tuple[str, ...]] | None,
    as_of: str | dt.date,
) -> ir.Table:
    """Every stay in an open stage, as the funnel's ``stage_durations`` computes it.

    ``opportunity_id, funnel, stage, stage_index, next_stage, left, days``.
    """
    import ibis

    h = _history(opportunities, stages, orders)
    w = ibis.window(group_by=h.opportunity_id, order_by=[h.entered_at])
    h = h.mutate(
        next_at=h.entered_at.lead().over(w),
        next_index=h.stage_index.lead().over(w),
        next_name=h.stage.lead().over(w),
        is_last=h.opportunity_id.lead().over(w).isnull(),
    )
    closed = h.status.isin(["won", "lost"])
    next_closing = ~h.is_last & h.next_index.isnull()
    outcome = (h.status == "won").ifelse("Won", "Lost")
    next_stage = ibis.cases(
        (~h.is_last & ~next_closing, h.next_name),
        ((h.is_last | next_closing) & closed, outcome),
        else_=ibis.null().cast("string"),
    )
    left = ~h.is_last | closed
    left_at = (h.is_last & closed).ifelse(h.close_date, h.next_at)
    end = left.ifelse(left_at, ibis.literal(_day(as_of)))
    days = _days(end, h.entered_at)
    s = h.filter(h.stage_index.notnull())
    return s.select(
        "opportunity_id",
        "funnel",
        "stage",
        "stage_index",
        next_stage=next_stage,
        left=left,
        days=(days < 0).ifelse(0.0, days),
    )


def stage_stays(
    opportunities: ir.Table,
    stages: ir.Table,
    as_of: str | dt.date,
    orders: dict[str, tuple[str, ...]] | None = None,
) -> ir.Table:
    """Stays of deals in each open stage, counted by length and by where they went.

    A stay runs from the entry into a stage to the next entry of the deal (or its close date
    after its last entry; open deals' last stays are censored at ``as_of``).

    Parameters
    ----------
    opportunities
        Canonical ``opportunities``: ``opportunity_id``, ``type``, ``status``, ``close_date``.
    stages
        Canonical ``opportunity_stages``: ``opportunity_id``, ``stage``, ``entered_at``.
    as_of
        Reference date.
    orders
        Open stages of each funnel (see :func:`deal_stage_path`).

    Returns
    -------
    ibis Table
        ``funnel``, ``stage_index``, ``stage`` (as spelled), ``next_stage`` (the next entry's
        stage as spelled, ``Won`` or ``Lost`` after the last open stage of a closed deal, missing
        while open), ``left`` (False: censored), ``days`` (whole days in the stage, at least 0),
        ``stays``, ``first_opportunity`` (the smallest deal id among them).
    """
    s = _stays(opportunities, stages, orders, as_of)
    return s.group_by(["funnel", "stage_index", "stage", "next_stage", "left", "days"]).aggregate(
        stays=s.count(), first_opportunity=s.opportunity_id.min()
    )


def stage_outcomes(
    opportunities: ir.Table,
    stages: ir.Table,
    orders: dict[str, tuple[str, ...]] | None = None,
) -> ir.Table:
    """Closed and won deals among those that were ever in each open stage (stage history).

    Parameters
    ----------
    opportunities
        Canonical ``opportunities``: ``opportunity_id``, ``type``, ``status``.
    stages
        Canonical ``opportunity_stages``: ``opportunity_id``, ``stage``, ``entered_at``.
    orders
        Open stages of each funnel (see :func:`deal_stage_path`).

    Returns
    -------
    ibis Table
        ``funnel``, ``stage_index``, ``closed`` (won or lost deals), ``won`` (distinct deals).
        A closed deal's last stay in an open stage ends in ``Won`` or ``Lost`` (see
        :func:`stage_stays`), so the deal's status is its outcome.
    """
    h = _history(opportunities, stages, orders)
    h = h.filter(h.stage_index.notnull())
    ever = h.select("opportunity_id", "funnel", "stage_index", "status").distinct()
    return ever.group_by(["funnel", "stage_index"]).aggregate(
        closed=ever.status.isin(["won", "lost"]).cast("int64").sum(),
        won=(ever.status == "won").cast("int64").sum(),
    )
