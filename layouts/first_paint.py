"""The page as plain HTML, in the page's own response: what the viewer sees before Dash's scripts have run.

Dash sends an empty page that says "Loading...", and draws the real one once React,
its renderer and the first layout have arrived and run: about a second on this
machine, several on a phone (issue 12: the largest paint was the last to come).
The same layout, written here as HTML (``first_paint``), shows the title, the
filters' current choices, the KPI values and the charts' boxes at the first paint.
It is a picture, not the page: no ids (Dash's page has them), nothing interactive
(``inert``), no charts. The stylesheet hides it, and assets/first-paint.js removes it, as soon as
Dash's page is in the document, in the same frame: nothing moves or blinks.

Every text and attribute value is escaped: labels come from the customer's data.
"""
from __future__ import annotations

from html import escape

from dash.development.base_component import Component

CLASS = "dv-first-paint"
VOID = frozenset({"br", "hr", "img", "input", "wbr", "col", "area"})
# Attributes kept as written; ids (and what points at them), event counters, Dash's own props and the data-*
# attributes our scripts look for (``data-deferred``...) are dropped: only the stylesheet's ``data-field`` stays.
PASSED = frozenset({"role", "title", "type", "scope", "colSpan", "rowSpan", "lang", "dir", "alt", "src",
                    "width", "height"})
RENAMED = {"className": "class", "tabIndex": "tabindex", "colSpan": "colspan", "rowSpan": "rowspan"}
BOOLEAN = frozenset({"hidden", "disabled", "open", "checked"})
STYLED_DATA = frozenset({"data-field"})
POINTERS = frozenset({"aria-controls", "aria-labelledby", "aria-describedby", "aria-owns", "aria-activedescendant"})
NOTHING = frozenset({"Store", "Location", "Download", "Interval", "Tooltip"})  # drawn by nothing


def first_paint(component, root_class: str = "") -> str:
    """``component`` (a Dash layout) as static HTML, in a box the stylesheet hides once Dash's page is there."""
    return f'<div class="{escape(CLASS)} {escape(root_class)}" inert>{_html(component)}</div>'


def _html(node) -> str:
    if node is None or isinstance(node, bool):
        return ""
    if isinstance(node, (list, tuple)):
        return "".join(_html(child) for child in node)
    if not isinstance(node, Component):
        return escape(str(node), quote=False)
    if node._namespace == "dash_html_components":
        return _element(node._type.lower(), _attributes(node), getattr(node, "children", None))
    return _stand_in(node)


def _element(tag: str, attributes: str, children) -> str:
    if tag in VOID:
        return f"<{tag}{attributes}>"
    return f"<{tag}{attributes}>{_html(children)}</{tag}>"


def _attributes(node: Component) -> str:
    parts = []
    for name, value in node.to_plotly_json()["props"].items():  # declared props and data-*/aria-* ones
        if value is None or name in ("children", "id") or name in POINTERS:
            continue
        if name in BOOLEAN:
            if value:
                parts.append(f" {name}")
        elif name == "style" and isinstance(value, dict):
            parts.append(f' style="{escape(_style(value))}"')
        elif name in PASSED or name in RENAMED or name.startswith("aria-") or name in STYLED_DATA:
            parts.append(f' {RENAMED.get(name, name)}="{escape(str(value))}"')
    return "".join(parts)


def _style(style: dict) -> str:
    """A React style object as CSS: camelCase names, numbers in pixels (as React writes most of them)."""
    def css_name(name: str) -> str:
        return "".join(f"-{c.lower()}" if c.isupper() else c for c in name)
    return "; ".join(f"{css_name(k)}: {f'{v}px' if isinstance(v, (int, float)) and not isinstance(v, bool) else v}"
                     for k, v in style.items() if v is not None)


def _stand_in(node: Component) -> str:
    """A core component as it looks before anyone touches it: a control shows its current choice, a graph
    its empty box, a loading wrapper its content; stores and the like nothing."""
    kind = node._type
    if kind in NOTHING:
        return ""
    if kind == "Loading":
        return _html(getattr(node, "children", None))
    if kind == "Graph":
        return _element("div", f' class="dash-graph" style="{escape(_style(getattr(node, "style", None) or {}))}"',
                        None)
    if kind == "Dropdown":
        return _control(_chosen(node) or getattr(node, "placeholder", None) or "")
    if kind == "DatePickerRange":
        start, end = getattr(node, "start_date", None), getattr(node, "end_date", None)
        return _control(f"{start}  →  {end}" if start and end else "")
    if kind in ("RadioItems", "Checklist"):
        chosen = getattr(node, "value", None)
        chosen = set(chosen) if isinstance(chosen, list) else {chosen}
        items = "".join(
            f'<label class="dv-first-option"><input type="{"radio" if kind == "RadioItems" else "checkbox"}"'
            f' disabled{" checked" if option.get("value") in chosen else ""}> {escape(str(option.get("label", "")), quote=False)}</label>'
            for option in _options(node))
        return f'<div class="dv-first-options {escape(getattr(node, "className", None) or "")}">{items}</div>'
    style = getattr(node, "style", None)  # a grid, a picker we do not know: its box
    return _element("div", f' style="{escape(_style(style))}"' if isinstance(style, dict) else "", None)


def _options(node: Component) -> list[dict]:
    options = getattr(node, "options", None) or []
    return [o if isinstance(o, dict) else {"label": o, "value": o} for o in options]


def _chosen(node: Component) -> str:
    value = getattr(node, "value", None)
    values = value if isinstance(value, list) else ([] if value is None else [value])
    labels = {o.get("value"): o.get("label") for o in _options(node)}
    return ", ".join(str(labels.get(v, v)) for v in values)


def _control(text: str) -> str:
    return f'<div class="dv-first-control">{escape(text, quote=False)}</div>'
