"""Markdown text helpers shared by the terminal writer of ``ask`` and the TUI."""

from __future__ import annotations

import re

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
