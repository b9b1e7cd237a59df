"""Shell completion: roles after -r, sessions after --session and sessions show/delete,
catalog models after --model, read from disk without loading a model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from clitools import cli_env
from typer.testing import CliRunner

from chatcli import paths
from chatcli.assembly import open_sessions
from chatcli.cli.main import app


def complete(line: str) -> list[str]:
    words = line.split(" ")
    env = {
        "_CHATCLI_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
    }
    result = CliRunner().invoke(app, [], env=env, prog_name="chatcli")
    return result.stdout.split()


def _named(*names: str) -> None:
    with open_sessions() as sessions:
        for name in names:
            sessions.store.create_session(model="m", name=name)


def test_roles_complete_after_role_options() -> None:
    assert complete("chatcli ask -r tr") == ["translate"]
    assert "summarize" in complete("chatcli roles show s")


def test_session_names_complete_where_a_session_is_named() -> None:
    _named("trip-lyon", "trip-rome", "work")

    assert complete("chatcli ask --session trip") == ["trip-rome", "trip-lyon"]
    assert complete("chatcli --session w") == ["work"]
    assert complete("chatcli sessions show trip-r") == ["trip-rome"]
    assert complete("chatcli sessions delete w") == ["work"]


def test_models_complete_from_the_catalog() -> None:
    assert "smollm2-135m" in complete("chatcli ask --model smo")


@pytest.mark.parametrize("line", ["chatcli ask --session ", "chatcli sessions show "])
def test_completing_creates_no_database(line: str, chatcli_home: Path) -> None:
    assert complete(line) == []
    assert not paths.database_file().exists()


@pytest.mark.parametrize(
    ("line", "expected"),
    [("chatcli ses", "sessions"), ("chatcli sessions sh", "show"), ("chatcli --ses", "--session")],
)
def test_the_console_script_completes_commands_and_root_options(
    line: str, expected: str, chatcli_home: Path
) -> None:
    """Through the real entry point, its stdin no terminal (as under some shells' widgets)."""
    env = cli_env(
        chatcli_home,
        _CHATCLI_COMPLETE="complete_bash",
        COMP_WORDS=line,
        COMP_CWORD=str(len(line.split(" ")) - 1),
    )
    script = Path(sys.executable).parent / "chatcli"  # click names the variable by the program
    done = subprocess.run(
        [script], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout.split()
