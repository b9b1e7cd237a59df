"""Writing a streamed answer to stdout: raw bytes for pipes, Markdown for a terminal."""

from __future__ import annotations

import re
import sys
from typing import Protocol, TextIO

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

_FENCE = re.compile(r"^\s{0,3}(```|~~~)", re.MULTILINE)


class AnswerWriter(Protocol):
    """Receives the answer as it streams."""

    def write(self, text: str) -> None:
        """Show the next piece of the answer."""
        ...

    def close(self) -> None:
        """The answer is complete (or stopped): finish the output."""
        ...


class RawWriter:
    """Writes the answer byte for byte (stdout is a pipe or a file)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def write(self, text: str) -> None:
        """Write and flush so that a reader of the pipe sees it at once."""
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        """Flush what is left."""
        self.stream.flush()


class MarkdownWriter:
    """Renders the answer as Markdown on a terminal while it streams.

    Finished blocks (paragraphs, lists, closed code fences) are printed once for good; only
    the block being written is redrawn by a rich Live display, so the cost per refresh stays
    small however long the answer grows.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(file=sys.stdout)
        self.pending = ""
        self.live = Live(
            console=self.console,
            refresh_per_second=10,
            transient=False,
            vertical_overflow="visible",
        )
        self.live.start()

    def write(self, text: str) -> None:
        """Add text; print the blocks it completes and redraw the rest."""
        self.pending += text
        done, self.pending = split_finished_blocks(self.pending)
        if done:
            self.live.update("", refresh=True)
            self.console.print(Markdown(done))
            self.console.print()  # the blank line that separated the blocks
        self.live.update(Markdown(self.pending))

    def close(self) -> None:
        """Draw the last block and stop the live display."""
        self.live.update(Markdown(self.pending), refresh=True)
        self.live.stop()


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


def make_writer(raw: bool) -> AnswerWriter:
    """Markdown on a terminal, raw text otherwise (or when ``raw`` is asked for)."""
    if raw or not sys.stdout.isatty():
        return RawWriter()
    return MarkdownWriter()
