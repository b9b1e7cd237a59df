"""The attachments table: attached files' texts, each kept once by the sha256 of its text."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping

from chatcli.errors import StoreError
from chatcli.store.packing import deflate, inflate
from chatcli.store.summaries import Locked

MAX_VARIABLES = 500
"""Digests looked up per query (SQLite limits the number of ``?`` in one statement)."""


def put_texts(connection: sqlite3.Connection, texts: Mapping[str, str]) -> None:
    """Keep each text under its digest (already kept ones stay as they are).

    Runs inside the caller's write transaction, so a message and its attachments' texts are
    saved together or not at all.
    """
    import hashlib  # its OpenSSL binding costs ~3 ms at start-up; only attaching needs it

    now = time.time()
    for digest, text in texts.items():
        if hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() != digest:
            raise StoreError(f"an attachment's text does not match its digest {digest[:12]}")
        connection.execute(
            "INSERT OR IGNORE INTO attachments (sha256, content, created) VALUES (?, ?, ?)",
            (digest, deflate(text), now),
        )


def require_texts(connection: sqlite3.Connection, digests: Iterable[str]) -> None:
    """StoreError unless the text of every digest is kept (a message may only point at those)."""
    for digest in set(digests):
        row = connection.execute("SELECT 1 FROM attachments WHERE sha256 = ?", (digest,))
        if row.fetchone() is None:
            raise StoreError(f"no attached text with digest {str(digest)[:12]} is kept")


class AttachmentTable:
    """Reads attached texts by digest; used through ``Store.attachments``."""

    def __init__(self, locked: Locked) -> None:
        self._locked = locked

    def texts(self, digests: Iterable[str]) -> dict[str, str]:
        """The kept text of each digest that is kept (a missing one is left out)."""
        wanted = sorted(set(digests))
        found: dict[str, str] = {}
        with self._locked() as connection:
            for start in range(0, len(wanted), MAX_VARIABLES):
                chunk = wanted[start : start + MAX_VARIABLES]
                marks = ", ".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT sha256, content FROM attachments WHERE sha256 IN ({marks})", chunk
                ).fetchall()
                found.update((str(row[0]), inflate(row[1])) for row in rows)
        return found

    def stored_bytes(self) -> int:
        """Bytes of attached text kept (UTF-8, before compression), all sessions together."""
        with self._locked() as connection:
            row = connection.execute(
                "SELECT COALESCE(SUM(LENGTH(CAST(chatcli_inflate(content) AS BLOB))), 0)"
                " FROM attachments"
            ).fetchone()
        return int(row[0])
