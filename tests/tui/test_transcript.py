"""The transcript's lazy mounting and its context marker."""

from __future__ import annotations

from textual.app import App, ComposeResult

from chatcli.store.records import MessageRecord
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.transcript import (
    MOUNT_LIMIT,
    REVEAL_BATCH,
    ContextMarker,
    EarlierMessages,
    Shown,
    Transcript,
)

COUNT = MOUNT_LIMIT + 2 * REVEAL_BATCH


class OneTranscript(App[None]):
    """Just a transcript."""

    def compose(self) -> ComposeResult:
        yield Transcript()


def messages(count: int) -> list[Shown]:
    """``count`` saved messages, oldest first."""
    return [
        Shown(MessageRecord(f"m{i}", "s", None, "user", f"message {i}", float(i)), 0, 1)
        for i in range(count)
    ]


def texts_around_marker(app: OneTranscript) -> tuple[str, str]:
    """The messages just above and just below the context marker."""
    children = list(app.query_one(Transcript).children)
    index = next(i for i, child in enumerate(children) if isinstance(child, ContextMarker))
    above, below = children[index - 1], children[index + 1]
    assert isinstance(above, MessageView) and isinstance(below, MessageView)
    return above.text, below.text


async def test_the_context_marker_stays_between_the_same_messages_as_earlier_ones_appear():
    app = OneTranscript()
    async with app.run_test() as pilot:
        transcript = app.query_one(Transcript)
        await transcript.show(messages(COUNT))
        dropped = COUNT - MOUNT_LIMIT // 2  # the marker falls among the mounted messages
        await transcript.mark_context_start(dropped)
        assert texts_around_marker(app) == (f"message {dropped - 1}", f"message {dropped}")
        while app.query(EarlierMessages):
            await transcript.reveal_earlier()
            await pilot.pause()
            assert texts_around_marker(app) == (f"message {dropped - 1}", f"message {dropped}")
        views = list(app.query(MessageView))
        assert [v.text for v in views] == [f"message {i}" for i in range(COUNT)]


async def test_a_marker_for_messages_not_mounted_yet_moves_down_to_them():
    app = OneTranscript()
    async with app.run_test() as pilot:
        transcript = app.query_one(Transcript)
        await transcript.show(messages(COUNT))
        dropped = REVEAL_BATCH // 2  # among the oldest, not mounted yet
        await transcript.mark_context_start(dropped)
        children = list(transcript.children)
        assert isinstance(children[1], ContextMarker)  # at the top of what is mounted
        while app.query(EarlierMessages):
            await transcript.reveal_earlier()
            await pilot.pause()
        assert texts_around_marker(app) == (f"message {dropped - 1}", f"message {dropped}")
