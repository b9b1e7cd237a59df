"""The ``chatcli`` command: the TUI by default, ``ask`` for one-shot answers, and helpers.

Importing this module must stay cheap (``chatcli --help`` is run often): llama_cpp and
textual are imported only inside the commands that need them.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from chatcli import __version__
from chatcli.cli import manage
from chatcli.cli.ask import AskRequest, read_stdin, run_ask
from chatcli.cli.errors import setup_logging, user_errors
from chatcli.cli.options import (
    SAMPLING,
    ContinueOpt,
    CtxOpt,
    GpuOpt,
    ModelFlags,
    ModelOpt,
    RoleOpt,
    SamplingFlags,
    SessionOpt,
    SystemOpt,
    ThreadsOpt,
    VerboseOpt,
)


class OverflowPolicy(StrEnum):
    """What to do when the history outgrows the context."""

    DROP_OLDEST = "drop-oldest"
    SUMMARIZE = "summarize"
    ERROR = "error"


app = typer.Typer(
    name="chatcli",
    help="Chat with local language models in the terminal.",
    no_args_is_help=False,
    add_completion=True,
    pretty_exceptions_enable=False,
)
app.add_typer(manage.roles_app, name="roles")
app.add_typer(manage.sessions_app, name="sessions")
app.add_typer(manage.models_app, name="models")


def _version(value: bool) -> None:
    if value:
        print(f"chatcli {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
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
    verbose: VerboseOpt = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    """Open the chat app, or answer piped-in text like ``ask`` when stdin is not a terminal."""
    if context.invoked_subcommand is not None:
        return
    setup_logging(verbose)
    flags = ModelFlags(model, ctx, gpu_layers, threads, verbose)
    with user_errors():
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

        raise typer.Exit(launch_tui(flags, continue_latest, session, role, system))


@app.command()
def ask(
    prompt: Annotated[str | None, typer.Argument(help="The question or instruction.")] = None,
    model: ModelOpt = None,
    system: SystemOpt = None,
    role: RoleOpt = None,
    temperature: Annotated[
        float | None, typer.Option(min=0.0, rich_help_panel=SAMPLING, help="0 = greedy.")
    ] = None,
    top_p: Annotated[float | None, typer.Option(min=0.0, max=1.0, rich_help_panel=SAMPLING)] = None,
    top_k: Annotated[int | None, typer.Option(min=0, rich_help_panel=SAMPLING)] = None,
    min_p: Annotated[float | None, typer.Option(min=0.0, max=1.0, rich_help_panel=SAMPLING)] = None,
    repeat_penalty: Annotated[float | None, typer.Option(min=0.0, rich_help_panel=SAMPLING)] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, rich_help_panel=SAMPLING)] = None,
    seed: Annotated[int | None, typer.Option(min=0, rich_help_panel=SAMPLING)] = None,
    stop: Annotated[
        list[str] | None,
        typer.Option(help="Stop the reply at this text (repeatable).", rich_help_panel=SAMPLING),
    ] = None,
    ctx: CtxOpt = None,
    gpu_layers: GpuOpt = None,
    threads: ThreadsOpt = None,
    continue_latest: ContinueOpt = False,
    session: SessionOpt = None,
    no_save: Annotated[bool, typer.Option("--no-save", help="Do not save this exchange.")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of the answer.")
    ] = False,
    stats: Annotated[
        bool, typer.Option("--stats", help="After the reply, one JSON line of timings on stderr.")
    ] = False,
    raw: Annotated[
        bool, typer.Option("--raw", help="Print plain text even on a terminal.")
    ] = False,
    overflow: Annotated[
        OverflowPolicy | None,
        typer.Option(help="When the history outgrows the context (saved with the session)."),
    ] = None,
    truncate_input: Annotated[
        bool,
        typer.Option(
            "--truncate-input", help="Cut the middle of piped text that does not fit the context."
        ),
    ] = False,
    ignore_eos: Annotated[
        bool,
        typer.Option(
            "--ignore-eos", help="Generate past end-of-turn (for benchmarks).", hidden=True
        ),
    ] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Ask one question; piped stdin is the material and PROMPT the instruction."""
    setup_logging(verbose)
    with user_errors():
        request = AskRequest(
            prompt=prompt,
            stdin_text=read_stdin(),
            system=system,
            role=role,
            continue_latest=continue_latest,
            session=session,
            save=not no_save,
            json_output=json_output,
            stats=stats,
            raw=raw,
            ignore_eos=ignore_eos,
            truncate_input=truncate_input,
            overflow=overflow.value if overflow else None,
            model_flags=ModelFlags(model, ctx, gpu_layers, threads, verbose),
            sampling=SamplingFlags(
                temperature,
                top_p,
                top_k,
                min_p,
                repeat_penalty,
                max_tokens,
                seed,
                tuple(stop or ()),
            ),
        )
        code = run_ask(request)
    raise typer.Exit(code)


def run() -> None:
    """Console-script entry point."""
    app()
