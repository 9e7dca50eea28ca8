"""Small known-answer tables of the controlling tests (reps, deals, activities, cockpit panels),
shared by test_model.py and test_plots.py."""

from __future__ import annotations

import pandas as pd

from salesanalytics.analyses.controlling import model as kpi

AS_OF = pd.Timestamp("2025-06-30")


def _reps() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3"],
            "name": ["Anna <b>Meier</b>", "Beat Keller", "Carla Rossi"],
            "team": ["Nord", "Nord", "Süd"],
            "role": ["field", "tele", "field"],
        }
    )


def _opps() -> pd.DataFrame:
    rows = [
        # owner, type, status, amount, created, close
        ("r1", "new_business", "won", 1000.0, "2025-01-10", "2025-02-15"),
        ("r1", "new_business", "lost", 500.0, "2025-01-10", "2025-03-01"),
        ("r1", "upsell", "won", 200.0, "2025-03-01", "2025-04-01"),
        ("r1", "renewal", "won", 999.0, "2025-03-01", "2025-04-01"),  # not bookings
        ("r1", "new_business", "won", 800.0, "2024-01-10", "2024-02-15"),  # prior window
        ("r1", "new_business", "won", 5000.0, "2024-08-10", "2024-09-15"),  # after prior window
        ("r2", "new_business", "lost", 300.0, "2025-01-10", "2025-05-01"),
        ("r2", "new_business", "won", 100.0, "2025-02-10", "2025-06-30"),  # last day counts
        ("r2", "new_business", "open", 700.0, "2025-05-10", "2025-09-30"),
        ("r3", "new_business", "won", 400.0, "2024-02-10", "2024-03-30"),
        (None, "new_business", "won", 50.0, "2025-02-10", "2025-03-30"),
    ]
    df = pd.DataFrame(
        rows, columns=["owner_id", "type", "status", "amount", "created_date", "close_date"]
    )
    for c in ("created_date", "close_date"):
        df[c] = pd.to_datetime(df[c])
    df["owner_id"] = df["owner_id"].astype("string")
    return df


def _activities() -> pd.DataFrame:
    rows = [
        ("r1", "2025-01-05", "visit", 60.0),
        ("r1", "2025-02-05", "call", 15.0),
        ("r1", "2025-02-06", "email", 5.0),
        ("r1", "2024-02-05", "visit", 60.0),
        ("r2", "2025-03-05", "call", 10.0),
        ("r2", "2025-07-05", "call", 10.0),  # after as_of
        ("r3", "2024-05-05", "online_session", 30.0),
    ]
    df = pd.DataFrame(rows, columns=["rep_id", "date", "type", "minutes"])
    df["date"] = pd.to_datetime(df["date"])
    return df


def _accounts() -> pd.DataFrame:
    return pd.DataFrame({"account_id": ["a1", "a2", "a3"], "owner_id": ["r1", "r2", "r3"]})


def _contracts() -> pd.DataFrame:
    rows = [
        ("a1", "2023-01-01", None, 100.0),
        ("a1", "2023-01-01", "2025-03-31", 50.0),  # churned this year
        ("a2", "2023-01-01", "2024-04-30", 80.0),  # churned last year
        ("a2", "2025-02-01", None, 30.0),  # started after 1 Jan: not in start MRR
        ("a3", "2024-06-01", None, 60.0),
    ]
    df = pd.DataFrame(rows, columns=["account_id", "start_date", "end_date", "mrr"])
    for c in ("start_date", "end_date"):
        df[c] = pd.to_datetime(df[c])
    return df


def _measures(window: str) -> pd.DataFrame:
    start, end = kpi.ytd_windows(AS_OF)[window]
    return kpi.measures(
        _opps(), _activities(), _contracts(), _accounts(), start, end, ["r1", "r2", "r3"]
    )


def _actuals() -> pd.DataFrame:
    snap = kpi.snapshot_measures(
        ["r1", "r2", "r3"],
        coverage=pd.DataFrame(
            {"rep_id": ["r1", "r2"], "pipeline": [900.0, 700.0], "remaining": [300.0, 700.0]}
        ),
    )
    return kpi.kpi_actuals(
        kpi.load_kpi_system(), _reps(), _measures("ytd"), _measures("prior"), snap
    )


def _cockpit_tables() -> tuple[pd.DataFrame, ...]:
    actuals = _actuals()
    trend = kpi.monthly_trend(_opps(), _activities(), _reps(), AS_OF)
    rf = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3"],
            "funnel": ["new_business"] * 3,
            "stage_index": [0, 0, 0],
            "stage": ["A"] * 3,
            "reached": [3, 2, 1],
            "open_here": [0, 1, 0],
            "advanced": [1, 1, 1],
        }
    )
    funnel = kpi.team_funnel(rf, _reps())
    mrr = pd.Series([100.0, 30.0, 60.0], index=["a1", "a2", "a3"])
    churn = pd.DataFrame({"account_id": ["a1", "a2"], "risk_band": ["high", "low"]})
    retention = kpi.retention_panel(mrr, _accounts(), _reps(), churn)
    return actuals, trend, funnel, retention


def _retention(bands: dict[str, list[str]]) -> pd.DataFrame:
    rows = [
        ("rep", rep, band, 1, 1000.0 * (i + 1) + 10.0 * j)
        for j, (rep, bs) in enumerate(bands.items())
        for i, band in enumerate(bs)
    ]
    return pd.DataFrame(rows, columns=["level", "entity_id", "risk_band", "accounts", "mrr"])
