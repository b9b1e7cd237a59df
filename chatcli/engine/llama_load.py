"""llama-cpp-python kept off the GGUF's chat template while ``llama_cpp.Llama(...)`` loads."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

from llama_cpp import llama_chat_format

from chatcli.errors import ModelError

llama_log = logging.getLogger("chatcli.llama_cpp")


class _UncompiledTemplate:
    """Stands in for llama-cpp-python's chat formatter while a model loads."""

    def __init__(self, **_options: Any) -> None:
        pass

    def to_chat_handler(self) -> Any:
        """A handler that refuses: chatcli renders prompts itself (engine/template.py)."""
        return _refuse_chat_completion


def _refuse_chat_completion(**_request: Any) -> NoReturn:
    raise ModelError("chat completions go through chatcli's own chat template renderer")


_SWAP = threading.Lock()


@contextlib.contextmanager
def chat_templates_left_to_chatcli() -> Iterator[None]:
    """While ``Llama(...)`` runs, do not let it compile the GGUF's chat templates.

    It compiles each one with its own Jinja environment, which evaluates constant expressions
    while compiling: a template holding ``{{ 'a' * 10**10 }}`` would allocate 10 GB before
    any of chatcli's limits could see it. chatcli renders the template itself, in its
    bounded sandbox, so llama-cpp-python's copy is never needed.
    """
    with _SWAP:
        original = llama_chat_format.Jinja2ChatFormatter
        llama_chat_format.Jinja2ChatFormatter = _UncompiledTemplate  # type: ignore[assignment,misc]
        try:
            yield
        finally:
            llama_chat_format.Jinja2ChatFormatter = original  # type: ignore[misc]
