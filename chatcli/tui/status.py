"""The status bar: model, GPU layers, context meter and the last reply's speed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual.reactive import reactive
from textual.widgets import Static


@dataclass(frozen=True)
class Status:
    """Everything the status bar shows."""

    model: str = ""
    gpu_layers: int = 0
    """Layers the engine really put on the GPU (-1 = all, as a remote engine may say)."""
    gpu_layers_total: int = 0
    """Layers the model has, counting the output layer (0 = unknown)."""
    context_used: int = 0
    context_attached: int = 0
    """Tokens of the files attached to the message being written (counted in the meter)."""
    context_length: int = 0
    tokens_per_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    server: str = ""
    """For a remote engine: the server it talks to ('' = a local model)."""
    estimated: bool = False
    """Whether the context meter is an estimate (a server that cannot tokenize chats)."""
    activity: str = ""
    """What is happening now ('processing prompt…', 'generating…'); '' when idle."""


class StatusBar(Static):
    """One line at the bottom of the chat."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    """

    status: reactive[Status] = reactive(Status, layout=False)

    def update_status(self, **changes: object) -> None:
        """Change some fields of the status."""
        self.status = replace(self.status, **changes)  # type: ignore[arg-type]

    def watch_status(self, status: Status) -> None:
        """Redraw when the status changes."""
        self.update(describe(status))


def describe(status: Status) -> str:
    """The status line's text."""
    if status.server:
        where = status.server  # a remote engine: its own GPUs are not ours to report
    elif status.gpu_layers == 0:
        where = "CPU"
    else:
        where = f"GPU {'all' if status.gpu_layers < 0 else status.gpu_layers}"
        if status.gpu_layers > 0 and status.gpu_layers_total:
            where += f"/{status.gpu_layers_total} layers"
    parts = [status.model or "no model", where]
    if status.context_length:
        used = status.context_used + status.context_attached
        share = 100 * used // status.context_length
        about = "~" if status.estimated else ""
        parts.append(f"ctx {about}{used:,}/{status.context_length:,} ({share}%)")
    if status.completion_tokens:
        parts.append(
            f"{status.tokens_per_s:.1f} tok/s · {status.prompt_tokens:,} in · "
            f"{status.completion_tokens:,} out"
        )
    if status.activity:
        parts.append(status.activity)
    return "  ·  ".join(parts)
