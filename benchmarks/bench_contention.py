"""Contention: tokens/s of `chatcli ask` alone, beside a second ask, and beside a CPU hog.

Goals (reliability issue): each of two concurrent asks >= 0.4 of a lone one; beside one
CPU-bound process >= 0.35. Every case is run in the same session, alternating, and the
medians and spread are printed (these machines are shared and noisy).

    python benchmarks/bench_contention.py [--rounds 3] [--tokens 256]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def ask(home: str, tokens: int) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "chatcli", "ask", "--no-save", "--max-tokens", str(tokens)]
    args += ["--ignore-eos", "--temperature", "0", "--stats", "hi"]
    env = {**os.environ, "CHATCLI_HOME": home}
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def rate(process: subprocess.Popen[bytes]) -> float:
    _, err = process.communicate(timeout=300)
    line = next(x for x in err.decode().splitlines() if x.startswith("{"))
    return float(json.loads(line)["gen_tokens_per_s"])


def one_round(home: str, tokens: int) -> dict[str, float]:
    lone = rate(ask(home, tokens))
    pair = [ask(home, tokens), ask(home, tokens)]
    pair_rates = [rate(p) for p in pair]
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        beside_hog = rate(ask(home, tokens))
    finally:
        hog.kill()
        hog.wait()
    return {"lone": lone, "pair": min(pair_rates), "beside_hog": beside_hog}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=256)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        rounds = [one_round(home, options.tokens) for _ in range(options.rounds)]
    for case, goal in (("lone", None), ("pair", 0.4), ("beside_hog", 0.35)):
        values = [r[case] for r in rounds]
        ratios = [r[case] / r["lone"] for r in rounds]
        spread = f"({min(values):.1f}-{max(values):.1f})"
        line = f"{case:<11} {statistics.median(values):7.1f} tok/s  {spread}"
        if goal is not None:
            verdict = "met" if statistics.median(ratios) >= goal else "missed"
            line += f"  ratio to lone {statistics.median(ratios):.2f} (goal >= {goal}: {verdict})"
        print(line)


if __name__ == "__main__":
    main()
