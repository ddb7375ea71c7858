"""Cutting CSV bytes into partitions of whole records: any block size, quoted line breaks, CR and CRLF."""
from __future__ import annotations

import csv
import gzip
import io
import tempfile
from pathlib import Path

import pytest

from hypothesis import given, settings, strategies as st

from etl import blocks

FIELD = st.one_of(st.text(alphabet="ab1,\"\r\n ", max_size=6), st.text(alphabet="xyz", max_size=4))


def to_csv(rows: list[list[str]], newline: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return out.getvalue().encode()


def records(data: bytes) -> list[list[str]]:
    return [r for r in csv.reader(io.StringIO(data.decode(), newline="")) if r]


def cut(data: bytes, block_size: int) -> list[bytes]:
    """What the Dask engine does with a plain file: scan each block, plan, take the pieces."""
    head = blocks.header_end(data)
    scans = [blocks.scan_block(data[k:k + block_size]) for k in range(0, len(data), block_size)]
    plan = blocks.plan_partitions(len(data), block_size, head, scans)
    return [b"".join(data[k * block_size + a:k * block_size + b] for k, a, b in pieces) for pieces in plan]


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=1, max_size=25),
       newline=st.sampled_from(["\n", "\r\n", "\r"]), block_size=st.integers(1, 60))
def test_blocks001_partitions_are_whole_records(rows, newline, block_size):
    data = to_csv([["a", "b", "c"]] + rows, newline)
    head = blocks.header_end(data)
    parts = cut(data, block_size)
    assert data[:head] + b"".join(parts) == data  # nothing lost, nothing twice
    assert [r for part in parts for r in records(part)] == records(data[head:])  # no record split


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=1, max_size=25),
       newline=st.sampled_from(["\n", "\r\n"]), step=st.integers(1, 40))
def test_blocks002_a_stream_is_cut_at_record_ends(rows, newline, step):
    data = to_csv(rows, newline)
    taken, rest = [], data
    while rest:  # as stream_records does, one read of ``step`` bytes at a time
        carry, rest = rest[:step], rest[step:]
        while (cut_at := blocks.last_record_end(carry)) is None and rest:
            carry, rest = carry + rest[:step], rest[step:]
        cut_at = cut_at or len(carry)
        taken.append(carry[:cut_at])
        rest = carry[cut_at:] + rest
    assert b"".join(taken) == data
    assert [r for part in taken for r in records(part)] == records(data)


def test_blocks003_record_ends_outside_quotes_only():
    data = b'1,"a\nb",2\n3,"""q""\r\n",4\r\n'
    assert blocks.first_record_end(data) == 10
    assert blocks.first_record_end(data, 4, quoted=True) == 10  # from inside the quoted "a\nb"
    assert blocks.last_record_end(data) == len(data)
    assert blocks.last_record_end(data[:-1]) == len(data) - 1  # the CR of CRLF ends it too
    assert blocks.first_record_end(b'no break "at all') is None
    assert blocks.header_end(b"\r\n\nh1,h2\nx,y\n") == 9


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=1, max_size=25),
       newline=st.sampled_from(["\n", "\r\n"]), step=st.integers(1, 40))
def test_blocks004_stream_records_cuts_a_real_gzip_at_record_ends(rows, newline, step):
    """The carry's quote parity is kept across reads instead of scanning the carry again (issue 13)."""
    data = to_csv([["a", "b", "c"]] + rows, newline)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "activity.csv.gz"
        path.write_bytes(gzip.compress(data))
        taken = list(blocks.stream_records(str(path), step, max_bytes=len(data), max_first=len(data)))
    assert b"".join(taken) == data
    assert [r for part in taken for r in records(part)] == records(data)


def test_blocks005_limits_count_as_the_stream_inflates(tmp_path):
    path = tmp_path / "activity.csv.gz"
    path.write_bytes(gzip.compress(b"h1,h2\n" + b"x" * 100_000))
    with pytest.raises(blocks.StreamTooLarge):
        list(blocks.stream_records(str(path), 1000, max_bytes=50_000, max_first=1000))
    path.write_bytes(gzip.compress(b"h" * 100_000))
    with pytest.raises(blocks.FirstRecordTooLong):
        list(blocks.stream_records(str(path), 1000, max_bytes=10**6, max_first=20_000))


@pytest.mark.parametrize("header", [b"", b"h1,h2\n"])
def test_blocks006_each_inflated_byte_is_scanned_once(tmp_path, monkeypatch, header):
    """Linear without a clock: a long record is not scanned again after every read (27 s for 16 MB
    before issue 13). The real scanner runs; the test only adds up what it is given."""
    scanned = []
    real = blocks.last_record_end
    monkeypatch.setattr(blocks, "last_record_end", lambda chunk, *a, **k: scanned.append(len(chunk)) or
                        real(chunk, *a, **k))
    path = tmp_path / "activity.csv.gz"
    path.write_bytes(gzip.compress(header + b"a" * 2_000_000))
    with pytest.raises((blocks.StreamTooLarge, blocks.FirstRecordTooLong)):
        list(blocks.stream_records(str(path), 4096, max_bytes=1_000_000, max_first=10**6 if header else 500_000))
    assert len(scanned) > 100  # many reads, each of one block
    assert sum(scanned) <= 1_000_000 + 4096  # every byte once, and nothing past the limit
