"""House style: Swiss number formatting and escaped tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from salesanalytics.present import style


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


def test_column_names_become_client_words_with_units() -> None:
    assert style.label("current_mrr") == "MRR today (CHF)"
    assert style.label("n_territories") == "Number of territories"
    assert style.label("cost_chf") == "Cost (CHF)"
    assert style.label("within_5pct") == "Within 5%"
    assert style.label("fte_needed") == "FTE needed"
    assert style.label("Accounts") == "Accounts"
    assert style.label("serve efficiently") == "Serve efficiently"
    assert style.value_label("key_account") == "Key account"
    assert style.value_label("tele") == "Tele"
    assert style.value_label(True) == "yes" and style.value_label(False) == "no"
    assert style.value_label("Bäckerei Müller") == "Bäckerei Müller"


def test_table_shows_words_yes_no_and_no_trailing_zeros() -> None:
    df = pd.DataFrame(
        {
            "current_mrr": [1234.0, 5.0],
            "channel": ["field", "key_account"],
            "contiguous": [True, False],
            "wave": [1.0, 2.0],
            "ratio": [0.12345, 1.5],
        }
    )
    html = style.table(df, {"current_mrr": "chf"}, labels={"wave": "Migration wave"}).to_html()
    for text in ("MRR today (CHF)", "Channel", "Contiguous", "Migration wave", "CHF 1'234"):
        assert text in html
    assert ">yes<" in html and ">no<" in html and "True" not in html
    assert ">Key account<" in html and ">Field<" in html
    assert ">1<" in html and "1.000000" not in html and ">0.12<" in html
    assert "current_mrr" not in html


def test_regression_terms_read_as_words() -> None:
    assert style.value_label("C(industry)[T.Retail]") == "Industry: Retail"
    assert style.value_label("first_term[1]") == "First contract term (months): 1"
    assert style.value_label("channel[online]") == "Channel: online"


def test_composite_codes_and_known_terms_read_as_words() -> None:
    assert style.value_label("former_customer|A") == "Former customer · A"
    assert style.value_label("log_employees") == "Employees (log)"


def test_run_currency_is_used_by_every_amount(tmp_path) -> None:
    import json

    from salesanalytics.engagement.workspace import Workspace, apply_run_settings

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


def test_table_shows_the_name_not_the_crm_id_where_the_name_tells_records_apart() -> None:
    reps = pd.DataFrame(
        {
            "territory_id": ["T01", "T02", "T03"],
            "rep_id": ["0055g0000000001AAA", "0055g0000000002AAA", None],
            "rep_name": ["Anna Keller", "Beat Rossi", None],
        }
    )
    html = style.table(reps).to_html()
    assert "0055g" not in html and "Anna Keller" in html and "Rep ID" not in html
    assert "Territory ID" in html  # an id without a name column stays
    assert "0055g0000000001AAA" in style.table(reps, ids=True).to_html()
    # two reps of the same name: the id is what tells them apart, so it stays
    twins = reps.assign(rep_name=["Anna Keller", "Anna Keller", None])
    assert "0055g0000000002AAA" in style.table(twins).to_html()
    # a rep without a name keeps the id column
    unnamed = reps.assign(rep_name=["Anna Keller", None, None])
    assert "0055g0000000002AAA" in style.table(unnamed).to_html()


def test_factors_in_text_have_the_decimals_they_need_in_the_run_locale() -> None:
    assert [style.plain(v) for v in (1.25, 1.5, 2.0, 0.125)] == ["1.25", "1.5", "2", "0.125"]
    try:
        style.set_locale("de", "de-DE")
        assert style.plain(1.25) == "1,25" and style.num(2.891, 2) == "2,89"
        assert style.pct(0.12) == "12,0 %"
    finally:
        style.set_locale("en", "")
