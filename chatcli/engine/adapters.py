"""LoRA adapters on a loaded llama.cpp model: checked, loaded once each, switched per session.

llama.cpp's adapter API loads an adapter beside the model and applies it to the context, so
the model stays memory-mapped and one loaded model serves sessions with different adapters
(``Llama(lora_path=...)`` would turn memory mapping off and read the whole model into RAM).
Each file is checked first, so that a wrong one is a one-line error naming what is wrong
instead of llama.cpp's generic failure.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llama_cpp

from chatcli.engine.digest import file_sha256, model_digest
from chatcli.engine.gguf import inspect_gguf
from chatcli.engine.params import LoraAdapter
from chatcli.errors import ModelError


def check_adapter_file(path: Path, architecture: str) -> None:
    """Raise ModelError unless ``path`` is a LoRA adapter GGUF for ``architecture`` models."""
    if not path.exists():
        raise ModelError(f"LoRA adapter not found: {path}")
    try:
        metadata = inspect_gguf(path).metadata
    except ModelError as error:
        raise ModelError(f"not a usable LoRA adapter: {error.message}") from None
    kind, adapter_type = metadata.get("general.type"), metadata.get("adapter.type")
    if kind != "adapter" or adapter_type != "lora":
        found = f"general.type {kind!r}" if kind != "adapter" else f"adapter.type {adapter_type!r}"
        raise ModelError(f"not a LoRA adapter ({found}): {path}")
    made_for = metadata.get("general.architecture")
    if made_for != architecture:
        raise ModelError(
            f"LoRA adapter {path} is for {made_for!r} models, but the model is {architecture!r}"
        )


def adapter_digest(adapter: LoraAdapter) -> str:
    """sha256 of the adapter's file (from the digest cache when it has not changed)."""
    path = Path(adapter.path)
    if not path.is_file():
        raise ModelError(f"LoRA adapter not found: {path}")
    try:
        return model_digest(path) or file_sha256(path)
    except OSError as error:
        raise ModelError(f"cannot read LoRA adapter {path}: {error.strerror}") from None


class LoadedAdapters:
    """The adapters loaded for one model, kept until :meth:`free` (each file read once)."""

    def __init__(self, llama: Any, architecture: str, reason: Callable[[], str]) -> None:
        self._llama = llama
        self._architecture = architecture
        self._reason = reason
        """llama.cpp's last error line, to say why it refused a file."""
        self._handles: dict[str, Any] = {}
        self.key: str | None = None
        """The adapter in use as a KV state depends on it: file digest and scale (None: none)."""
        self._current: tuple[LoraAdapter, str] | None = None

    def switch(self, adapter: LoraAdapter | None) -> bool:
        """Apply ``adapter`` (None: none) in place of the current one; False if it is the same.

        On a ModelError the adapter in use stays as it was.
        """
        digest = adapter_digest(adapter) if adapter is not None else ""
        key = f"lora:{digest}:{adapter.scale!r}" if adapter is not None else None
        if key == self.key:
            return False
        self._apply(adapter, digest)
        self.key = key
        self._current = (adapter, digest) if adapter is not None else None
        return True

    def reapply(self) -> None:
        """Apply the adapter in use again, to a context made anew (a grown one)."""
        if self._current is not None:
            self._apply(*self._current)

    def _apply(self, adapter: LoraAdapter | None, digest: str) -> None:
        context = self._llama._ctx.ctx
        if adapter is None:
            llama_cpp.llama_set_adapters_lora(context, None, 0, None)
            return
        handle = self._handle(Path(adapter.path), digest)
        handles = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(handle)
        scales = (ctypes.c_float * 1)(adapter.scale)
        if llama_cpp.llama_set_adapters_lora(context, handles, 1, scales) != 0:
            raise ModelError(f"llama.cpp could not apply the LoRA adapter {adapter.path}")

    def _handle(self, path: Path, digest: str) -> Any:
        """The loaded adapter for the file with this digest (loaded now if it is new)."""
        if digest in self._handles:
            return self._handles[digest]
        check_adapter_file(path, self._architecture)
        handle = llama_cpp.llama_adapter_lora_init(self._llama._model.model, str(path).encode())
        if not handle:
            why = self._reason() or "see --verbose"
            raise ModelError(f"cannot load LoRA adapter {path}: {why}")
        self._handles[digest] = handle
        return handle

    def free(self) -> None:
        """Take every adapter off the context and free them (before the model is freed)."""
        if self._handles:
            llama_cpp.llama_set_adapters_lora(self._llama._ctx.ctx, None, 0, None)
        for handle in self._handles.values():
            llama_cpp.llama_adapter_lora_free(handle)
        self._handles.clear()
