"""Each modal screen alone in a bare host app, driven with keys and clicks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Input, OptionList, Select, Static, TextArea

from chatcli.core.roles import BUILT_IN_ROLES, Role
from chatcli.engine.params import LoraAdapter, SamplingParams
from chatcli.tui.screens import (
    ConfirmScreen,
    SessionSettings,
    SettingsScreen,
    SystemPromptChoice,
    SystemPromptScreen,
    TextInputScreen,
)


class ScreenHost(App[None]):
    """Shows one screen on mount and records what it is dismissed with."""

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.modal = screen
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.results.append)


async def replace_input_text(pilot: Pilot[None], selector: str, text: str) -> None:
    """Focus an Input, empty it and type ``text`` key by key."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.clear()
    await pilot.press(*text)


# --- ConfirmScreen ---------------------------------------------------------------------


async def test_confirm_answers_yes_to_the_y_key() -> None:
    app = ScreenHost(ConfirmScreen("Delete session 'x'?"))
    async with app.run_test() as pilot:
        await pilot.press("y")
        assert app.results == [True]
        assert not isinstance(app.screen, ConfirmScreen)


async def test_confirm_answers_yes_to_its_confirm_button() -> None:
    app = ScreenHost(ConfirmScreen("Delete?", confirm_label="Remove"))
    async with app.run_test() as pilot:
        assert str(app.screen.query_one("#confirm", Button).label) == "Remove"
        await pilot.click("#confirm")
        assert app.results == [True]


async def test_confirm_answers_no_to_escape() -> None:
    app = ScreenHost(ConfirmScreen("Delete?"))
    async with app.run_test() as pilot:
        await pilot.press("escape")
        assert app.results == [False]


async def test_confirm_answers_no_to_the_n_key() -> None:
    app = ScreenHost(ConfirmScreen("Delete?"))
    async with app.run_test() as pilot:
        await pilot.press("n")
        assert app.results == [False]


async def test_confirm_enter_alone_cancels_because_cancel_has_focus() -> None:
    app = ScreenHost(ConfirmScreen("Delete?"))
    async with app.run_test() as pilot:
        await pilot.press("enter")
        assert app.results == [False]


# --- TextInputScreen -------------------------------------------------------------------


async def test_text_input_starts_with_the_given_value() -> None:
    app = ScreenHost(TextInputScreen("Rename session", value="old name"))
    async with app.run_test():
        assert app.screen.query_one("#text", Input).value == "old name"


async def test_text_input_enter_returns_the_stripped_text() -> None:
    app = ScreenHost(TextInputScreen("Rename session", value="old name"))
    async with app.run_test() as pilot:
        await replace_input_text(pilot, "#text", "  new name  ")
        await pilot.press("enter")
        assert app.results == ["new name"]


async def test_text_input_refuses_empty_text_and_stays_open() -> None:
    app = ScreenHost(TextInputScreen("Rename session", value="old name"))
    async with app.run_test() as pilot:
        await replace_input_text(pilot, "#text", "   ")
        await pilot.press("enter")
        await pilot.click("#save")
        assert app.results == []
        assert isinstance(app.screen, TextInputScreen)


async def test_text_input_escape_returns_none() -> None:
    app = ScreenHost(TextInputScreen("Rename session", value="old name"))
    async with app.run_test() as pilot:
        await pilot.press("x", "escape")
        assert app.results == [None]


async def test_multiline_text_input_saves_with_ctrl_s() -> None:
    app = ScreenHost(TextInputScreen("Edit message", value="line one", multiline=True))
    async with app.run_test() as pilot:
        assert app.screen.query_one("#text", TextArea).has_focus
        await pilot.press("enter", *"two", "enter", "ctrl+s")
        assert app.results == ["line one\ntwo"]


async def test_multiline_text_input_saves_with_its_save_button() -> None:
    app = ScreenHost(TextInputScreen("Edit message", value=" hello \n", multiline=True))
    async with app.run_test() as pilot:
        await pilot.click("#save")
        assert app.results == ["hello"]


# --- SettingsScreen --------------------------------------------------------------------

CURRENT = SessionSettings(
    model="smollm2-360m",
    context_length=None,
    sampling=SamplingParams(stop=("</s>",)),
)
MODELS = ["smollm2-360m", "qwen2.5-0.5b"]


async def test_settings_save_returns_the_edited_temperature_and_seed() -> None:
    app = ScreenHost(SettingsScreen(CURRENT, MODELS))
    async with app.run_test() as pilot:
        await replace_input_text(pilot, "#temperature", "0.2")
        await replace_input_text(pilot, "#seed", "42")
        await pilot.click("#save")
        expected_sampling = replace(CURRENT.sampling, temperature=0.2, seed=42)
        assert app.results == [replace(CURRENT, sampling=expected_sampling)]


async def test_settings_unchanged_save_returns_equal_settings() -> None:
    current = SessionSettings(
        "qwen2.5-0.5b",
        4096,
        SamplingParams(temperature=0.0, top_k=0, min_p=0.1, max_tokens=256, seed=7),
    )
    app = ScreenHost(SettingsScreen(current, MODELS))
    async with app.run_test() as pilot:
        await pilot.press("ctrl+s")
        assert app.results == [current]


async def test_settings_emptied_optional_fields_mean_defaults() -> None:
    current = SessionSettings("smollm2-360m", 4096, SamplingParams(max_tokens=256, seed=7))
    app = ScreenHost(SettingsScreen(current, MODELS))
    async with app.run_test() as pilot:
        for selector in ("#context", "#max-tokens", "#seed"):
            await replace_input_text(pilot, selector, "")
        await pilot.press("enter")
        assert app.results == [SessionSettings("smollm2-360m", None, SamplingParams())]


async def test_settings_invalid_temperature_keeps_the_screen_open() -> None:
    app = ScreenHost(SettingsScreen(CURRENT, MODELS))
    async with app.run_test() as pilot:
        # The field only accepts number-like keys, so "abc" can only be pasted or set.
        temperature = app.screen.query_one("#temperature", Input)
        temperature.value = "abc"
        await pilot.press("ctrl+s")
        assert app.results == []
        assert isinstance(app.screen, SettingsScreen)
        assert temperature.has_focus


async def test_settings_out_of_range_value_keeps_the_screen_open() -> None:
    app = ScreenHost(SettingsScreen(CURRENT, MODELS))
    async with app.run_test() as pilot:
        await replace_input_text(pilot, "#top-p", "1.5")
        await pilot.click("#save")
        assert app.results == []
        assert isinstance(app.screen, SettingsScreen)
        assert app.screen.query_one("#top-p", Input).has_focus


async def test_settings_escape_returns_none() -> None:
    app = ScreenHost(SettingsScreen(CURRENT, MODELS))
    async with app.run_test() as pilot:
        await replace_input_text(pilot, "#temperature", "1.0")
        await pilot.press("escape")
        assert app.results == [None]


async def test_settings_model_can_be_picked_from_the_list() -> None:
    app = ScreenHost(SettingsScreen(CURRENT, MODELS))
    async with app.run_test() as pilot:
        assert app.screen.query_one("#model", Select).has_focus
        await pilot.press("enter", "down", "enter")
        await pilot.press("ctrl+s")
        assert app.results == [replace(CURRENT, model="qwen2.5-0.5b")]


async def test_settings_escape_in_the_open_model_list_closes_only_the_list() -> None:
    app = ScreenHost(SettingsScreen(CURRENT, MODELS))
    async with app.run_test() as pilot:
        await pilot.press("enter", "escape")
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press("escape")
        assert app.results == [None]


async def test_settings_offers_and_keeps_a_current_model_missing_from_the_list() -> None:
    current = replace(CURRENT, model="my-own.gguf")
    app = ScreenHost(SettingsScreen(current, MODELS))
    async with app.run_test() as pilot:
        assert app.screen.query_one("#model", Select).value == "my-own.gguf"
        await pilot.press("ctrl+s")
        assert app.results == [current]


async def test_settings_lora_path_and_scale_give_an_adapter_and_an_empty_path_none() -> None:
    app = ScreenHost(SettingsScreen(CURRENT, MODELS))
    async with app.run_test() as pilot:
        await replace_input_text(pilot, "#lora", "/adapters/french.gguf")
        await replace_input_text(pilot, "#lora-scale", "0.5")
        await pilot.press("ctrl+s")
        assert app.results == [replace(CURRENT, lora=LoraAdapter("/adapters/french.gguf", 0.5))]

    current = replace(CURRENT, lora=LoraAdapter("/adapters/french.gguf", 0.5))
    app = ScreenHost(SettingsScreen(current, MODELS))
    async with app.run_test() as pilot:
        assert app.screen.query_one("#lora-scale", Input).value == "0.5"
        await replace_input_text(pilot, "#lora", "")
        await pilot.press("ctrl+s")
        assert app.results == [CURRENT]


async def test_settings_lora_without_a_scale_applies_fully() -> None:
    app = ScreenHost(SettingsScreen(CURRENT, MODELS))
    async with app.run_test() as pilot:
        await replace_input_text(pilot, "#lora", "/adapters/french.gguf")
        await pilot.press("enter")
        assert app.results == [replace(CURRENT, lora=LoraAdapter("/adapters/french.gguf", 1.0))]


# --- SystemPromptScreen ----------------------------------------------------------------

ROLES = list(BUILT_IN_ROLES)
TRANSLATE = next(role for role in ROLES if role.name == "translate")


async def highlight_and_select_role(pilot: Pilot[None], name: str) -> None:
    """Move the role list's highlight to ``name`` with the arrow keys and press Enter."""
    role_list = pilot.app.screen.query_one("#roles", OptionList)
    role_list.focus()
    await pilot.press("home")
    for _ in range([role.name for role in ROLES].index(name)):
        await pilot.press("down")
    await pilot.press("enter")


async def test_system_prompt_choosing_a_role_fills_the_prompt_and_returns_the_role() -> None:
    app = ScreenHost(SystemPromptScreen(ROLES, None, "Be terse."))
    async with app.run_test() as pilot:
        await highlight_and_select_role(pilot, "translate")
        assert app.screen.query_one("#prompt", TextArea).text == TRANSLATE.prompt
        await pilot.press("ctrl+s")
        assert app.results == [SystemPromptChoice(role="translate", prompt=TRANSLATE.prompt)]


async def test_system_prompt_edited_by_hand_becomes_custom() -> None:
    app = ScreenHost(SystemPromptScreen(ROLES, None, ""))
    async with app.run_test() as pilot:
        await highlight_and_select_role(pilot, "translate")
        prompt = app.screen.query_one("#prompt", TextArea)
        prompt.focus()
        prompt.move_cursor(prompt.document.end)
        await pilot.press(*" Be formal")
        await pilot.click("#save")
        edited = TRANSLATE.prompt + " Be formal"
        assert app.results == [SystemPromptChoice(role=None, prompt=edited)]


async def test_system_prompt_unchanged_keeps_the_current_role() -> None:
    app = ScreenHost(SystemPromptScreen(ROLES, "translate", TRANSLATE.prompt))
    async with app.run_test() as pilot:
        assert app.screen.query_one("#roles", OptionList).highlighted == ROLES.index(TRANSLATE)
        await pilot.press("ctrl+s")
        assert app.results == [SystemPromptChoice(role="translate", prompt=TRANSLATE.prompt)]


async def test_system_prompt_escape_returns_none() -> None:
    app = ScreenHost(SystemPromptScreen(ROLES, "translate", TRANSLATE.prompt))
    async with app.run_test() as pilot:
        await pilot.press("escape")
        assert app.results == [None]


async def test_system_prompt_clicking_a_role_fills_the_prompt() -> None:
    roles = [
        Role("brief", "Short answers", "Be brief."),
        Role("pirate", "Arr", "Talk like a pirate."),
    ]
    app = ScreenHost(SystemPromptScreen(roles, None, ""))
    async with app.run_test() as pilot:
        # Inside the list's top border, the second line is the second role.
        await pilot.click("#roles", offset=(4, 2))
        await pilot.click("#save")
        assert app.results == [SystemPromptChoice(role="pirate", prompt="Talk like a pirate.")]


async def test_system_prompt_edited_back_to_the_role_text_is_that_role_again() -> None:
    app = ScreenHost(SystemPromptScreen(ROLES, "translate", TRANSLATE.prompt))
    async with app.run_test() as pilot:
        prompt = app.screen.query_one("#prompt", TextArea)
        prompt.focus()
        prompt.move_cursor(prompt.document.end)
        await pilot.press("!")
        assert (
            str(app.screen.query_one("#role-status", Static).content) == "Custom prompt (no role)"
        )
        await pilot.press("backspace")
        assert str(app.screen.query_one("#role-status", Static).content) == "Role: translate"
        await pilot.press("ctrl+s")
        assert app.results == [SystemPromptChoice(role="translate", prompt=TRANSLATE.prompt)]
