"""Taking sessions out of chatcli and bringing them back in (JSON), or out for reading (Markdown).

The JSON is each record's own shape (``to_dict``): the session, every message of its tree
(parents first), and its summaries, under a ``format_version``. An import checks the whole
file before writing anything, then writes it in one transaction.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chatcli.core.attachments import check_attachments, digests_of
from chatcli.core.chatgpt import is_chatgpt_export, read_chatgpt
from chatcli.core.sessions import Sessions
from chatcli.errors import BadFileError
from chatcli.store.bulk import SessionBundle
from chatcli.store.records import MessageRecord, SessionRecord, SummaryRecord

FORMAT = "chatcli-sessions"
FORMAT_VERSION = 3
"""2 added each session's ``attachments`` (texts by sha256), 3 each reply's ``evaluation``
(for replay); older files still import."""
READABLE_VERSIONS = (1, 2, 3)
MAX_TEXT_CHARS = 10_000_000
"""Longest message an import accepts (a 50 MB string is a broken or hostile file)."""


def export_sessions(sessions: Sessions, chosen: list[SessionRecord]) -> dict[str, Any]:
    """Everything about ``chosen`` as one JSON-ready document.

    Its dicts and lists are the records' own, read for this export alone: serialize it, or
    copy before changing it.
    """
    bulk = sessions.store.bulk
    items = []
    for session in chosen:
        messages = bulk.messages_of(session.id)
        items.append(
            {
                "session": session.to_dict(),
                "messages": [m.to_dict(shared=True) for m in messages],
                "summaries": [s.to_dict(shared=True) for s in bulk.summaries_of(session.id)],
                "attachments": sessions.store.attachments.texts(digests_of(messages)),
            }
        )
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported": time.time(),
        "sessions": items,
    }


def export_text(document: dict[str, Any]) -> str:
    """An export as JSON text: the outer levels indented, each record's fields on one line.

    One message per line reads and diffs well, and it is quick: json.dumps with ``indent``
    runs the pure-Python encoder, while each line here is the C encoder's (110,000 messages:
    1.9-2.3 -> 1.2 s).
    """
    return _layout(document, json.JSONEncoder(ensure_ascii=False).encode, RECORD_DEPTH, "\n")


RECORD_DEPTH = 4
"""Levels above a message in an export: the document, "sessions", a session, "messages"."""


def _layout(value: Any, encode: Callable[[Any], str], depth: int, newline: str) -> str:
    if depth == 0 or not value or not isinstance(value, dict | list):
        return encode(value)
    inner = newline + " "
    if isinstance(value, dict):
        items = [f"{encode(k)}: {_layout(v, encode, depth - 1, inner)}" for k, v in value.items()]
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    items = [_layout(item, encode, depth - 1, inner) for item in value]
    return "[" + inner + ("," + inner).join(items) + newline + "]"


def session_markdown(sessions: Sessions, session: SessionRecord) -> str:
    """The branch being shown, for reading and sharing."""
    lines = [f"# {session.name or session.title or 'Untitled chat'}", ""]
    if session.system_prompt:
        lines += [f"> **System:** {session.system_prompt}", ""]
    for message in sessions.history(session):
        who = "You" if message.role == "user" else "Assistant"
        mark = "" if message.status == "complete" else f" *({message.status})*"
        lines += [f"## {who}{mark}", ""]
        lines += [f"*Attached: `{ref['path']}`*\n" for ref in message.attachments]
        lines += [message.content.rstrip(), ""]
    return "\n".join(lines)


def read_export(document: Any) -> list[SessionBundle]:
    """Check a whole export and turn it into bundles; BadFileError names the first problem.

    A ChatGPT data export's conversations.json is read too. ``document`` (parsed JSON) is
    handed over: the records keep its dicts and lists, so it must not be changed afterwards.
    """
    bundles = read_chatgpt(document) if is_chatgpt_export(document) else _native(document)
    for index, bundle in enumerate(bundles):
        _check_tree(f"session {index + 1}", bundle.session, bundle.messages, bundle.summaries)
    ids = [m.id for b in bundles for m in b.messages] + [b.session.id for b in bundles]
    if len(set(ids)) != len(ids):
        raise BadFileError("the same session or message id appears twice in the file")
    return bundles


def _native(document: Any) -> list[SessionBundle]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BadFileError('not a chatcli export (no "format": "chatcli-sessions")')
    if document.get("format_version") not in READABLE_VERSIONS:
        raise BadFileError(f"unknown format_version {document.get('format_version')!r}")
    items = document.get("sessions")
    if not isinstance(items, list):
        raise BadFileError("'sessions' must be a list")
    return [_bundle(index, item) for index, item in enumerate(items)]


def _bundle(index: int, item: Any) -> SessionBundle:
    where = f"session {index + 1}"
    keys = {"session", "messages", "summaries"}
    if not isinstance(item, dict) or not keys <= set(item) <= keys | {"attachments"}:
        raise BadFileError(f"{where}: needs session, messages and summaries (and attachments)")
    try:
        # The parsed document is ours alone: the records keep its dicts and lists.
        session = SessionRecord.from_dict(item["session"], owned=True)
        messages = tuple(MessageRecord.from_dict(m, owned=True) for m in _list(item["messages"]))
        summaries = tuple(SummaryRecord.from_dict(s, owned=True) for s in _list(item["summaries"]))
        texts = check_attachments(messages, item.get("attachments", {}))
    except (ValueError, TypeError) as error:
        raise BadFileError(f"{where}: {error}") from None
    return SessionBundle(session, messages, summaries, texts)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("messages and summaries must be lists of objects")
    return value


def _check_tree(
    where: str,
    session: SessionRecord,
    messages: tuple[MessageRecord, ...],
    summaries: tuple[SummaryRecord, ...],
) -> None:
    """Every parent exists and comes first (so there is no cycle); ids are unique; sizes sane."""
    seen: set[str] = set()
    for message in messages:
        if message.session_id != session.id:
            raise BadFileError(f"{where}: message {message.id} belongs to another session")
        if message.id in seen:
            raise BadFileError(f"{where}: message id {message.id} appears twice")
        if message.parent_id is not None and message.parent_id not in seen:
            raise BadFileError(
                f"{where}: message {message.id} follows {message.parent_id}, "
                "which is not before it (missing, or a cycle)"
            )
        if len(message.content) > MAX_TEXT_CHARS:
            raise BadFileError(f"{where}: message {message.id} is longer than {MAX_TEXT_CHARS:,}")
        seen.add(message.id)
    if session.current_leaf is not None and session.current_leaf not in seen:
        raise BadFileError(
            f"{where}: current_leaf {session.current_leaf} is not one of its messages"
        )
    for summary in summaries:
        if summary.upto_message_id not in seen or summary.session_id != session.id:
            raise BadFileError(f"{where}: summary {summary.id} covers a message not in it")


def import_bundles(sessions: Sessions, bundles: list[SessionBundle]) -> list[str]:
    """Write ``bundles`` in one transaction; return notices of ids or names that had to change."""
    bulk = sessions.store.bulk
    taken = bulk.taken_ids(
        [b.session.id for b in bundles], [m.id for b in bundles for m in b.messages]
    )
    names = bulk.taken_names([b.session.name for b in bundles if b.session.name])
    notices: list[str] = []
    ready = [_fresh(b, taken, names, notices) for b in bundles]
    bulk.insert(ready)
    return notices


def _fresh(
    bundle: SessionBundle, taken: set[str], names: set[str], notices: list[str]
) -> SessionBundle:
    """The bundle, with new ids where its ids are in use, and a free name."""
    session = bundle.session
    if session.name in names:
        new_name = f"{session.name} (imported {secrets.token_hex(2)})"
        notices.append(f"the name '{session.name}' is in use; imported as '{new_name}'")
        session = replace(session, name=new_name)
    ids = [session.id, *(m.id for m in bundle.messages)]
    if not taken.intersection(ids):
        return replace(bundle, session=session)
    mapping = {old: secrets.token_hex(6) for old in ids}
    notices.append(f"session {session.id} is already here; imported as {mapping[session.id]}")
    return _renamed(replace(bundle, session=session), mapping)


def _renamed(bundle: SessionBundle, mapping: dict[str, str]) -> SessionBundle:
    session = bundle.session
    new_id = mapping[session.id]

    def message_id(old: str | None) -> str | None:
        return mapping[old] if old is not None else None

    return SessionBundle(
        replace(session, id=new_id, current_leaf=message_id(session.current_leaf)),
        tuple(
            replace(m, id=mapping[m.id], session_id=new_id, parent_id=message_id(m.parent_id))
            for m in bundle.messages
        ),
        tuple(
            replace(
                s,
                id=secrets.token_hex(6),
                session_id=new_id,
                upto_message_id=mapping[s.upto_message_id],
            )
            for s in bundle.summaries
        ),
    )
