"""The older benchmarks as rows of the suite: TUI streaming, context and resume, the window,
the store, attachments, the remote engine and the KV shift. Each script stays runnable alone;
this module calls the functions they are built from.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path

import bench_attach
import bench_context
import bench_kv_shift
import bench_store
import bench_tui
import bench_window
from harness import Goal, Pair, Row, skipped, spread_of


def single(name: str, value: float | None, unit: str, goal: Goal | None, note: str = "") -> Row:
    """A row with chatcli's figure alone (a goal on the figure itself)."""
    return Row(name, value, None, unit, ratio=None, goal=goal, note=note)


def tui_rows(quick: bool) -> list[Row]:
    """Render throughput, paced streaming, TUI ÷ ask on the real model, opening a session."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rates = asyncio.run(bench_tui.render_throughput(Path(folder), runs=1 if quick else 3))
        first = [r.first_ui_cpu for r in rates]
        last = [r.last_ui_cpu for r in rates]
        speed = bench_tui.MODEL_SPEED
        rows.append(
            Row(
                "TUI render: tok per UI-thread CPU second, last 1,000 ÷ first 1,000",
                statistics.median(last),
                statistics.median(first),
                "tok/s",
                ratio=statistics.median(x / y for x, y in zip(last, first, strict=True)),
                goal=Goal(">=", 0.8),
                spread=f"first {spread_of(first)}; last {spread_of(last)}; n={len(rates)}",
                note=f"goal also: both >= 20x the model ({20 * speed:,.0f} tok/s)",
                reference_label="first 1,000",
            )
        )
        if quick:
            return rows
        share, lag = asyncio.run(bench_tui.paced_stream(Path(folder)))
        rows.append(
            single("TUI at 150 tok/s: app CPU (cores)", share, "core", Goal("<=", 0.25, "chatcli"))
        )
        rows.append(
            single("TUI at 150 tok/s: screen lag at the end", lag, "s", Goal("<=", 0.15, "chatcli"))
        )
        pairs = asyncio.run(bench_tui.tui_vs_ask(Path(folder)))
        pair = Pair([t for t, _ in pairs], [a for _, a in pairs])
        rows.append(
            pair.row("TUI tok/s ÷ ask tok/s (real model, 256 tok)", "tok/s", Goal(">=", 0.9), "ask")
        )
        ready = asyncio.run(bench_tui.open_long_session(Path(folder)))
        rows.append(
            single(
                "TUI: open a 1,000-message session until input",
                ready,
                "s",
                Goal("<=", 1.0, "chatcli"),
            )
        )
    return rows


def context_rows(quick: bool) -> list[Row]:
    """Prefix reuse over a growing chat, and resuming a session with its KV snapshot."""
    turns = 6 if quick else 20
    with tempfile.TemporaryDirectory() as folder:
        grown = bench_context.same_process_turns(Path(folder), turns=turns)
        resumed = bench_context.resume_in_new_process(Path(folder), repeat=40 if quick else 120)
    history = int(grown["history_tokens"])
    return [
        Row(
            f"context: TTFT turn {turns} ÷ turn 1 ({history:,} tokens of history)",
            grown["ttft_last"],
            grown["ttft_first"],
            "s",
            ratio=grown["ratio"],
            goal=Goal("<=", 1.5),
            reference_label="turn 1",
        ),
        single(
            "context: prompt tokens evaluated beyond the new message",
            grown["worst_extra"],
            "tok",
            Goal("<=", 8, "chatcli"),
        ),
        Row(
            f"resume a {int(resumed['prompt_tokens']):,}-token session: TTFT with KV snapshot "
            "÷ re-processing",
            resumed["warm"],
            resumed["cold"],
            "s",
            ratio=resumed["ratio"],
            goal=Goal("<=", 0.1),
            reference_label="re-process",
        ),
    ]


def window_rows(quick: bool) -> list[Row]:
    """A 60-turn chat at a 2,048-token context, in one process and as `ask -c` processes."""
    if quick:
        return [skipped("window", "full run only (minutes)")]
    spec = bench_window.ChatSpec(turns=60, max_tokens=48, ignore_eos=False)
    with bench_window.kept_chatcli_home():
        results = bench_window.run_modes(["in-process", "processes"], [True], spec)
    rows = []
    for mode, (_, summary) in results.items():
        rows.append(
            Row(
                f"window ({mode}): TTFT past the context ÷ before it",
                summary.ttft_after_s,
                summary.ttft_before_s,
                "s",
                ratio=summary.ttft_ratio,
                goal=Goal("<=", 1.5),
                note=f"failure: {summary.failure}" if summary.failure else "",
                reference_label="before",
            )
        )
        drops = summary.drop_ttft_s
        rows.append(
            Row(
                f"window ({mode}): a drop turn's TTFT ÷ a normal turn's",
                statistics.mean(drops) if drops else None,
                summary.ttft_after_s,
                "s",
                ratio=summary.drop_to_normal,
                goal=Goal("<=", 3),
                spread=f"drops at turns {summary.drop_turns}",
                reference_label="normal turn",
            )
        )
    return rows


def store_rows(quick: bool) -> list[Row]:
    """Whole-process search, list, show, export and import on a large store."""
    sessions, messages, long = (50, 2_000, 500) if quick else (1000, 100_000, 10_000)
    with bench_window.kept_chatcli_home():
        figures = bench_store.measure(sessions, messages, long, rounds=1 if quick else 5)
    rows = []
    limits = {"search a word": 0.3, "search a phrase": 0.3, "sessions list": 0.3}
    limits[f"show {long:,} msgs"] = 0.6
    total = figures["messages"]
    for label, limit in limits.items():
        times = figures[label]
        assert isinstance(times, list)
        rows.append(
            Row(
                f"store ({total:,} messages): {label}",
                statistics.median(times),
                None,
                "s",
                goal=Goal("<=", limit, "chatcli"),
                spread=f"{spread_of(times)}; n={len(times)}",
            )
        )
    opened = figures["tui_open"]
    assert isinstance(opened, list)
    rows.append(
        Row(
            f"store: the TUI opens the {long:,}-message session (input takes keys)",
            statistics.median(opened),
            None,
            "s",
            goal=Goal("<=", 1.0, "chatcli"),
            spread=f"{spread_of(opened)}; n={len(opened)}",
        )
    )
    for label in ("export", "import"):
        value = figures[label]
        assert isinstance(value, float)
        rows.append(single(f"store: {label}", value, "msg/s", Goal(">=", 20_000, "chatcli")))
    index = figures["index_ratio"]
    rows.append(
        single(
            "store: FTS index ÷ text",
            index if isinstance(index, float) else None,
            "x",
            Goal("<=", 1.5, "chatcli"),
        )
    )
    return rows


def attach_rows(quick: bool) -> list[Row]:
    """Attaching a file ÷ the bare tokenizer on it; the database's growth."""
    mib = 0.25 if quick else 1.0
    pairs, (grown, kept) = bench_attach.measure(runs=3 if quick else 5, mib=mib)
    pair = Pair([ours for _, ours in pairs], [bare for bare, _ in pairs])
    return [
        pair.row(f"attach a {mib:g} MiB file ÷ bare tokenizer", "s", Goal("<=", 1.2), "tokenizer"),
        single(
            "attach: database growth ÷ file size (the file on 100 messages)",
            grown,
            "x",
            Goal("<=", 1.1, "chatcli"),
            note=f"text kept once ({kept:.2f}x before compression), with its full-text index",
        ),
    ]


def remote_rows(quick: bool) -> list[Row]:
    """Through llama-cpp-python's server: ÷ a bare openai streaming loop."""
    if quick:
        return [skipped("remote", "full run only (starts a server)")]
    try:
        import bench_remote
    except ImportError as error:
        return [skipped("remote", f"needs llama-cpp-python[server] and openai: {error}")]
    results = bench_remote.measure(rounds=7, tokens=128)
    ours, theirs = results["chatcli"], results["bare"]
    rate = Pair([r for _, r in ours], [r for _, r in theirs])
    ttft = Pair([t for t, _ in ours], [t for t, _ in theirs])
    return [
        rate.row("remote: tok/s ÷ bare openai loop", "tok/s", Goal(">=", 0.95), "openai"),
        ttft.row("remote: TTFT ÷ bare openai loop", "s", Goal("<=", 1.1), "openai"),
    ]


def kv_shift_rows(quick: bool) -> list[Row]:
    """Perplexity of the next reply under a shifted KV ÷ under the kept turns re-processed."""
    if quick:
        return [skipped("kv shift", "full run only")]
    _, measured, _ = bench_kv_shift.measure(turns=14, reply_tokens=90, drops=[2, 4, 8])
    return [
        Row(
            f"KV shift, {r.dropped_tokens} of {r.dropped_tokens + r.kept_tokens} tokens dropped: "
            "perplexity ÷ re-processed",
            r.ppl_shift,
            r.ppl_reprocess,
            "ppl",
            ratio=r.ppl_ratio,
            goal=Goal("<=", 1.05),
            note=f"KL {r.kl_mean:.3f}, top-1 {r.top1_agreement:.0%}, shift {r.shift_ms:.1f} ms",
            reference_label="re-processed",
        )
        for r in measured
    ]
