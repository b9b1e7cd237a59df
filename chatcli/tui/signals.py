"""SIGTERM and SIGHUP in the chat app: quit as Ctrl+Q does, the reply and the draft saved.

Without this, a closed SSH connection (SIGHUP) or a ``kill`` (SIGTERM) ended the process at
once: the streamed text since the last periodic save was lost, and the reply was only marked
interrupted on the next start.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

from chatcli.errors import exit_code_for_signal

if TYPE_CHECKING:
    from chatcli.tui.app import ChatApp

QUIT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def quit_on_signals(app: ChatApp) -> None:
    """From now on, SIGTERM or SIGHUP quits ``app`` cleanly with the shell's code (143, 129)."""
    loop = asyncio.get_running_loop()
    for signum in QUIT_SIGNALS:
        try:
            loop.add_signal_handler(signum, _quit, app, signum)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            return


def default_signals() -> None:
    """Give SIGTERM and SIGHUP back their default effect (the app is closing)."""
    loop = asyncio.get_running_loop()
    for signum in QUIT_SIGNALS:
        loop.remove_signal_handler(signum)


def _quit(app: ChatApp, signum: int) -> None:
    default_signals()  # a second signal ends the process at once
    app.run_worker(app.action_quit(exit_code_for_signal(signum)), group="signal-quit")
