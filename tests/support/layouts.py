"""Reading Dash's first layout (``/_dash-layout``) as the renderer receives it."""
from __future__ import annotations

import json


def first_layout(client, page_url: str | None) -> dict:
    """The layout the page at ``page_url`` (its path and query) receives: Dash asks for it with the page as Referer."""
    headers = {"Referer": f"http://localhost{page_url}"} if page_url else {}
    response = client.get("/_dash-layout", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"  # it holds one token's data
    return response.get_json()


def components(node):
    """Every component of a layout as the renderer receives it (JSON)."""
    if isinstance(node, list):
        for child in node:
            yield from components(child)
    elif isinstance(node, dict) and "props" in node:
        yield node
        yield from components(node["props"].get("children"))


def by_id(layout: dict) -> dict:
    return {json.dumps(c["props"]["id"], sort_keys=True): c["props"] for c in components(layout)
            if "id" in c["props"]}


def prop(layout: dict, component_id, name: str):
    return by_id(layout)[json.dumps(component_id, sort_keys=True)].get(name)
