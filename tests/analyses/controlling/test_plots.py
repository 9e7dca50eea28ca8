"""The cockpit drawn: KPI tiles, the four-panel figure and its SVG image (figure cache)."""

from __future__ import annotations

import io
from html import unescape

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from salesanalytics.analyses.controlling import model as kpi
from salesanalytics.analyses.controlling import plots as kplots

from .tables import _cockpit_tables, _retention


def test_cockpit_page_escapes_names_and_draws_four_panels() -> None:
    c = kpi.cockpit_data("rep", "r1", *_cockpit_tables())
    html = kplots.kpi_tiles(c).to_html()
    assert "Anna &lt;b&gt;Meier&lt;/b&gt;" in html and "<b>Meier" not in html
    assert "CHF 1'200" in unescape(html)
    fig = kplots.cockpit_figure(c)
    assert len(fig.axes) == 4
    svg = kplots.cockpit_image(c).data
    assert "Anna &lt;b&gt;Meier&lt;/b&gt;" in svg and "<b>Meier" not in svg
    text = kpi.cockpit_sentence(c)
    n_red = int((c.kpis["status"] == "red").sum())
    assert f"{n_red} behind (red)" in text


def test_cockpit_image_reuses_its_figure_and_gives_the_bytes_of_a_new_one(monkeypatch) -> None:
    actuals, trend, funnel, _ = _cockpit_tables()
    # r1 and r2 share a layout (same months, stages and risk bands), r3 has no funnel and another
    # set of bands; r1's prior-year bookings exist, r2's are zero
    retention = _retention({"r1": ["high", "low"], "r2": ["low", "high"], "r3": ["not scored"]})
    funnel = funnel[funnel["entity_id"] != "r3"]
    tables = (actuals, trend, funnel, retention)
    cockpits = {r: kpi.cockpit_data("rep", r, *tables) for r in ("r1", "r2", "r3")}

    def plain(c: kpi.Cockpit) -> str:  # matplotlib's own drawing of a new figure
        fig = kplots.cockpit_figure(c)
        buf = io.BytesIO()
        with matplotlib.rc_context(kplots._SVG_RC):
            fig.savefig(buf, format="svg", metadata={"Date": None})
        plt.close(fig)
        return buf.getvalue().decode("utf-8")

    fresh = {}
    for rep, c in cockpits.items():
        kplots._FIGURES.clear()
        fresh[rep] = kplots.cockpit_image(c).data
    assert len({*fresh.values()}) == 3
    assert fresh["r1"] == plain(cockpits["r1"])

    kplots._FIGURES.clear()
    first = kplots.cockpit_image(cockpits["r1"]).data
    fig = next(iter(kplots._FIGURES.values())).fig
    # drawn into the same figure: nothing of r1 may show in r2's image and vice versa
    assert kplots.cockpit_image(cockpits["r2"]).data == fresh["r2"]
    assert len(kplots._FIGURES) == 1 and next(iter(kplots._FIGURES.values())).fig is fig
    assert kplots.cockpit_image(cockpits["r3"]).data == fresh["r3"]  # another layout: own figure
    assert len(kplots._FIGURES) == 2
    for rep in ("r1", "r3"):
        assert kplots.cockpit_image(cockpits[rep]).data == fresh[rep]
    assert first == fresh["r1"]
    assert "Anna &lt;b&gt;Meier&lt;/b&gt;" in fresh["r1"] and "Anna" not in fresh["r2"]
    # other matplotlib settings: a new figure, not the one drawn with the old settings
    with matplotlib.rc_context({"axes.titlesize": 9}):
        small = kplots.cockpit_image(cockpits["r1"]).data
        assert small == plain(cockpits["r1"]) != fresh["r1"]
    # the cache is bounded
    monkeypatch.setattr(kplots, "_MAX_FIGURES", 2)
    for i in range(3):
        band = [f"band {i}"]
        c = kpi.cockpit_data("rep", "r1", actuals, trend, funnel, _retention({"r1": band}))
        kplots.cockpit_image(c)
    assert len(kplots._FIGURES) == 2
