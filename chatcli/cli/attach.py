"""``ask -f``: the files a user names, read and checked before the model is loaded."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from chatcli.config import Settings
from chatcli.core.attachments import Attachment, find_files, limit_problem, read_files
from chatcli.errors import UsageError


def gather_attachments(specs: Sequence[str], settings: Settings, yes: bool) -> list[Attachment]:
    """The files ``specs`` name, read as text.

    A glob or folder that brings in more than the configured count or size needs ``--yes``
    (asked for on a terminal, refused otherwise).
    """
    if not specs:
        return []
    found = find_files(specs)
    if found.skipped_binary:
        print(f"chatcli: left out {found.skipped_binary} non-text file(s)", file=sys.stderr)
    if not found.paths:
        raise UsageError(f"no text files in {', '.join(specs)}")
    problem = limit_problem(found, settings.attach_max_files, settings.attach_max_mib)
    if problem and not yes:
        _confirm_or_refuse(problem)
    return read_files(found)


def _confirm_or_refuse(problem: str) -> None:
    """Ask on a terminal whether to go on; refuse (with the way round it) otherwise."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError(f"{problem}; add --yes")
    if not typer.confirm(f"Attach them? {problem[0].upper()}{problem[1:]}", err=True):
        raise UsageError("nothing was sent: the attachments were not confirmed")


def describe(attachments: Sequence[Attachment]) -> list[dict[str, object]]:
    """Each attachment's path, size and tokens, for ``--stats`` and ``--json``."""
    return [{"path": a.path, "size": a.size, "tokens": a.tokens} for a in attachments]
