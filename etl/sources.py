"""Where nightly exports live: a local folder or an S3 prefix.

A source lists the export folders named ``YYYY-MM-DD`` that hold ``_SUCCESS``
(folders without it are still uploading), and hands out the files of one
export as local paths. S3 objects are downloaded to a private staging folder
first, so parsing never depends on a network stream that can stall half-way.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from etl.errors import SourceError

DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SUCCESS_MARKER = "_SUCCESS"
TABLES = ("activity", "users", "trainings", "tenants", "assignments")


@dataclass(frozen=True)
class ExportRef:
    """One complete export: its date, the file names it holds and a fingerprint of their contents.

    The fingerprint (sizes and modification times, or S3 ETags) tells an
    export uploaded again under the same date, fixed, from the one already
    loaded, so it is not mistaken for "up to date".
    """

    date: dt.date
    location: str  # folder path or s3://bucket/prefix/YYYY-MM-DD
    files: frozenset[str]
    fingerprint: str = ""

    @property
    def name(self) -> str:
        return self.date.isoformat()

    def table_file(self, table: str) -> str | None:
        """The file name holding ``table`` (plain or gzip), ``None`` if absent.

        Raises when both ``x.csv`` and ``x.csv.gz`` exist: the LMS would be
        telling two stories and we refuse to guess which one is right.
        """
        found = [f for f in (f"{table}.csv", f"{table}.csv.gz") if f in self.files]
        if len(found) > 1:
            raise SourceError(f"export {self.name} holds both {found[0]} and {found[1]}")
        return found[0] if found else None


def _fingerprint(versions: dict[str, str]) -> str:
    text = "\n".join(f"{name}\t{version}" for name, version in sorted(versions.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _parse_date(name: str) -> dt.date | None:
    if not DATE_FOLDER.match(name):
        return None
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        return None


class LocalSource:
    """Exports in a local folder: ``<root>/<YYYY-MM-DD>/activity.csv.gz`` ..."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.url = str(self.root)

    def exports(self) -> list[ExportRef]:
        if not self.root.is_dir():
            raise SourceError(f"source folder {self.root} does not exist")
        refs = []
        for entry in self.root.iterdir():
            date = _parse_date(entry.name)
            if date is None or not entry.is_dir():
                continue
            try:
                files = {p.name: p.stat() for p in entry.iterdir() if p.is_file()}
            except FileNotFoundError:
                continue  # removed while we listed: it is not an export any more
            if SUCCESS_MARKER in files:
                versions = {name: f"{st.st_size}:{st.st_mtime_ns}" for name, st in files.items()}
                refs.append(ExportRef(date, str(entry), frozenset(files), _fingerprint(versions)))
        return sorted(refs, key=lambda r: r.date)

    def fetch(self, ref: ExportRef, name: str, staging: Path) -> Path:
        """Local files are read in place."""
        path = Path(ref.location) / name
        if not path.is_file():
            raise SourceError(f"{path} disappeared while the export was read")
        return path


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix/")`` (the prefix empty or ending in /)."""
    bucket, _, prefix = url[len("s3://"):].partition("/") if url.startswith("s3://") else ("", "", "")
    if not bucket:
        raise SourceError(f"bad S3 URL {url!r}: expected s3://bucket/prefix")
    return bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""


def s3_client(timeout: float = 30.0):
    """A boto3 S3 client with bounded retries, and ``timeout`` for a stalled connection or read;
    honours ``AWS_ENDPOINT_URL``."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                            connect_timeout=min(5.0, timeout), read_timeout=timeout))


class S3Source:
    """Exports under ``s3://bucket/prefix``; honours ``AWS_ENDPOINT_URL``."""

    def __init__(self, url: str, client=None, timeout: float = 30.0):
        self.url = url
        self.bucket, self.prefix = split_s3_url(url)
        self._client = client
        self.timeout = timeout

    @property
    def client(self):
        if self._client is None:
            self._client = s3_client(self.timeout)
        return self._client

    def exports(self) -> list[ExportRef]:
        from botocore.exceptions import BotoCoreError, ClientError

        by_folder: dict[str, dict[str, str]] = {}
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for obj in page.get("Contents", []):
                    rest = obj["Key"][len(self.prefix):]
                    folder, sep, name = rest.partition("/")
                    if sep and name and "/" not in name:
                        by_folder.setdefault(folder, {})[name] = f"{obj.get('Size')}:{obj.get('ETag')}"
        except (BotoCoreError, ClientError) as exc:
            raise SourceError(f"cannot list {self.url}: {exc}") from exc
        refs = []
        for folder, files in by_folder.items():
            date = _parse_date(folder)
            if date is not None and SUCCESS_MARKER in files:
                location = f"s3://{self.bucket}/{self.prefix}{folder}"
                refs.append(ExportRef(date, location, frozenset(files), _fingerprint(files)))
        return sorted(refs, key=lambda r: r.date)

    def fetch(self, ref: ExportRef, name: str, staging: Path) -> Path:
        from botocore.exceptions import ClientError

        key = f"{self.prefix}{ref.name}/{name}"
        target = staging / name
        try:
            self.client.download_file(self.bucket, key, str(target))
        except (ClientError, *s3_failures()) as exc:
            raise SourceError(f"cannot download s3://{self.bucket}/{key}: {exc}") from exc
        return target


def s3_failures() -> tuple[type[Exception], ...]:
    """What a boto3 call raises besides ``ClientError`` when S3 fails: a transfer (``upload_file``,
    ``download_file``) cut half-way and retried until it gives up raises boto3's or s3transfer's own errors."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError
    from s3transfer.exceptions import RetriesExceededError, S3DownloadFailedError

    return BotoCoreError, Boto3Error, RetriesExceededError, S3DownloadFailedError, OSError


def open_source(url: str | os.PathLike, s3_timeout: float = 30.0):
    """A source object for a folder path or an ``s3://`` URL (``s3_timeout``: DATAVIZ_S3_TIMEOUT)."""
    text = str(url)
    if text.startswith("s3://"):
        return S3Source(text, timeout=s3_timeout)
    return LocalSource(text)


def latest_export(source) -> ExportRef:
    """The newest complete export, or a SourceError saying there is none."""
    refs = source.exports()
    if not refs:
        raise SourceError(f"no complete export (a YYYY-MM-DD folder with {SUCCESS_MARKER}) in {source.url}")
    return refs[-1]


class StagedExport:
    """The files of one export as local paths, cleaned up on exit.

    A local export is read in place, so the LMS may delete or rewrite it while
    we read: ``check_unchanged`` compares each file with what it was when
    handed out, so a half-read file is never taken for a whole one.
    """

    def __init__(self, source, ref: ExportRef):
        self.source = source
        self.ref = ref
        self._staging: Path | None = None
        self._handed_out: dict[Path, tuple] = {}

    def __enter__(self) -> "StagedExport":
        self._staging = Path(tempfile.mkdtemp(prefix=f"dataviz-export-{self.ref.name}-"))
        return self

    def __exit__(self, *exc) -> None:
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)

    def path(self, table: str) -> Path | None:
        """Local path of a table's file, or ``None`` when the export lacks it."""
        name = self.ref.table_file(table)
        if name is None:
            return None
        path = self.source.fetch(self.ref, name, self._staging)
        self._handed_out[path] = _identity(path)
        return path

    def check_unchanged(self) -> None:
        """Raise SourceError when a file handed out has since changed or disappeared."""
        for path, seen in self._handed_out.items():
            if _identity(path) != seen:
                raise SourceError(f"{path.name} of export {self.ref.name} changed or disappeared while it "
                                  f"was read; it is read again at the next refresh")


def _identity(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
