"""`chatcli --help` and `--version` import only what they need: no model, no TUI, no store,
and no rich.markdown (typer's help formatter gets a stand-in for it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
sys.argv = ["chatcli", *sys.argv[1:]]
from chatcli.cli.main import run
try:
    run()
except SystemExit:
    pass
markdown = sys.modules.get("rich.markdown")
heavy = [name for name in ("llama_cpp", "textual", "markdown_it", "chatcli.store.store",
         "chatcli.core.chat", "sqlite3") if name in sys.modules]
if getattr(markdown, "__file__", None) is not None:
    heavy.append("rich.markdown")
print("HEAVY", heavy, file=sys.stderr)
"""


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_neither_the_model_the_tui_nor_rich_markdown(flag: str):
    done = subprocess.run(
        [sys.executable, "-c", CHECK, flag], capture_output=True, text=True, check=True
    )
    assert "HEAVY []" in done.stderr, done.stderr
    assert done.stdout.strip()  # the help or the version was printed


def test_rich_markdown_is_the_real_module_for_everyone_but_typers_help():
    code = """
import sys
from chatcli.cli.deferred import defer_rich_markdown
defer_rich_markdown()
import typer.rich_utils
assert "markdown_it" not in sys.modules
from rich.markdown import CodeBlock, Markdown
import rich.markdown
assert rich.markdown.Markdown is Markdown and Markdown.__module__ == "rich.markdown"
assert sys.modules["rich.markdown"].__file__
assert isinstance(typer.rich_utils.Markdown("# title"), Markdown)
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "ok"
