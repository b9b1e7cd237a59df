"""Starting the TUI: settings, sessions and model are ready before the app draws anything."""

from __future__ import annotations

import sys

from chatcli.assembly import load_engine
from chatcli.cli.startup import ChatStart, started


def launch_tui(start: ChatStart) -> int:
    """Run the chat app until the user quits; return the exit code."""
    from chatcli.tui.app import build_app

    with started(start, announce=sys.stderr.isatty()) as (core, session):
        named = start.session_ref
        created = core.new_session(name=named) if session is None and named else None
        app = build_app(core, core.settings, load_engine, session or created)
        try:
            code = app.run()
        finally:
            if created is not None:  # named, opened, never used: leave nothing
                core.sessions.discard_if_empty(created)
            if app.core is not core:  # the app switched models: free the one it ended with
                app.core.engine.close()
    return code or 0
