"""Markdown text helpers shared by the terminal writer of ``ask`` and the TUI."""

from __future__ import annotations

import re
from functools import cache

from markdown_it import MarkdownIt

_FENCE = re.compile(r"^\s{0,3}(```|~~~)", re.MULTILINE)


def split_finished_blocks(text: str) -> tuple[str, str]:
    """Split Markdown into (finished blocks, the block still being written).

    A block is finished at a blank line that is not inside an open code fence.
    """
    cut = -1
    inside_fence = False
    position = 0
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            inside_fence = not inside_fence
        position += len(line)
        if not inside_fence and line.strip() == "" and line.endswith("\n"):
            cut = position
    if cut <= 0:
        return "", text
    return text[:cut], text[cut:]


_LINE_END = re.compile(r"\r\n?|\n")


@cache
def _block_parser() -> MarkdownIt:
    """The parser rich's Markdown uses, so both agree on where blocks begin."""
    return MarkdownIt().enable("strikethrough").enable("table")


def last_block_start(text: str) -> int:
    """Where the last top-level Markdown block of ``text`` starts (0 if it is the only one).

    Every block before it is finished: the parser has seen the next one begin.
    """
    starts = [
        token.map[0]
        for token in _block_parser().parse(text)
        if token.level == 0 and token.nesting >= 0 and token.map is not None
    ]
    if len(starts) < 2:
        return 0
    # markdown-it counts lines at \r\n, \r and \n only (str.splitlines also splits at
    # \u2028, \x0c and more, which would cut a line late).
    line_starts = [0] + [match.end() for match in _LINE_END.finditer(text)]
    return line_starts[starts[-1]]
