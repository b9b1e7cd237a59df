"""Writing whole sessions at once (an import): every row in one transaction, or none."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from chatcli.store.attachments import put_texts, require_texts
from chatcli.store.migrations import SEARCH_INSERT_TRIGGER
from chatcli.store.queries import INSERT_MESSAGE_SQL, INSERT_SESSION_SQL, MESSAGE_LIST
from chatcli.store.records import MessageRecord, SessionRecord, SummaryRecord
from chatcli.store.rows import message_values, records_from_rows, session_values

Connecting = Callable[[], AbstractContextManager[sqlite3.Connection]]


@dataclass(frozen=True)
class SessionBundle:
    """A session with everything in it, as exported (messages parents first)."""

    session: SessionRecord
    messages: tuple[MessageRecord, ...]
    summaries: tuple[SummaryRecord, ...] = ()
    attachments: Mapping[str, str] = field(default_factory=dict)
    """The texts of the messages' attachments, by sha256."""


class BulkWriter:
    """Inserts bundles as they are; used through ``Store.bulk``."""

    def __init__(self, locked: Connecting, writing: Connecting) -> None:
        self._locked = locked
        """For reads: the store's lock, no write transaction."""
        self._writing = writing
        """For the import: one write transaction."""

    def taken_ids(self, session_ids: Sequence[str], message_ids: Sequence[str]) -> set[str]:
        """Which of these session and message ids the store already holds."""
        taken: set[str] = set()
        with self._locked() as connection:
            for table, ids in (("sessions", session_ids), ("messages", message_ids)):
                for start in range(0, len(ids), 500):  # SQLite's variable limit
                    chunk = list(ids[start : start + 500])
                    marks = ", ".join("?" * len(chunk))
                    rows = connection.execute(
                        f"SELECT id FROM {table} WHERE id IN ({marks})", chunk
                    ).fetchall()
                    taken.update(str(row[0]) for row in rows)
        return taken

    def taken_names(self, names: Sequence[str]) -> set[str]:
        """Which of these session names are in use."""
        with self._locked() as connection:
            return {
                name
                for name in names
                if connection.execute("SELECT 1 FROM sessions WHERE name = ?", (name,)).fetchone()
            }

    def insert(self, bundles: Sequence[SessionBundle]) -> None:
        """Write every bundle in one transaction (a failure writes nothing)."""
        with self._writing() as connection, _indexed_at_the_end(connection):
            for bundle in bundles:
                connection.execute(INSERT_SESSION_SQL, session_values(bundle.session))
                put_texts(connection, bundle.attachments)
                require_texts(
                    connection, [r["sha256"] for m in bundle.messages for r in m.attachments]
                )
                connection.executemany(
                    INSERT_MESSAGE_SQL, [message_values(m) for m in bundle.messages]
                )
                connection.executemany(
                    "INSERT INTO summaries (id, session_id, upto_message_id, content, created)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [
                        (s.id, s.session_id, s.upto_message_id, s.content, s.created)
                        for s in bundle.summaries
                    ],
                )

    def summaries_of(self, session_id: str) -> list[SummaryRecord]:
        """Every summary of a session, oldest first (for an export)."""
        with self._locked() as connection:
            rows = connection.execute(
                "SELECT id, session_id, upto_message_id, content, created FROM summaries"
                " WHERE session_id = ? ORDER BY created, rowid",
                (session_id,),
            ).fetchall()
        return [SummaryRecord(*row) for row in rows]

    def usage_by_model(self) -> dict[str, object]:
        """Sessions and messages in all, and replies and tokens in and out per model."""
        with self._locked() as connection:
            rows = connection.execute(
                "SELECT COALESCE(model, '?'), COUNT(*),"
                " COALESCE(SUM(json_extract(usage, '$.prompt_tokens')), 0),"
                " COALESCE(SUM(json_extract(usage, '$.completion_tokens')), 0)"
                " FROM messages WHERE role = 'assistant' GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
            totals = connection.execute(
                "SELECT (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM messages)"
            ).fetchone()
        models = [
            {"model": r[0], "replies": r[1], "prompt_tokens": r[2], "completion_tokens": r[3]}
            for r in rows
        ]
        return {"sessions": totals[0], "messages": totals[1], "models": models}

    def messages_of(self, session_id: str) -> list[MessageRecord]:
        """Every message of a session on every branch, parents before children."""
        with self._locked() as connection:
            rows = connection.execute(
                f"SELECT {MESSAGE_LIST} FROM messages WHERE session_id = ? ORDER BY created, rowid",
                (session_id,),
            ).fetchall()
        return _parents_first(records_from_rows(MessageRecord, rows))


@contextmanager
def _indexed_at_the_end(connection: sqlite3.Connection) -> Iterator[None]:
    """Index the messages inserted in the block in one statement, not one trigger per row.

    Five times less work for an import (measured: 2.0 -> 0.4 s of CPU for 30,000 messages).
    Inside the write transaction: if the block fails, the rollback brings the trigger back.
    """
    before = connection.execute("SELECT COALESCE(MAX(rowid), 0) FROM messages").fetchone()[0]
    connection.execute("DROP TRIGGER message_search_insert")
    yield
    connection.execute(
        "INSERT INTO message_search(rowid, content) SELECT rowid, content FROM messages"
        " WHERE rowid > ? AND status != 'streaming'",
        (before,),
    )
    connection.execute(SEARCH_INSERT_TRIGGER)


def _parents_first(messages: list[MessageRecord]) -> list[MessageRecord]:
    """Order ``messages`` so that each comes after its parent (created order within that)."""
    children: dict[str | None, list[MessageRecord]] = {}
    for message in messages:
        children.setdefault(message.parent_id, []).append(message)
    ordered: list[MessageRecord] = []
    todo = list(reversed(children.get(None, [])))
    while todo:
        message = todo.pop()
        ordered.append(message)
        todo.extend(reversed(children.get(message.id, [])))
    return ordered
