"""Sessions in the app: the sidebar, opening, renaming, deleting, new chats, roles."""

from __future__ import annotations

from typing import Any

from apptools import (
    PAUSES,
    MakeApp,
    focused,
    seed_session,
    send,
    views,
    wait_for_main_screen,
    wait_for_reply,
    wait_for_screen,
    wait_for_workers,
)
from fakes import FakeEngine
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, TextArea

from chatcli.core.roles import get_role
from chatcli.engine.base import ChatMessage
from chatcli.tui.app import ChatApp
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.prompt import PromptInput
from chatcli.tui.chat.system_bar import SystemBar
from chatcli.tui.chat.transcript import REVEAL_BATCH, LaterMessages, Transcript
from chatcli.tui.screens import ConfirmScreen, SettingsScreen, SystemPromptScreen, TextInputScreen
from chatcli.tui.sidebar import SessionList, SessionsSidebar
from chatcli.tui.status import StatusBar


def listed(app: ChatApp) -> list[str | None]:
    """Ids of the sidebar's entries, top to bottom ('new' is the new-chat entry)."""
    listing = app.query_one(SessionList)
    return [listing.get_option_at_index(i).id for i in range(listing.option_count)]


def labels(app: ChatApp) -> list[str]:
    listing = app.query_one(SessionList)
    return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]


def highlight(app: ChatApp, session_id: str) -> None:
    listing = app.query_one(SessionList)
    listing.highlighted = listed(app).index(session_id)


async def test_ctrl_b_toggles_the_sidebar_listing_sessions_newest_first(make_app: MakeApp) -> None:
    old = seed_session(make_app.store, [("old question", "old answer")])
    mid = seed_session(make_app.store, [("middle question", "middle answer")])
    new = seed_session(make_app.store, [("new question", "new answer")])
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        sidebar = app.query_one(SessionsSidebar)
        assert not sidebar.display
        await pilot.press("ctrl+b")
        assert sidebar.display
        assert app.focused is app.query_one(SessionList)
        assert listed(app) == ["new", new.id, mid.id, old.id]
        assert "new question" in labels(app)[1]
        await pilot.press("ctrl+b")
        assert not sidebar.display
        assert app.focused is app.query_one(PromptInput)


async def test_choosing_a_session_in_the_sidebar_opens_it(make_app: MakeApp) -> None:
    first = seed_session(make_app.store, [("What is 1+1?", "Two."), ("And 2+2?", "Four.")])
    seed_session(make_app.store, [("Something else", "Sure.")])
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b")
        highlight(app, first.id)
        await pilot.press("enter")
        await wait_for_workers(app, pilot)
        assert app.session is not None and app.session.id == first.id
        assert views(app) == [
            ("user", "What is 1+1?"),
            ("assistant", "Two."),
            ("user", "And 2+2?"),
            ("assistant", "Four."),
        ]
        assert "● What is 1+1?" in labels(app)[listed(app).index(first.id)]
        assert app.query_one(StatusBar).status.context_used > 0


async def test_opening_a_session_of_another_model_loads_that_model(make_app: MakeApp) -> None:
    other = seed_session(make_app.store, [("Hi", "Hello.")], model="other-model")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b")
        highlight(app, other.id)
        await pilot.press("enter")
        await wait_for_workers(app, pilot, "engine")
        await wait_for_workers(app, pilot)
        assert [e.model_name for e in make_app.engines] == ["other-model"]
        assert app.core.engine is make_app.engines[0]
        assert app.query_one(StatusBar).status.model == "other-model"
        assert app.session is not None and app.session.id == other.id
        assert views(app) == [("user", "Hi"), ("assistant", "Hello.")]


async def test_typing_in_the_filter_narrows_the_list(make_app: MakeApp) -> None:
    python = seed_session(make_app.store, [("Python decorators?", "Functions.")])
    seed_session(make_app.store, [("Rust lifetimes?", "Scopes.")])
    named = make_app.store.create_session(model="fake-model", name="pyproject", title="Config")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b")
        assert len(listed(app)) == 4
        await pilot.press("shift+tab")
        assert app.focused is app.query_one("#session-filter", Input)
        await pilot.press(*"PY")
        assert listed(app) == ["new", named.id, python.id]
        await pilot.press("enter")
        assert focused(app) is app.query_one(SessionList)
        assert app.query_one(SessionList).highlighted == 1  # the first match
        await pilot.press("shift+tab", "backspace", "backspace")
        assert len(listed(app)) == 4


async def test_filter_enter_enter_opens_the_first_match(make_app: MakeApp) -> None:
    wanted = seed_session(make_app.store, [("Python decorators?", "Functions.")])
    seed_session(make_app.store, [("Rust lifetimes?", "Scopes.")])
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b", "shift+tab", *"python", "enter", "enter")
        await wait_for_workers(app, pilot)
        assert app.session is not None and app.session.id == wanted.id
        assert views(app)[0] == ("user", "Python decorators?")


async def test_the_sidebar_opens_on_the_current_session(make_app: MakeApp) -> None:
    current = seed_session(make_app.store, [("Current", "Yes.")])
    newer = seed_session(make_app.store, [("Newer", "Also.")])
    app = make_app(session_id=current.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b")
        assert listed(app) == ["new", newer.id, current.id]
        assert app.query_one(SessionList).highlighted == 2
        await pilot.press("up", "enter")
        await wait_for_workers(app, pilot)
        assert app.session is not None and app.session.id == newer.id
        await pilot.press("ctrl+b", "ctrl+b")
        assert app.query_one(SessionList).highlighted == 1


async def test_f2_in_the_list_renames_the_session(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Question", "Answer")])
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b")
        highlight(app, session.id)
        await pilot.press("f2")
        screen = await wait_for_screen(app, pilot, TextInputScreen)
        assert screen.text == "Question"
        await pilot.press("ctrl+u", *"Renamed", "enter")
        await wait_for_main_screen(app, pilot)
        assert make_app.store.get_session(session.id).title == "Renamed"
        assert "Renamed" in labels(app)[listed(app).index(session.id)]


async def test_f2_rename_cancelled_keeps_the_title(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Question", "Answer")])
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f2")
        await wait_for_screen(app, pilot, TextInputScreen)
        await pilot.press(*" changed", "escape")
        await wait_for_main_screen(app, pilot)
        assert make_app.store.get_session(session.id).title == "Question"


async def test_delete_key_then_confirm_deletes_the_session(make_app: MakeApp) -> None:
    keep = seed_session(make_app.store, [("Keep me", "Kept.")])
    doomed = seed_session(make_app.store, [("Delete me", "Gone.")])
    app = make_app(session_id=doomed.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b")
        highlight(app, doomed.id)
        await pilot.press("delete")
        screen = await wait_for_screen(app, pilot, ConfirmScreen)
        assert app.screen.focused is screen.query_one("#cancel")
        await pilot.press("y")
        await wait_for_main_screen(app, pilot)
        assert [s.id for s in make_app.store.list_sessions()] == [keep.id]
        assert listed(app) == ["new", keep.id]
        assert app.session is None
        assert views(app) == []


async def test_delete_key_then_cancel_keeps_the_session(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Keep me", "Kept.")])
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b")
        highlight(app, session.id)
        await pilot.press("delete")
        await wait_for_screen(app, pilot, ConfirmScreen)
        await pilot.press("enter")  # Cancel has the focus: a stray Enter never deletes
        await wait_for_main_screen(app, pilot)
        assert [s.id for s in make_app.store.list_sessions()] == [session.id]
        assert listed(app) == ["new", session.id]


async def test_ctrl_n_starts_a_new_chat_saved_with_its_first_message(make_app: MakeApp) -> None:
    app = make_app(FakeEngine(replies=["first reply", "second reply"]))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(app, pilot, "in the first chat")
        await wait_for_reply(app, pilot)
        first = app.session
        assert first is not None
        await pilot.press("ctrl+n")
        assert app.session is None
        assert views(app) == []
        assert app.focused is app.query_one(PromptInput)
        assert len(make_app.store.list_sessions()) == 1
        await send(app, pilot, "in the second chat")
        await wait_for_reply(app, pilot)
        assert app.session is not None and app.session.id != first.id
        sessions = make_app.store.list_sessions()
        assert [s.id for s in sessions] == [app.session.id, first.id]
        second = make_app.store.tree.branch(app.session.id)
        assert [m.content for m in second] == ["in the second chat", "second reply"]
        assert len(make_app.store.tree.branch(first.id)) == 2


async def test_the_new_chat_entry_in_the_sidebar_starts_a_new_chat(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Question", "Answer")])
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b")
        app.query_one(SessionList).highlighted = 0
        await pilot.press("enter")
        await pilot.pause()
        assert app.session is None
        assert views(app) == []


async def test_opening_straight_into_a_session_shows_it_and_its_context(make_app: MakeApp) -> None:
    engine = FakeEngine()
    session = seed_session(make_app.store, [("How are you?", "Fine, thanks.")])
    app = make_app(engine, session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_workers(app, pilot, "count")
        assert views(app) == [("user", "How are you?"), ("assistant", "Fine, thanks.")]
        expected = engine.count_tokens(
            [
                ChatMessage("system", "You are a test."),
                ChatMessage("user", "How are you?"),
                ChatMessage("assistant", "Fine, thanks."),
            ]
        )
        status = app.query_one(StatusBar).status
        assert status.context_used == expected > 0
        assert status.context_length == 4096
        assert "You are a test." in str(app.query_one(SystemBar).render())


async def test_ctrl_t_chooses_a_role_for_the_session(make_app: MakeApp) -> None:
    session = seed_session(make_app.store, [("Question", "Answer")])
    app = make_app(session_id=session.id)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+t")
        screen = await wait_for_screen(app, pilot, SystemPromptScreen)
        roles = screen.query_one("#roles", OptionList)
        roles.focus()
        names = [roles.get_option_at_index(i).id for i in range(roles.option_count)]
        roles.highlighted = names.index("code")
        await pilot.press("enter")
        code = get_role("code")
        assert screen.query_one("#prompt", TextArea).text == code.prompt
        await pilot.press("ctrl+s")
        await wait_for_main_screen(app, pilot)
        saved = make_app.store.get_session(session.id)
        assert (saved.role, saved.system_prompt) == ("code", code.prompt.strip())
        assert app.session == saved
        shown = str(app.query_one(SystemBar).render())
        assert shown.startswith("Question · code · You are an expert programmer")


async def test_ctrl_t_custom_prompt_is_used_for_the_next_reply(make_app: MakeApp) -> None:
    engine = FakeEngine(replies=["ok"])
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+t")
        screen = await wait_for_screen(app, pilot, SystemPromptScreen)
        screen.query_one("#prompt", TextArea).load_text("Talk like a pirate.")
        await pilot.press("ctrl+s")
        await wait_for_main_screen(app, pilot)
        shown = str(app.query_one(SystemBar).render())
        assert shown == "Untitled chat · custom · Talk like a pirate."
        await send(app, pilot, "Hello")
        await wait_for_reply(app, pilot)
        # The first message gave the session its title, and the header says so.
        assert str(app.query_one(SystemBar).render()) == "Hello · custom · Talk like a pirate."
        assert engine.requests[-1][0] == ChatMessage("system", "Talk like a pirate.")
        assert app.session is not None
        assert make_app.store.get_session(app.session.id).role is None


async def test_the_header_names_the_open_session_and_follows_a_rename(make_app: MakeApp) -> None:
    from apptools import seed_session

    named = make_app.store.create_session(model="fake-model", name="trip", system_prompt="p")
    titled = seed_session(make_app.store, [("Plan a day in Lyon please", "ok")])
    app = make_app(FakeEngine(), session_id=named.id)
    async with app.run_test(size=(100, 30)) as pilot:
        assert str(app.query_one(SystemBar).render()).startswith("trip · ")
        await app.sessions.switch_to(titled)
        await pilot.pause()
        assert str(app.query_one(SystemBar).render()).startswith("Plan a day in Lyon please · ")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert str(app.query_one(SystemBar).render()).startswith("New chat · ")


async def test_at_40_by_12_dialogs_scroll_to_their_buttons_and_the_sidebar_leaves_room(
    make_app: MakeApp,
) -> None:

    app = make_app(FakeEngine())
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert app.query_one(SessionsSidebar).outer_size.width <= 18
        await pilot.press("ctrl+b", "ctrl+o")
        screen = await wait_for_screen(app, pilot, SettingsScreen)
        assert screen.has_class("-narrow")  # labels above full-width fields
        assert screen.query_one("SelectCurrent #label").size.height == 1  # no mid-word wrap
        dialog = screen.query_one("#dialog")
        save = screen.query_one("#save", Button)
        dialog.scroll_to_widget(save, animate=False)
        await pilot.pause()
        assert screen.region.contains_region(save.region)
        assert save.region.height > 0


async def test_the_sidebar_filter_finds_what_was_said_and_opens_at_the_match(
    make_app: MakeApp,
) -> None:
    trip = seed_session(
        make_app.store,
        [
            ("Plan my holiday", "Sure."),
            ("What about the old town of Lyon?", "It is lovely."),
            ("Thanks", "Anytime."),
        ],
    )
    seed_session(make_app.store, [("Something else", "Fine.")])
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+b")
        for key in "lyo":
            await pilot.press(key)
        assert listed(app) == ["new", trip.id]  # matched by its text, not its title
        assert "old town of Lyon" in labels(app)[1]
        await pilot.press("enter", "enter")  # to the list, then open
        await wait_for_workers(app, pilot)
        assert app.session is not None and app.session.id == trip.id
        focused = app.focused
        assert isinstance(focused, MessageView) and focused.record is not None
        assert focused.record.content == "What about the old town of Lyon?"


async def type_in_sidebar(pilot: Pilot[Any], text: str) -> None:
    """Open the sessions sidebar and type ``text`` into its filter."""
    await pilot.press("ctrl+b", *text)


def pharos_then_questions(count: int) -> list[tuple[str, str]]:
    """``count`` turns: one about Pharos, then numbered questions (the match is far up)."""
    return [("Tell me about Pharos.", "A lighthouse.")] + [
        (f"question {i}", f"answer {i}") for i in range(1, count)
    ]


async def test_a_match_far_up_a_long_session_opens_there_and_a_send_returns_to_the_end(
    make_app: MakeApp,
) -> None:
    turns = [(f"question {i}", f"answer {i}") for i in range(40)]
    turns[1] = ("Where is the lighthouse of Alexandria?", "It stood on Pharos.")
    long = seed_session(make_app.store, turns)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_in_sidebar(pilot, "pharos")
        assert listed(app) == ["new", long.id]
        await pilot.press("enter", "enter")
        await wait_for_workers(app, pilot)
        focused = app.focused
        assert isinstance(focused, MessageView) and focused.record is not None
        assert focused.record.content == "It stood on Pharos."  # 77 messages up
        transcript = app.query_one(Transcript)
        assert not transcript.at_end and app.query(LaterMessages)
        assert views(app)[0] == ("assistant", "answer 0")  # two messages above the match
        mounted = len(views(app))
        transcript.scroll_end(animate=False)  # reaching the bottom mounts the next batch
        for _ in range(PAUSES):
            if len(views(app)) > mounted:
                break
            await pilot.pause(0.05)
        assert len(views(app)) == mounted + REVEAL_BATCH
        await send(app, pilot, "And today?")
        await wait_for_reply(app, pilot)
        assert transcript.at_end and not app.query(LaterMessages)
        shown = views(app)
        assert shown[-4:-2] == [("user", "question 39"), ("assistant", "answer 39")]
        assert shown[-2][1] == "And today?"


async def test_acting_on_the_newest_message_after_a_jump_acts_on_the_branchs_newest(
    make_app: MakeApp,
) -> None:
    turns = pharos_then_questions(30)
    seed_session(make_app.store, turns)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_in_sidebar(pilot, "pharos")
        await pilot.press("enter", "enter")  # to the list, then open the match
        await wait_for_workers(app, pilot)
        transcript = app.query_one(Transcript)
        assert not transcript.at_end
        await pilot.press("ctrl+e")  # edit my newest message: question 29, not question 0
        screen = await wait_for_screen(app, pilot, TextInputScreen)
        assert screen.query_one(TextArea).text == "question 29"
        assert transcript.at_end


async def test_copying_the_newest_reply_after_a_jump_keeps_the_match_in_view(
    make_app: MakeApp,
) -> None:
    seed_session(make_app.store, pharos_then_questions(30))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_in_sidebar(pilot, "pharos")
        await pilot.press("enter", "enter")  # to the list, then open the match
        await wait_for_workers(app, pilot)
        await pilot.press("ctrl+y")
        assert app.clipboard == "answer 29"  # the branch's newest reply, not a mounted one
        transcript = app.query_one(Transcript)
        assert not transcript.at_end and views(app)[0] == ("user", "Tell me about Pharos.")


async def test_a_match_in_a_session_of_another_model_opens_there_once_the_model_loads(
    make_app: MakeApp,
) -> None:
    turns = pharos_then_questions(30)
    other = seed_session(make_app.store, turns, model="other-model")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_in_sidebar(pilot, "pharos")
        await pilot.press("enter", "enter")  # to the list, then open the match
        await wait_for_workers(app, pilot, "engine")
        for _ in range(PAUSES):
            if isinstance(app.focused, MessageView):
                break
            await pilot.pause()
        assert app.session is not None and app.session.id == other.id
        assert app.core.info.model_name == "other-model"
        focused = app.focused
        assert isinstance(focused, MessageView) and focused.record is not None
        assert focused.record.content == "Tell me about Pharos."


async def test_a_new_chat_after_a_jump_forgets_the_window(make_app: MakeApp) -> None:
    turns = pharos_then_questions(30)
    seed_session(make_app.store, turns)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_in_sidebar(pilot, "pharos")
        await pilot.press("enter", "enter")  # to the list, then open the match
        await wait_for_workers(app, pilot)
        transcript = app.query_one(Transcript)
        assert not transcript.at_end
        await pilot.press("ctrl+b", "ctrl+n", "ctrl+e", "ctrl+y", "ctrl+r")  # nothing to act on
        await pilot.pause()
        assert app.session is None and transcript.at_end and views(app) == []
