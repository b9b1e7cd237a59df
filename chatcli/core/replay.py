"""Replaying a recorded reply: the same model file, prompt, pieces, sampling and seed.

A reply of a local model carries an ``Evaluation``: how its prompt went through the model,
including which earlier generation's context it reused. Replaying walks those links back to
a generation that started from an empty context, hands the chain to the engine (which
evaluates it again exactly as recorded) and compares the new text with the saved one.
Whatever would make the comparison meaningless (another model file, no seed, an interrupted
reply, a shifted context, a remote server) is said instead, as a ``NotReproducibleError``.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass, replace
from typing import Any

from chatcli.core.chat import sampling_from
from chatcli.core.sessions import Sessions
from chatcli.engine.base import Engine, EngineInfo, Replaying, ReplyDone, TextDelta
from chatcli.engine.evaluation import Evaluation, prompt_digest
from chatcli.engine.params import SamplingParams
from chatcli.errors import NotReproducibleError, UsageError
from chatcli.store.records import MessageRecord, SessionRecord

MAX_CHAIN = 100_000
"""More links than this means a cycle in damaged records."""


@dataclass(frozen=True)
class ReplayPlan:
    """What to re-run: the chain of generations (the reply last) and its sampling."""

    message: MessageRecord
    chain: tuple[Evaluation, ...]
    params: SamplingParams


@dataclass(frozen=True)
class ReplayOutcome:
    """The recorded reply and the one the replay produced."""

    message: MessageRecord
    replayed: str
    replayed_tokens: tuple[int, ...]
    chain_length: int
    """Generations evaluated: the reply and the earlier ones whose context it reused."""

    @property
    def identical(self) -> bool:
        """Whether the replay gave the same text and the same token ids."""
        recorded = (self.message.evaluation or {}).get("sampled")
        return self.replayed == self.message.content and list(self.replayed_tokens) == recorded

    def diff(self) -> str:
        """A unified diff of the recorded text against the replayed one ('' when identical)."""
        lines = difflib.unified_diff(
            self.message.content.splitlines(keepends=True),
            self.replayed.splitlines(keepends=True),
            fromfile="recorded",
            tofile="replayed",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``replay --json``."""
        return {
            "message_id": self.message.id,
            "session_id": self.message.session_id,
            "identical": self.identical,
            "recorded": self.message.content,
            "replayed": self.replayed,
            "generations_evaluated": self.chain_length,
            "diff": self.diff(),
        }


def reply_to_replay(
    sessions: Sessions, session: SessionRecord, message_id: str | None
) -> MessageRecord:
    """The reply asked for: ``message_id`` in ``session``, else the last on its shown branch."""
    if message_id is None:
        replies = [m for m in sessions.history(session) if m.role == "assistant"]
        if not replies:
            raise UsageError(f"session '{session.title or session.id}' has no reply to replay")
        return replies[-1]
    message = sessions.store.get_message(message_id)
    if message.session_id != session.id:
        raise UsageError(f"message {message_id} is not in session {session.id}")
    if message.role != "assistant":
        raise UsageError(f"message {message_id} is not a reply")
    return message


def plan_replay(sessions: Sessions, message: MessageRecord) -> ReplayPlan:
    """Check that ``message`` can be replayed and gather its chain; NotReproducibleError if not."""
    if message.status != "complete":
        state = "failed" if message.status == "error" else "was interrupted"
        raise NotReproducibleError(f"not reproducible: the reply {state}")
    seed = (message.usage or {}).get("seed")
    if message.evaluation is None:
        if message.model_sha256 is None:
            raise NotReproducibleError(
                "not reproducible: the reply came from a remote server (or a backend that "
                "records no evaluation); only local models can be replayed"
            )
        raise NotReproducibleError(
            "not reproducible: the reply has no record of how its prompt was evaluated "
            "(made before chatcli kept one)"
        )
    if not isinstance(seed, int):
        raise NotReproducibleError("not reproducible: the reply has no recorded seed")
    target = _evaluation_of(message)
    completion = (message.usage or {}).get("completion_tokens")
    if completion != len(target.sampled):
        raise NotReproducibleError(
            "not reproducible: the reply was continued after it stopped (two generations)"
        )
    chain = _chain_to(sessions, target)
    if any(step.adapter for step in chain):
        raise NotReproducibleError(
            "not reproducible: the reply was made with a LoRA adapter (replay applies none)"
        )
    params = replace(sampling_from(message.sampling, SamplingParams()), seed=seed)
    return ReplayPlan(message, chain, params)


def _evaluation_of(message: MessageRecord) -> Evaluation:
    try:
        return Evaluation.from_dict(message.evaluation or {})
    except ValueError:
        raise NotReproducibleError(
            f"not reproducible: the evaluation record of {message.id} is damaged"
        ) from None


def _chain_to(sessions: Sessions, target: Evaluation) -> tuple[Evaluation, ...]:
    """The generations whose contexts ``target`` reused, oldest first, ending with it."""
    chain = [target]
    while chain[0].kept > 0:
        step = chain[0]
        if step.shifted:
            raise NotReproducibleError(
                "not reproducible: the context was shifted (old turns dropped in place) "
                "before this reply or one it built on"
            )
        base = sessions.store.message_by_evaluation(step.base) if step.base else None
        if base is None or len(chain) > MAX_CHAIN:
            raise NotReproducibleError(
                "not reproducible: part of its prompt was reused from a generation that was "
                "not saved (a --no-save reply, a summary, or a deleted message)"
            )
        chain.insert(0, _evaluation_of(base))
    _check_prompts(chain)
    return tuple(chain)


def _check_prompts(chain: list[Evaluation]) -> None:
    """Each recorded prompt must be what its chain rebuilds (else the records are damaged)."""
    context: list[int] = []
    for step in chain:
        if step.kept > len(context) or prompt_digest(step.prompt_after(context)) != (
            step.prompt_sha256
        ):
            raise NotReproducibleError(
                "not reproducible: the recorded prompts do not chain up (damaged records)"
            )
        context = step.context_after(context)


def check_engine(info: EngineInfo, plan: ReplayPlan) -> None:
    """Refuse an engine that cannot give the same bits: remote, no replay, another model file."""
    if info.remote or not info.capabilities.replay:
        where = "a remote server" if info.remote else f"the {info.model_name} backend"
        raise NotReproducibleError(f"not reproducible: replay is not supported by {where}")
    recorded = plan.message.model_sha256
    if recorded is None or info.model_sha256 != recorded:
        raise NotReproducibleError(
            f"not reproducible: the model file differs (sha256 {_short(info.model_sha256)} "
            f"now, {_short(recorded)} when the reply was made)"
        )


def _short(digest: str | None) -> str:
    return digest[:12] if digest else "unknown"


def run_replay(
    engine: Engine, plan: ReplayPlan, cancel: threading.Event | None = None
) -> ReplayOutcome:
    """Re-run the reply on ``engine`` (checked with ``check_engine``) and compare."""
    if not isinstance(engine, Replaying):
        raise NotReproducibleError("not reproducible: this backend cannot replay")
    parts: list[str] = []
    tokens: tuple[int, ...] = ()
    for event in engine.replay(plan.chain, plan.params, cancel):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, ReplyDone) and event.evaluation is not None:
            tokens = event.evaluation.sampled
    return ReplayOutcome(plan.message, "".join(parts), tokens, len(plan.chain))
