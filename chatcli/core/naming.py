"""What a session name may be: trimmed, not empty, one printable line of reasonable length.

Names are keys in the database, never file names, so `/`, `..` and emoji are fine.
"""

from __future__ import annotations

import unicodedata

from chatcli.errors import UsageError

MAX_NAME_CHARS = 200


def clean_session_name(raw: str) -> str:
    """The name as stored: ``raw`` without surrounding white space, or a UsageError."""
    name = raw.strip()
    if not name:
        raise UsageError("a session name cannot be empty or only spaces")
    if len(name) > MAX_NAME_CHARS:
        raise UsageError(
            f"a session name can have at most {MAX_NAME_CHARS} characters "
            f"(this one has {len(name):,})"
        )
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in name):
        raise UsageError("a session name must be one line without control characters")
    return name
