"""Talking to an OpenAI-compatible server: models, token counts, streamed chats, failures.

Token counts are exact where the server renders the chat template and tokenizes
(vLLM's ``/tokenize`` with messages; llama-server's ``/apply-template`` then ``/tokenize``);
elsewhere they are an estimate: the server's plain tokenizer where it has one
(llama-cpp-python's ``/extras/tokenize``) plus a per-message allowance, else characters / 3.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal

from chatcli.engine.base import ChatMessage
from chatcli.engine.params import SamplingParams
from chatcli.errors import RemoteError

PER_MESSAGE_ESTIMATE = 8
"""Tokens allowed per message for the chat template's markers, when estimating."""
CHARS_PER_TOKEN = 3.0
"""Characters per token when the server cannot tokenize at all (a cautious figure)."""

Counting = Literal["exact", "estimated"]


@dataclass(frozen=True)
class Chunk:
    """One streamed piece of a reply."""

    text: str = ""
    finish_reason: str | None = None
    usage: dict[str, int] | None = None


class RemoteClient:
    """The ``openai`` client plus the few non-OpenAI routes servers offer for tokenizing."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.root = self.base_url.removesuffix("/v1")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.model = ""
        self.model_ids: list[str] = []
        self.context_length: int | None = None
        self.counting: Counting = "estimated"
        self._count: Any = None
        self._openai: Any = None

    def connect(self, model: str, max_retries: int) -> None:
        """List the server's models, pick ``model`` (or the first) and find how to count."""
        import openai

        self._openai = openai.OpenAI(
            base_url=self.base_url,
            api_key=self.api_key,
            timeout=self.timeout_s,
            max_retries=max_retries,
        )
        try:
            listed = self._openai.models.list().data
        except Exception as error:
            raise remote_failure(error, self.base_url) from None
        ids = [entry.id for entry in listed]
        self.model_ids = ids
        if model and model not in ids and ids:
            raise RemoteError(f"{self.base_url} has no model '{model}' (it has: {', '.join(ids)})")
        self.model = model or (ids[0] if ids else "")
        chosen = next((entry for entry in listed if entry.id == self.model), None)
        self.context_length = _context_of(chosen) or self._props_context()
        self._count, self.counting = self._counter()

    def _props_context(self) -> int | None:
        """llama-server says its context size at ``/props``."""
        data = self._get_json(f"{self.root}/props")
        settings = data.get("default_generation_settings", {}) if data else {}
        value = settings.get("n_ctx") if isinstance(settings, dict) else None
        return value if isinstance(value, int) and value > 0 else None

    def _counter(self) -> tuple[Any, Counting]:
        probe = [ChatMessage("user", "hi")]
        for counter, kind in (
            (self._count_vllm, "exact"),
            (self._count_llama_server, "exact"),
            (self._count_plain_tokenizer, "estimated"),
        ):
            with suppress(Exception):
                if counter(probe) > 0:
                    return counter, kind  # type: ignore[return-value]
        return rough_count, "estimated"

    def count(self, messages: Sequence[ChatMessage]) -> int:
        """The prompt's size in tokens (see ``counting`` for whether it is exact)."""
        try:
            return int(self._count(messages))
        except Exception as error:
            raise remote_failure(error, self.base_url) from None

    def _count_vllm(self, messages: Sequence[ChatMessage]) -> int:
        body = {"model": self.model, "messages": _payload(messages), "add_generation_prompt": True}
        return int(self._post_json(f"{self.root}/tokenize", body)["count"])

    def _count_llama_server(self, messages: Sequence[ChatMessage]) -> int:
        prompt = self._post_json(f"{self.root}/apply-template", {"messages": _payload(messages)})
        tokens = self._post_json(f"{self.root}/tokenize", {"content": prompt["prompt"]})
        return len(tokens["tokens"])

    def _count_plain_tokenizer(self, messages: Sequence[ChatMessage]) -> int:
        text = "\n".join(f"{m.role}: {m.content}" for m in messages)
        tokens = self._post_json(f"{self.root}/extras/tokenize", {"input": text})["tokens"]
        return len(tokens) + PER_MESSAGE_ESTIMATE * (len(messages) + 1)

    # The tokenizing routes are not OpenAI's, so the stdlib does them: two small JSON calls
    # need no second HTTP client library.
    def _post_json(self, url: str, body: dict[str, Any]) -> Any:
        return self._json(
            urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
        )

    def _get_json(self, url: str) -> Any:
        with suppress(Exception):
            return self._json(urllib.request.Request(url))
        return None

    def _json(self, request: urllib.request.Request) -> Any:
        request.add_header("Authorization", f"Bearer {self.api_key}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            return json.loads(response.read())

    def chat_stream(
        self, messages: Sequence[ChatMessage], params: SamplingParams, max_retries: int
    ) -> _Stream:
        """Start a streamed chat completion (retried, before the first token, by the client)."""
        try:
            stream = self._openai.with_options(max_retries=max_retries).chat.completions.create(
                model=self.model,
                messages=_payload(messages),
                stream=True,
                stream_options={"include_usage": True},
                **_sampling(params),
            )
        except Exception as error:
            raise remote_failure(error, self.base_url) from None
        return _Stream(stream)

    def close(self) -> None:
        """Close the client's connections."""
        if self._openai is not None:
            self._openai.close()


class _Stream:
    """The openai stream as chunks; ``close`` drops the connection (a cancel)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.events = 0
        """Events received (none at all: not an OpenAI-style server)."""

    def __iter__(self) -> Iterator[Chunk]:
        for event in self._stream:
            self.events += 1
            usage = event.usage.model_dump() if getattr(event, "usage", None) else None
            choice = event.choices[0] if event.choices else None
            text = (choice.delta.content or "") if choice and choice.delta else ""
            yield Chunk(text, choice.finish_reason if choice else None, usage)

    def close(self) -> None:
        with suppress(Exception):
            self._stream.close()


def _payload(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _sampling(params: SamplingParams) -> dict[str, Any]:
    """The OpenAI fields, plus the ones vLLM and llama-server take in the body."""
    values: dict[str, Any] = {"temperature": params.temperature, "top_p": params.top_p}
    if params.max_tokens is not None:
        values["max_tokens"] = params.max_tokens
    if params.seed is not None:
        values["seed"] = params.seed
    if params.stop:
        values["stop"] = list(params.stop)
    values["extra_body"] = {
        "top_k": params.top_k,
        "min_p": params.min_p,
        "repeat_penalty": params.repeat_penalty,
    }
    return values


def _context_of(entry: Any) -> int | None:
    """VLLM lists ``max_model_len`` with each model."""
    value = getattr(entry, "max_model_len", None) if entry is not None else None
    return value if isinstance(value, int) and value > 0 else None


def rough_count(messages: Sequence[ChatMessage]) -> int:
    """A cautious size of ``messages`` from characters alone (no server needed)."""
    chars = sum(len(m.content) for m in messages)
    return int(chars / CHARS_PER_TOKEN) + PER_MESSAGE_ESTIMATE * (len(messages) + 1)


def remote_failure(error: BaseException, url: str, *, mid_stream: bool = False) -> RemoteError:
    """One clear line for whatever went wrong talking to the server (exit code 7)."""
    import openai

    if mid_stream:
        return RemoteError(
            f"the reply from {url} broke off ({_short(error)}); the part received was kept"
        )
    if isinstance(error, openai.APITimeoutError):
        return RemoteError(f"{url} did not answer in time")
    if isinstance(error, openai.APIConnectionError):
        return RemoteError(f"cannot reach {url} ({_short(error.__cause__ or error)})")
    if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
        return RemoteError(
            f"{url} refused the API key ({error.status_code}); set it in the endpoint's "
            "api_key_env variable or CHATCLI_API_KEY"
        )
    if isinstance(error, openai.RateLimitError):
        return RemoteError(f"{url} is limiting requests (429); try again later")
    if isinstance(error, openai.NotFoundError):
        return RemoteError(f"{url} has no such route or model (404)")
    if isinstance(error, openai.APIStatusError):
        return RemoteError(f"{url} failed ({error.status_code}): {_short(error)}")
    return RemoteError(f"{url} did not answer like an OpenAI-compatible server ({_short(error)})")


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:159] + "…"
