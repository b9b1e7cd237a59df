"""iterate_on and SerialThread: a generator run on another thread, one item per request."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from chatcli.engine.handoff import SerialThread, iterate_on


@pytest.fixture
def runner() -> Iterator[SerialThread]:
    thread = SerialThread("producer")
    yield thread
    thread.stop()


def test_items_are_made_on_the_runner_thread(runner: SerialThread) -> None:
    def numbers() -> Iterator[tuple[int, str]]:
        for n in range(3):
            yield n, threading.current_thread().name

    made = list(iterate_on(runner, numbers))
    assert [n for n, _ in made] == [0, 1, 2]
    assert all(name.startswith("producer") for _, name in made)


def test_the_producer_only_advances_when_asked(runner: SerialThread) -> None:
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


def test_an_error_in_the_producer_is_raised_to_the_caller(runner: SerialThread) -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("broken model file")

    items = iterate_on(runner, failing)
    assert next(items) == 1
    with pytest.raises(ValueError, match="broken model file"):
        next(items)
    assert list(iterate_on(runner, lambda: iter([7]))) == [7]  # the runner is still usable


class Interrupted(BaseException):
    """Not an Exception: must still end the caller's wait."""


def test_failures_before_the_first_item_or_beyond_exception_reach_the_caller(
    runner: SerialThread,
) -> None:
    def unstartable() -> Iterator[int]:
        raise OSError("model file vanished")

    with pytest.raises(OSError, match="vanished"):
        list(iterate_on(runner, unstartable))  # start() itself raising

    def interrupted() -> Iterator[int]:
        yield 1
        raise Interrupted

    with pytest.raises(Interrupted):
        list(iterate_on(runner, interrupted))


def test_the_thread_is_a_daemon_and_stop_ends_it(runner: SerialThread) -> None:
    names: list[threading.Thread] = []

    def record_the_thread() -> Iterator[None]:
        names.append(threading.current_thread())
        yield None

    list(iterate_on(runner, record_the_thread))
    (thread,) = names
    assert thread.daemon  # an unclosed reply can never keep the process from exiting
    runner.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert list(iterate_on(runner, lambda: iter([1, 2]))) == [1, 2]  # starts a new one
