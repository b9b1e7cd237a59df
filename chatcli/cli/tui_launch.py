"""Starting the TUI: settings, store and model are ready before the app draws anything."""

from __future__ import annotations

import sys
from dataclasses import replace

from chatcli import paths
from chatcli.cli.ask import AskRequest, existing_session, session_settings
from chatcli.cli.options import ModelFlags, settings_with
from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.engine.base import Engine
from chatcli.engine.factory import create_engine
from chatcli.store.store import Store


def load_engine(settings: Settings) -> Engine:
    """Create and load the engine for ``settings``."""
    engine = create_engine(settings)
    engine.load()
    return engine


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
    request = AskRequest(
        None, continue_latest=continue_latest, session=session_ref, model_flags=flags
    )
    with Store.open(paths.database_file()) as store:
        store.mark_streaming_interrupted()
        session = existing_session(store, request)
        settings = session_settings(settings, session, flags)
        settings = replace(
            settings, role=role or settings.role, system_prompt=system or settings.system_prompt
        )
        if sys.stderr.isatty():
            print(f"chatcli: loading {settings.model or 'the default model'}…", file=sys.stderr)
        engine = load_engine(settings)
        core = ChatCore(engine, store, settings)
        created = core.new_session(name=session_ref) if session is None and session_ref else None
        app = build_app(core, settings, load_engine, session or created)
        try:
            code = app.run()
        finally:
            if created is not None:
                core.discard_if_empty(created)  # named, opened, never used: leave nothing
            app.core.engine.close()
    return code or 0
