"""The sessions sidebar: every saved session, newest first, filtered as you type."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

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
    """The list itself; keys act on the highlighted session."""

    BINDINGS = [
        Binding("f2,ctrl+r", "act('rename')", "Rename"),
        Binding("delete,ctrl+d", "act('delete')", "Delete"),
    ]

    def action_act(self, action: SessionAction) -> None:
        """Ask the sidebar to act on the highlighted session."""
        sidebar = self.parent
        if isinstance(sidebar, SessionsSidebar):
            sidebar.request(action)


class SessionsSidebar(Vertical):
    """A filter box over the list of sessions."""

    DEFAULT_CSS = """
    SessionsSidebar { width: 36; dock: left; border-right: vkey $primary 40%; display: none; }
    SessionsSidebar.-open { display: block; }
    SessionsSidebar Input { margin: 0 0 1 0; }
    SessionsSidebar OptionList { height: 1fr; border: none; }
    """

    @dataclass
    class ActionRequested(Message):
        """The user wants to act on a session (``None`` for a new chat)."""

        action: SessionAction
        session: SessionRecord | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sessions: list[SessionRecord] = []
        self.current_id: str | None = None

    def compose(self) -> ComposeResult:
        """The filter box above the list."""
        yield Input(placeholder="Filter sessions…", id="session-filter")
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
        listing.clear_options()
        listing.add_option(Option("＋ New chat", id="new"))
        for session in self.sessions:
            title = session.title or "(untitled)"
            if (
                needle
                and needle not in title.lower()
                and needle not in (session.name or "").lower()
            ):
                continue
            mark = "● " if session.id == self.current_id else "  "
            label = f"{mark}{title[:26]}\n  {describe_time(session.updated)}"
            listing.add_option(Option(label, id=session.id))
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
            self.post_message(self.ActionRequested("open", self._session(event.option.id)))

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
