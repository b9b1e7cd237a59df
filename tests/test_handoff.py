"""iterate_on: a generator run on another thread, one item per request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from chatcli.engine.handoff import iterate_on


@pytest.fixture
def runner() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="producer")
    yield executor
    executor.shutdown(wait=True)


def test_items_are_made_on_the_runner_thread(runner: ThreadPoolExecutor) -> None:
    def numbers() -> Iterator[tuple[int, str]]:
        for n in range(3):
            yield n, threading.current_thread().name

    made = list(iterate_on(runner, numbers))
    assert [n for n, _ in made] == [0, 1, 2]
    assert all(name.startswith("producer") for _, name in made)


def test_the_producer_only_advances_when_asked(runner: ThreadPoolExecutor) -> None:
    made: list[int] = []
    closed = threading.Event()

    def counting() -> Iterator[int]:
        try:
            for n in range(100):
                made.append(n)
                yield n
        finally:
            closed.set()

    items = iterate_on(runner, counting)
    assert next(items) == 0
    assert next(items) == 1
    items.close()  # as a caller that stops reading (a cancelled reply) does
    assert closed.wait(5)
    assert made == [0, 1]


def test_an_error_in_the_producer_is_raised_to_the_caller(runner: ThreadPoolExecutor) -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("broken model file")

    items = iterate_on(runner, failing)
    assert next(items) == 1
    with pytest.raises(ValueError, match="broken model file"):
        next(items)
    assert list(iterate_on(runner, lambda: iter([7]))) == [7]  # the runner is still usable
