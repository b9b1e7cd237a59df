"""Replaying a recorded reply on a llama.cpp model, evaluating exactly what it evaluated.

The context is emptied, then every earlier generation in the chain is evaluated again as it
was (its prompt pieces, then its sampled tokens one at a time, as generation feeds them
back), so that the cells the reply reused hold the same bits; the reply itself is then
generated again through the same ``Generation`` code, with the recorded pieces and seed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from chatcli.engine.base import StreamEvent
from chatcli.engine.evaluation import Evaluation
from chatcli.engine.generation import Generation, truncate
from chatcli.engine.params import SamplingParams
from chatcli.errors import ChatcliError

if TYPE_CHECKING:
    from chatcli.engine.llama import LlamaEngine


def replay_chain(
    engine: LlamaEngine,
    chain: Sequence[Evaluation],
    params: SamplingParams,
    cancel: threading.Event,
) -> Iterator[StreamEvent]:
    """Rebuild the context of ``chain[-1]`` from nothing and generate it again.

    The context is emptied before and after: what the engine remembers of its cache (for
    prefix reuse) is forgotten, so the next ordinary reply starts clean.
    """
    target = chain[-1]
    if target.context_length != engine.options.context_length:
        raise ChatcliError(
            f"the reply ran with a {target.context_length:,}-token context, "
            f"this model is loaded with {engine.options.context_length:,}"
        )
    started = time.perf_counter()
    forget(engine)
    try:
        context: list[int] = []
        for earlier in chain[:-1]:
            if cancel.is_set():
                return
            context = _evaluate_again(engine, context, earlier)
        prompt = target.prompt_after(context)
        room = target.context_length - len(prompt)
        limit = min(room, params.max_tokens) if params.max_tokens else room
        run = Generation(engine, prompt, params, limit, cancel)
        run.recorded = target
        yield from run.events(started)
    finally:
        forget(engine)


def _evaluate_again(engine: LlamaEngine, context: list[int], step: Evaluation) -> list[int]:
    """Evaluate one earlier generation's pieces and fed-back tokens; return the new context."""
    llama = engine.llama
    prompt = step.prompt_after(context)
    engine.make_room(len(step.context_after(context)) + 1)
    truncate(llama, step.kept)
    done = step.kept
    for size in step.pieces:
        llama.eval(prompt[done : done + size])
        done += size
    for token in step.sampled[: step.fed_back]:
        llama.eval([token])
    return step.context_after(context)


def forget(engine: LlamaEngine) -> None:
    """Empty the context and what the engine remembers about it."""
    truncate(engine.llama, 0)
    engine.set_context_memo("", [])
    engine.lineage.reset()
