"""``sessions export`` / ``sessions import`` in-process: files, stdin, Markdown, bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from chatcli.cli.main import app


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


def _two_sessions() -> None:
    run("ask", "-m", "scripted:echo", "--session", "trip", "Plan a day in Lyon")
    run("ask", "-m", "scripted:echo", "--session", "trip", "And the evening?")
    run("ask", "-m", "scripted:echo", "--session", "work", "Draft the memo")


def test_export_all_then_import_into_a_fresh_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_sessions()
    out = tmp_path / "all.json"
    exported = run("sessions", "export", "--all", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    assert f"wrote {out}" in exported.stderr

    monkeypatch.setenv("CHATCLI_HOME", str(tmp_path / "other"))
    imported = run("sessions", "import", str(out))

    assert imported.exit_code == 0, imported.output
    assert "imported 2 sessions, 6 messages" in imported.stderr
    listed = json.loads(run("sessions", "list", "--json").stdout)
    assert sorted(s["name"] for s in listed) == ["trip", "work"]
    again = json.loads(run("sessions", "export", "--all").stdout)
    original = json.loads(out.read_text())
    assert again["sessions"] == original["sessions"]


def test_markdown_export_is_for_reading() -> None:
    _two_sessions()
    text = run("sessions", "export", "trip", "--format", "md").stdout

    assert text.startswith("# trip\n")
    assert "## You\n\nPlan a day in Lyon\n" in text
    assert "## Assistant\n\nAnd the evening?\n" in text


def test_import_from_stdin_twice_renames_with_notices() -> None:
    _two_sessions()
    document = run("sessions", "export", "trip").stdout

    result = run("sessions", "import", "-", stdin=document)

    assert result.exit_code == 0
    assert "'trip' is in use" in result.stderr and "already here" in result.stderr
    assert len(json.loads(run("sessions", "list", "--json").stdout)) == 3


def test_a_bad_file_is_one_line_exit_9_and_nothing_is_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "chatcli-sessions", "format_version": 1, "sessions": [{}]}')

    for source in (str(bad), str(tmp_path / "missing.json")):
        result = run("sessions", "import", source)
        assert result.exit_code == 9, result.output
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("chatcli: error: ")
    not_json = run("sessions", "import", "-", stdin="hello")
    assert not_json.exit_code == 9 and "not JSON" in not_json.stderr
    assert json.loads(run("sessions", "list", "--json").stdout) == []


def test_export_needs_one_session_or_all() -> None:
    assert run("sessions", "export").exit_code == 2
    assert run("sessions", "export", "--all", "--format", "md").exit_code == 2


CHATGPT = Path(__file__).resolve().parent.parent / "data" / "chatgpt_conversations.json"


def test_a_chatgpt_export_imports_with_its_branches() -> None:
    from chatcli.assembly import open_sessions

    result = run("sessions", "import", str(CHATGPT))

    assert result.exit_code == 0, result.output
    assert "imported 2 sessions, 5 messages" in result.stderr
    with open_sessions() as sessions:
        rivers = next(s for s in sessions.recent() if s.title == "Rivers of Europe")
        shown = [m.content for m in sessions.history(rivers)]  # current_node: the second answer
        assert shown == ["Name a long river in Europe.", "The Volga, \nthe longest."]
        tips = [m.content for m in sessions.leaves(rivers)]
        assert tips == ["About 2,850 km.", "The Volga, \nthe longest."]
        danube = sessions.choose_branch(rivers, 1)
        assert [m.role for m in sessions.history(danube)] == ["user", "assistant"] * 2
        assert sessions.history(danube)[1].model == "gpt-4o"
    again = run("sessions", "import", str(CHATGPT))  # the same file twice: noticed
    assert "already here" in again.stderr


def test_a_broken_chatgpt_export_is_one_line() -> None:
    broken: list[dict[str, Any]] = [
        {"mapping": {"x": {"parent": None, "children": [], "message": {"author": 3}}}}
    ]
    result = run("sessions", "import", "-", stdin=json.dumps(broken))
    assert result.exit_code == 9 and "conversation 1" in result.stderr
