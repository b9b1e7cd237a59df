"""The chat core: one path from a user's message to a saved, streamed reply.

Both ``chatcli ask`` and the TUI call ``ChatCore.reply``. It builds the prompt within the
context budget, streams the reply from the engine, and persists as it goes: the user message
is saved before generation starts, the reply is saved while it streams (so a crash or Ctrl+C
keeps the partial text, marked interrupted) and finalised with usage and timing.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Sequence
from dataclasses import replace
from typing import Any

from chatcli.config import Settings, default_sampling
from chatcli.core.adapters import adapter_for, apply_adapter
from chatcli.core.attachments import (
    Attachment,
    attachment_refs,
    attachments_from_refs,
    digests_of,
    largest_attachments,
)
from chatcli.core.events import ChatEvent, ContextTrimmed, MessageSaved, ReplyFinished
from chatcli.core.naming import clean_session_name
from chatcli.core.planning import Plan, Planner
from chatcli.core.replies import ReplyWriter, check_continuable
from chatcli.core.roles import DEFAULT_ROLE, get_role
from chatcli.core.sessions import Sessions
from chatcli.engine.base import (
    ChatMessage,
    Engine,
    EngineInfo,
    PrefillProgress,
    ReplyDone,
    TextDelta,
)
from chatcli.engine.params import LoraAdapter, SamplingParams
from chatcli.errors import ChatcliError, ContextOverflowError, UsageError
from chatcli.store.records import MessageRecord, SessionRecord
from chatcli.store.store import Store


def compose_user_text(material: str | None, instruction: str | None) -> str:
    """One user message from piped-in material and an instruction (material first)."""
    parts = [part.strip("\n") for part in (material, instruction) if part and part.strip()]
    return "\n\n".join(parts)


def sampling_from(saved: dict[str, Any] | None, defaults: SamplingParams) -> SamplingParams:
    """Sampling parameters saved with a session, on top of ``defaults``."""
    if not saved:
        return defaults
    known = {k: v for k, v in saved.items() if k in defaults.as_dict()}
    if "stop" in known:
        known["stop"] = tuple(known["stop"] or ())
    return replace(defaults, **known)


class ChatCore:
    """Sessions and replies over one engine and one store."""

    def __init__(
        self, engine: Engine, store: Store, settings: Settings, *, sessions: Sessions | None = None
    ) -> None:
        self.engine = engine
        self.store = store
        """The core's own store; front ends go through :attr:`sessions` instead."""
        self.settings = settings
        self.sessions = sessions if sessions is not None else Sessions(store)
        """Everything a front end does to a saved session."""

    def with_engine(self, engine: Engine, settings: Settings) -> ChatCore:
        """A core over the same sessions with another engine (a model switch)."""
        return ChatCore(engine, self.store, settings, sessions=self.sessions)

    @property
    def info(self) -> EngineInfo:
        """The loaded model's description."""
        return self.engine.load()

    def default_sampling(self) -> SamplingParams:
        """Sampling for new sessions: defaults < the model's advice < configured values."""
        return default_sampling(self.settings, self.info.recommended_sampling)

    def new_session(
        self,
        *,
        name: str | None = None,
        role: str | None = None,
        system_prompt: str | None = None,
        sampling: SamplingParams | None = None,
    ) -> SessionRecord:
        """Create a session; the system prompt comes from ``system_prompt`` or the role."""
        name = clean_session_name(name) if name is not None else None
        role_name = role or self.settings.role or DEFAULT_ROLE
        prompt = system_prompt if system_prompt is not None else self.new_session_prompt(role)
        params = sampling or self.default_sampling()
        lora = self.settings.lora
        return self.store.create_session(
            model=self.model_spec(),
            system_prompt=prompt,
            role=role_name,
            sampling=params.as_dict(),
            name=name,
            lora=lora.path if lora else None,
            lora_scale=lora.scale if lora else 1.0,
        )

    def model_spec(self) -> str:
        """The model this core runs, as sessions record it (catalog name, path or endpoint)."""
        return self.settings.model or self.info.model_name

    def keep_adapter(self, session: SessionRecord) -> SessionRecord:
        """Save this core's adapter as ``session``'s own (if the session runs on this model)."""
        if session.model != self.model_spec():
            return session
        adapter = self.settings.lora
        return self.sessions.change_settings(session, lora=adapter, clear_lora=adapter is None)

    def adapter_of(self, session: SessionRecord) -> LoraAdapter | None:
        """The LoRA adapter ``session``'s replies use here (as it is saved now)."""
        saved = self.store.get_session(session.id)
        return adapter_for(saved, self.model_spec(), self.settings.lora)

    def use_adapter_of(self, session: SessionRecord) -> None:
        """Put ``session``'s LoRA adapter on the engine (ModelError if it is unusable)."""
        apply_adapter(self.engine, self.info, self.adapter_of(session))

    def new_session_prompt(self, role: str | None = None) -> str:
        """The system prompt a new session gets: the configured one, else the role's."""
        if self.settings.system_prompt is not None:
            return self.settings.system_prompt
        return get_role(role or self.settings.role or DEFAULT_ROLE).prompt

    def count_context(self, session: SessionRecord) -> int:
        """Tokens of what the next prompt holds before the new message (see Planner)."""
        return self._planner().count_before_next(session)

    def count_new_context(self) -> int:
        """Exact tokens a new chat's prompt holds before its first message (the system prompt)."""
        prompt = self.new_session_prompt()
        return self.engine.count_tokens([ChatMessage("system", prompt)] if prompt else [])

    def _planner(self) -> Planner:
        return Planner(self.engine, self.store, self.settings, self.info.context_length)

    def plan(
        self,
        session: SessionRecord,
        user_text: str,
        params: SamplingParams,
        *,
        parent_id: str | None,
        may_summarize: bool = False,
        attachments: Sequence[Attachment] = (),
    ) -> Plan:
        """Decide what to send for ``user_text`` after ``parent_id`` (raises if it can't fit).

        When it cannot fit and files are attached, the error names the largest of them.
        """
        attached = sum(a.tokens or 0 for a in attachments)
        if attached >= self.info.context_length:  # no need to count the rest of the prompt
            raise ContextOverflowError(
                f"the attachments take {attached:,} tokens, more than the whole context "
                f"({self.info.context_length:,}); {largest_attachments(attachments)}"
            )
        try:
            return self._planner().plan(
                session,
                user_text,
                params,
                parent_id=parent_id,
                may_summarize=may_summarize,
                attachments=attachments,
            )
        except ContextOverflowError as error:
            if not attachments:
                raise
            raise ContextOverflowError(f"{error}; {largest_attachments(attachments)}") from None

    def count_attachments(self, attachments: Sequence[Attachment]) -> list[Attachment]:
        """The attachments with the tokens each adds to a message, counted by the model."""
        empty = self.engine.count_tokens([ChatMessage("user", "")])
        return [
            replace(a, tokens=self.engine.count_tokens([ChatMessage("user", a.framed())]) - empty)
            for a in attachments
        ]

    def attachments_of(self, message: MessageRecord) -> list[Attachment]:
        """The files a saved message carries, with their kept texts."""
        if not message.attachments:
            return []
        texts = self.store.attachments.texts(digests_of([message]))
        return attachments_from_refs(message.attachments, texts)

    def reply(
        self,
        session: SessionRecord,
        user_text: str,
        params: SamplingParams,
        cancel: threading.Event | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> Generator[ChatEvent]:
        """Send ``user_text`` in ``session`` and stream the saved reply.

        The files in ``attachments`` go before the text, and are saved with the message.
        """
        parent = self.store.get_session(session.id).current_leaf
        yield from self._send(session, user_text, parent, params, cancel, attachments)

    def edit(
        self,
        session: SessionRecord,
        original: MessageRecord,
        new_text: str,
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Generator[ChatEvent]:
        """Send ``new_text`` in place of the earlier user message ``original``, as a new branch.

        The files ``original`` carried go with the new text.
        """
        attached = self.attachments_of(original)
        yield from self._send(session, new_text, original.parent_id, params, cancel, attached)

    def _send(
        self,
        session: SessionRecord,
        text: str,
        parent_id: str | None,
        params: SamplingParams,
        cancel: threading.Event | None,
        attachments: Sequence[Attachment] = (),
    ) -> Generator[ChatEvent]:
        """Save ``text`` as a user message after ``parent_id`` (once it fits) and answer it."""
        self.use_adapter_of(session)
        if any(a.tokens is None for a in attachments):
            attachments = self.count_attachments(attachments)
        plan = self.plan(
            session, text, params, parent_id=parent_id, may_summarize=True, attachments=attachments
        )
        user = self.store.add_message(
            session.id,
            parent_id=parent_id,
            role="user",
            content=text,
            attachments=attachment_refs(attachments),
            attachment_texts={a.sha256: a.text for a in attachments},
        )
        self._remember_window(session, plan, user)
        yield MessageSaved(user)
        yield from self._generate(session, user, plan, params, cancel)

    def _remember_window(self, session: SessionRecord, plan: Plan, user: MessageRecord) -> None:
        """Persist where the sent part of the branch now starts, if the plan moved it."""
        if plan.window_moved:
            start = plan.window_start_id or user.id
            self.store.windows.add(session.id, start, self.info.context_length)

    def regenerate(
        self,
        session: SessionRecord,
        user_message: MessageRecord,
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Generator[ChatEvent]:
        """Answer ``user_message`` again; the new reply becomes a sibling branch.

        The seed is always a fresh one: a session's fixed seed would give the same text again.
        With temperature 0 (greedy) the text is the same whatever the seed.
        """
        params = replace(params, seed=None)
        self.use_adapter_of(session)
        plan = self.plan(
            session,
            user_message.content,
            params,
            parent_id=user_message.parent_id,
            may_summarize=True,
            attachments=self.attachments_of(user_message),
        )
        self.store.update_session(session.id, current_leaf=user_message.id)
        self._remember_window(session, plan, user_message)
        yield from self._generate(session, user_message, plan, params, cancel)

    def continue_reply(
        self,
        session: SessionRecord,
        reply: MessageRecord,
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Generator[ChatEvent]:
        """Generate more of ``reply`` (cut at the length limit or stopped), on the same message.

        The model sees the question and the reply so far as the start of its own turn, so it
        carries on mid-sentence; the saved message grows and keeps one usage record.
        """
        check_continuable(reply, self.info.capabilities.continuation)
        self.use_adapter_of(session)
        if self.store.tree.children(session.id, reply.id):
            raise UsageError("only the newest reply of a branch can be continued")
        user = self.sessions.question_of(reply)
        plan = self.plan(
            session,
            user.content,
            params,
            parent_id=user.parent_id,
            attachments=self.attachments_of(user),
        )
        messages = [*plan.budget.messages, ChatMessage("assistant", reply.content)]
        tokens = self.engine.count_tokens(messages)
        if tokens >= self.info.context_length - 1:
            raise ContextOverflowError(
                f"the reply already fills the context ({tokens:,} of "
                f"{self.info.context_length:,} tokens); ask a new question to go on"
            )
        budget = replace(plan.budget, messages=messages, prompt_tokens=tokens)
        self.sessions.rewind(session, reply.id)
        self.store.update_message(reply.id, status="streaming")
        yield MessageSaved(self.store.get_message(reply.id))
        yield from self._stream_into(reply, replace(plan, budget=budget), params, cancel)

    def _generate(
        self,
        session: SessionRecord,
        user: MessageRecord,
        plan: Plan,
        params: SamplingParams,
        cancel: threading.Event | None,
    ) -> Generator[ChatEvent]:
        info = self.info
        budget = plan.budget
        if plan.hidden_messages:
            yield ContextTrimmed(
                plan.hidden_messages,
                budget.prompt_tokens,
                info.context_length,
                summarized=plan.summary is not None,
            )
        reply = self.store.add_message(
            session.id,
            parent_id=user.id,
            role="assistant",
            content="",
            status="streaming",
            model=info.model_name,
            model_sha256=info.model_sha256,
            sampling=params.as_dict(),
        )
        yield MessageSaved(reply)
        yield from self._stream_into(reply, plan, params, cancel)

    def _stream_into(
        self,
        reply: MessageRecord,
        plan: Plan,
        params: SamplingParams,
        cancel: threading.Event | None,
    ) -> Generator[ChatEvent]:
        """Stream the engine's reply to ``plan`` into the saved message ``reply``."""
        writer = ReplyWriter(self.store, reply)
        try:
            for event in self.engine.stream(plan.budget.messages, params, cancel):
                if isinstance(event, TextDelta):
                    writer.append(event.text)
                    yield event
                elif isinstance(event, PrefillProgress):
                    yield event
                elif isinstance(event, ReplyDone):
                    saved = writer.finish(event)
                    yield ReplyFinished(saved, event.usage, event.finish_reason, plan)
        except ChatcliError:
            writer.fail()  # e.g. the server failed: the record says so
            raise
        finally:
            writer.close_if_unfinished()
