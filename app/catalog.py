"""The one catalog of event types, dimensions and metrics: everything else derives from it.

Event types and dimensions are facts of the data, so they are declared in the
snapshot contract (``etl.snapshot_format``), which the ETL reads too; this
module adds what only the app needs (label keys), and declares the metrics.

The query engine (``app.queries``), the API's parameter enums and OpenAPI
document (``app.params``, ``app.openapi``), the labels and number formats
(``layouts.i18n``, ``layouts.figures``), the explore options and the callbacks
all read these declarations; docs/architecture.md shows how to add a metric
or a dimension. Only the test oracle (tests/support/oracle.py) keeps its own
definitions, on purpose: it is the independent check.

Plain data, no Flask, Dash or pandas: any layer may import it.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from etl import snapshot_format
from etl.snapshot_format import EVENT_TYPES, TRAINING, UNKNOWN, USER  # UNKNOWN: the dashboards translate it

CONNECTION, ENROLMENT, START, COMPLETION = (EVENT_TYPES.index(name)
                                            for name in ("connection", "enrolment", "start", "completion"))
COUNT, DISTINCT, RATE, AVERAGE, HOURS = "count", "distinct", "rate", "average", "hours"  # how a metric computes
ASSIGNMENT = "assignment"  # computed from the assignments frame, not the events (``app.compliance``)
INTEGER, DECIMAL, PERCENT = "integer", "decimal", "percent"  # how a metric's value is written


@dataclass(frozen=True)
class Dimension(snapshot_format.Dimension):
    """A filter and breakdown: an attribute of the user (``side`` USER) or of the training behind each event.

    A coded dimension is the column of its name in the ``users`` or
    ``trainings`` frame (labels in the manifest's dictionaries); otherwise
    ``key_column``/``label_column`` name the frame's columns that hold the key
    and its label as they are (the training id and its title).
    """

    @property
    def label_key(self) -> str:
        return f"dim.{self.name}"


@dataclass(frozen=True)
class Metric:
    """One learning metric of docs/metrics.md.

    ``kind`` says how ``app.queries`` computes it over the ``events`` it reads:
    COUNT sums the ``n`` column; DISTINCT counts distinct users (``per`` "user")
    or (user, training) pairs; RATE is the share of distinct pairs whose
    boolean ``column`` is set; AVERAGE is ``<column>_sum / <column>_n``;
    HOURS sums ``duration`` in hours. ASSIGNMENT metrics read no events: ``app.compliance`` computes
    each from the assignments, per assignment or (``per`` "user") per distinct learner.
    """

    name: str
    kind: str
    events: tuple[str, ...]
    number_format: str = INTEGER
    per: str = "pair"  # DISTINCT: "user" or "pair"; ASSIGNMENT: "assignment" or "user"
    column: str | None = None  # RATE and AVERAGE only
    lower_is_better: bool = False  # a rise is bad news (overdue assignments): the dashboards colour it so
    ranged: bool = True  # False: the same whatever the range (due soon, at risk: as of data_as_of)

    @property
    def label_key(self) -> str:
        return f"metric.{self.name}"

    @property
    def event_codes(self) -> tuple[int, ...]:
        return tuple(EVENT_TYPES.index(e) for e in self.events)

    @property
    def counted(self) -> bool:
        """A count of things (events, learners, pairs): an empty range has zero of each."""
        return self.kind in (COUNT, DISTINCT) or (self.kind == ASSIGNMENT and self.number_format == INTEGER)

    @property
    def additive(self) -> bool:
        """Slices add up to something meaningful, so a pie chart can show it (not a rate or an average)."""
        return self.kind in (COUNT, DISTINCT, HOURS) or (self.kind == ASSIGNMENT and self.per == "assignment"
                                                          and self.number_format == INTEGER)

    @property
    def without_training(self) -> bool:
        """It reads only events that carry no training: none under a training-side filter or breakdown."""
        return bool(self.events) and all(e == EVENT_TYPES[CONNECTION] for e in self.events)

    @property
    def compliance(self) -> bool:
        """An assignment metric: null for a tenant without assignments, its range is one of due dates."""
        return self.kind == ASSIGNMENT


DIMENSIONS: tuple[Dimension, ...] = tuple(Dimension(**{f.name: getattr(d, f.name) for f in fields(d)})
                                          for d in snapshot_format.DIMENSIONS)

METRICS: tuple[Metric, ...] = (
    Metric("connections", COUNT, ("connection",)),
    Metric("active_learners", DISTINCT, ("connection", "start", "completion"), per="user"),
    Metric("enrolments", DISTINCT, ("enrolment",)),
    Metric("starts", DISTINCT, ("start",)),
    Metric("completions", DISTINCT, ("completion",)),
    Metric("completion_rate", RATE, ("enrolment",), PERCENT, column="completed"),
    Metric("avg_score", AVERAGE, ("completion",), DECIMAL, column="score"),
    Metric("learning_hours", HOURS, EVENT_TYPES, DECIMAL),
    Metric("assignments_due", ASSIGNMENT, (), per="assignment"),
    Metric("completed_on_time", ASSIGNMENT, (), per="assignment"),
    Metric("completed_late", ASSIGNMENT, (), per="assignment", lower_is_better=True),
    Metric("overdue", ASSIGNMENT, (), per="assignment", lower_is_better=True),
    Metric("on_time_rate", ASSIGNMENT, (), PERCENT, per="assignment"),
    Metric("due_soon", ASSIGNMENT, (), per="assignment", ranged=False),
    Metric("at_risk_learners", ASSIGNMENT, (), per="user", lower_is_better=True, ranged=False),
)

GRANULARITIES = ("day", "week", "month")  # a time series has one point per period

METRIC = {m.name: m for m in METRICS}
DIMENSION = {d.name: d for d in DIMENSIONS}
METRIC_NAMES = tuple(METRIC)
ACTIVITY_METRICS = tuple(m.name for m in METRICS if not m.compliance)  # the v1 metrics, from the events
COMPLIANCE_METRICS = tuple(m.name for m in METRICS if m.compliance)  # from the assignments
DIMENSION_NAMES = tuple(DIMENSION)
USER_DIMENSIONS = tuple(d.name for d in DIMENSIONS if d.side == USER)
TRAINING_DIMENSIONS = tuple(d.name for d in DIMENSIONS if d.side == TRAINING)


def label_keys() -> list[str]:
    """Every label key the catalog needs in each locale (tests check that layouts.i18n has them all)."""
    return [m.label_key for m in METRICS] + [d.label_key for d in DIMENSIONS]
