"""The message input: Enter sends, Shift+Enter or Ctrl+J starts a new line, Up recalls."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea


class PromptInput(TextArea):
    """A multi-line input that sends its text on Enter."""

    DEFAULT_CSS = """
    PromptInput {
        height: auto;
        max-height: 10;
        min-height: 3;
        border: round $primary 50%;
    }
    PromptInput:focus { border: round $primary; }
    """

    BINDINGS = [
        # TextArea binds Ctrl+E (line end) and Ctrl+Y (redo), which would swallow the app's
        # "edit last" and "copy reply" while typing; End still moves to the line end.
        Binding("ctrl+e", "app.edit_last", "Edit last"),
        Binding("ctrl+y", "app.copy_last", "Copy reply", show=False),
        # Tab goes to the newest message, not (round the focus chain) the oldest one.
        Binding("tab", "app.focus_newest", "Messages", show=False),
    ]

    @dataclass
    class Submitted(Message):
        """The user sent ``text``."""

        text: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.sent: list[str] = []
        self._recall_index: int | None = None

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self._submit()
        elif event.key in ("shift+enter", "ctrl+j"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
        elif event.key == "up" and self._can_recall():
            event.stop()
            event.prevent_default()
            self._recall(-1)
        elif event.key == "down" and self._recall_index is not None:
            event.stop()
            event.prevent_default()
            self._recall(+1)
        else:
            await super()._on_key(event)

    def _submit(self) -> None:
        text = self.text.strip()
        if not text:
            return
        self.sent.append(text)
        self._recall_index = None
        self.clear()
        self.post_message(self.Submitted(text))

    def _can_recall(self) -> bool:
        """Up recalls only from an empty input, or while already stepping through history."""
        return bool(self.sent) and (not self.text or self._recall_index is not None)

    def _recall(self, step: int) -> None:
        index = len(self.sent) if self._recall_index is None else self._recall_index
        index = max(0, min(len(self.sent), index + step))
        self._recall_index = None if index == len(self.sent) else index
        self.load_text("" if self._recall_index is None else self.sent[index])
        self.move_cursor(self.document.end)

    def restore(self, text: str) -> None:
        """Put text back (e.g. a message that could not be sent), so nothing typed is lost."""
        self.load_text(text)
        self.move_cursor(self.document.end)
