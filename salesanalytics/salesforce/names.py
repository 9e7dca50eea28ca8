"""Salesforce naming rules: API names (DeveloperName, fullName) and labels derived from report names.

A DeveloperName (Territory2, Territory2Model, Territory2Type, Report, Dashboard, folders) may hold
only ASCII letters, digits and single underscores, must start with a letter, must not end with an
underscore and is at most 80 characters long (40 for report and dashboard folders is not enforced
by Salesforce, but 80 is). Names must be unique within their kind; Salesforce compares them without
regard to case. Labels (``Name``, ``masterLabel``) are free text of at most 80 characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "MAX_LABEL",
    "MAX_NAME",
    "check_developer_name",
    "developer_name",
    "label",
    "unique_developer_names",
]

MAX_NAME = 80
"""Longest DeveloperName Salesforce accepts."""
MAX_LABEL = 80
"""Longest label (``Name`` of a territory, ``label`` of a field) written here."""

_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
_SPECIAL = {"ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Œ": "OE", "œ": "oe", "&": " and "}
_UMLAUT = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}


def _ascii(text: str) -> str:
    """``text`` in ASCII: German umlauts as ae/oe/ue, other accents dropped (é -> e)."""
    for src, dst in {**_UMLAUT, **_SPECIAL}.items():
        text = text.replace(src, dst)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def developer_name(text: str, prefix: str = "X", max_length: int = MAX_NAME) -> str:
    """A valid DeveloperName derived from a display name.

    Letters and digits are kept (umlauts transliterated: ``Zürich`` -> ``Zuerich``), every run of
    other characters becomes one underscore, and the result is cut to ``max_length`` without a
    trailing underscore. A name that would not start with a letter gets ``prefix`` and an
    underscore in front (``2026 plan`` -> ``X_2026_plan``).

    Parameters
    ----------
    text
        The display name (territory, team, KPI name ...).
    prefix
        Letter(s) put in front when the name starts with a digit or is empty.
    max_length
        Longest result (Salesforce: 80).

    Raises
    ------
    ValueError
        If ``prefix`` is not itself a valid name start or ``max_length`` is too small.
    """
    if not _NAME_RE.match(prefix) or max_length < len(prefix) + 2:
        raise ValueError(
            f"prefix {prefix!r} must be letters/digits starting with a letter and shorter than "
            f"max_length {max_length}"
        )
    name = re.sub(r"[^A-Za-z0-9]+", "_", _ascii(str(text))).strip("_")
    if not name or not name[0].isalpha():
        name = f"{prefix}_{name}" if name else prefix
    return name[:max_length].rstrip("_")


def check_developer_name(name: str) -> list[str]:
    """What is wrong with ``name`` as a DeveloperName (empty list: valid)."""
    problems = []
    if not name:
        return ["is empty"]
    if len(name) > MAX_NAME:
        problems.append(f"is {len(name)} characters long (at most {MAX_NAME})")
    if not name[0].isascii() or not name[0].isalpha():
        problems.append("does not start with a letter")
    if re.search(r"[^A-Za-z0-9_]", name):
        problems.append("holds characters other than letters, digits and underscores")
    if "__" in name:
        problems.append("holds two underscores in a row")
    if name.endswith("_"):
        problems.append("ends with an underscore")
    return problems


def unique_developer_names(
    texts: Iterable[str], prefix: str = "X", taken: Iterable[str] = ()
) -> list[str]:
    """DeveloperNames for ``texts``, in order, unique (case-insensitive).

    Unique among themselves and against ``taken``: a repeated name gets ``_2``, ``_3`` ...
    (shortened to stay within 80).
    """
    used = {t.lower() for t in taken}
    out = []
    for text in texts:
        base = developer_name(text, prefix)
        name, n = base, 1
        while name.lower() in used:
            n += 1
            suffix = f"_{n}"
            name = base[: MAX_NAME - len(suffix)].rstrip("_") + suffix
        used.add(name.lower())
        out.append(name)
    return out


def label(text: str, max_length: int = MAX_LABEL) -> str:
    """A label of at most ``max_length`` characters (whitespace collapsed, cut with ``…``)."""
    text = " ".join(str(text).split())
    return text if len(text) <= max_length else text[: max_length - 1].rstrip() + "…"
