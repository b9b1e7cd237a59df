"""Full-text search: the FTS5 index follows every change, ranks well, and refuses bad queries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fakes import orphan_streaming_replies

from chatcli.errors import UsageError
from chatcli.store import migrations as store_migrations
from chatcli.store.store import Store


def _say(store: Store, session_id: str, *texts: str) -> list[str]:
    parent, ids = None, []
    for index, text in enumerate(texts):
        role = "user" if index % 2 == 0 else "assistant"
        message = store.add_message(session_id, parent_id=parent, role=role, content=text)
        parent = message.id
        ids.append(message.id)
    return ids


def _found(
    store: Store, query: str, *, role: str | None = None, session_id: str | None = None
) -> list[str]:
    hits = store.search.find(query, role=role, session_id=session_id)
    return [hit.message.content for hit in hits]


def test_words_phrases_prefixes_and_or(store: Store) -> None:
    session = store.create_session(model="m", name="trip")
    _say(
        store,
        session.id,
        "Plan a day in Lyon",
        "Visit the old town of Lyon and eat well",
        "What about Paris?",
        "Paris has the Louvre",
    )

    assert set(_found(store, "lyon")) == {
        "Plan a day in Lyon",
        "Visit the old town of Lyon and eat well",
    }
    assert _found(store, '"old town"') == ["Visit the old town of Lyon and eat well"]
    assert set(_found(store, "Lou*")) == {"Paris has the Louvre"}
    assert len(_found(store, "louvre OR lyon")) == 3


def test_diacritics_and_case_are_folded(store: Store) -> None:
    session = store.create_session(model="m")
    _say(store, session.id, "Un café à Montréal, s'il vous plaît")

    assert _found(store, "cafe montreal") == ["Un café à Montréal, s'il vous plaît"]
    assert _found(store, "PLAIT") == ["Un café à Montréal, s'il vous plaît"]


def test_an_exact_phrase_ranks_first(store: Store) -> None:
    session = store.create_session(model="m")
    _say(
        store,
        session.id,
        "the red car and a blue boat",
        "boat words red words car words",
        "a red car",
        "red red red",
    )

    assert _found(store, '"red car" OR red OR car')[0] == "a red car"


def test_filters_by_role_and_session_and_marks_the_snippet(store: Store) -> None:
    first = store.create_session(model="m", name="one")
    second = store.create_session(model="m", name="two")
    _say(store, first.id, "apples please", "here are apples")
    _say(store, second.id, "more apples")

    assert _found(store, "apples", role="assistant") == ["here are apples"]
    assert _found(store, "apples", session_id=second.id) == ["more apples"]
    (hit,) = store.search.find("please")
    assert hit.snippet == "apples «please»" and hit.session_name == "one"
    assert hit.to_dict()["message"]["id"] == hit.message.id


def test_the_index_follows_edits_deletes_and_streaming(store: Store) -> None:
    session = store.create_session(model="m")
    (user,) = _say(store, session.id, "tell me about comets")
    reply = store.add_message(
        session.id, parent_id=user, role="assistant", content="", status="streaming"
    )
    store.update_message(reply.id, content="Comets are icy")
    assert _found(store, "icy") == []  # not indexed while it streams
    store.update_message(reply.id, content="Comets are icy bodies", status="complete")
    assert _found(store, "icy") == ["Comets are icy bodies"]
    store.update_message(reply.id, content="Comets are dusty")
    assert _found(store, "icy") == [] and _found(store, "dusty") == ["Comets are dusty"]
    store.delete_session(session.id)
    assert _found(store, "comets") == []


def test_an_interrupted_stream_is_indexed_once_marked(store: Store, db_path: Path) -> None:
    session = store.create_session(model="m")
    (user,) = _say(store, session.id, "q")
    store.add_message(
        session.id, parent_id=user, role="assistant", content="half a thought", status="streaming"
    )
    orphan_streaming_replies(db_path)
    store.mark_streaming_interrupted()

    assert _found(store, "thought") == ["half a thought"]


@pytest.mark.parametrize("query", ['"unclosed', "AND", "a NEAR(", "   "])
def test_a_malformed_query_is_a_usage_error(store: Store, query: str) -> None:
    with pytest.raises(UsageError):
        store.search.find(query)


def test_an_existing_database_is_backfilled(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = tuple(m for m in store_migrations.MIGRATIONS if m[0] != "006_message_search")
    monkeypatch.setattr(store_migrations, "MIGRATIONS", before)
    with Store.open(db_path) as old:
        session = old.create_session(model="m")
        _say(old, session.id, "written before search existed")
    monkeypatch.undo()

    with Store.open(db_path) as upgraded:
        assert _found(upgraded, "existed") == ["written before search existed"]
    with sqlite3.connect(db_path) as raw:  # the index is consistent with its content table
        raw.execute("INSERT INTO message_search(message_search) VALUES ('integrity-check')")


def test_a_session_deleted_by_another_chatcli_mid_search_still_fills_the_limit(
    store: Store, db_path: Path
) -> None:
    """The ranking and the reading of the best rows see one state of the database."""
    for name in ("first", "second"):
        session = store.create_session(model="m", name=name)
        _say(store, session.id, f"lighthouse in the {name} chat")
    other = Store.open(db_path)  # another process's connection, as far as SQLite can tell
    deleted: list[str] = []

    def delete_once_ranked(statement: str) -> None:
        if "snippet(message_search" in statement and not deleted:  # reading the best row
            victim = other.list_sessions()[0]
            other.delete_session(victim.id)
            deleted.append(victim.id)

    store._connection.set_trace_callback(delete_once_ranked)
    try:
        hits = store.search.find("lighthouse", limit=2)
    finally:
        store._connection.set_trace_callback(None)
        other.close()
    assert deleted and len(hits) == 2  # as the database stood when the search began
    assert len(store.search.find("lighthouse")) == 1  # and the next search sees the delete
