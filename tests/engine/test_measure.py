"""Speed (``run_bench``) and perplexity measured on the real default model, and the pure parts
of the perplexity code (windows, log-softmax) without it."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest
from fakes import FakeEngine
from llama_helpers import make_engine

from chatcli.engine.base import ChatMessage, TextDelta
from chatcli.engine.llama import LlamaEngine
from chatcli.engine.measure import BenchPlan, run_bench
from chatcli.engine.params import SamplingParams
from chatcli.engine.perplexity import (
    Windows,
    conversation_tokens,
    negative_log_likelihoods,
    perplexity,
    window_plan,
)
from chatcli.errors import ChatcliError, UsageError

SMALL = BenchPlan(prompt_tokens=24, generated_tokens=6, depths=(0, 40), repetitions=2)


def one_thread(context: int) -> LlamaEngine:
    """The default model on one thread: the machine running the tests is shared."""
    engine = make_engine(context=context)
    return LlamaEngine(replace(engine.options, threads=1))


@pytest.mark.parametrize(("size", "stride", "length"), [(8, 4, 30), (8, 8, 17), (16, 5, 16)])
def test_windows_score_every_token_once_each_with_enough_context(
    size: int, stride: int, length: int
) -> None:
    scored = [True] * length
    plan = list(window_plan(scored, Windows(size, stride)))

    targets = [t for _, ts in plan for t in ts]
    assert targets == list(range(1, length))
    for begin, ts in plan:
        assert all(begin < t <= begin + size for t in ts)  # predicted inside the window
        if begin > 0:
            assert all(t - begin >= size - stride for t in ts)  # enough tokens before each


def test_windows_with_nothing_to_score_are_left_out() -> None:
    scored = [False] * 40
    scored[35] = True

    assert list(window_plan(scored, Windows(8, 4))) == [(28, [35])]


def test_a_stride_larger_than_the_window_is_refused() -> None:
    with pytest.raises(UsageError):
        Windows(8, 9)


def test_negative_log_likelihoods_are_minus_log_softmax() -> None:
    logits = np.array([[0.0, 1.0, 2.0], [1000.0, 0.0, -1000.0]], dtype=np.float32)

    nll = negative_log_likelihoods(logits, np.array([2, 0]))

    expected = -math.log(math.exp(2) / (1 + math.e + math.exp(2)))
    assert nll[0] == pytest.approx(expected)
    assert nll[1] == pytest.approx(0.0, abs=1e-9)  # stable where exp would overflow


def test_a_remote_or_scripted_engine_cannot_be_measured() -> None:
    with pytest.raises(UsageError, match="local GGUF"):
        run_bench(FakeEngine(), SMALL)
    with pytest.raises(UsageError, match="local GGUF"):
        perplexity(FakeEngine(), texts=["hello there"])


@pytest.mark.model
def test_bench_reports_every_test_with_positive_speeds() -> None:
    engine = one_thread(context=64)
    report = run_bench(engine, replace(SMALL, depths=(0, 40, 5000)))
    engine.close()

    assert [r.test for r in report.results] == ["pp24", "tg6", "pp24 @ d40", "tg6 @ d40"]
    assert report.skipped_depths == [5000]  # the context cannot hold it
    assert report.load_s > 0 and report.model_params > 0 and report.model_size_bytes > 0
    assert report.busy_elsewhere is not None and report.busy_elsewhere >= 0  # Linux: /proc/stat
    for result in report.results:
        assert len(result.samples) == 2 and all(s > 0 for s in result.samples)
        assert result.tokens_per_s == pytest.approx(sum(result.samples) / 2)
        assert result.stdev >= 0


@pytest.mark.model
def test_the_models_own_greedy_text_is_less_perplexing_than_its_words_shuffled() -> None:
    engine = one_thread(context=256)
    ask = [ChatMessage("user", "Write a short story about a lighthouse keeper.")]
    greedy = SamplingParams(temperature=0.0, seed=1, max_tokens=160)
    text = "".join(e.text for e in engine.stream(ask, greedy) if isinstance(e, TextDelta))
    words = text.split()
    random.Random(7).shuffle(words)
    windows = Windows(64, 32)

    own = perplexity(engine, texts=[text], windows=windows)
    shuffled = perplexity(engine, texts=[" ".join(words)], windows=windows)
    engine.close()

    assert len(words) > 40, text
    assert math.isfinite(own.perplexity) and math.isfinite(shuffled.perplexity)
    assert own.tokens > 100
    assert own.perplexity < shuffled.perplexity


@pytest.mark.model
def test_conversations_score_only_the_assistant_turns_and_their_ends() -> None:
    engine = one_thread(context=128)
    engine.load()
    conversation = [
        ChatMessage("system", "You are terse."),
        ChatMessage("user", "What is the capital of France?"),
        ChatMessage("assistant", "Paris is the capital of France."),
        ChatMessage("user", "And of Spain?"),
        ChatMessage("assistant", "Madrid."),
    ]
    answers = [m.content for m in conversation if m.role == "assistant"]
    expected = sum(len(engine.tokenize_prompt(answer)) + 1 for answer in answers)  # + end of turn

    (sequence,) = conversation_tokens(engine, conversation)
    result = perplexity(engine, conversations=[conversation], windows=Windows(64, 32))
    scored_text = b"".join(
        engine.vocabulary.spelled(t)
        for t, s in zip(sequence.tokens, sequence.scored, strict=True)
        if s
    ).decode()
    engine.close()

    assert scored_text == "Paris is the capital of France.<|im_end|>Madrid.<|im_end|>"
    assert result.tokens == sequence.count == expected
    assert math.isfinite(result.perplexity)


@pytest.mark.model
def test_a_window_larger_than_the_context_is_a_usage_error() -> None:
    engine = one_thread(context=128)
    with pytest.raises(UsageError, match="larger than the context"):
        perplexity(engine, texts=["a few words of text " * 10], windows=Windows(512, 256))
    engine.close()


@pytest.mark.model
def test_a_conversation_the_chat_template_refuses_is_named() -> None:
    refusing = "{% if messages %}{{ raise_exception('roles must alternate') }}{% endif %}"
    engine = LlamaEngine(replace(one_thread(context=128).options, chat_template=refusing))
    conversation = [ChatMessage("user", "hi"), ChatMessage("assistant", "hello")]

    with pytest.raises(
        ChatcliError, match=r"conversation 1: .*refused the conversation: roles must alternate"
    ):
        perplexity(engine, conversations=[conversation])
    engine.close()
