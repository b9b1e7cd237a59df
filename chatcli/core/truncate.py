"""Cutting piped-in material down to what fits (``ask --truncate-input``).

The middle of the material goes: the start (titles, headers, the question's setting) and the
end (the latest log lines) are usually what matters. The instruction is never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from chatcli.core.attachments import Attachment
from chatcli.core.chat import ChatCore, compose_user_text
from chatcli.engine.base import ChatMessage
from chatcli.engine.params import SamplingParams
from chatcli.errors import ContextOverflowError
from chatcli.store.records import SessionRecord

MAX_ATTEMPTS = 8
SAFETY = 0.95


@dataclass(frozen=True)
class Truncated:
    """The user message that fits, and how much of the material was cut."""

    text: str
    cut_chars: int
    original_tokens: int


def truncate_to_fit(
    core: ChatCore,
    session: SessionRecord,
    material: str,
    instruction: str | None,
    params: SamplingParams,
) -> Truncated:
    """The user message with the middle of ``material`` cut so that the prompt fits."""
    parent = core.store.get_session(session.id).current_leaf
    full = compose_user_text(material, instruction)
    try:
        core.plan(session, full, params, parent_id=parent)
        return Truncated(full, 0, 0)
    except ContextOverflowError:
        pass
    without = core.plan(session, compose_user_text("", instruction), params, parent_id=parent)
    room = (
        core.info.context_length - without.budget.reserved_for_reply - without.budget.prompt_tokens
    )
    material_tokens = core.engine.count_tokens([ChatMessage("user", material)])
    keep = len(material) * max(room, 0) / max(material_tokens, 1) * SAFETY
    for _ in range(MAX_ATTEMPTS):
        text, cut = _cut_middle(material, int(keep), instruction)
        try:
            core.plan(session, text, params, parent_id=parent)
            return Truncated(text, cut, material_tokens)
        except ContextOverflowError:
            keep *= 0.85
    raise ContextOverflowError("the input cannot be cut down to fit the context")


def _cut_middle(material: str, keep: int, instruction: str | None) -> tuple[str, int]:
    text, cut = cut_middle(material, keep)
    return compose_user_text(text, instruction), cut


def cut_middle(text: str, keep: int) -> tuple[str, int]:
    """``text`` with its middle replaced by a marker so that ``keep`` characters stay."""
    head = text[: keep // 2]
    tail = text[len(text) - keep // 2 :] if keep > 1 else ""
    cut = len(text) - len(head) - len(tail)
    return f"{head}\n[… {cut:,} characters cut to fit the context …]\n{tail}", cut


@dataclass(frozen=True)
class TrimmedFiles:
    """The attachments cut to fit, and how many characters went from each."""

    attachments: list[Attachment]
    cut_chars: list[int]


def fair_shares(sizes: Sequence[int], room: int) -> list[int]:
    """Split ``room`` tokens among items of ``sizes`` tokens: small ones whole, the rest equal.

    Water-filling: no item gets more than it has, and no item is cut while a smaller one is
    cut more.
    """
    shares = [0] * len(sizes)
    left, waiting = max(room, 0), sorted(range(len(sizes)), key=lambda i: sizes[i])
    while waiting:
        share = left // len(waiting)
        index = waiting[0]
        if sizes[index] > share:
            for rest in waiting:
                shares[rest] = share
            break
        shares[index] = sizes[index]
        left -= sizes[index]
        waiting.pop(0)
    return shares


def truncate_attachments(
    core: ChatCore,
    session: SessionRecord,
    instruction: str,
    attachments: Sequence[Attachment],
    params: SamplingParams,
) -> TrimmedFiles:
    """The attachments with their middles cut, fairly, so that the prompt fits."""
    parent = core.store.get_session(session.id).current_leaf
    counted = core.count_attachments(attachments)
    try:
        core.plan(session, instruction, params, parent_id=parent, attachments=counted)
        return TrimmedFiles(counted, [0] * len(counted))
    except ContextOverflowError:
        pass
    frames = core.count_attachments([replace(a, text="") for a in counted])
    without = core.plan(session, instruction, params, parent_id=parent, attachments=frames)
    budget = without.budget
    room = int(
        (core.info.context_length - budget.reserved_for_reply - budget.prompt_tokens) * SAFETY
    )
    sizes = [
        max((a.tokens or 0) - (f.tokens or 0), 1) for a, f in zip(counted, frames, strict=True)
    ]
    for _ in range(MAX_ATTEMPTS):
        shares = fair_shares(sizes, room)
        cut = [
            _cut_file(a, size, share) for a, size, share in zip(counted, sizes, shares, strict=True)
        ]
        trimmed = core.count_attachments([a for a, _ in cut])
        try:
            core.plan(session, instruction, params, parent_id=parent, attachments=trimmed)
            return TrimmedFiles(trimmed, [chars for _, chars in cut])
        except ContextOverflowError:
            room = int(room * 0.85)
    raise ContextOverflowError("the attachments cannot be cut down to fit the context")


def _cut_file(attachment: Attachment, tokens: int, share: int) -> tuple[Attachment, int]:
    """The attachment cut to about ``share`` of its ``tokens``, and the characters cut."""
    if share >= tokens:
        return attachment, 0
    text, cut = cut_middle(attachment.text, int(len(attachment.text) * share / tokens))
    return replace(attachment, text=text, tokens=None), cut
