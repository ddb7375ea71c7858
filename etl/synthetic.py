"""The synthetic LMS world behind ``etl.generate``: tenants, users, trainings, a calendar, and their events.

Drawn once from the seed (``World``), then activity chunk by chunk
(``draw_chunk``, one random stream per chunk), so the same arguments give the
same bytes. The shapes (skewed tenants, seasonality, a learning funnel, a
little dirt: offsets, duplicates, missing labels) are what the dashboards'
demo and the correctness tests need; the columns and rules are those of
``docs/data-contract.md``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.snapshot_format import COMPLETION, CONNECTION, ENROLMENT, EVENT_TYPES, START

DAY = 86_400

# Shape of the data. Shares are of activity rows or of users.
SMALLEST_TENANT = 40       # events of the smallest tenant ("a few dozen")
FUNNEL_SHARE = 0.22        # enrolments drawn per activity row; connections fill the rest
P_START = 0.70
P_SCORE = 0.90
P_OFFSET = 0.02            # rows written with an explicit UTC offset
P_CONNECTION_ONLY = 0.05
P_USER_MISSING = 0.03      # from users.csv
P_EMPTY_GROUP = 0.015
P_EMPTY_COUNTRY = 0.015
P_HOME_COUNTRY = 0.4       # users in their tenant's home country
# assignments.csv: every NO_ASSIGNMENTS_EVERY-th tenant has none; of the others' enrolled pairs P_ASSIGNED were
# assigned (due around their completion, so some met and some late, or after their enrolment: some overdue), and
# ASSIGNED_UNTOUCHED more per assigned pair never touched (due around the export's end: overdue, due soon, later)
NO_ASSIGNMENTS_EVERY = 4
P_ASSIGNED = 0.35
ASSIGNED_UNTOUCHED = 0.3
P_NO_DUE = 0.08
P_DUE_TIMESTAMP = 0.2      # a due time rather than a day
P_ASSIGNED_AFTER_DONE = 0.05  # completed before it was assigned
P_ASSIGNMENT_REPEATED = 0.005  # a key written twice: the later row wins
P_ASSIGNMENT_BAD = 0.001   # a malformed due date: rejected

TENANT_NAMES = [
    "acme", "northwind-health", "globex", "initech", "contoso", "fabrikam",
    "tailspin-toys", "wide-world-importers", "adventure-works", "blue-yonder-airlines",
    "litware", "proseware", "woodgrove-bank", "fourth-coffee", "alpine-ski-house",
    "coho-winery", "lucerne-publishing", "margies-travel", "trey-research",
    "wingtip-toys", "humongous-insurance", "city-power-light", "datum-corp",
    "vandelay-industries", "hooli", "soylent", "cyberdyne", "massive-dynamic",
    "oceanic-airlines", "dunder-mifflin", "pied-piper", "sterling-cooper",
    "zenith-logistics", "helios-energy", "atlas-retail", "orion-bank",
    "polaris-insurance", "boreal-foods", "meridian-care", "vertex-labs",
    "cobalt-systems", "evergreen-clinics", "harbor-freight-co", "acme.eu",
    "blue_ocean", "nordic-pharma", "sunrise-hotels", "quantum-telecom",
]
# the tenants' time zones, in turn: daylight saving on both hemispheres, half-hour and 45-minute
# offsets, a zone across the date line, and UTC
TENANT_ZONES = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Auckland", "Asia/Kathmandu", "UTC",
                "America/St_Johns", "Australia/Adelaide", "America/Los_Angeles", "Asia/Tokyo"]
# Learners' names: a first and a last name chosen from the user's number (no draw, so the rest of the world stays
# what the seed made it); names repeat across learners, and some are left empty (lists show the user_id).
FIRST_NAMES = ["Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Giulia", "Hugo", "Inès", "Jonas", "Karin",
               "Léa", "Mohamed", "Nora", "Oscar", "Priya", "Quentin", "Rosa", "Sven", "Yuki"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Schmidt", "García", "Rossi", "Smith", "Nguyen", "Müller", "Janssens",
              "O'Brien", "Kowalski", "Lefèvre", "Haddad", "Costa", "Novak", "Fischer", "Moreau"]
NAMES_CYCLE = 97  # users 97 apart have the same name
EMPTY_NAME_EVERY = 29  # every 29th user has no name
GROUPS = ["Sales", "Engineering", "Support", "Operations", "Marketing",
          "Finance", "HR", "Legal"]
GROUP_WEIGHTS = [0.20, 0.18, 0.15, 0.14, 0.10, 0.09, 0.08, 0.06]
# ISO code, weight, rough UTC offset in hours
COUNTRIES = [("FR", 0.28, 1), ("US", 0.18, -5), ("DE", 0.10, 1), ("GB", 0.10, 0),
             ("ES", 0.07, 1), ("IT", 0.06, 1), ("CA", 0.05, -5), ("BE", 0.06, 1),
             ("CH", 0.05, 1), ("NL", 0.05, 1)]
FORMATS = ["e-learning", "virtual-class", "video", "classroom"]
# nominal length of a training, in minutes, per format
FORMAT_MINUTES = [(15, 60), (60, 150), (4, 20), (180, 420)]
# probability that the completion comes in the same session as the start, per format
SAME_SESSION = [0.5, 0.9, 0.7, 0.8]
# category: (completion probability after a start, format weights, titles)
CATALOG = {
    "Compliance": (0.78, [0.75, 0.05, 0.15, 0.05], [
        "GDPR essentials", "Anti-bribery and corruption", "Code of conduct",
        "Data protection, privacy and you", "Information security awareness",
        "Anti-money laundering basics", "Whistleblowing procedures",
        "Competition law fundamentals", "Export controls overview",
        "Conflicts of interest", "Phishing awareness", "Records retention policy",
        "Sanctions screening"]),
    "Sales": (0.55, [0.30, 0.30, 0.15, 0.25], [
        "Negotiation basics", "Consultative selling", "Handling objections",
        "Prospecting with LinkedIn", "Closing techniques", "Key account management",
        "Pricing and discount policy", "CRM best practices", "Storytelling for sales",
        "Cold calling, follow-ups and pipeline hygiene", "Value-based selling",
        "Social selling", "Upselling and cross-selling"]),
    "Management": (0.55, [0.25, 0.35, 0.10, 0.30], [
        "First-time manager", "Giving feedback", "Leading remote teams",
        "Delegation, coaching and trust", "Running effective meetings",
        "Performance reviews", "Change management", "Managing conflict",
        "Hiring without bias", "OKRs in practice", "Budgeting for managers",
        "Strategic thinking", "Leading through uncertainty"]),
    "Onboarding": (0.70, [0.50, 0.15, 0.30, 0.05], [
        "Welcome to the company", "Our products in 30 minutes",
        "Tools and accounts setup", "Company history, mission and values",
        "Expense policy", "Travel policy", "IT security first steps", "Meet the teams",
        "Benefits and payroll", "Your first 90 days", "Working with the help desk",
        "Our customers and markets"]),
    "Technical": (0.50, [0.45, 0.25, 0.20, 0.10], [
        "Excel: pivot tables", "Python for analysts", "SQL fundamentals", "Cloud basics",
        "Power BI dashboards", "Git for everyone", "Secure coding for developers",
        "Agile and Scrum", "Kubernetes introduction", "Machine learning, explained",
        "API design", "Data visualization", "Advanced Excel formulas",
        "Linux command line"]),
    "Soft skills": (0.50, [0.30, 0.30, 0.20, 0.20], [
        "Time management", "Effective communication", "Presentation skills",
        "Emotional intelligence", "Active listening", "Writing clear emails",
        "Critical thinking", "Stress management", "Working across cultures",
        'Problem solving: the "5 whys" method', "Creativity workshop",
        "Public speaking, voice and body language", "Resilience at work"]),
    "Safety": (0.72, [0.40, 0.05, 0.20, 0.35], [
        "Fire safety and evacuation", "First aid basics", "Working at heights",
        "Manual handling", "Ergonomics at the workstation", "Road safety for drivers",
        "Hazardous materials handling", "Electrical safety", "Lockout/tagout procedures",
        "Warehouse safety, forklifts and pallets", "Incident reporting",
        "Personal protective equipment"]),
}
# local hour-of-day profile: work hours, lunch dip, quiet nights
# (user, training) pair key: user * PAIR_KEY + the training's number in its tenant
PAIR_KEY = 1 << 16
HOUR_WEIGHTS = [0.02, 0.01, 0.01, 0.01, 0.02, 0.05, 0.15, 0.45, 0.85, 1.0, 1.0, 0.9,
                0.55, 0.6, 0.95, 1.0, 0.9, 0.7, 0.45, 0.3, 0.25, 0.2, 0.12, 0.05]
WEEKDAY_WEIGHTS = [0.95, 1.0, 1.0, 0.95, 0.8, 0.12, 0.08]
# January and September peaks, summer dip
MONTH_WEIGHTS = [1.2, 1.05, 1.05, 1.0, 0.95, 0.95, 0.75, 0.5, 1.25, 1.1, 1.05, 0.95]


@dataclass(frozen=True)
class Profile:
    """What differs between two shapes of export: how many learners share the events,
    how concentrated the tenants are, how big their catalogues are, duplicates."""

    name: str
    tenants: int               # default number of tenants
    events_per_user: float     # users per tenant follow its size
    biggest_share: float       # share of events of the biggest tenant
    trainings: tuple[int, int]  # catalogue size of the smallest and biggest tenants
    duplicates_per_row: float  # re-sent rows (same event id); 0: every event id unique
    global_user_ids: bool = False  # user ids unique across tenants (u0000001...), not per tenant (u000001...)


PROFILES = {
    # the demo's shape: few tenants, engaged learners (~120 events each), small catalogues
    "default": Profile("default", tenants=30, events_per_user=120, biggest_share=0.25,
                       trainings=(10, 80), duplicates_per_row=1e-4),
    # large companies enrol everyone and most learners do little: a long tail of tenants,
    # the biggest with ~200,000 learners at 10M events, a handful of events per learner,
    # up to 300 trainings per tenant, unique event ids, user ids unique across tenants (issue 14)
    "many-learners": Profile("many-learners", tenants=200, events_per_user=5, biggest_share=0.10,
                             trainings=(5, 300), duplicates_per_row=0.0, global_user_ids=True),
}


def _tenant_shares(n: int, events: int, biggest_share: float) -> np.ndarray:
    """Event shares of the tenants, biggest first: a Zipf head whose exponent gives
    the biggest ~25%, and a cut-off that brings the smallest down to a few dozen
    events (with few tenants the head flattens: both cannot hold otherwise)."""
    span = np.log(max(2.0, biggest_share * events / SMALLEST_TENANT))
    rank = np.arange(n)
    tail = (rank / max(n - 1, 1)) ** 3

    def weights(s):
        return np.exp(-s * np.log1p(rank) - max(0.0, span - s * np.log(n)) * tail)

    lo, hi = 0.0, 5.0  # bisection on the exponent; the top share grows with it
    for _ in range(50):
        mid = (lo + hi) / 2
        w = weights(mid)
        lo, hi = (mid, hi) if w[0] / w.sum() < biggest_share else (lo, mid)
    w = weights((lo + hi) / 2)
    return w / w.sum()


class World:
    """Tenants, users, trainings and calendar shared by all chunks (arrays indexed
    by global user or training number, tenants biggest first)."""

    def __init__(self, rng: np.random.Generator, events: int, n_tenants: int,
                 end_date: dt.date, days: int, profile: Profile = PROFILES["default"]):
        self.profile = profile
        self.days = days
        self.first_day = end_date - dt.timedelta(days=days - 1)
        self._tenants(rng, events, n_tenants)
        self._users(rng)
        self._trainings(rng)
        self._calendar()

    def _tenants(self, rng, events, n):
        names = [TENANT_NAMES[i] for i in rng.permutation(len(TENANT_NAMES))]
        self.tenant_names = [names[k % len(names)] + (f"-{k // len(names) + 1}"
                                                      if k >= len(names) else "")
                             for k in range(n)]
        profile = self.profile
        self.tenant_share = _tenant_shares(n, events, profile.biggest_share)
        self.tenant_users = np.maximum(
            3, np.round(self.tenant_share * events / profile.events_per_user)).astype(np.int64)
        logs = np.log(self.tenant_share)
        size = (logs - logs.min()) / max(logs.max() - logs.min(), 1e-9)
        fewest, most = profile.trainings
        self.tenant_trainings = np.clip(
            np.round(fewest + (most - fewest) * size + rng.normal(0, 4, n)), fewest, most).astype(np.int64)
        country_w = np.array([c[1] for c in COUNTRIES])
        self.tenant_home = rng.choice(len(COUNTRIES), n, p=country_w / country_w.sum())
        self.tenant_empty_enrol_duration = rng.random(n) < 0.5

    def _users(self, rng):
        d = self.days
        counts = self.tenant_users
        self.user_tenant = np.repeat(np.arange(len(counts)), counts)
        n = len(self.user_tenant)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.user_local = np.arange(n) - starts[self.user_tenant]
        # expected share of all events (connections), and of enrolments: heavy
        # users connect a lot more, but can only enrol in so many trainings
        activity = rng.lognormal(0.0, 1.0, n)
        share = self.tenant_share[self.user_tenant]
        self.user_weight = activity / np.bincount(self.user_tenant, activity)[
            self.user_tenant] * share
        self.user_learning = np.sqrt(activity) / np.bincount(
            self.user_tenant, np.sqrt(activity))[self.user_tenant] * share
        # active window in days: most users were there from the start, others joined
        # later (growth), a few left
        joined = np.where(rng.random(n) < 0.65, 0, rng.integers(0, d, n))
        left = np.where(rng.random(n) < 0.10, rng.integers(0, d, n), d - 1)
        self.user_first = joined
        self.user_last = np.maximum(joined, left)
        self.user_connection_only = rng.random(n) < P_CONNECTION_ONLY
        country_w = np.array([c[1] for c in COUNTRIES])
        self.user_country = np.where(rng.random(n) < P_HOME_COUNTRY,
                                     self.tenant_home[self.user_tenant],
                                     rng.choice(len(COUNTRIES), n,
                                                p=country_w / country_w.sum()))
        offsets = sorted({c[2] for c in COUNTRIES})
        self.offset_suffixes = ["Z"] + [f"{'+' if h >= 0 else '-'}{abs(h):02d}:00"
                                        for h in offsets]
        hours = np.array([c[2] for c in COUNTRIES])[self.user_country]
        self.user_offset_s = hours * 3600
        self.user_suffix = 1 + np.searchsorted(offsets, hours)
        self.user_group = rng.choice(len(GROUPS), n, p=GROUP_WEIGHTS)
        self.user_listed = ~_some(rng, n, P_USER_MISSING)
        self.user_empty_group = _some(rng, n, P_EMPTY_GROUP)
        self.user_empty_country = _some(rng, n, P_EMPTY_COUNTRY)
        if self.profile.global_user_ids:  # as many distinct ids as learners: the refresh's costly case
            self.user_ids = pa.array([f"u{k + 1:07d}" for k in range(n)])
        else:
            self.user_ids = pa.array([f"u{k + 1:06d}" for k in self.user_local.tolist()])
        # users in random order, so that every chunk mixes tenants
        self.user_order = rng.permutation(n)

    def user_name(self, user: int) -> str:
        """The learner's name in users.csv: empty for every ``EMPTY_NAME_EVERY``-th user."""
        if user % EMPTY_NAME_EVERY == EMPTY_NAME_EVERY - 1:
            return ""
        name = user % NAMES_CYCLE
        return f"{FIRST_NAMES[name % len(FIRST_NAMES)]} {LAST_NAMES[name % len(LAST_NAMES)]}"

    def _trainings(self, rng):
        categories = list(CATALOG)
        pool = [(title, c) for c, (_, _, titles) in enumerate(CATALOG.values())
                for title in titles]
        counts = self.tenant_trainings
        self.training_tenant = np.repeat(np.arange(len(counts)), counts)
        n = len(self.training_tenant)
        picks = np.concatenate([_draw_titles(rng, len(pool), k) for k in counts])
        self.training_title = [pool[i % len(pool)][0] + (f" ({i // len(pool) + 1})" if i >= len(pool) else "")
                               for i in picks]
        picks %= len(pool)
        self.training_category = np.array([pool[i][1] for i in picks])
        self.category_names = categories
        fmt_w = np.array([CATALOG[c][1] for c in categories])[self.training_category]
        self.training_format = (rng.random((n, 1)) > np.cumsum(fmt_w, axis=1)).sum(1)
        lo_hi = np.array(FORMAT_MINUTES)[self.training_format]
        self.training_minutes = rng.uniform(lo_hi[:, 0], lo_hi[:, 1])
        self.training_p_complete = np.array(
            [CATALOG[c][0] for c in categories])[self.training_category]
        self.training_difficulty = rng.normal(0, 4, n)
        # popularity: Zipf within the tenant, mandatory topics more popular
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.training_local = np.arange(n) - starts[self.training_tenant]
        rank = np.concatenate([rng.permutation(k) for k in counts])
        popularity = 1.0 / (rank + 1) ** 0.9
        popularity *= np.where(np.isin(self.training_category, [
            categories.index("Compliance"), categories.index("Onboarding")]), 2.0, 1.0)
        cdf = np.cumsum(popularity)
        cdf -= np.repeat(np.concatenate([[0], cdf[starts[1:] - 1]]), counts)
        cdf /= np.repeat(cdf[np.cumsum(counts) - 1], counts)
        # keys for drawing a training of tenant t: searchsorted(keys, t + u)
        self.training_keys = self.training_tenant + cdf
        self.training_keys[np.cumsum(counts) - 1] = np.arange(len(counts)) + 1.0
        self.training_ids = pa.array([f"t{k + 1:04d}" for k in self.training_local.tolist()])
        # a couple of trainings used in activity but absent from trainings.csv:
        # fairly popular ones of the biggest tenants
        self.training_listed = np.ones(n, bool)
        for t in range(min(2, len(counts))):
            mine = np.flatnonzero(self.training_tenant == t)
            self.training_listed[mine[rank[mine] == 3]] = False

    def _calendar(self):
        """Day weights (weekday, season, year-end break, growth) as a CDF, and the
        text of every day and second of the day for fast timestamp formatting."""
        dates = [self.first_day + dt.timedelta(days=k) for k in range(self.days)]
        weekday = np.array([d.weekday() for d in dates])
        month = np.array([d.month for d in dates])
        mday = np.array([d.day for d in dates])
        w = np.array(WEEKDAY_WEIGHTS)[weekday] * np.array(MONTH_WEIGHTS)[month - 1]
        w[((month == 12) & (mday >= 20)) | ((month == 1) & (mday <= 2))] *= 0.3
        w[(month == 8) & (mday >= 5) & (mday <= 20)] *= 0.7
        w *= 1.0 + 0.2 * np.arange(self.days) / max(self.days - 1, 1)
        self.day_cdf = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
        self.first_weekday = self.first_day.weekday()
        self.hour_cdf = np.cumsum(HOUR_WEIGHTS) / np.sum(HOUR_WEIGHTS)
        # day text from the day before the first to the day after the last, because
        # an explicit offset can move the local date out of the range
        self.day_text = pa.array([(self.first_day + dt.timedelta(days=k)).isoformat() + "T"
                                  for k in range(-1, self.days + 1)])
        secs = np.arange(DAY)
        self.time_text = pa.array([f"{h:02d}:{m:02d}:{s:02d}" for h, m, s in zip(
            (secs // 3600).tolist(), (secs // 60 % 60).tolist(), (secs % 60).tolist())])


def _draw_titles(rng, pool: int, k: int) -> np.ndarray:
    """k distinct title numbers; past the pool's size a title comes back as
    "title (2)", "title (3)"... (number i stands for pool[i % pool], round i // pool)."""
    if k <= pool:
        return rng.choice(pool, k, replace=False)
    rounds = -(-k // pool)
    return np.concatenate([r * pool + rng.permutation(pool) for r in range(rounds)])[:k]


def _some(rng, n: int, share: float) -> np.ndarray:
    """A mask of round(share * n) items, at least one: the dirt is always there."""
    mask = np.zeros(n, bool)
    mask[rng.choice(n, max(1, round(share * n)), replace=False)] = True
    return mask


def _draw_days(rng, world: World, users: np.ndarray) -> np.ndarray:
    """A day for each event, following the calendar within its user's active window."""
    cdf = world.day_cdf
    lo, hi = cdf[world.user_first[users]], cdf[world.user_last[users] + 1]
    day = np.searchsorted(cdf, lo + rng.random(len(users)) * (hi - lo), "right") - 1
    return np.clip(day, world.user_first[users], world.user_last[users])


def _draw_time_of_day(rng, world: World, n: int) -> np.ndarray:
    """Local seconds of the day, following the hour-of-day profile."""
    hour = np.searchsorted(world.hour_cdf, rng.random(n), "right")
    return np.minimum(hour, 23) * 3600 + rng.integers(0, 3600, n)


def _local_to_utc(world: World, users, local):
    """UTC seconds from the window start; the first and last days can spill over
    through the UTC offset: fold them back by a day."""
    utc = local - world.user_offset_s[users]
    utc = np.where(utc < 0, utc + DAY, utc)
    return np.where(utc >= world.days * DAY, utc - DAY, utc)


def _after_weekend(rng, world: World, day):
    """Most follow-up events that would land on a weekend move to the Monday."""
    weekday = (world.first_weekday + day) % 7
    move = rng.random(len(day)) < 0.8
    return day + np.where(move & (weekday == 5), 2, 0) + np.where(move & (weekday == 6), 1, 0)


def _draw_enrolments(rng, world: World, users: np.ndarray, wanted: int):
    """Up to `wanted` distinct (user, training) pairs; users who are not
    connection-only enrol, trainings follow their tenant's popularity."""
    learners = users[~world.user_connection_only[users]]
    if wanted == 0 or len(learners) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cum = np.cumsum(world.user_learning[learners])
    drawn = np.searchsorted(cum, rng.random(2 * wanted) * cum[-1], "right")
    user = learners[np.minimum(drawn, len(learners) - 1)]
    # u < 1 - 1e-9 keeps tenant + u below the tenant's last key despite rounding
    tenant = world.user_tenant[user]
    training = np.searchsorted(world.training_keys,
                               tenant + rng.random(len(user)) * (1 - 1e-9), "right")
    first = np.unique(user * PAIR_KEY + world.training_local[training], return_index=True)[1]
    first = np.sort(first)[:wanted]  # first draws of each pair, in draw order
    return user[first], training[first]


def _draw_funnel(rng, world: World, user: np.ndarray, training: np.ndarray):
    """UTC times of the enrolments, and of the starts and completions that follow
    them (0-14 days later, then a session or some days later) before the export's
    end, with the masks of the pairs that have them."""
    n = len(user)
    horizon = world.days * DAY
    enrol_day = _draw_days(rng, world, user)
    enrol_local = enrol_day * DAY + _draw_time_of_day(rng, world, n)
    enrol = _local_to_utc(world, user, enrol_local)

    start_day = _after_weekend(rng, world, enrol_day + np.minimum(
        rng.geometric(0.25, n) - 1, 14))
    start_local = np.maximum(start_day * DAY + _draw_time_of_day(rng, world, n),
                             enrol_local + 60 + rng.integers(0, 1800, n))
    start = enrol + (start_local - enrol_local)
    has_start = (rng.random(n) < P_START) & (start < horizon)

    nominal = world.training_minutes[training] * 60
    same_session = rng.random(n) < np.array(SAME_SESSION)[world.training_format[training]]
    done_day = _after_weekend(rng, world, start_day + np.minimum(rng.geometric(0.2, n), 60))
    done_local = np.where(
        same_session, start_local + nominal * rng.uniform(0.8, 1.4, n),
        np.maximum(done_day * DAY + _draw_time_of_day(rng, world, n), start_local + 60))
    done = start + (done_local.astype(np.int64) - start_local)
    has_done = (has_start & (rng.random(n) < world.training_p_complete[training])
                & (done < horizon))
    return enrol, start, done, has_start, has_done


@dataclass
class Funnels:
    """The (user, training) pairs a chunk enrolled, with their enrolment and completion times (UTC seconds
    from the window's start): what the assignments are drawn from."""

    user: np.ndarray
    training: np.ndarray
    enrol: np.ndarray
    done: np.ndarray
    has_done: np.ndarray


def draw_chunk(rng, world: World, users: np.ndarray, rows: int, duplicates: int,
                first_id: int) -> tuple[pa.Table, Funnels]:
    """`rows` activity rows (`duplicates` of them repeating earlier rows) for `users`,
    sorted by time, and the chunk's funnels; event ids count from `first_id`."""
    base = rows - duplicates
    pair_user, pair_training = _draw_enrolments(rng, world, users,
                                                int(round(base * FUNNEL_SHARE)))
    enrol, start, done, has_start, has_done = _draw_funnel(rng, world, pair_user,
                                                           pair_training)
    # keep whole pairs while they fit in the chunk (only binds on tiny exports)
    fits = np.cumsum(1 + has_start + has_done) <= base
    pair_user, pair_training, enrol = pair_user[fits], pair_training[fits], enrol[fits]
    start, done, has_start, has_done = start[fits], done[fits], has_start[fits], has_done[fits]
    n_pairs, n_start, n_done = len(pair_user), int(has_start.sum()), int(has_done.sum())

    # connections: all the other rows
    n_conn = base - n_pairs - n_start - n_done
    cum = np.cumsum(world.user_weight[users])
    conn_user = users[np.minimum(np.searchsorted(cum, rng.random(n_conn) * cum[-1], "right"),
                                 len(users) - 1)]
    conn_local = _draw_days(rng, world, conn_user) * DAY + _draw_time_of_day(rng, world, n_conn)

    user = np.concatenate([conn_user, pair_user, pair_user[has_start], pair_user[has_done]])
    utc = np.concatenate([_local_to_utc(world, conn_user, conn_local), enrol,
                          start[has_start], done[has_done]])
    etype = np.repeat(np.array([CONNECTION, ENROLMENT, START, COMPLETION], np.int8),
                      [n_conn, n_pairs, n_start, n_done])
    training = np.concatenate([np.full(n_conn, -1), pair_training,
                               pair_training[has_start], pair_training[has_done]])
    # training -1 (connections) indexes the last training: select/where ignore it
    nominal = world.training_minutes[training] * 60
    duration = np.select(
        [etype == CONNECTION, etype == ENROLMENT],
        [np.clip(rng.lognormal(np.log(900), 0.9, base), 5, 4 * 3600),
         np.where(world.tenant_empty_enrol_duration[world.user_tenant[user]], -1, 0)],
        nominal * rng.uniform(0.3, 1.0, base)).astype(np.int64)
    raw = 75 + world.training_difficulty[training] + rng.normal(0, 12, base)
    score = np.where((etype == COMPLETION) & (rng.random(base) < P_SCORE),
                     np.clip(np.round(raw * 10), 0, 1000), -1).astype(np.int64)
    offset = rng.random(base) < P_OFFSET

    # sort by time; duplicates repeat a row (same event id) a little further down
    order = np.argsort(utc, kind="stable")
    ids = first_id + np.arange(base)
    source = np.sort(rng.choice(base, duplicates, replace=False))
    at = np.minimum(source + 1 + rng.integers(0, 1000, duplicates), base)
    take = np.insert(order, at, order[source])
    ids = np.insert(ids, at, ids[source])
    return (_format_chunk(world, ids, user[take], utc[take], etype[take], training[take],
                          score[take], duration[take], offset[take]),
            Funnels(pair_user, pair_training, enrol, done, has_done))


def draw_assignments(rng, world: World, funnels: list[Funnels], rows: int | None = None) -> pa.Table:
    """assignments.csv rows (text columns) for the tenants that have some: enrolled pairs, due around their
    completion or after their enrolment, and trainings assigned but never touched, due around the export's
    end; a few keys repeated and a few bad dates.

    ``rows``: exactly that many rows (repeats and bad dates included), in the same proportions while the
    enrolled pairs last, then more untouched trainings; None: about 8% of the activity rows."""
    user, training, enrol, done, has_done = (np.concatenate([getattr(f, name) for f in funnels])
                                             for name in ("user", "training", "enrol", "done", "has_done"))
    with_some = world.user_tenant[user] % NO_ASSIGNMENTS_EVERY != NO_ASSIGNMENTS_EVERY - 1
    if rows is None:
        picked = np.flatnonzero(with_some & (rng.random(len(user)) < P_ASSIGNED))
        n_untouched, n_repeated = None, None
    else:
        n_repeated = round(rows * P_ASSIGNMENT_REPEATED)
        eligible = np.flatnonzero(with_some)
        n_pairs = min(len(eligible), round((rows - n_repeated) / (1 + ASSIGNED_UNTOUCHED)))
        picked = np.sort(rng.choice(eligible, n_pairs, replace=False))
        n_untouched = rows - n_repeated - n_pairs
    user, training, enrol, done, has_done = (a[picked] for a in (user, training, enrol, done, has_done))
    n = len(user)
    assigned = np.maximum(enrol - rng.integers(0, 10 * DAY, n), 0)
    due = np.where(has_done, done + rng.integers(-10 * DAY, 20 * DAY, n),
                   assigned + rng.integers(7 * DAY, 120 * DAY, n))
    after = has_done & (rng.random(n) < P_ASSIGNED_AFTER_DONE)
    assigned = np.where(after, done + rng.integers(DAY, 5 * DAY, n), assigned)
    due = np.maximum(np.where(after, assigned + 14 * DAY, due), assigned + DAY)

    horizon = world.days * DAY
    learners = np.flatnonzero((world.user_tenant % NO_ASSIGNMENTS_EVERY != NO_ASSIGNMENTS_EVERY - 1)
                              & ~world.user_connection_only)
    m = (int(n * ASSIGNED_UNTOUCHED) if n_untouched is None else n_untouched) if len(learners) else 0
    new_user = learners[rng.integers(0, max(len(learners), 1), m)]
    new_training = np.searchsorted(world.training_keys,
                                   world.user_tenant[new_user] + rng.random(m) * (1 - 1e-9), "right")
    new_assigned = horizon - rng.integers(DAY, 60 * DAY, m)
    new_due = np.maximum(new_assigned + DAY, horizon + rng.integers(-20 * DAY, 40 * DAY, m))
    user, training = np.concatenate([user, new_user]), np.concatenate([training, new_training])
    assigned, due = np.concatenate([assigned, new_assigned]), np.concatenate([due, new_due])

    repeated = (np.flatnonzero(rng.random(len(user)) < P_ASSIGNMENT_REPEATED) if n_repeated is None
                else np.sort(rng.choice(len(user), min(n_repeated, len(user)), replace=False)))
    order = np.concatenate([np.arange(len(user)), repeated])
    user, training, assigned, due = user[order], training[order], assigned[order], due[order]
    due[len(order) - len(repeated):] += 7 * DAY  # the repeat, written later, moves the deadline
    return _format_assignments(rng, world, user, training, assigned, due)


def _format_assignments(rng, world: World, user, training, assigned, due) -> pa.Table:
    """Assignment rows as text: dates alone mostly, sometimes a due time, sometimes no deadline or a bad one."""
    n = len(user)
    start = np.datetime64(world.first_day, "s").astype(np.int64)

    def text(seconds: np.ndarray, timestamp: np.ndarray) -> pa.Array:
        instants = pa.array(start + seconds, pa.timestamp("s"))
        return pc.if_else(pa.array(timestamp), pc.strftime(instants, "%Y-%m-%dT%H:%M:%SZ"),
                          pc.strftime(instants, "%Y-%m-%d"))

    due_text = text(due, rng.random(n) < P_DUE_TIMESTAMP)
    due_text = pc.if_else(pa.array(rng.random(n) < P_NO_DUE), pa.nulls(n, pa.string()), due_text)
    due_text = pc.if_else(pa.array(_some(rng, n, P_ASSIGNMENT_BAD) if n else np.zeros(0, bool)),
                          pa.scalar("soon"), due_text)
    return pa.table({
        "tenant_id": pa.array(world.tenant_names).take(pa.array(world.user_tenant[user])),
        "user_id": world.user_ids.take(pa.array(user)),
        "training_id": world.training_ids.take(pa.array(training)),
        "assigned_at": text(assigned, np.zeros(n, bool)),
        "due_at": due_text,
    })


def _format_chunk(world: World, ids, user, utc, etype, training, score, duration,
                  offset) -> pa.Table:
    """Activity rows as text columns, ready for a quote-free CSV writer."""
    shown = utc + np.where(offset, world.user_offset_s[user], 0)
    suffix = np.where(offset, world.user_suffix[user], 0)
    occurred_at = pc.binary_join_element_wise(
        world.day_text.take(pa.array(shown // DAY + 1)),
        world.time_text.take(pa.array(shown % DAY)),
        pa.array(world.offset_suffixes).take(pa.array(suffix)), "")
    event_id = pc.binary_join_element_wise(
        "e", pc.utf8_lpad(pc.cast(pa.array(ids), pa.string()), 9, "0"), "")
    has_score = score >= 0
    score_text = pc.binary_join_element_wise(
        pc.cast(pa.array(score // 10, mask=~has_score), pa.string()),
        pc.cast(pa.array(score % 10), pa.string()), ".")
    return pa.table({
        "event_id": event_id,
        "occurred_at": occurred_at,
        "tenant_id": pa.array(world.tenant_names).take(pa.array(world.user_tenant[user])),
        "user_id": world.user_ids.take(pa.array(user)),
        "event_type": pa.array(EVENT_TYPES).take(pa.array(etype)),
        "training_id": world.training_ids.take(pa.array(training, mask=training < 0)),
        "score": score_text,
        "duration_s": pa.array(duration, mask=duration < 0),
    })
