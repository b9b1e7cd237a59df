"""Compiled chat templates are kept in a cache folder: the next start loads the same bounded
code instead of compiling, and a cache that is damaged or cannot be written only costs speed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chatcli.engine.template import BoundedEnvironment, ChatTemplate
from chatcli.engine.template_budget import TemplateLimits
from chatcli.errors import ModelError

TEMPLATES = Path(__file__).parent.parent / "data" / "chat_templates"
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}]
LOOP = "{% for i in range(999) %}"
ENDLESS = LOOP * 3 + "{% endfor %}" * 3  # a billion steps, each one within the range bound


def _template(source: str, cache: Path | None, seconds: float = 5.0) -> ChatTemplate:
    return ChatTemplate(
        source,
        bos_token="<s>",
        eos_token="</s>",
        source="GGUF chat template of x.gguf",
        limits=TemplateLimits(seconds=seconds),
        cache_dir=cache,
    )


@pytest.fixture
def no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling a template fails the test: it must come from the cache."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the template was compiled again")

    monkeypatch.setattr(BoundedEnvironment, "compile", refuse)
    monkeypatch.setattr(BoundedEnvironment, "from_string", refuse)


@pytest.mark.parametrize("name", sorted(p.stem for p in TEMPLATES.glob("*.jinja")))
def test_a_cached_template_renders_as_a_compiled_one(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    source = (TEMPLATES / f"{name}.jinja").read_text()
    messages = CHAT[1:] if name.startswith("gemma") else CHAT  # Gemma refuses a system turn
    expected = _template(source, None).render(messages)
    assert _template(source, tmp_path).render(messages) == expected  # compiles, keeps
    assert list(tmp_path.iterdir())
    request.getfixturevalue("no_compiling")
    assert _template(source, tmp_path).render(messages) == expected  # loads


def test_each_template_text_has_its_own_code(tmp_path: Path) -> None:
    _template("A{{ messages[0].content }}", tmp_path)
    assert _template("B{{ messages[0].content }}", tmp_path).render(CHAT) == "BBe brief."
    assert _template("A{{ messages[0].content }}", tmp_path).render(CHAT) == "ABe brief."


def test_cached_code_keeps_the_time_bound(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _template(ENDLESS, tmp_path)  # compiled and kept
    request.getfixturevalue("no_compiling")
    endless = _template(ENDLESS, tmp_path, seconds=0.2)
    with pytest.raises(ModelError, match=r"ran longer than 0\.2 s"):
        endless.render(CHAT)


def test_a_damaged_cache_is_compiled_afresh(tmp_path: Path) -> None:
    source = (TEMPLATES / "smollm2.jinja").read_text()
    expected = _template(source, None).render(CHAT)
    _template(source, tmp_path)
    for kept in tmp_path.iterdir():
        kept.write_bytes(b"\x00garbage" * 50)
    assert _template(source, tmp_path).render(CHAT) == expected


def test_a_cache_folder_that_cannot_be_made_only_costs_speed(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    template = _template("{{ messages[1].content }}", blocked / "templates")
    assert template.render(CHAT) == "Hi!"


def test_the_cache_folder_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    _template("{{ messages[1].content }}", folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(kept.stat().st_mode & 0o077 == 0 for kept in folder.iterdir())


def test_a_cache_file_cut_short_is_compiled_afresh_and_rewritten(tmp_path: Path) -> None:
    from jinja2.bccache import bc_magic

    source = (TEMPLATES / "smollm2.jinja").read_text()
    expected = _template(source, None).render(CHAT)
    _template(source, tmp_path)
    (kept,) = tmp_path.iterdir()
    whole = kept.read_bytes()
    kept.write_bytes(bc_magic + b"\x80")  # the right header, then a pickle cut off

    assert _template(source, tmp_path).render(CHAT) == expected
    assert kept.read_bytes() == whole
