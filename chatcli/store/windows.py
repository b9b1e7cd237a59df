"""The context windows table: where the sent part of a branch starts, once it outgrew the context.

Remembering the start keeps a long chat's prompt prefix the same from one turn to the next, so
the model's cached prefix (in-process or from a KV snapshot) matches and a turn costs only the
new message. A window is per branch: it belongs to the branch whose messages include its start.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from chatcli.store.records import WindowRecord
from chatcli.store.rows import new_id
from chatcli.store.summaries import Locked, furthest_along


class WindowTable:
    """Adds and finds remembered context-window starts; used through ``Store.windows``."""

    def __init__(self, locked: Locked) -> None:
        self._locked = locked

    def add(self, session_id: str, start_message_id: str, context_length: int) -> WindowRecord:
        """Remember that the session's prompt starts at ``start_message_id`` at this context."""
        record = WindowRecord(new_id(), session_id, start_message_id, context_length, time.time())
        with self._locked() as connection:
            connection.execute(
                "INSERT INTO context_windows"
                " (id, session_id, start_message_id, context_length, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (record.id, session_id, start_message_id, context_length, record.created),
            )
        return record

    def latest_on_branch(
        self, session_id: str, branch: Sequence[str], context_length: int
    ) -> WindowRecord | None:
        """The window starting furthest along ``branch`` (ids, oldest first) at this context."""
        if not branch:
            return None
        with self._locked() as connection:
            rows = connection.execute(
                "SELECT id, session_id, start_message_id, context_length, created"
                " FROM context_windows WHERE session_id = ? AND context_length = ?",
                (session_id, context_length),
            ).fetchall()
        windows = [WindowRecord(*row) for row in rows]
        return furthest_along(branch, windows, lambda w: w.start_message_id)
