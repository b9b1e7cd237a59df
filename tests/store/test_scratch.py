"""The scratch store of ``ask --no-save``: in memory, at the current schema, leaving nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chatcli import paths
from chatcli.store import Store, scratch
from chatcli.store import migrations as store_migrations


def _schema(store: Store) -> list[tuple[str, str, str]]:
    rows = store._connection.execute(
        "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
    ).fetchall()
    return [tuple(row) for row in rows]


def _migrated(store: Store) -> list[str]:
    return sorted(row[0] for row in store._connection.execute("SELECT name FROM _migrations"))


def test_a_scratch_store_has_the_schema_of_a_migrated_file(db_path: Path) -> None:
    with Store.open(db_path) as on_disk:
        expected = _schema(on_disk)
    with Store.scratch() as first:  # migrates, then caches the image
        assert _schema(first) == expected
    assert scratch.image_file().is_file()
    with Store.scratch() as second:  # loads the image
        assert _schema(second) == expected
        assert _migrated(second) == sorted(name for name, _ in store_migrations.MIGRATIONS)


def test_scratch_stores_share_nothing_and_keep_nothing(chatcli_home: Path) -> None:
    with Store.scratch() as one:
        session = one.create_session(model="m", name="secret-plans")
        one.add_message(session.id, parent_id=None, role="user", content="the launch code is 0451")
    with Store.scratch() as two:
        assert two.list_sessions() == []
    kept = b"".join(path.read_bytes() for path in chatcli_home.rglob("*") if path.is_file())
    assert b"0451" not in kept
    assert b"secret-plans" not in kept


def test_an_image_from_before_a_new_migration_is_brought_up_to_date(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Store.scratch().close()  # the image, at today's migrations

    def add_notes(connection: sqlite3.Connection) -> None:
        connection.execute("CREATE TABLE notes (text TEXT)")

    extended = (*store_migrations.MIGRATIONS, ("999_notes", add_notes))
    monkeypatch.setattr(store_migrations, "MIGRATIONS", extended)
    with Store.scratch() as store:
        assert "999_notes" in _migrated(store)
        store._connection.execute("INSERT INTO notes VALUES ('x')")


def test_a_damaged_image_is_migrated_afresh_and_replaced() -> None:
    Store.scratch().close()
    image = scratch.image_file()
    good = image.read_bytes()
    image.write_bytes(b"not a database" * 100)

    with Store.scratch() as store:
        session = store.create_session(model="m")
        assert store.get_session(session.id) == session
    assert image.read_bytes() != b"not a database" * 100
    assert len(image.read_bytes()) == len(good)


@pytest.mark.parametrize("page", [3, 5])
def test_an_image_with_a_damaged_page_is_not_used(page: int) -> None:
    Store.scratch().close()
    image = scratch.image_file()
    damaged = bytearray(image.read_bytes())
    start = (page - 1) * 4096  # SQLite's default page size
    damaged[start : start + 8] = b"\x07" * 8  # the page's b-tree header
    image.write_bytes(bytes(damaged))

    with Store.scratch() as store:
        session = store.create_session(model="m")
        store.add_message(session.id, parent_id=None, role="user", content="hello")
        assert store.message_count(session.id) == 1
    assert image.read_bytes() != bytes(damaged)


def test_an_empty_image_is_migrated_afresh() -> None:
    Store.scratch().close()
    scratch.image_file().write_bytes(b"")  # e.g. a power cut before the bytes reached the disk

    with Store.scratch() as store:
        assert store.list_sessions() == []
    assert scratch.image_file().read_bytes().startswith(b"SQLite format 3")


def test_an_image_that_cannot_be_migrated_is_replaced() -> None:
    with Store.scratch() as store:  # an image that forgot it had its last migration
        store._connection.execute("DELETE FROM _migrations WHERE name = ?", (_migrated(store)[-1],))
        scratch.image_file().write_bytes(store._connection.serialize())

    with Store.scratch() as store:  # re-running that migration fails: a fresh image is made
        assert _migrated(store) == sorted(name for name, _ in store_migrations.MIGRATIONS)
    with Store.scratch() as store:
        assert _migrated(store) == sorted(name for name, _ in store_migrations.MIGRATIONS)


def test_an_image_of_another_version_is_removed_when_the_new_one_is_kept() -> None:
    older = paths.cache_dir() / "empty-store-0123456789abcdef.db"
    older.parent.mkdir(parents=True)
    older.write_bytes(b"an image an earlier chatcli kept")

    Store.scratch().close()
    assert [p.name for p in paths.cache_dir().iterdir()] == [scratch.image_file().name]


def test_a_cache_that_cannot_be_written_only_costs_speed() -> None:
    paths.cache_dir().parent.mkdir(parents=True, exist_ok=True)
    paths.cache_dir().write_text("a file where the cache folder should be")

    with Store.scratch() as store:
        session = store.create_session(model="m")
        assert store.list_sessions() == [session]
