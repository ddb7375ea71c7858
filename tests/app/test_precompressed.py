"""Precompressed static files (app/precompressed.py): the copies are sent as they are, to the byte, and a file
without one is compressed on the fly as before.

Over the Flask test client of a real app, with copies built by the module itself (two files, not the
whole set: brotli 11 of everything takes a minute).
"""
from __future__ import annotations

import gzip
import hashlib
import os

import brotli
import pytest

from app.precompressed import ASSETS, MIN_SIZE, PrecompressedFiles, accepted_encodings, build, static_files
from tests.support.apps import make_app
from tests.support.credentials import analyst_token, embed_token
from tests.support.pages import loaded_files

IMMUTABLE = "public, max-age=31536000, immutable"
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}
SUFFIX = {"br": ".br", "gzip": ".gz"}


def page_files(client, url: str) -> list[str]:
    return loaded_files(client.get(url).get_data(as_text=True))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """Copies of the Plotly bundle (an asset) and of Dash's renderer (a component suite file) only."""
    folder = tmp_path_factory.mktemp("precompressed")
    renderer = next(path for path in static_files() if path.name == "dash_renderer.min.js")
    build(folder, [ASSETS / "plotly-dataviz.min.js", renderer])
    return folder


@pytest.fixture
def client(generated_snapshot_dir, tmp_path, copies):
    return make_app(generated_snapshot_dir, tmp_path / "cache", snapshot_check_interval=60.0,
                    precompressed_dir=str(copies)).server.test_client()


def urls(client) -> dict[str, str]:
    files = page_files(client, f"/explore?token={analyst_token()}")
    return {"asset": next(f for f in files if "/assets/plotly-dataviz.min.js?m=" in f),
            "suite": next(f for f in files if "/dash_renderer." in f),
            "without copy": next(f for f in files if "/dcc/dash_core_components." in f)}


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_precompressed001_the_copy_is_sent_and_decompresses_to_the_file(client, copies, encoding):
    for kind in ("asset", "suite"):
        url = urls(client)[kind]
        plain = client.get(url).data
        copy = (copies / f"{sha256(plain)}{SUFFIX[encoding]}").read_bytes()
        response = client.get(url, headers={"Accept-Encoding": f"{encoding}, deflate"})
        assert response.status_code == 200 and response.headers["Content-Encoding"] == encoding, kind
        assert response.data == copy and DECODE[encoding](response.data) == plain, kind
        assert int(response.headers["Content-Length"]) == len(copy), kind
        assert "Accept-Encoding" in response.headers["Vary"], kind
        assert response.headers["Cache-Control"] == IMMUTABLE, kind


def test_precompressed002_head_conditional_and_range_requests(client):
    for kind in ("asset", "suite"):
        url = urls(client)[kind]
        full = client.get(url, headers={"Accept-Encoding": "br"})
        head = client.head(url, headers={"Accept-Encoding": "br"})
        assert head.status_code == 200 and head.data == b"", kind
        assert {k: head.headers[k] for k in ("Content-Encoding", "Content-Length", "ETag")} == \
            {k: full.headers[k] for k in ("Content-Encoding", "Content-Length", "ETag")}, kind
        again = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": full.headers["ETag"]})
        assert again.status_code == 304 and again.data == b"", kind
        gzipped = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": full.headers["ETag"]})
        assert gzipped.status_code == 200 and gzipped.headers["Content-Encoding"] == "gzip", kind
    asset = urls(client)["asset"]
    part = client.get(asset, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == client.get(asset).data[:100]


def test_precompressed003_without_a_copy_the_file_is_compressed_on_the_fly(client, generated_snapshot_dir,
                                                                           tmp_path):
    without_folder = make_app(generated_snapshot_dir, tmp_path / "cache2", snapshot_check_interval=60.0,
                              precompressed_dir=str(tmp_path / "absent")).server.test_client()
    for app_client, kinds in ((client, ("without copy",)), (without_folder, ("asset", "suite", "without copy"))):
        for kind in kinds:
            url = urls(app_client)[kind]
            plain = app_client.get(url).data
            for encoding, decode in DECODE.items():
                response = app_client.get(url, headers={"Accept-Encoding": encoding})
                assert response.status_code == 200 and response.headers["Content-Encoding"] == encoding, kind
                assert decode(response.data) == plain, kind
                assert "ETag" not in response.headers or ":" in response.headers["ETag"], kind  # flask-compress's
            assert app_client.get(url, headers={"Accept-Encoding": "identity"}).data == plain


def test_precompressed004_every_large_file_of_the_pages_is_built(client):
    built = {sha256(path.read_bytes()) for path in static_files()}
    for page in (f"/embed/overview?token={embed_token()}", f"/explore?token={analyst_token()}"):
        for url in page_files(client, page):
            body = client.get(url).data
            assert len(body) <= MIN_SIZE or sha256(body) in built, url


def test_precompressed005_a_changed_file_is_hashed_again(tmp_path):
    source = tmp_path / "app.js"
    source.write_bytes(b"one")
    files = PrecompressedFiles(tmp_path / "copies")
    assert files.content_hash(source) == sha256(b"one")
    source.write_bytes(b"three")
    assert files.content_hash(source) == sha256(b"three")
    source.write_bytes(b"sixty")  # same size: the modification time tells
    os.utime(source, ns=(1, 1))
    assert files.content_hash(source) == sha256(b"sixty")


def test_precompressed006_accept_encoding_is_read_with_its_weights():
    assert accepted_encodings("gzip, deflate, br, zstd") == ["br", "gzip"]
    assert accepted_encodings("gzip;q=1.0, br;q=0.5") == ["gzip", "br"]
    assert accepted_encodings("br;q=0, gzip") == ["gzip"]
    assert accepted_encodings("*") == ["br", "gzip"]
    assert accepted_encodings("*;q=0, gzip") == ["gzip"]
    assert accepted_encodings("identity") == accepted_encodings("") == accepted_encodings("br;q=x") == []
