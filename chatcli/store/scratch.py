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
from chatcli.store.migrations import apply_migrations, migrated

log = logging.getLogger(__name__)

_SQLITE_HEADER = b"SQLite format 3\x00"

SCRATCH_NAME = Path("(the unsaved session in memory)")
"""What a scratch store's errors name in place of a database file."""


def scratch_connection() -> sqlite3.Connection:
    """A new in-memory connection holding an empty database at the current schema."""
    image = _cached_image()
    connection = _from_image(image) if image is not None else None
    if connection is not None:
        return connection
    connection = migrated(_memory_connection())
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


def _from_image(image: bytes) -> sqlite3.Connection | None:
    """A connection holding ``image`` brought up to date; None for an unusable image."""
    if not image.startswith(_SQLITE_HEADER):  # an empty or foreign file: deserialize would fail
        return None
    connection = _memory_connection()
    try:
        connection.deserialize(image)
        verdict = [tuple(row) for row in connection.execute("PRAGMA quick_check")]  # ~0.2 ms
        if verdict == [("ok",)]:
            if apply_migrations(connection):  # the image was behind: keep the new schema
                _keep(connection.serialize())
            return connection
    except (sqlite3.Error, MemoryError, OverflowError):
        pass
    log.debug("the cached empty store is unusable; migrating afresh")
    connection.close()
    return None


def _keep(image: bytes) -> None:
    """Cache ``image`` for the next run; a cache that cannot be written only costs speed."""
    try:
        target = image_file()
        paths.ensure_private_dir(target.parent)
        paths.write_private_file(target, image, temporary_suffix=f".{os.getpid()}.part")
        for older in target.parent.glob("empty-store-*.db"):  # other versions' images
            if older != target:
                older.unlink(missing_ok=True)
    except OSError as error:
        log.debug("the empty store was not cached: %s", error)
