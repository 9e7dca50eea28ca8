"""The client-page audit finds what a partner would not sign."""

from __future__ import annotations

from salesanalytics.engagement.pipeline.audit import audit_page

CLEAN = (
    "<html><head><style>.x_y{}</style></head><body><header class='sa-header'><h1>Territory design"
    "</h1><div>Lea Widmer</div></header><table><thead><tr><th>Rep</th><th>MRR today (CHF)</th>"
    "<th>Rep ID</th></tr></thead><tbody><tr><td>Lea Widmer</td><td>CHF 1'234</td><td>005R01</td>"
    "</tr></tbody></table><p>See territory_plan.xlsx.</p></body></html>"
)


def test_a_clean_page_has_no_problems() -> None:
    assert audit_page(CLEAN, {"005R01"}) == []


def test_code_ids_paths_demo_checks_and_console_boxes_are_found() -> None:
    page = (
        "<html><body><header class='sa-header'><h1>Statement</h1><div>005R01</div></header>"
        "<table><thead><tr><th>current_mrr</th><th>Owner</th></tr></thead><tbody>"
        "<tr><td>True</td><td>005R01</td></tr></tbody></table>"
        "<pre>Findings printed</pre><p>KPI catalogue (salesanalytics/config/kpi_catalogue.yaml)"
        "; Demo check: measured vs planted; role team_lead</p></body></html>"
    )
    problems = audit_page(page, {"005R01"}, "p.html")
    text = "\n".join(problems)
    assert "p.html: column header 'current_mrr' is code, not words" in text
    assert "True in a table cell" in text
    assert "id '005R01' in column 'Owner' (show the name)" in text
    assert "id '005R01' in the title block" in text
    assert "monospace box" in text
    assert "'salesanalytics/'" in text and "'.yaml'" in text
    assert "'Demo check'" in text and "'planted'" in text
    assert "code word in the text: 'team_lead'" in text


def test_the_words_of_an_interactive_map_are_page_text(tmp_path) -> None:
    import json

    from bokeh.embed import json_item
    from bokeh.models import HoverTool
    from bokeh.plotting import figure

    from salesanalytics.engagement.pipeline.audit import english_left, map_words

    fig = figure(title="Proposal: 26 territories")
    fig.patches([[0, 1, 1]], [[0, 0, 1]])
    fig.add_tools(
        HoverTool(tooltips=[("Postleitzahl", "@postal_code"), ("Umsatz", "@v per month")])
    )
    data = json.dumps(json_item(fig))
    words = map_words(data)
    assert "Proposal: 26 territories" in words and "Postleitzahl" in words
    assert any("per month" in w for w in words) and not any("@" in w for w in words)
    assert map_words("{not json") == []
    page = (
        '<html><body><p>Karte</p><script type="application/json" class="sa-imap-data" '
        f'data-target="m1">{data}</script></body></html>'
    )
    (tmp_path / "client").mkdir()
    (tmp_path / "client" / "territory.html").write_text(page, encoding="utf-8")
    left = "\n".join(english_left(tmp_path))
    assert "'territories'" in left and "'per month'" in left
