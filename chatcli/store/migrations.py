"""Schema migrations: named, ordered, each applied exactly once.

Applied migrations are recorded by name in the ``_migrations`` table, never keyed on the app
version. To change the schema, append a new ``(name, function)`` pair to :data:`MIGRATIONS`;
never edit or reorder one that has shipped. Each function receives a connection inside an open
transaction and must not commit (so no ``executescript``, which commits first).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from chatcli.store.db import transaction

Migration = Callable[[sqlite3.Connection], None]

_INITIAL_SCHEMA = (
    """
    CREATE TABLE sessions (
        id            TEXT PRIMARY KEY,
        name          TEXT UNIQUE,
        title         TEXT NOT NULL DEFAULT '',
        created       REAL NOT NULL,
        updated       REAL NOT NULL,
        model         TEXT NOT NULL,
        system_prompt TEXT NOT NULL DEFAULT '',
        role          TEXT,
        sampling      TEXT NOT NULL DEFAULT '{}',
        current_leaf  TEXT
    )
    """,
    """
    CREATE TABLE messages (
        id            TEXT PRIMARY KEY,
        session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        parent_id     TEXT REFERENCES messages(id),
        role          TEXT NOT NULL,
        content       TEXT NOT NULL,
        created       REAL NOT NULL,
        status        TEXT NOT NULL DEFAULT 'complete',
        model         TEXT,
        model_sha256  TEXT,
        sampling      TEXT,
        usage         TEXT,
        finish_reason TEXT,
        pinned        INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX messages_by_session ON messages(session_id, created)",
    "CREATE INDEX messages_by_parent ON messages(parent_id)",
    "CREATE INDEX sessions_by_updated ON sessions(updated)",
)


def _initial(connection: sqlite3.Connection) -> None:
    """Create the sessions and messages tables and their indexes."""
    for statement in _INITIAL_SCHEMA:
        connection.execute(statement)


def _session_context_length(connection: sqlite3.Connection) -> None:
    """Let a session remember the context size chosen for it."""
    connection.execute("ALTER TABLE sessions ADD COLUMN context_length INTEGER")


def _overflow_and_summaries(connection: sqlite3.Connection) -> None:
    """A per-session overflow policy, and the summaries the 'summarize' policy writes."""
    connection.execute("ALTER TABLE sessions ADD COLUMN overflow TEXT")
    connection.execute(
        """
        CREATE TABLE summaries (
            id              TEXT PRIMARY KEY,
            session_id      TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            upto_message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            content         TEXT NOT NULL,
            created         REAL NOT NULL
        )
        """
    )
    connection.execute("CREATE INDEX summaries_by_session ON summaries(session_id, created)")


def _context_windows(connection: sqlite3.Connection) -> None:
    """Remembered starts of the sent part of a branch (so a long chat's prefix stays put)."""
    connection.execute(
        """
        CREATE TABLE context_windows (
            id               TEXT PRIMARY KEY,
            session_id       TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            start_message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            context_length   INTEGER NOT NULL,
            created          REAL NOT NULL
        )
        """
    )
    connection.execute("CREATE INDEX context_windows_by_session ON context_windows(session_id)")


def _session_drafts(connection: sqlite3.Connection) -> None:
    """What was typed in a session's input and not sent yet, kept across quits."""
    connection.execute("ALTER TABLE sessions ADD COLUMN draft TEXT NOT NULL DEFAULT ''")


SEARCH_INSERT_TRIGGER = """
    CREATE TRIGGER message_search_insert AFTER INSERT ON messages
    WHEN new.status != 'streaming' BEGIN
        INSERT INTO message_search(rowid, content) VALUES (new.rowid, new.content);
    END
    """
"""Indexes each new final message (a bulk import drops it and indexes its rows at once)."""

_SEARCH_INDEX = (
    # External-content FTS5 over messages.content: the text is stored once, in messages.
    # A streaming reply is indexed once it is final (not at every save while it streams).
    """
    CREATE VIRTUAL TABLE message_search USING fts5(
        content, content='messages', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    SEARCH_INSERT_TRIGGER,
    """
    CREATE TRIGGER message_search_delete AFTER DELETE ON messages
    WHEN old.status != 'streaming' BEGIN
        INSERT INTO message_search(message_search, rowid, content)
        VALUES ('delete', old.rowid, old.content);
    END
    """,
    """
    CREATE TRIGGER message_search_update AFTER UPDATE OF content, status ON messages BEGIN
        INSERT INTO message_search(message_search, rowid, content)
        SELECT 'delete', old.rowid, old.content WHERE old.status != 'streaming';
        INSERT INTO message_search(rowid, content)
        SELECT new.rowid, new.content WHERE new.status != 'streaming';
    END
    """,
    # Not 'rebuild': that would index streaming rows too, which the triggers never remove.
    """
    INSERT INTO message_search(rowid, content)
    SELECT rowid, content FROM messages WHERE status != 'streaming'
    """,
)


def _message_search(connection: sqlite3.Connection) -> None:
    """Full-text search over every message (FTS5, diacritics folded), backfilled."""
    for statement in _SEARCH_INDEX:
        connection.execute(statement)


# A text goes when the last message that carries it does.
_UNUSED_ATTACHMENTS_TRIGGER = """
    CREATE TRIGGER attachments_unused AFTER DELETE ON messages
    WHEN old.attachments IS NOT NULL BEGIN
        DELETE FROM attachments
        WHERE sha256 IN (SELECT value ->> 'sha256' FROM json_each(old.attachments))
        AND NOT EXISTS (
            SELECT 1 FROM messages AS m, json_each(m.attachments) AS carried
            WHERE m.attachments IS NOT NULL AND carried.value ->> 'sha256' = attachments.sha256
        );
    END
    """

_ATTACHMENTS = (
    # Content-addressed: one row per distinct text, however many messages carry it. A message
    # lists its attachments (path, sha256, size, tokens) as JSON in messages.attachments.
    """
    CREATE TABLE attachments (
        sha256  TEXT PRIMARY KEY,
        content TEXT NOT NULL,
        created REAL NOT NULL
    )
    """,
    "ALTER TABLE messages ADD COLUMN attachments TEXT",
    "CREATE INDEX messages_with_attachments ON messages(session_id) WHERE attachments IS NOT NULL",
    _UNUSED_ATTACHMENTS_TRIGGER,
    """
    CREATE VIRTUAL TABLE attachment_search USING fts5(
        content, content='attachments', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER attachment_search_insert AFTER INSERT ON attachments BEGIN
        INSERT INTO attachment_search(rowid, content) VALUES (new.rowid, new.content);
    END
    """,
    """
    CREATE TRIGGER attachment_search_delete AFTER DELETE ON attachments BEGIN
        INSERT INTO attachment_search(attachment_search, rowid, content)
        VALUES ('delete', old.rowid, old.content);
    END
    """,
)


def _attachments(connection: sqlite3.Connection) -> None:
    """Attached files' texts, stored once by digest, searchable, linked from messages."""
    for statement in _ATTACHMENTS:
        connection.execute(statement)


_PACKED_ATTACHMENTS = (
    # The texts compressed (store/packing.py); the index reads them through a view that
    # inflates, so snippets still come from the kept text.
    "DROP TRIGGER attachment_search_insert",
    "DROP TRIGGER attachment_search_delete",
    "DROP TRIGGER attachments_unused",
    "DROP TABLE attachment_search",
    """
    CREATE TABLE packed_attachments (
        sha256  TEXT PRIMARY KEY,
        content BLOB NOT NULL,
        created REAL NOT NULL
    )
    """,
    "INSERT INTO packed_attachments (sha256, content, created)"
    " SELECT sha256, chatcli_deflate(content), created FROM attachments",
    "DROP TABLE attachments",
    "ALTER TABLE packed_attachments RENAME TO attachments",
    _UNUSED_ATTACHMENTS_TRIGGER,
    """
    CREATE VIEW attachment_text AS
    SELECT rowid AS id, chatcli_inflate(content) AS content FROM attachments
    """,
    """
    CREATE VIRTUAL TABLE attachment_search USING fts5(
        content, content='attachment_text', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER attachment_search_insert AFTER INSERT ON attachments BEGIN
        INSERT INTO attachment_search(rowid, content)
        VALUES (new.rowid, chatcli_inflate(new.content));
    END
    """,
    """
    CREATE TRIGGER attachment_search_delete AFTER DELETE ON attachments BEGIN
        INSERT INTO attachment_search(attachment_search, rowid, content)
        VALUES ('delete', old.rowid, chatcli_inflate(old.content));
    END
    """,
    "INSERT INTO attachment_search(attachment_search) VALUES ('rebuild')",
)


def _packed_attachments(connection: sqlite3.Connection) -> None:
    """Attached texts kept compressed; their index rebuilt over the inflated text."""
    for statement in _PACKED_ATTACHMENTS:
        connection.execute(statement)


def _session_lora(connection: sqlite3.Connection) -> None:
    """Let a session remember its LoRA adapter and that adapter's scale."""
    connection.execute("ALTER TABLE sessions ADD COLUMN lora TEXT")
    connection.execute("ALTER TABLE sessions ADD COLUMN lora_scale REAL NOT NULL DEFAULT 1.0")


def _reply_evaluations(connection: sqlite3.Connection) -> None:
    """How each reply went through the model (JSON), for ``chatcli replay``."""
    connection.execute("ALTER TABLE messages ADD COLUMN evaluation TEXT")
    # A later reply names the generation whose context it reused by this id.
    connection.execute(
        "CREATE INDEX messages_by_evaluation ON messages(evaluation ->> '$.id')"
        " WHERE evaluation IS NOT NULL"
    )


_STREAM_WRITERS = (
    """
    CREATE TABLE stream_writers (
        message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        pid_started TEXT,
        started REAL NOT NULL
    )
    """,
    """
    CREATE TRIGGER stream_writer_done AFTER UPDATE OF status ON messages
    WHEN new.status != 'streaming' BEGIN
        DELETE FROM stream_writers WHERE message_id = new.id;
    END
    """,
)


def _stream_writers(connection: sqlite3.Connection) -> None:
    """Which process writes each streaming reply (start-up recovery leaves live ones alone)."""
    for statement in _STREAM_WRITERS:
        connection.execute(statement)


MIGRATIONS: tuple[tuple[str, Migration], ...] = (
    ("001_initial", _initial),
    ("002_session_context_length", _session_context_length),
    ("003_overflow_and_summaries", _overflow_and_summaries),
    ("004_context_windows", _context_windows),
    ("005_session_drafts", _session_drafts),
    ("006_message_search", _message_search),
    ("007_attachments", _attachments),
    ("008_packed_attachments", _packed_attachments),
    ("009_session_lora", _session_lora),
    ("010_reply_evaluations", _reply_evaluations),
    ("011_stream_writers", _stream_writers),
)
"""Every migration, in the order it must be applied."""


def applied_migrations(connection: sqlite3.Connection) -> set[str]:
    """Return the names of the migrations already applied to this database."""
    rows = connection.execute("SELECT name FROM _migrations").fetchall()
    return {str(row[0]) for row in rows}


def migrated(connection: sqlite3.Connection) -> sqlite3.Connection:
    """``connection`` with every migration applied; closed if one fails."""
    try:
        apply_migrations(connection)
    except BaseException:
        connection.close()
        raise
    return connection


def apply_migrations(connection: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction.

    Safe to call on every open and from two processes at once: the check for whether a
    migration is applied happens inside the write transaction that applies it.

    Returns:
        The names of the migrations applied by this call (empty when up to date).
    """
    connection.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)"
    )
    newly_applied: list[str] = []
    for name, migrate in MIGRATIONS:
        with transaction(connection):
            if name in applied_migrations(connection):
                continue
            migrate(connection)
            connection.execute(
                "INSERT INTO _migrations (name, applied) VALUES (?, ?)", (name, time.time())
            )
        newly_applied.append(name)
    return newly_applied
