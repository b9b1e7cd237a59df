"""Running the real ``chatcli`` command in a subprocess, as a user would."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHATCLI = [sys.executable, "-m", "chatcli"]
DETERMINISTIC = ["--temperature", "0", "--seed", "1"]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def stats(self) -> dict[str, Any]:
        lines = [line for line in self.stderr.splitlines() if line.startswith("{")]
        assert len(lines) == 1, self.stderr
        stats: dict[str, Any] = json.loads(lines[0])
        return stats


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATCLI_")}
    env.update(CHATCLI_HOME=str(home), NO_COLOR="1", **extra)
    return env


def chatcli(
    home: Path, *args: str, stdin: str | None = None, timeout: float = 120, **env: str
) -> Result:
    """Run chatcli; stdin is empty (/dev/null) unless text is given."""
    done = subprocess.run(
        [*CHATCLI, *args],
        input=stdin.encode() if stdin is not None else None,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        env=cli_env(home, **env),
        timeout=timeout,
    )
    return Result(done.returncode, done.stdout.decode(), done.stderr.decode())


def streaming_story(home: Path, max_tokens: int) -> subprocess.Popen[bytes]:
    """Start `chatcli ask` writing a long greedy story, its stdout and stderr piped."""
    story = "Write a long story about a dragon."
    args = [*CHATCLI, "ask", "--max-tokens", str(max_tokens), "--ignore-eos", *DETERMINISTIC, story]
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(home),
    )


def assert_one_line_error(result: Result, code: int, *words: str) -> None:
    assert result.code == code, (result.code, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("chatcli: error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def capture_logs() -> Iterator[list[str]]:
    """Every message logged in this process meanwhile, at any level (the root set to DEBUG)."""
    root = logging.getLogger()
    collector, level = _Collector(), root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    try:
        yield collector.messages
    finally:
        root.removeHandler(collector)
        root.setLevel(level)
