"""Loading a GGUF into ``llama_cpp.Llama``: kept quiet, kept off the GGUF's chat template.

chatcli renders prompts with its own sandboxed template (engine/template.py), chosen here.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import llama_cpp
from llama_cpp import llama_chat_format

from chatcli import paths
from chatcli.engine.elastic import initial_size
from chatcli.engine.gguf import inspect_gguf
from chatcli.engine.template import ChatTemplate
from chatcli.errors import ModelError

if TYPE_CHECKING:
    from chatcli.engine.llama import LlamaOptions

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


def construct_llama(options: LlamaOptions, gpu_layers: int, threads: int) -> Any:
    """Make the ``llama_cpp.Llama`` for ``options``; its failures as one-line ModelErrors.

    With verbose=False, llama-cpp-python silences loading by pointing file descriptors 1 and 2
    at /dev/null for the whole process, which blanks a running TUI. Instead it is built verbose
    (llama.cpp's own log goes through route_llama_log) and only its Python prints are caught.
    """
    chatter = io.StringIO()
    with contextlib.ExitStack() as quiet:
        quiet.enter_context(chat_templates_left_to_chatcli())
        if not options.verbose:
            quiet.enter_context(contextlib.redirect_stdout(chatter))
            quiet.enter_context(contextlib.redirect_stderr(chatter))
        try:
            llama = llama_cpp.Llama(
                model_path=str(options.model_path),
                n_ctx=initial_size(options.context_length),
                n_gpu_layers=gpu_layers,
                n_threads=threads,
                n_threads_batch=threads,
                logits_all=False,
                verbose=True,
            )
        except MemoryError:
            raise ModelError(
                f"not enough memory for a context of {options.context_length:,} tokens"
            ) from None
        except (ValueError, RuntimeError, OSError) as exc:
            inspect_gguf(options.model_path)  # raises a precise error for a bad file
            raise ModelError(f"cannot load model {options.model_path}: {exc}") from None
    llama.verbose = options.verbose  # generate() prints cache hits when verbose
    return llama


def chat_template_of(llama: Any, options: LlamaOptions) -> tuple[ChatTemplate, str]:
    """The chat template to render prompts with (the catalog's, else the GGUF's), and its source.

    Raises ModelError when there is none: chatcli never guesses a format.
    """
    template = options.chat_template
    source = "catalog chat template"
    if not template:
        template = llama.metadata.get("tokenizer.chat_template")
        source = "GGUF chat template"
    if not template:
        raise ModelError(
            f"model {options.model_path} has no chat template; "
            "add chat_template to its catalog entry"
        )
    model = llama._model
    eos, bos = model.token_eos(), model.token_bos()
    formatter = ChatTemplate(
        template,
        eos_token=model.token_get_text(eos) if eos != -1 else "",
        bos_token=model.token_get_text(bos) if bos != -1 else "",
        source=f"{source} of {options.model_path.name}",
        cache_dir=paths.cache_dir() / "templates",
    )
    return formatter, source
