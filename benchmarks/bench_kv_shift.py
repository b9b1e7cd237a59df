"""Quality and speed of the KV context shift against re-processing the kept turns.

When a long chat's oldest turns leave the context, chatcli can remove them from the KV cache in
place and move the later cells down (``[llama] kv_shift``, llama-server's "context shift"), or
evaluate the kept turns again. The shifted cells were computed while the dropped turns were still
in view, so the two states differ. This measures by how much, on the default model:

1. a chat of ``--turns`` turns is written by the model itself (greedy), and a few final
   questions with their greedy replies are written as continuations;
2. for each drop size (the oldest N turns after the system prompt), each continuation is scored
   three ways: under the full history (no drop, for scale), under the shifted cache, and under
   the kept turns re-processed from scratch;
3. it prints the perplexity of the continuation text in each state, the ratio shifted /
   re-processed (1.000 = no loss), the mean KL divergence of the next-token distributions and
   how often their top tokens agree, and the time the drop step takes each way.

Run: ``python benchmarks/bench_kv_shift.py [--turns 14] [--drops 2 4 8] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import llama_cpp
import numpy as np
import numpy.typing as npt

from chatcli.catalog import resolve_model
from chatcli.engine.hardware import physical_cores
from chatcli.engine.kvshift import Shift, apply_shift

CONTEXT = 2048
SYSTEM = "You are a helpful assistant."
QUESTIONS = [
    "Tell me about the ocean tides.",
    "Why is the sky blue?",
    "How do bees make honey?",
    "What is a black hole?",
    "Explain how a rainbow forms.",
    "How do plants drink water?",
    "What causes earthquakes?",
    "Why do cats purr?",
    "How does a volcano erupt?",
    "What is photosynthesis?",
    "How do birds migrate?",
    "Why does ice float?",
    "What makes thunder?",
    "How do fish breathe?",
    "What is the moon made of?",
    "How do clouds form?",
]
FINAL_QUESTIONS = [
    "Summarize what we talked about in one paragraph.",
    "Write a short poem about the sea.",
    "What is the tallest mountain on Earth?",
]


def block(role: str, text: str) -> str:
    """One ChatML message, as SmolLM2's chat template writes it."""
    return f"<|im_start|>{role}\n{text}<|im_end|>\n"


@dataclass
class Chat:
    """A conversation as token lists: the system prompt, then one list per turn."""

    system: list[int]
    turns: list[list[int]]
    continuations: list[list[int]]

    def prefix(self, drop: int = 0) -> list[int]:
        """The system prompt and every turn but the first ``drop``."""
        return self.system + [t for turn in self.turns[drop:] for t in turn]


@dataclass
class Score:
    """How one state of the cache predicts one continuation."""

    nll: float
    logprobs: npt.NDArray[np.float64]


@dataclass
class Row:
    """One drop size's figures, over every continuation."""

    dropped_turns: int
    dropped_tokens: int
    kept_tokens: int
    ppl_full: float
    ppl_shift: float
    ppl_reprocess: float
    ppl_ratio: float
    kl_mean: float
    top1_agreement: float
    shift_ms: float
    reprocess_ms: float


def tokens_of(llama: llama_cpp.Llama, text: str) -> list[int]:
    """The model's tokens for ``text``, special tokens read as such."""
    return list(llama.tokenize(text.encode(), add_bos=False, special=True))


def reply(llama: llama_cpp.Llama, prompt: list[int], max_tokens: int) -> str:
    """The model's greedy reply to ``prompt`` (which ends with the assistant header)."""
    done = llama.create_completion(
        prompt, max_tokens=max_tokens, temperature=0.0, stop=["<|im_end|>"]
    )
    return str(done["choices"][0]["text"]).strip()  # type: ignore[index]


def write_chat(llama: llama_cpp.Llama, turns: int, reply_tokens: int) -> Chat:
    """A chat the model writes itself, with continuations written after the whole of it."""
    chat = Chat(tokens_of(llama, block("system", SYSTEM)), [], [])
    for question in QUESTIONS[:turns]:
        asked = tokens_of(llama, block("user", question) + "<|im_start|>assistant\n")
        answer = reply(llama, chat.prefix() + asked, reply_tokens)
        chat.turns.append(tokens_of(llama, block("user", question) + block("assistant", answer)))
    for question in FINAL_QUESTIONS:
        asked = tokens_of(llama, block("user", question) + "<|im_start|>assistant\n")
        answer = reply(llama, chat.prefix() + asked, reply_tokens)
        chat.continuations.append(asked + tokens_of(llama, answer + "<|im_end|>\n"))
    return chat


def evaluate(llama: llama_cpp.Llama, tokens: list[int]) -> float:
    """Start a fresh cache holding ``tokens``; the seconds it took."""
    llama.reset()  # type: ignore[no-untyped-call]
    started = time.perf_counter()
    llama.eval(tokens)
    return time.perf_counter() - started


def score(llama: llama_cpp.Llama, continuation: list[int]) -> Score:
    """Evaluate ``continuation`` after what the cache holds; its next-token log-probabilities.

    The first token is not scored: its logits belong to the prefix's last position, which a
    shift leaves at its old row of the score table.
    """
    base = llama.n_tokens
    llama.eval(continuation)
    logits = np.asarray(llama.scores[base : base + len(continuation) - 1], dtype=np.float64)
    peak = logits.max(axis=1, keepdims=True)
    logprobs = logits - peak - np.log(np.exp(logits - peak).sum(axis=1, keepdims=True))
    targets = np.asarray(continuation[1:])
    nll = -float(logprobs[np.arange(len(targets)), targets].mean())
    return Score(nll, logprobs)


def compare(a: Score, b: Score) -> tuple[float, float]:
    """Mean KL(a || b) of the next-token distributions, and how often their top tokens agree."""
    kl = (np.exp(a.logprobs) * (a.logprobs - b.logprobs)).sum(axis=1)
    agree = a.logprobs.argmax(axis=1) == b.logprobs.argmax(axis=1)
    return float(kl.mean()), float(agree.mean())


def measure_drop(llama: llama_cpp.Llama, chat: Chat, drop: int) -> Row:
    """Score every continuation under the full, the shifted and the re-processed cache."""
    removed = sum(len(turn) for turn in chat.turns[:drop])
    shift = Shift(len(chat.system), len(chat.system) + removed, "")
    full, shifted, fresh, kls, agreements, shift_s, fresh_s = [], [], [], [], [], [], []
    for continuation in chat.continuations:
        evaluate(llama, chat.prefix())
        full.append(score(llama, continuation).nll)
        evaluate(llama, chat.prefix())
        started = time.perf_counter()
        apply_shift(llama, shift)
        shift_s.append(time.perf_counter() - started)
        under_shift = score(llama, continuation)
        fresh_s.append(evaluate(llama, chat.prefix(drop)))
        under_fresh = score(llama, continuation)
        kl, agreement = compare(under_fresh, under_shift)
        shifted.append(under_shift.nll)
        fresh.append(under_fresh.nll)
        kls.append(kl)
        agreements.append(agreement)
    ppl = {
        name: float(np.exp(statistics.mean(v)))
        for name, v in (("full", full), ("shift", shifted), ("fresh", fresh))
    }
    return Row(
        dropped_turns=drop,
        dropped_tokens=removed,
        kept_tokens=len(chat.prefix(drop)),
        ppl_full=ppl["full"],
        ppl_shift=ppl["shift"],
        ppl_reprocess=ppl["fresh"],
        ppl_ratio=ppl["shift"] / ppl["fresh"],
        kl_mean=statistics.mean(kls),
        top1_agreement=statistics.mean(agreements),
        shift_ms=1000 * statistics.median(shift_s),
        reprocess_ms=1000 * statistics.median(fresh_s),
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--turns", type=int, default=14, help=f"turns in the chat (≤ {len(QUESTIONS)})"
    )
    parser.add_argument("--reply-tokens", type=int, default=90, help="most tokens per reply")
    parser.add_argument("--drops", type=int, nargs="+", default=[2, 4, 8], help="turns to drop")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def measure(turns: int, reply_tokens: int, drops: Sequence[int]) -> tuple[Chat, list[Row], int]:
    """Write the chat and measure each drop size: the chat, the rows, the threads used."""
    model: Path = resolve_model("").path
    threads = physical_cores()
    llama = llama_cpp.Llama(
        model_path=str(model),
        n_ctx=CONTEXT,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=True,
        verbose=False,
    )
    chat = write_chat(llama, turns, reply_tokens)
    rows = [measure_drop(llama, chat, drop) for drop in drops if drop < len(chat.turns)]
    llama.close()
    return chat, rows, threads


def main(argv: Sequence[str] | None = None) -> None:
    """Write the chat, measure each drop size, print the table."""
    args = parse_args(argv)
    model: Path = resolve_model("").path
    chat, rows, threads = measure(args.turns, args.reply_tokens, args.drops)
    if args.json:
        print(json.dumps({"model": model.name, "rows": [asdict(row) for row in rows]}, indent=2))
        return
    lengths = [len(c) for c in chat.continuations]
    print(
        f"model {model.name}, {len(chat.turns)} turns, {len(chat.prefix())} tokens of history, "
        f"{len(lengths)} continuations of {min(lengths)}-{max(lengths)} tokens, {threads} threads"
    )
    print(
        f"{'dropped':>14} {'kept':>5} | {'ppl full':>8} {'shifted':>8} {'re-proc':>8} "
        f"{'ratio':>6} | {'KL':>7} {'top-1':>6} | {'shift ms':>8} {'re-proc ms':>10}"
    )
    for row in rows:
        print(
            f"{row.dropped_turns:>3} turns {row.dropped_tokens:>4}t {row.kept_tokens:>5} | "
            f"{row.ppl_full:8.3f} {row.ppl_shift:8.3f} {row.ppl_reprocess:8.3f} "
            f"{row.ppl_ratio:6.3f} | {row.kl_mean:7.4f} {row.top1_agreement:6.1%} | "
            f"{row.shift_ms:8.2f} {row.reprocess_ms:10.1f}"
        )


if __name__ == "__main__":
    main()
