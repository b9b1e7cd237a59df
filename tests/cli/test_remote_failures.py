"""The remote backend against a loopback server that misbehaves: one line, exit 7, nothing lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from clitools import capture_logs
from remote_servers import Behaviour, misbehaving_server
from typer.testing import CliRunner, Result

from chatcli.assembly import build_engine, open_sessions
from chatcli.config import Settings
from chatcli.engine.base import ChatMessage, ReplyDone, TextDelta
from chatcli.engine.params import SamplingParams


@pytest.fixture
def server(chatcli_home: Path) -> Iterator[tuple[str, Behaviour]]:
    with misbehaving_server() as (url, behaviour):
        config = chatcli_home / "config" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            "[remote]\ntimeout_s = 2\nmax_retries = 0\n\n"
            f'[endpoints.lab]\nbase_url = "{url}"\napi_key_env = "LAB_KEY"\n',
            encoding="utf-8",
        )
        yield url, behaviour


def ask(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app_under_test(), ["ask", *args], env=env)


def app_under_test() -> typer.Typer:
    from chatcli.cli.main import app

    built: typer.Typer = app
    return built


def one_line(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chatcli: error: "), result.stderr
    for word in words:
        assert word in lines[0]


def saved() -> list[list[tuple[str, str, str]]]:
    with open_sessions() as sessions:
        return [
            [(m.role, m.content, m.status) for m in sessions.history(s)] for s in sessions.recent()
        ]


def test_a_reply_streams_with_sampling_mapped_to_the_api(server: tuple[str, Behaviour]) -> None:
    _, behaviour = server
    result = ask(
        "-m",
        "endpoint:lab",
        "--temperature",
        "0.3",
        "--top-k",
        "7",
        "--seed",
        "5",
        "--max-tokens",
        "50",
        "--stop",
        "END",
        "--stats",
        "hi",
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == "Hello there friend.\n"
    body = behaviour.bodies[-1]
    assert (body["temperature"], body["top_k"], body["seed"], body["max_tokens"]) == (
        0.3,
        7,
        5,
        50,
    )
    assert body["stop"] == ["END"] and body["stream"] is True
    stats = json.loads(result.stderr.strip().splitlines()[-1])
    assert stats["token_count"] == "estimated"
    assert stats["completion_tokens"] == 3
    assert saved() == [
        [("user", "hi", "complete"), ("assistant", "Hello there friend.", "complete")]
    ]


def test_the_api_key_is_sent_and_never_written(server: tuple[str, Behaviour]) -> None:
    _, behaviour = server
    result = ask("-m", "endpoint:lab", "--json", "--stats", "hi", env={"LAB_KEY": "s3cret"})

    assert behaviour.keys == ["Bearer s3cret"]
    assert "s3cret" not in result.output
    shown = CliRunner().invoke(
        app_under_test(), ["sessions", "show", "--json", json.loads(result.stdout)["session_id"]]
    )
    assert "s3cret" not in shown.stdout


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"fail_status": 500}, "failed (500)"),
        ({"fail_status": 401}, "refused the API key (401)"),
        ({"fail_status": 429, "retry_after": "0"}, "limiting requests (429)"),
        ({"garbage": True}, "did not answer like an OpenAI-compatible server"),
        ({"stall_s": 3.0}, "did not answer in time"),
    ],
)
def test_a_failing_server_is_one_line_and_the_question_is_kept(
    server: tuple[str, Behaviour], change: dict[str, object], words: str
) -> None:
    _, behaviour = server
    for key, value in change.items():
        setattr(behaviour, key, value)

    one_line(ask("-m", "endpoint:lab", "hi"), 7, words)
    assert saved() == [[("user", "hi", "complete"), ("assistant", "", "error")]]


def test_a_stream_cut_mid_reply_keeps_the_part_received(server: tuple[str, Behaviour]) -> None:
    _, behaviour = server
    behaviour.drop_after = 2

    result = ask("-m", "endpoint:lab", "--session", "cut", "hi")

    one_line(result, 7, "broke off", "kept")
    assert result.stdout.startswith("Hello there ")
    assert saved() == [[("user", "hi", "complete"), ("assistant", "Hello there ", "interrupted")]]


def test_a_rate_limit_is_retried_before_the_first_token(
    server: tuple[str, Behaviour], chatcli_home: Path
) -> None:
    _, behaviour = server
    config = chatcli_home / "config" / "config.toml"
    config.write_text(config.read_text().replace("max_retries = 0", "max_retries = 2"))
    behaviour.fail_status, behaviour.retry_after = 429, "0"

    one_line(ask("-m", "endpoint:lab", "hi"), 7, "429")
    assert behaviour.chats == 3  # the first try and two retries


def test_nothing_listening_is_one_line(chatcli_home: Path) -> None:
    one_line(ask("--base-url", "http://127.0.0.1:9/v1", "hi"), 7, "cannot reach")


def test_an_unknown_endpoint_names_the_known_ones(server: tuple[str, Behaviour]) -> None:
    one_line(ask("-m", "endpoint:nope", "hi"), 5, "unknown endpoint 'nope'", "lab")


def test_api_model_without_base_url_is_a_usage_error() -> None:
    result = ask("--api-model", "x", "hi")
    assert result.exit_code == 2
    assert "--api-model needs --base-url" in result.output


def test_a_cancel_closes_the_stream_at_once(server: tuple[str, Behaviour]) -> None:
    url, behaviour = server
    behaviour.words = [f"w{i} " for i in range(200)]
    engine = build_engine(Settings(model=f"endpoint:{url}#tiny"), snapshots=False)
    cancel = threading.Event()
    received = []
    for event in engine.stream([ChatMessage("user", "go")], SamplingParams(), cancel):
        if isinstance(event, TextDelta):
            received.append(event.text)
            if len(received) == 3:
                cancel.set()
        elif isinstance(event, ReplyDone):
            done = event
    engine.close()
    assert len(received) == 3
    assert done.finish_reason == "interrupted"
    assert engine.load().capabilities.exact_token_count is False


def test_models_list_shows_endpoints_and_what_they_serve(
    server: tuple[str, Behaviour], chatcli_home: Path
) -> None:
    url, _ = server
    config = chatcli_home / "config" / "config.toml"
    config.write_text(
        config.read_text() + '\n[endpoints.gone]\nbase_url = "http://127.0.0.1:9/v1"\n'
    )
    result = CliRunner().invoke(app_under_test(), ["models", "list", "--remote"])

    assert result.exit_code == 0, result.output
    assert (
        f"endpoint:lab: the first model it lists\n    {url}\n      serves tiny\n" in result.stdout
    )
    assert "endpoint:gone" in result.stdout
    assert "endpoint:gone: cannot reach" in result.stderr


@pytest.mark.parametrize(
    ("flavour", "context", "count"),
    [
        ("vllm", 8192, (2 + 2) + (1 + 2) + 1),  # /tokenize with the messages
        ("llama-server", 3072, 6),  # /apply-template, then /tokenize
    ],
)
def test_servers_that_tokenize_chats_give_exact_counts_and_their_context(
    server: tuple[str, Behaviour], flavour: str, context: int, count: int
) -> None:
    url, behaviour = server
    behaviour.flavour = flavour
    engine = build_engine(Settings(model=f"endpoint:{url}#"), snapshots=False)
    try:
        info = engine.load()
        messages = [ChatMessage("system", "be brief"), ChatMessage("user", "hi")]
        assert info.capabilities.exact_token_count is True
        assert info.capabilities.count_margin == 0.0
        assert info.context_length == context
        assert engine.count_tokens(messages) == count
    finally:
        engine.close()


def test_a_model_the_server_does_not_have_is_one_line(server: tuple[str, Behaviour]) -> None:
    url, _ = server
    one_line(ask("--base-url", url, "--api-model", "giant", "hi"), 7, "no model 'giant'", "tiny")


def test_the_api_key_reaches_no_log_export_or_database(
    server: tuple[str, Behaviour], chatcli_home: Path, tmp_path: Path
) -> None:
    from chatcli import paths

    _, behaviour = server
    key = "sk-PRIVATE-9f8e7d"
    env = {"LAB_KEY": key}
    with capture_logs() as records:
        asked = ask("-m", "endpoint:lab", "--verbose", "--json", "hi", env=env)
        behaviour.fail_status = 401
        failed = ask("-m", "endpoint:lab", "--verbose", "hi", env=env)
    exported = tmp_path / "all.json"
    CliRunner().invoke(app_under_test(), ["sessions", "export", "--all", "-o", str(exported)])

    assert behaviour.keys and all(sent == f"Bearer {key}" for sent in behaviour.keys)
    assert asked.exit_code == 0 and json.loads(asked.stdout)["answer"]
    assert failed.exit_code == 7 and "refused the API key" in failed.stderr
    for text in (asked.stdout, asked.stderr, failed.stdout, failed.stderr, *records):
        assert key not in text
    assert exported.exists() and key not in exported.read_text()
    database = paths.database_file()
    for file in database.parent.iterdir():
        if file.name.startswith(database.name):  # the database and its -wal/-shm files
            assert key.encode() not in file.read_bytes()
