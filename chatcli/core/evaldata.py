"""The data ``chatcli eval`` scores: a plain-text file, or conversations in JSON lines.

A conversations file has one conversation per line, either as a session of a chatcli export
(``{"session": {...}, "messages": [...]}``: the branch the session shows, with its system
prompt) or as plain ``{"messages": [{"role": ..., "content": ...}, ...]}``. A whole
``chatcli sessions export`` document is read too. Every problem is a BadFileError naming the
file (and the line), before any model is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from chatcli.core.portable import FORMAT
from chatcli.engine.base import ChatMessage, Role
from chatcli.errors import BadFileError

DataFormat = Literal["auto", "text", "chat"]
CHAT_SUFFIXES = (".jsonl", ".json", ".ndjson")
"""Files read as conversations when the format is ``auto``; anything else is plain text."""
ROLES: tuple[Role, ...] = ("system", "user", "assistant")


@dataclass(frozen=True)
class EvalData:
    """What to score: texts (every token) and conversations (their assistant turns)."""

    texts: tuple[str, ...] = ()
    conversations: tuple[tuple[ChatMessage, ...], ...] = ()


def read_eval_data(path: Path, data_format: DataFormat = "auto") -> EvalData:
    """Read ``path`` as ``data_format`` (``auto``: by its suffix)."""
    text = _read_text(path)
    if not text.strip():
        raise BadFileError(f"{path} is empty")
    chat = data_format == "chat" or (data_format == "auto" and path.suffix.lower() in CHAT_SUFFIXES)
    if not chat:
        return EvalData(texts=(text,))
    conversations = _conversations(path, text)
    if not any(m.role == "assistant" for c in conversations for m in c):
        raise BadFileError(f"{path} has no assistant turns to score")
    return EvalData(conversations=tuple(conversations))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadFileError(f"data file not found: {path}") from None
    except IsADirectoryError:
        raise BadFileError(f"{path} is a directory, not a data file") from None
    except UnicodeDecodeError:
        raise BadFileError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise BadFileError(f"cannot read {path}: {error.strerror}") from None


def _conversations(path: Path, text: str) -> list[tuple[ChatMessage, ...]]:
    whole = _whole_export(text)
    if whole is not None:
        return [_conversation(item, f"{path}, session {n}") for n, item in enumerate(whole, 1)]
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise BadFileError(f"{path}, line {number}: not JSON") from None
        found.append(_conversation(item, f"{path}, line {number}"))
    return found


def _whole_export(text: str) -> list[Any] | None:
    """The sessions of a whole ``chatcli sessions export`` document, else None."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if isinstance(document, dict) and document.get("format") == FORMAT:
        sessions = document.get("sessions")
        return sessions if isinstance(sessions, list) else []
    return None


def _conversation(item: Any, where: str) -> tuple[ChatMessage, ...]:
    """One conversation from an export's session or a ``{"messages": [...]}`` object."""
    if not isinstance(item, dict) or not isinstance(item.get("messages"), list):
        raise BadFileError(f"{where}: not a conversation (an object with a 'messages' list)")
    messages = item["messages"]
    session = item.get("session")
    if isinstance(session, dict):
        messages = _shown_branch(messages, session.get("current_leaf"))
    found = [_message(message, where) for message in messages]
    system = session.get("system_prompt") if isinstance(session, dict) else None
    if isinstance(system, str) and system and not any(m.role == "system" for m in found):
        found.insert(0, ChatMessage("system", system))
    return tuple(found)


def _shown_branch(messages: Sequence[Any], leaf: Any) -> list[Any]:
    """The messages from the root to ``leaf`` (all of them, in order, without a tree)."""
    by_id = {m.get("id"): m for m in messages if isinstance(m, dict) and m.get("id")}
    if leaf not in by_id:
        return list(messages)
    branch: list[Any] = []
    current: Mapping[str, Any] | None = by_id[leaf]
    while current is not None and len(branch) <= len(messages):
        branch.append(current)
        current = by_id.get(current.get("parent_id"))
    return branch[::-1]


def _message(message: Any, where: str) -> ChatMessage:
    if not isinstance(message, dict):
        raise BadFileError(f"{where}: a message is not an object")
    role, content = message.get("role"), message.get("content")
    if role not in ROLES:
        raise BadFileError(f"{where}: a message's role is {role!r}, not one of {', '.join(ROLES)}")
    if not isinstance(content, str):
        raise BadFileError(f"{where}: a message's content is not text")
    return ChatMessage(role, content)
