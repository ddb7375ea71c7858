"""The tests' own shape: a test module or conftest imports from ``tests.support`` only, and the product's
app is built by ``tests.support.apps.make_app`` only."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_layout001_test_modules_import_only_tests_support():
    wrong = {str(path.relative_to(TESTS)): name for path in TESTS.rglob("*.py") if "support" not in path.parts
             for name in imported_modules(path)
             if (name == "tests" or name.startswith("tests.")) and not name.startswith("tests.support")}
    assert wrong == {}


def test_layout002_only_make_app_calls_the_app_factory():
    callers = sorted(str(path.relative_to(TESTS)) for path in TESTS.rglob("*.py")
                     if any(isinstance(node, ast.Name) and node.id == "create_app"
                            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))))
    assert callers == ["support/apps.py"]
