"""Decoding token batches straight through llama.cpp, asking for logits only where wanted.

``Llama.eval`` keeps logits for the last token only (or, with ``logits_all``, for every
token of the context: 8,192 x 49,152 floats for the default model). Measuring speed and
scoring text need something in between: one sequence evaluated in batches, with a logits row
for exactly the positions that are looked at. This is that, over the loaded model of a
:class:`~chatcli.engine.llama.LlamaEngine`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import llama_cpp
import numpy as np
import numpy.typing as npt

from chatcli.errors import ChatcliError, UsageError

if TYPE_CHECKING:
    from chatcli.engine.base import Engine
    from chatcli.engine.llama import LlamaEngine


def local_model(engine: Engine, what: str) -> LlamaEngine:
    """``engine`` as a local llama.cpp engine, loaded; a UsageError for any other kind."""
    from chatcli.engine.llama import LlamaEngine

    if not isinstance(engine, LlamaEngine):
        raise UsageError(f"{what} runs on local GGUF models only, not on {type(engine).__name__}")
    engine.load()
    return engine


class SequenceDecoder:
    """Evaluates tokens of sequence 0 at given positions; owns one llama_batch.

    The engine's record of what its KV cache holds is cleared first: whatever this leaves in
    the cache is not a prompt the engine could reuse.
    """

    def __init__(self, engine: LlamaEngine) -> None:
        engine.make_room(engine.options.context_length)  # the whole context, as asked for
        llama: Any = engine.llama
        self.context: Any = llama._ctx.ctx
        self.batch_size = int(llama_cpp.llama_n_batch(self.context))
        self.vocab_size = int(llama_cpp.llama_vocab_n_tokens(llama._model.vocab))
        self.context_size = int(llama_cpp.llama_n_ctx(self.context))
        self._memory = llama_cpp.llama_get_memory(self.context)
        self._batch: Any = llama_cpp.llama_batch_init(self.batch_size, 0, 1)
        engine.set_context_memo("", [])
        llama.n_tokens = 0
        self.forget_from(0)

    def close(self) -> None:
        """Free the batch (the model and its cache stay with the engine)."""
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None

    def __enter__(self) -> SequenceDecoder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def forget_from(self, position: int) -> None:
        """Remove the cached positions from ``position`` on."""
        llama_cpp.llama_memory_seq_rm(self._memory, 0, position, -1)

    def run(self, tokens: Sequence[int], start: int) -> None:
        """Evaluate ``tokens`` at positions ``start``..., as a prompt is processed.

        Only the last token has an output (computed, not read back).
        """
        for offset in range(0, len(tokens), self.batch_size):
            chunk = tokens[offset : offset + self.batch_size]
            last = offset + len(chunk) == len(tokens)
            self._decode_chunk(chunk, start + offset, [len(chunk) - 1] if last else [])
        llama_cpp.llama_synchronize(self.context)

    def outputs(
        self, tokens: Sequence[int], start: int, wanted: Collection[int]
    ) -> Iterator[tuple[list[int], npt.NDArray[np.float32]]]:
        """Evaluate ``tokens`` at positions ``start``... and yield the logits of ``wanted``.

        ``wanted`` are indexes into ``tokens`` (the row of index i predicts token i + 1). Each
        batch yields its wanted indexes, in increasing order, and their rows: a view into
        llama.cpp's buffer, valid until the iteration goes on.
        """
        want = sorted(set(wanted))
        for offset in range(0, len(tokens), self.batch_size):
            chunk = tokens[offset : offset + self.batch_size]
            marked = [i - offset for i in want if offset <= i < offset + len(chunk)]
            self._decode_chunk(chunk, start + offset, marked)
            if marked:
                # llama.cpp keeps the rows of the marked tokens contiguous, in batch order.
                pointer = llama_cpp.llama_get_logits(self.context)
                rows = np.ctypeslib.as_array(pointer, shape=(len(marked), self.vocab_size))
                yield [offset + i for i in marked], rows

    def _decode_chunk(self, chunk: Sequence[int], start: int, marked: list[int]) -> None:
        batch = self._batch
        batch.n_tokens = len(chunk)
        for index, token in enumerate(chunk):
            batch.token[index] = token
            batch.pos[index] = start + index
            batch.n_seq_id[index] = 1
            batch.seq_id[index][0] = 0
            batch.logits[index] = 0
        for index in marked:
            batch.logits[index] = 1
        status = llama_cpp.llama_decode(self.context, batch)
        if status != 0:
            raise ChatcliError(f"llama.cpp could not evaluate a batch (llama_decode: {status})")
