from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEngine

from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.store.store import Store


@pytest.fixture(autouse=True)
def chatcli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own chatcli home; nothing touches the user's real files."""
    home = tmp_path / "home"
    monkeypatch.setenv("CHATCLI_HOME", str(home))
    for name in list(__import__("os").environ):
        if name.startswith("CHATCLI_") and name != "CHATCLI_HOME":
            monkeypatch.delenv(name)
    return home


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "test.db") as opened:
        yield opened


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def core(engine: FakeEngine, store: Store) -> ChatCore:
    return ChatCore(engine, store, Settings())
