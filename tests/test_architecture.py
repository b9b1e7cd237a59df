"""The seams, checked with the ``ast`` module: who may import what, and no cycles."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "chatcli"
FRONT_ENDS = ("cli", "tui")
ASSEMBLY = {"chatcli.assembly", "chatcli.api"}
"""Where the app is put together: the only modules besides the core that open the store."""


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


MODULES = _modules()


def _imports(tree: ast.Module) -> set[str]:
    """Every module imported anywhere in ``tree`` (lazy imports inside functions included)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _area(module: str) -> str:
    """The package a module belongs to: chatcli.cli, chatcli.core... (top-level modules alone)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_only_the_store_the_core_and_the_assembly_import_the_store_internals() -> None:
    offenders = [
        module
        for module, tree in MODULES.items()
        if not module.startswith(("chatcli.store", "chatcli.core"))
        and module not in ASSEMBLY
        and _imports(tree) & {"chatcli.store.store", "chatcli.store.db"}
    ]
    assert offenders == []


@pytest.mark.parametrize("area", FRONT_ENDS)
def test_front_ends_never_call_the_store(area: str) -> None:
    """No ``something.store`` in the CLI or the TUI: they go through the sessions API."""
    calls = [
        f"{module}:{node.lineno}"
        for module, tree in MODULES.items()
        if module.startswith(f"chatcli.{area}")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "store"
    ]
    assert calls == []


def test_only_the_engine_package_imports_model_libraries() -> None:
    libraries = {"llama_cpp", "openai"}
    offenders = [
        module
        for module, tree in MODULES.items()
        if not module.startswith("chatcli.engine")
        and {name.split(".")[0] for name in _imports(tree)} & libraries
    ]
    assert offenders == []


def test_only_the_store_runs_sql() -> None:
    offenders = [
        module
        for module, tree in MODULES.items()
        if not module.startswith("chatcli.store") and "sqlite3" in _imports(tree)
    ]
    assert offenders == []


def test_the_engine_package_knows_nothing_of_settings_or_front_ends() -> None:
    allowed = {"chatcli", "chatcli.engine", "chatcli.errors", "chatcli.paths"}
    offenders = {
        module: sorted(outside)
        for module, tree in MODULES.items()
        if module.startswith("chatcli.engine")
        for outside in [
            {_area(name) for name in _imports(tree) if name.startswith("chatcli")} - allowed
        ]
        if outside
    }
    assert offenders == {}


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, tree in MODULES.items():
        for name in _imports(tree):
            if name.startswith("chatcli.") and _area(name) in MODULES:
                target = _area(name)
                if target != _area(module) and target != "chatcli":
                    graph[_area(module)].add(target)
    cycles = [(a, b) for a, targets in graph.items() for b in targets if _reaches(graph, b, a)]
    assert cycles == []


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False
