"""What happens around ``llama_cpp.Llama(...)`` when a model loads.

A first check of the file, llama.cpp's log routed to Python logging, and llama-cpp-python
kept off the chat template.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import llama_cpp
from llama_cpp import llama_chat_format

from chatcli.engine.gguf import MAGIC
from chatcli.errors import ModelError

llama_log = logging.getLogger("chatcli.llama_cpp")


def check_magic(path: Path) -> None:
    """Cheap first check (4 bytes) so llama.cpp is never handed a missing or foreign file."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except IsADirectoryError:
        raise ModelError(f"model path is a directory, not a .gguf file: {path}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if magic != MAGIC:
        raise ModelError(f"not a GGUF model file: {path}")


_LOG_CALLBACK: Any = None


def route_llama_log(verbose: bool) -> None:
    """Send llama.cpp's own log to Python logging instead of straight to the terminal."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def forward(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        llama_log.debug("%s", text.decode("utf-8", errors="replace").rstrip("\n"))

    _LOG_CALLBACK = forward  # keep a reference: llama.cpp holds only the C pointer
    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))
    if verbose:
        llama_log.setLevel(logging.DEBUG)


class _UncompiledTemplate:
    """Stands in for llama-cpp-python's chat formatter while a model loads."""

    def __init__(self, **_options: Any) -> None:
        pass

    def to_chat_handler(self) -> Any:
        """A handler that refuses: chatcli renders prompts itself (engine/template.py)."""
        return _refuse_chat_completion


def _refuse_chat_completion(**_request: Any) -> NoReturn:
    raise ModelError("chat completions go through chatcli's own chat template renderer")


_SWAP = threading.Lock()


@contextlib.contextmanager
def chat_templates_left_to_chatcli() -> Iterator[None]:
    """While ``Llama(...)`` runs, do not let it compile the GGUF's chat templates.

    It compiles each one with its own Jinja environment, which evaluates constant expressions
    while compiling: a template holding ``{{ 'a' * 10**10 }}`` would allocate 10 GB before
    any of chatcli's limits could see it. chatcli renders the template itself, in its
    bounded sandbox, so llama-cpp-python's copy is never needed.
    """
    with _SWAP:
        original = llama_chat_format.Jinja2ChatFormatter
        llama_chat_format.Jinja2ChatFormatter = _UncompiledTemplate  # type: ignore[assignment,misc]
        try:
            yield
        finally:
            llama_chat_format.Jinja2ChatFormatter = original  # type: ignore[misc]
