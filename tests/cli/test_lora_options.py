"""``--lora``, ``--lora-scale`` and ``--no-lora`` in-process, on the scripted backend.

What is saved with the session and what the engine is built with; the real adapters on the
real model are in tests/cli/test_lora_cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import ScriptedBackend
from typer.testing import CliRunner, Result

from chatcli.assembly import open_sessions
from chatcli.cli.main import app
from chatcli.engine.params import LoraAdapter

ECHO = ["--model", "scripted:echo"]


def ask(*args: str) -> Result:
    return CliRunner().invoke(app, ["ask", *ECHO, *args])


def saved(name: str) -> tuple[str | None, float]:
    with open_sessions() as sessions:
        session = sessions.require(name)
        return session.lora, session.lora_scale


def one_line_error(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0]


@pytest.fixture
def adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A relative adapter path, from a working directory that holds it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "french.gguf").write_bytes(b"")
    return "french.gguf"


def test_an_adapter_is_saved_with_the_session_as_an_absolute_path_and_kept(
    adapter: str, tmp_path: Path, scripted_backend: ScriptedBackend
) -> None:
    assert ask("--session", "s", "--lora", adapter, "hi").exit_code == 0
    absolute = str(tmp_path / "french.gguf")
    assert scripted_backend.built[-1].adapter == LoraAdapter(absolute, 1.0)
    assert saved("s") == (absolute, 1.0)

    assert ask("--session", "s", "again").exit_code == 0
    assert scripted_backend.built[-1].replied_with == [LoraAdapter(absolute, 1.0)]


def test_a_scale_alone_rescales_the_sessions_adapter_and_no_lora_takes_it_off(
    adapter: str, tmp_path: Path, scripted_backend: ScriptedBackend
) -> None:
    ask("--session", "s", "--lora", adapter, "--lora-scale", "0.5", "hi")
    assert saved("s") == (str(tmp_path / "french.gguf"), 0.5)
    assert ask("--session", "s", "--lora-scale", "0.25", "hi").exit_code == 0
    assert saved("s") == (str(tmp_path / "french.gguf"), 0.25)
    assert scripted_backend.built[-1].replied_with[-1] == LoraAdapter(
        str(tmp_path / "french.gguf"), 0.25
    )
    assert ask("--session", "s", "--no-lora", "hi").exit_code == 0
    assert saved("s") == (None, 1.0)
    assert scripted_backend.built[-1].replied_with == [None]


def test_stats_name_the_adapter_used(adapter: str, tmp_path: Path) -> None:
    result = ask("--lora", adapter, "--lora-scale", "0.5", "--stats", "hi")
    stats = json.loads(result.stderr.strip().splitlines()[-1])
    assert stats["lora"] == {"path": str(tmp_path / "french.gguf"), "scale": 0.5}
    assert json.loads(ask("--stats", "hi").stderr.strip().splitlines()[-1])["lora"] is None


def test_a_scale_without_any_adapter_is_a_usage_error() -> None:
    one_line_error(ask("--lora-scale", "0.5", "hi"), 2, "needs an adapter")


def test_lora_and_no_lora_together_are_a_usage_error(adapter: str) -> None:
    result = ask("--lora", adapter, "--no-lora", "hi")
    assert result.exit_code == 2
    assert "--no-lora" in result.output


def test_a_server_with_an_adapter_is_a_clean_error_before_anything_is_sent(adapter: str) -> None:
    result = CliRunner().invoke(
        app, ["ask", "--base-url", "http://127.0.0.1:9/v1", "--lora", adapter, "hi"]
    )
    one_line_error(result, 2, "LoRA adapters need a local GGUF model")
    with open_sessions() as sessions:
        assert sessions.recent() == []
