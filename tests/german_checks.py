"""Checks shared by the tests of German reports: which text on a page comes from the CRM."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from salesanalytics.present.formats import value_label


def crm_words(run: Path) -> list[str]:
    """Text that comes from the CRM (names, groups, stages, industries, places): may be English."""
    base = run / "data" / "intake"
    words: set[str] = set()
    for table, cols in {
        "accounts": ["name", "industry", "municipality", "canton"],
        "reps": ["name", "team"],
        "products": ["name", "product_group"],
        "opportunity_stages": ["stage"],
        "opportunities": ["stage"],
        # the export's own values as the mapping translated them ("Former Customer" -> former
        # customer) and the mapping's rules for them ("IsClosed = true/1/yes")
        "quality_remappings": ["from_value"],
    }.items():
        path = base / f"{table}.parquet"
        if not path.is_file():
            continue
        df = pd.read_parquet(path)
        for c in cols:
            if c in df.columns:
                words |= {str(v) for v in df[c].dropna().unique() if str(v).strip()}
    path = base / "quality_remappings.parquet"
    if path.is_file():
        df = pd.read_parquet(path)
        words |= {f"{c} = {v}" for c, v in zip(df["column"], df["from_value"], strict=True)}
        words |= {w for w in df["from_value"].astype(str) if "/" in w}
        # the export's own column names, shown as labels where the mapping table lists them
        words |= {str(value_label(c)) for c in df["column"].dropna().astype(str)}
    return sorted(words)
