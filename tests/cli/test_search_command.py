"""``chatcli search`` in-process, over sessions made with the scripted backend."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from chatcli.cli.main import app


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_search_finds_what_was_said_with_where_and_a_snippet() -> None:
    run("ask", "-m", "scripted:echo", "--session", "trip", "A day in Lyon, with the old town")
    run("ask", "-m", "scripted:echo", "Something else entirely")

    result = run("search", "lyon")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4  # the question and its echo, two lines each
    assert lines[0].startswith("trip (") and lines[0].endswith("user")
    assert "«Lyon»" in lines[1]


def test_search_json_uses_the_message_shape() -> None:
    run("ask", "-m", "scripted:echo", "--session", "s", "blue whales")

    hits = json.loads(run("search", "whale*", "--role", "user", "--json").stdout)

    assert [hit["message"]["content"] for hit in hits] == ["blue whales"]
    assert hits[0]["message"]["role"] == "user" and hits[0]["session_name"] == "s"


def test_a_malformed_query_is_one_line_exit_2() -> None:
    run("ask", "-m", "scripted:echo", "hi")
    result = run("search", '"unclosed')

    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("chatcli: error: cannot search for")


def test_an_unknown_session_is_exit_5() -> None:
    result = run("search", "x", "--session", "nope")
    assert result.exit_code == 5 and "no session 'nope'" in result.stderr
