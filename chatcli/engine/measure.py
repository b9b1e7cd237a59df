"""Speed of a local model on this machine, measured as llama-bench measures it.

- ``ppN``: a batch of N prompt tokens evaluated at once (logits for the last one only);
  tokens per second = N / seconds.
- ``tgN``: N tokens evaluated one at a time, each as its own batch (what generation costs
  per token, without sampling); tokens per second = N / seconds.
- ``@ dD``: the same with D tokens already in the KV cache (generation slows with depth).

Tokens are random ids from the vocabulary (a fixed seed), as llama-bench's are. Each test is
repeated and reported as mean ± sample standard deviation; a short warm-up comes first. The
cache is filled to each depth once, in increasing order, and cut back to it before every
repetition, so a deep test costs its depth once, not once per repetition.
"""

from __future__ import annotations

import ctypes
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import llama_cpp

from chatcli.engine.batches import SequenceDecoder, local_model
from chatcli.engine.sharing import machine_busy_s, own_cpu_s
from chatcli.errors import UsageError

if TYPE_CHECKING:
    from chatcli.engine.base import Engine

WARMUP_TOKENS = 32
"""Tokens of the warm-up batch (it touches every weight once; its time is not counted)."""


@dataclass(frozen=True)
class BenchPlan:
    """What to measure."""

    prompt_tokens: int = 512
    """N of ``ppN`` (0: no prompt-processing test)."""
    generated_tokens: int = 128
    """N of ``tgN`` (0: no generation test)."""
    depths: tuple[int, ...] = (0, 1024)
    """Tokens already in the cache for each pair of tests."""
    repetitions: int = 3
    seed: int = 1
    """Seed of the random token ids."""

    def largest_test(self) -> int:
        """The most tokens one test adds to the cache."""
        return max(self.prompt_tokens, self.generated_tokens)

    def context_needed(self) -> int:
        """The context size that fits every test at every depth."""
        return max(self.depths, default=0) + self.largest_test()


@dataclass(frozen=True)
class TestResult:
    """One test's speeds over its repetitions."""

    test: str
    """llama-bench's name: ``pp512``, ``tg128``, ``tg128 @ d1024``."""
    n_prompt: int
    n_gen: int
    depth: int
    samples: list[float]
    """Tokens per second of each repetition."""
    tokens_per_s: float
    """Their mean."""
    stdev: float
    """Their sample standard deviation (0 for a single repetition)."""


@dataclass(frozen=True)
class BenchReport:
    """Everything ``chatcli bench`` shows."""

    model: str
    model_path: str
    model_size_bytes: int
    """Bytes of the model's tensors."""
    model_params: int
    description: str
    """llama.cpp's one-line description of the model (architecture, size, quantization)."""
    backend: str
    gpu_offload: bool
    """Whether this llama.cpp build can offload to a GPU."""
    gpu_layers: int
    threads: int
    context_length: int
    batch_size: int
    load_s: float
    """Seconds to load the model (mmap, context and buffers)."""
    repetitions: int
    results: list[TestResult] = field(default_factory=list)
    skipped_depths: list[int] = field(default_factory=list)
    """Depths left out because the context cannot hold them and their tests."""
    busy_elsewhere: float | None = None
    """Cores other programs kept busy during the tests, on average (None: unknown). llama.cpp's
    threads wait for each other: sharing the cores slows them far more than in proportion."""

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return asdict(self)


Progress = Callable[[str], None]
"""Told the name of each test as it starts."""


def run_bench(engine: Engine, plan: BenchPlan, progress: Progress | None = None) -> BenchReport:
    """Load ``engine`` (timed) and measure ``plan`` on it."""
    if plan.repetitions < 1 or plan.largest_test() < 1:
        raise UsageError("nothing to measure: give a test size and at least one repetition")
    started = time.perf_counter()
    model = local_model(engine, "bench")
    load_s = time.perf_counter() - started
    info = model.load()
    with SequenceDecoder(model) as decoder:
        depths, skipped = _fitting_depths(plan, decoder.context_size)
        report = BenchReport(
            **_describe(model.llama, Path(info.model_path)),
            model=info.model_name,
            model_path=info.model_path,
            gpu_layers=info.gpu_layers,
            threads=int(info.extras.get("threads", "0")),
            context_length=decoder.context_size,
            batch_size=decoder.batch_size,
            load_s=load_s,
            repetitions=plan.repetitions,
            skipped_depths=skipped,
        )
        runner = _Runner(decoder, plan, progress or (lambda _name: None))
        others = _OtherPrograms()
        runner.warm_up()
        for depth in depths:
            report.results.extend(runner.at_depth(depth))
    return replace(report, busy_elsewhere=others.cores_used())


class _OtherPrograms:
    """How much CPU the rest of the machine uses from now on."""

    def __init__(self) -> None:
        self.started = (time.monotonic(), machine_busy_s(), own_cpu_s())

    def cores_used(self) -> float | None:
        """Cores busy with other processes since this was made, on average."""
        when, busy, own = self.started
        busy_now = machine_busy_s()
        if busy is None or busy_now is None:
            return None
        elapsed = time.monotonic() - when
        return max(0.0, (busy_now - busy) - (own_cpu_s() - own)) / elapsed if elapsed > 0 else None


def _fitting_depths(plan: BenchPlan, context_size: int) -> tuple[list[int], list[int]]:
    ordered = sorted(set(plan.depths))
    fits = [d for d in ordered if d + plan.largest_test() <= context_size]
    return fits, [d for d in ordered if d not in fits]


def _describe(llama: Any, path: Path) -> dict[str, Any]:
    model = llama._model.model
    text = ctypes.create_string_buffer(256)
    llama_cpp.llama_model_desc(model, text, len(text))
    return {
        "model_size_bytes": int(llama_cpp.llama_model_size(model)),
        "model_params": int(llama_cpp.llama_model_n_params(model)),
        "description": text.value.decode("utf-8", errors="replace"),
        "backend": f"llama.cpp (llama-cpp-python {llama_cpp.__version__})",
        "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
    }


class _Runner:
    """Runs the tests of a plan on one decoder, keeping track of how deep the cache is."""

    def __init__(self, decoder: SequenceDecoder, plan: BenchPlan, progress: Progress) -> None:
        self.decoder = decoder
        self.plan = plan
        self.progress = progress
        self.random = random.Random(plan.seed)
        self.filled = 0

    def tokens(self, count: int) -> list[int]:
        """``count`` random token ids."""
        return [self.random.randrange(self.decoder.vocab_size) for _ in range(count)]

    def warm_up(self) -> None:
        """One small batch and one single token, not timed."""
        self.decoder.run(self.tokens(WARMUP_TOKENS), 0)
        self.decoder.run(self.tokens(1), WARMUP_TOKENS)
        self.decoder.forget_from(0)

    def at_depth(self, depth: int) -> list[TestResult]:
        """The pp and tg tests with ``depth`` tokens in the cache."""
        self._fill_to(depth)
        results = []
        plan = self.plan
        if plan.prompt_tokens:
            results.append(self._test("pp", plan.prompt_tokens, depth, self._prompt_batch))
        if plan.generated_tokens:
            results.append(self._test("tg", plan.generated_tokens, depth, self._one_by_one))
        return results

    def _fill_to(self, depth: int) -> None:
        if depth > self.filled:
            self.progress(f"filling the cache to {depth} tokens")
            self.decoder.run(self.tokens(depth - self.filled), self.filled)
        self.decoder.forget_from(depth)
        self.filled = depth

    def _test(
        self, kind: str, count: int, depth: int, timed: Callable[[list[int], int], float]
    ) -> TestResult:
        name = f"{kind}{count}" + (f" @ d{depth}" if depth else "")
        self.progress(name)
        samples = []
        for _ in range(self.plan.repetitions):
            self.decoder.forget_from(depth)
            seconds = timed(self.tokens(count), depth)
            samples.append(count / seconds)
        self.decoder.forget_from(depth)
        return _result(name, kind, count, depth, samples)

    def _prompt_batch(self, tokens: list[int], depth: int) -> float:
        started = time.perf_counter()
        self.decoder.run(tokens, depth)
        return time.perf_counter() - started

    def _one_by_one(self, tokens: list[int], depth: int) -> float:
        run = self.decoder.run
        started = time.perf_counter()
        for offset, token in enumerate(tokens):
            run([token], depth + offset)
        return time.perf_counter() - started


def _result(name: str, kind: str, count: int, depth: int, samples: Sequence[float]) -> TestResult:
    return TestResult(
        test=name,
        n_prompt=count if kind == "pp" else 0,
        n_gen=count if kind == "tg" else 0,
        depth=depth,
        samples=list(samples),
        tokens_per_s=statistics.fmean(samples),
        stdev=statistics.stdev(samples) if len(samples) > 1 else 0.0,
    )
