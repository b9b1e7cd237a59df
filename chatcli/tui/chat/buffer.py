"""A thread-safe buffer between the generating thread and the UI's drain timer.

Calling into the UI once per token (``call_from_thread``) blocks the generating thread until
the UI has drawn it; pushing into this buffer costs a lock and a list append instead.
"""

from __future__ import annotations

import threading


class TokenBuffer:
    """Text pushed by one thread, taken in batches by another."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []

    def push(self, text: str) -> None:
        """Add text (called from the worker thread)."""
        with self._lock:
            self._parts.append(text)

    def take(self) -> str:
        """Remove and return everything pushed so far (called from the UI)."""
        with self._lock:
            parts, self._parts = self._parts, []
        return "".join(parts)
