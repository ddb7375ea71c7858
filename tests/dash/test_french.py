"""A French page holds no English: every page and control, in every state a URL can ask for, walked in ``fr``.

Without a browser: the pages as the route renders them and the data callbacks' answers (KPIs, figures,
tables, status lines), whose every displayed string is checked against the English catalog. Ids, values
and keys are not shown, so they are not checked (``Unknown`` is a filter key; its label is translated).
"""
from __future__ import annotations

import itertools
import re

import pytest
from babel import Locale
from babel.numbers import format_decimal, format_percent
from hypothesis import given, settings, strategies as st

from app.catalog import DIMENSIONS, METRICS
from app.view_state import CHARTS, GRANULARITY_CHOICES, PRESETS
from callbacks import explore, overview, shell
from layouts import i18n
from tests.support.credentials import OTHER_TENANT, analyst_token, embed_token

NOT_SHOWN = {"id", "value", "customdata", "key", "className", "data-metric", "data-field", "type", "namespace"}
# Every English text the French catalog says differently, as a pattern: "{date}" matches any date.
ENGLISH = [re.compile(re.sub(r"\\\{[a-z_]+\\\}", ".+", re.escape(text)))
           for key, text in i18n.LABELS["en"].items() if i18n.LABELS["fr"].get(key) != text]


def shown(node, out: list[str]) -> list[str]:
    """Every string of a component tree or figure that a viewer reads (not ids, values or keys)."""
    if hasattr(node, "to_plotly_json"):
        node = node.to_plotly_json()
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, (list, tuple)):
        for child in node:
            shown(child, out)
    elif isinstance(node, dict):
        for name, child in node.items():
            if name not in NOT_SHOWN:
                shown(child, out)
    return out


def english(strings: list[str]) -> set[str]:
    """The strings that are, or hold as a part ("Groupe : Unknown", "Apprenants actifs — week of …"), a text of
    the English catalog."""
    parts = {p.strip() for s in strings for p in [s, *re.split(r"\s*[:,(—]\s*|\)", s)] if p.strip()}
    return {p for p in parts if any(pattern.fullmatch(p) for pattern in ENGLISH)}


SEARCHES = [
    "", "&group=Unknown&country=Unknown", "&category=Unknown&format=Unknown", "&training=no-such-training",
    "&range=custom&from=1990-01-01&to=1990-01-31",  # no data in the range
    "&range=custom&from=2026-10-31&to=2026-10-01",  # a range the dashboards refuse
    *(f"&range={p}" for p in PRESETS), *(f"&gran={g}" for g in GRANULARITY_CHOICES),
]
# Explore's choices: every metric by every dimension in every chart (the overview reads none of them).
CHOICES = [f"&metric={m.name}&by={d.name}&chart={c}" for m, d, c in itertools.product(METRICS, DIMENSIONS, CHARTS)]


WALKS = ("/embed/overview", "/explore", "error pages")


@pytest.mark.parametrize("walk", WALKS)
def test_french001_no_english_on_any_french_page(server_context, walk):
    """Each page in every state of SEARCHES (and another tenant's), and the error pages: three walks, so that
    parallel workers can share them."""
    found = {}
    if walk == "error pages":
        for path, token in (("/embed/overview", embed_token("new-customer", locale="fr")),
                            ("/embed/nothing", embed_token(locale="fr"))):
            page, _ = shell.render(path, f"?token={token}")
            for text in english(shown(page, [])):
                found.setdefault(text, path)
        assert found == {}
        return
    path = walk
    token = embed_token(locale="fr") if path == "/embed/overview" else analyst_token(locale="fr")
    outputs_of = overview.overview_outputs if path == "/embed/overview" else explore.explore_outputs
    for search in SEARCHES + (CHOICES if path == "/explore" else []) + [f"&tenant={OTHER_TENANT}"]:
        page, _ = shell.render(path, f"?token={token}{search}")
        outputs = outputs_of(token, f"?token={token}{search}")
        for text in english(shown(page, []) + shown(outputs, [])):
            found.setdefault(text, f"{path}?{search}")
    assert found == {}


def test_french002_the_walk_finds_english_where_there_is_some(server_context):
    """The check itself: the English page of the same state is caught, "Unknown" and the catalog texts alike."""
    page, _ = shell.render("/embed/overview", f"?token={embed_token()}&group=Unknown")
    caught = english(shown(page, []))
    assert {"Unknown", "Learning overview", "Group"} <= caught
    assert any(text.startswith("Data as of ") for text in caught)


def test_french003_the_learner_panel_holds_no_english(server_context):
    """The panel (issue 15): the page with it (its charts' tables' buttons), every cohort's list, a list a chart
    opened (its title), a learner's trainings, an unknown learner; explore's learner grid (its headers, heading,
    summary, exports) and a learner it opened."""
    from app.view_state import COHORTS
    from callbacks import learners as panel

    token = embed_token(locale="fr", learners=True)
    found = {}
    page, _ = shell.render("/embed/overview", f"?token={token}&cohort=active")
    strings = shown(page, [])
    user = None
    for cohort in COHORTS:
        out = panel.panel_outputs(token, f"?token={token}&range=90d&cohort={cohort}")
        strings += shown(out, [])
        user = user or next((r for r in re.findall(r"'user': '([^']+)'", repr(out["body"].to_plotly_json()))), None)
    explore_token = analyst_token(locale="fr")
    page, _ = shell.render("/explore", f"?token={explore_token}")
    strings += shown(page, [])
    for metric in ("completions", "completion_rate", "at_risk_learners"):
        strings += shown(panel.explore_outputs(explore_token, f"?token={explore_token}&metric={metric}"), [])
    for learner in (user, "nobody-such"):
        strings += shown(panel.panel_outputs(token, f"?token={token}&cohort=completed&learner={learner}"), [])
    for drill in ("cohort_week=2026-10-05", "cohort_month=2026-10-01", "cohort_day=2026-10-05", "cohort_group=Sales",
                  "cohort_training=t0001", "cohort_week=2020-01-06"):  # the last: outside the range
        strings += shown(panel.panel_outputs(token, f"?token={token}&range=90d&cohort=active&{drill}"), [])
    strings += shown(panel.explore_outputs(explore_token, f"?token={explore_token}&learner={user}"), [])
    for text in english(strings):
        found.setdefault(text, "panel")
    assert user and found == {}


@settings(max_examples=400, deadline=None)
@given(value=st.one_of(st.integers(-10**12, 10**12), st.floats(-1e12, 1e12, allow_nan=False)),
       locale=st.sampled_from(["en", "fr"]), digits=st.integers(0, 3))
def test_french004_numbers_read_exactly_as_babel_writes_them(value, locale, digits):
    """``i18n.number``/``percent`` keep babel's parsed patterns (babel parsed them again for every table cell):
    what they write is what babel's own ``format_decimal``/``format_percent`` write, rounding included."""
    decimals = "." + "0" * digits if digits else ""
    assert i18n.number(value, locale, digits) == format_decimal(value, format="#,##0" + decimals, locale=locale)
    head, _, tail = Locale.parse(locale).percent_formats[None].pattern.rpartition("0")
    assert i18n.percent(value, locale, digits) == format_percent(value, format=f"{head}0{decimals}{tail}",
                                                                 locale=locale)
