from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fakes import FakeEngine
from fakes import run_reply as run

from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.core.events import ContextTrimmed, MessageSaved, ReplyFinished
from chatcli.engine.base import ChatMessage, TextDelta
from chatcli.engine.params import SamplingParams
from chatcli.errors import ContextOverflowError
from chatcli.store.store import Store


def next_text(events: Iterator[object]) -> str:
    return next(e.text for e in events if isinstance(e, TextDelta))


def test_saved_events_come_before_the_text(core: ChatCore, engine: FakeEngine) -> None:
    engine.replies = ["hello there"]
    events = list(core.reply(core.new_session(), "hi", SamplingParams()))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["MessageSaved", "MessageSaved", "TextDelta", "TextDelta", "ReplyFinished"]
    assert isinstance(events[0], MessageSaved) and isinstance(events[1], MessageSaved)
    user, reply = events[0].message, events[1].message
    assert (user.role, reply.role, reply.parent_id) == ("user", "assistant", user.id)


def test_edit_sends_new_text_as_a_sibling_of_the_original(
    core: ChatCore, engine: FakeEngine, store: Store
) -> None:
    engine.replies = ["a1", "a2", "a3"]
    session = core.new_session()
    run(core.reply(session, "first", SamplingParams()))
    run(core.reply(session, "second", SamplingParams()))
    original = store.tree.branch(session.id)[2]
    run(core.edit(session, original, "second, edited", SamplingParams()))
    assert [m.content for m in store.tree.children(session.id, original.parent_id)] == [
        "second",
        "second, edited",
    ]
    assert [m.content for m in engine.requests[-1]][1:] == ["first", "a1", "second, edited"]
    assert [m.content for m in store.tree.branch(session.id)] == [
        "first",
        "a1",
        "second, edited",
        "a3",
    ]


def test_reply_streams_and_is_saved_with_usage(
    core: ChatCore, engine: FakeEngine, store: Store
) -> None:
    engine.replies = ["Paris is the capital."]
    session = core.new_session()
    text, finished, _ = run(core.reply(session, "Capital of France?", SamplingParams(seed=7)))
    assert text == "Paris is the capital."
    saved = store.tree.branch(session.id)
    assert [m.role for m in saved] == ["user", "assistant"]
    assert saved[1].content == text
    assert saved[1].status == "complete"
    assert saved[1].finish_reason == "stop"
    assert saved[1].usage and saved[1].usage["completion_tokens"] == 4
    assert saved[1].sampling and saved[1].sampling["seed"] == 7
    assert saved[1].model_sha256 == "f" * 64
    assert finished.message.id == saved[1].id


def test_system_prompt_comes_from_role_and_is_sent_first(
    core: ChatCore, engine: FakeEngine
) -> None:
    session = core.new_session(role="translate")
    run(core.reply(session, "Bonjour", SamplingParams()))
    sent = engine.requests[0]
    assert sent[0].role == "system" and "translat" in sent[0].content.lower()
    assert sent[-1].content == "Bonjour"


def test_explicit_system_prompt_beats_role(core: ChatCore, engine: FakeEngine) -> None:
    session = core.new_session(role="code", system_prompt="Be a pirate.")
    run(core.reply(session, "hi", SamplingParams()))
    assert engine.requests[0][0].content == "Be a pirate."


def test_second_turn_sends_earlier_turns(core: ChatCore, engine: FakeEngine) -> None:
    engine.replies = ["first answer", "second answer"]
    session = core.new_session()
    run(core.reply(session, "one", SamplingParams()))
    run(core.reply(session, "two", SamplingParams()))
    contents = [m.content for m in engine.requests[1]]
    assert contents[1:] == ["one", "first answer", "two"]


def test_user_message_is_saved_before_generation_starts(store: Store) -> None:
    gate = threading.Event()
    engine = FakeEngine(replies=["a b c"], gate=gate)
    core = ChatCore(engine, store, Settings())
    session = core.new_session()
    events = core.reply(session, "question", SamplingParams())
    next_text(events)  # first token: generation is under way
    saved = store.tree.branch(session.id)
    assert [m.role for m in saved] == ["user", "assistant"]
    assert saved[1].status == "streaming"
    gate.set()
    list(events)


def test_cancel_keeps_partial_reply_marked_interrupted(store: Store) -> None:
    cancel = threading.Event()
    engine = FakeEngine(replies=["one two three four five"])
    core = ChatCore(engine, store, Settings())
    session = core.new_session()
    text = ""
    finished = None
    for event in core.reply(session, "count", SamplingParams(), cancel):
        if isinstance(event, TextDelta):
            text += event.text
            if text.count(" ") == 2:
                cancel.set()
        elif isinstance(event, ReplyFinished):
            finished = event
    assert finished is not None and finished.finish_reason == "interrupted"
    reply = store.tree.branch(session.id)[-1]
    assert reply.content == text == "one two "
    assert reply.status == "interrupted"


def test_abandoned_stream_saves_partial_text(
    core: ChatCore, engine: FakeEngine, store: Store
) -> None:
    """Ctrl+C raising KeyboardInterrupt in the consumer closes the generator mid-reply."""
    engine.replies = ["alpha beta gamma delta"]
    session = core.new_session()
    events = core.reply(session, "go", SamplingParams())
    next_text(events)
    next_text(events)
    events.close()
    reply = store.tree.branch(session.id)[-1]
    assert reply.content == "alpha beta "
    assert reply.status == "interrupted"


def test_history_that_outgrows_context_drops_oldest_turns(store: Store) -> None:
    engine = FakeEngine(context_length=120, replies=["short"] * 10)
    core = ChatCore(engine, store, Settings())
    session = core.new_session(system_prompt="sys")
    params = SamplingParams(max_tokens=20)
    for turn in range(6):
        events = list(core.reply(session, " ".join(["word"] * 15) + f" {turn}", params))
    trimmed = [e for e in events if isinstance(e, ContextTrimmed)]
    assert trimmed and trimmed[0].dropped_messages % 2 == 0
    last_request = engine.requests[-1]
    assert last_request[0].content == "sys"
    assert last_request[-1].content.endswith(" 5")
    assert engine.count_tokens(last_request) <= 120 - 20
    assert store.message_count(session.id) == 12  # nothing deleted from the store


def test_message_larger_than_context_is_an_error_and_nothing_is_saved(store: Store) -> None:
    engine = FakeEngine(context_length=64)
    core = ChatCore(engine, store, Settings())
    session = core.new_session()
    with pytest.raises(ContextOverflowError, match="tokens"):
        list(core.reply(session, "word " * 200, SamplingParams()))
    assert store.message_count(session.id) == 0


def test_error_policy_refuses_to_drop(store: Store) -> None:
    engine = FakeEngine(context_length=100, replies=["ok"] * 5)
    core = ChatCore(engine, store, Settings(overflow="error"))
    session = core.new_session()
    params = SamplingParams(max_tokens=10)
    list(core.reply(session, "word " * 30, params))
    list(core.reply(session, "word " * 30, params))
    with pytest.raises(ContextOverflowError, match="'error'"):
        list(core.reply(session, "word " * 30, params))


def test_regenerate_creates_a_sibling_branch(
    core: ChatCore, engine: FakeEngine, store: Store
) -> None:
    engine.replies = ["first", "second"]
    session = core.new_session()
    run(core.reply(session, "q", SamplingParams()))
    user = store.tree.branch(session.id)[0]
    run(core.regenerate(session, user, SamplingParams()))
    replies = store.tree.children(session.id, user.id)
    assert [r.content for r in replies] == ["first", "second"]
    assert store.tree.branch(session.id)[-1].content == "second"
    assert [m.content for m in engine.requests[1]][-1] == "q"
    assert len(engine.requests[1]) == 2  # system + the question, not the old reply


def test_new_session_uses_model_advice_below_configured_values(store: Store) -> None:
    engine = FakeEngine()
    core = ChatCore(engine, store, Settings())
    assert core.default_sampling() == SamplingParams()


def summarizer(messages: list[ChatMessage]) -> str | None:
    if "Summarize the conversation" in messages[-1].content:
        return f"SUMMARY of {messages[-1].content.count('fact')} facts."
    return None


def test_summarize_policy_writes_a_summary_once_and_sends_it_in_the_system_prompt(
    store: Store,
) -> None:
    engine = FakeEngine(context_length=160, responder=summarizer)
    core = ChatCore(engine, store, Settings(overflow="summarize"))
    session = core.new_session(system_prompt="sys")
    params = SamplingParams(max_tokens=20)
    trimmed: list[ContextTrimmed] = []
    for turn in range(5):
        _, _, events = run(core.reply(session, " ".join(["fact"] * 25) + f" {turn}", params))
        trimmed += [e for e in events if isinstance(e, ContextTrimmed)]
    summary_requests = [r for r in engine.requests if summarizer(r)]
    assert summary_requests, "the history outgrew the context, so a summary was written"
    assert trimmed and all(t.summarized for t in trimmed)
    last = engine.requests[-1]
    assert last[0].role == "system" and last[0].content.startswith("sys")
    assert "SUMMARY of" in last[0].content
    assert engine.count_tokens(last) <= 160 - 20
    saved = store.summaries.latest_on_branch(
        session.id, [m.id for m in store.tree.branch(session.id)]
    )
    assert saved is not None and saved.content in last[0].content
    # the summary is reused: not every turn writes a new one
    assert len(summary_requests) < len(trimmed)


def test_regenerate_draws_a_fresh_seed_even_when_the_session_fixes_one(
    core: ChatCore, engine: FakeEngine
) -> None:
    engine.replies = ["a", "b", "c"]
    session = core.new_session()
    run(core.reply(session, "q", SamplingParams(seed=7)))
    user = core.sessions.history(session)[0]
    run(core.regenerate(session, user, SamplingParams(seed=7)))
    run(core.regenerate(session, user, SamplingParams(seed=7)))
    assert [p.seed for p in engine.params] == [7, None, None]
