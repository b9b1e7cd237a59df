"""Deciding what a reply's prompt holds: system prompt, summary, pinned and recent turns.

Policies when the history outgrows the context (per session, else from config):
- ``drop-oldest``: leave out the oldest whole turns (in one large step);
- ``summarize``: the model writes a short summary of the turns that must go; it is saved, sent
  inside the system prompt from then on, and extended when more turns must go;
- ``error``: refuse, with the token counts.
Nothing is ever deleted from the store: this only chooses what is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatcli.config import Settings
from chatcli.core.budget import Budget, Turn, fit_to_context
from chatcli.core.summary import write_summary
from chatcli.engine.base import ChatMessage, Engine, SamplingParams
from chatcli.store.records import MessageRecord, SessionRecord, SummaryRecord
from chatcli.store.store import Store


@dataclass(frozen=True)
class Plan:
    """The messages to send and what happened to the rest."""

    budget: Budget
    hidden_messages: int
    """Messages of the branch that are not sent (dropped or covered by the summary)."""
    summary: SummaryRecord | None = None
    """The summary sent in the system prompt, if any."""


@dataclass(frozen=True)
class Planner:
    """Plans prompts for one engine, store and settings."""

    engine: Engine
    store: Store
    settings: Settings
    context_length: int

    def plan(
        self,
        session: SessionRecord,
        user_text: str,
        params: SamplingParams,
        *,
        parent_id: str | None,
        may_summarize: bool = False,
    ) -> Plan:
        """Fit ``user_text`` after ``parent_id``; summarize first if allowed and needed."""
        policy = session.overflow or self.settings.overflow
        history = self._history(session, parent_id)
        summary = self._summary(session, history) if policy == "summarize" else None
        covered, recent = _split_at(history, summary)
        pinned_before = turns_of(covered, only_pinned=True)  # still sent beside the summary
        budget = fit_to_context(
            _system(session.system_prompt, summary),
            [*pinned_before, *turns_of(recent)],
            ChatMessage("user", user_text),
            count_tokens=self.engine.count_tokens,
            context_length=self.context_length,
            max_tokens=params.max_tokens,
            policy="error" if policy == "error" else "drop-oldest",
        )
        still_sent = sum(len(turn.messages) for turn in pinned_before)
        plan = Plan(budget, len(covered) - still_sent + budget.dropped_messages, summary)
        if policy != "summarize" or not budget.dropped_messages or not may_summarize:
            return plan
        gone = _dropped_records(recent, budget.dropped_messages)
        text = write_summary(self.engine, summary, gone, self.context_length, params.seed)
        self.store.summaries.add(session.id, gone[-1].id, text)
        return self.plan(session, user_text, params, parent_id=parent_id)

    def _history(self, session: SessionRecord, parent_id: str | None) -> list[MessageRecord]:
        branch = self.store.branch(session.id, parent_id) if parent_id else []
        return sendable(branch)

    def _summary(
        self, session: SessionRecord, history: list[MessageRecord]
    ) -> SummaryRecord | None:
        return self.store.summaries.latest_on_branch(session.id, [m.id for m in history])


SUMMARY_HEADING = "Summary of the earlier conversation (those messages are not shown):"


def _system(prompt: str, summary: SummaryRecord | None) -> ChatMessage | None:
    text = prompt
    if summary is not None:
        text = f"{prompt}\n\n{SUMMARY_HEADING}\n{summary.content}".strip()
    return ChatMessage("system", text) if text else None


def _split_at(
    history: list[MessageRecord], summary: SummaryRecord | None
) -> tuple[list[MessageRecord], list[MessageRecord]]:
    """(messages the summary covers, messages after it)."""
    if summary is None:
        return [], history
    cut = next(i for i, m in enumerate(history) if m.id == summary.upto_message_id) + 1
    return history[:cut], history[cut:]


def _record_turns(records: Sequence[MessageRecord]) -> list[list[MessageRecord]]:
    turns: list[list[MessageRecord]] = []
    for record in records:
        if record.role == "user" or not turns:
            turns.append([])
        turns[-1].append(record)
    return turns


def sendable(records: Sequence[MessageRecord]) -> list[MessageRecord]:
    """The messages of a branch that go to the model: non-empty user and assistant turns."""
    return [m for m in records if m.role in ("user", "assistant") and m.content]


def turns_of(records: Sequence[MessageRecord], only_pinned: bool = False) -> list[Turn]:
    """Messages grouped into turns (each starting at a user message), pinned if any part is."""
    turns = []
    for group in _record_turns(records):
        pinned = any(m.pinned for m in group)
        if pinned or not only_pinned:
            messages = tuple(ChatMessage(m.role, m.content) for m in group)  # type: ignore[arg-type]
            turns.append(Turn(messages, pinned))
    return turns


def _dropped_records(recent: list[MessageRecord], count: int) -> list[MessageRecord]:
    """The oldest unpinned turns of ``recent`` holding ``count`` messages (what was dropped)."""
    gone: list[MessageRecord] = []
    for group in _record_turns(recent):
        if len(gone) >= count:
            break
        if not any(m.pinned for m in group):
            gone.extend(group)
    return gone
