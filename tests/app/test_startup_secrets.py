"""Issue 13, items 5 and 6: configurations that would open the data refuse to start, loudly.

Before, ``DATAVIZ_DEMO=1`` with the real embed secret made ``/demo`` mint
production-signed tokens for any tenant, to anyone; the app started with
embed secret ``a``, analyst secret ``b`` and API key ``k:*``; and an analyst
secret equal to a tenant's API key let that key's holder mint all-tenant tokens.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from app.auth import MIN_API_KEY_LENGTH, MIN_PURGE_TOKEN_LENGTH, MIN_SECRET_BYTES
from tests.support import services
from tests.support.apps import make_app

EMBED = "startup-embed-secret-0123456789abcdefghij"
ANALYST = "startup-analyst-secret-0123456789abcdefgh"
KEY = "startup-reader-key-0123456789abcdef"


def start(tmp_path, **overrides):
    settings = {"embed_secret": EMBED, "analyst_secret": ANALYST, "api_keys": (f"{KEY}:*",), **overrides}
    return make_app(tmp_path / "snapshots", tmp_path / "cache", **settings)


def refused(tmp_path, **overrides) -> str:
    with pytest.raises(ValueError) as exc:
        start(tmp_path, **overrides)
    message = str(exc.value)
    assert not {EMBED, ANALYST, KEY} & set(message.split()) and EMBED not in message and ANALYST not in message
    return message


def test_secrets001_strong_distinct_values_start(tmp_path):
    assert start(tmp_path).server is not None


def test_secrets002_demo_mode_refuses_a_configured_embed_secret(tmp_path):
    message = refused(tmp_path, demo=True)
    assert "DATAVIZ_DEMO=1" in message and "DATAVIZ_EMBED_SECRET" in message
    demo = start(tmp_path, demo=True, embed_secret=None)  # its own generated secret, as `make run` does
    assert demo.server.test_client().get("/demo").status_code in (200, 503)


def test_secrets003_short_secrets_and_keys_are_refused(tmp_path):
    assert (MIN_SECRET_BYTES, MIN_API_KEY_LENGTH) == (32, 24)
    assert f"at least {MIN_SECRET_BYTES} bytes" in refused(tmp_path, embed_secret="a")
    assert "DATAVIZ_ANALYST_SECRET" in refused(tmp_path, analyst_secret="b")
    assert "DATAVIZ_EMBED_SECRET" in refused(tmp_path, embed_secret=f"{EMBED},short")  # a rotation's old one too
    assert f"at least {MIN_API_KEY_LENGTH} characters" in refused(tmp_path, api_keys=("k:*",))
    assert MIN_SECRET_BYTES == len(("é" * 16).encode())  # bytes, not characters
    start(tmp_path, embed_secret="é" * 16)


def test_secrets004_no_value_in_two_roles(tmp_path):
    assert "also a signing secret" in refused(tmp_path, api_keys=(f"{ANALYST}:acme",))
    assert "also a signing secret" in refused(tmp_path, api_keys=(f"{EMBED}:*",))
    assert "must differ" in refused(tmp_path, analyst_secret=EMBED)
    assert "listed twice" in refused(tmp_path, api_keys=(f"{KEY}:acme", f"{KEY}:admin"))
    for value in (KEY, EMBED, ANALYST):  # the purge token travels in every purge request
        assert "DATAVIZ_PURGE_TOKEN is also" in refused(tmp_path, purge_token=value)


def test_secrets006_a_purge_token_shorter_than_the_vcl_accepts_is_refused(tmp_path):
    assert f"at least {MIN_PURGE_TOKEN_LENGTH} characters" in refused(tmp_path, purge_token="p" * 31)
    start(tmp_path, purge_token="p" * MIN_PURGE_TOKEN_LENGTH)
    start(tmp_path, purge_token=None)  # no Varnish to purge: nothing to check


@pytest.mark.services
def test_secrets005_gunicorn_refuses_to_serve_demo_mode_with_the_real_secret(tmp_path):
    """The production shape: the workers cannot boot, gunicorn exits non-zero and its log says why."""
    env = {**os.environ, "PYTHONPATH": str(services.REPO), "DATAVIZ_BIND": f"127.0.0.1:{services.free_port()}",
           "DATAVIZ_WORKERS": "1", "DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "s"), "DATAVIZ_CACHE_DIR": str(tmp_path / "c"),
           "DATAVIZ_DEMO": "1", "DATAVIZ_EMBED_SECRET": EMBED}
    done = subprocess.run([str(services.BIN / "gunicorn"), "-c", str(services.REPO / "deploy" / "gunicorn.conf.py"),
                           "app.wsgi:server"], cwd=str(services.REPO), env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "DATAVIZ_DEMO=1 refuses a configured DATAVIZ_EMBED_SECRET" in done.stdout + done.stderr


@pytest.mark.parametrize("erasure_key, says", [("e" * (MIN_SECRET_BYTES - 1), "at least"),
                                               (EMBED, "also an API key or a signing secret"),
                                               (KEY, "also an API key or a signing secret")])
def test_secrets007_a_short_or_shared_erasure_key_refuses_to_start(tmp_path, erasure_key, says):
    message = refused(tmp_path, erasure_key=erasure_key)
    assert "DATAVIZ_ERASURE_KEY" in message and says in message
    assert start(tmp_path, erasure_key="e" * MIN_SECRET_BYTES).server is not None
