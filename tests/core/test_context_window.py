"""The remembered context window: a long chat's prompt keeps its prefix between drops."""

from __future__ import annotations

import itertools

import pytest
from fakes import MESSAGE_OVERHEAD, FakeEngine, fake_tokens
from fakes import run_reply as run

from chatcli.config import Settings
from chatcli.core import planning
from chatcli.core.budget import DROP_TARGET, reply_reserve
from chatcli.core.chat import ChatCore
from chatcli.engine.base import ChatMessage
from chatcli.engine.params import SamplingParams
from chatcli.store.records import SessionRecord
from chatcli.store.store import Store
from chatcli.store.tree import Placed

CONTEXT = 400
MAX_TOKENS = 40
PARAMS = SamplingParams(max_tokens=MAX_TOKENS)
REPLY = " ".join(["word"] * 12)


def question(n: int) -> str:
    return f"tell me fact number {n} about the ocean please"


def turn_tokens() -> int:
    return 2 * MESSAGE_OVERHEAD + len(fake_tokens(question(10))) + len(fake_tokens(REPLY))


@pytest.fixture
def small_engine() -> FakeEngine:
    return FakeEngine(context_length=CONTEXT, responder=lambda _: REPLY)


@pytest.fixture
def small_core(small_engine: FakeEngine, store: Store) -> ChatCore:
    return ChatCore(small_engine, store, Settings())


def chat(core: ChatCore, session: SessionRecord, turns: range) -> None:
    for n in turns:
        run(core.reply(session, question(n), PARAMS))


def is_continuation(previous: list[ChatMessage], current: list[ChatMessage]) -> bool:
    """Whether ``current`` starts with ``previous`` plus the reply to its last message."""
    return current[: len(previous) + 1] == [*previous, ChatMessage("assistant", REPLY)]


def drop_turns(requests: list[list[ChatMessage]]) -> list[int]:
    return [i for i in range(1, len(requests)) if not is_continuation(requests[i - 1], requests[i])]


def test_forty_turns_past_the_context_keep_the_prefix_between_rare_drops(
    small_core: ChatCore, small_engine: FakeEngine
) -> None:
    chat(small_core, small_core.new_session(), range(40))
    drops = drop_turns(small_engine.requests)
    assert len(drops) >= 3, "the chat must outgrow the context several times"
    room = CONTEXT - reply_reserve(CONTEXT, MAX_TOKENS)
    least_gap = int(room * (1 - DROP_TARGET)) // turn_tokens()
    assert all(b - a >= least_gap for a, b in itertools.pairwise(drops)), drops
    for request in small_engine.requests:
        assert small_engine.count_tokens(request) <= room


def test_the_window_is_remembered_by_a_new_process(store: Store) -> None:
    in_process = FakeEngine(context_length=CONTEXT, responder=lambda _: REPLY)
    core = ChatCore(in_process, store, Settings())
    chat(core, core.new_session(), range(30))
    per_process = FakeEngine(context_length=CONTEXT, responder=lambda _: REPLY)
    session = ChatCore(per_process, store, Settings()).new_session()
    for n in range(30):  # each turn from a fresh core, as `ask -c` would
        run(ChatCore(per_process, store, Settings()).reply(session, question(n), PARAMS))
    assert drop_turns(per_process.requests) == drop_turns(in_process.requests)
    assert len(drop_turns(per_process.requests)) >= 2


def test_context_count_is_what_the_next_prompt_holds(
    small_core: ChatCore, small_engine: FakeEngine
) -> None:
    session = small_core.new_session()
    checked = 0
    for n in range(30):
        counted = small_core.count_context(session)
        run(small_core.reply(session, question(n), PARAMS))
        requests = small_engine.requests
        if len(requests) > 1 and is_continuation(requests[-2], requests[-1]):
            assert counted == small_engine.count_tokens(requests[-1][:-1])
            checked += 1
    assert checked >= 20


def test_a_pinned_message_before_the_window_is_still_sent(
    small_core: ChatCore, small_engine: FakeEngine, store: Store
) -> None:
    session = small_core.new_session()
    chat(small_core, session, range(2))
    first = store.tree.branch(session.id)[0]
    store.set_pinned(first.id, True)
    chat(small_core, session, range(2, 30))
    last = small_engine.requests[-1]
    assert last[1].content == question(0)
    drops = drop_turns(small_engine.requests[2:])
    assert drops, "the chat must have dropped turns"


def test_an_edit_of_an_early_message_plans_its_new_branch_afresh(
    small_core: ChatCore, small_engine: FakeEngine, store: Store
) -> None:
    session = small_core.new_session()
    chat(small_core, session, range(25))
    early = store.tree.branch(session.id)[2]
    run(small_core.edit(session, early, "an edited question", PARAMS))
    sent = small_engine.requests[-1]
    assert [m.content for m in sent[1:]] == [question(0), REPLY, "an edited question"]


def test_a_larger_context_sends_the_whole_history_again(
    small_engine: FakeEngine, store: Store
) -> None:
    session = ChatCore(small_engine, store, Settings()).new_session()
    chat(ChatCore(small_engine, store, Settings()), session, range(20))
    assert small_engine.requests[-1][1].content != question(0)
    bigger = FakeEngine(context_length=8192, responder=lambda _: REPLY)
    run(ChatCore(bigger, store, Settings()).reply(session, question(20), PARAMS))
    assert bigger.requests[-1][1].content == question(0)


def test_a_longer_system_prompt_moves_the_window_only_when_it_must(
    small_core: ChatCore, small_engine: FakeEngine, store: Store
) -> None:
    session = small_core.new_session()
    chat(small_core, session, range(20))
    store.update_session(session.id, system_prompt=" ".join(["rule"] * 60))
    session = store.get_session(session.id)
    run(small_core.reply(session, question(20), PARAMS))
    room = CONTEXT - reply_reserve(CONTEXT, MAX_TOKENS)
    assert small_engine.count_tokens(small_engine.requests[-1]) <= room
    run(small_core.reply(session, question(21), PARAMS))
    assert is_continuation(small_engine.requests[-2], small_engine.requests[-1])


def reads_of_tails(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many messages each branch-tail read asks for."""
    reads: list[int] = []
    read = store.tree.branch_tail

    def recorded(
        session_id: str, last: int, leaf_id: str | None = None
    ) -> tuple[list[Placed], int]:
        reads.append(last)
        return read(session_id, last, leaf_id)

    monkeypatch.setattr(store.tree, "branch_tail", recorded)
    return reads


def counts_match_each_next_prompt(
    core: ChatCore, engine: FakeEngine, session: SessionRecord, turns: range
) -> int:
    """Count the context before each turn; check it against the prompt the turn then sent.

    Returns how many turns were checked (a turn that dropped more is not comparable).
    """
    checked = 0
    for n in turns:
        counted = core.count_context(session)
        run(core.reply(session, question(n), PARAMS))
        if is_continuation(engine.requests[-2], engine.requests[-1]):
            assert counted == engine.count_tokens(engine.requests[-1][:-1])
            checked += 1
    return checked


def test_the_count_reads_only_the_tail_that_holds_the_window_start(
    small_core: ChatCore, small_engine: FakeEngine, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planning, "FIRST_TAIL_READ", 2)  # then 8, 32: the window is in 32
    session = small_core.new_session()
    chat(small_core, session, range(30))
    reads = reads_of_tails(store, monkeypatch)
    assert counts_match_each_next_prompt(small_core, small_engine, session, range(30, 45)) >= 10
    assert max(reads) == 32 < 60, "the whole branch was read"


def test_with_a_pin_before_the_window_the_count_still_holds_it(
    small_core: ChatCore, small_engine: FakeEngine, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planning, "FIRST_TAIL_READ", 4)
    session = small_core.new_session()
    chat(small_core, session, range(2))
    store.set_pinned(store.tree.branch(session.id)[0].id, True)
    chat(small_core, session, range(2, 30))
    assert counts_match_each_next_prompt(small_core, small_engine, session, range(30, 45)) >= 10
    assert small_engine.requests[-1][1].content == question(0)  # the pinned question


def test_a_long_branch_without_a_window_is_counted_from_a_tail_past_the_context(
    small_core: ChatCore, small_engine: FakeEngine, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = small_core.new_session()
    parent = None
    for n in range(600):  # imported, say: no window remembered, far over the context
        role = "user" if n % 2 == 0 else "assistant"
        text = question(n) if role == "user" else REPLY
        parent = store.add_message(session.id, parent_id=parent, role=role, content=text).id
    reads = reads_of_tails(store, monkeypatch)
    counted = small_core.count_context(session)
    assert CONTEXT < counted < 600 * turn_tokens() // 2
    assert reads == [planning.FIRST_TAIL_READ]
