from __future__ import annotations

from collections.abc import Sequence

import pytest
from fakes import FakeEngine

from chatcli.core.budget import Turn, fit_to_context, reply_reserve
from chatcli.core.planning import turns_of
from chatcli.engine.base import ChatMessage
from chatcli.errors import ContextOverflowError
from chatcli.store.records import MessageRecord

count = FakeEngine().count_tokens


def turn(n: int, words: int = 10, pinned: bool = False) -> Turn:
    return Turn(
        (
            ChatMessage("user", " ".join([f"u{n}"] * words)),
            ChatMessage("assistant", " ".join([f"a{n}"] * words)),
        ),
        pinned,
    )


def test_everything_fits_nothing_dropped() -> None:
    budget = fit_to_context(
        ChatMessage("system", "s"),
        [turn(1)],
        ChatMessage("user", "new"),
        count_tokens=count,
        context_length=1000,
        max_tokens=100,
    )
    assert budget.dropped_messages == 0
    assert len(budget.messages) == 4
    assert budget.prompt_tokens == count(budget.messages)


@pytest.mark.parametrize("turns", [3, 10, 40])
def test_drops_oldest_whole_turns_in_one_large_step(turns: int) -> None:
    history = [turn(i) for i in range(turns)]
    budget = fit_to_context(
        ChatMessage("system", "s"),
        history,
        ChatMessage("user", "new"),
        count_tokens=count,
        context_length=300,
        max_tokens=50,
    )
    room = 250
    if (
        count([budget.messages[0], *[m for t in history for m in t.messages], budget.messages[-1]])
        <= room
    ):
        assert budget.dropped_messages == 0
        return
    assert budget.prompt_tokens <= room * 0.75  # dropped well below the limit, not just under it
    kept = budget.messages[1:-1]
    assert len(kept) % 2 == 0  # never splits a turn
    dropped_turns = budget.dropped_messages // 2
    assert kept == [m for t in history[dropped_turns:] for m in t.messages]
    one_more = [budget.messages[0], *history[dropped_turns - 1].messages, *budget.messages[1:]]
    assert count(one_more) > room * 0.75  # and no more than needed for that


def test_falls_back_to_just_fitting_when_the_large_step_is_impossible() -> None:
    history = [turn(0, words=10)]
    budget = fit_to_context(
        None,
        history,
        ChatMessage("user", " ".join(["w"] * 70)),
        count_tokens=count,
        context_length=150,
        max_tokens=50,
    )
    assert budget.dropped_messages == 2
    assert 75 < budget.prompt_tokens <= 100


def test_pinned_turn_is_kept_while_newer_ones_drop() -> None:
    history = [turn(0, pinned=True), *[turn(i) for i in range(1, 8)]]
    budget = fit_to_context(
        None,
        history,
        ChatMessage("user", "new"),
        count_tokens=count,
        context_length=130,
        max_tokens=50,
    )
    assert budget.messages[0].content.startswith("u0")
    assert budget.dropped_messages > 0


def test_overflow_names_token_counts() -> None:
    expected = r"your message \(with the system prompt\) takes \d+ tokens but only 32 fit"
    with pytest.raises(ContextOverflowError, match=expected):
        fit_to_context(
            None,
            [],
            ChatMessage("user", "x " * 100),
            count_tokens=count,
            context_length=64,
            max_tokens=32,
        )


def test_reply_reserve_defaults_to_a_quarter_capped() -> None:
    assert reply_reserve(2048, None) == 512
    assert reply_reserve(32768, None) == 1024
    assert reply_reserve(2048, 100) == 100
    assert reply_reserve(512, 4000) == 256


def test_turns_start_at_each_user_message_and_are_pinned_if_any_part_is() -> None:
    records = [
        MessageRecord("1", "s", None, "user", "a", 0.0),
        MessageRecord("2", "s", "1", "assistant", "b", 0.0, pinned=True),
        MessageRecord("3", "s", "2", "user", "c", 0.0),
    ]
    turns = turns_of(records, {})
    assert [len(t.messages) for t in turns] == [2, 1]
    assert turns[0].pinned and not turns[1].pinned
    assert [len(t.messages) for t in turns_of(records, {}, only_pinned=True)] == [2]


@pytest.mark.parametrize("seed", range(5))
def test_a_drop_counts_a_few_times_and_still_drops_the_fewest(seed: int) -> None:
    import random

    rng = random.Random(seed)
    history = [turn(i, words=rng.randint(2, 60)) for i in range(300)]
    calls: list[int] = []

    def counting(messages: Sequence[ChatMessage]) -> int:
        calls.append(1)
        return count(messages)

    system, new = ChatMessage("system", "s"), ChatMessage("user", "new")
    budget = fit_to_context(
        system, history, new, count_tokens=counting, context_length=2000, max_tokens=100
    )

    target = int((2000 - 100) * 0.75)
    fewest = next(
        drop
        for drop in range(1, len(history) + 1)
        if count([system, *[m for t in history[drop:] for m in t.messages], new]) <= target
    )
    assert budget.dropped_turns == fewest
    assert len(calls) <= 8  # a bisection over 300 turns counts 2 + 9 = 11 times
