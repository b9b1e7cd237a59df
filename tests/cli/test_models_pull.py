"""``chatcli models pull`` end to end: a subprocess against a loopback hub (HF_ENDPOINT).

huggingface_hub reads some settings when it is imported, so each pull is a fresh process.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import Result, assert_one_line_error, chatcli
from hub_server import Hub, fake_hub, write_small_gguf


@pytest.fixture(scope="module")
def gguf_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_small_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf").read_bytes()


@pytest.fixture
def hub(gguf_bytes: bytes) -> Iterator[Hub]:
    with fake_hub(gguf_bytes) as served:
        yield served


def pull(home: Path, hub: Hub, *args: str, **env: str) -> Result:
    hub_env = {
        "HF_ENDPOINT": hub.url,
        "HF_HUB_DISABLE_TELEMETRY": "",  # not set: chatcli turns it on itself
        "HF_HOME": str(home / "hf"),
        "HF_HUB_OFFLINE": "0",
        "HF_TOKEN": "",
    }
    # timeout given by name: mypy cannot tell that the **dict[str, str] holds no "timeout"
    return chatcli(home, "models", "pull", *args, timeout=120, **{**hub_env, **env})


def assert_error_after_progress(result: Result, code: int, *words: str) -> None:
    """One error line, at the end, after the download's progress lines."""
    assert result.code == code, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if "error" in line] == [lines[-1]]
    assert lines[-1].startswith("chatcli: error: ")
    for word in words:
        assert word in lines[-1]


def models_folder(home: Path) -> Path:
    return home / "data" / "models"


def test_pull_of_a_catalog_model_verifies_it_and_shows_progress(
    chatcli_home: Path, hub: Hub
) -> None:
    result = pull(chatcli_home, hub, "qwen2.5-0.5b")

    assert result.code == 0, result.stderr
    assert result.stdout == ""
    path = models_folder(chatcli_home) / "qwen2.5-0.5b-instruct-q4_k_m.gguf"
    assert path.read_bytes() == hub.body
    assert "qwen2.5-0.5b-instruct-q4_k_m.gguf 100%" in result.stderr
    assert "sha256 matches the hub's" in result.stderr
    assert hub.gets()[0][1] == (
        "/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf"
    )
    assert all(request[1].count("/resolve/") == 1 for request in hub.requests)  # nothing else
    assert all(agent.startswith("chatcli/") for agent in hub.agents)
    listed = chatcli(chatcli_home, "models", "list", "--json").json()
    row = next(item for item in listed if item["name"] == "qwen2.5-0.5b")
    assert (row["present"], row["size"], row["quantization"]) == (True, len(hub.body), "F32")


def test_a_second_pull_downloads_nothing(chatcli_home: Path, hub: Hub) -> None:
    assert pull(chatcli_home, hub, "qwen2.5-0.5b").code == 0

    again = pull(chatcli_home, hub, "qwen2.5-0.5b")

    assert again.code == 0
    assert "already here" in again.stderr
    assert len(hub.gets()) == 1


def test_a_catalog_sha256_mismatch_is_exit_4_and_leaves_nothing(
    chatcli_home: Path, hub: Hub
) -> None:
    # The catalog pins qwen2.5-1.5b's real sha256 and revision; this hub serves another file.
    result = pull(chatcli_home, hub, "qwen2.5-1.5b")

    assert_error_after_progress(result, 4, "checksum mismatch", "(catalog)", "deleted")
    assert "/resolve/91cad51170dc346986eccefdc2dd33a9da36ead9/" in hub.gets()[0][1]
    assert list(models_folder(chatcli_home).iterdir()) == []


def test_pull_resumes_what_an_earlier_pull_left(chatcli_home: Path, hub: Hub) -> None:
    folder = models_folder(chatcli_home)
    folder.mkdir(parents=True)
    (folder / "qwen2.5-0.5b-instruct-q4_k_m.gguf.part").write_bytes(hub.body[:120_000])

    result = pull(chatcli_home, hub, "qwen2.5-0.5b")

    assert result.code == 0, result.stderr
    assert "resuming at 0.1 MB" in result.stderr
    assert [get[2] for get in hub.gets()] == ["bytes=120000-"]
    whole = (folder / "qwen2.5-0.5b-instruct-q4_k_m.gguf").read_bytes()
    assert hashlib.sha256(whole).hexdigest() == hub.sha256


def test_pull_of_any_repo_file_registers_a_user_entry(chatcli_home: Path, hub: Hub) -> None:
    result = pull(chatcli_home, hub, "someone/Tiny-GGUF", "Tiny-Q8.gguf", "--revision", "v2")

    assert result.code == 0, result.stderr
    assert "pulled 'tiny-q8'" in result.stderr
    entry = tomllib.loads((chatcli_home / "config" / "models" / "tiny-q8.toml").read_text())
    assert entry["sha256"] == hub.sha256
    assert entry["size"] == len(hub.body)
    assert entry["context_length"] == 2048  # the header's, under the 8,192 cap
    assert entry["source"]["hub"] == {
        "repo": "someone/Tiny-GGUF",
        "file": "Tiny-Q8.gguf",
        "revision": "0123456789abcdef0123456789abcdef01234567",
    }
    info = chatcli(chatcli_home, "models", "info", "tiny-q8", "--json").json()
    assert info["file"] == str(models_folder(chatcli_home) / "Tiny-Q8.gguf")
    assert info["sha256"] == hub.sha256


def test_pulling_the_same_repo_file_again_downloads_nothing(chatcli_home: Path, hub: Hub) -> None:
    assert pull(chatcli_home, hub, "someone/Tiny-GGUF", "Tiny-Q8.gguf").code == 0

    again = pull(chatcli_home, hub, "someone/Tiny-GGUF", "Tiny-Q8.gguf")

    assert again.code == 0 and "already here" in again.stderr
    assert len(hub.gets()) == 1


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (404, "EntryNotFound", "has no file qwen2.5-0.5b-instruct-q4_k_m.gguf (404)"),
        (401, "GatedRepo", "gated or private"),
        (500, None, "HTTP 500"),
    ],
)
def test_hub_failures_are_one_line_with_exit_7(
    chatcli_home: Path, hub: Hub, status: int, code: str | None, words: str
) -> None:
    hub.fail_status, hub.error_code = status, code

    assert_one_line_error(pull(chatcli_home, hub, "qwen2.5-0.5b"), 7, words)


def test_offline_pull_says_it_is_offline(chatcli_home: Path, hub: Hub) -> None:
    result = pull(chatcli_home, hub, "qwen2.5-0.5b", HF_HUB_OFFLINE="1")

    assert_one_line_error(result, 7, "offline (HF_HUB_OFFLINE is set)")
    assert hub.file_requests() == []


def test_unreachable_hub_is_offline(chatcli_home: Path, hub: Hub) -> None:
    result = pull(chatcli_home, hub, "qwen2.5-0.5b", HF_ENDPOINT="http://127.0.0.1:9")

    assert_one_line_error(result, 7, "offline: cannot reach http://127.0.0.1:9")


def test_pull_of_an_unknown_name_lists_what_can_be_pulled(chatcli_home: Path, hub: Hub) -> None:
    result = pull(chatcli_home, hub, "nope")

    assert_one_line_error(result, 5, "no catalog model 'nope'", "qwen2.5-1.5b", "REPO FILE")


def test_pull_of_a_repo_without_a_file_asks_for_the_file(chatcli_home: Path, hub: Hub) -> None:
    assert_one_line_error(pull(chatcli_home, hub, "someone/x"), 2, "models pull someone/x FILE")


def test_the_bundled_model_has_nothing_to_pull(chatcli_home: Path, hub: Hub) -> None:
    assert_one_line_error(pull(chatcli_home, hub, "smollm2-135m"), 2, "nothing to pull")


def test_a_missing_catalog_model_names_the_pull_command(chatcli_home: Path) -> None:
    result = chatcli(chatcli_home, "ask", "-m", "llama3.2-1b", "hi")

    assert_one_line_error(result, 4, "not downloaded yet: run chatcli models pull llama3.2-1b")
