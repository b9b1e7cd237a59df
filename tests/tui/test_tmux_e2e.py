"""The real app, with the real default model, in a real terminal (tmux).

Types a question, waits for the answer, quits with Ctrl+Q, then checks with the
``chatcli sessions`` commands that the conversation was saved.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.terminal,
    pytest.mark.model,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

QUESTION = "What is the capital of France?"
POLL_S = 0.25
"""Pause between two looks at a real terminal (there is no event to wait on)."""


class Tmux:
    """One tmux server of our own (its own socket) running one session."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.name, *args], capture_output=True, text=True, check=False
        )

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name).stdout

    def alive(self) -> bool:
        return self.run("has-session", "-t", self.name).returncode == 0

    def wait_for(self, what: str, ready: Callable[[str], bool], timeout_s: float) -> str:
        """Look at the screen until ``ready(screen)``; fail after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            if not self.alive():
                break
            time.sleep(POLL_S)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{screen}")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux(f"chatcli-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield session
    finally:
        session.run("kill-server")


def chatcli(home: Path, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "chatcli", *args],
        env={**os.environ, "CHATCLI_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_ask_a_question_quit_and_find_the_session_saved(tmux: Tmux, tmp_path: Path) -> None:
    home = tmp_path / "home"
    exited = tmp_path / "exit-code"
    settings = {"CHATCLI_HOME": str(home), "CHATCLI_MAX_TOKENS": "40", "CHATCLI_TEMPERATURE": "0"}
    env = " ".join(f"{key}={shlex.quote(value)}" for key, value in settings.items())
    command = (
        f"env {env} {shlex.quote(sys.executable)} -m chatcli; echo $? > {shlex.quote(str(exited))}"
    )
    started = tmux.run(
        "new-session", "-d", "-s", tmux.name, "-x", "110", "-y", "32", "-c", str(tmp_path), command
    )
    assert started.returncode == 0, started.stderr

    tmux.wait_for("the chat to open", lambda s: "Quit" in s and "ctx " in s, 90)
    tmux.run("send-keys", "-t", tmux.name, "-l", QUESTION)
    tmux.run("send-keys", "-t", tmux.name, "Enter")
    screen = tmux.wait_for(
        "the answer", lambda s: "Assistant" in s and "tok/s" in s and "generating" not in s, 180
    )
    assert QUESTION in screen

    tmux.run("send-keys", "-t", tmux.name, "C-q")
    deadline = time.monotonic() + 30
    while not exited.exists() and time.monotonic() < deadline:
        time.sleep(POLL_S)
    assert exited.exists(), f"chatcli did not exit; the screen was:\n{tmux.screen()}"
    assert exited.read_text().strip() == "0"

    sessions = chatcli(home, "sessions", "list", "--json")
    assert len(sessions) == 1
    assert sessions[0]["title"] == QUESTION
    shown = chatcli(home, "sessions", "show", sessions[0]["id"], "--json")
    question, answer = shown["transcript"]
    assert (question["role"], question["content"], question["status"]) == (
        "user",
        QUESTION,
        "complete",
    )
    assert answer["role"] == "assistant"
    assert answer["status"] == "complete"
    assert answer["content"].strip()


def test_term_dumb_gets_the_line_chat_on_the_same_sessions(tmux: Tmux, tmp_path: Path) -> None:
    home = tmp_path / "home"
    exited = tmp_path / "exit-code"
    settings = {"CHATCLI_HOME": str(home), "CHATCLI_MAX_TOKENS": "20", "TERM": "dumb"}
    env = " ".join(f"{key}={shlex.quote(value)}" for key, value in settings.items())
    command = (
        f"env {env} {shlex.quote(sys.executable)} -m chatcli --session dumb; "
        f"echo $? > {shlex.quote(str(exited))}"
    )
    started = tmux.run("new-session", "-d", "-s", tmux.name, "-x", "100", "-y", "30", command)
    assert started.returncode == 0, started.stderr

    tmux.wait_for("the line prompt", lambda s: "/quit" in s and s.rstrip().endswith(">"), 90)
    tmux.run("send-keys", "-t", tmux.name, "-l", QUESTION)
    tmux.run("send-keys", "-t", tmux.name, "Enter")
    tmux.wait_for("the answer", lambda s: s.count(">") >= 2 and s.rstrip().endswith(">"), 120)
    tmux.run("send-keys", "-t", tmux.name, "-l", "/quit")
    tmux.run("send-keys", "-t", tmux.name, "Enter")
    deadline = time.monotonic() + 30
    while not exited.exists() and time.monotonic() < deadline:
        time.sleep(POLL_S)
    assert exited.read_text().strip() == "0"
    shown = chatcli(home, "sessions", "show", "dumb", "--json")
    assert [m["role"] for m in shown["transcript"]] == ["user", "assistant"]
