"""A line of progress on stderr, redrawn in place; only on a terminal (a redirect gets none)."""

from __future__ import annotations

import sys


class StatusLine:
    """``chatcli: LABEL: TEXT`` (or ``chatcli: TEXT`` without a label), redrawn in place."""

    def __init__(self, label: str = "") -> None:
        self.prefix = f"chatcli: {label}: " if label else "chatcli: "
        self.active = sys.stderr.isatty()
        self.shown = False

    def show(self, text: str) -> None:
        """Redraw the line with ``text``."""
        if self.active:
            sys.stderr.write(f"\r\x1b[K{self.prefix}{text}")
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        """Remove the line."""
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False
