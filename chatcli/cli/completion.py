"""Shell completion from what is on disk: role names, session names, catalog models.

Completion runs chatcli once per Tab press, so each function reads only what it needs (the
roles folder, the sessions table, the catalog files), loads no model, and fails quietly:
a broken file gives no completions rather than an error in the middle of the user's typing.
"""

from chatcli.errors import ChatcliError


def complete_roles(incomplete: str) -> list[str]:
    """Role names starting with what was typed."""
    from chatcli.core.roles import list_roles

    try:
        return [role.name for role in list_roles() if role.name.startswith(incomplete)]
    except ChatcliError:
        return []


def complete_sessions(incomplete: str) -> list[str]:
    """Names of saved sessions (newest first) starting with what was typed."""
    from chatcli import paths
    from chatcli.assembly import open_sessions

    if not paths.database_file().exists():
        return []  # completing must not create the database
    try:
        with open_sessions() as sessions:
            named = [s.name for s in sessions.recent(limit=200) if s.name]
    except ChatcliError:
        return []
    return [name for name in named if name.startswith(incomplete)]


def complete_models(incomplete: str) -> list[str]:
    """Catalog names and aliases starting with what was typed."""
    from chatcli.catalog import load_catalog

    try:
        entries = load_catalog()
    except ChatcliError:
        return []
    names = [name for entry in entries for name in (entry.name, *entry.aliases)]
    return [name for name in names if name.startswith(incomplete)]
