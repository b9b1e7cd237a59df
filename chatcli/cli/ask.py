"""``chatcli ask``: one question, one streamed answer, saved in a session."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Generator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Literal

import typer

from chatcli.assembly import build_core, build_engine, open_sessions
from chatcli.cli.attach import describe, gather_attachments
from chatcli.cli.errors import say
from chatcli.cli.options import ModelFlags, SamplingFlags, settings_with
from chatcli.cli.render import AnswerWriter, PrefillMeter, make_writer
from chatcli.cli.stopping import StopRequest, stop_on_signals
from chatcli.config import Settings
from chatcli.core.attachments import Attachment
from chatcli.core.chat import ChatCore, compose_user_text, sampling_from
from chatcli.core.events import ChatEvent, ContextTrimmed, ReplyFinished
from chatcli.core.sessions import Sessions, settings_for_session
from chatcli.engine.base import PrefillProgress, TextDelta
from chatcli.engine.params import LoraAdapter, SamplingParams
from chatcli.errors import ChatcliError, UsageError
from chatcli.store.records import MessageRecord, SessionRecord


@dataclass(frozen=True)
class AskRequest:
    """Everything ``ask`` was told on the command line and stdin."""

    prompt: str | None
    stdin_text: str | None = None
    system: str | None = None
    role: str | None = None
    continue_latest: bool = False
    session: str | None = None
    save: bool = True
    json_output: bool = False
    stats: bool = False
    raw: bool = False
    ignore_eos: bool = False
    truncate_input: bool = False
    overflow: str | None = None
    more: bool = False
    """Continue the session's last reply instead of asking something new."""
    branch: int | None = None
    """Go on from this branch of the session (``sessions branches`` numbers them)."""
    edit_last: bool = False
    """Send the prompt in place of the last user message, as a new branch."""
    files: tuple[str, ...] = ()
    """Files, globs and folders to attach (``-f``)."""
    yes: bool = False
    """Attach a glob or folder over the configured limits without asking."""
    model_flags: ModelFlags = field(default_factory=ModelFlags)
    sampling: SamplingFlags = field(default_factory=SamplingFlags)


def read_stdin() -> str | None:
    """Piped-in text, or None when stdin is a terminal or empty."""
    stream = sys.stdin
    if stream is None or stream.isatty():
        return None
    return decode_piped(stream.buffer.read())


def decode_piped(data: bytes) -> str | None:
    """Piped bytes as text, or None when they are blank.

    UTF-8, with a leading byte-order mark dropped (files saved by Windows editors start with
    one) and undecodable bytes replaced, so whatever is piped in can be stored and sent.
    """
    text = data.decode("utf-8-sig", errors="replace")
    return text if text.strip() else None


def compose_prompt(instruction: str | None, piped: str | None, attached: bool = False) -> str:
    """The user message: piped text is the material, the argument the instruction after it."""
    text = compose_user_text(piped, instruction)
    if not text and not attached:
        raise UsageError("nothing to ask: give a prompt, pipe text in, or attach a file (-f)")
    return text


def run_ask(request: AskRequest) -> int:
    """Answer the request; return the process exit code."""
    if not request.save and (request.continue_latest or request.session):
        raise typer.BadParameter(
            "--no-save cannot continue a saved session", param_hint="--no-save"
        )
    if request.files and (request.more or request.edit_last):
        raise UsageError("-f attaches files to a new message: not with --more or --edit-last")
    text = (
        _more_check(request)
        if request.more
        else compose_prompt(request.prompt, request.stdin_text, bool(request.files))
    )
    settings = settings_with(request.model_flags)
    attachments = gather_attachments(request.files, settings, request.yes)
    with open_sessions(request.save) as sessions:
        sessions.recover_interrupted()
        found = sessions.requested(continue_latest=request.continue_latest, name=request.session)
        settings = session_settings(settings, found, request.model_flags)
        core, load_s = _load_core(settings, sessions, request)
        session = _prepare_session(core, found, request)
        if (request.branch is not None or request.edit_last) and found is None:
            raise UsageError(
                "--branch and --edit-last work on a saved session: add -c or --session"
            )
        if request.branch is not None:
            session = sessions.choose_branch(session, request.branch)
        try:
            finished, answer, stop = _answer(core, session, text, request, attachments)
        except ChatcliError:
            if found is None:
                sessions.discard_if_empty(session)  # a failed first message leaves none behind
            raise
        _report(request, core, session, finished, answer, load_s)
    interrupted = finished is None or finished.finish_reason == "interrupted"
    return stop.exit_code() if interrupted else 0


def _more_check(request: AskRequest) -> str:
    """``--more`` continues a saved reply: it needs a session and takes no new prompt."""
    if not (request.continue_latest or request.session):
        raise UsageError("--more continues a session's last reply: add -c or --session NAME")
    if request.prompt or request.stdin_text:
        raise UsageError("--more takes no prompt: it continues the last reply")
    return ""


def _answer(
    core: ChatCore,
    session: SessionRecord,
    text: str,
    request: AskRequest,
    attachments: Sequence[Attachment],
) -> tuple[ReplyFinished | None, str, StopRequest]:
    """Stream the reply to ``text`` to stdout (or collect it for --json)."""
    params = request.sampling.apply(sampling_from(session.sampling, core.default_sampling()))
    if request.truncate_input and attachments:
        attachments = _trimmed_files(core, session, text, attachments, params)
    elif request.truncate_input and request.stdin_text:
        text = _truncated(core, session, request, params)
    writer = None if request.json_output else make_writer(request.raw)
    with stop_on_signals() as cancel:
        if request.more:
            events = core.continue_reply(session, _last_reply(core, session), params, cancel)
        elif request.edit_last:
            events = core.edit(session, _last_question(core, session), text, params, cancel)
        else:
            events = core.reply(session, text, params, cancel, attachments)
        return (*stream_events(events, writer), cancel)


def _last_question(core: ChatCore, session: SessionRecord) -> MessageRecord:
    questions = [m for m in core.sessions.history(session) if m.role == "user"]
    if not questions:
        raise UsageError("the session has no message to edit")
    return questions[-1]


def _last_reply(core: ChatCore, session: SessionRecord) -> MessageRecord:
    history = core.sessions.history(session)
    if not history or history[-1].role != "assistant":
        raise UsageError("the session has no reply to continue")
    return history[-1]


def session_settings(
    settings: Settings, session: SessionRecord | None, flags: ModelFlags
) -> Settings:
    """A continued session keeps its model, context size and adapter unless flags say otherwise."""
    return settings_for_session(
        settings,
        session,
        model_given=flags.model is not None,
        context_given=flags.ctx is not None,
        lora_given=flags.lora is not None or flags.no_lora,
        lora_scale=flags.lora_scale,
    )


def remember_adapter(core: ChatCore, session: SessionRecord, flags: ModelFlags) -> SessionRecord:
    """Save the adapter the LoRA options chose with ``session`` (when it runs on its model)."""
    return core.keep_adapter(session) if flags.adapter_given() else session


def _load_core(
    settings: Settings, sessions: Sessions, request: AskRequest
) -> tuple[ChatCore, float]:
    # --no-save uses the KV cache but adds nothing to it.
    snapshots: bool | Literal["read"] = True if request.save else "read"
    engine = build_engine(settings, ignore_eos=request.ignore_eos, snapshots=snapshots)
    started = time.perf_counter()
    engine.load()
    return build_core(engine, sessions, settings), time.perf_counter() - started


def _prepare_session(
    core: ChatCore, session: SessionRecord | None, request: AskRequest
) -> SessionRecord:
    if session is None:
        session = core.new_session(
            name=request.session,
            role=request.role,
            system_prompt=request.system,
            sampling=request.sampling.apply(core.default_sampling()),
        )
    else:
        session = remember_adapter(core, session, request.model_flags)
    if request.system is not None or request.role is not None:
        role = request.role or session.role
        session = core.sessions.set_system_prompt(session, role=role, prompt=request.system)
    if request.overflow is not None:
        session = core.sessions.change_settings(session, overflow=request.overflow)
    return session


def _truncated(
    core: ChatCore, session: SessionRecord, request: AskRequest, params: SamplingParams
) -> str:
    """The message with the piped text cut to fit, with a warning when anything was cut."""
    from chatcli.core.truncate import truncate_to_fit  # only --truncate-input needs it

    assert request.stdin_text is not None
    cut = truncate_to_fit(core, session, request.stdin_text, request.prompt, params)
    if cut.cut_chars:
        say(
            f"warning: the input ({cut.original_tokens:,} tokens) does not fit the context; "
            f"{cut.cut_chars:,} characters from its middle were left out"
        )
    return cut.text


def _trimmed_files(
    core: ChatCore,
    session: SessionRecord,
    text: str,
    attachments: Sequence[Attachment],
    params: SamplingParams,
) -> list[Attachment]:
    """The attachments cut fairly to fit, with a warning naming each one that was cut."""
    from chatcli.core.truncate import truncate_attachments  # only --truncate-input needs it

    trimmed = truncate_attachments(core, session, text, attachments, params)
    for attachment, cut in zip(trimmed.attachments, trimmed.cut_chars, strict=True):
        if cut:
            say(
                f"warning: {attachment.path} does not fit the context with the rest; "
                f"{cut:,} characters from its middle were left out"
            )
    return trimmed.attachments


def describe_trim(event: ContextTrimmed) -> str:
    """One line saying what was left out of the prompt."""
    line = (
        f"{event.dropped_messages:,} earlier messages are outside the context "
        f"({event.context_length:,} tokens)"
    )
    return line + ("; a summary of them was sent" if event.summarized else " and were not sent")


def stream_events(
    events: Generator[ChatEvent], writer: AnswerWriter | None
) -> tuple[ReplyFinished | None, str]:
    """Write a core reply's text as it comes (notices to stderr); return how it ended."""
    finished: ReplyFinished | None = None
    parts: list[str] = []
    progress = PrefillMeter()
    # closing() ends the core's reply here, while the store is still open: after a closed
    # stdout (`| head`) the partial reply is saved and marked interrupted, not left to the GC.
    try:
        with closing(events):
            for event in events:
                if isinstance(event, TextDelta):
                    progress.clear()
                    parts.append(event.text)
                    if writer:
                        writer.write(event.text)
                elif isinstance(event, ContextTrimmed):
                    say(describe_trim(event))
                elif isinstance(event, PrefillProgress):
                    progress.show(event)
                elif isinstance(event, ReplyFinished):
                    finished = event
    finally:
        progress.clear()
        if writer:
            writer.close()
    return finished, "".join(parts)


def _report(
    request: AskRequest,
    core: ChatCore,
    session: SessionRecord,
    finished: ReplyFinished | None,
    answer: str,
    load_s: float,
) -> None:
    if finished is None or finished.finish_reason == "interrupted":
        say("reply interrupted; the partial answer was saved")
    if request.json_output:
        print(json.dumps(_answer_json(core, session, finished, answer, request.save)))
    elif answer and sys.stdout.isatty() and not answer.endswith("\n"):
        print()
    if request.stats and finished is not None:
        stats = {"load_s": round(load_s, 4), **_stats(core, session, finished)}
        print(json.dumps(stats), file=sys.stderr, flush=True)


def _answer_json(
    core: ChatCore, session: SessionRecord, finished: ReplyFinished | None, answer: str, saved: bool
) -> dict[str, object]:
    return {
        "answer": answer,
        "model": core.info.model_name,
        "session_id": session.id if saved else None,
        "message_id": finished.message.id if finished and saved else None,
        "finish_reason": finished.finish_reason if finished else "interrupted",
        "usage": finished.message.usage if finished else None,
    }


def _adapter_json(adapter: LoraAdapter | None) -> dict[str, object] | None:
    return {"path": adapter.path, "scale": adapter.scale} if adapter else None


def _stats(core: ChatCore, session: SessionRecord, finished: ReplyFinished) -> dict[str, object]:
    usage = finished.usage
    return {
        "model": core.info.model_name,
        "ttft_s": round(usage.ttft_s, 4),
        "prompt_tokens": usage.prompt_tokens,
        "cached_prompt_tokens": usage.cached_prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "gen_tokens_per_s": round(usage.gen_tokens_per_s, 2),
        "total_s": round(usage.total_s, 4),
        "context_length": core.info.context_length,
        "gpu_layers": core.info.gpu_layers,
        "token_count": "exact" if core.info.capabilities.exact_token_count else "estimated",
        "reserved_for_reply": finished.budget.reserved_for_reply,
        "dropped_messages": finished.plan.hidden_messages,
        "summarized": finished.plan.summary is not None,
        "finish_reason": finished.finish_reason,
        "seed": usage.seed,
        "lora": _adapter_json(core.adapter_of(session)),
        "attachments": describe(core.attachments_of(core.sessions.question_of(finished.message))),
    }
