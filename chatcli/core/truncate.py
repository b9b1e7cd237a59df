"""Cutting piped-in material down to what fits (``ask --truncate-input``).

The middle of the material goes: the start (titles, headers, the question's setting) and the
end (the latest log lines) are usually what matters. The instruction is never cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatcli.core.chat import ChatCore, compose_user_text
from chatcli.engine.base import ChatMessage, SamplingParams
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
    head = material[: keep // 2]
    tail = material[len(material) - keep // 2 :] if keep > 1 else ""
    cut = len(material) - len(head) - len(tail)
    marker = f"\n[… {cut:,} characters cut to fit the context …]\n"
    return compose_user_text(head + marker + tail, instruction), cut
