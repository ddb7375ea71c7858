"""Every figure builder called on sample answers: what the pages can draw (tests of the figures and the bundle)."""
from __future__ import annotations

import plotly.graph_objects as go

from layouts import figures

ROWS = [{"key": "g1", "label": "2024", "value": 3}, {"key": "g2", "label": "Engineering", "value": 5}]
POINTS = [{"period": "2026-10-01", "value": 4}, {"period": "2026-10-02", "value": 6}]


def every_figure():
    """Every builder's figure, as the app sends it (a plain dict)."""
    for theme in ("light", "dark"):
        for locale in ("en", "fr"):
            yield figures.activity(POINTS, POINTS, "day", locale, theme)
            yield figures.activity(None, POINTS, "day", locale, theme)
            yield figures.funnel({"enrolments": 10, "starts": 6, "completions": 3}, locale, theme)
            yield figures.bars(ROWS, "completions", "group", locale, theme)
            yield figures.bars(ROWS, "completions", "group", locale, theme, horizontal=True)
            yield figures.pie(ROWS, "completions", "group", locale, theme)
            yield figures.line(POINTS, "completions", "day", locale, theme)
            yield figures.heatmap(list(range(168)), locale, theme)
            yield figures.message("No data", theme, locale)


def checked(fig: dict) -> go.Figure:
    """A builder's figure (a plain dict) through plotly.py's validators, which the app skips for speed: a
    misspelt property or a wrong value type raises here. Read as attributes by the tests."""
    return go.Figure(fig, layout_template=None)
