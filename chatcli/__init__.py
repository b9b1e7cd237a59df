"""chatcli: a terminal chatbot for local language models.

The Python API (see the README): ``chatcli.open_session(name)`` gives a :class:`Chat` with
``stream``/``ask``; ``chatcli.ask(prompt)`` answers one question. Importing chatcli reads no
file, creates no folder and loads no model.
"""

__version__ = "0.1.0"

from chatcli.api import Chat, ask, open_session

__all__ = ["Chat", "__version__", "ask", "open_session"]
