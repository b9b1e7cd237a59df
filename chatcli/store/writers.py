"""Which process is writing each streaming reply.

Start-up recovery marks as interrupted only the replies whose writer is gone, not one that
another chatcli is still streaming.

A writer is its host, its pid and, on Linux, the pid's start time: a pid reused by a later
process does not pass for the writer that died.
"""

from __future__ import annotations

import os
import sqlite3
import time
from functools import cache

FOREIGN_WRITER_TRUST_S = 24 * 3600
"""How long a reply streaming on another host (a shared home) counts as alive."""

CLAIM_SQL = (
    "INSERT OR REPLACE INTO stream_writers (message_id, host, pid, pid_started, started)"
    " VALUES (?, ?, ?, ?, ?)"
)
ORPHANS_SQL = """
    SELECT m.id, w.host, w.pid, w.pid_started, w.started
    FROM messages AS m LEFT JOIN stream_writers AS w ON w.message_id = m.id
    WHERE m.status = 'streaming'
"""


def claim(connection: sqlite3.Connection, message_id: str) -> None:
    """Record this process as the writer of the streaming message ``message_id``."""
    pid = os.getpid()
    values = (message_id, _host(), pid, process_started(pid), time.time())
    connection.execute(CLAIM_SQL, values)


def orphaned(connection: sqlite3.Connection) -> list[str]:
    """The ids of messages still 'streaming' whose writer is gone (or was never recorded)."""
    rows = connection.execute(ORPHANS_SQL).fetchall()
    return [row[0] for row in rows if row[1] is None or not writer_alive(*row[1:])]


def writer_alive(host: str, pid: int, pid_started: str | None, started: float) -> bool:
    """Whether the process that claimed a reply may still be writing it."""
    if host != _host():  # its liveness cannot be seen from here
        return time.time() - started < FOREIGN_WRITER_TRUST_S
    if pid_started is not None and process_started(os.getpid()) is not None:
        return process_started(pid) == pid_started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def process_started(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (None: gone, or not Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[19] if len(fields) > 19 else None  # field 22 of the whole line


@cache
def _host() -> str:
    import socket  # ~3 ms at start-up; only a write needs the host's name

    return socket.gethostname()
