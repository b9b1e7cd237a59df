"""Plain records the store reads and writes. No SQL here; the rest of chatcli uses these types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

MessageStatus = Literal["complete", "streaming", "interrupted", "error"]


@dataclass(frozen=True)
class SessionRecord:
    """A saved conversation."""

    id: str
    """Stable identifier (a short random hex string)."""
    name: str | None
    """Optional unique name the user gave it (``--session NAME``)."""
    title: str
    """Display title, from the first user message unless the user edited it."""
    created: float
    """Creation time, seconds since the epoch."""
    updated: float
    """Time of the last change, seconds since the epoch."""
    model: str
    """Model the session uses (catalog name or path)."""
    system_prompt: str
    """System prompt sent first on every turn ('' for none)."""
    role: str | None
    """Name of the role the system prompt came from, if any."""
    sampling: dict[str, Any] = field(default_factory=dict)
    """Sampling parameters saved with the session (SamplingParams.as_dict form)."""
    current_leaf: str | None = None
    """Id of the message at the tip of the branch being shown."""
    context_length: int | None = None
    """Context size chosen for this session (None = the settings' or the model's)."""
    overflow: str | None = None
    """Overflow policy chosen for this session (None = the configured one)."""


@dataclass(frozen=True)
class MessageRecord:
    """One message in a session's message tree."""

    id: str
    """Stable identifier."""
    session_id: str
    """Session the message belongs to."""
    parent_id: str | None
    """The message this one answers or follows (None for the first message)."""
    role: str
    """"user", "assistant" or "system"."""
    content: str
    """Text of the message (partial while streaming)."""
    created: float
    """Creation time, seconds since the epoch."""
    status: MessageStatus = "complete"
    """Whether the text is final, still streaming, cut short, or failed."""
    model: str | None = None
    """For replies: the model's display name."""
    model_sha256: str | None = None
    """For replies: digest of the model file."""
    sampling: dict[str, Any] | None = None
    """For replies: sampling parameters used."""
    usage: dict[str, Any] | None = None
    """For replies: token counts and timings."""
    finish_reason: str | None = None
    """For replies: "stop", "length", "interrupted" or "error"."""
    pinned: bool = False
    """Pinned messages are never dropped from the context."""


@dataclass(frozen=True)
class SummaryRecord:
    """A model-written summary of a session's messages up to one message (for the context)."""

    id: str
    session_id: str
    upto_message_id: str
    """The last message the summary covers; the messages after it are sent as they are."""
    content: str
    created: float


@dataclass(frozen=True)
class WindowRecord:
    """Where the sent part of a branch starts, remembered once the branch outgrew its context."""

    id: str
    session_id: str
    start_message_id: str
    """The oldest unpinned message still sent; unpinned messages before it are left out."""
    context_length: int
    """The context size the window was chosen for (another size plans afresh)."""
    created: float
