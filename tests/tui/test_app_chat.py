"""The chat app driven by the Pilot, against the scripted fake engine."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from apptools import MakeApp
from fakes import FakeEngine
from textual.pilot import Pilot

from chatcli.tui.app import ChatApp
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.prompt import PromptInput
from chatcli.tui.status import StatusBar


async def send(app: ChatApp, pilot: Pilot[Any], text: str) -> None:
    prompt = app.query_one(PromptInput)
    prompt.focus()
    prompt.load_text(text)
    await pilot.press("enter")


async def wait_for_reply(app: ChatApp, pilot: Pilot[Any]) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def views(app: ChatApp) -> list[tuple[str, str]]:
    return [(v.role, v.text) for v in app.query(MessageView)]


async def test_send_streams_reply_and_saves_it(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["Hello **there**, friend."])
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Hi!")
        await wait_for_reply(app, pilot)
        assert views(app) == [("user", "Hi!"), ("assistant", "Hello **there**, friend.")]
        assert app.session is not None
        saved = app.core.store.tree.branch(app.session.id)
        assert [(m.role, m.content, m.status) for m in saved] == [
            ("user", "Hi!", "complete"),
            ("assistant", "Hello **there**, friend.", "complete"),
        ]
        status = app.query_one(StatusBar).status
        assert status.completion_tokens == 3
        assert app.session is not None  # the meter: what the next send starts from
        assert status.context_used == app.core.count_context(app.session)


async def test_escape_cancels_reply_and_keeps_partial_text(make_app: MakeApp) -> None:
    gate = threading.Event()
    engine = FakeEngine(replies=["one two three four five six"], gate=gate)
    app = make_app(engine)
    async with app.run_test() as pilot:
        await send(app, pilot, "count")
        await pilot.pause()
        assert engine.first_token_sent.wait(5)
        await pilot.press("escape")
        gate.set()
        await wait_for_reply(app, pilot)
        assert app.session is not None
        reply = app.core.store.tree.branch(app.session.id)[-1]
        assert reply.status == "interrupted"
        assert reply.content == "one "
        assert app.query(MessageView).last().text == "one "
        assert "interrupted" in str(app.query(MessageView).last().query_one(".header").render())
        assert not app.replying


async def test_up_on_empty_input_recalls_last_prompt(make_app: MakeApp) -> None:
    app = make_app(FakeEngine(replies=["a", "b"]))
    async with app.run_test() as pilot:
        await send(app, pilot, "first question")
        await wait_for_reply(app, pilot)
        await pilot.press("up")
        assert app.query_one(PromptInput).text == "first question"


@pytest.mark.model
async def test_the_app_chats_through_a_real_server(make_app: MakeApp, llama_server: str) -> None:
    from chatcli.assembly import load_engine
    from chatcli.config import Settings
    from chatcli.tui.status import StatusBar

    engine = load_engine(Settings(model=f"endpoint:{llama_server}#", context_length=2048))
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Say hi.")
        await wait_for_reply(app, pilot)
        reply = [v for v in app.query(MessageView) if v.role == "assistant"][-1]
        assert reply.record is not None and reply.record.content.strip()
        line = str(app.query_one(StatusBar).render())
        assert "ctx ~" in line  # an estimate, and it says so
        assert "127.0.0.1:" in line and "CPU" not in line  # where it runs, no local figures
    engine.close()
