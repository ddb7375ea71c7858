"""Every chart has its data as a table a screen reader reaches (issue 12, WCAG 1.1.1)."""
from __future__ import annotations

from callbacks.overview import overview_outputs
from layouts import figures, ids
from tests.support.credentials import TENANT, embed_token


def cells(table) -> list[list[str]]:
    _, head, body = table.children
    return [[c.children for c in head.children.children]] + [[c.children for c in row.children]
                                                             for row in body.children]


def test_tab001_each_overview_chart_reads_as_a_table(server_context):
    out = overview_outputs(embed_token(locale="fr"), f"?tenant={TENANT}")
    for graph in ids.OVERVIEW_GRAPHS:
        fig = out["figures"][graph]
        table = figures.data_table(figures.from_dict(fig), "titre", "fr")
        assert table.children[0].children == "Données du graphique : titre"
        rows = cells(table)
        assert len(rows) > 1, graph
        assert all(len(r) == len(rows[0]) for r in rows), graph
    funnel = cells(figures.data_table(out["figures"][ids.GRAPH_FUNNEL], "", "fr"))
    assert [r[0] for r in funnel[1:]] == ["Inscriptions", "Démarrages", "Achèvements"]
    heat = cells(figures.data_table(out["figures"][ids.GRAPH_HEATMAP], "", "en"))
    assert len(heat) == 8 and len(heat[0]) == 25
    groups = cells(figures.data_table(out["figures"][ids.GRAPH_GROUPS], "", "en"))
    assert all(r[1].endswith("%") for r in groups[1:])  # a share reads as a percent


def test_tab002_an_empty_or_refused_chart_reads_as_its_message():
    message = figures.data_table(figures.message("No data for this range"), "", "en")
    assert message.children == "No data for this range"
    assert figures.data_table(figures.from_dict(None), "", "en").children  # before the first draw


def test_tab003_a_time_series_table_names_its_periods_in_the_viewers_language():
    """Row headers are periods as a reader says them, not ISO dates: the trace carries its granularity, so the
    table rebuilt from the browser's copy of the figure (explore's callback) says the same."""
    connections = [{"period": "2026-08-03", "value": 3}, {"period": "2026-08-10", "value": 5}]
    weekly = figures.activity(connections, connections, "week", "fr", "light")
    for fig in (weekly, figures.from_dict(weekly)):
        assert [r[0] for r in cells(figures.data_table(fig, "", "fr"))[1:]] == [
            "semaine du 3 août 2026", "semaine du 10 août 2026"]
    monthly = figures.line([{"period": "2026-08-01", "value": 0.5}], "completion_rate", "month", "en", "dark")
    assert cells(figures.data_table(monthly, "", "en"))[1][0] == "August 2026"
    daily = figures.line([{"period": "2026-08-01", "value": 4}], "connections", "day", "fr", "dark")
    assert cells(figures.data_table(daily, "", "fr"))[1][0] == "1 août 2026"
    crafted = figures.from_dict({"data": [{"type": "scatter", "x": ["soon"], "y": [1], "meta": {"period": "day"}}]})
    assert cells(figures.data_table(crafted, "", "en"))[1][0] == "soon"  # not a date: as it is, never a 500


def test_tab004_a_figure_the_browser_sends_back_never_breaks_its_table():
    """Explore's table is made from the figure the browser sends back: plotly.js takes lists as categories, and
    plotly.py's validators pass any value, so a crafted figure reached ``data_table`` with lists as keys, objects
    or text as values (a 500 before). One whose points are not labels and numbers reads as an empty chart; a
    value that is not a finite number reads as text or n/a."""
    empty = figures.data_table(figures.from_dict(None), "", "en").children
    for crafted in ({"data": [{"type": "bar", "x": [["a", "b"], ["c", "d"]], "y": [1, 2]}]},
                    {"data": [{"type": "scatter", "x": [1, 2], "y": [{"a": 1}, 2]}]},
                    {"data": [{"type": "heatmap", "z": [1, 2], "y": ["Mon"]}]},
                    {"data": [{"type": "pie", "labels": [["a"]], "values": [1]}]}):
        assert figures.data_table(figures.from_dict(crafted), "", "en").children == empty, crafted
    odd = figures.from_dict({"data": [{"type": "bar", "x": ["a", "b", "c"], "y": ["1e999", float("nan"), "many"]}]})
    assert [row[1] for row in cells(figures.data_table(odd, "", "en"))[1:]] == ["1e999", "n/a", "many"]
