"""The Plotly bundle the pages load (build/plotly, ``make plotly``): the right traces, the recorded bytes."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.figures import checked, every_figure

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "plotly"
BUNDLE = REPO / "assets" / "plotly-dataviz.min.js"
# Trace types -> the plotly.js module that draws them (scatter is in the core).
MODULES = {"bar": "bar", "pie": "pie", "funnel": "funnel", "heatmap": "heatmap", "scatter": None}


def recorded_sha256() -> str:
    return (BUILD / "plotly-dataviz.sha256").read_text().split()[0]


def test_pb001_the_bundle_registers_every_trace_the_figures_draw():
    """Every builder's figure on sample answers (``tests.support.figures``): their trace types."""
    drawn = {trace.type for fig in every_figure() for trace in checked(fig).data}
    assert drawn and drawn <= MODULES.keys(), f"a trace type the bundle lacks: {drawn - MODULES.keys()}"
    registered = set(re.findall(r"require\('plotly\.js/lib/(?:locales/)?(\w+)'\)", (BUILD / "entry.js").read_text()))
    assert {MODULES[t] for t in drawn if MODULES[t]} | {"fr"} == registered - {"core"}


def test_pb002_versions_are_pinned_exactly_with_a_lockfile():
    import json

    package = json.loads((BUILD / "package.json").read_text())
    lock = json.loads((BUILD / "package-lock.json").read_text())
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), (name, version)
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


@pytest.mark.skipif(not BUNDLE.exists(), reason="make plotly has not built the bundle")
def test_pb003_the_served_bundle_is_the_recorded_build():
    assert hashlib.sha256(BUNDLE.read_bytes()).hexdigest() == recorded_sha256()


@pytest.mark.skipif(not (BUILD / "node_modules").exists() or not shutil.which("node"),
                    reason="build/plotly has no node_modules (make plotly installs them)")
def test_pb004_a_fresh_build_gives_the_recorded_bytes(tmp_path):
    out = tmp_path / "plotly.js"
    subprocess.run(["node", "build.js", str(out)], cwd=BUILD, check=True, timeout=120)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == recorded_sha256()
