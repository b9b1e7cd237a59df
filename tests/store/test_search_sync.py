"""The search index never drifts from the messages: a property test over random histories.

Random sequences of asks, edits (new branches), regenerations, branch switches, continued
replies, deleted sessions (one, or all older than a time), and imports; after every step,
searching for each message's unique word finds exactly the live messages that contain it.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterable
from pathlib import Path

from fakes import FakeEngine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.core.portable import export_sessions, import_bundles, read_export
from chatcli.engine.base import ChatMessage
from chatcli.engine.params import SamplingParams
from chatcli.store.records import MessageRecord, SessionRecord
from chatcli.store.store import Store

PARAMS = SamplingParams(temperature=0)
CUT = SamplingParams(temperature=0, max_tokens=1)


class SearchFollowsTheMessages(RuleBasedStateMachine):
    """Drives the chat core and the sessions API; checks the index after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory(prefix="chatcli-sync-")
        self.store = Store.open(Path(self.folder.name) / "chat.db")
        self.words = (f"w{n}x" for n in itertools.count())
        self.used: list[str] = []
        self.core = ChatCore(FakeEngine(responder=self._answer), self.store, Settings())

    def _word(self) -> str:
        word = next(self.words)
        self.used.append(word)
        return word

    def _answer(self, messages: list[ChatMessage]) -> str:
        return f"reply {self._word()} and {self._word()}"  # two words: max_tokens=1 cuts it

    def _sessions(self) -> list[SessionRecord]:
        return self.core.sessions.recent()

    def _drain(self, events: Iterable[object]) -> None:
        for _ in events:
            pass

    @initialize()
    def first_chat(self) -> None:
        self.ask_new()

    @rule()
    def ask_new(self) -> None:
        session = self.core.new_session()
        self._drain(self.core.reply(session, f"question {self._word()}", PARAMS))

    @rule(pick=st.integers(0, 99), cut=st.booleans())
    def ask_again(self, pick: int, cut: bool) -> None:
        sessions = self._sessions()
        if sessions:
            session = sessions[pick % len(sessions)]
            self._drain(self.core.reply(session, f"more {self._word()}", CUT if cut else PARAMS))

    def _shown(self, pick: int, role: str) -> tuple[SessionRecord, MessageRecord] | None:
        sessions = self._sessions()
        if not sessions:
            return None
        session = sessions[pick % len(sessions)]
        shown = [m for m in self.core.sessions.history(session) if m.role == role]
        return (session, shown[pick % len(shown)]) if shown else None

    @rule(pick=st.integers(0, 99))
    def edit(self, pick: int) -> None:
        found = self._shown(pick, "user")
        if found:
            session, original = found
            self._drain(self.core.edit(session, original, f"edited {self._word()}", PARAMS))

    @rule(pick=st.integers(0, 99))
    def regenerate(self, pick: int) -> None:
        found = self._shown(pick, "user")
        if found:
            session, question = found
            self.core.sessions.rewind(session, question.id)
            self._drain(self.core.regenerate(session, question, PARAMS))

    @rule(pick=st.integers(0, 99), step=st.sampled_from([-1, 1]))
    def switch_branch(self, pick: int, step: int) -> None:
        found = self._shown(pick, "assistant")
        if found:
            self.core.sessions.switch_branch(*found, step)

    @rule(pick=st.integers(0, 99))
    def continue_a_cut_reply(self, pick: int) -> None:
        found = self._shown(pick, "assistant")
        if found and found[1].finish_reason == "length":
            session, reply = found
            if not self.store.tree.children(session.id, reply.id):
                self._drain(self.core.continue_reply(session, reply, PARAMS))

    @precondition(lambda self: len(self._sessions()) > 1)
    @rule(pick=st.integers(0, 99))
    def delete_one(self, pick: int) -> None:
        sessions = self._sessions()
        self.core.sessions.delete(sessions[pick % len(sessions)])

    @rule(pick=st.integers(0, 99))
    def delete_older_than(self, pick: int) -> None:
        # What ``sessions delete --older-than`` does, with the cutoff at one session's time.
        sessions = self._sessions()
        if sessions:
            cutoff = sessions[pick % len(sessions)].updated
            for session in sessions:
                if session.updated < cutoff:
                    self.core.sessions.delete(session)

    @rule(pick=st.integers(0, 99))
    def import_a_copy(self, pick: int) -> None:
        sessions = self._sessions()
        if sessions:
            exported = export_sessions(self.core.sessions, [sessions[pick % len(sessions)]])
            import_bundles(self.core.sessions, read_export(exported))  # new ids: a second copy

    @invariant()
    def every_word_finds_exactly_the_live_messages_holding_it(self) -> None:
        live = [
            message
            for session in self._sessions()
            for message in self.store.bulk.messages_of(session.id)
        ]
        for word in self.used:
            holding = {m.id for m in live if word in m.content.split()}
            hits = self.core.sessions.search(word, limit=1000)
            assert {hit.message.id for hit in hits} == holding, word
            assert len(hits) == len(holding), word

    def teardown(self) -> None:
        self.store.close()
        self.folder.cleanup()


SearchFollowsTheMessages.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_search_follows_every_change = SearchFollowsTheMessages.TestCase


FILLER = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]


@settings(max_examples=30, deadline=None)
@given(
    fillers=st.lists(
        st.lists(st.sampled_from(FILLER), min_size=2, max_size=2), min_size=1, max_size=6
    ),
    at=st.integers(0, 6),
)
def test_the_exact_phrase_ranks_above_the_same_words_apart(
    fillers: list[list[str]], at: int
) -> None:
    # Every text holds "coffee" and "market" once and is as long; only one has them side by side.
    texts = [f"coffee {a} {b} market" for a, b in fillers]
    texts.insert(at % (len(texts) + 1), "alpha coffee market beta")
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "c.db") as store:
        session = store.create_session(model="m")
        for text in texts:
            store.add_message(session.id, parent_id=None, role="user", content=text)
        hits = store.search.find('"coffee market" OR coffee market')
    assert hits[0].message.content == "alpha coffee market beta"
    assert len(hits) == len(texts)
