"""Stopping a reply on a signal: Ctrl+C, a polite kill or the terminal going away.

The first signal asks the reply to stop at its next token (its text so far is saved, marked
interrupted); a second one aborts at once. ``ask`` and the line chat both stop this way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import typer

from chatcli.cli.errors import say
from chatcli.errors import EXIT_INTERRUPTED, exit_code_for_signal

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""Signals that stop a reply cleanly: Ctrl+C, a polite kill, the terminal going away."""


class StopRequest(threading.Event):
    """Set when a stop signal arrives during a reply; remembers which signal it was."""

    def __init__(self) -> None:
        super().__init__()
        self.signum: int | None = None

    def exit_code(self) -> int:
        """The exit code for a reply stopped this way: 130 for Ctrl+C, else 128 + signal."""
        if self.signum is None or self.signum == signal.SIGINT:
            return EXIT_INTERRUPTED
        return exit_code_for_signal(self.signum)

    def ends_the_process(self) -> bool:
        """Whether the stop came from outside (SIGTERM, SIGHUP): the process should end too."""
        return self.signum is not None and self.signum != signal.SIGINT


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Stop the reply on Ctrl+C, SIGTERM or SIGHUP: the first asks it to stop at the next token.

    The text so far is then saved, marked interrupted; a second signal aborts at once.
    """
    cancel = StopRequest()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if cancel.is_set():
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            say("interrupted")
            raise typer.Exit(exit_code_for_signal(signum))
        cancel.signum = signum
        cancel.set()

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    try:
        yield cancel
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
