"""The ``ask`` command: its options, gathered into one ``AskRequest`` for ``cli.ask``."""

from typing import Annotated, Any

import typer

from chatcli.cli.errors import setup_logging, user_errors
from chatcli.cli.options import (
    FLAG,
    SAMPLING,
    ApiModelOpt,
    BaseUrlOpt,
    ContinueOpt,
    CtxOpt,
    GpuOpt,
    LoraOpt,
    LoraScaleOpt,
    ModelFlags,
    ModelOpt,
    NoLoraOpt,
    RoleOpt,
    SamplingFlags,
    SessionOpt,
    SystemOpt,
    ThreadsOpt,
    VerboseOpt,
    in_knob_range,
    in_range,
    one_of,
)
from chatcli.config import OVERFLOW_POLICIES
from chatcli.engine.params import SamplingParams, knob

DEFAULTS = SamplingParams()


def sampling_option(name: str) -> Any:
    """The option for sampling parameter ``name``, from its one declaration (engine.base)."""
    declared = knob(name)
    if declared.kind == "texts":
        return typer.Option(metavar="TEXT", help=declared.help, rich_help_panel=SAMPLING)
    default = getattr(DEFAULTS, name)
    shown = f"Default: the model's advice, else {default}." if default is not None else ""
    return typer.Option(
        metavar="FLOAT" if declared.kind == "float" else "INT",
        callback=in_knob_range(declared),
        help=f"{declared.help} {shown}".strip(),
        show_default=False,
        rich_help_panel=SAMPLING,
    )


def ask(
    prompt: Annotated[str | None, typer.Argument(help="The question or instruction.")] = None,
    model: ModelOpt = None,
    system: SystemOpt = None,
    role: RoleOpt = None,
    temperature: Annotated[float | None, sampling_option("temperature")] = None,
    top_p: Annotated[float | None, sampling_option("top_p")] = None,
    top_k: Annotated[int | None, sampling_option("top_k")] = None,
    min_p: Annotated[float | None, sampling_option("min_p")] = None,
    repeat_penalty: Annotated[float | None, sampling_option("repeat_penalty")] = None,
    max_tokens: Annotated[int | None, sampling_option("max_tokens")] = None,
    seed: Annotated[int | None, sampling_option("seed")] = None,
    stop: Annotated[list[str] | None, sampling_option("stop")] = None,
    ctx: CtxOpt = None,
    gpu_layers: GpuOpt = None,
    threads: ThreadsOpt = None,
    base_url: BaseUrlOpt = None,
    api_model: ApiModelOpt = None,
    lora: LoraOpt = None,
    lora_scale: LoraScaleOpt = None,
    no_lora: NoLoraOpt = False,
    continue_latest: ContinueOpt = False,
    session: SessionOpt = None,
    no_save: Annotated[
        bool, typer.Option("--no-save", metavar=FLAG, help="Do not save this exchange.")
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option("--json", metavar=FLAG, help="Print one JSON object instead of the answer."),
    ] = False,
    stats: Annotated[
        bool,
        typer.Option(
            "--stats", metavar=FLAG, help="After the reply, one JSON line of timings on stderr."
        ),
    ] = False,
    raw: Annotated[
        bool, typer.Option("--raw", metavar=FLAG, help="Print plain text even on a terminal.")
    ] = False,
    overflow: Annotated[
        str | None,
        typer.Option(
            metavar="[" + "|".join(OVERFLOW_POLICIES) + "]",
            callback=one_of(OVERFLOW_POLICIES),
            help="When the history outgrows the context (saved with the session).",
        ),
    ] = None,
    more: Annotated[
        bool,
        typer.Option(
            "--more",
            metavar=FLAG,
            help="Continue the session's last reply (cut at the length limit or stopped).",
        ),
    ] = False,
    branch: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            callback=in_range(1),
            help="Go on from branch N of the session (see: chatcli sessions branches).",
        ),
    ] = None,
    edit_last: Annotated[
        bool,
        typer.Option(
            "--edit-last",
            metavar=FLAG,
            help="Send PROMPT in place of your last message, as a new branch.",
        ),
    ] = False,
    truncate_input: Annotated[
        bool,
        typer.Option(
            "--truncate-input",
            metavar=FLAG,
            help="Cut the middle of piped text or attached files that do not fit the context.",
        ),
    ] = False,
    files: Annotated[
        list[str] | None,
        typer.Option(
            "--file",
            "-f",
            metavar="PATH",
            help="Attach a file, a glob ('src/**/*.py') or a folder (text files; repeatable).",
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", metavar=FLAG, help="Attach a large glob or folder without asking."
        ),
    ] = False,
    ignore_eos: Annotated[
        bool,
        typer.Option(
            "--ignore-eos",
            metavar=FLAG,
            help="Generate past end-of-turn (for benchmarks).",
            hidden=True,
        ),
    ] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Ask one question; piped stdin is the material and PROMPT the instruction."""
    from chatcli.cli.ask import AskRequest, read_stdin, run_ask

    setup_logging(verbose)
    with user_errors():
        request = AskRequest(
            prompt=prompt,
            stdin_text=read_stdin(),
            system=system,
            role=role,
            continue_latest=continue_latest,
            session=session,
            save=not no_save,
            json_output=json_output,
            stats=stats,
            raw=raw,
            ignore_eos=ignore_eos,
            truncate_input=truncate_input,
            files=tuple(files or ()),
            yes=yes,
            more=more,
            branch=branch,
            edit_last=edit_last,
            overflow=overflow,
            model_flags=ModelFlags(
                model,
                ctx,
                gpu_layers,
                threads,
                verbose,
                base_url,
                api_model,
                lora,
                lora_scale,
                no_lora,
            ),
            sampling=SamplingFlags(
                temperature,
                top_p,
                top_k,
                min_p,
                repeat_penalty,
                max_tokens,
                seed,
                tuple(stop or ()),
            ),
        )
        code = run_ask(request)
    raise typer.Exit(code)
