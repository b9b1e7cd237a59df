"""Persistent sessions and message trees in SQLite. The only package of chatcli that runs SQL."""

from chatcli.store.records import MessageRecord, MessageStatus, SessionRecord
from chatcli.store.store import SessionChanges, SessionNameTakenError, Store

__all__ = [
    "MessageRecord",
    "MessageStatus",
    "SessionChanges",
    "SessionNameTakenError",
    "SessionRecord",
    "Store",
]
