"""Helpers for tests that run the real default model in a LlamaEngine."""

from __future__ import annotations

import ctypes
from pathlib import Path

import llama_cpp

from chatcli.catalog import resolve_model
from chatcli.engine.base import ChatMessage, ReplyDone, TextDelta
from chatcli.engine.llama import LlamaEngine, LlamaOptions
from chatcli.engine.params import SamplingParams

GREEDY = SamplingParams(temperature=0.0, seed=1, max_tokens=24)
SYSTEM = ChatMessage("system", "You are a helpful assistant.")


def make_engine(
    snapshot_dir: Path | None = None,
    context: int = 2048,
    kv_shift: bool = True,
    snapshot_writes: bool = True,
) -> LlamaEngine:
    """An engine on the bundled default model (not loaded yet)."""
    resolved = resolve_model("")
    assert resolved.entry is not None
    return LlamaEngine(
        LlamaOptions(
            model_path=resolved.path,
            model_name=resolved.name,
            context_length=context,
            model_sha256=resolved.entry.sha256,
            snapshot_dir=snapshot_dir,
            snapshot_writes=snapshot_writes,
            kv_shift=kv_shift,
            # Fixed: tests compare two engines' greedy text, and a thread count that follows
            # the machine's load changes the sums' order, so their bits.
            threads=1,
        )
    )


def reply(
    engine: LlamaEngine, messages: list[ChatMessage], params: SamplingParams = GREEDY
) -> tuple[str, ReplyDone]:
    """The whole reply's text and its final event."""
    events = list(engine.stream(messages, params))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    done = events[-1]
    assert isinstance(done, ReplyDone)
    return text, done


def sequence_state(engine: LlamaEngine) -> bytes:
    """The bytes of sequence 0's KV state, as a snapshot would hold them."""
    context = engine.llama._ctx.ctx
    size = llama_cpp.llama_state_seq_get_size(context, 0)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(context, buffer, size, 0)
    return ctypes.string_at(buffer, written)
