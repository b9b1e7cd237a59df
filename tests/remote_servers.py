"""Servers on 127.0.0.1 for the remote backend's tests.

``misbehaving_server`` is a small OpenAI-shaped server written for the tests: it answers
``/v1/models`` and streams ``/v1/chat/completions`` as told, or fails in one chosen way.
The real server (llama-cpp-python's own) is started by ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    """What the server does with the next chat request."""

    words: list[str] = field(default_factory=lambda: ["Hello ", "there ", "friend."])
    fail_status: int | None = None
    """Answer the chat request with this HTTP status instead."""
    retry_after: str | None = None
    drop_after: int | None = None
    """Cut the connection after this many words."""
    stall_s: float = 0.0
    """Wait this long before answering."""
    garbage: bool = False
    """Answer with something that is not JSON."""
    chats: int = 0
    """How many chat requests came in."""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    flavour: str = "plain"
    """Which tokenizing routes it offers: "plain" (none), "vllm" or "llama-server"."""
    keys: list[str] = field(default_factory=list)
    """The Authorization header of every chat request."""


def _chunk(text: str | None, finish: str | None = None) -> bytes:
    delta = {"content": text} if text is not None else {}
    event = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "tiny",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(event)}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    behaviour: Behaviour

    def log_message(self, *_args: object) -> None:
        pass

    def do_GET(self) -> None:
        flavour = self.behaviour.flavour
        if self.path.endswith("/v1/models"):
            model: dict[str, object] = {"id": "tiny", "object": "model"}
            if flavour == "vllm":
                model["max_model_len"] = 8192
            self._json(200, {"object": "list", "data": [model]})
        elif self.path == "/props" and flavour == "llama-server":
            self._json(200, {"default_generation_settings": {"n_ctx": 3072}})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self._tokenizing(body):
            return
        if not self.path.endswith("/chat/completions"):
            self._json(404, {"error": "not found"})
            return
        plan = self.behaviour
        plan.chats += 1
        plan.bodies.append(body)
        plan.keys.append(self.headers.get("Authorization", ""))
        time.sleep(plan.stall_s)
        if plan.fail_status is not None:
            headers = {"Retry-After": plan.retry_after} if plan.retry_after else {}
            self._json(plan.fail_status, {"error": {"message": "no"}}, headers)
            return
        if plan.garbage:
            self._raw(200, b"<html>this is not an API</html>", "text/html")
            return
        self._stream(plan)

    def _tokenizing(self, body: dict[str, Any]) -> bool:
        """The tokenizer routes of vLLM and llama-server: one token per word, +2 per message."""
        flavour = self.behaviour.flavour
        if flavour == "vllm" and self.path == "/tokenize":
            words = sum(len(m["content"].split()) + 2 for m in body["messages"])
            self._json(200, {"count": words + 1})
        elif flavour == "llama-server" and self.path == "/apply-template":
            text = " ".join(f"<{m['role']}> {m['content']}" for m in body["messages"])
            self._json(200, {"prompt": text + " <assistant>"})
        elif flavour == "llama-server" and self.path == "/tokenize":
            self._json(200, {"tokens": list(range(len(body["content"].split())))})
        else:
            return False
        return True

    def _stream(self, plan: Behaviour) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for index, word in enumerate(plan.words):
            if plan.drop_after is not None and index == plan.drop_after:
                self.wfile.flush()
                self.connection.shutdown(2)  # the stream breaks off mid-reply
                return
            self.wfile.write(_chunk(word))
            self.wfile.flush()
        self.wfile.write(_chunk(None, "stop"))
        self.wfile.write(b"data: [DONE]\n\n")

    def _json(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(data).encode(), "application/json", headers)

    def _raw(
        self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class _QuietServer(ThreadingHTTPServer):
    """Says nothing when a client hangs up mid-answer.

    The cut-stream tests do that on purpose; socketserver would print the traceback into the
    stderr a test is checking.
    """

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def misbehaving_server() -> Iterator[tuple[str, Behaviour]]:
    """A server on a free loopback port; yields its base URL and its behaviour to change."""
    behaviour = Behaviour()
    handler = type("Handler", (_Handler,), {"behaviour": behaviour})
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", behaviour
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A port nothing listens on now (the server binds it a moment later)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def llama_cpp_server(model_path: str, context: int = 2048) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server on loopback; yields its base URL."""
    import subprocess
    import sys
    import urllib.request

    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            model_path,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(context),
            "--verbose",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:  # polling a process we cannot get an event from
            try:
                urllib.request.urlopen(f"{url}/models", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("llama_cpp.server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
