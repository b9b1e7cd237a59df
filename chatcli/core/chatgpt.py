"""Reading a ChatGPT data export's ``conversations.json`` into session bundles.

Each conversation's ``mapping`` is a tree of nodes; the user's and the assistant's text
messages become the message tree (every branch kept). System, tool and empty nodes are left
out, and their children hang from the nearest message kept above them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from chatcli.errors import BadFileError
from chatcli.store.bulk import SessionBundle
from chatcli.store.records import MessageRecord, SessionRecord


def is_chatgpt_export(document: Any) -> bool:
    """Whether ``document`` looks like ChatGPT's conversations.json (a list with mappings)."""
    return isinstance(document, list) and all(
        isinstance(item, dict) and isinstance(item.get("mapping"), dict) for item in document
    )


def read_chatgpt(document: list[dict[str, Any]]) -> list[SessionBundle]:
    """Every conversation as a bundle; BadFileError names a conversation that is not well-formed."""
    bundles = []
    for index, conversation in enumerate(document):
        try:
            bundles.append(_conversation(conversation))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise BadFileError(
                f"conversation {index + 1}: not in ChatGPT's shape ({error})"
            ) from None
    return bundles


def _stable_id(*parts: str) -> str:
    """The same conversation imported twice gets the same ids (so a repeat is noticed)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


def _conversation(conversation: dict[str, Any]) -> SessionBundle:
    mapping: dict[str, dict[str, Any]] = conversation["mapping"]
    key = str(conversation.get("id") or conversation.get("conversation_id") or id(conversation))
    session_id = _stable_id("chatgpt", key)
    kept: dict[str, str] = {}  # node id -> message id, for nodes that became messages
    messages: list[MessageRecord] = []
    created = float(conversation.get("create_time") or 0.0)
    for node_id in _parents_first(mapping):
        record = _message(mapping, node_id, kept, session_id, created)
        if record is not None:
            kept[node_id] = record.id
            messages.append(record)
    leaf = _kept_ancestor(mapping, conversation.get("current_node"), kept)
    session = SessionRecord(
        id=session_id,
        name=None,
        title=str(conversation.get("title") or "")[:200],
        created=created,
        updated=float(conversation.get("update_time") or created),
        model="chatgpt",
        system_prompt="",
        role=None,
        current_leaf=leaf or (messages[-1].id if messages else None),
    )
    return SessionBundle(session, tuple(messages))


def _message(
    mapping: dict[str, dict[str, Any]],
    node_id: str,
    kept: dict[str, str],
    session_id: str,
    fallback_time: float,
) -> MessageRecord | None:
    message = mapping[node_id].get("message")
    if not message:
        return None
    role = message["author"]["role"]
    content = message.get("content") or {}
    parts = content.get("parts") or []
    text = "\n".join(p for p in parts if isinstance(p, str)).strip()
    if role not in ("user", "assistant") or not text:
        return None
    return MessageRecord(
        id=_stable_id(session_id, node_id),
        session_id=session_id,
        parent_id=_kept_ancestor(mapping, mapping[node_id].get("parent"), kept),
        role=role,
        content=text,
        created=float(message.get("create_time") or fallback_time),
        model=(message.get("metadata") or {}).get("model_slug") if role == "assistant" else None,
    )


def _kept_ancestor(
    mapping: dict[str, dict[str, Any]], node_id: str | None, kept: dict[str, str]
) -> str | None:
    """The message of ``node_id`` or of its nearest ancestor that became a message."""
    seen: set[str] = set()
    while node_id is not None and node_id not in kept:
        if node_id in seen or node_id not in mapping:
            return None  # a cycle or a dangling parent: start a new root
        seen.add(node_id)
        node_id = mapping[node_id].get("parent")
    return kept.get(node_id) if node_id is not None else None


def _parents_first(mapping: dict[str, dict[str, Any]]) -> list[str]:
    """Node ids with every parent before its children (children in the order listed)."""
    roots = [n for n, node in mapping.items() if node.get("parent") not in mapping]
    ordered: list[str] = []
    todo = list(reversed(roots))
    seen: set[str] = set()
    while todo:
        node_id = todo.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        ordered.append(node_id)
        children = [c for c in mapping[node_id].get("children") or [] if c in mapping]
        todo.extend(reversed(children))
    return ordered
