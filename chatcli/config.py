"""Settings: defaults < config file < CHATCLI_* environment < command-line flags.

``load_settings`` reads the TOML config file (if any) and the environment into one frozen
``Settings``; the CLI then applies its flags with ``dataclasses.replace``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from chatcli import paths
from chatcli.engine.params import SAMPLING_KNOBS, LoraAdapter, SamplingParams, knob
from chatcli.engine.registry import backend_names, get_backend, parse_options
from chatcli.errors import ConfigError

log = logging.getLogger("chatcli.config")

OVERFLOW_POLICIES = ("drop-oldest", "summarize", "error")


@dataclass(frozen=True)
class Settings:
    """Everything that decides how chatcli runs; frozen so it can be shared freely."""

    model: str = ""
    """Catalog name or path to a .gguf file ('' = the catalog's default model)."""
    role: str | None = None
    """Role (system-prompt preset) for new sessions; None = the built-in assistant."""
    system_prompt: str | None = None
    """System prompt that overrides the role's, when set."""
    sampling: SamplingParams = field(default_factory=SamplingParams)
    """Default sampling parameters."""
    sampling_configured: frozenset[str] = frozenset()
    """Sampling keys set by the config file or environment (these beat a model's own advice)."""
    context_length: int | None = None
    """Context size in tokens; None = the catalog's, capped by the model's own."""
    lora: LoraAdapter | None = None
    """The LoRA adapter new sessions use (``--lora``; a saved session keeps its own)."""
    overflow: str = "drop-oldest"
    """What to do when the history outgrows the context: drop-oldest, summarize or error."""
    theme: str = "textual-dark"
    """Textual theme of the TUI."""
    verbose: bool = False
    """Show the backend's own log (llama.cpp's) on stderr."""
    attach_max_files: int = 200
    """Most files a glob or folder given to ``-f`` may bring in without ``--yes``."""
    attach_max_mib: float = 5.0
    """Most MiB a glob or folder given to ``-f`` may bring in without ``--yes``."""
    backends: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Each backend's own section of the config (``[llama]``...), checked by its options type."""

    def backend_values(self, name: str) -> Mapping[str, Any]:
        """The settings given for backend ``name`` (empty when none were)."""
        return self.backends.get(name, {})

    def with_backend_values(self, name: str, **values: Any) -> Settings:
        """These settings with ``values`` set in backend ``name``'s section."""
        merged = {**self.backend_values(name), **values}
        return replace(self, backends={**self.backends, name: merged})


_SAMPLING_KEYS = {f.name for f in fields(SamplingParams)}
_TOP_KEYS: dict[str, type | tuple[type, ...]] = {
    "model": str,
    "role": str,
    "system_prompt": str,
    "context_length": int,
    "overflow": str,
    "theme": str,
    "verbose": bool,
    "attach_max_files": int,
    "attach_max_mib": (int, float),
}
LEGACY_LLAMA_KEYS: dict[str, type | tuple[type, ...]] = {
    "gpu_layers": int,
    "threads": int,
    "kv_cache_gib": (int, float),
}
"""Top-level keys (and CHATCLI_ variables) that set the ``[llama]`` section, as they always have."""
_LEAST: dict[str, float] = {
    "context_length": 128,
    "attach_max_files": 0,
    "attach_max_mib": 0,
    "gpu_layers": -1,
    "threads": 0,
    "kv_cache_gib": 0,
}
"""The smallest value of numeric settings (threads = 0: as many as the free cores)."""
_KIND_TYPES: dict[str, type | tuple[type, ...]] = {"float": (int, float), "int": int, "texts": list}
_SAMPLING_TYPES = {k.name: _KIND_TYPES[k.kind] for k in SAMPLING_KNOBS}
_ENV_PREFIX = "CHATCLI_"


def load_settings(
    config_path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from the defaults, the config file and the environment."""
    path = config_path if config_path is not None else paths.config_file()
    env = os.environ if environ is None else environ
    values = _read_config_file(path)
    values = _merge(values, _read_environment(env))
    return _build(values, source=str(path))


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc})") from None
    import tomllib  # ~8 ms at start-up, needed only when there is a config file

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None

    def where(key: str, table: str) -> str:
        return f"config file {path}, {_line_of(text, key, table)}"

    _drop_unknown(data, where)
    _check_types(data, where)
    return _fold_legacy(data)


def _line_of(text: str, key: str, table: str) -> str:
    """Say on which line ``key`` of ``table`` ('' = top level) is set, for error messages."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1)
            continue
        dotted = re.match(rf"^\s*{re.escape(table)}\s*\.\s*{re.escape(key)}\s*=", line)
        plain = current == table and re.match(rf"^\s*{re.escape(key)}\s*=", line)
        if plain or (table and current == "" and dotted):
            return f"line {number}"
    return "unknown line"


Where = Callable[[str, str], str]
"""Describes where (key, table) was set, for error messages."""


def _drop_unknown(data: dict[str, Any], where: Where) -> None:
    """Leave out settings this chatcli does not know, with a warning naming each.

    A newer chatcli's config, or a typo, should not stop this one from starting.
    """
    known = {"sampling", "endpoints", *backend_names(), *LEGACY_LLAMA_KEYS, *_TOP_KEYS}
    unknown = [(key, "") for key in data if key not in known]
    tables = {"sampling": _SAMPLING_KEYS}
    tables.update({name: _option_names(name) for name in backend_names()})
    for table, names in tables.items():
        if isinstance(data.get(table), dict):
            unknown += [(key, table) for key in data[table] if key not in names]
    for key, table in unknown:
        label = f"{table} setting" if table else "setting"
        log.warning("%s: unknown %s %r (ignored)", where(key, table), label, key)
        (data[table] if table else data).pop(key)


def _option_names(backend: str) -> set[str]:
    return {option.name for option in fields(get_backend(backend).options_type)}


def _check_types(data: Mapping[str, Any], where: Where) -> None:
    for key, value in data.items():
        if key == "sampling":
            if not isinstance(value, dict):
                raise ConfigError(f"{where(key, '')}: 'sampling' must be a table")
            _check_sampling(value, where)
        elif key in backend_names():
            if not isinstance(value, dict):
                raise ConfigError(f"{where(key, '')}: '{key}' must be a table")
            _check_backend(key, value, where)
        elif key == "endpoints":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise ConfigError(f"{where(key, '')}: 'endpoints' must be tables [endpoints.NAME]")
        elif key in LEGACY_LLAMA_KEYS:
            _check_value(key, value, LEGACY_LLAMA_KEYS[key], lambda k: where(k, ""))
        elif key in _TOP_KEYS:
            _check_value(key, value, _TOP_KEYS[key], lambda k: where(k, ""))
    overflow = data.get("overflow")
    if overflow is not None and overflow not in OVERFLOW_POLICIES:
        allowed = ", ".join(OVERFLOW_POLICIES)
        raise ConfigError(f"{where('overflow', '')}: 'overflow' must be one of {allowed}")


def _check_backend(name: str, table: Mapping[str, Any], where: Where) -> None:
    backend = get_backend(name)
    for key in table:
        parse_options(backend, {key: table[key]}, where(key, name))
        _check_least(key, table[key], lambda k: where(k, name))


def _check_sampling(table: Mapping[str, Any], where: Where) -> None:
    for key, value in table.items():
        _check_value(key, value, _SAMPLING_TYPES[key], lambda k: where(k, "sampling"))
        problem = knob(key).problem(value) if knob(key).kind != "texts" else None
        if problem:
            raise ConfigError(f"{where(key, 'sampling')}: '{key}': {problem}")


def _check_value(
    key: str, value: Any, expected: type | tuple[type, ...], where: Callable[[str], str]
) -> None:
    # bool is an int in Python; a boolean is never a valid number here.
    wrong_bool = isinstance(value, bool) and expected is not bool
    if wrong_bool or not isinstance(value, expected):
        kinds = expected if isinstance(expected, tuple) else (expected,)
        names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
        wanted = " or ".join(names.get(k, k.__name__) for k in kinds)
        raise ConfigError(f"{where(key)}: '{key}' must be {wanted}")
    _check_least(key, value, where)


def _check_least(key: str, value: Any, where: Callable[[str], str]) -> None:
    least = _LEAST.get(key)
    if least is not None and isinstance(value, int | float) and not value >= least:
        raise ConfigError(f"{where(key)}: '{key}' must be at least {least:g}")


def _read_environment(env: Mapping[str, str]) -> dict[str, Any]:
    """Read CHATCLI_<SETTING> variables (e.g. CHATCLI_MODEL, CHATCLI_TEMPERATURE)."""
    top: dict[str, Any] = {}
    sampling: dict[str, Any] = {}
    for key, kind in [*_TOP_KEYS.items(), *LEGACY_LLAMA_KEYS.items(), *_SAMPLING_TYPES.items()]:
        raw = env.get(_ENV_PREFIX + key.upper())
        if raw is None:
            continue
        target = sampling if key in _SAMPLING_KEYS else top
        target[key] = _parse_env_value(key, raw, kind)
    if sampling:
        top["sampling"] = sampling
    _check_types(top, lambda key, _table: f"environment variable {_ENV_PREFIX}{key.upper()}")
    return _fold_legacy(top)


def _parse_env_value(key: str, raw: str, kind: type | tuple[type, ...]) -> Any:
    name = f"environment variable {_ENV_PREFIX}{key.upper()}"
    try:
        if kind is bool:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if kind is int:
            return int(raw)
        if kind == (int, float):
            return float(raw)
        if kind is list:
            return [part for part in raw.split(",") if part]
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a valid value for '{key}'") from None
    return raw


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **over}
    for table in ("sampling", *backend_names()):
        if isinstance(base.get(table), dict) and isinstance(over.get(table), dict):
            merged[table] = {**base[table], **over[table]}
    return merged


def _backend_sections(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Take the backend tables out of ``values``."""
    return {name: dict(values.pop(name)) for name in backend_names() if name in values}


def _fold_legacy(data: dict[str, Any]) -> dict[str, Any]:
    """Move one source's top-level keys that belong to a backend into its table.

    That is the legacy llama keys (into ``[llama]``) and ``[endpoints.*]`` (into ``[remote]``).
    """
    legacy = {key: data.pop(key) for key in list(data) if key in LEGACY_LLAMA_KEYS}
    if legacy:
        data["llama"] = {**legacy, **data.get("llama", {})}
    if "endpoints" in data:  # [endpoints.NAME] belong to the remote backend
        data["remote"] = {**data.get("remote", {}), "endpoints": data.pop("endpoints")}
    return data


def _build(values: dict[str, Any], source: str) -> Settings:
    sampling_values = dict(values.pop("sampling", {}))
    if "stop" in sampling_values:
        sampling_values["stop"] = tuple(str(s) for s in sampling_values["stop"])
    for key in ("temperature", "top_p", "min_p", "repeat_penalty"):
        if key in sampling_values:
            sampling_values[key] = float(sampling_values[key])
    backends = _backend_sections(values)
    settings = Settings(**values, backends=backends)
    return replace(
        settings,
        sampling=replace(settings.sampling, **sampling_values),
        sampling_configured=frozenset(sampling_values),
    )


def default_sampling(settings: Settings, recommended: Mapping[str, Any]) -> SamplingParams:
    """Sampling for a new session: built-in defaults < the model's advice < configured values."""
    advice = {k: v for k, v in recommended.items() if k in _SAMPLING_KEYS}
    if "stop" in advice:
        advice["stop"] = tuple(advice["stop"])
    base = replace(SamplingParams(), **advice)
    configured = {k: getattr(settings.sampling, k) for k in settings.sampling_configured}
    return replace(base, **configured)


def save_setting(key: str, value: str, config_path: Path | None = None) -> None:
    """Set one top-level string setting in the config file, keeping the rest of the file.

    tomlkit edits the document in place, so the user's comments, order and layout stay;
    the file is written atomically and stays readable by the user only.
    """
    import tomlkit  # only commands that write the config pay for it
    from tomlkit.exceptions import TOMLKitError

    if _TOP_KEYS.get(key) is not str:
        raise ValueError(f"cannot save setting {key!r}")
    path = config_path if config_path is not None else paths.config_file()
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        document = tomlkit.parse(text)
    except (OSError, UnicodeDecodeError, TOMLKitError) as exc:
        raise ConfigError(f"config file {path}: cannot be edited ({exc})") from None
    if text and not text.endswith("\n") and key not in document:
        document = tomlkit.parse(text + "\n")
    document[key] = value
    updated = tomlkit.dumps(document)
    import tomllib

    if tomllib.loads(updated).get(key) != value:  # never write a file that reads differently
        raise ConfigError(f"config file {path}: cannot set '{key}' automatically; edit it by hand")
    paths.ensure_private_dir(path.parent)
    paths.write_private_file(path, updated.encode("utf-8"), temporary_suffix=".tmp")
