"""Moving KV state between a loaded ``Llama`` and the snapshot store."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import llama_cpp

from chatcli.engine.elastic import sequence_state, set_sequence_state
from chatcli.engine.kvcache import Snapshot, SnapshotStore, common_prefix, snapshot_key
from chatcli.engine.kvshift import plan_for

if TYPE_CHECKING:
    from chatcli.engine.llama import LlamaEngine, LlamaOptions

log = logging.getLogger("chatcli.kvcache")


def restore_snapshot(engine: LlamaEngine, store: SnapshotStore, text: str, beyond: int = 0) -> bool:
    """Load the saved state that covers most of ``text``'s prompt, if it beats what is cached.

    A snapshot that only shares tokens with the prompt (another conversation) must share more
    than ``beyond`` of them: the prompt's opening is restored more cheaply on its own.
    Returns whether a snapshot was loaded.
    """
    memo_text, _ = engine.context_memo()
    if memo_text and text.startswith(memo_text):
        return False  # this process already holds the conversation so far
    snapshot = store.best_for_text(text) or _best_for_shift(engine, store, text)
    if snapshot is None:
        found = store.best_for_tokens(engine.tokenize_prompt(text))
        snapshot = found[0] if found and found[1] > beyond else None
    if snapshot is None or _already_cached(engine, snapshot.kv_tokens):
        return False
    engine.make_room(len(snapshot.kv_tokens) + 1)
    data = store.read(snapshot)
    if data is None or not _load_state_or_forget(engine, data, snapshot):
        return False
    if snapshot.text is not None:
        engine.set_context_memo(snapshot.text, snapshot.memo_tokens)
    engine.lineage.restored(snapshot.origin)
    log.debug("restored %d tokens from %s", len(snapshot.kv_tokens), snapshot.data_path)
    return True


OPENINGS_CAP_BYTES = 256 << 20
"""Most bytes of openings kept (one per system prompt in use; ~0.5 MB for the default)."""


def stores_for(
    options: LlamaOptions, template: str, adapter: str | None
) -> tuple[SnapshotStore, SnapshotStore]:
    """The KV snapshots and the openings of one model configuration (``options.snapshot_dir``).

    They are keyed by everything that makes a state reusable: the model file, the context
    size, the KV type, the chat template, llama-cpp-python's version and the LoRA adapter.
    """
    assert options.snapshot_dir is not None
    key = snapshot_key(
        options.model_sha256,
        options.context_length,  # the live context grows; this is its most
        "f16",
        hashlib.sha256(template.encode()).hexdigest(),
        llama_cpp.__version__,
        *([adapter] if adapter else []),
    )
    openings_cap = min(options.snapshot_cap_bytes, OPENINGS_CAP_BYTES)
    return (
        SnapshotStore(options.snapshot_dir, key, options.snapshot_cap_bytes),
        SnapshotStore(options.snapshot_dir / "openings", key, openings_cap),
    )


def save_snapshot(engine: LlamaEngine, store: SnapshotStore) -> None:
    """Copy the context's state now (a few ms) and write it to disk in the background."""
    llama = engine.llama
    count = int(llama.n_tokens)
    data = sequence_state(llama) if count else b""
    if not data:
        return
    kv_tokens = [int(token) for token in llama.input_ids[:count]]
    text, memo = engine.context_memo()
    store.save_in_background(data, kv_tokens, text or None, memo, engine.lineage.origin)


def load_sequence_state(llama: Any, data: bytes, kv_tokens: list[int]) -> bool:
    """Replace the context's cells with ``data`` holding ``kv_tokens``; False if rejected.

    Rejected, the context is left empty.
    """
    llama._ctx.kv_cache_seq_rm(-1, 0, -1)
    if not set_sequence_state(llama, data):
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        llama.n_tokens = 0
        return False
    count = len(kv_tokens)
    llama.input_ids[:count] = kv_tokens
    llama.n_tokens = count
    llama._requires_eval = True  # the logits are not restored: replay the last token
    return True


def _best_for_shift(engine: LlamaEngine, store: SnapshotStore, text: str) -> Snapshot | None:
    """The snapshot that, with old turns shifted out, keeps the most of the prompt ``text``."""
    best: tuple[int, Snapshot] | None = None
    for snapshot in store.snapshots():
        held = snapshot.kv_tokens
        if snapshot.text is None or snapshot.memo_tokens[: len(held)] != held:
            continue
        shift = plan_for(engine, snapshot.text, snapshot.memo_tokens, text)
        if shift is not None and shift.end <= len(held):
            kept = len(held) - shift.removed
            if best is None or kept > best[0]:
                best = (kept, snapshot)
    return best[1] if best else None


def _already_cached(engine: LlamaEngine, kv_tokens: list[int]) -> bool:
    llama = engine.llama
    held = llama.input_ids[: llama.n_tokens].tolist()
    return common_prefix(held, kv_tokens) == len(kv_tokens)


def _load_state_or_forget(engine: LlamaEngine, data: bytes, snapshot: Snapshot) -> bool:
    """Load a snapshot; any mismatch with the live context is a cache miss, never an error."""
    try:
        return _load_state(engine, data, snapshot)
    except (ValueError, TypeError, OverflowError) as error:
        log.debug("snapshot %s does not fit this context: %s", snapshot.data_path, error)
        engine.llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        engine.llama.n_tokens = 0
        engine.lineage.reset()
        return False


def _load_state(engine: LlamaEngine, data: bytes, snapshot: Snapshot) -> bool:
    llama = engine.llama
    # llama.cpp may round the context up (n_ctx()); the wrapper's token record has the size asked.
    room = min(llama.n_ctx(), len(llama.input_ids))
    if not snapshot.kv_tokens or len(snapshot.kv_tokens) >= room:
        return False
    if not load_sequence_state(llama, data, snapshot.kv_tokens):
        log.debug("llama.cpp rejected snapshot %s", snapshot.data_path)
        return False
    return True
