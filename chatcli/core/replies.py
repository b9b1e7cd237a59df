"""Saving a reply while it streams, and what may be continued.

The reply is written at most every SAVE_INTERVAL_S while it streams (so a crash or Ctrl+C
keeps the partial text, marked interrupted) and finalised with usage and timing.
"""

from __future__ import annotations

import time

from chatcli.engine.base import ReplyDone
from chatcli.errors import UsageError
from chatcli.store.records import MessageRecord, MessageStatus
from chatcli.store.store import Store

SAVE_INTERVAL_S = 0.25
"""How often a streaming reply's text is written to the store."""


def check_continuable(reply: MessageRecord, engine_can: bool) -> None:
    """Refuse, in the user's words, a reply that cannot be continued."""
    if reply.role != "assistant":
        raise UsageError("only a reply can be continued")
    if reply.finish_reason not in ("length", "interrupted"):
        raise UsageError("that reply ended on its own; ask a new question to go on")
    if not engine_can:
        raise UsageError("this model's backend cannot continue a reply")


class ReplyWriter:
    """Saves a streaming reply: at most every SAVE_INTERVAL_S while streaming, then at the end.

    A continued reply starts from its saved text, and its usage counts both parts.
    """

    def __init__(self, store: Store, reply: MessageRecord) -> None:
        self.store = store
        self.message_id = reply.id
        self.parts: list[str] = [reply.content] if reply.content else []
        self.first_text = reply.content
        self.earlier_tokens = int((reply.usage or {}).get("completion_tokens", 0))
        self.last_save = time.monotonic()
        self.finished = False

    def append(self, text: str) -> None:
        """Add streamed text; save it if the last save is SAVE_INTERVAL_S old."""
        self.parts.append(text)
        now = time.monotonic()
        if now - self.last_save >= SAVE_INTERVAL_S:
            self.store.update_message(self.message_id, content="".join(self.parts))
            self.last_save = now

    def finish(self, done: ReplyDone) -> MessageRecord:
        """Save the whole reply with why it ended and what it cost; return it as saved."""
        status: MessageStatus = "interrupted" if done.finish_reason == "interrupted" else "complete"
        usage = {
            "prompt_tokens": done.usage.prompt_tokens,
            "cached_prompt_tokens": done.usage.cached_prompt_tokens,
            "completion_tokens": done.usage.completion_tokens + self.earlier_tokens,
            "ttft_s": round(done.usage.ttft_s, 4),
            "total_s": round(done.usage.total_s, 4),
            "gen_tokens_per_s": round(done.usage.gen_tokens_per_s, 2),
            "seed": done.usage.seed,
        }
        # A continued reply went through the model in two runs; only one would be recorded.
        evaluation = done.evaluation if done.evaluation and not self.first_text else None
        self.store.update_message(
            self.message_id,
            content="".join(self.parts),
            status=status,
            usage=usage,
            finish_reason=done.finish_reason,
            evaluation=evaluation.to_dict() if evaluation else None,
        )
        self.finished = True
        return self.store.get_message(self.message_id)

    def fail(self) -> None:
        """The engine failed: a reply with no text is marked failed; a partial one interrupted."""
        if self.parts and "".join(self.parts) != self.first_text:
            return  # close_if_unfinished keeps the text received, marked interrupted
        self.store.update_message(
            self.message_id, content="".join(self.parts), status="error", finish_reason="error"
        )
        self.finished = True

    def close_if_unfinished(self) -> None:
        """Keep the partial text when the stream was abandoned (Ctrl+C, crash, quit)."""
        if not self.finished:
            self.store.update_message(
                self.message_id,
                content="".join(self.parts),
                status="interrupted",
                finish_reason="interrupted",
            )
