"""The steering-committee deck of a run: ``deck.pptx`` (python-pptx), from the run's own figures.

Every figure on a slide is read from the run, never recomputed: each phase's headline findings
from ``manifest.json``, its key chart from its executed notebook (the first chart of the client
version), the executive summary's key figures from the summary phase's ``key_figures`` table, the
parameters from the manifest (with the client report's labels) and the data quality from the
intake phase's ``quality_tables`` and ``quality_counts.json``.

Slides: title (client, date), agenda, one or two slides per phase (headline as the so-what in a
sentence, the other findings, the key chart; a second slide with the phase's next chart or open
points when it has them), the executive summary, and an appendix (parameters, data quality).
Slides use the template's slide master and layouts (*Title Slide*, *Title Only*, *Section
Header*): a consultancy passes its own template (project setting ``deck_template``); the default
is the house template (python-pptx's default master, widened to 16:9, in the house colours).

Text is fitted to its box: the largest font size between a maximum and the projector minimum
(14 pt) at which the text's estimated height fits (:func:`text_height`); findings that still do
not fit are shortened at a word boundary with an ellipsis (the full text is in the report).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from salesanalytics.present import formats
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "DECK_FILE",
    "MIN_PT",
    "DeckError",
    "TextBox",
    "build_deck",
    "check_template",
    "fit_text",
    "house_template",
    "key_charts",
    "text_height",
    "write_deck",
]

DECK_FILE = "deck.pptx"
MIN_PT = 14
"""Smallest font size on a slide (legible at projector size)."""
_EMU_PER_PT = 12700
_EMU_PER_IN = 914400
_NAVY = (0x1F, 0x3A, 0x5F)
_ORANGE = (0xE0, 0x7A, 0x1F)
_GREY = (0x55, 0x55, 0x55)
_WARNING = re.compile(r"^\s*warning:\s*", re.I)


class DeckError(ValueError):
    """A deck template that cannot be used (message says which file and why)."""


@dataclass(frozen=True)
class TextBox:
    """Paragraphs fitted to a box: font size and the (possibly shortened) paragraphs."""

    paragraphs: tuple[str, ...]
    size_pt: float
    shortened: bool


# ------------------------------------------------------------------ text fitting
_GLYPH = 0.56
"""Average glyph width of the deck's sans-serif text (bold included) in units of its size: DejaVu
Sans, which LibreOffice substitutes for the default font, is wider than most."""


_GLYPH_BOLD = 0.62
"""The same for bold text."""


def _chars_per_line(width_emu: int, size_pt: float, bold: bool = False) -> int:
    glyph = _GLYPH_BOLD if bold else _GLYPH
    return max(1, int(width_emu / _EMU_PER_PT / (glyph * size_pt)))


def text_height(
    paragraphs: Sequence[str],
    width_emu: int,
    size_pt: float,
    spacing: float = 1.2,
    bold: bool = False,
) -> float:
    """Estimated height (EMU) of ``paragraphs`` set at ``size_pt`` in a box ``width_emu`` wide.

    Lines are wrapped at word boundaries with an average glyph width of 0.56 × the font size;
    each line takes ``spacing`` × the font size, each paragraph a third of a line more; bold
    glyphs are taken as 0.62 × the size wide.
    """
    cpl = _chars_per_line(width_emu, size_pt, bold)
    lines = 0
    for par in paragraphs:
        n, cur = 1, 0
        for word in str(par).split():
            w = len(word)
            if cur and cur + 1 + w > cpl:
                n += 1 + (w - 1) // cpl
                cur = w % cpl or cpl
            else:
                cur += w + (1 if cur else 0)
        lines += n
    return (lines * spacing + 0.33 * max(len(paragraphs) - 1, 0)) * size_pt * _EMU_PER_PT


def _shorten(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[: max(1, max_chars - 1)].rsplit(" ", 1)[0].rstrip(",;:(")
    return cut + " …"


def fit_text(
    paragraphs: Sequence[str],
    width_emu: int,
    height_emu: int,
    max_pt: float = 20,
    min_pt: float = MIN_PT,
    bold: bool = False,
) -> TextBox:
    """The largest font size (whole points, ``min_pt``..``max_pt``) at which ``paragraphs`` fit.

    When even ``min_pt`` does not fit, the last paragraphs are dropped or shortened.
    """
    pars = [p for p in (str(x).strip() for x in paragraphs) if p]
    size = float(max_pt)
    while size >= min_pt:
        if text_height(pars, width_emu, size, bold=bold) <= height_emu:
            return TextBox(tuple(pars), size, False)
        size -= 1
    size = float(min_pt)
    while pars:
        if text_height(pars, width_emu, size, bold=bold) <= height_emu:
            return TextBox(tuple(pars), size, True)
        last = pars[-1]
        shorter = _shorten(last, int(len(last) * 0.8))
        if len(shorter) >= len(last) or len(shorter) < 40:
            pars.pop()
        else:
            pars[-1] = shorter
    return TextBox((), size, True)


# ------------------------------------------------------------------ template
def house_template() -> Any:
    """The default deck template: python-pptx's slide master and layouts at 16:9.

    Titles in the house navy.
    """
    from pptx import Presentation
    from pptx.dml.color import RGBColor

    prs = Presentation()
    old_w = prs.slide_width
    new_w = int(13.333 * _EMU_PER_IN)
    factor = new_w / old_w
    prs.slide_width = new_w
    prs.slide_height = int(7.5 * _EMU_PER_IN)
    parts = [prs.slide_master, *prs.slide_layouts]
    # read every place first (a layout placeholder may inherit the master's), then set all four
    boxes = [
        (shape, (shape.left, shape.top, shape.width, shape.height))
        for part in parts
        for shape in part.shapes
    ]
    for shape, (left, top, width, height) in boxes:
        if None in (left, top, width, height):
            continue
        shape.left, shape.top = int(left * factor), int(top)
        shape.width, shape.height = int(width * factor), int(height)
    for shape in prs.slide_master.placeholders:
        if shape.placeholder_format.type is not None and "TITLE" in str(
            shape.placeholder_format.type
        ):
            for par in shape.text_frame.paragraphs:
                par.font.color.rgb = RGBColor(*_NAVY)
                par.font.bold = True
    return prs


def _load_template(path: str | os.PathLike[str] | None) -> Any:
    if not path:
        return house_template()
    from pptx import Presentation

    p = Path(path)
    if not p.is_file():
        raise DeckError(f"deck_template {p.name}: the file does not exist; check the path")
    try:
        prs = Presentation(str(p))
    except Exception as exc:
        raise DeckError(
            f"deck_template {p.name}: not a PowerPoint file python-pptx can open ({exc}); "
            "save it as .pptx (or .potx renamed to .pptx)"
        ) from None
    # start from the template's master and layouts only: its example slides are removed
    ids = prs.slides._sldIdLst
    for sld in list(ids):
        prs.part.drop_rel(sld.rId)
        ids.remove(sld)
    return prs


def check_template(path: str | os.PathLike[str]) -> None:
    """Raise :class:`DeckError` unless ``path`` is a PowerPoint file with slide layouts."""
    prs = _load_template(path)
    if not len(prs.slide_layouts):
        raise DeckError(f"deck_template {Path(path).name}: the file has no slide layouts")


def _layout(prs: Any, names: Sequence[str], fallback: int) -> Any:
    by_name = {lay.name.lower(): lay for lay in prs.slide_layouts}
    for n in names:
        if n.lower() in by_name:
            return by_name[n.lower()]
    layouts = list(prs.slide_layouts)
    return layouts[min(fallback, len(layouts) - 1)]


# ------------------------------------------------------------------ run content
def key_charts(notebook: str | os.PathLike[str], limit: int = 2) -> list[bytes]:
    """The first ``limit`` charts (PNG) of a phase as its client report shows them.

    Demo checks and analyst-only cells are left out.
    """
    import nbformat

    from salesanalytics.engagement.pipeline.report import _client_notebook

    p = Path(notebook)
    if not p.is_file():
        return []
    nb = _client_notebook(nbformat.read(str(p), as_version=4))
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            png = (o.get("data") or {}).get("image/png")
            if png:
                out.append(base64.b64decode(png if isinstance(png, str) else "".join(png)))
                if len(out) >= limit:
                    return out
    return out


def _png_size(data: bytes) -> tuple[int, int, float]:
    """Pixel width, height and dots per inch (100 when the file does not say)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        dpi = im.info.get("dpi", (100, 100))[0] or 100
        return im.width, im.height, float(dpi)


def _read_table(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.is_file() else None


# ------------------------------------------------------------------ slide helpers
class _Deck:
    def __init__(self, prs: Any) -> None:
        self.prs = prs
        self.w = prs.slide_width
        self.h = prs.slide_height
        self.margin = int(0.5 * _EMU_PER_IN)
        self.title_layout = _layout(prs, ["Title Slide"], 0)
        self.content_layout = _layout(prs, ["Title Only"], 5)
        self.section_layout = _layout(prs, ["Section Header"], 2)
        self.charts: list[dict[str, Any]] = []

    def _top(self, slide: Any) -> int:
        title = slide.shapes.title
        if title is not None and title.top is not None:
            return int(title.top + title.height + 0.1 * _EMU_PER_IN)
        return int(1.3 * _EMU_PER_IN)

    def slide(self, title: str, layout: Any = None) -> Any:
        s = self.prs.slides.add_slide(layout or self.content_layout)
        if s.shapes.title is not None:
            box = fit_text([title], s.shapes.title.width, s.shapes.title.height, 32, 20)
            s.shapes.title.text = box.paragraphs[0] if box.paragraphs else title
            for par in s.shapes.title.text_frame.paragraphs:
                par.font.size = _pt(box.size_pt)
        for ph in list(s.placeholders):
            if (
                ph.placeholder_format.idx != 0
                and not ph.has_text_frame
                or (ph.placeholder_format.idx != 0 and not ph.text_frame.text)
            ):
                if ph.placeholder_format.type is not None and "TITLE" in str(
                    ph.placeholder_format.type
                ):
                    continue
                ph._element.getparent().remove(ph._element)
        return s

    def text(
        self,
        slide: Any,
        paragraphs: Sequence[str],
        box: tuple[int, int, int, int],
        max_pt: float = 20,
        bold_first: bool = False,
        color: tuple[int, int, int] | None = None,
        bullets: bool = False,
    ) -> TextBox:
        from pptx.dml.color import RGBColor
        from pptx.util import Emu

        left, top, width, height = box
        inner_w = width - 2 * int(0.1 * _EMU_PER_IN)
        inner_h = height - 2 * int(0.05 * _EMU_PER_IN)
        shown = [("• " + p) if bullets else p for p in paragraphs]
        fitted = fit_text(shown, inner_w, inner_h, max_pt, bold=bold_first)
        tb = slide.shapes.add_textbox(Emu(left), Emu(top), Emu(width), Emu(height))
        tf = tb.text_frame
        tf.word_wrap = True
        for i, par_text in enumerate(fitted.paragraphs):
            par = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            par.text = par_text
            par.font.size = _pt(fitted.size_pt)
            if color is not None:
                par.font.color.rgb = RGBColor(*color)
            if bold_first and i == 0:
                par.font.bold = True
            par.space_after = _pt(fitted.size_pt * 0.33)
        return fitted

    def picture(self, slide: Any, png: bytes, box: tuple[int, int, int, int], label: str) -> None:
        from pptx.util import Emu

        left, top, width, height = box
        px_w, px_h, dpi = _png_size(png)
        scale = min(width / px_w, height / px_h)
        w, h = int(px_w * scale), int(px_h * scale)
        pic = slide.shapes.add_picture(
            io.BytesIO(png),
            Emu(left + (width - w) // 2),
            Emu(top + (height - h) // 2),
            Emu(w),
            Emu(h),
        )
        pic.name = _("Chart: {label}").format(label=label)
        design_w = px_w / dpi * _EMU_PER_IN  # the chart's size as drawn (fonts at their size)
        self.charts.append({"slide": label, "scale": round(w / design_w, 3)})


def _pt(size: float) -> Any:
    from pptx.util import Pt

    return Pt(size)


def _phase_slides(d: _Deck, title: str, headlines: Sequence[str], charts: Sequence[bytes]) -> None:
    findings = [h for h in headlines if not _WARNING.match(h)]
    warnings = [_WARNING.sub("", h) for h in headlines if _WARNING.match(h)]
    so_what = findings[0] if findings else (warnings[0] if warnings else "")
    rest = findings[1:] if findings else []
    s = d.slide(title)
    top = d._top(s)
    m = d.margin
    avail_w = d.w - 2 * m
    bottom = d.h - int(0.45 * _EMU_PER_IN)
    so_h = int(1.3 * _EMU_PER_IN)
    d.text(s, [so_what], (m, top, avail_w, so_h), max_pt=22, bold_first=True, color=_NAVY)
    body_top = top + so_h + int(0.1 * _EMU_PER_IN)
    body_h = bottom - body_top
    chart = charts[0] if charts else None
    if chart is not None:
        px_w, px_h, _dpi = _png_size(chart)
        wide = px_w / px_h > 2.2
    else:
        wide = False
    if chart is None:
        d.text(
            s, rest or [_("(no further findings)")], (m, body_top, avail_w, body_h), bullets=True
        )
    elif wide or not rest:
        text_h = int(1.3 * _EMU_PER_IN) if rest else 0
        d.picture(s, chart, (m, body_top, avail_w, body_h - text_h), title)
        if rest:
            d.text(s, rest, (m, bottom - text_h, avail_w, text_h), max_pt=18, bullets=True)
    else:
        text_w = int(avail_w * 0.36)
        d.text(s, rest, (m, body_top, text_w, body_h), bullets=True)
        gap = int(0.2 * _EMU_PER_IN)
        d.picture(s, chart, (m + text_w + gap, body_top, avail_w - text_w - gap, body_h), title)
    if len(charts) > 1 or warnings:
        s2 = d.slide(_("{title}: details").format(title=title))
        top2 = d._top(s2)
        h2 = bottom - top2
        if warnings:
            wh = int(1.6 * _EMU_PER_IN) if len(charts) > 1 else h2
            d.text(
                s2,
                [_("Open points:"), *warnings],
                (m, bottom - wh, avail_w, wh),
                max_pt=18,
                bold_first=True,
                color=_GREY,
            )
            h2 -= wh
        if len(charts) > 1:
            d.picture(s2, charts[1], (m, top2, avail_w, h2), f"{title} (2)")


def _table_slide(
    d: _Deck, title: str, rows: Sequence[tuple[str, str]], header: tuple[str, str]
) -> None:
    """Rows as a two-column table, split over as many slides as they need at 14 pt."""
    from pptx.util import Emu

    per = 14
    chunks = [rows[i : i + per] for i in range(0, len(rows), per)] or [[]]
    for k, chunk in enumerate(chunks):
        s = d.slide(title if len(chunks) == 1 else f"{title} ({k + 1}/{len(chunks)})")
        top = d._top(s)
        width = d.w - 2 * d.margin
        row_h = int(0.34 * _EMU_PER_IN)
        shape = s.shapes.add_table(
            len(chunk) + 1, 2, Emu(d.margin), Emu(top), Emu(width), Emu(row_h * (len(chunk) + 1))
        )
        table = shape.table
        table.columns[0].width = Emu(int(width * 0.45))
        table.columns[1].width = Emu(width - int(width * 0.45))
        for j, text in enumerate(header):
            table.cell(0, j).text = text
        for i, (a, b) in enumerate(chunk, start=1):
            for j, value in enumerate((a, b)):
                cap = _chars_per_line(table.columns[j].width - int(0.2 * _EMU_PER_IN), MIN_PT)
                table.cell(i, j).text = _shorten(str(value), cap)
        for r in range(len(chunk) + 1):
            for j in range(2):
                for par in table.cell(r, j).text_frame.paragraphs:
                    par.font.size = _pt(MIN_PT)


# ------------------------------------------------------------------ the deck
def _title_slide(d: _Deck, client: str, date: str) -> None:
    """The title slide: what the deck is, the client and the date."""
    slide = d.prs.slides.add_slide(d.title_layout)
    if slide.shapes.title is not None:
        slide.shapes.title.text = _("Sales strategy: results for the steering committee")
    subtitle = next((ph for ph in slide.placeholders if ph.placeholder_format.idx == 1), None)
    if subtitle is not None:
        subtitle.text = f"{client}\n{date}"
    else:
        d.text(
            slide,
            [client, date],
            (d.margin, int(d.h * 0.6), d.w - 2 * d.margin, int(1.2 * _EMU_PER_IN)),
        )


def build_deck(
    run_dir: str | os.PathLike[str],
    manifest: Mapping[str, Any],
    template: str | os.PathLike[str] | None = None,
    date: str = "",
) -> tuple[Any, dict[str, Any]]:
    """The deck of a run.

    Parameters
    ----------
    run_dir
        The run folder (``analyst/<phase>.ipynb``, ``data/summary/key_figures.parquet``,
        ``data/intake/quality_*``).
    manifest
        The run's manifest (``client``, ``phases`` with ``title``, ``status``, ``headlines``;
        ``parameters``).
    template
        A ``.pptx`` whose slide master and layouts are used (default :func:`house_template`).
    date
        Date on the title slide (default: the run's start date).

    Returns
    -------
    (pptx.Presentation, dict)
        The deck and a summary: ``slides``, ``phases`` (those with a slide), ``charts``
        (per picture its slide and the scale at which the chart is shown).

    Raises
    ------
    DeckError
        If the template cannot be used.
    """
    from salesanalytics.engagement.phases import all_phases
    from salesanalytics.engagement.pipeline.report import param_rows

    run = Path(run_dir)
    prs = _load_template(template)
    d = _Deck(prs)
    client = str(manifest.get("client") or "")
    date = date or str(manifest.get("started") or "")[:10]
    phases = manifest.get("phases") or {}
    order = [p.name for p in all_phases()]
    done = [
        n
        for n in order
        if n in phases and phases[n].get("status") in {"ran", "reused"} and n != "summary"
    ]
    _title_slide(d, client, date)
    agenda = [str(phases[n].get("title") or n) for n in done]
    if "summary" in phases:
        agenda.append(_("Executive summary"))
    agenda.append(_("Appendix: parameters and data quality"))
    s = d.slide(_("Agenda"))
    top = d._top(s)
    d.text(s, agenda, (d.margin, top, d.w - 2 * d.margin, d.h - top - d.margin), bullets=True)
    for n in done:
        entry = phases[n]
        charts = key_charts(run / "analyst" / f"{n}.ipynb")
        _phase_slides(d, str(entry.get("title") or n), list(entry.get("headlines") or []), charts)
    summary = phases.get("summary") or {}
    if summary.get("status") in {"ran", "reused"}:
        s = d.slide(_("Executive summary"))
        top = d._top(s)
        m = d.margin
        avail_w = d.w - 2 * m
        heads = [h for h in summary.get("headlines") or [] if not _WARNING.match(h)]
        kf = _read_table(run / "data" / "summary" / "key_figures.parquet")
        if kf is not None and len(kf):
            text_w = int(avail_w * 0.42)
            d.text(s, heads, (m, top, text_w, d.h - top - m), bullets=True)
            rows = [f"{r.figure}: {r.value}" for r in kf.itertuples()]
            d.text(
                s,
                rows,
                (
                    m + text_w + int(0.3 * _EMU_PER_IN),
                    top,
                    avail_w - text_w - int(0.3 * _EMU_PER_IN),
                    d.h - top - m,
                ),
                max_pt=18,
                color=_NAVY,
            )
        else:
            d.text(s, heads, (m, top, avail_w, d.h - top - m), bullets=True)
    d.slide(_("Appendix: parameters and data quality"), d.section_layout)
    params = manifest.get("parameters") or {}
    for n in [*done, *(["summary"] if "summary" in phases else [])]:
        rows = param_rows(n, params.get(n) or {})
        if rows:
            _table_slide(
                d,
                _("Parameters: {title}").format(title=phases[n].get("title") or n),
                rows,
                (_("Parameter"), _("Value")),
            )
    q = _read_table(run / "data" / "intake" / "quality_tables.parquet")
    counts_p = run / "data" / "intake" / "quality_counts.json"
    counts = json.loads(counts_p.read_text(encoding="utf-8")) if counts_p.is_file() else {}
    if q is not None:
        rows = [
            (
                _(str(r.table).replace("_", " ").capitalize()),
                _("{rows} rows, {excluded} excluded").format(
                    rows=_num(r.rows), excluded=_num(r.excluded)
                ),
            )
            for r in q.itertuples()
        ]
        rows.append(
            (
                _("Problems found in the export"),
                _("{errors} errors, {warnings} warnings").format(
                    errors=counts.get("errors", 0), warnings=counts.get("warnings", 0)
                ),
            )
        )
        _table_slide(d, _("Data quality"), rows, (_("Table"), _("Rows used")))
    info = {"slides": len(prs.slides), "phases": done, "charts": d.charts}
    return prs, info


def write_deck(
    run_dir: str | os.PathLike[str],
    manifest: Mapping[str, Any] | None = None,
    template: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Write ``deck.pptx`` at the top of the run folder (a new file renamed into place).

    ``manifest`` defaults to the run's ``manifest.json``. Returns :func:`build_deck`'s summary
    with ``file``.
    """
    run = Path(run_dir)
    if manifest is None:
        manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    prs, info = build_deck(run, manifest, template)
    tmp = run / f".{DECK_FILE}.tmp"
    prs.save(str(tmp))
    os.replace(tmp, run / DECK_FILE)
    os.chmod(run / DECK_FILE, 0o644)
    return {"file": DECK_FILE, **info}


def _num(value: Any) -> str:
    """A whole number in the run's locale (20'000 in Swiss locales, 20.000 in de-DE)."""
    return formats.num(int(value))
