"""How attached texts are kept on disk: zlib-compressed UTF-8, readable from SQL too.

Attached files are the largest texts in the database, and each also has a full-text index
(about 0.3-0.4x its size). Kept as plain text, a file attached once grew the database by ~1.3x
its size; compressed (text compresses 2-4x) the text and its index together stay under it.
The search index reads the text back through ``chatcli_inflate``, a SQL function every
connection of the store registers.
"""

from __future__ import annotations

import sqlite3
import zlib

INFLATE_FUNCTION = "chatcli_inflate"
"""SQL name of :func:`inflate` (used by the attachment_text view and the index triggers)."""
DEFLATE_FUNCTION = "chatcli_deflate"
"""SQL name of :func:`deflate` (used by the migration that compressed existing texts)."""
_LEVEL = 6
"""zlib's default: within a few percent of level 9's size at about twice its speed."""


def deflate(text: str) -> bytes:
    """``text`` as it is kept: its UTF-8 bytes (lone surrogates kept), compressed."""
    return zlib.compress(text.encode("utf-8", "surrogatepass"), _LEVEL)


def inflate(packed: bytes) -> str:
    """The text that :func:`deflate` packed."""
    return zlib.decompress(packed).decode("utf-8", "surrogatepass")


def register_functions(connection: sqlite3.Connection) -> None:
    """Make :func:`inflate` and :func:`deflate` callable from SQL on ``connection``."""
    connection.create_function(INFLATE_FUNCTION, 1, inflate, deterministic=True)
    connection.create_function(DEFLATE_FUNCTION, 1, deflate, deterministic=True)
