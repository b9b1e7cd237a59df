"""LlamaEngine with the real default model: template, streaming, prefix reuse, snapshots."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_helpers import GREEDY, SYSTEM, make_engine, reply, sequence_state

from chatcli.engine.base import ChatMessage, PrefillProgress, ReplyDone, TextDelta
from chatcli.engine.llama import LlamaEngine
from chatcli.engine.params import SamplingParams
from chatcli.engine.snapshots import restore_snapshot

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaEngine]:
    loaded = make_engine()
    loaded.load()
    yield loaded
    loaded.close()


def test_prompt_uses_the_gguf_chatml_template(engine: LlamaEngine) -> None:
    info = engine.load()
    assert info.chat_format == "GGUF chat template"
    prompt = engine.render([SYSTEM, ChatMessage("user", "Hi")])
    assert prompt.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>")
    assert prompt.endswith("<|im_start|>assistant\n")
    assert engine.count_tokens([SYSTEM, ChatMessage("user", "Hi")]) == len(
        engine.tokenize_prompt(prompt)
    )


def test_reply_respects_max_tokens_and_reports_usage(engine: LlamaEngine) -> None:
    text, done = reply(engine, [ChatMessage("user", "Tell me a long story.")])
    assert text
    assert done.usage.completion_tokens <= 24
    assert done.finish_reason in ("length", "stop")
    assert done.usage.prompt_tokens > 5


def test_same_seed_same_text(engine: LlamaEngine) -> None:
    params = SamplingParams(temperature=0.9, seed=123, max_tokens=20)
    question = [ChatMessage("user", "Name an animal and describe it.")]
    assert reply(engine, question, params)[0] == reply(engine, question, params)[0]


def test_stop_string_ends_the_reply_without_it(engine: LlamaEngine) -> None:
    question = [ChatMessage("user", "Count from 1 to 10, separated by commas.")]
    full, _ = reply(engine, question, SamplingParams(temperature=0.0, max_tokens=40))
    assert "5" in full  # the premise: the greedy answer does count
    cut, done = reply(engine, question, SamplingParams(temperature=0.0, max_tokens=40, stop=("5",)))
    assert "5" not in cut and full.startswith(cut)
    assert done.finish_reason == "stop"


def test_cancel_stops_at_the_next_token(engine: LlamaEngine) -> None:
    cancel = threading.Event()
    pieces = []
    params = SamplingParams(temperature=0.0, max_tokens=200)
    for event in engine.stream([ChatMessage("user", "Write an essay.")], params, cancel):
        if isinstance(event, TextDelta):
            pieces.append(event.text)
            cancel.set()
        elif isinstance(event, ReplyDone):
            assert event.finish_reason == "interrupted"
            assert event.usage.completion_tokens == 1
    assert len(pieces) == 1


def reply_until_done(engine: LlamaEngine, messages: list[ChatMessage]) -> tuple[str, ReplyDone]:
    """Like a caller that stops iterating at the ReplyDone event (the generator is left open)."""
    text = ""
    for event in engine.stream(messages, GREEDY):
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, ReplyDone):
            return text, event
    raise AssertionError("no ReplyDone")


def test_next_turn_reuses_the_cached_prefix_including_the_sampled_reply(
    engine: LlamaEngine,
) -> None:
    history = [SYSTEM, ChatMessage("user", "What is a lighthouse? Say what 'it's' means too.")]
    first_text, first = reply_until_done(engine, history)
    history += [ChatMessage("assistant", first_text), ChatMessage("user", "Who keeps it?")]
    _, second = reply(engine, history)
    new_message_tokens = engine.count_tokens(history) - engine.count_tokens(history[:-1])
    evaluated = second.usage.prompt_tokens - second.usage.cached_prompt_tokens
    assert second.usage.cached_prompt_tokens >= first.usage.prompt_tokens
    assert evaluated <= new_message_tokens + 8


def test_long_prompt_reports_prefill_progress(engine: LlamaEngine) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 120
    events = list(engine.stream([ChatMessage("user", text)], SamplingParams(max_tokens=2)))
    progress = [e for e in events if isinstance(e, PrefillProgress)]
    assert progress and progress[-1].done == progress[-1].total
    assert [p.done for p in progress] == sorted(p.done for p in progress)


def test_snapshot_resumes_a_conversation_in_a_fresh_engine(tmp_path: Path) -> None:
    """A restored state is the saved one byte for byte, and continues as the original does.

    Compared with the original engine continuing, never with a fresh re-prefill: a prompt
    evaluated in one batch is not bit-identical to one built token by token (PERF_NOTES).
    """
    history = [SYSTEM, ChatMessage("user", "Describe the sea in three sentences.")]
    first = make_engine(tmp_path)
    text, _ = reply(first, history)
    saved_state = sequence_state(first)
    history += [ChatMessage("assistant", text), ChatMessage("user", "And the sky?")]

    resumed = make_engine(tmp_path)
    resumed.load()
    assert first._snapshots is not None
    first._snapshots.wait()
    assert resumed._snapshots is not None
    assert restore_snapshot(resumed, resumed._snapshots, resumed.render(history))
    assert sequence_state(resumed) == saved_state
    resumed_text, resumed_done = reply(resumed, history)
    resumed.close()
    continued_text, _ = reply(first, history)
    first.close()

    assert resumed_done.usage.cached_prompt_tokens >= engine_prompt_tokens(history[:2])
    assert resumed_text == continued_text


def engine_prompt_tokens(messages: list[ChatMessage]) -> int:
    counter = make_engine(None)
    try:
        return counter.count_tokens(messages)
    finally:
        counter.close()


def test_corrupt_snapshot_is_ignored(tmp_path: Path) -> None:
    history = [SYSTEM, ChatMessage("user", "Say hello.")]
    first = make_engine(tmp_path)
    text, _ = reply(first, history)
    first.close()
    for data in tmp_path.rglob("*.kv"):  # the snapshot and the opening
        data.write_bytes(b"\xff" * data.stat().st_size)
    resumed = make_engine(tmp_path)
    _, done = reply(
        resumed, [*history, ChatMessage("assistant", text), ChatMessage("user", "Bye.")]
    )
    resumed.close()
    assert done.usage.cached_prompt_tokens == 0
    assert done.usage.completion_tokens > 0


def test_snapshot_store_is_private_to_the_configuration(tmp_path: Path) -> None:
    first = make_engine(tmp_path, context=2048)
    reply(first, [ChatMessage("user", "Hi")])
    first.close()
    other = make_engine(tmp_path, context=1024)
    _, done = reply(
        other, [ChatMessage("user", "Hi"), ChatMessage("assistant", "x"), ChatMessage("user", "y")]
    )
    other.close()
    assert done.usage.cached_prompt_tokens == 0
    assert len({p.parent for p in tmp_path.glob("*/*.kv")}) == 2


def test_every_reply_decodes_on_the_engine_thread_whoever_asks(engine: LlamaEngine) -> None:
    """One OpenMP team: a second decoding thread made libgomp stop spinning (3x slower)."""
    seen: list[tuple[str, int]] = []
    original = engine.vocabulary.piece

    def spying_piece(token: int) -> bytes:
        seen.append((threading.current_thread().name, threading.get_ident()))
        return original(token)

    engine.vocabulary.piece = spying_piece  # type: ignore[method-assign]
    try:
        callers = [threading.Thread(target=reply, args=(engine, [ChatMessage("user", "Hi")]))]
        callers.append(threading.Thread(target=reply, args=(engine, [ChatMessage("user", "Yo")])))
        for caller in callers:
            caller.start()
            caller.join()
    finally:
        del engine.vocabulary.piece
    assert len(seen) > 2
    assert {name for name, _ in seen} == {"chatcli-llama"}
    assert len({ident for _, ident in seen}) == 1


def test_a_prompt_that_fits_afresh_is_not_refused_for_its_reused_ids(tmp_path: Path) -> None:
    """The sampled ids kept from the last reply can outnumber the text's own tokens."""
    engine = make_engine(None, context=512)
    history = [SYSTEM, ChatMessage("user", "Say hello.")]
    text, _ = reply(engine, history)
    history += [ChatMessage("assistant", text), ChatMessage("user", "Bye.")]
    memo_text, memo_tokens = engine.context_memo()
    engine.set_context_memo(memo_text, memo_tokens + [memo_tokens[-1]] * 600)
    _, done = reply(engine, history)
    engine.close()
    assert done.usage.prompt_tokens < 512
    assert done.usage.completion_tokens > 0
