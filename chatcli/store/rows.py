"""Conversions between SQLite rows and the records in :mod:`chatcli.store.records`.

Also the small value helpers the store needs: ids, JSON columns, titles and LIKE patterns.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from functools import cache
from operator import attrgetter
from typing import Any, TypeVar

from chatcli.store.records import MessageRecord, Record, SessionRecord

R = TypeVar("R", bound=Record)

SESSION_COLUMNS = SessionRecord.field_names()
"""Columns of ``sessions``: the record's fields, in the order :func:`session_values` gives."""

MESSAGE_COLUMNS = MessageRecord.field_names()
"""Columns of ``messages``: the record's fields, in the order :func:`message_values` gives."""

JSON_COLUMNS = frozenset({"sampling", "usage", "evaluation"})
"""Fields kept as JSON text in their column."""

LIST_COLUMNS = frozenset({"attachments"})
"""List fields kept as JSON text in their column (NULL for an empty list)."""

BOOL_COLUMNS = frozenset({"pinned"})
"""Fields kept as 0/1 in their column."""

TITLE_MAX_CHARS = 40
"""Longest title derived from a first user message, ellipsis included (fits the sidebar)."""

ID_BYTES = 6
"""Random bytes per id: 12 hex characters."""


def column_list(columns: tuple[str, ...], table_alias: str = "") -> str:
    """Return ``columns`` as a comma-separated SQL list, each prefixed by ``table_alias.``."""
    prefix = f"{table_alias}." if table_alias else ""
    return ", ".join(prefix + column for column in columns)


def placeholders(count: int) -> str:
    """Return ``count`` comma-separated ``?`` parameter markers."""
    return ", ".join("?" * count)


def new_id() -> str:
    """Return a fresh random identifier of 12 lowercase hex characters."""
    # What secrets.token_hex does, without importing secrets (hmac, hashlib: ~6 ms at start-up).
    return os.urandom(ID_BYTES).hex()


def dump_json(value: dict[str, Any] | None) -> str | None:
    """Serialise a JSON column value (None stays NULL)."""
    return None if value is None else json.dumps(value, sort_keys=True)


def load_json(text: str | None) -> dict[str, Any] | None:
    """Parse a JSON column value (NULL becomes None; a non-object is treated as absent)."""
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def escape_like(text: str) -> str:
    """Escape ``%``, ``_`` and backslash so a LIKE pattern with a backslash ESCAPE matches them."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def title_from_content(content: str) -> str:
    """Derive a session title: the first non-blank line, whitespace collapsed, kept short.

    A line longer than TITLE_MAX_CHARS is cut at a word boundary (mid-word only for one very
    long word) and ends with "…", which counts towards the limit.
    """
    for line in content.splitlines():
        title = " ".join(line.split())
        if not title:
            continue
        if len(title) <= TITLE_MAX_CHARS:
            return title
        cut = title[: TITLE_MAX_CHARS - 1]
        space = cut.rfind(" ")
        if space >= TITLE_MAX_CHARS // 2:
            cut = cut[:space]
        return cut.rstrip() + "…"
    return ""


def record_values(record: Record) -> tuple[object, ...]:
    """The column values of ``record``, in its fields' order (JSON and 0/1 where stored so)."""
    # No copy (to_dict's): the values are only read, to be written as columns.
    read_all, conversions = _column_plan(type(record))  # type: ignore[arg-type]
    values = list(read_all(record))
    for index, convert in conversions:
        values[index] = convert(values[index])
    return tuple(values)


@cache
def _column_plan(
    kind: type[Record],
) -> tuple[Callable[[Record], tuple[object, ...]], tuple[tuple[int, Callable[[Any], object]], ...]]:
    """Read every field at once (one C call), then convert only those not stored as they are."""
    names = kind.field_names()
    conversions = tuple(
        (index, convert)
        for index, name in enumerate(names)
        if (convert := _converter(name)) is not None
    )
    return attrgetter(*names), conversions


def _converter(name: str) -> Callable[[Any], object] | None:
    if name in JSON_COLUMNS:
        return dump_json
    if name in BOOL_COLUMNS:
        return lambda value: int(bool(value))
    if name in LIST_COLUMNS:
        return lambda value: json.dumps(value, sort_keys=True) if value else None
    return None


def record_from_row(kind: type[R], row: sqlite3.Row) -> R:
    """Build a record of ``kind`` from a row selected with its fields as columns."""
    return records_from_rows(kind, [row])[0]


def records_from_rows(kind: type[R], rows: Sequence[sqlite3.Row]) -> list[R]:
    """Build records of ``kind`` from the rows of one query (its fields among the columns).

    The columns are located once for all the rows and read by position: reading a Row by
    name scans its column names, which made this 2.5x slower for a 10,000-message branch.
    """
    if not rows:
        return []
    columns = rows[0].keys()
    located = [(name, columns.index(name)) for name in kind.field_names()]
    readers = _readers(kind)  # type: ignore[arg-type]  # (a class is hashable)
    records = []
    for row in rows:
        values = {name: row[position] for name, position in located}
        for name, read in readers:
            values[name] = read(values[name])
        records.append(kind.from_fields(values))
    return records


@cache
def _readers(kind: type[Record]) -> tuple[tuple[str, Callable[[Any], object]], ...]:
    """Each field not stored as it is, and how to read its column."""
    plan: list[tuple[str, Callable[[Any], object]]] = []
    for name in kind.field_names():
        if kind is SessionRecord and name == "sampling":
            plan.append((name, _load_sampling))
        elif name in JSON_COLUMNS:
            plan.append((name, load_json))
        elif name in BOOL_COLUMNS:
            plan.append((name, bool))
        elif name in LIST_COLUMNS:
            plan.append((name, _load_list))
    return tuple(plan)


def _load_sampling(text: str | None) -> dict[str, Any]:
    """A session's sampling settings: none stored is an empty dict."""
    return load_json(text) or {}


def _load_list(text: str | None) -> list[Any]:
    """Parse a list column's value (NULL or a non-list is an empty list)."""
    value = json.loads(text) if text else []
    return value if isinstance(value, list) else []


def session_values(session: SessionRecord) -> tuple[object, ...]:
    """Return the column values of ``session`` in :data:`SESSION_COLUMNS` order."""
    return record_values(session)


def session_from_row(row: sqlite3.Row) -> SessionRecord:
    """Build a SessionRecord from a row selected with :data:`SESSION_COLUMNS`."""
    return record_from_row(SessionRecord, row)


def message_values(message: MessageRecord) -> tuple[object, ...]:
    """Return the column values of ``message`` in :data:`MESSAGE_COLUMNS` order."""
    return record_values(message)


def message_from_row(row: sqlite3.Row) -> MessageRecord:
    """Build a MessageRecord from a row selected with :data:`MESSAGE_COLUMNS`."""
    return record_from_row(MessageRecord, row)


SQLITE_MAX_INTEGER = (1 << 63) - 1


def sql_limit(limit: int) -> int:
    """``limit`` as SQLite can take it: any larger count means "all", i.e. its largest integer."""
    return min(limit, SQLITE_MAX_INTEGER)
