from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEngine, ScriptedBackend

from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.engine import registry
from chatcli.engine.llama_backend import LlamaBackend
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
def db_path(tmp_path: Path) -> Path:
    """Where the test's database lives (not created until a store opens it)."""
    return tmp_path / "data" / "chatcli.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """The one store fixture: a fresh database, closed after the test."""
    with Store.open(db_path) as opened:
        yield opened


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def core(engine: FakeEngine, store: Store) -> ChatCore:
    return ChatCore(engine, store, Settings())


@pytest.fixture(autouse=True)
def scripted_backend() -> Iterator[ScriptedBackend]:
    """The test backend, registered the way any backend is (``--model scripted:...``)."""
    backend = ScriptedBackend()
    registry.register(backend)
    yield backend
    registry.unregister(backend.name)


@pytest.fixture(autouse=True)
def model_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test not marked ``model`` can never load the real model: building one fails it."""
    if request.node.get_closest_marker("model") is not None:
        return

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("this test loads the real model: mark it @pytest.mark.model")

    monkeypatch.setattr(LlamaBackend, "build", refuse)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with the default model, on 127.0.0.1."""
    from remote_servers import llama_cpp_server

    from chatcli.catalog import resolve_model

    with llama_cpp_server(str(resolve_model("").path)) as url:
        yield url
