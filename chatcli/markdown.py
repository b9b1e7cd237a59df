"""One Markdown block model, on markdown-it, for ``ask``'s streaming writer and the TUI.

Where a block ends and what a code block holds are decided by the same parser rich renders
with, so an unclosed fence (an interrupted reply), a longer closing fence or a fence inside a
longer one are handled the way they are drawn.
"""

from __future__ import annotations

import re
from functools import cache

from markdown_it import MarkdownIt

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


def split_finished_blocks(text: str) -> tuple[str, str]:
    """Split Markdown into (finished blocks, the block still being written)."""
    cut = last_block_start(text)
    return text[:cut], text[cut:]


def code_blocks(text: str) -> list[str]:
    """The contents of the fenced code blocks in ``text``, in order (nested ones included).

    A fence left open (a reply cut short) runs to the end of the text.
    """
    return [token.content for token in _block_parser().parse(text) if token.type == "fence"]
