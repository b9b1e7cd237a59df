"""``chatcli models``: the catalog, the files that are here, pulling, adding and removing."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chatcli.assembly import endpoints, served_models
from chatcli.cli.completion import complete_models
from chatcli.cli.errors import confirm_deletion, say, user_errors
from chatcli.cli.help import command_group
from chatcli.cli.options import JsonOpt
from chatcli.config import load_settings
from chatcli.errors import ChatcliError, UsageError

if TYPE_CHECKING:
    from chatcli.models import ModelRow

# chatcli.models (the catalog, GGUF headers, downloads) is imported by the commands that use
# it: ``chatcli --help`` must not pay for it.

models_app = command_group("The model catalog and the model files.")

NameArg = Annotated[str, typer.Argument(metavar="NAME", autocompletion=complete_models)]
TEMPLATE_LINES = 6
"""Lines of the chat template ``models info`` prints."""


@models_app.command("list")
def models_list(
    remote: Annotated[
        bool, typer.Option("--remote", help="Also ask each endpoint which models it serves.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """List the catalog's models (* = the default): here or not, size, quantization."""
    from chatcli import models

    with user_errors():
        rows = models.listing(load_settings().model)
        if json_output:
            print(json.dumps([_row_json(row) for row in rows]))
            return
        for row in rows:
            mark = "*" if row.default else " "
            state = "here" if row.present else "missing"
            size = _size(row.size) if row.size else "?"
            print(
                f"{mark} {row.entry.name:<16} {state:<8} {size:>9}  "
                f"{row.quantization or '-':<7} {row.entry.description}"
            )
            if row.problem and row.entry.hub_file:
                print(f"      not downloaded: chatcli models pull {row.entry.name}")
            elif row.problem:
                print(f"      {row.problem}")
            elif row.path is not None:
                print(f"      {row.path}")
        for name, endpoint in endpoints().items():
            print(f"endpoint:{name}: {endpoint.get('model') or 'the first model it lists'}")
            print(f"    {endpoint.get('base_url', '(no base_url)')}")
            if remote:
                _print_served(name)


def _row_json(row: "ModelRow") -> dict[str, Any]:
    return {
        "name": row.entry.name,
        "default": row.default,
        "present": row.present,
        "path": str(row.path) if row.path else None,
        "size": row.size,
        "quantization": row.quantization or None,
        "description": row.entry.description,
        "problem": row.problem or None,
    }


def _size(count: int) -> str:
    return f"{count / 1e9:.2f} GB" if count >= 1e9 else f"{count / 1e6:.1f} MB"


def _print_served(name: str) -> None:
    """The models a configured endpoint serves (or why they cannot be listed)."""
    try:
        served = served_models(f"endpoint:{name}")
    except ChatcliError as error:
        say(f"endpoint:{name}: {error.message}")
        return
    for model in served:
        print(f"      serves {model}")


@models_app.command("info")
def models_info(
    name_or_path: Annotated[
        str, typer.Argument(metavar="NAME|PATH", autocompletion=complete_models)
    ],
    json_output: JsonOpt = False,
) -> None:
    """A model's architecture, parameters, context, quantization, chat template and digest."""
    from chatcli import models

    with user_errors():
        facts = models.describe(name_or_path)
        if json_output:
            print(json.dumps(facts))
            return
        context = facts["context_length"]
        print(f"name           {facts['name']}")
        print(f"file           {facts['file']} ({_size(facts['size'])})")
        print(f"architecture   {facts['architecture'] or 'unknown'}")
        print(f"parameters     {facts['parameters'] / 1e9:.2f} B ({facts['parameters']:,})")
        print(f"context length {f'{context:,} tokens (trained)' if context else 'unknown'}")
        print(f"quantization   {facts['quantization']}")
        print(f"sha256         {facts['sha256']}")
        _print_catalog(facts["catalog"])
        template = facts["chat_template"].splitlines()
        print(f"chat template  {len(template)} lines" if template else "chat template  none")
        for line in template[:TEMPLATE_LINES]:
            print(f"    {line}")
        if len(template) > TEMPLATE_LINES:
            print("    …")


def _print_catalog(entry: dict[str, Any] | None) -> None:
    if entry is None:
        return
    if entry["license"]:
        print(f"licence        {entry['license']}")
    if entry["context_length"]:
        print(f"context used   {entry['context_length']:,} tokens (catalog)")
    if entry["sampling"]:
        advice = ", ".join(f"{key} {value}" for key, value in entry["sampling"].items())
        print(f"sampling       {advice}")


@models_app.command("pull")
def models_pull(
    name_or_repo: Annotated[
        str, typer.Argument(metavar="NAME|REPO", help="A catalog model, or a hub repository.")
    ],
    filename: Annotated[
        str | None, typer.Argument(metavar="[FILE]", help="The .gguf file in REPO.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(metavar="NAME", help="Name for REPO FILE (default: its stem).")
    ] = None,
    revision: Annotated[
        str | None, typer.Option(metavar="REV", help="Commit or branch of REPO.")
    ] = None,
) -> None:
    """Download a model (resumable, sha256-checked) into chatcli's models folder."""
    from chatcli import models

    with user_errors():
        if filename is None:
            if name or revision:
                raise UsageError("--name and --revision go with REPO FILE")
            if "/" in name_or_repo:
                raise UsageError(f"name the file too: chatcli models pull {name_or_repo} FILE")
            pulled = models.pull_entry(name_or_repo)
        else:
            pulled = models.pull_file(name_or_repo, filename, name, revision)
        entry = pulled.entry
        if pulled.file is None:
            say(f"model '{entry.name}' is already here; nothing to download")
            return
        checked = {
            "catalog": "sha256 matches the catalog",
            "hub": "sha256 matches the hub's",
            "none": "the hub gave no sha256 to check against",
        }[pulled.file.verified_against]
        say(f"pulled '{entry.name}' to {pulled.file.path} ({_size(pulled.file.size)}; {checked})")


@models_app.command("add")
def models_add(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A .gguf file.")],
    name: Annotated[
        str | None, typer.Option(metavar="NAME", help="Its name (default: the file's stem).")
    ] = None,
) -> None:
    """Register a local GGUF file under a name (its header is checked first)."""
    from chatcli import models

    with user_errors():
        entry = models.add(path, name)
        say(f"added '{entry.name}' ({entry.description}); use it with --model {entry.name}")


@models_app.command("rm")
def models_rm(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a downloaded model's file and/or your catalog entry for it."""
    from chatcli import models

    with user_errors():
        removal = models.plan_removal(name)
        what = [f"{path} ({_size(path.stat().st_size)})" for path in removal.files]
        if removal.user_file is not None:
            what.append(f"the entry {removal.user_file}")
        label = f"model '{removal.entry.name}': {', '.join(what)}"
        confirm_deletion(label, yes)
        models.remove(removal)
        say(f"deleted {label}")


@models_app.command("default")
def models_default(name: NameArg) -> None:
    """Make a catalog model the default (writes model = NAME into config.toml)."""
    from chatcli import models

    with user_errors():
        entry = models.set_default(name)
        say(f"the default model is now '{entry.name}'")
