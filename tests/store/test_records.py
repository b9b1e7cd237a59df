"""One shape per record: to_dict/from_dict, the row mapping and the editable fields agree."""

from __future__ import annotations

import json
import pathlib

import pytest

from chatcli.store.records import MessageRecord, SessionRecord, SummaryRecord, WindowRecord
from chatcli.store.rows import MESSAGE_COLUMNS, SESSION_COLUMNS
from chatcli.store.store import SessionChanges, Store

SESSION = SessionRecord(
    id="abc123",
    name="work",
    title="Plans",
    created=1.5,
    updated=2.5,
    model="smollm2",
    system_prompt="Be brief.",
    role="assistant",
    sampling={"temperature": 0.2, "stop": ["END"]},
    current_leaf="m2",
    context_length=2048,
    overflow="summarize",
)
MESSAGE = MessageRecord(
    id="m2",
    session_id="abc123",
    parent_id="m1",
    role="assistant",
    content="Hello",
    created=3.0,
    status="interrupted",
    model="smollm2",
    model_sha256="f" * 64,
    sampling={"seed": 1},
    usage={"prompt_tokens": 10},
    finish_reason="interrupted",
    pinned=True,
)


@pytest.mark.parametrize("record", [SESSION, MESSAGE])
def test_to_dict_is_json_and_round_trips(record: SessionRecord | MessageRecord) -> None:
    data = json.loads(json.dumps(record.to_dict()))

    assert type(record).from_dict(data) == record


def test_to_dict_is_a_copy() -> None:
    data = SESSION.to_dict()
    data["sampling"]["temperature"] = 9

    assert SESSION.sampling["temperature"] == 0.2


def test_a_shared_to_dict_hands_out_the_records_own_values() -> None:
    data = MESSAGE.to_dict(shared=True)

    assert data == MESSAGE.to_dict()
    assert data["usage"] is MESSAGE.usage  # for output serialized at once: no copy made


def test_records_read_back_from_rows_equal_the_ones_written(tmp_path: pathlib.Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        session = store.create_session(model="m", sampling={"seed": 3})
        first = store.add_message(session.id, parent_id=None, role="user", content="hi")
        second = store.add_message(
            session.id, parent_id=first.id, role="assistant", content="yo", usage={"a": 1}
        )
        again = store.bulk.messages_of(session.id)

    assert again == [first, second]
    assert [type(m) for m in again] == [MessageRecord, MessageRecord]
    assert again[1].usage == {"a": 1} and again[0].pinned is False
    with pytest.raises(AttributeError):  # still frozen, though built without __init__
        again[0].content = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"created": "yesterday"}, "field 'created' has the wrong type"),
        ({"status": "half-done"}, "field 'status' has the wrong type"),
        ({"pinned": 1}, "field 'pinned' has the wrong type"),
        ({"colour": "red"}, "unknown field(s) colour"),
    ],
)
def test_from_dict_names_the_bad_field(change: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError) as caught:
        MessageRecord.from_dict(MESSAGE.to_dict() | change)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "change",
    [{"status": "half-done"}, {"pinned": 1}, {"created": True}, {"content": None}],
)
def test_a_shape_seen_before_still_has_its_values_checked(change: dict[str, object]) -> None:
    good = MESSAGE.to_dict()
    assert MessageRecord.from_dict(good) == MESSAGE  # the shape is now known
    with pytest.raises(ValueError, match=f"field '{next(iter(change))}' has the wrong type"):
        MessageRecord.from_dict(good | change)


def test_a_record_of_a_known_shape_is_a_whole_frozen_record() -> None:
    data = MESSAGE.to_dict()
    MessageRecord.from_dict(data)
    record = MessageRecord.from_dict(data)  # the known shape's way
    data["sampling"]["seed"] = 99

    assert record == MESSAGE and hash(record.id) == hash(MESSAGE.id)
    assert record.sampling == {"seed": 1}  # a copy, unless the caller gives the data away
    assert repr(record) == repr(MESSAGE)
    with pytest.raises(AttributeError):
        record.content = "changed"  # type: ignore[misc]
    assert MessageRecord.from_dict(data, owned=True).sampling is data["sampling"]


def test_from_dict_names_a_missing_field() -> None:
    data = MESSAGE.to_dict()
    del data["content"]

    with pytest.raises(ValueError, match="content"):
        MessageRecord.from_dict(data)


def test_columns_are_the_record_fields() -> None:
    assert SessionRecord.field_names() == SESSION_COLUMNS
    assert MessageRecord.field_names() == MESSAGE_COLUMNS


def test_every_editable_session_field_is_a_record_field() -> None:
    assert set(SessionChanges.__annotations__) <= set(SessionRecord.field_names())


def test_rows_keep_every_field(store: Store) -> None:
    session = store.create_session(model="m", sampling={"top_k": 3}, name="n")
    message = store.add_message(session.id, parent_id=None, role="user", content="hi")
    store.set_pinned(message.id, True)

    found = store.find_session("n")
    assert found is not None
    assert store.get_session(session.id).to_dict() == found.to_dict()
    assert store.get_message(message.id).to_dict() == message.to_dict() | {"pinned": True}


@pytest.mark.parametrize("kind", [SummaryRecord, WindowRecord])
def test_every_record_has_the_shape(kind: type[SummaryRecord] | type[WindowRecord]) -> None:
    assert kind.field_names()[:2] == ("id", "session_id")


def test_a_sessions_lora_adapter_is_stored_and_defaults_to_none(store: Store) -> None:
    session = store.create_session(model="m")
    assert (session.lora, session.lora_scale) == (None, 1.0)
    changed = store.update_session(session.id, lora="/a.gguf", lora_scale=0.5)
    assert (changed.lora, changed.lora_scale) == ("/a.gguf", 0.5)
    assert SessionRecord.from_dict(changed.to_dict()) == changed
