"""The frame all of the TUI's dialogs share: a bordered box centred over the chat."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

Answer = TypeVar("Answer")


class Dialog(ModalScreen[Answer]):
    """A modal screen drawn as a box (``#dialog``) with a row of ``#buttons`` at its foot.

    Subclasses set the box's width and lay out what is inside it.
    """

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
    }
    Dialog > #dialog {
        height: auto;
        max-width: 95%;
        max-height: 95%;
        overflow-y: auto;  /* a small terminal scrolls the dialog, never hides its buttons */
        padding: 1 2 0 2;
        border: thick $primary 60%;
        border-title-align: center;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        background: $surface;
    }
    Dialog #buttons {
        width: 100%;
        height: auto;
        align-horizontal: right;
    }
    Dialog #buttons Button {
        margin-left: 2;
    }
    """
