"""Context shift: drop old turns from the KV cache in place instead of re-processing the rest.

When the planner drops the oldest turns of a long chat, the new prompt is the cached one with
a stretch removed after the system prompt. Rather than evaluating everything after that
stretch again (seconds at a few thousand tokens), the stretch's cells are removed from the
sequence and the positions of the cells after it are moved down (llama.cpp re-rotates their
keys), as llama-server's context shift does. The kept cells were computed while the dropped
turns were still in view, so the state is close to, not equal to, a re-processed one:
``benchmarks/bench_kv_shift.py`` measures the difference.

The plan works on text, not token ids: a removal is only planned where the cached text, less
the removed stretch, is exactly the start of the new prompt, and both ends of the stretch fall
on token boundaries. Anything else is no shift, and the prompt is processed as before.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any

import llama_cpp

if TYPE_CHECKING:
    from chatcli.engine.llama import LlamaEngine

log = logging.getLogger("chatcli.kvcache")

PROBE_BYTES = 32
"""Bytes of the new prompt used to find where the kept text starts in the cached text."""


@dataclass(frozen=True)
class Shift:
    """Remove token positions ``start`` to ``end`` (exclusive) and move the rest down."""

    start: int
    end: int
    kept_text: str
    """The cached text without the removed stretch: the start of the new prompt."""

    @property
    def removed(self) -> int:
        """How many token positions the shift removes."""
        return self.end - self.start


def plan_shift(
    cached_text: str, pieces: Sequence[bytes], prompt_text: str, keep_first: int = 1
) -> Shift | None:
    """The shift that turns the cached tokens into the start of ``prompt_text``, if any.

    ``pieces`` are the cached tokens' bytes (special tokens written out); they must spell
    ``cached_text`` exactly. At least ``keep_first`` tokens at the start are kept (the
    system prompt, where attention concentrates). Returns None when the new prompt simply
    continues the cached text, or when no removal gives its start.
    """
    old, new = cached_text.encode(), prompt_text.encode()
    if not pieces or b"".join(pieces) != old or new.startswith(old):
        return None
    starts = [0, *accumulate(len(piece) for piece in pieces)]
    keep_until = starts[bisect_right(starts, _common_prefix(old, new)) - 1]
    first_removed = starts.index(keep_until)
    if first_removed < keep_first:
        return None
    first_kept = _first_matching_tail(old, new[keep_until:], starts, first_removed + 1)
    if first_kept is None:
        return None
    kept = old[:keep_until] + old[starts[first_kept] :]
    return Shift(first_removed, first_kept, kept.decode())


def _first_matching_tail(old: bytes, wanted: bytes, starts: list[int], lowest: int) -> int | None:
    """The first token index from ``lowest`` whose text to the end of ``old`` begins ``wanted``."""
    probe = wanted[:PROBE_BYTES]
    token_at = {offset: index for index, offset in enumerate(starts[:-1])}
    position = old.find(probe, starts[lowest]) if lowest < len(starts) - 1 else -1
    while position != -1:
        index = token_at.get(position)
        if index is not None and wanted.startswith(old[position:]):
            return index
        position = old.find(probe, position + 1)
    return None


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the longest common prefix, by bisection on slice equality (runs in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def apply_shift(llama: Any, shift: Shift) -> None:
    """Remove the shift's cells from a ``llama_cpp.Llama``'s sequence and move the rest down.

    The wrapper's record of the evaluated tokens is updated to match, so that its prefix
    matching sees the kept tokens as cached.
    """
    count = int(llama.n_tokens)
    assert shift.end <= count, "a shift removes only cells that are in the cache"
    held = llama.input_ids[:count].tolist()
    llama._ctx.kv_cache_seq_rm(0, shift.start, shift.end)
    llama._ctx.kv_cache_seq_shift(0, shift.end, -1, -shift.removed)
    kept = held[: shift.start] + held[shift.end :]
    llama.input_ids[: len(kept)] = kept
    llama.n_tokens = len(kept)


def plan_for(
    engine: LlamaEngine, memo_text: str, memo_tokens: list[int], text: str
) -> Shift | None:
    """The shift that makes ``memo_tokens`` (which spell ``memo_text``) begin ``text``.

    None when the engine's shifting is off, its cache cannot shift, or no removal fits.
    """
    llama = engine.llama
    if not engine.options.kv_shift or not memo_text:
        return None
    if not llama_cpp.llama_memory_can_shift(llama._ctx.memory):
        return None
    pieces = [engine.vocabulary.spelled(token) for token in memo_tokens]
    return plan_shift(memo_text, pieces, text)


def shift_out(engine: LlamaEngine, text: str) -> bool:
    """Shift the turns that the prompt ``text`` no longer holds out of the cache, if it can."""
    memo_text, memo_tokens = engine.context_memo()
    held = engine.llama.input_ids[: engine.llama.n_tokens].tolist()
    if memo_tokens[: len(held)] != held:
        return False
    shift = plan_for(engine, memo_text, memo_tokens, text)
    if shift is None or shift.end > len(held):
        return False
    apply_shift(engine.llama, shift)
    kept = memo_tokens[: shift.start] + memo_tokens[shift.end :]
    engine.set_context_memo(shift.kept_text, kept)
    engine.lineage.shift()
    log.debug("context shift: removed tokens %d-%d, kept %d", shift.start, shift.end, len(kept))
    return True
