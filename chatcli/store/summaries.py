"""The summaries table: what the 'summarize' overflow policy wrote, per session and branch."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

from chatcli.store.records import SummaryRecord
from chatcli.store.rows import new_id

Locked = Callable[[], AbstractContextManager[sqlite3.Connection]]


class SummaryTable:
    """Adds and finds summaries; used through ``Store.summaries``."""

    def __init__(self, locked: Locked) -> None:
        self._locked = locked

    def add(self, session_id: str, upto_message_id: str, content: str) -> SummaryRecord:
        """Save a summary of the session's messages up to ``upto_message_id``."""
        record = SummaryRecord(new_id(), session_id, upto_message_id, content, time.time())
        with self._locked() as connection:
            connection.execute(
                "INSERT INTO summaries (id, session_id, upto_message_id, content, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (record.id, session_id, upto_message_id, content, record.created),
            )
        return record

    def latest_on_branch(self, session_id: str, branch: Sequence[str]) -> SummaryRecord | None:
        """The summary reaching furthest along ``branch`` (message ids, oldest first)."""
        if not branch:
            return None
        with self._locked() as connection:
            rows = connection.execute(
                "SELECT id, session_id, upto_message_id, content, created FROM summaries"
                " WHERE session_id = ? ORDER BY created",
                (session_id,),
            ).fetchall()
        summaries = [SummaryRecord(*row) for row in rows]
        return furthest_along(branch, summaries, lambda s: s.upto_message_id)


T = TypeVar("T")


def furthest_along(
    branch: Sequence[str], items: list[T], message_of: Callable[[T], str]
) -> T | None:
    """The item whose message stands furthest along ``branch`` (ids, oldest first), if any."""
    position = {message_id: index for index, message_id in enumerate(branch)}
    on_branch = [item for item in items if message_of(item) in position]
    return max(on_branch, key=lambda item: position[message_of(item)], default=None)
