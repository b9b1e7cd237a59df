"""Edit a session's model, context size and sampling parameters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.validation import Integer, Number
from textual.widgets import Button, Input, Label, Select

from chatcli.engine.params import LoraAdapter, SamplingParams, knob
from chatcli.tui.screens.dialog import Dialog


@dataclass(frozen=True)
class SessionSettings:
    """What the settings screen edits: the model, its context size, adapter and sampling."""

    model: str
    """Name of the model to chat with."""
    context_length: int | None
    """Context size in tokens; ``None`` = the model's default."""
    sampling: SamplingParams
    """How tokens are picked."""
    lora: LoraAdapter | None = None
    """The LoRA adapter applied to the model; ``None`` = none."""


@dataclass(frozen=True)
class _NumberField:
    """One numeric input of the form: its id, label, kind and allowed range."""

    field_id: str
    label: str
    integer: bool
    minimum: float | None
    maximum: float | None = None
    empty_means: str = ""
    """Placeholder naming what an empty field means; empty = the field is required."""


_CONTEXT = _NumberField("context", "Context size", True, 128, empty_means="default")
_LORA_SCALE = _NumberField("lora-scale", "LoRA scale", False, None, empty_means="1")


def _sampling_field(name: str, label: str, empty_means: str = "") -> _NumberField:
    """The input for a sampling parameter, with the range of its declaration."""
    declared = knob(name)
    return _NumberField(
        name.replace("_", "-"),
        label,
        declared.kind == "int",
        declared.low,
        declared.high,
        empty_means=empty_means,
    )


_MAX_TOKENS = _sampling_field("max_tokens", "Max tokens", empty_means="no limit")
_TEMPERATURE = _sampling_field("temperature", "Temperature (0–2)")
_TOP_P = _sampling_field("top_p", "Top-p (0–1)")
_TOP_K = _sampling_field("top_k", "Top-k (0 = off)")
_MIN_P = _sampling_field("min_p", "Min-p (0–1)")
_REPEAT_PENALTY = _sampling_field("repeat_penalty", "Repeat penalty (0–2)")
_SEED = _sampling_field("seed", "Seed", empty_means="random")

_FIELDS = (
    _LORA_SCALE,
    _CONTEXT,
    _MAX_TOKENS,
    _TEMPERATURE,
    _TOP_P,
    _TOP_K,
    _MIN_P,
    _REPEAT_PENALTY,
    _SEED,
)
"""The numeric fields in form order: two to a row (the LoRA scale beside the adapter's path)."""


def _as_text(value: float | None) -> str:
    """Show a number the way it round-trips (``str``); ``None`` as an empty field."""
    return "" if value is None else str(value)


class SettingsScreen(Dialog[SessionSettings | None]):
    """Edit a session's settings; dismiss with new ``SessionSettings``, or None on escape.

    Save (button or Ctrl+S, or Enter in a field) checks every field first: when one is
    invalid the screen stays open, names the field and focuses it.
    """

    DEFAULT_CSS = """
    SettingsScreen > #dialog {
        width: 92;
        max-width: 100%;
        max-height: 100%;
    }
    SettingsScreen #fields {
        grid-size: 4;
        grid-columns: auto 1fr auto 1fr;
        grid-rows: 3;
        grid-gutter: 0 1;
        height: auto;
    }
    SettingsScreen #fields > Label {
        height: 3;
        content-align: left middle;
    }
    SettingsScreen #model {
        column-span: 3;
    }
    SettingsScreen.-narrow #fields {
        grid-size: 1;
        grid-columns: 1fr;
        grid-rows: auto;
    }
    SettingsScreen.-narrow #fields > Label {
        height: 1;
    }
    SettingsScreen.-narrow #model {
        column-span: 1;
    }
    SettingsScreen SelectCurrent Static#label {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    NARROW_BELOW = 80
    """Terminal width under which the fields stand one to a row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, current: SessionSettings, models: list[str]) -> None:
        super().__init__()
        self._current = current
        self._models = models if current.model in models else [*models, current.model]

    def on_resize(self, event: events.Resize) -> None:
        """On a narrow terminal each label stands above its field, full width."""
        self.set_class(event.size.width < self.NARROW_BELOW, "-narrow")

    def compose(self) -> ComposeResult:
        """Lay out the model picker, the numeric fields two to a row, and the buttons."""
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Session settings"
            dialog.border_subtitle = "Ctrl+S saves · Esc cancels"
            with Grid(id="fields"):
                yield Label("Model")
                yield Select(
                    [(name, name) for name in self._models],
                    value=self._current.model,
                    allow_blank=False,
                    id="model",
                )
                yield Label("LoRA adapter")
                lora = self._current.lora
                yield Input(lora.path if lora else "", placeholder="none", id="lora")
                for field in _FIELDS:
                    yield Label(field.label)
                    yield self._number_input(field)
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def _number_input(self, field: _NumberField) -> Input:
        """Build the input for ``field``, filled with the current value, validating as you type."""
        validator = Integer if field.integer else Number
        return Input(
            _as_text(self._current_value(field)),
            placeholder=field.empty_means,
            type="integer" if field.integer else "number",
            validators=[validator(minimum=field.minimum, maximum=field.maximum)],
            valid_empty=bool(field.empty_means),
            id=field.field_id,
        )

    def _current_value(self, field: _NumberField) -> float | None:
        """Return the current setting that ``field`` shows."""
        sampling = self._current.sampling
        lora = self._current.lora
        values: dict[str, float | None] = {
            _LORA_SCALE.field_id: lora.scale if lora else None,
            _CONTEXT.field_id: self._current.context_length,
            _MAX_TOKENS.field_id: sampling.max_tokens,
            _TEMPERATURE.field_id: sampling.temperature,
            _TOP_P.field_id: sampling.top_p,
            _TOP_K.field_id: sampling.top_k,
            _MIN_P.field_id: sampling.min_p,
            _REPEAT_PENALTY.field_id: sampling.repeat_penalty,
            _SEED.field_id: sampling.seed,
        }
        return values[field.field_id]

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Dismiss with the edited settings, or point at the first invalid field."""
        if self._report_invalid_field():
            return
        self.dismiss(self._read_settings())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Dismiss without a result."""
        self.dismiss(None)

    def _report_invalid_field(self) -> bool:
        """Notify about and focus the first field whose value is invalid; True if any."""
        for field in _FIELDS:
            field_input = self.query_one(f"#{field.field_id}", Input)
            result = field_input.validate(field_input.value)
            if result is None or result.is_valid:
                continue
            reason = " ".join(result.failure_descriptions)
            self.notify(
                f"{field.label}: {reason}", title="Invalid setting", severity="error", markup=False
            )
            field_input.focus()
            return True
        return False

    def _read_settings(self) -> SessionSettings:
        """Build the settings from the (valid) fields; ``stop`` is kept as it was."""
        sampling = SamplingParams(
            temperature=self._read_float(_TEMPERATURE),
            top_p=self._read_float(_TOP_P),
            top_k=self._read_int(_TOP_K),
            min_p=self._read_float(_MIN_P),
            repeat_penalty=self._read_float(_REPEAT_PENALTY),
            max_tokens=self._read_optional_int(_MAX_TOKENS),
            seed=self._read_optional_int(_SEED),
            stop=self._current.sampling.stop,
        )
        model = self.query_one("#model", Select).value
        return SessionSettings(
            model=model if isinstance(model, str) else self._current.model,
            context_length=self._read_optional_int(_CONTEXT),
            sampling=sampling,
            lora=self._read_lora(),
        )

    def _read_lora(self) -> LoraAdapter | None:
        """The adapter named by the path field (None when it is empty), at its scale."""
        path = self.query_one("#lora", Input).value.strip()
        if not path:
            return None
        scale = self._field_text(_LORA_SCALE)
        absolute = str(Path(path).expanduser().absolute())
        return LoraAdapter(absolute, float(scale) if scale else 1.0)

    def _field_text(self, field: _NumberField) -> str:
        return self.query_one(f"#{field.field_id}", Input).value.strip()

    def _read_float(self, field: _NumberField) -> float:
        return float(self._field_text(field))

    def _read_int(self, field: _NumberField) -> int:
        return int(self._field_text(field))

    def _read_optional_int(self, field: _NumberField) -> int | None:
        text = self._field_text(field)
        return int(text) if text else None
