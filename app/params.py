"""Query parameters of the JSON API, defined once.

Each ``Param`` says how to parse one value and what its OpenAPI schema is, so
the validator and the OpenAPI document (``app.openapi``) cannot disagree.
Validation collects every fault before answering, so one 400 names each
invalid parameter; unknown parameters are refused too, so a typo such as
``grup=Sales`` is never silently ignored.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from app import learners, queries
from app.dates import MAX_RANGE_DAYS, RangeError, check_day, check_range, parse_day
from app.problems import invalid

MAX_FILTER_VALUE = 200
COMPARE_VALUES = ("previous",)
_INTEGER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    schema: dict  # OpenAPI schema of one value
    parse: Callable[[str], object]  # raises ValueError(reason)
    repeatable: bool = False
    required: bool = False


def _date(text: str) -> dt.date:
    return check_day(parse_day(text))


def _choice(allowed: Sequence[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"{text[:40]!r} is not one of {', '.join(allowed)}")
        return text
    return parse


def _limit(text: str) -> int:
    value = int(text) if _INTEGER.fullmatch(text) else 0
    if not 1 <= value <= queries.MAX_LIMIT:
        raise ValueError(f"must be an integer between 1 and {queries.MAX_LIMIT}")
    return value


def _filter_value(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    if len(text) > MAX_FILTER_VALUE:
        raise ValueError(f"a value is {len(text)} characters long; at most {MAX_FILTER_VALUE}")
    return text


DATE_SCHEMA = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
FROM = Param("from", "First day of the range (UTC, included). Default: 30 days before `to`, "
             "or the 30 days ending at `data_as_of` when neither is given.", DATE_SCHEMA, _date)
TO = Param("to", "Last day of the range (UTC, included). Default: `data_as_of`. "
           f"The range spans at most {MAX_RANGE_DAYS} days.", DATE_SCHEMA, _date)
FILTERS = tuple(
    Param(dim, f"Keep only this {dim} (repeat for several: OR within a filter, AND across filters).",
          {"type": "string", "minLength": 1, "maxLength": MAX_FILTER_VALUE}, _filter_value, repeatable=True)
    for dim in queries.DIMENSIONS)
METRIC = Param("metric", "The metric (see metrics.md).", {"type": "string", "enum": list(queries.METRICS)},
               _choice(queries.METRICS), required=True)
GRANULARITY = Param("granularity", "One point per day, ISO week (labelled by its Monday) or month.",
                    {"type": "string", "enum": list(queries.GRANULARITIES)}, _choice(queries.GRANULARITIES),
                    required=True)
BY = Param("by", "The dimension to break the metric down by.", {"type": "string", "enum": list(queries.DIMENSIONS)},
           _choice(queries.DIMENSIONS), required=True)
LIMIT = Param("limit", "Number of rows, the largest values first.",
              {"type": "integer", "minimum": 1, "maximum": queries.MAX_LIMIT, "default": queries.DEFAULT_LIMIT},
              _limit)
COMPARE = Param("compare", "`previous`: also answer for the range of the same length that ends the day "
                "before `from`.", {"type": "string", "enum": list(COMPARE_VALUES)}, _choice(COMPARE_VALUES))

COHORT = Param("cohort", "Which learners: those counted by `active_learners` (default), with a connection, an "
               "enrolment, a start or a completion in the range, or enrolled in the range and never completed; "
               "with an overdue assignment (`overdue`, whatever its due date), counted by `at_risk_learners` "
               "(`at_risk`), with an assignment due soon (`due_soon`) or due in the range (`due`). The last four "
               "are a 400 for a tenant without assignments.",
               {"type": "string", "enum": list(learners.COHORTS), "default": learners.DEFAULT_COHORT},
               _choice(learners.COHORTS))
SORT = Param("sort", "The column to sort by; ties by `user_id` ascending, empty values last in either order.",
             {"type": "string", "enum": list(learners.COLUMNS), "default": learners.DEFAULT_SORT},
             _choice(learners.COLUMNS))
ORDER = Param("order", "`asc` or `desc`. Default: `asc` for user_id, name, group and country; `desc` for the "
              "numbers and `last_activity`.", {"type": "string", "enum": list(learners.ORDERS)},
              _choice(learners.ORDERS))
MAX_CURSOR = 512


def _page_size(text: str) -> int:
    value = int(text) if _INTEGER.fullmatch(text) else 0
    if not 1 <= value <= learners.MAX_LIMIT:
        raise ValueError(f"must be an integer between 1 and {learners.MAX_LIMIT}")
    return value


def _cursor(text: str) -> str:
    if not 0 < len(text) <= MAX_CURSOR:
        raise ValueError(f"must be the next_cursor of a previous page (1 to {MAX_CURSOR} characters)")
    return text


PAGE_SIZE = Param("limit", "Learners per page.", {"type": "integer", "minimum": 1, "maximum": learners.MAX_LIMIT,
                                                  "default": learners.DEFAULT_LIMIT}, _page_size)
CURSOR = Param("cursor", "The `next_cursor` of the previous page, with the same query: the next page.",
               {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR}, _cursor)
DOWNLOADS = ("csv", "xlsx")
# ``format`` is both the training-format filter and, on the learners route, the download's file format
# (docs/api.md): there the values csv and xlsx ask for a file, and any other value filters (``take_download``).
FORMAT_OR_DOWNLOAD = next(
    Param(p.name, "`csv` or `xlsx`: the whole list as a file download instead of a page (no `limit` or "
          "`cursor`). Any other value keeps only this training format, as everywhere (repeat for several).",
          p.schema, p.parse, repeatable=True) for p in FILTERS if p.name == "format")

RANGE = (FROM, TO, *FILTERS)
ROUTES: dict[str, tuple[Param, ...]] = {
    "kpis": (*RANGE, COMPARE),
    "timeseries": (METRIC, GRANULARITY, *RANGE),
    "breakdown": (METRIC, BY, LIMIT, *RANGE),
    "heatmap": RANGE,
    "learners": (COHORT, SORT, ORDER, PAGE_SIZE, CURSOR,
                 *(FORMAT_OR_DOWNLOAD if p.name == FORMAT_OR_DOWNLOAD.name else p for p in RANGE)),
    "learners/{user_id}": FILTERS,  # one learner: training-side filters apply, the range does not
}


def parse(args, params: Sequence[Param]) -> dict:
    """The values of ``params`` in ``args`` (a MultiDict), or a 400 naming every bad one.

    Repeatable parameters come back as lists (empty when absent), the others
    as one value or ``None``.
    """
    known = {p.name: p for p in params}
    errors = [(name, "unknown parameter; " + (f"this route takes {', '.join(known)}" if known
                                              else "this route takes none"))
              for name in args if name not in known]
    values: dict[str, object] = {}
    for p in params:
        raw = args.getlist(p.name)
        if len(raw) > 1 and not p.repeatable:
            errors.append((p.name, "given more than once; it takes one value"))
            continue
        if not raw and p.required:
            errors.append((p.name, "is required"))
        parsed = []
        for text in raw:
            try:
                parsed.append(p.parse(text))
            except ValueError as exc:
                errors.append((p.name, str(exc)))
        values[p.name] = parsed if p.repeatable else (parsed[0] if parsed else None)
    if errors:
        raise invalid(errors)
    return values


def date_range(values: Mapping[str, object], default: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """``from``/``to`` with their defaults; a 400 when reversed or longer than ``MAX_RANGE_DAYS``."""
    default_start, default_end = default
    end = values.get("to") or default_end
    start = values.get("from") or end - (default_end - default_start)
    try:
        check_range(start, end)
    except RangeError as exc:
        raise invalid([(name, str(exc)) for name in ("from", "to") if values.get(name)]) from None
    return start, end


def take_download(values: dict) -> str | None:
    """The file format a learners request asks for (``csv``, ``xlsx``) or None, taken out of the ``format``
    filter's values; a 400 when it asks for both."""
    asked = [v for v in values.get(FORMAT_OR_DOWNLOAD.name) or [] if v in DOWNLOADS]
    if len(set(asked)) > 1:
        raise invalid([(FORMAT_OR_DOWNLOAD.name, "asks for both csv and xlsx; a download has one file format")])
    values[FORMAT_OR_DOWNLOAD.name] = [v for v in values.get(FORMAT_OR_DOWNLOAD.name) or [] if v not in DOWNLOADS]
    return asked[0] if asked else None


def filters(values: Mapping[str, object]) -> dict[str, list[str]]:
    """The filters asked for, before the credential's locked filters are applied."""
    return {dim: values[dim] for dim in queries.DIMENSIONS if values.get(dim)}
