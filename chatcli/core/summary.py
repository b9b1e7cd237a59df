"""Summaries of turns that no longer fit, written by the model itself."""

from __future__ import annotations

from collections.abc import Sequence

from chatcli.engine.base import ChatMessage, Engine, TextDelta
from chatcli.engine.params import SamplingParams
from chatcli.store.records import MessageRecord, SummaryRecord

SUMMARY_TOKENS = 200
MAX_CUTS = 6
INSTRUCTION = (
    "Summarize the conversation above in at most five sentences. Keep the facts, names, "
    "numbers and decisions needed to continue it. Write only the summary."
)
SYSTEM = "You write short, faithful summaries of conversations."


def write_summary(
    engine: Engine,
    previous: SummaryRecord | None,
    records: Sequence[MessageRecord],
    context_length: int,
    seed: int | None,
) -> str:
    """A summary of ``previous`` (if any) followed by ``records``, by the model."""
    lines = [f"Earlier summary: {previous.content}"] if previous else []
    lines += [f"{m.role.capitalize()}: {m.content}" for m in records]
    transcript = "\n\n".join(lines)
    summary_tokens = min(SUMMARY_TOKENS, context_length // 4)
    messages = _fitting(engine, transcript, context_length - summary_tokens)
    params = SamplingParams(temperature=0.2, max_tokens=summary_tokens, seed=seed)
    pieces = [e.text for e in engine.stream(messages, params) if isinstance(e, TextDelta)]
    return "".join(pieces).strip() or transcript[:400]


def _fitting(engine: Engine, transcript: str, limit: int) -> list[ChatMessage]:
    """The summary request, with the transcript's middle cut until it fits ``limit`` tokens."""
    for _ in range(MAX_CUTS):
        messages = [
            ChatMessage("system", SYSTEM),
            ChatMessage("user", f"{transcript}\n\n{INSTRUCTION}"),
        ]
        tokens = engine.count_tokens(messages)
        if tokens <= limit:
            break
        keep = max(0, int(len(transcript) * limit / tokens * 0.9)) // 2
        transcript = f"{transcript[:keep]}\n[…]\n{transcript[len(transcript) - keep :]}"
    return messages
