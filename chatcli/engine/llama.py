"""LlamaEngine: the Engine protocol over llama-cpp-python (with its llama_* helper modules).

Generation drives ``Llama.generate`` directly and decodes each token's piece incrementally:
``create_chat_completion`` re-detokenizes the whole reply on every token, which is quadratic
and measurably slower on long replies. The prompt is still rendered with the model's own chat
template (from the GGUF, or a catalog override) — never a silent fallback format.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llama_cpp

from chatcli.engine.adapters import LoadedAdapters
from chatcli.engine.base import (
    ChatMessage,
    EngineCapabilities,
    EngineInfo,
    ReplyDone,
    StreamEvent,
)
from chatcli.engine.elastic import capacity, grow, size_for
from chatcli.engine.evaluation import Evaluation
from chatcli.engine.generation import Generation, reply_limit
from chatcli.engine.gguf import check_context, check_magic
from chatcli.engine.handoff import SerialThread, iterate_on
from chatcli.engine.hardware import physical_cores
from chatcli.engine.kvcache import SnapshotStore
from chatcli.engine.kvshift import shift_out
from chatcli.engine.lineage import KvLineage
from chatcli.engine.llama_backend import DEFAULT_CONTEXT
from chatcli.engine.llama_load import chat_template_of, construct_llama
from chatcli.engine.llama_log import last_llama_error, route_llama_log
from chatcli.engine.llama_system import cpu_only_notice, layers_offloaded, warn_once
from chatcli.engine.llama_vocab import Vocabulary
from chatcli.engine.openings import begin_with_opening, opening_text
from chatcli.engine.params import LoraAdapter, SamplingParams
from chatcli.engine.replaying import replay_chain
from chatcli.engine.sharing import CpuShare
from chatcli.engine.snapshots import restore_snapshot, save_snapshot, stores_for
from chatcli.engine.template import ChatTemplate
from chatcli.errors import ModelError

log = logging.getLogger("chatcli.engine")


@dataclass(frozen=True)
class LlamaOptions:
    """How to load a GGUF model."""

    model_path: Path
    model_name: str
    context_length: int = 4096
    gpu_layers: int | None = None
    """None = all layers when the build can offload to a GPU, else 0."""
    threads: int | None = None
    """None = every physical core."""
    chat_template: str | None = None
    """Overrides the GGUF's own template."""
    model_sha256: str | None = None
    verbose: bool = False
    ignore_eos: bool = False
    """Keep generating past end-of-turn tokens (for benchmarks)."""
    recommended_sampling: dict[str, object] = field(default_factory=dict)
    """The catalog's sampling advice for this model."""
    snapshot_dir: Path | None = None
    """Where KV snapshots and openings are kept (None = no snapshots)."""
    snapshot_writes: bool = True
    """Whether replies write snapshots and openings (False: they are only read)."""
    snapshot_cap_bytes: int = 2 << 30
    """Most bytes of snapshots to keep; least recently used go first."""
    kv_shift: bool = True
    """Drop old turns from the KV cache in place instead of re-processing the kept ones."""
    lora: LoraAdapter | None = None
    """The LoRA adapter to start with (``set_adapter`` changes it)."""


class LlamaEngine:
    """A local GGUF model run in-process by llama.cpp."""

    def __init__(self, options: LlamaOptions) -> None:
        self.options = options
        self._llama: Any = None
        self._formatter: ChatTemplate | None = None
        self._info: EngineInfo | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._vocabulary: Vocabulary | None = None
        # The text and token ids now in the KV cache, so that the next prompt can reuse the
        # sampled ids of the last reply instead of re-tokenizing its text (which can differ).
        self._cached_text = ""
        self._cached_tokens: list[int] = []
        self._opening: tuple[str, list[int]] = ("", [])
        self._snapshots: SnapshotStore | None = None
        self._openings: SnapshotStore | None = None
        self._adapters: LoadedAdapters | None = None
        self.lineage = KvLineage()
        """Which recorded generation left the KV cache as it is (for replay records)."""
        self._runner = SerialThread("chatcli-llama")
        self._cpu = CpuShare(options.threads or physical_cores())
        self._threads_now = options.threads or physical_cores()

    def load(self) -> EngineInfo:
        """Load the model (once) and describe it."""
        if self._info is not None:
            return self._info
        check_magic(self.options.model_path)
        check_context(self.options.model_path, self.options.context_length, DEFAULT_CONTEXT)
        route_llama_log(self.options.verbose)
        self._llama = construct_llama(self.options, self._gpu_layers(), self._threads())
        try:
            self._formatter, chat_format = chat_template_of(self._llama, self.options)
        except ModelError:
            self._llama.close()
            self._llama = None
            raise
        log.info("model %s: chat format %s", self.options.model_name, chat_format)
        architecture = str(self._llama.metadata.get("general.architecture", ""))
        self._adapters = LoadedAdapters(self._llama, architecture, last_llama_error)
        self._vocabulary = Vocabulary(self._llama, self.options.ignore_eos)
        self._snapshots, self._openings = self._snapshot_stores()
        supported = bool(llama_cpp.llama_supports_gpu_offload())
        warn_once(log, cpu_only_notice(self.options.gpu_layers, supported))
        layers = int(llama_cpp.llama_model_n_layer(self._llama._model.model))
        if self.options.lora is not None:
            try:
                self._switch_adapter(self.options.lora)
            except ModelError:
                self._free_model()
                raise
        self._info = EngineInfo(
            model_name=self.options.model_name,
            model_path=str(self.options.model_path),
            model_sha256=self.options.model_sha256,
            context_length=self.options.context_length,
            gpu_layers=layers_offloaded(self._gpu_layers(), layers, supported),
            chat_format=chat_format,
            extras={"threads": str(self._threads()), "layers": str(layers + 1)},
            recommended_sampling=dict(self.options.recommended_sampling),
            capabilities=EngineCapabilities(
                exact_token_count=True,
                prefix_reuse=True,
                kv_snapshots=self._snapshots is not None,
                lora=True,
                continuation=True,
                replay=True,
            ),
        )
        return self._info

    def _snapshot_stores(self) -> tuple[SnapshotStore | None, SnapshotStore | None]:
        """The KV snapshots and the openings of this model configuration (None: not kept)."""
        options = self.options
        if options.snapshot_dir is None or not options.model_sha256:
            return None, None
        assert self._formatter is not None
        adapter = self._adapters.key if self._adapters else None
        return stores_for(options, self._formatter.template, adapter)

    def _gpu_layers(self) -> int:
        if self.options.gpu_layers is not None:
            return self.options.gpu_layers
        return -1 if llama_cpp.llama_supports_gpu_offload() else 0

    def _threads(self) -> int:
        return self.options.threads or physical_cores()

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt text for ``messages``, ending where the assistant's reply begins.

        A trailing assistant message is the start of that reply: its text follows the
        generation prompt as the model's own words, so generation continues it.
        """
        if messages and messages[-1].role == "assistant":
            return self.render(messages[:-1]) + messages[-1].content
        return self.render_conversation(messages)

    def render_conversation(self, messages: Sequence[ChatMessage]) -> str:
        """``messages`` in the chat template, each closed, then where a reply would begin."""
        assert self._formatter is not None
        return self._formatter.render([{"role": m.role, "content": m.content} for m in messages])

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Exact number of prompt tokens for ``messages``."""
        self.load()
        with self._lock:
            return len(self._prompt_tokens(self.render(messages)))

    def _prompt_tokens(self, text: str) -> list[int]:
        if self._cached_text and text.startswith(self._cached_text):
            rest = text[len(self._cached_text) :]
            return self._cached_tokens + self.vocabulary.tokenize(rest)
        return self.vocabulary.tokenize(text)

    def _opening_tokens(self, text: str) -> list[int]:
        """The tokens of an opening (kept for the next turn: a system prompt can be long)."""
        if text != self._opening[0]:
            self._opening = (text, self.vocabulary.tokenize(text))
        return self._opening[1]

    def tokenize_prompt(self, text: str) -> list[int]:
        """Token ids of a rendered prompt, tokenized afresh."""
        return self.vocabulary.tokenize(text)

    def stop(self) -> None:
        """End the reply in progress at the next token."""
        self._stop.set()

    def stop_requested(self) -> bool:
        """Whether ``stop`` was called during the reply in progress."""
        return self._stop.is_set()

    @property
    def vocabulary(self) -> Vocabulary:
        """The loaded model's vocabulary (for the generation and context helpers)."""
        assert self._vocabulary is not None, "the model is not loaded"
        return self._vocabulary

    @property
    def llama(self) -> Any:
        """The loaded ``llama_cpp.Llama`` (for the generation and snapshot helpers)."""
        return self._llama

    def close(self) -> None:
        """Free the model's memory (and its adapters')."""
        with self._lock:
            self._wait_for_writes()
            self._free_model()
        self._runner.stop()  # its thread ends, and llama.cpp's OpenMP team with it

    def _wait_for_writes(self) -> None:
        """Wait for the snapshot and the opening being written in the background, if any."""
        for store in (self._snapshots, self._openings):
            if store is not None:
                store.wait()

    def _free_model(self) -> None:
        # Adapters first: freeing the model frees the adapters still registered with it.
        if self._adapters is not None:
            self._adapters.free()
            self._adapters = None
        if self._llama is not None:
            self._llama.close()
            self._llama = None
            self._vocabulary = None
            self._info = None

    def set_adapter(self, adapter: LoraAdapter | None) -> None:
        """Apply ``adapter`` (None: none) to the following replies; the model stays loaded."""
        self.load()
        with self._lock:
            self._switch_adapter(adapter)

    @property
    def adapter_key(self) -> str | None:
        """The LoRA adapter applied now (digest and scale), None without one."""
        return self._adapters.key if self._adapters is not None else None

    def _switch_adapter(self, adapter: LoraAdapter | None) -> None:
        assert self._adapters is not None
        if not self._adapters.switch(adapter):
            return
        # The KV cache was computed with the previous adapter: nothing in it can be reused.
        self._llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        self._llama.n_tokens = 0
        self.set_context_memo("", [])
        if self._snapshots is not None:
            self._wait_for_writes()
            self._snapshots, self._openings = self._snapshot_stores()
        log.info("LoRA adapter: %s", f"{adapter.path} x{adapter.scale}" if adapter else "none")

    def stream(
        self,
        messages: Sequence[ChatMessage],
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamEvent]:
        """Generate a reply to ``messages``, yielding text as it is decoded.

        The model runs on the engine's own thread, whichever thread asks: llama.cpp's OpenMP
        team belongs to the thread that decodes, and once a second thread has decoded (the
        TUI's workers come from a pool) libgomp finds more threads than cores and stops
        spinning at its barriers (measured: 86 -> 30 tokens/s from the second reply on).
        The hop costs two queue handoffs per token; cancelling and abandoning the iterator
        behave as if the model ran on the caller's thread.
        """
        self.load()
        yield from iterate_on(self._runner, lambda: self._generate(messages, params, cancel))

    def replay(
        self,
        chain: Sequence[Evaluation],
        params: SamplingParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamEvent]:
        """Re-run the last recorded generation of ``chain`` bit for bit (see ``Replaying``)."""
        self.load()
        yield from iterate_on(self._runner, lambda: self._replay(chain, params, cancel))

    def _replay(
        self, chain: Sequence[Evaluation], params: SamplingParams, cancel: threading.Event | None
    ) -> Iterator[StreamEvent]:
        with self._lock:
            self._stop.clear()
            yield from replay_chain(self, chain, params, cancel or threading.Event())

    def _generate(
        self,
        messages: Sequence[ChatMessage],
        params: SamplingParams,
        cancel: threading.Event | None,
    ) -> Iterator[StreamEvent]:
        info = self.load()
        with self._lock:
            self._stop.clear()
            started = time.perf_counter()
            text = self.render(messages)
            opening = self._opening_tokens(opening_text(self, messages, text))
            self._reuse_cache(text, len(opening))
            tokens = self._prompt_tokens(text)
            if len(tokens) >= info.context_length:
                # The reused sampled ids can be more than the text's own tokens (the planner
                # counted those): a prompt that fits afresh is sent afresh, not refused.
                tokens = self.vocabulary.tokenize(text)
            limit = reply_limit(len(tokens), params, info.context_length)
            run = Generation(self, tokens, params, limit, cancel or threading.Event())
            run.share_cpu = self._share_cpu
            writes = self.options.snapshot_writes
            begin_with_opening(self, self._openings, run, opening, keep=writes)
            yield from self._events(run, text, tokens, started)

    def _reuse_cache(self, text: str, opening: int) -> None:
        """Make the KV cache hold as much of the prompt ``text`` as it cheaply can.

        In order: what this process already holds, the same with old turns shifted out, a
        snapshot on disk that begins the prompt, or one that does once shifted, or one that
        shares more than the ``opening``'s tokens with it (else the opening is restored).
        """
        memo_text, _ = self.context_memo()
        if (memo_text and text.startswith(memo_text)) or shift_out(self, text):
            return
        store = self._snapshots
        if store is not None and restore_snapshot(self, store, text, beyond=opening):
            shift_out(self, text)

    def _events(
        self, run: Generation, text: str, tokens: list[int], started: float
    ) -> Iterator[StreamEvent]:
        for event in run.events(started):
            if isinstance(event, ReplyDone):
                # Bookkeeping before the last event: a caller may stop iterating at it.
                self._remember_context(text, tokens, run)
                if self._snapshots is not None and self.options.snapshot_writes:
                    save_snapshot(self, self._snapshots)
            yield event

    def _share_cpu(self) -> None:
        """Use the cores the rest of the machine leaves free (unless --threads fixed the count)."""
        if self.options.threads is not None:
            return
        wanted = self._cpu.threads()
        if wanted != self._threads_now:
            llama_cpp.llama_set_n_threads(self._llama._ctx.ctx, wanted, wanted)
            self._threads_now = wanted

    def make_room(self, needed: int) -> int:
        """Grow the live context (up to the configured size) to hold ``needed`` tokens.

        Returns how many tokens it holds now.
        """
        held = capacity(self._llama)
        if needed <= held or held >= self.options.context_length:
            return held
        grow(self._llama, size_for(needed, held, self.options.context_length))
        llama_cpp.llama_set_n_threads(self._llama._ctx.ctx, self._threads_now, self._threads_now)
        if self._adapters is not None:  # a context made anew has no adapter on it
            self._adapters.reapply()
        return capacity(self._llama)

    def context_memo(self) -> tuple[str, list[int]]:
        """The prompt text whose sampled token ids are in the KV cache, and those ids."""
        return self._cached_text, self._cached_tokens

    def set_context_memo(self, text: str, tokens: list[int]) -> None:
        """Record that ``tokens`` (as sampled) encode ``text`` (after restoring a snapshot)."""
        self._cached_text, self._cached_tokens = text, tokens

    def _remember_context(self, text: str, tokens: list[int], run: Generation) -> None:
        if run.text_matches_tokens:
            self._cached_text = text + run.reply
            self._cached_tokens = tokens + run.sampled
        else:
            self._cached_text, self._cached_tokens = text, tokens
