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
