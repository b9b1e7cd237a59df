"""``chatcli doctor``: what chatcli runs on, as text and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import chatcli
from typer.testing import CliRunner

from chatcli.cli.main import app
from chatcli.paths import ensure_private_dir


def test_doctor_json_without_loading_describes_the_setup(chatcli_home: Path) -> None:
    ensure_private_dir(chatcli_home / "cache" / "kv")
    (chatcli_home / "cache" / "kv" / "snap.bin").write_bytes(b"x" * 1000)
    (chatcli_home / "data").mkdir(mode=0o755)
    (chatcli_home / "data").chmod(0o755)

    result = CliRunner().invoke(app, ["doctor", "--json", "--no-load"])

    report = json.loads(result.stdout)
    assert report["chatcli"] and report["python"]
    assert set(report["llama_cpp"]) == {
        "version", "gpu_offload", "backend", "backends", "cpu_features",
    }  # fmt: skip
    assert report["cpu"]["threads"] == report["cpu"]["physical_cores"] >= 1
    assert report["dirs"]["config"] == {
        "path": str(chatcli_home / "config"), "exists": False, "mode": None, "private": None,
    }  # fmt: skip
    assert report["dirs"]["data"]["mode"] == "0755"
    assert report["model"]["name"] == "smollm2-135m"
    assert report["model"]["present"] is True
    assert "loaded" not in report["model"]
    assert report["kv_cache"]["files"] == 1 and report["kv_cache"]["bytes"] == 1000
    assert report["kv_cache"]["cap_bytes"] == 2 << 30
    # A folder others can read is a problem: exit 1, said on stderr.
    assert report["problems"] == [
        f"data folder {chatcli_home / 'data'} is readable by others (0755)"
    ]
    assert result.exit_code == 1
    assert "chatcli: problem: data folder" in result.stderr


def test_doctor_reports_configured_threads_and_a_model_that_will_not_load(
    chatcli_home: Path,
) -> None:
    ensure_private_dir(chatcli_home / "config")
    (chatcli_home / "config" / "config.toml").write_text('model = "qwen2.5-3b"\nthreads = 3\n')

    result = CliRunner().invoke(app, ["doctor", "--json"])

    report = json.loads(result.stdout)
    assert report["cpu"]["threads"] == 3
    assert report["model"]["loaded"] is False
    assert "chatcli models pull qwen2.5-3b" in report["model"]["error"]
    assert result.exit_code == 1


@pytest.mark.model
def test_doctor_loads_the_default_model(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "doctor")

    assert result.code == 0, result.stderr
    assert "default model    smollm2-135m" in result.stdout
    assert "layers on the GPU" in result.stdout
    report = chatcli(chatcli_home, "doctor", "--json").json()
    model = report["model"]
    assert model["loaded"] is True and model["load_s"] > 0
    assert model["layers"] == 31  # SmolLM2-135M: 30 blocks and the output layer
    assert model["gpu_layers"] == (31 if report["llama_cpp"]["gpu_offload"] else 0)
    assert model["context_length"] == 8192
