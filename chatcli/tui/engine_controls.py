"""The model the app runs: describe it, switch to another for a session, put an adapter on it.

The app owns one ``EngineControls`` beside its ``SessionControls``. Loading a model runs
in a thread; the swap happens on the app's thread when ``EngineLoaded`` arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from textual.message import Message

from chatcli.config import Settings
from chatcli.core.adapters import session_adapter
from chatcli.core.chat import sampling_from
from chatcli.engine.base import Engine
from chatcli.engine.params import LoraAdapter
from chatcli.errors import ChatcliError
from chatcli.models import missing_download
from chatcli.store.records import SessionRecord
from chatcli.tui.pull import ModelPuller
from chatcli.tui.screens import SessionSettings, SettingsScreen
from chatcli.tui.status import StatusBar

if TYPE_CHECKING:
    from chatcli.tui.app import ChatApp

EngineFactory = Callable[[Settings], Engine]
"""Builds and loads an engine for settings (used when a session asks for another model)."""


@dataclass
class EngineLoaded(Message):
    """A model finished loading in the background (posted from the worker thread)."""

    engine: Engine
    settings: Settings
    session: SessionRecord | None
    message_id: str | None = None
    """A message of the session to show (a search match), not its newest ones."""


class EngineControls:
    """Which model the app runs and the settings a session asks of it."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app

    def show_engine(self) -> None:
        """Describe the loaded model in the status bar."""
        info = self.app.core.info
        self.app.query_one(StatusBar).update_status(
            model=info.model_name,
            gpu_layers=info.gpu_layers,
            gpu_layers_total=int(info.extras.get("layers", "0")),
            context_length=info.context_length,
            context_used=0,
            estimated=not info.capabilities.exact_token_count,
            server=_host(info.model_path) if info.remote else "",
            activity="",
        )

    def session_model(self) -> str:
        """The model spec the loaded engine was made for."""
        return self.app.settings.model or self.app.core.info.model_name

    def settings(self) -> None:
        """Edit this session's model, context size and sampling (in a modal worker)."""
        self.app.run_worker(self._settings(), exclusive=True, group="modal")

    async def _settings(self) -> None:
        app = self.app
        session = self.app.sessions.ensure_session()
        current = SessionSettings(
            model=self.session_model(),
            context_length=session.context_length,
            sampling=sampling_from(session.sampling, app.core.default_sampling()),
            lora=session_adapter(session),
        )
        chosen = await app.push_screen_wait(SettingsScreen(current, self.catalog_names()))
        if chosen is None:
            return
        app.session = app.core.sessions.change_settings(
            session,
            model=chosen.model,
            context_length=chosen.context_length,
            clear_context_length=chosen.context_length is None,
            sampling=chosen.sampling.as_dict(),
            lora=chosen.lora,
            clear_lora=chosen.lora is None,
        )
        if (chosen.model, chosen.context_length) != (current.model, current.context_length):
            context = chosen.context_length or app.configured.context_length
            settings = replace(
                app.settings, model=chosen.model, context_length=context, lora=chosen.lora
            )
            self.switch_engine(settings, then_open=app.session)
        elif chosen.lora != current.lora:
            self.check_adapter(app.session, current.lora)
        app.notify("Settings saved")

    def check_adapter(self, session: SessionRecord, previous: LoraAdapter | None) -> None:
        """Put the session's new adapter on the model now (in a thread).

        If the file cannot be used, say why and give the session back its ``previous`` one.
        """
        app = self.app
        core = app.core

        def apply() -> None:
            try:
                core.use_adapter_of(session)
            except ChatcliError as error:
                app.call_from_thread(self._adapter_failed, session, previous, error.message)

        app.run_worker(apply, thread=True, exclusive=True, group="engine")

    def _adapter_failed(
        self, session: SessionRecord, previous: LoraAdapter | None, message: str
    ) -> None:
        restored = self.app.core.sessions.change_settings(
            session, lora=previous, clear_lora=previous is None
        )
        if self.app.session and self.app.session.id == session.id:
            self.app.session = restored
        self.app.notify(message, title="LoRA adapter not applied", severity="error", timeout=8)

    def catalog_names(self) -> list[str]:
        """Names of the models in the catalog."""
        from chatcli.catalog import load_catalog

        try:
            return [entry.name for entry in load_catalog()]
        except ChatcliError:
            return []

    def switch_engine(
        self, settings: Settings, then_open: SessionRecord | None, then_show: str | None = None
    ) -> None:
        """Load another model in a background thread, then swap it in."""
        app = self.app

        def load() -> None:
            app.call_from_thread(app.set_status, activity=f"loading {settings.model}…")
            try:
                engine = app.engine_factory(settings)
            except ChatcliError as error:
                missing = missing_download(settings.model)
                if missing is None:
                    app.call_from_thread(self._engine_failed, error.message)
                else:  # a catalog model not downloaded yet: offer to pull it, then load it
                    retry = partial(self.switch_engine, settings, then_open, then_show)
                    app.call_from_thread(ModelPuller(app).offer, missing, retry)
                return
            app.post_message(EngineLoaded(engine, settings, then_open, then_show))

        app.run_worker(load, thread=True, exclusive=True, group="engine")

    def _engine_failed(self, message: str) -> None:
        self.app.query_one(StatusBar).update_status(activity="")
        self.app.notify(message, title="Model not loaded", severity="error", timeout=8)

    async def engine_loaded(self, event: EngineLoaded) -> None:
        """Swap the newly loaded model in and reopen the session."""
        app = self.app
        engine, settings, session = event.engine, event.settings, event.session
        old = app.core.engine
        app.core = app.core.with_engine(engine, settings)
        app.settings = settings
        old.close()
        self.show_engine()
        await app.sessions.open_session(app.core.sessions.get(session.id) if session else None)
        if session is not None and event.message_id is not None:
            await app.sessions.show_message(event.message_id)


def _host(url: str) -> str:
    """``gpu-box:8000`` from ``http://gpu-box:8000/v1``."""
    return url.split("://", 1)[-1].split("/", 1)[0]
