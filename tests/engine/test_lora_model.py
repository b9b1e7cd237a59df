"""LoRA adapters on the real default model: applied, switched, refused, kept apart in snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_helpers import GREEDY, SYSTEM, make_engine, reply
from lora_helpers import write_lora_adapter

from chatcli.engine.base import ChatMessage
from chatcli.engine.llama import LlamaEngine
from chatcli.engine.params import LoraAdapter
from chatcli.errors import ModelError

pytestmark = pytest.mark.model

QUESTION = [SYSTEM, ChatMessage("user", "What is the capital of France?")]


@pytest.fixture(scope="module")
def adapters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("adapters")
    return {
        "a": write_lora_adapter(folder / "a.gguf", seed=0),
        "b": write_lora_adapter(folder / "b.gguf", seed=1),
        "qwen": write_lora_adapter(folder / "qwen.gguf", architecture="qwen2"),
        "no-such-layer": write_lora_adapter(folder / "deep.gguf", layers=range(40, 41)),
    }


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaEngine]:
    loaded = make_engine()
    loaded.load()
    yield loaded
    loaded.close()


def answer(engine: LlamaEngine, adapter: LoraAdapter | None) -> str:
    engine.set_adapter(adapter)
    return reply(engine, QUESTION, GREEDY)[0]


def test_scale_zero_is_exactly_the_base_model_and_a_full_scale_changes_the_reply(
    engine: LlamaEngine, adapters: dict[str, Path]
) -> None:
    base = answer(engine, None)
    assert answer(engine, LoraAdapter(str(adapters["a"]), 0.0)) == base
    changed = answer(engine, LoraAdapter(str(adapters["a"]), 1.0))
    assert changed != base
    assert answer(engine, None) == base


def test_switching_adapters_keeps_the_model_and_drops_the_cached_prefix(
    engine: LlamaEngine, adapters: dict[str, Path]
) -> None:
    model = engine.llama._model.model
    first_a = answer(engine, LoraAdapter(str(adapters["a"])))
    _, again = reply(engine, QUESTION, GREEDY)
    assert again.usage.cached_prompt_tokens > 0  # same adapter: the prefix is reused
    engine.set_adapter(LoraAdapter(str(adapters["b"])))
    text_b, switched = reply(engine, QUESTION, GREEDY)
    assert switched.usage.cached_prompt_tokens == 0  # computed with another adapter
    assert text_b != first_a
    assert answer(engine, LoraAdapter(str(adapters["a"]))) == first_a
    assert engine.llama._model.model == model  # the same loaded model all along
    assert engine.llama.lora_path is None  # not Llama(lora_path=...), which reads it all in


@pytest.mark.parametrize(
    ("which", "words"),
    [
        ("missing", ("LoRA adapter not found",)),
        ("model", ("not a LoRA adapter", "general.type")),
        ("qwen", ("is for 'qwen2' models", "'llama'")),
        ("no-such-layer", ("cannot load LoRA adapter", "blk.40.attn_q.weight")),
    ],
)
def test_an_unusable_file_is_a_one_line_model_error_and_the_adapter_stays(
    engine: LlamaEngine, adapters: dict[str, Path], tmp_path: Path, which: str, words: tuple[str]
) -> None:
    paths = {
        "missing": tmp_path / "missing.gguf",
        "model": engine.options.model_path,
        **adapters,
    }
    before = answer(engine, LoraAdapter(str(adapters["a"])))
    with pytest.raises(ModelError) as raised:
        engine.set_adapter(LoraAdapter(str(paths[which])))
    message = raised.value.message
    assert "\n" not in message
    for word in words:
        assert word in message
    assert reply(engine, QUESTION, GREEDY)[0] == before


def test_snapshots_of_another_adapter_are_never_restored(
    adapters: dict[str, Path], tmp_path: Path
) -> None:
    def fresh_reply(adapter: LoraAdapter | None) -> int:
        engine = make_engine(snapshot_dir=tmp_path / "kv")
        engine.load()
        try:
            engine.set_adapter(adapter)
            return reply(engine, QUESTION, GREEDY)[1].usage.cached_prompt_tokens
        finally:
            engine.close()

    assert fresh_reply(None) == 0
    assert fresh_reply(LoraAdapter(str(adapters["a"]))) == 0  # not the plain model's state
    assert fresh_reply(None) > 0  # the plain model's own snapshot is reused
    assert fresh_reply(LoraAdapter(str(adapters["a"]))) > 0
    assert fresh_reply(LoraAdapter(str(adapters["a"]), 0.5)) == 0  # another scale: another key
    kv = tmp_path / "kv"
    assert len([folder for folder in kv.iterdir() if folder.name != "openings"]) == 3
    assert len(list((kv / "openings").iterdir())) == 3  # openings are keyed by the adapter too


def test_an_engine_started_with_a_bad_adapter_fails_to_load_and_frees_the_model(
    tmp_path: Path,
) -> None:
    engine = make_engine()
    engine.options = type(engine.options)(
        **{**engine.options.__dict__, "lora": LoraAdapter(str(tmp_path / "missing.gguf"))}
    )
    with pytest.raises(ModelError, match="LoRA adapter not found"):
        engine.load()
    assert engine.llama is None
    engine.close()
