"""A Dask cluster started the way docs/scaling.md says, as separate processes, refreshes like the pandas engine.

The bug this guards (issue 14): `dask scheduler` and `dask worker` started from
a shell do not have the repository on their path, so the workers raised
``ModuleNotFoundError: No module named 'etl'`` and the scheduler refused the task
graph. The one documented way is to install the project (``pip install --no-deps .``,
not editable) next to the locked dependencies on every machine of the cluster.

How the test proves the documented commands, within a minute:
- one fresh virtual environment (``python3 -m venv``), whose third-party packages
  are the shared ``.venv``'s, through a ``.pth`` file: installing the locked
  dependencies anew (``make install``'s step) would take minutes, and it is
  not what this test is about. The fresh environment is checked first to NOT
  import ``etl``: nothing of the project leaks in through the shared ``.venv``;
- the project is installed into it with the documented ``pip install --no-deps .``
  from a copy of the repository's project files (pip fetches setuptools for the
  build from the package index, as on a real machine: about 20 s here), a real,
  non-editable install, so the cluster runs the copy in site-packages and nothing else;
- the scheduler and the workers are that environment's ``dask`` command
  (``python -m dask``: the ``dask`` script is not generated, dask being borrowed
  through the ``.pth``), started from a folder that is not the repository,
  without ``PYTHONPATH``, on free 127.0.0.1 ports, workers with ``--memory-limit``;
- the refresh is the documented ``.venv/bin/python -m etl refresh --engine dask
  --scheduler tcp://...`` from the repository root; its snapshot's frames must
  equal the pandas engine's on the same export.

The second test caps each worker's memory below what the export needs of one
worker: the Dask engine still refreshes it, with the pandas engine's snapshot
(the slower of the two: 1.5 to 3 minutes here, with the machine shared).
Every process is stopped by its PID (its process group: a worker's nanny and
its worker process).
"""
from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from etl import snapshot_format as snapshots
from etl.generate import generate_export
from etl.refresh import run_refresh
from tests.support.services import REPO, free_port

END = dt.date(2026, 10, 31)
LIMIT = 400 << 20  # --memory-limit of each worker in the capped test
CAPPED_EVENTS = 4_000_000  # a 290 MB activity file
CAPPED_BLOCK = 8 << 20  # bytes of CSV per partition
PROJECT_FILES = ("pyproject.toml", "README.md", "requirements.txt", "app", "etl", "callbacks", "layouts")


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a process started from a shell: no PYTHONPATH, no DATAVIZ_* of the test run."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("DATAVIZ_")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def cluster_env(tmp_path_factory) -> Path:
    """A fresh virtual environment with the project installed (not editable) and the shared .venv's packages."""
    root = tmp_path_factory.mktemp("cluster-env")
    venv = root / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, cwd=root, env=_clean_env())
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "shared-venv-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    missing = subprocess.run([str(python), "-c", "import etl"], cwd=root, env=_clean_env(),
                             capture_output=True, text=True)
    assert "No module named 'etl'" in missing.stderr, "the project must not be importable before it is installed"

    source = root / "dataviz-src"
    source.mkdir()
    for name in PROJECT_FILES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, source / name)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "."], check=True, cwd=source,
                   env=_clean_env())
    shutil.rmtree(source)  # the cluster may only use what was installed
    return venv


class Cluster:
    """`dask scheduler` and `dask worker` processes, as docs/scaling.md starts them."""

    def __init__(self, venv: Path, workdir: Path, workers: int, memory_limit: str):
        self.procs: list[subprocess.Popen] = []
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.logs = workdir
        python = str(venv / "bin" / "python")
        self._start("scheduler", [python, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                  "--dashboard-address", f"127.0.0.1:{free_port()}"], workdir)
        self._start("worker", [python, "-m", "dask", "worker", self.address, "--nworkers", str(workers),
                               "--nthreads", "1", "--memory-limit", memory_limit, "--no-dashboard",
                               "--host", "127.0.0.1"], workdir)
        self._wait_for_workers(workers)

    def _start(self, name: str, cmd: list[str], workdir: Path) -> None:
        log = open(self.logs / f"{name}.log", "wb")
        self.procs.append(subprocess.Popen(cmd, cwd=workdir, env=_clean_env(), stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def _wait_for_workers(self, n: int, timeout: float = 45.0) -> None:
        from distributed import Client

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with Client(self.address, timeout=5) as client:
                    client.wait_for_workers(n, timeout=max(1.0, deadline - time.monotonic()))
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"{n} workers not ready in {timeout}s:\n{self.log_text()}")

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("*.log")))

    def stop(self) -> None:
        for proc in reversed(self.procs):  # workers first, then the scheduler
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _refresh_on_cluster(cluster: Cluster, source: Path, snapshot_dir: Path, tmp: Path) -> subprocess.CompletedProcess:
    """The documented command, from the repository root with the project's .venv."""
    env = _clean_env(DATAVIZ_SOURCE=str(source), DATAVIZ_SNAPSHOT_DIR=str(snapshot_dir),
                     DATAVIZ_CACHE_DIR=str(tmp / "app-cache"))
    return subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "etl", "refresh", "--engine", "dask",
                           "--scheduler", cluster.address], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


def _assert_same_frames(root_a: Path, root_b: Path) -> None:
    va, vb = snapshots.live_version(root_a), snapshots.live_version(root_b)
    for name in snapshots.FRAME_NAMES:
        a, b = snapshots.map_frame(root_a, va, name), snapshots.map_frame(root_b, vb, name)
        assert a.equals(b), name
    ma, mb = snapshots.read_manifest(root_a, va), snapshots.read_manifest(root_b, vb)
    for key in ("rows", "dictionaries", "tenant_digests", "data_as_of", "tenants"):
        assert mb[key] == ma[key], key


def _plain_export(root: Path, events: int, seed: int, profile: str) -> Path:
    """A generated export with its activity file decompressed: the workers read their own blocks."""
    summary = generate_export(str(root), events, seed=seed, end_date=END, days=120, profile=profile)
    folder = Path(summary["path"])
    (folder / "activity.csv").write_bytes(gzip.decompress((folder / "activity.csv.gz").read_bytes()))
    (folder / "activity.csv.gz").unlink()
    return root


@pytest.fixture
def workdir(tmp_path) -> Path:
    """Where the cluster processes start: a folder that is not the repository."""
    path = tmp_path / "cluster"
    path.mkdir()
    return path


def _assert_like_pandas(source: Path, tmp_path: Path) -> None:
    """The cluster's snapshot (``snap-dask``) equals the pandas engine's on the same export."""
    pandas = run_refresh(str(source), tmp_path / "snap-pandas")
    assert pandas.outcome == "published", pandas.message
    _assert_same_frames(tmp_path / "snap-pandas", tmp_path / "snap-dask")


def test_documented_cluster_refreshes_like_pandas(cluster_env, workdir, tmp_path):
    source = _plain_export(tmp_path / "exports", 40_000, seed=3, profile="default")
    cluster = Cluster(cluster_env, workdir, workers=2, memory_limit="1GiB")
    try:
        done = _refresh_on_cluster(cluster, source, tmp_path / "snap-dask", tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr + cluster.log_text()
        assert "ModuleNotFoundError" not in cluster.log_text()
    finally:
        cluster.stop()
    _assert_like_pandas(source, tmp_path)


def test_workers_capped_below_the_export(cluster_env, workdir, tmp_path):
    """Two workers capped at 400 MiB each, of which a worker's libraries take about 200 MB once it has
    run a task: an export whose activity file (about 290 MB) is larger than what either worker has left,
    and whose parsed partitions do not fit one worker. The Dask engine refreshes it without a worker
    killed for its memory, with the pandas engine's snapshot. (By hand, docs/scaling.md "Capacity":
    10M events, a 721 MB file, on two workers of 600 MiB.) The refresh runs in a child process with a
    deadline, so a cluster stuck with paused workers fails the test instead of hanging it."""
    source = _plain_export(tmp_path / "exports", CAPPED_EVENTS, seed=9, profile="many-learners")
    (activity,) = source.glob("*/activity.csv")
    assert activity.stat().st_size > LIMIT - (200 << 20)
    cluster = Cluster(cluster_env, workdir, workers=2, memory_limit=str(LIMIT))
    try:
        code = ("import sys; from etl.refresh import run_refresh; from etl.dask_engine import DaskEngine; "
                "r = run_refresh(sys.argv[1], sys.argv[2], engine=DaskEngine(scheduler=sys.argv[3], "
                "block_size=int(sys.argv[4]))); print(r.message); sys.exit(r.outcome != 'published')")
        done = subprocess.run([sys.executable, "-c", code, str(source), str(tmp_path / "snap-dask"), cluster.address,
                               str(CAPPED_BLOCK)], cwd=REPO, env=_clean_env(), capture_output=True, text=True,
                              timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr[-3000:] + cluster.log_text()
        assert "exceeded 95% memory budget" not in cluster.log_text()
    finally:
        cluster.stop()
    _assert_like_pandas(source, tmp_path)
