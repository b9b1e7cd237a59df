"""Building the engine chosen by the settings (llama_cpp is imported only when needed)."""

from __future__ import annotations

from chatcli import paths
from chatcli.catalog import resolve_model
from chatcli.config import Settings
from chatcli.engine.base import Engine
from chatcli.engine.digest import model_digest

DEFAULT_CONTEXT = 4096


def create_engine(
    settings: Settings, *, ignore_eos: bool = False, snapshots: bool = True
) -> Engine:
    """An unloaded engine for ``settings.model``; call ``load()`` to load it.

    ``snapshots`` keeps KV snapshots on disk (for saved sessions; off for ``--no-save``).
    """
    from chatcli.engine.llama import LlamaEngine, LlamaOptions

    resolved = resolve_model(settings.model)
    entry = resolved.entry
    cap = int(settings.kv_cache_gib * (1 << 30))
    context = settings.context_length or (entry.context_length if entry else None)
    return LlamaEngine(
        LlamaOptions(
            model_path=resolved.path,
            model_name=resolved.name,
            context_length=context or DEFAULT_CONTEXT,
            gpu_layers=settings.gpu_layers,
            threads=settings.threads,
            chat_template=entry.chat_template if entry else None,
            model_sha256=(entry.sha256 if entry and entry.sha256 else None)
            or model_digest(resolved.path),
            verbose=settings.verbose,
            ignore_eos=ignore_eos,
            recommended_sampling=dict(entry.sampling) if entry else {},
            snapshot_dir=paths.cache_dir() / "kv" if snapshots and cap else None,
            snapshot_cap_bytes=cap,
        )
    )
