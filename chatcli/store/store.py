"""The session store: every read and write of sessions and messages goes through :class:`Store`."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Unpack

from chatcli.errors import NotFoundError
from chatcli.store import writers
from chatcli.store.attachments import AttachmentTable, put_texts, require_texts
from chatcli.store.db import connect, transaction, translate_errors
from chatcli.store.migrations import migrated
from chatcli.store.queries import (
    EDITABLE_SESSION_FIELDS,
    INSERT_MESSAGE_SQL,
    INSERT_SESSION_SQL,
    MESSAGE_LIST,
    SESSION_LIST,
    SessionChanges,
    SessionNameTakenError,
    advance_session,
    check_session_changes,
    next_update_time,
    require_message,
    require_name_free,
    require_session,
    select_sessions,
    session_row_by_id_or_prefix,
    update_row,
)
from chatcli.store.records import MessageRecord, MessageStatus, SessionRecord
from chatcli.store.rows import (
    dump_json,
    message_from_row,
    message_values,
    new_id,
    session_from_row,
    session_values,
)
from chatcli.store.summaries import SummaryTable
from chatcli.store.tree import MessageTree
from chatcli.store.windows import WindowTable

if TYPE_CHECKING:
    from chatcli.store.bulk import BulkWriter
    from chatcli.store.search import SearchIndex

__all__ = ["SessionChanges", "SessionNameTakenError", "Store"]


def _open_file(path: Path) -> sqlite3.Connection:
    """A connection to the database file at ``path`` (made if needed), migrated."""
    connection = connect(path)
    with translate_errors(path):
        return migrated(connection)


class Store:
    """Sessions and their message trees in one SQLite file.

    ``Store(path)`` opens the database at once (creating it and applying migrations);
    ``Store.open(path)`` is the same. Close it with :meth:`close` or use it as a context
    manager. One connection is shared by all threads and guarded by a re-entrant lock, so a
    worker thread may write while the UI thread reads. Every failure of the database itself
    surfaces as :class:`~chatcli.errors.StoreError` naming the file.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection | None = None) -> None:
        self._path = path
        self._lock = threading.RLock()
        self._connection = connection if connection is not None else _open_file(path)
        self.summaries = SummaryTable(self._locked)
        """Summaries written by the 'summarize' overflow policy."""
        self.windows = WindowTable(self._locked)
        """Remembered starts of the sent part of each branch."""
        self.attachments = AttachmentTable(self._locked)
        """Attached files' texts, kept once each."""
        self.tree = MessageTree(self._locked)
        """Reading the message tree: branches, siblings, leaves."""

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating if needed) the store at ``path``."""
        return cls(path)

    @classmethod
    def scratch(cls) -> Store:
        """An empty store in memory, gone once closed (what ``ask --no-save`` writes to)."""
        from chatcli.store.scratch import SCRATCH_NAME, scratch_connection  # not for a file

        with translate_errors(SCRATCH_NAME):
            return cls(SCRATCH_NAME, scratch_connection())

    @cached_property
    def search(self) -> SearchIndex:
        """Full-text search over every message (made on first use, as ``bulk``: ~3 ms saved)."""
        from chatcli.store.search import SearchIndex

        return SearchIndex(self._locked)

    @cached_property
    def bulk(self) -> BulkWriter:
        """Whole sessions at once: export reads, import writes."""
        from chatcli.store.bulk import BulkWriter

        return BulkWriter(self._locked, self._writing)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close the database; closing twice is harmless."""
        with self._lock, translate_errors(self._path):
            self._connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and translate database errors for the block (autocommit statements)."""
        with self._lock, translate_errors(self._path):
            yield self._connection

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """Like :meth:`_locked`, with the block in one write transaction."""
        with self._locked() as connection, transaction(connection):
            yield connection

    # -- sessions -------------------------------------------------------------------------

    def create_session(
        self,
        *,
        model: str,
        system_prompt: str = "",
        role: str | None = None,
        sampling: dict[str, Any] | None = None,
        name: str | None = None,
        title: str = "",
        lora: str | None = None,
        lora_scale: float = 1.0,
    ) -> SessionRecord:
        """Create and return a new, empty session.

        An empty ``name`` means no name. Raises SessionNameTakenError if ``name`` is in use.
        """
        name = name or None
        with self._writing() as connection:
            if name is not None:
                require_name_free(connection, name)
            now = next_update_time(connection)
            session = SessionRecord(
                id=new_id(),
                name=name,
                title=title,
                created=now,
                updated=now,
                model=model,
                system_prompt=system_prompt,
                role=role,
                sampling=dict(sampling or {}),
                lora=lora,
                lora_scale=lora_scale,
            )
            connection.execute(INSERT_SESSION_SQL, session_values(session))
        return session

    def get_session(self, session_id: str) -> SessionRecord:
        """Return the session with id ``session_id``; NotFoundError if there is none."""
        with self._locked() as connection:
            return require_session(connection, session_id)

    def find_session(self, name_or_id: str) -> SessionRecord | None:
        """Look a session up by exact name, then exact id, then unique id prefix (≥ 4 chars).

        Returns None when nothing matches. Raises NotFoundError when an id prefix matches
        more than one session.
        """
        with self._locked() as connection:
            row = connection.execute(
                f"SELECT {SESSION_LIST} FROM sessions WHERE name = ?", (name_or_id,)
            ).fetchone()
            if row is None:
                row = session_row_by_id_or_prefix(connection, name_or_id.strip().lower())
            return None if row is None else session_from_row(row)

    def latest_session(self) -> SessionRecord | None:
        """Return the most recently updated session, or None if there are none."""
        sessions = self.list_sessions(limit=1)
        return sessions[0] if sessions else None

    def list_sessions(
        self, *, search: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        """Return sessions, most recently updated first.

        Args:
            search: keep only sessions whose title or name contains this text (ASCII
                case-insensitive; ``%`` and ``_`` match literally). Empty or None: all.
            limit: return at most this many (None: no limit).
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        with self._locked() as connection:
            return select_sessions(connection, search, limit)

    def update_session(self, session_id: str, **changes: Unpack[SessionChanges]) -> SessionRecord:
        """Change some of a session's fields, bump its ``updated`` time and return it.

        Editable fields: those of :class:`SessionChanges`.
        Raises ValueError for any other field, NotFoundError for an unknown session or a
        ``current_leaf`` not in it, SessionNameTakenError for a name already in use.
        """
        unknown = sorted(set(changes) - EDITABLE_SESSION_FIELDS)
        if unknown:
            raise ValueError(f"cannot update session field(s): {', '.join(unknown)}")
        columns: dict[str, object] = dict(changes)
        if "name" in columns:
            columns["name"] = columns["name"] or None
        if "sampling" in columns:
            columns["sampling"] = dump_json(changes.get("sampling") or {})
        with self._writing() as connection:
            require_session(connection, session_id)
            check_session_changes(connection, session_id, columns)
            columns["updated"] = next_update_time(connection)
            update_row(connection, "sessions", session_id, columns)
            return require_session(connection, session_id)

    def set_draft(self, session_id: str, draft: str) -> SessionRecord:
        """Keep unsent input with the session (its ``updated`` time stays: nothing was said)."""
        with self._writing() as connection:
            require_session(connection, session_id)
            connection.execute("UPDATE sessions SET draft = ? WHERE id = ?", (draft, session_id))
            return require_session(connection, session_id)

    def delete_session(self, session_id: str) -> None:
        """Delete a session and all its messages; NotFoundError if there is no such session."""
        with self._writing() as connection:
            cursor = connection.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            if cursor.rowcount == 0:
                raise NotFoundError(f"no session '{session_id}'")

    # -- messages -------------------------------------------------------------------------

    def add_message(
        self,
        session_id: str,
        *,
        parent_id: str | None,
        role: str,
        content: str,
        status: MessageStatus = "complete",
        model: str | None = None,
        model_sha256: str | None = None,
        sampling: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
        finish_reason: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        attachment_texts: Mapping[str, str] | None = None,
    ) -> MessageRecord:
        """Add a message under ``parent_id`` (None: a root) and make it the current leaf.

        ``attachments`` are the message's files (path, sha256, size, tokens); their texts,
        by sha256, are in ``attachment_texts`` unless already kept.
        Also bumps the session's ``updated`` time and, if the session has no title yet and
        this is a user message, titles the session after the message's first line.
        Raises NotFoundError for an unknown session or a parent not in the session.
        """
        with self._writing() as connection:
            session = require_session(connection, session_id)
            if parent_id is not None:
                require_message(connection, parent_id, session_id)
            message = MessageRecord(
                id=new_id(),
                session_id=session_id,
                parent_id=parent_id,
                role=role,
                content=content,
                created=time.time(),
                status=status,
                model=model,
                model_sha256=model_sha256,
                sampling=sampling,
                usage=usage,
                finish_reason=finish_reason,
                attachments=list(attachments or []),
            )
            put_texts(connection, attachment_texts or {})
            require_texts(connection, [ref["sha256"] for ref in message.attachments])
            connection.execute(INSERT_MESSAGE_SQL, message_values(message))
            if status == "streaming":
                writers.claim(connection, message.id)
            advance_session(connection, session, message)
        return message

    def update_message(
        self,
        message_id: str,
        *,
        content: str | None = None,
        status: MessageStatus | None = None,
        usage: dict[str, Any] | None = None,
        finish_reason: str | None = None,
        evaluation: dict[str, Any] | None = None,
    ) -> None:
        """Change the given fields of a message (None: leave as is) in one UPDATE.

        Cheap enough to call for every chunk of a streaming reply. Raises NotFoundError if
        there is no such message.
        """
        given = {"content": content, "status": status, "finish_reason": finish_reason}
        columns: dict[str, object] = {
            key: value for key, value in given.items() if value is not None
        }
        for name, value in (("usage", usage), ("evaluation", evaluation)):
            if value is not None:
                columns[name] = dump_json(value)
        if not columns:
            return
        with self._locked() as connection:
            if not update_row(connection, "messages", message_id, columns):
                raise NotFoundError(f"no message '{message_id}'")
            if status == "streaming":
                writers.claim(connection, message_id)

    def get_message(self, message_id: str) -> MessageRecord:
        """Return the message with id ``message_id``; NotFoundError if there is none."""
        with self._locked() as connection:
            return require_message(connection, message_id)

    def message_by_evaluation(self, evaluation_id: str) -> MessageRecord | None:
        """The reply whose recorded evaluation has id ``evaluation_id``, if one is stored."""
        with self._locked() as connection:
            row = connection.execute(
                f"SELECT {MESSAGE_LIST} FROM messages WHERE evaluation IS NOT NULL"
                " AND evaluation ->> '$.id' = ?",
                (evaluation_id,),
            ).fetchone()
        return None if row is None else message_from_row(row)

    def set_pinned(self, message_id: str, pinned: bool) -> None:
        """Pin a message (never dropped from the context) or unpin it."""
        with self._locked() as connection:
            cursor = connection.execute(
                "UPDATE messages SET pinned = ? WHERE id = ?", (int(pinned), message_id)
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no message '{message_id}'")

    def message_count(self, session_id: str) -> int:
        """Return how many messages the session holds, on all branches (0 if none)."""
        with self._locked() as connection:
            row = connection.execute(
                "SELECT COUNT(*) FROM messages WHERE session_id = ?", (session_id,)
            ).fetchone()
        return int(row[0])

    def mark_streaming_interrupted(self) -> int:
        """Mark messages left "streaming" by a process now gone as "interrupted"; return how many.

        Called at start-up to repair replies left half-written by a crash. A reply that
        another chatcli is still streaming (see :mod:`chatcli.store.writers`) is left alone.
        """
        with self._writing() as connection:
            orphans = writers.orphaned(connection)
            connection.executemany(
                "UPDATE messages SET status = 'interrupted',"
                " finish_reason = COALESCE(finish_reason, 'interrupted')"
                " WHERE id = ? AND status = 'streaming'",
                [(message_id,) for message_id in orphans],
            )
        return len(orphans)
