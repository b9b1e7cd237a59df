"""What the whole app looks like, compared with stored SVG screenshots.

Regenerate after a deliberate change of looks with ``pytest tests/tui --snapshot-update``
and look at the new files before committing them.
"""

from __future__ import annotations

from typing import Any

import pytest
from apptools import MakeApp, seed_session, wait_for_screen, wait_for_workers
from textual.pilot import Pilot

from chatcli.tui.app import ChatApp
from chatcli.tui.screens import SystemPromptScreen

SIZE = (100, 30)

CODE_ANSWER = """Use a list comprehension:

```python
def squares(n: int) -> list[int]:
    return [i * i for i in range(n)]
```

It returns `[0, 1, 4]` for `n = 3`."""


async def settled(pilot: Pilot[Any]) -> None:
    """Let the app finish opening: its workers, then a redraw."""
    assert isinstance(pilot.app, ChatApp)
    await wait_for_workers(pilot.app, pilot)
    await pilot.pause()


def test_empty_chat(snap_compare: Any, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=settled)


def test_chat_with_a_code_block(snap_compare: Any, make_app: MakeApp) -> None:
    session = seed_session(
        make_app.store, [("How do I square numbers in Python?", CODE_ANSWER)], title="Squares"
    )
    assert snap_compare(make_app(session_id=session.id), terminal_size=SIZE, run_before=settled)


def test_sidebar_open(
    snap_compare: Any, make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chatcli.tui.sidebar.describe_time", lambda timestamp: "Mar 03")
    seed_session(make_app.store, [("Plan a trip", "Sure.")], title="Trip to Lisbon")
    current = seed_session(make_app.store, [("Explain RAII", "Scopes.")], title="C++ RAII")

    async def open_sidebar(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("ctrl+b")
        await pilot.pause()

    app = make_app(session_id=current.id)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_sidebar)


def test_system_prompt_screen(snap_compare: Any, make_app: MakeApp) -> None:
    app = make_app()

    async def open_screen(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("ctrl+t")
        assert isinstance(pilot.app, ChatApp)
        await wait_for_screen(pilot.app, pilot, SystemPromptScreen)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_screen)


def test_branches_and_a_pinned_message(snap_compare: Any, make_app: MakeApp) -> None:
    store = make_app.store
    session = store.create_session(model="fake-model", system_prompt="Be brief.", role=None)
    question = store.add_message(session.id, parent_id=None, role="user", content="Pick a color")
    store.add_message(session.id, parent_id=question.id, role="assistant", content="Blue.")
    store.add_message(session.id, parent_id=question.id, role="assistant", content="Green.")
    store.set_pinned(question.id, True)
    assert snap_compare(make_app(session_id=session.id), terminal_size=SIZE, run_before=settled)
