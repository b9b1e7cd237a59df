"""chatcli ask vs a bare Llama.generate loop: generation tokens/s, side by side.

Goal (issue 2): `chatcli ask` generates at least 95% of the tokens/s of a bare
`Llama.generate` loop on the same model, prompt, threads and number of tokens, for a
256-token and a 1,024-token reply. Runs alternate (bare, chatcli, bare, chatcli, ...) so that
machine noise hits both sides alike; the script prints the medians and the median of the
paired ratios.

    python benchmarks/bench_generation.py [--runs 3] [--tokens 256 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import llama_cpp

from chatcli.catalog import resolve_model
from chatcli.engine.base import ChatMessage
from chatcli.engine.hardware import physical_cores
from chatcli.engine.llama import LlamaEngine, LlamaOptions

PROMPT = "Write a long story about a lighthouse keeper and a storm."
CONTEXT = 4096
SAMPLING: dict[str, Any] = {
    "temp": 0.0,
    "top_k": 40,
    "top_p": 0.95,
    "min_p": 0.05,
    "repeat_penalty": 1.1,
}


SYSTEM = "You are a helpful, concise assistant. Answer clearly and accurately."


def prompt_text(model_path: Path, question: str = PROMPT) -> str:
    """The exact prompt chatcli sends: system prompt + question through the GGUF template."""
    engine = LlamaEngine(LlamaOptions(model_path=model_path, model_name="bench"))
    engine.load()
    text = engine.render([ChatMessage("system", SYSTEM), ChatMessage("user", question)])
    engine.close()
    return text


def prompt_tokens(model_path: Path) -> list[int]:
    """The exact prompt chatcli sends, as token ids."""
    engine = LlamaEngine(LlamaOptions(model_path=model_path, model_name="bench"))
    engine.load()
    tokens = engine.tokenize_prompt(prompt_text(model_path))
    engine.close()
    return tokens


def bare_loop(llama: llama_cpp.Llama, tokens: list[int], count: int) -> float:
    """Tokens/s after the first token of a plain generate loop (no detokenizing)."""
    llama.reset()  # type: ignore[no-untyped-call]
    first = 0.0
    for generated, _ in enumerate(llama.generate(tokens, **SAMPLING), start=1):
        if generated == 1:
            first = time.perf_counter()
        if generated == count:
            break
    return (count - 1) / (time.perf_counter() - first)


def chatcli_ask(count: int, home: str, prompt: str = PROMPT, threads: int | None = None) -> float:
    """Tokens/s after the first token of `chatcli ask`, from its --stats line."""
    thread_flag = ["--threads", str(threads)] if threads else []
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatcli",
            "ask",
            "--no-save",
            "--raw",
            "--stats",
            "--ignore-eos",
            "--max-tokens",
            str(count),
            "--temperature",
            "0",
            "--seed",
            "1",
            "--ctx",
            str(CONTEXT),
            *thread_flag,
            prompt,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CHATCLI_HOME": home},
    )
    stats = json.loads(done.stderr.strip().splitlines()[-1])
    assert stats["completion_tokens"] == count, stats
    return float(stats["gen_tokens_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, nargs="+", default=[256, 1024])
    args = parser.parse_args()
    model = resolve_model("").path
    tokens = prompt_tokens(model)
    threads = physical_cores()
    llama = llama_cpp.Llama(
        model_path=str(model),
        n_ctx=CONTEXT,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    print(f"model {model}\nthreads {threads}, prompt {len(tokens)} tokens, {args.runs} runs each")
    with tempfile.TemporaryDirectory() as home:
        for count in args.tokens:
            bare, ours = [], []
            for _ in range(args.runs):
                bare.append(bare_loop(llama, tokens, count))
                ours.append(chatcli_ask(count, home))
            # Each pair ran back to back: the median of the pairs' ratios resists machine drift.
            ratio = statistics.median(o / b for o, b in zip(ours, bare, strict=True))
            print(
                f"{count:>5} tokens: bare generate {statistics.median(bare):6.1f} tok/s | "
                f"chatcli ask {statistics.median(ours):6.1f} tok/s | ratio {ratio:.3f} "
                f"({'meets' if ratio >= 0.95 else 'MISSES'} the 0.95 goal)"
            )


if __name__ == "__main__":
    main()
