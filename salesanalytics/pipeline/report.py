"""HTML reports: client version (no code, house style, self-contained, sanitised), analyst version
(with code) and the run's ``index.html``.

The client version is rendered with nbconvert's ``basic`` template (body only) and wrapped in our own
page with inline CSS. It contains no ``<script>`` at all, embeds images as data URIs, and is sanitised
with bleach (defence in depth: notebooks already escape CRM text through ``style.table``); a
Content-Security-Policy forbids the browser to fetch or run anything.
"""

from __future__ import annotations

import base64
import copy
import html
import re
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import bleach
import jinja2
import nbformat
from bleach.css_sanitizer import ALLOWED_CSS_PROPERTIES, CSSSanitizer
from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

__all__ = [
    "TEMPLATES",
    "analyst_html",
    "client_body",
    "client_html",
    "index_html",
    "sanitize_fragment",
    "scrub_paths",
    "warm_up",
]

TEMPLATES = Path(__file__).with_name("templates")

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRS = {
    "*": ["class", "id", "title", "style", "align"],
    "a": ["href", "title", "class", "id"],
    "img": ["src", "alt", "width", "height", "class", "style"],
    "td": ["colspan", "rowspan", "class", "id", "style", "align"],
    "th": ["colspan", "rowspan", "class", "id", "style", "align", "scope"],
    "col": ["span", "style"],
    "ol": ["start", "type", "class"],
}
_SCRIPT = re.compile(r"<script\b.*?(</script\s*>|$)", re.S | re.I)
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style\s*>", re.S | re.I)
_CLIENT_DROP_TAGS = {"parameters", "injected-parameters", "remove-cell", "remove_cell", "hide"}
_lock = threading.Lock()


def _attr_filter(tag: str, name: str, value: str) -> bool:
    allowed = _ALLOWED_ATTRS.get(tag, _ALLOWED_ATTRS["*"])
    if name not in allowed:
        return False
    if name == "src":
        return value.startswith("data:image/")
    if name == "href":
        return value.startswith(("#", "http://", "https://", "mailto:")) or not re.match(
            r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value
        )
    return True


@lru_cache(maxsize=1)
def _cleaner() -> bleach.Cleaner:
    return bleach.Cleaner(
        tags=_ALLOWED_TAGS,
        attributes=_attr_filter,
        protocols={"http", "https", "mailto", "data"},
        strip=True,
        strip_comments=True,
        css_sanitizer=CSSSanitizer(allowed_css_properties=ALLOWED_CSS_PROPERTIES),
    )


def _scrub_css(css: str) -> str:
    css = re.sub(r"@import[^;]*;?", "", css, flags=re.I)
    css = re.sub(r"url\s*\([^)]*\)", "none", css, flags=re.I)
    css = re.sub(r"expression\s*\(", "(", css, flags=re.I)
    return css.replace("<", "").replace(">", " ")


def sanitize_fragment(fragment: str) -> str:
    """Sanitise an HTML fragment for the client report.

    Keeps text formatting, tables and data-URI images; removes scripts, event handlers, forms,
    iframes, external images and anything else; ``<style>`` blocks are kept without ``url()`` or
    ``@import`` (nothing can be fetched).
    """
    styles = [_scrub_css(m) for m in _STYLE_BLOCK.findall(fragment)]
    rest = _STYLE_BLOCK.sub("", fragment)
    with _lock:
        cleaned = _cleaner().clean(rest)
    cleaned = re.sub(r"<img(?![^>]*\bsrc=)[^>]*>", "", cleaned)
    return "".join(f"<style>{s}</style>" for s in styles if s.strip()) + cleaned


def scrub_paths(text: str, paths: Sequence[str | Path]) -> str:
    """Replace each absolute local path in ``paths`` (and its ``file://`` form) by ``…``."""
    for p in sorted({str(x) for x in paths if str(x) not in {"", "/", "."}}, key=len, reverse=True):
        for form in (p, html.escape(p)):
            text = text.replace("file://" + form, "…").replace(form, "…")
    return text


def _client_notebook(nb: Any) -> Any:
    """A copy of ``nb`` prepared for the client: no parameter cells, no stderr, no errors."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & _CLIENT_DROP_TAGS:
            continue
        if cell.cell_type == "raw":
            continue
        if cell.cell_type == "markdown":
            # rendered and sanitised like an HTML output (attachments are not embedded)
            html_text = _markdown_cell_html(cell.source)
            md_id = cell.get("id")
            cell = nbformat.v4.new_code_cell(
                "", outputs=[nbformat.v4.new_output("display_data", data={"text/html": html_text})]
            )
            if md_id:  # the markdown cell's own id, not a random one: same input, same report
                cell.id = md_id
            cells.append(cell)
            continue
        if cell.cell_type == "code":
            if "remove-output" in tags or "remove_output" in tags:
                cell.outputs = []
            outs = []
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    continue
                if out.output_type == "stream" and out.get("name") == "stderr":
                    continue
                data = out.get("data")
                if data is not None:
                    for key in [k for k in data if "javascript" in k or "widget" in k]:
                        del data[key]
                    svg = data.pop("image/svg+xml", None)
                    own_html = False
                    if svg is not None and not any(k.startswith("image/") for k in data):
                        # an image of our own making (base64 cannot break out of the attribute):
                        # sanitising its long data URI would cost more than drawing the chart
                        raw = svg if isinstance(svg, str) else "".join(svg)
                        b64 = base64.b64encode(raw.encode("utf-8")).decode("ascii")
                        data.pop("text/html", None)
                        data["text/html"] = (
                            f'<img src="data:image/svg+xml;base64,{b64}" alt="chart">'
                        )
                        own_html = True
                    md = data.pop("text/markdown", None)
                    if md is not None and "text/html" not in data:
                        data["text/html"] = _markdown(md if isinstance(md, str) else "".join(md))
                    if "text/html" in data and not own_html:
                        h = data["text/html"]
                        data["text/html"] = sanitize_fragment(
                            h if isinstance(h, str) else "".join(h)
                        )
                        data.pop("text/latex", None)
                    if not data:
                        continue
                outs.append(out)
            cell.outputs = outs
            if not outs:
                continue
        cells.append(cell)
    nb.cells = cells
    return nb


@lru_cache(maxsize=256)
def _markdown_cell_html(source: str) -> str:
    """A Markdown cell rendered and sanitised (cached: per-entity reports repeat their template's
    Markdown cells for every entity)."""
    return sanitize_fragment(_markdown(source))


_local = threading.local()


class _BodyExporter(HTMLExporter):
    """``HTMLExporter`` without its BeautifulSoup pass over the whole page (alt texts, tab
    indices), which costs more than the rendering itself on pages with embedded charts."""

    def from_notebook_node(  # type: ignore[override]
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        resources = self._init_resources(resources)
        self.register_filter(
            "highlight_code", Highlight2HTML(pygments_lexer="ipython3", parent=self)
        )
        self.register_filter(
            "filter_data_type",
            WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            ),
        )
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    def _validate_preprocessor(self, nbc: Any, preprocessor: Any) -> None:
        """No schema validation after each preprocessor: the notebooks come straight from the
        kernel (and ``_client_notebook``), and validating them cost a fifth of an export."""


def _exporter(kind: str) -> HTMLExporter:
    """One reusable exporter per thread and kind."""
    key = f"exp_{kind}"
    exp = getattr(_local, key, None)
    if exp is None:
        if kind == "client":
            exp = _BodyExporter(
                template_name="basic",
                exclude_input=True,
                exclude_input_prompt=True,
                exclude_output_prompt=True,
                anchor_link_text="",
            )
        else:
            exp = _BodyExporter(template_name="lab", embed_images=True)
        setattr(_local, key, exp)
    return exp


_ANCHOR = re.compile(r'<a class="anchor-link"[^>]*?(/>|>.*?</a>)', re.S)


def _markdown(text: str) -> str:
    return _ANCHOR.sub("", _exporter("client").markdown2html({}, text))


def client_body(nb: Any) -> str:
    """The HTML body of the client version of an executed notebook (no code).

    Every HTML or Markdown output is sanitised (:func:`sanitize_fragment`); text outputs are
    escaped by nbconvert; images are embedded as data URIs; Markdown cells (written by the
    notebook's author, not from the CRM) are rendered as they are, minus any ``<script>``.
    """
    body, _ = _exporter("client").from_notebook_node(_client_notebook(nb))
    return _SCRIPT.sub("", body)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=1)
def _css() -> str:
    return (TEMPLATES / "client.css").read_text(encoding="utf-8")


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and not isinstance(value, bool):
        s = f"{value:,}".replace(",", "'")
        return s
    if isinstance(value, list | tuple):
        return ", ".join(_param_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_param_text(v)}" for k, v in value.items())
    return "–" if value is None else str(value)


def client_html(
    nb: Any,
    *,
    client: str,
    title: str,
    date: str,
    params: Mapping[str, Any] | None = None,
    run_id: str = "",
    subtitle: str = "",
    local_paths: Sequence[str | Path] = (),
    lang: str = "en",
) -> str:
    """The self-contained client report of an executed notebook.

    Parameters
    ----------
    nb
        Executed notebook (nbformat node).
    client, title, date
        Title block: client name, phase title and date (already formatted).
    params
        Parameters that shaped the result (shown in the title block); values are shown as text.
    run_id, subtitle
        Shown in the footer / under the title.
    local_paths
        Absolute local paths to remove from the page (run folder, project folder, home).
    """
    body = client_body(nb)
    page = (
        _env()
        .get_template("client_page.html.j2")
        .render(
            css=_css(),
            client=client,
            title=title,
            subtitle=subtitle,
            date=date,
            params=[(k, _param_text(v)) for k, v in (params or {}).items()],
            body=body,
            run_id=run_id,
            lang=lang,
        )
    )
    return scrub_paths(page, local_paths)


def warm_up() -> None:
    """Create this thread's exporters and load the page template and style sheet (what the first
    export of a run would otherwise pay for)."""
    _exporter("client")
    _exporter("analyst")
    _env().get_template("client_page.html.j2")
    _css()
    _cleaner()


def analyst_html(nb: Any) -> str:
    """The analyst version (code, outputs and errors) of an executed notebook (nbconvert ``lab``)."""
    body, _ = _exporter("analyst").from_notebook_node(nb)
    return body


def index_html(
    *,
    client: str,
    run_id: str,
    date: str,
    summary: str,
    phases: Sequence[Mapping[str, Any]],
    version: str,
    coverage: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The run's ``index.html``.

    Parameters
    ----------
    phases
        One mapping per phase with keys ``name``, ``title``, ``status``, ``client``, ``analyst``,
        ``notebook`` (relative links or empty), ``headlines`` (list of text), ``entities`` (list of
        ``{"title", "items": [{"label", "href", "error"}]}``), ``error`` and ``note``. All text is
        escaped.
    coverage
        The coverage matrix: rows with ``phase`` (title, empty on analysis rows), ``analysis``,
        ``status`` and ``detail``.
    """
    return (
        _env()
        .get_template("index.html.j2")
        .render(
            css=_css(),
            client=client,
            run_id=run_id,
            date=date,
            summary=summary,
            phases=phases,
            version=version,
            coverage=coverage,
        )
    )
