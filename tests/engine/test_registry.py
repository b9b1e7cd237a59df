"""The backend registry: lookups, typed options from config sections, and the assembly."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import ScriptedBackend, ScriptedOptions

from chatcli.assembly import build_engine
from chatcli.catalog import model_ref
from chatcli.config import Settings, load_settings
from chatcli.engine import registry
from chatcli.engine.llama_backend import LlamaBackendOptions
from chatcli.errors import ConfigError, NotFoundError


def test_built_in_backend_is_found_without_loading_a_model_library() -> None:
    backend = registry.get_backend("llama")

    assert backend.options_type is LlamaBackendOptions
    assert "llama" in registry.backend_names()


def test_unknown_backend_is_a_not_found_error() -> None:
    with pytest.raises(NotFoundError, match="unknown backend 'warp'"):
        registry.get_backend("warp")


def test_a_prefixed_spec_goes_to_its_backend() -> None:
    ref = model_ref("scripted:echo")

    assert (ref.backend, ref.name, ref.location) == ("scripted", "scripted:echo", "echo")


def test_catalog_names_and_paths_go_to_the_file_backend(tmp_path: Path) -> None:
    path = tmp_path / "my-model.gguf"

    by_path = model_ref(str(path))
    by_name = model_ref("")

    assert (by_path.backend, by_path.name, by_path.location) == ("llama", "my-model", str(path))
    assert by_name.backend == "llama" and by_name.context_length


def test_options_are_typed_and_checked() -> None:
    backend = registry.get_backend("llama")

    options = registry.parse_options(backend, {"threads": 2, "kv_cache_gib": 1}, "here")

    assert options == LlamaBackendOptions(threads=2, kv_cache_gib=1.0)
    assert isinstance(options.kv_cache_gib, float)
    with pytest.raises(ConfigError, match="here: 'threads' must be an integer"):
        registry.parse_options(backend, {"threads": "many"}, "here")
    with pytest.raises(ConfigError, match="unknown llama setting 'colour'"):
        registry.parse_options(backend, {"colour": 1}, "here")
    assert registry.parse_options(backend, {"kv_shift": False}, "here").kv_shift is False
    with pytest.raises(ConfigError, match="here: 'kv_shift' must be"):
        registry.parse_options(backend, {"kv_shift": "no"}, "here")


def test_config_sections_reach_their_backend(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[llama]\nthreads = 3\n\n[scripted]\nreply = "hey"\n', encoding="utf-8")

    settings = load_settings(config_path=path, environ={"CHATCLI_GPU_LAYERS": "0"})

    assert settings.backend_values("llama") == {"threads": 3, "gpu_layers": 0}
    assert settings.backend_values("scripted") == {"reply": "hey"}


def test_environment_beats_the_file_for_backend_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[llama]\nthreads = 3\n", encoding="utf-8")

    settings = load_settings(config_path=path, environ={"CHATCLI_THREADS": "1"})

    assert settings.backend_values("llama")["threads"] == 1


def test_a_bad_backend_value_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('model = "x"\n[llama]\nthreads = "all"\n', encoding="utf-8")

    with pytest.raises(ConfigError, match=r"line 3: 'threads' must be an integer"):
        load_settings(config_path=path, environ={})


def test_the_assembly_builds_through_the_registry(scripted_backend: ScriptedBackend) -> None:
    settings = Settings(model="scripted:echo", context_length=512)
    settings = settings.with_backend_values("scripted", token_delay_s=0.0)

    engine = build_engine(settings, snapshots=False)

    assert scripted_backend.built == [engine]
    assert engine.load().context_length == 512


def test_a_second_backend_is_one_registration() -> None:
    class Other(ScriptedBackend):
        pass

    backend = Other(name="other", prefix="other")
    registry.register(backend)
    try:
        assert model_ref("other:x").backend == "other"
        assert registry.parse_options(backend, {}, "") == ScriptedOptions()
    finally:
        registry.unregister("other")
    assert registry.prefixed("other:x") is None
