"""Attached texts are kept compressed, and stay searchable, also in databases made before."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from chatcli.store import attachments as attachment_table
from chatcli.store import migrations as store_migrations
from chatcli.store.packing import deflate, inflate, register_functions
from chatcli.store.store import Store

TEXT = "Le café du port ouvre à sept heures. " * 200


def _attach(store: Store, text: str = TEXT) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    session = store.create_session(model="m")
    store.add_message(
        session.id,
        parent_id=None,
        role="user",
        content="When does it open?",
        attachments=[{"path": "port.txt", "sha256": digest, "size": len(text), "tokens": 9}],
        attachment_texts={digest: text},
    )
    return digest


def _kept_bytes(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        sql = "SELECT SUM(LENGTH(CAST(content AS BLOB))) FROM attachments"
        return int(raw.execute(sql).fetchone()[0])


@pytest.mark.parametrize("text", ["", "plain", "é and 𝄞 and a lone \udc80 surrogate", TEXT])
def test_packing_gives_back_the_same_text(text: str) -> None:
    assert inflate(deflate(text)) == text


def test_a_text_is_kept_compressed_and_found_with_a_snippet(db_path: Path) -> None:
    with Store.open(db_path) as store:
        digest = _attach(store)
        assert store.attachments.texts([digest]) == {digest: TEXT}
        (hit,) = store.search.find('"cafe du port"')
        assert hit.attachment == "port.txt"
        assert "«café du port»" in hit.snippet
    assert _kept_bytes(db_path) < len(TEXT.encode()) / 10


def test_an_older_database_has_its_texts_compressed_and_still_searchable(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tuple(m for m in store_migrations.MIGRATIONS if m[0] != "008_packed_attachments")
    monkeypatch.setattr(store_migrations, "MIGRATIONS", before)
    monkeypatch.setattr(attachment_table, "deflate", lambda text: text)  # as kept before
    with Store.open(db_path) as old:
        digest = _attach(old)
    assert _kept_bytes(db_path) >= len(TEXT.encode())
    monkeypatch.undo()

    with Store.open(db_path) as upgraded:
        assert upgraded.attachments.texts([digest]) == {digest: TEXT}
        assert [hit.attachment for hit in upgraded.search.find("heures")] == ["port.txt"]
        for session in upgraded.list_sessions():  # the last carrier gone, the text goes too
            upgraded.delete_session(session.id)
        assert upgraded.attachments.texts([digest]) == {}
        assert upgraded.search.find("heures") == []
    with sqlite3.connect(db_path) as raw:
        register_functions(raw)
        raw.execute("INSERT INTO attachment_search(attachment_search) VALUES ('integrity-check')")
