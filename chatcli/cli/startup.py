"""What the interactive front ends (the app and the line chat) share before they start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from chatcli.assembly import build_core, load_engine, open_sessions
from chatcli.cli.ask import remember_adapter, session_settings
from chatcli.cli.errors import say
from chatcli.cli.options import ModelFlags, settings_with
from chatcli.core.chat import ChatCore
from chatcli.store.records import SessionRecord


@dataclass(frozen=True)
class ChatStart:
    """How the user asked to start chatting."""

    flags: ModelFlags
    continue_latest: bool = False
    session_ref: str | None = None
    role: str | None = None
    system: str | None = None


@contextmanager
def started(start: ChatStart, announce: bool) -> Iterator[tuple[ChatCore, SessionRecord | None]]:
    """The loaded chat core and the session asked for (None: a new chat); frees the model after.

    A continued session keeps its model and context size unless flags say otherwise;
    ``--role``/``--system`` apply to new chats. ``announce``: say on stderr that the model loads.
    """
    settings = settings_with(start.flags)
    with open_sessions() as sessions:
        sessions.recover_interrupted()
        found = sessions.requested(continue_latest=start.continue_latest, name=start.session_ref)
        settings = session_settings(settings, found, start.flags)
        settings = replace(
            settings,
            role=start.role or settings.role,
            system_prompt=start.system or settings.system_prompt,
        )
        if announce:
            say(f"loading {settings.model or 'the default model'}…")
        core = build_core(load_engine(settings), sessions, settings)
        if found is not None:
            found = remember_adapter(core, found, start.flags)
        try:
            yield core, found
        finally:
            core.engine.close()
