"""Prefix reuse across turns and KV snapshots across processes (issue 4), side by side.

1. Same process: a chat grown over 20 turns to ~1,500 tokens of history. Goals: time to first
   token at turn 20 / turn 1 <= 1.5, and prompt tokens evaluated per turn <= the new
   message's tokens + 8.
2. New process resuming a ~2,000-token session: time to first token with the KV snapshot /
   with re-processing the history. Goal <= 0.1.

    python benchmarks/bench_context.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from chatcli.assembly import build_engine
from chatcli.config import Settings
from chatcli.core.chat import ChatCore
from chatcli.core.events import ReplyFinished
from chatcli.engine.params import SamplingParams
from chatcli.store.store import Store

TOPICS = [
    "lighthouses",
    "tides",
    "sailing",
    "storms",
    "harbours",
    "maps",
    "compasses",
    "whales",
    "reefs",
    "islands",
]


def same_process_turns(folder: Path, turns: int = 20) -> dict[str, float]:
    """Grow one chat over ``turns`` turns; print each turn and return the goals' figures."""
    settings = Settings(context_length=4096)
    engine = build_engine(settings, snapshots=False)
    with Store.open(folder / "bench.db") as store:
        core = ChatCore(engine, store, settings)
        session = core.new_session()
        params = SamplingParams(temperature=0.0, seed=1, max_tokens=56)
        rows = []
        for turn in range(1, turns + 1):
            topic = TOPICS[turn % len(TOPICS)]
            text = (
                f"Turn {turn}. Tell me one short fact about {topic}, in a single sentence please."
            )
            before = core.count_context(store.get_session(session.id))
            finished = next(
                e for e in core.reply(session, text, params) if isinstance(e, ReplyFinished)
            )
            usage = finished.usage
            new_tokens = usage.prompt_tokens - before
            evaluated = usage.prompt_tokens - usage.cached_prompt_tokens
            rows.append((turn, usage.prompt_tokens, new_tokens, evaluated, usage.ttft_s))
        engine.close()
    print("turn  prompt  new-msg  evaluated  ttft_s")
    for turn, prompt, new, evaluated, ttft in rows:
        print(f"{turn:>4}  {prompt:>6}  {new:>7}  {evaluated:>9}  {ttft:.3f}")
    ratio = rows[-1][4] / rows[0][4]
    worst_extra = max(evaluated - new for _, _, new, evaluated, _ in rows[1:])
    print(
        f"ttft turn {turns} / turn 1 = {ratio:.2f} "
        f"(goal <= 1.5: {'met' if ratio <= 1.5 else 'MISSED'})"
    )
    print(
        f"most tokens evaluated beyond the new message: {worst_extra} "
        f"(goal <= 8: {'met' if worst_extra <= 8 else 'MISSED'})"
    )
    return {
        "ttft_last": rows[-1][4],
        "ttft_first": rows[0][4],
        "ratio": ratio,
        "worst_extra": worst_extra,
        "history_tokens": rows[-1][1],
    }


def chatcli(home: Path, *args: str, stdin: str | None = None) -> dict[str, object]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatcli",
            "ask",
            "--stats",
            "--temperature",
            "0",
            "--seed",
            "1",
            "--max-tokens",
            "16",
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CHATCLI_HOME": str(home)},
    )
    return json.loads(done.stderr.strip().splitlines()[-1])  # type: ignore[no-any-return]


def resume_in_new_process(folder: Path, repeat: int = 120) -> dict[str, float]:
    """Resume a long session in a new process with and without its KV snapshot."""
    with_snapshot, without = folder / "with", folder / "without"
    line = "The harbour log records ships, tides and weather for every day of the year. "
    document = line * repeat
    first = chatcli(with_snapshot, "--session", "long", "Summarize this log.", stdin=document)
    shutil.copytree(with_snapshot / "data", without / "data")  # the same session, no snapshots
    question = "--session", "long", "What does the log record?"
    cold = chatcli(without, *question)
    warm = chatcli(with_snapshot, *question)
    ratio = float(warm["ttft_s"]) / float(cold["ttft_s"])  # type: ignore[arg-type]
    print(f"session of {first['prompt_tokens']} prompt tokens; resuming it in a new process:")
    print(f"  re-processing: ttft {cold['ttft_s']} s, cached {cold['cached_prompt_tokens']} tokens")
    print(f"  KV snapshot:   ttft {warm['ttft_s']} s, cached {warm['cached_prompt_tokens']} tokens")
    print(f"  ratio {ratio:.3f} (goal <= 0.1: {'met' if ratio <= 0.1 else 'MISSED'})")
    return {
        "warm": float(warm["ttft_s"]),  # type: ignore[arg-type]
        "cold": float(cold["ttft_s"]),  # type: ignore[arg-type]
        "ratio": ratio,
        "prompt_tokens": float(first["prompt_tokens"]),  # type: ignore[arg-type]
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        same_process_turns(Path(folder))
        resume_in_new_process(Path(folder))


if __name__ == "__main__":
    main()
