"""Start-up: typer's rich help formatter need not import rich.markdown (and markdown-it).

``typer.rich_utils`` runs ``from rich.markdown import Markdown`` at import, for a markup mode
chatcli does not use, and that import (markdown-it with it) is a fifth of ``chatcli --help``.
Until something else asks for it, ``rich.markdown`` is a placeholder module: typer gets a
stand-in class that builds the real ``Markdown`` if it is ever called, and any other importer
gets the real module, which then replaces the placeholder.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

NAME = "rich.markdown"


class _MarkdownStandIn:
    """Builds the real ``rich.markdown.Markdown`` when called (only typer's import sees this)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _real_module().Markdown(*args, **kwargs)


class _Placeholder(types.ModuleType):
    """``rich.markdown`` until a caller other than typer's help formatter reads from it."""

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):  # the import system probing (``__path__``...)
            raise AttributeError(attribute)
        if attribute == "Markdown" and _importer() == "typer.rich_utils":
            return _MarkdownStandIn
        return getattr(_real_module(), attribute)


def _importer() -> str | None:
    """The module reading the attribute (past ``__getattr__`` and the import machinery)."""
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("importlib"):
        frame = frame.f_back
    return None if frame is None else frame.f_globals.get("__name__")


def _real_module() -> types.ModuleType:
    if isinstance(sys.modules.get(NAME), _Placeholder):
        del sys.modules[NAME]
    return importlib.import_module(NAME)


def defer_rich_markdown() -> None:
    """Put the placeholder in place, unless rich.markdown is already imported."""
    if NAME in sys.modules:
        return
    import rich

    placeholder = _Placeholder(NAME)
    sys.modules[NAME] = placeholder
    setattr(rich, "markdown", placeholder)  # noqa: B010 (rich declares no such attribute)
