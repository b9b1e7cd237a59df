"""The backend registry: every kind of engine chatcli can build, found by one lookup.

A backend is one module that says its name, the typed options it reads from its config
section (``[llama]``, ``[remote]``...), and how to build an engine for a resolved model.
Built-in backends are registered by import path and imported on first use, so importing
this module loads no model library. Tests register a scripted backend the same way.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Union, get_args, get_origin, get_type_hints

from chatcli.engine.params import LoraAdapter
from chatcli.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from chatcli.engine.base import Engine


@dataclass(frozen=True)
class ModelRef:
    """A model resolved from ``--model``: which backend runs it, and what is known about it."""

    backend: str
    """Name of the backend that runs it."""
    name: str
    """Display name (catalog name, file stem, or the spec itself)."""
    location: str
    """Where the model lives for that backend: a file path, an endpoint name..."""
    context_length: int | None = None
    """The catalog's context size for it, if any."""
    chat_template: str | None = None
    """A chat template overriding the model's own, if any."""
    sha256: str | None = None
    """The catalog's digest of the model file, if known."""
    sampling: Mapping[str, object] = field(default_factory=dict)
    """Sampling the model's publisher recommends."""


@dataclass(frozen=True)
class BuildRequest:
    """What every backend is told when it builds an engine."""

    model: ModelRef
    context_length: int | None
    """Context size asked for (None = the model's catalog size, else the backend's default)."""
    verbose: bool = False
    """Show the backend's own log."""
    ignore_eos: bool = False
    """Keep generating past end-of-turn (benchmarks only)."""
    snapshot_dir: Path | None = None
    """Where the backend may keep KV snapshots (None = use none)."""
    snapshot_writes: bool = True
    """Whether it may write them there (False: only read them, e.g. ``--no-save``)."""
    lora: LoraAdapter | None = None
    """A LoRA adapter to apply (a backend that cannot apply one refuses it)."""


class Backend(Protocol):
    """One kind of engine: its name, its options and how to build it."""

    name: str
    """Also the name of its config section and its ``--model NAME:...`` prefix, if any."""
    prefix: str | None
    """``--model`` specs starting with ``prefix:`` go to this backend (None: catalog/paths)."""
    options_type: type[Any]
    """A frozen dataclass of the backend's own options (every field has a default)."""

    def build(self, request: BuildRequest, options: Any) -> Engine:
        """An unloaded engine for ``request``; ``options`` is an ``options_type``."""
        ...


BUILT_IN: dict[str, str] = {
    "llama": "chatcli.engine.llama_backend",
    "remote": "chatcli.engine.remote",
}
"""Backends that ship with chatcli: name -> module with a ``BACKEND`` attribute."""

FILE_BACKEND = "llama"
"""The backend that runs model files (catalog entries and paths)."""
SERVER_BACKEND = "remote"
"""The backend of catalog entries that live on a server (``source.endpoint``)."""

_registered: dict[str, Backend] = {}


def register(backend: Backend) -> None:
    """Make ``backend`` available (replacing one of the same name)."""
    _registered[backend.name] = backend


def unregister(name: str) -> None:
    """Forget a registered backend (tests use this to clean up)."""
    _registered.pop(name, None)


def backend_names() -> list[str]:
    """Every backend known, built-in or registered."""
    return sorted(set(BUILT_IN) | set(_registered))


def get_backend(name: str) -> Backend:
    """The backend called ``name``, importing a built-in one on first use."""
    if name not in _registered and name in BUILT_IN:
        module = importlib.import_module(BUILT_IN[name])
        register(module.BACKEND)
    try:
        return _registered[name]
    except KeyError:
        raise NotFoundError(f"unknown backend '{name}'") from None


def prefixed(spec: str) -> tuple[Backend, str] | None:
    """The registered backend a ``--model PREFIX:rest`` spec names, with the rest."""
    head, colon, rest = spec.partition(":")
    if not colon:
        return None
    for name in BUILT_IN:  # their modules are light: the model libraries load only on build
        get_backend(name)
    for backend in _registered.values():
        if backend.prefix == head:
            return backend, rest
    return None


def parse_options(backend: Backend, values: Mapping[str, Any], where: str) -> Any:
    """The backend's typed options from its config values, checking names and types."""
    kind = backend.options_type
    hints = get_type_hints(kind)
    names = {f.name for f in fields(kind)}
    for key, value in values.items():
        if key not in names:
            raise ConfigError(f"{where}: unknown {backend.name} setting {key!r}")
        if not _fits(value, hints[key]):
            raise ConfigError(f"{where}: '{key}' must be {_describe(hints[key])}")
    converted = {
        key: float(value) if hints[key] in (float, float | None) and value is not None else value
        for key, value in values.items()
    }
    return kind(**converted)


_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _plain(hint: Any) -> tuple[type, ...]:
    """The classes a value of ``hint`` may be: ``int | None`` -> int, ``dict[...]`` -> dict."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return tuple(a for a in get_args(hint) if a is not type(None))
    return (origin or hint,)


def _fits(value: Any, hint: Any) -> bool:
    if value is None:
        return type(None) in get_args(hint)
    for kind in _plain(hint):
        if isinstance(value, bool):
            if kind is bool:
                return True
            continue
        if kind is float and isinstance(value, int | float):
            return True
        if isinstance(value, kind):
            return True
    return False


def _describe(hint: Any) -> str:
    return " or ".join(_NAMES.get(kind, kind.__name__) for kind in _plain(hint))
