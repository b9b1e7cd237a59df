"""A scripted fake engine: replies come from a queue, tokens are whitespace-separated words."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from chatcli.core.events import ReplyFinished
from chatcli.engine.base import (
    ChatMessage,
    EngineCapabilities,
    EngineInfo,
    FinishReason,
    PrefillProgress,
    ReplyDone,
    StreamEvent,
    TextDelta,
    Usage,
)
from chatcli.engine.params import LoraAdapter, SamplingParams
from chatcli.engine.registry import BuildRequest
from chatcli.errors import ModelError

MESSAGE_OVERHEAD = 4  # like "<|im_start|>role\n ... <|im_end|>\n"
GENERATION_PROMPT = 3


def fake_tokens(text: str) -> list[str]:
    """The fake tokenizer: each word plus its following space is one token."""
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + ([words[-1]] if words[-1] else [])


@dataclass
class FakeEngine:
    """Streams scripted replies word by word and records every request."""

    replies: list[str] = field(default_factory=list)
    context_length: int = 4096
    model_name: str = "fake-model"
    token_delay_s: float = 0.0
    gate: threading.Event | None = None
    """If set, generation waits on it after the first token (to test cancelling mid-reply)."""
    requests: list[list[ChatMessage]] = field(default_factory=list)
    responder: Callable[[list[ChatMessage]], str | None] | None = None
    """If set and it returns text, that is the reply (before the queue is used)."""
    params: list[SamplingParams] = field(default_factory=list)
    """The sampling parameters of every request, in order."""
    prefill: list[PrefillProgress] = field(default_factory=list)
    """Prompt-processing progress to report before the first token."""
    prefill_gate: threading.Event | None = None
    """If set, the reply waits on it after reporting ``prefill`` (to look at the progress)."""
    loads: int = 0
    closed: bool = False
    adapter: LoraAdapter | None = None
    """The LoRA adapter applied now (the fake only records it)."""
    adapters_set: list[LoraAdapter | None] = field(default_factory=list)
    """Every adapter ``set_adapter`` was given, in order."""
    replied_with: list[LoraAdapter | None] = field(default_factory=list)
    """The adapter in place for every request, in order."""
    refused_adapters: set[str] = field(default_factory=set)
    """Adapter paths ``set_adapter`` refuses with a ModelError (as a bad file would be)."""
    _stop: threading.Event = field(default_factory=threading.Event)
    first_token_sent: threading.Event = field(default_factory=threading.Event)

    def load(self) -> EngineInfo:
        self.loads += 1
        return EngineInfo(
            model_name=self.model_name,
            model_path="/fake/model.gguf",
            model_sha256="f" * 64,
            context_length=self.context_length,
            chat_format="fake",
            capabilities=EngineCapabilities(continuation=True, lora=True),
        )

    def set_adapter(self, adapter: LoraAdapter | None) -> None:
        if adapter is not None and adapter.path in self.refused_adapters:
            raise ModelError(f"not a LoRA adapter: {adapter.path}")
        self.adapters_set.append(adapter)
        self.adapter = adapter

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return GENERATION_PROMPT + sum(
            MESSAGE_OVERHEAD + len(fake_tokens(m.content)) for m in messages
        )

    def stream(
        self,
        messages: Sequence[ChatMessage],
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamEvent]:
        self._stop.clear()
        self.requests.append(list(messages))
        self.params.append(params)
        self.replied_with.append(self.adapter)
        started = time.perf_counter()
        scripted = self.responder(list(messages)) if self.responder else None
        reply = scripted if scripted is not None else self.replies.pop(0) if self.replies else "OK"
        pieces = fake_tokens(reply)
        if params.max_tokens is not None:
            pieces = pieces[: params.max_tokens]
        finish: FinishReason = "stop" if len(pieces) == len(fake_tokens(reply)) else "length"
        yield from self.prefill
        if self.prefill_gate is not None:
            self.prefill_gate.wait(10)
        sent = 0
        for piece in pieces:
            if (cancel and cancel.is_set()) or self._stop.is_set():
                finish = "interrupted"
                break
            yield TextDelta(piece)
            sent += 1
            self.first_token_sent.set()
            if self.gate is not None:
                self.gate.wait(10)
            if self.token_delay_s:  # on a schedule: a sleep per token overshoots ~0.1 ms
                self._pace(started + sent * self.token_delay_s)
        total = time.perf_counter() - started
        usage = Usage(self.count_tokens(messages), 0, sent, min(total, 0.001), total, params.seed)
        yield ReplyDone(finish, usage)

    @staticmethod
    def _pace(deadline: float) -> None:
        """Sleep until ``deadline``; when late, still release the GIL once, as a model does."""
        time.sleep(max(0.0, deadline - time.perf_counter()))

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class ScriptedOptions:
    """The ``[scripted]`` config section of the test backend."""

    reply: str = "OK"
    """What every reply says (``--model scripted:echo`` repeats the question instead)."""
    context_length: int = 4096
    token_delay_s: float = 0.0


@dataclass
class ScriptedBackend:
    """A second backend, registered through the registry like any other (see conftest)."""

    name: str = "scripted"
    prefix: str | None = "scripted"
    options_type: type = ScriptedOptions
    built: list[FakeEngine] = field(default_factory=list)
    """Every engine built, newest last, so a test can look at what it was asked."""

    def build(self, request: BuildRequest, options: ScriptedOptions) -> FakeEngine:
        echo = request.model.location == "echo"
        engine = FakeEngine(
            context_length=request.context_length or options.context_length,
            model_name=request.model.name,
            token_delay_s=options.token_delay_s,
            responder=(lambda messages: messages[-1].content) if echo else None,
            adapter=request.lora,
        )
        engine.replies = [options.reply] * 1000
        self.built.append(engine)
        return engine


def run_reply(events: Iterable[object]) -> tuple[str, ReplyFinished, list[object]]:
    """Drain a core reply: its text, its one ReplyFinished, and every event in order."""
    seen = list(events)
    text = "".join(e.text for e in seen if isinstance(e, TextDelta))
    finished = [e for e in seen if isinstance(e, ReplyFinished)]
    assert len(finished) == 1
    return text, finished[0], seen


def orphan_streaming_replies(db_path: object) -> None:
    """Forget who writes the streaming replies: as if their writer had died."""
    import sqlite3

    with sqlite3.connect(str(db_path)) as raw:
        raw.execute("DELETE FROM stream_writers")
