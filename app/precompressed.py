"""Static files compressed once, ahead of time, at the strongest settings: brotli 11 and gzip 9.

Brotli 11 takes seconds per megabyte: far too slow per request (a fresh worker
would stall its first page), so flask-compress answers at quality 5. The large
scripts are compressed here instead, once per install (``make precompressed``
runs ``python -m app.precompressed build [DIR]``), and ``PrecompressedFiles``
sends those bytes as they are for the fingerprinted static files
(``app.factory.asset_headers``). A copy is named by the SHA-256 of the
uncompressed file: a changed file is never answered with stale bytes, and a
rebuilt virtualenv only adds names. A file without a copy keeps flask-compress.

Of the project, this module imports only ``app.config`` (the folder's setting).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import brotli
import dash_ag_grid
from dash import _dash_renderer, dcc, html
from flask import Request, Response
from werkzeug.http import parse_accept_header

from app.config import Settings

# Content-Encoding -> file suffix, in the order a client accepting both is answered.
ENCODINGS = {"br": ".br", "gzip": ".gz"}
MIN_SIZE = 10 * 1024  # below this, quality 11 saves a few hundred bytes at most
SUFFIXES = (".js", ".css")
ASSETS = Path(__file__).resolve().parents[1] / "assets"
# Component libraries whose files Dash serves besides its own (renderer, dcc, html);
# tests/app/test_precompressed.py checks that the pages load no other.
COMPONENT_LIBRARIES = (dash_ag_grid,)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def accepted_encodings(accept_encoding: str) -> list[str]:
    """The precompressed encodings ``Accept-Encoding`` allows, preferred first (``q=0`` refuses one, a tie keeps
    ``ENCODINGS``' order); werkzeug reads the header, its weights and ``*``."""
    accept = parse_accept_header(accept_encoding)
    ranked = sorted(ENCODINGS, key=lambda name: -accept.quality(name))
    return [name for name in ranked if accept.quality(name) > 0]


class PrecompressedFiles:
    """The precompressed copies in ``folder``, found by the content hash of the file being served.

    The hash of each source file is computed once per process and kept with
    the file's modification time and size, so a changed file is hashed again.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._hashes: dict[Path, tuple[tuple[int, int], str]] = {}

    def content_hash(self, source: Path) -> str:
        stat = source.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        known = self._hashes.get(source)
        if known is None or known[0] != version:
            known = (version, file_hash(source))
            self._hashes[source] = known
        return known[1]

    def find(self, source: Path, accept_encoding: str) -> tuple[str, Path, bytes] | None:
        """The encoding, path and bytes of a copy of ``source`` the client accepts, or None."""
        encodings = accepted_encodings(accept_encoding)
        if not encodings or not self.folder.is_dir():
            return None
        digest = self.content_hash(source)
        for encoding in encodings:
            path = self.folder / f"{digest}{ENCODINGS[encoding]}"
            try:
                return encoding, path, path.read_bytes()
            except FileNotFoundError:
                continue
        return None

    def respond(self, response: Response, source: Path, request: Request) -> bool:
        """Give ``response`` (a 200 of ``source``) the bytes of a copy the client accepts; False if none exists.

        flask-compress, which runs later, leaves an answer that has a ``Content-Encoding``
        alone. The copy's name is a strong ETag of its bytes, and ``If-None-Match`` is
        answered 304, as flask-compress does for its own answers.
        """
        found = self.find(source, request.headers.get("Accept-Encoding", ""))
        if found is None:
            return False
        encoding, path, body = found
        if hasattr(response.response, "close"):  # Flask's open static file, replaced unread
            response.response.close()
        response.direct_passthrough = False
        response.set_data(body)
        response.headers["Content-Encoding"] = encoding
        response.vary.add("Accept-Encoding")
        response.set_etag(path.name)
        response.make_conditional(request)
        return True


def component_suite_files() -> list[Path]:
    """The scripts and style sheets of Dash (React, renderer, dcc, html) and ``COMPONENT_LIBRARIES``, async chunks too."""
    resources = [*_dash_renderer._js_dist_dependencies, *_dash_renderer._js_dist, *dcc._js_dist, *html._js_dist]
    for library in COMPONENT_LIBRARIES:
        resources += [*getattr(library, "_js_dist", []), *getattr(library, "_css_dist", [])]
    files = []
    for resource in resources:
        paths = resource.get("relative_package_path", [])
        paths = paths["prod"] if isinstance(paths, dict) else paths
        for relative in [paths] if isinstance(paths, str) else paths:
            files.append(Path(sys.modules[resource["namespace"]].__file__).parent / relative)
    return files


def static_files() -> list[Path]:
    """Every script and style sheet a page may load that is worth compressing harder, once each."""
    candidates = [*sorted(ASSETS.iterdir()), *component_suite_files()]
    chosen = {path.resolve(): path for path in candidates
              if path.suffix in SUFFIXES and path.is_file() and path.stat().st_size > MIN_SIZE}
    return list(chosen.values())


def precompress(source: Path, folder: Path) -> list[Path]:
    """Write the missing copies of ``source`` in ``folder`` (each renamed into place once whole)."""
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    written = []
    for encoding, suffix in ENCODINGS.items():
        target = folder / f"{digest}{suffix}"
        if target.is_file():
            continue
        packed = (brotli.compress(data, quality=11) if encoding == "br"
                  else gzip.compress(data, compresslevel=9, mtime=0))
        draft = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        draft.write_bytes(packed)
        draft.replace(target)
        written.append(target)
    return written


def build(folder: Path, files: list[Path]) -> list[Path]:
    """Precompress ``files`` into ``folder``, one process per CPU (quality 11 is the slow part)."""
    folder.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor() as pool:
        return [path for written in pool.map(precompress, files, [folder] * len(files)) for path in written]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.precompressed", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("build", help="write the copies that are missing")
    command.add_argument("folder", nargs="?", type=Path, help="default: DATAVIZ_PRECOMPRESSED_DIR")
    args = parser.parse_args(argv)
    folder = args.folder or Path(Settings.from_env().precompressed_dir)
    files = static_files()
    written = build(folder, files)
    print(f"precompressed: {len(files)} files, {len(written)} copies written in {folder}")


if __name__ == "__main__":
    main()
