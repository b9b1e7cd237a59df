"""Export and import: exact round trips of whole trees; bad files refused, nothing written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatcli.core.portable import export_sessions, export_text, import_bundles, read_export
from chatcli.core.sessions import Sessions
from chatcli.errors import BadFileError, StoreError
from chatcli.store.store import Store

TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)


def _grow(store: Store, shape: list[tuple[int, str, bool]], name: str | None) -> str:
    """A session whose messages hang off earlier ones as ``shape`` says (parent index % n)."""
    session = store.create_session(model="m", name=name, sampling={"temperature": 0.5})
    ids: list[str] = []
    for index, (parent, text, pinned) in enumerate(shape):
        parent_id = ids[parent % len(ids)] if ids and parent >= 0 else None
        role = "user" if index % 2 == 0 else "assistant"
        message = store.add_message(
            session.id,
            parent_id=parent_id,
            role=role,
            content=text,
            usage={"completion_tokens": index} if role == "assistant" else None,
        )
        store.set_pinned(message.id, pinned)
        ids.append(message.id)
    if ids:
        store.summaries.add(session.id, ids[-1], "a summary")
    return session.id


def _without_time(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "exported"}


SHAPES = st.lists(st.tuples(st.integers(-1, 30), TEXT, st.booleans()), max_size=12)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(shapes=st.lists(SHAPES, min_size=1, max_size=3))
def test_export_import_export_is_exact(
    tmp_path_factory: pytest.TempPathFactory, shapes: Any
) -> None:
    folder = tmp_path_factory.mktemp("trip")
    with Store.open(folder / "a.db") as first, Store.open(folder / "b.db") as second:
        for number, shape in enumerate(shapes):
            _grow(first, shape, name=f"s{number}")
        origin = Sessions(first)
        exported = json.loads(export_text(export_sessions(origin, origin.recent())))

        notices = import_bundles(Sessions(second), read_export(exported))

        target = Sessions(second)
        again = export_sessions(target, target.recent())
        assert notices == []
        assert _without_time(again) == _without_time(exported)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=30,
)


@given(document=st.dictionaries(TEXT, JSON_VALUES, max_size=5))
def test_the_export_text_is_the_documents_json(document: dict[str, Any]) -> None:
    assert json.loads(export_text(document)) == document


def test_the_export_puts_each_message_on_one_line(store: Store) -> None:
    _grow(store, [(-1, "hello\nthere", False), (0, "hi", True)], name="lines")
    sessions = Sessions(store)
    text = export_text(export_sessions(sessions, sessions.recent()))

    lines = text.splitlines()
    messages = [json.loads(line.strip().rstrip(",")) for line in lines if '"parent_id"' in line]
    assert [m["content"] for m in messages] == ["hello\nthere", "hi"]
    assert lines[:3] == ["{", ' "format": "chatcli-sessions",', ' "format_version": 3,']
    assert '    "name": "lines",' in lines


def test_colliding_ids_and_names_get_new_ones_with_a_notice(store: Store) -> None:
    _grow(store, [(-1, "hello", False), (0, "hi", True), (1, "more", False)], name="trip")
    sessions = Sessions(store)
    exported = export_sessions(sessions, sessions.recent())

    notices = import_bundles(sessions, read_export(exported))

    assert len(notices) == 2 and "trip" in notices[0] and "already here" in notices[1]
    copy, original = sessions.recent()
    assert copy.id != original.id and copy.name != original.name
    assert [m.content for m in sessions.history(copy)] == ["hello", "hi", "more"]
    assert [m.pinned for m in sessions.history(copy)] == [False, True, False]


def _valid(store: Store) -> dict[str, Any]:
    _grow(store, [(-1, "q", False), (0, "a", False)], name="v")
    sessions = Sessions(store)
    exported: dict[str, Any] = json.loads(json.dumps(export_sessions(sessions, sessions.recent())))
    return exported


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (lambda d: d.update(format_version=99), "format_version"),
        (lambda d: d.update(format="other"), "not a chatcli export"),
        (lambda d: d["sessions"][0]["messages"][1].update(parent_id="ghost"), "not before it"),
        (lambda d: d["sessions"][0]["messages"].reverse(), "not before it"),  # child first
        (lambda d: d["sessions"][0]["messages"][0].update(created="noon"), "wrong type"),
        (lambda d: d["sessions"][0]["messages"][0].pop("content"), "content"),
        (lambda d: d["sessions"][0]["session"].update(current_leaf="ghost"), "current_leaf"),
        (lambda d: d["sessions"][0]["messages"][0].update(content="x" * 50_000_000), "longer"),
        (lambda d: d["sessions"][0].update(extra=1), "needs session, messages and summaries"),
        (lambda d: d["sessions"][0].update(session=None), "expected an object"),
        (lambda d: d["sessions"][0]["session"].update(sampling=[]), "wrong type"),
    ],
)
def test_a_malformed_file_is_refused_and_nothing_is_written(
    tmp_path: Path, store: Store, spoil: Any, words: str
) -> None:
    document = _valid(store)
    spoil(document)
    with Store.open(tmp_path / "fresh.db") as fresh:
        with pytest.raises(BadFileError) as caught:
            import_bundles(Sessions(fresh), read_export(document))
        assert words in str(caught.value)
        assert Sessions(fresh).recent() == []


def test_the_same_ids_twice_in_one_file_are_refused(store: Store) -> None:
    document = _valid(store)
    twice = {**document, "sessions": document["sessions"] * 2}

    with pytest.raises(BadFileError, match="appears twice"):
        read_export(twice)


def test_an_import_is_one_transaction(store: Store, tmp_path: Path) -> None:
    document = _valid(store)
    database = tmp_path / "fresh.db"
    Store.open(database).close()
    with sqlite3.connect(database) as raw:  # the second message's row fails inside the write
        raw.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON messages WHEN new.content = 'a'"
            " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with Store.open(database) as fresh:
        with pytest.raises(StoreError):
            import_bundles(Sessions(fresh), read_export(document))
        assert Sessions(fresh).recent() == []  # the session row went back with it
