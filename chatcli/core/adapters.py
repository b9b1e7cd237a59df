"""Which LoRA adapter a session's replies use, and putting it on the engine before a reply.

A session keeps its adapter (path and scale) like its model; the adapter belongs to that
model. One loaded engine switches adapters between sessions without reloading the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatcli.engine.params import LoraAdapter
from chatcli.errors import UsageError
from chatcli.store.records import SessionRecord

if TYPE_CHECKING:
    from chatcli.engine.base import Engine, EngineInfo


def session_adapter(session: SessionRecord) -> LoraAdapter | None:
    """The LoRA adapter saved with ``session`` (None: none)."""
    return LoraAdapter(session.lora, session.lora_scale) if session.lora else None


def adapter_for(
    session: SessionRecord, model_spec: str, default: LoraAdapter | None
) -> LoraAdapter | None:
    """The adapter ``session`` replies with when run on ``model_spec``.

    Its own on its own model; on another model (``ask --model`` for one reply), ``default``:
    the one given for this run, if any.
    """
    return session_adapter(session) if session.model == model_spec else default


def apply_adapter(engine: Engine, info: EngineInfo, adapter: LoraAdapter | None) -> None:
    """Put ``adapter`` (None: none) on ``engine`` for the replies that follow.

    Raises ModelError for an adapter file that cannot be used, UsageError where the engine
    cannot apply adapters at all (a server).
    """
    # Here, not at the top: listing or showing sessions never builds the engine types.
    from chatcli.engine.base import AdapterEngine

    if info.capabilities.lora and isinstance(engine, AdapterEngine):
        engine.set_adapter(adapter)
    elif adapter is not None:
        raise UsageError(
            f"LoRA adapters need a local GGUF model; {info.model_name} cannot apply one"
        )
