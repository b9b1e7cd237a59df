"""A context that grows with the conversation instead of holding the largest one from the start.

llama.cpp allocates (and clears) the KV cache for the whole context when the context is made:
23 KB per token for the default model, ~190 MB at 8,192 tokens, for a one-line question too.
So the context starts small and is made again, twice as large (up to the configured size),
when a prompt or a reply needs more room; the KV cells already computed move into the new
context through llama.cpp's sequence-state API (~23 KB per token, a few ms), so nothing is
evaluated again. The size the planner budgets for stays the configured one throughout.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import time
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import _internals

log = logging.getLogger("chatcli.engine")

INITIAL_CONTEXT = 512
"""Tokens of context a model is loaded with (a one-line question and its answer fit)."""
SEQUENCE = 0


def initial_size(maximum: int) -> int:
    """The context a model starts with, for a configured context of ``maximum`` tokens."""
    return min(maximum, INITIAL_CONTEXT)


def capacity(llama: Any) -> int:
    """Tokens the live context holds (llama.cpp may round up; the token record may not)."""
    return min(int(llama.n_ctx()), len(llama.input_ids))


def size_for(needed: int, current: int, maximum: int) -> int:
    """The next size: doubled from ``current`` until ``needed`` fits, at most ``maximum``."""
    size = max(current, 1)
    while size < needed:
        size *= 2
    return min(size, maximum)


def grow(llama: Any, n_ctx: int) -> None:
    """Make ``llama``'s context again with ``n_ctx`` tokens, keeping its KV cells and tokens.

    The old context is freed before the new one is made, so memory peaks at the new size plus
    a copy of the cells in use. Thread counts and the like are the caller's to apply again.
    """
    started = time.perf_counter()
    count = int(llama.n_tokens)
    state = sequence_state(llama) if count else b""
    params = llama.context_params
    params.n_ctx = n_ctx
    llama._ctx.close()
    context = _internals.LlamaContext(model=llama._model, params=params, verbose=llama.verbose)
    llama._stack.enter_context(contextlib.closing(context))
    llama._ctx = context
    tokens = np.ndarray((n_ctx,), dtype=np.intc)
    tokens[:count] = llama.input_ids[:count]
    llama.input_ids = tokens
    llama._n_ctx = llama.n_ctx()
    if state and not set_sequence_state(llama, state):
        count = 0  # the cells could not move: the prompt is evaluated again
    llama.n_tokens = count
    llama._requires_eval = True  # logits are not carried over
    log.debug(
        "context grown to %d tokens (%d cells kept) in %.1f ms",
        n_ctx,
        count,
        1000 * (time.perf_counter() - started),
    )


def sequence_state(llama: Any) -> bytes:
    """A copy of the KV cells of ``llama``'s sequence (b"" if llama.cpp gives none)."""
    context = llama._ctx.ctx
    size = llama_cpp.llama_state_seq_get_size(context, SEQUENCE)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(context, buffer, size, SEQUENCE)
    return ctypes.string_at(buffer, written) if written > 0 else b""


def set_sequence_state(llama: Any, state: bytes) -> bool:
    """Load ``state`` (from ``sequence_state``) into ``llama``'s sequence; False if rejected."""
    buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
    return bool(llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, buffer, len(state), SEQUENCE))
