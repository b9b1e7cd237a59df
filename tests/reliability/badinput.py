"""Shared helpers of the bad-input corpus (tests/reliability/test_bad_input_*.py).

Every case checks the same promise: a mistake is one line on stderr with its documented exit
code and no traceback, and nothing the user had is lost or overwritten.
"""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner, Result

from chatcli.assembly import open_sessions
from chatcli.cli.main import app

ECHO = ["--model", "scripted:echo"]


def run(*args: str, stdin: str | bytes | None = None, **env: str) -> Result:
    """Run chatcli in-process (the scripted backend is registered by conftest)."""
    return CliRunner().invoke(app, list(args), input=stdin, env=env or None)


def one_line_error(result: Result, code: int, *words: str) -> str:
    """Assert the documented failure shape; return the line."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chatcli: error: "), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def succeeded(result: Result) -> str:
    """Assert a clean success; return stdout."""
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.stdout


def saved() -> list[dict[str, Any]]:
    """Every saved session as a summary dict."""
    with open_sessions() as sessions:
        return [item.to_dict() for item in sessions.summaries()]


def transcript(name_or_id: str) -> list[tuple[str, str, str]]:
    """(role, status, content) of every message of a session's shown branch."""
    with open_sessions() as sessions:
        session = sessions.require(name_or_id)
        return [(m.role, m.status, m.content) for m in sessions.history(session)]
