"""``chatcli bench`` and ``chatcli eval`` in-process: their output, and their one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from llama_helpers import make_engine
from typer.testing import CliRunner, Result

from chatcli.cli.bench import markdown_table
from chatcli.cli.main import app, arguments_for

ONE_THREAD = ("--threads", "1")  # the machine running the tests is shared
STORY = (
    "The keeper climbed the stairs of the lighthouse every evening. He lit the lamp, "
    "wiped the glass and watched the ships pass far out at sea. "
) * 3


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def assert_one_line_error(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr, result.stdout)
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("chatcli: error: ")
    for word in words:
        assert word in line, line


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.txt", None, ["not found"]),
        ("empty.txt", "", ["is empty"]),
        ("chats.jsonl", '{"messages": []}\n{"turns": 3}\n', ["line 2", "not a conversation"]),
        ("users.jsonl", '{"messages": [{"role": "user", "content": "hi"}]}\n', ["no assistant"]),
    ],
)
def test_eval_refuses_bad_data_with_one_line_and_exit_9(
    tmp_path: Path, name: str, content: str | None, words: list[str]
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")

    assert_one_line_error(run("eval", str(path)), 9, name, *words)


def test_eval_refuses_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(bytes(range(256)))

    assert_one_line_error(run("eval", str(path)), 9, "not UTF-8")


def test_bench_and_eval_need_a_local_model(tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text(STORY, encoding="utf-8")

    assert_one_line_error(run("bench", "-m", "scripted:echo"), 2, "local GGUF")
    assert_one_line_error(run("eval", str(text), "-m", "scripted:echo"), 2, "local GGUF")


def test_a_stride_beyond_the_window_is_a_usage_error(tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text(STORY, encoding="utf-8")

    assert_one_line_error(run("eval", str(text), "--window", "32", "--stride", "40"), 2, "stride")


def test_piped_stdin_leaves_bench_and_eval_alone() -> None:
    assert arguments_for(["bench", "--json"], stdin_is_terminal=False) == ["bench", "--json"]
    assert arguments_for(["eval", "data.txt"], stdin_is_terminal=False) == ["eval", "data.txt"]


def test_tables_line_up_with_numbers_to_the_right() -> None:
    table = markdown_table(("model", "perplexity"), [("a", "3.100"), ("longer-name", "12.250")])

    assert table.splitlines() == [
        "| model       | perplexity |",
        "| ----------- | ---------: |",
        "| a           |      3.100 |",
        "| longer-name |     12.250 |",
    ]


@pytest.mark.model
def test_bench_json_has_each_test_with_positive_speeds() -> None:
    result = run("bench", "--json", "--pp", "16", "--tg", "4", "-d", "0", "-d", "32", "-r", "2",
                 *ONE_THREAD)  # fmt: skip

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"] == "smollm2-135m" and report["threads"] == 1
    assert report["load_s"] > 0 and report["model_params"] > 0
    assert [r["test"] for r in report["results"]] == ["pp16", "tg4", "pp16 @ d32", "tg4 @ d32"]
    for test in report["results"]:
        assert test["tokens_per_s"] > 0 and test["stdev"] >= 0
        assert len(test["samples"]) == 2


@pytest.mark.model
def test_bench_prints_a_table_of_tests() -> None:
    result = run("bench", "--pp", "8", "--tg", "2", "-d", "0", "-r", "1", *ONE_THREAD)

    assert result.exit_code == 0, result.stderr
    assert "load: " in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in rows] == ["test", "----", "pp8", "tg2"]


@pytest.mark.model
def test_eval_gives_one_row_per_model(tmp_path: Path) -> None:
    text = tmp_path / "story.txt"
    text.write_text(STORY, encoding="utf-8")
    args = ("eval", str(text), "--window", "32", *ONE_THREAD)

    as_json = run(*args, "-m", "smollm2-135m", "-m", "smollm2-135m", "--json")
    as_table = run(*args, "-m", "smollm2-135m", "-m", "smollm2-135m")

    assert as_json.exit_code == 0, as_json.stderr
    rows = json.loads(as_json.stdout)["results"]
    assert len(rows) == 2 and rows[0]["tokens"] == rows[1]["tokens"] > 50
    assert all(math.isfinite(row["perplexity"]) and row["perplexity"] > 1 for row in rows)
    assert rows[0]["perplexity"] == pytest.approx(rows[1]["perplexity"], rel=1e-3)
    assert sum(line.startswith("| smollm2-135m") for line in as_table.stdout.splitlines()) == 2


@pytest.mark.model
def test_eval_of_conversations_scores_the_assistant_tokens_only(tmp_path: Path) -> None:
    answers = ["Paris is the capital of France.", "Madrid.", "It is blue because of scattering."]
    lines = [
        {"messages": [{"role": "user", "content": "Capital of France?"},
                      {"role": "assistant", "content": answers[0]},
                      {"role": "user", "content": "And Spain?"},
                      {"role": "assistant", "content": answers[1]}]},
        {"session": {"id": "s", "system_prompt": "Be brief.", "current_leaf": "a"},
         "messages": [{"id": "u", "parent_id": None, "role": "user", "content": "Why blue?"},
                      {"id": "a", "parent_id": "u", "role": "assistant", "content": answers[2]}]},
    ]  # fmt: skip
    data = tmp_path / "chats.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    engine = make_engine(context=256)
    engine.load()
    expected = sum(len(engine.tokenize_prompt(answer)) + 1 for answer in answers)  # + end of turn
    engine.close()

    result = run("eval", str(data), "--window", "64", "--json", *ONE_THREAD)

    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)["results"]
    assert row["tokens"] == expected
    assert math.isfinite(row["mean_nll"])
