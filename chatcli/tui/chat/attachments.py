"""Attachments in the chat app: chips above the input, items in the transcript, path completion.

Chips are the files attached to the message being written (with their token counts); pressing
one takes it off. In the transcript a message's files are collapsed items (path, size, tokens)
whose text is read from the session only when one is opened.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Button, Collapsible, Static

from chatcli.core.attachments import Attachment, human_size

PREVIEW_CHARS = 20_000
"""Most characters of an attached text shown when its item is opened."""


def attachment_label(path: str, size: int, tokens: int | None) -> str:
    """``notes.txt · 1.2 KB · 340 tokens``."""
    counted = f" · {tokens:,} tokens" if tokens is not None else ""
    return f"{path} · {human_size(size)}{counted}"


class AttachmentChips(Horizontal):
    """The files attached to the message being written; hidden while there are none."""

    DEFAULT_CSS = """
    AttachmentChips { height: auto; margin: 0 1; display: none; }
    AttachmentChips.-some { display: block; }
    AttachmentChips Button { min-width: 0; margin-right: 1; }
    """

    class Changed(Message):
        """The attached files changed (the context meter counts them)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.attachments: list[Attachment] = []

    @property
    def tokens(self) -> int:
        """Tokens the attached files add to the message."""
        return sum(a.tokens or 0 for a in self.attachments)

    async def add(self, attachments: Sequence[Attachment]) -> None:
        """Attach more files (one already attached is not added twice)."""
        known = {(a.path, a.sha256) for a in self.attachments}
        self.attachments += [a for a in attachments if (a.path, a.sha256) not in known]
        await self._redraw()

    async def take(self) -> list[Attachment]:
        """The attached files, leaving none (they go with the message being sent)."""
        taken, self.attachments = self.attachments, []
        await self._redraw()
        return taken

    async def _redraw(self) -> None:
        await self.remove_children()
        await self.mount_all(
            Button(
                f"📎 {attachment_label(a.path, a.size, a.tokens)} ✕",
                name=str(index),
                compact=True,  # one line: the default style's borders leave no row for the text
            )
            for index, a in enumerate(self.attachments)
        )
        self.set_class(bool(self.attachments), "-some")
        self.post_message(self.Changed())

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        """A pressed chip takes its file off the message."""
        event.stop()
        del self.attachments[int(event.button.name or 0)]
        await self._redraw()


class AttachmentItem(Collapsible):
    """One attached file of a message: a title line, its text when opened."""

    DEFAULT_CSS = """
    AttachmentItem { margin: 0; padding: 0; border: none; background: transparent; }
    AttachmentItem Contents { padding: 0 0 0 2; }
    AttachmentItem .attached-text { color: $text-muted; }
    """

    def __init__(self, path: str, size: int, tokens: int | None, text: Callable[[], str]) -> None:
        super().__init__(
            Static("", classes="attached-text", markup=False),
            title=f"📎 {attachment_label(path, size, tokens)}",
            collapsed=True,
        )
        self._text = text
        self._shown = False

    def on_collapsible_expanded(self, event: Collapsible.Expanded) -> None:
        """Read and show the text the first time the item is opened."""
        event.stop()
        if self._shown:
            return
        text = self._text()
        more = (
            f"\n… ({len(text) - PREVIEW_CHARS:,} more characters)"
            if len(text) > PREVIEW_CHARS
            else ""
        )
        self.query_one(".attached-text", Static).update(text[:PREVIEW_CHARS] + more)
        self._shown = True


class PathSuggester(Suggester):
    """Completes a path from what is on disk: the first entry that starts with what was typed."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        """The typed path completed to the first matching file or folder ('/' after a folder)."""
        if not value:
            return None
        typed = Path(os.path.expanduser(value))
        folder, start = (typed, "") if value.endswith(os.sep) else (typed.parent, typed.name)
        try:
            names = sorted(e.name for e in os.scandir(folder) if e.name.startswith(start))
        except OSError:
            return None
        names = [name for name in names if not name.startswith(".") or start.startswith(".")]
        if not names:
            return None
        completed = value + names[0][len(start) :]
        return completed + os.sep if (folder / names[0]).is_dir() else completed
