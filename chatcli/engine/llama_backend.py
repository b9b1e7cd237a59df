"""The llama backend: GGUF files run in-process by llama-cpp-python.

Its options come from the ``[llama]`` section of the config file (and ``--gpu-layers``,
``--threads``). llama_cpp itself is imported only when an engine is built.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatcli.engine.base import Engine
from chatcli.engine.digest import model_digest
from chatcli.engine.registry import BuildRequest

log = logging.getLogger("chatcli.engine")

DEFAULT_CONTEXT = 4096
"""Context size when neither the settings nor the catalog give one."""


@dataclass(frozen=True)
class LlamaBackendOptions:
    """The ``[llama]`` settings."""

    gpu_layers: int | None = None
    """Layers to offload to a GPU; None = all when the build supports it, else 0."""
    threads: int | None = None
    """CPU threads for generation; None = every core, shared with other busy programs."""
    kv_cache_gib: float = 2.0
    """Disk space for KV snapshots of saved sessions (0 turns them off)."""
    kv_shift: bool = True
    """When old turns leave the context, remove them from the KV cache in place (fast)
    instead of re-processing the turns that stay (exact)."""


class LlamaBackend:
    """Builds :class:`~chatcli.engine.llama.LlamaEngine` for a model file."""

    name = "llama"
    prefix: str | None = None
    options_type = LlamaBackendOptions

    def build(self, request: BuildRequest, options: Any) -> Engine:
        """An unloaded engine for the GGUF file ``request.model.location``."""
        from chatcli.engine.llama import LlamaEngine, LlamaOptions

        assert isinstance(options, LlamaBackendOptions)
        model = request.model
        path = Path(model.location)
        cap = int(options.kv_cache_gib * (1 << 30))
        snapshots = request.snapshot_dir if cap else None
        return LlamaEngine(
            LlamaOptions(
                model_path=path,
                model_name=model.name,
                context_length=request.context_length or model.context_length or DEFAULT_CONTEXT,
                gpu_layers=options.gpu_layers,
                threads=_at_most_cpus(options.threads),
                chat_template=model.chat_template,
                model_sha256=model.sha256 or model_digest(path),
                verbose=request.verbose,
                ignore_eos=request.ignore_eos,
                recommended_sampling=dict(model.sampling),
                snapshot_dir=snapshots,
                snapshot_writes=request.snapshot_writes,
                snapshot_cap_bytes=cap,
                kv_shift=options.kv_shift,
                lora=request.lora,
            )
        )


def _at_most_cpus(threads: int | None) -> int | None:
    """A configured thread count, no more than the CPUs (OpenMP aborts on tens of thousands)."""
    cpus = os.cpu_count() or 1
    if threads is not None and threads > cpus:
        log.warning("threads = %d is more than the %d CPUs here; using %d", threads, cpus, cpus)
        return cpus
    return threads


BACKEND = LlamaBackend()
