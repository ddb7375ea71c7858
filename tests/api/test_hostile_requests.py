"""Hostile requests against the API and the dashboards: forged tokens, injected tenants and markup, leaks of
secrets, missing security headers, and a bounded fuzz of every route and of the Dash callback endpoint (no 5xx).
"""
from __future__ import annotations

import base64
import json
import logging
import time

import jwt
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app.auth import MAX_TOKEN_LIFETIME, mint_token
from tests.support.apps import make_app
from tests.support.credentials import (ADMIN_KEY, ALL_KEY, ANALYST_SECRET, EMBED_SECRET, OTHER_SECRET, bearer, embed,
                                       tenant_key)

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def forged_tokens(tenant: str, other: str) -> dict[str, str]:
    """Tokens an attacker can make without the server's secrets, or by editing a real one."""
    now = int(time.time())
    good = mint_token(EMBED_SECRET, tenant)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'tenant': other, 'exp': now + 600})}.",
        "alg None, signature kept": f"{b64({'alg': 'None'})}.{b64({**claims, 'tenant': other})}.{signature}",
        "signed with an API key": jwt.encode({"tenant": other, "exp": now + 600}, tenant_key(tenant), "HS256"),
        "signed with the admin key": jwt.encode({"tenant": other, "exp": now + 600}, ADMIN_KEY, "HS256"),
        "signed with another secret": mint_token(OTHER_SECRET, other),
        "HS512 with the embed secret": jwt.encode({"tenant": other, "exp": now + 600}, EMBED_SECRET, "HS512"),
        "missing exp": jwt.encode({"tenant": tenant}, EMBED_SECRET, "HS256"),
        "exp years ahead": jwt.encode({"tenant": tenant, "exp": now + 5 * 365 * 86400}, EMBED_SECRET, "HS256"),
        "exp one lifetime and a minute ahead": jwt.encode(
            {"tenant": tenant, "exp": now + MAX_TOKEN_LIFETIME + 60 + 31}, EMBED_SECRET, "HS256"),
        "exp as a string": jwt.encode({"tenant": tenant, "exp": str(now + 600)}, EMBED_SECRET, "HS256"),
        "expired": jwt.encode({"tenant": tenant, "exp": now - 120}, EMBED_SECRET, "HS256"),
        "tampered tenant": f"{header}.{b64({**claims, 'tenant': other})}.{signature}",
        "tampered filters": f"{header}.{b64({**claims, 'filters': {}})}.{signature}",
        "tenant * with the embed secret": mint_token(EMBED_SECRET, "*"),
        "tenant list": jwt.encode({"tenant": [tenant, other], "exp": now + 600}, EMBED_SECRET, "HS256"),
        "analyst secret, one tenant": mint_token(ANALYST_SECRET, other),
        "empty signature": f"{header}.{payload}.",
        "garbage": "a.b.c",
    }


def test_hostile_req001_forged_tokens_are_401(client, tenants):
    mine, other = tenants[0], tenants[1]
    for name, token in forged_tokens(mine, other).items():
        for tenant in (mine, other):
            response = client.get(f"/api/v1/tenants/{tenant}/kpis", headers=bearer(token))
            assert response.status_code == 401, (name, tenant, response.get_data(as_text=True))
            assert token not in response.get_data(as_text=True)


def test_hostile_req002_only_the_analyst_secret_opens_every_tenant(client, tenants):
    analyst = bearer(mint_token(ANALYST_SECRET, "*"))
    for tenant in tenants[:3]:
        assert client.get(f"/api/v1/tenants/{tenant}/kpis", headers=analyst).status_code == 200
    assert client.get(f"/api/v1/tenants/{tenants[0]}/kpis", headers=bearer(mint_token(EMBED_SECRET, "*"))).status_code == 401
    locked = embed(tenants[0], filters={"group": ["Sales"]})
    assert client.get(f"/api/v1/tenants/{tenants[0]}/kpis?group=HR", headers=locked).status_code == 403


def test_hostile_req003_secret_rotation_accepts_old_and_new_embed_secrets(make_server, generated_snapshot_dir, tenants):
    old, new = EMBED_SECRET, "the-new-embed-secret-0123456789abcdef"
    client = make_server(generated_snapshot_dir, embed_secret=f"{new},{old}").test_client()
    for secret in (new, old):
        response = client.get(f"/api/v1/tenants/{tenants[0]}/kpis", headers=bearer(mint_token(secret, tenants[0])))
        assert response.status_code == 200
    retired = make_server(generated_snapshot_dir, embed_secret=new).test_client()
    assert retired.get(f"/api/v1/tenants/{tenants[0]}/kpis", headers=embed(tenants[0])).status_code == 401


def test_hostile_req004_misconfigured_secrets_fail_at_start(make_server, generated_snapshot_dir):
    with pytest.raises(ValueError, match="must differ"):
        make_server(generated_snapshot_dir, embed_secret=f"x-{EMBED_SECRET},{ANALYST_SECRET}")


@pytest.fixture(scope="module")
def marked_up(tmp_path_factory):
    """An app over a snapshot whose titles, groups and ids hold markup and formulas."""
    from etl.refresh import run_refresh
    from tests.support.exports import HEADER, write_export

    root = tmp_path_factory.mktemp("markup")
    rows = [f"e{i},2026-10-{10 + i}T08:00:00Z,acme,u{i},{kind},{training},80,60"
            for i, (kind, training) in enumerate([("connection", ""), ("enrolment", "T<b>1"), ("completion", "T<b>1"),
                                                  ("enrolment", "=cmd|' /C calc'!A0"), ("connection", "")])]
    users = "tenant_id,user_id,group,country\n" + "".join(
        f"acme,u{i},\"<script>alert('g{i}')</script>\",FR\n" for i in range(5))
    trainings = ("tenant_id,training_id,title,category,format\n"
                 "acme,T<b>1,\"<img src=x onerror=alert(1)>\",\"@SUM(1+1)\",\"-2+3\"\n")
    write_export(root / "src", activity=HEADER + "\n".join(rows) + "\n", users=users, trainings=trainings)
    assert run_refresh(str(root / "src"), root / "snap").outcome == "published"
    return make_app(root / "snap", root / "cache", ["acme"])


def test_hostile_req005_markup_in_data_is_json_text_never_html(marked_up):
    client = marked_up.server.test_client()
    response = client.get("/api/v1/tenants/acme/filters", headers=bearer(tenant_key("acme")))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_json()
    assert {"key": "<script>alert('g0')</script>", "label": "<script>alert('g0')</script>"} in body["filters"]["group"]
    assert {"key": "T<b>1", "label": "<img src=x onerror=alert(1)>"} in body["filters"]["training"]


def test_hostile_req006_dashboard_renders_markup_as_text(marked_up):
    """The page shell never carries data, and no layout or callback hands data to an HTML-rendering component."""
    from tests.support.services import REPO

    page = marked_up.server.test_client().get(f"/embed/overview?token={mint_token(EMBED_SECRET, 'acme')}")
    assert page.status_code == 200 and "<script>alert" not in page.get_data(as_text=True)
    sources = [p.read_text() for folder in ("layouts", "callbacks") for p in (REPO / folder).glob("*.py")]
    assert len(sources) >= 10 and not any("dangerously_allow_html" in s or "dcc.Markdown" in s for s in sources)


def test_hostile_req007_csv_download_neutralizes_formulas():
    from callbacks.explore import csv_text

    columns = [{"field": "key", "headerName": "=HYPERLINK(\"x\")"}, {"field": "value", "headerName": "value"}]
    rows = [{"key": k, "value": v} for k, v in
            [("=cmd|' /C calc'!A0", 1), ("+1", 2), ("-2+3", -3), ("@SUM(1)", 4), ("\t=1", 5), ("\r=1", 6), ("ok", 7)]]
    import csv
    import io

    header, *lines = csv.reader(io.StringIO(csv_text(columns, rows, None), newline=""))
    assert header[0].startswith("'=HYPERLINK")
    assert [line[0][0] for line in lines] == ["'"] * 6 + ["o"]
    assert lines[2][1] == "-3"  # numbers stay numbers


def test_hostile_req008_tenant_ids_never_reach_a_path(client, server):
    """Hostile tenant ids are refused, and leave nothing on disk: no file, and no cache entry."""
    from pathlib import Path

    cache = Path(server.config["DATAVIZ_SETTINGS"].cache_dir)
    before = set(cache.rglob("*"))

    for tenant in ("..%2Fx", "..", ".", "%2E%2E%2F%2E%2E%2Fetc", "x%00", "..%5C..%5Cx", "a" * 300):
        for headers in (bearer(ALL_KEY), bearer(ADMIN_KEY), bearer(mint_token(ANALYST_SECRET, "*"))):
            response = client.get(f"/api/v1/tenants/{tenant}/kpis", headers=headers)
            assert response.status_code in (400, 404), (tenant, response.status_code)
    assert set(cache.rglob("*")) == before


SECRETS = (ADMIN_KEY, ALL_KEY, EMBED_SECRET, ANALYST_SECRET)


def test_hostile_req009_secrets_and_tokens_never_in_logs_or_error_pages(client, tenants, caplog, monkeypatch):
    from app import queries as q

    caplog.set_level(logging.DEBUG)
    token = mint_token(EMBED_SECRET, tenants[0])
    monkeypatch.setattr(q, "kpis", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    bodies = []
    for path, headers in [(f"/api/v1/tenants/{tenants[0]}/kpis", bearer(token)),  # a bug: 500
                          (f"/api/v1/tenants/{tenants[0]}/kpis", bearer(ADMIN_KEY)),
                          (f"/api/v1/tenants/{tenants[0]}/kpis", bearer(token[:-3] + "abc")),
                          (f"/api/v1/tenants/{tenants[1]}/kpis", bearer(token)),
                          (f"/embed/overview?token={token[:-2]}xx", {}),
                          (f"/nope?token={token}", {})]:
        response = client.get(path, headers=headers)
        bodies.append(response.get_data(as_text=True))
    assert client.get(f"/api/v1/tenants/{tenants[0]}/kpis", headers=bearer(token)).status_code == 500
    seen = caplog.text + "".join(bodies)
    assert "unexpected error" in caplog.text  # the 500 was logged, with its traceback
    for secret in (*SECRETS, token, token[:-3] + "abc"):
        assert secret not in seen


def test_hostile_req010_security_headers_on_every_answer(client, tenants):
    token = mint_token(EMBED_SECRET, tenants[0])
    for method, path, headers in [
            ("GET", "/", {}), ("GET", "/healthz", {}), ("GET", "/readyz", {}), ("GET", "/metrics", {}),
            ("GET", f"/embed/overview?token={token}", {}), ("GET", "/embed/overview", {}),
            ("GET", f"/api/v1/tenants/{tenants[0]}/kpis", bearer(ALL_KEY)), ("GET", "/api/v1/meta", {}),
            ("GET", "/api/v1/openapi.json", {}), ("GET", "/api/v1/nope", {}), ("POST", "/api/v1/meta", {}),
            ("POST", "/_dash-update-component", {}), ("GET", "/_dash-layout", {}), ("GET", "/assets/nope.css", {})]:
        response = client.open(path, method=method, headers=headers)
        assert response.status_code < 500, (path, response.status_code)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "same-origin", path
        policy = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
        assert policy["frame-ancestors"] == "'self'" and policy["object-src"] == "'none'", path
        assert policy["script-src"].startswith("'self' 'sha256-") and "unsafe" not in policy["script-src"], path


PATHS = ["/", "/healthz", "/readyz", "/metrics", "/embed/overview", "/embed/explore", "/explore", "/demo",
         "/api/v1/meta", "/api/v1/openapi.json", "/api/v1/refresh", "/api/v1/refresh/status", "/_dash-layout",
         "/_dash-dependencies", "/_dash-update-component", "/_reload-hash", "/assets/x",
         "/api/v1/tenants/{t}/kpis", "/api/v1/tenants/{t}/timeseries", "/api/v1/tenants/{t}/breakdown",
         "/api/v1/tenants/{t}/heatmap", "/api/v1/tenants/{t}/filters"]
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@FUZZ
@given(data=st.data())
def test_hostile_req011_fuzz_every_route_no_5xx(client, tenants, data):
    path = data.draw(st.sampled_from(PATHS)).format(t=data.draw(st.sampled_from([tenants[0], "x", "*", ""])))
    query = data.draw(st.lists(st.tuples(st.sampled_from(["token", "from", "to", "metric", "by", "limit", "group",
                                                          "tenant", "x", "compare", "granularity"]), TEXT), max_size=4))
    credential = data.draw(st.sampled_from([None, ALL_KEY, tenant_key(tenants[0]), mint_token(EMBED_SECRET, tenants[0]),
                                            mint_token(ANALYST_SECRET, "*"), "a.b.c", "x" * 5000]))
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    method = data.draw(st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]))
    body = data.draw(st.one_of(st.none(), st.binary(max_size=200), st.just(b"{}"), st.just(b"[]")))
    response = client.open(path, method=method, query_string=query, headers=headers, data=body,
                           content_type=data.draw(st.sampled_from(["application/json", "text/plain"])))
    assert response.status_code < 500, (method, path, query, response.get_data(as_text=True)[:300])


JSON = st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)


@pytest.fixture(scope="module")
def dash_app(generated_snapshot_dir, tenants, tmp_path_factory):
    return make_app(generated_snapshot_dir, tmp_path_factory.mktemp("cache"), tenants)


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_hostile_req012_fuzz_the_callback_endpoint_no_5xx_and_no_other_tenant(dash_app, tenants, data):
    from dash._utils import split_callback_id

    """Real callback ids with forged inputs, and bodies that are not what Dash sends: never a 5xx, and never a
    word of a tenant that no valid token in the request names."""
    client = dash_app.server.test_client()
    output = data.draw(st.sampled_from(sorted(dash_app.callback_map) + ["nope.children", ""]))
    token = data.draw(st.sampled_from([mint_token(EMBED_SECRET, tenants[0]), None, "a.b.c",
                                       mint_token(OTHER_SECRET, tenants[1])]))
    value = JSON | st.just(token) | st.just(f"?tenant={tenants[1]}&token={token}")
    inputs = data.draw(st.lists(st.fixed_dictionaries({"id": TEXT, "property": TEXT, "value": value}), max_size=3))
    server_side = output in dash_app.callback_map and "callback" in dash_app.callback_map[output]  # req013: others
    if server_side and data.draw(st.booleans()):  # shaped like the renderer's, hostile values
        spec = dash_app.callback_map[output]

        def item(declared):
            if '["ALL"]' in declared["id"]:
                pattern = json.loads(declared["id"])
                ids = st.fixed_dictionaries({k: (TEXT if v == ["ALL"] else st.just(v)) for k, v in pattern.items()})
                return data.draw(st.lists(st.fixed_dictionaries({"id": ids, "property": st.just(declared["property"]),
                                                                 "value": value}), max_size=2))
            plain = json.loads(declared["id"]) if declared["id"].startswith("{") else declared["id"]
            if isinstance(plain, dict):  # a MATCH wildcard: the renderer sends one component, any value there
                plain = {k: data.draw(TEXT) if v == ["MATCH"] else v for k, v in plain.items()}
            return {"id": plain, "property": declared["property"], "value": data.draw(value)}

        declared = split_callback_id(output)
        outputs = [item(d) for d in declared] if isinstance(declared, list) else item(declared)
        for out in outputs if isinstance(outputs, list) else [outputs]:
            for o in out if isinstance(out, list) else [out]:
                o.pop("value")
        body = {"output": output, "outputs": outputs, "inputs": [item(d) for d in spec["inputs"]],
                "state": [item(d) for d in spec["state"]], "changedPropIds": []}
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code in (200, 204), (body, response.get_data(as_text=True)[:300])
        assert f'"{tenants[1]}' not in response.get_data(as_text=True).replace(f"tenant={tenants[1]}", "")
        return
    body = data.draw(st.sampled_from([
        {"output": output, "outputs": [], "inputs": inputs, "changedPropIds": [], "state": []},
        {"output": output, "inputs": inputs},
        {"output": output, "outputs": {"id": "x", "property": "y"}, "inputs": "x", "changedPropIds": None},
        {}, [], "x", None]))
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code < 500, (body, response.get_data(as_text=True)[:300])
    text = response.get_data(as_text=True)
    assert f'"{tenants[1]}' not in text.replace(f"tenant={tenants[1]}", ""), text[:300]


def test_hostile_req013_a_browser_callback_posted_to_the_server_is_a_400(dash_app, tenants):
    """Callbacks that run in the browser (the explore grid's height, the learner rows copied into the grid...) are
    in Dash's callback map but have no server function: a request shaped like the renderer's for one is a 400,
    not Dash's KeyError (a 500; hypothesis found it in req012)."""
    from dash._utils import split_callback_id

    client = dash_app.server.test_client()
    browser = [output for output, spec in dash_app.callback_map.items() if "callback" not in spec]
    assert browser, "no browser callback registered"
    token = mint_token(EMBED_SECRET, tenants[0])

    def item(declared, value=None):
        return {"id": json.loads(declared["id"]) if declared["id"].startswith("{") else declared["id"],
                "property": declared["property"], "value": value}

    for output in browser:
        spec, declared = dash_app.callback_map[output], split_callback_id(output)
        outputs = [{"id": d["id"], "property": d["property"]} for d in declared] if isinstance(declared, list) \
            else {"id": declared["id"], "property": declared["property"]}
        body = {"output": output, "outputs": outputs, "inputs": [item(d, token) for d in spec["inputs"]],
                "state": [item(d) for d in spec["state"]], "changedPropIds": []}
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 400, (output, response.get_data(as_text=True)[:200])
        assert "runs in the browser" in response.get_json()["error"]
