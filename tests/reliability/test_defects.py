"""Regressions for failures found by trying chatcli as a new user would."""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import (
    DETERMINISTIC,
    assert_one_line_error,
    chatcli,
    streaming_story,
)

pytestmark = pytest.mark.model


def test_a_directory_as_the_model_is_a_model_error(chatcli_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "weights.gguf"
    folder.mkdir()
    result = chatcli(chatcli_home, "ask", "--model", str(folder), "hi")
    assert_one_line_error(result, 4, "directory")


def test_a_closed_stdout_ends_quietly_and_keeps_the_partial_reply(chatcli_home: Path) -> None:
    with streaming_story(chatcli_home, 300) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.read(5)  # what `head -c 5` takes before it exits
        process.stdout.close()
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=120)
    assert first
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert code == 1
    listed = chatcli(chatcli_home, "sessions", "list", "--json").json()
    shown = chatcli(chatcli_home, "sessions", "show", "--json", listed[0]["id"])
    messages = shown.json()["transcript"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["status"] == "interrupted"
    assert messages[1]["content"].startswith(first.decode(errors="ignore").strip()[:3])


@pytest.mark.parametrize(("first", "second"), [(256, 128), (512, 300), (1024, 256)])
def test_a_snapshot_bigger_than_the_new_context_is_a_cache_miss(
    chatcli_home: Path, first: int, second: int
) -> None:
    long_question = "apple " * 150
    before = ["ask", "--ctx", str(first), "--max-tokens", "8", *DETERMINISTIC, long_question]
    assert chatcli(chatcli_home, *before).code == 0
    result = chatcli(chatcli_home, "ask", "--ctx", str(second), "--max-tokens", "8", "hi")
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip()
