"""The sampling parameters are declared once (engine.base.SAMPLING_KNOBS); all else agrees."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import typer.main
from typer.core import TyperGroup

from chatcli.cli.main import app
from chatcli.cli.options import SamplingFlags
from chatcli.config import _SAMPLING_TYPES, load_settings
from chatcli.engine.params import SAMPLING_KNOBS, SamplingParams
from chatcli.tui.screens.settings import _FIELDS

NAMES = [k.name for k in SAMPLING_KNOBS]


def test_the_declaration_covers_every_parameter() -> None:
    assert [f.name for f in fields(SamplingParams)] == NAMES
    assert [f.name for f in fields(SamplingFlags)] == NAMES


def test_ask_has_one_option_per_parameter_with_its_range() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    ask = root.commands["ask"]
    options = {opt: param for param in ask.params for opt in getattr(param, "opts", [])}
    for declared in SAMPLING_KNOBS:
        assert declared.flag in options, declared.flag
        assert options[declared.flag].name == declared.name


def test_config_keys_and_environment_names_are_the_declared_ones(tmp_path: Path) -> None:
    assert list(_SAMPLING_TYPES) == NAMES
    environ = {"CHATCLI_" + name.upper(): "1" for name in NAMES}
    settings = load_settings(config_path=tmp_path / "none.toml", environ=environ)
    assert settings.sampling_configured == frozenset(NAMES)


def test_the_settings_screen_edits_every_number_in_its_declared_range() -> None:
    screen = {f.field_id: f for f in _FIELDS}
    for declared in SAMPLING_KNOBS:
        if declared.kind == "texts":
            continue  # stop strings are set on the command line and in config
        field = screen[declared.name.replace("_", "-")]
        assert (field.minimum, field.maximum) == (declared.low, declared.high)
        assert field.integer == (declared.kind == "int")
