"""The run's language and locale: gettext, Swiss usage, language-tagged cells, formats."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from salesanalytics.present import i18n, style

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture
def german():
    i18n.set_language("de", "de-CH")
    try:
        yield
    finally:
        i18n.set_language(None)


def test_locales_are_checked_and_normalised() -> None:
    assert i18n.check_locale("de") == ("de", "de-CH")
    assert i18n.check_locale("en", "") == ("en", "en-CH")
    assert i18n.check_locale("DE", "de_de") == ("de", "de-DE")
    with pytest.raises(ValueError, match=r"language 'fr' is not supported: use one of en, de"):
        i18n.check_locale("fr")
    with pytest.raises(ValueError, match=r"locale 'de-IT' is not supported"):
        i18n.check_locale("de", "de-IT")
    with pytest.raises(ValueError, match=r"locale 'de-DE' does not fit language 'en'"):
        i18n.check_locale("en", "de-DE")


def test_english_is_the_source_and_german_comes_from_the_catalogue(german) -> None:
    assert i18n.gettext("yes") == "ja"
    assert i18n.gettext("a text nobody wrote") == "a text nobody wrote"
    i18n.set_language("en")
    assert i18n.gettext("yes") == "yes"


def test_swiss_usage_has_no_sharp_s() -> None:
    assert i18n.swiss("Straße, maßgeblich", "de-CH") == "Strasse, massgeblich"
    assert i18n.swiss("Straße", "de-DE") == "Straße"
    cat = i18n.catalogue("de")
    sharp = [k for k, v in cat.items() if "ß" in str(v)]
    assert sharp, "the catalogue is written in standard German (with ß)"
    i18n.set_language("de", "de-CH")
    try:
        assert all("ß" not in i18n.gettext(k) for k in sharp if isinstance(k, str))
        i18n.set_language("de", "de-DE")
        assert any("ß" in i18n.gettext(k) for k in sharp if isinstance(k, str))
    finally:
        i18n.set_language(None)


def test_language_cells_are_selected_and_ids_stay_unique() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title", metadata={"tags": ["lang-en"]}, id="t-en"),
        nbformat.v4.new_markdown_cell("# Titel Straße", metadata={"tags": ["lang-de"]}, id="t-de"),
        nbformat.v4.new_code_cell("x = 1", id="code"),
    ]
    de = i18n.select_language(nb, "de", "de-CH")
    assert [c.id for c in de.cells] == ["t-de", "code"]
    assert de.cells[0].source == "# Titel Strasse"
    assert [c.id for c in i18n.select_language(nb, "en").cells] == ["t-en", "code"]
    assert len(nb.cells) == 3  # the original is not changed


def test_number_money_and_date_formats_follow_the_locale() -> None:
    try:
        assert style.money(1234567) == "CHF 1'234'567"  # the demo: en-CH
        assert style.pct(0.123) == "12.3%"
        style.set_locale("de", "de-CH")
        assert style.money(1234567) == "CHF 1'234'567"
        assert style.num(1234.5, 1) == "1'234.5"
        assert style.money(23456, compact=True) == "CHF 23 Tsd."
        style.set_locale("de", "de-DE")
        style.set_currency("EUR")
        assert style.money(1234567) == "1.234.567 €"
        assert style.money(2.5e6, compact=True) == "2,5 Mio. €"
        assert style.num(-1234.56, 1) == "-1.234,6"
        assert style.pct(0.123) == "12,3 %"
        assert style.date("2026-12-31") == "31.12.2026"
        assert style.month("2026-03-01") == "März 26"
        style.set_locale("de", "de-AT")
        assert style.money(1234567) == "1.234.567 €"
        assert style.month("2026-01-01") == "Jän. 26"
        style.set_locale("en")
        style.set_currency("CHF")
        assert style.month("2026-03-01") == "Mar 26"
    finally:
        style.set_locale(None)
        style.set_currency(None)


def test_tables_speak_the_run_language(german) -> None:
    import pandas as pd

    html = style.table(
        pd.DataFrame({"current_mrr": [1.0], "channel": ["field"], "flag": [True]}),
        caption="Proposed territories",
    ).to_html()
    assert "MRR heute (CHF)" in html and "Feld" in html and "ja" in html
    assert "Vorgeschlagene Gebiete" in html


def test_the_run_settings_carry_the_language(tmp_path: Path) -> None:
    from salesanalytics.engagement.workspace import Workspace

    (tmp_path / "data" / "intake").mkdir(parents=True)
    (tmp_path / "data" / "intake" / "settings.json").write_text(
        json.dumps({"currency": "EUR", "language": "de", "locale": "de-DE"})
    )
    try:
        Workspace(tmp_path, "potential")
        assert (i18n.language(), i18n.locale(), style.currency()) == ("de", "de-DE", "EUR")
        assert style.chf(1000) == "1.000 €"
    finally:
        style.set_locale(None)
        style.set_currency(None)
