"""Conversions between SQLite rows and the records in :mod:`chatcli.store.records`.

Also the small value helpers the store needs: ids, JSON columns, titles and LIKE patterns.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from typing import Any

from chatcli.store.records import MessageRecord, SessionRecord

SESSION_COLUMNS = (
    "id",
    "name",
    "title",
    "created",
    "updated",
    "model",
    "system_prompt",
    "role",
    "sampling",
    "current_leaf",
    "context_length",
    "overflow",
)
"""Columns of ``sessions``, in the order :func:`session_values` produces them."""

MESSAGE_COLUMNS = (
    "id",
    "session_id",
    "parent_id",
    "role",
    "content",
    "created",
    "status",
    "model",
    "model_sha256",
    "sampling",
    "usage",
    "finish_reason",
    "pinned",
)
"""Columns of ``messages``, in the order :func:`message_values` produces them."""

TITLE_MAX_CHARS = 60
"""Longest title derived from a first user message, ellipsis included."""

ID_BYTES = 6
"""Random bytes per id: 12 hex characters."""


def column_list(columns: tuple[str, ...], table_alias: str = "") -> str:
    """Return ``columns`` as a comma-separated SQL list, each prefixed by ``table_alias.``."""
    prefix = f"{table_alias}." if table_alias else ""
    return ", ".join(prefix + column for column in columns)


def placeholders(count: int) -> str:
    """Return ``count`` comma-separated ``?`` parameter markers."""
    return ", ".join("?" * count)


def new_id() -> str:
    """Return a fresh random identifier of 12 lowercase hex characters."""
    return secrets.token_hex(ID_BYTES)


def dump_json(value: dict[str, Any] | None) -> str | None:
    """Serialise a JSON column value (None stays NULL)."""
    return None if value is None else json.dumps(value, sort_keys=True)


def load_json(text: str | None) -> dict[str, Any] | None:
    """Parse a JSON column value (NULL becomes None; a non-object is treated as absent)."""
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def escape_like(text: str) -> str:
    """Escape ``%``, ``_`` and backslash so a LIKE pattern with a backslash ESCAPE matches them."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def title_from_content(content: str) -> str:
    """Derive a session title: the first non-blank line, whitespace collapsed, at most 60 chars.

    A longer line is cut and ends with "…" (the ellipsis counts towards the 60).
    """
    for line in content.splitlines():
        title = " ".join(line.split())
        if not title:
            continue
        if len(title) <= TITLE_MAX_CHARS:
            return title
        return title[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return ""


def session_values(session: SessionRecord) -> tuple[object, ...]:
    """Return the column values of ``session`` in :data:`SESSION_COLUMNS` order."""
    return (
        session.id,
        session.name,
        session.title,
        session.created,
        session.updated,
        session.model,
        session.system_prompt,
        session.role,
        dump_json(session.sampling),
        session.current_leaf,
        session.context_length,
        session.overflow,
    )


def session_from_row(row: sqlite3.Row) -> SessionRecord:
    """Build a SessionRecord from a row selected with :data:`SESSION_COLUMNS`."""
    return SessionRecord(
        id=row["id"],
        name=row["name"],
        title=row["title"],
        created=row["created"],
        updated=row["updated"],
        model=row["model"],
        system_prompt=row["system_prompt"],
        role=row["role"],
        sampling=load_json(row["sampling"]) or {},
        current_leaf=row["current_leaf"],
        context_length=row["context_length"],
        overflow=row["overflow"],
    )


def message_values(message: MessageRecord) -> tuple[object, ...]:
    """Return the column values of ``message`` in :data:`MESSAGE_COLUMNS` order."""
    return (
        message.id,
        message.session_id,
        message.parent_id,
        message.role,
        message.content,
        message.created,
        message.status,
        message.model,
        message.model_sha256,
        dump_json(message.sampling),
        dump_json(message.usage),
        message.finish_reason,
        int(message.pinned),
    )


def message_from_row(row: sqlite3.Row) -> MessageRecord:
    """Build a MessageRecord from a row selected with :data:`MESSAGE_COLUMNS`."""
    return MessageRecord(
        id=row["id"],
        session_id=row["session_id"],
        parent_id=row["parent_id"],
        role=row["role"],
        content=row["content"],
        created=row["created"],
        status=row["status"],
        model=row["model"],
        model_sha256=row["model_sha256"],
        sampling=load_json(row["sampling"]),
        usage=load_json(row["usage"]),
        finish_reason=row["finish_reason"],
        pinned=bool(row["pinned"]),
    )
