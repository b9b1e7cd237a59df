"""Roles: named system-prompt presets, built in or defined by the user as TOML files.

A user role is ``<config dir>/roles/NAME.toml`` with ``prompt = "..."`` and an optional
``description``; a user role with a built-in's name replaces it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from chatcli import paths
from chatcli.errors import ConfigError, NotFoundError

DEFAULT_ROLE = "assistant"
log = logging.getLogger("chatcli.roles")


@dataclass(frozen=True)
class Role:
    """A system-prompt preset."""

    name: str
    """Name used with ``--role``."""
    description: str
    """One line for listings."""
    prompt: str
    """The system prompt."""
    source: str = "built-in"
    """'built-in' or the path of the user's file."""


BUILT_IN_ROLES: tuple[Role, ...] = (
    Role(
        "assistant",
        "General assistant for dialogue, writing and questions",
        "You are a helpful, concise assistant. Answer clearly and accurately.",
    ),
    Role(
        "translate",
        "Translates the user's text (into English unless another language is asked for)",
        "You are a translator. Translate the user's text into English, or into the language "
        "they ask for. Reply with the translation only, keeping meaning, tone and formatting.",
    ),
    Role(
        "summarize",
        "Summarizes the text it is given",
        "You summarize text. Give a short, faithful summary of the user's text: the main "
        "points as a few sentences or bullet points, without adding anything new.",
    ),
    Role(
        "qa",
        "Answers questions briefly, from the given context when there is one",
        "You answer questions. Be brief and precise. When the user gives a text, answer from "
        "that text only, and say so when the answer is not in it.",
    ),
    Role(
        "code",
        "Programming help: writes and explains code",
        "You are an expert programmer. Give correct, idiomatic code in fenced code blocks "
        "with the language named, and explain briefly.",
    ),
)


def list_roles(roles_dir: Path | None = None) -> list[Role]:
    """Every usable role, built-in ones first, each name once (a user file overrides a built-in).

    A broken role file is skipped with a one-line warning naming it; asking for that role by
    name is the error (see :func:`get_role`).
    """
    roles, broken = _scan(roles_dir)
    for error in broken.values():
        log.warning("skipping %s", error.message)
    return roles


def get_role(name: str, roles_dir: Path | None = None) -> Role:
    """The role called ``name``; a broken file of that name is a ConfigError.

    NotFoundError names the known ones.
    """
    roles, broken = _scan(roles_dir)
    if name in broken:
        raise broken[name]
    for role in roles:
        if role.name == name:
            return role
    known = ", ".join(role.name for role in roles)
    raise NotFoundError(f"unknown role '{name}' (known: {known})")


def _scan(roles_dir: Path | None) -> tuple[list[Role], dict[str, ConfigError]]:
    """(the usable roles, the broken role files' errors by role name)."""
    by_name = {role.name: role for role in BUILT_IN_ROLES}
    broken: dict[str, ConfigError] = {}
    folder = roles_dir if roles_dir is not None else paths.roles_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                by_name[path.stem] = _read_role_file(path)
            except ConfigError as error:
                broken[path.stem] = error
                by_name.pop(path.stem, None)  # a broken override must not fall back silently
    return list(by_name.values()), broken


def _read_role_file(path: Path) -> Role:
    import tomllib  # ~8 ms at start-up; only the user's own role files are TOML

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"role file {path}: {exc}") from None
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ConfigError(f"role file {path}: needs a non-empty string 'prompt'")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"role file {path}: 'description' must be a string")
    return Role(path.stem, description, prompt.strip(), source=str(path))
