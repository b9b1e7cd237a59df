"""The scrolling transcript: the branch of messages being shown, newest at the bottom.

Opening a long session must be fast: each mounted message costs Textual a few milliseconds
to style and lay out, so only the newest MOUNT_LIMIT are read and mounted, the newest
RICH_RECENT of them as Markdown and the rest as plain text that turns into Markdown when it
scrolls into view. Older messages are read and mounted REVEAL_BATCH at a time when the user
scrolls to the top (or presses Enter on the "earlier messages" line).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Static

from chatcli.core.sessions import ShownBranch, ShownMessage
from chatcli.errors import ChatcliError
from chatcli.store.records import MessageRecord
from chatcli.tui.chat.attachments import AttachmentItem
from chatcli.tui.chat.message import MessageView

RICH_RECENT = 12
"""Newest messages mounted as Markdown straight away."""
MOUNT_LIMIT = 20
"""Messages mounted when a session opens; older ones wait behind a 'show earlier' line."""
REVEAL_BATCH = 20
"""Older messages mounted each time the user reaches the top."""


Shown = ShownMessage
"""A message to show and its place among its siblings."""

EarlierLoader = Callable[[MessageRecord, int], ShownBranch]
"""Reads the up-to-N messages just above a message on its branch."""


class EarlierMessages(Static, can_focus=True):
    """A line standing in for messages not mounted yet; Enter or a click mounts them."""

    DEFAULT_CSS = "EarlierMessages { color: $text-muted; text-align: center; margin-bottom: 1; }"
    BINDINGS = [
        ("enter", "reveal", "Show earlier"),
        ("escape", "app.focus_prompt", "Back to input"),
    ]

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

    def __init__(self, load_earlier: EarlierLoader | None = None, *, id: str | None = None):
        super().__init__(id=id)
        self._load_earlier = load_earlier
        self._earlier = 0  # messages of the branch above the oldest mounted one
        self._upgrade_timer: Timer | None = None
        self._context_note: tuple[int, bool] | None = None
        self._placing = False  # a reveal is waiting for layout to put the view back

    async def show(self, branch: ShownBranch) -> None:
        """Replace the transcript with the newest messages of ``branch``."""
        await self.remove_children()
        self._context_note = None
        visible = branch.messages[-MOUNT_LIMIT:]
        self._earlier = branch.earlier + len(branch.messages) - len(visible)
        views = [
            self._view(item, rich=i >= len(visible) - RICH_RECENT) for i, item in enumerate(visible)
        ]
        if self._earlier:
            await self.mount(EarlierMessages(self._earlier_note()))
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
            attachments=[
                AttachmentItem(
                    str(ref["path"]), int(ref["size"]), ref.get("tokens"), self._text_of(item, i)
                )
                for i, ref in enumerate(item.record.attachments)
            ],
        )

    def _text_of(self, item: Shown, index: int) -> Callable[[], str]:
        """Reads the text of the message's ``index``-th attachment (when its item is opened)."""

        def read() -> str:
            attachments = self.app.core.attachments_of(item.record)  # type: ignore[attr-defined]
            return str(attachments[index].text)

        return read

    def _earlier_note(self) -> str:
        return f"▲ {self._earlier:,} earlier messages (scroll up or Enter to show)"

    async def reveal_earlier(self) -> None:
        """Read and mount the REVEAL_BATCH messages above those shown, keeping the view.

        They are mounted as plain text; the ones scrolled into view become Markdown.
        """
        oldest = next((v.record for v in self.query(MessageView) if v.record is not None), None)
        if not self._earlier or oldest is None or self._load_earlier is None:
            return
        try:
            batch = self._load_earlier(oldest, REVEAL_BATCH)
        except ChatcliError as error:  # the session was changed or deleted meanwhile
            self._earlier = 0
            await self.query(EarlierMessages).remove()
            self.notify(f"Earlier messages cannot be read: {error.message}", severity="warning")
            return
        self._earlier = batch.earlier if batch.messages else 0
        height_before = self.virtual_size.height
        marker = self.query_one(EarlierMessages)
        await self.mount_all([self._view(m, rich=False) for m in batch.messages], after=marker)
        if self._earlier:
            marker.update(self._earlier_note())
        else:
            await marker.remove()
        if self._context_note is not None:  # its place may now be among the new ones
            dropped, summarized = self._context_note
            await self.mark_context_start(dropped, summarized=summarized)
        # What was on screen stays put: scroll down by what was mounted above it.
        self._placing = True
        self.call_after_refresh(self._keep_place, height_before, self.scroll_y)

    def _keep_place(self, height_before: int, scroll_y: float) -> None:
        grown = self.virtual_size.height - height_before
        self.scroll_to(y=scroll_y + grown, animate=False)
        self._placing = False

    async def add(self, view: MessageView) -> MessageView:
        """Append a message at the bottom and follow it."""
        await self.mount(view)
        self.anchor()
        return view

    async def mark_context_start(self, dropped: int, *, summarized: bool = False) -> None:
        """Show how many earlier messages were left out of the prompt (or summarized)."""
        await self.query(ContextMarker).remove()
        self._context_note = (dropped, summarized)
        views = list(self.query(MessageView))
        if dropped <= 0 or not views:
            return
        note = f"▲ {dropped:,} earlier messages are outside the context"
        if summarized:
            note += " (a summary of them is sent)"
        index = max(0, min(dropped - self._earlier, len(views) - 1))
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
        """After scrolling settles: mount older messages at the top, render what is in view."""
        super().watch_scroll_y(old, new)
        if self._upgrade_timer is not None:
            self._upgrade_timer.stop()
        self._upgrade_timer = self.set_timer(0.15, self._settle_scroll)

    async def _settle_scroll(self) -> None:
        if self.scroll_y == 0 and self._earlier and self.max_scroll_y > 0 and not self._placing:
            await self.reveal_earlier()
        await self.make_visible_rich()

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
