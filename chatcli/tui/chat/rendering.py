"""Finished Markdown drawn by one widget: rich's Markdown, styled from the Textual theme.

Textual's Markdown widget mounts a widget per block (a three-item list is 13 widgets) and each
layout pass measures them all: a 4,000-token reply streamed into one fell to ~140 tokens/s,
and opening long sessions paid ~23 ms per message. Text is therefore rendered by rich into
plain Statics (see message.py for how a streaming reply is split into blocks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markdown_it.token import Token
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.theme import Theme
from textual.app import App
from textual.color import Color


@dataclass(frozen=True)
class MarkdownLook:
    """The styles rich's Markdown needs to look like the app's theme."""

    theme: Theme
    code_theme: str
    code_background: str


_LOOKS: dict[tuple[str, bool], MarkdownLook] = {}


def look_for(app: App[Any]) -> MarkdownLook:
    """The Markdown look of ``app``'s current theme (built once per theme)."""
    key = (app.theme, app.current_theme.dark)
    if key not in _LOOKS:
        _LOOKS[key] = build_look(app.get_css_variables(), dark=app.current_theme.dark)
    return _LOOKS[key]


def build_look(variables: Mapping[str, str], *, dark: bool) -> MarkdownLook:
    """Heading, inline code, link and list styles taken from Textual's theme variables."""
    background = Color.parse(variables.get("background", "#000000" if dark else "#ffffff"))

    def color(name: str, fallback: str) -> str:
        try:
            parsed = Color.parse(variables.get(name, fallback))
        except Exception:  # a relative value such as "auto 87%"
            parsed = Color.parse(fallback)
        return (background + parsed).hex6  # blend any alpha over the background

    styles = {
        f"markdown.h{level}": Style.parse(
            f"{variables.get(f'markdown-h{level}-text-style', 'bold')} "
            f"{color(f'markdown-h{level}-color', '#808080')}"
        )
        for level in range(1, 7)
    }
    warning = color("warning", "#ffa62b")
    primary = color("text-primary", "#57a5e2")
    secondary = color("secondary", "#808080")
    styles |= {
        "markdown.code": Style(
            color=color("text-warning", warning), bgcolor=_tint(background, warning)
        ),
        "markdown.link": Style(color=primary, underline=True),
        "markdown.link_url": Style(color=primary, underline=True),
        "markdown.item.bullet": Style(color=primary, bold=True),
        "markdown.item.number": Style(color=primary),
        "markdown.block_quote": Style(color=color("foreground-muted", "#a0a0a0"), italic=True),
        "markdown.hr": Style(color=secondary),
        "markdown.table.border": Style(color=secondary),
        "markdown.table.header": Style(color=primary, bold=True),
    }
    code_background = (background + Color(0, 0, 0, 0.25 if dark else 0.06)).hex6
    return MarkdownLook(Theme(styles), "monokai" if dark else "friendly", code_background)


def _tint(background: Color, color: str) -> str:
    return (background + Color.parse(color).with_alpha(0.1)).hex6


class _FencedCode(CodeBlock):
    """A code block highlighted on the theme's code background, padded like Textual's."""

    background = "default"

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> CodeBlock:
        """Build the block from the fence token, remembering the document's background."""
        block = super().create(markdown, token)
        block.background = getattr(markdown, "code_background", "default")  # type: ignore[attr-defined]
        return block

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The highlighted code, wrapped to the width."""
        yield Syntax(
            str(self.text).rstrip(),
            self.lexer_name,
            theme=self.theme,
            word_wrap=True,
            padding=(1, 2),
            background_color=self.background,
        )


class _ThemedMarkdown(Markdown):
    elements = {**Markdown.elements, "fence": _FencedCode, "code_block": _FencedCode}

    def __init__(self, text: str, look: MarkdownLook, *, hard_breaks: bool = False) -> None:
        super().__init__(text, code_theme=look.code_theme, hyperlinks=True)
        self.code_background = look.code_background
        if hard_breaks:  # every newline in a paragraph is a line break, as typed
            for token in self.parsed:
                for child in token.children or ():
                    if child.type == "softbreak":
                        child.type = "hardbreak"


class MarkdownText:
    """Markdown text as a rich renderable in the app's look (parsed once, drawn per width).

    With ``hard_breaks`` a single newline breaks the line (Markdown would join the lines):
    what a user typed on two lines shows on two lines.
    """

    def __init__(self, text: str, look: MarkdownLook, *, hard_breaks: bool = False) -> None:
        self.text = text
        self.look = look
        self._markdown = _ThemedMarkdown(text, look, hard_breaks=hard_breaks)
        self._drawn: tuple[tuple[object, ...], list[list[Segment]]] | None = None

    def height(self, console: Console, width: int) -> int:
        """How many lines the text takes at ``width``."""
        return len(console.render_lines(self, console.options.update_width(width), pad=False))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Hand over the text's lines (an empty text is one empty line)."""
        lines = self._lines(console, options)
        for line in lines:
            yield from line
        if not lines:
            yield Segment("")

    def _lines(self, console: Console, options: ConsoleOptions) -> list[list[Segment]]:
        """The lines, rendered with the look's styles in force; those of the last width kept.

        A streaming reply's block is measured (:meth:`height`) and then drawn at one width:
        keeping the lines renders it once per drain, not twice. Blank lines at either end
        (rich opens a list or a quote with one) are dropped: the widget's margin separates
        blocks, so a streamed reply is spaced as the finished one.
        """
        # (Markup and highlighting options apply to strings, not to Markdown.)
        width, justify, overflow = options.max_width, options.justify, options.overflow
        key = (id(console), width, justify, overflow, bool(options.no_wrap))
        if self._drawn is None or self._drawn[0] != key:
            with console.use_theme(self.look.theme):
                # Rendered at full height: the blank lines trimmed below must not cost content.
                full = options.update(height=None)
                lines = console.render_lines(self._markdown, full, pad=False, new_lines=True)
            first = next((i for i, line in enumerate(lines) if not _is_blank(line)), len(lines))
            while len(lines) > first and _is_blank(lines[-1]):
                lines.pop()
            self._drawn = key, lines[first:]
        return self._drawn[1]


def _is_blank(line: list[Segment]) -> bool:
    return all(
        not segment.text.strip() and (segment.style is None or segment.style.bgcolor is None)
        for segment in line
    )
