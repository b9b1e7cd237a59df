"""Where chatcli keeps its files. Every location is computed on call; nothing is created at import.

``CHATCLI_HOME`` overrides all of them (tests use it): config, data and cache then live in
``$CHATCLI_HOME/config``, ``$CHATCLI_HOME/data`` and ``$CHATCLI_HOME/cache``.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "chatcli"


def _home_override() -> Path | None:
    home = os.environ.get("CHATCLI_HOME")
    return Path(home).expanduser() if home else None


def _platform_dir(kind: str) -> Path:
    """The platform's directory of ``kind`` (config, data, cache) for chatcli."""
    import platformdirs  # ~6 ms: not needed by ``--help`` or under CHATCLI_HOME

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP_NAME))


def config_dir() -> Path:
    """Directory holding config.toml and the user's roles/."""
    home = _home_override()
    return home / "config" if home else _platform_dir("config")


def data_dir() -> Path:
    """Directory holding the session database."""
    home = _home_override()
    return home / "data" if home else _platform_dir("data")


def cache_dir() -> Path:
    """Directory for disposable files (KV snapshots)."""
    home = _home_override()
    return home / "cache" if home else _platform_dir("cache")


def config_file() -> Path:
    """The TOML configuration file."""
    return config_dir() / "config.toml"


def roles_dir() -> Path:
    """Directory of user-defined roles, one TOML file per role."""
    return config_dir() / "roles"


def database_file() -> Path:
    """The SQLite database of sessions and messages."""
    return data_dir() / "chatcli.db"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` if needed and restrict it to the user (0700).

    Folders it has to create above ``path`` are made private too (``~/.cache/chatcli`` for
    ``~/.cache/chatcli/kv``); folders that already exist above it are left as they are.
    """
    missing = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)  # mkdir's mode is masked by the umask
    path.chmod(0o700)
    return path


def write_private_file(path: Path, data: bytes, temporary_suffix: str = ".part") -> None:
    """Write ``data`` to ``path`` readable by the user only (0600), atomically.

    The bytes go to a temporary file beside it first, so a crash never leaves a half-written
    file under the final name. Raises OSError.
    """
    temporary = path.with_name(path.name + temporary_suffix)
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        temporary.chmod(0o600)  # a leftover temporary file keeps its old mode through O_CREAT
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # e.g. the disk was full: leave no half file
        raise
