"""Replay's honesty: what cannot be re-run faithfully is said, in one line, never faked."""

from __future__ import annotations

from typing import Any

import pytest

from chatcli.core.replay import check_engine, plan_replay, reply_to_replay
from chatcli.core.sessions import Sessions
from chatcli.engine.base import EngineCapabilities, EngineInfo
from chatcli.engine.evaluation import Evaluation, prompt_digest
from chatcli.errors import NotReproducibleError, UsageError
from chatcli.store.records import MessageRecord, MessageStatus, SessionRecord
from chatcli.store.store import Store

DIGEST = "a" * 64


def evaluation(
    eid: str, base: str | None, kept: int, tokens: list[int], **extra: Any
) -> Evaluation:
    prompt = [*range(kept), *tokens]  # the earlier context in these tests is 0, 1, 2, ...
    fields: dict[str, Any] = {
        "id": eid,
        "base": base,
        "kept": kept,
        "tokens": tuple(tokens),
        "pieces": (len(tokens),),
        "sampled": (7, 8),
        "fed_back": 2,
        "prompt_sha256": prompt_digest(prompt),
        "context_length": 2048,
    }
    fields.update(extra)
    return Evaluation(**fields)


def add_reply(
    store: Store,
    session: SessionRecord,
    text: str,
    record: Evaluation | None,
    *,
    sha: str | None = DIGEST,
    status: MessageStatus = "complete",
    usage: dict[str, object] | None = None,
) -> MessageRecord:
    """A question and its reply, the reply as a local model would have saved it."""
    parent = store.get_session(session.id).current_leaf
    question = store.add_message(session.id, parent_id=parent, role="user", content="q " + text)
    reply = store.add_message(
        session.id,
        parent_id=question.id,
        role="assistant",
        content=text,
        status=status,
        model="smollm2-135m",
        model_sha256=sha,
        sampling={"temperature": 0.8, "max_tokens": 16},
        usage=usage if usage is not None else {"seed": 3, "completion_tokens": 2},
    )
    if record is not None:
        store.update_message(reply.id, evaluation=record.to_dict())
    return store.get_message(reply.id)


@pytest.fixture
def session(store: Store) -> SessionRecord:
    return store.create_session(model="smollm2-135m")


def refusal(store: Store, message: MessageRecord) -> str:
    with pytest.raises(NotReproducibleError) as caught:
        plan_replay(Sessions(store), message)
    assert caught.value.exit_code == 11
    return caught.value.message


def test_a_reply_chain_is_gathered_back_to_a_generation_from_an_empty_context(
    store: Store, session: SessionRecord
) -> None:
    add_reply(store, session, "one", evaluation("e1", None, 0, [0, 1, 2]))
    # e1 left 0, 1, 2, 7, 8 in the context; e2 reused all five of them.
    add_reply(store, session, "two", evaluation("e2", "e1", 3, [3, 4]))
    third = add_reply(store, session, "three", evaluation("e3", "e2", 2, [9]))
    plan = plan_replay(Sessions(store), third)
    assert [step.id for step in plan.chain] == ["e1", "e2", "e3"]
    assert plan.params.seed == 3 and plan.params.temperature == 0.8
    assert plan.params.max_tokens == 16


def test_the_last_reply_on_the_shown_branch_is_the_default(
    store: Store, session: SessionRecord
) -> None:
    add_reply(store, session, "one", None)
    last = add_reply(store, session, "two", None)
    sessions = Sessions(store)
    assert reply_to_replay(sessions, session, None).id == last.id
    with pytest.raises(UsageError):
        reply_to_replay(sessions, session, store.get_message(last.parent_id or "").id)


def test_an_interrupted_or_failed_reply_is_not_replayed(
    store: Store, session: SessionRecord
) -> None:
    cut = add_reply(store, session, "cut", evaluation("e1", None, 0, [1]), status="interrupted")
    assert refusal(store, cut) == "not reproducible: the reply was interrupted"
    failed = add_reply(store, session, "", None, status="error")
    assert "failed" in refusal(store, failed)


def test_a_remote_reply_says_it_came_from_a_server(store: Store, session: SessionRecord) -> None:
    remote = add_reply(store, session, "far away", None, sha=None)
    assert "remote server" in refusal(store, remote)


def test_a_reply_without_a_seed_or_a_record_says_so(store: Store, session: SessionRecord) -> None:
    unseeded = add_reply(store, session, "x", evaluation("e1", None, 0, [1]), usage={})
    assert "no recorded seed" in refusal(store, unseeded)
    old = add_reply(store, session, "y", None)
    assert "no record of how its prompt was evaluated" in refusal(store, old)


def test_a_continued_reply_is_two_generations_and_says_so(
    store: Store, session: SessionRecord
) -> None:
    # more than the recorded run sampled
    usage: dict[str, object] = {"seed": 3, "completion_tokens": 40}
    grown = add_reply(store, session, "x", evaluation("e1", None, 0, [1]), usage=usage)
    assert "continued" in refusal(store, grown)


def test_a_shifted_context_anywhere_in_the_chain_is_not_replayable(
    store: Store, session: SessionRecord
) -> None:
    add_reply(store, session, "one", evaluation("e1", None, 0, [0, 1, 2]))
    add_reply(store, session, "two", evaluation("e2", "e1", 3, [3], shifted=True))
    third = add_reply(store, session, "three", evaluation("e3", "e2", 2, [9]))
    assert "the context was shifted" in refusal(store, third)


def test_a_context_reused_from_an_unsaved_generation_is_not_replayable(
    store: Store, session: SessionRecord
) -> None:
    orphan = add_reply(store, session, "x", evaluation("e2", "gone", 3, [3]))
    assert "not saved" in refusal(store, orphan)


def test_records_that_do_not_chain_up_are_refused(store: Store, session: SessionRecord) -> None:
    add_reply(store, session, "one", evaluation("e1", None, 0, [0, 1, 2]))
    bad = evaluation("e2", "e1", 3, [3], prompt_sha256="0" * 64)
    assert "damaged" in refusal(store, add_reply(store, session, "two", bad))


def info(sha: str | None, *, remote: bool = False, replay: bool = True) -> EngineInfo:
    return EngineInfo(
        model_name="m",
        model_path="/m.gguf",
        model_sha256=sha,
        context_length=2048,
        capabilities=EngineCapabilities(replay=replay),
        remote=remote,
    )


def test_another_model_file_or_a_remote_engine_is_refused(
    store: Store, session: SessionRecord
) -> None:
    plan = plan_replay(
        Sessions(store), add_reply(store, session, "x", evaluation("e1", None, 0, [1]))
    )
    check_engine(info(DIGEST), plan)
    with pytest.raises(NotReproducibleError, match="the model file differs"):
        check_engine(info("b" * 64), plan)
    with pytest.raises(NotReproducibleError, match="not supported by a remote server"):
        check_engine(info(None, remote=True), plan)
    with pytest.raises(NotReproducibleError, match="not supported by the m backend"):
        check_engine(info(DIGEST, replay=False), plan)


def test_evaluations_survive_export_and_import(store: Store, session: SessionRecord) -> None:
    from chatcli.core.portable import export_sessions, import_bundles, read_export

    add_reply(store, session, "one", evaluation("e1", None, 0, [0, 1, 2]))
    exported = export_sessions(Sessions(store), [session])
    with Store.open(store.path.parent / "other.db") as other:
        import_bundles(Sessions(other), read_export(exported))
        copied = other.message_by_evaluation("e1")
    assert (
        copied is not None and copied.evaluation == evaluation("e1", None, 0, [0, 1, 2]).to_dict()
    )


def test_a_reply_made_with_a_lora_adapter_is_not_replayed(
    store: Store, session: SessionRecord
) -> None:
    adapter = "lora:" + "b" * 64 + ":1.0"
    plain = add_reply(store, session, "one", evaluation("e1", None, 0, [0, 1, 2]))
    adapted = add_reply(
        store, session, "two", evaluation("e2", None, 0, [0, 1, 2], adapter=adapter)
    )
    assert "LoRA adapter" in refusal(store, adapted)
    assert Evaluation.from_dict(adapted.evaluation or {}).adapter == adapter
    assert Evaluation.from_dict(plain.evaluation or {}).adapter is None
