"""The session store at scale: 1,000 sessions, 100,000 messages (~30 MB of text).

Whole-process times of `chatcli search` (a word, a phrase), `sessions list`, `sessions show`
of a 10,000-message session, and `sessions export --all` / `import` throughput, plus the FTS
index's size against the text's, and how long the TUI takes to open that 10,000-message
session until its input takes keys. Goals (history issue): search and list <= 0.3 s, show
<= 0.6 s, export and import >= 20,000 messages/s, index <= 1.5x the text, the TUI <= 1 s.

    python benchmarks/bench_store.py [--sessions 1000] [--messages 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from chatcli.assembly import open_sessions
from chatcli.store.bulk import SessionBundle
from chatcli.store.records import MessageRecord, SessionRecord

WORDS = [
    "river",
    "mountain",
    "budget",
    "meeting",
    "python",
    "lighthouse",
    "recipe",
    "garden",
    "travel",
    "music",
    "history",
    "energy",
    "ocean",
    "planet",
    "language",
    "summary",
    "translate",
    "question",
    "answer",
    "dragon",
    "castle",
    "window",
    "morning",
    "evening",
    "coffee",
    "market",
    "report",
    "design",
    "science",
    "theory",
    "paper",
    "letter",
    "story",
]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _bundle(rng: random.Random, number: int, count: int) -> SessionBundle:
    session_id = f"s{number:011x}"
    messages, parent = [], None
    for index in range(count):
        message = MessageRecord(
            id=f"{number:06x}{index:06x}",
            session_id=session_id,
            parent_id=parent,
            role="user" if index % 2 == 0 else "assistant",
            content=_text(rng, 40),
            created=1.7e9 + number * 1000 + index,
        )
        messages.append(message)
        parent = message.id
    session = SessionRecord(
        id=session_id,
        name=f"s{number}",
        title=_text(rng, 4),
        created=1.7e9 + number * 1000,
        updated=1.7e9 + number * 1000 + count,
        model="m",
        system_prompt="",
        role=None,
        current_leaf=parent,
    )
    return SessionBundle(session, tuple(messages))


def _cli(home: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "chatcli", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "CHATCLI_HOME": home},
    )
    return time.perf_counter() - started


def _median(home: str, *args: str, rounds: int = 5) -> list[float]:
    return [_cli(home, *args) for _ in range(rounds)]


def _shown(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} s (spread {min(times):.3f}–{max(times):.3f})"


def measure(
    sessions: int, messages: int, long_session: int = 10_000, rounds: int = 5
) -> dict[str, object]:
    """Fill a store, time each command in whole processes; print and return the figures."""
    rng = random.Random(1)
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as home:
        os.environ["CHATCLI_HOME"] = home
        per = messages // sessions
        bundles = [_bundle(rng, n, per) for n in range(sessions - 1)]
        bundles.append(_bundle(rng, sessions, long_session))  # one long session
        total = sum(len(b.messages) for b in bundles)
        started = time.perf_counter()
        with open_sessions() as opened:
            opened.store.bulk.insert(bundles)
        # The TUI is measured in this process: the 110,000 generated records must not stay
        # alive here (every full garbage collection would walk them; a real app has none).
        del bundles
        gc.collect()
        print(
            f"store of {sessions:,} sessions, {total:,} messages written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        figures["messages"] = total
        database = Path(home) / "data" / "chatcli.db"
        figures["index_ratio"] = _sizes(database)
        commands = {
            "search a word": ("search", "lighthouse", "--limit", "20"),
            "search a phrase": ("search", '"coffee market"', "--limit", "20"),
            "sessions list": ("sessions", "list"),
            f"show {long_session:,} msgs": ("sessions", "show", f"s{sessions}"),
        }
        for label, args in commands.items():
            figures[label] = times = _median(home, *args, rounds=rounds)
            print(f"{label + ':':<19} {_shown(times)}")
        out = Path(home) / "all.json"
        seconds = _cli(home, "sessions", "export", "--all", "-o", str(out))
        figures["export"] = total / seconds
        print(f"export --all:       {total / seconds:,.0f} messages/s ({seconds:.1f} s)")
        other = Path(home) / "other"
        seconds = _cli(str(other), "sessions", "import", str(out))
        figures["import"] = total / seconds
        print(f"import:             {total / seconds:,.0f} messages/s ({seconds:.1f} s)")
        opens = [
            asyncio.run(_open_in_tui(database, f"s{sessions:011x}")) for _ in range(min(rounds, 3))
        ]
        figures["tui_open"] = opens
        print(f"TUI opens the {long_session:,}-message session, input takes keys: {_shown(opens)}")
    return figures


async def _open_in_tui(database: Path, session_id: str) -> float:
    """Seconds from starting the app on the session until a key typed reaches the input."""
    from bench_tui import seconds_until_input_takes_keys
    from fakes import FakeEngine

    from chatcli.config import Settings
    from chatcli.core.chat import ChatCore
    from chatcli.store.store import Store
    from chatcli.tui.app import build_app

    engine, settings = FakeEngine(), Settings()
    with Store.open(database) as store:
        core = ChatCore(engine, store, settings)
        app = build_app(core, settings, lambda _: engine, store.get_session(session_id))
        return await seconds_until_input_takes_keys(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    measure(args.sessions, args.messages)


def _sizes(database: Path) -> float | None:
    with sqlite3.connect(database) as raw:
        text = raw.execute("SELECT SUM(LENGTH(CAST(content AS BLOB))) FROM messages").fetchone()[0]
        try:
            index = raw.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'message_search%'"
            ).fetchone()[0]
        except sqlite3.OperationalError:
            print("(this SQLite has no dbstat: the index size is not measured)")
            return None
    print(
        f"text {text / 1e6:.1f} MB, FTS index {index / 1e6:.1f} MB ({index / text:.2f}x the text)"
    )
    return float(index / text)


if __name__ == "__main__":
    main()
