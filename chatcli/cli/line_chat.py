"""A chat one line at a time, for terminals that cannot show the app.

Used for ``TERM=dumb`` and ``chatcli --no-tui``: the same sessions, roles and context
handling, plain text in and out.

Replies go to stdout; the prompt marker and notices go to stderr, so a transcript can be
captured with ``chatcli --no-tui > chat.txt``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

import typer

from chatcli.cli.ask import stream_events
from chatcli.cli.errors import CONTEXT_HINT, say
from chatcli.cli.render import RawWriter
from chatcli.cli.startup import ChatStart, started
from chatcli.cli.stopping import stop_on_signals
from chatcli.core.chat import ChatCore, sampling_from
from chatcli.errors import ChatcliError, ContextOverflowError
from chatcli.store.records import SessionRecord

HELP = "type a message and Enter; end a line with \\ to go on; /new starts a new chat, /quit ends"


def read_line(prompt: str) -> str | None:
    """One line typed by the user (the prompt on stderr); None at end of input."""
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    return line if line else None


@dataclass
class LineChat:
    """The loop: read a message, stream the reply, until /quit or end of input."""

    core: ChatCore
    session: SessionRecord | None
    name: str | None
    read: Callable[[str], str | None] = read_line

    def run(self) -> int:
        """Chat until the user is done; return the exit code."""
        say(HELP)
        while (text := self._message()) is not None:
            if text == "/quit":
                break
            if text == "/new":
                self.session, self.name = None, None
                say("a new chat")
            elif text:
                self._send(text)
        return 0

    def _message(self) -> str | None:
        lines: list[str] = []
        while (line := self.read("… " if lines else "> ")) is not None:
            line = line.rstrip("\n")
            if not line.endswith("\\"):
                return "\n".join([*lines, line]).strip()
            lines.append(line[:-1])
        return "\n".join(lines).strip() or None

    def _send(self, text: str) -> None:
        created = self.session is None
        if self.session is None:
            self.session = self.core.new_session(name=self.name)
        session = self.session
        params = sampling_from(session.sampling, self.core.default_sampling())
        try:
            with stop_on_signals() as cancel:
                finished, _ = stream_events(
                    self.core.reply(session, text, params, cancel), RawWriter()
                )
        except ChatcliError as error:
            hint = CONTEXT_HINT if isinstance(error, ContextOverflowError) else ""
            say(f"error: {error.message}{hint}")
            if created and self.core.sessions.discard_if_empty(session):
                self.session = None
            return
        if finished is None or finished.finish_reason == "interrupted":
            say("reply interrupted; the partial answer was saved")
        if cancel.ends_the_process():  # SIGTERM or SIGHUP: the reply is saved, now leave
            raise typer.Exit(cancel.exit_code())


def run_line_chat(start: ChatStart) -> int:
    """Chat one line at a time in the session asked for (or a new one)."""
    with started(start, announce=True) as (core, found):
        return LineChat(core, found, start.session_ref).run()
