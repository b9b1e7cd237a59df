"""Fitting a conversation into the model's context window.

The engine counts tokens exactly (chat template + tokenizer). This module decides which
messages are sent: the system prompt, pinned messages and the newest turns, dropping the
oldest whole turns first. Nothing is deleted from the store; this only chooses what is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatcli.engine.base import ChatMessage
from chatcli.errors import ContextOverflowError

DEFAULT_REPLY_SHARE = 4
"""Without max_tokens, keep a quarter of the context free for the reply..."""
DEFAULT_REPLY_CAP = 1024
"""...but never more than this many tokens."""
DROP_TARGET = 0.75
"""When turns must be dropped, drop enough that the prompt uses at most this share of the room."""


@dataclass(frozen=True)
class Turn:
    """Messages that are kept or dropped together: a user message and the replies to it."""

    messages: tuple[ChatMessage, ...]
    pinned: bool = False


@dataclass(frozen=True)
class Budget:
    """The messages chosen to send and what was left out."""

    messages: list[ChatMessage]
    prompt_tokens: int
    reserved_for_reply: int
    dropped_messages: int
    dropped_turns: int = 0
    """How many of the oldest unpinned turns were left out (the window starts after them)."""


def reply_reserve(context_length: int, max_tokens: int | None) -> int:
    """Tokens to keep free for the reply."""
    if max_tokens:
        return min(max_tokens, context_length // 2)
    return min(context_length // DEFAULT_REPLY_SHARE, DEFAULT_REPLY_CAP)


def fit_to_context(
    system: ChatMessage | None,
    history: Sequence[Turn],
    new_message: ChatMessage,
    *,
    count_tokens: Callable[[Sequence[ChatMessage]], int],
    context_length: int,
    max_tokens: int | None,
    policy: str = "drop-oldest",
    already_dropped: int = 0,
    margin: int = 0,
) -> Budget:
    """Choose the messages to send so that the prompt leaves room for the reply.

    ``already_dropped`` oldest unpinned turns are left out before anything is tried (the
    window start remembered from earlier turns): the prompt's prefix then stays the same from
    one turn to the next, and more turns are dropped only when that no longer fits.

    ``margin`` tokens are kept spare besides the reply's room (for engines whose counts are
    estimates).

    Raises ContextOverflowError when even the system prompt, the pinned turns and the new
    message alone do not fit, or when the policy is "error" and a turn would be dropped.
    """
    reserve = reply_reserve(context_length, max_tokens)
    limit = context_length - reserve - margin
    unpinned = [i for i, turn in enumerate(history) if not turn.pinned]

    tried: dict[int, tuple[list[ChatMessage], int]] = {}

    def attempt(drop: int) -> tuple[list[ChatMessage], int]:
        if drop not in tried:
            gone = set(unpinned[:drop])
            kept = [turn for i, turn in enumerate(history) if i not in gone]
            messages = _assemble(system, kept, new_message)
            tried[drop] = messages, count_tokens(messages)
        return tried[drop]

    def dropped_messages(drop: int) -> int:
        return sum(len(history[i].messages) for i in unpinned[:drop])

    start = min(already_dropped, len(unpinned)) if policy != "error" else 0
    messages, tokens = attempt(start)
    if tokens <= limit:
        return Budget(messages, tokens, reserve, dropped_messages(start), start)
    if policy == "error":
        raise ContextOverflowError(
            f"the conversation is {tokens:,} tokens but only {limit:,} fit "
            f"(context {context_length:,}, {reserve:,} kept for the reply) "
            "and the overflow policy is 'error'"
        )
    # Dropping from the front invalidates the model's cached prefix, so drop in one large step:
    # down to DROP_TARGET of the room, leaving space for the next few turns without another drop.
    everything = attempt(len(unpinned))
    if everything[1] > limit:
        raise _overflow(everything[1], limit, reserve, context_length, len(unpinned) < len(history))
    target = int(limit * DROP_TARGET) if everything[1] <= int(limit * DROP_TARGET) else limit
    sizes = [_size(history[i]) for i in unpinned]
    high, best = _fewest_drops(attempt, sizes, start, (tokens, everything[1]), target)
    return Budget(best[0], best[1], reserve, dropped_messages(high), high)


Attempt = tuple[list[ChatMessage], int]


def _size(turn: Turn) -> int:
    """A turn's length in characters, the unit of the guesses below."""
    return sum(len(message.content) for message in turn.messages)


def _fewest_drops(
    attempt: Callable[[int], Attempt],
    sizes: Sequence[int],
    start: int,
    ends: tuple[int, int],
    target: int,
) -> tuple[int, Attempt]:
    """The fewest oldest turns (more than ``start``) to drop so the prompt fits ``target``.

    Counting is exact but not free (a remote server tokenizes over the network), so each
    guess is arithmetic: between the closest exact counts either side of ``target`` (at first
    ``ends``: ``start`` dropped and all dropped), tokens are shared out by characters. Each
    guess is then counted exactly and narrows the bracket; a guess that narrows it by less
    than half is followed by a plain halving, so it never takes longer than a bisection.
    """
    bracket = [(start, ends[0]), (len(sizes), ends[1])]  # [does not fit, fits]
    interpolate = True
    while bracket[1][0] - bracket[0][0] > 1:
        width = bracket[1][0] - bracket[0][0]
        if interpolate:
            guess = _interpolated(sizes, bracket[0], bracket[1], target)
        else:
            guess = (bracket[0][0] + bracket[1][0]) // 2
        _narrow(bracket, guess, attempt(guess)[1], target)
        # The answer is usually right beside a good guess: count the neighbour across it.
        neighbour = guess - 1 if bracket[1][0] == guess else guess + 1
        if bracket[0][0] < neighbour < bracket[1][0]:
            _narrow(bracket, neighbour, attempt(neighbour)[1], target)
        interpolate = bracket[1][0] - bracket[0][0] <= width // 2
    return bracket[1][0], attempt(bracket[1][0])


def _narrow(bracket: list[tuple[int, int]], drop: int, tokens: int, target: int) -> None:
    """Put an exact count on the side of the bracket where it belongs."""
    bracket[1 if tokens <= target else 0] = (drop, tokens)


def _interpolated(
    sizes: Sequence[int], low: tuple[int, int], high: tuple[int, int], target: int
) -> int:
    """The drop count inside (low, high) where character shares put the prompt at ``target``."""
    (low_drop, low_tokens), (high_drop, high_tokens) = low, high
    chars = sum(sizes[low_drop:high_drop])
    per_char = (low_tokens - high_tokens) / chars if chars else 0.0
    tokens, drop = float(low_tokens), low_drop
    while drop < high_drop - 1 and tokens - sizes[drop] * per_char > target:
        tokens -= sizes[drop] * per_char
        drop += 1
    return drop + 1


def _assemble(
    system: ChatMessage | None, turns: Sequence[Turn], new_message: ChatMessage
) -> list[ChatMessage]:
    messages = [system] if system else []
    for turn in turns:
        messages.extend(turn.messages)
    messages.append(new_message)
    return messages


def _overflow(
    tokens: int, limit: int, reserve: int, context_length: int, pinned_left: bool
) -> ContextOverflowError:
    what = (
        "the system prompt, pinned messages and your message take"
        if pinned_left
        else "your message (with the system prompt) takes"
    )
    return ContextOverflowError(
        f"{what} {tokens:,} tokens but only {limit:,} fit "
        f"(context {context_length:,}, {reserve:,} kept for the reply)"
    )
