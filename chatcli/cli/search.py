"""``chatcli search``: find what was said, in every saved session."""

import json
import os
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from chatcli.assembly import open_sessions
from chatcli.cli.completion import complete_sessions
from chatcli.cli.errors import user_errors
from chatcli.cli.options import JsonOpt, one_of

if TYPE_CHECKING:
    from chatcli.store.search import SearchHit

BOLD, PLAIN = "\x1b[1m", "\x1b[0m"


def search(
    query: Annotated[
        str, typer.Argument(help='Words, "an exact phrase", prefix*, a OR b, a NOT b.')
    ],
    role: Annotated[
        str | None,
        typer.Option(
            metavar="[user|assistant]",
            callback=one_of(("user", "assistant")),
            help="Only messages of this role.",
        ),
    ] = None,
    session: Annotated[
        str | None,
        typer.Option(
            metavar="NAME|ID", help="Only in this session.", autocompletion=complete_sessions
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most hits to show.")] = 20,
    json_output: JsonOpt = False,
) -> None:
    """Search every saved message; best matches first."""
    with user_errors(), open_sessions() as sessions:
        within = sessions.require(session) if session is not None else None
        hits = sessions.search(query, role=role, session=within, limit=limit)
        if json_output:
            print(json.dumps([hit.to_dict() for hit in hits]))
            return
        for hit in hits:
            print(_describe(hit))


def _describe(hit: "SearchHit") -> str:
    """Two lines: where and when, then the snippet (matches in bold on a terminal)."""
    message = hit.message
    where = hit.session_name or hit.session_title or "(untitled)"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(message.created))
    snippet = hit.snippet
    if sys.stdout.isatty() and "NO_COLOR" not in os.environ:
        from chatcli.store.search import MARK_END, MARK_START

        snippet = snippet.replace(MARK_START, BOLD).replace(MARK_END, PLAIN)
    who = f"{message.role}, in attached {hit.attachment}" if hit.attachment else message.role
    return f"{where} ({message.session_id})  {when}  {who}\n    {snippet}"
