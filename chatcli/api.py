"""The Python API: chatcli's sessions, roles, context handling and snapshots from a script.

    import chatcli

    with chatcli.open_session("work") as chat:
        for piece in chat.stream("Name three rivers."):
            print(piece, end="", flush=True)
        print(chat.ask("Which is longest?"))

    print(chatcli.ask("Translate 'good morning' into French.", temperature=0))

It is the same chat core, store and engine as ``chatcli ask`` and the TUI: a session made
here shows up in ``chatcli sessions list`` and can be continued with ``chatcli -c``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from chatcli.assembly import build_core, build_engine, open_sessions
from chatcli.config import Settings, load_settings
from chatcli.core.attachments import find_files, read_files
from chatcli.core.chat import ChatCore, sampling_from
from chatcli.core.events import ReplyFinished
from chatcli.core.sessions import settings_for_session
from chatcli.engine.base import TextDelta
from chatcli.engine.params import LoraAdapter, SamplingParams
from chatcli.errors import ChatcliError
from chatcli.store.records import MessageRecord, SessionRecord

if TYPE_CHECKING:
    from chatcli.core.replay import ReplayOutcome


class Chat:
    """One conversation, saved as it goes; use it as a context manager or call ``close()``."""

    def __init__(
        self, core: ChatCore, session: SessionRecord, resources: ExitStack, *, created: bool
    ) -> None:
        self.core = core
        self._session = session
        self._resources = resources
        self._created = created
        self.last: ReplyFinished | None = None
        """How the latest reply ended: its saved message, usage and finish reason."""

    @property
    def session(self) -> SessionRecord:
        """The session as it is saved now."""
        self._session = self.core.sessions.get(self._session.id)
        return self._session

    def stream(
        self, text: str, *, files: Sequence[str | Path] = (), **sampling: Any
    ) -> Iterator[str]:
        """Send ``text`` and yield the reply's text as it is generated.

        ``files`` are attached before the text (paths, globs or folders, as ``ask -f``).
        Keyword arguments override the session's sampling for this reply (``temperature=0``,
        ``max_tokens=64``...). Stopping early (``break``) keeps the partial reply, marked
        interrupted, as Ctrl+C does.
        """
        session = self.session
        params = self._params(session, sampling)
        attachments = read_files(find_files([str(f) for f in files])) if files else []
        events = self.core.reply(session, text, params, attachments=attachments)
        with closing(events):
            for event in events:
                if isinstance(event, TextDelta):
                    yield event.text
                elif isinstance(event, ReplyFinished):
                    self.last = event

    def ask(self, text: str, *, files: Sequence[str | Path] = (), **sampling: Any) -> str:
        """Send ``text`` (after the ``files``, if any) and return the whole reply."""
        return "".join(self.stream(text, files=files, **sampling))

    def history(self) -> list[MessageRecord]:
        """The messages of the branch being shown, oldest first."""
        return self.core.sessions.history(self.session)

    def replay(self, message_id: str | None = None) -> ReplayOutcome:
        """Re-run a saved reply of this chat (default: the last) as it first ran; compare.

        The same as ``chatcli replay``: ``NotReproducibleError`` says why a reply cannot be
        replayed faithfully. The model's cache is emptied afterwards (the next reply
        evaluates its prompt afresh).
        """
        from chatcli.core.replay import check_engine, plan_replay, reply_to_replay, run_replay

        sessions = self.core.sessions
        plan = plan_replay(sessions, reply_to_replay(sessions, self.session, message_id))
        check_engine(self.core.info, plan)
        return run_replay(self.core.engine, plan)

    def _params(self, session: SessionRecord, overrides: dict[str, Any]) -> SamplingParams:
        params = sampling_from(session.sampling, self.core.default_sampling())
        try:
            return replace(params, **overrides)
        except TypeError:
            known = ", ".join(params.as_dict())
            raise TypeError(f"unknown sampling option; known: {known}") from None

    def close(self) -> None:
        """Free the model and close the store (the conversation stays saved).

        A session this chat created and never used is deleted: nothing empty is left behind.
        """
        try:
            if self._created:
                self.core.sessions.discard_if_empty(self._session)
        finally:
            self._resources.close()

    def __enter__(self) -> Chat:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_session(
    name: str | None = None,
    *,
    model: str | None = None,
    system: str | None = None,
    role: str | None = None,
    context_length: int | None = None,
    lora: str | Path | None = None,
    lora_scale: float | None = None,
    save: bool = True,
    settings: Settings | None = None,
) -> Chat:
    """Open the saved session called ``name`` (created if there is none), or a new one.

    A continued session keeps its own model, context size and LoRA adapter unless
    ``model``, ``context_length`` or ``lora`` is given; the adapter given is saved with the
    session (``lora_scale`` alone rescales the session's own). ``save=False`` keeps nothing
    once the chat is closed. ``settings`` replaces the config file and ``CHATCLI_*``
    environment.
    """
    base = settings if settings is not None else load_settings()
    base = replace(
        base,
        model=model if model is not None else base.model,
        context_length=context_length or base.context_length,
        lora=_adapter(lora, lora_scale) if lora is not None else base.lora,
    )
    resources = ExitStack()
    try:
        sessions = resources.enter_context(open_sessions(save))
        sessions.recover_interrupted()
        found = sessions.find(name) if name is not None else None
        chosen = settings_for_session(
            base,
            found,
            model_given=model is not None,
            context_given=context_length is not None,
            lora_given=lora is not None,
            lora_scale=lora_scale,
        )
        engine = build_engine(chosen, snapshots=True if save else "read")
        resources.callback(engine.close)
        engine.load()
        core = build_core(engine, sessions, chosen)
        session = found or core.new_session(name=name, role=role, system_prompt=system)
        if found is not None and (lora is not None or lora_scale is not None):
            session = core.keep_adapter(session)
        if found is not None and (system is not None or role is not None):
            session = sessions.set_system_prompt(session, role=role or session.role, prompt=system)
        return Chat(core, session, resources, created=found is None)
    except BaseException:
        resources.close()
        raise


def _adapter(path: str | Path, scale: float | None) -> LoraAdapter:
    """The adapter ``open_session(lora=..., lora_scale=...)`` asks for (scale 1 by default)."""
    return LoraAdapter(str(Path(path).expanduser().absolute()), 1.0 if scale is None else scale)


def ask(
    prompt: str,
    *,
    model: str | None = None,
    system: str | None = None,
    role: str | None = None,
    save: bool = False,
    settings: Settings | None = None,
    **sampling: Any,
) -> str:
    """One question, one answer: like ``chatcli ask --no-save`` (``save=True`` keeps it)."""
    with open_session(model=model, system=system, role=role, save=save, settings=settings) as chat:
        answer = chat.ask(prompt, **sampling)
        if chat.last is None:
            raise ChatcliError("the reply ended before it finished")
        return answer
