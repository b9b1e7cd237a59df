"""Writing a streamed answer to stdout: raw bytes for pipes, Markdown for a terminal."""

from __future__ import annotations

import sys
from typing import Protocol, TextIO

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

from chatcli.engine.base import PrefillProgress
from chatcli.markdown import split_finished_blocks


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
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.started = False

    def write(self, text: str) -> None:
        """Add text; print the blocks it completes and redraw the rest."""
        if not self.started:  # not before: the prompt's progress line may still be showing
            self.live.start()
            self.started = True
        self.pending += text
        done, self.pending = split_finished_blocks(self.pending)
        if done:
            self.live.update("", refresh=True)
            self.console.print(Markdown(done))
            self.console.print()  # the blank line that separated the blocks
        self.live.update(Markdown(self.pending))

    def close(self) -> None:
        """Draw the last block and stop the live display."""
        if self.started:
            self.live.update(Markdown(self.pending), refresh=True)
            self.live.stop()


def make_writer(raw: bool) -> AnswerWriter:
    """Markdown on a terminal, raw text otherwise (or when ``raw`` is asked for)."""
    if raw or not sys.stdout.isatty():
        return RawWriter()
    return MarkdownWriter()


class PrefillMeter:
    """Shows 'processing prompt 512/2,048 tokens, ~6 s left' on stderr while a long prompt loads.

    Only on a terminal: a redirected stderr gets no progress noise.
    """

    def __init__(self) -> None:
        self.active = sys.stderr.isatty()
        self.shown = False

    def show(self, progress: PrefillProgress) -> None:
        """Redraw the progress line."""
        if not self.active:
            return
        line = (
            f"chatcli: processing prompt {progress.done:,}/{progress.total:,} tokens, "
            f"~{progress.eta_s:.0f} s left"
        )
        sys.stderr.write(f"\r\x1b[K{line}")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        """Remove the progress line."""
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False
