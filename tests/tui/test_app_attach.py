"""Attaching files in the chat app: the path prompt, chips, the meter, the transcript item."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apptools import MakeApp, send, wait_for_reply, wait_for_screen, wait_for_workers
from fakes import FakeEngine
from textual.pilot import Pilot
from textual.widgets import Button, Collapsible, Input, Static

from chatcli.tui.app import ChatApp
from chatcli.tui.chat.attachments import AttachmentChips, AttachmentItem, PathSuggester
from chatcli.tui.chat.message import MessageView
from chatcli.tui.screens import TextInputScreen
from chatcli.tui.status import StatusBar, describe


async def attach(app: ChatApp, pilot: Pilot[Any], path: str) -> None:
    await pilot.press("ctrl+f")
    screen = await wait_for_screen(app, pilot, TextInputScreen)
    screen.query_one(Input).value = path
    await pilot.press("enter")
    await wait_for_workers(app, pilot, "attach")


async def test_an_attached_file_shows_as_a_chip_counts_in_the_meter_and_goes_with_the_message(
    make_app: MakeApp, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("The harbour master is called Ingrid.\n")
    engine = FakeEngine(replies=["Ingrid."])
    app = make_app(engine)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_for_workers(app, pilot)
        before = app.query_one(StatusBar).status
        await attach(app, pilot, str(notes))
        chips = app.query_one(AttachmentChips)
        (attached,) = chips.attachments
        assert attached.tokens and chips.display
        chip = chips.query_one("Button", Button)
        assert "notes.txt" in str(chip.label)
        assert chip.region.height == 1 and chip.content_size.height == 1  # its text is drawn
        status = app.query_one(StatusBar).status
        assert status.context_attached == attached.tokens
        assert f"ctx {before.context_used + attached.tokens:,}/" in describe(status)

        await send(app, pilot, "Who is the harbour master?")
        await wait_for_reply(app, pilot)
        sent = [m.content for m in engine.requests[-1] if m.role == "user"]
        assert sent == [f"{attached.framed()}\n\nWho is the harbour master?"]
        assert chips.attachments == [] and not chips.display
        assert app.query_one(StatusBar).status.context_attached == 0

        item = app.query(MessageView).first().query_one(AttachmentItem)
        assert item.collapsed and "notes.txt" in str(item.title)
        item.collapsed = False
        await pilot.pause()
        assert "Ingrid" in str(item.query_one(".attached-text", Static).render())


async def test_a_saved_message_shows_its_files_collapsed_and_reads_them_when_opened(
    make_app: MakeApp, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Bake for forty minutes.\n")
    first = make_app(FakeEngine(replies=["Forty."]))
    async with first.run_test() as pilot:
        await attach(first, pilot, str(notes))
        await send(first, pilot, "How long?")
        await wait_for_reply(first, pilot)
        assert first.session is not None
        session_id = first.session.id
    again = make_app(FakeEngine(), session_id=session_id)
    async with again.run_test() as pilot:
        await wait_for_workers(again, pilot)
        item = again.query_one(AttachmentItem)
        assert isinstance(item, Collapsible) and item.collapsed
        item.collapsed = False
        await pilot.pause()
        assert "forty minutes" in str(item.query_one(".attached-text", Static).render())


async def test_a_chip_can_be_taken_off_and_a_bad_file_is_a_notice(
    make_app: MakeApp, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("alpha\n")
    (tmp_path / "b.bin").write_bytes(b"\0\1\2")
    app = make_app(FakeEngine())
    async with app.run_test(size=(110, 30)) as pilot:
        await attach(app, pilot, str(tmp_path / "b.bin"))
        assert app.query_one(AttachmentChips).attachments == []
        assert any("binary" in n.message for n in app._notifications)
        await attach(app, pilot, str(tmp_path / "a.txt"))
        chips = app.query_one(AttachmentChips)
        assert len(chips.attachments) == 1
        chips.query_one("Button", Button).press()
        await pilot.pause()
        assert chips.attachments == [] and app.query_one(StatusBar).status.context_attached == 0


async def test_the_path_prompt_completes_from_the_disk(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "readme.md").write_text("x")
    suggester = PathSuggester()
    assert await suggester.get_suggestion(str(tmp_path / "rea")) == str(tmp_path / "readme.md")
    assert await suggester.get_suggestion(str(tmp_path / "rep")) == str(tmp_path / "reports") + "/"
    assert await suggester.get_suggestion(str(tmp_path / "zzz")) is None
