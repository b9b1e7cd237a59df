"""The sessions sidebar: every saved session, newest first, filtered as you type."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from chatcli.store.records import SessionRecord

SessionAction = Literal["open", "rename", "delete", "new"]


def describe_time(timestamp: float, now: float | None = None) -> str:
    """Short time of a session: '14:05' today, 'Mar 3' this year, '2024-03-03' before."""
    now = time.time() if now is None else now
    then, today = time.localtime(timestamp), time.localtime(now)
    if then.tm_year == today.tm_year and then.tm_yday == today.tm_yday:
        return time.strftime("%H:%M", then)
    if then.tm_year == today.tm_year:
        return time.strftime("%b %d", then)
    return time.strftime("%Y-%m-%d", then)


class SessionList(OptionList):
    """The list itself; keys act on the highlighted session, typing goes to the filter."""

    BINDINGS = [
        Binding("f2,ctrl+r", "act('rename')", "Rename"),
        Binding("delete,ctrl+d", "act('delete')", "Delete"),
    ]

    def on_key(self, event: events.Key) -> None:
        """Typed characters and Backspace edit the filter (which takes the focus)."""
        sidebar = self.parent
        if not isinstance(sidebar, SessionsSidebar):
            return
        if event.is_printable or event.key == "backspace":
            event.stop()
            event.prevent_default()
            sidebar.type_into_filter(event.character if event.is_printable else None)

    def action_act(self, action: SessionAction) -> None:
        """Ask the sidebar to act on the highlighted session."""
        sidebar = self.parent
        if isinstance(sidebar, SessionsSidebar):
            sidebar.request(action)


@dataclass(frozen=True)
class TextMatch:
    """Where the filter's words were found in a session."""

    message_id: str
    snippet: str


TextSearch = Callable[[str], dict[str, TextMatch]]
"""Filter text -> the sessions whose messages contain it (best match of each)."""


class SessionsSidebar(Vertical):
    """A filter box over the list of sessions."""

    DEFAULT_CSS = """
    SessionsSidebar {
        width: 36; max-width: 45%; dock: left; border-right: vkey $primary 40%; display: none;
    }
    SessionsSidebar.-open { display: block; }
    SessionsSidebar Input { margin: 0 0 1 0; }
    SessionsSidebar OptionList { height: 1fr; border: none; }
    """
    BINDINGS = [Binding("down", "to_list", "To the list", show=False)]
    """Down in the filter moves to the list (the list's own Down moves its highlight)."""

    @dataclass
    class ActionRequested(Message):
        """The user wants to act on a session (``None`` for a new chat)."""

        action: SessionAction
        session: SessionRecord | None
        message_id: str | None = None
        """For "open" from a search of the messages' text: the message that matched."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sessions: list[SessionRecord] = []
        self.current_id: str | None = None
        self.searcher: TextSearch | None = None
        """Finds the filter's words in what was said (set by the app); None: titles only."""
        self.matches: dict[str, TextMatch] = {}

    def compose(self) -> ComposeResult:
        """The filter box above the list."""
        # Not select-on-focus: the focus comes with the first typed character (see SessionList).
        yield Input(placeholder="Filter sessions…", id="session-filter", select_on_focus=False)
        yield SessionList(id="session-list")

    def show_sessions(self, sessions: list[SessionRecord], current_id: str | None) -> None:
        """Fill the list (newest first), keeping the filter text."""
        self.sessions = sessions
        self.current_id = current_id
        self._refill()

    def _refill(self) -> None:
        needle = self.query_one(Input).value.strip().lower()
        listing = self.query_one(SessionList)
        highlighted = listing.highlighted_option
        keep = highlighted.id if highlighted is not None else self.current_id
        self.matches = self.searcher(needle) if needle and self.searcher else {}
        options = [Option("＋ New chat", id="new")]
        for session in self.sessions:
            title = session.title or "(untitled)"
            named = needle in title.lower() or needle in (session.name or "").lower()
            if needle and not named and session.id not in self.matches:
                continue
            mark = "● " if session.id == self.current_id else "  "
            second = describe_time(session.updated)
            if needle and not named:
                second = self.matches[session.id].snippet[:60]
            options.append(Option(f"{mark}{title[:26]}\n  {second}", id=session.id))
        # One call: adding options one by one re-measures the list each time (0.1 s for 1,000).
        listing.clear_options()
        listing.add_options(options)
        self._highlight(listing, keep)

    @staticmethod
    def _highlight(listing: SessionList, option_id: str | None) -> None:
        """Highlight ``option_id`` if listed, else the first session, so Enter acts at once.

        ``None`` means the new-chat entry.
        """
        ids = [listing.get_option_at_index(i).id for i in range(listing.option_count)]
        if option_id in ids:
            listing.highlighted = ids.index(option_id)
        else:
            listing.highlighted = 0 if option_id is None else min(1, len(ids) - 1)

    def focus_list(self) -> None:
        """Focus the list with the open session highlighted."""
        listing = self.query_one(SessionList)
        self._highlight(listing, self.current_id)
        listing.focus()

    def type_into_filter(self, text: str | None) -> None:
        """Add ``text`` to the filter, or delete its last character for None; focus it."""
        box = self.query_one(Input)
        box.focus()
        box.cursor_position = len(box.value)
        if text is None:
            box.action_delete_left()
        else:
            box.insert_text_at_cursor(text)

    def clear_filter(self) -> None:
        """Empty the filter box and list every session again (when the sidebar closes)."""
        box = self.query_one(Input)
        with box.prevent(Input.Changed):
            box.value = ""
        self._refill()

    def action_to_list(self) -> None:
        """Move from the filter to the list, keeping its highlight."""
        self.query_one(SessionList).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Filter as the user types."""
        event.stop()
        self._refill()
        listing = self.query_one(SessionList)
        listing.highlighted = min(1, listing.option_count - 1)  # the first session that matches

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the filter box moves to the list."""
        event.stop()
        self.query_one(SessionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Open the chosen session (or start a new chat)."""
        event.stop()
        if event.option.id == "new":
            self.post_message(self.ActionRequested("new", None))
        else:
            match = self.matches.get(event.option.id or "")
            message = match.message_id if match else None
            self.post_message(self.ActionRequested("open", self._session(event.option.id), message))

    def request(self, action: SessionAction) -> None:
        """Act on the highlighted session."""
        listing = self.query_one(SessionList)
        if listing.highlighted is None:
            return
        option = listing.get_option_at_index(listing.highlighted)
        session = self._session(option.id)
        if session is not None:
            self.post_message(self.ActionRequested(action, session))

    def _session(self, session_id: str | None) -> SessionRecord | None:
        return next((s for s in self.sessions if s.id == session_id), None)
