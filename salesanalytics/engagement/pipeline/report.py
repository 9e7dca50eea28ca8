"""HTML reports: client version, analyst version and the run's ``index.html``.

The client version has no code, the house style, is self-contained and sanitised; the analyst
version shows the code.

The client version is rendered with nbconvert's ``basic`` template (body only) and wrapped in our own
page with inline CSS. It embeds images as data URIs and is sanitised with bleach (defence in depth:
notebooks already escape CRM text through ``style.table``); a Content-Security-Policy forbids the
browser to fetch anything. No script of a notebook ever reaches the page: the only scripts are the
project's own, for interactive maps (:mod:`salesanalytics.present.interactive_map`): the inlined Bokeh
library and the embed script, each allowed by its SHA-256 hash in the policy, and the maps' data
as inert JSON blocks (``<`` escaped, so CRM text cannot end the block).
"""

from __future__ import annotations

import base64
import copy
import html
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
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

from salesanalytics.engagement.pipeline.consistency import alert_lines
from salesanalytics.present import i18n
from salesanalytics.present.i18n import gettext as _

__all__ = [
    "TEMPLATES",
    "analyst_html",
    "client_body",
    "client_html",
    "index_html",
    "page_scripts",
    "param_rows",
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
_CLIENT_DROP_TAGS = {
    "parameters",
    "injected-parameters",
    "remove-cell",
    "remove_cell",
    "hide",
    "analyst-only",
}
_ANALYST_ONLY = re.compile(
    r"demo check|planted|known truth|truth(?:_accounts)?\.(?:json|parquet)|demo client only", re.I
)
"""Text that belongs to the analyst version only: checks against the demo's planted truths. A
Markdown section whose heading matches is left out of the client version with everything under
it; any other Markdown cell or output that matches is left out on its own."""
_HEADING = re.compile(r"^\s*(#{1,6})\s", re.M)
MAP_MIME = "application/vnd.salesanalytics.bokeh+json"
"""Output type of an interactive map (:data:`salesanalytics.present.interactive_map.MIME_TYPE`)."""
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


def _is_widget(out: Any) -> bool:
    data = out.get("data") or {}
    return any("widget" in k for k in data)


def _is_repr_only(out: Any) -> bool:
    """An output that is nothing but a Python object's repr: code, not a result.

    For example ``<Figure size ...>`` or a widget's ``VBox(children=...)``.
    """
    data = out.get("data")
    return out.get("output_type") in {"execute_result", "display_data"} and set(data or {}) <= {
        "text/plain"
    }


def _output_text(out: Any) -> str:
    """The text of an output (stream text, HTML, Markdown, plain text; not images)."""
    if out.get("output_type") == "stream":
        t = out.get("text", "")
        return t if isinstance(t, str) else "".join(t)
    data = out.get("data") or {}
    parts = [data.get(k, "") for k in ("text/html", "text/markdown", "text/plain")]
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def _callout(text: str) -> str:
    """Printed text (a finding written with ``print``) as a callout in the house style.

    Paragraphs at blank lines, lines starting with ``-`` or ``•`` as a list.
    """
    parts = []
    for para in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip() for ln in para.splitlines() if ln.strip()]
        if not lines:
            continue
        if all(ln[:1] in "-•*" for ln in lines):
            items = "".join(f"<li>{html.escape(ln[1:].strip())}</li>" for ln in lines)
            parts.append(f"<ul>{items}</ul>")
        else:
            parts.append("<p>" + "<br>".join(html.escape(ln) for ln in lines) + "</p>")
    return '<div class="sa-callout">' + "".join(parts) + "</div>"


def _drop_repeated_title(src_cells: list[Any], title: str) -> None:
    """Remove the notebook's own title heading: the page's title block shows the phase's title.

    One source, ``PhaseSpec.title``, which the notebook's heading repeats (a test checks it).
    """
    first = next((c for c in src_cells if c.cell_type == "markdown"), None)
    if first is not None and title and src_cells.index(first) < 2:
        text = first.source if isinstance(first.source, str) else "".join(first.source)
        if re.match(r"#\s+\S", text):
            first.source = text.split("\n", 1)[1] if "\n" in text else ""


def _map_html(out: Any, maps: list[dict[str, Any]], token: str) -> str:
    """An interactive map's place in the page.

    The live map (drawn by the embed script from the data block that replaces the marker) and its
    static image for print.
    """
    data = out.get("data") or {}
    payload = data.get(MAP_MIME) or {}
    if isinstance(payload, str):
        payload = json.loads(payload)
    n = len(maps) + 1
    target = f"sa-imap-{n}"
    maps.append({"target": target, "item": payload.get("item") or {}})
    alt = html.escape(str(payload.get("alt") or "map"))
    png = data.get("image/png")
    png = png if isinstance(png, str) or png is None else "".join(png)
    img = (
        f'<img class="sa-imap-print" src="data:image/png;base64,{png.strip()}" alt="{alt}">'
        if png and re.fullmatch(r"[A-Za-z0-9+/=\s]+", png)
        else ""
    )
    return (
        f'<figure class="sa-imap"><div class="sa-imap-live" id="{target}" role="img" '
        f'aria-label="{alt}"></div><!--{token}-{n}-->{img}</figure>'
    )


def _map_block(entry: dict[str, Any]) -> str:
    """The inert JSON block of one map (``<``, ``>`` and ``&`` escaped)."""
    text = json.dumps(entry["item"], ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (
        f'<script type="application/json" class="sa-imap-data" '
        f'data-target="{entry["target"]}">{text}</script>'
    )


def _client_notebook(
    nb: Any, title: str = "", maps: list[dict[str, Any]] | None = None, token: str = ""
) -> Any:
    """A copy of ``nb`` prepared for the client.

    No parameter cells, no stderr, no errors, no interactive widgets (nor the text introducing them)
    and no object reprs; printed findings become callouts; interactive maps become placeholders
    (their data collected in ``maps``).
    """
    nb = copy.deepcopy(nb)
    cells = []
    src_cells = list(nb.cells)
    drop_intro = _interactive_intros(src_cells)
    _drop_repeated_title(src_cells, title)
    for cell, tags in _client_cells(src_cells, drop_intro):
        if cell.cell_type == "markdown":
            cells.append(_markdown_as_output(cell))
            continue
        if cell.cell_type == "code":
            if "remove-output" in tags or "remove_output" in tags:
                cell.outputs = []
            kept = (_client_output(out, maps, token) for out in cell.get("outputs", []))
            cell.outputs = [out for out in kept if out is not None]
            if not cell.outputs:
                continue
        cells.append(cell)
    nb.cells = cells
    return nb


def _cell_text(cell: Any) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _interactive_intros(src_cells: Sequence[Any]) -> set[int]:
    """Markdown cells introducing an interactive part ("Try it yourself"): they go with it."""
    return {
        i - 1
        for i, c in enumerate(src_cells)
        if c.cell_type == "code"
        and c.get("outputs")
        and any(_is_widget(o) for o in c.outputs)
        and all(_is_widget(o) or o.output_type == "stream" for o in c.outputs)
        and i > 0
        and src_cells[i - 1].cell_type == "markdown"
    }


def _client_cells(src_cells: Sequence[Any], drop_intro: set[int]) -> Iterator[tuple[Any, set[str]]]:
    """The cells a client sees, with their tags.

    Analyst-only sections (to the next heading of the same level or higher) and cells, the
    introductions of interactive parts, cells tagged for the analyst and raw cells are left out.
    """
    skip_level = 0  # inside an analyst-only section of this heading level
    for i, cell in enumerate(src_cells):
        text = _cell_text(cell) if cell.cell_type == "markdown" else ""
        if cell.cell_type == "markdown":
            head = _HEADING.match(text)
            if head and skip_level and len(head.group(1)) <= skip_level:
                skip_level = 0
            if head and _ANALYST_ONLY.search(text.splitlines()[0] if text else ""):
                skip_level = len(head.group(1))
        if skip_level or i in drop_intro or cell.cell_type == "raw":
            continue
        if cell.cell_type == "markdown" and _ANALYST_ONLY.search(text):
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if not tags & _CLIENT_DROP_TAGS:
            yield cell, tags


def _markdown_as_output(cell: Any) -> Any:
    """A Markdown cell as a code cell showing it rendered and sanitised like an HTML output.

    Attachments are not embedded; the cell keeps the Markdown cell's id (not a random one: same
    input, same report).
    """
    html_text = _markdown_cell_html(cell.source)
    md_id = cell.get("id")
    out = nbformat.v4.new_code_cell(
        "", outputs=[nbformat.v4.new_output("display_data", data={"text/html": html_text})]
    )
    if md_id:
        out.id = md_id
    return out


def _client_output(out: Any, maps: list[dict[str, Any]] | None, token: str) -> Any | None:
    """One output as the client sees it, or None when it is left out."""
    if out.output_type == "error":
        return None
    if out.output_type == "stream" and out.get("name") == "stderr":
        return None
    if _is_widget(out) or _is_repr_only(out) or _ANALYST_ONLY.search(_output_text(out)):
        return None
    if out.output_type == "stream":
        text = out.get("text", "")
        text = text if isinstance(text, str) else "".join(text)
        if not text.strip():
            return None
        return nbformat.v4.new_output("display_data", data={"text/html": _callout(text)})
    data = out.get("data")
    if data is None:
        return out
    if MAP_MIME in data and maps is not None:
        h = _map_html(out, maps, token)
        return nbformat.v4.new_output("display_data", data={"text/html": h})
    return out if _client_data(data) else None


def _client_data(data: Any) -> bool:
    """Reduce an output's data (in place) to what a client page shows; False when none is left.

    No map payloads, scripts or widget state; an SVG chart becomes an image, Markdown and HTML
    are rendered and sanitised.
    """
    data.pop(MAP_MIME, None)
    for key in [k for k in data if "javascript" in k or "widget" in k]:
        del data[key]
    own_html = _svg_as_image(data)
    md = data.pop("text/markdown", None)
    if md is not None and "text/html" not in data:
        data["text/html"] = _markdown(md if isinstance(md, str) else "".join(md))
    if "text/html" in data and not own_html:
        h = data["text/html"]
        data["text/html"] = sanitize_fragment(h if isinstance(h, str) else "".join(h))
        data.pop("text/latex", None)
    return bool(data)


def _svg_as_image(data: Any) -> bool:
    """An SVG chart (the output's only image) as an ``<img>`` in ``text/html``; True if done.

    An image of our own making (base64 cannot break out of the attribute): sanitising its long
    data URI would cost more than drawing the chart.
    """
    svg = data.pop("image/svg+xml", None)
    if svg is None or any(k.startswith("image/") for k in data):
        return False
    raw = svg if isinstance(svg, str) else "".join(svg)
    b64 = base64.b64encode(raw.encode("utf-8")).decode("ascii")
    data.pop("text/html", None)
    data["text/html"] = f'<img src="data:image/svg+xml;base64,{b64}" alt="chart">'
    return True


@lru_cache(maxsize=256)
def _markdown_cell_html(source: str) -> str:
    """A Markdown cell rendered and sanitised (cached).

    Per-entity reports repeat their template's Markdown cells for every entity.
    """
    return sanitize_fragment(_markdown(source))


_local = threading.local()


class _BodyExporter(HTMLExporter):
    """``HTMLExporter`` without its BeautifulSoup pass over the whole page.

    That pass (alt texts, tab indices) costs more than the rendering itself on pages with embedded
    charts.
    """

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
        """No schema validation after each preprocessor.

        The notebooks come straight from the kernel (and ``_client_notebook``), and validating them
        cost a fifth of an export.
        """


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


def client_body(nb: Any, title: str = "") -> str:
    """The HTML body of the client version of an executed notebook (no code).

    Every HTML or Markdown output is sanitised (:func:`sanitize_fragment`); text outputs are
    escaped by nbconvert; images are embedded as data URIs; Markdown cells (written by the
    notebook's author, not from the CRM) are rendered as they are, minus any ``<script>``. An
    interactive map becomes a placeholder, its static image and its data as an inert JSON block
    (``<script type="application/json" class="sa-imap-data">``), inserted after every script
    of the notebook was removed.
    """
    maps: list[dict[str, Any]] = []
    token = "sa-imap-" + secrets.token_hex(8)  # unguessable: notebook text cannot forge it
    body, _ = _exporter("client").from_notebook_node(_client_notebook(nb, title, maps, token))
    body = _SCRIPT.sub("", body)
    for n, entry in enumerate(maps, start=1):
        body = body.replace(f"<!--{token}-{n}-->", _map_block(entry), 1)
    return body


def page_scripts(body: str) -> list[str]:
    """The project's own scripts a client page needs.

    The Bokeh library and the embed script when the body holds an interactive map, else none.
    """
    if 'class="sa-imap-data"' not in body:
        return []
    from salesanalytics.present.interactive_map import EMBED_SCRIPT, bokeh_script

    return [bokeh_script(), EMBED_SCRIPT]


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    """The page templates' environment.

    ``_()`` in a template is :func:`salesanalytics.present.i18n.gettext` (the run's language).
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["_"] = i18n.gettext
    return env


@lru_cache(maxsize=1)
def _css() -> str:
    return (TEMPLATES / "client.css").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _param_labels() -> dict[str, Any]:
    from importlib import resources

    import yaml

    text = (
        resources.files("salesanalytics")
        .joinpath("config/parameter_labels.yaml")
        .read_text(encoding="utf-8")
    )
    return yaml.safe_load(text) or {}


def _swiss(x: float, decimals: int = 2) -> str:
    """A number in the run's locale with the decimals it needs (at most ``decimals``)."""
    from salesanalytics.present.formats import plain

    return plain(x, decimals)


def _plan_title(value: str) -> str:
    try:
        from salesanalytics.analyses.compensation.plan import load_plan

        if "/" not in value and "\\" not in value:
            return _(str(load_plan(value).name))
    except Exception:  # an unknown plan is shown by its file name
        pass
    return Path(value).stem


def _chf_text(value: Any) -> str:
    from salesanalytics.present.formats import money

    return money(float(value))


def _share_text(value: Any, sign: str = "") -> str:
    from salesanalytics.present.formats import plain_pct

    return sign + plain_pct(float(value))


# a parameter's value by its ``format`` in parameter_labels.yaml (words in the run's language)
_VALUE_FORMATS: dict[str, Callable[[Any], str]] = {
    "share": _share_text,
    "plusminus": lambda v: _share_text(v, "±"),
    "top": lambda v: _("top {share}").format(share=_share_text(1 - float(v))),
    "months": lambda v: _("{n} months").format(n=_swiss(float(v))),
    "days": lambda v: _("{n} days").format(n=_swiss(float(v))),
    "hours": lambda v: f"{_swiss(float(v), 0)} h",
    "kmh": lambda v: f"{_swiss(float(v))} km/h",
    "chf": _chf_text,
    "factor": lambda v: f"×{_swiss(float(v))}",
    "plan": lambda v: _plan_title(str(v)),
    "file": lambda v: Path(str(v)).name,
    "text": str,
}


def _param_value(value: Any, spec: Mapping[str, Any]) -> str:
    word = _value_word(value, spec)
    if word is not None:
        return word
    fmt = spec.get("format", "")
    if fmt == "list" and isinstance(value, list | tuple):
        text = _list_text(value, bool(spec.get("signed")))
    else:
        by_format = _VALUE_FORMATS.get(fmt)
        text = by_format(value) if by_format is not None else _param_text(value)
    prefix, suffix = spec.get("prefix", ""), spec.get("suffix", "")
    return f"{_(prefix) if prefix else ''}{text}{_(suffix) if suffix else ''}"


def _value_word(value: Any, spec: Mapping[str, Any]) -> str | None:
    """A value shown as a word: empty, a zero with a word of its own, yes/no; else None."""
    if value is None or value == "" or value == []:
        return _(str(spec.get("empty", "–")))
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        if "zero" in spec:
            return _(str(spec["zero"]))
    if spec.get("format", "") == "yesno" or isinstance(value, bool):
        return _("yes") if value else _("no")
    return None


def _list_text(values: list[Any] | tuple[Any, ...], signed: bool) -> str:
    return ", ".join(
        (f"{v:+g}" if signed else _swiss(float(v))) if isinstance(v, int | float) else str(v)
        for v in values
    )


def param_rows(phase: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The parameter block of a client report: (label, formatted value) per parameter.

    Labels and formats come from ``config/parameter_labels.yaml`` (``Number of territories: one
    per active field rep``, ``Key-account criterion: potential: top 2% of potential``);
    parameters it does not list are shown with their name in words
    (:func:`salesanalytics.present.style.label`) and a plain value; ``format: hide`` leaves one out.
    """
    from salesanalytics.present.style import label

    specs = _param_labels().get(phase) or {}
    rows = []
    for key, value in params.items():
        spec = specs.get(key) or {}
        if spec.get("format") == "hide":
            continue
        name = _(str(spec["label"])) if spec.get("label") else label(key)
        rows.append((name, _param_value(value, spec)))
    return rows


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _swiss(float(value))  # the run's grouping, no trailing zeros (20.0 -> 20)
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
    phase: str = "",
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
    phase
        The phase's name: its parameters are shown with the labels and formats of
        :func:`param_rows`.
    """
    from salesanalytics.present.interactive_map import script_hash

    body = client_body(nb, title)
    scripts = page_scripts(body)
    page = (
        _env()
        .get_template("client_page.html.j2")
        .render(
            scripts=scripts,
            script_src=" ".join(script_hash(x) for x in scripts),
            css=_css(),
            client=client,
            title=title,
            subtitle=subtitle,
            date=date,
            params=param_rows(phase, params or {}),
            body=body,
            run_id=run_id,
            lang=lang,
        )
    )
    return scrub_paths(page, local_paths)


def warm_up() -> None:
    """Create this thread's exporters and load the page template and style sheet.

    That is what the first export of a run would otherwise pay for.
    """
    _exporter("client")
    _exporter("analyst")
    _env().get_template("client_page.html.j2")
    _css()
    _cleaner()


_REMOTE_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?(https?:)?//[^>]*>\s*</script\s*>", re.I | re.S
)
_REMOTE_MODULE = re.compile(
    r"<script\b[^>]*>(?:(?!</script).)*?import\b[^;]*?[\"'](https?:)?//(?:(?!</script).)*</script\s*>",
    re.I | re.S,
)
_TITLE = re.compile(r"<title>.*?</title>", re.S | re.I)


def analyst_html(nb: Any, title: str = "", client: str = "") -> str:
    """The analyst version (code, outputs and errors) of an executed notebook (nbconvert ``lab``).

    Offline like the client version: scripts loaded from the web (require.js, MathJax, mermaid,
    widget managers) are removed, so the page fetches nothing; charts are embedded images and
    tables HTML, which need none of them. The page title names the phase and the client.
    """
    body, _ = _exporter("analyst").from_notebook_node(nb)
    body = _REMOTE_MODULE.sub("", _REMOTE_SCRIPT.sub("", body))
    if title:
        full = f"{title} – {client} (analyst version)" if client else f"{title} (analyst version)"
        body = _TITLE.sub(f"<title>{html.escape(full)}</title>", body, count=1)
    return body


def index_html(
    *,
    client: str,
    run_id: str,
    date: str,
    summary: str,
    phases: Sequence[Mapping[str, Any]],
    version: str,
    consistency: Mapping[str, Any] | None = None,
    distribution: bool = False,
    coverage: Sequence[Mapping[str, Any]] = (),
    lang: str = "en",
) -> str:
    """The run's ``index.html``.

    Parameters
    ----------
    phases
        One mapping per phase with keys ``name``, ``title``, ``status``, ``client``, ``analyst``,
        ``notebook`` (relative links or empty), ``headlines`` (list of text), ``entities`` (list of
        ``{"title", "items": [{"label", "href", "error"}]}``), ``error`` and ``note``. All text is
        escaped.
    consistency
        Result of :func:`salesanalytics.engagement.pipeline.consistency.check_run`; figures that disagree
        between phases are listed at the top of the page.
    distribution
        Whether ``distribution/index.html`` (personal reports per recipient) exists; the
        per-entity pages are listed in the project team's part of the page, not in the client's
        table of contents.
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
            # the answer first: the executive summary opens the table of contents
            phases=sorted(phases, key=lambda p: p.get("name") != "summary"),
            version=version,
            consistency=consistency or {},
            alerts=alert_lines(consistency or {}, {p["name"]: p["title"] for p in phases}),
            distribution=distribution,
            coverage=coverage,
            lang=lang,
        )
    )
