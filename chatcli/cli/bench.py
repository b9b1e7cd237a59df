"""``chatcli bench``: how fast a local model loads, reads a prompt and generates, here.

The numbers are llama-bench's (``pp512``, ``tg128``, ``tg128 @ d1024``: see
``chatcli/engine/measure.py``), so they compare with it. What a command needs beyond typer is
imported when it runs.
"""

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from chatcli.cli.errors import say, setup_logging, user_errors
from chatcli.cli.options import (
    CtxOpt,
    GpuOpt,
    JsonObjectOpt,
    ModelFlags,
    ModelOpt,
    ThreadsOpt,
    VerboseOpt,
    in_range,
    settings_with,
)
from chatcli.cli.status_line import StatusLine

if TYPE_CHECKING:
    from chatcli.engine.measure import BenchReport

DEFAULT_DEPTHS = (0, 1024)
MIB = 1 << 20
BUSY_WARNING = 0.5
"""Cores used by other programs during the run from which the numbers are called low."""


def bench(
    model: ModelOpt = None,
    prompt_tokens: Annotated[
        int,
        typer.Option(
            "--pp", "-p", metavar="INT", callback=in_range(0), help="ppN: prompt tokens (0 = none)."
        ),
    ] = 512,
    generated_tokens: Annotated[
        int,
        typer.Option(
            "--tg",
            "-n",
            metavar="INT",
            callback=in_range(0),
            help="tgN: generated tokens (0 = none).",
        ),
    ] = 128,
    depths: Annotated[
        list[int] | None,
        typer.Option(
            "--depth",
            "-d",
            metavar="INT",
            help="Tokens already in the cache (repeatable; default 0 and 1024).",
        ),
    ] = None,
    repetitions: Annotated[
        int,
        typer.Option("--repetitions", "-r", metavar="INT", callback=in_range(1, 100)),
    ] = 3,
    ctx: CtxOpt = None,
    gpu_layers: GpuOpt = None,
    threads: ThreadsOpt = None,
    json_output: JsonObjectOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Measure load time, prompt processing (pp) and generation (tg) speed on this machine."""
    from chatcli.assembly import build_engine
    from chatcli.engine.measure import BenchPlan, run_bench

    setup_logging(verbose)
    with user_errors():
        chosen = tuple(depths) if depths else DEFAULT_DEPTHS
        if any(depth < 0 for depth in chosen):
            raise typer.BadParameter("a depth cannot be negative", param_hint="--depth")
        plan = BenchPlan(prompt_tokens, generated_tokens, chosen, repetitions)
        needed = ctx or max(plan.context_needed(), 128)
        flags = ModelFlags(model, needed, gpu_layers, threads, verbose)
        engine = build_engine(settings_with(flags), snapshots=False)
        status = StatusLine("bench")
        try:
            report = run_bench(engine, plan, status.show)
        finally:
            status.clear()
            engine.close()
        for depth in report.skipped_depths:
            say(f"depth {depth} left out: the context ({report.context_length}) cannot hold it")
        if (report.busy_elsewhere or 0) >= BUSY_WARNING:
            say(
                f"warning: other programs kept {report.busy_elsewhere:.1f} cores busy during the "
                "run: these numbers are lower than this machine gives when idle"
            )
        print(json.dumps(report.to_dict()) if json_output else report_table(report))


def report_table(report: "BenchReport") -> str:
    """The report as a few lines and a Markdown table (like llama-bench's)."""
    device = f"GPU ({report.gpu_layers} layers)" if report.gpu_layers else "CPU"
    lines = [
        f"model: {report.model} ({report.description}, "
        f"{report.model_size_bytes / MIB:.2f} MiB, {report.model_params / 1e6:.2f} M params)",
        f"backend: {report.backend} on {device}, threads {report.threads}, "
        f"context {report.context_length}, batch {report.batch_size}",
        f"load: {report.load_s:.2f} s",
        "",
    ]
    rows = [(r.test, f"{r.tokens_per_s:.2f} ± {r.stdev:.2f}") for r in report.results]
    lines.append(markdown_table(("test", "t/s"), rows))
    return "\n".join(lines)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, padded to line up: the first column to the left, the others right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            text.ljust(width) if column == 0 else text.rjust(width)
            for column, (text, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * widths[0], *("-" * (width - 1) + ":" for width in widths[1:])]
    return "\n".join([line(header), line(rule), *(line(row) for row in rows)])
