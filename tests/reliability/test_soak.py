"""300 turns in one process with the real model at a small context: nothing grows but the store.

At 512 tokens of context the oldest turns leave the prompt every few turns, so the soak goes
through many window moves (context shifts of the KV cache) and a KV snapshot after every
reply, under a small snapshot cap.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import chatcli
from chatcli import paths
from chatcli.config import Settings

pytestmark = [pytest.mark.model, pytest.mark.soak]

TURNS = 300
SETTLED = 20
"""Resources are compared from this turn on (the first turns fill caches and pools)."""
CAP_GIB = 0.03
QUESTIONS = [
    "Name a colour.",
    "Say a word about the sea.",
    "Give me a number between one and ten.",
    "What is a cat?",
    "Name a fruit.",
    "Tell me one fact about the moon.",
]


def _resident_mib() -> float:
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _open_files() -> int:
    """Open file descriptors, less a snapshot being written in the background right now."""
    kv = str(paths.cache_dir() / "kv")
    held = []
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            held.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        except OSError:
            continue  # the listing's own descriptor, closed already
    return sum(1 for target in held if not target.startswith(kv))


def _threads() -> int:
    """Running threads, less the background snapshot writer (one at a time, when busy)."""
    return sum(1 for thread in threading.enumerate() if thread.name != "kv-snapshot")


def _snapshot_bytes() -> int:
    """The snapshot cache on disk, files being written included."""
    folder = paths.cache_dir() / "kv"
    total = 0
    for path in [*folder.glob("*/*.kv"), *folder.glob("*/*.tmp")]:
        try:
            total += path.stat().st_size
        except FileNotFoundError:  # the background writer renamed or evicted it meanwhile
            continue
    return total


@pytest.mark.timeout(1800)  # minutes on an idle machine; ~20 on two oversubscribed cores
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_three_hundred_turns_at_a_small_context_leak_nothing() -> None:
    settings = Settings(context_length=512).with_backend_values(
        "llama", kv_cache_gib=CAP_GIB, threads=1
    )
    settled = (0.0, 0, 0)
    largest_cache = 0
    with chatcli.open_session("soak", settings=settings) as chat:
        for turn in range(1, TURNS + 1):
            question = f"{QUESTIONS[turn % len(QUESTIONS)]} ({turn})"
            answer = chat.ask(question, temperature=0.7, seed=turn, max_tokens=20)
            assert answer.strip(), f"turn {turn} gave no answer"
            largest_cache = max(largest_cache, _snapshot_bytes())
            if turn == SETTLED:
                settled = (_resident_mib(), _open_files(), _threads())
        end = (_resident_mib(), _open_files(), _threads())
        replies = [m for m in chat.history() if m.role == "assistant"]
    print(
        f"\nsoak: from turn {SETTLED} to {TURNS}: RSS {settled[0]:.1f} -> {end[0]:.1f} MiB,"
        f" open files {settled[1]} -> {end[1]}, threads {settled[2]} -> {end[2]};"
        f" snapshot cache at most {largest_cache / 2**20:.1f} MiB"
    )
    assert end[0] - settled[0] < 50
    assert end[1] <= settled[1]
    assert end[2] <= settled[2]
    assert largest_cache <= CAP_GIB * (1 << 30)
    assert len(replies) == TURNS and all(r.status == "complete" for r in replies)
