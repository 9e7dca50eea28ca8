"""Client / analyst HTML and the run index: no code, nothing fetched, no local paths, CRM text escaped."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from salesanalytics.engagement.pipeline.report import (
    analyst_html,
    client_html,
    index_html,
    sanitize_fragment,
    scrub_paths,
)
from salesanalytics.present import style

EVIL = "<script>alert(1)</script>"
EVIL_IMG = "<img src=x onerror=alert(2)>"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _executed_notebook() -> nbformat.NotebookNode:
    df = pd.DataFrame({"account": [f"Bäckerei {EVIL}", EVIL_IMG], "mrr": [1234.5, 99.0]})
    styled = style.table(df, formats={"mrr": "chf"}, caption="Top accounts").to_html()
    params = new_code_cell('run_dir = "."\nn = 3', execution_count=1)
    params.metadata["tags"] = ["parameters"]
    injected = new_code_cell('run_dir = "/home/consultant/reports/x"', execution_count=2)
    injected.metadata["tags"] = ["injected-parameters"]
    return new_notebook(
        cells=[
            new_markdown_cell(
                "# Territory design\n## Findings\nThe **top accounts** carry most revenue. <img src=x onerror=alert(9)>"
            ),
            params,
            injected,
            new_code_cell(
                "SECRET_CODE_MARKER = style.table(df)",
                execution_count=3,
                outputs=[
                    new_output("execute_result", data={"text/html": styled, "text/plain": "x"}),
                    new_output("stream", name="stderr", text="FutureWarning: noise\n"),
                    new_output(
                        "stream", name="stdout", text="read /home/consultant/reports/x/data\n"
                    ),
                ],
            ),
            new_code_cell(
                "display(HTML(...))",
                execution_count=4,
                outputs=[
                    new_output(
                        "display_data",
                        data={
                            "text/html": f"<p>{EVIL} {EVIL_IMG}</p><iframe src='https://x.test'></iframe>",
                            "text/plain": "",
                        },
                    ),
                    new_output(
                        "display_data",
                        data={"text/markdown": f"**{EVIL_IMG}** [link](javascript:alert(3))"},
                    ),
                    new_output(
                        "display_data",
                        data={"application/javascript": "alert(4)", "text/plain": "js"},
                    ),
                    new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
                ],
            ),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


def _client(nb: nbformat.NotebookNode | None = None) -> str:
    return client_html(
        nb or _executed_notebook(),
        client="Muster <b>AG</b>",
        title="Territory design",
        date="26.11.2026",
        params={"n_territories": 45, "tolerance": 0.05, "method": EVIL, "flag": True},
        run_id="20261126-120000",
        phase="territory",
        local_paths=["/home/consultant/reports/x", "/home/consultant"],
    )


def test_client_html_has_no_code_and_no_script() -> None:
    page = _client()
    assert "SECRET_CODE_MARKER" not in page
    assert "run_dir" not in page  # parameter cells are dropped
    assert "FutureWarning" not in page  # stderr noise is not for clients
    assert not re.search(r"<script", page, re.I)
    assert not re.search(r"<[^>]*\son\w+\s*=", page, re.I)  # no event handlers
    assert "javascript:" not in page
    assert "alert(4)" not in page  # javascript outputs dropped
    assert "<iframe" not in page


def test_client_html_is_self_contained_and_has_no_local_paths() -> None:
    page = _client()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "<link" not in page and "@import" not in page
    assert f"data:image/png;base64,{PNG}" in page  # images embedded
    assert "/home/consultant" not in page
    assert "read …/data" in page
    assert "<style>" in page  # inline house style


def test_client_html_title_block_shows_client_title_date_and_parameters() -> None:
    page = _client()
    assert '<div class="sa-client">Muster &lt;b&gt;AG&lt;/b&gt;</div>' in page
    assert "<h1>Territory design</h1>" in page
    assert "26.11.2026" in page
    # parameters in client words (config/parameter_labels.yaml), never raw keys
    assert "<tr><th>Number of territories</th><td>45</td></tr>" in page
    assert (
        "<tr><th>Allowed deviation from target (potential and workload)</th><td>±5%</td></tr>"
        in page
    )
    assert "<tr><th>Flag</th><td>yes</td></tr>" in page
    assert "n_territories" not in page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page


def test_crm_text_is_shown_escaped_as_text() -> None:
    page = _client()
    # style.table escapes: the names appear as text
    assert "Bäckerei &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "CHF 1'234" in page
    # markdown from the notebook author survives sanitising (minus active content)
    assert "<strong>top accounts</strong>" in page
    assert "Findings</h2>" in page
    assert "alert(9)" not in page
    assert "Top accounts" in page


def test_sanitize_fragment_keeps_tables_and_drops_active_content() -> None:
    out = sanitize_fragment(
        "<style>.t{color:red;background:url(https://x.test/a.png)} @import 'https://x.test';</style>"
        '<table class="sa-table"><tr><td style="color: red">1</td></tr></table>'
        f"{EVIL}{EVIL_IMG}<a href='javascript:alert(1)'>x</a><form><input></form>"
        '<img src="https://x.test/p.png"><img src="data:image/png;base64,AAAA">'
    )
    assert "<script" not in out and "onerror" not in out and "javascript" not in out
    assert "x.test" not in out and "<input" not in out
    assert '<td style="color: red;">1</td>' in out
    assert '<img src="data:image/png;base64,AAAA">' in out
    assert out.count("<img") == 1
    assert out.startswith("<style>.t{color:red;background:none} </style>")


def test_scrub_paths_replaces_longest_first() -> None:
    text = "a /home/u/p/run b file:///home/u/p c /home/u"
    assert scrub_paths(text, ["/home/u", "/home/u/p/run", "/home/u/p"]) == "a … b … c …"


def test_analyst_html_keeps_the_code() -> None:
    page = analyst_html(_executed_notebook())
    assert "SECRET_CODE_MARKER" in page


def test_index_links_phases_and_escapes_headlines() -> None:
    page = index_html(
        client="Muster AG",
        run_id="r1",
        date="26.11.2026",
        summary="1 ran, 1 failed",
        version="0.1.0",
        phases=[
            {
                "name": "territory",
                "title": "Territory design",
                "status": "ran",
                "client": "client/territory.html",
                "analyst": "analyst/territory.html",
                "notebook": "analyst/territory.ipynb",
                "headlines": [f"Top account {EVIL}"],
                "entities": [
                    {
                        "title": "Rep cockpits",
                        "items": [{"label": EVIL_IMG, "href": "client/c/r1.html", "error": ""}],
                    }
                ],
                "error": "",
                "note": "ran",
            },
            {
                "name": "churn",
                "title": "Churn",
                "status": "failed",
                "client": "",
                "analyst": "analyst/churn.html",
                "notebook": "",
                "headlines": [],
                "entities": [],
                "error": "phase churn failed in cell 4 (`x = 1/0`): ZeroDivisionError: division by zero",
                "note": "failed",
            },
        ],
    )
    assert 'href="client/territory.html"' in page and 'href="analyst/territory.html"' in page
    assert "Top account &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="client/c/r1.html">&lt;img src=x onerror=alert(2)&gt;</a>' in page
    assert "ZeroDivisionError: division by zero" in page
    assert 'href="client/churn.html"' not in page
    assert "<script" not in page


def _nb(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return new_notebook(
        cells=list(cells),
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


def test_client_version_drops_widgets_reprs_and_demo_checks_and_sets_findings_as_callouts() -> None:
    widget = {
        "application/vnd.jupyter.widget-view+json": {"model_id": "m1"},
        "text/plain": "VBox(children=(FloatSlider(value=1.0),))",
    }
    nb = _nb(
        new_markdown_cell("## 3. Try it yourself\n\nMove the slider."),
        new_code_cell("w", outputs=[new_output("display_data", data=widget)]),
        new_code_cell(
            "fig",
            outputs=[
                new_output(
                    "execute_result",
                    data={"text/plain": "<Figure size 640x480 with 1 Axes>"},
                    execution_count=1,
                )
            ],
        ),
        new_code_cell(
            "print(f)",
            outputs=[
                new_output(
                    "stream",
                    name="stdout",
                    text="Key finding: 152 key accounts.\n\nSecond <b>point</b>.\n",
                )
            ],
        ),
        new_markdown_cell("## 6. Check against the known truth (demo client only)\n\nCorrelation."),
        new_code_cell("t", outputs=[new_output("stream", name="stdout", text="correlation 0.9\n")]),
        new_markdown_cell("### detail under the demo section"),
        new_markdown_cell("## 7. Deliverables"),
        new_code_cell(
            "x",
            outputs=[
                new_output(
                    "display_data",
                    data={
                        "text/html": "<table><caption>Demo check: measured vs planted</caption></table>"
                    },
                )
            ],
        ),
    )
    page = client_html(nb, client="C", title="T", date="d")
    assert "VBox" not in page and "Try it yourself" not in page and "slider" not in page
    assert "<Figure" not in page and "&lt;Figure" not in page
    assert (
        '<div class="sa-callout"><p>Key finding: 152 key accounts.</p><p>Second &lt;b&gt;point&lt;/b&gt;.</p></div>'
        in page
    )
    assert "<pre" not in page
    assert (
        "known truth" not in page and "correlation 0.9" not in page and "detail under" not in page
    )
    assert "7. Deliverables" in page  # the next section is back
    assert "planted" not in page


def test_analyst_version_is_offline_and_has_a_real_title() -> None:
    page = analyst_html(_executed_notebook(), title="Territory design", client="Muster AG")
    assert "<title>Territory design – Muster AG (analyst version)</title>" in page
    assert not re.search(r"<script[^>]*src=[\"']?(https?:)?//", page, re.I)
    assert "cdnjs" not in page and "unpkg" not in page
    assert "SECRET_CODE_MARKER" in page  # the code is there


def test_the_page_title_is_shown_once_even_where_the_notebook_words_it_differently() -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell(
                "# Incentive compensation: today's plan against the new one\n\nIntro."
            ),
            new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
            new_markdown_cell("# A later chapter heading stays"),
        ]
    )
    page = client_html(
        nb, client="C", title="Incentive compensation: current against proposed plan", date="d"
    )
    assert len(re.findall(r"<h1\b", page)) == 2  # the title block's and the later chapter's
    assert "<h1>Incentive compensation: current against proposed plan</h1>" in page
    assert "today's plan against the new one" not in page and "Intro." in page
    assert "A later chapter heading stays" in page


def test_every_phase_parameter_has_a_client_label_and_format() -> None:
    import yaml

    from salesanalytics.engagement.phases import all_phases
    from salesanalytics.engagement.pipeline.report import param_rows

    labels = yaml.safe_load(
        (
            Path(__file__).resolve().parents[3] / "salesanalytics/config/parameter_labels.yaml"
        ).read_text(encoding="utf-8")
    )
    missing = [
        f"{p.name}.{n}"
        for p in all_phases()
        for n in p.params.model_fields
        if n not in (labels.get(p.name) or {})
    ]
    assert missing == [], f"add these to config/parameter_labels.yaml: {missing}"
    rows = dict(param_rows("channels", {"hybrid_band": 0.15, "prior_deals": 20.0}))
    assert rows == {
        "Online with tele follow-up when tele earns within": "15% of online",
        "Weight of the product group's figures in a thin cell": "20 deals",
    }
