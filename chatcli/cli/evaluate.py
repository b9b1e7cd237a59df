"""``chatcli eval``: perplexity of one or more local models on a text or on conversations.

Plain text is scored token by token; conversations (JSON lines) only on their assistant
turns, rendered with each model's chat template (``chatcli/engine/perplexity.py``). Several
``--model`` options give one row each, side by side.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatcli.cli.bench import markdown_table
from chatcli.cli.completion import complete_models
from chatcli.cli.errors import setup_logging, user_errors
from chatcli.cli.options import (
    MODEL,
    CtxOpt,
    GpuOpt,
    JsonObjectOpt,
    ModelFlags,
    ThreadsOpt,
    VerboseOpt,
    in_range,
    one_of,
    settings_with,
)
from chatcli.cli.status_line import StatusLine

if TYPE_CHECKING:
    from chatcli.core.evaldata import EvalData
    from chatcli.engine.perplexity import PerplexityResult, Windows

FORMATS = ("auto", "text", "chat")


def evaluate(
    data: Annotated[
        Path,
        typer.Argument(
            metavar="DATA",
            help="A text file, or conversations as JSON lines (.jsonl, .json: a chatcli export).",
        ),
    ],
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            metavar="NAME|PATH",
            help="Catalog name or .gguf path (repeatable: one row each).",
            autocompletion=complete_models,
            rich_help_panel=MODEL,
        ),
    ] = None,
    window: Annotated[
        int,
        typer.Option(metavar="INT", callback=in_range(16), help="Tokens evaluated together."),
    ] = 512,
    stride: Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            callback=in_range(1),
            help="Tokens between window starts (default: half the window).",
            show_default=False,
        ),
    ] = None,
    data_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="[" + "|".join(FORMATS) + "]",
            callback=one_of(FORMATS),
            help="auto: .jsonl/.json/.ndjson are conversations, anything else text.",
        ),
    ] = "auto",
    ctx: CtxOpt = None,
    gpu_layers: GpuOpt = None,
    threads: ThreadsOpt = None,
    json_output: JsonObjectOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Perplexity on a text file, or on the assistant turns of conversations (JSON lines)."""
    from chatcli.core.evaldata import read_eval_data
    from chatcli.engine.perplexity import Windows

    setup_logging(verbose)
    with user_errors():
        windows = Windows(window, stride or max(window // 2, 1))
        loaded = read_eval_data(data, data_format)  # type: ignore[arg-type]
        specs: list[str | None] = list(models) if models else [None]
        rows = []
        for spec in specs:
            flags = ModelFlags(spec, ctx or window, gpu_layers, threads, verbose)
            rows.append((spec, _score(flags, loaded, windows)))
        print(_json(data, windows, rows) if json_output else results_table(rows))


def _score(flags: ModelFlags, loaded: "EvalData", windows: "Windows") -> "PerplexityResult":
    """Build the model ``flags`` name, score the data on it, and free it."""
    from chatcli.assembly import build_engine
    from chatcli.engine.perplexity import perplexity

    engine = build_engine(settings_with(flags), snapshots=False)
    status = StatusLine("eval")
    label = flags.model or "the default model"

    def show(done: int, total: int) -> None:
        status.show(f"{label}: {done:,}/{total:,} tokens ({done / total:.0%})")

    try:
        status.show(f"{label}: loading")
        return perplexity(engine, loaded.texts, loaded.conversations, windows, show)
    finally:
        status.clear()
        engine.close()


def _json(data: Path, windows: "Windows", rows: list[tuple[str | None, "PerplexityResult"]]) -> str:
    results = [result.to_dict() | {"spec": spec} for spec, result in rows]
    document = {"data": str(data), "window": windows.size, "stride": windows.stride}
    return json.dumps(document | {"results": results})


def results_table(rows: list[tuple[str | None, "PerplexityResult"]]) -> str:
    """One Markdown table row per model: tokens scored, mean NLL, perplexity."""
    cells = [
        (
            spec or result.model,
            f"{result.tokens:,}",
            f"{result.mean_nll:.4f}",
            f"{result.perplexity:.3f}",
        )
        for spec, result in rows
    ]
    return markdown_table(("model", "tokens", "mean NLL", "perplexity"), cells)
