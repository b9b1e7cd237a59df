"""Tests of the SQLite session store."""

from __future__ import annotations

import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
from fakes import orphan_streaming_replies

from chatcli.errors import NotFoundError, StoreError
from chatcli.store import SessionNameTakenError, Store
from chatcli.store import db as store_db
from chatcli.store import migrations as store_migrations
from chatcli.store import store as store_module
from chatcli.store.records import MessageRecord, SessionRecord

# -- fixtures and helpers -----------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _raw_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def _ids(messages: list[MessageRecord]) -> list[str]:
    return [message.id for message in messages]


def _fixed_ids(monkeypatch: pytest.MonkeyPatch, *ids: str) -> None:
    remaining = iter(ids)
    monkeypatch.setattr(store_module, "new_id", lambda: next(remaining))


# -- opening, files, migrations ---------------------------------------------------------


def test_database_file_is_private_and_its_directory_is_private(db_path: Path) -> None:
    with Store(db_path) as store:
        session = store.create_session(model="m")
        store.add_message(session.id, parent_id=None, role="user", content="hi")
        assert _mode(db_path) == 0o600
        assert _mode(db_path.parent) == 0o700
        wal = db_path.with_name(db_path.name + "-wal")
        if wal.exists():
            assert _mode(wal) == 0o600


def test_existing_database_file_with_loose_mode_is_made_private(db_path: Path) -> None:
    Store(db_path).close()
    db_path.chmod(0o644)
    Store(db_path).close()
    assert _mode(db_path) == 0o600


def test_database_uses_wal_journal_and_foreign_keys(store: Store) -> None:
    with store._locked() as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_reopening_applies_each_migration_only_once(db_path: Path) -> None:
    Store(db_path).close()
    Store(db_path).close()
    names = [row[0] for row in _raw_rows(db_path, "SELECT name FROM _migrations ORDER BY name")]
    assert names == [name for name, _ in store_migrations.MIGRATIONS]


def test_new_migration_is_applied_once_on_next_open(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(db_path).close()
    calls: list[str] = []

    def add_notes(connection: sqlite3.Connection) -> None:
        calls.append("002")
        connection.execute("CREATE TABLE notes (text TEXT)")

    extended = (*store_migrations.MIGRATIONS, ("002_notes", add_notes))
    monkeypatch.setattr(store_migrations, "MIGRATIONS", extended)
    Store(db_path).close()
    Store(db_path).close()
    assert calls == ["002"]
    assert ("002_notes",) in _raw_rows(db_path, "SELECT name FROM _migrations")


def test_failing_migration_is_rolled_back_and_not_recorded(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(connection: sqlite3.Connection) -> None:
        connection.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    extended = (*store_migrations.MIGRATIONS, ("002_broken", broken))
    monkeypatch.setattr(store_migrations, "MIGRATIONS", extended)
    with pytest.raises(RuntimeError):
        Store(db_path)
    tables = _raw_rows(db_path, "SELECT name FROM sqlite_master WHERE name = 'half_done'")
    assert tables == []
    assert ("002_broken",) not in _raw_rows(db_path, "SELECT name FROM _migrations")


def test_garbage_file_raises_store_error_naming_the_file(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not a database, just some text\n" * 100)
    with pytest.raises(StoreError) as caught:
        Store(db_path)
    message = str(caught.value)
    assert str(db_path) in message
    assert "\n" not in message
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_directory_in_place_of_database_raises_store_error(db_path: Path) -> None:
    db_path.mkdir(parents=True)
    with pytest.raises(StoreError, match=str(db_path)):
        Store(db_path)


def test_database_locked_by_another_writer_raises_store_error(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(db_path).close()
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_SECONDS", 0.05)
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="locked") as caught:
            Store(db_path)
        assert str(db_path) in str(caught.value)
    finally:
        other.close()


def test_using_a_closed_store_raises_store_error(db_path: Path) -> None:
    store = Store(db_path)
    store.close()
    store.close()
    with pytest.raises(StoreError, match=str(db_path)):
        store.list_sessions()


# -- sessions ---------------------------------------------------------------------------


def test_created_session_reads_back_with_all_fields(store: Store) -> None:
    created = store.create_session(
        model="smollm2",
        system_prompt="Be brief.",
        role="terse",
        sampling={"temperature": 0.2, "top_p": 0.9},
        name="work",
        title="Planning",
    )
    assert len(created.id) == 12
    int(created.id, 16)
    assert created.current_leaf is None
    assert store.get_session(created.id) == created


def test_session_defaults_are_empty(store: Store) -> None:
    session = store.get_session(store.create_session(model="m").id)
    assert (session.name, session.title, session.system_prompt) == (None, "", "")
    assert (session.role, session.sampling, session.current_leaf) == (None, {}, None)


def test_unknown_session_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no session 'nope'"):
        store.get_session("nope")


def test_second_session_with_the_same_name_is_refused(store: Store) -> None:
    store.create_session(model="m", name="work")
    with pytest.raises(SessionNameTakenError, match="a session named 'work' already exists"):
        store.create_session(model="m", name="work")


def test_renaming_to_a_taken_name_is_refused(store: Store) -> None:
    store.create_session(model="m", name="work")
    other = store.create_session(model="m", name="home")
    with pytest.raises(SessionNameTakenError):
        store.update_session(other.id, name="work")
    assert store.update_session(other.id, name="home").name == "home"


def test_find_session_by_name_id_and_unique_prefix(store: Store) -> None:
    named = store.create_session(model="m", name="work")
    plain = store.create_session(model="m")
    assert store.find_session("work") == named
    assert store.find_session(plain.id) == plain
    assert store.find_session(plain.id[:6]) == plain
    assert store.find_session(plain.id[:6].upper()) == plain
    assert store.find_session("nothing-like-this") is None


def test_find_session_ignores_prefixes_shorter_than_four(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fixed_ids(monkeypatch, "abcd00000001")
    store.create_session(model="m")
    assert store.find_session("abc") is None
    assert store.find_session("abcd") is not None


def test_find_session_with_ambiguous_prefix_says_so(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fixed_ids(monkeypatch, "abcd00000001", "abcd00000002")
    store.create_session(model="m")
    store.create_session(model="m")
    with pytest.raises(NotFoundError, match="ambiguous"):
        store.find_session("abcd")
    assert store.find_session("abcd00000002") is not None


def test_find_session_prefers_a_name_over_an_id(store: Store) -> None:
    target = store.create_session(model="m")
    named = store.create_session(model="m", name=target.id)
    assert store.find_session(target.id) == named


def test_latest_session_is_the_most_recently_updated(store: Store) -> None:
    assert store.latest_session() is None
    first = store.create_session(model="m")
    second = store.create_session(model="m")
    assert store.latest_session() == second
    store.add_message(first.id, parent_id=None, role="user", content="hello")
    latest = store.latest_session()
    assert latest is not None
    assert latest.id == first.id


def test_sessions_listed_newest_updated_first_with_limit(store: Store) -> None:
    ids = [store.create_session(model="m", title=f"s{n}").id for n in range(4)]
    store.update_session(ids[1], title="renamed")
    listed = [session.id for session in store.list_sessions()]
    assert listed == [ids[1], ids[3], ids[2], ids[0]]
    assert [session.id for session in store.list_sessions(limit=2)] == [ids[1], ids[3]]
    assert store.list_sessions(limit=0) == []
    with pytest.raises(ValueError):
        store.list_sessions(limit=-1)


def test_search_matches_title_or_name_case_insensitively(store: Store) -> None:
    by_title = store.create_session(model="m", title="Rust Borrow Checker")
    by_name = store.create_session(model="m", name="rusty-notes")
    store.create_session(model="m", title="Cooking")
    found = {session.id for session in store.list_sessions(search="RUST")}
    assert found == {by_title.id, by_name.id}
    assert store.list_sessions(search="") == store.list_sessions()


def test_search_treats_percent_underscore_and_backslash_literally(store: Store) -> None:
    percent = store.create_session(model="m", title="growth of 50% a year")
    underscore = store.create_session(model="m", title="snake_case names")
    backslash = store.create_session(model="m", title=r"C:\temp paths")
    store.create_session(model="m", title="growth of 500 a year")
    store.create_session(model="m", title="snakeXcase names")
    assert [s.id for s in store.list_sessions(search="50%")] == [percent.id]
    assert [s.id for s in store.list_sessions(search="%")] == [percent.id]
    assert [s.id for s in store.list_sessions(search="e_c")] == [underscore.id]
    assert [s.id for s in store.list_sessions(search="\\")] == [backslash.id]


def test_update_session_changes_given_fields_and_bumps_updated(store: Store) -> None:
    session = store.create_session(model="m", title="old")
    changed = store.update_session(
        session.id,
        title="new",
        model="other",
        system_prompt="sys",
        role="poet",
        sampling={"temperature": 1.5},
    )
    assert (changed.title, changed.model, changed.system_prompt) == ("new", "other", "sys")
    assert changed.role == "poet"
    assert changed.sampling == {"temperature": 1.5}
    assert changed.updated > session.updated
    assert changed.created == session.created
    assert store.get_session(session.id) == changed


def test_update_session_can_clear_name_and_role(store: Store) -> None:
    session = store.create_session(model="m", name="work", role="poet")
    changed = store.update_session(session.id, name="", role=None)
    assert (changed.name, changed.role) == (None, None)
    store.create_session(model="m", name="work")


def test_update_session_rejects_unknown_fields(store: Store) -> None:
    session = store.create_session(model="m")
    with pytest.raises(ValueError, match="colour"):
        store.update_session(session.id, colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        store.update_session(session.id, created=0.0)  # type: ignore[call-arg]


def test_update_session_rejects_a_leaf_from_elsewhere(store: Store) -> None:
    session = store.create_session(model="m")
    other = store.create_session(model="m")
    foreign = store.add_message(other.id, parent_id=None, role="user", content="x")
    with pytest.raises(NotFoundError):
        store.update_session(session.id, current_leaf=foreign.id)
    with pytest.raises(NotFoundError):
        store.update_session("missing", title="t")


def test_deleting_a_session_deletes_its_messages(store: Store, db_path: Path) -> None:
    doomed = store.create_session(model="m")
    kept = store.create_session(model="m")
    question = store.add_message(doomed.id, parent_id=None, role="user", content="q")
    store.add_message(doomed.id, parent_id=question.id, role="assistant", content="a")
    store.add_message(kept.id, parent_id=None, role="user", content="stays")
    store.delete_session(doomed.id)
    assert store.find_session(doomed.id) is None
    assert store.message_count(doomed.id) == 0
    with pytest.raises(NotFoundError):
        store.get_message(question.id)
    assert _raw_rows(db_path, "SELECT COUNT(*) FROM messages") == [(1,)]
    with pytest.raises(NotFoundError):
        store.delete_session(doomed.id)


# -- messages ---------------------------------------------------------------------------


def test_added_message_becomes_current_leaf_and_bumps_session(store: Store) -> None:
    session = store.create_session(model="m")
    message = store.add_message(session.id, parent_id=None, role="user", content="hello")
    assert store.get_message(message.id) == message
    after = store.get_session(session.id)
    assert after.current_leaf == message.id
    assert after.updated > session.updated


def test_message_metadata_round_trips(store: Store) -> None:
    session = store.create_session(model="m")
    reply = store.add_message(
        session.id,
        parent_id=None,
        role="assistant",
        content="done",
        model="SmolLM2",
        model_sha256="ab" * 32,
        sampling={"temperature": 0.7, "seed": 3},
        usage={"prompt_tokens": 10, "completion_tokens": 2},
        finish_reason="stop",
    )
    loaded = store.get_message(reply.id)
    assert loaded == reply
    assert loaded.sampling == {"temperature": 0.7, "seed": 3}
    assert loaded.usage == {"prompt_tokens": 10, "completion_tokens": 2}
    assert loaded.pinned is False


def test_first_user_message_titles_the_session(store: Store) -> None:
    session = store.create_session(model="m")
    store.add_message(session.id, parent_id=None, role="system", content="ignored")
    assert store.get_session(session.id).title == ""
    content = "\n  Explain   the\tborrow checker  \nwith examples"
    store.add_message(session.id, parent_id=None, role="user", content=content)
    assert store.get_session(session.id).title == "Explain the borrow checker"
    store.add_message(session.id, parent_id=None, role="user", content="second question")
    assert store.get_session(session.id).title == "Explain the borrow checker"


def test_long_first_line_is_cut_short_at_a_word_with_ellipsis(store: Store) -> None:
    session = store.create_session(model="m")
    store.add_message(session.id, parent_id=None, role="user", content="words " * 40)
    title = store.get_session(session.id).title
    assert title == "words " * 5 + "words…"  # a seventh would not fit: cut after a word
    assert len(title) <= 40


def test_one_very_long_word_is_cut_mid_word(store: Store) -> None:
    session = store.create_session(model="m")
    store.add_message(session.id, parent_id=None, role="user", content="x" * 100)
    assert store.get_session(session.id).title == "x" * 39 + "…"


def test_given_title_is_not_replaced_by_first_message(store: Store) -> None:
    session = store.create_session(model="m", title="Mine")
    store.add_message(session.id, parent_id=None, role="user", content="hello")
    assert store.get_session(session.id).title == "Mine"


def test_message_needs_an_existing_session_and_parent_in_it(store: Store) -> None:
    session = store.create_session(model="m")
    other = store.create_session(model="m")
    foreign = store.add_message(other.id, parent_id=None, role="user", content="x")
    with pytest.raises(NotFoundError, match="no session 'missing'"):
        store.add_message("missing", parent_id=None, role="user", content="x")
    with pytest.raises(NotFoundError):
        store.add_message(session.id, parent_id=foreign.id, role="user", content="x")
    assert store.message_count(session.id) == 0


def test_update_message_changes_only_given_fields(store: Store) -> None:
    session = store.create_session(model="m")
    reply = store.add_message(
        session.id, parent_id=None, role="assistant", content="", status="streaming", model="M"
    )
    store.update_message(reply.id, content="Hel")
    store.update_message(reply.id)
    partial = store.get_message(reply.id)
    assert (partial.content, partial.status, partial.model) == ("Hel", "streaming", "M")
    store.update_message(
        reply.id, content="Hello", status="complete", usage={"total": 3}, finish_reason="stop"
    )
    final = store.get_message(reply.id)
    assert (final.content, final.status, final.finish_reason) == ("Hello", "complete", "stop")
    assert final.usage == {"total": 3}
    with pytest.raises(NotFoundError, match="no message 'missing'"):
        store.update_message("missing", content="x")


def test_reply_saved_while_streaming_survives_reopen(db_path: Path) -> None:
    with Store(db_path) as store:
        session = store.create_session(model="m")
        question = store.add_message(session.id, parent_id=None, role="user", content="count")
        reply = store.add_message(
            session.id, parent_id=question.id, role="assistant", content="", status="streaming"
        )
        text = ""
        for word in ["one", " two", " three"]:
            text += word
            store.update_message(reply.id, content=text)
        with Store(db_path) as crashed_view:
            assert crashed_view.get_message(reply.id).content == "one two three"
    with Store(db_path) as reopened:
        assert _ids(reopened.tree.branch(session.id)) == [question.id, reply.id]
        saved = reopened.get_message(reply.id)
        assert (saved.content, saved.status) == ("one two three", "streaming")


def test_messages_left_streaming_are_marked_interrupted(store: Store, db_path: Path) -> None:
    session = store.create_session(model="m")
    done = store.add_message(session.id, parent_id=None, role="user", content="q")
    cut = store.add_message(
        session.id, parent_id=done.id, role="assistant", content="par", status="streaming"
    )
    assert store.mark_streaming_interrupted() == 0  # this process is still writing it
    orphan_streaming_replies(db_path)
    assert store.mark_streaming_interrupted() == 1
    repaired = store.get_message(cut.id)
    assert (repaired.status, repaired.finish_reason) == ("interrupted", "interrupted")
    assert store.get_message(done.id).status == "complete"
    assert store.mark_streaming_interrupted() == 0


def test_pinning_and_unpinning_a_message(store: Store) -> None:
    session = store.create_session(model="m")
    message = store.add_message(session.id, parent_id=None, role="user", content="keep")
    store.set_pinned(message.id, True)
    assert store.get_message(message.id).pinned is True
    store.set_pinned(message.id, False)
    assert store.get_message(message.id).pinned is False
    with pytest.raises(NotFoundError):
        store.set_pinned("missing", True)


def test_message_count_covers_every_branch(store: Store) -> None:
    session = store.create_session(model="m")
    assert store.message_count(session.id) == 0
    question = store.add_message(session.id, parent_id=None, role="user", content="q")
    store.add_message(session.id, parent_id=question.id, role="assistant", content="a1")
    store.add_message(session.id, parent_id=question.id, role="assistant", content="a2")
    assert store.message_count(session.id) == 3
    assert store.message_count("missing") == 0


def test_unknown_message_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no message 'nope'"):
        store.get_message("nope")


# -- branches ---------------------------------------------------------------------------


def test_two_replies_to_one_question_are_sibling_branches(store: Store) -> None:
    session = store.create_session(model="m")
    question = store.add_message(session.id, parent_id=None, role="user", content="q")
    first = store.add_message(session.id, parent_id=question.id, role="assistant", content="a1")
    second = store.add_message(session.id, parent_id=question.id, role="assistant", content="a2")
    assert _ids(store.tree.children(session.id, question.id)) == [first.id, second.id]
    assert _ids(store.tree.children(session.id, None)) == [question.id]
    assert store.tree.children(session.id, second.id) == []
    assert _ids(store.tree.branch(session.id)) == [question.id, second.id]
    assert _ids(store.tree.branch(session.id, first.id)) == [question.id, first.id]


def test_branch_follows_current_leaf_after_switching(store: Store) -> None:
    session = store.create_session(model="m")
    question = store.add_message(session.id, parent_id=None, role="user", content="q")
    first = store.add_message(session.id, parent_id=question.id, role="assistant", content="a1")
    store.add_message(session.id, parent_id=question.id, role="assistant", content="a2")
    store.update_session(session.id, current_leaf=first.id)
    assert _ids(store.tree.branch(session.id)) == [question.id, first.id]


def test_latest_leaf_follows_the_newest_child_down(store: Store) -> None:
    session = store.create_session(model="m")
    question = store.add_message(session.id, parent_id=None, role="user", content="q")
    first = store.add_message(session.id, parent_id=question.id, role="assistant", content="a1")
    follow_up = store.add_message(session.id, parent_id=first.id, role="user", content="q2")
    deep = store.add_message(session.id, parent_id=follow_up.id, role="assistant", content="a3")
    second = store.add_message(session.id, parent_id=question.id, role="assistant", content="a2")
    assert store.tree.latest_leaf(session.id, question.id) == second.id
    assert store.tree.latest_leaf(session.id, first.id) == deep.id
    assert store.tree.latest_leaf(session.id, deep.id) == deep.id
    with pytest.raises(NotFoundError):
        store.tree.latest_leaf(session.id, "missing")


def test_sibling_order_is_stable_when_timestamps_tie(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_000.0)
    session = store.create_session(model="m")
    question = store.add_message(session.id, parent_id=None, role="user", content="q")
    replies = [
        store.add_message(session.id, parent_id=question.id, role="assistant", content=str(n))
        for n in range(5)
    ]
    assert _ids(store.tree.children(session.id, question.id)) == _ids(replies)
    assert store.tree.latest_leaf(session.id, question.id) == replies[-1].id


def test_branch_of_empty_session_is_empty_and_unknown_leaf_is_not_found(store: Store) -> None:
    session = store.create_session(model="m")
    other = store.create_session(model="m")
    foreign = store.add_message(other.id, parent_id=None, role="user", content="x")
    assert store.tree.branch(session.id) == []
    with pytest.raises(NotFoundError):
        store.tree.branch(session.id, foreign.id)
    with pytest.raises(NotFoundError):
        store.tree.branch("missing")


def test_long_branch_is_returned_root_first(store: Store) -> None:
    session = store.create_session(model="m")
    parent: str | None = None
    expected: list[str] = []
    for n in range(50):
        role = "user" if n % 2 == 0 else "assistant"
        parent = store.add_message(session.id, parent_id=parent, role=role, content=str(n)).id
        expected.append(parent)
    assert _ids(store.tree.branch(session.id)) == expected


def test_branch_with_places_gives_each_message_its_sibling_place(store: Store) -> None:
    session = store.create_session(model="m")
    question = store.add_message(session.id, parent_id=None, role="user", content="q")
    store.add_message(session.id, parent_id=question.id, role="assistant", content="a1")
    second = store.add_message(session.id, parent_id=question.id, role="assistant", content="a2")
    follow = store.add_message(session.id, parent_id=second.id, role="user", content="q2")

    placed = store.tree.branch_with_places(session.id)

    assert [(m.id, index, count) for m, index, count in placed] == [
        (question.id, 0, 1),
        (second.id, 1, 2),
        (follow.id, 0, 1),
    ]
    assert [m for m, _, _ in placed] == store.tree.branch(session.id)


def chain_ending_in_two_replies(store: Store) -> tuple[SessionRecord, MessageRecord]:
    """A session of 30 messages in a row, then two replies to the last: (it, the first reply)."""
    session = store.create_session(model="m")
    parent: str | None = None
    for n in range(30):
        parent = store.add_message(session.id, parent_id=parent, role="user", content=str(n)).id
    other = store.add_message(session.id, parent_id=parent, role="assistant", content="a1")
    store.add_message(session.id, parent_id=parent, role="assistant", content="a2")
    return session, other


def test_branch_tail_reads_the_newest_messages_with_their_places(store: Store) -> None:
    session, other = chain_ending_in_two_replies(store)
    whole = store.tree.branch_with_places(session.id)

    tail, earlier = store.tree.branch_tail(session.id, 5)
    assert (tail, earlier) == (whole[-5:], 26)
    assert tail[-1][1:] == (1, 2)  # the second of two replies
    above, earlier = store.tree.branch_tail(session.id, 10, tail[0][0].parent_id)
    assert (above, earlier) == (whole[16:26], 16)
    assert store.tree.branch_tail(session.id, 100, other.id) == ([*whole[:-1], (other, 0, 2)], 0)
    assert store.tree.branch_tail(session.id, 0) == ([], 31)


def test_branch_window_reads_a_slice_around_a_message_with_what_lies_either_side(
    store: Store,
) -> None:
    session, other = chain_ending_in_two_replies(store)
    whole = store.tree.branch_with_places(session.id)
    anchor = whole[10][0].id

    assert store.tree.branch_window(session.id, anchor, -2, 5) == (whole[8:13], 8, 18)
    assert store.tree.branch_window(session.id, anchor, 1, 5) == (whole[11:16], 11, 15)
    assert store.tree.branch_window(session.id, anchor, -20, 3) == (whole[0:3], 0, 28)
    assert store.tree.branch_window(session.id, anchor, 0, 100) == (whole[10:], 10, 0)
    last = whole[-1][0].id
    assert store.tree.branch_window(session.id, last, 1, 5) == ([], 31, 0)
    on_other = store.tree.branch_window(session.id, anchor, 20, 5, other.id)
    assert on_other == ([(other, 0, 2)], 30, 0)
    with pytest.raises(NotFoundError, match="not on the branch"):
        store.tree.branch_window(session.id, other.id, 0, 5)  # a sibling of the shown leaf


def test_branch_around_is_the_newest_messages_when_they_hold_the_anchor(store: Store) -> None:
    session, _ = chain_ending_in_two_replies(store)
    whole = store.tree.branch_with_places(session.id)  # 31 messages
    newest, earlier = store.tree.branch_tail(session.id, 10)

    assert store.tree.branch_around(session.id, whole[25][0].id, 2, 10) == (newest, earlier, 0)
    assert store.tree.branch_around(session.id, whole[21][0].id, 2, 10) == (newest, 21, 0)
    assert store.tree.branch_around(session.id, whole[20][0].id, 2, 10) == (whole[18:28], 18, 3)
    assert store.tree.branch_around(session.id, whole[1][0].id, 2, 10) == (whole[0:10], 0, 21)
    assert store.tree.branch_around(session.id, whole[1][0].id, 2, 100) == (whole, 0, 0)


def test_branch_tail_of_an_empty_or_unknown_session_or_leaf(store: Store) -> None:
    session = store.create_session(model="m")
    assert store.tree.branch_tail(session.id, 5) == ([], 0)
    with pytest.raises(NotFoundError):
        store.tree.branch_tail("missing", 5)
    with pytest.raises(NotFoundError):
        store.tree.branch_tail(session.id, 5, "no-such-message")


def test_parent_links_that_loop_are_a_store_error_not_a_hang(store: Store, db_path: Path) -> None:
    session = store.create_session(model="m")
    first = store.add_message(session.id, parent_id=None, role="user", content="q")
    second = store.add_message(session.id, parent_id=first.id, role="assistant", content="a")
    with sqlite3.connect(db_path) as raw:  # what a hand-edited database can hold
        raw.execute("UPDATE messages SET parent_id = ? WHERE id = ?", (second.id, first.id))

    with pytest.raises(StoreError, match="link in a loop"):
        store.tree.branch(session.id)
    with pytest.raises(StoreError, match="link in a loop"):
        store.tree.branch_tail(session.id, 1)
    assert store.message_count(session.id) == 2  # nothing was changed


# -- threads ----------------------------------------------------------------------------


def test_concurrent_writers_and_a_reader_lose_nothing(store: Store) -> None:
    session = store.create_session(model="m")
    per_thread = 200
    start = threading.Barrier(3)
    failures: list[BaseException] = []

    def write(label: str) -> None:
        try:
            start.wait()
            parent: str | None = None
            for n in range(per_thread):
                message = store.add_message(
                    session.id, parent_id=parent, role="user", content=f"{label}{n}"
                )
                store.update_message(message.id, content=f"{label}{n}!")
                parent = message.id
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    def read() -> None:
        try:
            start.wait()
            for _ in range(100):
                store.list_sessions()
                store.tree.branch(session.id)
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(label,)) for label in "ab"]
    threads.append(threading.Thread(target=read))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert store.message_count(session.id) == 2 * per_thread
    roots = store.tree.children(session.id, None)
    for root in roots:
        leaf = store.tree.latest_leaf(session.id, root.id)
        chain = store.tree.branch(session.id, leaf)
        assert len(chain) == per_thread
        assert all(message.content.endswith("!") for message in chain)


def test_sibling_positions_of_every_message_in_one_call(tmp_path: Path) -> None:
    with Store.open(tmp_path / "positions.db") as store:
        session = store.create_session(model="m")
        question = store.add_message(session.id, parent_id=None, role="user", content="q")
        first = store.add_message(session.id, parent_id=question.id, role="assistant", content="a")
        second = store.add_message(session.id, parent_id=question.id, role="assistant", content="b")
        positions = store.tree.sibling_positions(session.id)
        assert positions == {question.id: (0, 1), first.id: (0, 2), second.id: (1, 2)}
        for message in (question, first, second):
            siblings = [m.id for m in store.tree.children(session.id, message.parent_id)]
            assert positions[message.id] == (siblings.index(message.id), len(siblings))


def test_a_snapshot_inside_a_transaction_shares_it_and_leaves_it_open(db_path: Path) -> None:
    with Store.open(db_path):
        pass  # the schema
    connection = sqlite3.connect(db_path, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO sessions (id, created, updated, model) VALUES ('s', 1, 1, 'm')")
    with store_db.snapshot(connection) as reading:
        assert reading.execute("SELECT COUNT(*) FROM sessions").fetchone() == (1,)
    assert connection.in_transaction  # the writer's transaction is still its own to end
    connection.execute("COMMIT")
    with store_db.snapshot(connection):
        assert connection.in_transaction
    assert not connection.in_transaction
    connection.close()
