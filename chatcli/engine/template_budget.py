"""The time and size budget of one chat-template render, and the size checks it runs.

A template is code from whoever made the model file. Everything it can do that grows a value
faster than its inputs (repeat a string, pad to a width, replace into a string, join, format
with a width, raise an integer to a power) is checked here *before* it runs, so no single step
can allocate gigabytes; everything it builds is charged to a running total, so many steps
cannot either; and loops, calls and output check a deadline, so nothing runs for ever.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn


@dataclass(frozen=True)
class TemplateLimits:
    """How much one render may take.

    A real template renders a 20-message chat in well under a millisecond and writes each
    message once or a few times, so every bound is far from what real templates reach.
    """

    seconds: float = 2.0
    """Wall time per render: ~1,000x a long real render on a busy 2-core machine, and short
    enough that a hostile template is answered at once."""
    min_chars: int = 1 << 20
    """Floor of the bound on any one value and on the prompt: 1 Mi characters is ~250k
    tokens, more than the context of the models chatcli runs."""
    chars_per_input_char: int = 4
    """Long inputs (an attached file) raise the bound with them: templates copy each message
    into a few intermediate strings, and tojson may escape characters."""
    total_values: int = 64
    """All values one render builds together may be this many times the per-value bound (a
    template that gathers messages into one string builds quadratically many characters)."""
    int_bits: int = 1 << 16
    """Largest integer a template may compute (~19,700 digits; no chat template needs more)."""
    range_items: int = 100_000
    """Largest ``range()`` (the Jinja sandbox's own bound)."""


class LimitExceeded(Exception):
    """A template went past one of its limits (the message says which, for the user)."""


class Budget:
    """The deadline and size bounds of one render (``input_chars``: the messages' size)."""

    __slots__ = ("deadline", "limits", "max_chars", "spent", "total")

    def __init__(self, limits: TemplateLimits, input_chars: int) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.max_chars = max(limits.min_chars, limits.chars_per_input_char * input_chars)
        self.total = self.max_chars * limits.total_values
        self.spent = 0

    def tick(self) -> None:
        """Fail once the render has run out of time."""
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"it ran longer than {self.limits.seconds:g} s")

    def check(self, chars: int) -> None:
        """Fail if a value of ``chars`` characters (or items) is more than one value may be."""
        if chars > self.max_chars:
            raise LimitExceeded(
                f"it tried to build a value of {chars:,} characters "
                f"(the limit is {self.max_chars:,})"
            )

    def charge(self, value: object) -> None:
        """Count a value the template built against the per-value and total bounds."""
        chars = len(value) if type(value) is str else text_size(value, self.max_chars)
        self.spent += chars
        if chars > self.max_chars or self.spent > self.total:
            self.refuse(chars)

    def refuse(self, chars: int) -> NoReturn:
        """Fail for a value of ``chars`` that took the render past a size bound."""
        self.check(chars)
        raise LimitExceeded(f"it built more than {self.total:,} characters of values in one render")

    def check_int(self, bits: int) -> None:
        """Fail if an integer result would have more than the allowed bits."""
        if bits > self.limits.int_bits:
            raise LimitExceeded(f"it tried to compute an integer of {bits:,} bits")


def text_size(value: object, cap: int) -> int:
    """About how many characters ``str(value)`` has; anything over ``cap`` is cap + 1.

    Containers count their items' sizes (nested ones too), so a list that holds one long
    string many times is as big as its printed form; the walk stops as soon as it passes cap.
    """
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    total, seen, stack = 0, 0, [value]
    while stack:
        item = stack.pop()
        seen += 1
        if isinstance(item, (str, bytes, bytearray)):
            total += len(item) + 2
        elif isinstance(item, Mapping):
            total += 2
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2
            stack.extend(item)
        else:
            total += 24
        if total > cap or seen > cap:
            return cap + 1
    return total


# Width, precision or count inside a format string: "%9999d", "{:>9999}", "{:.9999f}".
_FORMAT_NUMBER = re.compile(r"\d{5,}")


def check_format(budget: Budget, pattern: str, arguments: object) -> None:
    """Check a ``%`` or ``str.format`` call: its numbers and its arguments' sizes."""
    for number in _FORMAT_NUMBER.findall(pattern):
        budget.check(int(number.lstrip("0")[:19] or "0"))
    budget.check(len(pattern) + text_size(arguments, budget.max_chars))
    for value in _flat_values(arguments):
        if isinstance(value, int) and not isinstance(value, bool):
            budget.check(abs(value))  # "%*d" and "{:{}}" take widths as arguments


def _flat_values(arguments: object) -> list[object]:
    if isinstance(arguments, Mapping):
        return list(arguments.values())
    if isinstance(arguments, (tuple, list)):
        return list(arguments)
    return [arguments]


def check_binop(budget: Budget, operator: str, left: Any, right: Any) -> None:
    """Check ``left <operator> right`` before it runs (``*``, ``**``, ``+``, ``%``)."""
    if operator == "%" and isinstance(left, str):
        check_format(budget, left, right)
    elif operator == "**" and _is_int(left) and _is_int(right) and right > 0:
        budget.check_int(max(left.bit_length(), 1) * right)
    elif operator == "*":
        _check_repeat(budget, left, right)
    elif operator == "+" and hasattr(left, "__len__") and hasattr(right, "__len__"):
        budget.check(len(left) + len(right))


def _check_repeat(budget: Budget, left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        budget.check_int(left.bit_length() + right.bit_length())
    elif _is_int(right) and hasattr(left, "__len__"):
        budget.check(len(left) * right)
    elif _is_int(left) and hasattr(right, "__len__"):
        budget.check(len(right) * left)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _width(budget: Budget, text: Any, args: Args, kwargs: Kwargs) -> Args:
    width = args[0] if args else kwargs.get("width", 0)
    if _is_int(width):
        budget.check(width)
    return args


def _replace(budget: Budget, text: Any, args: Args, kwargs: Kwargs) -> Args:
    if len(args) < 2 or not hasattr(args[0], "__len__") or not hasattr(args[1], "__len__"):
        return args
    old, new = args[0], args[1]
    count = args[2] if len(args) > 2 else kwargs.get("count", -1)
    hits = text.count(old) if len(old) else len(text) + 1
    if _is_int(count) and count >= 0:
        hits = min(hits, count)
    budget.check(len(text) + hits * len(new))
    return args


def _expandtabs(budget: Budget, text: Any, args: Args, kwargs: Kwargs) -> Args:
    tabsize = args[0] if args else kwargs.get("tabsize", 8)
    if _is_int(tabsize):
        budget.check(len(text) + text.count("\t" if isinstance(text, str) else b"\t") * tabsize)
    return args


def _translate(budget: Budget, text: Any, args: Args, kwargs: Kwargs) -> Args:
    table = args[0] if args else None
    if isinstance(table, Mapping):
        longest = max((text_size(v, budget.max_chars) for v in table.values()), default=1)
        budget.check(len(text) * longest)
    return args


def _join(budget: Budget, separator: Any, args: Args, kwargs: Kwargs) -> Args:
    if not args:
        return args
    items = args[0] if isinstance(args[0], (list, tuple)) else list(args[0])
    gaps = len(separator) * max(len(items) - 1, 0)
    budget.check(text_size(items, budget.max_chars) + gaps)
    return (items, *args[1:])


def _to_bytes(budget: Budget, number: Any, args: Args, kwargs: Kwargs) -> Args:
    length = args[0] if args else kwargs.get("length", 1)
    if _is_int(length):
        budget.check(length)
    return args


Args = tuple[Any, ...]
Kwargs = dict[str, Any]
MethodCheck = Callable[[Budget, Any, Args, Kwargs], Args]
"""Checks a call of a method (on its object, with its arguments); returns the arguments to use."""

# Methods of str and bytes (and int.to_bytes) whose result can outgrow their inputs.
METHOD_CHECKS: dict[str, MethodCheck] = {
    "ljust": _width,
    "rjust": _width,
    "center": _width,
    "zfill": _width,
    "expandtabs": _expandtabs,
    "replace": _replace,
    "translate": _translate,
    "join": _join,
    "to_bytes": _to_bytes,
}
