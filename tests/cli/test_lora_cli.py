"""``chatcli ask --lora`` with the real default model and small generated adapters."""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import DETERMINISTIC, assert_one_line_error, chatcli
from lora_helpers import write_lora_adapter

from chatcli.catalog import resolve_model

pytestmark = pytest.mark.model

SHORT = ["--max-tokens", "16", *DETERMINISTIC]
QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lora_adapter(tmp_path_factory.mktemp("lora") / "a.gguf")


def test_a_session_remembers_its_adapter_and_it_changes_the_answer(
    chatcli_home: Path, adapter: Path
) -> None:
    base = chatcli(chatcli_home, "ask", "--no-save", *SHORT, QUESTION)
    first = chatcli(
        chatcli_home, "ask", "--session", "x", "--lora", str(adapter), "--stats", *SHORT, QUESTION
    )
    assert first.code == 0, first.stderr
    assert first.stats()["lora"] == {"path": str(adapter), "scale": 1.0}
    assert first.stdout != base.stdout
    again = chatcli(chatcli_home, "ask", "--session", "x", "--stats", *SHORT, "And of Italy?")
    assert again.code == 0, again.stderr
    assert again.stats()["lora"] == {"path": str(adapter), "scale": 1.0}
    assert again.stats()["cached_prompt_tokens"] > 0  # its own snapshot, made with the adapter


def test_a_session_resumed_with_another_adapter_does_not_reuse_its_snapshot(
    chatcli_home: Path, adapter: Path
) -> None:
    plain = chatcli(chatcli_home, "ask", "--session", "y", *SHORT, QUESTION)
    assert plain.code == 0, plain.stderr
    switched = chatcli(
        chatcli_home, "ask", "--session", "y", "--lora", str(adapter), "--stats", *SHORT, "Why?"
    )
    assert switched.code == 0, switched.stderr
    assert switched.stats()["cached_prompt_tokens"] == 0


@pytest.mark.parametrize(
    ("which", "words"),
    [
        ("missing", ("LoRA adapter not found",)),
        ("model", ("not a LoRA adapter",)),
        ("qwen", ("is for 'qwen2' models",)),
    ],
)
def test_an_unusable_adapter_is_one_line_with_exit_4_and_nothing_saved(
    chatcli_home: Path, tmp_path: Path, which: str, words: tuple[str]
) -> None:
    paths = {
        "missing": tmp_path / "missing.gguf",
        "model": resolve_model("").path,
        "qwen": write_lora_adapter(tmp_path / "qwen.gguf", architecture="qwen2"),
    }
    result = chatcli(chatcli_home, "ask", "--lora", str(paths[which]), *SHORT, QUESTION)
    assert_one_line_error(result, 4, *words)
    assert chatcli(chatcli_home, "sessions", "list", "--json").json() == []
