"""llama.cpp's own log, sent to Python logging instead of straight to the terminal."""

from __future__ import annotations

import ctypes
import logging
from collections import deque
from typing import Any

import llama_cpp

llama_log = logging.getLogger("chatcli.llama_cpp")

GGML_LOG_LEVEL_ERROR = 4
_CALLBACK: Any = None
_errors: deque[str] = deque(maxlen=1)


def route_llama_log(verbose: bool) -> None:
    """Send llama.cpp's log to the ``chatcli.llama_cpp`` logger (debug level), once."""
    global _CALLBACK
    if _CALLBACK is not None:
        return

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def forward(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        # ~2,000 lines per model load: decode only those that are kept (0.9 -> 0.3 µs each)
        if level == GGML_LOG_LEVEL_ERROR:
            _errors.append(_line(text))
        if llama_log.isEnabledFor(logging.DEBUG):
            llama_log.debug("%s", _line(text))

    _CALLBACK = forward  # keep a reference: llama.cpp holds only the C pointer
    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))
    if verbose:
        llama_log.setLevel(logging.DEBUG)


def _line(text: bytes) -> str:
    return text.decode("utf-8", errors="replace").rstrip("\n")


def last_llama_error() -> str:
    """The reason in llama.cpp's latest error line ('' if there was none), and forget it."""
    line = _errors.pop() if _errors else ""
    return line.split(": ", 1)[-1].split(": ", 1)[-1] if ": " in line else line
