"""Perplexity of a local model on text, or on the assistant turns of conversations.

Texts are evaluated in windows of ``window`` tokens that start every ``stride`` tokens: each
token is scored once, in the first window that holds it past the part the previous window
already scored, so every scored token but those of the first window sees at least
``window - stride`` tokens before it. Logits are asked for only at the positions that are
scored (a window of 512 tokens over the default model's 49,152-token vocabulary is ~100 MB
of logits at most, where the whole context's would be 1.6 GB), and turned into log
probabilities with numpy.

Conversations are rendered with the model's chat template; only the tokens of assistant
turns (their text and the end-of-turn token that closes each) are scored, with the rest as
context.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import llama_cpp
import numpy as np
import numpy.typing as npt
from jinja2 import TemplateError

from chatcli.engine.base import ChatMessage
from chatcli.engine.batches import SequenceDecoder, local_model
from chatcli.errors import ChatcliError, ModelError, UsageError

if TYPE_CHECKING:
    from chatcli.engine.base import Engine
    from chatcli.engine.llama import LlamaEngine


ROWS_AT_ONCE = 64
"""Logits rows turned into log probabilities together."""


@dataclass(frozen=True)
class ScoredTokens:
    """A token sequence and which of its tokens count."""

    tokens: list[int]
    scored: list[bool]
    """``scored[i]``: token i is predicted and counted (never the first token)."""

    @property
    def count(self) -> int:
        """How many tokens are scored."""
        return sum(self.scored[1:])


@dataclass(frozen=True)
class Windows:
    """How texts are cut for evaluation."""

    size: int = 512
    """Tokens evaluated together."""
    stride: int = 256
    """Tokens between the starts of two windows (each token then sees size - stride before it)."""

    def __post_init__(self) -> None:
        if not 0 < self.stride <= self.size:
            raise UsageError(f"the stride must be 1 to the window ({self.size}), not {self.stride}")


@dataclass(frozen=True)
class PerplexityResult:
    """What one model scored."""

    model: str
    tokens: int
    """Tokens scored."""
    total_nll: float
    """Sum of their negative log-likelihoods, in nats."""
    seconds: float
    """Time spent evaluating."""

    @property
    def mean_nll(self) -> float:
        """Mean negative log-likelihood per scored token, in nats."""
        return self.total_nll / self.tokens

    @property
    def perplexity(self) -> float:
        """exp(mean NLL)."""
        return math.exp(self.mean_nll)

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return {
            "model": self.model,
            "tokens": self.tokens,
            "mean_nll": self.mean_nll,
            "perplexity": self.perplexity,
            "seconds": self.seconds,
        }


Progress = Callable[[int, int], None]
"""Told (tokens scored so far, tokens to score) after every window."""


def text_tokens(engine: LlamaEngine, text: str) -> ScoredTokens:
    """Plain text: every token after the first is scored (its markup is not special)."""
    tokens: list[int] = engine.llama.tokenize(text.encode("utf-8"), add_bos=True, special=False)
    return ScoredTokens(tokens, [index > 0 for index in range(len(tokens))])


def conversation_tokens(engine: LlamaEngine, messages: Sequence[ChatMessage]) -> list[ScoredTokens]:
    """A conversation with only its assistant turns scored.

    Usually one sequence; a template that renders earlier turns differently once a later turn
    follows (some drop old reasoning) gives each assistant turn a sequence of its own.
    """
    whole = engine.render_conversation(messages)
    turns = [i for i, message in enumerate(messages) if message.role == "assistant"]
    apart = [i for i in turns if not whole.startswith(engine.render(messages[: i + 1]))]
    together = [i for i in turns if i not in apart]
    sequences = [_mark_turns(engine, messages, whole, together)] if together else []
    for index in apart:
        upto = messages[: index + 1]
        sequences.append(_mark_turns(engine, upto, engine.render_conversation(upto), [index]))
    return sequences


def _mark_turns(
    engine: LlamaEngine, messages: Sequence[ChatMessage], whole: str, turns: list[int]
) -> ScoredTokens:
    """``whole`` tokenized, with the tokens of the assistant ``turns`` marked.

    A turn's tokens are found by tokenizing the text up to its start and up to its end: the
    tokens ``whole`` shares with each. The end-of-generation token right after is the turn's.
    """
    tokens = engine.tokenize_prompt(whole)
    scored = [False] * len(tokens)
    vocab = engine.llama._model.vocab
    for index in turns:
        before = engine.render(messages[:index])
        begin = _shared(tokens, engine.tokenize_prompt(before))
        end = _shared(tokens, engine.tokenize_prompt(before + messages[index].content))
        if end < len(tokens) and llama_cpp.llama_vocab_is_eog(vocab, tokens[end]):
            end += 1
        for position in range(max(begin, 1), end):
            scored[position] = True
    return ScoredTokens(tokens, scored)


def _shared(tokens: list[int], prefix: list[int]) -> int:
    """How many tokens at the start of ``tokens`` are those of ``prefix``."""
    count = 0
    for mine, theirs in zip(tokens, prefix, strict=False):
        if mine != theirs:
            break
        count += 1
    return count


def perplexity(
    engine: Engine,
    texts: Sequence[str] = (),
    conversations: Sequence[Sequence[ChatMessage]] = (),
    windows: Windows = Windows(),
    progress: Progress | None = None,
) -> PerplexityResult:
    """Load ``engine`` and score ``texts`` (every token) and ``conversations`` (assistant turns)."""
    model = local_model(engine, "eval")
    sequences = [text_tokens(model, text) for text in texts]
    for number, messages in enumerate(conversations, 1):
        try:
            sequences.extend(conversation_tokens(model, messages))
        except ModelError as error:  # the sandboxed template refused it, or went past a bound
            raise ChatcliError(f"conversation {number}: {error.message}") from None
        except (TemplateError, ValueError) as error:
            raise ChatcliError(
                f"the chat template refuses conversation {number}: {error}"
            ) from None
    total = sum(sequence.count for sequence in sequences)
    if total == 0:
        raise ChatcliError("nothing to score: the data has fewer than two tokens")
    started = time.perf_counter()
    with SequenceDecoder(model) as decoder:
        if windows.size > decoder.context_size:
            raise UsageError(
                f"the window ({windows.size} tokens) is larger than the context "
                f"({decoder.context_size}); use a larger --ctx or a smaller --window"
            )
        scorer = _Scorer(decoder, windows, total, progress or (lambda _done, _total: None))
        for sequence in sequences:
            scorer.score(sequence)
    return PerplexityResult(
        model.load().model_name, scorer.done, scorer.total_nll, time.perf_counter() - started
    )


def window_plan(scored: Sequence[bool], windows: Windows) -> Iterator[tuple[int, list[int]]]:
    """The windows worth evaluating: (first position, the positions it scores).

    A window starts every ``windows.stride`` positions and holds ``windows.size`` tokens, so it
    predicts the token after each of them; it scores the marked positions past those the
    windows before it covered. Windows that would score nothing are left out.
    """
    scored_until = 1  # the first token has nothing before it
    length = len(scored)
    for begin in range(0, max(length - 1, 1), windows.stride):
        end = min(begin + windows.size + 1, length)  # exclusive end of what it predicts
        targets = [t for t in range(scored_until, end) if scored[t]]
        scored_until = end
        if targets:
            yield begin, targets
        if end == length:
            break


class _Scorer:
    """Adds up the negative log-likelihood of the scored tokens, window by window."""

    def __init__(
        self, decoder: SequenceDecoder, windows: Windows, total: int, progress: Progress
    ) -> None:
        self.decoder = decoder
        self.windows = windows
        self.total = total
        self.progress = progress
        self.done = 0
        self.total_nll = 0.0

    def score(self, sequence: ScoredTokens) -> None:
        """Evaluate every window of ``sequence`` that has tokens to score."""
        for begin, targets in window_plan(sequence.scored, self.windows):
            self._window(sequence.tokens[begin : targets[-1]], begin, targets, sequence.tokens)

    def _window(self, inputs: list[int], begin: int, targets: list[int], tokens: list[int]) -> None:
        self.decoder.forget_from(0)
        wanted = [t - 1 - begin for t in targets]
        for indexes, rows in self.decoder.outputs(inputs, 0, wanted):
            expected = np.array([tokens[begin + i + 1] for i in indexes])
            # A few rows at a time: float64 copies of 512 rows would be another ~400 MB.
            for first in range(0, len(indexes), ROWS_AT_ONCE):
                part = slice(first, first + ROWS_AT_ONCE)
                nll = negative_log_likelihoods(rows[part], expected[part])
                self.total_nll += float(nll.sum())
            self.done += len(indexes)
        self.progress(self.done, self.total)


def negative_log_likelihoods(
    logits: npt.NDArray[np.float32], expected: npt.NDArray[np.int_]
) -> npt.NDArray[np.float64]:
    """-log softmax(logits)[expected] for each row, computed stably in float64."""
    rows = logits.astype(np.float64)
    peak = rows.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(rows - peak).sum(axis=1)) + peak[:, 0]
    chosen = rows[np.arange(len(expected)), expected]
    result: npt.NDArray[np.float64] = log_total - chosen
    return result
