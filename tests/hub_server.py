"""A model hub on 127.0.0.1 for the download tests, answering as huggingface.co does.

``HEAD``/``GET /{repo}/resolve/{revision}/{file}`` with ``X-Repo-Commit``, ``X-Linked-Etag``
(an LFS file's sha256), ``X-Linked-Size`` and HTTP Range requests; or fails in a chosen way.
Point ``HF_ENDPOINT`` at it. The file it serves is a small GGUF written with the gguf package.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def write_small_gguf(path: Path, context_length: int = 2048, elements: int = 64 * 1024) -> Path:
    """A valid GGUF (256 KB by default): llama metadata, a chat template, one F32 tensor."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(context_length)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_chat_template("{% for m in messages %}{{ m['content'] }}\n{% endfor %}")
    writer.add_string("general.license", "apache-2.0")
    writer.add_tensor("token_embd.weight", np.arange(elements, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@dataclass
class Hub:
    """What the hub serves and how it behaves; the tests change it between requests."""

    body: bytes
    fail_status: int | None = None
    """Answer every request with this status."""
    error_code: str | None = None
    """The ``X-Error-Code`` header of a failure (EntryNotFound, GatedRepo...)."""
    etag: str | None = None
    """The sha256 the hub claims (default: the body's own)."""
    cut_after: int | None = None
    """Close the connection after sending this many bytes of a GET body..."""
    cuts_left: int = 0
    """...this many times (then serve normally)."""
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(method, path, Range header) of every request."""
    agents: list[str] = field(default_factory=list)
    """The User-Agent of every request."""
    url: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def gets(self) -> list[tuple[str, str, str | None]]:
        """The GETs of files (huggingface_hub also asks ``/api/...`` for its own ends)."""
        return [r for r in self.requests if r[0] == "GET" and "/resolve/" in r[1]]

    def file_requests(self) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if "/resolve/" in r[1]]


class _Handler(BaseHTTPRequestHandler):
    hub: Hub
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def _answer(self, send_body: bool) -> None:
        hub = self.hub
        hub.requests.append((self.command, self.path, self.headers.get("Range")))
        hub.agents.append(self.headers.get("User-Agent", ""))
        if "/resolve/" not in self.path:
            self._fail(404, "RepoNotFound")
            return
        if hub.fail_status is not None:
            self._fail(hub.fail_status, hub.error_code)
            return
        start = _range_start(self.headers.get("Range"))
        body = hub.body[start:]
        self.send_response(206 if start else 200)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("X-Linked-Etag", f'"{hub.etag or hub.sha256}"')
        self.send_header("ETag", '"0000000000000000000000000000000000000000"')
        self.send_header("X-Linked-Size", str(len(hub.body)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(hub.body) - 1}/{len(hub.body)}")
        self.end_headers()
        if not send_body:
            return
        if hub.cuts_left and hub.cut_after is not None:
            hub.cuts_left -= 1
            self.wfile.write(body[: hub.cut_after])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def _fail(self, status: int, error_code: str | None) -> None:
        message = b'{"error": "no"}'
        self.send_response(status)
        if error_code:
            self.send_header("X-Error-Code", error_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(message)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(message)


def _range_start(header: str | None) -> int:
    if not header or not header.startswith("bytes="):
        return 0
    return int(header.removeprefix("bytes=").split("-")[0] or 0)


@contextmanager
def fake_hub(body: bytes) -> Iterator[Hub]:
    """A hub serving ``body`` for every file of every repository, until the block ends."""
    hub = Hub(body)
    handler = type("Handler", (_Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
