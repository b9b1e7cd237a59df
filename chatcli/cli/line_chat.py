"""A chat one line at a time, for terminals that cannot show the app.

Used for ``TERM=dumb`` and ``chatcli --no-tui``: the same sessions, roles and context
handling, plain text in and out.

Replies go to stdout; the prompt marker and notices go to stderr, so a transcript can be
captured with ``chatcli --no-tui > chat.txt``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace

from chatcli.assembly import build_core, load_engine, open_sessions
from chatcli.cli.ask import cancel_on_sigint, session_settings, stream_events
from chatcli.cli.errors import CONTEXT_HINT, say
from chatcli.cli.options import ModelFlags, settings_with
from chatcli.cli.render import RawWriter
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
            with cancel_on_sigint() as cancel:
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


def run_line_chat(
    flags: ModelFlags,
    continue_latest: bool,
    session_ref: str | None,
    role: str | None,
    system: str | None,
) -> int:
    """Chat one line at a time in the session asked for (or a new one)."""
    settings = settings_with(flags)
    with open_sessions() as sessions:
        sessions.recover_interrupted()
        found = sessions.requested(continue_latest=continue_latest, name=session_ref)
        settings = session_settings(settings, found, flags)
        settings = replace(
            settings, role=role or settings.role, system_prompt=system or settings.system_prompt
        )
        say(f"loading {settings.model or 'the default model'}…")
        core = build_core(load_engine(settings), sessions, settings)
        try:
            return LineChat(core, found, session_ref).run()
        finally:
            core.engine.close()
