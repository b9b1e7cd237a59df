"""Keys a new user reaches for: typing into the sidebar's filter, Esc and typing on a focused
message, Tab onto the newest message, line breaks in sent messages, the footer's stop key."""

from __future__ import annotations

import threading

from apptools import (
    MakeApp,
    focused,
    seed_session,
    send,
    views,
    wait_for_reply,
    wait_for_workers,
    wait_until,
)
from fakes import FakeEngine
from rich.console import Console
from textual.app import App
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

from chatcli.tui.app import ChatApp
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.prompt import PromptInput
from chatcli.tui.chat.rendering import MarkdownText, build_look
from chatcli.tui.screens import TextInputScreen
from chatcli.tui.sidebar import SessionList


def listed(app: ChatApp) -> list[str | None]:
    """Ids of the sidebar's entries, top to bottom ('new' is the new-chat entry)."""
    listing = app.query_one(SessionList)
    return [listing.get_option_at_index(i).id for i in range(listing.option_count)]


def footer_actions(app: App[int]) -> list[str]:
    """The actions the footer shows now."""
    return [key.action for key in app.query(FooterKey)]


def body_lines(view: MessageView) -> list[str]:
    """The lines of a message's body as drawn (trailing blanks dropped)."""
    body = view.query_one(".body", Static)
    content = body.content
    assert isinstance(content, MarkdownText)
    console = view.app.console
    lines = console.render_lines(
        content, console.options.update_width(body.content_size.width), pad=False
    )
    return ["".join(segment.text for segment in line).rstrip() for line in lines]


# -- the sessions sidebar ---------------------------------------------------------------------


async def test_typing_after_ctrl_b_filters_the_sessions(make_app: MakeApp) -> None:
    python = seed_session(make_app.store, [("Python decorators?", "Functions.")])
    seed_session(make_app.store, [("Rust lifetimes?", "Scopes.")])
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b", *"py")
        assert app.query_one("#session-filter", Input).value == "py"
        assert listed(app) == ["new", python.id]
        await pilot.press("enter", "enter")  # to the list, then open the first match
        await wait_for_workers(app, pilot)
        assert app.session is not None and app.session.id == python.id


async def test_backspace_in_the_list_edits_the_filter(make_app: MakeApp) -> None:
    seed_session(make_app.store, [("Python decorators?", "Functions.")])
    seed_session(make_app.store, [("Rust lifetimes?", "Scopes.")])
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b", *"ru", "enter")
        assert app.focused is app.query_one(SessionList)
        assert len(listed(app)) == 2
        await pilot.press("backspace", "backspace")
        assert app.query_one("#session-filter", Input).value == ""
        assert len(listed(app)) == 3


async def test_closing_the_sidebar_clears_the_filter(make_app: MakeApp) -> None:
    current = seed_session(make_app.store, [("Python decorators?", "Functions.")])
    seed_session(make_app.store, [("Rust lifetimes?", "Scopes.")])
    app = make_app(session_id=current.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b", *"zzz")
        assert listed(app) == ["new"]
        await pilot.press("ctrl+b", "ctrl+b")
        assert app.query_one("#session-filter", Input).value == ""
        assert current.id in listed(app)
        assert app.query_one(SessionList).highlighted == listed(app).index(current.id)


# -- a focused message --------------------------------------------------------------------------


async def test_escape_on_a_focused_message_goes_back_to_the_input(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Question", "Answer")])
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        app.query(MessageView).last().focus()
        await pilot.press("escape")
        assert app.focused is app.query_one(PromptInput)


async def test_escape_on_a_focused_message_still_stops_a_streaming_reply(make_app: MakeApp) -> None:
    gate = threading.Event()
    engine = FakeEngine(replies=["one two three four"], gate=gate)
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "Question")
        assert engine.first_token_sent.wait(5)
        app.query(MessageView).first().focus()
        await pilot.press("escape")
        assert app.reply is not None and app.reply.cancel.is_set()
        gate.set()
        await wait_for_reply(app, pilot)
        assert app.focused is app.query(MessageView).first()


async def test_typing_on_a_focused_message_goes_to_the_input(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Question", "Answer")])
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        app.query(MessageView).first().focus()
        await pilot.press(*"hello")
        prompt = app.query_one(PromptInput)
        assert app.focused is prompt
        assert prompt.text == "hello"
        assert not isinstance(app.screen, TextInputScreen)
        assert len(app.screen_stack) == 1


async def test_typing_on_a_message_appends_to_what_the_input_holds(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Question", "Answer")])
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        prompt = app.query_one(PromptInput)
        prompt.load_text("say ")
        prompt.move_cursor(prompt.document.end)
        app.query(MessageView).last().focus()
        await pilot.press("h", "i")
        assert prompt.text == "say hi"


async def test_message_action_keys_still_act_and_are_in_the_footer(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Question", "Answer")])
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        app.query(MessageView).first().focus()
        wanted = {"copy", "copy_code", "request('edit')", "request('pin')", "app.focus_prompt"}
        await wait_until(pilot, lambda: wanted <= set(footer_actions(app)), "keys in the footer")
        await pilot.press("y")
        assert app.clipboard == "Question"
        assert app.focused is app.query(MessageView).first()


async def test_tab_from_the_input_focuses_the_newest_message(make_app: MakeApp) -> None:
    turns = [(f"question {n}", f"answer {n}") for n in range(30)]
    session = seed_session(make_app.store, turns)
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        transcript_end = app.query_one("#transcript").max_scroll_y
        await pilot.press("tab")
        assert app.focused is app.query(MessageView).last()
        assert app.query_one("#transcript").scroll_y == transcript_end
        await pilot.press("shift+tab")
        newest_but_one = list(app.query(MessageView))[-2]
        assert app.focused is newest_but_one
        await pilot.press("tab", "tab")
        assert focused(app) is app.query_one(PromptInput)


# -- line breaks --------------------------------------------------------------------------------


async def test_line_breaks_in_a_sent_message_are_kept(make_app: MakeApp) -> None:
    app = make_app(FakeEngine(replies=["ok"]))
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.query_one(PromptInput)
        prompt.focus()
        await pilot.press(*"line", "space", *"one", "ctrl+j", *"line", "space", *"two", "enter")
        await wait_for_reply(app, pilot)
        assert views(app)[0] == ("user", "line one\nline two")
        lines = [line for line in body_lines(app.query(MessageView).first()) if line]
        assert lines == ["line one", "line two"]


def test_markdown_with_hard_breaks_keeps_single_newlines() -> None:
    look = build_look({}, dark=True)
    console = Console(width=40)
    soft = MarkdownText("a\nb", look)
    hard = MarkdownText("a\nb\n\n```\nx\ny\n```", look, hard_breaks=True)
    assert soft.height(console, 40) == 1  # plain Markdown joins the lines
    lines = [
        "".join(s.text for s in line).strip()
        for line in console.render_lines(hard, console.options, pad=False)
    ]
    assert [line for line in lines if line] == ["a", "b", "x", "y"]


# -- the footer's stop key ----------------------------------------------------------------------


async def test_the_stop_key_is_in_the_footer_only_while_a_reply_streams(make_app: MakeApp) -> None:
    gate = threading.Event()
    session = seed_session(make_app.store, [("First", "One"), ("Second", "Two")])
    engine = FakeEngine(replies=["again", "more"], gate=gate)
    app = make_app(engine, session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot)
        assert "stop_reply" not in footer_actions(app)
        app.query(MessageView).first().focus()
        await pilot.press("r")
        assert engine.first_token_sent.wait(5)
        assert app.replying
        await wait_until(pilot, lambda: "stop_reply" in footer_actions(app), "Stop shown")
        gate.set()
        await wait_for_reply(app, pilot)
        await wait_until(pilot, lambda: "stop_reply" not in footer_actions(app), "Stop hidden")
