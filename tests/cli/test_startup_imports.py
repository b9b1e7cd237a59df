"""Start-up imports only what a command needs.

`chatcli --version` answers before typer is imported; `--help` imports no model, TUI, store or
rich (its help is plain text); a command builds only itself;
a piped `ask` imports no Markdown renderer; and nothing imports pydantic (typer 0.29 would,
for every parameter).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import DETERMINISTIC, cli_env

CHECK = """
import sys
sys.argv = ["chatcli", *sys.argv[1:]]
from chatcli.cli.entry import run
try:
    run()
except SystemExit:
    pass
heavy = [name for name in ("llama_cpp", "textual", "markdown_it", "rich", "chatcli.store.store",
         "chatcli.core.chat", "sqlite3", "pydantic") if name in sys.modules]
others = [name for name in ("chatcli.cli.bench", "chatcli.cli.models", "chatcli.cli.search")
          if name in sys.modules]
print("HEAVY", heavy, "OTHERS", others, "TYPER", "typer" in sys.modules, file=sys.stderr)
"""


def run_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHECK, *args],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
        env=env,
    )


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_neither_the_model_the_tui_nor_rich(flag: str) -> None:
    done = run_check(flag)
    assert "HEAVY []" in done.stderr, done.stderr
    assert done.stdout.strip()  # the help or the version was printed


def test_the_version_is_printed_without_typer() -> None:
    done = run_check("--version")
    assert done.stdout.strip().startswith("chatcli ")
    assert "TYPER False" in done.stderr, done.stderr


def test_a_command_builds_only_itself(chatcli_home: Path) -> None:
    done = run_check("roles", "list")
    assert "summarize" in done.stdout  # a built-in role
    assert "HEAVY [] OTHERS []" in done.stderr, done.stderr  # no other command's modules


@pytest.mark.model
def test_a_piped_ask_imports_no_markdown_renderer(chatcli_home: Path) -> None:
    done = run_check(
        "ask", "--no-save", "--max-tokens", "2", *DETERMINISTIC, "hi", env=cli_env(chatcli_home)
    )
    heavy = done.stderr.split("HEAVY ", 1)[1]
    assert "llama_cpp" in heavy  # it did answer with the model
    assert "rich.markdown" not in heavy and "markdown_it" not in heavy, done.stderr
    assert "pydantic" not in heavy and "textual" not in heavy, done.stderr


@pytest.mark.model
def test_the_chat_without_a_command_builds_no_command(chatcli_home: Path) -> None:
    done = run_check("--no-tui", env=cli_env(chatcli_home))  # stdin ends at once: it quits
    assert "OTHERS []" in done.stderr, done.stderr  # the root alone: no command's module


def test_no_signature_typer_reads_is_a_string() -> None:
    """Typer compiles each string annotation every run (ask: 24 ms of building, not 5)."""
    import typer
    from typer._click import Command

    from chatcli.cli.main import build_app

    def functions(command: Command) -> Iterator[object]:
        yield command.callback
        for param in command.params:
            yield getattr(param, "callback", None)
            yield getattr(param, "_custom_shell_complete", None)
        for child in getattr(command, "commands", {}).values():  # a group's
            yield from functions(child)

    root = typer.main.get_command(build_app())
    stringly = [
        f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', f)}"
        for f in functions(root)
        if f is not None
        and any(isinstance(a, str) for a in getattr(f, "__annotations__", {}).values())
    ]
    assert stringly == []


ONLY_FOR_OTHER_FEATURES = (
    "chatcli.core.truncate",  # --truncate-input
    "chatcli.store.search",
    "chatcli.store.bulk",
    "glob",  # -f with a pattern
    "secrets",  # ids come from os.urandom directly
)


def unused_imports(*args: str, names: tuple[str, ...], home: Path) -> tuple[list[str], str]:
    """Which of ``names`` the command line ``args`` imported, and its stderr."""
    script = (
        CHECK + f"\nprint('UNUSED', [n for n in {names!r} if n in sys.modules], file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
        env=cli_env(home),
    )
    listed = done.stderr.split("UNUSED ", 1)[1].splitlines()[0]
    return ast.literal_eval(listed), done.stderr


@pytest.mark.model
def test_a_one_shot_ask_imports_only_what_it_uses(chatcli_home: Path) -> None:
    args = ("ask", "--no-save", "--max-tokens", "2", *DETERMINISTIC, "hi")
    unused, stderr = unused_imports(*args, names=ONLY_FOR_OTHER_FEATURES, home=chatcli_home)
    assert "llama_cpp" in stderr.split("HEAVY ", 1)[1]  # it did answer with the model
    assert unused == [], stderr
    assert not (chatcli_home / "data").exists()  # --no-save wrote no database


def test_listing_sessions_imports_no_scratch_search_or_bulk_store(chatcli_home: Path) -> None:
    names = ("chatcli.store.scratch", "chatcli.store.search", "chatcli.store.bulk", "hashlib")
    unused, stderr = unused_imports("sessions", "list", names=names, home=chatcli_home)
    assert (chatcli_home / "data").exists()  # it did open the store
    assert unused == [], stderr
