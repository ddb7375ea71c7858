"""The refresh process allocates Arrow memory from jemalloc and numpy's on small pages, unless the operator chose."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.exports import write_export

REFRESH_THEN_SETTINGS = """
import sys
import pyarrow as pa
from numpy._core.multiarray import _set_madvise_hugepage
from etl.refresh import run_refresh
before = pa.default_memory_pool().backend_name
result = run_refresh(sys.argv[1], sys.argv[2])
assert result.outcome == "published", result.message
print(before, pa.default_memory_pool().backend_name, _set_madvise_hugepage(True))  # the last: what the refresh left
"""


@pytest.mark.parametrize("pool, huge_pages, expected", [
    (None, None, ["mimalloc", "jemalloc", "False"]),
    ("system", "1", ["system", "system", "True"]),
])
def test_pool001_refresh_uses_jemalloc_and_small_pages_unless_told_otherwise(tmp_path, pool, huge_pages, expected):
    write_export(tmp_path / "exports")
    chosen = {"ARROW_DEFAULT_MEMORY_POOL": pool, "NUMPY_MADVISE_HUGEPAGE": huge_pages}
    env = {k: v for k, v in os.environ.items() if k not in chosen}
    env.update({k: v for k, v in chosen.items() if v})
    out = subprocess.run([sys.executable, "-c", REFRESH_THEN_SETTINGS, str(tmp_path / "exports"),
                          str(tmp_path / "snap")], env=env, capture_output=True, text=True, timeout=120,
                         check=True).stdout.split()
    assert out == expected
