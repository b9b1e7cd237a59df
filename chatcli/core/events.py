"""What a reply streams to its front end, besides the engine's own text and prefill events."""

from __future__ import annotations

from dataclasses import dataclass

from chatcli.core.budget import Budget
from chatcli.core.planning import Plan
from chatcli.engine.base import PrefillProgress, TextDelta, Usage
from chatcli.store.records import MessageRecord


@dataclass(frozen=True)
class ContextTrimmed:
    """Older messages were left out of the prompt so that it fits the context."""

    dropped_messages: int
    """Messages of the branch not sent (left out, or covered by the summary)."""
    prompt_tokens: int
    context_length: int
    summarized: bool = False
    """Whether a summary of the earlier messages is sent in their place."""


@dataclass(frozen=True)
class MessageSaved:
    """A message was written to the store: the user's, or the reply about to stream."""

    message: MessageRecord


@dataclass(frozen=True)
class ReplyFinished:
    """The reply is complete (or was stopped) and saved."""

    message: MessageRecord
    usage: Usage
    finish_reason: str
    plan: Plan

    @property
    def budget(self) -> Budget:
        """The token budget the prompt was built with."""
        return self.plan.budget


ChatEvent = ContextTrimmed | MessageSaved | PrefillProgress | TextDelta | ReplyFinished
