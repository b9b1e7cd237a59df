"""CLI defects a demanding new user found: each behaviour as the user expects it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from clitools import DETERMINISTIC, assert_one_line_error, chatcli

SHORT = ["--max-tokens", "8", *DETERMINISTIC]


def sessions(home: Path) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = chatcli(home, "sessions", "list", "--json").json()
    return listed


def test_continue_with_a_session_name_is_a_usage_error(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask", "--session", "trip", "-c", "which")
    assert result.code == 2
    assert "--continue" in result.stderr and "--session" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["   ", "", "a\nb", "nul\x01here", "x" * 10_000])
def test_a_session_name_that_cannot_be_a_name_is_refused(chatcli_home: Path, name: str) -> None:
    result = chatcli(chatcli_home, "ask", "--session", name, "hi")
    assert_one_line_error(result, 2, "session name")
    assert not (chatcli_home / "data" / "chatcli.db").exists() or sessions(chatcli_home) == []


def test_deleting_without_a_terminal_asks_for_yes_and_keeps_the_session(chatcli_home: Path) -> None:
    # no model needed: the store is made through the sessions API of an earlier ask
    from chatcli.store.store import Store

    (chatcli_home / "data").mkdir(parents=True)
    with Store.open(chatcli_home / "data" / "chatcli.db") as store:
        store.create_session(model="m", name="my work notes", title="hello")
    result = chatcli(chatcli_home, "sessions", "delete", "my work notes")
    assert_one_line_error(result, 2, "'my work notes'", "--yes")
    assert [s["name"] for s in sessions(chatcli_home)] == ["my work notes"]
    deleted = chatcli(chatcli_home, "sessions", "delete", "--yes", "my work notes")
    assert deleted.code == 0 and "'my work notes'" in deleted.stderr
    assert sessions(chatcli_home) == []


def test_a_broken_role_file_is_skipped_with_a_warning(chatcli_home: Path) -> None:
    roles = chatcli_home / "config" / "roles"
    roles.mkdir(parents=True)
    (roles / "bad.toml").write_text('prompt = "unclosed\n', encoding="utf-8")
    listed = chatcli(chatcli_home, "roles", "list")
    assert listed.code == 0
    assert "assistant" in listed.stdout and "bad" not in listed.stdout
    assert str(roles / "bad.toml") in listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 1
    asked = chatcli(chatcli_home, "roles", "show", "bad")
    assert_one_line_error(asked, 3, "bad.toml")


@pytest.mark.model
def test_a_broken_role_file_does_not_stop_ask_with_another_role(chatcli_home: Path) -> None:
    roles = chatcli_home / "config" / "roles"
    roles.mkdir(parents=True)
    (roles / "bad.toml").write_text("description = 'no prompt'\n", encoding="utf-8")
    assert chatcli(chatcli_home, "ask", *SHORT, "--role", "qa", "hi").code == 0
    assert_one_line_error(chatcli(chatcli_home, "ask", *SHORT, "--role", "bad", "hi"), 3)


@pytest.mark.model
def test_a_failed_first_ask_leaves_no_empty_session(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask", "--ctx", "256", *SHORT, "word " * 400)
    assert_one_line_error(result, 6, "--ctx")
    assert sessions(chatcli_home) == []


@pytest.mark.model
def test_a_failed_turn_keeps_the_session_it_continued(chatcli_home: Path) -> None:
    assert chatcli(chatcli_home, "ask", "--ctx", "512", *SHORT, "--session", "keep", "hi").code == 0
    failed = chatcli(chatcli_home, "ask", "-c", "--ctx", "512", *SHORT, "word " * 800)
    assert failed.code == 6
    assert [(s["name"], s["messages"]) for s in sessions(chatcli_home)] == [("keep", 2)]


@pytest.mark.model
def test_piped_answers_end_with_one_newline(chatcli_home: Path, tmp_path: Path) -> None:
    one = chatcli(chatcli_home, "ask", *SHORT, "--no-save", "Say hi.")
    assert one.code == 0
    assert one.stdout.endswith("\n") and not one.stdout.endswith("\n\n")


@pytest.mark.model
def test_session_names_are_trimmed(chatcli_home: Path) -> None:
    assert chatcli(chatcli_home, "ask", *SHORT, "--session", "  trip  ", "hi").code == 0
    assert chatcli(chatcli_home, "ask", *SHORT, "--session", "trip", "again").code == 0
    assert [(s["name"], s["messages"]) for s in sessions(chatcli_home)] == [("trip", 4)]


@pytest.mark.model
def test_sessions_list_shows_messages_and_model(chatcli_home: Path) -> None:
    assert chatcli(chatcli_home, "ask", *SHORT, "--session", "trip", "hi").code == 0
    line = chatcli(chatcli_home, "sessions", "list").stdout.strip()
    assert "2 msgs" in line and "smollm2" in line and "[trip]" in line


def test_help_uses_conventional_metavars_and_shows_sampling_defaults() -> None:
    shown = chatcli(Path("/nonexistent"), "ask", "--help", COLUMNS="120").stdout
    options = shown.replace(shown[shown.index("--help") :].split("\n")[0], "")  # typer's own
    assert "<bool>" not in options and "<list[str]>" not in shown and "<int range>" not in shown
    for metavar in ("FLOAT", "INT", "TEXT", "NAME|PATH", "[drop-oldest|summarize|error]"):
        assert metavar in shown
    assert "else 0.7" in shown  # the temperature a model without advice gets


@pytest.mark.parametrize(
    ("option", "value", "wording"),
    [
        ("--temperature", "-1", "too small"),
        ("--top-p", "1.5", "too large"),
        ("--top-k", "-3", "too small"),
        ("--min-p", "2", "too large"),
        ("--repeat-penalty", "-0.5", "too small"),
        ("--max-tokens", "0", "too small"),
        ("--seed", "-1", "too small"),
        ("--ctx", "5", "the least is 128"),
        ("--gpu-layers", "-2", "too small"),
        ("--threads", "0", "too small"),
        ("--overflow", "bogus", "not one of: drop-oldest, summarize, error"),
    ],
)
def test_out_of_range_options_are_refused_in_chatclis_words(
    chatcli_home: Path, option: str, value: str, wording: str
) -> None:
    result = chatcli(chatcli_home, "ask", option, value, "hi", COLUMNS="200")
    assert result.code == 2
    assert wording in result.stderr
    assert "Input should be" not in result.stderr and "Value error" not in result.stderr
    assert not (chatcli_home / "data" / "chatcli.db").exists()


@pytest.mark.parametrize(
    ("argv", "terminal", "expected"),
    [
        (["--max-tokens", "5"], False, ["ask", "--max-tokens", "5"]),
        ([], False, ["ask"]),
        (["-c", "--temperature", "0"], False, ["ask", "-c", "--temperature", "0"]),
        (["--max-tokens", "5"], True, ["--max-tokens", "5"]),
        (["sessions", "list"], False, ["sessions", "list"]),
        (["--help"], False, ["--help"]),
        (["--version"], False, ["--version"]),
        # A system prompt, a session or a stop word named like a command is a value.
        (
            ["-s", "search", "--max-tokens", "5"],
            False,
            ["ask", "-s", "search", "--max-tokens", "5"],
        ),
        (["-cm", "search"], False, ["ask", "-cm", "search"]),  # -m ends the cluster: a value
        (["-ms", "search"], False, ["-ms", "search"]),  # -m took "s": search is the command
        (
            ["--session", "ask", "--stop", "replay"],
            False,
            ["ask", "--session", "ask", "--stop", "replay"],
        ),
        (["--session=sessions"], False, ["ask", "--session=sessions"]),
        (["--model", "m", "search", "x"], False, ["--model", "m", "search", "x"]),
        (["-v", "sessions", "list"], False, ["-v", "sessions", "list"]),
    ],
)
def test_bare_chatcli_with_piped_input_is_ask(
    argv: list[str], terminal: bool, expected: list[str]
) -> None:
    from chatcli.cli.main import arguments_for

    assert arguments_for(argv, terminal) == expected


def test_bare_chatcli_with_empty_stdin_says_there_is_nothing_to_ask(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, stdin="")
    assert_one_line_error(result, 2, "nothing to ask")
    assert "PROMPT" not in result.stderr


@pytest.mark.model
def test_bare_chatcli_with_piped_input_takes_asks_options(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "--max-tokens", "3", "--temperature", "0", stdin="hi")
    assert result.code == 0, result.stderr
    listed = sessions(chatcli_home)
    reply = chatcli(chatcli_home, "sessions", "show", "--json", listed[0]["id"]).json()
    assert reply["transcript"][-1]["role"] == "assistant"
    assert result.stdout.strip()


@pytest.mark.model
def test_piped_input_into_a_session_named_like_a_command_is_asked(chatcli_home: Path) -> None:
    result = chatcli(
        chatcli_home, "--session", "search", "--max-tokens", "3", "--temperature", "0", stdin="hi"
    )
    assert result.code == 0, result.stderr
    assert result.stdout.strip()
    assert [listed["name"] for listed in sessions(chatcli_home)] == ["search"]
