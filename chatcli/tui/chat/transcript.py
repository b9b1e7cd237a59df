"""The scrolling transcript: the branch of messages being shown, newest at the bottom.

Opening a long session must be fast: mounting a Markdown widget costs ~23 ms, so only the
newest messages are mounted as Markdown; older ones are mounted as plain text and turned into
Markdown when they scroll into view, and the oldest are not mounted until asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Static

from chatcli.store.records import MessageRecord
from chatcli.tui.chat.message import MessageView

RICH_RECENT = 12
"""Newest messages mounted as Markdown straight away."""
MOUNT_LIMIT = 40
"""Messages mounted when a session opens; older ones wait behind a 'show earlier' line."""


@dataclass(frozen=True)
class Shown:
    """A message to show and its place among its siblings."""

    record: MessageRecord
    sibling_index: int
    sibling_count: int


class EarlierMessages(Static, can_focus=True):
    """A line standing in for messages not mounted yet; Enter or a click mounts them."""

    DEFAULT_CSS = "EarlierMessages { color: $text-muted; text-align: center; margin-bottom: 1; }"
    BINDINGS = [("enter", "reveal", "Show earlier")]

    async def on_click(self) -> None:
        """Mount the earlier messages."""
        await self.action_reveal()

    async def action_reveal(self) -> None:
        """Mount the earlier messages."""
        transcript = self.parent
        if isinstance(transcript, Transcript):
            await transcript.reveal_earlier()


class ContextMarker(Static):
    """Marks where the context starts: messages above it were not sent to the model."""

    DEFAULT_CSS = "ContextMarker { color: $warning; text-align: center; margin-bottom: 1; }"


class Transcript(VerticalScroll, can_focus=False):
    """The messages of the current branch."""

    DEFAULT_CSS = "Transcript { height: 1fr; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hidden: list[Shown] = []
        self._upgrade_timer: Timer | None = None

    async def show(self, messages: list[Shown]) -> None:
        """Replace the transcript with ``messages`` (oldest first)."""
        await self.remove_children()
        self._hidden = messages[:-MOUNT_LIMIT] if len(messages) > MOUNT_LIMIT else []
        visible = messages[len(self._hidden) :]
        views = [
            self._view(item, rich=i >= len(visible) - RICH_RECENT) for i, item in enumerate(visible)
        ]
        if self._hidden:
            await self.mount(
                EarlierMessages(f"▲ {len(self._hidden)} earlier messages (Enter to show)")
            )
        await self.mount_all(views)
        self.scroll_end(animate=False)
        self.anchor()

    def _view(self, item: Shown, *, rich: bool) -> MessageView:
        return MessageView(
            item.record,
            role=item.record.role,
            text=item.record.content,
            sibling_index=item.sibling_index,
            sibling_count=item.sibling_count,
            rich=rich,
        )

    async def reveal_earlier(self) -> None:
        """Mount the messages held back when the session opened (as plain text)."""
        hidden, self._hidden = self._hidden, []
        await self.query(EarlierMessages).remove()
        views = [self._view(item, rich=False) for item in hidden]
        if views:
            await self.mount_all(views, before=0)

    async def add(self, view: MessageView) -> MessageView:
        """Append a message at the bottom and follow it."""
        await self.mount(view)
        self.anchor()
        return view

    async def mark_context_start(self, dropped: int, *, summarized: bool = False) -> None:
        """Show how many earlier messages were left out of the prompt (or summarized)."""
        await self.query(ContextMarker).remove()
        views = list(self.query(MessageView))
        if dropped <= 0 or not views:
            return
        note = f"▲ {dropped} earlier messages are outside the context"
        if summarized:
            note += " (a summary of them is sent)"
        index = max(0, min(dropped - len(self._hidden), len(views) - 1))
        await self.mount(ContextMarker(note), before=views[index])

    async def make_visible_rich(self) -> None:
        """Render as Markdown the plain-text messages now on screen."""
        top, bottom = self.scroll_y, self.scroll_y + self.size.height
        for view in self.query(MessageView):
            if view.rich:
                continue
            y = view.virtual_region.y
            if y + view.virtual_region.height >= top and y <= bottom:
                view.make_rich()

    def watch_scroll_y(self, old: float, new: float) -> None:
        """Upgrade plain messages shortly after the user scrolls to them."""
        super().watch_scroll_y(old, new)
        if self._upgrade_timer is not None:
            self._upgrade_timer.stop()
        self._upgrade_timer = self.set_timer(0.15, self.make_visible_rich)

    def last_view(self, role: str) -> MessageView | None:
        """The newest message of ``role`` on screen."""
        views = [v for v in self.query(MessageView) if v.role == role]
        return views[-1] if views else None

    def view_of(self, message_id: str) -> MessageView | None:
        """The view showing the message ``message_id``, if it is mounted."""
        for view in self.query(MessageView):
            if view.record is not None and view.record.id == message_id:
                return view
        return None
