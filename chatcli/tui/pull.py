"""Offering to download a catalog model the chat app was asked to switch to, with progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chatcli.catalog import CatalogEntry
from chatcli.errors import ChatcliError
from chatcli.tui.screens import ConfirmScreen

if TYPE_CHECKING:
    from chatcli.tui.app import ChatApp

REDRAW_S = 0.25
"""Least time between two progress updates of the status bar."""


class ModelPuller:
    """Asks before downloading; downloads in a thread; then runs what was waiting for it."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app

    def offer(self, entry: CatalogEntry, then: Callable[[], None]) -> None:
        """Ask whether to download ``entry``'s file; once it is here, call ``then``."""
        self.app.run_worker(self._offer(entry, then), exclusive=True, group="modal")

    async def _offer(self, entry: CatalogEntry, then: Callable[[], None]) -> None:
        app = self.app
        size = f" ({entry.size / 1e9:.1f} GB)" if entry.size else ""
        question = (
            f"Model '{entry.name}' is not downloaded yet. "
            f"Download it now{size} from {entry.hub_repo}?"
        )
        if not await app.push_screen_wait(ConfirmScreen(question)):
            app.set_status(activity="")
            app.notify(
                f"Not downloaded; from a terminal: chatcli models pull {entry.name}",
                title="Model not loaded",
                severity="warning",
            )
            return
        app.run_worker(lambda: self._pull(entry, then), thread=True, group="pull")

    def _pull(self, entry: CatalogEntry, then: Callable[[], None]) -> None:
        """Runs in a worker thread: the download, its progress in the status bar."""
        from chatcli.models import pull_entry

        app = self.app
        shown = [0.0]

        def progress(done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - shown[0] < REDRAW_S and done != total:
                return
            shown[0] = now
            share = f" {100 * done // total}%" if total else f" {done / 1e6:,.0f} MB"
            app.call_from_thread(app.set_status, activity=f"downloading {entry.name}{share}")

        try:
            pull_entry(entry.name, progress=False, listener=progress)
        except ChatcliError as error:
            app.call_from_thread(self._failed, error.message)
            return
        app.call_from_thread(then)

    def _failed(self, message: str) -> None:
        self.app.set_status(activity="")
        self.app.notify(message, title="Download failed", severity="error", timeout=8)
