"""Turning failures into one line on stderr and a documented exit code."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import typer
from typer._click import ClickException  # typer's own click (it vendors one)

from chatcli.cli.help import SectionedGroup
from chatcli.errors import EXIT_INTERRUPTED, ChatcliError, ContextOverflowError, UsageError

CONTEXT_HINT = "; use a larger --ctx or a shorter input"


def say(message: str) -> None:
    """One line for the user on stderr."""
    print(f"chatcli: {message}", file=sys.stderr, flush=True)


def confirm_deletion(what: str, yes: bool) -> None:
    """Ask before deleting ``what`` unless ``yes``; exit 1 if refused, usage error off a tty."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"not deleting {what} without a terminal to ask on; add --yes")
    if not typer.confirm(f"Delete {what}?", err=True):
        say("nothing deleted")
        raise typer.Exit(1)


@contextmanager
def user_errors() -> Iterator[None]:
    """Report chatcli errors and Ctrl+C as one stderr line and an exit code, never a traceback."""
    try:
        yield
    except ChatcliError as error:
        hint = CONTEXT_HINT if isinstance(error, ContextOverflowError) else ""
        say(f"error: {error.message}{hint}")
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        say("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def setup_logging(verbose: bool) -> None:
    """Log to stderr: warnings by default, everything with --verbose."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="chatcli: %(name)s: %(message)s",
        stream=sys.stderr,
    )


class OneLineErrors(SectionedGroup):
    """The root command: a usage mistake is one line on stderr (exit 2), like every error.

    Typer would draw a box with the usage and a hint around it; here it is the message and
    where to find help, on one line.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; exit with its code (a usage error: one line, exit 2)."""
        run = partial(super().main, args, prog_name, complete_var, False, windows_expand_args)
        if not standalone_mode:
            return run(**extra)
        try:
            result = run(**extra)
        except ClickException as error:
            say(f"error: {describe_usage_error(error)}")
            sys.exit(error.exit_code)
        except typer.Abort:
            say("aborted")
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


def describe_usage_error(error: ClickException) -> str:
    """A click error as one line, ending with where the command's help is."""
    message = " ".join(error.format_message().split()).rstrip(".")
    context = getattr(error, "ctx", None)
    if context is not None:
        message += f" (see: {context.command_path} --help)"
    return message
