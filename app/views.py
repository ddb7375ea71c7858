"""One resolver for both faces: a verified scope and a request become one ``TenantView``.

The JSON API (``app.api``: bearer credential + query parameters) and the
dashboards (``callbacks.access``: embed token + view state) verify their own
kind of credential, then call ``resolve``: the tenant is checked against the
scope, the request's one snapshot taken, the range resolved and the filters
narrowed by the scope's locked filters, always in that order. The view is what
``app.answers`` keys and memoises query answers by.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

from app.auth import Scope
from app.catalog import GRANULARITIES
from app.dates import check_range
from app.store import Snapshot
from app.catalog import ACTIVITY_METRICS, METRIC_NAMES
from app.view_state import DEFAULT_METRIC, ViewState, resolve_range

DateRange = Callable[[Snapshot], tuple[dt.date, dt.date]]
PICKER_OPTIONS = 50  # tenants the analyst's picker lists at once (``TenantView.tenant_choices``)


class NoSnapshot(Exception):
    """No snapshot is published yet (or, for an all-tenant scope, it holds no tenant)."""


class EmptyDrill(Exception):
    """A chart's point outside the view: a period outside its range, a value outside its filters or locks."""


class NoTenantData(Exception):
    """The tenant has no data in the live snapshot."""

    def __init__(self, tenant: str, snapshot: Snapshot):
        super().__init__(tenant)
        self.tenant = tenant
        self.version = snapshot.version


@dataclass(frozen=True)
class TenantView:
    """What one request may see and asks for: scope, snapshot, tenant, range and effective filters."""

    scope: Scope
    snapshot: Snapshot
    tenant: str
    start: dt.date | None = None
    end: dt.date | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # effective: locked ones included

    @property
    def locale(self) -> str:
        return self.scope.locale

    @property
    def theme(self) -> str:
        return self.scope.theme

    @property
    def timezone(self) -> str:
        """The tenant's time zone: its days, weeks, months and hours are local to it."""
        return self.snapshot.tenants[self.tenant].timezone

    @property
    def tenant_name(self) -> str:
        return self.snapshot.tenants[self.tenant].name

    def tenants(self) -> list[str]:
        """The tenants this viewer may pick from (one, unless an analyst)."""
        return sorted(self.snapshot.tenants) if self.scope.all_tenants else [self.tenant]

    def tenant_choices(self, search: str | None = None) -> list[tuple[str, str]]:
        """What the tenant picker lists, as (tenant id, display name): the tenants whose name or id contains
        ``search`` (any case), by name, at most ``PICKER_OPTIONS``, and always the view's own tenant (a picker
        whose value is not among its options clears it). A vendor's analyst may have thousands of tenants:
        sending them all with every page took 1.4 MB of JSON for 20,000 (``docs/benchmarks.md``); the picker
        asks for more as the analyst types."""
        tenants = self.snapshot.tenants
        wanted = (search or "").casefold()
        found = [t for t in self.tenants() if wanted in tenants[t].name.casefold() or wanted in t.casefold()]
        found.sort(key=lambda t: (tenants[t].name.casefold(), t))
        shown = found[:PICKER_OPTIONS]
        if self.tenant not in shown:
            shown.insert(0, self.tenant)
        return [(t, tenants[t].name) for t in shown]

    def over(self, start: dt.date, end: dt.date) -> "TenantView":
        """The same view over another range (the previous period of a comparison)."""
        return replace(self, start=start, end=end)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics the tenant has: those of assignments only when it has some (explore's picker)."""
        rows = self.snapshot.tenants[self.tenant].assignments
        return METRIC_NAMES if rows.stop > rows.start else ACTIVITY_METRICS

    def offered(self, state: ViewState) -> ViewState:
        """``state`` with a metric the tenant has: an assignment metric of a tenant without assignments (a
        crafted link, or the pick of another tenant's page) becomes the default metric."""
        return state if state.metric in self.metrics else replace(state, metric=DEFAULT_METRIC)

    def for_state(self, state: ViewState) -> "TenantView":
        """The view a dashboard state asks for: its range, its filters with every locked dimension at its lock.

        A dashboard never refuses a locked dimension's value (a stale link may
        carry one): it shows the lock instead. A range outside the bounds is
        refused (``app.dates.RangeError``), as the API refuses it.
        """
        start, end = resolve_range(state, self.snapshot.data_as_of)
        check_range(start, end)
        requested = {dim: values for dim, values in state.filters.items() if dim not in self.scope.filters}
        return replace(self, start=start, end=end, filters=self.scope.narrow(requested))

    def drilled(self, kind: str, value: str) -> "TenantView":
        """The view narrowed to a clicked chart point, never wider (``EmptyDrill`` when nothing is left).

        ``kind`` a granularity: the period holding the day ``value`` (a day, its ISO week, its month), clamped
        to the view's range. ``kind`` a dimension: ``value`` as that filter, within the filter already applied
        (the user's or a lock's): a value outside it would show learners the view does not.
        """
        if kind in GRANULARITIES:
            first, last = period(dt.date.fromisoformat(value), kind)
            start, end = max(first, self.start), min(last, self.end)
            if start > end:
                raise EmptyDrill(f"the {kind} of {value} is outside {self.start} to {self.end}")
            return replace(self, start=start, end=end)
        applied = self.filters.get(kind)
        if applied is not None and value not in applied:
            raise EmptyDrill(f"{kind} {value!r} is outside the filter {', '.join(applied)}")
        return replace(self, filters={**self.filters, kind: (value,)})


def period(day: dt.date, granularity: str) -> tuple[dt.date, dt.date]:
    """The first and last day of the period (day, ISO week, month) that ``day`` falls in."""
    if granularity == "week":
        first = day - dt.timedelta(days=day.weekday())
        return first, first + dt.timedelta(days=6)
    if granularity == "month":
        first = day.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return first, following - dt.timedelta(days=1)
    if granularity == "day":
        return day, day
    raise ValueError(f"no period {granularity!r}")


def resolve(scope: Scope, snapshot: Snapshot | None, tenant: str | None, *, pick: bool = False,
            dates: DateRange | None = None, filters: Mapping[str, Sequence[str]] | None = None) -> TenantView:
    """The view of ``tenant`` for ``scope`` in ``snapshot``.

    The order is the API's contract: the tenant is checked against the scope
    (AuthError 403), then the snapshot (``NoSnapshot``), then the tenant's data
    (``NoTenantData``), then the range (``dates``, whose own errors propagate),
    then the filters (``Scope.narrow``: 403 outside a lock). So a credential
    for another tenant learns nothing, not even whether that tenant exists.
    With ``pick`` (the dashboards), ``tenant`` is only a wish: an all-tenant
    scope gets it when the snapshot has it, else the first tenant; any other
    scope always gets its own.
    """
    if tenant is not None and not pick:
        scope.check_tenant(tenant)
    if snapshot is None:
        raise NoSnapshot()
    if pick:
        tenant = _picked(scope, snapshot, tenant)
        scope.check_tenant(tenant)
    if tenant not in snapshot.tenants:
        raise NoTenantData(tenant, snapshot)
    view = TenantView(scope, snapshot, tenant)
    if dates is not None:
        start, end = dates(snapshot)
        view = replace(view, start=start, end=end, filters=scope.narrow(filters or {}))
    return view


def _picked(scope: Scope, snapshot: Snapshot, wish: str | None) -> str:
    if not scope.all_tenants:
        (tenant,) = scope.tenants
        return tenant
    tenant = wish if wish in snapshot.tenants else min(snapshot.tenants, default=None)
    if tenant is None:
        raise NoSnapshot()
    return tenant
