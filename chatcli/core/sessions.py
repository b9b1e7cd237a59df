"""The sessions API: everything a front end does to a saved session, in one place.

``ask``, the TUI, the ``sessions`` commands and the Python API go through :class:`Sessions`
(and :class:`~chatcli.core.chat.ChatCore` for replies); none of them calls the store.
Creating a session needs the model's defaults, so it lives on the chat core.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from chatcli.config import Settings
from chatcli.core.adapters import session_adapter
from chatcli.core.naming import clean_session_name
from chatcli.core.roles import get_role
from chatcli.engine.params import LoraAdapter
from chatcli.errors import NotFoundError, UsageError
from chatcli.store.records import MessageRecord, SessionRecord, SummaryRecord
from chatcli.store.store import Store

if TYPE_CHECKING:
    from chatcli.store.search import SearchHit


@dataclass(frozen=True)
class ShownMessage:
    """A message of the branch being shown, with its place among its siblings ("2/3")."""

    record: MessageRecord
    sibling_index: int
    """Position among the messages that answer the same parent (0-based)."""
    sibling_count: int
    """How many messages answer that parent."""


@dataclass(frozen=True)
class ShownBranch:
    """The newest messages of a branch, oldest first, and how many come before them."""

    messages: list[ShownMessage]
    earlier: int
    """Messages of the branch above the first of ``messages``, not read."""
    later: int = 0
    """Messages of the branch below the last of ``messages``, not read."""


@dataclass(frozen=True)
class SessionSummary:
    """A session and how many messages it holds, for listings."""

    session: SessionRecord
    messages: int

    def to_dict(self) -> dict[str, Any]:
        """The session's JSON shape plus its message count."""
        return self.session.to_dict() | {"messages": self.messages}


class Sessions:
    """Finding, listing, changing and deleting sessions and moving along their branches."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- finding --------------------------------------------------------------------------

    def get(self, session_id: str) -> SessionRecord:
        """The session with this id, as it is saved now (NotFoundError if it is gone)."""
        return self.store.get_session(session_id)

    def find(self, name_or_id: str) -> SessionRecord | None:
        """The session with this name, id or unique id prefix; None if there is none."""
        return self.store.find_session(clean_session_name(name_or_id))

    def require(self, name_or_id: str) -> SessionRecord:
        """Like :meth:`find`, but a missing session is a NotFoundError."""
        session = self.find(name_or_id)
        if session is None:
            raise NotFoundError(f"no session '{name_or_id}'")
        return session

    def latest(self) -> SessionRecord | None:
        """The most recently updated session, if any."""
        return self.store.latest_session()

    def requested(self, *, continue_latest: bool, name: str | None) -> SessionRecord | None:
        """The session asked for by ``--continue`` or ``--session NAME``, if it exists.

        ``--continue`` with no saved session is a NotFoundError; a name not in use is None
        (the caller creates the session under that name).
        """
        if continue_latest and name is not None:
            raise UsageError(
                "use either --continue (the latest session) or --session NAME, not both"
            )
        if continue_latest:
            session = self.latest()
            if session is None:
                raise NotFoundError("there is no saved session to continue")
            return session
        return self.find(name) if name is not None else None

    def recent(self, *, search: str | None = None, limit: int | None = None) -> list[SessionRecord]:
        """Sessions, most recently updated first."""
        return self.store.list_sessions(search=search, limit=limit)

    def summaries(
        self, *, search: str | None = None, limit: int | None = None
    ) -> list[SessionSummary]:
        """Sessions with their message counts, most recently updated first."""
        return [
            SessionSummary(session, self.store.message_count(session.id))
            for session in self.recent(search=search, limit=limit)
        ]

    def message_count(self, session: SessionRecord) -> int:
        """How many messages the session holds, on all branches."""
        return self.store.message_count(session.id)

    # -- changing -------------------------------------------------------------------------

    def rename(self, session: SessionRecord, title: str) -> SessionRecord:
        """Give the session a new display title."""
        return self.store.update_session(session.id, title=title)

    def delete(self, session: SessionRecord) -> None:
        """Delete the session and all its messages."""
        self.store.delete_session(session.id)

    def discard_if_empty(self, session: SessionRecord) -> bool:
        """Delete ``session`` if it holds no message and no draft; return whether it did.

        That is what a failed first send or a chat opened and never used leaves behind.
        """
        if self.store.message_count(session.id) or self.store.get_session(session.id).draft:
            return False
        self.store.delete_session(session.id)
        return True

    def save_draft(self, session: SessionRecord, draft: str) -> SessionRecord:
        """Keep what was typed and not sent with the session (restored when it is reopened)."""
        if self.store.get_session(session.id).draft == draft:
            return session
        return self.store.set_draft(session.id, draft)

    def set_system_prompt(
        self, session: SessionRecord, *, role: str | None, prompt: str | None = None
    ) -> SessionRecord:
        """Set the session's role (None: a custom prompt) and system prompt.

        ``prompt`` None means the role's own prompt.
        """
        text = prompt if prompt is not None else get_role(role or "").prompt
        return self.store.update_session(session.id, role=role, system_prompt=text)

    def change_settings(
        self,
        session: SessionRecord,
        *,
        model: str | None = None,
        context_length: int | None = None,
        sampling: dict[str, Any] | None = None,
        overflow: str | None = None,
        clear_context_length: bool = False,
        lora: LoraAdapter | None = None,
        clear_lora: bool = False,
    ) -> SessionRecord:
        """Change the session's model, context size, sampling, overflow policy or LoRA adapter.

        Arguments left as None keep their value; ``clear_context_length`` goes back to the
        configured context size, ``clear_lora`` takes the adapter off.
        """
        changes: dict[str, Any] = {
            key: value
            for key, value in (
                ("model", model),
                ("context_length", context_length),
                ("sampling", sampling),
                ("overflow", overflow),
            )
            if value is not None
        }
        if clear_context_length:
            changes["context_length"] = None
        if lora is not None:
            changes.update(lora=lora.path, lora_scale=lora.scale)
        elif clear_lora:
            changes.update(lora=None, lora_scale=1.0)
        return self.store.update_session(session.id, **changes) if changes else session

    def recover_interrupted(self) -> int:
        """Mark replies left "streaming" by a crash as interrupted; return how many."""
        return self.store.mark_streaming_interrupted()

    # -- branches -------------------------------------------------------------------------

    def history(self, session: SessionRecord) -> list[MessageRecord]:
        """The messages of the branch being shown, oldest first."""
        return self.store.tree.branch(session.id)

    def branch_to(self, session: SessionRecord, leaf_id: str) -> list[MessageRecord]:
        """The messages from the first down to ``leaf_id``, without showing that branch."""
        return self.store.tree.branch(session.id, leaf_id)

    def shown(self, session: SessionRecord) -> list[ShownMessage]:
        """The branch being shown, each message with its place among its siblings."""
        return [ShownMessage(*placed) for placed in self.store.tree.branch_with_places(session.id)]

    def shown_tail(
        self, session: SessionRecord, last: int, leaf_id: str | None = None
    ) -> ShownBranch:
        """The last ``last`` messages down to ``leaf_id`` and how many come before them.

        ``leaf_id`` defaults to the branch being shown; each message comes with its place.
        """
        placed, earlier = self.store.tree.branch_tail(session.id, last, leaf_id)
        return ShownBranch([ShownMessage(*item) for item in placed], earlier)

    def shown_before(self, message: MessageRecord, last: int) -> ShownBranch:
        """The up-to-``last`` messages just above ``message`` on its branch."""
        if message.parent_id is None:
            return ShownBranch([], 0)
        placed, earlier = self.store.tree.branch_tail(message.session_id, last, message.parent_id)
        return ShownBranch([ShownMessage(*item) for item in placed], earlier)

    def shown_around(
        self, session: SessionRecord, message_id: str, above: int, count: int
    ) -> ShownBranch:
        """``count`` messages of the branch shown that show ``message_id``.

        The newest ``count`` when it is among them (as the session opens), else a window
        from ``above`` messages above it.
        """
        placed, earlier, later = self.store.tree.branch_around(
            session.id, message_id, above, count, session.current_leaf
        )
        return ShownBranch([ShownMessage(*item) for item in placed], earlier, later)

    def shown_after(
        self, session: SessionRecord, message: MessageRecord, count: int
    ) -> ShownBranch:
        """The up-to-``count`` messages just below ``message`` on the branch shown."""
        placed, earlier, later = self.store.tree.branch_window(
            session.id, message.id, 1, count, session.current_leaf
        )
        return ShownBranch([ShownMessage(*item) for item in placed], earlier, later)

    def position(self, message: MessageRecord) -> tuple[int, int]:
        """Where ``message`` stands among its siblings: (index, count)."""
        siblings = self.store.tree.children(message.session_id, message.parent_id)
        ids = [sibling.id for sibling in siblings]
        return (ids.index(message.id), len(ids)) if message.id in ids else (0, 1)

    def switch_branch(
        self, session: SessionRecord, message: MessageRecord, step: int
    ) -> tuple[SessionRecord, MessageRecord]:
        """Show the sibling ``step`` away from ``message`` and the newest branch below it.

        Returns the session as saved and the sibling now shown.
        """
        siblings = self.store.tree.children(session.id, message.parent_id)
        index = next(i for i, s in enumerate(siblings) if s.id == message.id)
        target = siblings[(index + step) % len(siblings)]
        leaf = self.store.tree.latest_leaf(session.id, target.id)
        return self.store.update_session(session.id, current_leaf=leaf), target

    def rewind(self, session: SessionRecord, message_id: str | None) -> SessionRecord:
        """Show the branch only up to ``message_id`` (None: before the first message).

        Used before an edit (up to the edited message's parent) or a regenerate (up to the
        question), so the screen shows what the new reply will follow.
        """
        return self.store.update_session(session.id, current_leaf=message_id)

    def show_message(self, session: SessionRecord, message_id: str) -> SessionRecord:
        """Show the branch through ``message_id`` (its newest continuation below it)."""
        leaf = self.store.tree.latest_leaf(session.id, message_id)
        return self.rewind(session, leaf)

    def question_of(self, message: MessageRecord) -> MessageRecord:
        """The user message a reply answers (a user message is its own question)."""
        if message.role == "user":
            return message
        return self.store.get_message(message.parent_id or "")

    def pin(self, message: MessageRecord, pinned: bool) -> MessageRecord:
        """Pin (never drop from the context) or unpin a message; return it as saved."""
        self.store.set_pinned(message.id, pinned)
        return self.store.get_message(message.id)

    def leaves(self, session: SessionRecord) -> list[MessageRecord]:
        """The tips of every branch of the session, oldest first."""
        messages = self.store.bulk.messages_of(session.id)
        parents = {m.parent_id for m in messages}
        return sorted((m for m in messages if m.id not in parents), key=lambda m: m.created)

    def shown_tree(self, session: SessionRecord) -> list[tuple[int, ShownMessage]]:
        """Every message of every branch, parents first, with its sibling place and depth.

        The depth grows only where a conversation forks: a linear chat is all at depth 0.
        """
        messages = self.store.bulk.messages_of(session.id)
        positions = self.store.tree.sibling_positions(session.id)
        depth: dict[str | None, int] = {None: 0}
        tree = []
        for message in messages:
            place = positions.get(message.id, (0, 1))
            depth[message.id] = depth.get(message.parent_id, 0) + (place[1] > 1)
            tree.append((depth[message.id], ShownMessage(message, *place)))
        return tree

    def leaf(self, session: SessionRecord, number: int) -> MessageRecord:
        """The tip of branch ``number`` (1 = the oldest, as ``sessions branches`` lists them)."""
        leaves = self.leaves(session)
        if not 1 <= number <= len(leaves):
            raise UsageError(f"the session has {len(leaves)} branches; choose 1 to {len(leaves)}")
        return leaves[number - 1]

    def choose_branch(self, session: SessionRecord, number: int) -> SessionRecord:
        """Show branch ``number`` from now on."""
        return self.rewind(session, self.leaf(session, number).id)

    def usage_by_model(self) -> dict[str, object]:
        """Sessions and messages in all; replies and tokens in and out per model."""
        return self.store.bulk.usage_by_model()

    def search(
        self,
        query: str,
        *,
        role: str | None = None,
        session: SessionRecord | None = None,
        limit: int = 20,
    ) -> list[SearchHit]:
        """Messages whose text matches ``query`` (FTS5 syntax), best match first."""
        return self.store.search.find(
            query, role=role, session_id=session.id if session else None, limit=limit
        )

    def latest_summary(self, session: SessionRecord) -> SummaryRecord | None:
        """The summary sent in place of the earliest messages of the shown branch, if any."""
        branch = [message.id for message in self.history(session)]
        return self.store.summaries.latest_on_branch(session.id, branch)


def settings_for_session(
    settings: Settings,
    session: SessionRecord | None,
    *,
    model_given: bool = False,
    context_given: bool = False,
    lora_given: bool = False,
    lora_scale: float | None = None,
) -> Settings:
    """A continued session keeps its model, context size and adapter unless given anew.

    The adapter belongs to the session's model: run on another model, the session uses only
    an adapter given anew. ``lora_scale`` without an adapter given changes the scale of the
    session's own (UsageError when there is none).
    """
    if session is None:
        return settings if lora_given else _rescaled(settings, lora_scale)
    if not model_given:
        settings = replace(settings, model=session.model)
    if not context_given and session.context_length:
        settings = replace(settings, context_length=session.context_length)
    if not lora_given:
        own_model = settings.model == session.model
        settings = replace(settings, lora=session_adapter(session) if own_model else None)
    return _rescaled(settings, None if lora_given else lora_scale)


def _rescaled(settings: Settings, scale: float | None) -> Settings:
    """``settings`` with its adapter at ``scale`` (None: as it is)."""
    if scale is None:
        return settings
    if settings.lora is None:
        raise UsageError("a LoRA scale needs an adapter (--lora PATH, or a session that has one)")
    return replace(settings, lora=replace(settings.lora, scale=scale))
