"""Streaming one reply into the transcript from a worker thread.

The worker pushes text into a TokenBuffer; a UI timer drains it into the reply's view every
DRAIN_INTERVAL_S, or less often when drawing costs more than UI_CPU_SHARE of a core (the model
needs the cores: on a 2-core laptop each frame of a scrolling transcript costs ~20 ms). Rare
events (a message saved, the end of the reply, an error) are passed with ``call_from_thread``;
per-token calls would block the generating thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from textual.app import App
from textual.message import Message
from textual.timer import Timer

from chatcli.core.events import ChatEvent, ContextTrimmed, MessageSaved, ReplyFinished
from chatcli.engine.base import PrefillProgress, TextDelta
from chatcli.errors import ChatcliError, ContextOverflowError
from chatcli.tui.chat.buffer import TokenBuffer
from chatcli.tui.chat.message import MessageView

DRAIN_INTERVAL_S = 0.1
"""The shortest time between two drains."""
MAX_DRAIN_INTERVAL_S = 0.25
"""The longest, however slow the terminal is to draw."""
UI_CPU_SHARE = 0.15
"""The share of a core the UI thread may spend on drawing a streaming reply."""
GIL_SWITCH_INTERVAL_S = 0.0005
"""How long the UI thread may hold the GIL while the model's threads want it (default 5 ms).

Each token passes between the engine's thread and the reply worker; with Python's default
interval every pass could wait out a frame being drawn (measured: TUI / ask 0.77 -> 0.99)."""


def next_drain_interval(ui_cpu_s: float) -> float:
    """Wait long enough that the UI's CPU since the last drain stays within UI_CPU_SHARE."""
    return min(MAX_DRAIN_INTERVAL_S, max(DRAIN_INTERVAL_S, ui_cpu_s / UI_CPU_SHARE))


CONTEXT_HINT = "; press Ctrl+O to choose a larger context, or shorten the message"


def describe_failure(error: ChatcliError) -> str:
    """The one-line message the chat app shows for a failed reply."""
    hint = CONTEXT_HINT if isinstance(error, ContextOverflowError) else ""
    return f"{error.message}{hint}"


@dataclass
class ReplyOutcome:
    """How a reply ended: finished normally or stopped, or failed with an error."""

    finished: ReplyFinished | None = None
    error: ChatcliError | None = None
    trimmed: ContextTrimmed | None = None


class ReplyStream:
    """One reply in flight: its views, its buffer and its cancel switch."""

    def __init__(
        self,
        app: App[Any],
        user_view: MessageView | None,
        reply_view: MessageView,
        on_first_token: Callable[[], None],
        on_progress: Callable[[PrefillProgress], None] = lambda _progress: None,
    ) -> None:
        self.app = app
        self.user_view = user_view
        self.reply_view = reply_view
        self.cancel = threading.Event()
        self.buffer = TokenBuffer()
        self.outcome = ReplyOutcome()
        self._on_first_token = on_first_token
        self._on_progress = on_progress
        self._first_token = threading.Event()
        self._timer: Timer | None = None
        # The timer runs drain() in its own task and stopping it cancels that task: the lock
        # keeps the final render from interleaving with (or cancelling) a drain half done.
        self._view_lock = asyncio.Lock()
        self._ending = False
        self._ui_cpu_mark = 0.0

    async def start_draining(self) -> None:
        """Begin moving buffered text onto the screen (UI thread)."""
        await self.reply_view.start_stream()
        self._ui_cpu_mark = time.thread_time()
        self._timer = self.app.set_timer(DRAIN_INTERVAL_S, self.drain)

    async def drain(self) -> None:
        """Move what the worker produced since the last call into the reply (UI thread)."""
        if self._ending:
            return
        async with self._view_lock:
            await self._move_buffered_text()
        if not self._ending:
            # thread_time() here is the UI thread's: the frames drawn since the last drain.
            now = time.thread_time()
            delay = next_drain_interval(now - self._ui_cpu_mark)
            self._ui_cpu_mark = now
            self._timer = self.app.set_timer(delay, self.drain)

    async def _move_buffered_text(self) -> None:
        text = self.buffer.take()
        if text:
            await self.reply_view.append(text)

    async def stop_draining(self) -> None:
        """Show the last text and render the finished reply once in full (UI thread)."""
        self._ending = True
        async with self._view_lock:
            if self._timer is not None:
                self._timer.stop()
            await self._move_buffered_text()
            finished = self.outcome.finished
            await self.reply_view.finish(finished.message if finished else None)

    def consume(self, events: Iterator[ChatEvent]) -> None:
        """Run the reply to its end (worker thread); never raises a ChatcliError."""
        try:
            for event in events:
                if isinstance(event, TextDelta):
                    if not self._first_token.is_set():
                        self._first_token.set()
                        self.app.call_from_thread(self._on_first_token)
                    self.buffer.push(event.text)
                elif isinstance(event, MessageSaved):
                    self.app.call_from_thread(self._attach, event)
                elif isinstance(event, PrefillProgress):  # one per 256 prompt tokens
                    self.app.call_from_thread(self._on_progress, event)
                elif isinstance(event, ContextTrimmed):
                    self.outcome.trimmed = event
                elif isinstance(event, ReplyFinished):
                    self.outcome.finished = event
        except ChatcliError as error:
            self.outcome.error = error

    def _attach(self, event: MessageSaved) -> None:
        view = self.reply_view if event.message.role == "assistant" else self.user_view
        if view is not None:
            view.record = event.message
            view.refresh_header()


@dataclass
class ReplyEnded(Message):
    """The worker has finished a reply (posted from the worker thread)."""

    stream: ReplyStream
    failed_text: str
