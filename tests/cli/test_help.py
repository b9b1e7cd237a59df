"""Help is plain text with its options in sections, and ``chatcli --help`` lists every command
as the whole command line would, without building them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from clitools import CHATCLI, cli_env

from chatcli.cli.main import COMMAND_SOURCES

FULL_APP_HELP = "from chatcli.cli.main import app; app(['--help'])"


def help_text(command: list[str], home: Path) -> str:
    env = cli_env(home, COLUMNS="100")
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def section(text: str, title: str) -> list[str]:
    """The lines of one section of a help text (up to the next blank line)."""
    lines = text.splitlines()
    start = lines.index(f"{title}:") + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def test_the_root_help_lists_every_command_as_the_whole_command_line_does(
    chatcli_home: Path,
) -> None:
    listed = section(help_text([*CHATCLI, "--help"], chatcli_home), "Commands")
    built = section(help_text([sys.executable, "-c", FULL_APP_HELP], chatcli_home), "Commands")
    assert [line.split()[0] for line in listed] == list(COMMAND_SOURCES)  # in the declared order
    assert sorted(listed) == sorted(built)  # same names, same summaries


def test_options_are_grouped_in_sections(chatcli_home: Path) -> None:
    text = help_text([*CHATCLI, "ask", "--help"], chatcli_home)
    assert "Usage: " in text and "ask [OPTIONS] [prompt]" in text.splitlines()[0]
    assert "╭" not in text  # plain text, not typer's rich panels
    arguments = section(text, "Arguments")
    options, model, sampling = (section(text, name) for name in ("Options", "Model", "Sampling"))
    assert arguments[0].split()[0] == "prompt"
    assert any("--session" in line for line in options)
    assert any("--model" in line for line in model) and not any("--model" in o for o in options)
    assert any("--temperature" in line for line in sampling)
    assert not any("--temperature" in line for line in options + model)


def test_help_after_a_command_is_that_commands_help(chatcli_home: Path) -> None:
    text = help_text([*CHATCLI, "--model", "smollm2", "search", "--help"], chatcli_home)
    assert text.startswith("Usage: ") and " search " in text.splitlines()[0]
    assert "Commands:" not in text


def test_a_group_lists_its_commands(chatcli_home: Path) -> None:
    text = help_text([*CHATCLI, "sessions", "--help"], chatcli_home)
    names = [line.split()[0] for line in section(text, "Commands")]
    assert {"list", "show", "export", "import", "delete"} <= set(names)


def test_help_after_a_mistyped_command_suggests_the_command(chatcli_home: Path) -> None:
    env = cli_env(chatcli_home)
    done = subprocess.run(
        [*CHATCLI, "serch", "--help"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "No such command 'serch'. Did you mean 'search'" in done.stderr


@pytest.mark.parametrize(
    "argv",
    [["--session", "search", "--help"], ["--help", "search"], ["-v", "--help", "sessions"]],
    ids=["a session named like a command", "help before a command", "after a flag"],
)
def test_the_roots_own_help_lists_every_command(argv: list[str], chatcli_home: Path) -> None:
    text = help_text([*CHATCLI, *argv], chatcli_home)
    assert "chatcli [OPTIONS] COMMAND" in text.splitlines()[0]
    assert [line.split()[0] for line in section(text, "Commands")] == list(COMMAND_SOURCES)
