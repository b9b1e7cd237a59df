"""chatcli through an OpenAI-compatible server vs a bare `openai` streaming loop.

Both talk to the same llama-cpp-python server on 127.0.0.1 (started here, default model),
with the same message, max tokens and greedy sampling, alternating, several rounds; the
medians, spread and ratios are printed. Goals (remote issue): tokens/s >= 0.95 of the bare
loop, time to first token <= 1.1x of it.

    python benchmarks/bench_remote.py [--rounds 5] [--tokens 128]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from remote_servers import llama_cpp_server

import chatcli
from chatcli.catalog import resolve_model
from chatcli.config import Settings

PROMPT = "Write a long story about a lighthouse keeper."


def bare(url: str, tokens: int) -> tuple[float, float]:
    """TTFT and tokens/s of a plain openai client loop."""
    import openai

    client = openai.OpenAI(base_url=url, api_key="x")
    started = time.perf_counter()
    first, pieces = 0.0, 0
    stream = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        max_tokens=tokens,
        temperature=0,
    )
    for event in stream:
        if event.choices and event.choices[0].delta.content:
            first = first or time.perf_counter()
            pieces += 1
    done = time.perf_counter()
    client.close()
    return first - started, (pieces - 1) / (done - first)


def through_chatcli(url: str, tokens: int) -> tuple[float, float]:
    """TTFT and tokens/s of the same request through chatcli's core (Python API, unsaved)."""
    settings = Settings(model=f"endpoint:{url}#", context_length=2048)
    with chatcli.open_session(settings=settings, system="", save=False) as chat:
        started = time.perf_counter()
        first, pieces = 0.0, 0
        for _ in chat.stream(PROMPT, max_tokens=tokens, temperature=0):
            first = first or time.perf_counter()
            pieces += 1
        done = time.perf_counter()
    return first - started, (pieces - 1) / (done - first)


def measure(rounds: int, tokens: int) -> dict[str, list[tuple[float, float]]]:
    """TTFT and tokens/s of both clients, alternating, against one local server."""
    results: dict[str, list[tuple[float, float]]] = {"bare": [], "chatcli": []}
    previous = os.environ.get("CHATCLI_HOME")
    with (
        tempfile.TemporaryDirectory() as home,
        llama_cpp_server(str(resolve_model("").path)) as url,
    ):
        os.environ["CHATCLI_HOME"] = home
        try:
            bare(url, 8)  # warm the server
            for run in range(rounds):
                order = ("bare", "chatcli") if run % 2 == 0 else ("chatcli", "bare")
                for name in order:
                    client = bare if name == "bare" else through_chatcli
                    results[name].append(client(url, tokens))
        finally:
            if previous is None:
                os.environ.pop("CHATCLI_HOME", None)
            else:
                os.environ["CHATCLI_HOME"] = previous
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    results = measure(args.rounds, args.tokens)
    medians = {}
    for name, runs in results.items():
        ttfts, rates = [r[0] for r in runs], [r[1] for r in runs]
        medians[name] = (statistics.median(ttfts), statistics.median(rates))
        print(
            f"{name:8} ttft {medians[name][0] * 1000:6.1f} ms (spread {min(ttfts) * 1000:.1f}–"
            f"{max(ttfts) * 1000:.1f})  {medians[name][1]:6.1f} tok/s "
            f"(spread {min(rates):.1f}–{max(rates):.1f})"
        )
    ratio_rate = medians["chatcli"][1] / medians["bare"][1]
    ratio_ttft = medians["chatcli"][0] / medians["bare"][0]
    print(f"tokens/s ratio chatcli/bare: {ratio_rate:.3f} (goal >= 0.95)")
    print(f"ttft ratio chatcli/bare: {ratio_ttft:.3f} (goal <= 1.1)")


if __name__ == "__main__":
    main()
