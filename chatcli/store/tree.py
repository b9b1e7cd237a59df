"""Reading a session's message tree: branches, sibling places, leaves.

Used through ``Store.tree``. The module's functions run inside one of its calls, on a
connection it holds the lock on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from chatcli.errors import NotFoundError, StoreError
from chatcli.store.queries import MESSAGE_LIST, require_session
from chatcli.store.records import MessageRecord
from chatcli.store.rows import MESSAGE_COLUMNS, placeholders, records_from_rows
from chatcli.store.summaries import Locked

Placed = tuple[MessageRecord, int, int]
"""A message, its index among its siblings and how many siblings there are."""


class MessageTree:
    """Reads branches, siblings and leaves of the sessions' message trees."""

    def __init__(self, locked: Locked) -> None:
        self._locked = locked

    def branch(self, session_id: str, leaf_id: str | None = None) -> list[MessageRecord]:
        """Return the messages from the root down to ``leaf_id``, root first.

        ``leaf_id`` defaults to the session's current leaf; a session without messages gives
        an empty list. Raises NotFoundError for an unknown session or a leaf not in it.
        """
        return [message for message, _, _ in self._branch(session_id, leaf_id, places=False)]

    def branch_with_places(self, session_id: str, leaf_id: str | None = None) -> list[Placed]:
        """Like :meth:`branch`, each message with its index among its siblings and their count."""
        return self._branch(session_id, leaf_id, places=True)

    def branch_tail(
        self, session_id: str, last: int, leaf_id: str | None = None
    ) -> tuple[list[Placed], int]:
        """The last ``last`` messages of :meth:`branch_with_places`, and how many come before.

        Only those messages are read whole, so a long branch costs little more than a short one.
        """
        placed, earlier, _ = self._window(session_id, leaf_id, lambda path: len(path) - last, last)
        return placed, earlier

    def branch_window(
        self, session_id: str, anchor_id: str, offset: int, count: int, leaf_id: str | None = None
    ) -> tuple[list[Placed], int, int]:
        """``count`` messages of the branch, from ``offset`` places after ``anchor_id`` on.

        Returns them with how many messages of the branch come before and after them. The
        anchor must be on the branch (NotFoundError otherwise); only the window is read whole.
        """

        def start(path: list[str]) -> int:
            return _index_on(path, anchor_id) + offset

        return self._window(session_id, leaf_id, start, count)

    def branch_around(
        self, session_id: str, anchor_id: str, above: int, count: int, leaf_id: str | None = None
    ) -> tuple[list[Placed], int, int]:
        """``count`` messages of the branch that show ``anchor_id``, with how many lie either side.

        They are the newest ``count`` when the anchor is among them, else they start ``above``
        messages above it. The parent links are scanned once for both answers.
        """

        def start(path: list[str]) -> int:
            index, newest = _index_on(path, anchor_id), len(path) - count
            return newest if index >= newest else index - above

        return self._window(session_id, leaf_id, start, count)

    def _window(
        self, session_id: str, leaf_id: str | None, start: Callable[[list[str]], int], count: int
    ) -> tuple[list[Placed], int, int]:
        with self._locked() as connection:
            leaf_id = _leaf(connection, session_id, leaf_id)
            if leaf_id is None:
                return [], 0, 0
            rows, positions, earlier, later = window_rows(
                connection, session_id, leaf_id, start, count
            )
        messages = records_from_rows(MessageRecord, rows)
        return [(m, *positions[m.id]) for m in messages], earlier, later

    def _branch(self, session_id: str, leaf_id: str | None, *, places: bool) -> list[Placed]:
        with self._locked() as connection:
            leaf_id = _leaf(connection, session_id, leaf_id)
            if leaf_id is None:
                return []
            rows, positions = branch_rows(connection, session_id, leaf_id, places=places)
        messages = records_from_rows(MessageRecord, rows)
        return [(m, *positions.get(m.id, (0, 1))) for m in messages]

    def has_pinned(self, session_id: str) -> bool:
        """Whether any message of the session (on any branch) is pinned."""
        with self._locked() as connection:
            query = "SELECT 1 FROM messages WHERE session_id = ? AND pinned LIMIT 1"
            return connection.execute(query, (session_id,)).fetchone() is not None

    def children(self, session_id: str, parent_id: str | None) -> list[MessageRecord]:
        """Return the messages directly under ``parent_id`` (None: the roots), oldest first."""
        with self._locked() as connection:
            rows = connection.execute(
                f"SELECT {MESSAGE_LIST} FROM messages WHERE session_id = ? AND parent_id IS ?"
                " ORDER BY created, rowid",
                (session_id, parent_id),
            ).fetchall()
            return records_from_rows(MessageRecord, rows)

    def sibling_positions(self, session_id: str) -> dict[str, tuple[int, int]]:
        """For every message: (its index among its siblings, how many siblings), in one query."""
        with self._locked() as connection:
            return sibling_positions(connection, session_id)

    def latest_leaf(self, session_id: str, message_id: str) -> str:
        """Follow the newest child from ``message_id`` down to a leaf and return the leaf's id.

        Returns ``message_id`` itself when it has no children. Raises NotFoundError if the
        message is not in the session.
        """
        with self._locked() as connection:
            row = connection.execute(LATEST_LEAF_SQL, (message_id, session_id)).fetchone()
        if row is None:
            raise NotFoundError(f"no message '{message_id}' in session '{session_id}'")
        return str(row[0])


def _leaf(connection: sqlite3.Connection, session_id: str, leaf_id: str | None) -> str | None:
    """``leaf_id``, else the session's current leaf (None for a session without messages)."""
    return leaf_id if leaf_id is not None else require_session(connection, session_id).current_leaf


LATEST_LEAF_SQL = """
    WITH RECURSIVE descent(id, depth) AS (
        SELECT id, 0 FROM messages WHERE id = ? AND session_id = ?
        UNION ALL
        SELECT (SELECT c.id FROM messages AS c WHERE c.parent_id = d.id
                ORDER BY c.created DESC, c.rowid DESC LIMIT 1),
               d.depth + 1
        FROM descent AS d WHERE d.id IS NOT NULL
    )
    SELECT id FROM descent WHERE id IS NOT NULL ORDER BY depth DESC LIMIT 1
"""

SESSION_MESSAGES_SQL = (
    f"SELECT {MESSAGE_LIST} FROM messages WHERE session_id = ? ORDER BY created, rowid"
)
SESSION_LINKS_SQL = (
    "SELECT id, parent_id FROM messages WHERE session_id = ? ORDER BY created, rowid"
)
_ID, _PARENT = MESSAGE_COLUMNS.index("id"), MESSAGE_COLUMNS.index("parent_id")


def sibling_positions(
    connection: sqlite3.Connection, session_id: str
) -> dict[str, tuple[int, int]]:
    """Map each message of the session to (index among its siblings, number of siblings)."""
    return _places(connection.execute(SESSION_LINKS_SQL, (session_id,)).fetchall(), 0, 1)


def _places(rows: list[Any], id_at: int, parent_at: int) -> dict[str, tuple[int, int]]:
    by_parent: dict[str | None, list[str]] = {}
    for row in rows:
        by_parent.setdefault(row[parent_at], []).append(row[id_at])
    return {
        message_id: (index, len(siblings))
        for siblings in by_parent.values()
        for index, message_id in enumerate(siblings)
    }


def branch_rows(
    connection: sqlite3.Connection, session_id: str, leaf_id: str, *, places: bool = False
) -> tuple[list[sqlite3.Row], dict[str, tuple[int, int]]]:
    """The rows from the root down to ``leaf_id`` (and, with ``places``, every sibling place).

    One scan of the session's messages, walked up from the leaf in Python: walking parent
    links in a recursive SQL query looks each one up by id, ~2.5x slower for 10,000 messages.
    """
    rows = connection.execute(SESSION_MESSAGES_SQL, (session_id,)).fetchall()
    by_id = {row[_ID]: row for row in rows}
    path = _walk_up({row[_ID]: row[_PARENT] for row in rows}, session_id, leaf_id)
    return [by_id[message_id] for message_id in path], _places(rows, _ID, _PARENT) if places else {}


def window_rows(
    connection: sqlite3.Connection,
    session_id: str,
    leaf_id: str,
    start: Callable[[list[str]], int],
    count: int,
) -> tuple[list[sqlite3.Row], dict[str, tuple[int, int]], int, int]:
    """``count`` rows of the branch down to ``leaf_id`` from index ``start(path)`` on.

    Also their sibling places and how many messages of the branch come before and after
    them. Only the ids and parent links of the session are scanned; whole rows are read for
    the window alone, so a long session opens without building every message.
    """
    links = connection.execute(SESSION_LINKS_SQL, (session_id,)).fetchall()
    parent_of: dict[str, str | None] = dict(links)
    path = _walk_up(parent_of, session_id, leaf_id)
    first = min(max(0, start(path)), len(path))
    window = path[first : first + max(0, count)]
    rows = connection.execute(
        f"SELECT {MESSAGE_LIST} FROM messages WHERE id IN ({placeholders(len(window))})", window
    ).fetchall()
    order = {message_id: index for index, message_id in enumerate(window)}
    rows.sort(key=lambda row: order[row[_ID]])
    parents = {parent_of[message_id] for message_id in window}
    places = _places([link for link in links if link[1] in parents], 0, 1)
    later = len(path) - first - len(window)
    return rows, {message_id: places[message_id] for message_id in window}, first, later


def _index_on(path: list[str], message_id: str) -> int:
    """Where ``message_id`` stands on the branch ``path`` (NotFoundError when it is not on it)."""
    if message_id not in path:
        raise NotFoundError(f"message '{message_id}' is not on the branch shown")
    return path.index(message_id)


def _walk_up(parent_of: dict[str, str | None], session_id: str, leaf_id: str) -> list[str]:
    """The ids from the root down to ``leaf_id``, following the parent links."""
    if leaf_id not in parent_of:
        raise NotFoundError(f"no message '{leaf_id}' in session '{session_id}'")
    path: list[str] = []
    current: str | None = leaf_id
    while current is not None and current in parent_of:
        if len(path) == len(parent_of):  # more steps than messages: the parent links loop
            raise StoreError(f"the messages of session '{session_id}' link in a loop")
        path.append(current)
        current = parent_of[current]
    path.reverse()
    return path
