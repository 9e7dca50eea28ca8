"""Channel plots: the channel matrix as a heat table (colour = channel, strength = contribution)."""

from __future__ import annotations

import pandas as pd

from salesanalytics.analyses.channels import plots as chanplots
from salesanalytics.present import style


def _matrix() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "size_class": ["small", "small", "large", "large"],
            "segment": ["New · small", "New · small", "Existing · large", "Existing · large"],
            "product_group": ["Cloud", "<b>Licences</b>", "Cloud", "<b>Licences</b>"],
            "mode": ["online", "tele", "field", "field"],
            "channel": ["online", "tele", "field", "field"],
            "contribution": [100.0, 50.0, 200.0, None],
            "basis": ["measured", "pooled", "measured", "rule"],
        }
    )


def test_heat_table_colours_cells_by_channel_and_contribution() -> None:
    html = chanplots.heat_table(_matrix()).to_html()
    # rows in segment order (new before existing), names escaped, rule cells grey and marked
    assert html.index("New · small") < html.index("Existing · large")
    assert "&lt;b&gt;Licences&lt;/b&gt;" in html and "<b>Licences" not in html
    assert "field · rule" in html and "background-color: #eeeeee" in html
    assert f"online · {style.chf(100.0)}" in html
    # the strongest contribution (field, 200) is drawn fully opaque in the field colour
    field = style.CHANNEL_COLORS["field"]
    rgb = ",".join(str(int(field[k : k + 2], 16)) for k in (1, 3, 5))
    assert f"rgba({rgb},1.00)" in html
    # tele's 50 of 200: alpha 0.4 + 0.6 x 0.25
    tele = style.CHANNEL_COLORS["tele"]
    rgb = ",".join(str(int(tele[k : k + 2], 16)) for k in (1, 3, 5))
    assert f"rgba({rgb},0.55)" in html
