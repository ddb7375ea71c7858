"""Opaque page cursors of learner lists, bound to the snapshot and to the query (docs/api.md, Paging).

A cursor carries where the previous page ended (``app.learners.Position``), the
snapshot version and a digest of the query it continues (``app.answers.key``
without the page size: the tenant, range, effective filters, cohort, sort,
order and the credential's scope). So a cursor used with another query, or by
another credential, is refused (400), and one used after a refresh is refused
with its own problem type (409), so the LMS starts again from the first page
instead of mixing two snapshots in one list. It is not signed: all it can
choose is where a page starts within a list the caller may read anyway, and
every field is checked before use.
"""
from __future__ import annotations

import base64
import hashlib

import orjson

from app.learners import Position


class CursorError(ValueError):
    """A cursor that cannot continue this query; ``snapshot_changed`` when only the snapshot differs."""

    def __init__(self, reason: str, snapshot_changed: bool = False):
        super().__init__(reason)
        self.snapshot_changed = snapshot_changed


def _digest(query_key: str) -> str:
    return hashlib.blake2b(query_key.encode(), digest_size=12).hexdigest()


def encode(version: str, query_key: str, position: Position) -> str:
    payload = [version, _digest(query_key), position.empty, position.value, position.code]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode(cursor: str, version: str, query_key: str) -> Position:
    """The position a cursor continues from, if it belongs to this snapshot and query (``CursorError`` if not)."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise CursorError("is not a cursor this API issued") from None
    if not (isinstance(payload, list) and len(payload) == 5 and isinstance(payload[0], str)
            and isinstance(payload[1], str) and isinstance(payload[2], bool)
            and isinstance(payload[3], (int, float)) and not isinstance(payload[3], bool)
            and abs(payload[3]) <= 2 ** 53
            and isinstance(payload[4], int) and not isinstance(payload[4], bool) and 0 <= payload[4] < 2 ** 31):
        raise CursorError("is not a cursor this API issued")
    cursor_version, digest, empty, value, code = payload
    if cursor_version != version:
        raise CursorError(f"was issued for snapshot {cursor_version[:40]}, and the live snapshot is now {version}: "
                          "start again from the first page", snapshot_changed=True)
    if digest != _digest(query_key):
        raise CursorError("belongs to another query (range, filters, cohort, sort, order or credential): "
                          "use it only with the query that returned it")
    return Position(empty, value, code)
