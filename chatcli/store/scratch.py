"""The throw-away store of ``ask --no-save``: an empty, migrated database in memory.

Migrating a new database costs ~10 ms (every migration makes SQLite re-read the whole
schema); as a file in a temporary folder, with its journal and removal, ~20 ms: 3% of a
one-shot answer's first byte. Loading a copy of an empty, migrated database takes under
1 ms, so one is kept in the cache folder. Its name changes with the migrations module, SQLite
and chatcli, and ``apply_migrations`` still runs over it, so an old copy is never trusted.
It holds only the schema: nothing of a conversation is ever written to disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from pathlib import Path

from chatcli import __version__, paths
from chatcli.store import migrations
from chatcli.store.db import configure
from chatcli.store.migrations import apply_migrations

log = logging.getLogger(__name__)

SCRATCH_NAME = Path("(the unsaved session in memory)")
"""What a scratch store's errors name in place of a database file."""


def scratch_connection() -> sqlite3.Connection:
    """A new in-memory connection holding an empty database at the current schema."""
    connection = _memory_connection()
    image = _cached_image()
    if image is not None and not _load(connection, image):
        connection.close()
        connection, image = _memory_connection(), None
    apply_migrations(connection)
    if image is None:
        _keep(connection.serialize())
    return connection


def image_file() -> Path:
    """Where the empty database's image is cached (its name says what built it)."""
    key = hashlib.sha256()
    key.update(Path(migrations.__file__).read_bytes())
    key.update(f"{sqlite3.sqlite_version} {__version__}".encode())
    return paths.cache_dir() / f"empty-store-{key.hexdigest()[:16]}.db"


def _memory_connection() -> sqlite3.Connection:
    return configure(sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None))


def _cached_image() -> bytes | None:
    try:
        return image_file().read_bytes()
    except OSError:
        return None


def _load(connection: sqlite3.Connection, image: bytes) -> bool:
    """Put ``image`` into ``connection``; False for a copy that is not a sound database."""
    try:
        connection.deserialize(image)
        verdict = connection.execute("PRAGMA quick_check").fetchall()  # ~0.2 ms
    except sqlite3.DatabaseError:
        verdict = []
    if [tuple(row) for row in verdict] != [("ok",)]:
        log.debug("the cached empty store is damaged; migrating afresh")
        return False
    return True


def _keep(image: bytes) -> None:
    """Cache ``image`` for the next run; a cache that cannot be written only costs speed."""
    try:
        target = image_file()
        paths.ensure_private_dir(target.parent)
        paths.write_private_file(target, image, temporary_suffix=f".{os.getpid()}.part")
    except OSError as error:
        log.debug("the empty store was not cached: %s", error)
