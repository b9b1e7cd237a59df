"""Ask for one piece of text: a session's new name, an edited message."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.suggester import Suggester
from textual.widgets import Button, Input, TextArea

from chatcli.tui.screens.dialog import Dialog


class TextInputScreen(Dialog[str | None]):
    """Edit a text and dismiss with it, stripped; dismiss with None on escape.

    Single-line mode shows an ``Input`` (Enter saves); multiline mode shows a
    ``TextArea`` (Ctrl+S saves). Both have Save and Cancel buttons. Empty text is
    refused with a notification and the screen stays open.
    """

    DEFAULT_CSS = """
    TextInputScreen > #dialog {
        width: 80;
        border-title-align: left;
    }
    TextInputScreen TextArea#text {
        height: 12;
        max-height: 50vh;
    }
    TextInputScreen #buttons {
        margin-top: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    AUTO_FOCUS = "#text"

    def __init__(
        self,
        title: str,
        value: str = "",
        multiline: bool = False,
        placeholder: str = "",
        suggester: Suggester | None = None,
    ) -> None:
        super().__init__()
        self._heading = title
        self._initial_value = value
        self._multiline = multiline
        self._placeholder = placeholder
        self._suggester = suggester
        """Completes a single-line value as it is typed (Right or End accepts)."""

    def compose(self) -> ComposeResult:
        """Lay out the text field and the buttons, with the title and key hints on the frame."""
        with Vertical(id="dialog") as dialog:
            dialog.border_title = Content(self._heading)
            if self._multiline:
                dialog.border_subtitle = "Ctrl+S saves · Esc cancels"
                yield TextArea(self._initial_value, id="text", placeholder=self._placeholder)
            else:
                dialog.border_subtitle = "Enter saves · Esc cancels"
                yield Input(
                    self._initial_value,
                    placeholder=self._placeholder,
                    suggester=self._suggester,
                    id="text",
                )
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        """Put the cursor after the existing text, ready to append."""
        if self._multiline:
            text_area = self.query_one("#text", TextArea)
            text_area.move_cursor(text_area.document.end)

    @property
    def text(self) -> str:
        """The text as currently typed, not stripped."""
        if self._multiline:
            return self.query_one("#text", TextArea).text
        return self.query_one("#text", Input).value

    @on(Input.Submitted, "#text")
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Dismiss with the stripped text, unless it is empty."""
        text = self.text.strip()
        if not text:
            self.notify("The text cannot be empty.", severity="warning")
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Dismiss without a result."""
        self.dismiss(None)
