"""Low-level SQLite plumbing: opening the database file, transactions, error translation.

Every ``sqlite3.Error`` that escapes the store passes through :func:`translate_errors`, so the
rest of chatcli only ever sees :class:`~chatcli.errors.StoreError` with a one-line message that
names the database file.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chatcli.errors import StoreError
from chatcli.paths import ensure_private_dir
from chatcli.store.packing import register_functions

BUSY_TIMEOUT_SECONDS = 5.0
"""How long a statement waits for another process's lock before failing."""

PRIVATE_FILE_MODE = 0o600
"""The database file is readable and writable by its owner only."""

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)


def describe_error(path: Path, error: BaseException) -> str:
    """Return a one-line, human-readable description of a database failure on ``path``."""
    detail = " ".join(str(error).split()) or type(error).__name__
    if "locked" in detail or "busy" in detail:
        detail += " (is another chatcli writing to it?)"
    return f"session database {path}: {detail}"


@contextmanager
def translate_errors(path: Path) -> Iterator[None]:
    """Turn a SQLite, file-system or stored-JSON failure inside the block into a StoreError."""
    try:
        yield
    except (sqlite3.Error, OSError, json.JSONDecodeError) as error:
        raise StoreError(describe_error(path, error)) from error


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in one write transaction: committed on success, rolled back on error.

    ``BEGIN IMMEDIATE`` takes the write lock up front, so two processes never both read
    stale state and then collide on write.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


@contextmanager
def snapshot(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block's reads against one state of the database (a read transaction).

    With WAL, a commit by another chatcli after the block's first read is not seen: a query
    made of several statements agrees with itself. Inside a transaction already, the block
    simply shares it. The block must only read: nothing it does is kept.
    """
    if connection.in_transaction:
        yield connection
        return
    connection.execute("BEGIN")
    try:
        yield connection
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")  # ends the snapshot; there is nothing to keep


def _create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists, then force mode 0600."""
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE_MODE)
    os.close(descriptor)
    path.chmod(PRIVATE_FILE_MODE)


def _refuse_foreign(connection: sqlite3.Connection, path: Path) -> None:
    """Refuse a SQLite database of another program before anything is written to it."""
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    if tables and "_migrations" not in tables:
        raise StoreError(
            f"session database {path}: another program's SQLite database, not chatcli's; "
            "it was left as it is (move it, or set CHATCLI_HOME)"
        )


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path`` with chatcli's settings.

    The parent directory is made private (0700) and the file itself 0600. The connection is in
    autocommit mode (``isolation_level=None``); use :func:`transaction` to group writes. It may
    be used from several threads, but callers must serialise access themselves.

    Raises:
        StoreError: the file cannot be created or opened, is not a SQLite database, is
            corrupt, or stays locked past the busy timeout.
    """
    with translate_errors(path):
        ensure_private_dir(path.parent)
        _create_private_file(path)
        connection = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_SECONDS,
            check_same_thread=False,
            isolation_level=None,
        )
        try:
            _refuse_foreign(connection, path)
        except BaseException:
            connection.close()
            raise
        return configure(connection)


def configure(connection: sqlite3.Connection) -> sqlite3.Connection:
    """Give a new ``connection`` chatcli's row type, SQL functions and pragmas; return it."""
    try:
        connection.row_factory = sqlite3.Row
        register_functions(connection)
        for pragma in _PRAGMAS:
            connection.execute(pragma)
    except BaseException:
        connection.close()
        raise
    return connection
