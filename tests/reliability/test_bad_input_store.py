"""Bad input around the files chatcli keeps: the database, the data dir, the config file.

A database chatcli cannot use is refused by name and left byte for byte as it was; a write
that fails (disk full, read-only) is one line with exit 8 and the earlier content is kept.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from badinput import ECHO, one_line_error, run, saved, succeeded, transcript

from chatcli import paths
from chatcli.store.store import Store


def database() -> Path:
    return paths.database_file()


def seeded() -> bytes:
    """A saved session "keep", the database closed; its bytes."""
    succeeded(run("ask", *ECHO, "--session", "keep", "hello"))
    return database().read_bytes()


def foreign_database(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE sessions (who TEXT, what TEXT)")
        connection.execute("INSERT INTO sessions VALUES ('someone', 'their data')")
    connection.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    "args",
    [["ask", *ECHO, "hi"], ["sessions", "list"], ["search", "data"]],
    ids=["ask", "sessions-list", "search"],
)
def test_another_programs_sqlite_database_is_refused_and_left_alone(args: list[str]) -> None:
    before = foreign_database(database())

    one_line_error(run(*args), 8, str(database()), "not chatcli's", "left as it is")
    assert database().read_bytes() == before
    assert not database().with_name(database().name + "-wal").exists()


@pytest.mark.parametrize("cut_at", [0.5, 0.1], ids=["half", "first-tenth"])
def test_a_truncated_session_database_is_refused_and_left_alone(cut_at: float) -> None:
    whole = seeded()
    damaged = whole[: int(len(whole) * cut_at)]
    database().write_bytes(damaged)

    result = run("sessions", "list")

    assert result.exit_code in (0, 8), result.output  # SQLite may not notice until it reads
    assert "Traceback" not in result.output
    if result.exit_code == 8:
        one_line_error(result, 8, str(database()))
    assert database().read_bytes()[: len(damaged)] == damaged


def test_a_database_with_damaged_pages_is_a_store_error_not_a_traceback() -> None:
    whole = bytearray(seeded())
    whole[100:4096] = b"\xa5" * (4096 - 100)  # the schema page, after the header
    database().write_bytes(bytes(whole))

    one_line_error(run("sessions", "list"), 8, str(database()))
    assert database().read_bytes() == bytes(whole)


def test_a_directory_where_the_database_should_be_is_a_store_error() -> None:
    database().mkdir(parents=True)

    one_line_error(run("ask", *ECHO, "hi"), 8, str(database()))
    assert database().is_dir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_a_read_only_data_dir_is_a_store_error() -> None:
    seeded()
    database().parent.chmod(0o500)
    database().chmod(0o400)
    try:
        one_line_error(run("ask", *ECHO, "--session", "keep", "more"), 8, str(database()))
    finally:
        database().parent.chmod(0o700)
        database().chmod(0o600)
    assert len(transcript("keep")) == 2


def test_a_read_only_database_is_a_store_error_and_keeps_what_it_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = seeded()
    real_connect = sqlite3.connect

    def read_only(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = real_connect(
            f"file:{path}?mode=ro", *args, uri=True, **kwargs
        )
        return connection

    with monkeypatch.context() as patch:  # undo() would also undo the test's CHATCLI_HOME
        patch.setattr("chatcli.store.db.sqlite3.connect", read_only)
        one_line_error(run("ask", *ECHO, "--session", "keep", "more"), 8, str(database()))
    assert database().read_bytes() == before
    assert len(transcript("keep")) == 2


def disk_full(monkeypatch: pytest.MonkeyPatch, method: str, error: Exception) -> None:
    """Make ``Store.<method>`` fail as a full disk does, inside the store's own error handling."""

    def full(self: Store, *_args: Any, **_kwargs: Any) -> Any:
        with self._locked():
            raise error

    monkeypatch.setattr(Store, method, full)


@pytest.mark.parametrize(
    "error",
    [sqlite3.OperationalError("database or disk is full"), OSError(errno.ENOSPC, "No space")],
    ids=["sqlite-full", "enospc"],
)
def test_a_full_disk_when_saving_a_message_is_exit_8_and_keeps_the_session(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    seeded()
    with monkeypatch.context() as patch:
        disk_full(patch, "add_message", error)
        line = one_line_error(run("ask", *ECHO, "--session", "keep", "more"), 8, str(database()))
    assert "full" in line or "space" in line.lower()
    assert [role for role, _, _ in transcript("keep")] == ["user", "assistant"]


def test_a_full_disk_mid_reply_is_exit_8_and_keeps_the_question(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seeded()
    with monkeypatch.context() as patch:
        full = sqlite3.OperationalError("database or disk is full")
        disk_full(patch, "update_message", full)
        result = run("ask", *ECHO, "--session", "keep", "one two three")

    assert result.exit_code == 8, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "disk is full" in errors[0]
    kept = [content for _, _, content in transcript("keep")]
    assert kept[:3] == ["hello", "hello", "one two three"]


def test_a_full_disk_when_writing_an_export_is_exit_9_and_keeps_the_old_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seeded()
    target = tmp_path / "export.json"
    target.write_text("the previous export")

    def full(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("chatcli.cli.transfer.write_private_file", full)
    one_line_error(run("sessions", "export", "keep", "-o", str(target)), 9, str(target), "space")
    assert target.read_text() == "the previous export"


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_an_export_onto_the_session_database_is_refused(suffix: str) -> None:
    before = seeded()
    target = database().with_name(database().name + suffix)

    one_line_error(run("sessions", "export", "keep", "-o", str(target)), 2, "session database")
    assert database().read_bytes() == before
    assert len(transcript("keep")) == 2


@pytest.mark.parametrize(
    ("target", "words"),
    [("{tmp}", "Is a directory"), ("{tmp}/missing/dir/x.json", "No such file")],
    ids=["a-directory", "a-missing-folder"],
)
def test_an_export_to_a_place_that_cannot_be_written_is_exit_9(
    tmp_path: Path, target: str, words: str
) -> None:
    seeded()
    one_line_error(run("sessions", "export", "keep", "-o", target.format(tmp=tmp_path)), 9, words)


@pytest.mark.parametrize(
    ("source", "stdin", "words"),
    [
        ("{tmp}", None, "cannot read"),
        ("/dev/null", None, "not JSON"),
        ("-", "\x00\x01", "not JSON"),
    ],
    ids=["a-directory", "empty", "binary-stdin"],
)
def test_importing_something_that_is_not_an_export_writes_nothing(
    tmp_path: Path, source: str, stdin: str | None, words: str
) -> None:
    before = seeded()
    one_line_error(run("sessions", "import", source.format(tmp=tmp_path), stdin=stdin), 9, words)
    assert database().read_bytes() == before


# -- the config file and the environment ----------------------------------------------------


def write_config(text: str | bytes) -> Path:
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return path


BAD_CONFIG = [
    (b"\xff\xfe not utf-8", "cannot be read"),
    ("[sampling\ntemperature = 1\n", "line 1"),
    ("model = 'a'\nmodel = 'b'\n", "line 2"),
    ("[sampling]\ntemperature = nan\n", "nan is not a number"),
    ("[sampling]\ntop_k = inf\n", "'top_k' must be an integer"),
    ("context_length = -5\n", "'context_length' must be at least 128"),
    ("gpu_layers = -7\n", "'gpu_layers' must be at least -1"),
    ("[llama]\nkv_cache_gib = -1\n", "'kv_cache_gib' must be at least 0"),
    ("attach_max_files = -1\n", "'attach_max_files' must be at least 0"),
    ("[[sampling]]\n", "'sampling' must be a table"),
]


@pytest.mark.parametrize(
    ("text", "words"),
    BAD_CONFIG,
    ids=[
        "not-utf8",
        "unclosed-table",
        "duplicate-key",
        "nan",
        "inf-integer",
        "negative-context",
        "gpu-layers",
        "kv-cache",
        "attach-limit",
        "array-of-tables",
    ],
)
def test_an_invalid_config_is_exit_3_naming_the_file(text: str | bytes, words: str) -> None:
    path = write_config(text)

    one_line_error(run("ask", *ECHO, "hi"), 3, str(path), words)
    assert path.read_bytes() == (text if isinstance(text, bytes) else text.encode())


@pytest.mark.parametrize(
    "text",
    ['colour = "red"\n', "[sampling]\nwarmth = 0.5\n", "[llama]\nturbo = true\n"],
    ids=["top-level", "sampling", "llama"],
)
def test_an_unknown_config_key_is_a_warning_and_the_answer_comes(
    text: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(text)

    assert succeeded(run("ask", *ECHO, "hi")) == "hi\n"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and str(path) in warnings[0] and "(ignored)" in warnings[0]


BAD_ENVIRONMENT = [
    ("CHATCLI_TEMPERATURE", "nan"),
    ("CHATCLI_TOP_K", "1.5"),
    ("CHATCLI_MAX_TOKENS", "0"),
    ("CHATCLI_CONTEXT_LENGTH", "-3"),
    ("CHATCLI_VERBOSE", "maybe"),
    ("CHATCLI_OVERFLOW", "panic"),
    ("CHATCLI_THREADS", "-1"),
]


@pytest.mark.parametrize(("name", "value"), BAD_ENVIRONMENT, ids=[n for n, _ in BAD_ENVIRONMENT])
def test_a_bad_environment_value_is_exit_3_naming_the_variable(name: str, value: str) -> None:
    one_line_error(run("ask", *ECHO, "hi", **{name: value}), 3, name)
    assert saved() == []
