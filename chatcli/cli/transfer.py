"""``chatcli sessions export`` and ``import``: conversations out of chatcli and back in."""

import gc
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from chatcli.assembly import open_sessions
from chatcli.cli.completion import complete_sessions
from chatcli.cli.errors import say, user_errors
from chatcli.cli.options import one_of
from chatcli.errors import BadFileError, UsageError
from chatcli.paths import database_file, write_private_file

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database while it is open."""


def export(
    name_or_id: Annotated[
        str | None, typer.Argument(metavar="NAME|ID", autocompletion=complete_sessions)
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every session (JSON only).")] = False,
    format_name: Annotated[
        str,
        typer.Option("--format", metavar="[json|md]", callback=one_of(("json", "md"))),
    ] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write here, not stdout.")
    ] = None,
) -> None:
    """Export a session (or --all) as JSON that keeps everything, or Markdown for reading."""
    from chatcli.core.portable import export_sessions, export_text, session_markdown

    with user_errors(), without_cycle_collection(), open_sessions() as sessions:
        if every == (name_or_id is not None):
            raise UsageError("name one session, or give --all")
        if every and format_name == "md":
            raise UsageError("--all exports JSON; export sessions one by one as Markdown")
        chosen = sessions.recent() if every else [sessions.require(name_or_id or "")]
        if format_name == "md":
            text = session_markdown(sessions, chosen[0])
        else:
            text = export_text(export_sessions(sessions, chosen))
        _write(text + "\n", output)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    if _is_the_database(output):
        raise UsageError(f"-o {output} is chatcli's session database: write the export elsewhere")
    try:
        write_private_file(output, text.encode("utf-8"))  # an export holds whole chats
    except OSError as error:
        raise BadFileError(f"cannot write {output}: {error.strerror}") from None
    say(f"wrote {output}")


def _is_the_database(output: Path) -> bool:
    """Whether ``output`` is the session database or one of SQLite's files beside it."""
    database = database_file().resolve()
    kept = {database, *(database.with_name(database.name + end) for end in SQLITE_SIDE_FILES)}
    return output.expanduser().resolve() in kept


def import_(
    source: Annotated[
        str, typer.Argument(metavar="FILE", help="A chatcli export, or - for stdin.")
    ],
) -> None:
    """Import sessions from an export; the whole file is checked before anything is written."""
    from chatcli.core.portable import import_bundles, read_export

    with user_errors(), without_cycle_collection():
        bundles = read_export(_read(source))
        with open_sessions() as sessions:
            notices = import_bundles(sessions, bundles)
        for notice in notices:
            say(notice)
        count = sum(len(b.messages) for b in bundles)
        say(f"imported {len(bundles):,} sessions, {count:,} messages")


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a whole file's records are built or read.

    Parsed JSON and records hold no reference cycles, but each of the collector's passes walks
    every container alive: importing 110,000 messages spent about a third of its Python time
    in them (records built: 1.2-1.5 s with the collector, 0.55-0.6 s without).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read(source: str) -> object:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadFileError(f"cannot read {source}: {error}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise BadFileError(f"{source} is not JSON ({error})") from None
