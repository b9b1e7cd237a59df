"""Privacy: what chatcli writes is the user's alone (folders 0700, files 0600)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import capture_logs, chatcli

from chatcli import paths
from chatcli.config import save_setting
from chatcli.engine.kvcache import SnapshotStore
from chatcli.store.store import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """A permissive umask, as on many desktops: chatcli must not rely on the user's."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_folders_created_on_the_way_are_private_and_existing_ones_are_left(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    paths.ensure_private_dir(shared / "chatcli" / "cache" / "kv")
    assert mode(shared) == 0o755
    for folder in ("chatcli", "chatcli/cache", "chatcli/cache/kv"):
        assert mode(shared / folder) == 0o700, folder


def test_a_private_file_is_0600_even_over_a_leftover_temporary(tmp_path: Path) -> None:
    target = tmp_path / "notes.json"
    (tmp_path / "notes.json.part").write_text("old")
    (tmp_path / "notes.json.part").chmod(0o644)
    paths.write_private_file(target, b"{}")
    assert target.read_bytes() == b"{}" and mode(target) == 0o600
    assert not (tmp_path / "notes.json.part").exists()


def test_kv_snapshots_are_private(tmp_path: Path) -> None:
    snapshots = SnapshotStore(tmp_path / "cache" / "kv", "key", 1 << 20)
    snapshots.save_in_background(b"state", [1, 2, 3], "text", [1, 2, 3])
    snapshots.wait()
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".kv", ".json"}
    assert all(mode(p) == 0o600 for p in files), [(p, oct(mode(p))) for p in files]
    assert all(mode(p) == 0o700 for p in (tmp_path / "cache").rglob("*") if p.is_dir())
    assert mode(tmp_path / "cache") == 0o700


def test_the_config_file_written_by_chatcli_is_private(tmp_path: Path) -> None:
    config = tmp_path / "config" / "config.toml"
    save_setting("theme", "nord", config)
    assert mode(config) == 0o600 and mode(config.parent) == 0o700


def test_exports_and_the_database_are_private(chatcli_home: Path, tmp_path: Path) -> None:
    with Store.open(paths.database_file()) as store:
        session = store.create_session(model="m", name="secret")
        store.add_message(session.id, parent_id=None, role="user", content="my diary")
    exported = tmp_path / "out.json"
    result = chatcli(chatcli_home, "sessions", "export", "secret", "-o", str(exported))
    assert result.code == 0, result.stderr
    assert "my diary" in exported.read_text() and mode(exported) == 0o600
    assert mode(paths.database_file()) == 0o600 and mode(paths.data_dir()) == 0o700


PROMPT = "my-private-question-4417"


@pytest.mark.parametrize("verbose", [[], ["--verbose"]])
def test_chatcli_logs_no_prompt_or_reply_text(chatcli_home: Path, verbose: list[str]) -> None:
    from typer.testing import CliRunner

    from chatcli.cli.main import app

    with capture_logs() as records:  # every level, whatever --verbose sets
        result = CliRunner().invoke(
            app, ["ask", "--model", "scripted:echo", *verbose, f"say {PROMPT}"]
        )
    assert result.exit_code == 0 and PROMPT in result.stdout  # the echoed reply holds it
    assert PROMPT not in result.stderr
    assert not [message for message in records if PROMPT in message]


@pytest.mark.model
def test_the_real_model_writes_no_prompt_or_reply_text_to_stderr(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask", "--max-tokens", "12", "--temperature", "0", PROMPT)
    assert result.code == 0, result.stderr
    assert PROMPT not in result.stderr
    assert result.stdout.strip() and result.stdout.strip() not in result.stderr
