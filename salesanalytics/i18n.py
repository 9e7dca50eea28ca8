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
``docs/i18n.md``.
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
    "extract_messages",
    "update_catalogue",
    "check_locale",
    "gettext",
    "gettext_known",
    "language",
    "locale",
    "ngettext",
    "pgettext",
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


def _po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=8)
def catalogue(lang: str) -> dict[Any, Any]:
    """The translations of ``lang``: ``msgid`` (or ``(context, msgid)``) -> ``msgstr`` (a tuple
    of forms for a plural entry). Empty and fuzzy entries are left out; English has none.

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
    """``message`` in the run's language when the catalogue has it, else unchanged, without
    noting it as missing: for table cells, which hold CRM text (names) as well as words."""
    lang = _STATE["language"]
    if lang == "en" or not message:
        return message
    found = catalogue(lang).get(message)
    if found is None:
        return message
    return swiss(found if isinstance(found, str) else found[0])


def pgettext(context: str, message: str) -> str:
    """``message`` in the run's language, for words whose translation depends on where they
    stand (``pgettext("channel", "Field")`` -> ``Feld``)."""
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
    """Mark a text for the catalogue without translating it now (module constants: the text is
    translated where it is shown, with :func:`gettext`)."""
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


# ----------------------------------------------------------------------------- the catalogue's texts
KEYWORDS: dict[str, Any] = {
    "_": None,
    "N_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
}
"""The functions whose literal arguments are catalogue texts (Babel keyword specs)."""

STATUS_WORDS: tuple[str, ...] = (
    "ran",
    "reused",
    "failed",
    "skipped",
    "stale",
    "not run",
    "interrupted",
    "runs",
    "runs with limitations",
)
"""Status words of the index page (a phase's and an analysis's status)."""

_TEMPLATE_CALL = re.compile(r"""_\(\s*"((?:[^"\\]|\\.)*)"\s*\)""")


SINK_KEYWORDS: tuple[str, ...] = ("caption",)
"""Keyword arguments whose literal text is translated where it is shown (``style.table(...,
caption="Proposed territories")``): they are catalogue texts too."""


def _sink_messages(code: str) -> list[str]:
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [
        kw.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg in SINK_KEYWORDS
        and isinstance(kw.value, ast.Constant)
        and isinstance(kw.value.value, str)
    ]


def _python_messages(code: str) -> list[str]:
    from io import BytesIO

    from babel.messages.extract import extract_python

    out = _sink_messages(code)
    found = extract_python(BytesIO(code.encode("utf-8")), KEYWORDS.keys(), [], {})
    for _lineno, func, msg, _comments in found:
        if isinstance(msg, tuple):
            if func == "pgettext":
                msg = msg[1]
            else:
                out.extend(m for m in msg[:1] if m)
                continue
        if msg:
            out.append(msg)
    return out


CONFIG_TEXTS: tuple[str, ...] = (
    "config/kpi_system.yaml",
    "config/kpi_catalogue.yaml",
    "config/roles.yaml",
    "config/plans/*.yaml",
)
"""Built-in configuration whose words a client reads (KPI names and definitions, role
profiles, pay-plan names): the keys of :data:`DISPLAY_KEYS` are catalogue texts, translated
where they are shown."""

DISPLAY_KEYS: frozenset[str] = frozenset(
    {"name", "definition", "mission", "tasks", "segments", "requirement", "category"}
)


def _display_texts(node: Any, key: str | None = None) -> list[str]:
    if isinstance(node, dict):
        return [t for k, v in node.items() for t in _display_texts(v, str(k))]
    if isinstance(node, list):
        return [t for v in node for t in _display_texts(v, key)]
    if isinstance(node, str) and key in DISPLAY_KEYS:
        return [node]
    return []


def extract_messages(root: str | os.PathLike[str] | None = None) -> dict[str, list[str]]:
    """Every text of the catalogue and where it is used: ``msgid -> [places]``.

    Read from the package's Python files and page templates (``_("...")``, ``N_``, ``ngettext``,
    ``pgettext``), the code cells of the notebooks in ``root/notebooks`` (when ``root`` is a
    checkout), and the package's word lists: phase and report titles, column and category
    labels (:data:`salesanalytics.style.LABELS`, ``VALUE_LABELS``, ``ROLE_LABELS``), the
    parameter labels (``config/parameter_labels.yaml``) and the index page's status words.
    """
    import json

    import yaml

    pkg = Path(__file__).resolve().parent
    found: dict[str, list[str]] = {}

    def add(msg: str, where: str) -> None:
        if msg and msg.strip():
            found.setdefault(msg, []).append(where)

    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg.parent).as_posix()
        for msg in _python_messages(path.read_text(encoding="utf-8")):
            add(msg, rel)
    for path in sorted((pkg / "pipeline" / "templates").glob("*.j2")):
        rel = path.relative_to(pkg.parent).as_posix()
        for m in _TEMPLATE_CALL.finditer(path.read_text(encoding="utf-8")):
            add(m.group(1).encode().decode("unicode_escape"), rel)
    if root is not None and (Path(root) / "notebooks").is_dir():
        for path in sorted((Path(root) / "notebooks").glob("*.ipynb")):
            nb = json.loads(path.read_text(encoding="utf-8"))
            for cell in nb.get("cells", []):
                if cell.get("cell_type") == "code":
                    src = "".join(cell.get("source", ""))
                    for msg in _python_messages(src):
                        add(msg, f"notebooks/{path.name}")
    from salesanalytics import style
    from salesanalytics.phases import all_phases

    for phase in all_phases():
        add(phase.title, f"phases/{phase.name}.py")
        for pe in phase.per_entity:
            add(pe.title, f"phases/{phase.name}.py")
    for table in ("LABELS", "VALUE_LABELS", "ROLE_LABELS"):
        for text in getattr(style, table).values():
            add(text, f"style.{table}")
    labels = yaml.safe_load((pkg / "config" / "parameter_labels.yaml").read_text("utf-8")) or {}
    for phase, specs in labels.items():
        for spec in (specs or {}).values():
            if spec.get("format") == "hide":
                continue
            for key in ("label", "zero", "empty", "prefix", "suffix"):
                if isinstance(spec.get(key), str):
                    add(spec[key], f"config/parameter_labels.yaml:{phase}")
    for word in STATUS_WORDS:
        add(word, "index page")
    for rel in CONFIG_TEXTS:
        for path in sorted(pkg.glob(rel)):
            data = yaml.safe_load(path.read_text("utf-8"))
            for text in _display_texts(data):
                add(text, path.relative_to(pkg.parent).as_posix())
    shared = yaml.safe_load((pkg / "config" / "shared_figures.yaml").read_text("utf-8")) or {}
    for fig in (shared.get("figures") or []) if isinstance(shared, dict) else []:
        for src in fig.get("sources", []) if isinstance(fig, dict) else []:
            if isinstance(src, dict) and isinstance(src.get("headline"), str):
                add(src["headline"], "config/shared_figures.yaml (headline pattern)")
    return found


def update_catalogue(lang: str, root: str | os.PathLike[str] | None = None) -> list[str]:
    """Add the texts of :func:`extract_messages` that ``lang``'s catalogue lacks (untranslated),
    keeping every entry and translation it has; return the added texts. For translators:
    ``python -m salesanalytics.i18n update de``, then fill the empty ``msgstr``."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    path = _po_path(lang)
    if path.exists():
        with path.open("rb") as fh:
            cat = read_po(fh, locale=lang, domain=DOMAIN)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        cat = Catalog(locale=lang, domain=DOMAIN, project="salesanalytics")
    added = []
    for msg, places in extract_messages(root).items():
        if msg not in cat:
            cat.add(msg, "", auto_comments=sorted(set(places))[:3])
            added.append(msg)
    with path.open("wb") as fh:
        write_po(fh, cat, width=100, sort_output=False)
    catalogue.cache_clear()
    return added


def main(argv: list[str] | None = None) -> int:
    """``python -m salesanalytics.i18n update LANG``: add new texts to LANG's catalogue;
    ``python -m salesanalytics.i18n check LANG``: list the texts without a translation."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] not in {"update", "check"}:
        print("usage: python -m salesanalytics.i18n update|check LANG", file=sys.stderr)
        return 2
    cmd, lang = args
    root = Path(__file__).resolve().parents[1]
    if cmd == "update":
        added = update_catalogue(lang, root)
        print(f"{len(added)} new text(s) in {_po_path(lang)}")
        return 0
    known = catalogue(lang)
    missing = [m for m in extract_messages(root) if m not in known]
    for m in missing:
        print(m)
    print(f"{len(missing)} text(s) without a {lang} translation", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
