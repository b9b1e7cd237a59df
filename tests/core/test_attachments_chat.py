"""Attachments through the chat core with the fake engine: sent, kept once, carried along."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest
from fakes import FakeEngine, run_reply

from chatcli.config import Settings
from chatcli.core.attachments import Attachment
from chatcli.core.chat import ChatCore
from chatcli.core.portable import export_sessions, import_bundles, read_export
from chatcli.core.sessions import Sessions
from chatcli.engine.params import SamplingParams
from chatcli.errors import ContextOverflowError
from chatcli.store.store import Store

PARAMS = SamplingParams(temperature=0.0, max_tokens=16)
NOTES = Attachment("notes.txt", "The harbour master is called Ingrid.", 37)


def sent_user_texts(engine: FakeEngine, request: int = -1) -> list[str]:
    return [m.content for m in engine.requests[request] if m.role == "user"]


def test_an_attachment_goes_to_the_model_framed_on_this_and_every_later_turn(
    core: ChatCore, engine: FakeEngine
) -> None:
    session = core.new_session()
    run_reply(core.reply(session, "Who is the harbour master?", PARAMS, attachments=[NOTES]))
    run_reply(core.reply(session, "Spell the name.", PARAMS))
    framed = '<file path="notes.txt">\nThe harbour master is called Ingrid.\n</file>'
    assert sent_user_texts(engine, 0) == [f"{framed}\n\nWho is the harbour master?"]
    assert sent_user_texts(engine, 1) == [
        f"{framed}\n\nWho is the harbour master?",
        "Spell the name.",
    ]
    user = core.sessions.history(session)[0]
    assert user.content == "Who is the harbour master?"
    assert [(r["path"], r["size"]) for r in user.attachments] == [("notes.txt", 37)]
    assert user.attachments[0]["tokens"] == len(framed.split(" "))  # the fake counts words


def test_the_context_count_includes_the_attachments(core: ChatCore, engine: FakeEngine) -> None:
    session = core.new_session()
    before = core.count_context(session)
    run_reply(core.reply(session, "Hi", PARAMS, attachments=[NOTES]))
    history = core.sessions.history(session)
    with_files = core.count_context(session)
    assert with_files - before > len(history[0].content.split()) + NOTES.text.count(" ")


def test_an_edit_and_a_regenerate_keep_the_message_attachments(
    core: ChatCore, engine: FakeEngine
) -> None:
    session = core.new_session()
    run_reply(core.reply(session, "Who?", PARAMS, attachments=[NOTES]))
    question = core.sessions.history(session)[0]
    run_reply(core.regenerate(session, question, PARAMS))
    assert "Ingrid" in sent_user_texts(engine)[0]
    run_reply(core.edit(session, question, "Who is it, again?", PARAMS))
    assert "Ingrid" in sent_user_texts(engine)[0] and sent_user_texts(engine)[0].endswith("again?")
    assert core.sessions.history(session)[-2].attachments == question.attachments


def test_an_attachment_too_big_for_the_context_is_named_and_nothing_is_saved(
    store: Store,
) -> None:
    engine = FakeEngine(context_length=256)
    core = ChatCore(engine, store, Settings())
    session = core.new_session()
    small = Attachment("small.txt", "tiny file", 9)
    huge = Attachment("huge.log", "word " * 400, 2000)
    with pytest.raises(ContextOverflowError, match=r"huge\.log 40\d tokens \(2\.0 KB\)"):
        run_reply(core.reply(session, "Summarize", PARAMS, attachments=[small, huge]))
    medium = Attachment("medium.log", "word " * 240, 1200)
    with pytest.raises(ContextOverflowError, match=r"largest attachments: medium\.log"):
        run_reply(core.reply(session, "Summarize", PARAMS, attachments=[small, medium]))
    assert core.sessions.history(session) == []
    assert store.attachments.stored_bytes() == 0


def test_the_same_file_in_two_sessions_is_stored_once_and_goes_with_its_last_user(
    core: ChatCore, store: Store, db_path: Path
) -> None:
    first, second = core.new_session(), core.new_session()
    for session in (first, second):
        run_reply(core.reply(session, "Who?", PARAMS, attachments=[NOTES]))
    assert store.attachments.stored_bytes() == len(NOTES.text)
    core.sessions.delete(first)
    assert store.attachments.texts([NOTES.sha256]) == {NOTES.sha256: NOTES.text}
    core.sessions.delete(second)
    assert store.attachments.texts([NOTES.sha256]) == {}


def _growth_of_a_hundred_turns(folder: Path, attachments: list[Attachment]) -> int:
    path = folder / f"grow-{len(attachments)}.db"
    with Store.open(path) as store:  # closing checkpoints the WAL into the file
        core = ChatCore(FakeEngine(context_length=100_000), store, Settings())
        session = core.new_session()
        run_reply(core.reply(session, "first", PARAMS))
    before = path.stat().st_size
    with Store.open(path) as store:
        core = ChatCore(FakeEngine(context_length=100_000), store, Settings())
        for turn in range(100):
            run_reply(core.reply(session, f"ask {turn}", PARAMS, attachments=attachments))
        if attachments:
            assert store.attachments.stored_bytes() == len(attachments[0].text)
    return path.stat().st_size - before


def test_a_file_attached_to_a_hundred_messages_costs_less_than_its_size_on_disk(
    tmp_path: Path,
) -> None:
    words = random.Random(7)
    vocabulary = [
        "".join(words.choices(string.ascii_lowercase, k=words.randint(2, 9))) for _ in range(3_000)
    ]
    big = Attachment("big.txt", " ".join(words.choices(vocabulary, k=40_000)), 0)
    with_file = _growth_of_a_hundred_turns(tmp_path, [big])
    without = _growth_of_a_hundred_turns(tmp_path, [])
    # The text once (compressed) and its search index; not 100 copies.
    assert with_file - without < 1.1 * len(big.text), (with_file, without, len(big.text))


def test_export_import_export_carries_the_attachments_exactly(
    core: ChatCore, store: Store, tmp_path: Path
) -> None:
    session = core.new_session()
    run_reply(core.reply(session, "Who?", PARAMS, attachments=[NOTES]))
    exported = export_sessions(core.sessions, [session])
    assert exported["sessions"][0]["attachments"] == {NOTES.sha256: NOTES.text}
    with Store.open(tmp_path / "other.db") as other:
        sessions = Sessions(other)
        import_bundles(sessions, read_export(json.loads(json.dumps(exported))))
        again = export_sessions(sessions, sessions.recent())
    exported.pop("exported"), again.pop("exported")
    assert again == exported


def test_search_finds_words_inside_attachments_and_says_so(core: ChatCore) -> None:
    session = core.new_session()
    run_reply(core.reply(session, "Who?", PARAMS, attachments=[NOTES]))
    hits = core.sessions.search("ingrid")
    assert [(hit.attachment, hit.message.role) for hit in hits] == [("notes.txt", "user")]
    assert "«Ingrid»" in hits[0].snippet
