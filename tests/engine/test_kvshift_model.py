"""The KV context shift with the real default model: it is used, it can be turned off, and a
snapshot taken after a shift restores to the same state."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from llama_helpers import SYSTEM, make_engine, reply, sequence_state

from chatcli.engine.base import ChatMessage
from chatcli.engine.llama import LlamaEngine
from chatcli.engine.params import SamplingParams
from chatcli.engine.snapshots import restore_snapshot

pytestmark = pytest.mark.model

ANSWER = SamplingParams(temperature=0.0, seed=1, max_tokens=40)
QUESTIONS = [
    "What is a lighthouse?",
    "Why is the sea salty?",
    "What is a tide?",
    "Who was Magellan?",
]


def long_chat(engine: LlamaEngine) -> list[ChatMessage]:
    """A system prompt and four answered turns."""
    history = [SYSTEM]
    for question in QUESTIONS:
        history.append(ChatMessage("user", question))
        text, _ = reply(engine, history, ANSWER)
        history.append(ChatMessage("assistant", text))
    return history


def without_oldest_turns(history: list[ChatMessage], question: str) -> list[ChatMessage]:
    """What the planner sends once the two oldest turns leave the context."""
    return [history[0], *history[5:], ChatMessage("user", question)]


@pytest.mark.parametrize("kv_shift", [True, False])
def test_a_drop_turn_keeps_the_cached_turns_only_when_shifting(kv_shift: bool) -> None:
    engine = make_engine(kv_shift=kv_shift)
    kept = without_oldest_turns(long_chat(engine), "And what is a harbour?")
    _, done = reply(engine, kept, ANSWER)
    kept_history = engine.count_tokens(kept[:-1])
    system = engine.count_tokens([SYSTEM])
    engine.close()
    if kv_shift:
        assert done.usage.cached_prompt_tokens >= kept_history - 8, (done.usage, kept_history)
    else:
        assert done.usage.cached_prompt_tokens <= system + 8, (done.usage, system)
    assert done.usage.completion_tokens > 0


def test_a_snapshot_taken_after_a_shift_restores_the_same_state(tmp_path: Path) -> None:
    first = make_engine(tmp_path / "kv")
    kept = without_oldest_turns(long_chat(first), "And what is a harbour?")
    text, shifted = reply(first, kept, ANSWER)
    assert shifted.usage.cached_prompt_tokens > first.count_tokens([SYSTEM]) + 8  # the premise
    saved_state = sequence_state(first)
    following = [*kept, ChatMessage("assistant", text), ChatMessage("user", "Thank you!")]

    assert first._snapshots is not None
    first._snapshots.wait()
    first.close()
    # A shift leaves the original's cells out of order (holes where the dropped turns were); a
    # restore lays them out in order, so attention sums in another order and the original's own
    # continuation may differ in the last bits. Two restores of the snapshot must agree.
    continuations = []
    for copy in ("a", "b"):  # each restores from its own copy: its reply saves snapshots too
        shutil.copytree(tmp_path / "kv", tmp_path / copy)
        resumed = make_engine(tmp_path / copy)
        resumed.load()
        assert resumed._snapshots is not None
        assert restore_snapshot(resumed, resumed._snapshots, resumed.render(following))
        assert sequence_state(resumed) == saved_state
        resumed_text, done = reply(resumed, following, ANSWER)
        resumed.close()
        assert done.usage.cached_prompt_tokens > 0
        continuations.append(resumed_text)
    assert continuations[0] == continuations[1] and continuations[0]
