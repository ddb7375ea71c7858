"""Tenant isolation: a credential for one tenant never reads another, whatever the path or parameters,
and a locked filter is never widened."""
from __future__ import annotations

from hypothesis import HealthCheck, event, example, given, settings, strategies as st

from app import queries
from tests.support.credentials import ALL_KEY, bearer, embed, tenant_key

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROUTES = ("kpis", "timeseries?metric=connections&granularity=day", "breakdown?metric=starts&by=group",
          "heatmap", "filters")


def disguises(mine: str, other: str) -> list[str]:
    """Paths (after /api/v1/) that spell, or try to reach, ``other``'s data."""
    return [
        f"tenants/{other}/{{route}}",
        f"tenants/{other.upper()}/{{route}}",
        f"tenants/{other.title()}/{{route}}",
        f"tenants/{other}./{{route}}",
        f"tenants/{other}%2E/{{route}}",
        f"tenants/{other}%20/{{route}}",
        f"tenants/%20{other}/{{route}}",
        f"tenants/{other}%00/{{route}}",
        f"tenants/{other}/",
        f"tenants/{other}%2F{{route}}",
        f"tenants/{mine}%2F..%2F{other}/{{route}}",
        f"tenants/{mine}/..%2F{other}/{{route}}",
        f"tenants/..%2F{other}/{{route}}",
        f"tenants/{mine}/../{other}/{{route}}",
        f"tenants/{mine}/../../tenants/{other}/{{route}}",
        f"tenants//{other}/{{route}}",
        f"tenants/{other}//{{route}}",
        f"/tenants/{other}/{{route}}",
        f"tenants/{''.join(f'%{ord(c):02X}' for c in other)}/{{route}}",
        f"tenants/{mine},{other}/{{route}}",
        f"tenants/{mine}|{other}/{{route}}",
        "tenants/*/{route}",
        "tenants/%2A/{route}",
    ]


def credentials(tenant: str) -> list[dict]:
    return [bearer(tenant_key(tenant)), embed(tenant)]


@st.composite
def tenant_pairs(draw, tenants):
    mine = draw(st.sampled_from(tenants))
    other = draw(st.sampled_from([t for t in tenants if t != mine]))
    return mine, other


def assert_only_mine(response, mine: str, other: str) -> None:
    """Refused, or an answer about ``mine`` (never about ``other``)."""
    if response.status_code == 200:
        body = response.get_json()
        assert body is not None and body.get("tenant") == mine, response.request.path
    else:
        assert response.status_code in (400, 403, 404, 405), (response.status_code, response.request.path)
        assert response.mimetype == "application/problem+json"


@SETTINGS
@given(data=st.data())
def test_iso001_paths_never_reach_another_tenant(client, tenants, data):
    mine, other = data.draw(tenant_pairs(tenants))
    for headers in credentials(mine):
        for template in disguises(mine, other):
            for route in ROUTES:
                response = client.get(f"/api/v1/{template.format(route=route)}", headers=headers)
                assert_only_mine(response, mine, other)
        assert client.get(f"/api/v1/tenants/{other}/kpis", headers=headers).status_code == 403


@SETTINGS
@given(data=st.data())
def test_iso002_parameters_and_headers_never_switch_tenant(client, tenants, data):
    mine, other = data.draw(tenant_pairs(tenants))
    for headers in credentials(mine):
        for route in ROUTES:
            sep = "&" if "?" in route else "?"
            for extra in (f"tenant={other}", f"tenant_id={other}", f"tenants={other}"):
                response = client.get(f"/api/v1/tenants/{mine}/{route}{sep}{extra}", headers=headers)
                assert response.status_code == 400
            response = client.get(f"/api/v1/tenants/{mine}/{route}",
                                  headers={**headers, "X-Tenant": other, "X-Forwarded-Path": f"/tenants/{other}"})
            assert response.status_code == 200 and response.get_json()["tenant"] == mine


@SETTINGS
@given(data=st.data())
def test_iso003_two_credentials_in_one_request_do_not_widen(client, tenants, data):
    mine, other = data.draw(tenant_pairs(tenants))
    both = {"Authorization": f"Bearer {tenant_key(mine)}, Bearer {tenant_key(other)}"}
    assert client.get(f"/api/v1/tenants/{other}/kpis", headers=both).status_code == 401
    trailing = {"Authorization": f"Bearer {tenant_key(mine)} {tenant_key(other)}"}
    assert client.get(f"/api/v1/tenants/{other}/kpis", headers=trailing).status_code == 401


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(tenant_at=0, dim="group", locked_at=[0, 1], asked_at=[1], within=True)  # narrowing inside the lock
@example(tenant_at=1, dim="training", locked_at=[0], asked_at=[0], within=True)  # the whole lock, asked for
@example(tenant_at=2, dim="country", locked_at=[0], asked_at=[], within=False)  # asking nothing: the lock
@example(tenant_at=3, dim="group", locked_at=[0], asked_at=[0, 1], within=False)  # beyond the lock: 403
@given(tenant_at=st.integers(0, 63), dim=st.sampled_from(["group", "country", "training"]),
       locked_at=st.lists(st.integers(0, 63), min_size=1, max_size=2, unique=True),
       asked_at=st.lists(st.integers(0, 63), max_size=3, unique=True), within=st.booleans())
def test_iso004_locked_filter_is_never_widened(client, snapshot, tenants, tenant_at, dim, locked_at, asked_at,
                                               within):
    """Positions pick the tenant and the keys; half the time (``within``) the asked keys are taken from the
    lock, so that narrowing inside the lock is drawn often, not only asking beyond it."""
    tenant = tenants[tenant_at % len(tenants)]
    values = queries.filter_values(snapshot, tenant)
    keys = [v["key"] for v in values[dim]]
    locked = list(dict.fromkeys(keys[i % len(keys)] for i in locked_at))
    if within:  # all but the last of the lock's keys (a strict part of a lock of two or more), or none
        asked = locked[:max(1, len(locked) - 1)] if asked_at else []
    else:
        choices = keys + ["no-such-value"]
        asked = list(dict.fromkeys(choices[i % len(choices)] for i in asked_at))
    event("asked beyond the lock" if set(asked) - set(locked) else
          "narrowed inside the lock" if asked and set(asked) < set(locked) else "the whole lock")
    headers = embed(tenant, filters={dim: locked})
    query = [(dim, v) for v in asked]

    response = client.get(f"/api/v1/tenants/{tenant}/kpis", headers=headers, query_string=query)
    if set(asked) - set(locked):
        assert response.status_code == 403
        return
    assert response.status_code == 200
    effective = response.get_json()["filters"][dim]
    assert set(effective) <= set(locked) and set(effective) == set(asked or locked)
    start, end = queries.default_range(snapshot)
    assert response.get_json()["metrics"] == queries.kpis(snapshot, tenant, start, end, {dim: effective})

    rows = client.get(f"/api/v1/tenants/{tenant}/breakdown", headers=headers,
                      query_string=[("metric", "active_learners"), ("by", dim), ("limit", "1000"), *query]).get_json()
    assert {r["key"] for r in rows["rows"]} <= set(locked)
    offered = client.get(f"/api/v1/tenants/{tenant}/filters", headers=headers).get_json()["filters"][dim]
    assert {v["key"] for v in offered} == set(locked)


def test_iso005_all_tenant_key_sees_case_variants_as_other_tenants(client, tenants):
    tenant = next(t for t in tenants if t.lower() != t.upper())
    for variant in (tenant.upper(), tenant + ".", " " + tenant):
        response = client.get(f"/api/v1/tenants/{variant}/kpis", headers=bearer(ALL_KEY))
        assert response.status_code == 404
