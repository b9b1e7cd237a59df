"""Attaching files in the chat app: ask for a path, read and count the files, show them as chips.

The app owns one ``Attaching``; its attach action and the send call into it. The files are read
and counted in a thread (counting a large file with the model's tokenizer takes a while).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from chatcli.core.attachments import Attachment, find_files, limit_problem, read_files
from chatcli.errors import ChatcliError, UsageError
from chatcli.tui.chat.attachments import AttachmentChips, AttachmentItem, PathSuggester
from chatcli.tui.screens import TextInputScreen

if TYPE_CHECKING:
    from chatcli.tui.app import ChatApp


def transcript_items(attachments: list[Attachment]) -> list[AttachmentItem]:
    """The transcript's items for files that were just sent (their texts are at hand)."""
    return [AttachmentItem(a.path, a.size, a.tokens, partial(str, a.text)) for a in attachments]


class Attaching:
    """The files attached to the message being written."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app
        self.sent: list[Attachment] = []
        """The files that went with the last message sent (given back if it fails)."""

    @property
    def chips(self) -> AttachmentChips:
        """The chips above the input."""
        return self.app.query_one(AttachmentChips)

    def ask_for_path(self) -> None:
        """Open the path prompt, with completion from the disk."""
        prompt = TextInputScreen(
            "Attach a file, a folder or a glob",
            placeholder="path (→ takes the completion)",
            suggester=PathSuggester(),
        )
        self.app.push_screen(prompt, self._attach)

    def _attach(self, spec: str | None) -> None:
        if spec:
            self.app.run_worker(lambda: self._read(spec), thread=True, group="attach")

    def _read(self, spec: str) -> None:
        """Find, read and count the files (in a worker thread), then show them."""
        app, settings = self.app, self.app.settings
        try:
            found = find_files([spec])
            problem = limit_problem(found, settings.attach_max_files, settings.attach_max_mib)
            if problem:
                raise UsageError(f"{problem}; raise attach_max_files or attach_max_mib")
            if not found.paths:
                raise UsageError(f"no text files in {spec}")
            attachments = app.core.count_attachments(read_files(found))
        except ChatcliError as error:
            app.call_from_thread(
                app.notify, error.message, title="Not attached", severity="error", timeout=8
            )
            return
        # call_from_thread awaits a coroutine function's result; its annotation says otherwise.
        app.call_from_thread(self.chips.add, attachments)  # type: ignore[arg-type]

    async def take(self) -> list[Attachment]:
        """The attached files, for the message being sent now."""
        self.sent = await self.chips.take()
        return self.sent

    async def give_back(self) -> None:
        """Put the files of a message that was never saved back on the chips."""
        await self.chips.add(self.sent)
        self.sent = []
