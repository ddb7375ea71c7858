"""Each limit of the refresh at its boundary, through its default and through its environment variable.

A ratio of rejected rows equal to the limit is accepted and one row more is refused; the limit is 1%
when nothing sets it, and ``DATAVIZ_MAX_REJECT_RATIO`` moves it. The same for the uncompressed size
of a file (``DATAVIZ_MAX_EXPORT_BYTES``, 20 GB by default) and the length of the header line.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.config import Settings
from etl.refresh import run_refresh
from etl.csv_reader import MAX_HEADER_BYTES
from tests.support.exports import HEADER, write_export
from tests.support.services import REPO

GOOD = "{i},2026-10-30T08:00:00Z,acme,u{u},connection,,,60"
BAD = "{i},yesterday,acme,u{u},connection,,,60"


def activity(rows: int, bad: int) -> str:
    """``rows`` rows of which the last ``bad`` have an unparsable timestamp."""
    lines = [(BAD if i >= rows - bad else GOOD).format(i=f"e{i}", u=i % 7) for i in range(rows)]
    return HEADER + "\n".join(lines) + "\n"


def refresh_cli(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """``python -m etl refresh`` as an operator runs it, with only ``env`` among the limits' variables."""
    base = {k: v for k, v in os.environ.items() if k not in ("DATAVIZ_MAX_REJECT_RATIO", "DATAVIZ_MAX_EXPORT_BYTES")}
    base.update({"DATAVIZ_SOURCE": str(tmp_path / "src"), "DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "snap"),
                 "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"), **env})
    return subprocess.run([sys.executable, "-m", "etl", "refresh"], cwd=REPO, env=base, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("bad, outcome", [(1, "published"), (2, "rejected")])
def test_limits001_reject_ratio_boundary_and_its_default(tmp_path, bad, outcome):
    """1 of 100 is exactly the default 1%: accepted; 2 of 100 is above it: refused."""
    write_export(tmp_path / "src", activity=activity(100, bad))
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == outcome, result.message
    if outcome == "rejected":
        assert result.message == ("export rejected: activity.csv: 2 of 100 rows rejected (2.0%, above the 1.0% "
                                  "limit); most common: unparsable timestamp (2)")
    else:
        assert (result.report["rows_rejected"], result.report["rows_accepted"]) == (1, 99)


@pytest.mark.parametrize("limit", [0.02, 0.25])
def test_limits002_reject_ratio_exactly_at_an_explicit_limit(tmp_path, limit):
    bad = round(limit * 200)
    write_export(tmp_path / "src", activity=activity(200, bad))
    assert run_refresh(str(tmp_path / "src"), tmp_path / "at", max_reject_ratio=limit).outcome == "published"
    write_export(tmp_path / "src", activity=activity(200, bad + 1))
    assert run_refresh(str(tmp_path / "src"), tmp_path / "over", max_reject_ratio=limit).outcome == "rejected"


def test_limits003_settings_default_is_one_percent_and_twenty_gigabytes():
    for settings in (Settings(), Settings.from_env({})):
        assert settings.max_reject_ratio == 0.01
        assert settings.max_export_bytes == 20 * 10**9
    env = Settings.from_env({"DATAVIZ_MAX_REJECT_RATIO": "0.05", "DATAVIZ_MAX_EXPORT_BYTES": "1234"})
    assert (env.max_reject_ratio, env.max_export_bytes) == (0.05, 1234)


def test_limits004_reject_ratio_through_the_cli_default_and_environment(tmp_path):
    write_export(tmp_path / "src", activity=activity(100, 2))
    unset = refresh_cli(tmp_path)
    assert unset.returncode == 1 and "(2.0%, above the 1.0% limit)" in unset.stdout, unset.stdout + unset.stderr
    raised = refresh_cli(tmp_path, DATAVIZ_MAX_REJECT_RATIO="0.02")
    assert raised.returncode == 0 and raised.stdout.startswith("published snapshot "), raised.stdout + raised.stderr
    write_export(tmp_path / "src", date="2026-11-02", activity=activity(100, 3))
    over = refresh_cli(tmp_path, DATAVIZ_MAX_REJECT_RATIO="0.02")
    assert over.returncode == 1 and "(3.0%, above the 2.0% limit)" in over.stdout, over.stdout + over.stderr


@pytest.mark.parametrize("gz", [False, True])
def test_limits005_export_bytes_boundary(tmp_path, gz):
    """A file of exactly the limit (uncompressed) is read; one byte over is refused as a possible bomb."""
    text = activity(50, 0)
    size = len(text.encode())
    write_export(tmp_path / "src", activity=text, gz=gz)
    at = run_refresh(str(tmp_path / "src"), tmp_path / "at", max_export_bytes=size)
    assert at.outcome == "published", at.message
    over = run_refresh(str(tmp_path / "src"), tmp_path / "over", max_export_bytes=size - 1)
    assert over.outcome == "rejected" and "the limit (DATAVIZ_MAX_EXPORT_BYTES)" in over.message, over.message


def test_limits006_export_bytes_through_the_environment(tmp_path):
    text = activity(50, 0)
    size = len(text.encode())
    write_export(tmp_path / "src", activity=text)
    over = refresh_cli(tmp_path, DATAVIZ_MAX_EXPORT_BYTES=str(size - 1))
    assert over.returncode == 1 and "the limit (DATAVIZ_MAX_EXPORT_BYTES)" in over.stdout, over.stdout + over.stderr
    at = refresh_cli(tmp_path, DATAVIZ_MAX_EXPORT_BYTES=str(size))
    assert at.returncode == 0 and at.stdout.startswith("published snapshot "), at.stdout + at.stderr


EXTRA_COLUMNS = 10


def long_header(length: int) -> str:
    """The contract's columns, then EXTRA_COLUMNS unknown ones with long names: ``length`` characters in all
    (each name stays under the CSV reader's 128 kB field limit)."""
    names, room = [], length - len(HEADER.strip())
    for n in range(EXTRA_COLUMNS):
        size = room // (EXTRA_COLUMNS - n)
        names.append(f"x{n}".ljust(size - 1, "x"))
        room -= size
    line = HEADER.strip() + "".join("," + name for name in names)
    assert len(line) == length
    return line


@pytest.mark.parametrize("extra", [0, 1])
def test_limits007_header_line_boundary(tmp_path, extra):
    """A file that is one header line (no line end) of exactly the limit gets past the header check (and
    fails later: it has no rows); one byte more and the header itself is refused."""
    write_export(tmp_path / "src", activity=long_header(MAX_HEADER_BYTES + extra))
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "rejected"
    too_long = "export rejected: activity.csv: the header line is longer than 1 MB"
    assert (result.message == too_long) == bool(extra), result.message


def test_limits008_a_long_header_within_the_limit_is_read(tmp_path):
    rows = "".join(GOOD.format(i=f"e{i}", u=i) + "," * EXTRA_COLUMNS + "\n" for i in range(5))
    write_export(tmp_path / "src", activity=long_header(MAX_HEADER_BYTES - 1) + "\n" + rows)
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "published", result.message
    assert result.report["rows_accepted"] == 5
