"""The German catalogue is complete and every notebook tells its story in both languages."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from salesanalytics.engagement import translations
from salesanalytics.present import i18n

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def test_every_text_has_a_german_translation() -> None:
    """Completeness: every text of the package, the templates and the notebooks' code is in the
    German catalogue with a translation that keeps its placeholders."""
    texts = translations.extract_messages(ROOT)
    assert len(texts) > 200
    cat = i18n.catalogue("de")
    missing = sorted(t for t in texts if t not in cat)
    assert not missing, f"{len(missing)} texts without a German translation: {missing[:20]}"
    from babel.messages.pofile import read_po

    po = ROOT / "salesanalytics" / "present" / "locale" / "de" / "LC_MESSAGES" / "salesanalytics.po"
    with po.open("rb") as fh:
        entries = [m for m in read_po(fh) if m.id]
    empty = [m.id for m in entries if not m.string or m.fuzzy]
    assert not empty, f"untranslated or fuzzy entries in {po.name}: {empty[:20]}"
    field = re.compile(r"\{[^{}]*\}")
    for m in entries:
        src = m.id if isinstance(m.id, str) else m.id[0]
        dst = m.string if isinstance(m.string, str) else m.string[0]
        assert sorted(field.findall(src)) == sorted(field.findall(dst)), (src, dst)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_notebook_tells_its_story_in_both_languages(path: Path) -> None:
    """Each narrative cell is tagged with its language and has its counterpart in the other;
    cell ids are unique."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    ids = [c.get("id") for c in nb["cells"]]
    assert all(ids) and len(set(ids)) == len(ids)
    md = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
    langs = [
        tuple(t for t in c.get("metadata", {}).get("tags", []) if t.startswith("lang-")) for c in md
    ]
    untagged = ["".join(c["source"])[:60] for c, t in zip(md, langs, strict=True) if not t]
    assert not untagged, f"narrative cells without a language tag: {untagged}"
    assert sum(t == ("lang-en",) for t in langs) == sum(t == ("lang-de",) for t in langs)
    for c, t in zip(md, langs, strict=True):
        if t == ("lang-de",):
            text = "".join(c["source"])
            assert not re.search(r"\b(the|and|which|with)\b", text), text[:200]


def test_the_catalogue_commands_check_and_update(tmp_path: Path, monkeypatch) -> None:
    """``python -m salesanalytics.engagement.translations check de`` passes on the shipped
    catalogue; ``update`` adds a new text untranslated and keeps every translation."""
    res = subprocess.run(
        [sys.executable, "-m", "salesanalytics.engagement.translations", "check", "de"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "0 text(s) without a de translation" in res.stderr
    locale_dir = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale_dir)
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale_dir)
    monkeypatch.setattr(
        translations,
        "extract_messages",
        lambda root=None: {"yes": ["x"], "A text nobody translated yet": ["test"]},
    )
    i18n.catalogue.cache_clear()
    try:
        assert translations.update_catalogue("de") == ["A text nobody translated yet"]
        cat = i18n.catalogue("de")
        assert cat["yes"] == "ja" and "A text nobody translated yet" not in cat
    finally:
        i18n.catalogue.cache_clear()
