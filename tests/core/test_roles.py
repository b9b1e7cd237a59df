"""Tests of roles: built-in system-prompt presets and the user's role files."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatcli.core.roles import BUILT_IN_ROLES, DEFAULT_ROLE, get_role, list_roles
from chatcli.errors import ConfigError, NotFoundError

BUILT_IN_NAMES = ["assistant", "translate", "summarize", "qa", "code"]


@pytest.fixture
def roles_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "roles"
    folder.mkdir()
    return folder


def _role_file(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_built_in_roles_exist_without_a_roles_folder(tmp_path: Path) -> None:
    roles = list_roles(tmp_path / "no-such-folder")

    assert [role.name for role in roles] == BUILT_IN_NAMES
    assert all(role.source == "built-in" for role in roles)
    assert all(role.prompt.strip() and role.description for role in roles)


@pytest.mark.parametrize("name", BUILT_IN_NAMES)
def test_each_built_in_role_can_be_fetched(tmp_path: Path, name: str) -> None:
    role = get_role(name, tmp_path / "no-such-folder")

    assert role.name == name
    assert role in BUILT_IN_ROLES


def test_default_role_is_a_built_in() -> None:
    assert DEFAULT_ROLE in BUILT_IN_NAMES


def test_user_role_file_is_listed_after_the_built_ins(roles_dir: Path) -> None:
    path = _role_file(
        roles_dir, "pirate", 'description = "Talks like a pirate"\nprompt = "  Arr, matey.  "\n'
    )

    roles = list_roles(roles_dir)

    assert [role.name for role in roles] == [*BUILT_IN_NAMES, "pirate"]
    pirate = get_role("pirate", roles_dir)
    assert pirate.description == "Talks like a pirate"
    assert pirate.prompt == "Arr, matey."  # surrounding whitespace is trimmed
    assert pirate.source == str(path)


def test_user_role_without_description_gets_an_empty_one(roles_dir: Path) -> None:
    _role_file(roles_dir, "terse", 'prompt = "One word answers."\n')

    assert get_role("terse", roles_dir).description == ""


def test_user_role_overrides_built_in_of_the_same_name(roles_dir: Path) -> None:
    path = _role_file(roles_dir, "code", 'description = "Mine"\nprompt = "Only Rust."\n')

    roles = list_roles(roles_dir)
    code = get_role("code", roles_dir)

    assert [role.name for role in roles] == BUILT_IN_NAMES  # listed once, in its place
    assert code.prompt == "Only Rust."
    assert code.description == "Mine"
    assert code.source == str(path)


def test_files_that_are_not_toml_are_ignored(roles_dir: Path) -> None:
    (roles_dir / "notes.txt").write_text("prompt = 'x'\n", encoding="utf-8")

    assert [role.name for role in list_roles(roles_dir)] == BUILT_IN_NAMES


def test_roles_folder_defaults_to_the_one_in_chatcli_home(chatcli_home: Path) -> None:
    folder = chatcli_home / "config" / "roles"
    folder.mkdir(parents=True)
    _role_file(folder, "poet", 'prompt = "Answer in verse."\n')

    assert get_role("poet").prompt == "Answer in verse."


def test_unknown_role_lists_known_names(roles_dir: Path) -> None:
    _role_file(roles_dir, "pirate", 'prompt = "Arr."\n')

    with pytest.raises(NotFoundError) as caught:
        get_role("wizard", roles_dir)

    message = str(caught.value)
    assert "'wizard'" in message
    for name in [*BUILT_IN_NAMES, "pirate"]:
        assert name in message
    assert caught.value.exit_code == 5


@pytest.mark.parametrize(
    ("text", "wording"),
    [
        ('prompt = "unclosed\n', "line 1"),
        ('description = "no prompt"\n', "'prompt'"),
        ('prompt = "   "\n', "'prompt'"),
        ("prompt = 42\n", "'prompt'"),
        ('prompt = "ok"\ndescription = 3\n', "'description'"),
    ],
)
def test_bad_role_file_is_a_config_error_naming_the_file_when_asked_for(
    roles_dir: Path, text: str, wording: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = _role_file(roles_dir, "broken", text)

    with pytest.raises(ConfigError) as caught:
        get_role("broken", roles_dir)
    assert str(path) in str(caught.value)
    assert wording in str(caught.value)

    names = [role.name for role in list_roles(roles_dir)]
    assert "broken" not in names and "assistant" in names
    assert [str(path) in record.getMessage() for record in caplog.records] == [True]
    assert get_role("assistant", roles_dir).source == "built-in"


def test_a_broken_override_of_a_built_in_fails_instead_of_falling_back(roles_dir: Path) -> None:
    _role_file(roles_dir, "qa", 'prompt = "unclosed\n')
    with pytest.raises(ConfigError):
        get_role("qa", roles_dir)
    assert "qa" not in [role.name for role in list_roles(roles_dir)]


def test_role_file_that_is_not_utf8_is_a_config_error(roles_dir: Path) -> None:
    path = roles_dir / "latin.toml"
    path.write_bytes('prompt = "caf\xe9"\n'.encode("latin-1"))

    with pytest.raises(ConfigError, match="latin"):
        get_role("latin", roles_dir)
    assert get_role("assistant", roles_dir).name == "assistant"
    assert path.exists()
