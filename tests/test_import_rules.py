"""The layers import one way (docs/architecture.md, "Allowed imports"): no circle, no forbidden edge.

The graph is read statically (``tests.support.imports``, function-level
imports included, ``if TYPE_CHECKING:`` blocks left out); what a process
really loads is checked in a fresh interpreter.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.imports import ROOT, circles, graph

WEB_LIBRARIES = {"flask", "dash", "plotly", "flask_caching"}
ETL_HEAVY = {"etl.validate", "etl.transform", "etl.refresh", "etl.dask_engine", "etl.generate"}
APP_MAY_USE_FROM_ETL = {"etl.snapshot_format", "etl.sources", "etl.snapshot_s3", "etl.arrays"}  # the contract, S3 sync, numpy helpers
ETL_MAY_USE_FROM_APP = {"app.config", "app.cache"}


def layer(module: str) -> str:
    return module.split(".")[0]


def forbidden(module: str, target: str) -> str | None:
    """Why ``module`` may not import ``target`` (None: allowed)."""
    source, dest = layer(module), layer(target)
    if module == "app.factory":
        return None
    if source == "layouts" and dest != "layouts" and target not in ("app.catalog", "app.view_state"):
        return "layouts import only layouts, app.catalog and app.view_state"
    if source == "callbacks" and (dest == "etl" or target == "app.factory"):
        return "callbacks import layouts and app modules, never the factory or the ETL"
    if source == "app" and dest in ("callbacks", "layouts"):
        return "only app.factory imports callbacks/ and layouts/"
    if source == "app" and dest == "etl" and target not in APP_MAY_USE_FROM_ETL:
        return "the app imports only the snapshot contract (and S3 sync) from the ETL"
    if source == "etl" and dest != "etl" and target not in ETL_MAY_USE_FROM_APP:
        return "the ETL imports app.config and app.cache at most"
    return None


def violations(edges) -> list[str]:
    return [f"{module} -> {target}: {reason}" for module in sorted(edges) for target in sorted(edges[module])
            if (reason := forbidden(module, target))]


def test_imports001_no_circle_among_project_modules():
    edges, _ = graph()
    assert circles(edges) == []


def test_imports002_no_forbidden_edge():
    edges, _ = graph()
    assert violations(edges) == []
    assert violations({"layouts.x": {"app.queries"}, "callbacks.x": {"app.factory"}, "app.x": {"layouts.ids"},
                       "etl.x": {"app.store"}, "app.y": {"etl.transform"}, "app.factory": {"callbacks.x"}}) == [
        "app.x -> layouts.ids: only app.factory imports callbacks/ and layouts/",
        "app.y -> etl.transform: the app imports only the snapshot contract (and S3 sync) from the ETL",
        "callbacks.x -> app.factory: callbacks import layouts and app modules, never the factory or the ETL",
        "etl.x -> app.store: the ETL imports app.config and app.cache at most",
        "layouts.x -> app.queries: layouts import only layouts, app.catalog and app.view_state"]


def test_imports004_the_etl_and_layouts_name_no_web_library_they_must_not():
    _, external = graph()
    assert {m: sorted(libs & WEB_LIBRARIES) for m, libs in external.items()
            if layer(m) == "etl" and libs & WEB_LIBRARIES} == {}
    assert sorted(m for m, libs in external.items() if m in ("app.config", "app.cache", "app.catalog")
                  and libs & WEB_LIBRARIES) == []


def loaded(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after ``statement``."""
    out = subprocess.run([sys.executable, "-c", f"{statement}; import sys; print('\\n'.join(sys.modules))"],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    return set(out.stdout.split())


@pytest.mark.parametrize("module", ["app.config", "app.cache", "etl.refresh", "etl.__main__"])
def test_imports005_settings_cache_and_etl_load_no_web_library(module):
    assert {name.split(".")[0] for name in loaded(f"import {module}")} & WEB_LIBRARIES == set()


def test_imports006_a_web_worker_loads_the_web_libraries():
    """The other side of imports005/007, so they cannot pass by loading nothing."""
    assert WEB_LIBRARIES - {"flask_caching"} <= {name.split(".")[0] for name in loaded("import app.factory")}


def test_imports007_a_web_worker_loads_none_of_the_etl_steps():
    assert loaded("import app.factory") & ETL_HEAVY == set()
