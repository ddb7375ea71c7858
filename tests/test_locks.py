"""Every dependency is locked with hashes, and every install comes from a lock (issue 13, round-1 notes).

Before, only the top-level requirements were pinned: two fresh machines could resolve different
transitive versions, and nothing checked what was downloaded. Now ``requirements.lock`` and
``requirements-dev.lock`` pin every package with the hashes of its files, ``make run``, ``make test``
(which is what CI runs, ``.ci/run``) and ``make soak`` install only from them with ``--require-hashes``,
and the venv the suite runs in holds exactly the locked versions.
"""
from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.lock", "requirements-dev.lock")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s\\;]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """``{package: (version, number of hashes)}``; any requirement line that is not ``name==version``
    fails (a range or a bare name would let two machines resolve differently)."""
    pins, current = {}, None
    for line in path.read_text().splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("--hash=sha256:"):
            assert current, f"{path.name}: a hash before any requirement"
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
            continue
        match = PIN.match(text)
        assert match, f"{path.name}: not pinned with ==: {text}"
        current = canonical(match.group(1))
        pins[current] = (match.group(3), 0)
    return pins


def top_level(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text and not text.startswith("-r"):
            match = PIN.match(text)
            assert match, f"{path.name}: not pinned with ==: {text}"
            pins[canonical(match.group(1))] = match.group(3)
    return pins


@pytest.mark.parametrize("lock", LOCKS)
def test_lock001_every_package_is_pinned_with_its_hashes(lock):
    pins = locked(REPO / lock)
    assert len(pins) > 20  # the transitive dependencies too, not only the top level
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_lock002_the_locks_hold_the_top_level_pins_and_agree_with_each_other():
    runtime, dev = locked(REPO / "requirements.lock"), locked(REPO / "requirements-dev.lock")
    for lock, sources in ((runtime, ("requirements.txt",)), (dev, ("requirements.txt", "requirements-dev.txt"))):
        for source in sources:
            wanted = top_level(REPO / source)
            assert {name: lock.get(name, (None,))[0] for name in wanted} == wanted, source
    assert {name: version for name, (version, _) in runtime.items()} == \
        {name: dev[name][0] for name in runtime if name in dev}
    assert set(runtime) <= set(dev)


def test_lock003_make_run_test_and_soak_install_only_from_the_locks_with_hashes():
    """``make -n -B``: the commands each target would run, whether or not it is up to date."""
    plan = subprocess.run(["make", "-n", "-B", "run", "test", "soak"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert plan.returncode == 0, plan.stderr
    installs = [line for line in plan.stdout.splitlines() if re.search(r"\bpip\b.* install\b", line)]
    assert installs, plan.stdout
    for line in installs:
        assert "--require-hashes" in line and re.search(r"-r requirements(-dev)?\.lock\b", line), line
        assert "requirements.txt" not in line and "requirements-dev.txt" not in line, line
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_lock004_the_suite_runs_on_exactly_the_locked_versions():
    dev = locked(REPO / "requirements-dev.lock")
    installed = {}
    for name in dev:
        try:
            installed[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed[name] = None
    assert installed == {name: version for name, (version, _) in dev.items()}
