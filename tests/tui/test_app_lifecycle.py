"""The app's life around replies: quitting, settings, model switches, errors, long sessions."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import replace
from typing import Any

import pytest
from apptools import (
    PAUSES,
    MakeApp,
    seed_session,
    send,
    views,
    wait_for_main_screen,
    wait_for_reply,
    wait_for_screen,
    wait_for_workers,
    wait_until,
)
from fakes import FakeEngine
from textual.widgets import Input, Markdown, Select

from chatcli.engine.base import PrefillProgress
from chatcli.tui.app import ChatApp
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.prompt import PromptInput
from chatcli.tui.chat.transcript import (
    MOUNT_LIMIT,
    REVEAL_BATCH,
    RICH_RECENT,
    EarlierMessages,
    Transcript,
)
from chatcli.tui.screens import SettingsScreen, TextInputScreen
from chatcli.tui.signals import QUIT_SIGNALS
from chatcli.tui.status import StatusBar, describe


def release_on_cancel(app: ChatApp, gate: threading.Event) -> threading.Thread:
    """Open ``gate`` as soon as the reply in flight is told to stop (from another thread)."""
    assert app.reply is not None
    cancel = app.reply.cancel

    def release() -> None:
        cancel.wait(10)
        gate.set()

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


def record_notifications(app: ChatApp) -> list[tuple[str, str]]:
    """Every notification the app shows from now on, as (message, severity)."""
    shown: list[tuple[str, str]] = []
    notify = app.notify

    def recording(message: str, **options: Any) -> None:
        shown.append((message, options.get("severity", "information")))
        notify(message, **options)

    app.notify = recording  # type: ignore[method-assign]
    return shown


async def test_ctrl_q_during_a_reply_quits_and_saves_the_partial_reply(make_app: MakeApp) -> None:
    gate = threading.Event()
    engine = FakeEngine(replies=["one two three four five"], gate=gate)
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "count to five")
        assert engine.first_token_sent.wait(5)
        session = app.session
        thread = release_on_cancel(app, gate)
        await pilot.press("ctrl+q")
    thread.join(5)
    assert app.return_code == 0
    assert session is not None
    user, reply = make_app.store.tree.branch(session.id)
    assert (user.content, user.status) == ("count to five", "complete")
    assert (reply.content, reply.status, reply.finish_reason) == (
        "one ",
        "interrupted",
        "interrupted",
    )


@pytest.mark.parametrize("signum", QUIT_SIGNALS, ids=lambda s: signal.Signals(s).name)
async def test_sigterm_or_sighup_during_a_reply_quits_as_ctrl_q_does(
    make_app: MakeApp, signum: int
) -> None:
    gate = threading.Event()
    engine = FakeEngine(replies=["one two three four five"], gate=gate)
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "count to five")
        assert engine.first_token_sent.wait(5)
        pilot.app.query_one(PromptInput).text = "half a thought"
        session = app.session
        thread = release_on_cancel(app, gate)
        # The app handles it (else this would end the test run itself).
        assert signal.getsignal(signum) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), signum)
        await wait_until(pilot, lambda: app.return_code is not None, "the app to quit")
    thread.join(5)
    assert app.return_code == 128 + signum
    assert signal.getsignal(signum) == signal.SIG_DFL
    assert session is not None
    user, reply = make_app.store.tree.branch(session.id)
    assert (user.content, reply.content, reply.status) == ("count to five", "one ", "interrupted")
    assert make_app.store.get_session(session.id).draft == "half a thought"


async def test_ctrl_q_with_a_dialog_open_during_a_reply_still_quits(make_app: MakeApp) -> None:
    gate = threading.Event()
    engine = FakeEngine(replies=["one two three"], gate=gate)
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "count")
        assert engine.first_token_sent.wait(5)
        session = app.session
        thread = release_on_cancel(app, gate)
        await pilot.press("f2")
        await wait_for_screen(app, pilot, TextInputScreen)
        await pilot.press("ctrl+q")
    thread.join(5)
    assert app.return_code == 0
    assert session is not None
    assert make_app.store.tree.branch(session.id)[-1].status == "interrupted"


async def test_escape_in_a_dialog_during_a_reply_closes_the_dialog_only(make_app: MakeApp) -> None:
    gate = threading.Event()
    engine = FakeEngine(replies=["one two three"], gate=gate)
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "count")
        assert engine.first_token_sent.wait(5)
        await pilot.press("f2")
        await wait_for_screen(app, pilot, TextInputScreen)
        await pilot.press("escape")
        await wait_for_main_screen(app, pilot)
        assert app.reply is not None and not app.reply.cancel.is_set()
        gate.set()
        await wait_for_reply(app, pilot)
        assert views(app)[-1] == ("assistant", "one two three")


async def test_sending_while_a_reply_streams_keeps_the_typed_text(make_app: MakeApp) -> None:
    gate = threading.Event()
    engine = FakeEngine(replies=["one two"], gate=gate)
    app = make_app(engine)
    notes = record_notifications(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "first")
        assert engine.first_token_sent.wait(5)
        await send(app, pilot, "too early")
        assert app.query_one(PromptInput).text == "too early"
        assert any(severity == "warning" for _, severity in notes)
        gate.set()
        await wait_for_reply(app, pilot)
        assert len(engine.requests) == 1


async def test_settings_change_the_temperature_of_the_next_reply(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["warm", "cool"])
    app = make_app(engine)
    async with app.run_test(size=(100, 34)) as pilot:
        await send(app, pilot, "hi")
        await wait_for_reply(app, pilot)
        assert engine.params[-1].temperature != 0.25
        await pilot.press("ctrl+o")
        screen = await wait_for_screen(app, pilot, SettingsScreen)
        screen.query_one("#temperature", Input).value = "0.25"
        screen.query_one("#seed", Input).value = "7"
        await pilot.press("ctrl+s")
        await wait_for_main_screen(app, pilot)
        assert app.session is not None
        saved = make_app.store.get_session(app.session.id)
        assert (saved.sampling["temperature"], saved.sampling["seed"]) == (0.25, 7)
        assert make_app.engines == []  # same model: nothing reloaded
        await send(app, pilot, "again")
        await wait_for_reply(app, pilot)
        assert (engine.params[-1].temperature, engine.params[-1].seed) == (0.25, 7)
        reply = make_app.store.tree.branch(app.session.id)[-1]
        assert reply.sampling is not None and reply.sampling["temperature"] == 0.25


async def test_settings_on_a_new_chat_apply_to_its_first_reply(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["short"])
    app = make_app(engine)
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.press("ctrl+o")
        screen = await wait_for_screen(app, pilot, SettingsScreen)
        screen.query_one("#max-tokens", Input).value = "1"
        await pilot.press("ctrl+s")
        await wait_for_main_screen(app, pilot)
        await send(app, pilot, "hi")
        await wait_for_reply(app, pilot)
        assert engine.params[-1].max_tokens == 1
        assert app.session is not None
        assert [s.id for s in make_app.store.list_sessions()] == [app.session.id]


async def test_choosing_another_model_in_settings_switches_the_engine(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["from the fake"])
    app = make_app(engine)
    async with app.run_test(size=(100, 34)) as pilot:
        await send(app, pilot, "hi")
        await wait_for_reply(app, pilot)
        await pilot.press("ctrl+o")
        screen = await wait_for_screen(app, pilot, SettingsScreen)
        screen.query_one("#model", Select).value = "qwen2.5-1.5b"
        await pilot.press("ctrl+s")
        await wait_for_main_screen(app, pilot)
        await wait_for_workers(app, pilot, "engine")
        await wait_for_workers(app, pilot)
        assert [e.model_name for e in make_app.engines] == ["qwen2.5-1.5b"]
        assert engine.closed
        assert app.core.engine is make_app.engines[0]
        status = app.query_one(StatusBar).status
        assert (status.model, status.activity) == ("qwen2.5-1.5b", "")
        assert "qwen2.5-1.5b" in describe(status)
        assert app.session is not None
        assert make_app.store.get_session(app.session.id).model == "qwen2.5-1.5b"
        assert views(app) == [("user", "hi"), ("assistant", "from the fake")]
        make_app.engines[0].replies.append("from the new model")
        await send(app, pilot, "and now?")
        await wait_for_reply(app, pilot)
        assert views(app)[-1] == ("assistant", "from the new model")
        assert make_app.store.tree.branch(app.session.id)[-1].model == "qwen2.5-1.5b"


async def test_context_size_back_to_default_reloads_with_the_configured_size(
    make_app: MakeApp,
) -> None:
    app = make_app(FakeEngine(replies=["ok"]), context_length=2048)
    async with app.run_test(size=(100, 34)) as pilot:
        await send(app, pilot, "hi")
        await wait_for_reply(app, pilot)
        for typed, expected in (("1024", 1024), ("", 2048)):
            await pilot.press("ctrl+o")
            screen = await wait_for_screen(app, pilot, SettingsScreen)
            screen.query_one("#context", Input).value = typed
            await pilot.press("ctrl+s")
            await wait_for_main_screen(app, pilot)
            await wait_for_workers(app, pilot, "engine")
            await wait_for_workers(app, pilot)
            assert make_app.loaded_with[-1].context_length == expected
        assert app.session is not None
        assert make_app.store.get_session(app.session.id).context_length is None


async def test_a_message_too_long_for_the_context_is_given_back(make_app: MakeApp) -> None:
    engine = FakeEngine(context_length=64)
    app = make_app(engine)
    notes = record_notifications(app)
    long_text = " ".join(f"word{i}" for i in range(100))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, long_text)
        await wait_for_reply(app, pilot)
        assert [severity for _, severity in notes] == ["error"]
        assert "context" in notes[0][0].lower()
        assert app.query_one(PromptInput).text == long_text
        assert views(app) == []
        assert engine.requests == []
        assert app.session is None  # no empty "(untitled)" session is left behind
        assert make_app.store.list_sessions() == []
        await send(app, pilot, "short one")
        await wait_for_reply(app, pilot)
        assert views(app) == [("user", "short one"), ("assistant", "OK")]
        assert len(make_app.store.list_sessions()) == 1


async def test_a_session_set_up_before_its_first_message_is_kept_when_that_fails(
    make_app: MakeApp,
) -> None:
    app = make_app(FakeEngine(context_length=64))
    async with app.run_test(size=(100, 30)) as pilot:
        session = app.sessions.ensure_session()  # what choosing a role or settings first does
        make_app.store.update_session(session.id, name="planning", role="translate")
        await send(app, pilot, " ".join(f"word{i}" for i in range(100)))
        await wait_for_reply(app, pilot)
        assert app.session is not None and app.session.id == session.id
        assert make_app.store.get_session(session.id).name == "planning"


async def test_the_status_bar_shows_how_far_a_long_prompt_has_been_read(make_app: MakeApp) -> None:
    gate = threading.Event()
    progress = [PrefillProgress(256, 1024, 1.0), PrefillProgress(512, 1024, 2.0)]
    engine = FakeEngine(replies=["done"], prefill=progress, prefill_gate=gate)
    app = make_app(engine)
    async with app.run_test() as pilot:
        await send(app, pilot, "a long question")
        status = app.query_one(StatusBar)
        for _ in range(PAUSES):
            if "512/" in status.status.activity:
                break
            await pilot.pause(0.02)
        assert status.status.activity.startswith("processing prompt 512/1,024 tokens, ~2 s left")
        gate.set()
        await wait_for_reply(app, pilot)
        assert status.status.activity == ""
        assert views(app)[-1] == ("assistant", "done")


async def test_status_bar_shows_the_reply_numbers(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["a b c d e"], token_delay_s=0.005)
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "five words please")
        await wait_for_reply(app, pilot)
        status = app.query_one(StatusBar).status
        assert status.prompt_tokens == engine.count_tokens(engine.requests[-1])
        assert status.completion_tokens == 5
        assert app.session is not None  # the meter: what the next send starts from
        assert status.context_used == app.core.count_context(app.session)
        assert status.tokens_per_s > 0
        assert status.activity == ""
        assert app.session is not None
        usage = make_app.store.tree.branch(app.session.id)[-1].usage
        assert usage is not None
        assert (usage["prompt_tokens"], usage["completion_tokens"]) == (
            status.prompt_tokens,
            status.completion_tokens,
        )
        line = str(app.query_one(StatusBar).render())
        assert f"{status.tokens_per_s:.1f} tok/s" in line
        assert f"{status.prompt_tokens} in · 5 out" in line
        assert "fake-model" in line and "CPU" in line


async def test_status_bar_says_generating_while_the_reply_streams(make_app: MakeApp) -> None:
    gate = threading.Event()
    engine = FakeEngine(replies=["one two"], gate=gate)
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "go")
        assert engine.first_token_sent.wait(5)
        for _ in range(50):
            if app.query_one(StatusBar).status.activity.startswith("generating"):
                break
            await pilot.pause()
        assert app.query_one(StatusBar).status.activity.startswith("generating")
        gate.set()
        await wait_for_reply(app, pilot)
        assert app.query_one(StatusBar).status.activity == ""


async def test_a_long_session_mounts_only_its_newest_messages(make_app: MakeApp) -> None:
    turns = [(f"question {i}", f"answer **{i}**") for i in range(30)]
    session = seed_session(make_app.store, turns)
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        shown = list(app.query(MessageView))
        assert len(shown) == MOUNT_LIMIT
        assert shown[-1].text == "answer **29**"
        assert [view.rich for view in shown].count(True) == RICH_RECENT
        assert not app.query(Markdown)  # finished text is one rich-rendered Static per message
        earlier = app.query_one(EarlierMessages)
        assert f"{60 - MOUNT_LIMIT} earlier messages" in str(earlier.render())
        earlier.focus()
        await pilot.press("enter")
        await pilot.pause()
        shown = list(app.query(MessageView))
        # A batch at least (focusing the line scrolled to the top, which may bring another).
        assert len(shown) >= MOUNT_LIMIT + REVEAL_BATCH
        assert shown[0].text == f"question {(60 - len(shown)) // 2}"


async def test_scrolling_to_the_top_mounts_earlier_messages_in_place(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [(f"question {i}", f"answer {i}") for i in range(30)])
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        transcript = app.query_one(Transcript)
        for expected in (MOUNT_LIMIT + REVEAL_BATCH, 60):
            transcript.scroll_home(animate=False)
            for _ in range(PAUSES):
                await pilot.pause(0.02)
                if len(app.query(MessageView)) == expected and transcript.scroll_y > 0:
                    break
            assert len(app.query(MessageView)) == expected
            assert transcript.scroll_y > 0  # what was on screen stays in view
        assert app.query(MessageView).first().text == "question 0"
        assert not app.query(EarlierMessages)


async def test_escape_while_idle_does_nothing_harmful(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["done"])
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "hello")
        await wait_for_reply(app, pilot)
        prompt = app.query_one(PromptInput)
        prompt.load_text("half-typed")
        await pilot.press("escape", "ctrl+c", "escape")
        await pilot.pause()
        assert app.is_running
        assert prompt.text == "half-typed"
        assert views(app) == [("user", "hello"), ("assistant", "done")]
        assert app.session is not None
        assert [m.status for m in make_app.store.tree.branch(app.session.id)] == ["complete"] * 2


async def test_a_draft_survives_quit_and_comes_back_with_its_session(make_app: MakeApp) -> None:
    saved = seed_session(make_app.store, [("Q", "A")])
    draft = "a long paste " * 10_000
    app = make_app(FakeEngine(), session_id=saved.id)
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(PromptInput).load_text(draft)
        await pilot.press("ctrl+q")
    assert make_app.store.get_session(saved.id).draft == draft

    again = make_app(FakeEngine(), session_id=saved.id)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.query_one(PromptInput).text == draft


async def test_drafts_are_kept_per_session_when_switching(make_app: MakeApp) -> None:
    first = seed_session(make_app.store, [("Q1", "A1")])
    app = make_app(FakeEngine(), session_id=first.id)
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(PromptInput).load_text("half a thought")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.query_one(PromptInput).text == ""
        await app.sessions.switch_to(first)
        await pilot.pause()
        assert app.query_one(PromptInput).text == "half a thought"


async def test_a_new_chat_with_only_a_draft_is_kept_and_sending_clears_the_draft(
    make_app: MakeApp,
) -> None:
    app = make_app(FakeEngine(replies=["ok"]))
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(PromptInput).load_text("not sent yet")
        await pilot.press("ctrl+q")
    (kept,) = make_app.store.list_sessions()
    assert kept.draft == "not sent yet" and make_app.store.message_count(kept.id) == 0

    again = make_app(FakeEngine(replies=["ok"]), session_id=kept.id)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await wait_for_reply(again, pilot)
    assert make_app.store.get_session(kept.id).draft == ""
    assert [m.content for m in make_app.store.tree.branch(kept.id)] == ["not sent yet", "ok"]


def _meter(app: ChatApp) -> int:
    return app.query_one(StatusBar).status.context_used


async def test_the_meter_is_the_exact_count_of_what_the_next_send_starts_from(
    make_app: MakeApp,
) -> None:
    engine = FakeEngine(replies=["first answer", "second answer"])
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot, "count")
        new_chat = _meter(app)
        assert new_chat == app.core.count_new_context() > 0  # the system prompt, not 0

        await send(app, pilot, "Question?")
        await wait_for_reply(app, pilot)
        await wait_for_workers(app, pilot, "count")
        assert app.session is not None
        assert _meter(app) == app.core.count_context(app.session)

        await pilot.press("ctrl+r")
        await wait_for_reply(app, pilot)
        await pilot.press("alt+left")
        await wait_for_workers(app, pilot, "count")
        assert _meter(app) == app.core.count_context(app.session)

        await pilot.press("ctrl+n")
        await wait_for_workers(app, pilot, "count")
        status = app.query_one(StatusBar).status
        assert (status.context_used, status.prompt_tokens, status.completion_tokens) == (
            new_chat,
            0,
            0,
        )
        # An empty named session shows the same count as a new chat.
        empty = app.core.new_session(name="empty")
        assert app.core.count_context(empty) == new_chat


async def test_a_new_chat_keeps_the_context_size_the_model_runs_at(make_app: MakeApp) -> None:
    app = make_app(FakeEngine(replies=["ok"]), context_length=4096)
    async with app.run_test(size=(100, 30)) as pilot:
        app.settings = replace(app.settings, context_length=2048)  # as a Ctrl+O switch leaves it
        await pilot.press("ctrl+n")
        await send(app, pilot, "Hi")
        await wait_for_reply(app, pilot)
        assert app.session is not None
        assert make_app.store.get_session(app.session.id).context_length == 2048


async def test_a_session_deleted_elsewhere_does_not_break_leaving_it(make_app: MakeApp) -> None:
    saved = seed_session(make_app.store, [("Q", "A")])
    app = make_app(FakeEngine(), session_id=saved.id)
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(PromptInput).load_text("typed here")
        make_app.store.delete_session(saved.id)  # `chatcli sessions delete` in another terminal
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.session is None and app.is_running
        assert any("Draft not kept" in n.message for n in app._notifications)
