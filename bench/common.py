"""Shared pieces of the benchmarks: statistics, result tables, timed subprocesses.

Every figure that ``docs/benchmarks.md`` prints comes out of a ``Table`` built
here from samples taken during the run; nothing is typed by hand.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
PYTHON = sys.executable
MB = 1 << 20
GB = 1 << 30


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- statistics

def median(values) -> float:
    return float(statistics.median(values))


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (q in 0..100): an observed sample, never interpolated."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))
    return float(ordered[int(rank) - 1])


@dataclass
class Stat:
    """Median, min and max of repeated measurements of one quantity."""

    values: list[float]

    @property
    def median(self) -> float:
        return median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    @property
    def n(self) -> int:
        return len(self.values)


# ---------------------------------------------------------------- formatting

def fmt_s(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "n/a"
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.01:
        return f"{seconds * 1000:.0f} ms"
    if seconds >= 0.001:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1000:.2f} ms"


def fmt_ms(ms: float) -> str:
    return fmt_s(ms / 1000.0)


def fmt_bytes(n: float) -> str:
    if n >= GB:
        return f"{n / GB:.2f} GB"
    return f"{n / MB:.0f} MB"


def fmt_stat(stat: Stat, fmt=fmt_s) -> str:
    """``median (min–max)``, the way every repeated figure is shown."""
    if stat.n == 1:
        return fmt(stat.median)
    return f"{fmt(stat.median)} ({fmt(stat.min)}–{fmt(stat.max)})"


def fmt_ratio(r: float) -> str:
    if r != r:
        return "n/a"
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "not measured"
    return "**pass**" if ok else "**MISS**"


@dataclass
class Table:
    """One markdown table plus the notes that say how its rows were measured."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells) -> None:
        self.rows.append([str(c) for c in cells])

    def markdown(self) -> str:
        out = [f"### {self.title}", ""]
        out.append("| " + " | ".join(self.columns) + " |")
        out.append("| " + " | ".join("---" for _ in self.columns) + " |")
        for row in self.rows:
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        if self.notes:
            out.append("")
            out.extend(f"- {note}" for note in self.notes)
        out.append("")
        return "\n".join(out)

    def text(self) -> str:
        """Plain-text rendering for stdout."""
        widths = [max(len(c), *(len(r[i]) for r in self.rows)) if self.rows else len(c)
                  for i, c in enumerate(self.columns)]
        line = lambda cells: "  ".join(c.replace("**", "").ljust(w) for c, w in zip(cells, widths))
        out = [f"== {self.title}", line(self.columns), line(["-" * w for w in widths])]
        out.extend(line(r) for r in self.rows)
        out.extend(f"   * {n}" for n in self.notes)
        return "\n".join(out) + "\n"


@dataclass
class Target:
    """One target of the issues, with what this run measured and whether it holds."""

    name: str
    target: str
    measured: str
    ok: bool | None  # None: not measured (with the reason in ``measured``)


# ---------------------------------------------------------------- memory sampling

class PeakSampler:
    """Samples the RSS of a process tree in a thread until stopped; keeps the peak, of the whole
    tree and of each process (``by_pid``: a Dask worker's own peak)."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.by_pid: dict[int, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
            except psutil.Error:
                procs = []
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.by_pid[p.pid] = max(self.by_pid.get(p.pid, 0), rss)
            self.peak = max(self.peak, total)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class TaskResult:
    seconds: float  # the work itself, timed inside the child
    peak_rss: int  # whole process tree, sampled from outside
    info: dict
    pid: int = 0  # the child's
    peak_by_pid: dict = field(default_factory=dict)  # each process of the tree


def run_task(task: str, *args: str, env: dict | None = None, timeout: float = 1800) -> TaskResult:
    """Run ``python -m bench.tasks TASK ARGS`` in a fresh process; time it and sample its memory.

    The child times its own work (imports excluded, the same way for every
    task) and prints one JSON line; the parent samples the RSS of the child's
    whole process tree every 20 ms with psutil.
    """
    cmd = [PYTHON, "-m", "bench.tasks", task, *map(str, args)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})}, text=True)
    with PeakSampler(proc.pid) as sampler:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise RuntimeError(f"{task} timed out after {timeout}s")
    if proc.returncode != 0:
        raise RuntimeError(f"{task} failed ({proc.returncode}): {err[-3000:]}")
    info = json.loads(out.strip().splitlines()[-1])
    return TaskResult(info.pop("seconds"), sampler.peak, info, proc.pid, sampler.by_pid)
