"""Branches of a conversation: switching between siblings, regenerating, editing, pinning.

The app owns one ``Branches``; its message-action handler and its Ctrl+R / Ctrl+E / Alt+arrow
actions call into it. Every change goes through the chat core and its store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatcli.store.records import MessageRecord
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.transcript import Transcript

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
            app.core.store.set_pinned(record.id, not record.pinned)
            event.view.record = app.core.store.get_message(record.id)
            event.view.refresh_header()
        elif event.action == "edit":
            self.edit(record)
        elif event.action == "regenerate":
            await self.regenerate(record)

    async def switch(self, record: MessageRecord, step: int) -> None:
        """Show the sibling ``step`` away from ``record`` and the newest branch below it."""
        app = self.app
        assert app.session is not None
        store = app.core.store
        siblings = store.children(app.session.id, record.parent_id)
        index = next(i for i, s in enumerate(siblings) if s.id == record.id)
        target = siblings[(index + step) % len(siblings)]
        leaf = store.latest_leaf(app.session.id, target.id)
        app.session = store.update_session(app.session.id, current_leaf=leaf)
        had_focus = isinstance(app.focused, MessageView)
        transcript = app.query_one(Transcript)
        await transcript.show(app.history_items(app.session))
        shown = transcript.view_of(target.id)
        if had_focus and shown is not None:
            shown.focus()

    async def regenerate(self, record: MessageRecord) -> None:
        """Answer again the user message that ``record`` (a reply or the question) belongs to."""
        app = self.app
        assert app.session is not None
        store = app.core.store
        user = record if record.role == "user" else store.get_message(record.parent_id or "")
        session = store.update_session(app.session.id, current_leaf=user.id)
        app.session = session
        await app.query_one(Transcript).show(app.history_items(session))
        params = app.params()
        if params.temperature == 0:
            app.notify(
                "Sampling is greedy (temperature 0), so the new reply will be the same; "
                "raise the temperature with Ctrl+O for a different one",
                severity="warning",
            )
        await app.start_reply(lambda c: app.core.regenerate(session, user, params, c), None)

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
        session = app.core.store.update_session(app.session.id, current_leaf=record.parent_id)
        app.session = session
        transcript = app.query_one(Transcript)
        await transcript.show(app.history_items(session))
        user_view = await transcript.add(MessageView(None, role="user", text=text))
        await app.start_reply(
            lambda c: app.core.edit(session, record, text, app.params(), c), user_view
        )

    async def regenerate_last(self) -> None:
        """Regenerate the newest reply."""
        view = self.app.query_one(Transcript).last_view("assistant")
        if view is not None and view.record is not None:
            await self.regenerate(view.record)

    def edit_last(self) -> None:
        """Edit your newest message."""
        view = self.app.query_one(Transcript).last_view("user")
        if view is not None and view.record is not None:
            self.edit(view.record)

    async def switch_last(self, step: int) -> None:
        """Switch the newest reply to its previous or next sibling."""
        view = self.app.query_one(Transcript).last_view("assistant")
        if view is not None and view.record is not None and view.sibling_count > 1:
            await self.switch(view.record, step)
