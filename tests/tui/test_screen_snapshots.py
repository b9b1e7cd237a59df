"""What the modal screens look like, compared with stored SVG screenshots."""

from __future__ import annotations

from typing import Any

from textual.app import App

from chatcli.engine.params import SamplingParams
from chatcli.tui.screens import SessionSettings, SettingsScreen


class SettingsHost(App[None]):
    """A bare app showing the settings screen over an empty background."""

    def on_mount(self) -> None:
        current = SessionSettings(
            model="smollm2-360m",
            context_length=8192,
            sampling=SamplingParams(temperature=0.7, seed=1234),
        )
        self.push_screen(SettingsScreen(current, ["smollm2-360m", "qwen2.5-0.5b"]))


def test_settings_screen_looks_right(snap_compare: Any) -> None:
    assert snap_compare(SettingsHost(), terminal_size=(100, 34))
