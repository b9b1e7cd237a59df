"""Starting the TUI: settings, sessions and model are ready before the app draws anything."""

from __future__ import annotations

import sys
from dataclasses import replace

from chatcli.assembly import build_core, load_engine, open_sessions
from chatcli.cli.ask import session_settings
from chatcli.cli.options import ModelFlags, settings_with


def launch_tui(
    flags: ModelFlags,
    continue_latest: bool,
    session_ref: str | None,
    role: str | None,
    system: str | None,
) -> int:
    """Run the chat app until the user quits; return the exit code."""
    from chatcli.tui.app import build_app

    settings = settings_with(flags)
    with open_sessions() as sessions:
        sessions.recover_interrupted()
        session = sessions.requested(continue_latest=continue_latest, name=session_ref)
        settings = session_settings(settings, session, flags)
        settings = replace(
            settings, role=role or settings.role, system_prompt=system or settings.system_prompt
        )
        if sys.stderr.isatty():
            print(f"chatcli: loading {settings.model or 'the default model'}…", file=sys.stderr)
        core = build_core(load_engine(settings), sessions, settings)
        created = core.new_session(name=session_ref) if session is None and session_ref else None
        app = build_app(core, settings, load_engine, session or created)
        try:
            code = app.run()
        finally:
            if created is not None:
                sessions.discard_if_empty(created)  # named, opened, never used: leave nothing
            app.core.engine.close()
    return code or 0
