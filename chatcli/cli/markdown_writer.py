"""The answer rendered as Markdown on a terminal while it streams."""

from __future__ import annotations

import sys

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.segment import Segment

from chatcli.markdown import last_block_start, split_finished_blocks


class MarkdownWriter:
    """Renders the answer as Markdown on a terminal while it streams.

    Finished blocks (paragraphs, lists, closed code fences) are printed once for good; only
    the block being written is redrawn by a rich Live display, so the cost per refresh stays
    small however long the answer grows. Each piece is rendered after the last block printed,
    so the space rich puts between blocks is what rendering the whole answer at once gives.
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
        self.last_block = ""
        """The last block printed: what comes next is rendered after it."""
        self.last_block_lines = 0

    def write(self, text: str) -> None:
        """Add text; print the blocks it completes and redraw the rest."""
        if not self.started:  # not before: the prompt's progress line may still be showing
            self.live.start()
            self.started = True
        self.pending += text
        done, self.pending = split_finished_blocks(self.pending)
        if done:
            self.live.update("", refresh=True)
            self.console.print(_After(self.last_block, done, self.last_block_lines))
            self.last_block = done[last_block_start(done) :]
            self.last_block_lines = len(
                self.console.render_lines(Markdown(self.last_block), pad=False)
            )
        self.live.update(_After(self.last_block, self.pending, self.last_block_lines))

    def close(self) -> None:
        """Draw the last block and stop the live display."""
        if self.started:
            last = _After(self.last_block, self.pending, self.last_block_lines)
            self.live.update(last, refresh=True)
            self.live.stop()


class _After:
    """Markdown ``text`` as it renders after ``before`` in one document.

    The ``skip`` lines that ``before`` renders to are left out.
    """

    def __init__(self, before: str, text: str, skip: int) -> None:
        self.before = before
        self.text = text
        self.skip = skip

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.text:
            return
        lines = console.render_lines(Markdown(self.before + self.text), options, pad=False)
        for line in lines[self.skip :]:
            yield from line
            yield Segment.line()
