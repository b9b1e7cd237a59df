"""Plain help text, its options grouped in sections ("Model", "Sampling"), built fast.

chatcli's help is click's plain text: typer's rich formatter imports rich and lays out boxed
panels, ~0.15 s of the ~0.4 s that ``chatcli --help`` took here. The sections that made long
option lists readable are kept: an option's ``rich_help_panel`` names its section.

``chatcli --help`` lists the commands from their docstrings without building them: typer reads
every command's signature and type hints to build its options (~0.1 s for all of them).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import typer
from typer._click import Command, Context, HelpFormatter  # typer's own click (it vendors one)
from typer.core import TyperCommand, TyperGroup

OPTIONS = "Options"


def format_sections(command: Command, ctx: Context, formatter: HelpFormatter) -> None:
    """Write the arguments, then the options: the unnamed section first, then each named one."""
    sections: dict[str, list[tuple[str, str]]] = {"Arguments": [], OPTIONS: []}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if param.param_type_name == "argument":
            sections["Arguments"].append(record)
        else:
            sections.setdefault(getattr(param, "rich_help_panel", None) or OPTIONS, []).append(
                record
            )
    for title, rows in sections.items():
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)


class SectionedCommand(TyperCommand):
    """A command whose help groups its options in sections."""

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The arguments and the options, by section."""
        format_sections(self, ctx, formatter)


class SectionedGroup(TyperGroup):
    """A group whose help groups its options in sections and lists its commands.

    ``listed`` (name → help) stands in for commands not built: the root's ``--help`` lists
    every command without typer building each one's options.
    """

    listed: Mapping[str, str] = {}

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The options by section, then the commands."""
        format_sections(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def list_commands(self, ctx: Context) -> list[str]:
        """The commands built, or those listed when none is."""
        return list(self.commands) if self.commands else list(self.listed)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """A built command, else a stand-in that carries only a listed command's help."""
        built = super().get_command(ctx, cmd_name)
        if built is None and cmd_name in self.listed:
            return TyperCommand(cmd_name, help=self.listed[cmd_name])
        return built


def command_group(help: str) -> typer.Typer:
    """A group of commands (``chatcli sessions ...``) with chatcli's plain, sectioned help."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, cls=SectionedGroup)


def summary(command: Callable[..., Any] | typer.Typer) -> str:
    """The help a command shows in its group's list: its sub-app's help, or its docstring."""
    if isinstance(command, typer.Typer):
        declared = command.info.help
        return declared if isinstance(declared, str) else ""
    return inspect.getdoc(command) or ""
