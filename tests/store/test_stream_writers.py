"""Start-up recovery marks a reply interrupted only when the process writing it is gone."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatcli.store import Store, writers
from chatcli.store.records import MessageRecord

WRITER = """
import sys, time
from pathlib import Path
from chatcli.store import Store
with Store.open(Path(sys.argv[1])) as store:
    session = store.create_session(model="m")
    question = store.add_message(session.id, parent_id=None, role="user", content="q")
    store.add_message(session.id, parent_id=question.id, role="assistant", content="par",
                      status="streaming")
    print("streaming", flush=True)
    time.sleep(600)
"""


def streaming_reply(store: Store) -> MessageRecord:
    session = store.create_session(model="m")
    question = store.add_message(session.id, parent_id=None, role="user", content="q")
    return store.add_message(
        session.id, parent_id=question.id, role="assistant", content="par", status="streaming"
    )


def set_writer(db_path: Path, **columns: object) -> None:
    assignments = ", ".join(f"{name} = ?" for name in columns)
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"UPDATE stream_writers SET {assignments}", tuple(columns.values()))


def writer_rows(db_path: Path) -> int:
    with sqlite3.connect(db_path) as raw:
        return int(raw.execute("SELECT COUNT(*) FROM stream_writers").fetchone()[0])


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_reply_this_process_is_writing_is_left_alone(store: Store) -> None:
    reply = streaming_reply(store)

    assert store.mark_streaming_interrupted() == 0
    assert store.get_message(reply.id).status == "streaming"


def test_a_reply_whose_writer_died_is_marked_interrupted(store: Store, db_path: Path) -> None:
    reply = streaming_reply(store)
    set_writer(db_path, pid=dead_pid())

    assert store.mark_streaming_interrupted() == 1
    assert store.get_message(reply.id).status == "interrupted"


def test_a_reused_pid_does_not_pass_for_the_dead_writer(store: Store, db_path: Path) -> None:
    if writers.process_started(os.getpid()) is None:
        pytest.skip("process start times are read from /proc (Linux)")
    reply = streaming_reply(store)
    set_writer(db_path, pid_started="1")  # our pid, but a process that started at boot

    assert store.mark_streaming_interrupted() == 1
    assert store.get_message(reply.id).status == "interrupted"


def test_another_hosts_writer_is_trusted_for_a_day(store: Store, db_path: Path) -> None:
    reply = streaming_reply(store)
    set_writer(db_path, host="elsewhere", pid=dead_pid())
    assert store.mark_streaming_interrupted() == 0

    set_writer(db_path, started=time.time() - writers.FOREIGN_WRITER_TRUST_S - 1)
    assert store.mark_streaming_interrupted() == 1
    assert store.get_message(reply.id).status == "interrupted"


def test_the_writer_is_forgotten_when_the_reply_ends_or_goes(store: Store, db_path: Path) -> None:
    reply = streaming_reply(store)
    assert writer_rows(db_path) == 1
    store.update_message(reply.id, content="partial answer", status="complete")
    assert writer_rows(db_path) == 0

    other = streaming_reply(store)
    store.delete_session(other.session_id)
    assert writer_rows(db_path) == 0


def test_continuing_a_reply_claims_it_again(store: Store, db_path: Path) -> None:
    reply = streaming_reply(store)
    store.update_message(reply.id, status="interrupted")
    store.update_message(reply.id, status="streaming")  # what --more does

    assert writer_rows(db_path) == 1
    assert store.mark_streaming_interrupted() == 0


def test_another_live_process_keeps_its_reply_until_it_is_killed(db_path: Path) -> None:
    with Store.open(db_path):
        pass  # created and migrated before the writer starts
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "streaming"
        with Store.open(db_path) as store:
            assert store.mark_streaming_interrupted() == 0  # what a second chatcli does
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=30)
            assert store.mark_streaming_interrupted() == 1
            (session,) = store.list_sessions()
            assert [m.status for m in store.tree.branch(session.id)] == ["complete", "interrupted"]
    finally:
        writer.kill()
        writer.wait()
