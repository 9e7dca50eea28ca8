"""House style: Swiss number formatting and escaped tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from salesanalytics import style


def test_swiss_number_formats() -> None:
    assert style.chf(1234567) == "CHF 1'234'567"
    assert style.chf(-1234.5, decimals=2) == "CHF -1'234.50"
    assert style.chf(2_500_000, compact=True) == "CHF 2.5 Mio."
    assert style.chf(45_300, compact=True) == "CHF 45k"
    assert style.num(999.4) == "999"
    assert style.num(1234.56, 1) == "1'234.6"
    assert style.pct(0.1234) == "12.3%"
    assert style.pct(0.05, signed=True) == "+5.0%"
    assert style.num(-0.2) == "0"
    for missing in (None, math.nan, pd.NA):
        assert style.chf(missing) == style.num(missing) == style.pct(missing) == "–"


def test_table_escapes_crm_text_in_cells_headers_and_caption() -> None:
    df = pd.DataFrame(
        {
            "<img src=x onerror=alert(1)>": ["<script>alert(1)</script>", "A & B"],
            "mrr": [1234567.0, None],
        }
    )
    html = style.table(df, {"mrr": "chf"}, caption="<b>Top</b>").to_html()
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "A &amp; B" in html
    assert "CHF 1'234'567" in html and "–" in html


def test_table_says_how_many_rows_were_left_out() -> None:
    df = pd.DataFrame({"x": range(50)})
    html = style.table(df, max_rows=10, caption="Accounts").to_html()
    assert "first 10 of 50 rows" in html
    assert html.count("<tr>") == 11  # header + 10 rows


def test_run_currency_is_used_by_every_amount(tmp_path) -> None:
    import json

    from salesanalytics.workspace import Workspace, apply_run_settings

    try:
        assert style.chf(1234567) == "CHF 1'234'567"
        (tmp_path / "data" / "intake").mkdir(parents=True)
        (tmp_path / "data" / "intake" / "settings.json").write_text(json.dumps({"currency": "USD"}))
        assert Workspace(tmp_path, "potential").currency == "USD"
        assert style.chf(1234567) == "USD 1'234'567"
        assert style.money(2.5e6, compact=True) == "USD 2.5 Mio."
        assert style.currency() == "USD"
        with pytest.raises(ValueError, match="three-letter ISO 4217 code"):
            style.set_currency("dollars")
        assert apply_run_settings(tmp_path / "elsewhere") == "CHF"  # no settings: CHF
    finally:
        style.set_currency(None)
