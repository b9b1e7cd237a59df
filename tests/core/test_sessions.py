"""The sessions API: what every front end does to a saved session, on a real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeEngine, orphan_streaming_replies

from chatcli.core.chat import ChatCore
from chatcli.core.sessions import Sessions, ShownBranch
from chatcli.engine.params import SamplingParams
from chatcli.errors import NotFoundError, UsageError
from chatcli.store.records import SessionRecord


def _talk(core: ChatCore, session: SessionRecord, *texts: str) -> None:
    for text in texts:
        list(core.reply(session, text, SamplingParams()))


def test_find_by_name_id_and_prefix(core: ChatCore) -> None:
    session = core.new_session(name="work")
    sessions = core.sessions

    assert sessions.find("  work ") == session  # names are trimmed as when they were given
    assert sessions.find(session.id) == session
    assert sessions.find(session.id[:6]) == session
    assert sessions.find("nope") is None
    with pytest.raises(NotFoundError, match="no session 'nope'"):
        sessions.require("nope")


def test_requested_session_rules(core: ChatCore) -> None:
    sessions = core.sessions
    with pytest.raises(NotFoundError, match="no saved session"):
        sessions.requested(continue_latest=True, name=None)
    older = core.new_session(name="a")
    newer = core.new_session(name="b")

    assert sessions.requested(continue_latest=True, name=None) == newer
    assert sessions.requested(continue_latest=False, name="a") == older
    assert sessions.requested(continue_latest=False, name="new one") is None
    with pytest.raises(UsageError, match="not both"):
        sessions.requested(continue_latest=True, name="a")


def test_summaries_count_messages_and_list_newest_first(core: ChatCore) -> None:
    first = core.new_session()
    second = core.new_session()
    _talk(core, first, "hi")

    listed = core.sessions.summaries()

    assert [(s.session.id, s.messages) for s in listed] == [(first.id, 2), (second.id, 0)]
    assert listed[0].to_dict()["messages"] == 2


def test_rename_delete_and_discard(core: ChatCore) -> None:
    sessions = core.sessions
    used, empty = core.new_session(), core.new_session()
    _talk(core, used, "hi")

    assert sessions.rename(used, "Trip").title == "Trip"
    assert sessions.discard_if_empty(used) is False
    assert sessions.discard_if_empty(empty) is True
    sessions.delete(used)
    assert sessions.recent() == []


def test_system_prompt_from_a_role_or_custom(core: ChatCore) -> None:
    session = core.new_session()

    coded = core.sessions.set_system_prompt(session, role="code")
    custom = core.sessions.set_system_prompt(coded, role=None, prompt="Talk like a pirate.")

    assert coded.role == "code" and "code" in coded.system_prompt.lower()
    assert (custom.role, custom.system_prompt) == (None, "Talk like a pirate.")


def test_change_settings_keeps_what_is_not_given(core: ChatCore) -> None:
    session = core.new_session()
    sized = core.sessions.change_settings(session, context_length=2048, overflow="error")

    resampled = core.sessions.change_settings(sized, sampling={"temperature": 0.0})
    cleared = core.sessions.change_settings(resampled, clear_context_length=True)

    assert (resampled.context_length, resampled.overflow) == (2048, "error")
    assert resampled.sampling == {"temperature": 0.0}
    assert cleared.context_length is None and cleared.overflow == "error"


def test_branches_switch_pin_and_positions(core: ChatCore, engine: FakeEngine) -> None:
    engine.replies = ["one", "two"]
    session = core.new_session()
    _talk(core, session, "question")
    question, first = core.sessions.history(session)
    list(core.regenerate(session, question, SamplingParams()))
    second = core.sessions.history(session)[-1]

    assert [s.sibling_index for s in core.sessions.shown(session)] == [0, 1]
    assert core.sessions.position(first) == (0, 2)
    switched, shown = core.sessions.switch_branch(session, second, -1)
    assert shown == first and switched.current_leaf == first.id
    assert core.sessions.question_of(second) == question
    assert core.sessions.pin(question, True).pinned is True


def test_the_newest_messages_and_those_above_them_are_read_in_parts(core: ChatCore) -> None:
    session = core.new_session()
    _talk(core, session, *(f"question {n}" for n in range(5)))
    whole = core.sessions.shown(session)

    newest = core.sessions.shown_tail(session, 4)
    assert (newest.messages, newest.earlier) == (whole[-4:], 6)
    above = core.sessions.shown_before(newest.messages[0].record, 4)
    assert (above.messages, above.earlier) == (whole[2:6], 2)
    assert core.sessions.shown_before(whole[0].record, 4) == ShownBranch([], 0)
    up_to_second = core.sessions.shown_tail(session, 4, whole[1].record.id)
    assert (up_to_second.messages, up_to_second.earlier) == (whole[:2], 0)


def test_rewind_moves_the_shown_branch(core: ChatCore) -> None:
    session = core.new_session()
    _talk(core, session, "a", "b")
    history = core.sessions.history(session)

    rewound = core.sessions.rewind(session, history[1].id)

    assert [m.id for m in core.sessions.history(rewound)] == [m.id for m in history[:2]]


def test_recover_interrupted_marks_streaming_replies(core: ChatCore, db_path: Path) -> None:
    session = core.new_session()
    events = core.reply(session, "hi there friend", SamplingParams())
    next(events), next(events)  # the user message and the empty reply are saved
    assert core.sessions.recover_interrupted() == 0  # its writer (this process) is alive
    orphan_streaming_replies(db_path)
    assert core.sessions.recover_interrupted() == 1
    events.close()
    assert core.sessions.history(session)[-1].status == "interrupted"


def test_a_core_with_another_engine_shares_the_sessions(core: ChatCore) -> None:
    other = core.with_engine(FakeEngine(model_name="other"), core.settings)

    assert other.sessions is core.sessions
    assert isinstance(other.sessions, Sessions)
