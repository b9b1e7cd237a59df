"""Writing a streamed answer to stdout: raw bytes for pipes, Markdown for a terminal.

The Markdown writer lives in ``markdown_writer`` and is imported only for a terminal.
"""

from __future__ import annotations

import sys
from typing import Protocol, TextIO

from chatcli.cli.status_line import StatusLine
from chatcli.engine.base import PrefillProgress


class AnswerWriter(Protocol):
    """Receives the answer as it streams."""

    def write(self, text: str) -> None:
        """Show the next piece of the answer."""
        ...

    def close(self) -> None:
        """The answer is complete (or stopped): finish the output."""
        ...


class RawWriter:
    """Writes the answer byte for byte (stdout is a pipe or a file), then ends the line.

    The one newline added when the answer does not end with one keeps answers appended to a
    file (`>> answers.txt`) apart.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.last = ""

    def write(self, text: str) -> None:
        """Write and flush so that a reader of the pipe sees it at once."""
        if text:
            self.stream.write(text)
            self.stream.flush()
            self.last = text[-1]

    def close(self) -> None:
        """End the last line and flush."""
        if self.last and self.last != "\n":
            self.stream.write("\n")
        self.stream.flush()


def make_writer(raw: bool) -> AnswerWriter:
    """Markdown on a terminal, raw text otherwise (or when ``raw`` is asked for)."""
    if raw or not sys.stdout.isatty():
        return RawWriter()
    # rich's Markdown and markdown-it take ~0.13 s to import: a pipe never needs them.
    from chatcli.cli.markdown_writer import MarkdownWriter

    return MarkdownWriter()


class PrefillMeter:
    """Shows 'processing prompt 512/2,048 tokens, ~6 s left' on stderr while a long prompt loads.

    Only on a terminal: a redirected stderr gets no progress noise.
    """

    def __init__(self) -> None:
        self.line = StatusLine()

    def show(self, progress: PrefillProgress) -> None:
        """Redraw the progress line."""
        self.line.show(
            f"processing prompt {progress.done:,}/{progress.total:,} tokens, "
            f"~{progress.eta_s:.0f} s left"
        )

    def clear(self) -> None:
        """Remove the progress line."""
        self.line.clear()
