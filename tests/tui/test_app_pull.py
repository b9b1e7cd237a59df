"""Switching to a catalog model that is not downloaded yet: the app offers to pull it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptools import (
    MakeApp,
    send,
    wait_for_main_screen,
    wait_for_reply,
    wait_for_screen,
    wait_for_workers,
    wait_until,
)
from fakes import FakeEngine
from hub_server import Hub, fake_hub, write_small_gguf
from textual.widgets import Select

from chatcli.catalog import resolve_model
from chatcli.config import Settings
from chatcli.tui.app import ChatApp
from chatcli.tui.screens import ConfirmScreen, SettingsScreen
from chatcli.tui.status import StatusBar

WANTED = "qwen2.5-0.5b"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    with fake_hub(write_small_gguf(tmp_path / "tiny.gguf").read_bytes()) as served:
        monkeypatch.setenv("HF_ENDPOINT", served.url)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        # Set here (and so restored after the test) rather than by chatcli in os.environ.
        monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        yield served


def needs_the_file(make_app: MakeApp) -> None:
    """Make the app's engine factory fail, as the real one does, for a model not downloaded."""
    build = make_app._factory

    def resolving(settings: Settings) -> FakeEngine:
        resolve_model(settings.model)
        return build(settings)

    make_app._factory = resolving  # type: ignore[method-assign]


def recorded(app: ChatApp) -> list[tuple[str, str]]:
    shown: list[tuple[str, str]] = []
    notify = app.notify

    def recording(message: str, **options: Any) -> None:
        shown.append((message, options.get("severity", "information")))
        notify(message, **options)

    app.notify = recording  # type: ignore[method-assign]
    return shown


async def choose_model(app: ChatApp, pilot: Any, name: str) -> None:
    await pilot.press("ctrl+o")
    screen = await wait_for_screen(app, pilot, SettingsScreen)
    screen.query_one("#model", Select).value = name
    await pilot.press("ctrl+s")
    await wait_for_screen(app, pilot, ConfirmScreen)


async def test_a_missing_model_is_pulled_with_progress_then_loaded(
    make_app: MakeApp, hub: Hub, chatcli_home: Path
) -> None:
    needs_the_file(make_app)
    app = make_app(FakeEngine(replies=["hi"]))
    activities: list[str] = []
    async with app.run_test(size=(100, 34)) as pilot:
        await send(app, pilot, "hello")
        await wait_for_reply(app, pilot)
        app.query_one(StatusBar).watch(
            app.query_one(StatusBar), "status", lambda s: activities.append(s.activity)
        )
        await choose_model(app, pilot, WANTED)
        assert WANTED in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await wait_for_main_screen(app, pilot)
        await wait_until(pilot, lambda: bool(make_app.engines), "the pulled model loaded")
        await wait_for_workers(app, pilot, "pull", "engine")
        assert [engine.model_name for engine in make_app.engines] == [WANTED]
        assert app.query_one(StatusBar).status.activity == ""
    pulled = chatcli_home / "data" / "models" / "qwen2.5-0.5b-instruct-q4_k_m.gguf"
    assert pulled.read_bytes() == hub.body
    assert f"downloading {WANTED} 100%" in activities


async def test_declining_the_download_keeps_the_model_in_use(
    make_app: MakeApp, hub: Hub, chatcli_home: Path
) -> None:
    needs_the_file(make_app)
    engine = FakeEngine(replies=["hi"])
    app = make_app(engine)
    notes = recorded(app)
    async with app.run_test(size=(100, 34)) as pilot:
        await send(app, pilot, "hello")
        await wait_for_reply(app, pilot)
        await choose_model(app, pilot, WANTED)
        await pilot.press("n")
        await wait_for_main_screen(app, pilot)
        assert make_app.engines == []
        assert app.core.engine is engine
        assert (
            f"Not downloaded; from a terminal: chatcli models pull {WANTED}",
            "warning",
        ) in notes
    assert hub.file_requests() == []


async def test_a_failed_download_is_an_error_notice(
    make_app: MakeApp, hub: Hub, chatcli_home: Path
) -> None:
    needs_the_file(make_app)
    hub.fail_status, hub.error_code = 404, "EntryNotFound"
    app = make_app(FakeEngine(replies=["hi"]))
    notes = recorded(app)
    async with app.run_test(size=(100, 34)) as pilot:
        await send(app, pilot, "hello")
        await wait_for_reply(app, pilot)
        await choose_model(app, pilot, WANTED)
        await pilot.press("y")
        await wait_for_main_screen(app, pilot)
        await wait_until(pilot, lambda: any(s == "error" for _, s in notes), "an error notice")
        assert make_app.engines == []
        assert "(404)" in next(message for message, s in notes if s == "error")
