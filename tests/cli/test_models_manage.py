"""``chatcli models list|info|add|rm|default`` on the real default model's file (headers only)."""

from __future__ import annotations

import json
import shutil
import stat
import tomllib
from pathlib import Path

import pytest
from hub_server import write_small_gguf
from typer.testing import CliRunner, Result

from chatcli.catalog import resolve_model
from chatcli.cli.main import app

DEFAULT_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["models", *args])


def one_line_error(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chatcli: error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def default_file() -> Path:
    return resolve_model("").path


def test_list_marks_the_default_and_shows_what_is_here(default_file: Path) -> None:
    result = run("list")

    assert result.exit_code == 0, result.output
    first, where = result.stdout.splitlines()[:2]
    assert first.startswith("* smollm2-135m")
    assert "here" in first and "98.4 MB" in first and "Q4_1" in first
    assert where.strip() == str(default_file)
    assert "not downloaded: chatcli models pull mistral-7b" in result.stdout


def test_list_json_has_one_row_per_catalog_model() -> None:
    rows = json.loads(run("list", "--json").stdout)

    names = [row["name"] for row in rows]
    assert names[:2] == ["smollm2-135m", "qwen2.5-0.5b"]
    assert {"llama3.2-1b", "phi3.5-mini", "gemma2-2b", "mistral-7b"} <= set(names)
    default = rows[0]
    assert (default["default"], default["present"], default["quantization"]) == (True, True, "Q4_1")
    missing = next(row for row in rows if row["name"] == "llama3.2-1b")
    assert (missing["present"], missing["size"]) == (False, 807694464)  # the catalog's size


def test_info_reads_the_header_and_the_digest(default_file: Path) -> None:
    result = run("info", "default")

    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "architecture   llama" in text
    assert "parameters     0.13 B (134,515,008)" in text
    assert "context length 8,192 tokens (trained)" in text
    assert "quantization   Q4_1" in text
    assert f"sha256         {DEFAULT_SHA256}" in text
    assert "licence        Apache-2.0" in text
    assert "    {% for message in messages %}" in text


def test_info_json_of_a_path(default_file: Path) -> None:
    facts = json.loads(run("info", str(default_file), "--json").stdout)

    assert facts["name"] == default_file.stem
    assert facts["file"] == str(default_file)
    assert facts["sha256"] == DEFAULT_SHA256
    assert facts["quantization"] == "Q4_1"
    assert facts["catalog"] is None
    assert facts["chat_template"].startswith("{% for message in messages %}")


def test_info_of_a_missing_catalog_model_names_the_pull_command() -> None:
    one_line_error(run("info", "qwen2.5-3b"), 4, "run chatcli models pull qwen2.5-3b")


def test_add_registers_a_local_file_under_a_name(default_file: Path, chatcli_home: Path) -> None:
    result = run("add", str(default_file), "--name", "mine")

    assert result.exit_code == 0, result.output
    entry_file = chatcli_home / "config" / "models" / "mine.toml"
    entry = tomllib.loads(entry_file.read_text())
    assert entry["source"] == {"path": str(default_file)}
    assert entry["context_length"] == 8192
    assert stat.S_IMODE(entry_file.stat().st_mode) == 0o600
    rows = json.loads(run("list", "--json").stdout)
    assert rows[-1]["name"] == "mine" and rows[-1]["present"] is True
    assert json.loads(run("info", "mine", "--json").stdout)["sha256"] == DEFAULT_SHA256


def test_add_refuses_a_file_that_is_not_a_gguf(tmp_path: Path, chatcli_home: Path) -> None:
    fake = tmp_path / "notes.gguf"
    fake.write_text("hello")

    one_line_error(run("add", str(fake)), 4, "not a GGUF model file")
    assert not (chatcli_home / "config" / "models").exists()


def test_add_refuses_a_name_of_the_catalog(default_file: Path) -> None:
    one_line_error(run("add", str(default_file), "--name", "qwen2.5-1.5b"), 2, "choose another")


def test_rm_of_an_added_model_removes_the_entry_not_the_file(default_file: Path) -> None:
    run("add", str(default_file), "--name", "mine")

    result = run("rm", "mine", "--yes")

    assert result.exit_code == 0, result.output
    assert "deleted model 'mine'" in result.stderr
    assert default_file.is_file()
    assert "mine" not in [row["name"] for row in json.loads(run("list", "--json").stdout)]


def test_rm_of_a_pulled_model_deletes_its_file_and_partial(
    tmp_path: Path, chatcli_home: Path
) -> None:
    folder = chatcli_home / "data" / "models"
    folder.mkdir(parents=True)
    pulled = write_small_gguf(folder / "qwen2.5-0.5b-instruct-q4_k_m.gguf")
    partial = folder / "qwen2.5-0.5b-instruct-q4_k_m.gguf.part"
    shutil.copy(pulled, partial)

    result = run("rm", "qwen2.5-0.5b", "--yes")

    assert result.exit_code == 0, result.output
    assert list(folder.iterdir()) == []


def test_rm_needs_a_terminal_or_yes(default_file: Path) -> None:
    run("add", str(default_file), "--name", "mine")

    one_line_error(run("rm", "mine"), 2, "without a terminal", "--yes")


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("smollm2-135m", 2, "comes with chatcli"),
        ("qwen2.5-3b", 2, "is not downloaded"),
        ("nope", 5, "no catalog model 'nope'"),
    ],
)
def test_rm_of_what_cannot_be_removed(name: str, code: int, words: str) -> None:
    one_line_error(run("rm", name, "--yes"), code, words)


def test_default_writes_the_config_keeping_comments_and_privacy(chatcli_home: Path) -> None:
    config = chatcli_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    original = '# mine\ntheme = "nord"  # dark\n\n[sampling]\n# calm\ntemperature = 0.3\n'
    config.write_text(original)
    config.chmod(0o644)

    result = run("default", "qwen2.5-1.5b")

    assert result.exit_code == 0, result.output
    text = config.read_text()
    assert text == original.replace("# dark\n", '# dark\nmodel = "qwen2.5-1.5b"\n')
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    rows = json.loads(run("list", "--json").stdout)
    assert [row["name"] for row in rows if row["default"]] == ["qwen2.5-1.5b"]


def test_default_accepts_an_alias_and_writes_the_name(chatcli_home: Path) -> None:
    assert run("default", "smollm2").exit_code == 0

    config = tomllib.loads((chatcli_home / "config" / "config.toml").read_text())
    assert config == {"model": "smollm2-135m"}


def test_default_of_an_unknown_model_is_exit_5(chatcli_home: Path) -> None:
    one_line_error(run("default", "nope"), 5, "no catalog model 'nope'")
    assert not (chatcli_home / "config" / "config.toml").exists()


@pytest.mark.model
def test_an_added_model_runs_and_gpu_layers_on_a_cpu_build_is_a_notice(
    default_file: Path, chatcli_home: Path
) -> None:
    from clitools import DETERMINISTIC, chatcli

    assert run("add", str(default_file), "--name", "mine").exit_code == 0

    result = chatcli(
        chatcli_home,
        "ask", "-m", "mine", "--gpu-layers", "-1", "--max-tokens", "4", "--stats",
        *DETERMINISTIC, "Say hi.",
    )  # fmt: skip

    assert result.code == 0, result.stderr
    assert result.stdout.strip()
    notices = [line for line in result.stderr.splitlines() if "--gpu-layers" in line]
    assert len(notices) == 1
    assert "CPU only: running on the CPU" in notices[0]
    stats = result.stats()
    assert (stats["model"], stats["gpu_layers"]) == ("mine", 0)
