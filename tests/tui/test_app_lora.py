"""LoRA adapters in the app: the settings dialog, and sessions that carry their own."""

from __future__ import annotations

from typing import Any

from apptools import (
    MakeApp,
    seed_session,
    send,
    wait_for_main_screen,
    wait_for_reply,
    wait_for_screen,
    wait_for_workers,
    wait_until,
)
from fakes import FakeEngine
from textual.pilot import Pilot
from textual.widgets import Input

from chatcli.engine.params import LoraAdapter
from chatcli.tui.app import ChatApp
from chatcli.tui.screens import SettingsScreen

FRENCH = LoraAdapter("/adapters/french.gguf", 0.5)


async def choose_adapter(app: ChatApp, pilot: Pilot[Any], path: str, scale: str) -> None:
    """Open Ctrl+O, type the adapter's path and scale, and save."""
    await pilot.press("ctrl+o")
    screen = await wait_for_screen(app, pilot, SettingsScreen)
    screen.query_one("#lora", Input).value = path
    screen.query_one("#lora-scale", Input).value = scale
    await pilot.press("ctrl+s")
    await wait_for_main_screen(app, pilot)
    await wait_for_workers(app, pilot, "engine")


async def test_the_settings_dialog_gives_the_session_an_adapter_its_replies_use(
    make_app: MakeApp,
) -> None:
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=(100, 34)) as pilot:
        await send(app, pilot, "hi")
        await wait_for_reply(app, pilot)
        await choose_adapter(app, pilot, FRENCH.path, "0.5")
        assert app.session is not None
        saved = make_app.store.get_session(app.session.id)
        assert (saved.lora, saved.lora_scale) == (FRENCH.path, 0.5)
        assert engine.adapter == FRENCH  # applied at once, not at the next load
        await send(app, pilot, "again")
        await wait_for_reply(app, pilot)
        assert engine.replied_with == [None, FRENCH]


async def test_an_adapter_the_model_refuses_is_reported_and_the_old_one_kept(
    make_app: MakeApp,
) -> None:
    engine = FakeEngine(refused_adapters={"/adapters/broken.gguf"})
    app = make_app(engine)
    async with app.run_test(size=(100, 34)) as pilot:
        await send(app, pilot, "hi")
        await wait_for_reply(app, pilot)
        await choose_adapter(app, pilot, "/adapters/broken.gguf", "")
        await wait_until(
            pilot,
            lambda: any("broken.gguf" in str(n.message) for n in app._notifications),
            "the refusal was reported",
        )
        assert app.session is not None
        assert make_app.store.get_session(app.session.id).lora is None
        assert app.session.lora is None


async def test_opening_a_session_of_another_model_loads_it_with_that_sessions_adapter(
    make_app: MakeApp,
) -> None:
    other = seed_session(make_app.store, [("Hi", "Bonjour.")], model="other-model")
    make_app.store.update_session(other.id, lora=FRENCH.path, lora_scale=FRENCH.scale)
    app = make_app(lora=LoraAdapter("/adapters/pirate.gguf"))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.sessions.switch_to(make_app.store.get_session(other.id))
        await wait_for_workers(app, pilot, "engine")
        await wait_for_workers(app, pilot)
        assert [settings.lora for settings in make_app.loaded_with] == [FRENCH]
