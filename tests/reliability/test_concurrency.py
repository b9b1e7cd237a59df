"""Two processes on one session, and on one KV snapshot cache, at the same time.

The conversation writers stand for "the TUI open while ``ask -c`` runs": one process keeps its
store open for every turn (the TUI), the other opens it afresh for each (``ask -c``, which also
runs the recovery of interrupted replies on every start). Both use the public sessions API and
the chat core with the scripted fake engine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from chatcli.assembly import open_sessions
from chatcli.engine import kvcache
from chatcli.engine.kvcache import SnapshotStore
from chatcli.paths import write_private_file
from chatcli.store.records import MessageRecord

TESTS = Path(__file__).resolve().parents[1]
TURNS = 250
"""Turns per process: a question and its reply each, so 500 messages per process."""

CONVERSATION_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from fakes import FakeEngine
    from chatcli.assembly import build_core, open_sessions
    from chatcli.config import Settings
    from chatcli.engine.params import SamplingParams

    db, tag, turns, reopen, go = sys.argv[2:7]
    db, turns, reopen, go = Path(db), int(turns), reopen == "1", Path(go)
    engine = FakeEngine(responder=lambda messages: "re: " + messages[-1].content)
    while not go.exists():
        time.sleep(0.01)

    def turn(sessions, number):
        if reopen:
            sessions.recover_interrupted()  # what every ask -c does on start
        session = sessions.require("shared")
        core = build_core(engine, sessions, Settings(context_length=4096))
        for _event in core.reply(session, f"{tag} {number}", SamplingParams(max_tokens=16)):
            pass

    if reopen:
        for number in range(turns):
            with open_sessions(path=db) as sessions:
                turn(sessions, number)
    else:
        with open_sessions(path=db) as sessions:
            for number in range(turns):
                turn(sessions, number)
    """
)


def _start_together(commands: Sequence[list[str]], go: Path) -> list[subprocess.Popen[str]]:
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    go.touch()
    return processes


def _finish(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr
        assert "locked" not in stderr and "Traceback" not in stderr, stderr
        assert stdout == ""


def _path_to_root(message: MessageRecord, by_id: dict[str, MessageRecord]) -> list[MessageRecord]:
    path = [message]
    while path[-1].parent_id is not None:
        path.append(by_id[path[-1].parent_id])
        assert len(path) <= len(by_id), "a cycle in the message tree"
    return path[::-1]


def test_two_processes_append_to_one_session_and_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "data" / "chatcli.db"
    with open_sessions(path=db) as sessions:
        sessions.store.create_session(model="scripted:echo", name="shared")
    go = tmp_path / "go"
    commands = [
        [
            sys.executable,
            "-c",
            CONVERSATION_WORKER,
            str(TESTS),
            str(db),
            tag,
            str(TURNS),
            reopen,
            str(go),
        ]
        for tag, reopen in (("tui", "0"), ("ask", "1"))
    ]
    _finish(_start_together(commands, go))

    with open_sessions(path=db) as sessions:
        session = sessions.require("shared")
        messages = sessions.store.bulk.messages_of(session.id)
    assert len(messages) == 2 * 2 * TURNS
    by_id = {m.id: m for m in messages}
    questions = {m.content: m for m in messages if m.role == "user"}
    assert len(questions) == 2 * TURNS  # every question once, none lost or doubled
    for reply in (m for m in messages if m.role == "assistant"):
        assert reply.status == "complete" and reply.finish_reason == "stop"
        assert by_id[reply.parent_id or ""].content == reply.content.removeprefix("re: ")
    leaves = [m for m in messages if m.id not in {n.parent_id for n in messages}]
    for leaf in leaves:
        branch = _path_to_root(leaf, by_id)
        for tag in ("tui", "ask"):
            numbers = [int(m.content.split()[-1]) for m in branch if m.content.startswith(tag)]
            assert numbers == sorted(numbers), "a branch holds one process's turns out of order"
        assert all(m.created >= by_id[m.parent_id].created for m in branch if m.parent_id)


SNAPSHOT_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from chatcli.engine.kvcache import SnapshotStore

    folder, go = Path(sys.argv[1]), Path(sys.argv[5])
    tag, count, cap = (int(argument) for argument in sys.argv[2:5])
    store = SnapshotStore(folder, "same-model", cap)
    while not go.exists():
        time.sleep(0.01)
    for number in range(count):
        tokens = [tag, number, *range(number % 7)]
        size = 40_000 + 997 * (number % 13)
        store.save_in_background(bytes([number % 256]) * size, tokens, None, tokens)
    store.wait()
    """
)


def _folder_bytes(folder: Path, pattern: str) -> int:
    return sum(path.stat().st_size for path in folder.glob(pattern) if path.is_file())


def test_two_processes_writing_snapshots_stay_within_the_cap(tmp_path: Path) -> None:
    folder = tmp_path / "kv"
    cap = 400_000
    go = tmp_path / "go"
    commands = [
        [sys.executable, "-c", SNAPSHOT_WORKER, str(folder), str(tag), "150", str(cap), str(go)]
        for tag in (1, 2)
    ]
    _finish(_start_together(commands, go))

    assert 0 < _folder_bytes(folder, "*/*.kv") <= cap
    assert not list(folder.glob("*/*.tmp")), "a temporary file was left behind"
    store = SnapshotStore(folder, "same-model", cap)
    for snapshot in store.snapshots():
        assert store.read(snapshot) is not None, "an index names a missing or damaged state"


def _saved(store: SnapshotStore, tokens: list[int], size: int = 1000) -> None:
    store.save_in_background(bytes(size), tokens, None, tokens)
    store.wait()


def test_a_dead_writers_temporary_snapshot_is_deleted_on_the_next_save(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "kv", "key", 1 << 20)
    _saved(store, [1])
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    orphan = store.folder / f"half.kv.{dead.stdout.strip()}.tmp"
    orphan.write_bytes(b"half a state")
    from_before = store.folder / "older.kv.tmp"  # the name earlier versions used
    from_before.write_bytes(b"half a state")
    live = store.folder / f"other.kv.{os.getppid()}.tmp"  # a running process is writing it
    live.write_bytes(b"being written")

    _saved(store, [2])

    assert not orphan.exists() and not from_before.exists()
    assert live.exists()


def test_a_failed_snapshot_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SnapshotStore(tmp_path / "kv", "key", 1 << 20)

    def disk_full(self: Path, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", disk_full)
    _saved(store, [1])
    assert store.snapshots() == []
    assert list(store.folder.iterdir()) == []


def test_reading_a_snapshot_evicted_meanwhile_does_not_bring_back_an_empty_file(
    tmp_path: Path,
) -> None:
    store = SnapshotStore(tmp_path / "kv", "key", 1 << 20)
    _saved(store, [1, 2])
    [snapshot] = store.snapshots()
    data = snapshot.data_path.read_bytes()
    original = Path.read_bytes

    def evicted_after_reading(path: Path) -> bytes:
        content = original(path)
        path.unlink()  # another process evicts it just after this one read it
        return content

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "read_bytes", evicted_after_reading)
        assert store.read(snapshot) == data
    assert not snapshot.data_path.exists()


def test_the_snapshot_cache_never_holds_more_than_its_cap_even_while_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = 1000
    store = SnapshotStore(tmp_path / "kv", "key", int(2.5 * size))
    held: list[int] = []

    def measured(path: Path, data: bytes, temporary_suffix: str = ".part") -> None:
        write_private_file(path, data, temporary_suffix)
        held.append(_folder_bytes(store.root, "*/*.kv"))  # just written, before any clean-up

    monkeypatch.setattr(kvcache, "write_private_file", measured)
    for number in range(6):
        _saved(store, [number, number], size)
    assert held and max(held) <= store.cap_bytes
    _saved(store, [9], 3 * size)  # more than the whole cap: not kept
    assert _folder_bytes(store.root, "*/*.kv") <= store.cap_bytes
