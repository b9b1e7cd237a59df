"""The TUI's modal screens: each asks one thing and dismisses with the answer."""

from chatcli.tui.screens.confirm import ConfirmScreen
from chatcli.tui.screens.settings import SessionSettings, SettingsScreen
from chatcli.tui.screens.system_prompt import SystemPromptChoice, SystemPromptScreen
from chatcli.tui.screens.text_input import TextInputScreen

__all__ = [
    "ConfirmScreen",
    "SessionSettings",
    "SettingsScreen",
    "SystemPromptChoice",
    "SystemPromptScreen",
    "TextInputScreen",
]
