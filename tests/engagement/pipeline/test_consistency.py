"""One set of numbers: the consistency check of figures shown by more than one phase."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from salesanalytics.engagement.pipeline.consistency import (
    SharedFigure,
    alert_lines,
    check_run,
    house_text,
    load_figures,
    parse_number,
    read_source,
)
from salesanalytics.engagement.pipeline.report import index_html
from salesanalytics.present import i18n


def _write(run: Path, phase: str, table: str, df: pd.DataFrame) -> None:
    d = run / "data" / phase
    d.mkdir(parents=True, exist_ok=True)
    df.to_parquet(d / f"{table}.parquet")


def _headlines(run: Path, phase: str, lines: list[str]) -> None:
    d = run / "data" / phase
    d.mkdir(parents=True, exist_ok=True)
    (d / "headlines.json").write_text(json.dumps(lines), encoding="utf-8")


def _key_account_run(run: Path, territory_flags: list[bool], portfolio_says: int) -> None:
    """potential owns 3 key accounts; territory and portfolio show their own counts."""
    _write(
        run,
        "potential",
        "key_accounts",
        pd.DataFrame({"account_id": ["a1", "a2", "a3"], "proposed_kam_id": ["K1", "K1", "K2"]}),
    )
    n = len(territory_flags)
    _write(
        run,
        "territory",
        "assignment",
        pd.DataFrame(
            {
                "account_id": [f"a{i + 1}" for i in range(n)],
                "rep_id": ["K1", "K1", "K2", "R1", "R1"][:n],
                "key_account": territory_flags,
            }
        ),
    )
    _headlines(run, "portfolio", [f"{portfolio_says} accounts qualify as key accounts (CHF 9)."])
    _write(
        run,
        "summary",
        "key_figures",
        pd.DataFrame({"figure": ["Key accounts"], "value": [str(portfolio_says)]}),
    )


def test_swiss_numbers_shown_as_text_are_read_with_their_precision() -> None:
    assert parse_number("CHF 1'234") == (1234.0, 0.5)
    v, p = parse_number("CHF 159.1 Mio.")
    assert v == pytest.approx(159.1e6) and p == pytest.approx(0.05e6)
    assert parse_number("43.9%") == (pytest.approx(0.439), pytest.approx(0.0005))
    assert parse_number("CHF 943k") == (943_000.0, 500.0)
    assert parse_number(12) == (12.0, 0.0)
    with pytest.raises(ValueError, match="no number in 'none'"):
        parse_number("none")


def test_the_packaged_declarations_load_and_cover_the_issue_figures() -> None:
    ids = {f.id for f in load_figures()}
    for needed in (
        "key_accounts",
        "fte_tele",
        "accounts_field_work",
        "territories",
        "total_potential",
        "mrr",
        "incentive_proposed",
        "incentive_per_rep",
    ):
        assert needed in ids


def test_a_malformed_declaration_names_the_figure(tmp_path: Path) -> None:
    bad = tmp_path / "figures.yaml"
    bad.write_text(
        "figures:\n  - id: x\n    label: X\n    sources:\n"
        "      - {phase: a, table: t, headline: 'n (\\d+)'}\n      - {phase: b, table: t}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"figure x: .*exactly one of table, json, headline"):
        load_figures(bad)


def test_two_phases_that_disagree_fail_the_check(tmp_path: Path) -> None:
    # territory carves out 4 key accounts, potential (the owner) lists 3, portfolio says 3
    _key_account_run(tmp_path, [True, True, True, True, False], 3)
    res = check_run(tmp_path)
    assert res["status"] == "failed"
    fig = {f["id"]: f for f in res["figures"]}["key_accounts"]
    assert fig["status"] == "mismatch"
    assert "territory/assignment[key_account].sum shows 4" in fig["message"]
    assert "potential/key_accounts.count 3" in fig["message"]
    per_kam = {f["id"]: f for f in res["figures"]}["key_accounts_per_manager"]
    assert per_kam["status"] == "mismatch" and "for R1" in per_kam["message"]


def test_phases_that_agree_pass_and_absent_phases_are_skipped(tmp_path: Path) -> None:
    _key_account_run(tmp_path, [True, True, True, False, False], 3)
    res = check_run(tmp_path)
    figs = {f["id"]: f for f in res["figures"]}
    assert figs["key_accounts"]["status"] == "ok", figs["key_accounts"]
    assert figs["key_accounts_per_manager"]["status"] == "ok"
    assert figs["fte_tele"]["status"] == "skipped"  # channels and roles did not run
    assert res["status"] == "passed" and res["failed"] == 0
    # the summary says a different number: caught too
    _write(
        tmp_path,
        "summary",
        "key_figures",
        pd.DataFrame({"figure": ["Key accounts"], "value": ["4"]}),
    )
    assert check_run(tmp_path)["status"] == "failed"


def test_text_figures_are_compared_within_their_shown_precision(tmp_path: Path) -> None:
    fig = SharedFigure.model_validate(
        {
            "id": "pot",
            "label": "Potential",
            "sources": [
                {"phase": "potential", "table": "p", "column": "potential_mrr", "agg": "sum"},
                {
                    "phase": "summary",
                    "table": "k",
                    "column": "value",
                    "agg": "value",
                    "where": "figure == 'Yearly'",
                    "divide_by": 12,
                },
            ],
        }
    )
    _write(tmp_path, "potential", "p", pd.DataFrame({"potential_mrr": [13_258_031.0]}))
    _write(
        tmp_path, "summary", "k", pd.DataFrame({"figure": ["Yearly"], "value": ["CHF 159.1 Mio."]})
    )
    assert check_run(tmp_path, [fig])["status"] == "passed"  # 159.1 Mio. / 12 = 13.258 Mio.
    _write(
        tmp_path, "summary", "k", pd.DataFrame({"figure": ["Yearly"], "value": ["CHF 149.1 Mio."]})
    )
    assert check_run(tmp_path, [fig])["status"] == "failed"


def test_a_declared_source_that_cannot_be_read_is_an_error(tmp_path: Path) -> None:
    _key_account_run(tmp_path, [True, True, True, False, False], 3)
    _write(tmp_path, "potential", "account_potential", pd.DataFrame({"account_id": ["a1"]}))
    res = check_run(tmp_path)
    fig = {f["id"]: f for f in res["figures"]}["key_accounts"]
    assert (
        fig["status"] == "error" and "column(s) ['key_account'] not in the table" in fig["message"]
    )
    assert res["status"] == "failed"
    from salesanalytics.engagement.pipeline.consistency import FigureSource

    assert read_source(tmp_path, FigureSource(phase="churn", table="x")) is None


_TITLES = {
    "potential": "Sales potential",
    "territory": "Territory design",
    "portfolio": "Portfolio",
}
_PHASES = [{"name": k, "title": v, "status": "ok"} for k, v in _TITLES.items()]


def test_the_index_page_lists_figures_that_disagree(tmp_path: Path) -> None:
    _key_account_run(tmp_path, [True, True, True, True, False], 3)
    res = check_run(tmp_path)
    page = index_html(
        client="Muster AG", run_id="r1", date="01.01.2026", summary="", phases=[], version="1"
    )
    assert "disagree" not in page
    page = index_html(
        client="Muster AG",
        run_id="r1",
        date="01.01.2026",
        summary="",
        phases=_PHASES,
        version="1",
        consistency=res,
    )
    assert "Figures that disagree between reports" in page
    # by report title and formatted value, not by table path
    assert "<strong>Key accounts</strong>: Territory design shows 4, Sales potential 3" in page
    kam = "<strong>Key accounts per key-account manager</strong>: R1: Territory design shows 1"
    assert kam + ", Sales potential –" in page  # R1 has no key account in potential's list
    assert "assignment[" not in page
    assert "Monthly recurring revenue" not in page  # figures that agree or were skipped


def test_the_alert_box_is_in_the_runs_language(tmp_path: Path) -> None:
    _key_account_run(tmp_path, [True, True, True, True, False], 3)
    res = check_run(tmp_path)
    i18n.set_language("de", "de-CH")
    try:
        lines = alert_lines(res, {"potential": "Verkaufspotenzial", "territory": "Gebietsmodell"})
    finally:
        i18n.set_language(None)
    by_label = {line["label"]: line["text"] for line in lines}
    assert by_label["Schlüsselkunden"] == "Gebietsmodell zeigt 4, Verkaufspotenzial 3"
    assert by_label["Schlüsselkunden pro Key-Account-Manager"].startswith("R1: Gebietsmodell zeigt")


def test_headlines_in_any_currency_and_number_format_read_as_the_patterns_are_written() -> None:
    assert house_text("MRR USD 833'794 today", "en-CH", "USD") == "MRR CHF 833'794 today"
    assert house_text("MRR CHF 833'794", "de-CH", "CHF") == "MRR CHF 833'794"
    de = house_text(
        "Potenzial 1,2 Mio. € gegenüber 833.794 € heute, 12,3 % am 31.12.2026", "de-DE", "EUR"
    )
    assert de == "Potenzial CHF 1.2 Mio. gegenüber CHF 833'794 heute, 12.3% am 31.12.2026"
    assert (
        house_text("braucht 35,0 FTE; MRR 1.234 $", "de-AT", "USD")
        == "braucht 35.0 FTE; MRR CHF 1'234"
    )


@pytest.mark.parametrize(
    ("settings", "headline"),
    [
        ({"language": "en", "locale": "", "currency": "USD"}, "against USD 1'500 today"),
        ({"language": "de", "locale": "de-DE", "currency": "EUR"}, "gegenüber 1.500 € heute"),
    ],
)
def test_a_client_in_another_currency_is_checked_like_a_swiss_one(
    tmp_path: Path, settings: dict, headline: str
) -> None:
    (tmp_path / "data" / "intake").mkdir(parents=True)
    (tmp_path / "data" / "intake" / "settings.json").write_text(json.dumps(settings), "utf-8")
    _write(
        tmp_path, "potential", "account_potential", pd.DataFrame({"current_mrr": [1000.0, 500.0]})
    )
    _headlines(tmp_path, "potential", [f"Potential ... {headline}."])
    mrr = {f["id"]: f for f in check_run(tmp_path)["figures"]}["mrr"]
    assert mrr["status"] == "ok", mrr["message"]
    assert i18n.language() == "en"  # the run's language was used for the check only
    _write(
        tmp_path, "potential", "account_potential", pd.DataFrame({"current_mrr": [1000.0, 600.0]})
    )
    mrr = {f["id"]: f for f in check_run(tmp_path)["figures"]}["mrr"]
    assert mrr["status"] == "mismatch"


def test_a_figure_its_owner_does_not_compute_is_skipped_not_an_error(tmp_path: Path) -> None:
    # roles without a channel workload: no FTE need per role (NaN) and a headline without it
    _write(
        tmp_path,
        "roles",
        "headcount",
        pd.DataFrame({"role": ["field", "tele"], "fte_needed": [float("nan")] * 2}),
    )
    _headlines(tmp_path, "roles", ["35.0 FTE in sales today."])
    fig = {f["id"]: f for f in check_run(tmp_path)["figures"]}["sales_fte_needed"]
    assert fig["status"] == "skipped"
    assert "owns the figure does not show it" in fig["message"]
