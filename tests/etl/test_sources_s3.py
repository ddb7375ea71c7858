"""The S3 source against a real S3-compatible server (moto_server on loopback)."""
from __future__ import annotations

import boto3
import pytest

from app.store import SnapshotStore
from etl.refresh import run_refresh
from etl.sources import S3Source, SourceError
from tests.support.exports import GOOD_ROWS, HEADER, write_export
from tests.support.s3 import upload_folder


@pytest.fixture()
def bucket(moto, request):
    client = boto3.client("s3")
    name = f"exports-{request.node.name.lower().replace('_', '-')[:40]}"
    client.create_bucket(Bucket=name)
    return client, name


def test_s3001_newest_complete_export_is_loaded(tmp_path, bucket):
    client, name = bucket
    old = write_export(tmp_path / "local", date="2026-10-01",
                       activity=HEADER + "e1,2026-09-30T08:00:00Z,acme,u1,connection,,,5\n", gz=True)
    new = write_export(tmp_path / "local", date="2026-11-01", gz=True)
    partial = write_export(tmp_path / "local", date="2026-11-02", gz=True)
    for folder in (old, new):
        upload_folder(client, name, "lms/nightly", folder)
    upload_folder(client, name, "lms/nightly", partial, success_last=False)  # still uploading

    source = S3Source(f"s3://{name}/lms/nightly")
    assert [r.name for r in source.exports()] == ["2026-10-01", "2026-11-01"]
    result = run_refresh(f"s3://{name}/lms/nightly", tmp_path / "snap")
    assert result.outcome == "published", result.message
    assert result.report["export"]["location"] == f"s3://{name}/lms/nightly/2026-11-01"
    assert result.report["rows_accepted"] == len(GOOD_ROWS)
    assert SnapshotStore(tmp_path / "snap").current().data_as_of.isoformat() == "2026-10-31"

    again = run_refresh(f"s3://{name}/lms/nightly", tmp_path / "snap")
    assert again.outcome == "up_to_date"
    assert again.message.startswith("up to date: export 2026-11-01 is already live")


def test_s3002_generator_writes_to_s3(tmp_path, bucket):
    from etl.generate import generate_export

    client, name = bucket
    generate_export(f"s3://{name}/gen", events=3000, tenants=3, seed=5, end_date=__import__("datetime").date(2026, 10, 31), days=60)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"]]
    assert sorted(keys) == [f"gen/2026-11-01/{f}" for f in
                            ("_SUCCESS", "activity.csv.gz", "assignments.csv.gz", "tenants.csv.gz",
                                                  "trainings.csv.gz", "users.csv.gz")]
    result = run_refresh(f"s3://{name}/gen", tmp_path / "snap")
    assert result.outcome == "published", result.message
    assert len({s.timezone for s in SnapshotStore(tmp_path / "snap").current().tenants.values()}) == 3
    assert result.report["rows_read"] == 3000


def test_s3003_unreachable_and_missing(tmp_path, bucket, monkeypatch):
    client, name = bucket
    result = run_refresh(f"s3://{name}/nothing-here", tmp_path / "snap")
    assert result.outcome == "failed"
    assert result.message == f"source unreachable: no complete export (a YYYY-MM-DD folder with _SUCCESS) in s3://{name}/nothing-here"
    result = run_refresh("s3://no-such-bucket-at-all/x", tmp_path / "snap")
    assert result.outcome == "failed" and "NoSuchBucket" in result.message
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    result = run_refresh(f"s3://{name}/x", tmp_path / "snap")
    assert result.outcome == "failed"
    assert result.message.startswith(f"source unreachable: cannot list s3://{name}/x:")
    with pytest.raises(SourceError):
        S3Source("s3://")
