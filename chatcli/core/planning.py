"""Deciding what a reply's prompt holds: system prompt, summary, pinned and recent turns.

Policies when the history outgrows the context (per session, else from config):
- ``drop-oldest``: leave out the oldest whole turns (in one large step);
- ``summarize``: the model writes a short summary of the turns that must go; it is saved, sent
  inside the system prompt from then on, and extended when more turns must go;
- ``error``: refuse, with the token counts.
Nothing is ever deleted from the store: this only chooses what is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chatcli.config import Settings
from chatcli.core.attachments import Attachment, digests_of, sent_text, with_attachments
from chatcli.core.budget import Budget, Turn, fit_to_context
from chatcli.core.summary import write_summary
from chatcli.engine.base import ChatMessage, Engine
from chatcli.engine.params import SamplingParams
from chatcli.store.records import MessageRecord, SessionRecord, SummaryRecord
from chatcli.store.store import Store

FIRST_TAIL_READ = 256
"""Newest messages read first when counting what the next prompt starts from."""


@dataclass(frozen=True)
class Plan:
    """The messages to send and what happened to the rest."""

    budget: Budget
    hidden_messages: int
    """Messages of the branch that are not sent (dropped or covered by the summary)."""
    summary: SummaryRecord | None = None
    """The summary sent in the system prompt, if any."""
    window_moved: bool = False
    """Whether the prompt now starts later than the remembered window: remember the new start."""
    window_start_id: str | None = None
    """With ``window_moved``: the oldest unpinned message sent (None: the new message itself)."""


@dataclass(frozen=True)
class Planner:
    """Plans prompts for one engine, store and settings."""

    engine: Engine
    store: Store
    settings: Settings
    context_length: int

    def _count_margin(self) -> int:
        """Tokens kept spare when the engine only estimates counts (0 for exact counts)."""
        capabilities = self.engine.load().capabilities
        if capabilities.exact_token_count:
            return 0
        return int(self.context_length * capabilities.count_margin)

    def plan(
        self,
        session: SessionRecord,
        user_text: str,
        params: SamplingParams,
        *,
        parent_id: str | None,
        may_summarize: bool = False,
        attachments: Sequence[Attachment] = (),
    ) -> Plan:
        """Fit ``user_text`` after ``parent_id``; summarize first if allowed and needed.

        The files in ``attachments`` go before the text, in the same user message.
        """
        policy = session.overflow or self.settings.overflow
        history = self._history(session, parent_id)
        texts = self.store.attachments.texts(digests_of(history))
        summary = self._summary(session, history) if policy == "summarize" else None
        covered, recent = _split_at(history, summary)
        pinned_before = turns_of(covered, texts, only_pinned=True)  # sent beside the summary
        groups = record_turns(recent)
        window_drops = self.remembered_drops(session, groups) if policy == "drop-oldest" else 0
        budget = fit_to_context(
            _system(session.system_prompt, summary),
            [*pinned_before, *turns_of(recent, texts)],
            ChatMessage("user", with_attachments(user_text, attachments)),
            count_tokens=self.engine.count_tokens,
            context_length=self.context_length,
            max_tokens=params.max_tokens,
            policy="error" if policy == "error" else "drop-oldest",
            already_dropped=window_drops,
            margin=self._count_margin(),
        )
        still_sent = sum(len(turn.messages) for turn in pinned_before)
        moved = policy == "drop-oldest" and budget.dropped_turns > window_drops
        plan = Plan(
            budget,
            len(covered) - still_sent + budget.dropped_messages,
            summary,
            window_moved=moved,
            window_start_id=_first_kept(groups, budget.dropped_turns) if moved else None,
        )
        if policy != "summarize" or not budget.dropped_messages or not may_summarize:
            return plan
        gone = _dropped_records(recent, budget.dropped_messages)
        text = write_summary(self.engine, summary, gone, self.context_length, params.seed)
        self.store.summaries.add(session.id, gone[-1].id, text)
        return self.plan(session, user_text, params, parent_id=parent_id, attachments=attachments)

    def count_before_next(self, session: SessionRecord) -> int:
        """Exact tokens of what the next prompt holds before the new message.

        That is the system prompt and the current branch from its remembered window start
        (pinned messages before the start are still sent). The branch is read newest first,
        in growing tails, so a long session is not read whole to fill a meter: reading stops
        once the tail holds the window start (in a session that pins nothing), or once the
        tail alone is over the context length. The figure is then that tail's: over the
        context, short of the whole branch, as the next send drops turns anyway.
        """
        last = FIRST_TAIL_READ
        while True:
            tail, earlier = self.store.tree.branch_tail(session.id, last)
            count, window_in_tail = self._count_sent(session, [m for m, _, _ in tail])
            if not earlier or count > self.context_length:
                return count
            if window_in_tail and not self.store.tree.has_pinned(session.id):
                return count
            last *= 4

    def _count_sent(
        self, session: SessionRecord, branch: Sequence[MessageRecord]
    ) -> tuple[int, bool]:
        """Tokens of the system prompt and ``branch`` from its window start; whether it has one."""
        messages = [ChatMessage("system", session.system_prompt)] if session.system_prompt else []
        groups = record_turns(sendable(branch))
        drops, found = self._remembered_window(session, groups)
        texts = self.store.attachments.texts(digests_of(m for group in groups for m in group))
        for group in groups:
            pinned = any(m.pinned for m in group)
            if drops and not pinned:
                drops -= 1
                continue
            messages += [ChatMessage(m.role, sent_text(m, texts)) for m in group]  # type: ignore[arg-type]
        return self.engine.count_tokens(messages), found

    def remembered_drops(
        self, session: SessionRecord, groups: Sequence[Sequence[MessageRecord]]
    ) -> int:
        """How many unpinned turns lie before the branch's remembered window start."""
        return self._remembered_window(session, groups)[0]

    def _remembered_window(
        self, session: SessionRecord, groups: Sequence[Sequence[MessageRecord]]
    ) -> tuple[int, bool]:
        """(unpinned turns before the remembered window start, whether ``groups`` hold it)."""
        ids = [m.id for group in groups for m in group]
        window = self.store.windows.latest_on_branch(session.id, ids, self.context_length)
        if window is None:
            return 0, False
        drops = 0
        for group in groups:
            if any(m.id == window.start_message_id for m in group):
                return drops, True
            drops += not any(m.pinned for m in group)
        return 0, False

    def _history(self, session: SessionRecord, parent_id: str | None) -> list[MessageRecord]:
        branch = self.store.tree.branch(session.id, parent_id) if parent_id else []
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


def record_turns(records: Sequence[MessageRecord]) -> list[list[MessageRecord]]:
    """Messages grouped into turns, each starting at a user message."""
    turns: list[list[MessageRecord]] = []
    for record in records:
        if record.role == "user" or not turns:
            turns.append([])
        turns[-1].append(record)
    return turns


def sendable(records: Sequence[MessageRecord]) -> list[MessageRecord]:
    """The messages of a branch that go to the model: non-empty user and assistant turns."""
    return [m for m in records if m.role in ("user", "assistant") and (m.content or m.attachments)]


def turns_of(
    records: Sequence[MessageRecord], texts: Mapping[str, str], only_pinned: bool = False
) -> list[Turn]:
    """Messages grouped into turns (each starting at a user message), pinned if any part is.

    ``texts`` holds the attachments' texts by digest (each message is sent with its files).
    """
    turns = []
    for group in record_turns(records):
        pinned = any(m.pinned for m in group)
        if pinned or not only_pinned:
            messages = tuple(ChatMessage(m.role, sent_text(m, texts)) for m in group)  # type: ignore[arg-type]
            turns.append(Turn(messages, pinned))
    return turns


def _first_kept(groups: Sequence[Sequence[MessageRecord]], dropped_turns: int) -> str | None:
    """The first message of the oldest unpinned turn kept after dropping ``dropped_turns``."""
    unpinned = [group for group in groups if not any(m.pinned for m in group)]
    return unpinned[dropped_turns][0].id if dropped_turns < len(unpinned) else None


def _dropped_records(recent: list[MessageRecord], count: int) -> list[MessageRecord]:
    """The oldest unpinned turns of ``recent`` holding ``count`` messages (what was dropped)."""
    gone: list[MessageRecord] = []
    for group in record_turns(recent):
        if len(gone) >= count:
            break
        if not any(m.pinned for m in group):
            gone.extend(group)
    return gone
