"""The steering-committee deck: fitted text, slides from the run's figures, template, rendering."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest
from office import pdf_pages, render_pdf
from pptx import Presentation
from pptx.util import Pt

from salesanalytics.engagement import deck

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LONG = (
    "Warning: 10 of 28 territories miss ±5%: T02 (potential +15.8%, workload -16.2%); T04 "
    "(potential -8.9%, workload +9.7%); T01 (potential -6.8%, workload +8.7%); T06 (potential "
    "-7.8%, workload +8.0%). The best plan found reaches ±16.3% on every territory."
)


def _png(width: float = 8, height: float = 4) -> bytes:
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    ax.bar(["a", "b", "c"], [3, 1, 2])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _notebook(path: Path, n_charts: int) -> None:
    import base64

    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_markdown_cell("# Phase")]
    for _ in range(n_charts):
        c = nbformat.v4.new_code_cell("plot()")
        c.outputs = [
            nbformat.v4.new_output(
                "display_data", data={"image/png": base64.b64encode(_png()).decode()}
            )
        ]
        cells.append(c)
    nb.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


@pytest.fixture
def run(tmp_path: Path) -> Path:
    r = tmp_path / "run"
    _notebook(r / "analyst" / "intake.ipynb", 1)
    _notebook(r / "analyst" / "territory.ipynb", 2)
    (r / "data" / "summary").mkdir(parents=True)
    (r / "data" / "intake").mkdir(parents=True)
    pd.DataFrame(
        {
            "block": ["Data basis", "Territory model"],
            "phase": ["intake", "territory"],
            "figure": ["Accounts in the CRM", "Accounts changing owner"],
            "value": ["20'000", "68.6%"],
        }
    ).to_parquet(r / "data" / "summary" / "key_figures.parquet")
    pd.DataFrame(
        {"table": ["accounts", "reps"], "rows": [20000, 56], "excluded": [3, 0]}
    ).to_parquet(r / "data" / "intake" / "quality_tables.parquet")
    (r / "data" / "intake" / "quality_counts.json").write_text(
        json.dumps({"errors": 0, "warnings": 2}), encoding="utf-8"
    )
    manifest = {
        "client": "Muster Web AG",
        "started": "2026-12-07T13:00:00+00:00",
        "parameters": {"territory": {"n_territories": 0, "tolerance": 0.05, "seed": 0}},
        "phases": {
            "intake": {
                "title": "Data intake and quality",
                "status": "ran",
                "headlines": [
                    "20'000 accounts received; data quality: 0 errors.",
                    "Largest canton: ZH.",
                ],
            },
            "territory": {
                "title": "Territory design",
                "status": "reused",
                "headlines": ["28 territories, 18 within ±5% of target.", LONG],
            },
            "churn": {"title": "Churn", "status": "failed", "headlines": []},
            "summary": {
                "title": "Executive summary",
                "status": "ran",
                "headlines": ["Balanced territories free 12% of field time."],
            },
        },
    }
    (r / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return r


def _texts(slide: Any) -> list[str]:
    return [s.text_frame.text for s in slide.shapes if s.has_text_frame and s.text_frame.text]


def _overflowing(prs: Any) -> list[str]:
    """Text boxes whose text, laid out with the real font metrics (DejaVu Sans, what LibreOffice
    uses for the default font here) or the deck's estimate, is taller than the box."""
    from PIL import ImageFont

    bad = []
    for k, slide in enumerate(prs.slides, start=1):
        for shape in slide.shapes:
            if not shape.has_text_frame or not shape.text_frame.text.strip():
                continue
            if shape.is_placeholder:
                continue  # titles: set by the template, fitted separately
            width = shape.width - Pt(14)  # default insets 0.1 in left and right
            height = shape.height - Pt(7)
            need = 0.0
            for par in shape.text_frame.paragraphs:
                size = (par.font.size or Pt(18)).pt
                if FONT.is_file():
                    face = FONT.with_name("DejaVuSans-Bold.ttf") if par.font.bold else FONT
                    font = ImageFont.truetype(str(face if face.is_file() else FONT), int(size * 10))
                    lines, cur = 1, ""
                    for word in par.text.split():
                        trial = f"{cur} {word}".strip()
                        if font.getlength(trial) / 10 > width / 12700 and cur:
                            lines, cur = lines + 1, word
                        else:
                            cur = trial
                    need += (lines * 1.2 + 0.33) * size * 12700
                else:
                    need += deck.text_height([par.text], width, size) + 0.33 * size * 12700
            if need > height * 1.02:
                bad.append(f"slide {k}: {shape.text_frame.text[:60]!r}")
    return bad


def test_text_height_and_fitting_known_answers() -> None:
    width = int(3 * 914400)  # 3 in = 216 pt: 19 characters a line at 20 pt (0.56 em each)
    assert deck.text_height(["a" * 10], width, 20) == pytest.approx(1.2 * 20 * 12700)
    two = deck.text_height(["word " * 6], width, 20)  # 29 characters: two lines
    assert two == pytest.approx(2 * 1.2 * 20 * 12700)
    box = deck.fit_text(["short"], width, int(1 * 914400), max_pt=20)
    assert box.size_pt == 20 and not box.shortened
    smaller = deck.fit_text([LONG], width, int(3 * 914400), max_pt=20)
    assert deck.MIN_PT <= smaller.size_pt < 20
    assert deck.text_height(smaller.paragraphs, width, smaller.size_pt) <= 3 * 914400
    cut = deck.fit_text([LONG, LONG], width, int(1.2 * 914400))
    assert cut.shortened and cut.size_pt == deck.MIN_PT
    assert deck.text_height(cut.paragraphs, width, cut.size_pt) <= 1.2 * 914400
    assert all(p.endswith(" …") or p == LONG for p in cut.paragraphs)


def test_deck_has_the_expected_slides_pictures_and_no_overflow(run: Path) -> None:
    info = deck.write_deck(run)
    prs = Presentation(str(run / deck.DECK_FILE))
    titles = [s.shapes.title.text if s.shapes.title is not None else "" for s in prs.slides]
    assert titles[0] == "Sales strategy: results for the steering committee"
    assert "Muster Web AG" in " ".join(_texts(prs.slides[0])) and "2026-12-07" in " ".join(
        _texts(prs.slides[0])
    )
    assert titles[1] == "Agenda"
    agenda = " ".join(_texts(prs.slides[1]))
    assert "Data intake and quality" in agenda and "Territory design" in agenda
    assert "Churn" not in agenda  # a failed phase has no slide
    assert titles[2:6] == [
        "Data intake and quality",
        "Territory design",
        "Territory design: details",
        "Executive summary",
    ]
    assert titles[6] == "Appendix: parameters and data quality"
    assert titles[7] == "Parameters: Territory design" and titles[-1] == "Data quality"
    # the so-what is the phase's first headline, read from the manifest
    assert "28 territories, 18 within ±5% of target." in _texts(prs.slides[3])
    assert any(t.startswith("Open points:") for t in _texts(prs.slides[4]))
    summary = " ".join(_texts(prs.slides[5]))
    assert "Accounts changing owner: 68.6%" in summary
    params = " ".join(
        c.text
        for s in [prs.slides[7]]
        for sh in s.shapes
        if sh.has_table
        for r in sh.table.rows
        for c in r.cells
    )
    assert "±5%" in params and "as many as the field workload needs" in params
    quality = " ".join(
        c.text
        for sh in prs.slides[-1].shapes
        if sh.has_table
        for r in sh.table.rows
        for c in r.cells
    )
    assert "20'000 rows, 3 excluded" in quality and "0 errors, 2 warnings" in quality
    pictures = [sh for s in prs.slides for sh in s.shapes if sh.shape_type == 13]
    assert len(pictures) == 3 == len(info["charts"])
    for pic in pictures:
        assert pic.image.content_type == "image/png" and len(pic.image.blob) > 1000
        assert 0 <= pic.left and pic.left + pic.width <= prs.slide_width
        assert 0 <= pic.top and pic.top + pic.height <= prs.slide_height
    assert all(c["scale"] >= 0.5 for c in info["charts"])  # charts at half their size or more
    assert not _overflowing(prs)
    for s in prs.slides:
        for sh in s.shapes:
            if sh.has_text_frame and not sh.is_placeholder:
                for par in sh.text_frame.paragraphs:
                    if par.text:
                        assert par.font.size.pt >= deck.MIN_PT


def test_deck_uses_the_projects_template(run: Path, tmp_path: Path) -> None:
    prs = deck.house_template()
    prs.slides.add_slide(prs.slide_layouts[0]).shapes.title.text = "example slide"
    from pptx.dml.color import RGBColor

    title_ph = next(ph for ph in prs.slide_master.placeholders if ph.placeholder_format.idx == 0)
    for par in title_ph.text_frame.paragraphs:
        par.font.color.rgb = RGBColor(0xAB, 0xCD, 0xEF)  # the consultancy's colour
    template = tmp_path / "ours.pptx"
    prs.save(str(template))
    deck.write_deck(run, template=template)
    out = Presentation(str(run / deck.DECK_FILE))
    from lxml import etree

    assert b"ABCDEF" in etree.tostring(out.slide_master._element)
    assert {s.slide_layout.name for s in out.slides} >= {"Title Slide", "Title Only"}
    titles = [s.shapes.title.text for s in out.slides if s.shapes.title is not None]
    assert "example slide" not in titles  # the template's own slides are not in the deck
    bad = tmp_path / "bad.pptx"
    bad.write_text("not a deck", encoding="utf-8")
    with pytest.raises(deck.DeckError, match=r"deck_template bad.pptx: not a PowerPoint file"):
        deck.write_deck(run, template=bad)
    with pytest.raises(
        deck.DeckError, match=r"deck_template missing.pptx: the file does not exist"
    ):
        deck.check_template(tmp_path / "missing.pptx")


def test_deck_renders_with_libreoffice(run: Path, tmp_path: Path) -> None:
    deck.write_deck(run)
    pdf = render_pdf(run / deck.DECK_FILE, tmp_path / "pdf")
    assert pdf_pages(pdf) == len(Presentation(str(run / deck.DECK_FILE)).slides)
