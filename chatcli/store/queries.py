"""SQL run inside an open store block: lookups that raise, shared statements, bookkeeping.

Every function here takes a connection the caller already holds the lock on (and, for writes,
an open transaction), so they compose inside one :class:`~chatcli.store.store.Store` call.
"""

from __future__ import annotations

import math
import sqlite3
import time
from typing import Any, TypedDict

from chatcli.errors import ChatcliError, NotFoundError
from chatcli.store.records import MessageRecord, SessionRecord
from chatcli.store.rows import (
    MESSAGE_COLUMNS,
    SESSION_COLUMNS,
    column_list,
    escape_like,
    message_from_row,
    placeholders,
    records_from_rows,
    session_from_row,
    sql_limit,
    title_from_content,
)

MIN_ID_PREFIX = 4
"""Shortest id prefix :meth:`Store.find_session` accepts."""

SESSION_LIST = column_list(SESSION_COLUMNS)
MESSAGE_LIST = column_list(MESSAGE_COLUMNS)
QUALIFIED_MESSAGE_LIST = column_list(MESSAGE_COLUMNS, "m")

INSERT_SESSION_SQL = (
    f"INSERT INTO sessions ({SESSION_LIST}) VALUES ({placeholders(len(SESSION_COLUMNS))})"
)
INSERT_MESSAGE_SQL = (
    f"INSERT INTO messages ({MESSAGE_LIST}) VALUES ({placeholders(len(MESSAGE_COLUMNS))})"
)


class SessionChanges(TypedDict, total=False):
    """Fields :meth:`Store.update_session` can change."""

    title: str
    name: str | None
    model: str
    system_prompt: str
    role: str | None
    sampling: dict[str, Any]
    current_leaf: str | None
    context_length: int | None
    overflow: str | None
    lora: str | None
    lora_scale: float


EDITABLE_SESSION_FIELDS = frozenset(SessionChanges.__annotations__)
"""The session fields an update may change."""


class SessionNameTakenError(ChatcliError):
    """Another session already has the name asked for."""


def require_session(connection: sqlite3.Connection, session_id: str) -> SessionRecord:
    """Return the session, or raise NotFoundError."""
    row = connection.execute(
        f"SELECT {SESSION_LIST} FROM sessions WHERE id = ?", (session_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no session '{session_id}'")
    return session_from_row(row)


def require_message(
    connection: sqlite3.Connection, message_id: str, session_id: str | None = None
) -> MessageRecord:
    """Return the message (checking it belongs to ``session_id`` if given), or NotFoundError."""
    row = connection.execute(
        f"SELECT {MESSAGE_LIST} FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    if row is None or (session_id is not None and row["session_id"] != session_id):
        where = f" in session '{session_id}'" if session_id is not None else ""
        raise NotFoundError(f"no message '{message_id}'{where}")
    return message_from_row(row)


def require_name_free(
    connection: sqlite3.Connection, name: str, owner_id: str | None = None
) -> None:
    """Raise SessionNameTakenError if a session other than ``owner_id`` is called ``name``."""
    row = connection.execute(
        "SELECT 1 FROM sessions WHERE name = ? AND id IS NOT ?", (name, owner_id)
    ).fetchone()
    if row is not None:
        raise SessionNameTakenError(f"a session named '{name}' already exists")


def check_session_changes(
    connection: sqlite3.Connection, session_id: str, columns: dict[str, object]
) -> None:
    """Validate a new name and a new current leaf before :meth:`Store.update_session` saves."""
    name = columns.get("name")
    if isinstance(name, str):
        require_name_free(connection, name, session_id)
    leaf = columns.get("current_leaf")
    if isinstance(leaf, str):
        require_message(connection, leaf, session_id)


def session_row_by_id_or_prefix(connection: sqlite3.Connection, key: str) -> sqlite3.Row | None:
    """Return the session whose id is ``key`` or uniquely starts with it (≥ 4 chars)."""
    row: sqlite3.Row | None = connection.execute(
        f"SELECT {SESSION_LIST} FROM sessions WHERE id = ?", (key,)
    ).fetchone()
    if row is not None or len(key) < MIN_ID_PREFIX:
        return row
    rows = connection.execute(
        f"SELECT {SESSION_LIST} FROM sessions WHERE substr(id, 1, ?) = ? ORDER BY updated DESC",
        (len(key), key),
    ).fetchall()
    if len(rows) > 1:
        matches = ", ".join(str(match["id"]) for match in rows)
        raise NotFoundError(f"session id prefix '{key}' is ambiguous: it matches {matches}")
    return rows[0] if rows else None


def select_sessions(
    connection: sqlite3.Connection, search: str | None, limit: int | None
) -> list[SessionRecord]:
    """The sessions for :meth:`Store.list_sessions`, most recently updated first."""
    sql = f"SELECT {SESSION_LIST} FROM sessions"
    parameters: list[object] = []
    if search:
        pattern = f"%{escape_like(search)}%"
        sql += " WHERE title LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\'"
        parameters += [pattern, pattern]
    sql += " ORDER BY updated DESC, rowid DESC LIMIT ?"
    parameters.append(-1 if limit is None else sql_limit(limit))
    return records_from_rows(SessionRecord, connection.execute(sql, parameters).fetchall())


def update_row(
    connection: sqlite3.Connection, table: str, row_id: str, columns: dict[str, object]
) -> bool:
    """Set ``columns`` (trusted names) of the row ``row_id`` of ``table``; False if none is."""
    assignments = ", ".join(f"{column} = ?" for column in columns)
    cursor = connection.execute(
        f"UPDATE {table} SET {assignments} WHERE id = ?", (*columns.values(), row_id)
    )
    return cursor.rowcount > 0


def next_update_time(connection: sqlite3.Connection) -> float:
    """Return now, or just after the latest ``updated`` if the clock has not moved past it.

    Keeps "most recently updated" an exact order even when two changes share a timestamp.
    """
    latest = connection.execute("SELECT MAX(updated) FROM sessions").fetchone()[0]
    now = time.time()
    if latest is None or now > latest:
        return now
    return math.nextafter(float(latest), math.inf)


def advance_session(
    connection: sqlite3.Connection, session: SessionRecord, message: MessageRecord
) -> None:
    """Point the session at its new leaf, bump ``updated``, and title it if still untitled."""
    title = session.title
    if not title and message.role == "user":
        title = title_from_content(message.content)
    connection.execute(
        "UPDATE sessions SET current_leaf = ?, updated = ?, title = ? WHERE id = ?",
        (message.id, next_update_time(connection), title, session.id),
    )
