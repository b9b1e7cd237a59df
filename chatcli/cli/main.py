"""The ``chatcli`` command: the TUI by default, ``ask`` for one-shot answers, and helpers.

Importing this module must stay cheap (``chatcli --help`` is run often): llama_cpp and
textual are imported only inside the commands that need them.

The modules whose signatures typer reads (the commands, their options and completions) do
not use ``from __future__ import annotations``: typer would compile every string annotation
on each run (building ``ask`` took 24 ms that way, 5 ms now). ``test_startup_imports`` checks.
"""

import functools
import os
import sys
from importlib import import_module
from typing import Annotated, Any

import typer
from typer._click import Command  # typer's own click (it vendors one)
from typer.core import TyperGroup, TyperOption

from chatcli import __version__
from chatcli.cli.errors import OneLineErrors, setup_logging, user_errors
from chatcli.cli.help import SectionedCommand, SectionedGroup, summary
from chatcli.cli.options import (
    FLAG,
    ApiModelOpt,
    BaseUrlOpt,
    ContinueOpt,
    CtxOpt,
    GpuOpt,
    LoraOpt,
    LoraScaleOpt,
    ModelFlags,
    ModelOpt,
    NoLoraOpt,
    RoleOpt,
    SessionOpt,
    SystemOpt,
    ThreadsOpt,
    VerboseOpt,
)


def _version(value: bool) -> None:
    if value:
        print(f"chatcli {__version__}")
        raise typer.Exit()


def main(
    context: typer.Context,
    model: ModelOpt = None,
    continue_latest: ContinueOpt = False,
    session: SessionOpt = None,
    role: RoleOpt = None,
    system: SystemOpt = None,
    ctx: CtxOpt = None,
    gpu_layers: GpuOpt = None,
    threads: ThreadsOpt = None,
    base_url: BaseUrlOpt = None,
    api_model: ApiModelOpt = None,
    lora: LoraOpt = None,
    lora_scale: LoraScaleOpt = None,
    no_lora: NoLoraOpt = False,
    verbose: VerboseOpt = False,
    no_tui: Annotated[
        bool,
        typer.Option(
            "--no-tui",
            metavar=FLAG,
            help="Chat line by line instead of in the full-screen app (also when TERM=dumb).",
        ),
    ] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    """Open the chat app, or answer piped-in text like ``ask`` when stdin is not a terminal."""
    if context.invoked_subcommand is not None:
        return
    # What a command needs is imported when it runs: ``--help`` must stay fast.
    from chatcli.cli.ask import AskRequest, read_stdin, run_ask
    from chatcli.cli.startup import ChatStart

    setup_logging(verbose)
    flags = ModelFlags(
        model, ctx, gpu_layers, threads, verbose, base_url, api_model, lora, lora_scale, no_lora
    )
    start = ChatStart(flags, continue_latest, session, role, system)
    with user_errors():
        if no_tui or (sys.stdin.isatty() and os.environ.get("TERM") == "dumb"):
            from chatcli.cli.line_chat import run_line_chat

            raise typer.Exit(run_line_chat(start))
        if not sys.stdin.isatty():
            request = AskRequest(
                prompt=None,
                stdin_text=read_stdin(),
                system=system,
                role=role,
                continue_latest=continue_latest,
                session=session,
                model_flags=flags,
            )
            raise typer.Exit(run_ask(request))
        from chatcli.cli.tui_launch import launch_tui

        raise typer.Exit(launch_tui(start))


COMMAND_SOURCES: dict[str, tuple[str, str]] = {
    "roles": ("chatcli.cli.manage", "roles_app"),
    "sessions": ("chatcli.cli.manage", "sessions_app"),
    "models": ("chatcli.cli.models", "models_app"),
    "search": ("chatcli.cli.search", "search"),
    "bench": ("chatcli.cli.bench", "bench"),
    "eval": ("chatcli.cli.evaluate", "evaluate"),
    "doctor": ("chatcli.cli.doctor", "doctor"),
    "replay": ("chatcli.cli.replay", "replay"),
    "ask": ("chatcli.cli.ask_command", "ask"),
}
"""Each command: the module and the name of its function or sub-app (in ``--help``'s order)."""


COMMANDS = frozenset(COMMAND_SOURCES)


HELP_WIDTH = 120
"""Help fills the terminal up to this many columns (click stops at 80)."""

ROOT_ONLY = ""
"""``build_app(ROOT_ONLY)``: the root's options and no command (for the root's ``--help``)."""


def build_app(only: str | None = None) -> typer.Typer:
    """The command line: every command, or just ``only`` (the one a command line runs).

    Typer inspects the signature of every command it holds each time it runs, and their
    modules import what their options need: ``chatcli search`` skips the other commands'
    ~0.1 s.
    """
    app = typer.Typer(
        name="chatcli",
        help="Chat with local language models in the terminal.",
        no_args_is_help=False,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"max_content_width": HELP_WIDTH},
        cls=OneLineErrors,
    )
    app.callback(invoke_without_command=True)(main)
    for name, (module, attribute) in COMMAND_SOURCES.items():
        if only in (None, name):
            command = getattr(import_module(module), attribute)
            if isinstance(command, typer.Typer):
                app.add_typer(command, name=name)
            else:
                app.command(name, cls=SectionedCommand)(command)
    return app


def show_root_help(args: list[str]) -> None:
    """``chatcli --help``: the root's options, and the commands listed without building them."""
    root = typer.main.get_command(build_app(ROOT_ONLY))
    assert isinstance(root, SectionedGroup)
    root.listed = {
        name: summary(getattr(import_module(module), attribute))
        for name, (module, attribute) in COMMAND_SOURCES.items()
    }
    root(args=args)


_FULL_APP: list[typer.Typer] = []


def __getattr__(name: str) -> Any:
    """``app``: the whole command line (for tests and tools), built on first use."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not _FULL_APP:
        _FULL_APP.append(build_app())
    return _FULL_APP[0]


def arguments_for(argv: list[str], stdin_is_terminal: bool) -> list[str]:
    """The command line as given, or as ``ask`` when bare ``chatcli`` reads piped input.

    So ``echo hi | chatcli --max-tokens 5`` takes every option ``ask`` takes.
    """
    asks_for_help = {"--help", "--version", "--install-completion", "--show-completion"}
    line_chat = "--no-tui" in argv  # a line chat reads its messages from stdin
    if stdin_is_terminal or line_chat or asks_for_help & set(argv) or _completing():
        return argv
    if command_in(argv):
        return argv
    return ["ask", *argv]


def command_in(argv: list[str]) -> str | None:
    """The command ``argv`` runs: its first word, when that names one (None: the root's)."""
    word = first_word(argv)
    return word if word in COMMANDS else None


def first_word(argv: list[str]) -> str | None:
    """The first word of ``argv`` that is neither an option nor an option's value.

    ``chatcli --session search`` names a session, not the search command.
    """
    index = _first_word_index(argv)
    return None if index is None else argv[index]


def _first_word_index(argv: list[str]) -> int | None:
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            return index + 1 if index + 1 < len(argv) else None
        if token == "-" or not token.startswith("-"):
            return index
        # Only an option with something after it needs the options built (--help stays fast).
        if index + 1 < len(argv) and _value_follows(token):
            index += 1
        index += 1
    return None


def _value_follows(option: str) -> bool:
    """Whether ``option`` takes the next argument as its value (in ``-cm NAME``, -m does)."""
    names = _value_options()
    if option.startswith("--"):
        return "=" not in option and option in names
    for position, letter in enumerate(option[1:], start=2):
        if f"-{letter}" in names:  # it takes the rest of the cluster, or else the next argument
            return position == len(option)
    return False


@functools.cache
def _value_options() -> frozenset[str]:
    """Every option name that takes a value, before a command: the root's and ``ask``'s."""
    root = _command("ask")
    assert isinstance(root, TyperGroup)
    params = [*root.params, *root.commands["ask"].params]
    return frozenset(
        name
        for param in params
        if isinstance(param, TyperOption) and not param.is_flag and not param.count
        for name in (*param.opts, *param.secondary_opts)
    )


@functools.cache
def _command(only: str | None) -> Command:
    """``build_app(only)`` made into its click command once (routing and running share it)."""
    return typer.main.get_command(build_app(only))


def _completing() -> bool:
    """Whether the shell asked for completions (click's ``_CHATCLI_COMPLETE`` and the like)."""
    return any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ)


def run() -> None:
    """Run the command line in ``sys.argv`` (``chatcli.cli.entry`` calls this)."""
    args = arguments_for(sys.argv[1:], sys.stdin.isatty())
    if "--help" in args[: _first_word_index(args)]:
        show_root_help(args)  # the root's own help: click shows it before any command runs
    _command(_commands_to_build(args))(args=args)


def _commands_to_build(args: list[str]) -> str | None:
    """The command ``args`` names; with none, only the root's (the app); else all of them.

    All of them for a word that names no command, so that its error suggests the right name,
    and for shell completion, which runs through the root with no arguments at all.
    """
    word = first_word(args)
    if word is None and not _completing():
        return ROOT_ONLY  # building all 22 commands would cost the app's start ~0.07 s
    return word if word in COMMANDS else None
