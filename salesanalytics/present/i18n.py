"""The client's language: one gettext catalogue for the package's words, language-tagged notebook cells.

A run's language (``en`` or ``de``) and locale (``en-CH``, ``de-CH``, ``de-DE``, ``de-AT``, ...) are
project parameters (top-level ``language`` / ``locale`` of ``project.yaml``, or ``--set
language=de``). The intake writes them to ``settings.json`` beside the currency, and
:class:`~salesanalytics.workspace.Workspace` sets them here for every phase, as it sets the
currency in :mod:`salesanalytics.style`.

* Text the package writes for a client (headlines, findings, chart titles, axis labels, table
  headers, category words, cockpits, statements, the index page) is written in English and passed
  through :func:`gettext` (``_``): in a German run it comes from the catalogue
  ``salesanalytics/locale/de/LC_MESSAGES/salesanalytics.po``. The ``.po`` file is read directly
  with Babel, so a fresh clone needs no build step.
* A text with numbers in it is a template: ``_("{n} territories").format(n=...)``.
* Notebook narrative is written once per language: Markdown cells tagged ``lang-en`` / ``lang-de``
  (untagged cells are shown in every language); :func:`select_language` drops the other
  languages' cells before a notebook is executed.
* Swiss usage: a ``de-CH`` run writes ``ss`` for ``ß`` (Strasse, massgeblich); the catalogue and the
  German cells are written in standard German.

Adding a language (French for the Romandie team) is a catalogue and a set of cells: see
``docs/i18n.md``. The catalogue is kept up to date with
``python -m salesanalytics.engagement.translations update de``
(:mod:`salesanalytics.engagement.translations`).
"""

from __future__ import annotations

import copy
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_LOCALE",
    "DOMAIN",
    "LANGUAGES",
    "LOCALES",
    "LOCALE_DIR",
    "N_",
    "catalogue",
    "check_locale",
    "gettext",
    "gettext_known",
    "language",
    "locale",
    "ngettext",
    "pgettext",
    "po_path",
    "select_language",
    "set_language",
    "swiss",
]

LANGUAGES: tuple[str, ...] = ("en", "de")
"""Languages a run can be written in (``en`` is the source language of every text)."""

LOCALES: tuple[str, ...] = ("en-CH", "en-DE", "en-AT", "de-CH", "de-DE", "de-AT")
"""Accepted locales (language-country): they set the number, money and date formats."""

DEFAULT_LOCALE: dict[str, str] = {"en": "en-CH", "de": "de-CH"}
"""The locale of a language when the project names none (the demo client is Swiss)."""

DOMAIN = "salesanalytics"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
"""``<LOCALE_DIR>/<language>/LC_MESSAGES/salesanalytics.po``: one catalogue per language."""

_MISSING_ENV = "SALESANALYTICS_I18N_MISSING"
"""When set to a file path, every text asked for in a non-English run without a translation is
appended to that file (for translators: run the demo, then translate what is listed)."""

_STATE: dict[str, str] = {"language": "en", "locale": "en-CH"}


def check_locale(language: str, locale: str | None = None) -> tuple[str, str]:
    """Validate a language and locale; return them normalised (``de``, ``de-CH``).

    ``locale`` empty or ``None`` gives the language's default (:data:`DEFAULT_LOCALE`);
    ``de_ch`` and ``de-ch`` are read as ``de-CH``.

    Raises
    ------
    ValueError
        If the language or the locale is not supported, or the locale is of another language,
        naming the accepted values.
    """
    lang = (language or "en").strip().lower()
    if lang not in LANGUAGES:
        raise ValueError(
            f"language {language!r} is not supported: use one of {', '.join(LANGUAGES)}"
        )
    if not locale:
        return lang, DEFAULT_LOCALE[lang]
    parts = re.split(r"[-_]", locale.strip())
    loc = f"{parts[0].lower()}-{parts[1].upper()}" if len(parts) == 2 else locale
    if loc not in LOCALES:
        raise ValueError(f"locale {locale!r} is not supported: use one of {', '.join(LOCALES)}")
    if not loc.startswith(lang + "-"):
        raise ValueError(
            f"locale {loc!r} does not fit language {lang!r}: use a {lang}-xx locale "
            f"({', '.join(x for x in LOCALES if x.startswith(lang + '-'))}) or set the language "
            f"to {loc[:2]!r}"
        )
    return lang, loc


def set_language(language: str | None = None, locale: str | None = None) -> str:
    """Set the run's language and locale (``None``: English, Swiss formats); return the language.

    Called by :func:`salesanalytics.workspace.apply_run_settings` from the intake's
    ``settings.json`` and by the pipeline runner for the index page and report titles.
    """
    lang, loc = check_locale(language or "en", locale)
    _STATE["language"] = lang
    _STATE["locale"] = loc
    return lang


def language() -> str:
    """The run's language (``en`` unless set by :func:`set_language`)."""
    return _STATE["language"]


def locale() -> str:
    """The run's locale (``en-CH`` unless set by :func:`set_language`)."""
    return _STATE["locale"]


def swiss(text: str, loc: str | None = None) -> str:
    """German text in Swiss usage for a ``de-CH`` locale (``ß`` -> ``ss``); unchanged otherwise."""
    if (loc or _STATE["locale"]) == "de-CH":
        return text.replace("ß", "ss").replace("ẞ", "SS")
    return text


def po_path(lang: str) -> Path:
    """The catalogue file of ``lang``: ``<LOCALE_DIR>/<lang>/LC_MESSAGES/salesanalytics.po``."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=8)
def catalogue(lang: str) -> dict[Any, Any]:
    """The translations of ``lang``.

    ``msgid`` (or ``(context, msgid)``) -> ``msgstr`` (a tuple of forms for a plural entry). Empty
    and fuzzy entries are left out; English has none.

    Read from the ``.po`` file with Babel (no compiled ``.mo`` needed), once per process.
    """
    path = _po_path(lang)
    if lang == "en" or not path.exists():
        return {}
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang, domain=DOMAIN)
    out: dict[Any, Any] = {}
    for msg in cat:
        if not msg.id or msg.fuzzy:
            continue
        key_id = msg.id[0] if isinstance(msg.id, tuple | list) else msg.id
        key = (msg.context, key_id) if msg.context else key_id
        if isinstance(msg.string, tuple | list):
            if all(msg.string):
                out[key] = tuple(msg.string)
        elif msg.string:
            out[key] = msg.string
    return out


@lru_cache(maxsize=8)
def _translations(lang: str) -> frozenset[str]:
    return frozenset(v for v in catalogue(lang).values() if isinstance(v, str))


def _missing(message: str, context: str | None = None) -> None:
    target = os.environ.get(_MISSING_ENV)
    if not target or message in _translations(_STATE["language"]):
        return
    line = (f"{context}\x04" if context else "") + message.replace("\n", "\\n")
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def gettext(message: str) -> str:
    """``message`` in the run's language (itself in an English run, or when not translated)."""
    lang = _STATE["language"]
    if lang == "en" or not message:
        return message
    found = catalogue(lang).get(message)
    if found is None:
        _missing(message)
        return message
    return swiss(found if isinstance(found, str) else found[0])


_ = gettext


def gettext_known(message: str) -> str:
    """``message`` in the run's language when the catalogue has it, else unchanged.

    Not noted as missing: for table cells, which hold CRM text (names) as well as words.
    """
    lang = _STATE["language"]
    if lang == "en" or not message:
        return message
    found = catalogue(lang).get(message)
    if found is None:
        return message
    return swiss(found if isinstance(found, str) else found[0])


def pgettext(context: str, message: str) -> str:
    """``message`` in the run's language, for words whose translation depends on where they stand.

    ``pgettext("channel", "Field")`` -> ``Feld``.
    """
    lang = _STATE["language"]
    if lang == "en" or not message:
        return message
    found = catalogue(lang).get((context, message))
    if found is None:
        found = catalogue(lang).get(message)
    if found is None:
        _missing(message, context)
        return message
    return swiss(found if isinstance(found, str) else found[0])


def ngettext(singular: str, plural: str, n: int) -> str:
    """Singular or plural of a text for the count ``n``, in the run's language."""
    lang = _STATE["language"]
    if lang != "en":
        found = catalogue(lang).get(singular)
        if isinstance(found, tuple):
            return swiss(found[0] if n == 1 else found[min(1, len(found) - 1)])
        _missing(singular)
    return singular if n == 1 else plural


def N_(message: str) -> str:
    """Mark a text for the catalogue without translating it now.

    For module constants: the text is translated where it is shown, with :func:`gettext`.
    """
    return message


LANG_TAG = re.compile(r"^lang-([a-z]{2})$")


def select_language(nb: Any, lang: str, loc: str | None = None) -> Any:
    """A copy of notebook ``nb`` with only the cells of language ``lang``.

    Cells tagged ``lang-xx`` for another language are dropped; untagged cells are kept. In a
    ``de-CH`` run the German cells are written in Swiss usage (:func:`swiss`). The cells' ids are
    kept (they are unique in the notebook and stay so).
    """
    out = copy.deepcopy(nb)
    kept = []
    for cell in out.cells:
        tags = [
            m.group(1) for t in cell.get("metadata", {}).get("tags", []) if (m := LANG_TAG.match(t))
        ]
        if tags and lang not in tags:
            continue
        if tags and cell.get("cell_type") == "markdown":
            cell["source"] = swiss(str(cell.get("source", "")), loc or DEFAULT_LOCALE.get(lang))
        kept.append(cell)
    out.cells = kept
    return out
