"""The record of how one reply went through the model, kept so that it can be replayed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def prompt_digest(tokens: Sequence[int]) -> str:
    """The sha256 of a prompt's token ids (how a replay checks it rebuilt the same prompt)."""
    import hashlib  # its OpenSSL binding costs ~4 ms at start-up, needed only here

    return hashlib.sha256(",".join(map(str, tokens)).encode()).hexdigest()


@dataclass(frozen=True)
class Evaluation:
    """How one reply went through the model, so that it can be replayed bit for bit.

    A prompt evaluated in one batch does not give the same bits as one built up piece by
    piece, so the record keeps the pieces: the context it started from (``base``, the reply
    that left it, of which ``kept`` tokens were reused), the prompt tokens evaluated after
    that, in ``pieces`` batches, and the sampled tokens, ``fed_back`` of which were
    evaluated one at a time.
    """

    id: str
    """This generation's id (a later reply's ``base`` when it reuses this context)."""
    base: str | None
    """The generation whose context held the first ``kept`` tokens (None: nothing reused)."""
    kept: int
    """Prompt tokens already in the context (restored or left by ``base``)."""
    tokens: tuple[int, ...]
    """The prompt's token ids after ``kept``."""
    pieces: tuple[int, ...]
    """Sizes of the batches ``tokens`` were evaluated in, in order."""
    sampled: tuple[int, ...]
    """The reply's token ids, as sampled (end-of-turn left out)."""
    fed_back: int
    """How many of ``sampled`` were evaluated into the context (one at a time)."""
    prompt_sha256: str
    """``prompt_digest`` of the whole prompt."""
    context_length: int
    """The context size the model was configured with (the live one grows up to it)."""
    shifted: bool = False
    """The reused context had turns shifted out of it (not replayable bit for bit)."""
    adapter: str | None = None
    """The LoRA adapter applied (its digest and scale), None without one."""

    def prompt_after(self, context: Sequence[int]) -> list[int]:
        """The whole prompt, given the tokens the context held before this generation."""
        return [*context[: self.kept], *self.tokens]

    def context_after(self, context: Sequence[int]) -> list[int]:
        """The tokens the context held after this generation, given those it held before."""
        evaluated = self.kept + sum(self.pieces)
        return [*self.prompt_after(context)[:evaluated], *self.sampled[: self.fed_back]]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (as stored with the reply)."""
        return {
            "id": self.id,
            "base": self.base,
            "kept": self.kept,
            "tokens": list(self.tokens),
            "pieces": list(self.pieces),
            "sampled": list(self.sampled),
            "fed_back": self.fed_back,
            "prompt_sha256": self.prompt_sha256,
            "context_length": self.context_length,
            "shifted": self.shifted,
            "adapter": self.adapter,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Evaluation:
        """Read ``to_dict``'s form; raises ValueError when it is not that."""
        try:
            return cls(
                id=str(data["id"]),
                base=None if data["base"] is None else str(data["base"]),
                kept=_count(data["kept"]),
                tokens=_ids(data["tokens"]),
                pieces=_ids(data["pieces"]),
                sampled=_ids(data["sampled"]),
                fed_back=_count(data["fed_back"]),
                prompt_sha256=str(data["prompt_sha256"]),
                context_length=_count(data["context_length"]),
                shifted=data.get("shifted") is True,
                adapter=None if data.get("adapter") is None else str(data["adapter"]),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not an evaluation record: {error}") from None


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"{value!r} is not a count")
    return value


def _ids(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise TypeError("token ids must be a list")
    return tuple(_count(item) for item in value)
