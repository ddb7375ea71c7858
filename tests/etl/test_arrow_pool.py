"""The refresh process allocates Arrow memory from jemalloc and numpy's on small pages, unless the operator chose."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.exports import write_export

REFRESH_THEN_POOL = """
import sys
import pyarrow as pa
from etl.refresh import run_refresh
before = pa.default_memory_pool().backend_name
result = run_refresh(sys.argv[1], sys.argv[2])
assert result.outcome == "published", result.message
print(before, pa.default_memory_pool().backend_name)
"""


@pytest.mark.parametrize("chosen, expected", [(None, "jemalloc"), ("system", "system")])
def test_pool001_refresh_uses_jemalloc_unless_told_otherwise(tmp_path, chosen, expected):
    write_export(tmp_path / "exports")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    out = subprocess.run([sys.executable, "-c", REFRESH_THEN_POOL, str(tmp_path / "exports"), str(tmp_path / "snap")],
                         env=env, capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out == [chosen or "mimalloc", expected]


REFRESH_THEN_PAGES = """
import sys
from numpy._core.multiarray import _set_madvise_hugepage
from etl.refresh import run_refresh
result = run_refresh(sys.argv[1], sys.argv[2])
assert result.outcome == "published", result.message
print(_set_madvise_hugepage(True))  # returns the setting the refresh left
"""


@pytest.mark.parametrize("chosen, expected", [(None, "False"), ("1", "True")])
def test_pool002_refresh_keeps_numpy_off_huge_pages_unless_told_otherwise(tmp_path, chosen, expected):
    write_export(tmp_path / "exports")
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if chosen:
        env["NUMPY_MADVISE_HUGEPAGE"] = chosen
    out = subprocess.run([sys.executable, "-c", REFRESH_THEN_PAGES, str(tmp_path / "exports"), str(tmp_path / "snap")],
                         env=env, capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out == [expected]
