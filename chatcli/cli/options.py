"""Command-line options shared by commands, and how they override the settings."""

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from chatcli.cli.completion import complete_models, complete_roles, complete_sessions
from chatcli.config import Settings, load_settings
from chatcli.engine.params import Knob, LoraAdapter, SamplingParams

SAMPLING = "Sampling"
MODEL = "Model"
FLAG = ""
"""The metavar of an on/off flag: none (typer would show ``<bool>``)."""

Number = TypeVar("Number", int, float)


def in_range(low: Number, high: Number | None = None) -> Callable[[Number | None], Number | None]:
    """A typer callback that refuses values outside [low, high] in chatcli's own words."""

    def check(value: Number | None) -> Number | None:
        if value is None:
            return None
        if value < low:
            raise typer.BadParameter(f"{value} is too small; the least is {low}")
        if high is not None and value > high:
            raise typer.BadParameter(f"{value} is too large; the most is {high}")
        return value

    return check


def in_knob_range(declared: Knob) -> Callable[[Number | None], Number | None]:
    """A typer callback that refuses values outside a sampling parameter's declared range."""

    def check(value: Number | None) -> Number | None:
        problem = None if value is None else declared.problem(value)
        if problem:
            raise typer.BadParameter(problem)
        return value

    return check


def thread_count(value: int | None) -> int | None:
    """A typer callback: at least 1 thread, at most the machine's CPUs.

    More cannot help, and tens of thousands make OpenMP abort the process.
    """
    cpus = os.cpu_count() or 1
    if value is not None and value > cpus:
        raise typer.BadParameter(f"{value} is more than this machine's {cpus} CPUs")
    return in_range(1)(value)


def one_of(choices: Sequence[str]) -> Callable[[str | None], str | None]:
    """A typer callback that accepts only ``choices`` and lists them when refusing."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"'{value}' is not one of: {', '.join(choices)}")
        return value

    return check


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
JsonObjectOpt = Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print one JSON object.")]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        metavar="NAME|PATH",
        help="Catalog name or path to a .gguf file.",
        autocompletion=complete_models,
        rich_help_panel=MODEL,
    ),
]
CtxOpt = Annotated[
    int | None,
    typer.Option(
        "--ctx",
        metavar="INT",
        callback=in_range(128),
        help="Context size in tokens (at least 128).",
        rich_help_panel=MODEL,
    ),
]
GpuOpt = Annotated[
    int | None,
    typer.Option(
        "--gpu-layers",
        metavar="INT",
        callback=in_range(-1),
        help="Layers on the GPU (-1 = all).",
        rich_help_panel=MODEL,
    ),
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads",
        metavar="INT",
        callback=thread_count,
        help="CPU threads (default: all cores).",
        rich_help_panel=MODEL,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="An OpenAI-compatible server (vLLM, llama-server, Ollama): http://host:8000/v1",
        rich_help_panel=MODEL,
    ),
]
ApiModelOpt = Annotated[
    str | None,
    typer.Option(
        "--api-model",
        metavar="NAME",
        help="The model on that server (default: the first it lists).",
        rich_help_panel=MODEL,
    ),
]
LoraOpt = Annotated[
    str | None,
    typer.Option(
        "--lora",
        metavar="PATH",
        help="A LoRA adapter (.gguf) to apply to the model (saved with the session).",
        rich_help_panel=MODEL,
    ),
]
LoraScaleOpt = Annotated[
    float | None,
    typer.Option(
        "--lora-scale",
        metavar="FLOAT",
        help="How strongly the adapter applies (default 1; 0 = the base model).",
        rich_help_panel=MODEL,
    ),
]
NoLoraOpt = Annotated[
    bool,
    typer.Option(
        "--no-lora",
        metavar=FLAG,
        help="Take the session's LoRA adapter off.",
        rich_help_panel=MODEL,
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option("--verbose", "-v", metavar=FLAG, help="Show llama.cpp's log and debug messages."),
]
SystemOpt = Annotated[
    str | None,
    typer.Option("--system", "-s", metavar="TEXT", help="System prompt (overrides the role's)."),
]
RoleOpt = Annotated[
    str | None,
    typer.Option(
        "--role",
        "-r",
        metavar="NAME",
        help="Role: a system-prompt preset.",
        autocompletion=complete_roles,
    ),
]
ContinueOpt = Annotated[
    bool,
    typer.Option("--continue", "-c", metavar=FLAG, help="Continue the most recent session."),
]
SessionOpt = Annotated[
    str | None,
    typer.Option(
        "--session",
        metavar="NAME|ID",
        help="Continue the session with this name or id, or create it.",
        autocompletion=complete_sessions,
    ),
]


@dataclass(frozen=True)
class ModelFlags:
    """Model options given on the command line (None = not given)."""

    model: str | None = None
    ctx: int | None = None
    gpu_layers: int | None = None
    threads: int | None = None
    verbose: bool = False
    base_url: str | None = None
    """An OpenAI-compatible server to use instead of a local model."""
    api_model: str | None = None
    """The model on that server ('' = the first it lists)."""
    lora: str | None = None
    """A LoRA adapter file to apply."""
    lora_scale: float | None = None
    """Its scale (with ``lora``, or for the session's own adapter)."""
    no_lora: bool = False
    """Take the session's adapter off."""

    def adapter_given(self) -> bool:
        """Whether any LoRA option was given (the session then keeps what they say)."""
        return self.lora is not None or self.lora_scale is not None or self.no_lora


@dataclass(frozen=True)
class SamplingFlags:
    """Sampling options given on the command line (None = not given)."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repeat_penalty: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def given(self) -> dict[str, object]:
        """Only the options the user actually gave."""
        values = {k: v for k, v in vars(self).items() if v is not None and k != "stop"}
        if self.stop:
            values["stop"] = self.stop
        return values

    def apply(self, params: SamplingParams) -> SamplingParams:
        """``params`` with the given options on top."""
        return replace(params, **self.given())  # type: ignore[arg-type]


def settings_with(flags: ModelFlags) -> Settings:
    """Settings from config and environment, with the command-line flags on top."""
    settings = load_settings()
    changes: dict[str, object] = {}
    if flags.model is not None:
        changes["model"] = flags.model
    if flags.base_url is not None:  # saved with the session like any model spec
        changes["model"] = f"endpoint:{flags.base_url}#{flags.api_model or ''}"
    elif flags.api_model is not None:
        raise typer.BadParameter("--api-model needs --base-url", param_hint="--api-model")
    if flags.ctx is not None:
        changes["context_length"] = flags.ctx
    if flags.verbose:
        changes["verbose"] = True
    if flags.lora is not None and flags.no_lora:
        raise typer.BadParameter("use either --lora PATH or --no-lora", param_hint="--no-lora")
    if flags.lora is not None:
        path = str(Path(flags.lora).expanduser().absolute())  # sessions outlive the cwd
        scale = flags.lora_scale if flags.lora_scale is not None else 1.0
        changes["lora"] = LoraAdapter(path, scale)
    llama = {"gpu_layers": flags.gpu_layers, "threads": flags.threads}
    given = {key: value for key, value in llama.items() if value is not None}
    if given:
        settings = settings.with_backend_values("llama", **given)
    return replace(settings, **changes)  # type: ignore[arg-type]
