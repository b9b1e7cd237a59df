"""Turning failures into one line on stderr and a documented exit code."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from chatcli.errors import EXIT_INTERRUPTED, ChatcliError, ContextOverflowError

CONTEXT_HINT = "; use a larger --ctx or a shorter input"


def say(message: str) -> None:
    """One line for the user on stderr."""
    print(f"chatcli: {message}", file=sys.stderr, flush=True)


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
