"""One reply from a llama.cpp model: prompt processing with progress, then token sampling.

The prompt's uncached part is evaluated here in chunks (so that progress can be shown and a
long prefill can be cancelled between chunks); ``Llama.generate`` then finds the whole prompt
cached and samples straight away.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from chatcli.engine.base import (
    FinishReason,
    PrefillProgress,
    ReplyDone,
    StreamEvent,
    TextDelta,
    Usage,
)
from chatcli.engine.evaluation import Evaluation, prompt_digest
from chatcli.engine.kvcache import common_prefix
from chatcli.engine.lineage import new_evaluation_id
from chatcli.engine.params import SamplingParams
from chatcli.engine.text import PieceDecoder, StopScanner
from chatcli.errors import ContextOverflowError

if TYPE_CHECKING:
    from chatcli.engine.llama import LlamaEngine

PREFILL_CHUNK = 256
"""Prompt tokens evaluated between two progress reports."""
PROGRESS_FROM = 512
"""Prompts with fewer uncached tokens than this report no progress."""


def random_seed() -> int:
    """A fresh 31-bit sampling seed (secrets.randbits, without importing secrets: ~1.5 ms)."""
    return int.from_bytes(os.urandom(4), "little") >> 1


class Generation:
    """Drives prefill and ``Llama.generate`` and turns tokens into stream events."""

    def __init__(
        self,
        engine: LlamaEngine,
        prompt: list[int],
        params: SamplingParams,
        limit: int,
        cancel: threading.Event,
    ) -> None:
        self.engine = engine
        self.llama: Any = engine.llama
        self.prompt = prompt
        self.params = params
        self.limit = limit
        self.cancel = cancel
        self.sampled: list[int] = []
        self.reply = ""
        self.text_matches_tokens = True
        self.share_cpu: Callable[[], None] = lambda: None
        """Called before the prompt is processed and at every token (it looks now and then)."""
        self.recorded: Evaluation | None = None
        """When replaying: the recorded pieces to evaluate (the context holds ``kept``)."""
        self.pieces: list[int] = []
        """Sizes of the batches the uncached prompt was evaluated in."""
        self.room = 0
        """Tokens the live context holds; it grows (``engine.make_room``) as the reply needs."""
        self.opening = 0
        """Prompt tokens evaluated as a piece of their own when the context starts empty."""
        self.opening_done: Callable[[], None] = lambda: None
        """Called once that piece is evaluated (the engine keeps its state)."""

    def cancelled(self) -> bool:
        """Whether the caller or ``Engine.stop`` asked to end the reply."""
        return self.cancel.is_set() or self.engine.stop_requested()

    def cached_prefix(self) -> int:
        """How many prompt tokens are already in the KV cache and will not be evaluated."""
        llama = self.llama
        common = common_prefix(llama.input_ids[: llama.n_tokens].tolist(), self.prompt)
        # llama-cpp-python replays the last prompt token when the whole prompt is cached.
        return common - 1 if common == len(self.prompt) and common > 0 else common

    def events(self, started: float) -> Iterator[StreamEvent]:
        """Yield prefill progress, the reply's text pieces, then a ReplyDone."""
        self.room = self.engine.make_room(len(self.prompt) + 1)
        recorded = self.recorded
        cached = recorded.kept if recorded else self.cached_prefix()
        lineage = self.engine.lineage
        # A restored opening is recorded as what it stands for: its piece, from empty.
        opened = lineage.opening if not recorded and cached == lineage.opening else 0
        base, shifted = (lineage.origin, lineage.shifted) if cached else (None, False)
        self.share_cpu()
        self.pieces = [opened] if opened else []
        yield from self._prefill(cached, recorded.pieces if recorded else ())
        kept = cached - opened
        seed = self.params.seed if self.params.seed is not None else random_seed()
        self.llama.set_seed(seed)
        first_token_at: float | None = None
        finish: FinishReason = "interrupted"
        if not self.cancelled():
            for event in self._sample():
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                if isinstance(event, ReplyDone):
                    finish = event.finish_reason
                else:
                    yield event
        ended = time.perf_counter()
        usage = Usage(
            prompt_tokens=len(self.prompt),
            cached_prompt_tokens=cached,
            completion_tokens=len(self.sampled),
            ttft_s=(first_token_at or ended) - started,
            total_s=ended - started,
            seed=seed,
        )
        evaluation = Evaluation(
            id=new_evaluation_id(),
            base=base,
            kept=kept,
            tokens=tuple(self.prompt[kept:]),
            pieces=tuple(self.pieces),
            sampled=tuple(self.sampled),
            fed_back=max(0, int(self.llama.n_tokens) - len(self.prompt)),
            prompt_sha256=prompt_digest(self.prompt),
            context_length=self.engine.options.context_length,
            shifted=shifted,
            adapter=self.engine.adapter_key,
        )
        lineage.built_by(evaluation.id)
        yield ReplyDone(finish, usage, evaluation)

    def _prefill(self, cached: int, pieces: Sequence[int] = ()) -> Iterator[PrefillProgress]:
        """Evaluate the uncached prompt tokens, reporting progress for long prompts.

        They go in PREFILL_CHUNK batches, or in the recorded ``pieces`` when replaying; from
        an empty context, the opening goes first as a piece of its own.
        """
        llama = self.llama
        truncate(llama, cached)
        pending = self.prompt[cached:]
        opening = self.opening if cached == 0 and not pieces else 0
        rest = len(pending) - opening
        sizes = list(pieces) or [PREFILL_CHUNK] * len(range(0, rest, PREFILL_CHUNK))
        sizes = [opening, *sizes] if opening else sizes
        started, done = time.perf_counter(), 0
        for size in sizes:
            if self.cancelled():
                return
            batch = pending[done : done + size]
            llama.eval(batch)
            self.pieces.append(len(batch))
            done += len(batch)
            if opening and done == opening:
                self.opening_done()
            if len(pending) >= PROGRESS_FROM:
                yield PrefillProgress(done, len(pending), time.perf_counter() - started)

    def _sample(self) -> Iterator[TextDelta | ReplyDone]:
        """Sample tokens until end of turn, a stop string, the limit, or a cancel."""
        params, vocabulary = self.params, self.engine.vocabulary
        decoder = PieceDecoder(vocabulary.piece)
        stops = StopScanner(params.stop)
        finish: FinishReason = "length"
        tokens = self.llama.generate(
            self.prompt,
            top_k=params.top_k,
            top_p=params.top_p,
            min_p=params.min_p,
            temp=params.temperature,
            repeat_penalty=params.repeat_penalty,
        )
        for token in tokens:
            if self.cancelled():
                finish = "interrupted"
                break
            if vocabulary.is_end_of_generation(token):
                finish = "stop"
                break
            self.sampled.append(token)
            self.share_cpu()
            piece = stops.feed(decoder.feed(token))
            if piece:
                self.reply += piece
                yield TextDelta(piece)
            if stops.stopped or len(self.sampled) >= self.limit:
                break
            if self.llama.n_tokens >= self.room:  # no cell left for the token just sampled
                self.room = self.engine.make_room(self.llama.n_tokens + 1)
        tail = "" if stops.stopped else stops.feed(decoder.flush()) + stops.flush()
        if tail:
            self.reply += tail
            yield TextDelta(tail)
        if stops.stopped:
            finish, self.text_matches_tokens = "stop", False
        yield ReplyDone(finish, _NO_USAGE)


def reply_limit(prompt_tokens: int, params: SamplingParams, n_ctx: int) -> int:
    """The most tokens a reply may have after a prompt of ``prompt_tokens``."""
    room = n_ctx - prompt_tokens
    if room <= 0:
        raise ContextOverflowError(
            f"the prompt is {prompt_tokens:,} tokens but the context holds {n_ctx:,}"
        )
    return min(room, params.max_tokens) if params.max_tokens else room


def truncate(llama: Any, count: int) -> None:
    """Keep only the first ``count`` tokens in a ``llama_cpp.Llama``'s context."""
    llama._ctx.kv_cache_seq_rm(-1, count, -1)
    llama.n_tokens = count


_NO_USAGE = Usage(0, 0, 0, 0.0, 0.0)
"""Placeholder: ``events`` builds the real usage once the reply has ended."""
