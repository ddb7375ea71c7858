"""Snapshots on S3, shared by many web hosts (``DATAVIZ_SNAPSHOT_URL=s3://bucket/prefix``).

Layout under the prefix::

    CURRENT                  the live version (one line), replaced by one PUT
    <version>/*.arrow        the files of a local snapshot folder (``etl.snapshot_format``)...
    <version>/manifest.json  ...uploaded last: a version whose manifest is there is complete

The ETL writes a snapshot into its local folder as on one host, uploads it,
then replaces ``CURRENT`` (``Published``). Each web host follows ``CURRENT``
(``app.snapshot_sync``): it downloads a new version into its own local folder
(temp folder, then rename) and names it in the local ``CURRENT``, which
``app.store`` already watches. A rollback replaces ``CURRENT`` again. A PUT is
atomic on S3, so a reader gets the old pointer or the new one, never half.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

from etl import snapshot_format as snapshots
from etl.snapshot_format import POINTER, VERSION_PATTERN, SnapshotError
from etl.sources import SourceError, s3_client, s3_failures, split_s3_url

MANIFEST = "manifest.json"


class S3Snapshots:
    """The versions and the pointer under one S3 prefix; every failure is a ``SnapshotError``."""

    def __init__(self, url: str, client=None, timeout: float = 30.0):
        try:
            self.bucket, self.prefix = split_s3_url(url)
        except SourceError as exc:
            raise SnapshotError(str(exc)) from None
        self.url = url
        self._client = client
        self.timeout = timeout  # DATAVIZ_S3_TIMEOUT

    @property
    def client(self):
        if self._client is None:
            self._client = s3_client(self.timeout)
        return self._client

    def _key(self, *parts: str) -> str:
        return self.prefix + "/".join(parts)

    def _call(self, what: str, method: str, **kwargs):
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(kwargs.get("Key")) from exc
            raise SnapshotError(f"{what} ({self.url}): {exc}") from exc
        except s3_failures() as exc:
            raise SnapshotError(f"{what} ({self.url}): {exc}") from exc

    def live_version(self) -> str | None:
        """The version ``CURRENT`` names, ``None`` before the first publish."""
        try:
            body = self._call("cannot read the pointer", "get_object", Key=self._key(POINTER))["Body"].read()
        except FileNotFoundError:
            return None
        text = body.decode("utf-8", "replace").strip()
        return text if VERSION_PATTERN.match(text) else None

    def versions(self) -> list[str]:
        """Complete versions (their manifest is there), oldest first."""
        found = []
        token: dict = {}
        while True:
            page = self._call("cannot list snapshots", "list_objects_v2", Prefix=self.prefix, **token)
            for obj in page.get("Contents", []):
                version, _, name = obj["Key"][len(self.prefix):].partition("/")
                if name == MANIFEST and VERSION_PATTERN.match(version):
                    found.append(version)
            if not page.get("IsTruncated"):
                return sorted(found)
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def read_manifest(self, version: str) -> dict:
        try:
            body = self._call(f"cannot read snapshot {version}", "get_object", Key=self._key(version, MANIFEST))
            return json.loads(body["Body"].read())
        except (FileNotFoundError, ValueError) as exc:
            raise SnapshotError(f"snapshot {version} is not complete on {self.url} ({exc})") from exc

    def upload(self, root: Path, version: str) -> None:
        """Upload a local snapshot folder, its manifest last."""
        folder = Path(root) / version
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
        for path in (*files, folder / MANIFEST):  # upload_file: multipart for big frames
            self._call(f"cannot upload {path.name} of {version}", "upload_file",
                       Key=self._key(version, path.name), Filename=str(path))

    def publish(self, version: str) -> None:
        """Make ``version`` the live one for every web host."""
        try:
            self._call(f"cannot check snapshot {version}", "head_object", Key=self._key(version, MANIFEST))
        except FileNotFoundError:
            raise SnapshotError(f"snapshot {version} is not complete on {self.url}") from None
        self._call("cannot write the pointer", "put_object", Key=self._key(POINTER),
                   Body=(version + "\n").encode())

    def download(self, version: str, root: Path) -> Path:
        """The version as a complete local folder: downloaded into a temp folder, verified, renamed.

        Verified as a local snapshot is (``etl.snapshot_format.verify``: the
        schema, each file's size, a readable Arrow IPC footer with the row count
        the manifest records) before the rename, so a damaged upload never
        becomes a folder a ``CURRENT`` may name; before, only the sizes were
        compared, and a host put a file with a broken footer live, which its
        workers then refused. A folder already holding its manifest is
        complete (``etl.snapshot`` and this method both rename a verified
        folder into place) and is kept.
        """
        root = Path(root)
        final = root / version
        if (final / MANIFEST).is_file():
            return final
        manifest = self.read_manifest(version)
        tmp = root / f".download-{version}-{secrets.token_hex(3)}"
        folder = tmp / version  # the layout verify reads: <root>/<version>/...
        folder.mkdir(parents=True)
        try:
            for name, size in manifest.get("files", {}).items():
                target = folder / f"{name}{snapshots.FRAME_SUFFIX}"
                try:
                    self._call(f"cannot download {target.name} of {version}", "download_file",
                               Key=self._key(version, target.name), Filename=str(target))
                except FileNotFoundError:
                    raise SnapshotError(f"snapshot {version}: {target.name} is missing on {self.url}") from None
                if target.stat().st_size != size:
                    raise SnapshotError(f"snapshot {version}: {target.name} has {target.stat().st_size} bytes "
                                        f"on {self.url}, the manifest says {size}")
            (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
            snapshots.verify(tmp, version)
            for path in folder.iterdir():
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
            snapshots.fsync_dir(folder)
            os.rename(folder, final)
            snapshots.fsync_dir(root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return final

    def prune(self, keep: int, live: str | None) -> list[str]:
        """Delete all but the newest ``keep`` versions, never the live one; the manifest goes first,
        so a version being deleted is already incomplete to every reader."""
        removed = []
        for version in self.versions()[:-keep]:
            if version == live:
                continue
            self.delete(version)
            removed.append(version)
        return removed

    def delete(self, version: str) -> None:
        """Delete a version, its manifest first, so it is already incomplete to every reader."""
        page = self._call("cannot list a snapshot", "list_objects_v2", Prefix=self._key(version, ""))
        keys = sorted((o["Key"] for o in page.get("Contents", [])), key=lambda k: not k.endswith(MANIFEST))
        for key in keys:
            self._call(f"cannot delete snapshot {version}", "delete_object", Key=key)


class Published:
    """The live pointer the ETL reads and moves: the local folder's, and S3's when configured.

    With S3, S3 is the truth the web hosts follow; the local folder is this
    host's working copy (snapshots are written there, then uploaded).
    """

    def __init__(self, root: str | Path, url: str | None = None, timeout: float = 30.0):
        self.root = Path(root)
        self.remote = S3Snapshots(url, timeout=timeout) if url else None

    def live_version(self) -> str | None:
        return self.remote.live_version() if self.remote else snapshots.live_version(self.root)

    def versions(self) -> list[str]:
        return self.remote.versions() if self.remote else snapshots.versions(self.root)

    def read_manifest(self, version: str) -> dict:
        try:
            return snapshots.read_manifest(self.root, version)
        except SnapshotError:
            if self.remote is None:
                raise
            return self.remote.read_manifest(version)

    def verify(self, version: str) -> dict:
        """The manifest of ``version`` once its local files are checked (``etl.snapshot_format.verify``),
        downloaded first when only S3 has it."""
        if self.remote:
            self.remote.download(version, self.root)
        return snapshots.verify(self.root, version)

    def upload(self, version: str) -> None:
        if self.remote:
            self.remote.upload(self.root, version)

    def publish(self, version: str) -> None:
        """S3 first (what the web hosts follow), then the local pointer; a rollback to a version this
        host no longer keeps downloads it back."""
        if self.remote:
            self.remote.download(version, self.root)
            self.remote.publish(version)
        snapshots.publish(self.root, version)

    def delete(self, version: str) -> None:
        """Remove a version that is not live, here and on S3 (``etl.forget``)."""
        if self.remote:
            self.remote.delete(version)
        shutil.rmtree(self.root / version, ignore_errors=True)
        snapshots.fsync_dir(self.root)

    def prune(self) -> None:
        snapshots.prune(self.root)
        if self.remote:
            self.remote.prune(snapshots.KEEP, self.remote.live_version())
