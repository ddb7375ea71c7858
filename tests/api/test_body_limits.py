"""Issue 13, item 1 (app side): bodies over 1 MB and huge tokens are refused before any work is done."""
from __future__ import annotations

import io
import time

import pytest

from app.auth import MAX_TOKEN_LENGTH, AuthError, verify_token
from app.config import Settings
from app.security import MAX_BODY_BYTES
from tests.support.credentials import ADMIN_KEY, EMBED_SECRET, bearer
from tests.support.problems import problem

OVER = b"{" + b" " * MAX_BODY_BYTES + b"}"


def test_body001_a_callback_body_over_one_megabyte_is_a_413_problem_before_any_parse(client):
    assert MAX_BODY_BYTES == 1024 * 1024
    response = client.post("/_dash-update-component", data=OVER, content_type="application/json")
    body = problem(response, 413)
    assert str(MAX_BODY_BYTES) in body["detail"]


def test_body002_an_api_body_over_one_megabyte_is_a_413_even_with_a_valid_admin_key(client):
    response = client.post("/api/v1/refresh", data=OVER, headers=bearer(ADMIN_KEY))
    problem(response, 413)


def test_body003_a_chunked_body_is_cut_at_one_megabyte(client):
    """No Content-Length (a chunked upload, as gunicorn passes it on): read up to the cap, then 413."""
    response = client.post("/_dash-update-component", content_type="application/json", environ_overrides={
        "wsgi.input": io.BytesIO(b"x" * 3 * MAX_BODY_BYTES), "wsgi.input_terminated": True,
        "HTTP_TRANSFER_ENCODING": "chunked"})
    problem(response, 413)


def test_body004_a_body_under_the_cap_still_reaches_the_callback_check(client):
    response = client.post("/_dash-update-component", json={"output": "nothing.here"})
    assert response.status_code == 400


def test_body005_a_forged_huge_token_is_refused_by_its_length_before_any_decoding():
    settings = Settings.from_env(embed_secret=EMBED_SECRET)
    forged = "eyJhbGciOiJIUzI1NiJ9." + "A" * 1_000_000 + ".sig"
    started = time.perf_counter()
    with pytest.raises(AuthError) as refused:
        verify_token(forged, settings)
    assert time.perf_counter() - started < 0.05
    assert refused.value.status == 401
    assert str(MAX_TOKEN_LENGTH) in refused.value.detail
