"""Putting a hand-written export into a (moto) S3 bucket, as the LMS uploads it."""
from __future__ import annotations


def upload_folder(client, bucket: str, prefix: str, folder, success_last: bool = True) -> None:
    files = sorted(folder.iterdir(), key=lambda p: p.name == "_SUCCESS")
    for path in files:
        if path.name == "_SUCCESS" and not success_last:
            continue
        client.upload_file(str(path), bucket, f"{prefix}/{folder.name}/{path.name}")
