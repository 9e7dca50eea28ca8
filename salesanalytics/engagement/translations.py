"""The catalogue's texts: where the client's report words come from, complete per language.

Where the words of the client's reports come from, and keeping a language's catalogue complete.

``python -m salesanalytics.engagement.translations update de`` adds the texts of the code that the
German catalogue lacks (untranslated, to fill in); ``check de`` lists them. The runtime side (the
run's language, ``gettext``, the language-tagged notebook cells) is
:mod:`salesanalytics.present.i18n`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salesanalytics.present.i18n import DOMAIN, catalogue, po_path

__all__ = [
    "CONFIG_TEXTS",
    "DISPLAY_KEYS",
    "KEYWORDS",
    "SINK_KEYWORDS",
    "STATUS_WORDS",
    "extract_messages",
    "main",
    "update_catalogue",
]

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
    found = extract_python(BytesIO(code.encode("utf-8")), KEYWORDS, [], {})
    for _lineno, func, msg, _comments in found:
        texts: list[Any]
        if isinstance(msg, tuple):
            texts = [msg[1]] if func == "pgettext" else list(msg[:1])
        else:
            texts = [msg]
        out.extend(t for t in texts if isinstance(t, str) and t)
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


_Add = Callable[[str, str], None]  # add(msg, where): collects one text and where it is used


def _code_texts(pkg: Path, root: str | os.PathLike[str] | None, add: _Add) -> None:
    """The package's Python files and page templates, and the notebooks' code cells."""
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg.parent).as_posix()
        for msg in _python_messages(path.read_text(encoding="utf-8")):
            add(msg, rel)
    for path in sorted((pkg / "engagement" / "pipeline" / "templates").glob("*.j2")):
        rel = path.relative_to(pkg.parent).as_posix()
        for m in _TEMPLATE_CALL.finditer(path.read_text(encoding="utf-8")):
            add(m.group(1).encode().decode("unicode_escape"), rel)
    if root is None or not (Path(root) / "notebooks").is_dir():
        return
    for path in sorted((Path(root) / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "code":
                for msg in _python_messages("".join(cell.get("source", ""))):
                    add(msg, f"notebooks/{path.name}")


def _phase_texts(add: _Add) -> None:
    """Phase and report titles, the coverage texts of every phase, the word lists."""
    from salesanalytics.engagement.phases import all_phases
    from salesanalytics.present import style

    for phase in all_phases():
        add(phase.title, f"phases/{phase.name}.py")
        for pe in phase.per_entity:
            add(pe.title, f"phases/{phase.name}.py")
        for need in phase.needs:
            for text in (need.analysis, need.limitation, need.add):
                if text:
                    add(text, f"phases/{phase.name}.py (coverage)")
        for _upstream, effect in phase.optional_reads:
            add(effect, f"phases/{phase.name}.py (without an upstream phase)")
    for table in ("LABELS", "VALUE_LABELS", "ROLE_LABELS"):
        for text in getattr(style, table).values():
            add(text, f"style.{table}")
    for word in STATUS_WORDS:
        add(word, "index page")
    from salesanalytics.ingest import schema

    for spec in schema.TABLES.values():  # the intake's completeness table shows every field
        for column in spec.column_names:
            add(style.label(column), "schema (field labels of the intake's tables)")


def _config_texts(pkg: Path, add: _Add) -> None:
    """Parameter labels, the built-in configuration's display texts, headline patterns."""
    import yaml

    labels = yaml.safe_load((pkg / "config" / "parameter_labels.yaml").read_text("utf-8")) or {}
    for phase, specs in labels.items():
        for spec in (specs or {}).values():
            if spec.get("format") == "hide":
                continue
            for key in ("label", "zero", "empty", "prefix", "suffix"):
                if isinstance(spec.get(key), str):
                    add(spec[key], f"config/parameter_labels.yaml:{phase}")
    for rel in CONFIG_TEXTS:
        for path in sorted(pkg.glob(rel)):
            data = yaml.safe_load(path.read_text("utf-8"))
            for text in _display_texts(data):
                add(text, path.relative_to(pkg.parent).as_posix())
    shared = yaml.safe_load((pkg / "config" / "shared_figures.yaml").read_text("utf-8")) or {}
    for fig in (shared.get("figures") or []) if isinstance(shared, dict) else []:
        if isinstance(fig, dict) and isinstance(fig.get("label"), str):
            add(fig["label"], "config/shared_figures.yaml (figure label)")
        for src in fig.get("sources", []) if isinstance(fig, dict) else []:
            if isinstance(src, dict) and isinstance(src.get("headline"), str):
                add(src["headline"], "config/shared_figures.yaml (headline pattern)")


def extract_messages(root: str | os.PathLike[str] | None = None) -> dict[str, list[str]]:
    """Every text of the catalogue and where it is used: ``msgid -> [places]``.

    Read from the package's Python files and page templates (``_("...")``, ``N_``, ``ngettext``,
    ``pgettext``), the code cells of the notebooks in ``root/notebooks`` (when ``root`` is a
    checkout), and the package's word lists: phase and report titles, column and category
    labels (:data:`salesanalytics.style.LABELS`, ``VALUE_LABELS``, ``ROLE_LABELS``), the
    parameter labels (``config/parameter_labels.yaml``) and the index page's status words.
    """
    pkg = Path(__file__).resolve().parents[1]
    found: dict[str, list[str]] = {}

    def add(msg: str, where: str) -> None:
        if msg and msg.strip():
            found.setdefault(msg, []).append(where)

    _code_texts(pkg, root, add)
    _phase_texts(add)
    _config_texts(pkg, add)
    return found


def update_catalogue(lang: str, root: str | os.PathLike[str] | None = None) -> list[str]:
    """Add the texts of :func:`extract_messages` that ``lang``'s catalogue lacks (untranslated).

    Keeps every entry and translation it has; returns the added texts. For translators: ``python -m
    salesanalytics.engagement.translations update de``, then fill the empty ``msgstr``.
    """
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    path = po_path(lang)
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
    """``python -m salesanalytics.engagement.translations update LANG`` or ``check LANG``.

    ``update LANG``: add new texts to LANG's catalogue; ``check LANG``: list the texts without a
    translation.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] not in {"update", "check"}:
        print(
            "usage: python -m salesanalytics.engagement.translations update|check LANG",
            file=sys.stderr,
        )
        return 2
    cmd, lang = args
    root = Path(__file__).resolve().parents[2]
    if cmd == "update":
        added = update_catalogue(lang, root)
        print(f"{len(added)} new text(s) in {po_path(lang)}")
        return 0
    known = catalogue(lang)
    missing = [m for m in extract_messages(root) if m not in known]
    for m in missing:
        print(m)
    print(f"{len(missing)} text(s) without a {lang} translation", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
