"""``chatcli replay`` in-process: what cannot be replayed is one line and exit 11."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from chatcli.cli.main import app, arguments_for


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_a_reply_of_a_backend_without_replay_records_is_one_line_exit_11() -> None:
    assert (
        run("ask", "-m", "scripted:echo", "--session", "s", "--seed", "4", "hello").exit_code == 0
    )

    result = run("replay", "s")

    assert result.exit_code == 11
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chatcli: error: not reproducible:")


def test_replaying_a_message_of_another_session_is_a_usage_error() -> None:
    run("ask", "-m", "scripted:echo", "--session", "a", "hello")
    run("ask", "-m", "scripted:echo", "--session", "b", "--json", "bye")
    listed = run("sessions", "show", "b", "--json").stdout
    reply_id = listed.split('"id": "')[-1].split('"')[0]

    result = run("replay", "a", "--message", reply_id)

    assert result.exit_code == 2 and "is not in session" in result.output


def test_replay_with_piped_stdin_is_not_taken_for_ask() -> None:
    assert arguments_for(["replay", "s"], stdin_is_terminal=False) == ["replay", "s"]
