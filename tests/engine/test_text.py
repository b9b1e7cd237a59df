"""Tests of streamed text: incremental UTF-8 decoding of token pieces, and stop strings."""

from __future__ import annotations

import random

import pytest

from chatcli.engine.text import PieceDecoder, StopScanner

REPLACEMENT = "\ufffd"

# -- PieceDecoder -------------------------------------------------------------------------


def _decoder(pieces: list[bytes]) -> PieceDecoder:
    """A decoder whose token ids are indexes into ``pieces``."""
    return PieceDecoder(lambda token: pieces[token])


def _feed_all(pieces: list[bytes]) -> list[str]:
    decoder = _decoder(pieces)
    return [decoder.feed(token) for token in range(len(pieces))]


def test_ascii_pieces_decode_one_token_at_a_time() -> None:
    assert _feed_all([b"Hel", b"lo", b" world"]) == ["Hel", "lo", " world"]


@pytest.mark.parametrize(
    ("pieces", "char"),
    [
        ([b"\xc3", b"\xa9"], "é"),
        ([b"\xe2", b"\x82\xac"], "€"),
        ([b"\xe2\x82", b"\xac"], "€"),
        ([b"\xf0", b"\x9f", b"\x98", b"\x80"], "😀"),
        ([b"\xf0\x9f", b"\x98\x80"], "😀"),
        ([b"\xf0", b"\x9f\x98\x80"], "😀"),
    ],
)
def test_split_character_waits_until_complete(pieces: list[bytes], char: str) -> None:
    outputs = _feed_all(pieces)

    assert outputs == [""] * (len(pieces) - 1) + [char]


def test_piece_ending_one_character_and_starting_the_next() -> None:
    # "é😀!" as pieces that straddle character boundaries.
    outputs = _feed_all([b"\xc3", b"\xa9\xf0\x9f", b"\x98", b"\x80!"])

    assert outputs == ["", "é", "", "😀!"]


def test_byte_by_byte_stream_never_shows_a_replacement_character() -> None:
    text = "Zoë says 你好 🎉 — ok"
    pieces = [bytes([byte]) for byte in text.encode("utf-8")]
    decoder = _decoder(pieces)

    outputs = [decoder.feed(token) for token in range(len(pieces))]

    assert all(REPLACEMENT not in out for out in outputs)
    assert "".join(outputs) == text
    assert decoder.flush() == ""


def test_same_token_can_repeat() -> None:
    decoder = PieceDecoder({7: b"ha"}.__getitem__)

    assert [decoder.feed(7) for _ in range(3)] == ["ha", "ha", "ha"]


def test_flush_gives_replacement_character_for_an_incomplete_tail() -> None:
    decoder = _decoder([b"ok ", b"\xf0\x9f\x98"])

    assert decoder.feed(0) == "ok "
    assert decoder.feed(1) == ""
    assert decoder.flush() == REPLACEMENT


def test_flush_with_nothing_held_is_empty() -> None:
    decoder = _decoder([b"done"])
    decoder.feed(0)

    assert decoder.flush() == ""


def test_invalid_byte_becomes_a_replacement_character_at_once() -> None:
    assert _feed_all([b"a\xffb"]) == [f"a{REPLACEMENT}b"]


# -- StopScanner --------------------------------------------------------------------------


def _scan(stops: tuple[str, ...], chunks: list[str]) -> tuple[list[str], str, bool]:
    """Feed chunks until a stop; return the outputs, the flush and whether it stopped."""
    scanner = StopScanner(stops)
    outputs = []
    for chunk in chunks:
        outputs.append(scanner.feed(chunk))
        if scanner.stopped:
            break
    return outputs, scanner.flush(), scanner.stopped


def _expected(text: str, stops: tuple[str, ...]) -> str:
    """The text up to the earliest occurrence of any stop string."""
    found = [i for stop in stops if stop and (i := text.find(stop)) >= 0]
    return text[: min(found)] if found else text


@pytest.mark.parametrize("stops", [(), ("",)])
def test_without_stops_text_passes_through(stops: tuple[str, ...]) -> None:
    outputs, rest, stopped = _scan(stops, ["Hello", " <|im_end|>", " there"])

    assert outputs == ["Hello", " <|im_end|>", " there"]
    assert rest == ""
    assert stopped is False


def test_stop_split_across_feeds_is_never_emitted() -> None:
    outputs, rest, stopped = _scan(("<|im_end|>",), ["Hi", " <|im", "_en", "d|> ignored"])

    assert outputs == ["Hi", " ", "", ""]
    assert rest == ""
    assert stopped is True


def test_stop_inside_one_feed_cuts_the_text_there() -> None:
    outputs, rest, stopped = _scan(("###",), ["answer ### and more"])

    assert outputs == ["answer "]
    assert rest == ""
    assert stopped is True


def test_stop_at_the_very_start_emits_nothing() -> None:
    outputs, _, stopped = _scan(("END",), ["E", "N", "D"])

    assert outputs == ["", "", ""]
    assert stopped is True


def test_text_that_starts_like_a_stop_but_diverges_is_emitted_in_full() -> None:
    chunks = ["x <|im", "port this", " <", "|i", "m_st", "art|>"]
    outputs, rest, stopped = _scan(("<|im_end|>",), chunks)

    assert stopped is False
    assert "".join(outputs) + rest == "".join(chunks)
    assert outputs[1] == "<|import this"  # released as soon as it stops matching


def test_flush_releases_text_held_back_at_the_end() -> None:
    outputs, rest, stopped = _scan(("</answer>",), ["done </ans"])

    assert outputs == ["done "]
    assert rest == "</ans"
    assert stopped is False


def test_held_text_can_start_a_second_attempt_at_the_stop() -> None:
    # "<<END": the first "<" is ordinary text once the second "<" arrives.
    outputs, rest, stopped = _scan(("<END",), ["a<", "<", "EN", "D"])

    assert "".join(outputs) == "a<"
    assert rest == ""
    assert stopped is True


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (["a STOP b END c"], "a "),
        (["a END b STOP c"], "a "),
        (["a ST", "OP", " END"], "a "),
        (["a E", "N", "D STOP"], "a "),
    ],
)
def test_earliest_of_several_stops_wins(chunks: list[str], expected: str) -> None:
    outputs, rest, stopped = _scan(("END", "STOP"), chunks)

    assert "".join(outputs) + rest == expected
    assert stopped is True


def test_longest_possible_stop_prefix_is_held() -> None:
    # "\n User" is a prefix of the first stop; " User" alone would only cover the second.
    outputs, rest, _ = _scan(("\n User:", " User:"), ["Hi\n User"])

    assert outputs == ["Hi"]
    assert rest == "\n User"


FRAGMENTS = ["a", "b", " ", "\n", "<", "|", "<|", "end", "|>", "User", ":", "é", "😀"]
RANDOM_STOPS = ("<|end|>", "\nUser:", "😀😀")


@pytest.mark.parametrize("seed", range(40))
def test_random_splits_emit_the_text_cut_at_the_first_stop(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 60)))
    if seed % 4 == 0:  # make sure plenty of cases really contain a stop
        at = rng.randint(0, len(text))
        text = text[:at] + rng.choice(RANDOM_STOPS) + text[at:]
    cuts = sorted(rng.sample(range(1, len(text)), rng.randint(0, max(0, len(text) - 1))))
    chunks = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)], strict=True)]

    outputs, rest, stopped = _scan(RANDOM_STOPS, chunks)

    assert "".join(outputs) + rest == _expected(text, RANDOM_STOPS)
    assert stopped == any(stop in text for stop in RANDOM_STOPS)
    if stopped:
        assert rest == ""


@pytest.mark.parametrize("seed", range(10))
def test_random_splits_agree_with_one_single_feed(seed: int) -> None:
    rng = random.Random(1000 + seed)
    text = "".join(rng.choice(FRAGMENTS) for _ in range(80))
    chunks, start = [], 0
    while start < len(text):
        size = rng.randint(1, 5)
        chunks.append(text[start : start + size])
        start += size

    split_outputs, split_rest, split_stopped = _scan(RANDOM_STOPS, chunks)
    whole_outputs, whole_rest, whole_stopped = _scan(RANDOM_STOPS, [text])

    assert "".join(split_outputs) + split_rest == "".join(whole_outputs) + whole_rest
    assert split_stopped == whole_stopped


def test_result_does_not_depend_on_splits_when_stops_nest() -> None:
    stops = ("abcd", "bc")
    whole, _, _ = _scan(stops, ["xabcd"])
    by_char, _, _ = _scan(stops, list("xabcd"))

    assert "".join(whole) == "x"
    assert "".join(by_char) == "x"


def test_nothing_is_emitted_after_a_stop() -> None:
    decoder = PieceDecoder({0: b"Hi END\xe2"}.__getitem__)
    scanner = StopScanner(("END",))

    shown = scanner.feed(decoder.feed(0))
    assert scanner.stopped
    tail = scanner.feed(decoder.flush()) + scanner.flush()  # what llama.py does at the end

    assert shown + tail == "Hi "
