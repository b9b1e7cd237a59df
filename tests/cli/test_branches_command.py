"""Branches and bookkeeping from the command line: rename, branches, stats, --branch, edits."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from chatcli.assembly import open_sessions
from chatcli.cli.main import app

ECHO = ["-m", "scripted:echo"]


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _history(name: str) -> list[str]:
    with open_sessions() as sessions:
        return [m.content for m in sessions.history(sessions.require(name))]


def test_edit_last_resends_as_a_new_branch_and_branch_goes_back() -> None:
    run("ask", *ECHO, "--session", "s", "first question")
    run("ask", *ECHO, "--session", "s", "second question")

    edited = run("ask", "--session", "s", "--edit-last", "second, better")
    assert edited.exit_code == 0, edited.output
    assert _history("s") == ["first question"] * 2 + ["second, better"] * 2

    listed = run("sessions", "branches", "s")
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith("*  2")  # the newest is shown
    back = run("ask", "--session", "s", "--branch", "1", "third")
    assert back.exit_code == 0, back.output
    assert _history("s")[-4:] == ["second question", "second question", "third", "third"]


def test_branch_out_of_range_is_a_usage_error() -> None:
    run("ask", *ECHO, "--session", "s", "hi")
    result = run("ask", "--session", "s", "--branch", "5", "x")
    assert result.exit_code == 2 and "choose 1 to 1" in result.stderr
    assert len(_history("s")) == 2


def test_branch_needs_a_saved_session() -> None:
    result = run("ask", *ECHO, "--edit-last", "x")
    assert result.exit_code == 2 and "saved session" in result.stderr


def test_rename_and_stats() -> None:
    run("ask", *ECHO, "--session", "s", "one two three")
    assert run("sessions", "rename", "s", "Counting").exit_code == 0
    listed = json.loads(run("sessions", "list", "--json").stdout)
    assert listed[0]["title"] == "Counting"

    stats = json.loads(run("sessions", "stats", "--json").stdout)
    assert (stats["sessions"], stats["messages"]) == (1, 2)
    (model,) = stats["models"]
    assert model["model"] == "scripted:echo" and model["replies"] == 1
    assert model["completion_tokens"] == 3
    assert "1 sessions, 2 messages" in run("sessions", "stats").stdout


def test_show_prints_a_chosen_branch_or_the_whole_tree() -> None:
    run("ask", *ECHO, "--session", "s", "first question")
    run("ask", *ECHO, "--session", "s", "second question")
    run("ask", "--session", "s", "--edit-last", "second, better")

    first_branch = run("sessions", "show", "s", "--branch", "1").stdout
    assert "second question" in first_branch and "second, better" not in first_branch
    tree = run("sessions", "show", "s", "--all-branches").stdout.splitlines()
    assert tree == [
        "[user] first question",
        "[assistant] first question",
        "  [user 1/2] second question",
        "  [assistant] second question",
        "  [user 2/2] second, better",
        "  [assistant] second, better",
    ]
    assert _history("s")[-1] == "second, better"  # showing another branch saved nothing


def test_delete_older_than_removes_only_old_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    run("ask", *ECHO, "--session", "old", "hi")
    later = time.time() + 40 * 86400
    monkeypatch.setattr(time, "time", lambda: later)
    run("ask", *ECHO, "--session", "new", "hi")

    refused = run("sessions", "delete", "--older-than", "30d")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    done = run("sessions", "delete", "--older-than", "30d", "--yes")
    assert done.exit_code == 0 and "deleted 1 sessions" in done.stderr
    assert [s["name"] for s in json.loads(run("sessions", "list", "--json").stdout)] == ["new"]
    assert run("sessions", "delete", "--older-than", "soon").exit_code == 2
