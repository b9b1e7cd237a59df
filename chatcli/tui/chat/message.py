"""One message in the transcript: a header line and its text, as Markdown or cheap plain text.

Finished text is one Static drawing rich's Markdown (see rendering.py). While a reply streams,
only the block being written is redrawn on each drain (a "live" Static); blocks the parser has
seen end move into "frozen" Statics that are rendered once. So a drain costs the same at token
4,000 as at token 10, and nothing re-renders the whole text. When the reply ends the message is
rendered once in full, as one Static.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from chatcli.markdown import code_blocks, last_block_start
from chatcli.store.records import MessageRecord
from chatcli.tui.chat.attachments import AttachmentItem
from chatcli.tui.chat.rendering import MarkdownText, look_for

MessageAction = Literal["edit", "regenerate", "pin", "branch", "continue"]


class MessageView(Vertical, can_focus=True):
    """A message with its role, branch position ("2/3") and status, and its text."""

    DEFAULT_CSS = """
    MessageView { height: auto; padding: 0 1; margin: 0; }
    MessageView:focus { background: $boost; }
    MessageView .header { color: $text-muted; height: 1; }
    MessageView.-user .header { color: $accent; }
    MessageView.-assistant .header { color: $success; }
    MessageView .body, MessageView .frozen, MessageView .live { height: auto; margin: 0 0 1 0; }
    """

    BINDINGS = [
        Binding("y", "copy", "Copy"),
        Binding("b", "copy_code", "Copy code"),
        Binding("left,[", "branch(-1)", "Prev branch"),
        Binding("right,]", "branch(1)", "Next branch"),
        Binding("e", "request('edit')", "Edit"),
        Binding("r", "request('regenerate')", "Regenerate"),
        Binding("p", "request('pin')", "Pin"),
        Binding("c", "request('continue')", "Continue"),
        Binding("escape", "app.focus_prompt", "Back to input"),
    ]
    ACTION_CHARACTERS = frozenset(
        key
        for binding in BINDINGS
        if isinstance(binding, Binding)
        for key in binding.key.split(",")
        if len(key) == 1
    )
    """The printable keys bound above (y b [ ] e r p); any other typed character goes to the
    input."""

    @dataclass
    class ActionRequested(Message):
        """The user asked for ``action`` on this message (``step`` for branch switching)."""

        view: MessageView
        action: MessageAction
        step: int = 0

    @dataclass
    class Typed(Message):
        """Text was typed while this message had the focus (it belongs in the input)."""

        text: str

    def __init__(
        self,
        record: MessageRecord | None,
        *,
        role: str,
        text: str = "",
        sibling_index: int = 0,
        sibling_count: int = 1,
        rich: bool = True,
        attachments: Sequence[AttachmentItem] = (),
    ) -> None:
        super().__init__(classes=f"-{role}")
        self.attachments = list(attachments)
        self.record = record
        self.role = role
        self.text = text
        self.sibling_index = sibling_index
        self.sibling_count = sibling_count
        self.rich = rich
        self._streaming = False
        self._live_text = ""
        self._code_cursor = 0

    def compose(self) -> ComposeResult:
        """The header line, the attached files, then the body."""
        yield Static(self._header(), classes="header", markup=False)
        yield from self.attachments
        yield Static(self._body(), classes="body", markup=False)

    def on_mount(self) -> None:
        """Redraw the Markdown in the new colours when the theme changes."""
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())

    def on_unmount(self) -> None:
        """Stop listening: the signal's callback would keep a removed view alive."""
        self.app.theme_changed_signal.unsubscribe(self)

    def _body(self) -> MarkdownText | str:
        if not self.rich:
            return self.text
        # What the user typed keeps its line breaks; a model's Markdown is taken as written.
        return MarkdownText(self.text, look_for(self.app), hard_breaks=self.role == "user")

    def _restyle(self) -> None:
        if self.rich and not self._streaming:
            self.query_one(".body", Static).update(self._body())

    def _header(self) -> str:
        label = {"user": "You", "assistant": "Assistant", "system": "System"}.get(
            self.role, self.role
        )
        if self.sibling_count > 1:
            label += f"  ‹ {self.sibling_index + 1}/{self.sibling_count} ›"
        status = self.record.status if self.record else ""
        if status == "interrupted":
            label += "  (interrupted)"
        elif status == "complete" and self.record and self.record.finish_reason == "length":
            tokens = (self.record.usage or {}).get("completion_tokens", 0)
            label += f"  (cut at {tokens:,} tokens; Ctrl+G continues)"
        elif status == "error":
            label += "  (failed)"
        if self.record and self.record.pinned:
            label += "  📌"
        return label

    def refresh_header(self) -> None:
        """Redraw the header after the record or branch position changed."""
        for header in self.query(".header").results(Static):  # none once the app is closing
            header.update(self._header())

    def make_rich(self) -> None:
        """Replace cheap plain text by rendered Markdown (when it scrolls into view)."""
        if self.rich:
            return
        self.rich = True
        # No body yet while the view is being mounted (compose then renders it as Markdown),
        # nor once it is removed: a scroll's timer can run in between.
        for body in self.query(".body").results(Static):
            body.update(self._body())

    async def start_stream(self) -> None:
        """Prepare to receive the reply's text in pieces (after any text it already has)."""
        self.query_one(".body").display = False
        self._live_text = self.text  # a continued reply goes on from its saved text
        self._streaming = True
        await self.mount(Static(classes="live", markup=False))

    async def append(self, text: str) -> None:
        """Add streamed text: freeze the blocks it finished, redraw the one being written."""
        self.text += text
        if not self._streaming:
            return
        self._live_text += text
        live = self.query_one(".live", Static)
        cut = last_block_start(self._live_text)
        if cut:
            finished, self._live_text = self._live_text[:cut], self._live_text[cut:]
            frozen = Static(MarkdownText(finished, look_for(self.app)), classes="frozen")
            await self.mount(frozen, before=live)
        content = MarkdownText(self._live_text, look_for(self.app))
        # Most drains add words, not lines: then a repaint of this widget is enough, and the
        # two layout passes a resize costs (Textual re-lays out after any size change) are saved.
        width, height = live.content_size
        resized = cut or not width or content.height(self.app.console, width) != height
        live.update(content, layout=bool(resized))

    async def finish(self, record: MessageRecord | None) -> None:
        """End the stream and render the whole text once, as one Static."""
        self._streaming = False
        if record is not None:
            self.record = record
            self.text = record.content
        if not self.is_attached:  # the app is closing
            return
        with self.app.batch_update():
            await self.query(".frozen, .live").remove()
            body = self.query_one(".body", Static)
            body.update(self._body())
            body.display = True
        self.refresh_header()

    def on_key(self, event: events.Key) -> None:
        """Pass typed characters that are not action keys on to the input.

        Once the focus has gone (to the input, by a key typed just before), every character
        still on its way here is typing too.
        """
        acts = self.has_focus and event.character in self.ACTION_CHARACTERS
        if event.is_printable and not acts:
            event.stop()
            event.prevent_default()
            self.post_message(self.Typed(event.character or ""))

    def action_copy(self) -> None:
        """Copy the message's text (OSC 52: works over SSH in most terminals)."""
        self.app.copy_to_clipboard(self.text)
        self.notify("Copied the message")

    def action_copy_code(self) -> None:
        """Copy a code block; pressing again copies the next one."""
        blocks = code_blocks(self.text)
        if not blocks:
            self.notify("No code block in this message", severity="warning")
            return
        index = self._code_cursor % len(blocks)
        self._code_cursor += 1
        self.app.copy_to_clipboard(blocks[index])
        self.notify(f"Copied code block {index + 1}/{len(blocks)}")

    def action_branch(self, step: int) -> None:
        """Show the previous or next sibling branch of this message."""
        if self.sibling_count > 1:
            self.post_message(self.ActionRequested(self, "branch", step))

    def action_request(self, action: MessageAction) -> None:
        """Ask the app to edit, regenerate or pin this message."""
        if self.record is not None:
            self.post_message(self.ActionRequested(self, action))
