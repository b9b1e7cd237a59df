"""The context-shift planner: which cached tokens to remove so the rest begins the new prompt."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatcli.engine.kvshift import Shift, plan_shift

SYSTEM = "<|im_start|>system\nBe brief.<|im_end|>\n"


def turn(n: int) -> str:
    asked = f"<|im_start|>user\nFact {n} please<|im_end|>\n"
    return asked + f"<|im_start|>assistant\nFact {n} is é.<|im_end|>\n"


def pieces_of(text: str, size: int = 3) -> list[bytes]:
    """A stand-in tokenizer: fixed-size byte pieces (boundaries may split a character)."""
    data = text.encode()
    return [data[i : i + size] for i in range(0, len(data), size)]


def word_pieces(*parts: str) -> list[bytes]:
    return [part.encode() for part in parts]


def test_dropping_the_oldest_turns_removes_exactly_their_tokens() -> None:
    parts = [SYSTEM, turn(1), turn(2), turn(3), turn(4)]
    cached = "".join(parts)
    prompt = SYSTEM + turn(3) + turn(4) + "<|im_start|>user\nFact 5 please"
    shift = plan_shift(cached, word_pieces(*parts), prompt)
    assert shift == Shift(start=1, end=3, kept_text=SYSTEM + turn(3) + turn(4))
    assert prompt.startswith(shift.kept_text)
    assert shift.removed == 2


def test_removed_stretch_may_start_inside_a_message_when_the_text_agrees() -> None:
    cached = SYSTEM + turn(1) + turn(2)
    prompt = SYSTEM + turn(2) + "<|im_start|>user\nmore"
    shift = plan_shift(cached, pieces_of(cached), prompt)
    assert shift is not None
    pieces = pieces_of(cached)
    kept = b"".join(pieces[: shift.start] + pieces[shift.end :]).decode()
    assert kept == shift.kept_text
    assert prompt.startswith(kept)
    assert shift.start * 3 >= len(SYSTEM.encode()) - 3


def test_a_prompt_that_continues_the_cache_needs_no_shift() -> None:
    cached = SYSTEM + turn(1)
    assert plan_shift(cached, pieces_of(cached), cached + turn(2)) is None


def test_no_shift_when_the_kept_text_is_not_a_tail_of_the_cache() -> None:
    cached = SYSTEM + turn(1) + turn(2)
    edited = SYSTEM + turn(2).replace("Fact 2 is", "Fact two is") + turn(3)
    assert plan_shift(cached, pieces_of(cached), edited) is None


def test_no_shift_when_nothing_would_be_kept_at_the_start() -> None:
    cached = turn(1) + turn(2)
    assert plan_shift(cached, word_pieces(turn(1), turn(2)), turn(2) + turn(3)) is None
    assert plan_shift(cached, word_pieces(turn(1), turn(2)), turn(2) + turn(3), keep_first=0)


def test_no_shift_when_the_boundaries_fall_inside_tokens() -> None:
    parts = [SYSTEM + turn(1)[:5], turn(1)[5:] + turn(2)]
    cached = "".join(parts)
    assert plan_shift(cached, word_pieces(*parts), SYSTEM + turn(2) + turn(3)) is None


def test_pieces_that_do_not_spell_the_cached_text_are_never_trusted() -> None:
    cached = SYSTEM + turn(1) + turn(2)
    wrong = pieces_of(cached)[:-1]
    assert plan_shift(cached, wrong, SYSTEM + turn(2) + turn(3)) is None
    assert plan_shift(cached, [], SYSTEM + turn(2)) is None


@given(
    turns=st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=8),
    dropped=st.integers(min_value=1, max_value=7),
    size=st.integers(min_value=1, max_value=6),
    new=st.text(max_size=10),
)
def test_any_shift_leaves_exactly_the_start_of_the_prompt(
    turns: list[str], dropped: int, size: int, new: str
) -> None:
    dropped = min(dropped, len(turns) - 1)
    messages = [f"<m>{t}</m>" for t in turns]
    cached = SYSTEM + "".join(messages)
    prompt = SYSTEM + "".join(messages[dropped:]) + new
    pieces = pieces_of(cached, size)
    shift = plan_shift(cached, pieces, prompt)
    if shift is not None:
        kept = b"".join(pieces[: shift.start] + pieces[shift.end :])
        assert kept.decode() == shift.kept_text
        assert prompt.startswith(shift.kept_text)
        assert shift.start >= 1 and shift.end > shift.start
