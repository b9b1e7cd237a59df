"""Managing model files: what is present, pulling from a hub, adding, removing, the default.

The front end (``chatcli models ...``) calls these; downloads are the engine's (engine/hub.py)
and headers are read with engine/gguf.py. The user's own entries are catalog files in
``<config dir>/models/NAME.toml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatcli import catalog, paths
from chatcli.catalog import CatalogEntry, downloaded_path, load_catalog, user_catalog_dir
from chatcli.config import save_setting
from chatcli.engine.digest import model_digest
from chatcli.engine.gguf import GGUFInfo, inspect_gguf
from chatcli.engine.hub import Downloaded, HubFile, ProgressListener, download
from chatcli.errors import ChatcliError, ModelError, NotFoundError, UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_ADDED_CONTEXT = 8192
"""Context size given to an added or pulled model (at most what it was trained for)."""


@dataclass(frozen=True)
class ModelRow:
    """One catalog model as ``models list`` shows it."""

    entry: CatalogEntry
    default: bool
    path: Path | None
    """Where its file is (or would be); None for a model on a server."""
    present: bool
    size: int | None
    quantization: str
    problem: str = ""
    """Why it cannot be used, if it cannot."""


def listing(default_name: str = "") -> list[ModelRow]:
    """Every catalog model, whether its file is here, its size and quantization."""
    entries = load_catalog()
    chosen = find_entry(default_name, entries) if default_name else None
    default = chosen.name if chosen else entries[0].name
    return [_row(entry, entry.name == default) for entry in entries]


def _row(entry: CatalogEntry, default: bool) -> ModelRow:
    if entry.endpoint:
        return ModelRow(entry, default, None, True, None, "server")
    try:
        path = catalog.resolve_model(entry.name).path
    except ChatcliError as error:
        where = downloaded_path(entry) if entry.hub_file else None
        return ModelRow(entry, default, where, False, entry.size, "", error.message)
    try:
        header = inspect_gguf(path)
    except ModelError as error:
        return ModelRow(entry, default, path, False, None, "", error.message)
    return ModelRow(entry, default, path, True, path.stat().st_size, header.quantization)


def find_entry(name: str, entries: list[CatalogEntry] | None = None) -> CatalogEntry | None:
    """The catalog entry called ``name`` (or with that alias), if any."""
    for entry in entries if entries is not None else load_catalog():
        if name == entry.name or name in entry.aliases:
            return entry
    return None


def describe(name_or_path: str) -> dict[str, Any]:
    """What ``models info`` shows: the header's facts, the file, its digest, the catalog's."""
    entry = find_entry(name_or_path)
    if entry is not None and entry.endpoint:
        raise UsageError(f"model '{entry.name}' runs on a server ({entry.endpoint}): no file")
    resolved = catalog.resolve_model(name_or_path)
    header = inspect_gguf(resolved.path)
    template = header.chat_template
    return {
        "name": resolved.name,
        "file": str(resolved.path),
        "size": resolved.path.stat().st_size,
        "sha256": model_digest(resolved.path),
        "architecture": header.architecture,
        "parameters": header.parameters,
        "context_length": header.context_length,
        "quantization": header.quantization,
        "chat_template": template,
        "catalog": _catalog_facts(resolved.entry),
    }


def _catalog_facts(entry: CatalogEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "description": entry.description,
        "license": entry.license,
        "context_length": entry.context_length,
        "sampling": dict(entry.sampling),
        "repo": entry.hub_repo,
        "sha256": entry.sha256,
        "user_entry": str(entry.user_file) if entry.user_file else None,
    }


@dataclass(frozen=True)
class Pulled:
    """What ``models pull`` did."""

    entry: CatalogEntry
    file: Downloaded | None
    """None when the file was there already."""


def missing_download(name: str) -> CatalogEntry | None:
    """The catalog entry ``name`` names when it is on a hub and its file is not here yet."""
    try:
        entry = find_entry(name)
    except ChatcliError:
        return None
    if entry is None or not (entry.hub_repo and entry.hub_file):
        return None
    return None if downloaded_path(entry).exists() else entry


def pull_entry(
    name: str, progress: bool = True, listener: ProgressListener | None = None
) -> Pulled:
    """Download catalog model ``name``'s file into the models folder, verified."""
    entry = find_entry(name)
    if entry is None:
        pullable = ", ".join(e.name for e in load_catalog() if e.hub_repo)
        raise NotFoundError(
            f"no catalog model '{name}' (pullable: {pullable}; or: chatcli models pull REPO FILE)"
        )
    if not (entry.hub_repo and entry.hub_file):
        raise UsageError(f"model '{entry.name}' is not on a hub: there is nothing to pull")
    destination = downloaded_path(entry)
    if destination.exists() and (entry.size is None or destination.stat().st_size == entry.size):
        return Pulled(entry, None)
    wanted = HubFile(entry.hub_repo, entry.hub_file, entry.hub_revision)
    done = download(wanted, destination, entry.sha256, progress=progress, listener=listener)
    return Pulled(entry, done)


def pull_file(
    repo: str, filename: str, name: str | None, revision: str | None, progress: bool = True
) -> Pulled:
    """Download any GGUF from a hub and register it as the user's catalog entry."""
    if not filename.endswith(".gguf"):
        raise UsageError(f"'{filename}' is not a .gguf file")
    chosen = _check_name(name or Path(filename).stem.lower())
    destination = catalog.models_dir() / Path(filename).name
    known = find_entry(chosen)
    same = known is not None and (known.hub_repo, known.hub_file) == (repo, filename)
    if known and same and revision is None and _has_size(destination, known.size):
        return Pulled(known, None)
    done = download(HubFile(repo, filename, revision), destination, progress=progress)
    header = inspect_gguf(destination)
    source = {"hub": {"repo": repo, "file": filename, "revision": done.commit or revision}}
    entry = _write_entry(chosen, f"{repo} {filename}", header, source, done.sha256, done.size)
    return Pulled(entry, done)


def _has_size(path: Path, size: int | None) -> bool:
    return path.exists() and size is not None and path.stat().st_size == size


def add(path: Path, name: str | None = None) -> CatalogEntry:
    """Register a local GGUF (after checking its header) as the user's catalog entry."""
    path = path.expanduser().resolve()
    header = inspect_gguf(path)
    chosen = _check_name(name or path.stem.lower())
    description = f"{path.name} ({header.architecture or 'unknown'}, {header.quantization})"
    return _write_entry(chosen, description, header, {"path": str(path)}, None, None)


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"'{name}' cannot name a model: use letters, digits, '.', '-' or '_' (--name)"
        )
    existing = find_entry(name)
    if existing is not None and existing.user_file is None:
        raise UsageError(f"'{name}' is a model of chatcli's catalog; choose another --name")
    return name


def _write_entry(
    name: str,
    description: str,
    header: GGUFInfo,
    source: dict[str, Any],
    sha256: str | None,
    size: int | None,
) -> CatalogEntry:
    import tomlkit

    document = tomlkit.document()
    document["name"] = name
    document["description"] = description
    if sha256 and size:
        document["sha256"] = sha256
        document["size"] = size
    trained = header.context_length or DEFAULT_ADDED_CONTEXT
    document["context_length"] = min(trained, DEFAULT_ADDED_CONTEXT)
    license_name = header.metadata.get("general.license")
    if isinstance(license_name, str):
        document["license"] = license_name
    document["source"] = source
    path = user_catalog_dir() / f"{name}.toml"
    paths.ensure_private_dir(path.parent)
    paths.write_private_file(path, tomlkit.dumps(document).encode("utf-8"))
    written = find_entry(name)
    assert written is not None
    return written


@dataclass(frozen=True)
class Removal:
    """What ``models rm`` would remove."""

    entry: CatalogEntry
    files: tuple[Path, ...]
    """Downloaded files (and partial downloads) of the model."""
    user_file: Path | None
    """The user's catalog entry."""


def plan_removal(name: str) -> Removal:
    """What removing model ``name`` means; nothing is touched yet."""
    entry = find_entry(name)
    if entry is None:
        raise NotFoundError(f"no catalog model '{name}'")
    files: list[Path] = []
    if entry.hub_file:
        final = downloaded_path(entry)
        files = [p for p in (final, final.with_name(final.name + ".part")) if p.exists()]
    if not files and entry.user_file is None:
        if entry.hub_file:
            raise UsageError(f"model '{entry.name}' is not downloaded: nothing to remove")
        raise UsageError(f"model '{entry.name}' comes with chatcli: it cannot be removed")
    return Removal(entry, tuple(files), entry.user_file)


def remove(removal: Removal) -> None:
    """Delete a planned removal's files and user entry."""
    for path in removal.files:
        path.unlink(missing_ok=True)
    if removal.user_file is not None:
        removal.user_file.unlink(missing_ok=True)


def set_default(name: str) -> CatalogEntry:
    """Make catalog model ``name`` the default: ``model = NAME`` in config.toml."""
    entry = find_entry(name)
    if entry is None:
        raise NotFoundError(f"no catalog model '{name}' (see chatcli models list)")
    save_setting("model", entry.name)
    return entry
