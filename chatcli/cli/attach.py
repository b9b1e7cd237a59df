"""``ask -f``: the files a user names, read and checked before the model is loaded."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from chatcli.config import Settings
from chatcli.core.attachments import Attachment, Found, find_files, read_files
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
    if found.from_expansion and not yes:
        _check_limits(found, settings)
    return read_files(found)


def _check_limits(found: Found, settings: Settings) -> None:
    """Refuse (or ask about) an expansion over the configured count or size."""
    count, size = len(found.paths), found.total_bytes()
    limit_bytes = settings.attach_max_mib * (1 << 20)
    if count <= settings.attach_max_files and size <= limit_bytes:
        return
    what = f"{count:,} files ({size / (1 << 20):,.1f} MiB)"
    limits = f"{settings.attach_max_files:,} files, {settings.attach_max_mib:g} MiB"
    if sys.stdin.isatty() and sys.stderr.isatty():
        if typer.confirm(f"Attach {what}? That is over the limit ({limits})", err=True):
            return
        raise UsageError("nothing was sent: the attachments were not confirmed")
    raise UsageError(f"the files given expand to {what}, over the limit ({limits}); add --yes")


def describe(attachments: Sequence[Attachment]) -> list[dict[str, object]]:
    """Each attachment's path, size and tokens, for ``--stats`` and ``--json``."""
    return [{"path": a.path, "size": a.size, "tokens": a.tokens} for a in attachments]
