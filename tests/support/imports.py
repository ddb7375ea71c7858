"""The import graph of the project's own packages, read statically (``ast``), function-level imports included.

``tests/test_import_rules.py`` checks it against the allowed layers of
docs/architecture.md; anyone can print it::

    .venv/bin/python -m tests.support.imports          # summary: modules, edges, circles
    .venv/bin/python -m tests.support.imports --edges  # every edge, one per line
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "etl", "callbacks", "layouts")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` that runs: ``if TYPE_CHECKING:`` blocks (annotations only) are left out."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _imported(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Every module name an import statement anywhere in ``tree`` names (``from a import b`` gives a and a.b).

    Function-level imports count: they run too, only later.
    """
    names = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            names.append(source)
            names += [f"{source}.{alias.name}" for alias in node.names]
    return names


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(project edges, third-party top-level packages) per project module."""
    modules = project_modules()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    external: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        for name in _imported(tree, module, path.name == "__init__.py"):
            if name in modules:
                if name != module:
                    edges[module].add(name)
            elif name.split(".")[0] not in PACKAGES:
                external[module].add(name.split(".")[0])
    # ``from a import b`` where b is a module: the edge is to a.b, not to a as well (a's body is not needed)
    for module, targets in edges.items():
        for target in list(targets):
            if any(other.startswith(target + ".") for other in targets) and not _names_attribute(
                    modules[module], target):
                targets.discard(target)
    return edges, external


def _names_attribute(path: Path, package: str) -> bool:
    """Whether ``path`` takes something from the package's ``__init__`` itself (not only its submodules)."""
    modules = project_modules()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == package and not node.level:
            if any(f"{package}.{alias.name}" not in modules for alias in node.names):
                return True
        if isinstance(node, ast.Import) and any(alias.name == package for alias in node.names):
            return True
    return False


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def main(argv: list[str]) -> int:
    edges, _ = graph()
    if "--edges" in argv:
        for module in sorted(edges):
            for target in sorted(edges[module]):
                print(f"{module} -> {target}")
    found = circles(edges)
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} edges, {len(found)} circle(s)")
    for component in found:
        print(f"  circle of {len(component)}: {', '.join(component)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
