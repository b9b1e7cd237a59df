from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fakes import FakeEngine

from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.store.store import Store
from chatcli.tui.app import ChatApp, build_app

MakeApp = Callable[..., ChatApp]


@pytest.fixture
def make_app(tmp_path: Path) -> MakeApp:
    """Build the real app around a fake engine and a real store in a temp dir."""
    stores: list[Store] = []

    def make(
        engine: FakeEngine | None = None, session_id: str | None = None, **settings: object
    ) -> ChatApp:
        if not stores:
            stores.append(Store.open(tmp_path / "tui.db"))
        store = stores[0]
        chosen = Settings(**settings)  # type: ignore[arg-type]
        core = ChatCore(engine or FakeEngine(), store, chosen)
        session = store.get_session(session_id) if session_id else None
        return build_app(
            core, chosen, lambda s: FakeEngine(model_name=s.model or "fake-model"), session
        )

    return make
