"""chatcli through a real OpenAI-compatible server: llama-cpp-python's own, on 127.0.0.1,
serving the default model. The same ask, pipes, sessions and Python API as a local model."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from clitools import CHATCLI, chatcli, cli_env

import chatcli as api
from chatcli.config import Settings

pytestmark = pytest.mark.model

SHORT = ["--max-tokens", "16", "--temperature", "0", "--seed", "1"]


@pytest.fixture
def server(llama_server: str) -> str:
    return llama_server


@pytest.fixture
def lab(server: str, chatcli_home: Path) -> str:
    config = chatcli_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[endpoints.lab]\nbase_url = "{server}"\ncontext_length = 2048\n', encoding="utf-8"
    )
    return "endpoint:lab"


def test_ask_streams_and_saves_through_the_server(lab: str, chatcli_home: Path) -> None:
    first = chatcli(
        chatcli_home, "ask", "-m", lab, *SHORT, "--stats", "What is the capital of France?"
    )
    assert first.code == 0, first.stderr
    assert first.stdout.strip()
    stats = first.stats()
    assert stats["model"] == lab and stats["token_count"] == "estimated"
    assert stats["context_length"] == 2048
    assert 0 < stats["completion_tokens"] <= 16

    again = chatcli(chatcli_home, "ask", "-c", *SHORT, "--json", "And of Italy?")
    assert again.code == 0, again.stderr
    data = again.json()
    assert data["model"] == lab and data["answer"].strip()
    shown = chatcli(chatcli_home, "sessions", "show", data["session_id"], "--json").json()
    assert [m["role"] for m in shown["transcript"]] == ["user", "assistant"] * 2
    assert shown["model"] == lab  # the session remembers where it ran


def test_piped_text_goes_to_the_server(lab: str, chatcli_home: Path) -> None:
    result = chatcli(
        chatcli_home, "ask", "-m", lab, *SHORT, "Summarize.", stdin="The sky is blue.\n"
    )
    assert result.code == 0, result.stderr
    question = chatcli(chatcli_home, "sessions", "list", "--json").json()[0]
    shown = chatcli(chatcli_home, "sessions", "show", question["id"], "--json").json()
    assert shown["transcript"][0]["content"] == "The sky is blue.\n\nSummarize."


def test_ctrl_c_closes_the_stream_and_keeps_the_partial_reply(lab: str, chatcli_home: Path) -> None:
    process = subprocess.Popen(
        [*CHATCLI, "ask", "-m", lab, "--max-tokens", "400", "--ignore-eos", "Write a long story."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(chatcli_home),
    )
    assert process.stdout is not None
    process.stdout.read(8)  # the reply has started
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    session = chatcli(chatcli_home, "sessions", "list", "--json").json()[0]
    reply = chatcli(chatcli_home, "sessions", "show", session["id"], "--json").json()["transcript"][
        1
    ]
    assert reply["status"] == "interrupted" and reply["content"]


def test_the_python_api_through_the_server(server: str) -> None:
    settings = Settings(model=f"endpoint:{server}#", context_length=2048)
    with api.open_session("remote", settings=settings) as chat:
        text = "".join(chat.stream("Say hi.", max_tokens=8, temperature=0))
        assert text.strip()
        assert chat.last is not None and chat.last.usage.completion_tokens <= 8
    assert os.environ.get("CHATCLI_API_KEY") is None  # nothing set, nothing needed
