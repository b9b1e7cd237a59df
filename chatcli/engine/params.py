"""What a user sets for an engine: how a reply is sampled, and which LoRA adapter applies.

Kept apart from the engine seam (``engine.base``) so that settings, options and ``--help``
read them without building the stream and capability types they do not use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens; ``None`` fields mean "the engine's default"."""

    temperature: float = 0.7
    """Randomness; 0 picks the most likely token every time (greedy)."""
    top_p: float = 0.95
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches this."""
    top_k: int = 40
    """Keep only the k most likely tokens (0 = no limit)."""
    min_p: float = 0.05
    """Drop tokens whose probability is below this share of the best token's."""
    repeat_penalty: float = 1.1
    """Penalty on recently used tokens (1.0 = off)."""
    max_tokens: int | None = None
    """Longest reply in tokens; ``None`` = until the model stops or the context is full."""
    seed: int | None = None
    """Random seed for reproducible replies; ``None`` = a fresh random seed."""
    stop: tuple[str, ...] = ()
    """Strings that end the reply when generated (they are not included)."""

    def as_dict(self) -> dict[str, object]:
        """Return the parameters as a JSON-ready dict."""
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "repeat_penalty": self.repeat_penalty,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "stop": list(self.stop),
        }


@dataclass(frozen=True)
class Knob:
    """How one sampling parameter may be set.

    This is the one declaration the CLI options, config keys, ``CHATCLI_*`` variables and the
    settings screen are derived from (a test checks).
    """

    name: str
    """The SamplingParams field (``--top-p`` on the command line, ``top_p`` in config)."""
    kind: Literal["float", "int", "texts"]
    low: float | None = None
    """Least allowed value (numbers only)."""
    high: float | None = None
    """Largest allowed value (None: no upper bound)."""
    optional: bool = False
    """Whether "not set" (None) is a value of its own (no limit, a random seed)."""
    help: str = ""
    """What to tell a user about it, beyond its name."""

    @property
    def flag(self) -> str:
        """The command-line option."""
        return "--" + self.name.replace("_", "-")

    def problem(self, value: float) -> str | None:
        """Why ``value`` is out of range, or None when it is allowed."""
        if value != value:  # NaN passes every comparison below
            return "nan is not a number"
        if self.low is not None and value < self.low:
            return f"{value} is too small; the least is {_plain(self.low)}"
        if self.high is not None and value > self.high:
            return f"{value} is too large; the most is {_plain(self.high)}"
        return None


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


SAMPLING_KNOBS: tuple[Knob, ...] = (
    Knob("temperature", "float", 0, 2, help="0 = greedy."),
    Knob("top_p", "float", 0, 1),
    Knob("top_k", "int", 0, help="0 = off."),
    Knob("min_p", "float", 0, 1),
    Knob("repeat_penalty", "float", 0, 2, help="1 = off."),
    Knob("max_tokens", "int", 1, optional=True, help="Longest reply in tokens."),
    Knob("seed", "int", 0, optional=True, help="Fixed seed (default: random)."),
    Knob("stop", "texts", help="Stop the reply at this text (repeatable)."),
)
"""Every sampling parameter, in the order they are shown."""


def knob(name: str) -> Knob:
    """The declaration of sampling parameter ``name``."""
    return next(k for k in SAMPLING_KNOBS if k.name == name)


@dataclass(frozen=True)
class LoraAdapter:
    """A LoRA adapter (what fine-tuning produces) applied on top of a model."""

    path: str
    """The adapter's GGUF file (general.type "adapter", adapter.type "lora")."""
    scale: float = 1.0
    """How strongly it applies: 0 = not at all (the base model), 1 = as trained."""
