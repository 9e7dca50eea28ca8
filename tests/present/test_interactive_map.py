"""Interactive maps: data, the client page's scripts under its content-security policy, and a
real browser (headless Chromium, network off) hovering a postal code."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import shapely
from browser import DEEP_TEXT_JS, chromium_driver, hover_at

from salesanalytics.engagement.pipeline.report import client_html
from salesanalytics.present import interactive_map as im

UNITS = pd.DataFrame(
    {
        "postal_code": ["8001", "8002", "8003", "8004", "3011", "3012"],
        "territory_id": ["T01"] * 4 + ["T02"] * 2,
        "potential_mrr": [100.0, 200, 300, 400, 500, 600],
        "workload_hours": [10.0, 20, 30, 40, 50, 60],
        "n_accounts": [1, 2, 3, 4, 5, 6],
    }
)
TERRITORIES = pd.DataFrame(
    {
        "territory_id": ["T01", "T02", "key_accounts", "key_accounts"],
        "rep_name": ["Anna <b>Muster</b>", "Beat Frei", "Kim Key", "Lou Key"],
        "dev_potential_mrr": [0.02, -0.03, np.nan, np.nan],
        "dev_workload_hours": [0.01, -0.015, np.nan, np.nan],
    }
)


@pytest.fixture(scope="module")
def tmap() -> im.InteractiveMap:
    pc = im.postal_code_table(UNITS, TERRITORIES)
    return im.territory_map(pc, TERRITORIES, "Proposed territories")


def _page(m: im.InteractiveMap) -> str:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(m)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=m._repr_mimebundle_())]
    nb.cells = [nbformat.v4.new_markdown_cell("## The map"), cell]
    return client_html(nb, client="Client AG", title="Territory design", date="7 Dec 2026")


def test_postal_code_table_sums_units_and_takes_the_main_territory() -> None:
    units = pd.DataFrame(
        {
            "postal_code": ["8001", "8001", "8001", "3011"],
            "territory_id": ["T01", "T02", "T02", "T02"],
            "potential_mrr": [100.0, 10.0, 20.0, 5.0],
            "workload_hours": [10.0, 1.0, 1.0, 1.0],
            "n_accounts": [3, 1, 1, 2],
        }
    )
    out = im.postal_code_table(units, TERRITORIES).set_index("postal_code")
    assert out.loc["8001", "territory_id"] == "T01"
    assert out.loc["8001", "potential_mrr"] == pytest.approx(130.0)
    assert out.loc["8001", "n_accounts"] == 5
    assert out.loc["3011", "rep_name"] == "Beat Frei"


def test_territory_map_needs_its_columns() -> None:
    with pytest.raises(KeyError, match=r"table 'units' lacks column\(s\) \['rep_name'"):
        im.territory_map(UNITS, TERRITORIES)


def test_map_output_carries_data_and_a_static_image(tmap: im.InteractiveMap) -> None:
    bundle = tmap._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.dumps(bundle[im.MIME_TYPE])
    assert "8004" in doc and "Anna <b>Muster</b>" in doc  # text, escaped by the page
    assert "T01 \\u00b7 Anna" in doc or "T01 · Anna" in doc


def test_client_page_allows_exactly_its_own_scripts(tmap: im.InteractiveMap) -> None:
    page = _page(tmap)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    csp = csp.replace("&#39;", "'")
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1]
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 2 and scripts[1] == im.EMBED_SCRIPT
    hashes = re.findall(r"'sha256-([^']+)'", csp)
    assert sorted(hashes) == sorted(
        base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts
    )
    data = re.findall(
        r'<script type="application/json" class="sa-imap-data"[^>]*>(.*?)</script>', page, re.S
    )
    assert len(data) == 1 and "<" not in data[0]  # CRM text cannot end the block
    assert json.loads(data[0])["doc"]
    assert 'class="sa-imap-print" src="data:image/png;base64,' in page


def test_a_page_without_map_has_no_script() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("No map <script>alert(1)</script>")]
    page = client_html(nb, client="C", title="T", date="d")
    assert "<script" not in page and "script-src" not in page


def test_a_notebook_cannot_forge_a_map_block() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    forged = '<script type="application/json" class="sa-imap-data" data-target="x">{}</script>'
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": forged + "<!--sa-imap-1-->"})
    ]
    nb.cells = [cell]
    page = client_html(nb, client="C", title="T", date="d")
    assert "sa-imap-data" not in page and "<script" not in page


def _centre(code: str) -> tuple[float, float]:
    shp = im._shapes()
    row = shp[shp["postal_code"] == code].iloc[0]
    pt = shapely.Polygon(np.column_stack([row["x"], row["y"]])).representative_point()
    return float(pt.x), float(pt.y)


def test_map_in_chromium_offline_shows_the_tooltip(tmp_path: Path, tmap: im.InteractiveMap) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    page = tmp_path / "territory.html"
    page.write_text(_page(tmap), encoding="utf-8")
    with chromium_driver(tmp_path) as drv:
        drv.get(page.as_uri())
        wait = WebDriverWait(drv, 120)
        wait.until(
            lambda d: d.execute_script(
                "return !!(window.Bokeh && [...Bokeh.index.roots].some(v => v.frame))"
            )
        )
        drv.execute_script("document.getElementById('sa-imap-1').scrollIntoView()")
        cx, cy = _centre("8004")
        x, y = drv.execute_script(
            """const pv = [...Bokeh.index.roots].find(v => v.frame);
            const r = pv.canvas_view.el.getBoundingClientRect();
            return [r.left + pv.frame.x_scale.compute(arguments[0]),
                    r.top + pv.frame.y_scale.compute(arguments[1])];""",
            cx,
            cy,
        )
        hover_at(drv, x, y)
        wait.until(lambda d: "8004" in d.execute_script(DEEP_TEXT_JS, "tooltip"))
        tip = drv.execute_script(DEEP_TEXT_JS, "tooltip")
        assert "Zürich" in tip
        assert "T01 · Anna <b>Muster</b>" in tip  # CRM text shown as text, not markup
        assert "CHF 400 per month" in tip and "potential +2.0%, workload +1.0%" in tip
        errors = [e for e in drv.get_log("browser") if e["level"] in {"SEVERE", "ERROR"}]
        assert not errors, errors


def test_a_german_plan_is_drawn_on_germany_with_its_places() -> None:
    from salesanalytics.reference.geography import geography

    g = geography("DE")
    units = pd.DataFrame(
        {
            "postal_code": ["10115", "10117", "80331", "80333"],
            "territory_id": ["T01", "T01", "T02", "T02"],
            "rep_name": ["Anna Berg", "Anna Berg", "Beat Frei", "Beat Frei"],
            "potential_mrr": [100.0, 200, 300, 400],
            "workload_hours": [10.0, 20, 30, 40],
            "n_accounts": [1, 2, 3, 4],
        }
    )
    m = im.territory_map(units, TERRITORIES, "Vorschlag", geography=g)
    assert "map of 2 territories" in m.alt
    doc = json.dumps(m.item())
    assert "10115" in doc and "Berlin" in doc and "M\\u00fcnchen" in doc
    # drawn where Germany is: Berlin north-east of Munich on the map (km from the corner)
    shp = im._shapes(g).set_index("postal_code")
    berlin, munich = shp.loc["10115"], shp.loc["80331"]
    assert np.mean(berlin["x"]) > np.mean(munich["x"]) and np.mean(berlin["y"]) > np.mean(
        munich["y"]
    )
    assert "8001" not in set(shp.index)  # no Swiss postal codes on the German map
