"""The public Python API: chatcli.open_session / Chat.stream / Chat.ask / chatcli.ask."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from clitools import cli_env
from fakes import ScriptedBackend

import chatcli
from chatcli.assembly import open_sessions
from chatcli.config import Settings
from chatcli.errors import NotFoundError

README = Path(__file__).resolve().parent.parent / "README.md"
ECHO = Settings(model="scripted:echo")


def test_a_session_streams_saves_and_continues(scripted_backend: ScriptedBackend) -> None:
    with chatcli.open_session("notes", settings=ECHO) as chat:
        pieces = list(chat.stream("three little words"))
        assert pieces == ["three ", "little ", "words"]
        assert chat.last is not None and chat.last.finish_reason == "stop"
    with chatcli.open_session("notes", settings=ECHO) as chat:
        assert chat.ask("again") == "again"
        assert [m.content for m in chat.history()] == [
            "three little words",
            "three little words",
            "again",
            "again",
        ]


def test_sampling_keywords_reach_the_engine(scripted_backend: ScriptedBackend) -> None:
    with chatcli.open_session(settings=ECHO) as chat:
        chat.ask("hi", temperature=0, max_tokens=5)
        with pytest.raises(TypeError, match="unknown sampling option"):
            chat.ask("hi", warmth=1)
    params = scripted_backend.built[-1].params[-1]
    assert (params.temperature, params.max_tokens) == (0, 5)


def test_files_are_attached_and_saved_with_the_message(
    scripted_backend: ScriptedBackend, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("apples\n")
    with chatcli.open_session(settings=ECHO) as chat:
        answer = chat.ask("What fruit?", files=[tmp_path / "notes.txt"])
        (question, _reply) = chat.history()
    assert answer == f'<file path="{tmp_path / "notes.txt"}">\napples\n</file>\n\nWhat fruit?'
    assert question.content == "What fruit?"
    assert [ref["path"] for ref in question.attachments] == [str(tmp_path / "notes.txt")]
    with chatcli.open_session(settings=ECHO) as chat, pytest.raises(NotFoundError, match="no such"):
        chat.ask("What fruit?", files=[tmp_path / "gone.txt"])


def test_breaking_off_a_stream_keeps_the_partial_reply() -> None:
    with chatcli.open_session("cut", settings=ECHO) as chat:
        for _piece in chat.stream("one two three four"):
            break
        reply = chat.history()[-1]
    assert (reply.content, reply.status) == ("one ", "interrupted")


def test_one_shot_ask_saves_nothing_by_default() -> None:
    assert chatcli.ask("hello", settings=ECHO, system="Be brief.") == "hello"
    with open_sessions() as sessions:
        assert sessions.recent() == []


def test_a_chat_opened_and_never_used_leaves_nothing() -> None:
    chatcli.open_session("idle", settings=ECHO).close()

    with open_sessions() as sessions:
        assert sessions.find("idle") is None


def test_importing_chatcli_exposes_the_api_lazily() -> None:
    assert {"open_session", "ask", "Chat"} <= set(chatcli.__all__)
    probe = (
        "import sys, chatcli; loaded = 'chatcli.api' in sys.modules; chatcli.open_session; "
        "print(loaded, 'chatcli.api' in sys.modules, chatcli.Chat.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.split() == ["False", "True", "Chat"], done.stderr
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        chatcli.nothing  # noqa: B018


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert found, "the README's Python API example is missing"
    return found.group(1)


@pytest.mark.model
def test_the_readme_example_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _readme_example()],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "home"),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "Traceback" not in done.stderr
