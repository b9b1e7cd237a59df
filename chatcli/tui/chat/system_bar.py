"""The line at the top of the chat: which session is open, its role and system prompt."""

from __future__ import annotations

from textual.widgets import Static


class SystemBar(Static):
    """The open session's name (or title), role and system prompt, at the top of the chat."""

    DEFAULT_CSS = """
    SystemBar { height: 1; padding: 0 1; background: $boost; color: $text-muted; }
    """

    def show(self, session: str, role: str | None, prompt: str) -> None:
        """Show the session's label, the role name and the first line of the prompt."""
        first_line = prompt.strip().splitlines()[0] if prompt.strip() else "(no system prompt)"
        self.update(f"{session} · {role or 'custom'} · {first_line}")
