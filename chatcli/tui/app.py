"""The chat app: built by ``build_app`` from an injected chat core, settings and engine factory.

The app never talks to the model or the database except through the chat core and the store
objects it holds; the model runs in a thread worker (see replies.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen

from chatcli.config import Settings, save_setting
from chatcli.core.chat import ChatCore, sampling_from
from chatcli.core.sessions import ShownBranch
from chatcli.engine.params import SamplingParams
from chatcli.errors import ConfigError
from chatcli.store.records import MessageRecord, SessionRecord
from chatcli.tui.attaching import Attaching, transcript_items
from chatcli.tui.branches import Branches
from chatcli.tui.chat.message import MessageView
from chatcli.tui.chat.prompt import PromptInput
from chatcli.tui.chat.transcript import MOUNT_LIMIT, Transcript
from chatcli.tui.chat_screen import ChatScreen
from chatcli.tui.engine_controls import EngineControls, EngineFactory, EngineLoaded
from chatcli.tui.replies import Replies
from chatcli.tui.replying import ReplyEnded, ReplyStream
from chatcli.tui.sessions import SessionControls
from chatcli.tui.sidebar import SessionsSidebar
from chatcli.tui.signals import default_signals, quit_on_signals
from chatcli.tui.status import StatusBar


class ChatApp(App[int]):
    """A chat with a local model, its saved sessions, branches and settings."""

    TITLE = "chatcli"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("escape,ctrl+c", "stop_reply", "Stop reply", priority=True),
        Binding("ctrl+b", "toggle_sidebar", "Sessions"),
        Binding("ctrl+n", "new_chat", "New chat"),
        Binding("ctrl+r", "regenerate", "Regenerate"),
        Binding("ctrl+e", "edit_last", "Edit last"),
        Binding("ctrl+g", "continue_reply", "Continue reply", show=False),
        Binding("ctrl+o", "settings", "Settings"),
        Binding("ctrl+t", "system_prompt", "Role"),
        Binding("ctrl+f", "attach", "Attach"),
        Binding("ctrl+y", "copy_last", "Copy reply", show=False),
        Binding("alt+left", "branch(-1)", "Prev branch", show=False),
        Binding("alt+right", "branch(1)", "Next branch", show=False),
        Binding("f2", "rename", "Rename", show=False),
    ]

    def __init__(self, core: ChatCore, settings: Settings, engine_factory: EngineFactory) -> None:
        super().__init__()
        self.core = core
        self.settings = settings
        self.configured = settings
        """The settings the app started with: what "default" means in the settings screen."""
        self.engine_factory = engine_factory
        self.session: SessionRecord | None = None
        self.replies = Replies(self)
        self.branches = Branches(self)
        self.sessions = SessionControls(self)
        self.engines = EngineControls(self)
        self.attaching = Attaching(self)
        self._theme_ready = False

    def get_default_screen(self) -> Screen[Any]:
        """The chat screen, with its widgets; dialogs are pushed over it."""
        return ChatScreen(self.sessions.search_text, self._chat_ready, self)

    def on_mount(self) -> None:
        """Apply the remembered theme."""
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self._theme_ready = True
        quit_on_signals(self)

    async def _chat_ready(self) -> None:
        """The chat screen is up: describe the model, open the first session."""
        self.engines.show_engine()
        await self.sessions.open_session(self.session, keep_draft=False)
        self.query_one(PromptInput).focus()

    def on_unmount(self) -> None:
        """Give the GIL switch interval and the quitting signals back."""
        self.replies.restore_switch_interval()
        default_signals()

    def watch_theme(self, theme: str) -> None:
        """Remember the theme the user picked (from the command palette) in the config file."""
        if not self._theme_ready or theme == self.settings.theme:
            return
        self.settings = replace(self.settings, theme=theme)
        try:
            save_setting("theme", theme)
        except (ConfigError, OSError) as error:
            self.notify(f"Theme not saved: {error}", severity="warning")

    @property
    def reply(self) -> ReplyStream | None:
        """The reply streaming now, if any."""
        return self.replies.stream

    @property
    def replying(self) -> bool:
        """Whether a reply is streaming now."""
        return self.reply is not None

    def params(self) -> SamplingParams:
        """Sampling for the next reply: the session's, over the model's defaults."""
        saved = self.session.sampling if self.session else None
        return sampling_from(saved, self.core.default_sampling())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stop only while replying; start nothing new until the reply has ended.

        Esc in a dialog closes the dialog, even while a reply streams.
        """
        if action == "stop_reply":
            return self.replying and not isinstance(self.screen, ModalScreen)
        if action in (
            "regenerate",
            "edit_last",
            "settings",
            "new_chat",
            "branch",
            "continue_reply",
        ):
            return not self.replying
        return True

    # -- the conversation ---------------------------------------------------------------

    def branch_to_show(self, session: SessionRecord, leaf_id: str | None = None) -> ShownBranch:
        """The newest messages of the branch down to ``leaf_id`` (default: the one shown)."""
        return self.core.sessions.shown_tail(session, MOUNT_LIMIT, leaf_id)

    def messages_above(self, message: MessageRecord, last: int) -> ShownBranch:
        """The up-to-``last`` messages just above ``message`` on its branch."""
        return self.core.sessions.shown_before(message, last)

    def messages_below(self, message: MessageRecord, count: int) -> ShownBranch:
        """The up-to-``count`` messages just below ``message`` on the branch shown."""
        assert self.session is not None
        return self.core.sessions.shown_after(self.session, message, count)

    def newest_messages(self) -> ShownBranch:
        """The newest messages of the branch shown (none in a new chat)."""
        return ShownBranch([], 0) if self.session is None else self.branch_to_show(self.session)

    async def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        """Send the typed message."""
        if self.replying:
            self.query_one(PromptInput).restore(event.text)
            self.notify("A reply is still streaming (Esc stops it)", severity="warning")
            return
        new_chat = self.session is None
        session = self.sessions.ensure_session()
        if session.draft:  # the draft is being sent now
            self.session = session = self.core.sessions.save_draft(session, "")
        attachments = await self.attaching.take()
        user_view = await self.query_one(Transcript).add(
            MessageView(
                None, role="user", text=event.text, attachments=transcript_items(attachments)
            )
        )
        await self.replies.start(
            lambda cancel: self.core.reply(
                session, event.text, self.params(), cancel, attachments=attachments
            ),
            user_view,
            failed_text=event.text,
            created_session=session.id if new_chat else None,
        )

    def set_status(self, **changes: object) -> None:
        """Change fields of the status bar (UI thread; workers go through call_from_thread)."""
        self.query_one(StatusBar).update_status(**changes)

    async def on_reply_ended(self, event: ReplyEnded) -> None:
        """Finish the reply on screen and show what it cost."""
        await self.replies.finish(event)

    def action_stop_reply(self) -> None:
        """Stop the reply at the next token; its text so far is kept."""
        self.replies.stop()

    async def action_quit(self, code: int = 0) -> None:
        """Quit; a reply in progress is stopped and saved first, and so is the draft."""
        self.sessions.keep_draft()
        if self.replies.stop():
            # Only the reply's worker: a dialog's would wait for an answer that never comes
            # (and an empty list would mean every worker to ``wait_for_complete``).
            replies = [w for w in self.workers if w.group == "reply"]
            if replies:
                await self.workers.wait_for_complete(replies)
        self.exit(code, return_code=code)

    def action_copy_last(self) -> None:
        """Copy the newest reply (after a search jump too, without leaving the match)."""
        self.branches.copy_newest_reply()

    # -- whole sessions and the model (see sessions.py, engine_controls.py) ----------------

    def action_toggle_sidebar(self) -> None:
        """Show or hide the sessions sidebar."""
        self.sessions.toggle_sidebar()

    async def action_new_chat(self) -> None:
        """Start a new chat (saved when its first message is sent)."""
        await self.sessions.new_chat()

    def action_rename(self) -> None:
        """Rename the open session."""
        if self.session is not None:
            self.sessions.rename(self.session)

    def action_system_prompt(self) -> None:
        """Pick a role or edit the system prompt of this chat."""
        self.sessions.system_prompt()

    def action_attach(self) -> None:
        """Attach a file, folder or glob to the message being written."""
        self.attaching.ask_for_path()

    def on_attachment_chips_changed(self) -> None:
        """The context meter counts the attached files before the message is sent."""
        self.set_status(context_attached=self.attaching.chips.tokens)

    def action_settings(self) -> None:
        """Edit this session's model, context size and sampling."""
        self.engines.settings()

    async def on_sessions_sidebar_action_requested(
        self, event: SessionsSidebar.ActionRequested
    ) -> None:
        """Open, rename, delete a session, or start a new chat."""
        await self.sessions.sidebar_action(event)

    async def on_engine_loaded(self, event: EngineLoaded) -> None:
        """Swap a newly loaded model in and reopen the session."""
        await self.engines.engine_loaded(event)

    # -- branches and focus ---------------------------------------------------------------

    async def on_message_view_action_requested(self, event: MessageView.ActionRequested) -> None:
        """Edit, regenerate, pin or switch branches of a message."""
        await self.branches.act(event)

    async def action_regenerate(self) -> None:
        """Regenerate the newest reply."""
        await self.branches.regenerate_last()

    async def action_edit_last(self) -> None:
        """Edit your newest message."""
        await self.branches.edit_last()

    async def action_continue_reply(self) -> None:
        """Generate more of the newest reply (cut at the length limit or stopped)."""
        await self.branches.continue_last()

    async def action_branch(self, step: int) -> None:
        """Switch the newest reply to its previous or next sibling."""
        await self.branches.switch_last(step)

    def action_focus_prompt(self) -> None:
        """Move the focus back to the input."""
        self.query_one(PromptInput).focus()

    def action_focus_newest(self) -> None:
        """Focus the newest message (Tab from the input), or the next widget if there is none."""
        views = self.query_one(Transcript).query(MessageView)
        if views:
            views.last().focus()
        else:
            self.screen.focus_next()

    def on_message_view_typed(self, event: MessageView.Typed) -> None:
        """Text typed while a message had the focus belongs in the input."""
        prompt = self.query_one(PromptInput)
        prompt.focus()
        prompt.insert(event.text)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every action in the command palette (Ctrl+P)."""
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in ("quit",):
                yield SystemCommand(
                    binding.description,
                    f"{binding.description} ({binding.key})",
                    lambda action=binding.action: self.run_action(action),
                )


def build_app(
    core: ChatCore,
    settings: Settings,
    engine_factory: EngineFactory,
    session: SessionRecord | None = None,
) -> ChatApp:
    """The app, given everything it talks to (the CLI and the tests both call this)."""
    app = ChatApp(core, settings, engine_factory)
    app.session = session
    return app
