"""The chat screen: where every widget of the chat stands.

The app (app.py) holds the state and the actions and pushes dialogs over this screen;
messages from these widgets bubble up to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer

from chatcli.tui.chat.attachments import AttachmentChips
from chatcli.tui.chat.prompt import PromptInput
from chatcli.tui.chat.system_bar import SystemBar
from chatcli.tui.chat.transcript import BranchReader, Transcript
from chatcli.tui.sidebar import SessionsSidebar, TextSearch
from chatcli.tui.status import StatusBar


class ChatScreen(Screen[None]):
    """Sidebar on the left; system bar, transcript, input and status on the right."""

    DEFAULT_CSS = """
    ChatScreen #main { height: 1fr; }
    ChatScreen #prompt { margin: 0 1; }
    """

    def __init__(
        self,
        search_text: TextSearch,
        ready: Callable[[], Awaitable[None]],
        reader: BranchReader,
    ) -> None:
        super().__init__()
        self._search_text = search_text
        self._ready = ready
        self._reader = reader

    async def on_mount(self) -> None:
        """Tell the app its widgets are there (it opens the first session then)."""
        await self._ready()

    def compose(self) -> ComposeResult:
        """The widgets, in reading order."""
        sidebar = SessionsSidebar(id="sidebar")
        sidebar.searcher = self._search_text  # the filter also finds what was said
        yield sidebar
        with Vertical(id="main"):
            yield SystemBar(id="system-bar")
            yield Transcript(self._reader, id="transcript")
            yield AttachmentChips(id="chips")
            yield PromptInput(id="prompt")
            yield StatusBar(id="status")
        yield Footer()
