"""A yes/no question, e.g. before deleting a session."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from chatcli.tui.screens.dialog import Dialog


class ConfirmScreen(Dialog[bool]):
    """Ask a question; dismiss with True when confirmed and False when cancelled.

    ``y`` confirms; ``n`` and ``escape`` cancel. Cancel has the focus, so a stray
    Enter never confirms a destructive action.
    """

    DEFAULT_CSS = """
    ConfirmScreen > #dialog {
        width: 60;
        max-width: 90%;
        border: thick $error 60%;
    }
    ConfirmScreen #question {
        width: 100%;
        margin-bottom: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Yes", show=False),
        Binding("n", "cancel", "No", show=False),
        Binding("escape", "cancel", "Cancel"),
    ]

    AUTO_FOCUS = "#cancel"

    def __init__(self, question: str, confirm_label: str = "Delete") -> None:
        super().__init__()
        self._question = question
        self._confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        """Lay out the question and the two buttons."""
        with Vertical(id="dialog") as dialog:
            dialog.border_subtitle = "y confirms · n or Esc cancels"
            yield Static(self._question, id="question", markup=False)
            with Horizontal(id="buttons"):
                yield Button(self._confirm_label, id="confirm", variant="error")
                yield Button("Cancel", id="cancel")

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        """Answer yes."""
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Answer no."""
        self.dismiss(False)
