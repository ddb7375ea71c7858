"""Component ids of the dashboards, in one place (kebab-case, type prefix).

Controls repeated per page or per dimension use pattern-matching ids built by
the functions below, so one callback serves all of them.
"""
from __future__ import annotations

OVERVIEW, EXPLORE = "overview", "explore"

# The shell: present on every page.
ROOT = "div-root"
URL = "location-url"
PAGE = "div-page"
RENDERED = "store-rendered"    # the path the server rendered the page for (None: the route callback renders it)
ROUTE = "store-route"          # a path the route callback still has to render

# Per page: a status line, the "data as of" line and the line naming the tenant and its time zone.
OVERVIEW_STATUS = "div-overview-status"
EXPLORE_STATUS = "div-explore-status"
OVERVIEW_AS_OF = "p-overview-as-of"
EXPLORE_AS_OF = "p-explore-as-of"
OVERVIEW_ZONE = "p-overview-zone"
OVERVIEW_COMPLIANCE = "section-overview-compliance"  # hidden for a tenant without assignments
EXPLORE_ZONE = "p-explore-zone"

# Overview charts.
GRAPH_ACTIVITY = "graph-activity"
GRAPH_FUNNEL = "graph-funnel"
GRAPH_TRAININGS = "graph-trainings"
GRAPH_GROUPS = "graph-groups"
GRAPH_HEATMAP = "graph-heatmap"
GRAPH_OVERDUE_GROUPS = "graph-overdue-groups"
GRAPH_OVERDUE_TRAININGS = "graph-overdue-trainings"
OVERVIEW_GRAPHS = (GRAPH_ACTIVITY, GRAPH_FUNNEL, GRAPH_TRAININGS, GRAPH_GROUPS, GRAPH_HEATMAP, GRAPH_OVERDUE_GROUPS,
                   GRAPH_OVERDUE_TRAININGS)

# Explore.
EXPLORE_TITLE = "h2-explore-title"
GRID_EXPLORE = "grid-explore"
# Explore's results grid is mounted once the chart is drawn (assets/deferred-grids.js): its box.
GRID_EXPLORE_BOX = "grid-explore-box"
BUTTON_CSV = "button-csv"
DOWNLOAD_CSV = "download-csv"

# Pattern-matching types. The URL-sync callback (callbacks.sync) serves both pages
# through ALL wildcards, so it is one callback and the only writer of the URL.
TOKEN = "store-token"          # {"type", "page"}: the token read from the URL
CHIPS = "chips"                # {"type", "page"}: the active filters of explore, as chips
GRAPH_CLICK = "graph-click"    # {"type", "page"}: a graph whose clicks add filters
FILTER = "filter"            # {"type", "page", "dim"}: a filter dropdown
RANGE_PRESET = "range-preset"  # {"type", "page"}
RANGE_DATES = "range-dates"    # {"type", "page"}: a DatePickerRange
CHOICE = "choice"            # {"type", "page", "name"}: granularity, metric, breakdown, chart
TENANT = "tenant"            # {"type", "page"}: the analyst's tenant picker
KPI_VALUE = "kpi-value"      # {"type", "metric"}
KPI_CHANGE = "kpi-change"    # {"type", "metric"}
CHIP_REMOVE = "chip-remove"  # {"type", "dim", "value"}


def table_id(graph_id) -> dict:
    """The screen-reader table beside a graph (its data as text)."""
    return {"type": "graph-table", "graph": graph_id if isinstance(graph_id, str) else graph_id["page"]}


def deferred_content_id(box_id: str) -> str:
    """The store holding what a box gets once it nears the viewport: a chart's figure and data table
    (assets/deferred-charts.js), explore's grids (assets/deferred-grids.js, ``GRID_EXPLORE_BOX`` and
    ``GRID_LEARNERS_BOX``)."""
    return f"{box_id}-deferred"


def token_id(page: str) -> dict:
    return {"type": TOKEN, "page": page}


def chips_id(page: str) -> dict:
    return {"type": CHIPS, "page": page}


def graph_click_id(page: str) -> dict:
    return {"type": GRAPH_CLICK, "page": page}


def filter_id(page: str, dim: str) -> dict:
    return {"type": FILTER, "page": page, "dim": dim}


def range_preset_id(page: str) -> dict:
    return {"type": RANGE_PRESET, "page": page}


def range_dates_id(page: str) -> dict:
    return {"type": RANGE_DATES, "page": page}


def choice_id(page: str, name: str) -> dict:
    return {"type": CHOICE, "page": page, "name": name}


def tenant_id(page: str) -> dict:
    return {"type": TENANT, "page": page}


def kpi_value_id(metric: str) -> dict:
    return {"type": KPI_VALUE, "metric": metric}


def kpi_change_id(metric: str) -> dict:
    return {"type": KPI_CHANGE, "metric": metric}


def chip_remove_id(dim: str, value: str) -> dict:
    return {"type": CHIP_REMOVE, "dim": dim, "value": value}


GRAPH_EXPLORE = graph_click_id(EXPLORE)

# The learner panel of the overview (issue 15): present only for a token that may see learners.
LEARNERS_PANEL = "section-learners"
LEARNERS_HEADING = "h2-learners"
LEARNERS_SUMMARY = "p-learners-summary"
LEARNERS_BODY = "div-learners-body"
LEARNERS_PREV = "button-learners-prev"
LEARNERS_NEXT = "button-learners-next"
LEARNERS_CSV = "button-learners-csv"
LEARNERS_XLSX = "button-learners-xlsx"
LEARNERS_DOWNLOAD = "download-learners"
LEARNERS_CLOSE = "button-learners-close"
LEARNERS_BACK = "button-learners-back"     # from one learner's trainings back to the list
KPI_OPEN = "kpi-open"          # {"type", "metric"}: a KPI card that opens its learner list
LEARNER_OPEN = "learner-open"  # {"type", "user"}: a learner's name in the list, opens their trainings
CHART_OPEN = "chart-open"      # {"type", "graph", "metric", "kind", "value"}: a chart table's value, opens its learners


def kpi_open_id(metric: str) -> dict:
    return {"type": KPI_OPEN, "metric": metric}


def learner_open_id(user_id: str) -> dict:
    return {"type": LEARNER_OPEN, "user": user_id}


def chart_open_id(graph_id: str, metric: str, kind: str | None, value: str | None) -> dict:
    """A value in a chart's table that opens the learners behind its point (``layouts.figures.point``)."""
    return {"type": CHART_OPEN, "graph": graph_id, "metric": metric, "kind": kind or "", "value": value or ""}

# Explore's learner table (issue 15): the learners behind the chosen metric, for the current selection.
GRID_LEARNERS = "grid-learners"
# Explore's learner grid is mounted near the viewport (assets/deferred-grids.js): its box, the grid waiting
# in a store beside it (deferred_content_id), and its rows (kept current by the explore callback, copied into
# the grid once it is).
GRID_LEARNERS_BOX = "grid-learners-box"
LEARNER_ROWS = "learner-rows"
EXPLORE_LEARNERS_HEADING = "h2-explore-learners"
EXPLORE_LEARNERS_SUMMARY = "p-explore-learners-summary"
EXPLORE_LEARNERS_CSV = "button-explore-learners-csv"
EXPLORE_LEARNERS_XLSX = "button-explore-learners-xlsx"
EXPLORE_LEARNERS_DOWNLOAD = "download-explore-learners"
EXPLORE_LEARNER = "div-explore-learner"              # a learner's trainings, opened from a row of the grid
EXPLORE_LEARNER_BODY = "div-explore-learner-body"
EXPLORE_LEARNER_CLOSE = "button-explore-learner-close"
