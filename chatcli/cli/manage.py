"""``chatcli roles`` and ``chatcli sessions``: looking at what is saved."""

import json
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatcli.assembly import open_sessions
from chatcli.cli import transfer
from chatcli.cli.completion import complete_roles, complete_sessions
from chatcli.cli.errors import confirm_deletion, say, user_errors
from chatcli.cli.help import command_group
from chatcli.cli.options import JsonOpt
from chatcli.core.roles import get_role, list_roles
from chatcli.errors import UsageError

if TYPE_CHECKING:
    from chatcli.core.sessions import Sessions, ShownMessage
    from chatcli.store.records import SessionRecord

roles_app = command_group("System-prompt presets.")
sessions_app = command_group("Saved conversations.")

SessionArg = Annotated[str, typer.Argument(metavar="NAME|ID", autocompletion=complete_sessions)]


@roles_app.command("list")
def roles_list() -> None:
    """List the roles: name and description."""
    with user_errors():
        for role in list_roles():
            print(f"{role.name:<12} {role.description}")


@roles_app.command("show")
def roles_show(
    name: Annotated[str, typer.Argument(metavar="NAME", autocompletion=complete_roles)],
) -> None:
    """Print a role's system prompt."""
    with user_errors():
        role = get_role(name)
        say(f"role '{role.name}' ({role.source})")
        print(role.prompt)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


@sessions_app.command("list")
def sessions_list(
    search: Annotated[str | None, typer.Argument(help="Only titles or names with this.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    json_output: JsonOpt = False,
) -> None:
    """List saved sessions, newest first."""
    with user_errors(), open_sessions() as sessions:
        listed = sessions.summaries(search=search, limit=limit)
        if json_output:
            print(json.dumps([item.to_dict() for item in listed]))
            return
        for item in listed:
            session = item.session
            label = f" [{session.name}]" if session.name else ""
            print(
                f"{session.id}  {_when(session.updated)}  {item.messages:>5,} msgs  "
                f"{session.model:<16}  {session.title}{label}"
            )


@sessions_app.command("show")
def sessions_show(
    name_or_id: SessionArg,
    branch: Annotated[
        int | None, typer.Option(metavar="N", min=1, help="Branch N (see sessions branches).")
    ] = None,
    all_branches: Annotated[
        bool, typer.Option("--all-branches", help="The whole tree, with 2/3 markers.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Print a session's conversation (the branch being shown)."""
    with user_errors(), open_sessions() as sessions:
        session = sessions.require(name_or_id)
        if all_branches:
            _print_tree(sessions.shown_tree(session), json_output)
            return
        messages = sessions.history(session)
        if branch is not None:
            leaves = sessions.leaves(session)
            if branch > len(leaves):
                raise UsageError(
                    f"the session has {len(leaves)} branches; choose 1 to {len(leaves)}"
                )
            messages = sessions.branch_to(session, leaves[branch - 1].id)
        if json_output:
            summary = sessions.latest_summary(session)
            payload = session.to_dict() | {
                "messages": sessions.message_count(session),
                "transcript": [message.to_dict() for message in messages],
                "summaries": [summary.to_dict()] if summary else [],
            }
            print(json.dumps(payload))
            return
        if session.system_prompt:
            print(f"# system\n{session.system_prompt}\n")
        for message in messages:
            mark = "" if message.status == "complete" else f" ({message.status})"
            attached = "".join(f"{attached_line(ref)}\n" for ref in message.attachments)
            print(f"# {message.role}{mark}\n{attached}{message.content}\n")


def attached_line(ref: dict[str, Any]) -> str:
    """How a transcript shows one attachment: ``[attached: path (N tokens)]``."""
    tokens = ref.get("tokens")
    counted = f" ({tokens:,} tokens)" if isinstance(tokens, int) else ""
    return f"[attached: {ref['path']}{counted}]"


def _print_tree(tree: list[tuple[int, "ShownMessage"]], json_output: bool) -> None:
    """Every message, indented by depth, with its place among its siblings."""
    if json_output:
        print(json.dumps([item.record.to_dict() | {"depth": d} for d, item in tree]))
        return
    for depth, item in tree:
        place = f" {item.sibling_index + 1}/{item.sibling_count}" if item.sibling_count > 1 else ""
        line = " ".join(item.record.content.split())[:70]
        print(f"{'  ' * depth}[{item.record.role}{place}] {line}")


@sessions_app.command("delete")
def sessions_delete(
    name_or_id: Annotated[
        str | None, typer.Argument(metavar="NAME|ID", autocompletion=complete_sessions)
    ] = None,
    older_than: Annotated[
        str | None,
        typer.Option(metavar="AGE", help="Every session unused for this long: 30d, 12h, 2w."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a session (or every session older than --older-than) and all its messages."""
    with user_errors(), open_sessions() as sessions:
        if (name_or_id is None) == (older_than is None):
            raise UsageError("name one session, or give --older-than AGE")
        if older_than is not None:
            _delete_old(sessions, older_than, yes)
            return
        session = sessions.require(name_or_id or "")
        label = _label(session)
        confirm_deletion(label, yes)
        sessions.delete(session)
        say(f"deleted {label}")


def _delete_old(sessions: "Sessions", age: str, yes: bool) -> None:
    cutoff = time.time() - parse_age(age)
    old = [s for s in sessions.recent() if s.updated < cutoff]
    if not old:
        say(f"no session is older than {age}")
        return
    what = f"{len(old):,} sessions unused for {age}"
    confirm_deletion(what, yes)
    for session in old:
        sessions.delete(session)
    say(f"deleted {what}")


def parse_age(text: str) -> float:
    """Seconds in an age like 30d, 12h, 2w or 45m."""
    units = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit():
        raise UsageError(f"'{text}' is not an age: use a number and m, h, d or w (30d)")
    return int(number) * units[unit]


@sessions_app.command("rename")
def sessions_rename(name_or_id: SessionArg, title: str) -> None:
    """Give a session a new title."""
    with user_errors(), open_sessions() as sessions:
        session = sessions.rename(sessions.require(name_or_id), title)
        say(f"renamed {_label(session)}")


@sessions_app.command("branches")
def sessions_branches(name_or_id: SessionArg, json_output: JsonOpt = False) -> None:
    """List the tips of a session's branches (``ask --branch N`` continues one)."""
    with user_errors(), open_sessions() as sessions:
        session = sessions.require(name_or_id)
        leaves = sessions.leaves(session)
        if json_output:
            print(json.dumps([leaf.to_dict() for leaf in leaves]))
            return
        for number, leaf in enumerate(leaves, start=1):
            shown = "*" if leaf.id == session.current_leaf else " "
            line = " ".join(leaf.content.split())[:70]
            print(f"{shown}{number:>3}  {_when(leaf.created)}  {leaf.role:<9}  {line}")


@sessions_app.command("stats")
def sessions_stats(json_output: JsonOpt = False) -> None:
    """Sessions, messages, and tokens in and out by model."""
    with user_errors(), open_sessions() as sessions:
        stats = sessions.usage_by_model()
        if json_output:
            print(json.dumps(stats))
            return
        print(f"{stats['sessions']:,} sessions, {stats['messages']:,} messages")
        for row in stats["models"]:  # type: ignore[attr-defined]
            print(
                f"{row['model']:<28} {row['replies']:>7,} replies  "
                f"{row['prompt_tokens']:>12,} in  {row['completion_tokens']:>10,} out"
            )


def _label(session: "SessionRecord") -> str:
    """How a session is named to its user: its name, else its title, with the id."""
    shown = session.name or session.title
    return f"session '{shown}' ({session.id})" if shown else f"session {session.id}"


sessions_app.command("export")(transfer.export)
sessions_app.command("import")(transfer.import_)
