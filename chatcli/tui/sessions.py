"""Whole sessions in the app: open, new, rename, delete, role, draft, the sidebar's jumps.

The app owns one ``SessionControls`` (beside its ``Branches`` and ``EngineControls``); its
actions and message handlers call into it. Every change goes through the chat core's
sessions API.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from chatcli.core.adapters import session_adapter
from chatcli.core.roles import DEFAULT_ROLE, list_roles
from chatcli.errors import ChatcliError
from chatcli.store.records import SessionRecord
from chatcli.store.search import MARK_END, MARK_START
from chatcli.tui.chat.prompt import PromptInput
from chatcli.tui.chat.system_bar import SystemBar
from chatcli.tui.chat.transcript import MOUNT_LIMIT, Transcript
from chatcli.tui.screens import ConfirmScreen, SystemPromptScreen, TextInputScreen
from chatcli.tui.sidebar import SessionsSidebar, TextMatch

if TYPE_CHECKING:
    from chatcli.tui.app import ChatApp

JUMP_ABOVE = 2
"""Messages shown above a search match when the jump leaves the newest ones (for context)."""


class SessionControls:
    """What the app does to whole sessions rather than single replies."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app

    def ensure_session(self) -> SessionRecord:
        """The open session, created on the first message of a new chat."""
        app = self.app
        if app.session is None:
            session = app.core.new_session()
            if app.settings.context_length != app.configured.context_length:
                # The model is loaded at the size chosen for another chat: this one keeps it,
                # so its settings and a restart agree with what it runs at.
                session = app.core.sessions.change_settings(
                    session, context_length=app.settings.context_length
                )
            app.session = session
            self.refresh_sidebar()
        return app.session

    async def open_session(self, session: SessionRecord | None, keep_draft: bool = True) -> None:
        """Show ``session`` (None = a new, empty chat) with the draft it was left with.

        ``keep_draft``: first save what is typed in the input as the open chat's draft.
        """
        app = self.app
        if keep_draft:
            self.keep_draft()
        if session is not None:
            session = app.core.sessions.get(session.id)  # with its draft as saved now
        app.session = session
        transcript = app.query_one(Transcript)
        app.set_status(tokens_per_s=0.0, prompt_tokens=0, completion_tokens=0)
        if session is None:
            await transcript.clear()
            role = None if app.settings.system_prompt else app.settings.role or DEFAULT_ROLE
            self.show_system(role, app.core.new_session_prompt())
        else:
            await transcript.show(app.branch_to_show(session))
            self.show_system(session.role, session.system_prompt)
        self.count_context(session)
        app.query_one(PromptInput).load_text(session.draft if session else "")
        self.refresh_sidebar()

    def keep_draft(self) -> None:
        """Save the unsent input with the open chat (a new chat is saved to hold it)."""
        app = self.app
        text = app.query_one(PromptInput).text
        if app.session is None and not text.strip():
            return
        session = self.ensure_session()
        try:
            app.session = app.core.sessions.save_draft(session, text)
        except ChatcliError as error:  # e.g. the session was deleted from another window
            app.notify(f"Draft not kept: {error.message}", severity="warning")

    def show_system(
        self, role: str | None, prompt: str, saved: SessionRecord | None = None
    ) -> None:
        """Show the open session, its role and system prompt at the top of the chat.

        ``saved``: the open session as saved now (its title may be newer than ``app.session``).
        """
        session = saved or self.app.session
        label = (session.name or session.title or "Untitled chat") if session else "New chat"
        self.app.query_one(SystemBar).show(label, role, prompt)

    def count_context(self, session: SessionRecord | None) -> None:
        """Fill the context meter with the exact size of what the next send starts from.

        That is everything before the new message (for None, a new chat: the system prompt),
        counted in a thread.
        """
        app = self.app
        core = app.core

        def count() -> None:
            used = core.count_new_context() if session is None else core.count_context(session)
            app.call_from_thread(app.set_status, context_used=used)

        app.run_worker(count, thread=True, exclusive=True, group="count")

    def search_text(self, needle: str) -> dict[str, TextMatch]:
        """Sessions whose messages hold every word of ``needle`` (as word starts), best first."""
        query = " ".join(f'"{word.replace(chr(34), "")}"*' for word in needle.split())
        try:
            hits = self.app.core.sessions.search(query, limit=200)
        except ChatcliError:
            return {}
        found: dict[str, TextMatch] = {}
        for hit in hits:
            snippet = hit.snippet.replace(MARK_START, "").replace(MARK_END, "")
            found.setdefault(hit.message.session_id, TextMatch(hit.message.id, snippet))
        return found

    def refresh_sidebar(self) -> None:
        """Reload the sessions list."""
        app = self.app
        current = app.session.id if app.session else None
        listed = app.core.sessions.recent()
        app.query_one(SessionsSidebar).show_sessions(listed, current)
        saved = next((s for s in listed if s.id == current), None)
        if saved is not None:  # a first message or a rename may have given it a title
            self.show_system(saved.role, saved.system_prompt, saved)

    def toggle_sidebar(self) -> None:
        """Show or hide the sessions sidebar; closing it clears its filter."""
        sidebar = self.app.query_one(SessionsSidebar)
        sidebar.toggle_class("-open")
        if sidebar.has_class("-open"):
            self.refresh_sidebar()
            sidebar.focus_list()
        else:
            sidebar.clear_filter()
            self.app.query_one(PromptInput).focus()

    async def new_chat(self) -> None:
        """Start a new chat (saved when its first message is sent)."""
        await self.open_session(None)
        self.app.query_one(PromptInput).focus()

    async def sidebar_action(self, event: SessionsSidebar.ActionRequested) -> None:
        """Open, rename, delete a session, or start a new chat."""
        app = self.app
        if app.replying and event.action in ("open", "new", "delete"):
            app.notify("Wait for the reply to end (Esc stops it)", severity="warning")
            return
        if event.action == "new":
            await self.new_chat()
        elif event.action == "open" and event.session is not None:
            await self.switch_to(event.session, event.message_id)
        elif event.action == "rename" and event.session is not None:
            self.rename(event.session)
        elif event.action == "delete" and event.session is not None:
            self.delete(event.session)

    async def switch_to(self, session: SessionRecord, message_id: str | None = None) -> None:
        """Open a saved session (at ``message_id``), loading its model first if it uses another."""
        app = self.app
        if session.model != self.app.engines.session_model():
            settings = replace(app.settings, model=session.model, lora=session_adapter(session))
            self.app.engines.switch_engine(settings, then_open=session, then_show=message_id)
            return
        await self.open_session(app.core.sessions.get(session.id))
        if message_id is not None:
            await self.show_message(message_id)

    async def show_message(self, message_id: str) -> None:
        """Scroll to (and focus) a message of the open session, on whichever branch it is."""
        app = self.app
        if app.session is None:
            return
        try:
            sessions = app.core.sessions
            app.session = session = sessions.show_message(app.session, message_id)
            branch = sessions.shown_around(session, message_id, JUMP_ABOVE, MOUNT_LIMIT)
        except ChatcliError as error:  # deleted or changed by another chatcli meanwhile
            app.notify(f"The match cannot be shown: {error.message}", severity="warning")
            return
        transcript = app.query_one(Transcript)
        await transcript.show(branch)
        view = transcript.view_of(message_id)
        if view is not None:
            view.focus()
            view.scroll_visible(animate=False, top=not transcript.at_end)

    def rename(self, session: SessionRecord) -> None:
        """Ask for a new title (in a modal worker)."""
        self.app.run_worker(self._rename(session), exclusive=True, group="modal")

    async def _rename(self, session: SessionRecord) -> None:
        app = self.app
        title = await app.push_screen_wait(TextInputScreen("Rename session", session.title))
        if title:
            renamed = app.core.sessions.rename(session, title)
            if app.session and app.session.id == session.id:
                app.session = renamed
            self.refresh_sidebar()

    def delete(self, session: SessionRecord) -> None:
        """Delete a session after confirmation (in a modal worker)."""
        self.app.run_worker(self._delete(session), exclusive=True, group="modal")

    async def _delete(self, session: SessionRecord) -> None:
        app = self.app
        question = f"Delete '{session.title or session.id}' and all its messages?"
        if not await app.push_screen_wait(ConfirmScreen(question)):
            return
        app.core.sessions.delete(session)
        if app.session and app.session.id == session.id:
            await self.open_session(None, keep_draft=False)  # its draft went with it
        self.refresh_sidebar()
        app.notify("Session deleted")

    def system_prompt(self) -> None:
        """Pick a role or edit the system prompt of this chat (in a modal worker)."""
        self.app.run_worker(self._system_prompt(), exclusive=True, group="modal")

    async def _system_prompt(self) -> None:
        app = self.app
        session = self.ensure_session()
        choice = await app.push_screen_wait(
            SystemPromptScreen(list_roles(), session.role, session.system_prompt)
        )
        if choice is None:
            return
        app.session = app.core.sessions.set_system_prompt(
            session, role=choice.role, prompt=choice.prompt
        )
        self.show_system(choice.role, choice.prompt)
