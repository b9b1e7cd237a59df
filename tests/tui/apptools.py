"""Building the real app around a fake engine, for Pilot tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fakes import FakeEngine

from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.store.store import Store
from chatcli.tui.app import ChatApp, build_app

MakeApp = Callable[..., ChatApp]


def app_maker(database: Path) -> MakeApp:
    """A function building apps that share one store at ``database``."""
    stores: list[Store] = []

    def make(
        engine: FakeEngine | None = None, session_id: str | None = None, **settings: object
    ) -> ChatApp:
        if not stores:
            stores.append(Store.open(database))
        store = stores[0]
        chosen = Settings(**settings)  # type: ignore[arg-type]
        core = ChatCore(engine or FakeEngine(), store, chosen)
        session = store.get_session(session_id) if session_id else None
        return build_app(
            core, chosen, lambda s: FakeEngine(model_name=s.model or "fake-model"), session
        )

    return make
