"""Iterating a generator on another thread, one item per request, as if it ran here.

llama.cpp must be driven from one thread (see LlamaEngine.stream); callers come from many.
The producer only advances while the caller waits for the next item, so a cancel set between
two items is seen before the next one is made, and closing the caller's iterator closes the
producer's generator at the same point it would have stopped without the hop.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import TypeVar

Item = TypeVar("Item")

_NEXT, _CLOSE = True, False


def iterate_on(executor: Executor, start: Callable[[], Iterator[Item]]) -> Iterator[Item]:
    """Yield the items of ``start()``, each produced on ``executor``'s thread when asked for."""
    requests: queue.SimpleQueue[bool] = queue.SimpleQueue()
    replies: queue.SimpleQueue[tuple[bool, Item | None, Exception | None]] = queue.SimpleQueue()
    executor.submit(_serve, start, requests, replies)
    try:
        while True:
            requests.put(_NEXT)
            more, item, error = replies.get()
            if error is not None:
                raise error
            if not more:
                return
            yield item  # type: ignore[misc]  # an item when more is True
    finally:
        requests.put(_CLOSE)


def _serve(
    start: Callable[[], Iterator[Item]],
    requests: queue.SimpleQueue[bool],
    replies: queue.SimpleQueue[tuple[bool, Item | None, Exception | None]],
) -> None:
    """Answer each request with the next item, the end, or the error (on the producer's thread)."""
    iterator = start()
    try:
        while requests.get() is _NEXT:
            try:
                item = next(iterator)
            except StopIteration:
                replies.put((False, None, None))
                return
            except Exception as error:  # re-raised on the caller's thread
                replies.put((False, None, error))
                return
            replies.put((True, item, None))
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
