"""The catalog (app/catalog.py) is the one list of metrics and dimensions: everything derived from it agrees."""
from __future__ import annotations

from app import catalog, openapi, params, queries
from app.auth import FILTER_DIMENSIONS
from app.view_state import parse
from layouts import i18n


def test_catalog001_every_entry_has_a_label_in_each_locale():
    for locale in i18n.LOCALES:
        missing = [key for key in catalog.label_keys() if key not in i18n.LABELS[locale]]
        assert missing == [], (locale, missing)


def test_catalog002_the_api_and_the_queries_take_exactly_the_catalog():
    names = [m.name for m in catalog.METRICS]
    dims = [d.name for d in catalog.DIMENSIONS]
    assert list(queries.METRICS) == names and list(queries.DIMENSIONS) == dims
    assert params.METRIC.schema["enum"] == names and params.BY.schema["enum"] == dims
    assert [p.name for p in params.FILTERS] == dims and list(FILTER_DIMENSIONS) == dims
    assert list(openapi.METRICS_OBJECT["properties"]) == names


def test_catalog003_each_metric_reads_known_event_types_and_has_a_format():
    for metric in catalog.METRICS:
        assert set(metric.events) <= set(catalog.EVENT_TYPES), metric
        assert metric.number_format in (catalog.INTEGER, catalog.DECIMAL, catalog.PERCENT), metric
        assert i18n.metric_value(metric.name, None, "en") == i18n.t("en", "na")
        assert parse(f"?metric={metric.name}").metric == metric.name
