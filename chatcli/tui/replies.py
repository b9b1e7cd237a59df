"""Running replies in the chat app: start one, stream it from a worker, finish it on screen.

The app owns one ``Replies``; sending, regenerating, editing and continuing all call ``start``.
A reply that fails takes back what it left: the views of messages never saved, the text and
files that were being sent, and a session made just for it. How the text reaches the screen
while the model writes is ``ReplyStream``'s part (replying.py).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from chatcli.core.events import ChatEvent
from chatcli.engine.base import PrefillProgress
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.prompt import PromptInput
from chatcli.tui.chat.transcript import Transcript
from chatcli.tui.replying import GIL_SWITCH_INTERVAL_S, ReplyEnded, ReplyStream, describe_failure

if TYPE_CHECKING:
    from chatcli.tui.app import ChatApp

ReplyEvents = Callable[[threading.Event], Iterator[ChatEvent]]
"""What a reply is: the chat core's events for it, given the switch that stops it."""


class Replies:
    """The reply streaming now (at most one) and how each one starts and ends."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app
        self._stream: ReplyStream | None = None
        self._created_for_send: str | None = None
        """The session made by the message being sent (deleted again if it is never saved)."""
        self._gil_interval = sys.getswitchinterval()

    @property
    def stream(self) -> ReplyStream | None:
        """The reply streaming now, if any."""
        return self._stream

    def _set_stream(self, stream: ReplyStream | None) -> None:
        """Start or end a reply; the footer's keys follow (Stop only while one streams)."""
        self._stream = stream
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S if stream else self._gil_interval)
        self.app.refresh_bindings()

    def restore_switch_interval(self) -> None:
        """Give Python's GIL switch interval back (the app is closing)."""
        sys.setswitchinterval(self._gil_interval)

    async def start(
        self,
        events: ReplyEvents,
        user_view: MessageView | None,
        failed_text: str = "",
        reply_view: MessageView | None = None,
        created_session: str | None = None,
    ) -> None:
        """Stream a reply produced by ``events(cancel)`` into a new message view.

        ``reply_view``: the view of a saved reply that goes on (a continued reply).
        ``created_session``: the id of a session made for this message, deleted if it fails.
        """
        app = self.app
        if reply_view is None:
            reply_view = await app.query_one(Transcript).add(MessageView(None, role="assistant"))
        stream = ReplyStream(app, user_view, reply_view, self._first_token, self._prefill)
        self._created_for_send = created_session
        self._set_stream(stream)
        await stream.start_draining()
        app.set_status(activity="processing prompt…")
        app.run_worker(
            partial(self._consume, stream, events, failed_text),
            thread=True,
            exclusive=True,
            group="reply",
        )

    def _consume(self, stream: ReplyStream, events: ReplyEvents, failed_text: str) -> None:
        """Run the reply in the worker thread, then tell the UI it ended."""
        try:
            stream.consume(events(stream.cancel))
        finally:
            self.app.post_message(ReplyEnded(stream, failed_text))

    def _prefill(self, progress: PrefillProgress) -> None:
        self.app.set_status(
            activity=f"processing prompt {progress.done:,}/{progress.total:,} tokens, "
            f"~{progress.eta_s:.0f} s left"
        )

    def _first_token(self) -> None:
        self.app.set_status(activity="generating… (Esc stops)")

    def stop(self) -> bool:
        """Stop the reply at its next token (its text so far is kept); False if none runs."""
        if self._stream is None:
            return False
        self._stream.cancel.set()
        return True

    async def finish(self, event: ReplyEnded) -> None:
        """Finish the reply on screen and show what it cost."""
        app, stream = self.app, event.stream
        await stream.stop_draining()
        self._set_stream(None)
        app.set_status(activity="")
        outcome = stream.outcome
        if outcome.error is not None:
            await self._failed(stream, describe_failure(outcome.error), event.failed_text)
            return
        if outcome.trimmed is not None:
            trimmed = outcome.trimmed
            await app.query_one(Transcript).mark_context_start(
                trimmed.dropped_messages, summarized=trimmed.summarized
            )
        for view in (stream.user_view, stream.reply_view):
            if view is not None:
                self._place_among_siblings(view)
        if outcome.finished is not None:
            usage = outcome.finished.usage
            app.set_status(
                tokens_per_s=usage.gen_tokens_per_s,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
            )
        if app.session is not None:
            app.sessions.count_context(app.session)  # what the next send starts from
        app.sessions.refresh_sidebar()

    def _place_among_siblings(self, view: MessageView) -> None:
        """Update a view's "2/3" branch position from the store."""
        if view.record is None or self.app.session is None:
            return
        view.sibling_index, view.sibling_count = self.app.core.sessions.position(view.record)
        view.refresh_header()

    async def _failed(self, stream: ReplyStream, message: str, failed_text: str) -> None:
        """Show the error; take back views of messages that were never saved.

        A session made just for this message (not one the user set up first) is deleted again
        if the message was never saved: no empty "(untitled)" session is left behind.
        """
        app = self.app
        app.notify(message, title="Reply failed", severity="error", timeout=8)
        if stream.reply_view.record is None:
            await stream.reply_view.remove()
        if stream.user_view is not None and stream.user_view.record is None:
            await stream.user_view.remove()
            app.query_one(PromptInput).restore(failed_text)
            await app.attaching.give_back()
        created, self._created_for_send = self._created_for_send, None
        session = app.session
        if session is None or session.id != created:
            return
        if app.core.sessions.discard_if_empty(session):
            app.session = None
            app.sessions.refresh_sidebar()
