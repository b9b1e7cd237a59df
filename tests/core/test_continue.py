"""Continuing a reply that was cut at the length limit or stopped, on the same message."""

from __future__ import annotations

import pytest
from fakes import FakeEngine, run_reply

from chatcli.core.chat import ChatCore
from chatcli.engine.base import ChatMessage
from chatcli.engine.params import SamplingParams
from chatcli.errors import UsageError


def test_a_cut_reply_grows_in_place(core: ChatCore, engine: FakeEngine) -> None:
    engine.replies = ["one two three four", "five six"]
    session = core.new_session(system_prompt="sys")
    _, cut, _ = run_reply(core.reply(session, "count", SamplingParams(max_tokens=2)))
    assert cut.finish_reason == "length"

    text, done, _ = run_reply(core.continue_reply(session, cut.message, SamplingParams()))

    assert text == "five six"
    assert done.message.id == cut.message.id
    assert done.message.content == "one two five six"
    assert done.message.usage is not None and done.message.usage["completion_tokens"] == 4
    assert (done.finish_reason, done.message.status) == ("stop", "complete")
    sent = engine.requests[-1]
    assert sent[-2:] == [ChatMessage("user", "count"), ChatMessage("assistant", "one two ")]
    assert [m.id for m in core.sessions.history(session)] == [
        cut.message.parent_id,
        cut.message.id,
    ]


def test_an_interrupted_reply_can_be_continued(core: ChatCore, engine: FakeEngine) -> None:
    engine.replies = ["a b c", "d"]
    session = core.new_session()
    events = core.reply(session, "go", SamplingParams())
    for event in events:
        if getattr(event, "text", None):
            break
    events.close()
    reply = core.sessions.history(session)[-1]
    assert reply.status == "interrupted"

    _, done, _ = run_reply(core.continue_reply(session, reply, SamplingParams()))

    assert done.message.content == "a d"


@pytest.mark.parametrize("which", ["finished", "question"])
def test_only_a_cut_reply_can_be_continued(core: ChatCore, which: str) -> None:
    session = core.new_session()
    run_reply(core.reply(session, "hi", SamplingParams()))
    question, reply = core.sessions.history(session)

    with pytest.raises(UsageError):
        list(
            core.continue_reply(
                session, reply if which == "finished" else question, SamplingParams()
            )
        )
    assert core.sessions.history(session)[-1].content == reply.content
