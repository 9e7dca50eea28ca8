"""Compensation actuals: the contact-quality measure reads the qualified contacts from the log or
from the aggregation layer, with the same result."""

from __future__ import annotations

import pandas as pd

from salesanalytics.analyses.compensation.actuals import portfolio_actuals


def test_contacts_found_by_the_engine_equal_those_of_the_log(
    small_intake, small_intake_dir
) -> None:
    """The phase reads the qualified contacts from the aggregation layer: same accounts, same
    contact quality per rep, in both periods the plans are paid and set on."""
    from salesanalytics.aggregate.catalogue import Aggregator
    from salesanalytics.analyses.compensation.actuals import EngineContacts, contacted_accounts
    from salesanalytics.analyses.compensation.engine import period_bounds

    t = small_intake.tables
    engine = EngineContacts(Aggregator(small_intake_dir, as_of=small_intake.as_of))
    owner = t["accounts"][["account_id", "owner_id"]].rename(columns={"owner_id": "rep_id"})
    start, end = period_bounds(small_intake.as_of, 12)
    p_start, p_end = period_bounds(start - pd.Timedelta(days=1), 12)
    for s, e in ((start, end), (p_start, p_end)):
        for minutes in (5.0, 20.0):
            raw = contacted_accounts(t["activities"], s, e, minutes)
            assert len(raw) > 0
            pd.testing.assert_index_equal(engine.accounts(s, e, minutes), raw)
        a = portfolio_actuals(t["contracts"], t["activities"], owner, s, e)
        b = portfolio_actuals(t["contracts"], engine, owner, s, e)
        pd.testing.assert_frame_equal(b, a, check_exact=True)
        assert (a["measure"] == "activity_quality").any()
    # longer calls qualify fewer accounts; the period's last day counts
    assert len(contacted_accounts(t["activities"], start, end, 60.0)) < len(
        contacted_accounts(t["activities"], start, end, 5.0)
    )
    last = t["activities"][t["activities"]["type"].eq("visit")]["date"].max().normalize()
    day = pd.DataFrame({"account_id": ["A1"], "date": [last], "type": ["visit"], "minutes": [30.0]})
    assert list(contacted_accounts(day, last - pd.Timedelta(days=1), last)) == ["A1"]
    assert (
        list(contacted_accounts(day, last - pd.Timedelta(days=2), last - pd.Timedelta(days=1)))
        == []
    )
