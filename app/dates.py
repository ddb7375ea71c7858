"""One set of date bounds and one date parser for the API, the dashboards' URLs and their callbacks.

The API used to cap a range at 3 years while the dashboards took any day from
year 1 to 9999: one explore callback for 1900 to 9999 by day ran 72 s and
answered 145 MB. Every range now goes through ``check_range``, whatever face
asked for it. Flask-free (``app.view_state`` uses it, and layouts import that).
"""
from __future__ import annotations

import datetime as dt
import re

MAX_RANGE_DAYS = 1096  # three years, a leap day included
MIN_DATE, MAX_DATE = dt.date(1900, 1, 1), dt.date(2999, 12, 31)  # keeps previous periods representable
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class RangeError(ValueError):
    """A date or a range outside the bounds: the client's question, refused (400, or a message on the page)."""


def parse_day(text) -> dt.date:
    """A ``YYYY-MM-DD`` calendar day (ValueError naming the fault); the bounds are ``check_day``'s."""
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise ValueError(f"{str(text)[:40]!r} is not a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text} is not a valid calendar date") from None


def check_day(day: dt.date) -> dt.date:
    if not MIN_DATE <= day <= MAX_DATE:
        raise RangeError(f"must be between {MIN_DATE} and {MAX_DATE}")
    return day


def check_range(start: dt.date, end: dt.date) -> None:
    """Refuse (``RangeError``) a day outside the bounds, a reversed range or one over ``MAX_RANGE_DAYS``."""
    for day in (start, end):
        if not MIN_DATE <= day <= MAX_DATE:
            raise RangeError(f"{day} is outside {MIN_DATE} to {MAX_DATE}")
    if start > end:
        raise RangeError(f"from ({start}) is after to ({end})")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise RangeError(f"the range {start} to {end} spans {days} days; at most {MAX_RANGE_DAYS}")
