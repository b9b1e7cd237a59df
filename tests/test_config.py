"""Tests of settings: defaults < config file < CHATCLI_* environment, and save_setting."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from chatcli.config import Settings, default_sampling, load_settings, save_setting
from chatcli.engine.params import SamplingParams
from chatcli.errors import ConfigError

# -- helpers ------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _load_error(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=path, environ=environ or {})
    return str(caught.value)


FULL_CONFIG = """\
# my settings
model = "qwen2.5-1.5b"
role = "code"
system_prompt = "Be terse."
context_length = 4096
gpu_layers = 0
threads = 3
overflow = "summarize"
theme = "nord"
verbose = true

[sampling]
temperature = 0.3
top_p = 0.8
top_k = 20
min_p = 0.1
repeat_penalty = 1
max_tokens = 256
seed = 42
stop = ["###", "User:"]
"""

# -- defaults and sources -----------------------------------------------------------------


def test_defaults_without_file_or_environment(tmp_path: Path) -> None:
    settings = load_settings(config_path=tmp_path / "missing.toml", environ={})

    assert settings == Settings()
    assert settings.model == ""
    assert settings.overflow == "drop-oldest"
    assert settings.verbose is False
    assert settings.sampling == SamplingParams()
    assert settings.sampling_configured == frozenset()


def test_config_file_values_are_read(tmp_path: Path) -> None:
    settings = load_settings(config_path=_write(tmp_path, FULL_CONFIG), environ={})

    assert settings.model == "qwen2.5-1.5b"
    assert settings.role == "code"
    assert settings.system_prompt == "Be terse."
    assert settings.context_length == 4096
    # The legacy top-level keys fill the llama backend's section.
    assert settings.backend_values("llama") == {"gpu_layers": 0, "threads": 3}
    assert settings.overflow == "summarize"
    assert settings.theme == "nord"
    assert settings.verbose is True
    assert settings.sampling == SamplingParams(
        temperature=0.3,
        top_p=0.8,
        top_k=20,
        min_p=0.1,
        repeat_penalty=1.0,
        max_tokens=256,
        seed=42,
        stop=("###", "User:"),
    )


def test_integer_sampling_numbers_become_floats(tmp_path: Path) -> None:
    path = _write(tmp_path, "[sampling]\ntemperature = 1\nrepeat_penalty = 1\n")

    sampling = load_settings(config_path=path, environ={}).sampling

    assert isinstance(sampling.temperature, float)
    assert isinstance(sampling.repeat_penalty, float)
    assert sampling.temperature == 1.0


def test_default_config_path_is_in_chatcli_home(chatcli_home: Path) -> None:
    config = chatcli_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('model = "from-home"\n', encoding="utf-8")

    assert load_settings(environ={}).model == "from-home"


def test_environment_overrides_config_file(tmp_path: Path) -> None:
    path = _write(tmp_path, FULL_CONFIG)
    environ = {
        "CHATCLI_MODEL": "llama3.2-3b",
        "CHATCLI_TEMPERATURE": "0.9",
        "CHATCLI_STOP": "END",
        "CHATCLI_VERBOSE": "0",
    }

    settings = load_settings(config_path=path, environ=environ)

    assert settings.model == "llama3.2-3b"
    assert settings.sampling.temperature == 0.9
    assert settings.sampling.stop == ("END",)
    assert settings.verbose is False
    # What the environment does not set still comes from the file, sampling included.
    assert settings.role == "code"
    assert settings.sampling.top_k == 20
    assert settings.sampling.seed == 42


def test_environment_alone_sets_values(tmp_path: Path) -> None:
    environ = {"CHATCLI_MODEL": "/models/x.gguf", "CHATCLI_TOP_K": "5", "CHATCLI_THREADS": "2"}

    settings = load_settings(config_path=tmp_path / "missing.toml", environ=environ)

    assert settings.model == "/models/x.gguf"
    assert settings.sampling.top_k == 5
    assert settings.backend_values("llama")["threads"] == 2


def test_stop_variable_is_a_comma_separated_list(tmp_path: Path) -> None:
    environ = {"CHATCLI_STOP": "###,User:,,</s>"}

    settings = load_settings(config_path=tmp_path / "missing.toml", environ=environ)

    assert settings.sampling.stop == ("###", "User:", "</s>")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), ("0", False), ("False", False), ("no", False)],
)
def test_verbose_variable_accepts_boolean_words(tmp_path: Path, raw: str, expected: bool) -> None:
    environ = {"CHATCLI_VERBOSE": raw}

    assert load_settings(config_path=tmp_path / "none.toml", environ=environ).verbose is expected


def test_unrelated_variables_are_ignored(tmp_path: Path) -> None:
    environ = {"CHATCLI_NONSENSE": "x", "MODEL": "y", "TEMPERATURE": "hot"}

    assert load_settings(config_path=tmp_path / "none.toml", environ=environ) == Settings()


# -- errors in the config file ------------------------------------------------------------


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '# fine\nmodel = "ok"\ntheme = \n')

    message = _load_error(path)

    assert str(path) in message
    assert "line 3" in message


@pytest.mark.parametrize(
    ("text", "line", "wording"),
    [
        ('# temperature as text\n[sampling]\ntemperature = "hot"\n', 3, "'temperature' must be"),
        ("[sampling]\ntop_p = 0.9\ntop_k = true\n", 3, "'top_k' must be an integer"),
        ('model = "x"\n\noverflow = "panic"\n', 3, "'overflow' must be one of"),
        ("verbose = 1\n", 1, "'verbose' must be true or false"),
        ('context_length = "big"\n', 1, "'context_length' must be an integer"),
        ("threads = 2.5\n", 1, "'threads' must be an integer"),
        ('[sampling]\nstop = "###"\n', 2, "'stop' must be"),
        ("model = 3\n", 1, "'model' must be a string"),
    ],
)
def test_wrong_value_names_file_and_line_of_key(
    tmp_path: Path, text: str, line: int, wording: str
) -> None:
    path = _write(tmp_path, text)

    message = _load_error(path)

    assert str(path) in message
    assert f"line {line}" in message
    assert wording in message


def test_sampling_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "sampling = 3\n")

    message = _load_error(path)

    assert str(path) in message
    assert "'sampling' must be a table" in message


def test_config_error_exits_with_code_3(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_path=_write(tmp_path, "verbose = 1\n"), environ={})

    assert caught.value.exit_code == 3


@pytest.mark.parametrize(
    ("text", "line", "wording"),
    [
        ('model = "x"\ncolour = "red"\n', 2, "unknown setting 'colour' (ignored)"),
        ("[sampling]\n\nwarmth = 0.5\n", 3, "unknown sampling setting 'warmth' (ignored)"),
        ('model = "x"\n[sampling]\nmodel = "y"\n', 3, "unknown sampling setting 'model'"),
    ],
)
def test_an_unknown_setting_is_a_warning_naming_its_line_and_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, line: int, wording: str
) -> None:
    path = _write(tmp_path, text)

    settings = load_settings(config_path=path, environ={})

    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert str(path) in warning and f"line {line}" in warning and wording in warning
    assert settings.model == ("x" if "model" in text else Settings().model)


# -- errors in the environment ------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("CHATCLI_TEMPERATURE", "hot"),
        ("CHATCLI_TOP_K", "1.5"),
        ("CHATCLI_SEED", ""),
        ("CHATCLI_VERBOSE", "maybe"),
        ("CHATCLI_CONTEXT_LENGTH", "4k"),
        ("CHATCLI_OVERFLOW", "panic"),
    ],
)
def test_bad_environment_value_names_the_variable(tmp_path: Path, variable: str, raw: str) -> None:
    message = _load_error(tmp_path / "missing.toml", {variable: raw})

    assert f"environment variable {variable}" in message


def test_bad_environment_value_beats_a_good_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[sampling]\ntemperature = 0.5\n")

    message = _load_error(path, {"CHATCLI_TEMPERATURE": "warm"})

    assert "CHATCLI_TEMPERATURE" in message
    assert "'warm'" in message


# -- which sampling keys were configured --------------------------------------------------


def test_sampling_configured_records_keys_from_file_and_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, "[sampling]\ntemperature = 0.2\ntop_k = 10\n")

    settings = load_settings(config_path=path, environ={"CHATCLI_SEED": "7"})

    assert settings.sampling_configured == frozenset({"temperature", "top_k", "seed"})


def test_top_level_settings_are_not_sampling_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, 'model = "x"\nthreads = 2\n')

    settings = load_settings(config_path=path, environ={"CHATCLI_VERBOSE": "1"})

    assert settings.sampling_configured == frozenset()


# -- default_sampling layering ------------------------------------------------------------


def test_default_sampling_without_advice_or_configuration_is_built_in() -> None:
    assert default_sampling(Settings(), {}) == SamplingParams()


def test_default_sampling_uses_the_models_advice() -> None:
    recommended = {"temperature": 0.2, "top_p": 0.9, "stop": ["<end>"], "mirostat": 2}

    sampling = default_sampling(Settings(), recommended)

    assert sampling.temperature == 0.2
    assert sampling.top_p == 0.9
    assert sampling.stop == ("<end>",)
    assert sampling.top_k == SamplingParams().top_k  # not advised: built-in


def test_configured_sampling_beats_the_models_advice(tmp_path: Path) -> None:
    path = _write(tmp_path, "[sampling]\ntemperature = 0.9\n")
    settings = load_settings(config_path=path, environ={"CHATCLI_MIN_P": "0.2"})
    recommended = {"temperature": 0.2, "top_p": 0.8, "min_p": 0.01}

    sampling = default_sampling(settings, recommended)

    assert sampling.temperature == 0.9  # configured (file)
    assert sampling.min_p == 0.2  # configured (environment)
    assert sampling.top_p == 0.8  # advised, not configured
    assert sampling.repeat_penalty == SamplingParams().repeat_penalty  # built-in


def test_unconfigured_sampling_values_do_not_beat_the_advice() -> None:
    # A Settings whose sampling differs from the built-ins but was not configured by the user.
    settings = Settings(sampling=SamplingParams(temperature=1.5))

    assert default_sampling(settings, {"temperature": 0.2}).temperature == 0.2


# -- save_setting -------------------------------------------------------------------------


def test_save_setting_creates_the_file_and_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"

    save_setting("model", "qwen2.5-1.5b", config_path=path)

    assert tomllib.loads(path.read_text(encoding="utf-8")) == {"model": "qwen2.5-1.5b"}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_settings(config_path=path, environ={}).model == "qwen2.5-1.5b"


def test_save_setting_defaults_to_the_config_file_in_chatcli_home(chatcli_home: Path) -> None:
    save_setting("theme", "nord")

    assert load_settings(environ={}).theme == "nord"
    assert (chatcli_home / "config" / "config.toml").is_file()


def test_save_setting_adds_a_key_before_the_first_table(tmp_path: Path) -> None:
    path = _write(tmp_path, '# top comment\nrole = "code"\n[sampling]\ntemperature = 0.2\n')

    save_setting("model", "llama3.2-3b", config_path=path)

    text = path.read_text(encoding="utf-8")
    assert text.startswith('# top comment\nrole = "code"\n')
    assert text.index('model = "llama3.2-3b"') < text.index("[sampling]")
    settings = load_settings(config_path=path, environ={})
    assert settings.model == "llama3.2-3b"
    assert settings.role == "code"
    assert settings.sampling.temperature == 0.2


def test_save_setting_replaces_an_existing_key_and_keeps_other_lines(tmp_path: Path) -> None:
    original = '# chosen by hand\nmodel = "old"\ntheme = "nord"\n'
    path = _write(tmp_path, original)

    save_setting("model", "new", config_path=path)

    text = path.read_text(encoding="utf-8")
    assert text == '# chosen by hand\nmodel = "new"\ntheme = "nord"\n'
    assert text.count("model =") == 1


def test_save_setting_adds_top_level_key_when_only_a_table_has_it(tmp_path: Path) -> None:
    path = _write(tmp_path, 'theme = "nord"\n\n[profile]\nmodel = "inside"\n')

    save_setting("model", "outside", config_path=path)

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["model"] == "outside"
    assert data["profile"] == {"model": "inside"}
    assert data["theme"] == "nord"


def test_save_setting_replaces_top_level_key_not_the_one_in_sampling(tmp_path: Path) -> None:
    # `model` is set both at the top and inside [sampling]; only the top one may change.
    path = _write(tmp_path, 'model = "a"\n[sampling]\nmodel = "b"\ntemperature = 0.2\n')

    save_setting("model", "c", config_path=path)

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["model"] == "c"
    assert data["sampling"] == {"model": "b", "temperature": 0.2}


def test_save_setting_to_a_file_without_final_newline(tmp_path: Path) -> None:
    path = _write(tmp_path, 'theme = "nord"')

    save_setting("role", "qa", config_path=path)

    assert tomllib.loads(path.read_text(encoding="utf-8")) == {"theme": "nord", "role": "qa"}


def test_save_setting_escapes_quotes_and_backslashes(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    value = 'C:\\models\\my "best".gguf'

    save_setting("model", value, config_path=path)

    assert load_settings(config_path=path, environ={}).model == value


def test_save_setting_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"

    save_setting("model", "x", config_path=path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


@pytest.mark.parametrize("key", ["verbose", "threads", "temperature", "sampling", "colour"])
def test_save_setting_refuses_keys_that_are_not_string_settings(tmp_path: Path, key: str) -> None:
    path = tmp_path / "config.toml"

    with pytest.raises(ValueError, match=key):
        save_setting(key, "1", config_path=path)
    assert not path.exists()


def test_save_setting_keeps_blank_lines_before_a_replaced_key(tmp_path: Path) -> None:
    original = '# header\n\nmodel = "old"\n'
    path = _write(tmp_path, original)

    save_setting("model", "new", config_path=path)

    assert path.read_text(encoding="utf-8") == '# header\n\nmodel = "new"\n'


def test_save_setting_value_with_newline_parses_back(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"

    save_setting("system_prompt", "Line one.\nLine two.", config_path=path)

    assert load_settings(config_path=path, environ={}).system_prompt == "Line one.\nLine two."


def test_save_setting_edits_around_a_multiline_string_that_looks_like_a_table(
    tmp_path: Path,
) -> None:
    original = 'system_prompt = """\n[Rules] be kind.\n"""\n'
    path = _write(tmp_path, original)

    save_setting("model", "x", config_path=path)

    assert path.read_text() == original + 'model = "x"\n'
    settings = load_settings(config_path=path, environ={})
    assert (settings.model, settings.system_prompt) == ("x", "[Rules] be kind.\n")


def test_save_setting_keeps_every_comment_and_the_layout(tmp_path: Path) -> None:
    original = (
        "# my settings\n"
        'model = "old"   # the one I like\n'
        "\n"
        "# sampling, tuned by hand\n"
        "[sampling]\n"
        "temperature = 0.3  # lower is calmer\n"
    )
    path = _write(tmp_path, original)

    save_setting("model", "qwen2.5-1.5b", config_path=path)

    assert path.read_text() == original.replace('"old"', '"qwen2.5-1.5b"')


def test_save_setting_refuses_a_file_that_is_not_toml(tmp_path: Path) -> None:
    original = "model = = broken\n"
    path = _write(tmp_path, original)

    with pytest.raises(ConfigError, match="cannot be edited"):
        save_setting("model", "x", config_path=path)

    assert path.read_text() == original
