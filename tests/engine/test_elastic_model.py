"""The live context grows with the conversation, with the real default model: it starts small,
doubles when a reply needs room (keeping its cells), and a snapshot from a larger context loads
into a fresh, small one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from llama_helpers import SYSTEM, make_engine, reply, sequence_state

from chatcli.engine.base import ChatMessage
from chatcli.engine.elastic import INITIAL_CONTEXT
from chatcli.engine.llama import LlamaEngine
from chatcli.engine.params import SamplingParams
from chatcli.engine.snapshots import restore_snapshot

pytestmark = pytest.mark.model

REPLY = SamplingParams(temperature=0.0, seed=1, max_tokens=32)


def question_filling(engine: LlamaEngine, tokens: int) -> list[ChatMessage]:
    """A system prompt and a question whose prompt is just under ``tokens`` tokens."""
    words = ["Tell me a story about the sea."]
    while engine.count_tokens([SYSTEM, ChatMessage("user", " ".join(words))]) < tokens - 8:
        words.append("waves")
    return [SYSTEM, ChatMessage("user", " ".join(words))]


def test_a_reply_that_outgrows_the_live_context_grows_it_and_a_snapshot_follows(
    tmp_path: Path,
) -> None:
    engine = LlamaEngine(replace(make_engine(tmp_path, context=2048).options, ignore_eos=True))
    info = engine.load()
    assert info.context_length == 2048  # what the planner budgets for
    assert engine.llama.n_ctx() == INITIAL_CONTEXT
    history = question_filling(engine, INITIAL_CONTEXT - 16)  # the reply crosses 512 tokens
    text, done = reply(engine, history, REPLY)
    assert done.usage.completion_tokens == REPLY.max_tokens
    assert done.usage.prompt_tokens + REPLY.max_tokens > INITIAL_CONTEXT
    assert engine.llama.n_ctx() == 2 * INITIAL_CONTEXT
    saved_state = sequence_state(engine)
    assert engine._snapshots is not None
    engine._snapshots.wait()
    engine.close()

    resumed = make_engine(tmp_path, context=2048)
    resumed.load()
    following = [*history, ChatMessage("assistant", text), ChatMessage("user", "Thanks!")]
    assert resumed._snapshots is not None
    assert restore_snapshot(resumed, resumed._snapshots, resumed.render(following))
    assert resumed.llama.n_ctx() == 2 * INITIAL_CONTEXT
    assert sequence_state(resumed) == saved_state
    _, after = reply(resumed, following, SamplingParams(temperature=0.0, max_tokens=8))
    resumed.close()
    assert after.usage.cached_prompt_tokens > INITIAL_CONTEXT  # nothing was evaluated again
