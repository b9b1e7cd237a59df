"""A streaming reply's view: finished blocks are frozen once, only the last one is redrawn."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console
from rich.markdown import Markdown
from textual.app import App, ComposeResult
from textual.widgets import Static

from chatcli.markdown import last_block_start
from chatcli.store.records import MessageRecord
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.rendering import MarkdownText, build_look
from chatcli.tui.replying import (
    DRAIN_INTERVAL_S,
    MAX_DRAIN_INTERVAL_S,
    UI_CPU_SHARE,
    next_drain_interval,
)


class OneMessage(App[None]):
    """Just a reply view, to drive its stream by hand."""

    def compose(self) -> ComposeResult:
        yield MessageView(None, role="assistant")


def shown_text(static: Static) -> str:
    """The Markdown source a Static is drawing."""
    content: Any = static.content
    assert isinstance(content, MarkdownText)
    return content.text


def test_last_block_start_splits_after_the_blocks_the_parser_has_closed() -> None:
    text = "# Title\n\nA paragraph\nof two lines.\n\n- one\n- two\n\n```python\nx = 1\n"
    cut = last_block_start(text)
    assert text[:cut] == "# Title\n\nA paragraph\nof two lines.\n\n- one\n- two\n\n"
    assert text[cut:] == "```python\nx = 1\n"


def test_a_lone_block_or_a_loose_list_is_not_split() -> None:
    assert last_block_start("only one paragraph\nstill going") == 0
    loose_list = "- one\n\n- two\n\n  more of two\n"
    assert last_block_start(loose_list) == 0
    blank_lines_in_code = "```\na\n\n\nb\n"
    assert last_block_start(blank_lines_in_code) == 0


async def test_streaming_freezes_finished_blocks_and_redraws_only_the_last() -> None:
    app = OneMessage()
    async with app.run_test() as pilot:
        view = app.query_one(MessageView)
        await view.start_stream()
        await view.append("# Title\n\nFirst par")
        assert [shown_text(f) for f in view.query(".frozen").results(Static)] == ["# Title\n\n"]
        assert shown_text(view.query_one(".live", Static)) == "First par"
        await view.append("agraph.\n\n- a\n")
        assert shown_text(view.query_one(".live", Static)) == "- a\n"
        await view.append("- b\n\n```python\nprint(1)\n")
        frozen = [shown_text(f) for f in view.query(".frozen").results(Static)]
        assert frozen == ["# Title\n\n", "First paragraph.\n\n", "- a\n- b\n\n"]
        assert shown_text(view.query_one(".live", Static)) == "```python\nprint(1)\n"
        assert not view.query_one(".body").display

        await view.finish(None)
        await pilot.pause()
        assert not view.query(".frozen, .live")
        body = view.query_one(".body", Static)
        assert body.display
        assert shown_text(body) == view.text
        assert view.text.endswith("print(1)\n")


async def test_the_final_render_uses_the_saved_text() -> None:
    app = OneMessage()
    async with app.run_test():
        view = app.query_one(MessageView)
        await view.start_stream()
        await view.append("partial")
        saved = _record("the saved text")
        await view.finish(saved)
        assert view.text == "the saved text"
        assert shown_text(view.query_one(".body", Static)) == "the saved text"


async def test_a_theme_change_redraws_messages_in_the_new_colours() -> None:
    app = OneMessage()
    async with app.run_test() as pilot:
        view = app.query_one(MessageView)
        body = view.query_one(".body", Static)
        assert isinstance(body.content, MarkdownText)
        dark_look = body.content.look
        app.theme = "textual-light"
        await pilot.pause()
        light_look = body.content.look
        assert light_look is not dark_look
        assert light_look.code_theme != dark_look.code_theme


def test_the_look_follows_the_theme_variables() -> None:
    look = build_look(
        {"background": "#000000", "markdown-h2-color": "#ff0000", "markdown-h2-text-style": "bold"},
        dark=True,
    )
    h2 = look.theme.styles["markdown.h2"]
    assert h2.bold and h2.color is not None and h2.color.triplet == (255, 0, 0)
    assert build_look({}, dark=False).code_theme != look.code_theme


def test_text_measured_then_drawn_at_one_width_is_rendered_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console = Console(width=80, color_system=None)
    source = "# Title\n\n" + "A paragraph long enough to wrap. " * 4
    text = MarkdownText(source, build_look({}, dark=True))
    rendered: list[int] = []
    render = Markdown.__rich_console__

    def counted(markdown: Markdown, console: Console, options: Any) -> Any:
        rendered.append(options.max_width)
        return render(markdown, console, options)

    monkeypatch.setattr(Markdown, "__rich_console__", counted)
    narrow = text.height(console, 30)
    with console.capture() as drawn:
        console.print(text, width=30)
    assert rendered == [30]
    assert text.height(console, 60) < narrow  # another width renders again, and wraps less
    assert rendered == [30, 60]
    assert drawn.get().splitlines()[0].strip() == "Title"
    assert len(drawn.get().rstrip("\n").splitlines()) == narrow


def _record(content: str) -> MessageRecord:
    return MessageRecord(
        id="m1", session_id="s1", parent_id=None, role="assistant", content=content, created=0.0
    )


def test_drains_slow_down_when_drawing_costs_more_than_the_ui_share() -> None:
    assert next_drain_interval(0.0) == DRAIN_INTERVAL_S
    assert next_drain_interval(UI_CPU_SHARE * DRAIN_INTERVAL_S) == DRAIN_INTERVAL_S
    assert next_drain_interval(UI_CPU_SHARE * 0.18) == pytest.approx(0.18)
    assert next_drain_interval(10.0) == MAX_DRAIN_INTERVAL_S
