"""What both data callbacks share: the per-chart guard, empty-state reasons, access errors."""
from __future__ import annotations

import logging

from dash import html

from app import answers, catalog
from app.auth import AuthError
from app.dates import RangeError
from app.views import TenantView
from callbacks.access import Unavailable
from layouts import figures, i18n

log = logging.getLogger("dataviz.dash")
COUNTS = tuple(m.name for m in catalog.METRICS if m.counted and not m.compliance)  # all zero: no event in the range


def guarded(name: str, build, theme: str, locale: str):
    """``build()``, or a figure saying this chart failed (logged with its stack, never shown)."""
    try:
        return build()
    except Exception:
        log.exception("chart %s failed", name)
        return figures.message(i18n.t(locale, "error.chart"), theme, locale)


def unknown_values(view: TenantView) -> dict[str, list[str]]:
    """Filter values the tenant does not have (from a hand-edited or stale link)."""
    known = answers.filter_values(view)
    out = {}
    for dim, values in view.filters.items():
        keys = {o["key"] for o in known.get(dim, [])}
        missing = [v for v in values if v not in keys]
        if missing:
            out[dim] = missing
    return out


def empty_reason(view: TenantView, values: dict | None) -> str | None:
    """Why the charts would be empty, in the viewer's language (None: they are not, or ``values`` is unknown)."""
    loc = view.locale
    unknown = unknown_values(view)
    for dim, missing in unknown.items():
        if len(missing) == len(view.filters[dim]):
            return i18n.t(loc, "empty.unknown", dim=i18n.dimension_label(loc, dim), values=", ".join(missing))
    if values is not None and not any(values.get(m) for m in COUNTS):
        return i18n.t(loc, "empty.range", start=i18n.date(view.start, loc, "medium"),
                      end=i18n.date(view.end, loc, "medium"))
    return None


def unknown_notes(view: TenantView):
    """A status line naming the filter values the tenant does not have (None when all are known)."""
    loc = view.locale
    notes = [i18n.t(loc, "empty.unknown", dim=i18n.dimension_label(loc, d), values=", ".join(v))
             for d, v in unknown_values(view).items()]
    return html.Div(notes, className="message message-info") if notes else None


def refusal(exc: AuthError | Unavailable | RangeError, locale: str = "en") -> tuple[str, html.Div]:
    """The text, and the status line, for a token that failed verification, a tenant without data or a
    range out of bounds (``locale``: the verified token's)."""
    if isinstance(exc, AuthError):
        text = i18n.t("en", "error.auth", detail=exc.detail)  # no trusted locale
    elif isinstance(exc, RangeError):
        text = i18n.t(locale, "error.range", detail=str(exc))
    else:
        text = i18n.t(exc.locale, exc.label_key)
    return text, html.Div(text, className="message message-error", role="alert")


def kpis_or_none(view: TenantView) -> dict | None:
    """The KPIs, or None when they cannot be computed (logged): the charts that do not need them still draw."""
    try:
        return answers.kpis(view)
    except Exception:
        log.exception("KPIs failed")
        return None
