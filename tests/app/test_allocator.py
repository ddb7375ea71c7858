"""A web worker's threads share one malloc arena (``app.allocator``), unless the operator set MALLOC_ARENA_MAX."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import credentials, services

# Four threads hold numpy temporaries at once, as a gthread worker's do; glibc's malloc_stats() then prints one
# "Arena N:" block per arena on stderr.
THREADS_THEN_ARENAS = """
import ctypes, sys, threading
import numpy as np
if sys.argv[1] == "wsgi":
    import app.wsgi  # the entry point gunicorn's workers import
elif sys.argv[1] == "limit":
    from app.allocator import limit_malloc_arenas
    print(limit_malloc_arenas())
barrier = threading.Barrier(4)
def work():
    held = [np.ones(2_000 + k) for k in range(50)]  # 16 KB each, under the mmap threshold: from an arena
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
sys.stdout.flush()
ctypes.CDLL(None).malloc_stats()
"""


def arenas(tmp_path, how: str, env_extra: dict | None = None) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    env.update({"PYTHONPATH": str(services.REPO), "DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
                "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"), **credentials.service_env(), **(env_extra or {})})
    done = subprocess.run([sys.executable, "-c", THREADS_THEN_ARENAS, how], env=env, cwd=services.REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip(), sum(line.startswith("Arena ") for line in done.stderr.splitlines())


def test_alloc001_glibc_gives_each_thread_an_arena_without_the_limit(tmp_path):
    """The control: without the cap the same threads make several arenas, so the tests below can fail."""
    assert arenas(tmp_path, "none")[1] > 1


@pytest.mark.parametrize("how", ["limit", "wsgi"])
def test_alloc002_web_workers_share_one_arena(tmp_path, how):
    said, count = arenas(tmp_path, how)
    assert count == 1
    assert said == ("True" if how == "limit" else "")


def test_alloc003_the_operators_malloc_arena_max_wins(tmp_path):
    said, count = arenas(tmp_path, "limit", {"MALLOC_ARENA_MAX": "3"})
    assert said == "False"
    assert count == 3
