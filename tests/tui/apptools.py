"""Building the real app around a fake engine, and driving it, for Pilot tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fakes import FakeEngine
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget

from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.engine.base import Engine
from chatcli.store.records import SessionRecord
from chatcli.store.store import Store
from chatcli.tui.app import ChatApp, build_app
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.prompt import PromptInput

PAUSES = 200
"""Most message-loop turns a test waits for something to show up on screen."""


class MakeApp:
    """Builds apps that share one store at ``database`` (opened on first use)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self._store: Store | None = None
        self.engines: list[FakeEngine] = []
        """Every engine the app's factory made (when a session switches models)."""
        self.loaded_with: list[Settings] = []
        """The settings each of those engines was made from."""

    @property
    def store(self) -> Store:
        """The store every app made here uses (tests seed it directly)."""
        if self._store is None:
            self._store = Store.open(self.database)
        return self._store

    def __call__(
        self, engine: Engine | None = None, session_id: str | None = None, **settings: Any
    ) -> ChatApp:
        chosen = Settings(**settings)
        core = ChatCore(engine or FakeEngine(), self.store, chosen)
        session = self.store.get_session(session_id) if session_id else None
        return build_app(core, chosen, self._factory, session)

    def _factory(self, settings: Settings) -> FakeEngine:
        engine = FakeEngine(model_name=settings.model or "fake-model")
        self.engines.append(engine)
        self.loaded_with.append(settings)
        return engine

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def app_maker(database: Path) -> MakeApp:
    """A function building apps that share one store at ``database``."""
    return MakeApp(database)


def seed_session(
    store: Store, turns: Sequence[tuple[str, str]], *, title: str = "", model: str = "fake-model"
) -> SessionRecord:
    """A saved session with ``(question, answer)`` turns, as the chat core would save them."""
    session = store.create_session(
        model=model, system_prompt="You are a test.", role="assistant", title=title
    )
    parent: str | None = None
    for question, answer in turns:
        user = store.add_message(session.id, parent_id=parent, role="user", content=question)
        reply = store.add_message(
            session.id, parent_id=user.id, role="assistant", content=answer, model=model
        )
        parent = reply.id
    return store.get_session(session.id)


async def send(app: ChatApp, pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` into the prompt and press Enter."""
    prompt = app.query_one(PromptInput)
    prompt.focus()
    prompt.load_text(text)
    await pilot.press("enter")


async def wait_for_workers(app: ChatApp, pilot: Pilot[Any], *groups: str) -> None:
    """Wait for the app's workers (only those of ``groups`` if given), then for the screen."""
    workers = [w for w in app.workers if not groups or w.group in groups]
    if workers:  # an empty list would mean every worker
        await app.workers.wait_for_complete(workers)
    await pilot.pause()
    await pilot.pause()


async def wait_for_reply(app: ChatApp, pilot: Pilot[Any]) -> None:
    """Wait until the reply in flight has ended and is drawn."""
    await wait_for_workers(app, pilot, "reply", "count", "engine")
    for _ in range(PAUSES):
        if not app.replying:
            break
        await pilot.pause()
    assert not app.replying, "the reply did not end"


async def wait_for_screen(app: ChatApp, pilot: Pilot[Any], kind: type[Screen[Any]]) -> Any:
    """Wait until a screen of ``kind`` is on top, and return it."""
    for _ in range(PAUSES):
        if isinstance(app.screen, kind):
            return app.screen
        await pilot.pause()
    raise AssertionError(f"{kind.__name__} did not open (top: {type(app.screen).__name__})")


async def wait_for_main_screen(app: ChatApp, pilot: Pilot[Any]) -> None:
    """Wait until every modal screen has closed and the modal workers have ended."""
    for _ in range(PAUSES):
        if len(app.screen_stack) == 1:
            break
        await pilot.pause()
    assert len(app.screen_stack) == 1, f"still open: {type(app.screen).__name__}"
    await wait_for_workers(app, pilot, "modal")


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], bool], what: str) -> None:
    """Wait until ``predicate()`` holds (``what`` names it when it never does)."""
    for _ in range(PAUSES):
        if predicate():
            return
        await pilot.pause()
    raise AssertionError(f"never happened: {what}")


def views(app: ChatApp) -> list[tuple[str, str]]:
    """The transcript as (role, text) pairs."""
    return [(v.role, v.text) for v in app.query(MessageView)]


def header(view: MessageView) -> str:
    """The header line of a message as shown."""
    return str(view.query_one(".header").render())


def focused(app: ChatApp) -> Widget | None:
    """``app.focused``, read afresh.

    After ``assert app.focused is a_widget`` mypy takes ``app.focused`` to have ``a_widget``'s type
    until it is assigned, so a later ``is`` check against another kind of widget (after keys moved
    the focus) looks to mypy like one that can never be true.
    """
    return app.focused
