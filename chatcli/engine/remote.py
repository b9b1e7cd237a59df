"""The remote backend: OpenAI-compatible servers (vLLM, llama.cpp's llama-server, Ollama...).

``--model endpoint:NAME`` uses ``[endpoints.NAME]`` from the config file;
``--model endpoint:URL#MODEL`` (what ``--base-url URL --api-model MODEL`` give) names one
directly. The ``openai`` client streams the reply; it and httpx are imported only when an
engine loads, so ``chatcli --help`` stays fast. The API key is read from the environment when
the engine loads and is never part of a setting, a session, a log line or ``--json``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatcli.engine.base import (
    ChatMessage,
    Engine,
    EngineCapabilities,
    EngineInfo,
    FinishReason,
    ReplyDone,
    StreamEvent,
    TextDelta,
    Usage,
)
from chatcli.engine.params import SamplingParams
from chatcli.engine.registry import BuildRequest
from chatcli.engine.remote_http import Chunk, RemoteClient, remote_failure, rough_count
from chatcli.errors import ConfigError, NotFoundError, RemoteError, UsageError

DEFAULT_CONTEXT = 4096
"""Context size when neither the endpoint's config nor the server says."""
ESTIMATE_MARGIN = 0.1
"""Share of the context kept spare when the prompt's size is an estimate."""


@dataclass
class _Run:
    """What one streamed reply has received so far."""

    started: float
    cancel: threading.Event
    first: float | None = None
    pieces: int = 0
    finish: FinishReason | None = None
    usage: dict[str, int] | None = None


@dataclass(frozen=True)
class RemoteOptions:
    """The ``[remote]`` settings, and the ``[endpoints.NAME]`` tables."""

    timeout_s: float = 60.0
    """Seconds to wait for the server (connecting, and before the first token)."""
    max_retries: int = 2
    """Retries (with backoff, honouring Retry-After) before the first token only."""
    endpoints: dict[str, Any] = field(default_factory=dict)
    """Named endpoints: base_url, model, api_key_env, context_length."""


@dataclass(frozen=True)
class Endpoint:
    """Where one OpenAI-compatible server is and which of its models to use."""

    name: str
    base_url: str
    model: str = ""
    """Model id on the server ('' = the first one it lists)."""
    api_key_env: str | None = None
    """Environment variable holding the API key (else CHATCLI_API_KEY, else none)."""
    context_length: int | None = None

    @classmethod
    def parse(cls, location: str, endpoints: Mapping[str, Any]) -> Endpoint:
        """The endpoint ``location`` names: ``URL#MODEL`` or a configured name."""
        if "://" in location:
            url, _, model = location.partition("#")
            return cls(name=url, base_url=url, model=model)
        table = endpoints.get(location)
        if table is None:
            known = ", ".join(sorted(endpoints)) or "none configured"
            raise NotFoundError(f"unknown endpoint '{location}' (known: {known})")
        allowed = {"base_url", "model", "api_key_env", "context_length"}
        if not isinstance(table, dict) or "base_url" not in table or set(table) - allowed:
            raise ConfigError(
                f"[endpoints.{location}] needs base_url and may set model, api_key_env and "
                "context_length"
            )
        return cls(name=location, **table)

    def api_key(self) -> str:
        """The key from the environment (local servers take any)."""
        if self.api_key_env and os.environ.get(self.api_key_env):
            return os.environ[self.api_key_env]
        return os.environ.get("CHATCLI_API_KEY") or "not-needed"


class RemoteBackend:
    """Builds :class:`RemoteEngine` for ``--model endpoint:...``."""

    name = "remote"
    prefix: str | None = "endpoint"
    options_type = RemoteOptions

    def build(self, request: BuildRequest, options: Any) -> Engine:
        """An unloaded engine for the endpoint ``request.model.location`` names."""
        assert isinstance(options, RemoteOptions)
        if request.lora is not None:
            raise UsageError(
                f"LoRA adapters need a local GGUF model; {request.model.name} runs on a server"
            )
        endpoint = Endpoint.parse(request.model.location, options.endpoints)
        return RemoteEngine(
            endpoint,
            name=request.model.name,
            context_length=request.context_length or endpoint.context_length,
            timeout_s=options.timeout_s,
            max_retries=options.max_retries,
        )


BACKEND = RemoteBackend()


def _unfinished(url: str, events: int, pieces: int) -> RemoteError:
    if events == 0:
        return RemoteError(f"{url} did not answer like an OpenAI-compatible server (no events)")
    return remote_failure(ConnectionError("no end of stream"), url, mid_stream=pieces > 0)


class RemoteEngine:
    """An Engine over an OpenAI-compatible HTTP server."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        name: str,
        context_length: int | None,
        timeout_s: float,
        max_retries: int,
    ) -> None:
        self.endpoint = endpoint
        self.name = name
        self.context_length = context_length
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._client: RemoteClient | None = None
        self._info: EngineInfo | None = None
        self._stop = threading.Event()

    def load(self) -> EngineInfo:
        """Ask the server which models it has and how it counts tokens. Idempotent."""
        if self._info is not None:
            return self._info
        client = RemoteClient(self.endpoint.base_url, self.endpoint.api_key(), self.timeout_s)
        client.connect(self.endpoint.model, self.max_retries)
        self._client = client
        exact = client.counting == "exact"
        self._info = EngineInfo(
            model_name=self._display_name(client.model),
            model_path=self.endpoint.base_url,
            model_sha256=None,
            context_length=self.context_length or client.context_length or DEFAULT_CONTEXT,
            chat_format=f"the server's ({client.model})",
            extras={"server model": client.model, "token counts": client.counting},
            capabilities=EngineCapabilities(
                exact_token_count=exact, count_margin=0.0 if exact else ESTIMATE_MARGIN
            ),
            remote=True,
        )
        return self._info

    def _display_name(self, server_model: str) -> str:
        """A named endpoint's spec; else the server's model id (a file's name, not its path)."""
        if "://" not in self.endpoint.name:
            return self.name
        return server_model.rsplit("/", 1)[-1] or self.endpoint.base_url

    def _ready(self) -> RemoteClient:
        self.load()
        assert self._client is not None
        return self._client

    def served_models(self) -> list[str]:
        """Every model id the server lists."""
        return self._ready().model_ids

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """The prompt's size: exact where the server tokenizes chats, else an estimate.

        An estimate starts with characters / 3 (cautious: more tokens than most text has);
        only a prompt that might fill half the context is sent to the server's tokenizer.
        Measured (benchmarks/bench_remote.py): time to first token 1.14x of a bare openai
        loop when every count asked the server, 0.91–1.09x with this.
        """
        client = self._ready()
        if client.counting == "estimated":
            rough = rough_count(messages)
            if rough < self.load().context_length // 2:
                return rough
        return client.count(messages)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamEvent]:
        """Stream the server's reply; a cancel closes the HTTP stream at once."""
        client = self._ready()
        self._stop.clear()
        run = _Run(started=time.perf_counter(), cancel=cancel or threading.Event())
        chunks = client.chat_stream(messages, params, self.max_retries)
        try:
            yield from self._relay(chunks, run)
        except RemoteError:
            raise
        except Exception as error:  # anything the client raises mid-stream
            raise remote_failure(error, self.endpoint.base_url, mid_stream=run.pieces > 0) from None
        finally:
            chunks.close()
        if run.finish is None:  # every OpenAI-style stream ends with a finish reason
            raise _unfinished(self.endpoint.base_url, chunks.events, run.pieces)
        yield ReplyDone(run.finish, self._usage(messages, run, params))

    def _relay(self, chunks: Iterable[Chunk], run: _Run) -> Iterator[StreamEvent]:
        for chunk in chunks:
            if run.cancel.is_set() or self._stop.is_set():
                run.finish = "interrupted"
                return
            run.usage = chunk.usage or run.usage
            if chunk.text:
                run.first = run.first or time.perf_counter()
                run.pieces += 1
                yield TextDelta(chunk.text)
            if chunk.finish_reason:
                run.finish = "length" if chunk.finish_reason == "length" else "stop"

    def _usage(self, messages: Sequence[ChatMessage], run: _Run, params: SamplingParams) -> Usage:
        total = time.perf_counter() - run.started
        reported = run.usage or {}
        return Usage(
            prompt_tokens=reported.get("prompt_tokens") or self.count_tokens(messages),
            cached_prompt_tokens=0,
            completion_tokens=reported.get("completion_tokens") or run.pieces,
            ttft_s=(run.first - run.started) if run.first else total,
            total_s=total,
            seed=params.seed,
        )

    def stop(self) -> None:
        """End the reply in progress at the next chunk."""
        self._stop.set()

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._client is not None:
            self._client.close()
            self._client = None
        self._info = None
