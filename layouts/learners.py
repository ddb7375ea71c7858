"""The learner panel of the overview: who is behind a number (issue 15), and one learner's trainings.

Only built for a token that may see learners (``PageView.learners``): without
it the page has no panel, and its KPI cards are not buttons. The panel is a
region with a heading, the list's exports (CSV, XLSX), a page of learners as a
table whose names open their trainings, a pager and a close button (Escape
closes it too: assets/learner-panel.js). ``callbacks.learners`` fills it from
the URL (``cohort``, ``cohort_<kind>``, ``page``, ``learner``), so back and forward reopen what was shown.
"""
from __future__ import annotations

import datetime as dt

from dash import dcc, html

from layouts import i18n, ids

LIST_COLUMNS = ("name", "group", "country", "enrolments", "completions", "last_activity")
TRAINING_COLUMNS = ("title", "status", "due_on", "enrolled_on", "started_on", "completed_on", "score",
                    "learning_hours")


def panel(locale: str, first: dict | None = None) -> html.Section:
    """The panel, hidden until a cohort is opened; ``callbacks.learners`` fills it (``first``: its answer for
    the page's URL, so a link that opens it arrives with it)."""
    t = lambda key: i18n.t(locale, key)  # noqa: E731
    first = first or {}
    heading = first.get("heading") if isinstance(first.get("heading"), str) else t("learners.title")
    return html.Section([
        html.Div([
            html.H2(heading, id=ids.LEARNERS_HEADING, tabIndex="-1"),
            html.Div([
                html.Button(t("learners.csv"), id=ids.LEARNERS_CSV, n_clicks=0, type="button", className="button"),
                html.Button(t("learners.xlsx"), id=ids.LEARNERS_XLSX, n_clicks=0, type="button", className="button"),
                html.Button(t("learners.close"), id=ids.LEARNERS_CLOSE, n_clicks=0, type="button",
                            className="button", title=t("learners.close.title")),
            ], className="learners-actions"),
        ], className="card-head"),
        html.P(first.get("summary", ""), id=ids.LEARNERS_SUMMARY, className="as-of", role="status"),
        html.Button(t("learners.back"), id=ids.LEARNERS_BACK, n_clicks=0, type="button", className="button",
                    hidden=first.get("back_hidden", True)),
        dcc.Loading(html.Div(first.get("body"), id=ids.LEARNERS_BODY, className="learners-body"), type="dot",
                    delay_show=300),
        html.Nav([
            html.Button(t("learners.prev"), id=ids.LEARNERS_PREV, n_clicks=0, type="button", className="button",
                        disabled=first.get("prev_disabled", True)),
            html.Button(t("learners.next"), id=ids.LEARNERS_NEXT, n_clicks=0, type="button", className="button",
                        disabled=first.get("next_disabled", True)),
        ], className="learners-pager", **{"aria-label": t("learners.pager")}),
        dcc.Download(id=ids.LEARNERS_DOWNLOAD),
    ], id=ids.LEARNERS_PANEL, className="card learners-panel", hidden=first.get("hidden", True),
        **{"aria-labelledby": ids.LEARNERS_HEADING})


def _cell(value, locale: str):
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, (int, float)):
        return i18n.number(value, locale, 0 if float(value).is_integer() else 1)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return i18n.date(dt.date.fromisoformat(value), locale, "medium")
        except ValueError:
            return value
    return value


def _table(caption: str, columns, header: list[str], rows: list[list]) -> html.Div:
    return html.Div(html.Table([
        html.Caption(caption, className="sr-only"),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in header])),
        html.Tbody([html.Tr(row) for row in rows]),
    ], className="learners-table"), className="data-table learners-scroll", tabIndex="0", role="region",
        **{"aria-label": caption})


def learner_list(rows: list[dict], caption: str, locale: str) -> html.Div:
    """A page of learner rows (``app.learners.COLUMNS``); each name a button opening that learner's trainings."""
    if not rows:
        return html.P(i18n.t(locale, "learners.none"), className="message message-info")
    header = [i18n.t(locale, f"learners.col.{c}") for c in LIST_COLUMNS]
    body = []
    for row in rows:
        name = row.get("name") or row["user_id"]
        cells = [html.Td(html.Button(name, id=ids.learner_open_id(row["user_id"]), n_clicks=0, type="button",
                                     className="link-button", title=i18n.t(locale, "learners.trainings.open")))]
        for column in LIST_COLUMNS[1:]:
            value = row.get(column)
            cells.append(html.Td(i18n.data_label(value, locale) if column in ("group", "country")
                                 and isinstance(value, str) else _cell(value, locale)))
        body.append(cells)
    return _table(caption, LIST_COLUMNS, header, body)


def trainings(found: dict, locale: str) -> html.Div:
    """One learner (``app.learners.learner_trainings``): who, then a row per training with status (overdue or not),
    due date and first dates."""
    who = [found.get("name") or found["user_id"]] + [i18n.data_label(found[d], locale)
                                                     for d in ("group", "country") if found.get(d)]
    header = [i18n.t(locale, f"learners.col.{c}") for c in TRAINING_COLUMNS]
    body = [[html.Td(t["title"] or t["training_id"])]
            + [html.Td(i18n.t(locale, f"learners.status.{t['status']}")
                       + (" · " + i18n.t(locale, "learners.status.overdue") if t.get("overdue") else ""))]
            + [html.Td(_cell(t.get(c), locale)) for c in TRAINING_COLUMNS[2:]] for t in found["trainings"]]
    table = _table(i18n.t(locale, "learners.trainings.of", name=who[0]), TRAINING_COLUMNS, header, body) \
        if body else html.P(i18n.t(locale, "learners.trainings.none"), className="message message-info")
    return html.Div([html.H3(" · ".join(who)), table], className="learner-trainings")


GRID_COLUMNS = ("name", "user_id", "group", "country", "enrolments", "starts", "completions", "avg_score",
                "learning_hours", "last_activity")


# Each column's width in pixels, set here rather than measured in the browser (AG Grid's autoSize measured the
# drawn cells on every load, a part of explore's longest task, issue 12): wide enough for its longest word in
# either locale (headers wrap between words, never inside one: "Inscriptions", "Démarrages" and "Completions"
# are the widest) and for the demo export's widest values ("Mohamed Lefèvre", "Engineering", a date). Fixed, not
# flex: AG Grid hides flex columns until it has the grid's width, and left this grid, below the fold, half drawn
# (axe, test_a11y002). Wider than the window, the grid scrolls sideways; a user can drag a column wider.
GRID_WIDTHS = {"name": 170, "user_id": 130, "group": 130, "country": 110, "enrolments": 140, "starts": 140,
               "completions": 140, "avg_score": 120, "learning_hours": 120, "last_activity": 120}


def _known(locale: str) -> str:
    """A locale written into a grid's formatter expression: one of ours, nothing else."""
    return locale if locale in i18n.LOCALES else "en"


def grid_columns(locale: str) -> list[dict]:
    """Explore's learner grid: its columns, headed in the page's language, with widths set here (no measuring)."""
    numeric = {"enrolments", "starts", "completions", "avg_score", "learning_hours"}
    day = {"valueFormatter": {"function": f"localDay(params.value, '{_known(locale)}')"}}  # assets/grid-formats.js
    return [{"field": c, "headerName": i18n.t(locale, f"learners.col.{c}"), "width": GRID_WIDTHS[c],
             **({"type": "numericColumn"} if c in numeric else {}), **(day if c == "last_activity" else {})}
            for c in GRID_COLUMNS]


def grid_rows(rows: list[dict], locale: str) -> list[dict]:
    """Learner rows as the grid shows them: labels in the page's language, decimals to one place."""
    out = []
    for row in rows:
        item = {c: row.get(c) for c in GRID_COLUMNS}
        item["name"] = row.get("name") or row["user_id"]
        for c in ("group", "country"):
            item[c] = i18n.data_label(row[c], locale) if isinstance(row.get(c), str) else row.get(c)
        for c in ("avg_score", "learning_hours"):
            item[c] = None if item[c] is None else round(item[c], 1)
        out.append(item)
    return out


def explore_section(locale: str, first: dict | None, grid) -> html.Section:
    """Explore's learners: a heading with the list's exports (CSV, XLSX), a summary line (count, what is shown),
    the grid (``grid``: built by the explore layout, which owns AG Grid; a row opens that learner) and the opened
    learner's trainings (``first``: the page's first answer, ``callbacks.learners``)."""
    t = lambda key: i18n.t(locale, key)  # noqa: E731
    first = first or {}
    heading = first.get("heading") if isinstance(first.get("heading"), str) else t("learners.title")
    return html.Section([
        html.Div([
            html.H2(heading, id=ids.EXPLORE_LEARNERS_HEADING),
            html.Div([
                html.Button(t("learners.csv"), id=ids.EXPLORE_LEARNERS_CSV, n_clicks=0, type="button",
                            className="button"),
                html.Button(t("learners.xlsx"), id=ids.EXPLORE_LEARNERS_XLSX, n_clicks=0, type="button",
                            className="button"),
            ], className="learners-actions"),
        ], className="card-head"),
        html.P(first.get("summary", ""), id=ids.EXPLORE_LEARNERS_SUMMARY, className="as-of", role="status"),
        html.P(t("learners.grid.open"), className="as-of"),
        grid,
        html.Div([  # Close first: a learner's trainings may be a long table
            html.Button(t("learners.trainings.close"), id=ids.EXPLORE_LEARNER_CLOSE, n_clicks=0, type="button",
                        className="button"),
            html.Div(first.get("learner"), id=ids.EXPLORE_LEARNER_BODY),
        ], id=ids.EXPLORE_LEARNER, className="learners-body", tabIndex="-1", role="region",
            hidden=first.get("learner") is None, **{"aria-label": t("learners.trainings.region")}),
        dcc.Download(id=ids.EXPLORE_LEARNERS_DOWNLOAD),
    ], className="card card-wide learners-explore", **{"aria-labelledby": ids.EXPLORE_LEARNERS_HEADING})


def message(text: str, kind: str = "info") -> html.P:
    return html.P(text, className=f"message message-{kind}")
