"""What a dashboard shows, as a value that round-trips through the URL query string.

Both pages keep their whole state (range, filters, choices, the overview's open learner list: its cohort,
the chart point it was narrowed to, its page and learner) in the query string
next to the token, so a link reopens the same view and back/forward walk
through the history. Parsing is forgiving: anything malformed falls back to its
default rather than failing the page (but a well-formed range outside the
bounds of ``app.dates`` is refused with a message, as the API refuses it); filter values are kept as given (an
unknown value is shown as such, never silently dropped).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qs, urlencode

from app.catalog import DIMENSION_NAMES as DIMENSIONS, GRANULARITIES, METRIC_NAMES as METRICS
from app.dates import parse_day

PRESETS = ("7d", "30d", "90d", "12m", "ytd", "custom")
GRANULARITY_CHOICES = ("auto",) + GRANULARITIES
CHARTS = ("bar", "line", "pie")
DEFAULT_PRESET = "30d"
MAX_VALUES = 50  # per filter
MAX_VALUE_LENGTH = 200
AUTO_DAY_MAX = 31  # days; ranges up to this are shown per day
AUTO_WEEK_MAX = 186  # days: any 6 calendar months; longer ranges are shown per month
# The learner lists a dashboard opens (app.learners.COHORTS), and the list each KPI card opens: who is behind
# the number (docs/metrics.md, "From a number to its learners"); the compliance row's cards open the cohorts
# of assignments (a tenant without assignments has no such row).
COHORTS = ("active", "connected", "enrolled", "started", "completed", "not_completed", "overdue", "at_risk",
           "due_soon", "due")
DEFAULT_METRIC = "completions"
METRIC_COHORTS = {"connections": "connected", "active_learners": "active", "enrolments": "enrolled",
                  "starts": "started", "completions": "completed", "completion_rate": "not_completed",
                  "avg_score": "completed", "learning_hours": "active",
                  "on_time_rate": "due", "overdue": "overdue", "due_soon": "due_soon", "at_risk_learners": "at_risk"}
# A list opened from a chart is narrowed to what was clicked (``TenantView.drilled``): a dimension's value
# (``cohort_<dim>``) or a period of the time series (``cohort_day``, ``cohort_week``, ``cohort_month``).
DRILL_KINDS = DIMENSIONS + GRANULARITIES
MAX_PAGE = 200  # the panel's pages a URL may open (25 learners each)


@dataclass(frozen=True)
class ViewState:
    preset: str = DEFAULT_PRESET
    start: dt.date | None = None  # custom ranges only
    end: dt.date | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    granularity: str = "auto"
    metric: str = DEFAULT_METRIC
    by: str = "training"
    chart: str = "bar"
    tenant: str | None = None  # an analyst's pick, checked against the scope by every callback
    cohort: str | None = None  # the learner list open in the panel (None: closed)
    learner: str | None = None  # the learner whose trainings are shown (the panel's, or explore's grid's)
    drill: tuple[str, str] | None = None  # (kind, value): the chart point the list is narrowed to (with a cohort)
    page: int = 1  # the panel's page of the list (with a cohort)

    def with_filter(self, dim: str, values) -> "ViewState":
        filters = {d: v for d, v in self.filters.items() if d != dim}
        cleaned = _clean_values(values)
        if cleaned:
            filters[dim] = cleaned
        return replace(self, filters=dict(sorted(filters.items())))


def _clean_values(values) -> tuple[str, ...]:
    if isinstance(values, str):
        values = [values]
    out = []
    for value in values or ():
        if isinstance(value, str) and value and len(value) <= MAX_VALUE_LENGTH and value not in out:
            out.append(value)
    return tuple(out[:MAX_VALUES])


def _date(text) -> dt.date | None:
    """A day of the URL, through the API's parser; malformed is no day. Its bounds are checked with the
    range (``app.dates.check_range``), so an out-of-bounds day is refused, never silently replaced."""
    try:
        return parse_day(text) if text else None
    except ValueError:
        return None


def _one(params: dict, name: str, allowed, default):
    value = (params.get(name) or [None])[0]
    return value if value in allowed else default


def parse(search: str | None) -> ViewState:
    """The state in a query string (``?a=b&...``, with or without the ``?``; not a string: no state)."""
    params = parse_qs(_text(search).lstrip("?"), keep_blank_values=False)
    preset = _one(params, "range", PRESETS, DEFAULT_PRESET)
    start, end = _date((params.get("from") or [None])[0]), _date((params.get("to") or [None])[0])
    if start and end:
        preset = "custom"
        if start > end:
            start, end = end, start
    elif preset == "custom":
        preset, start, end = DEFAULT_PRESET, None, None
    if preset != "custom":
        start = end = None
    filters = {dim: _clean_values(params[dim]) for dim in DIMENSIONS if params.get(dim)}
    tenant = (params.get("tenant") or [None])[0]
    cohort = _one(params, "cohort", COHORTS, None)
    learner = (params.get("learner") or [None])[0]
    return ViewState(
        preset=preset, start=start, end=end,
        filters={d: v for d, v in sorted(filters.items()) if v},
        granularity=_one(params, "gran", GRANULARITY_CHOICES, "auto"),
        metric=_one(params, "metric", METRICS, DEFAULT_METRIC),
        by=_one(params, "by", DIMENSIONS, "training"),
        chart=_one(params, "chart", CHARTS, "bar"),
        tenant=tenant if tenant and len(tenant) <= MAX_VALUE_LENGTH else None,
        cohort=cohort, learner=learner if learner and len(learner) <= MAX_VALUE_LENGTH else None,
        drill=_drill(params) if cohort else None, page=_page(params) if cohort else 1,
    )


def _drill(params: dict) -> tuple[str, str] | None:
    """The first well-formed ``cohort_<kind>`` of the URL."""
    for kind in DRILL_KINDS:
        found = drill_of(kind, (params.get(f"cohort_{kind}") or [None])[0])
        if found:
            return found
    return None


def drill_of(kind, value) -> tuple[str, str] | None:
    """``(kind, value)`` checked: a dimension and one of its values, or a granularity and a day (ISO); else None."""
    if kind in GRANULARITIES:
        day = _date(value) if isinstance(value, str) else None
        return (kind, day.isoformat()) if day else None
    if kind in DIMENSIONS and isinstance(value, str) and 0 < len(value) <= MAX_VALUE_LENGTH:
        return kind, value
    return None


def _page(params: dict) -> int:
    """The panel's page: a whole number, clamped to 1..``MAX_PAGE`` (malformed: the first)."""
    try:
        page = int((params.get("page") or ["1"])[0])
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


def token_of(search: str | None) -> str | None:
    """The ``token`` parameter of a query string (verified elsewhere, never trusted here)."""
    return (parse_qs(_text(search).lstrip("?")).get("token") or [None])[0]


def _text(search) -> str:
    """A query string sent back by the browser; a callback POST may put anything there."""
    return search if isinstance(search, str) else ""


def encode(state: ViewState, token: str | None) -> str:
    """The query string of ``state`` (token first, defaults left out): ``?token=...&...``."""
    default = ViewState()
    pairs: list[tuple[str, str]] = []
    if token:
        pairs.append(("token", token))
    if state.tenant:
        pairs.append(("tenant", state.tenant))
    if state.preset == "custom" and state.start and state.end:
        pairs += [("from", state.start.isoformat()), ("to", state.end.isoformat())]
    elif state.preset != default.preset:
        pairs.append(("range", state.preset))
    for dim in DIMENSIONS:
        pairs += [(dim, value) for value in state.filters.get(dim, ())]
    for name in ("granularity", "metric", "by", "chart"):
        if getattr(state, name) != getattr(default, name):
            pairs.append(("gran" if name == "granularity" else name, getattr(state, name)))
    if state.cohort:
        pairs.append(("cohort", state.cohort))
        if state.drill:
            pairs.append((f"cohort_{state.drill[0]}", state.drill[1]))
        if state.page > 1:
            pairs.append(("page", str(state.page)))
    if state.learner:
        pairs.append(("learner", state.learner))
    return "?" + urlencode(pairs) if pairs else ""


def resolve_range(state: ViewState, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The inclusive day range of the state; presets are relative to the data's ``as_of`` day."""
    if state.preset == "custom" and state.start and state.end:
        return state.start, state.end
    days = {"7d": 7, "30d": 30, "90d": 90}
    if state.preset in days:
        return as_of - dt.timedelta(days=days[state.preset] - 1), as_of
    if state.preset == "12m":
        try:
            year_ago = as_of.replace(year=as_of.year - 1)
        except ValueError:  # 29 February
            year_ago = as_of.replace(year=as_of.year - 1, day=28)
        return year_ago + dt.timedelta(days=1), as_of
    if state.preset == "ytd":
        return as_of.replace(month=1, day=1), as_of
    return resolve_range(replace(state, preset=DEFAULT_PRESET), as_of)


def granularity(state: ViewState, start: dt.date, end: dt.date) -> str:
    """The chosen granularity, or for ``auto`` the one the range calls for."""
    if state.granularity != "auto":
        return state.granularity
    days = (end - start).days + 1
    return "day" if days <= AUTO_DAY_MAX else "week" if days <= AUTO_WEEK_MAX else "month"
