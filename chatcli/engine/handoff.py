"""Driving a generator from one thread of its own, one item per request, as if it ran here.

llama.cpp must be driven from one thread (see LlamaEngine.stream); callers come from many.
The producer only advances while the caller waits for the next item, so a cancel set between
two items is seen before the next one is made, and closing the caller's iterator closes the
producer's generator where it stood.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import TypeVar

Item = TypeVar("Item")

_NEXT, _CLOSE = True, False


class SerialThread:
    """One daemon thread that runs submitted jobs in order, started on the first job.

    A daemon, so that a reply nobody closed can never keep the process from exiting; ``stop``
    lets the thread end once its jobs are done (a later ``submit`` starts a new one).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the thread after the jobs before it."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._jobs.put(job)

    def stop(self) -> None:
        """Let the thread end after the jobs already submitted."""
        with self._lock:
            if self._thread is not None:
                self._jobs.put(None)
                self._thread = None

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()


def iterate_on(
    runner: SerialThread, start: Callable[[], Iterator[Item]]
) -> Generator[Item, None, None]:
    """Yield the items of ``start()``, each produced on ``runner``'s thread when asked for."""
    requests: queue.SimpleQueue[bool] = queue.SimpleQueue()
    replies: queue.SimpleQueue[tuple[bool, Item | None, BaseException | None]] = queue.SimpleQueue()
    runner.submit(lambda: _serve(start, requests, replies))
    try:
        while True:
            requests.put(_NEXT)
            more, item, error = replies.get()
            if error is not None:
                raise error
            if not more:
                return
            yield item  # type: ignore[misc]  # an item whenever more is True
    finally:
        requests.put(_CLOSE)


def _serve(
    start: Callable[[], Iterator[Item]],
    requests: queue.SimpleQueue[bool],
    replies: queue.SimpleQueue[tuple[bool, Item | None, BaseException | None]],
) -> None:
    """Answer each request with the next item, the end, or the error (on the runner's thread)."""
    iterator: Iterator[Item] | None = None
    try:
        while requests.get() is _NEXT:
            try:
                if iterator is None:
                    iterator = start()
                item = next(iterator)
            except StopIteration:
                replies.put((False, None, None))
                return
            except BaseException as error:  # any failure ends the caller's wait, re-raised there
                replies.put((False, None, error))
                return
            replies.put((True, item, None))
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
