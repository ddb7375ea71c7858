"""What the figure builders hand to Plotly (issue 12): nothing that makes the browser draw a chart twice."""
from __future__ import annotations

import json

from plotly.utils import PlotlyJSONEncoder

from layouts import figures
from tests.support.figures import checked, every_figure

LIGHT = "light"


def automargins(layout: dict) -> list[str]:
    return sorted(k for k, v in layout.items() if k[1:5] == "axis" and isinstance(v, dict) and v.get("automargin"))


def test_fig001_no_template_and_automatic_margins_only_for_category_labels():
    """plotly.py's default template is 7 KB of JSON per figure and turned on automatic margins for every axis,
    which make Plotly draw, measure the tick labels and draw again: only bar labels (categories whose length
    the server cannot know) keep them."""
    for raw in every_figure():
        fig = checked(raw)
        layout = fig.to_plotly_json()["layout"]
        assert "template" not in layout
        assert layout["autotypenumbers"] == "strict"
        bar = fig.data and fig.data[0].type == "bar" and fig.data[0].customdata is not None \
            and fig.data[0].customdata[0][1] == "group"
        expected = (["yaxis"] if fig.data[0].orientation == "h" else ["xaxis"]) if bar else []
        assert automargins(layout) == expected, layout
        assert len(json.dumps(fig.to_plotly_json())) < 4000


def test_fig002_labels_that_look_like_numbers_stay_categories():
    """Without the template's ``autotypenumbers="strict"`` a group named "2024" next to one named "10" would make
    Plotly read the axis as numbers and place the bars at 10 and 2024."""
    rows = [{"key": "a", "label": "2024", "value": 3}, {"key": "b", "label": "10", "value": 5}]
    horizontal = checked(figures.bars(rows, "completions", "group", "en", LIGHT, horizontal=True))
    vertical = checked(figures.bars(rows, "completions", "group", "en", LIGHT))
    assert horizontal.layout.yaxis.type == "category" and vertical.layout.xaxis.type == "category"
    assert horizontal.layout.autotypenumbers == "strict"


def as_sent(fig) -> dict:
    return json.loads(json.dumps(fig, cls=PlotlyJSONEncoder))


def test_fig003_figures_are_what_plotly_py_would_make_of_them():
    """The builders make plain dicts and skip plotly.py's validators (copying every value was half of a long
    page's first layout): each figure passes them, and they change nothing in what the browser gets (a named
    colour scale, a ``None`` property or a misspelt one would show here)."""
    for raw in every_figure():
        assert as_sent(raw) == as_sent(checked(raw).to_plotly_json()), raw
