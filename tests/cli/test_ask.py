"""The real CLI with the real default model, in subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from clitools import CHATCLI, DETERMINISTIC, chatcli, cli_env

pytestmark = pytest.mark.model

SHORT = ["--max-tokens", "24", *DETERMINISTIC]


def transcript(home: Path, session: str = "") -> dict[str, Any]:
    target = session or chatcli(home, "sessions", "list", "--json").json()[0]["id"]
    shown: dict[str, Any] = chatcli(home, "sessions", "show", target, "--json").json()
    return shown


def test_answer_goes_to_stdout_and_nothing_else(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask", *SHORT, "What is the capital of France?")
    assert result.code == 0, result.stderr
    assert result.stdout.strip()
    assert result.stderr == ""  # no llama.cpp log, no status lines
    saved = transcript(chatcli_home)["transcript"]
    assert [m["role"] for m in saved] == ["user", "assistant"]
    # byte for byte when stdout is not a TTY, ended with one newline if the reply has none
    assert saved[1]["content"] + ("" if saved[1]["content"].endswith("\n") else "\n") == (
        result.stdout
    )


def test_piped_text_is_the_material_and_argument_the_instruction(chatcli_home: Path) -> None:
    notes = "The meeting moved to Thursday. Bring the budget draft."
    result = chatcli(chatcli_home, "ask", *SHORT, "Summarize this", stdin=notes)
    assert result.code == 0, result.stderr
    question = transcript(chatcli_home)["transcript"][0]["content"]
    assert question == f"{notes}\n\nSummarize this"


def test_stdin_alone_is_the_question(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask", *SHORT, stdin="What is 2 + 2?\n")
    assert result.code == 0, result.stderr
    assert transcript(chatcli_home)["transcript"][0]["content"] == "What is 2 + 2?"


def test_bare_chatcli_with_piped_stdin_answers_without_the_tui(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, stdin="hi")
    assert result.code == 0, result.stderr
    assert result.stdout.strip()
    assert "\x1b" not in result.stdout  # no terminal UI escape codes


def test_json_prints_one_object(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask", *SHORT, "--json", "Name a colour.")
    assert result.code == 0, result.stderr
    data = result.json()
    assert set(data) >= {"answer", "model", "usage", "session_id"}
    assert data["model"] == "smollm2-135m"
    assert data["usage"]["completion_tokens"] > 0
    assert data["session_id"] == transcript(chatcli_home)["id"]


def test_stats_is_one_json_line_on_stderr(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask", *SHORT, "--stats", "Say hello.")
    assert result.code == 0
    stats = result.stats()
    for key in (
        "ttft_s",
        "prompt_tokens",
        "cached_prompt_tokens",
        "completion_tokens",
        "gen_tokens_per_s",
        "total_s",
        "model",
    ):
        assert key in stats
    assert stats["prompt_tokens"] > 0 and stats["completion_tokens"] > 0
    assert 0 < stats["ttft_s"] <= stats["total_s"]


def test_continue_sends_the_earlier_turns(chatcli_home: Path) -> None:
    first = chatcli(chatcli_home, "ask", *SHORT, "--stats", "My name is Ada.")
    second = chatcli(chatcli_home, "ask", *SHORT, "--stats", "-c", "What is my name?")
    assert first.code == second.code == 0
    grown = second.stats()["prompt_tokens"] - first.stats()["prompt_tokens"]
    answer_tokens = first.stats()["completion_tokens"]
    assert grown >= answer_tokens  # the first question and answer were sent again
    saved = transcript(chatcli_home)["transcript"]
    assert [m["content"] for m in saved[::2]] == ["My name is Ada.", "What is my name?"]


def test_named_session_is_created_then_continued(chatcli_home: Path) -> None:
    chatcli(chatcli_home, "ask", *SHORT, "--session", "trip", "Plan a day in Lyon.")
    chatcli(chatcli_home, "ask", *SHORT, "--session", "trip", "And the evening?")
    chatcli(chatcli_home, "ask", *SHORT, "Unrelated question.")
    trip = transcript(chatcli_home, "trip")
    assert trip["name"] == "trip"
    assert len(trip["transcript"]) == 4


def test_no_save_leaves_no_session(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask", *SHORT, "--no-save", "--json", "hello")
    assert result.code == 0
    assert result.json()["session_id"] is None
    assert chatcli(chatcli_home, "sessions", "list", "--json").json() == []


def test_same_seed_gives_the_same_answer(chatcli_home: Path) -> None:
    args = ["ask", "--no-save", "--max-tokens", "30", "--temperature", "0.8", "--seed", "42"]
    one = chatcli(chatcli_home, *args, "Tell me a fact about owls.")
    two = chatcli(chatcli_home, *args, "Tell me a fact about owls.")
    assert one.stdout == two.stdout != ""


def test_role_and_system_prompt_are_saved(chatcli_home: Path) -> None:
    chatcli(chatcli_home, "ask", *SHORT, "-r", "translate", "Bonjour le monde")
    saved = transcript(chatcli_home)
    assert saved["role"] == "translate"
    assert "translat" in saved["system_prompt"].lower()
    chatcli(chatcli_home, "ask", *SHORT, "-s", "Answer in one word.", "Sky colour?")
    assert transcript(chatcli_home)["system_prompt"] == "Answer in one word."


def test_ctrl_c_stops_the_reply_keeps_partial_and_exits_130(chatcli_home: Path) -> None:
    process = subprocess.Popen(
        [*CHATCLI, "ask", "--ignore-eos", "--max-tokens", "4000", "Tell a long story."],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(chatcli_home),
    )
    assert process.stdout is not None
    first = os.read(process.stdout.fileno(), 1)  # blocks until the answer starts streaming
    assert first
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=60)
    printed = (first + rest).decode()
    assert process.returncode == 130, errors
    assert b"Traceback" not in errors
    reply = transcript(chatcli_home)["transcript"][-1]
    assert reply["status"] == "interrupted"
    assert reply["content"] + "\n" == printed  # the line is ended, even when stopped


def test_more_continues_a_cut_reply_from_its_cached_state(chatcli_home: Path) -> None:
    story = ["--max-tokens", "12", *DETERMINISTIC]
    first = chatcli(chatcli_home, "ask", "--session", "tale", *story, "Tell a long story.")
    assert first.code == 0, first.stderr
    more = chatcli(chatcli_home, "ask", "--session", "tale", "--more", *story, "--stats")

    assert more.code == 0, more.stderr
    assert more.stdout.strip()
    stats = more.stats()
    # The question and the reply so far are the snapshot's prompt: nothing is evaluated again.
    assert stats["cached_prompt_tokens"] >= stats["prompt_tokens"] - 1
    saved = transcript(chatcli_home, "tale")["transcript"]
    assert len(saved) == 2
    assert saved[1]["content"] == first.stdout.rstrip("\n") + more.stdout.rstrip("\n")
    assert saved[1]["usage"]["completion_tokens"] == 24
