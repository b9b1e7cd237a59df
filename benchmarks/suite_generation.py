"""Generation speed: `chatcli ask` beside a bare `Llama.generate` loop, native llama-bench and
the memory-bandwidth bound, all sampled in the same rounds (rotating which side goes first).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from bench_generation import CONTEXT, bare_loop, chatcli_ask, prompt_tokens
from harness import Goal, Pair, Row, skipped, spread_of
from native import NativeBench

GENERATION_GOAL = Goal(">=", 0.97)


@dataclass(frozen=True)
class Settings:
    """How much to measure."""

    tokens: tuple[int, ...]
    reps: int
    native: bool
    bandwidth_mib: int


def rotated(samplers: dict[str, Callable[[], float]], reps: int) -> dict[str, list[float]]:
    """``reps`` samples of every sampler; each round starts with the next one in turn."""
    names = list(samplers)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(reps):
        for offset in range(len(names)):
            name = names[(rep + offset) % len(names)]
            samples[name].append(samplers[name]())
    return samples


def read_bandwidth(threads: int, mib: int) -> float:
    """Bytes/s read by ``threads`` threads reducing one large array (best of a few passes)."""
    import numpy as np

    array = np.ones((mib << 20) // 8, dtype=np.float64)
    chunks = np.array_split(array, threads)
    best = 0.0
    with ThreadPoolExecutor(threads) as pool:
        for kernel in (np.sum, np.max, np.sum, np.max):  # numpy releases the GIL in both
            started = time.perf_counter()
            list(pool.map(kernel, chunks))
            best = max(best, array.nbytes / (time.perf_counter() - started))
    return best


def kv_bytes_per_token(metadata: dict[str, str]) -> int:
    """f16 K and V bytes one token takes in every layer's cache."""
    arch = metadata["general.architecture"]
    layers = int(metadata[f"{arch}.block_count"])
    heads = int(metadata[f"{arch}.attention.head_count"])
    kv_heads = int(metadata.get(f"{arch}.attention.head_count_kv", heads))
    head_dim = int(metadata[f"{arch}.embedding_length"]) // heads
    return 2 * layers * kv_heads * head_dim * 2


def generation_rows(settings: Settings) -> list[Row]:
    """One block of rows per reply length: ÷ bare loop, ÷ native, fraction of the bound."""
    import llama_cpp

    from chatcli.catalog import resolve_model
    from chatcli.engine.hardware import physical_cores

    model = resolve_model("").path
    threads = physical_cores()
    tokens = prompt_tokens(model)
    llama: Any = llama_cpp.Llama(
        model_path=str(model),
        n_ctx=CONTEXT,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    native = NativeBench.find_or_build() if settings.native else None
    per_token_kv = kv_bytes_per_token(llama.metadata)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as home:
        for count in settings.tokens:
            samplers: dict[str, Callable[[], float]] = {
                "bare": partial(bare_loop, llama, tokens, count),
                "ask": partial(chatcli_ask, count, home, threads=threads),
                "bandwidth": lambda: read_bandwidth(threads, settings.bandwidth_mib),
            }
            if isinstance(native, NativeBench):
                samplers["native"] = partial(
                    native.tokens_per_s, model, count, len(tokens), threads
                )
            samples = rotated(samplers, settings.reps)
            ask = samples["ask"]
            rows.append(
                Pair(ask, samples["bare"]).row(
                    f"generation {count} tok: ask ÷ Llama.generate loop",
                    "tok/s",
                    GENERATION_GOAL,
                    "bare loop",
                )
            )
            if settings.native:
                rows.append(_native_row(count, ask, samples.get("native"), native))
            depth = len(tokens) + count / 2
            bytes_per_token = model.stat().st_size + per_token_kv * depth
            bound = [bw / bytes_per_token for bw in samples["bandwidth"]]
            native_share = "native llama-bench not measured in this run"
            if samples.get("native"):
                share = statistics.median(samples["native"]) / statistics.median(bound)
                native_share = f"native llama-bench reached {share:.2f} of it in this run"
            row = Pair(ask, bound).row(
                f"generation {count} tok: ask ÷ memory-bandwidth bound",
                "tok/s",
                None,
                "bound",
                note=(
                    f"read bandwidth {statistics.median(samples['bandwidth']) / 1e9:.1f} GB/s "
                    f"({spread_of([b / 1e9 for b in samples['bandwidth']])}), "
                    f"{bytes_per_token / 1e6:.1f} MB/token (weights + KV at depth {depth:.0f}); "
                    + native_share
                ),
            )
            rows.append(row)
    llama.close()
    return rows


def _native_row(count: int, ask: list[float], native: list[float] | None, bench: object) -> Row:
    name = f"generation {count} tok: ask ÷ native llama-bench (-fa 0)"
    if not native:
        return skipped(name, str(bench))
    return Pair(ask, native).row(name, "tok/s", None, "llama-bench")


def quick() -> list[Row]:
    """A 64-token reply, once each: the suite's smoke test."""
    return generation_rows(Settings(tokens=(64,), reps=1, native=False, bandwidth_mib=128))


def full() -> list[Row]:
    """256 and 1,024 tokens, five rounds each, with native llama.cpp."""
    return generation_rows(Settings(tokens=(256, 1024), reps=5, native=True, bandwidth_mib=512))
