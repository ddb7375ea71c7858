"""Independent reference ("oracle") for the Dataviz metrics.

Written only from the definitions in ``docs/data-contract.md`` and ``docs/metrics.md``:
it loads the raw export CSVs of one local export folder into an in-memory
DuckDB database and answers every question with plain SQL over the individual
events (no pre-aggregation), so that tests can compare the product against it.

Pipeline (all in :meth:`Oracle.__init__`):

1. ``raw_activity``: ``activity.csv[.gz]`` read with every column as VARCHAR,
   in file order (``rowid``).
2. ``parsed``: every row with its typed values and ``reject_reason`` (NULL when
   the row is valid) from the contract's row rules.
3. ``events``: the valid rows, minus the duplicates (a non-empty ``event_id``
   already seen on an earlier valid row).
4. ``facts``: ``events`` joined with the user and training dimensions, with
   ``Unknown`` / ``training_id`` substituted for missing labels, and the local
   day and time in the tenant's zone (``tenants``: the last valid row of
   ``tenants.csv``, UTC for a tenant without one), converted by DuckDB's own
   time zone database (``timezone()``).

Every metric query then goes through :meth:`Oracle._grouped`, whose WHERE clause
comes from :meth:`Oracle._where` (tenant + filters + day range).

5. ``assignments``: the valid rows of ``assignments.csv`` (the last of each
   (tenant, user, training)), their instants in UTC (a date alone: the start, or
   the end, of that day in the tenant's zone), their due local day, their
   earliest completion and whether they were started, the learner's and the
   training's labels, ``now`` (the end of ``data_as_of`` in the tenant's zone),
   the end of the due-soon window and whether the learner had no event in the
   14 local days ending at ``data_as_of``. The assignment metrics are SQL over it
   (:meth:`Oracle._assignment_values`), and so are the learners' assignment
   columns, cohorts and trainings (:meth:`Oracle.learners`, :meth:`Oracle.learner_trainings`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from typing import Any

from zoneinfo import ZoneInfo

import duckdb

USER_DIMS = ("group", "country")
TRAINING_DIMS = ("training", "category", "format")
DIMENSIONS = USER_DIMS + TRAINING_DIMS
# Column of ``facts`` holding the key of each dimension.
DIM_COLUMN = {
    "group": '"group"',
    "country": "country",
    "training": "training_id",
    "category": "category",
    "format": "format",
}

ASSIGNMENT_COUNTS = ("assignments_due", "completed_on_time", "completed_late", "overdue", "due_soon",
                     "at_risk_learners")
ASSIGNMENT_METRICS = ASSIGNMENT_COUNTS + ("on_time_rate",)
COUNT_METRICS = ("connections", "active_learners", "enrolments", "starts", "completions") + ASSIGNMENT_COUNTS
ACTIVITY_METRICS = ("connections", "active_learners", "enrolments", "starts", "completions", "completion_rate",
                    "avg_score", "learning_hours")
METRICS = ACTIVITY_METRICS + ASSIGNMENT_METRICS
GRANULARITIES = ("day", "week", "month")
ASSIGNMENT_COHORTS = ("overdue", "at_risk", "due_soon", "due")  # the last two: docs/api.md's additions
LEARNER_COHORTS = ("active", "connected", "enrolled", "started", "completed", "not_completed") + ASSIGNMENT_COHORTS
EVENT_TYPES = ("connection", "enrolment", "start", "completion")
UNKNOWN = "Unknown"

# One SQL aggregate per metric, evaluated over the selected events of a group.
# Columns available: user_id, training_id, event_type, score, duration_s and
# pair_completed (the (user, training) pair has a completion anywhere in the export).
PAIR = "(user_id, training_id)"
METRIC_SQL = {
    "connections": "count(*) FILTER (WHERE event_type = 'connection')",
    "active_learners": "count(DISTINCT user_id) FILTER (WHERE event_type <> 'enrolment')",
    "enrolments": f"count(DISTINCT {PAIR}) FILTER (WHERE event_type = 'enrolment')",
    "starts": f"count(DISTINCT {PAIR}) FILTER (WHERE event_type = 'start')",
    "completions": f"count(DISTINCT {PAIR}) FILTER (WHERE event_type = 'completion')",
    "completion_rate": (
        f"count(DISTINCT {PAIR}) FILTER (WHERE event_type = 'enrolment' AND pair_completed)"
        f" / nullif(count(DISTINCT {PAIR}) FILTER (WHERE event_type = 'enrolment'), 0)"
    ),
    # avg() skips NULL scores; NULL when no completion carries a score.
    "avg_score": "avg(score) FILTER (WHERE event_type = 'completion')",
    "learning_hours": "coalesce(sum(duration_s), 0) / 3600.0",
}

# ISO 8601 timestamp: date, 'T' (or a space), HH:MM[:SS[.fraction]], then 'Z',
# '+HH:MM' / '-HH:MM' (or '+HHMM'), or nothing (= UTC).
TS_RE = (
    r"^(\d{4}-\d{2}-\d{2})[T ]"
    r"((?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)"
    r"(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$"
)
TENANT_RE = r"^[A-Za-z0-9_.-]{1,64}$"
NUMBER_RE = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
INTEGER_RE = r"^[0-9]+$"

ACTIVITY_COLUMNS = ("event_id", "occurred_at", "tenant_id", "user_id", "event_type", "training_id", "score", "duration_s")
USER_COLUMNS = ("tenant_id", "user_id", "group", "country", "name")
TRAINING_COLUMNS = ("tenant_id", "training_id", "title", "category", "format")
TENANT_COLUMNS = ("tenant_id", "name", "timezone")
ASSIGNMENT_COLUMNS = ("tenant_id", "user_id", "training_id", "assigned_at", "due_at")
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"

# The assignment metrics over the rows of ``assignments`` (one per assignment); ``in_range``: due in the range.
DONE = "completed_utc IS NOT NULL"
SOON = f"NOT ({DONE}) AND due_utc > now_utc AND due_utc <= soon_utc"
ASSIGNMENT_SQL = {
    "assignments_due": "count(*) FILTER (WHERE in_range)",
    "completed_on_time": f"count(*) FILTER (WHERE in_range AND {DONE} AND completed_utc <= due_utc)",
    "completed_late": f"count(*) FILTER (WHERE in_range AND {DONE} AND completed_utc > due_utc)",
    "overdue": f"count(*) FILTER (WHERE in_range AND NOT ({DONE}) AND due_utc <= now_utc)",
    "due_soon": f"count(*) FILTER (WHERE {SOON})",
    "at_risk_learners": f"count(DISTINCT user_id) FILTER (WHERE {SOON} AND (NOT started OR inactive))",
}
ASSIGNMENT_SQL["on_time_rate"] = (
    f"{ASSIGNMENT_SQL['completed_on_time']} / nullif({ASSIGNMENT_SQL['completed_on_time']}"
    f" + {ASSIGNMENT_SQL['completed_late']} + {ASSIGNMENT_SQL['overdue']}, 0)")
# the rows a breakdown row needs: due in the range, or due soon for the two that ignore the range
ASSIGNMENT_PRESENT = {m: "in_range" for m in ASSIGNMENT_METRICS} | {"due_soon": SOON, "at_risk_learners": SOON}


def _sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _find(export_dir: str, name: str) -> str | None:
    """Path of ``name.csv`` or ``name.csv.gz`` in the export folder, or None."""
    for candidate in (f"{name}.csv", f"{name}.csv.gz"):
        path = os.path.join(export_dir, candidate)
        if os.path.exists(path):
            return path
    return None


def _period_start(day: dt.date, granularity: str) -> dt.date:
    """Natural start of the period holding ``day`` (the day, its ISO Monday, the 1st)."""
    if granularity == "day":
        return day
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(start: dt.date, granularity: str) -> dt.date:
    """Natural start of the period after the one starting on ``start``."""
    if granularity == "day":
        return start + dt.timedelta(days=1)
    if granularity == "week":
        return start + dt.timedelta(days=7)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _python_value(metric: str, value: Any) -> Any:
    """int for counts, float for rates/averages/hours, None stays None."""
    if value is None:
        return None
    return int(value) if metric in COUNT_METRICS else float(value)


def _empty_value(metric: str) -> Any:
    """Value of a metric over no event at all."""
    if metric in COUNT_METRICS:
        return 0
    if metric in ASSIGNMENT_METRICS:
        return None  # the rate
    if metric == "learning_hours":
        return 0.0
    return None  # completion_rate, avg_score


class Oracle:
    """Reference metrics computed directly over the raw CSVs of one export folder.

    ``reject_connection_with_training``: the contract says ``training_id`` must be
    empty on a ``connection``; by default such a row is rejected as malformed.
    """

    def __init__(self, export_dir: str, *, reject_connection_with_training: bool = True):
        self.con = duckdb.connect()
        self.con.execute("SET threads = 1")  # keep file order on load
        self.con.execute("SET preserve_insertion_order = true")
        activity = _find(export_dir, "activity")
        if activity is None:
            raise FileNotFoundError(f"no activity.csv[.gz] in {export_dir}")
        self._load_csv("raw_activity", activity, ACTIVITY_COLUMNS)
        self._load_csv("raw_users", _find(export_dir, "users"), USER_COLUMNS)
        self._load_csv("raw_trainings", _find(export_dir, "trainings"), TRAINING_COLUMNS)
        self._load_csv("raw_tenants", _find(export_dir, "tenants"), TENANT_COLUMNS)
        self._load_csv("raw_assignments", _find(export_dir, "assignments"), ASSIGNMENT_COLUMNS)
        self._build_parsed(reject_connection_with_training)
        self._build_dimensions()
        self._build_events()
        self._build_facts()
        folder = os.path.basename(os.path.normpath(export_dir))
        self._build_assignments(dt.date.fromisoformat(folder) if len(folder) == 10 and folder[4] == "-" else None)

    # ------------------------------------------------------------------ loading

    def _load_csv(self, table: str, path: str | None, columns: tuple[str, ...]) -> None:
        """Create ``table`` with exactly ``columns`` (VARCHAR) in file order.

        Column order in the file does not matter, extra columns are ignored, a
        column absent from the file (or a file absent) gives NULLs. Empty values
        are NULL. Lines with a wrong number of fields are skipped.
        """
        if path is None:
            cols = ", ".join(f'CAST(NULL AS VARCHAR) AS "{c}"' for c in columns)
            self.con.execute(f"CREATE TABLE {table} AS SELECT CAST(NULL AS BIGINT) AS row_no, {cols} WHERE false")
            return
        self.con.execute(
            f"CREATE TABLE {table}_file AS SELECT * FROM read_csv({_sql_str(path)}, header = true, "
            "all_varchar = true, delim = ',', quote = '\"', escape = '\"', ignore_errors = true)"
        )
        present = {row[1] for row in self.con.execute(f"PRAGMA table_info('{table}_file')").fetchall()}
        cols = ", ".join(
            f'nullif("{c}", \'\') AS "{c}"' if c in present else f'CAST(NULL AS VARCHAR) AS "{c}"'
            for c in columns
        )
        # rowid of the _file table is the file order.
        self.con.execute(f"CREATE TABLE {table} AS SELECT rowid AS row_no, {cols} FROM {table}_file ORDER BY rowid")

    def _build_parsed(self, reject_connection_with_training: bool) -> None:
        """Typed activity rows with the reason each bad row is rejected (NULL = valid)."""
        ts = _sql_str(TS_RE)
        training_on_connection = "event_type = 'connection' AND training_id IS NOT NULL"
        if not reject_connection_with_training:
            training_on_connection = "false"
        self.con.execute(f"""
            CREATE TABLE parsed AS
            WITH typed AS (
                SELECT row_no, event_id, occurred_at, tenant_id, user_id,
                       lower(event_type) AS event_type, training_id,
                       score AS score_text, duration_s AS duration_text,
                       -- local wall-clock time, then its offset in minutes
                       TRY_CAST(regexp_extract(occurred_at, {ts}, 1) || ' ' || regexp_extract(occurred_at, {ts}, 2)
                                AS TIMESTAMP) AS local_ts,
                       regexp_extract(occurred_at, {ts}, 3) AS offset_text,
                       CASE WHEN regexp_matches(score, {_sql_str(NUMBER_RE)}) THEN TRY_CAST(score AS DOUBLE) END AS score,
                       CASE WHEN regexp_matches(duration_s, {_sql_str(INTEGER_RE)})
                            THEN TRY_CAST(duration_s AS BIGINT) END AS duration_s
                FROM raw_activity
            ),
            with_utc AS (
                SELECT *,
                       local_ts - to_minutes(CASE WHEN offset_text IN ('', 'Z') THEN 0
                           ELSE (CASE WHEN offset_text[1] = '-' THEN -1 ELSE 1 END)
                                * (CAST(offset_text[2:3] AS INTEGER) * 60
                                   + CAST(right(offset_text, 2) AS INTEGER)) END) AS occurred_utc
                FROM typed
            )
            SELECT *,
                CASE
                    WHEN occurred_at IS NULL THEN 'occurred_at: missing'
                    WHEN occurred_utc IS NULL THEN 'occurred_at: unparsable'
                    WHEN tenant_id IS NULL THEN 'tenant_id: missing'
                    WHEN NOT regexp_matches(tenant_id, {_sql_str(TENANT_RE)}) THEN 'tenant_id: malformed'
                    WHEN user_id IS NULL THEN 'user_id: missing'
                    WHEN event_type IS NULL THEN 'event_type: missing'
                    WHEN event_type NOT IN {EVENT_TYPES} THEN 'event_type: unknown'
                    WHEN event_type <> 'connection' AND training_id IS NULL THEN 'training_id: missing'
                    WHEN {training_on_connection} THEN 'training_id: set on a connection'
                    WHEN score_text IS NOT NULL AND score IS NULL THEN 'score: not a number'
                    WHEN score_text IS NOT NULL AND NOT (score BETWEEN 0 AND 100) THEN 'score: out of 0..100'
                    WHEN duration_text IS NOT NULL AND regexp_matches(duration_text, '^-[0-9]+$')
                        THEN 'duration_s: negative'
                    WHEN duration_text IS NOT NULL AND duration_s IS NULL THEN 'duration_s: not an integer'
                END AS reject_reason
            FROM with_utc
        """)

    def _build_events(self) -> None:
        """Valid rows, keeping only the first (file order) of each non-empty event_id."""
        self.con.execute("""
            CREATE TABLE events AS
            WITH valid AS (
                SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY row_no) AS nth_of_id
                FROM parsed WHERE reject_reason IS NULL
            )
            , kept AS (
                SELECT v.*, timezone(coalesce(t.timezone, 'UTC'), v.occurred_utc AT TIME ZONE 'UTC') AS occurred_local
                FROM valid v LEFT JOIN tenants t ON t.tenant_id = v.tenant_id
                WHERE v.event_id IS NULL OR v.nth_of_id = 1
            )
            SELECT row_no, event_id, tenant_id, user_id, event_type,
                   CASE WHEN event_type = 'connection' THEN NULL ELSE training_id END AS training_id,
                   score, duration_s, occurred_utc, occurred_local, CAST(occurred_local AS DATE) AS day
            FROM kept
            ORDER BY row_no
        """)

    def _build_dimensions(self) -> None:
        """One row per (tenant, user) and (tenant, training): the first one in the file. One per tenant:
        the last row with a good tenant_id and a time zone DuckDB knows (or none: UTC)."""
        self.con.execute(f"""
            CREATE TABLE tenants AS
            SELECT tenant_id, coalesce(name, tenant_id) AS name, coalesce(timezone, 'UTC') AS timezone
            FROM raw_tenants
            WHERE regexp_matches(tenant_id, {_sql_str(TENANT_RE)})
              AND (timezone IS NULL OR timezone IN (SELECT name FROM pg_timezone_names()))
            QUALIFY row_number() OVER (PARTITION BY tenant_id ORDER BY row_no DESC) = 1
        """)
        self.con.execute("""
            CREATE TABLE users AS
            SELECT tenant_id, user_id,
                   coalesce("group", 'Unknown') AS "group", coalesce(country, 'Unknown') AS country,
                   -- the display name: at most 200 characters, the user_id when empty or blank
                   CASE WHEN trim(coalesce(name, '')) = '' THEN user_id ELSE left(name, 200) END AS name
            FROM raw_users
            WHERE tenant_id IS NOT NULL AND user_id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY tenant_id, user_id ORDER BY row_no) = 1
        """)
        self.con.execute("""
            CREATE TABLE trainings AS
            SELECT tenant_id, training_id, coalesce(title, training_id) AS title,
                   coalesce(category, 'Unknown') AS category, coalesce(format, 'Unknown') AS format
            FROM raw_trainings
            WHERE tenant_id IS NOT NULL AND training_id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY tenant_id, training_id ORDER BY row_no) = 1
        """)

    def _build_facts(self) -> None:
        """Events with their labels; training columns stay NULL on connections."""
        self.con.execute("""
            CREATE TABLE facts AS
            SELECT e.*,
                   coalesce(u."group", 'Unknown') AS "group",
                   coalesce(u.country, 'Unknown') AS country,
                   CASE WHEN e.training_id IS NOT NULL THEN coalesce(t.title, e.training_id) END AS title,
                   CASE WHEN e.training_id IS NOT NULL THEN coalesce(t.category, 'Unknown') END AS category,
                   CASE WHEN e.training_id IS NOT NULL THEN coalesce(t.format, 'Unknown') END AS format
            FROM events e
            LEFT JOIN users u ON u.tenant_id = e.tenant_id AND u.user_id = e.user_id
            LEFT JOIN trainings t ON t.tenant_id = e.tenant_id AND t.training_id = e.training_id
        """)

    @staticmethod
    def _instant_sql(column: str, end_of_day: bool) -> str:
        """A date-or-timestamp text as a UTC TIMESTAMP: a date alone starts (or ends) in the row's ``zone``."""
        ts = _sql_str(TS_RE)
        local_day = f"TRY_CAST({column} AS DATE)" + (" + 1" if end_of_day else "")
        day_edge = (f"timezone('UTC', timezone(zone, CAST({local_day} AS TIMESTAMP)))"
                    + (" - INTERVAL 1 MICROSECOND" if end_of_day else ""))
        local = (f"TRY_CAST(regexp_extract({column}, {ts}, 1) || ' ' || regexp_extract({column}, {ts}, 2)"
                 " AS TIMESTAMP)")
        offset = f"regexp_extract({column}, {ts}, 3)"
        minutes = (f"CASE WHEN {offset} IN ('', 'Z') THEN 0 ELSE (CASE WHEN {offset}[1] = '-' THEN -1 ELSE 1 END)"
                   f" * (CAST({offset}[2:3] AS INTEGER) * 60 + CAST(right({offset}, 2) AS INTEGER)) END")
        return (f"CASE WHEN regexp_matches({column}, {_sql_str(DATE_RE)}) THEN {day_edge}"
                f" ELSE {local} - to_minutes({minutes}) END")

    def _build_assignments(self, export_date: dt.date | None) -> None:
        """The valid assignments (last row of each key), with everything the assignment metrics read.

        ``data_as_of`` is the last UTC day with an event, but not after the export's date (its folder's name).
        """
        self.con.execute(f"""
            CREATE TABLE parsed_assignments AS
            WITH zoned AS (
                SELECT a.*, coalesce(t.timezone, 'UTC') AS zone
                FROM raw_assignments a LEFT JOIN tenants t ON t.tenant_id = a.tenant_id
            ), typed AS (
                SELECT *, {self._instant_sql('assigned_at', False)} AS assigned_utc,
                       {self._instant_sql('due_at', True)} AS due_utc
                FROM zoned
            )
            SELECT *,
                CASE
                    WHEN tenant_id IS NULL THEN 'tenant_id: missing'
                    WHEN NOT regexp_matches(tenant_id, {_sql_str(TENANT_RE)}) THEN 'tenant_id: malformed'
                    WHEN user_id IS NULL THEN 'user_id: missing'
                    WHEN training_id IS NULL THEN 'training_id: missing'
                    WHEN assigned_at IS NULL THEN 'assigned_at: missing'
                    WHEN assigned_utc IS NULL THEN 'assigned_at: malformed'
                    WHEN due_at IS NOT NULL AND due_utc IS NULL THEN 'due_at: malformed'
                    WHEN due_utc < assigned_utc THEN 'due_at: before assigned_at'
                END AS reject_reason
            FROM typed
        """)
        as_of = self.con.execute("SELECT max(CAST(occurred_utc AS DATE)) FROM events").fetchone()[0]
        if as_of is not None and export_date is not None:
            as_of = min(as_of, export_date)
        self.con.execute("""
            CREATE TABLE assignments AS
            WITH valid AS (
                SELECT * FROM parsed_assignments WHERE reject_reason IS NULL
                QUALIFY row_number() OVER (PARTITION BY tenant_id, user_id, training_id ORDER BY row_no DESC) = 1
            ), firsts AS (
                SELECT tenant_id, user_id, training_id,
                       min(occurred_utc) FILTER (WHERE event_type = 'completion') AS completed_utc,
                       count(*) FILTER (WHERE event_type = 'start') > 0 AS started
                FROM events WHERE training_id IS NOT NULL GROUP BY ALL
            ), recent AS (
                SELECT DISTINCT tenant_id, user_id FROM events WHERE day BETWEEN ? - 13 AND ?
            )
            SELECT v.tenant_id, v.user_id, v.training_id, v.assigned_utc, v.due_utc,
                   CAST(timezone(v.zone, v.due_utc AT TIME ZONE 'UTC') AS DATE) AS due_day,
                   f.completed_utc, coalesce(f.started, false) AS started, r.user_id IS NULL AS inactive,
                   timezone('UTC', timezone(v.zone, CAST(? + 1 AS TIMESTAMP))) - INTERVAL 1 MICROSECOND AS now_utc,
                   timezone('UTC', timezone(v.zone, CAST(? + 15 AS TIMESTAMP))) - INTERVAL 1 MICROSECOND AS soon_utc,
                   coalesce(u."group", 'Unknown') AS "group", coalesce(u.country, 'Unknown') AS country,
                   coalesce(t.title, v.training_id) AS title, coalesce(t.category, 'Unknown') AS category,
                   coalesce(t.format, 'Unknown') AS format
            FROM valid v
            LEFT JOIN firsts f USING (tenant_id, user_id, training_id)
            LEFT JOIN recent r USING (tenant_id, user_id)
            LEFT JOIN users u USING (tenant_id, user_id)
            LEFT JOIN trainings t USING (tenant_id, training_id)
        """, [as_of, as_of, as_of, as_of])

    def assignments_report(self) -> dict[str, Any]:
        """Rows of assignments.csv read, rejected (by reason), kept, and repeated keys dropped."""
        read = self.con.execute("SELECT count(*) FROM parsed_assignments").fetchone()[0]
        reasons = dict(self.con.execute("SELECT reject_reason, count(*) FROM parsed_assignments "
                                        "WHERE reject_reason IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall())
        kept = self.con.execute("SELECT count(*) FROM assignments").fetchone()[0]
        return {"rows_read": read, "rejected_by_reason": reasons, "accepted": kept,
                "duplicates": read - sum(reasons.values()) - kept}

    def _assignment_values(self, tenant: str, start: dt.date, end: dt.date, filters: dict[str, list[str]] | None,
                           metric: str, key_sql: str) -> dict[Any, Any] | None:
        """``{key: value}`` of an assignment metric (keys with rows it looks at); None: the tenant has none."""
        if not self.con.execute("SELECT count(*) FROM assignments WHERE tenant_id = ?", [tenant]).fetchone()[0]:
            return None
        where, params = self._where(tenant, filters)
        rows = self.con.execute(f"""
            WITH selected AS (
                SELECT *, due_day BETWEEN ? AND ? AS in_range FROM assignments WHERE {where}
            )
            SELECT {key_sql} AS k, {ASSIGNMENT_SQL[metric]} AS v FROM selected
            WHERE {ASSIGNMENT_PRESENT[metric]} GROUP BY k
        """, [start, end] + params).fetchall()
        return {k: _python_value(metric, v) for k, v in rows}

    @property
    def report(self) -> dict[str, Any]:
        """Rows read, accepted, rejected (by reason) and duplicates dropped."""
        read = self.con.execute("SELECT count(*) FROM parsed").fetchone()[0]
        accepted = self.con.execute("SELECT count(*) FROM events").fetchone()[0]
        reasons = dict(self.con.execute(
            "SELECT reject_reason, count(*) FROM parsed WHERE reject_reason IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall())
        rejected = sum(reasons.values())
        return {"rows_read": read, "accepted": accepted, "rejected": rejected,
                "rejected_by_reason": reasons, "duplicates": read - rejected - accepted}

    # ------------------------------------------------------------------ queries

    @staticmethod
    def _training_filter_set(filters: dict[str, list[str]] | None) -> bool:
        """True when any training-side filter has at least one value."""
        return any((filters or {}).get(dim) for dim in TRAINING_DIMS)

    @staticmethod
    def _where(tenant: str, filters: dict[str, list[str]] | None,
               start: dt.date | None = None, end: dt.date | None = None) -> tuple[str, list[Any]]:
        """WHERE clause (and its parameters) over ``facts``: tenant, filters, optional day range.

        OR within one filter (IN), AND across filters. A training-side filter
        never matches a connection: its training columns are NULL, and NULL IN (...)
        is not true.
        """
        unknown = set(filters or {}) - set(DIMENSIONS)
        if unknown:
            raise ValueError(f"unknown filter(s): {sorted(unknown)}")
        clauses, params = ["tenant_id = ?"], [tenant]
        for dim in DIMENSIONS:
            values = list((filters or {}).get(dim) or [])
            if values:
                clauses.append(f"{DIM_COLUMN[dim]} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        if start is not None:
            clauses.append("day >= ?")
            params.append(start)
        if end is not None:
            clauses.append("day <= ?")
            params.append(end)
        return " AND ".join(clauses), params

    def _grouped(self, tenant: str, start: dt.date, end: dt.date, filters: dict[str, list[str]] | None,
                 metric: str, key_sql: str, extra_where: str = "true") -> dict[Any, Any]:
        """``{key: metric value}`` over the matching events of the range, grouped by ``key_sql``.

        Only keys with at least one selected event appear. ``pair_completed`` is
        computed over the whole export of the tenant (no date restriction) with
        the same filters.
        """
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}")
        all_time, all_time_params = self._where(tenant, filters)
        in_range, in_range_params = self._where(tenant, filters, start, end)
        rows = self.con.execute(f"""
            WITH completed_pairs AS (
                SELECT DISTINCT user_id, training_id FROM facts
                WHERE {all_time} AND event_type = 'completion'
            ),
            in_range AS (
                SELECT * FROM facts WHERE {in_range} AND ({extra_where})
            ),
            selected AS (
                SELECT r.*, (c.user_id IS NOT NULL) AS pair_completed
                FROM in_range r
                LEFT JOIN completed_pairs c ON c.user_id = r.user_id AND c.training_id = r.training_id
            )
            SELECT {key_sql} AS k, {METRIC_SQL[metric]} AS v
            FROM selected
            GROUP BY k
        """, all_time_params + in_range_params).fetchall()
        return {k: _python_value(metric, v) for k, v in rows}

    def _value(self, tenant, start, end, filters, metric) -> Any:
        """One metric over the whole range."""
        if metric in ASSIGNMENT_METRICS:
            values = self._assignment_values(tenant, start, end, filters, metric, "'all'")
            return None if values is None else values.get("all", _empty_value(metric))
        if metric == "connections" and self._training_filter_set(filters):
            return None
        values = self._grouped(tenant, start, end, filters, metric, key_sql="'all'")
        return values.get("all", _empty_value(metric))

    # ------------------------------------------------------------------ public API

    def kpis(self, tenant: str, start: dt.date, end: dt.date,
             filters: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """Every metric of metrics.md over ``[start, end]``: name -> int, float or None."""
        return {metric: self._value(tenant, start, end, filters, metric) for metric in METRICS}

    def timeseries(self, tenant: str, start: dt.date, end: dt.date, filters: dict[str, list[str]] | None,
                   metric: str, granularity: str) -> list[tuple[dt.date, Any]]:
        """One ``(period start, value)`` per period intersecting the range, clipped to it.

        Week periods are ISO weeks labelled by their Monday, months by their 1st,
        even when the range starts after that day.
        """
        if granularity not in GRANULARITIES:
            raise ValueError(f"unknown granularity {granularity!r}")
        periods = []
        period = _period_start(start, granularity)
        while period <= end:
            periods.append(period)
            period = _next_period(period, granularity)
        if metric == "connections" and self._training_filter_set(filters):
            return [(p, None) for p in periods]
        if metric in ASSIGNMENT_METRICS:  # bucketed by due day; every one of them within the range
            key_sql = ("due_day" if granularity == "day"
                       else f"CAST(date_trunc('{granularity}', due_day) AS DATE)")
            values = self._assignment_values(tenant, start, end, filters, metric,
                                             f"CASE WHEN in_range THEN {key_sql} END")
            if values is None:
                return [(p, None) for p in periods]
            return [(p, values.get(p, _empty_value(metric))) for p in periods]
        key_sql = "day" if granularity == "day" else f"CAST(date_trunc('{granularity}', day) AS DATE)"
        values = self._grouped(tenant, start, end, filters, metric, key_sql)
        return [(p, values.get(p, _empty_value(metric))) for p in periods]

    def breakdown(self, tenant: str, start: dt.date, end: dt.date, filters: dict[str, list[str]] | None,
                  metric: str, by: str, limit: int) -> list[tuple[str, str, Any]]:
        """``(key, label, value)`` rows, one per key with a matching event in range.

        By a training-side dimension, connections have no key and are left out
        (so ``connections`` is None on every row). Sorted by value descending,
        None last, then key ascending (code point order); the first ``limit`` rows.
        """
        if by not in DIMENSIONS:
            raise ValueError(f"unknown dimension {by!r}")
        training_side = by in TRAINING_DIMS
        extra_where = "event_type <> 'connection'" if training_side else "true"
        no_connections = training_side or self._training_filter_set(filters)
        if metric in ASSIGNMENT_METRICS:
            values = self._assignment_values(tenant, start, end, filters, metric, DIM_COLUMN[by]) or {}
        else:
            values = self._grouped(tenant, start, end, filters, metric, DIM_COLUMN[by], extra_where)
        if metric == "connections" and no_connections:
            values = {k: None for k in values}
        labels = dict(self.con.execute(
            "SELECT DISTINCT training_id, title FROM facts WHERE tenant_id = ? AND training_id IS NOT NULL "
            "UNION SELECT training_id, title FROM assignments WHERE tenant_id = ?",
            [tenant, tenant],
        ).fetchall()) if by == "training" else {}
        rows = [(key, labels.get(key, key), value) for key, value in values.items()]
        # Values tie to 1e-9: sums in another order can differ in the last bit.
        rows.sort(key=lambda r: (r[2] is None, -round(r[2] or 0, 9), r[0]))
        return rows[:limit]

    def heatmap(self, tenant: str, start: dt.date, end: dt.date,
                filters: dict[str, list[str]] | None = None) -> list[tuple[int, int, Any]]:
        """168 ``(weekday Mon=0, local hour, connections)`` cells; all None under a training-side filter."""
        cells = [(wd, hour) for wd in range(7) for hour in range(24)]
        if self._training_filter_set(filters):
            return [(wd, hour, None) for wd, hour in cells]
        key_sql = "(isodow(occurred_local) - 1) * 24 + hour(occurred_local)"
        values = self._grouped(tenant, start, end, filters, "connections", key_sql,
                               extra_where="event_type = 'connection'")
        return [(wd, hour, values.get(wd * 24 + hour, 0)) for wd, hour in cells]

    def filter_values(self, tenant: str) -> dict[str, list[tuple[str, str]]]:
        """Values each filter can take for the tenant: dim -> sorted ``(key, label)``.

        Users and trainings from the dimension files plus those seen in the
        tenant's valid events or assignments (with ``Unknown`` where a label is missing).
        """
        users = self.con.execute("""
            SELECT "group", country FROM users WHERE tenant_id = ?
            UNION ALL
            SELECT "group", country FROM facts WHERE tenant_id = ?
            UNION ALL
            SELECT "group", country FROM assignments WHERE tenant_id = ?
        """, [tenant, tenant, tenant]).fetchall()
        trainings = self.con.execute("""
            SELECT training_id, title, category, format FROM trainings WHERE tenant_id = ?
            UNION ALL
            SELECT training_id, title, category, format FROM facts WHERE tenant_id = ? AND training_id IS NOT NULL
            UNION ALL
            SELECT training_id, title, category, format FROM assignments WHERE tenant_id = ?
        """, [tenant, tenant, tenant]).fetchall()
        return {
            "group": sorted({(g, g) for g, _ in users}),
            "country": sorted({(c, c) for _, c in users}),
            "training": sorted({(t, title) for t, title, _, _ in trainings}),
            "category": sorted({(c, c) for _, _, c, _ in trainings}),
            "format": sorted({(f, f) for _, _, _, f in trainings}),
        }

    # ------------------------------------------------------------------ learners (metrics.md v2)

    def _has_assignments(self, tenant: str) -> bool:
        return bool(self.con.execute("SELECT count(*) FROM assignments WHERE tenant_id = ?", [tenant]).fetchone()[0])

    def learners(self, tenant: str, start: dt.date, end: dt.date, filters: dict[str, list[str]] | None,
                 cohort: str = "active", sort: str = "last_activity", order: str = "desc") -> list[dict] | None:
        """Every learner row of the cohort, in the list's order: ``sort`` in ``order`` with empty values last
        either way, then user_id ascending (code point order); floats tie to 1e-9, as in a breakdown.

        None for a cohort of assignments asked of a tenant without any (the API refuses it).
        """
        if cohort not in LEARNER_COHORTS:
            raise ValueError(f"unknown cohort {cohort!r}")
        has_assignments = self._has_assignments(tenant)
        if cohort in ASSIGNMENT_COHORTS and not has_assignments:
            return None
        in_range, in_range_params = self._where(tenant, filters, start, end)
        assigned_where, assigned_params = self._where(tenant, filters)  # every due date: the range does not apply
        training_filter = self._training_filter_set(filters)
        rows = self.con.execute(f"""
            WITH completed_pairs AS (
                SELECT DISTINCT user_id, training_id FROM events
                WHERE tenant_id = ? AND event_type = 'completion'
            ),
            selected AS (
                SELECT f.*, (c.user_id IS NOT NULL) AS pair_completed
                FROM (SELECT * FROM facts WHERE {in_range}) f
                LEFT JOIN completed_pairs c ON c.user_id = f.user_id AND c.training_id = f.training_id
            ),
            per_user AS (
                SELECT s.user_id,
                       count(*) FILTER (WHERE event_type = 'connection') AS connections,
                       count(DISTINCT training_id) FILTER (WHERE event_type = 'enrolment') AS enrolments,
                       count(DISTINCT training_id) FILTER (WHERE event_type = 'start') AS starts,
                       count(DISTINCT training_id) FILTER (WHERE event_type = 'completion') AS completions,
                       avg(score) FILTER (WHERE event_type = 'completion') AS avg_score,
                       coalesce(sum(duration_s), 0) / 3600.0 AS learning_hours,
                       max(day) AS last_activity,
                       count(*) FILTER (WHERE event_type <> 'enrolment') > 0 AS active,
                       count(*) FILTER (WHERE event_type = 'enrolment' AND NOT pair_completed) > 0 AS not_completed
                FROM selected s GROUP BY s.user_id
            ),
            per_assignee AS (
                SELECT user_id, count(*) AS assigned,
                       count(*) FILTER (WHERE NOT ({DONE}) AND due_utc <= now_utc) AS overdue,
                       count(*) FILTER (WHERE {SOON} AND (NOT started OR inactive)) > 0 AS at_risk,
                       count(*) FILTER (WHERE {SOON}) > 0 AS due_soon,
                       count(*) FILTER (WHERE due_day BETWEEN ? AND ?) > 0 AS due
                FROM assignments WHERE {assigned_where} GROUP BY user_id
            )
            SELECT coalesce(p.user_id, a.user_id) AS user_id, p.user_id IS NOT NULL AS has_events,
                   p.connections, p.enrolments, p.starts, p.completions, p.avg_score, p.learning_hours,
                   p.last_activity, coalesce(p.active, false) AS active,
                   coalesce(p.not_completed, false) AS not_completed,
                   coalesce(a.assigned, 0) AS assigned, coalesce(a.overdue, 0) AS n_overdue,
                   coalesce(a.at_risk, false) AS at_risk, coalesce(a.due_soon, false) AS due_soon,
                   coalesce(a.due, false) AS due,
                   coalesce(u.name, p.user_id, a.user_id) AS name, coalesce(u."group", 'Unknown') AS "group",
                   coalesce(u.country, 'Unknown') AS country
            FROM per_user p FULL JOIN per_assignee a ON a.user_id = p.user_id
            LEFT JOIN users u ON u.tenant_id = ? AND u.user_id = coalesce(p.user_id, a.user_id)
        """, [tenant] + in_range_params + [start, end] + assigned_params + [tenant]).fetchall()
        names = [d[0] for d in self.con.description]
        listed = []
        for values in rows:
            row = dict(zip(names, values))
            keep = {"active": row["active"], "connected": bool(row["connections"]),
                    "enrolled": bool(row["enrolments"]), "started": bool(row["starts"]),
                    "completed": bool(row["completions"]), "not_completed": row["not_completed"],
                    "overdue": row["n_overdue"] > 0, "at_risk": row["at_risk"], "due_soon": row["due_soon"],
                    "due": row["due"]}[cohort]
            if not keep:
                continue
            events = row["has_events"]  # a learner listed for their assignments may have no event in the range
            listed.append({
                "user_id": row["user_id"], "name": row["name"], "group": row["group"], "country": row["country"],
                "connections": None if training_filter else int(row["connections"] or 0),
                "enrolments": int(row["enrolments"] or 0), "starts": int(row["starts"] or 0),
                "completions": int(row["completions"] or 0),
                "avg_score": None if row["avg_score"] is None else float(row["avg_score"]),
                "learning_hours": float(row["learning_hours"]) if events else 0.0,
                "last_activity": row["last_activity"],
                "assigned": int(row["assigned"]) if has_assignments else None,
                "overdue": int(row["n_overdue"]) if has_assignments else None,
            })
        listed.sort(key=lambda r: r["user_id"])
        value = (lambda r: round(r[sort], 9)) if sort in ("avg_score", "learning_hours") else (lambda r: r[sort])
        filled = [r for r in listed if r[sort] is not None]
        filled.sort(key=value, reverse=order == "desc")  # stable: equal values stay in user_id order
        return filled + [r for r in listed if r[sort] is None]

    def learner_trainings(self, tenant: str, user_id: str,
                          filters: dict[str, list[str]] | None = None) -> list[dict] | None:
        """One row per training the learner has an event or an assignment for (training-side filters apply, the
        range does not), sorted by training_id; None when the tenant has no such learner or the user-side
        filters drop them."""
        user = self.con.execute("""
            SELECT "group", country FROM users WHERE tenant_id = ? AND user_id = ?
            UNION ALL SELECT "group", country FROM facts WHERE tenant_id = ? AND user_id = ?
            UNION ALL SELECT "group", country FROM assignments WHERE tenant_id = ? AND user_id = ? LIMIT 1
        """, [tenant, user_id] * 3).fetchone()
        if user is None:
            return None
        group, country = user
        for dim, value in (("group", group), ("country", country)):
            if (filters or {}).get(dim) and value not in filters[dim]:
                return None
        training_only = {d: v for d, v in (filters or {}).items() if d in TRAINING_DIMS}
        where, params = self._where(tenant, training_only)
        rows = self.con.execute(f"""
            WITH evented AS (
                SELECT training_id, any_value(title) AS title, any_value(category) AS category,
                       any_value(format) AS format,
                       min(day) FILTER (WHERE event_type = 'enrolment') AS enrolled,
                       min(day) FILTER (WHERE event_type = 'start') AS started,
                       min(day) FILTER (WHERE event_type = 'completion') AS completed,
                       arg_max(score, occurred_utc) FILTER (WHERE event_type = 'completion' AND score IS NOT NULL)
                           AS score,
                       coalesce(sum(duration_s), 0) / 3600.0 AS hours
                FROM facts WHERE {where} AND user_id = ? AND training_id IS NOT NULL
                GROUP BY training_id
            ), assigned AS (
                SELECT training_id, title, category, format, assigned_utc, due_utc, due_day,
                       CASE WHEN completed_utc IS NULL OR due_utc IS NULL THEN NULL
                            ELSE completed_utc <= due_utc END AS on_time,
                       coalesce(completed_utc IS NULL AND due_utc <= now_utc, false) AS overdue
                FROM assignments WHERE {where} AND user_id = ?
            )
            SELECT coalesce(e.training_id, a.training_id), coalesce(e.title, a.title),
                   coalesce(e.category, a.category), coalesce(e.format, a.format),
                   e.enrolled, e.started, e.completed, e.score, coalesce(e.hours, 0.0),
                   a.assigned_utc, a.due_day, a.on_time, coalesce(a.overdue, false)
            FROM evented e FULL JOIN assigned a ON a.training_id = e.training_id
            ORDER BY 1
        """, params + [user_id] + params + [user_id]).fetchall()
        zone = ZoneInfo(self.timezone(tenant))
        out = []
        for (training, title, category, fmt, enrolled, started, completed, score, hours, assigned_utc, due_day,
             on_time, overdue) in rows:
            status = "completed" if completed else "in_progress" if started else "not_started"
            assigned_on = None if assigned_utc is None else \
                assigned_utc.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()
            out.append({"training_id": training, "title": title, "category": category, "format": fmt,
                        "status": status, "enrolled_on": enrolled, "started_on": started, "completed_on": completed,
                        "on_time": on_time, "overdue": overdue, "score": score, "learning_hours": float(hours),
                        "assigned_on": assigned_on, "due_on": due_day})
        return out

    def tenants(self) -> list[str]:
        """Tenants with at least one valid event, sorted."""
        return [t for (t,) in self.con.execute("SELECT DISTINCT tenant_id FROM facts ORDER BY 1").fetchall()]

    def timezone(self, tenant: str) -> str:
        """The tenant's time zone: from tenants.csv, else UTC."""
        row = self.con.execute("SELECT timezone FROM tenants WHERE tenant_id = ?", [tenant]).fetchone()
        return "UTC" if row is None else row[0]

    def tenant_name(self, tenant: str) -> str:
        """The tenant's display name: from tenants.csv, else its id."""
        row = self.con.execute("SELECT name FROM tenants WHERE tenant_id = ?", [tenant]).fetchone()
        return tenant if row is None else row[0]

    def data_range(self, tenant: str) -> tuple[dt.date, dt.date]:
        """First and last local event day of the tenant; KeyError for a tenant with no event."""
        first, last = self.con.execute("SELECT min(day), max(day) FROM facts WHERE tenant_id = ?",
                                       [tenant]).fetchone()
        if first is None:
            raise KeyError(tenant)
        return first, last


def same_value(a, b) -> bool:
    """Equal metric values: None only equals None, floats to 1e-9 (summation order differs)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def daylight_saving_changes(zone: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """The local days in [first, last] on which the zone's offset changes (from Python's zoneinfo)."""
    tz = ZoneInfo(zone)
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 2)]
    offsets = [dt.datetime.combine(d, dt.time(), tz).utcoffset() for d in days]
    return [days[k] for k in range(len(days) - 1) if offsets[k] != offsets[k + 1]]
