"""LoRA adapters per session in the chat core, on the scripted fake engine."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fakes import FakeEngine, run_reply

from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.core.sessions import settings_for_session
from chatcli.engine.base import EngineCapabilities, EngineInfo
from chatcli.engine.params import LoraAdapter, SamplingParams
from chatcli.errors import UsageError
from chatcli.store.store import Store

FRENCH = LoraAdapter("/adapters/french.gguf", 1.0)
PIRATE = LoraAdapter("/adapters/pirate.gguf", 0.5)
PARAMS = SamplingParams()


def test_a_new_session_keeps_the_adapter_the_core_was_started_with(store: Store) -> None:
    core = ChatCore(FakeEngine(), store, Settings(lora=PIRATE))
    session = core.new_session()
    assert (session.lora, session.lora_scale) == ("/adapters/pirate.gguf", 0.5)
    assert core.adapter_of(session) == PIRATE


def test_each_session_replies_with_its_own_adapter_on_one_engine(
    core: ChatCore, engine: FakeEngine
) -> None:
    french = core.sessions.change_settings(core.new_session(), lora=FRENCH)
    plain = core.new_session()
    for session in (french, plain, french):
        run_reply(core.reply(session, "hi", PARAMS))
    assert engine.replied_with == [FRENCH, None, FRENCH]


def test_changing_or_clearing_a_sessions_adapter_applies_to_its_next_reply(
    core: ChatCore, engine: FakeEngine
) -> None:
    session = core.new_session()
    core.sessions.change_settings(session, lora=PIRATE)
    run_reply(core.reply(session, "one", PARAMS))
    core.sessions.change_settings(session, clear_lora=True)
    run_reply(core.reply(session, "two", PARAMS))
    assert engine.replied_with == [PIRATE, None]
    assert core.sessions.get(session.id).lora is None


def test_regenerating_and_continuing_use_the_sessions_adapter(
    core: ChatCore, engine: FakeEngine
) -> None:
    engine.replies = ["a long reply", "again", "more"]
    session = core.sessions.change_settings(core.new_session(), lora=FRENCH)
    _, finished, _ = run_reply(core.reply(session, "hi", SamplingParams(max_tokens=1)))
    engine.set_adapter(None)
    run_reply(core.continue_reply(session, finished.message, PARAMS))
    engine.set_adapter(None)
    question = core.sessions.question_of(finished.message)
    run_reply(core.regenerate(session, question, PARAMS))
    assert engine.replied_with == [FRENCH, FRENCH, FRENCH]


def test_a_session_run_on_another_model_uses_only_the_adapter_given_for_that_run(
    core: ChatCore,
) -> None:
    session = core.sessions.change_settings(core.new_session(), lora=FRENCH)
    other = FakeEngine(model_name="other-model")
    run_reply(core.with_engine(other, Settings(model="other-model")).reply(session, "hi", PARAMS))
    run_reply(
        core.with_engine(other, Settings(model="other-model", lora=PIRATE)).reply(
            session, "hi", PARAMS
        )
    )
    assert other.replied_with == [None, PIRATE]


@dataclass
class NoAdapterEngine(FakeEngine):
    """Like a server: it cannot apply adapters."""

    def load(self) -> EngineInfo:
        info = super().load()
        return EngineInfo(
            model_name=info.model_name,
            model_path=info.model_path,
            model_sha256=None,
            context_length=info.context_length,
            capabilities=EngineCapabilities(lora=False),
        )


def test_an_engine_that_cannot_apply_adapters_refuses_a_session_with_one_before_saving(
    store: Store,
) -> None:
    core = ChatCore(NoAdapterEngine(), store, Settings())
    session = core.sessions.change_settings(core.new_session(), lora=FRENCH)
    with pytest.raises(UsageError, match="LoRA adapters need a local GGUF model"):
        run_reply(core.reply(session, "hi", PARAMS))
    assert core.sessions.message_count(session) == 0
    plain = core.new_session()
    assert run_reply(core.reply(plain, "hi", PARAMS))[0] == "OK"


def test_a_continued_session_keeps_its_adapter_only_on_its_own_model(
    core: ChatCore,
) -> None:
    session = core.sessions.change_settings(core.new_session(), lora=FRENCH)
    assert settings_for_session(Settings(), session).lora == FRENCH
    moved = settings_for_session(Settings(model="other"), session, model_given=True)
    assert moved.lora is None
    given = settings_for_session(Settings(lora=PIRATE), session, lora_given=True)
    assert given.lora == PIRATE
    taken_off = settings_for_session(Settings(), session, lora_given=True)
    assert taken_off.lora is None


def test_a_scale_alone_rescales_the_sessions_adapter_and_needs_one(core: ChatCore) -> None:
    session = core.sessions.change_settings(core.new_session(), lora=FRENCH)
    rescaled = settings_for_session(Settings(), session, lora_scale=0.25)
    assert rescaled.lora == LoraAdapter(FRENCH.path, 0.25)
    with pytest.raises(UsageError, match="needs an adapter"):
        settings_for_session(Settings(), core.new_session(), lora_scale=0.25)
    with pytest.raises(UsageError, match="needs an adapter"):
        settings_for_session(Settings(), None, lora_scale=0.25)
