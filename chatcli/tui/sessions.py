"""Session management for the app: open, new, rename, delete, settings, role, model switch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from textual import work
from textual.app import App
from textual.message import Message

from chatcli.config import Settings
from chatcli.core.chat import ChatCore, sampling_from
from chatcli.core.roles import DEFAULT_ROLE, list_roles
from chatcli.engine.base import Engine
from chatcli.errors import ChatcliError
from chatcli.store.records import SessionRecord
from chatcli.tui.chat.prompt import PromptInput
from chatcli.tui.chat.transcript import Shown, Transcript
from chatcli.tui.screens import (
    ConfirmScreen,
    SessionSettings,
    SettingsScreen,
    SystemPromptScreen,
    TextInputScreen,
)
from chatcli.tui.sidebar import SessionsSidebar
from chatcli.tui.status import StatusBar

EngineFactory = Callable[[Settings], Engine]
"""Builds and loads an engine for settings (used when a session asks for another model)."""


@dataclass
class EngineLoaded(Message):
    """A model finished loading in the background (posted from the worker thread)."""

    engine: Engine
    settings: Settings
    session: SessionRecord | None


class SessionActions(App[int]):
    """The parts of the app that deal with whole sessions rather than single replies."""

    def __init__(self, core: ChatCore, settings: Settings, engine_factory: EngineFactory) -> None:
        super().__init__()
        self.core = core
        self.settings = settings
        self.configured = settings
        """The settings the app started with: what "default" means in the settings screen."""
        self.engine_factory = engine_factory
        self.session: SessionRecord | None = None

    @property
    def replying(self) -> bool:
        """Whether a reply is streaming now (the chat part of the app says)."""
        return False

    def history_items(self, session: SessionRecord) -> list[Shown]:
        """The messages to show for ``session`` (the chat part of the app says)."""
        raise NotImplementedError

    def ensure_session(self) -> SessionRecord:
        """The open session, created on the first message of a new chat."""
        if self.session is None:
            self.session = self.core.new_session()
            self.refresh_sidebar()
        return self.session

    async def open_session(self, session: SessionRecord | None) -> None:
        """Show ``session`` (None = a new, empty chat)."""
        self.session = session
        transcript = self.query_one(Transcript)
        if session is None:
            await transcript.remove_children()
            role = None if self.settings.system_prompt else self.settings.role or DEFAULT_ROLE
            self._show_system(role, self.core.new_session_prompt())
        else:
            await transcript.show(self.history_items(session))
            self._show_system(session.role, session.system_prompt)
            self._count_context(session)
        self.refresh_sidebar()

    def _show_system(self, role: str | None, prompt: str) -> None:
        from chatcli.tui.app import SystemBar

        self.query_one(SystemBar).show(role, prompt)

    @work(thread=True, exclusive=True, group="count")
    def _count_context(self, session: SessionRecord) -> None:
        """Fill the context meter with the exact size of the session's prompt."""
        used = self.core.count_context(session)
        self.call_from_thread(self.set_status, context_used=used)

    def set_status(self, **changes: object) -> None:
        """Change fields of the status bar (UI thread; workers go through call_from_thread)."""
        self.query_one(StatusBar).update_status(**changes)

    def show_engine(self) -> None:
        """Describe the loaded model in the status bar."""
        info = self.core.info
        self.query_one(StatusBar).update_status(
            model=info.model_name,
            gpu_layers=info.gpu_layers,
            context_length=info.context_length,
            context_used=0,
            activity="",
        )

    def refresh_sidebar(self) -> None:
        """Reload the sessions list."""
        sidebar = self.query_one(SessionsSidebar)
        current = self.session.id if self.session else None
        sidebar.show_sessions(self.core.sessions.recent(), current)

    def action_toggle_sidebar(self) -> None:
        """Show or hide the sessions sidebar; closing it clears its filter."""
        sidebar = self.query_one(SessionsSidebar)
        sidebar.toggle_class("-open")
        if sidebar.has_class("-open"):
            self.refresh_sidebar()
            sidebar.focus_list()
        else:
            sidebar.clear_filter()
            self.query_one(PromptInput).focus()

    async def action_new_chat(self) -> None:
        """Start a new chat (saved when its first message is sent)."""
        await self.open_session(None)
        self.query_one(PromptInput).focus()

    async def on_sessions_sidebar_action_requested(
        self, event: SessionsSidebar.ActionRequested
    ) -> None:
        """Open, rename, delete a session, or start a new chat."""
        if self.replying and event.action in ("open", "new", "delete"):
            self.notify("Wait for the reply to end (Esc stops it)", severity="warning")
            return
        if event.action == "new":
            await self.action_new_chat()
        elif event.action == "open" and event.session is not None:
            await self.switch_to(event.session)
        elif event.action == "rename" and event.session is not None:
            self.rename(event.session)
        elif event.action == "delete" and event.session is not None:
            self.delete(event.session)

    async def switch_to(self, session: SessionRecord) -> None:
        """Open a saved session, loading its model first if it uses another one."""
        if session.model != self.session_model():
            self.switch_engine(replace(self.settings, model=session.model), then_open=session)
            return
        await self.open_session(self.core.sessions.get(session.id))

    def session_model(self) -> str:
        """The model spec the loaded engine was made for."""
        return self.settings.model or self.core.info.model_name

    @work(exclusive=True, group="modal")
    async def rename(self, session: SessionRecord) -> None:
        """Ask for a new title."""
        title = await self.push_screen_wait(TextInputScreen("Rename session", session.title))
        if title:
            renamed = self.core.sessions.rename(session, title)
            if self.session and self.session.id == session.id:
                self.session = renamed
            self.refresh_sidebar()

    def action_rename(self) -> None:
        """Rename the open session."""
        if self.session is not None:
            self.rename(self.session)

    @work(exclusive=True, group="modal")
    async def delete(self, session: SessionRecord) -> None:
        """Delete a session after confirmation."""
        question = f"Delete '{session.title or session.id}' and all its messages?"
        if not await self.push_screen_wait(ConfirmScreen(question)):
            return
        self.core.sessions.delete(session)
        if self.session and self.session.id == session.id:
            await self.open_session(None)
        self.refresh_sidebar()
        self.notify("Session deleted")

    @work(exclusive=True, group="modal")
    async def action_system_prompt(self) -> None:
        """Pick a role or edit the system prompt of this chat."""
        session = self.ensure_session()
        choice = await self.push_screen_wait(
            SystemPromptScreen(list_roles(), session.role, session.system_prompt)
        )
        if choice is None:
            return
        self.session = self.core.sessions.set_system_prompt(
            session, role=choice.role, prompt=choice.prompt
        )
        self._show_system(choice.role, choice.prompt)

    @work(exclusive=True, group="modal")
    async def action_settings(self) -> None:
        """Edit this session's model, context size and sampling."""
        session = self.ensure_session()
        current = SessionSettings(
            model=self.session_model(),
            context_length=session.context_length,
            sampling=sampling_from(session.sampling, self.core.default_sampling()),
        )
        chosen = await self.push_screen_wait(SettingsScreen(current, self.catalog_names()))
        if chosen is None:
            return
        self.session = self.core.sessions.change_settings(
            session,
            model=chosen.model,
            context_length=chosen.context_length,
            clear_context_length=chosen.context_length is None,
            sampling=chosen.sampling.as_dict(),
        )
        if (chosen.model, chosen.context_length) != (current.model, current.context_length):
            context = chosen.context_length or self.configured.context_length
            settings = replace(self.settings, model=chosen.model, context_length=context)
            self.switch_engine(settings, then_open=self.session)
        self.notify("Settings saved")

    def catalog_names(self) -> list[str]:
        """Names of the models in the catalog."""
        from chatcli.catalog import load_catalog

        try:
            return [entry.name for entry in load_catalog()]
        except ChatcliError:
            return []

    @work(thread=True, exclusive=True, group="engine")
    def switch_engine(self, settings: Settings, then_open: SessionRecord | None) -> None:
        """Load another model in the background, then swap it in."""
        self.call_from_thread(self.set_status, activity=f"loading {settings.model}…")
        try:
            engine = self.engine_factory(settings)
        except ChatcliError as error:
            self.call_from_thread(self._engine_failed, error.message)
            return
        self.post_message(EngineLoaded(engine, settings, then_open))

    def _engine_failed(self, message: str) -> None:
        self.query_one(StatusBar).update_status(activity="")
        self.notify(message, title="Model not loaded", severity="error", timeout=8)

    async def on_engine_loaded(self, event: EngineLoaded) -> None:
        """Swap the newly loaded model in and reopen the session."""
        engine, settings, session = event.engine, event.settings, event.session
        old = self.core.engine
        self.core = self.core.with_engine(engine, settings)
        self.settings = settings
        old.close()
        self.show_engine()
        await self.open_session(self.core.sessions.get(session.id) if session else None)
