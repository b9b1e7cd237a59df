"""Interactive chats under duress: the app squeezed to a tiny terminal mid-reply, and the line
chat sent SIGTERM or SIGHUP mid-reply. No exception; the reply is saved."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
import typer
from fakes import FakeEngine

from chatcli.cli.line_chat import LineChat
from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.store.store import Store
from chatcli.tui.app import build_app
from chatcli.tui.chat.prompt import PromptInput

REPLY = "one two three four five six seven eight nine ten " * 4


@pytest.mark.parametrize("size", [(10, 5), (1, 1)], ids=["10x5", "1x1"])
async def test_a_tiny_terminal_mid_reply_still_completes_and_saves_the_reply(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    gate = threading.Event()
    engine = FakeEngine(replies=[REPLY], gate=gate, token_delay_s=0.002)
    with Store.open(tmp_path / "tui.db") as store:
        settings = Settings()
        app = build_app(ChatCore(engine, store, settings), settings, lambda _s: engine, None)
        async with app.run_test(size=(80, 24)) as pilot:
            prompt = app.query_one(PromptInput)
            prompt.focus()
            prompt.load_text("count to ten")
            await pilot.press("enter")
            assert engine.first_token_sent.wait(5)
            await pilot.resize_terminal(*size)
            await pilot.pause()
            gate.set()  # the rest of the reply streams into the tiny screen
            for _ in range(400):
                if not app.replying:
                    break
                await pilot.pause(0.01)
            assert not app.replying, "the reply did not end"
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            assert app.session is not None
            reply = store.tree.branch(app.session.id)[-1]
        assert app.return_code in (None, 0)
    assert (reply.role, reply.status, reply.content) == ("assistant", "complete", REPLY)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["SIGTERM", "SIGHUP"]
)
def test_a_signal_mid_reply_in_the_line_chat_saves_it_and_ends(
    core: ChatCore, engine: FakeEngine, signum: int, code: int
) -> None:
    engine.replies = ["one two three four"]
    gate = threading.Event()
    engine.gate = gate

    def signal_mid_reply() -> None:
        assert engine.first_token_sent.wait(5)
        os.kill(os.getpid(), signum)
        gate.set()

    lines = iter(["count please\n", "never read\n"])
    chat = LineChat(core, None, None, read=lambda _prompt: next(lines, None))
    sender = threading.Thread(target=signal_mid_reply)
    sender.start()
    with pytest.raises(typer.Exit) as ended:
        chat.run()
    sender.join()

    assert ended.value.exit_code == code
    assert chat.session is not None
    reply = core.store.tree.branch(chat.session.id)[-1]
    assert (reply.status, reply.content) == ("interrupted", "one ")
    assert next(lines, None) == "never read\n"
