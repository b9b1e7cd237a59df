"""The scrolling transcript: the branch of messages being shown, newest at the bottom.

Opening a long session must be fast: each mounted message costs Textual a few milliseconds
to style and lay out, so only the newest MOUNT_LIMIT are read and mounted, the newest
RICH_RECENT of them as Markdown and the rest as plain text that turns into Markdown when it
scrolls into view. Older messages are read and mounted REVEAL_BATCH at a time when the user
scrolls to the top (or presses Enter on the "earlier messages" line).

A jump to a message far up (a search match) shows a window of the branch around it instead,
with a "later messages" line at the bottom that mounts the next ones the same way; anything
added to the transcript (a message sent) first brings its newest messages back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widget import Widget
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


class BranchReader(Protocol):
    """Reads the messages of the branch shown that the transcript has not mounted."""

    def messages_above(self, message: MessageRecord, last: int) -> ShownBranch:
        """The up-to-``last`` messages just above ``message``."""

    def messages_below(self, message: MessageRecord, count: int) -> ShownBranch:
        """The up-to-``count`` messages just below ``message``."""

    def newest_messages(self) -> ShownBranch:
        """The newest messages of the branch (what the transcript shows when it opens)."""


class UnmountedMessages(Static, can_focus=True):
    """A line standing in for messages not mounted yet; Enter or a click mounts them."""

    WHICH, WAY, ARROW = "", "", ""
    """Set by each kind: which messages, which way to scroll for them, the arrow shown."""

    DEFAULT_CSS = "UnmountedMessages { color: $text-muted; text-align: center; margin: 0 0 1 0; }"
    BINDINGS = [
        ("enter", "reveal", "Show them"),
        ("escape", "app.focus_prompt", "Back to input"),
    ]

    async def on_click(self) -> None:
        """Mount the messages."""
        await self.action_reveal()

    async def action_reveal(self) -> None:
        """Mount the messages."""
        transcript = self.parent
        if isinstance(transcript, Transcript):
            await self.reveal(transcript)

    async def reveal(self, transcript: Transcript) -> None:
        """Mount the messages this line stands for (the next batch of them)."""
        raise NotImplementedError

    @classmethod
    def note(cls, count: int) -> str:
        """What the line says for ``count`` messages."""
        return f"{cls.ARROW} {count:,} {cls.WHICH} messages (scroll {cls.WAY} or Enter to show)"


class EarlierMessages(UnmountedMessages):
    """Messages above those mounted."""

    WHICH, WAY, ARROW = "earlier", "up", "▲"

    async def reveal(self, transcript: Transcript) -> None:
        """Mount the batch just above."""
        await transcript.reveal_earlier()


class LaterMessages(UnmountedMessages):
    """Messages below those mounted (after a jump up the branch)."""

    WHICH, WAY, ARROW = "later", "down", "▼"

    async def reveal(self, transcript: Transcript) -> None:
        """Mount the batch just below."""
        await transcript.reveal_later()


class ContextMarker(Static):
    """Marks where the context starts: messages above it were not sent to the model."""

    DEFAULT_CSS = "ContextMarker { color: $warning; text-align: center; margin-bottom: 1; }"


class Transcript(VerticalScroll, can_focus=False):
    """The messages of the current branch."""

    DEFAULT_CSS = "Transcript { height: 1fr; padding: 0 1; }"

    def __init__(self, reader: BranchReader | None = None, *, id: str | None = None):
        super().__init__(id=id)
        self._reader = reader
        self._earlier = 0  # messages of the branch above the oldest mounted one
        self._later = 0  # and below the newest (only after a jump up the branch)
        self._upgrade_timer: Timer | None = None
        self._context_note: tuple[int, bool] | None = None
        self._placing = False  # a reveal is waiting for layout to put the view back

    @property
    def at_end(self) -> bool:
        """Whether the newest message of the branch is mounted (not after a jump up)."""
        return self._later == 0

    async def show(self, branch: ShownBranch) -> None:
        """Replace the transcript with ``branch``'s messages (its newest, at most MOUNT_LIMIT).

        A branch with messages ``later`` than those given is a window after a jump: it is
        shown whole, with a line for the later ones, and the view is not kept at the bottom.
        """
        await self.clear()
        visible = branch.messages if branch.later else branch.messages[-MOUNT_LIMIT:]
        earlier = branch.earlier + len(branch.messages) - len(visible)
        rich_from = len(visible) - RICH_RECENT if not branch.later else len(visible)
        widgets: list[Widget] = [
            self._view(item, rich=i >= rich_from) for i, item in enumerate(visible)
        ]
        if earlier:
            widgets.insert(0, EarlierMessages(EarlierMessages.note(earlier)))
        if branch.later:
            widgets.append(LaterMessages(LaterMessages.note(branch.later)))
        # Counted once their lines are mounted: a scroll's timer may run in between.
        await self.mount_all(widgets)
        self._earlier, self._later = earlier, branch.later
        if self._later:
            self.anchor(False)
            self.call_after_refresh(self.make_visible_rich)  # the window's views, as Markdown
            return
        self.scroll_end(animate=False)
        self.anchor()

    async def clear(self) -> None:
        """Remove every message and line (an empty chat)."""
        if self._upgrade_timer is not None:
            self._upgrade_timer.stop()
        self._earlier = self._later = 0
        self._context_note = None
        await self.remove_children()

    async def show_end(self) -> None:
        """Show the newest messages again if a jump left them unmounted."""
        if not self._later or self._reader is None:
            return
        try:
            branch = self._reader.newest_messages()
        except ChatcliError as error:  # the session was changed or deleted meanwhile
            self.notify(f"Newest messages cannot be read: {error.message}", severity="warning")
            return
        await self.show(branch)

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

    async def reveal_earlier(self) -> None:
        """Read and mount the REVEAL_BATCH messages above those shown, keeping the view.

        They are mounted as plain text; the ones scrolled into view become Markdown.
        """
        oldest = next((v.record for v in self.query(MessageView) if v.record is not None), None)
        if not self._earlier or oldest is None or self._reader is None:
            return
        reader = self._reader
        batch = await self._read_batch(
            lambda: reader.messages_above(oldest, REVEAL_BATCH), EarlierMessages
        )
        self._earlier = batch.earlier if batch is not None and batch.messages else 0
        height_before = self.virtual_size.height
        if batch is None or not await self._mount_batch(batch, self._earlier, EarlierMessages):
            return
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

    async def reveal_later(self) -> None:
        """Read and mount the REVEAL_BATCH messages below those shown (after a jump up)."""
        views = self.query(MessageView)
        newest = views.last().record if views else None
        if not self._later or newest is None or self._reader is None:
            return
        reader = self._reader
        batch = await self._read_batch(
            lambda: reader.messages_below(newest, REVEAL_BATCH), LaterMessages
        )
        self._later = batch.later if batch is not None and batch.messages else 0
        if batch is not None and await self._mount_batch(batch, self._later, LaterMessages):
            self.call_after_refresh(self.make_visible_rich)

    async def _read_batch(
        self, read: Callable[[], ShownBranch], line: type[UnmountedMessages]
    ) -> ShownBranch | None:
        """The batch of messages ``line`` stands for; None (its line gone, a notice) on failure."""
        try:
            return read()
        except ChatcliError as error:  # the session was changed or deleted meanwhile
            await self.query(line).remove()
            which = line.WHICH.capitalize()
            self.notify(f"{which} messages cannot be read: {error.message}", severity="warning")
            return None

    async def _mount_batch(
        self, batch: ShownBranch, remaining: int, line: type[UnmountedMessages]
    ) -> bool:
        """Mount ``batch`` beside its ``line``, which then counts ``remaining`` or goes.

        False if the line is gone (the transcript is being replaced meanwhile).
        """
        lines = self.query(line)
        if not lines:
            return False
        marker = lines.first()
        views = [self._view(m, rich=False) for m in batch.messages]
        if line is EarlierMessages:
            await self.mount_all(views, after=marker)
        else:
            await self.mount_all(views, before=marker)
        if remaining:
            marker.update(marker.note(remaining))
        else:
            await marker.remove()
        return True

    async def add(self, view: MessageView) -> MessageView:
        """Append a message at the bottom (after the newest ones, brought back) and follow it."""
        await self.show_end()
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
        scrolls = self.max_scroll_y > 0 and not self._placing
        if scrolls and self.scroll_y == 0 and self._earlier:
            await self.reveal_earlier()
        elif scrolls and self.scroll_y >= self.max_scroll_y and self._later:
            await self.reveal_later()
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
