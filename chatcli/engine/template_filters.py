"""Size checks for the Jinja filters whose result can outgrow their inputs.

Each check sees a filter's arguments (after the context or environment a filter may take,
``skip`` of them) before the filter runs, and returns the arguments to run it with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chatcli.engine.template_budget import Budget, check_format, text_size

Args = tuple[Any, ...]
FilterCheck = Callable[[Budget, Args, dict[str, Any], int], Args]


def _argument(args: Args, kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _center(budget: Budget, args: Args, kwargs: dict[str, Any], skip: int) -> Args:
    width = _argument(args, kwargs, skip + 1, "width", 80)
    if _is_int(width):
        budget.check(width)
    return args


def _count(name: str, position: int) -> FilterCheck:
    """A check that the integer argument ``name`` (batch sizes, slices) is within bounds."""

    def check(budget: Budget, args: Args, kwargs: dict[str, Any], skip: int) -> Args:
        value = _argument(args, kwargs, skip + position, name, 0)
        if _is_int(value):
            budget.check(value)
        return args

    return check


def _indent(budget: Budget, args: Args, kwargs: dict[str, Any], skip: int) -> Args:
    text = _argument(args, kwargs, skip, "s", "")
    width = _argument(args, kwargs, skip + 1, "width", 4)
    if isinstance(text, str):
        per_line = width if _is_int(width) else text_size(width, budget.max_chars)
        budget.check(len(text) + (text.count("\n") + 1) * per_line)
    return args


def _replace(budget: Budget, args: Args, kwargs: dict[str, Any], skip: int) -> Args:
    text = _argument(args, kwargs, skip, "s", "")
    old = _argument(args, kwargs, skip + 1, "old", "")
    new = _argument(args, kwargs, skip + 2, "new", "")
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = text.count(old) if old else len(text) + 1
        budget.check(len(text) + hits * len(new))
    return args


def _join(budget: Budget, args: Args, kwargs: dict[str, Any], skip: int) -> Args:
    if len(args) <= skip:
        return args
    value = args[skip]
    items = value if isinstance(value, (list, tuple)) else list(value)
    separator = _argument(args, kwargs, skip + 1, "d", "")
    gaps = text_size(separator, budget.max_chars) * max(len(items) - 1, 0)
    budget.check(text_size(items, budget.max_chars) + gaps)
    return (*args[:skip], items, *args[skip + 1 :])


def _format(budget: Budget, args: Args, kwargs: dict[str, Any], skip: int) -> Args:
    pattern = _argument(args, kwargs, skip, "value", "")
    if isinstance(pattern, str):
        check_format(budget, pattern, (*args[skip + 1 :], *kwargs.values()))
    return args


def _wordwrap(budget: Budget, args: Args, kwargs: dict[str, Any], skip: int) -> Args:
    text = _argument(args, kwargs, skip, "s", "")
    wrap = _argument(args, kwargs, skip + 3, "wrapstring", None) or "\n"
    if isinstance(text, str) and isinstance(wrap, str):
        budget.check(len(text) * (1 + len(wrap)))  # at worst a break after every character
    return args


def _tojson(budget: Budget, args: Args, kwargs: dict[str, Any], skip: int) -> Args:
    indent = _argument(args, kwargs, skip + 2, "indent", None)
    if _is_int(indent):
        budget.check(text_size(args[skip] if args else None, budget.max_chars) * (indent + 1))
    return args


_CHECKS: dict[str, FilterCheck] = {
    "center": _center,
    "indent": _indent,
    "replace": _replace,
    "join": _join,
    "format": _format,
    "wordwrap": _wordwrap,
    "tojson": _tojson,
    "batch": _count("linecount", 1),
    "slice": _count("slices", 1),
    "truncate": _count("length", 1),
}


def filter_check(name: str) -> FilterCheck | None:
    """The size check for the filter ``name``, if its result can outgrow its inputs."""
    return _CHECKS.get(name)
