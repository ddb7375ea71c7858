"""Thousands of values (issue 14, any shape): a page lists a few of a filter's values, or an analyst's tenants, and
asks the server for the others as the viewer types.

One export, made here: 300 tenants of one learner each, and ``big``, whose catalogue holds 20,000 trainings. Every
page of ``big`` used to carry the 20,000 in its training filter (1.1 MB of JSON, the embedded overview's included),
and every analyst page the 301 tenants.
"""
from __future__ import annotations

import json

import pytest

from app import views
from etl.refresh import run_refresh
from layouts import ids
from layouts.components import FILTER_OPTIONS, dropdown_options
from tests.support.apps import make_app
from tests.support.credentials import analyst_token, embed_token
from tests.support.dash_requests import compact, post_callback
from tests.support.exports import HEADER, write_export

TRAININGS = 20_000
TENANTS = 300
PAGE = "explore"


@pytest.fixture(scope="module")
def catalogue_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalogue")
    activity = [f"b{t},2026-10-{1 + t % 28:02d}T10:00:00Z,big,u{t % 40},enrolment,C{t:05d},,"
                for t in range(0, TRAININGS, 7)]
    activity += [f"s{k},2026-10-20T10:00:00Z,small{k:03d},u1,connection,,,60" for k in range(TENANTS)]
    trainings = "tenant_id,training_id,title,category,format\n" + "".join(
        f"big,C{t:05d},Course {t},Cat {t % 50},video\n" for t in range(TRAININGS))
    users = "tenant_id,user_id,group,country\n" + "".join(f"big,u{u},{'Sales' if u % 2 else 'HR'},FR\n"
                                                          for u in range(40))
    write_export(root / "export", activity=HEADER + "\n".join(activity) + "\n", trainings=trainings, users=users)
    result = run_refresh(str(root / "export"), root / "snapshots")
    assert result.outcome == "published", result.message
    return make_app(root / "snapshots", root / "cache", snapshot_check_interval=60.0)


def page_json(app, token: str) -> dict:
    """The explore page as the route callback sends it, one component per id."""
    from callbacks import shell

    with app.server.test_request_context("/_dash-update-component", method="POST"):
        page, _ = shell.render("/explore", f"?token={token}")
    found = {}

    def walk(node):
        if isinstance(node, (list, tuple)):
            for child in node:
                walk(child)
        elif hasattr(node, "to_plotly_json"):
            if getattr(node, "id", None) is not None:
                found[compact(node.id)] = node
            walk(getattr(node, "children", None))
    walk(page)
    return {"size": len(json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json())), "by_id": found}


def test_lc001_pages_carry_a_few_of_thousands_of_values(catalogue_app):
    page = page_json(catalogue_app, embed_token("big", locale="fr"))
    training = page["by_id"][compact(ids.filter_id(PAGE, "training"))]
    assert len(training.options) == FILTER_OPTIONS
    assert training.options[0] == {"label": "Course 0", "value": "C00000", "search": "Course 0 C00000"}
    assert page["size"] < 200_000, page["size"]  # 1.1 MB with every training
    analyst = page_json(catalogue_app, analyst_token())
    picker = analyst["by_id"][compact(ids.tenant_id(PAGE))]
    assert len(picker.options) == views.PICKER_OPTIONS  # the first 50 by name, the page's own (the busiest) first
    assert picker.options[0]["value"] == "big" and picker.value == "big"


def test_lc002_the_options_keep_the_selected_values_with_their_labels():
    known = {"training": [{"key": f"C{t}", "label": f"Course {t}"} for t in range(500)]
             + [{"key": "X", "label": "Unknown"}]}
    shown = dropdown_options("training", known, ["C450", "gone"], "fr", search=None)
    assert [o["value"] for o in shown] == [f"C{t}" for t in range(FILTER_OPTIONS)] + ["C450", "gone"]
    assert shown[-2]["label"] == "Course 450" and shown[-1]["label"] == "gone (?)"
    assert [o["value"] for o in dropdown_options("training", known, [], "en", search="COURSE 45")] == \
        ["C45"] + [f"C{t}" for t in range(450, 460)]
    assert [o["label"] for o in dropdown_options("training", known, [], "fr", search="x")] == ["Inconnu"]
    assert [o["value"] for o in dropdown_options("training", known, [], "fr", search="inconnu")] == ["X"]


def filter_search(app, token, dim, search, selected=(), url=""):
    client, dropdown = app.server.test_client(), ids.filter_id(PAGE, dim)
    return post_callback(client, app, '"page":["MATCH"],"type":"filter"}.options',
                         {"id": dropdown, "property": "options"},
                         [{"id": dropdown, "property": "search_value", "value": search}],
                         [{"id": dropdown, "property": "value", "value": list(selected)},
                          {"id": ids.token_id(PAGE), "property": "data", "value": token},
                          {"id": ids.URL, "property": "search", "value": url}])


def options_of(body, dim: str) -> list[str]:
    return [o["value"] for o in body["response"][compact(ids.filter_id(PAGE, dim))]["options"]]


def test_lc003_typing_in_a_filter_asks_the_server_for_what_matches(catalogue_app):
    status, body = filter_search(catalogue_app, embed_token("big"), "training", "course 1999", selected=["C00007"])
    assert status == 200
    assert options_of(body, "training") == ["C01999"] + [f"C{t}" for t in range(19990, 20000)] + ["C00007"]
    status, body = filter_search(catalogue_app, analyst_token(), "training", "C1999",
                                 url=f"?token=t&tenant=big")  # an analyst's tenant is the URL's
    assert status == 200 and options_of(body, "training") == [f"C{t}" for t in range(19990, 20000)]
    status, body = filter_search(catalogue_app, embed_token("big", filters={"group": ["Sales"]}), "group", "")
    assert status == 200 and options_of(body, "group") == ["Sales"]  # a locked filter offers its own only
    for token in (embed_token("small001"), embed_token("big", secret="x" * 32), None):
        status, body = filter_search(catalogue_app, token, "training", "course")
        assert status in (200, 204) and "C00000" not in json.dumps(body), token
    status, _ = filter_search(catalogue_app, embed_token("big"), "nope", "course")
    assert status == 204
