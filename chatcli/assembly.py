"""Where chatcli is put together: settings become an engine, a store becomes sessions.

The CLI, the TUI launcher, the Python API and the tests all build through these functions;
they are the only place outside the core that opens the store, and the only place that
turns settings into an engine (through the backend registry).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from chatcli import paths
from chatcli.config import Settings, load_settings
from chatcli.errors import UsageError

if TYPE_CHECKING:
    from chatcli.core.chat import ChatCore
    from chatcli.core.sessions import Sessions
    from chatcli.engine.base import Engine

# The chat core, the store, the catalog and the engines are imported by the functions that build
# them: ``--help`` and ``--version`` start without them, and commands that only read sessions
# (``sessions list``) without the core and the engines.


def build_engine(
    settings: Settings, *, ignore_eos: bool = False, snapshots: bool | Literal["read"] = True
) -> Engine:
    """An unloaded engine for ``settings.model``, built by the backend that runs it.

    ``snapshots``: True lets the engine keep KV snapshots on disk and use them; "read" lets it
    use them but write none (``--no-save``); False, neither (benchmarks, replay, doctor).
    """
    from chatcli.catalog import model_ref
    from chatcli.engine.registry import BuildRequest, get_backend, parse_options

    ref = model_ref(settings.model)
    backend = get_backend(ref.backend)
    options = parse_options(
        backend, settings.backend_values(backend.name), f"[{backend.name}] settings"
    )
    request = BuildRequest(
        model=ref,
        context_length=settings.context_length,
        verbose=settings.verbose,
        ignore_eos=ignore_eos,
        snapshot_dir=paths.cache_dir() / "kv" if snapshots else None,
        snapshot_writes=snapshots is True,
        lora=settings.lora,
    )
    return backend.build(request, options)


def load_engine(settings: Settings) -> Engine:
    """Build and load the engine for ``settings`` (the TUI's model switcher uses this)."""
    engine = build_engine(settings)
    engine.load()
    return engine


@contextmanager
def open_sessions(save: bool = True, path: Path | None = None) -> Iterator[Sessions]:
    """The saved sessions (or, with ``save=False``, a throw-away store that leaves nothing)."""
    from chatcli.core.sessions import Sessions
    from chatcli.store.store import Store

    if save:
        with Store.open(path or paths.database_file()) as store:
            yield Sessions(store)
        return
    with Store.scratch() as store:
        yield Sessions(store)


def build_core(engine: Engine, sessions: Sessions, settings: Settings) -> ChatCore:
    """The chat core over ``engine`` and the store behind ``sessions``."""
    from chatcli.core.chat import ChatCore

    return ChatCore(engine, sessions.store, settings, sessions=sessions)


def endpoints(settings: Settings | None = None) -> dict[str, dict[str, object]]:
    """The ``[endpoints.NAME]`` tables of the config (no keys: those stay in the environment)."""
    chosen = settings if settings is not None else load_settings()
    table = chosen.backend_values("remote").get("endpoints", {})
    return dict(table) if isinstance(table, dict) else {}


def served_models(spec: str, settings: Settings | None = None) -> list[str]:
    """The models the server behind ``spec`` (``endpoint:...``) lists."""
    chosen = settings if settings is not None else load_settings()
    engine = build_engine(replace(chosen, model=spec), snapshots=False)
    try:
        listed = getattr(engine, "served_models", None)
        if listed is None:
            raise UsageError(f"{spec} is not a server")
        return list(listed())
    finally:
        engine.close()
