"""open_session(lora=..., lora_scale=...): saved with the session and used again."""

from __future__ import annotations

from pathlib import Path

from fakes import ScriptedBackend

import chatcli
from chatcli.config import Settings
from chatcli.engine.params import LoraAdapter

ECHO = Settings(model="scripted:echo")


def test_an_adapter_given_to_open_session_is_saved_and_used_when_it_is_reopened(
    tmp_path: Path, scripted_backend: ScriptedBackend
) -> None:
    path = tmp_path / "french.gguf"
    with chatcli.open_session("notes", settings=ECHO, lora=path, lora_scale=0.5) as chat:
        chat.ask("hi")
        assert (chat.session.lora, chat.session.lora_scale) == (str(path), 0.5)
    with chatcli.open_session("notes", settings=ECHO) as chat:
        chat.ask("again")
    assert scripted_backend.built[-1].replied_with == [LoraAdapter(str(path), 0.5)]
    with chatcli.open_session("notes", settings=ECHO, lora_scale=0.0) as chat:
        chat.ask("once more")
        assert chat.session.lora_scale == 0.0
    assert scripted_backend.built[-1].replied_with == [LoraAdapter(str(path), 0.0)]
