"""/metrics: Prometheus text with request counts and latencies, the snapshot, refreshes and the app cache."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support.credentials import ALL_KEY, bearer


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def test_met001_requests_by_route_and_status(make_server, generated_snapshot_dir, tenants):
    client = make_server(generated_snapshot_dir).test_client()
    for _ in range(3):
        client.get(f"/api/v1/tenants/{tenants[0]}/kpis", headers=bearer(ALL_KEY))
    client.get(f"/api/v1/tenants/{tenants[0]}/kpis")
    samples = scrape(client)
    route = "/api/v1/tenants/<tenant>/kpis"
    assert samples[("dataviz_http_requests_total", (("method", "GET"), ("route", route), ("status", "200")))] == 3
    assert samples[("dataviz_http_requests_total", (("method", "GET"), ("route", route), ("status", "401")))] == 1
    assert samples[("dataviz_http_request_duration_seconds_count", (("route", route), ("status", "200")))] == 3
    assert ("dataviz_http_request_duration_seconds_bucket", (("le", "+Inf"), ("route", route), ("status", "200"))) \
        in samples


def test_met002_snapshot_refreshes_and_cache(make_server, generated_snapshot_dir, snapshot, tenants):
    client = make_server(generated_snapshot_dir).test_client()
    for _ in range(2):
        client.get(f"/api/v1/tenants/{tenants[1]}/heatmap", headers=bearer(ALL_KEY))
    samples = scrape(client)
    info = [labels for (name, labels), v in samples.items() if name == "dataviz_snapshot_info" and v == 1]
    assert info == [(("data_as_of", snapshot.manifest["data_as_of"]), ("version", snapshot.version))]
    assert samples[("dataviz_snapshot_age_seconds", ())] > 0
    assert samples[("dataviz_refresh_reports", (("outcome", "published"),))] >= 1
    assert samples[("dataviz_refresh_running", ())] == 0
    assert samples[("dataviz_app_cache_hits_total", ())] >= 1
    assert samples[("dataviz_app_cache_misses_total", ())] >= 1
    assert samples[("dataviz_app_cache_errors_total", ())] == 0


def test_met003_no_snapshot_yet(make_server, tmp_path):
    samples = scrape(make_server(tmp_path / "empty").test_client())
    assert not [k for k in samples if k[0] in ("dataviz_snapshot_info", "dataviz_snapshot_age_seconds")]
