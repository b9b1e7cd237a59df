"""chatcli: a terminal chatbot for local language models.

The Python API (see the README): ``chatcli.open_session(name)`` gives a :class:`Chat` with
``stream``/``ask``; ``chatcli.ask(prompt)`` answers one question. Importing chatcli reads no
file, creates no folder and loads no model; the API's modules are imported on first use, so
that ``chatcli --help`` does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Chat", "__version__", "ask", "open_session"]

if TYPE_CHECKING:
    from chatcli.api import Chat, ask, open_session


def __getattr__(name: str) -> Any:
    """``chatcli.Chat``, ``chatcli.ask`` and ``chatcli.open_session``, imported when used."""
    if name in ("Chat", "ask", "open_session"):
        from chatcli import api

        return getattr(api, name)
    raise AttributeError(f"module 'chatcli' has no attribute {name!r}")
