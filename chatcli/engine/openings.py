"""Openings: the KV state of a prompt's start (the system prompt, up to the first user words).

Every new conversation with the same system prompt begins with the same tokens: SmolLM2's
default is 21 of a one-line question's 28, and evaluating them took ~80 ms of the ~0.45 s to
the first answer byte here. A prompt evaluated from an empty context therefore
goes in two pieces, its opening and the rest; the state after the opening (~23 KB a token) is
kept on disk beside the KV snapshots, and the next prompt that begins with the same tokens
restores it (~1 ms) instead of evaluating it.

Both pieces are always split at the same place, so a restored opening holds the same bits as
an evaluated one (a snapshot restores a state bit for bit): the reply is the same text either
way, and its replay record says "the opening, then the rest, from an empty context" in both.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from chatcli.engine.base import ChatMessage
from chatcli.engine.elastic import sequence_state
from chatcli.engine.generation import Generation, truncate
from chatcli.engine.kvcache import Snapshot, SnapshotStore, common_prefix
from chatcli.engine.snapshots import load_sequence_state

if TYPE_CHECKING:
    from chatcli.engine.llama import LlamaEngine

log = logging.getLogger("chatcli.kvcache")

SHORTEST = 8
"""Openings shorter than this are not worth a piece of their own."""
_PROBES = ("a", "b")
"""Two first user messages that differ in their first character."""


class Prompter(Protocol):
    """What finding an opening needs of an engine: its chat template."""

    def render_conversation(self, messages: Sequence[ChatMessage]) -> str:
        """``messages`` in the chat template, then where a reply would begin."""
        ...


def opening_text(engine: Prompter, messages: Sequence[ChatMessage], prompt: str) -> str:
    """The start of ``prompt`` that does not depend on the conversation ("": none).

    That is what the chat template writes before the first user message's text: the messages
    before it are rendered with two probe messages, whose texts agree up to where the user's
    text begins. A template that puts something variable there (a date, say) makes the prompt
    disagree, and there is no opening.
    """
    head = []
    for message in messages:
        if message.role == "user":
            break
        head.append(message)
    else:
        return ""
    first, second = (
        engine.render_conversation([*head, ChatMessage("user", probe)]) for probe in _PROBES
    )
    start = os.path.commonprefix([first, second])  # noqa: RUF071 (strings, not paths)
    return start if prompt.startswith(start) else ""


def opening_length(opening: Sequence[int], prompt_tokens: Sequence[int]) -> int:
    """How many of ``prompt_tokens`` the opening covers (0: too short to be worth a piece).

    The opening's last token may merge with the user's first characters in the prompt; the
    tokens they share are what counts.
    """
    # Something must follow it: the reply's logits come from the rest of the prompt.
    shared = min(common_prefix(opening, prompt_tokens), len(prompt_tokens) - 1)
    return shared if shared >= SHORTEST else 0


def begin_with_opening(
    engine: LlamaEngine,
    store: SnapshotStore | None,
    run: Generation,
    opening: Sequence[int],
    *,
    keep: bool,
) -> None:
    """Start ``run``'s prompt from its opening unless the context already holds that much.

    The opening is restored if ``store`` kept it, else evaluated from an empty context as a
    piece of its own (and, with ``keep``, its state written to ``store``). With or without a
    store, a prompt from an empty context is split the same way: the same bits, the same text.
    """
    length = opening_length(opening, run.prompt)
    llama = engine.llama
    # Only the first ``length`` cells matter: comparing the whole context costs ms a turn.
    held = llama.n_tokens >= length and llama.input_ids[:length].tolist() == run.prompt[:length]
    if not length or held:
        return
    found = find_opening(store, run.prompt, length) if store is not None else None
    if store is not None and found is not None and restore_opening(engine, store, found):
        return
    truncate(llama, 0)
    engine.set_context_memo("", [])
    engine.lineage.reset()
    run.opening = length
    if keep and store is not None:
        run.opening_done = lambda: save_opening(engine, store)


def find_opening(
    store: SnapshotStore, prompt_tokens: Sequence[int], length: int
) -> Snapshot | None:
    """The kept opening of exactly the first ``length`` tokens of the prompt, or None."""
    wanted = list(prompt_tokens[:length])
    for snapshot in store.snapshots():
        if snapshot.kv_tokens == wanted:
            return snapshot
    return None


def restore_opening(engine: LlamaEngine, store: SnapshotStore, snapshot: Snapshot) -> bool:
    """Empty the context and load ``snapshot`` into it; False (context empty) if that fails."""
    llama = engine.llama
    engine.make_room(len(snapshot.kv_tokens) + 1)
    truncate(llama, 0)
    engine.set_context_memo("", [])
    engine.lineage.reset()
    data = store.read(snapshot)
    try:
        loaded = data is not None and load_sequence_state(llama, data, snapshot.kv_tokens)
    except (ValueError, TypeError, OverflowError):  # it does not fit this context: a miss
        loaded = False
    if not loaded:
        truncate(llama, 0)
        log.debug("opening %s not restored", snapshot.data_path)
        return False
    engine.lineage.opened(len(snapshot.kv_tokens))
    log.debug("restored an opening of %d tokens", len(snapshot.kv_tokens))
    return True


def save_opening(engine: LlamaEngine, store: SnapshotStore) -> None:
    """Write the context's state (it holds just an opening) in the background."""
    llama = engine.llama
    data = sequence_state(llama)
    if data:
        kv_tokens = [int(token) for token in llama.input_ids[: llama.n_tokens]]
        store.save_in_background(data, kv_tokens, None, [])
