"""Problem frames: what is wrong, where and what to do, many at once."""

from __future__ import annotations

import numpy as np
import pytest

from salesanalytics.ingest import problems as pr
from salesanalytics.ingest import validation


def test_problem_frame_repeats_scalars_along_arrays() -> None:
    df = pr.problem_frame(
        severity="error",
        check="bad_date",
        message="not a date",
        file="a.csv",
        column="Day",
        row=np.array([2, 5]),
        value=["x", "y"],
    )
    assert list(df.columns) == pr.PROBLEM_COLUMNS
    assert list(df["row"]) == [2, 5] and str(df["row"].dtype) == "Int64"
    assert list(df["file"]) == ["a.csv", "a.csv"] and list(df["value"]) == ["x", "y"]


def test_problem_frame_escapes_control_characters_and_cuts_long_values() -> None:
    df = pr.problem_frame(severity="warning", check="c", message="m", value=["a\x00b", "z" * 300])
    assert df["value"].iloc[0] == "a\\x00b"
    assert df["value"].iloc[1].endswith("... (300 characters)")


def test_problem_frame_rejects_an_unknown_severity() -> None:
    with pytest.raises(ValueError, match="severity must be one of"):
        pr.problem_frame(severity="fatal", check="c", message="m")


def test_empty_problems_has_the_columns_and_is_a_copy() -> None:
    a = pr.empty_problems()
    assert a.empty and list(a.columns) == pr.PROBLEM_COLUMNS
    a["check"] = a["check"].astype(object)
    assert str(pr.empty_problems()["check"].dtype) == "string"


def test_problem_text_and_thousands() -> None:
    p = pr.Problem("error", "a.csv", "accounts", "Id", 3, "x\x01", "duplicate_id", "twice", "Fix.")
    assert p.text() == "error: file a.csv, column Id, row 3: twice (value 'x\\x01'). Fix."
    assert pr.fmt_int(1234567) == "1'234'567"


def test_validation_reexports_the_same_objects() -> None:
    assert validation.problem_frame is pr.problem_frame
    assert validation.Problem is pr.Problem
    assert validation.FILE_COL == pr.FILE_COL == "_file"


@pytest.fixture
def own_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The templates a test marks stay in the test (the registry is the package's)."""
    monkeypatch.setattr(pr, "TEMPLATES", dict(pr.TEMPLATES))


def test_a_text_from_a_marked_template_is_reworded_with_its_values(own_templates) -> None:
    template = pr.N_("{field} refers to a {target} id that does not exist")
    german = {template: "{field} verweist auf eine ID von {target}, die es nicht gibt"}
    text = template.format(field="contracts.account_id", target="accounts")
    assert pr.reword(text, lambda t: german.get(t, t)) == (
        "contracts.account_id verweist auf eine ID von accounts, die es nicht gibt"
    )
    # a repeated placeholder must hold the same value twice
    twice = pr.N_("a subscription of {term} months (amount / {term})")
    german = {twice: "ein Abonnement über {term} Monate (Betrag / {term})"}
    assert pr.reword("a subscription of 12 months (amount / 12)", lambda t: german.get(t, t)) == (
        "ein Abonnement über 12 Monate (Betrag / 12)"
    )
    assert pr.TEMPLATES[twice].match("a subscription of 12 months (amount / 24)") is None
    # unmarked text: looked up as it is, unchanged without a translation
    assert pr.reword("something else", lambda t: {"something else": "etwas anderes"}.get(t, t)) == (
        "etwas anderes"
    )
    assert pr.reword("", str.upper) == ""


def test_a_marked_constant_inside_a_text_is_translated_with_it(own_templates) -> None:
    hint = pr.N_("Correct the postal code in the CRM ({format}) or the row's country.")
    digits = pr.N_("4 digits, e.g. 8004")
    german = {hint: "Die Postleitzahl im CRM korrigieren ({format}).", digits: "4 Ziffern"}
    text = hint.format(format=digits)
    assert (
        pr.reword(text, lambda t: german.get(t, t))
        == "Die Postleitzahl im CRM korrigieren (4 Ziffern)."
    )
    # the most specific template wins over a general one that also matches
    pr.N_("{a} ({b})")
    empty = pr.N_("{field} is empty ({why})")
    german = {empty: "{field} ist leer ({why})", "{a} ({b})": "{b}: {a}"}
    assert pr.reword("x.y is empty (gap)", lambda t: german.get(t, t)) == "x.y ist leer (gap)"
