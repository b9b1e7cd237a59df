"""The console script's entry point: ``chatcli --version`` answers before typer is imported.

Importing typer and building the command line costs ~0.2 s; the version needs neither.
Everything else goes to ``chatcli.cli.main``.
"""

from __future__ import annotations

import os
import sys


def run() -> None:
    """Console-script entry point."""
    if sys.argv[1:] == ["--version"]:
        sys.exit(print_version())
    from chatcli.cli.main import run as run_command_line

    run_command_line()


def print_version() -> int:
    """Print the version; 1 when stdout is closed (as click does), never a traceback."""
    from chatcli import __version__

    try:
        sys.stdout.write(f"chatcli {__version__}\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that finds nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
