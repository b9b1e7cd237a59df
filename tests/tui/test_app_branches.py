"""Branches in the app: regenerate, edit, switching between siblings; pin and copy."""

from __future__ import annotations

import pytest
from apptools import (
    MakeApp,
    header,
    seed_session,
    send,
    views,
    wait_for_main_screen,
    wait_for_reply,
    wait_for_screen,
    wait_for_workers,
)
from fakes import FakeEngine
from textual.widgets import TextArea

from chatcli.tui.app import ChatApp
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.prompt import PromptInput
from chatcli.tui.screens import TextInputScreen

CODE_REPLY = "Two ways:\n\n```python\nprint('a')\n```\n\nor\n\n```sh\necho b\n```\n"


def last(app: ChatApp, role: str) -> MessageView:
    return [v for v in app.query(MessageView) if v.role == role][-1]


def regenerated(make_app: MakeApp) -> tuple[ChatApp, FakeEngine]:
    """An app (not yet running) whose engine answers "first answer", "second answer", ..."""
    engine = FakeEngine(replies=["first answer", "second answer", "third answer"])
    return make_app(engine), engine


async def test_ctrl_r_regenerates_the_reply_as_a_sibling(make_app: MakeApp) -> None:
    app, engine = regenerated(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Question?")
        await wait_for_reply(app, pilot)
        await pilot.press("ctrl+r")
        await wait_for_reply(app, pilot)
        assert app.session is not None
        user = make_app.store.tree.branch(app.session.id)[0]
        replies = make_app.store.tree.children(app.session.id, user.id)
        assert [r.content for r in replies] == ["first answer", "second answer"]
        assert views(app) == [("user", "Question?"), ("assistant", "second answer")]
        assert "2/2" in header(last(app, "assistant"))
        assert make_app.store.get_session(app.session.id).current_leaf == replies[1].id
        assert len(engine.requests) == 2
        assert engine.requests[0] == engine.requests[1]


async def test_alt_left_and_right_switch_between_the_replies(make_app: MakeApp) -> None:
    app, _ = regenerated(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Question?")
        await wait_for_reply(app, pilot)
        await pilot.press("ctrl+r")
        await wait_for_reply(app, pilot)
        assert app.session is not None
        session_id = app.session.id
        first, second = make_app.store.tree.children(
            session_id, make_app.store.tree.branch(session_id)[0].id
        )
        await pilot.press("alt+left")
        await pilot.pause()
        assert views(app)[-1] == ("assistant", "first answer")
        assert "1/2" in header(last(app, "assistant"))
        assert make_app.store.get_session(session_id).current_leaf == first.id
        await pilot.press("alt+right")
        await pilot.pause()
        assert views(app)[-1] == ("assistant", "second answer")
        assert make_app.store.get_session(session_id).current_leaf == second.id


async def test_left_on_a_focused_reply_switches_branch_and_keeps_the_focus(
    make_app: MakeApp,
) -> None:
    app, _ = regenerated(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Question?")
        await wait_for_reply(app, pilot)
        await pilot.press("ctrl+r")
        await wait_for_reply(app, pilot)
        last(app, "assistant").focus()
        await pilot.press("left")
        await pilot.pause()
        assert views(app)[-1] == ("assistant", "first answer")
        assert "1/2" in header(last(app, "assistant"))
        assert app.focused is last(app, "assistant")
        await pilot.press("left")  # wraps around
        await pilot.pause()
        assert views(app)[-1] == ("assistant", "second answer")


async def test_a_new_message_after_switching_continues_the_branch_shown(make_app: MakeApp) -> None:
    app, engine = regenerated(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Question?")
        await wait_for_reply(app, pilot)
        await pilot.press("ctrl+r")
        await wait_for_reply(app, pilot)
        await pilot.press("alt+left")
        await pilot.pause()
        await send(app, pilot, "Follow-up")
        await wait_for_reply(app, pilot)
        sent = [m.content for m in engine.requests[-1] if m.role != "system"]
        assert sent == ["Question?", "first answer", "Follow-up"]
        assert app.session is not None
        assert [m.content for m in make_app.store.tree.branch(app.session.id)] == [
            "Question?",
            "first answer",
            "Follow-up",
            "third answer",
        ]


async def test_ctrl_e_edits_the_last_question_as_a_new_branch(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["about cats", "about dogs"])
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Tell me about cats")
        await wait_for_reply(app, pilot)
        await pilot.press("ctrl+e")
        screen = await wait_for_screen(app, pilot, TextInputScreen)
        text_area = screen.query_one(TextArea)
        assert text_area.text == "Tell me about cats"
        text_area.load_text("Tell me about dogs")
        await pilot.press("ctrl+s")
        await wait_for_main_screen(app, pilot)
        await wait_for_reply(app, pilot)
        assert views(app) == [("user", "Tell me about dogs"), ("assistant", "about dogs")]
        assert "2/2" in header(last(app, "user"))
        assert app.session is not None
        roots = make_app.store.tree.children(app.session.id, None)
        assert [m.content for m in roots] == ["Tell me about cats", "Tell me about dogs"]
        assert [m.content for m in make_app.store.tree.children(app.session.id, roots[1].id)] == [
            "about dogs"
        ]
        request = [m.content for m in engine.requests[-1]]
        assert "Tell me about dogs" in request
        assert not any("cats" in content for content in request)
        await pilot.press("alt+left")  # the reply has no siblings: nothing happens
        await pilot.pause()
        last(app, "user").focus()
        await pilot.press("left")
        await pilot.pause()
        assert views(app) == [("user", "Tell me about cats"), ("assistant", "about cats")]


async def test_e_on_a_focused_question_edits_it(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["one", "two", "three"])
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "first")
        await wait_for_reply(app, pilot)
        await send(app, pilot, "second")
        await wait_for_reply(app, pilot)
        app.query(MessageView).first().focus()
        await pilot.press("e")
        screen = await wait_for_screen(app, pilot, TextInputScreen)
        screen.query_one(TextArea).load_text("first, edited")
        await pilot.press("ctrl+s")
        await wait_for_main_screen(app, pilot)
        await wait_for_reply(app, pilot)
        assert views(app) == [("user", "first, edited"), ("assistant", "three")]
        assert [m.content for m in engine.requests[-1] if m.role != "system"] == ["first, edited"]


async def test_editing_cancelled_changes_nothing(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["one"])
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "first")
        await wait_for_reply(app, pilot)
        await pilot.press("ctrl+e")
        await wait_for_screen(app, pilot, TextInputScreen)
        await pilot.press("escape")
        await wait_for_main_screen(app, pilot)
        assert views(app) == [("user", "first"), ("assistant", "one")]
        assert len(engine.requests) == 1


async def test_r_on_a_focused_reply_regenerates_it(make_app: MakeApp) -> None:
    app, _ = regenerated(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Question?")
        await wait_for_reply(app, pilot)
        last(app, "assistant").focus()
        await pilot.press("r")
        await wait_for_reply(app, pilot)
        assert views(app) == [("user", "Question?"), ("assistant", "second answer")]
        assert "2/2" in header(last(app, "assistant"))


async def test_p_pins_and_unpins_a_message(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Remember: 42", "Noted.")])
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        question = app.query(MessageView).first()
        question.focus()
        await pilot.press("p")
        assert question.record is not None
        assert make_app.store.get_message(question.record.id).pinned
        assert "📌" in header(question)
        await pilot.press("p")
        assert not make_app.store.get_message(question.record.id).pinned
        assert "📌" not in header(question)


async def test_y_copies_a_message_and_ctrl_y_the_last_reply(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Question", "First reply"), ("Again", "Last reply")])
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        app.query(MessageView).first().focus()
        await pilot.press("y")
        assert app.clipboard == "Question"
        app.query_one(PromptInput).focus()
        await pilot.press("ctrl+y")
        assert app.clipboard == "Last reply"


async def test_b_copies_the_code_blocks_in_turn(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = seed_session(make_app.store, [("Show me", CODE_REPLY)])
    app = make_app(session_id=session.id)
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        last(app, "assistant").focus()
        await pilot.press("b", "b", "b")
        assert copied == ["print('a')\n", "echo b\n", "print('a')\n"]
        app.query(MessageView).first().focus()
        await pilot.press("b")
        assert len(copied) == 3


async def test_regenerating_with_greedy_sampling_says_the_text_will_be_the_same(
    make_app: MakeApp,
) -> None:
    app, _ = regenerated(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Question?")
        await wait_for_reply(app, pilot)
        assert app.session is not None
        sampling = {**app.session.sampling, "temperature": 0.0}
        app.session = make_app.store.update_session(app.session.id, sampling=sampling)
        await pilot.press("ctrl+r")
        await wait_for_reply(app, pilot)
        assert any("greedy" in n.message for n in app._notifications)


async def test_a_cut_reply_says_so_and_ctrl_g_continues_it_in_place(make_app: MakeApp) -> None:
    from chatcli.engine.params import SamplingParams

    engine = FakeEngine(replies=["one two three", "four five six"])
    app = make_app(
        engine,
        sampling=SamplingParams(max_tokens=2),
        sampling_configured=frozenset({"max_tokens"}),
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Count")
        await wait_for_reply(app, pilot)
        assert "(cut at 2 tokens; Ctrl+G continues)" in header(last(app, "assistant"))

        await pilot.press("ctrl+g")
        await wait_for_reply(app, pilot)

        assert views(app) == [("user", "Count"), ("assistant", "one two four five ")]
        assert "(cut at 4 tokens" in header(last(app, "assistant"))
        assert app.session is not None
        saved = make_app.store.tree.branch(app.session.id)
        assert [m.content for m in saved] == ["Count", "one two four five "]
        assert engine.requests[-1][-1].content == "one two "


async def test_continue_is_refused_for_a_finished_reply(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["done."])
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Hi")
        await wait_for_reply(app, pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert len(engine.requests) == 1
        assert any("can be continued" in n.message for n in app._notifications)
