"""Where chatcli keeps its files. Every location is computed on call; nothing is created at import.

``CHATCLI_HOME`` overrides all of them (tests use it): config, data and cache then live in
``$CHATCLI_HOME/config``, ``$CHATCLI_HOME/data`` and ``$CHATCLI_HOME/cache``.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "chatcli"


def _home_override() -> Path | None:
    home = os.environ.get("CHATCLI_HOME")
    return Path(home).expanduser() if home else None


def config_dir() -> Path:
    """Directory holding config.toml and the user's roles/."""
    home = _home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """Directory holding the session database."""
    home = _home_override()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME))


def cache_dir() -> Path:
    """Directory for disposable files (KV snapshots)."""
    home = _home_override()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME))


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
    """Create ``path`` (and parents) if needed and restrict it to the user (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path
