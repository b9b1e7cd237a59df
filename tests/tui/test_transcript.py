"""The transcript's lazy mounting and its context marker."""

from __future__ import annotations

from textual.app import App, ComposeResult

from chatcli.core.sessions import ShownBranch
from chatcli.errors import NotFoundError
from chatcli.store.records import MessageRecord
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.transcript import (
    MOUNT_LIMIT,
    REVEAL_BATCH,
    ContextMarker,
    EarlierMessages,
    LaterMessages,
    Shown,
    Transcript,
)

COUNT = MOUNT_LIMIT + 2 * REVEAL_BATCH


def messages(count: int) -> list[Shown]:
    """``count`` saved messages, oldest first."""
    return [
        Shown(MessageRecord(f"m{i}", "s", None, "user", f"message {i}", float(i)), 0, 1)
        for i in range(count)
    ]


BRANCH = messages(COUNT)


class OneTranscript(App[None]):
    """Just a transcript, reading earlier messages from BRANCH (and counting the reads)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[int] = []
        self.deleted = False  # as if another chatcli deleted the session

    def compose(self) -> ComposeResult:
        yield Transcript(self)

    def messages_above(self, message: MessageRecord, last: int) -> ShownBranch:
        """The up-to-``last`` messages of BRANCH just above ``message``."""
        self.reads.append(last)
        if self.deleted:
            raise NotFoundError("no session 's'")
        at = [shown.record.id for shown in BRANCH].index(message.id)
        return ShownBranch(BRANCH[max(0, at - last) : at], max(0, at - last))

    def messages_below(self, message: MessageRecord, count: int) -> ShownBranch:
        """The up-to-``count`` messages of BRANCH just below ``message``."""
        self.reads.append(count)
        if self.deleted:
            raise NotFoundError("no session 's'")
        at = [shown.record.id for shown in BRANCH].index(message.id) + 1
        return window(at, count)

    def newest_messages(self) -> ShownBranch:
        return newest(MOUNT_LIMIT)


def window(start: int, count: int) -> ShownBranch:
    """``count`` messages of BRANCH from ``start`` on, as after a jump up the branch."""
    shown = BRANCH[start : start + count]
    return ShownBranch(shown, start, len(BRANCH) - start - len(shown))


def newest(count: int) -> ShownBranch:
    """The newest ``count`` messages of BRANCH, as a session opens."""
    return ShownBranch(BRANCH[-count:], len(BRANCH) - count)


def texts_around_marker(app: OneTranscript) -> tuple[str, str]:
    """The messages just above and just below the context marker."""
    children = list(app.query_one(Transcript).children)
    index = next(i for i, child in enumerate(children) if isinstance(child, ContextMarker))
    above, below = children[index - 1], children[index + 1]
    assert isinstance(above, MessageView) and isinstance(below, MessageView)
    return above.text, below.text


async def test_the_context_marker_stays_between_the_same_messages_as_earlier_ones_appear() -> None:
    app = OneTranscript()
    async with app.run_test() as pilot:
        transcript = app.query_one(Transcript)
        await transcript.show(newest(MOUNT_LIMIT))
        dropped = COUNT - MOUNT_LIMIT // 2  # the marker falls among the mounted messages
        await transcript.mark_context_start(dropped)
        assert texts_around_marker(app) == (f"message {dropped - 1}", f"message {dropped}")
        while app.query(EarlierMessages):
            await transcript.reveal_earlier()
            await pilot.pause()
            assert texts_around_marker(app) == (f"message {dropped - 1}", f"message {dropped}")
        views = list(app.query(MessageView))
        assert [v.text for v in views] == [f"message {i}" for i in range(COUNT)]


async def test_a_marker_for_messages_not_mounted_yet_moves_down_to_them() -> None:
    app = OneTranscript()
    async with app.run_test() as pilot:
        transcript = app.query_one(Transcript)
        await transcript.show(newest(MOUNT_LIMIT))
        dropped = REVEAL_BATCH // 2  # among the oldest, not mounted yet
        await transcript.mark_context_start(dropped)
        children = list(transcript.children)
        assert isinstance(children[1], ContextMarker)  # at the top of what is mounted
        while app.query(EarlierMessages):
            await transcript.reveal_earlier()
            await pilot.pause()
        assert texts_around_marker(app) == (f"message {dropped - 1}", f"message {dropped}")


async def test_earlier_messages_are_read_a_batch_at_a_time_as_they_are_revealed() -> None:
    app = OneTranscript()
    async with app.run_test() as pilot:
        transcript = app.query_one(Transcript)
        await transcript.show(newest(MOUNT_LIMIT))
        assert len(app.query(MessageView)) == MOUNT_LIMIT and app.reads == []
        note = app.query_one(EarlierMessages)
        assert f"{COUNT - MOUNT_LIMIT} earlier messages" in str(note.render())
        await transcript.reveal_earlier()
        await pilot.pause()
        assert app.reads == [REVEAL_BATCH]
        assert f"{COUNT - MOUNT_LIMIT - REVEAL_BATCH} earlier messages" in str(note.render())
        await transcript.reveal_earlier()
        await pilot.pause()
        assert not app.query(EarlierMessages)
        await transcript.reveal_earlier()  # nothing left: nothing is read
        assert app.reads == [REVEAL_BATCH, REVEAL_BATCH]
        assert [v.text for v in app.query(MessageView)] == [f"message {i}" for i in range(COUNT)]


async def test_a_branch_longer_than_the_mount_limit_mounts_its_newest_and_reads_the_rest() -> None:
    app = OneTranscript()
    async with app.run_test() as pilot:
        transcript = app.query_one(Transcript)
        await transcript.show(newest(MOUNT_LIMIT + 5))
        assert next(v.text for v in app.query(MessageView)) == f"message {COUNT - MOUNT_LIMIT}"
        while app.query(EarlierMessages):
            await transcript.reveal_earlier()
            await pilot.pause()
        assert [v.text for v in app.query(MessageView)] == [f"message {i}" for i in range(COUNT)]


async def test_earlier_messages_that_cannot_be_read_any_more_are_a_notice_not_a_crash() -> None:
    app = OneTranscript()
    async with app.run_test() as pilot:
        transcript = app.query_one(Transcript)
        await transcript.show(newest(MOUNT_LIMIT))
        app.deleted = True
        await transcript.reveal_earlier()
        await pilot.pause()
        assert not app.query(EarlierMessages)
        assert len(app.query(MessageView)) == MOUNT_LIMIT  # what was shown stays
        assert any("cannot be read" in str(n.message) for n in app._notifications)
        await transcript.reveal_earlier()  # and nothing more is tried
        assert app.reads == [REVEAL_BATCH]


def texts(app: OneTranscript) -> list[str]:
    return [v.text for v in app.query(MessageView)]


async def test_a_window_up_the_branch_mounts_later_messages_a_batch_at_a_time() -> None:
    app = OneTranscript()
    async with app.run_test() as pilot:
        transcript = app.query_one(Transcript)
        await transcript.show(window(3, MOUNT_LIMIT))
        assert not transcript.at_end
        assert texts(app) == [f"message {i}" for i in range(3, 3 + MOUNT_LIMIT)]
        later = COUNT - 3 - MOUNT_LIMIT
        assert f"{later} later messages" in str(app.query_one(LaterMessages).render())
        assert app.query(EarlierMessages)  # and the 3 above it
        await transcript.reveal_later()
        await pilot.pause()
        assert app.reads == [REVEAL_BATCH]
        assert f"{later - REVEAL_BATCH} later messages" in str(
            app.query_one(LaterMessages).render()
        )
        while app.query(LaterMessages):
            await transcript.reveal_later()
            await pilot.pause()
        assert transcript.at_end
        assert texts(app) == [f"message {i}" for i in range(3, COUNT)]


async def test_a_message_added_after_a_jump_goes_below_the_newest_messages() -> None:
    app = OneTranscript()
    async with app.run_test() as pilot:
        transcript = app.query_one(Transcript)
        await transcript.show(window(0, MOUNT_LIMIT))
        await transcript.add(MessageView(None, role="user", text="new question"))
        await pilot.pause()
        assert transcript.at_end and not app.query(LaterMessages)
        expected = [f"message {i}" for i in range(COUNT - MOUNT_LIMIT, COUNT)] + ["new question"]
        assert texts(app) == expected


async def test_later_messages_that_cannot_be_read_any_more_are_a_notice_not_a_crash() -> None:
    app = OneTranscript()
    async with app.run_test() as pilot:
        transcript = app.query_one(Transcript)
        await transcript.show(window(0, MOUNT_LIMIT))
        app.deleted = True
        await transcript.reveal_later()
        await pilot.pause()
        assert not app.query(LaterMessages)
        assert texts(app) == [f"message {i}" for i in range(MOUNT_LIMIT)]  # what was shown stays
        assert any("cannot be read" in str(n.message) for n in app._notifications)
