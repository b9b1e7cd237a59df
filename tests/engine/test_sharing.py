"""Choosing a reply's thread count from what the rest of the machine is using."""

from __future__ import annotations

import time

import pytest

from chatcli.engine import sharing
from chatcli.engine.sharing import CpuShare, machine_busy_s, own_cpu_s


class Clock:
    """Scripted wall time, machine busy time and this process's CPU time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.wall = self.busy = self.own = 0.0
        monkeypatch.setattr(time, "monotonic", lambda: self.wall)  # the module sharing reads
        monkeypatch.setattr(sharing, "machine_busy_s", lambda: self.busy)
        monkeypatch.setattr(sharing, "own_cpu_s", lambda: self.own)

    def advance(self, seconds: float, *, own_cores: float, other_cores: float) -> None:
        self.wall += seconds
        self.own += seconds * own_cores
        self.busy += seconds * (own_cores + other_cores)


@pytest.mark.parametrize(
    ("cores", "others", "expected"),
    [(2, 0.0, 2), (2, 0.2, 2), (2, 1.0, 1), (2, 2.0, 1), (8, 2.0, 6), (8, 7.9, 1), (4, 1.4, 3)],
)
def test_a_reply_uses_the_cores_the_others_leave_free(
    monkeypatch: pytest.MonkeyPatch, cores: int, others: float, expected: int
) -> None:
    clock = Clock(monkeypatch)
    share = CpuShare(cores)
    assert share.threads() == cores  # nothing known yet: every core
    clock.advance(0.3, own_cores=cores, other_cores=others)
    assert share.threads() == expected


def test_threads_come_back_when_the_other_work_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    share = CpuShare(2)
    share.threads()
    clock.advance(0.3, own_cores=1, other_cores=1.8)
    assert share.threads() == 1
    clock.advance(0.3, own_cores=1, other_cores=0.0)
    assert share.threads() == 2


def test_a_look_too_soon_after_the_last_keeps_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    share = CpuShare(2)
    share.threads()
    clock.advance(0.3, own_cores=1, other_cores=2)
    assert share.threads() == 1
    clock.advance(0.01, own_cores=0, other_cores=0)
    assert share.threads() == 1


def test_the_real_counters_are_read() -> None:
    busy = machine_busy_s()
    assert busy is None or busy > 0
    assert own_cpu_s() > 0


def test_asking_at_every_token_reads_the_counters_only_when_a_look_is_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    reads: list[float] = []

    def read_busy() -> float:
        reads.append(clock.wall)
        return clock.busy

    monkeypatch.setattr(sharing, "machine_busy_s", read_busy)
    share = CpuShare(2)
    for _ in range(100):  # 100 tokens at 100 tokens/s, beside a process using a whole core
        share.threads()
        clock.advance(0.01, own_cores=1, other_cores=1)
    assert len(reads) == 4  # near 0, 0.25, 0.5 and 0.75 s
    assert share.threads() == 1


def test_a_slow_start_is_seen_after_a_quarter_second_not_after_so_many_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    share = CpuShare(2)
    assert share.threads() == 2
    clock.advance(0.4, own_cores=1, other_cores=1)  # one token, oversubscribed
    assert share.threads() == 1
