from __future__ import annotations

from fakes import FakeEngine

from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.core.truncate import truncate_to_fit
from chatcli.engine.base import ChatMessage
from chatcli.engine.params import SamplingParams
from chatcli.store.store import Store


def test_fitting_text_is_left_alone(store: Store) -> None:
    core = ChatCore(FakeEngine(context_length=1000), store, Settings())
    result = truncate_to_fit(core, core.new_session(), "short text", "Summarize", SamplingParams())
    assert result.cut_chars == 0
    assert result.text == "short text\n\nSummarize"


def test_middle_is_cut_and_instruction_kept(store: Store) -> None:
    engine = FakeEngine(context_length=200)
    core = ChatCore(engine, store, Settings())
    session = core.new_session(system_prompt="s")
    material = " ".join(f"w{n}" for n in range(1000))
    params = SamplingParams(max_tokens=20)
    result = truncate_to_fit(core, session, material, "Summarize", params)
    assert result.cut_chars > 0
    assert result.text.startswith("w0 w1 ") and result.text.endswith("w999\n\nSummarize")
    assert "characters cut to fit the context" in result.text
    prompt = [ChatMessage("system", "s"), ChatMessage("user", result.text)]
    assert engine.count_tokens(prompt) <= 200 - 20
    assert result.original_tokens > 1000
