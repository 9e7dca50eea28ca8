"""DeveloperName rules: letters, digits, single underscores, a letter first, at most 80, unique."""

from __future__ import annotations

import pytest

from salesanalytics.salesforce.names import (
    MAX_NAME,
    check_developer_name,
    developer_name,
    label,
    unique_developer_names,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Team Zürich & Ostschweiz", "Team_Zuerich_and_Ostschweiz"),
        ("T07 Romandie", "T07_Romandie"),
        ("Chloé Favre-Bühler", "Chloe_Favre_Buehler"),
        ("  __Key   Accounts__  ", "Key_Accounts"),
        ("2026 plan", "X_2026_plan"),
        ("Straße", "Strasse"),
        ("???", "X"),
    ],
)
def test_developer_name_follows_salesforce_rules(text: str, expected: str) -> None:
    name = developer_name(text)
    assert name == expected
    assert check_developer_name(name) == []


def test_long_names_are_cut_without_trailing_underscore() -> None:
    name = developer_name("Territory " + "a" * 69 + " b")
    assert len(name) <= MAX_NAME and not name.endswith("_")
    assert check_developer_name(name) == []


def test_unique_names_get_numbered_case_insensitively_and_avoid_taken_ones() -> None:
    names = unique_developer_names(["Team A", "team a", "Team-A", "Other"], taken=["OTHER"])
    assert names == ["Team_A", "team_a_2", "Team_A_3", "Other_2"]
    long = unique_developer_names(["x" * 90, "x" * 90])
    assert long[1].endswith("_2") and len(long[1]) == MAX_NAME
    assert all(check_developer_name(n) == [] for n in names + long)


def test_check_names_every_problem() -> None:
    problems = check_developer_name("1a__b_")
    assert problems == [
        "does not start with a letter",
        "holds two underscores in a row",
        "ends with an underscore",
    ]
    assert check_developer_name("a" * 81) == ["is 81 characters long (at most 80)"]
    assert check_developer_name("Zürich") == [
        "holds characters other than letters, digits and underscores"
    ]


def test_bad_prefix_is_refused_and_labels_are_cut() -> None:
    with pytest.raises(ValueError, match="prefix '1' must be letters"):
        developer_name("x", prefix="1")
    assert label("a  b\nc") == "a b c"
    assert label("x" * 100) == "x" * 79 + "…"
