"""The remembered context window: a long chat at a 2,048-token context, turn by turn.

Once a chat outgrows the context, the planner drops the oldest turns in one large step and
remembers where the window starts, so the turns after a drop keep the same prompt prefix and
only the new message is evaluated (from the in-process cache, or from a KV snapshot when each
turn is a new ``chatcli ask -c`` process). This runs the same chat both ways on the default
model, with fixed-length replies (end-of-turn ignored) so that it overflows after some tens of
turns and drops several times.

Goals, per mode:
- mean time to first token over the non-drop turns after the first overflow / the mean over
  the turns before it <= 1.5;
- on a non-drop turn, at most 8 prompt tokens evaluated beyond the new message.
Also reported: the drop turns, their time to first token and its ratio to a normal turn's.

With ``--natural-eos`` the replies may end at the end-of-turn token instead (the messages ask for
a long paragraph, so most still run to the token limit).

    python benchmarks/bench_window.py [--turns 60] [--max-tokens 48] [--natural-eos]
                                      [--mode both|in-process|processes] [--json] [--per-turn]
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from itertools import pairwise
from pathlib import Path

from chatcli import paths
from chatcli.assembly import build_engine
from chatcli.cli.options import ModelFlags, SamplingFlags, settings_with
from chatcli.core.chat import ChatCore
from chatcli.core.events import ReplyFinished
from chatcli.engine.params import SamplingParams
from chatcli.errors import ChatcliError
from chatcli.store.records import SessionRecord
from chatcli.store.store import Store

CONTEXT = 2048
DEFAULT_TURNS = 60
DEFAULT_MAX_TOKENS = 48
TTFT_RATIO_GOAL = 1.5
EXTRA_TOKENS_GOAL = 8
SEED = 1

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
    "currents",
    "anchors",
]


@dataclass(frozen=True)
class TurnStats:
    """What one turn cost, as reported by the core (or by ``ask --stats``)."""

    turn: int
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int
    ttft_s: float
    total_s: float
    dropped_messages: int


@dataclass(frozen=True)
class ChatSpec:
    """The chat both modes hold."""

    turns: int = DEFAULT_TURNS
    max_tokens: int = DEFAULT_MAX_TOKENS
    ignore_eos: bool = True
    """Every reply runs to max_tokens (generation goes on past end-of-turn)."""


@dataclass
class ModeRun:
    """The turns one mode completed, and the error that stopped it early, if any."""

    rows: list[TurnStats] = field(default_factory=list)
    failure: str | None = None


@dataclass(frozen=True)
class ModeSummary:
    """The figures of one mode (in one process, or one process per turn)."""

    mode: str
    turns: int
    wall_s: float
    failure: str | None
    """Why the mode stopped before the last turn (None: it ran every turn)."""
    first_overflow: int | None
    ttft_before_s: float | None
    """Mean time to first token over the turns before the first overflow."""
    ttft_after_s: float | None
    """Mean time to first token over the non-drop turns after the first overflow."""
    ttft_ratio: float | None
    drop_turns: list[int]
    drop_ttft_s: list[float]
    drop_to_normal: float | None
    """Mean drop-turn time to first token / mean non-drop time after the first overflow."""
    max_extra_evaluated: int | None
    """Most prompt tokens evaluated beyond the new message on a non-drop turn."""
    max_extra_turn: int | None
    turns_over_extra_goal: list[int]
    """Non-drop turns that evaluated more than EXTRA_TOKENS_GOAL tokens beyond the new message."""
    short_replies: list[int]
    """Turns whose reply was shorter than max_tokens (cut by the room left in the context, or
    ended by the model with --natural-eos)."""


def user_text(turn: int) -> str:
    """The user's message of ``turn`` (of similar length every turn, asking for a long reply)."""
    topic = TOPICS[turn % len(TOPICS)]
    return (
        f"Turn {turn}. Tell me about {topic} in detail, in a long paragraph of several sentences."
    )


# --- in one process, through the core -------------------------------------------------------


@contextmanager
def chatcli_home(folder: Path) -> Iterator[None]:
    """Point CHATCLI_HOME (config, database, KV snapshots) at ``folder`` for a while."""
    with kept_chatcli_home():
        os.environ["CHATCLI_HOME"] = str(folder)
        yield


@contextmanager
def kept_chatcli_home() -> Iterator[None]:
    """Put CHATCLI_HOME back as it was when the block ends (whoever changed it meanwhile)."""
    previous = os.environ.get("CHATCLI_HOME")
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("CHATCLI_HOME", None)
        else:
            os.environ["CHATCLI_HOME"] = previous


def finished_reply(
    core: ChatCore, session: SessionRecord, text: str, params: SamplingParams
) -> ReplyFinished:
    """Send ``text`` and run the reply to its end; return its ReplyFinished event."""
    finished = None
    for event in core.reply(session, text, params):
        if isinstance(event, ReplyFinished):
            finished = event
    if finished is None:
        raise RuntimeError("the reply ended without a ReplyFinished event")
    return finished


def stats_of_reply(turn: int, finished: ReplyFinished) -> TurnStats:
    usage = finished.usage
    return TurnStats(
        turn=turn,
        prompt_tokens=usage.prompt_tokens,
        cached_prompt_tokens=usage.cached_prompt_tokens,
        completion_tokens=usage.completion_tokens,
        ttft_s=usage.ttft_s,
        total_s=usage.total_s,
        dropped_messages=finished.plan.hidden_messages,
    )


def run_in_one_process(home: Path, spec: ChatSpec) -> ModeRun:
    """The chat through one ChatCore, built as ``chatcli ask`` builds it (saved session)."""
    run = ModeRun()
    with chatcli_home(home):
        settings = settings_with(ModelFlags(ctx=CONTEXT))
        flags = SamplingFlags(temperature=0.0, seed=SEED, max_tokens=spec.max_tokens)
        engine = build_engine(settings, ignore_eos=spec.ignore_eos, snapshots=True)
        engine.load()
        try:
            with Store.open(paths.database_file()) as store:
                core = ChatCore(engine, store, settings)
                params = flags.apply(core.default_sampling())
                session = core.new_session(sampling=params)
                for turn in range(1, spec.turns + 1):
                    try:
                        finished = finished_reply(core, session, user_text(turn), params)
                    except ChatcliError as error:
                        run.failure = f"turn {turn}: {type(error).__name__}: {error}"
                        break
                    run.rows.append(stats_of_reply(turn, finished))
                    show_progress("in-process", run.rows[-1], spec.turns)
        finally:
            engine.close()
    return run


# --- one `chatcli ask -c` process per turn ----------------------------------------------------


def ask_command(text: str, spec: ChatSpec, continue_session: bool) -> list[str]:
    return [
        sys.executable,
        "-m",
        "chatcli",
        "ask",
        "--ctx",
        str(CONTEXT),
        "--max-tokens",
        str(spec.max_tokens),
        "--temperature",
        "0",
        "--seed",
        str(SEED),
        *(["--ignore-eos"] if spec.ignore_eos else []),
        "--stats",
        *(["-c"] if continue_session else []),
        text,
    ]


def stats_line(stderr: str) -> dict[str, object]:
    """The JSON line ``--stats`` printed (the last line of stderr that is a JSON object)."""
    for line in reversed(stderr.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)  # type: ignore[no-any-return]
    raise RuntimeError(f"no --stats line in stderr:\n{stderr}")


class AskFailed(Exception):
    """A ``chatcli ask`` process exited with an error."""


def ask_in_new_process(home: Path, command: list[str]) -> dict[str, object]:
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "CHATCLI_HOME": str(home)},
        check=False,
    )
    if done.returncode != 0:
        raise AskFailed(f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1]}")
    return stats_line(done.stderr)


def stats_of_process(turn: int, stats: dict[str, object]) -> TurnStats:
    def number(key: str) -> float:
        return float(stats[key])  # type: ignore[arg-type]

    return TurnStats(
        turn=turn,
        prompt_tokens=int(number("prompt_tokens")),
        cached_prompt_tokens=int(number("cached_prompt_tokens")),
        completion_tokens=int(number("completion_tokens")),
        ttft_s=number("ttft_s"),
        total_s=number("total_s"),
        dropped_messages=int(number("dropped_messages")),
    )


def run_as_processes(home: Path, spec: ChatSpec) -> ModeRun:
    """The chat as ``chatcli ask`` then ``chatcli ask -c`` processes, one per turn."""
    run = ModeRun()
    for turn in range(1, spec.turns + 1):
        command = ask_command(user_text(turn), spec, continue_session=turn > 1)
        try:
            stats = ask_in_new_process(home, command)
        except AskFailed as error:
            run.failure = f"turn {turn}: {error}"
            break
        run.rows.append(stats_of_process(turn, stats))
        show_progress("processes", run.rows[-1], spec.turns)
    return run


def show_progress(mode: str, row: TurnStats, turns: int) -> None:
    print(
        f"  {mode} turn {row.turn}/{turns}: prompt {row.prompt_tokens}, "
        f"cached {row.cached_prompt_tokens}, ttft {row.ttft_s:.3f} s, total {row.total_s:.2f} s",
        file=sys.stderr,
        flush=True,
    )


# --- the figures ------------------------------------------------------------------------------


def drop_turns(rows: Sequence[TurnStats]) -> list[int]:
    """Turns where more messages were left out than on the turn before."""
    drops, hidden = [], 0
    for row in rows:
        if row.dropped_messages > hidden:
            drops.append(row.turn)
        hidden = row.dropped_messages
    return drops


def extra_evaluated(previous: TurnStats, row: TurnStats) -> int:
    """Prompt tokens evaluated beyond the new message.

    The new message's tokens are taken as prompt - previous prompt - previous completion, so
    this is (prompt - cached) - that = previous prompt + previous completion - cached.
    """
    new_message = row.prompt_tokens - previous.prompt_tokens - previous.completion_tokens
    return (row.prompt_tokens - row.cached_prompt_tokens) - new_message


def mean_or_none(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def ratio_or_none(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top is not None and bottom else None


def summarize(mode: str, run: ModeRun, wall_s: float, max_tokens: int) -> ModeSummary:
    rows = run.rows
    drops = drop_turns(rows)
    first = drops[0] if drops else None
    before = [r.ttft_s for r in rows if first is None or r.turn < first]
    after = [r.ttft_s for r in rows if first is not None and r.turn > first and r.turn not in drops]
    drop_ttft = [r.ttft_s for r in rows if r.turn in drops]
    extras = [
        (extra_evaluated(previous, row), row.turn)
        for previous, row in pairwise(rows)
        if row.turn not in drops
    ]
    worst = max(extras) if extras else None
    ttft_before, ttft_after = mean_or_none(before), mean_or_none(after)
    return ModeSummary(
        mode=mode,
        turns=len(rows),
        wall_s=wall_s,
        failure=run.failure,
        first_overflow=first,
        ttft_before_s=ttft_before,
        ttft_after_s=ttft_after,
        ttft_ratio=ratio_or_none(ttft_after, ttft_before),
        drop_turns=drops,
        drop_ttft_s=drop_ttft,
        drop_to_normal=ratio_or_none(mean_or_none(drop_ttft), ttft_after),
        max_extra_evaluated=worst[0] if worst else None,
        max_extra_turn=worst[1] if worst else None,
        turns_over_extra_goal=[turn for extra, turn in extras if extra > EXTRA_TOKENS_GOAL],
        short_replies=[r.turn for r in rows if r.completion_tokens < max_tokens],
    )


# --- printing ---------------------------------------------------------------------------------


def shown(value: float | int | None, unit: str = "", digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value}{unit}"
    return f"{value:.{digits}f}{unit}"


def verdict(value: float | int | None, goal: float) -> str:
    if value is None:
        return ""
    return "met" if value <= goal else "MISSED"


def summary_table(summaries: Sequence[ModeSummary]) -> str:
    lines: list[tuple[str, Callable[[ModeSummary], str]]] = [
        ("turns completed", lambda s: str(s.turns)),
        ("stopped by", lambda s: "-" if s.failure is None else "error (see below)"),
        ("wall time", lambda s: shown(s.wall_s, " s", 1)),
        ("first overflow at turn", lambda s: shown(s.first_overflow)),
        ("mean ttft before it", lambda s: shown(s.ttft_before_s, " s")),
        ("mean ttft after (non-drop)", lambda s: shown(s.ttft_after_s, " s")),
        (
            f"  after / before (goal <= {TTFT_RATIO_GOAL})",
            lambda s: f"{shown(s.ttft_ratio, digits=2)} {verdict(s.ttft_ratio, TTFT_RATIO_GOAL)}",
        ),
        ("drop turns", lambda s: ", ".join(map(str, s.drop_turns)) or "none"),
        ("  their ttft (s)", lambda s: ", ".join(f"{t:.2f}" for t in s.drop_ttft_s) or "-"),
        ("  drop / normal ttft", lambda s: shown(s.drop_to_normal, "x", 1)),
        (
            f"max extra evaluated (goal <= {EXTRA_TOKENS_GOAL})",
            lambda s: (
                f"{shown(s.max_extra_evaluated)} (turn {shown(s.max_extra_turn)}) "
                f"{verdict(s.max_extra_evaluated, EXTRA_TOKENS_GOAL)}"
            ),
        ),
        (
            f"  non-drop turns over {EXTRA_TOKENS_GOAL}",
            lambda s: ", ".join(map(str, s.turns_over_extra_goal)) or "none",
        ),
        ("replies under max tokens", lambda s: ", ".join(map(str, s.short_replies)) or "none"),
    ]
    label_width = max(len(label) for label, _ in lines)
    column_width = max(32, *(len(s.mode) for s in summaries))
    header = " " * label_width + "  " + "  ".join(f"{s.mode:<{column_width}}" for s in summaries)
    body = [
        f"{label:<{label_width}}  " + "  ".join(f"{cell(s):<{column_width}}" for s in summaries)
        for label, cell in lines
    ]
    return "\n".join([header.rstrip(), *(line.rstrip() for line in body)])


def per_turn_table(mode: str, rows: Sequence[TurnStats]) -> str:
    drops = set(drop_turns(rows))
    lines = [f"{mode}:", "turn  prompt  cached  evaluated  extra  reply  dropped  ttft_s  total_s"]
    previous = None
    for row in rows:
        extra = "-" if previous is None else str(extra_evaluated(previous, row))
        mark = " drop" if row.turn in drops else ""
        lines.append(
            f"{row.turn:>4}  {row.prompt_tokens:>6}  {row.cached_prompt_tokens:>6}  "
            f"{row.prompt_tokens - row.cached_prompt_tokens:>9}  {extra:>5}  "
            f"{row.completion_tokens:>5}  "
            f"{row.dropped_messages:>7}  {row.ttft_s:>6.3f}  {row.total_s:>7.2f}{mark}"
        )
        previous = row
    return "\n".join(lines)


# --- main -------------------------------------------------------------------------------------


def timed(run: Callable[[], ModeRun]) -> tuple[ModeRun, float]:
    started = time.perf_counter()
    done = run()
    return done, time.perf_counter() - started


def load_average() -> str:
    """The 1-minute load average (another busy process on 2 cores skews every figure)."""
    return f"{os.getloadavg()[0]:.2f}"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=DEFAULT_TURNS, help="turns of the chat")
    parser.add_argument(
        "--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="tokens of every reply"
    )
    parser.add_argument(
        "--natural-eos",
        action="store_true",
        help=(
            "let replies end at end-of-turn (default: --ignore-eos, every reply max-tokens long;"
            " then the KV shift never applies: a sampled end-of-turn token is not in the text)"
        ),
    )
    parser.add_argument(
        "--mode", choices=("both", "in-process", "processes"), default="both", help="what to run"
    )
    parser.add_argument(
        "--kv-shift",
        choices=("both", "on", "off"),
        default="both",
        help="drop turns by shifting the KV cache ([llama] kv_shift), by re-processing, or both",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--per-turn", action="store_true", help="also print every turn")
    return parser.parse_args(argv)


def prepared_home(folder: Path, kv_shift: bool) -> Path:
    """A fresh CHATCLI_HOME whose config turns the KV shift on or off."""
    config = folder / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f"[llama]\nkv_shift = {str(kv_shift).lower()}\n", encoding="utf-8")
    return folder


def run_modes(
    chosen: Sequence[str], shifts: Sequence[bool], spec: ChatSpec
) -> dict[str, tuple[ModeRun, ModeSummary]]:
    modes: dict[str, Callable[[Path, ChatSpec], ModeRun]] = {
        "in-process": run_in_one_process,
        "processes": run_as_processes,
    }
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-window-") as folder:
        for mode in chosen:
            for kv_shift in shifts:
                name = f"{mode}, {'shift' if kv_shift else 're-process'}"
                home = prepared_home(Path(folder) / name, kv_shift)
                done, wall_s = timed(partial(modes[mode], home, spec))
                results[name] = (done, summarize(name, done, wall_s, spec.max_tokens))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    spec = ChatSpec(args.turns, args.max_tokens, ignore_eos=not args.natural_eos)
    chosen = ["in-process", "processes"] if args.mode == "both" else [args.mode]
    load_before = load_average()
    shifts = {"both": [True, False], "on": [True], "off": [False]}[args.kv_shift]
    results = run_modes(chosen, shifts, spec)
    load_after = load_average()
    if args.json:
        print(
            json.dumps(
                {
                    "context_length": CONTEXT,
                    "spec": asdict(spec),
                    "load_average": {"before": load_before, "after": load_after},
                    "modes": {
                        mode: {"summary": asdict(summary), "turns": [asdict(r) for r in run.rows]}
                        for mode, (run, summary) in results.items()
                    },
                }
            )
        )
        return
    ending = "end-of-turn ignored" if spec.ignore_eos else "natural end-of-turn"
    print(
        f"{spec.turns} turns, context {CONTEXT}, replies of up to {spec.max_tokens} tokens "
        f"({ending}); load average {load_before} before, {load_after} after"
    )
    print(summary_table([summary for _, summary in results.values()]))
    for mode, (run, _) in results.items():
        if run.failure:
            print(f"{mode} stopped at {run.failure}")
    if args.per_turn:
        for mode, (run, _) in results.items():
            print()
            print(per_turn_table(mode, run.rows))


if __name__ == "__main__":
    main()
