"""Branches of a conversation: switching between siblings, regenerating, editing, pinning.

The app owns one ``Branches``; its message-action handler and its Ctrl+R / Ctrl+E / Ctrl+Y /
Alt+arrow actions call into it. Every change goes through the chat core and its sessions API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatcli.errors import ChatcliError
from chatcli.store.records import MessageRecord
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.transcript import MOUNT_LIMIT, Transcript

if TYPE_CHECKING:
    from chatcli.tui.app import ChatApp


class Branches:
    """What the app does to the tree of messages of the open session."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app

    async def act(self, event: MessageView.ActionRequested) -> None:
        """Edit, regenerate, pin or switch branches of the message ``event`` names."""
        app = self.app
        record = event.view.record
        if record is None or app.session is None:
            return
        if app.replying and event.action != "pin":
            app.notify("Wait for the reply to end (Esc stops it)", severity="warning")
            return
        if event.action == "branch":
            await self.switch(record, event.step)
        elif event.action == "pin":
            event.view.record = app.core.sessions.pin(record, not record.pinned)
            event.view.refresh_header()
        elif event.action == "edit":
            self.edit(record)
        elif event.action == "regenerate":
            await self.regenerate(record)
        elif event.action == "continue":
            await self.continue_reply(record)

    async def switch(self, record: MessageRecord, step: int) -> None:
        """Show the sibling ``step`` away from ``record`` and the newest branch below it."""
        app = self.app
        assert app.session is not None
        app.session, target = app.core.sessions.switch_branch(app.session, record, step)
        had_focus = isinstance(app.focused, MessageView)
        transcript = app.query_one(Transcript)
        await transcript.show(app.branch_to_show(app.session))
        app.sessions.count_context(app.session)
        shown = transcript.view_of(target.id)
        if had_focus and shown is not None:
            shown.focus()

    async def regenerate(self, record: MessageRecord) -> None:
        """Answer again the user message that ``record`` (a reply or the question) belongs to."""
        app = self.app
        assert app.session is not None
        session = app.session
        user = app.core.sessions.question_of(record)
        # The core moves the branch to the question when the reply starts; show that now.
        await app.query_one(Transcript).show(app.branch_to_show(session, user.id))
        params = app.params()
        if params.temperature == 0:
            app.notify(
                "Sampling is greedy (temperature 0), so the new reply will be the same; "
                "raise the temperature with Ctrl+O for a different one",
                severity="warning",
            )
        await app.replies.start(lambda c: app.core.regenerate(session, user, params, c), None)

    def edit(self, record: MessageRecord) -> None:
        """Edit an earlier user message and send it again as a new branch (in a modal worker)."""
        if record.role != "user":
            self.app.notify("Only your own messages can be edited", severity="warning")
            return
        self.app.run_worker(self._edit(record), exclusive=True, group="modal")

    async def _edit(self, record: MessageRecord) -> None:
        from chatcli.tui.screens import TextInputScreen

        app = self.app
        text = await app.push_screen_wait(
            TextInputScreen("Edit message (Ctrl+S sends)", record.content, multiline=True)
        )
        if not text or app.session is None:
            return
        session = app.session
        transcript = app.query_one(Transcript)
        # The edited text becomes a new branch after the original's parent.
        await transcript.show(app.messages_above(record, MOUNT_LIMIT))
        user_view = await transcript.add(MessageView(None, role="user", text=text))
        await app.replies.start(
            lambda c: app.core.edit(session, record, text, app.params(), c), user_view
        )

    async def continue_reply(self, record: MessageRecord) -> None:
        """Generate more of ``record``, a reply cut at the length limit or stopped."""
        app = self.app
        transcript = app.query_one(Transcript)
        newest = transcript.last_view("assistant")
        cut = record.finish_reason in ("length", "interrupted")
        is_newest = (
            transcript.at_end
            and newest is not None
            and newest.record is not None
            and newest.record.id == record.id
        )
        if record.role != "assistant" or not cut or not is_newest:
            app.notify(
                "Only the newest reply, cut at the length limit or stopped, can be continued",
                severity="warning",
            )
            return
        session, params = app.session, app.params()
        assert session is not None
        await app.replies.start(
            lambda c: app.core.continue_reply(session, record, params, c), None, reply_view=newest
        )

    async def continue_last(self) -> None:
        """Continue the newest reply."""
        view = await self.newest("assistant")
        if view is not None and view.record is not None:
            await self.continue_reply(view.record)

    async def regenerate_last(self) -> None:
        """Regenerate the newest reply."""
        view = await self.newest("assistant")
        if view is not None and view.record is not None:
            await self.regenerate(view.record)

    async def edit_last(self) -> None:
        """Edit your newest message."""
        view = await self.newest("user")
        if view is not None and view.record is not None:
            self.edit(view.record)

    async def switch_last(self, step: int) -> None:
        """Switch the newest reply to its previous or next sibling."""
        view = await self.newest("assistant")
        if view is not None and view.record is not None and view.sibling_count > 1:
            await self.switch(view.record, step)

    async def newest(self, role: str) -> MessageView | None:
        """The view of the branch's newest message of ``role`` (brought back after a jump)."""
        transcript = self.app.query_one(Transcript)
        await transcript.show_end()
        return transcript.last_view(role)

    def copy_newest_reply(self) -> None:
        """Copy the branch's newest reply, staying where a search jump left the transcript."""
        app = self.app
        transcript = app.query_one(Transcript)
        if transcript.at_end:
            view = transcript.last_view("assistant")
            if view is not None:
                view.action_copy()
            return
        try:
            newest = app.newest_messages().messages
        except ChatcliError as error:  # deleted by another chatcli meanwhile
            app.notify(f"Nothing copied: {error.message}", severity="warning")
            return
        reply = next((m.record for m in reversed(newest) if m.record.role == "assistant"), None)
        if reply is not None:
            app.copy_to_clipboard(reply.content)
            app.notify("Copied the message")
