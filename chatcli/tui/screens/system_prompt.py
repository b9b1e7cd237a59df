"""Pick a role or write a custom system prompt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from chatcli.core.roles import Role
from chatcli.tui.screens.dialog import Dialog


@dataclass(frozen=True)
class SystemPromptChoice:
    """The system prompt chosen, and the role it came from (``None`` = custom text)."""

    role: str | None
    """Name of the role whose prompt this is, or ``None`` when the text is custom."""
    prompt: str
    """The system prompt, stripped."""


class SystemPromptScreen(Dialog[SystemPromptChoice | None]):
    """Choose a role or edit the system prompt; dismiss with the choice, or None on escape.

    Selecting a role (Enter or click) puts its prompt in the editor. The choice keeps
    the role's name only while the text still equals that role's prompt; once edited
    it is a custom prompt (role ``None``).
    """

    DEFAULT_CSS = """
    SystemPromptScreen > #dialog {
        width: 100;
    }
    SystemPromptScreen #roles {
        height: auto;
        max-height: 25vh;
        margin-bottom: 1;
    }
    SystemPromptScreen #prompt {
        height: 10;
        max-height: 35vh;
    }
    SystemPromptScreen #role-status {
        width: 1fr;
        height: 3;
        content-align: left middle;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, roles: list[Role], current_role: str | None, current_prompt: str) -> None:
        super().__init__()
        self._roles = {role.name: role for role in roles}
        self._chosen_role = current_role
        """The role picked last (or the session's role); it holds while the text is its prompt."""
        self._chosen_role_prompt = current_prompt.strip()
        """The prompt the chosen role put in the editor."""
        self._initial_prompt = current_prompt

    def compose(self) -> ComposeResult:
        """Lay out the role list, the prompt editor and the buttons."""
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "System prompt"
            dialog.border_subtitle = "Ctrl+S saves · Esc cancels"
            yield OptionList(*(_role_option(role) for role in self._roles.values()), id="roles")
            yield TextArea(self._initial_prompt, id="prompt", placeholder="No system prompt")
            with Horizontal(id="buttons"):
                yield Static(id="role-status", markup=False)
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        """Highlight the session's role in the list and show what the text is."""
        role_names = list(self._roles)
        if self._chosen_role in role_names:
            self.query_one("#roles", OptionList).highlighted = role_names.index(self._chosen_role)
        self._show_role_status()

    @property
    def choice(self) -> SystemPromptChoice:
        """What saving now would return."""
        prompt = self.query_one("#prompt", TextArea).text.strip()
        role = self._chosen_role if prompt == self._chosen_role_prompt else None
        return SystemPromptChoice(role=role, prompt=prompt)

    @on(OptionList.OptionSelected, "#roles")
    def _use_role(self, event: OptionList.OptionSelected) -> None:
        """Put the selected role's prompt in the editor and remember the role."""
        role = self._roles[str(event.option.id)]
        self._chosen_role = role.name
        self._chosen_role_prompt = role.prompt.strip()
        self.query_one("#prompt", TextArea).load_text(role.prompt)
        self._show_role_status()

    @on(TextArea.Changed, "#prompt")
    def _show_role_status(self) -> None:
        """Say whether the text is a role's prompt or custom."""
        role = self.choice.role
        status = f"Role: {role}" if role is not None else "Custom prompt (no role)"
        self.query_one("#role-status", Static).update(status)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Dismiss with the current choice."""
        self.dismiss(self.choice)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Dismiss without a result."""
        self.dismiss(None)


def _role_option(role: Role) -> Option:
    """Build the list entry for ``role``: its name in bold, then its description."""
    label = Content.assemble((role.name, "bold"), " — ", role.description)
    return Option(label, id=role.name)
