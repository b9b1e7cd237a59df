"""The line-by-line chat (``--no-tui``, ``TERM=dumb``): same sessions, plain text in and out."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from chatcli.assembly import open_sessions
from chatcli.cli.main import app, arguments_for

ECHO = ["--model", "scripted:echo"]


def chat(*args: str, typed: str) -> Result:
    return CliRunner().invoke(app, ["--no-tui", *ECHO, *args], input=typed)


def test_each_line_is_a_message_and_replies_go_to_stdout() -> None:
    result = chat(typed="hello\nsecond line\n/quit\n")

    assert result.exit_code == 0, result.output
    assert result.stdout == "hello\nsecond line\n"
    assert "> " in result.stderr and "/quit" in result.stderr  # prompt and help on stderr
    with open_sessions() as sessions:
        (session,) = sessions.recent()
        assert [m.content for m in sessions.history(session)] == [
            "hello",
            "hello",
            "second line",
            "second line",
        ]


def test_a_backslash_continues_the_message_on_the_next_line() -> None:
    result = chat(typed="one \\\ntwo\n")  # end of input ends the chat too

    assert result.exit_code == 0
    assert result.stdout == "one \ntwo\n"


def test_new_starts_another_session_and_session_continues_a_named_one() -> None:
    chat("--session", "notes", typed="first\n/new\nelsewhere\n")
    chat("--session", "notes", typed="again\n")

    with open_sessions() as sessions:
        notes = sessions.require("notes")
        assert [m.content for m in sessions.history(notes)][::2] == ["first", "again"]
        assert len(sessions.recent()) == 2


def test_an_error_is_one_line_and_the_chat_goes_on() -> None:
    result = chat("--ctx", "128", typed=("word " * 400) + "\nshort\n")

    assert result.exit_code == 0
    assert result.stdout == "short\n"
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "--ctx" in errors[0]
    with open_sessions() as sessions:
        (session,) = sessions.recent()  # the failed first message left no empty session
        assert sessions.message_count(session) == 2


@pytest.mark.parametrize(
    ("argv", "terminal", "expected"),
    [
        (["--no-tui"], False, ["--no-tui"]),  # piped input feeds the line chat, not ask
        (["--max-tokens", "5"], False, ["ask", "--max-tokens", "5"]),
        (["--no-tui"], True, ["--no-tui"]),
    ],
)
def test_no_tui_is_never_turned_into_ask(
    argv: list[str], terminal: bool, expected: list[str]
) -> None:
    assert arguments_for(argv, terminal) == expected
