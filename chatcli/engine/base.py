"""The engine seam: the types and the protocol every model backend implements.

Nothing here imports llama_cpp; the chat core, the CLI and the TUI only ever see these types.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from chatcli.engine.evaluation import Evaluation
from chatcli.engine.params import LoraAdapter, SamplingParams

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "interrupted", "error"]


@dataclass(frozen=True)
class ChatMessage:
    """One message as the model sees it."""

    role: Role
    """Who spoke: the system prompt, the user or the model."""
    content: str
    """The text of the message."""


@dataclass(frozen=True)
class Usage:
    """Token counts and timings of one reply."""

    prompt_tokens: int
    """Tokens in the rendered prompt."""
    cached_prompt_tokens: int
    """Prompt tokens that were already in the model's context and were not evaluated again."""
    completion_tokens: int
    """Tokens the model generated."""
    ttft_s: float
    """Seconds from the request to the first generated token."""
    total_s: float
    """Seconds from the request to the end of the reply."""
    seed: int | None = None
    """The seed actually used for sampling."""

    @property
    def gen_tokens_per_s(self) -> float:
        """Generation speed after the first token."""
        gen_s = self.total_s - self.ttft_s
        if self.completion_tokens <= 1 or gen_s <= 0:
            return 0.0
        return (self.completion_tokens - 1) / gen_s


@dataclass(frozen=True)
class TextDelta:
    """A piece of the reply's text, in order."""

    text: str


@dataclass(frozen=True)
class ReplyDone:
    """The end of a reply: why it ended and what it cost."""

    finish_reason: FinishReason
    usage: Usage
    evaluation: Evaluation | None = None
    """How the reply went through the model, for engines that can replay it."""


@dataclass(frozen=True)
class PrefillProgress:
    """Progress through the part of the prompt that was not cached (sent for long prompts)."""

    done: int
    """Prompt tokens evaluated so far."""
    total: int
    """Prompt tokens to evaluate in all."""
    elapsed_s: float
    """Seconds spent evaluating so far."""

    @property
    def eta_s(self) -> float:
        """Estimated seconds until the prompt is processed."""
        if self.done <= 0:
            return 0.0
        return self.elapsed_s / self.done * (self.total - self.done)


StreamEvent = TextDelta | PrefillProgress | ReplyDone


@dataclass(frozen=True)
class EngineCapabilities:
    """What an engine can do, so that the core asks instead of assuming."""

    exact_token_count: bool = True
    """Whether ``count_tokens`` is exact (the model's template and tokenizer) or an estimate."""
    count_margin: float = 0.0
    """With an estimate: the share of the context kept spare so that the prompt still fits."""
    prefix_reuse: bool = False
    """Whether a prompt that starts like the last one skips re-evaluating the shared part."""
    kv_snapshots: bool = False
    """Whether the model's state is saved on disk to resume a session without re-evaluating."""
    lora: bool = False
    """Whether LoRA adapters can be applied."""
    continuation: bool = False
    """Whether a trailing assistant message is continued (see ``Engine.stream``)."""
    replay: bool = False
    """Whether replies carry an ``Evaluation`` and can be re-run bit for bit (``Replaying``)."""


@dataclass(frozen=True)
class EngineInfo:
    """What the engine is running, for status lines, stats and the store."""

    model_name: str
    """Short display name (catalog name or file stem)."""
    model_path: str
    """Where the model came from (file path or server URL)."""
    model_sha256: str | None
    """Digest of the model file, when known."""
    context_length: int
    """Context size in tokens that prompts must fit in."""
    gpu_layers: int = 0
    """Layers offloaded to a GPU (0 = CPU only, -1 = all)."""
    chat_format: str = ""
    """How prompts are rendered (e.g. the GGUF's own Jinja template)."""
    extras: dict[str, str] = field(default_factory=dict)
    """Backend-specific details worth showing (threads, KV type...)."""
    recommended_sampling: dict[str, object] = field(default_factory=dict)
    """Sampling the model's publisher recommends (from the catalog)."""
    capabilities: EngineCapabilities = field(default_factory=EngineCapabilities)
    """What this engine can do."""
    remote: bool = False
    """Whether the model runs on a server (``model_path`` is then its URL)."""


@runtime_checkable
class Engine(Protocol):
    """A loaded (or loadable) model that turns a list of messages into a streamed reply."""

    def load(self) -> EngineInfo:
        """Load the model if it is not loaded yet and describe it. Idempotent."""
        ...

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Exact prompt size: render ``messages`` with the chat template and tokenize it."""
        ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamEvent]:
        """Generate a reply; yield its text as it comes and end with one ``ReplyDone``.

        When the last message is the assistant's (and ``capabilities.continuation``), the
        reply continues that message's text instead of starting a new turn.

        Setting ``cancel`` (or calling ``stop``) ends the reply at the next token with
        finish reason ``"interrupted"``.
        """
        ...

    def stop(self) -> None:
        """Ask the reply in progress, if any, to end at the next token."""
        ...

    def close(self) -> None:
        """Free the model. The engine must not be used afterwards."""
        ...


@runtime_checkable
class AdapterEngine(Protocol):
    """An engine that can apply LoRA adapters (``capabilities.lora``), one at a time."""

    def set_adapter(self, adapter: LoraAdapter | None) -> None:
        """Apply ``adapter`` (None: none) to the replies that follow, keeping the model loaded.

        Raises ModelError when the file is missing, not a LoRA adapter, or made for another
        model; the adapter in use is then unchanged.
        """
        ...


@runtime_checkable
class Replaying(Protocol):
    """An engine that can re-run a recorded reply (``EngineCapabilities.replay``)."""

    def replay(
        self,
        chain: Sequence[Evaluation],
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamEvent]:
        """Re-run the last of ``chain`` as it first ran; stream it like ``Engine.stream``.

        The earlier ones, oldest first, are the generations whose contexts it reused: their
        prompt pieces and sampled tokens are evaluated again as recorded (nothing sampled),
        so that the context holds the same bits. ``params`` carries the recorded seed.
        """
        ...
