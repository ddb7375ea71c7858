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
        table = figures.data_table(figures.from_dict(fig.to_plotly_json()), "titre", "fr")
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
