"""Compression and file caching through the shipped Varnish, in front of the real app (gunicorn).

Varnish 7.1 only does gzip itself: the VCL normalises Accept-Encoding to br,
gzip or nothing and asks the app for exactly that, so each encoding is cached
on its own. Fingerprinted files come back as HITs on a second visit, and those
with a precompressed copy (here the Plotly bundle) as that brotli-11 copy.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client

import brotli
import pytest

from app.precompressed import ASSETS, build
from tests.support import services
from tests.support.credentials import EMBED_SECRET, embed_token
from tests.support.pages import loaded_files

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def precompressed(tmp_path_factory):
    """The Plotly bundle's brotli-11 and gzip-9 copies only: every other file is compressed by the app."""
    folder = tmp_path_factory.mktemp("precompressed")
    build(folder, [ASSETS / "plotly-dataviz.min.js"])
    return folder


@pytest.fixture(scope="module")
def edge(precompressed, service_logs, generated_snapshot_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("compression-cache")
    web = services.start_gunicorn(service_logs, {"DATAVIZ_SNAPSHOT_DIR": str(generated_snapshot_dir),
                                                 "DATAVIZ_CACHE_DIR": str(cache),
                                                 "DATAVIZ_PRECOMPRESSED_DIR": str(precompressed),
                                                 "DATAVIZ_EMBED_SECRET": EMBED_SECRET}, workers=1)
    varnish = services.start_varnish(service_logs, web.port)
    yield varnish
    varnish.stop()
    web.stop()


def get(port: int, path: str, encoding: str | None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": encoding} if encoding is not None else {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def page_files(port: int) -> list[str]:
    _, _, body = get(port, f"/embed/overview?token={embed_token()}", None)
    return loaded_files(body.decode())


def test_vc001_each_encoding_is_answered_and_cached_on_its_own(edge):
    files = page_files(edge.port)
    plotly = next(f for f in files if "/assets/plotly-dataviz" in f)
    _, _, plain = get(edge.port, plotly, None)
    for sent, expected, decode in (("gzip, deflate, br, zstd", "br", brotli.decompress),
                                   ("gzip, deflate", "gzip", gzip.decompress),
                                   ("br;q=0, gzip", "gzip", gzip.decompress),
                                   ("identity", None, bytes)):
        first = get(edge.port, plotly, sent)
        second = get(edge.port, plotly, sent)
        for status, headers, body in (first, second):
            assert status == 200 and headers.get("content-encoding") == expected, (sent, headers)
            assert decode(body) == plain, sent
            assert "accept-encoding" in headers["vary"].lower()
        assert second[1]["x-cache"] == "HIT", sent
    assert len(brotli.compress(b"")) < len(get(edge.port, plotly, "br")[2]) < len(plain) // 3


def test_vc002_a_second_visit_takes_every_file_from_the_cache(edge):
    files = page_files(edge.port)
    for path in files:
        get(edge.port, path, "br")
    for path in files:
        status, headers, _ = get(edge.port, path, "br")
        assert status == 200 and headers["x-cache"] == "HIT", path
        assert headers["cache-control"] == "public, max-age=31536000, immutable", path


def test_vc003_pages_and_callbacks_pass_compressed(edge):
    status, headers, body = get(edge.port, f"/embed/overview?token={embed_token()}", "gzip, br")
    assert status == 200 and headers["content-encoding"] == "br" and headers["x-cache"] == "MISS"
    assert b"_dash-config" in brotli.decompress(body)
    assert headers["cache-control"] == "no-store"


def test_vc004_a_precompressed_file_comes_through_as_its_brotli_11_copy(edge, precompressed):
    files = page_files(edge.port)
    plotly = next(f for f in files if "/assets/plotly-dataviz" in f)
    renderer = next(f for f in files if "/dash_renderer." in f)
    plain = get(edge.port, plotly, None)[2]
    digest = hashlib.sha256(plain).hexdigest()
    for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
        copy = (precompressed / f"{digest}{suffix}").read_bytes()
        for _ in range(2):
            status, headers, body = get(edge.port, plotly, encoding)
            assert status == 200 and headers["content-encoding"] == encoding and body == copy, encoding
            assert headers["cache-control"] == "public, max-age=31536000, immutable"
        assert headers["x-cache"] == "HIT"
    brotli_11 = (precompressed / f"{digest}.br").read_bytes()
    assert brotli.decompress(brotli_11) == plain and len(brotli_11) < 0.92 * len(brotli.compress(plain, quality=5))
    status, headers, body = get(edge.port, renderer, "br")  # no copy: the app's own brotli
    assert status == 200 and headers["content-encoding"] == "br"
    assert body == brotli.compress(get(edge.port, renderer, None)[2], quality=5)
