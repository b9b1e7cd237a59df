"""Roles: named system-prompt presets, built in or defined by the user as TOML files.

A user role is ``<config dir>/roles/NAME.toml`` with ``prompt = "..."`` and an optional
``description``; a user role with a built-in's name replaces it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from chatcli import paths
from chatcli.errors import ConfigError, NotFoundError

DEFAULT_ROLE = "assistant"


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
    """Every role, built-in ones first, each name once (a user file overrides a built-in)."""
    by_name = {role.name: role for role in BUILT_IN_ROLES}
    folder = roles_dir if roles_dir is not None else paths.roles_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            by_name[path.stem] = _read_role_file(path)
    return list(by_name.values())


def get_role(name: str, roles_dir: Path | None = None) -> Role:
    """The role called ``name``; NotFoundError names the known ones."""
    roles = list_roles(roles_dir)
    for role in roles:
        if role.name == name:
            return role
    known = ", ".join(role.name for role in roles)
    raise NotFoundError(f"unknown role '{name}' (known: {known})")


def _read_role_file(path: Path) -> Role:
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
