"""chatcli against its peers and the hardware, side by side, in one table.

Runs every benchmark (or one, ``--only NAME``), each comparison measured in this run with its
reference, alternating, repeated, as medians with their spread, and prints one table under a
description of the machine. A full run also writes BENCHMARKS.md at the repository's root.

    python benchmarks/run.py [--quick] [--only NAME] [--json] [--list]

``--quick`` runs the cheapest subset with small sizes and single repetitions (the CI smoke
test: it must finish; its ratios are too noisy to judge). Missed goals never change the exit
status; a benchmark that breaks does (1).

Each benchmark runs in a process of its own: llama.cpp's OpenMP teams belong to the threads
that decoded, for the life of the process, and once two threads have decoded every later
decode is slower (PERF_NOTES, "Threads under contention"). Measured: the TUI's real-model
reply ÷ `ask` fell from 0.92 to 0.74 after the generation benchmark's bare loop had run in
the same process.
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the fake engine

import harness
from harness import ROOT, Row


@dataclass(frozen=True)
class Entry:
    """One benchmark of the suite."""

    name: str
    in_quick: bool
    run: Callable[[bool], list[Row]]
    """Measure; the argument says whether this is a quick run."""


def _generation(quick: bool) -> list[Row]:
    import suite_generation

    return suite_generation.quick() if quick else suite_generation.full()


def _first_byte(quick: bool) -> list[Row]:
    import suite_startup

    return suite_startup.first_byte_rows(reps=1 if quick else 7, with_llm=not quick)


def _help_version(quick: bool) -> list[Row]:
    import suite_startup

    return suite_startup.help_version_rows(reps=3 if quick else 9)


def _memory(quick: bool) -> list[Row]:
    import suite_startup

    return suite_startup.memory_rows(reps=1 if quick else 3)


def _contention(quick: bool) -> list[Row]:
    import suite_startup

    return suite_startup.contention_rows(rounds=1 if quick else 3, tokens=64 if quick else 256)


def _folded(name: str) -> Callable[[bool], list[Row]]:
    def run(quick: bool) -> list[Row]:
        import suite_folded

        rows: list[Row] = getattr(suite_folded, f"{name}_rows")(quick)
        return rows

    return run


ENTRIES = [
    Entry("startup", True, _help_version),
    Entry("first-byte", True, _first_byte),
    Entry("generation", True, _generation),
    Entry("memory", True, _memory),
    Entry("contention", False, _contention),
    Entry("tui", True, _folded("tui")),
    Entry("context", False, _folded("context")),
    Entry("window", False, _folded("window")),
    Entry("store", True, _folded("store")),
    Entry("attach", True, _folded("attach")),
    Entry("remote", False, _folded("remote")),
    Entry("kv-shift", False, _folded("kv_shift")),
]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="cheapest subset, small sizes")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run this benchmark (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    parser.add_argument(
        "--write", action="store_true", help="write BENCHMARKS.md even for --quick or --only"
    )
    # How the suite runs one benchmark in a child process: its rows go, pickled, to a file.
    parser.add_argument("--entry", help=argparse.SUPPRESS)
    parser.add_argument("--rows-to", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def chosen(args: argparse.Namespace) -> list[Entry]:
    """The entries this run measures."""
    if args.only:
        unknown = set(args.only) - {e.name for e in ENTRIES}
        if unknown:
            sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))} (see --list)")
        return [e for e in ENTRIES if e.name in args.only]
    return [e for e in ENTRIES if e.in_quick or not args.quick]


def measure(entries: Sequence[Entry], quick: bool) -> tuple[list[Row], bool]:
    """Every entry's rows, each from a process of its own; and whether one of them broke."""
    rows: list[Row] = []
    broke = False
    for entry in entries:
        started = time.perf_counter()
        print(f"[{entry.name}] ...", file=sys.stderr, flush=True)
        entry_rows, ok = measure_in_child(entry, quick)
        rows += entry_rows
        broke = broke or not ok
        took = time.perf_counter() - started
        print(f"[{entry.name}] {took:.1f} s", file=sys.stderr, flush=True)
    return rows, broke


def measure_in_child(entry: Entry, quick: bool) -> tuple[list[Row], bool]:
    """``entry``'s rows, measured by this script in a new process; and whether it went well."""
    with tempfile.TemporaryDirectory() as folder:
        rows_file = Path(folder) / "rows.pickle"
        command = [sys.executable, __file__, "--entry", entry.name, "--rows-to", str(rows_file)]
        done = subprocess.run(
            [*command, *(["--quick"] if quick else [])], stdout=sys.stderr, check=False
        )
        if not rows_file.exists():
            why = f"FAILED: its process ended with status {done.returncode}"
            return [harness.skipped(entry.name, why)], False
        rows: list[Row] = pickle.loads(rows_file.read_bytes())  # written by our own child
        return rows, done.returncode == 0


def run_entry(name: str, quick: bool, rows_to: Path) -> int:
    """Measure one entry here (the child's part): its rows, or why it broke, go to ``rows_to``."""
    entry = next(e for e in ENTRIES if e.name == name)
    status = 0
    try:
        with contextlib.redirect_stdout(sys.stderr):
            rows = entry.run(quick)
    except Exception as error:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        rows = [harness.skipped(entry.name, f"FAILED: {type(error).__name__}: {error}")]
        status = 1
    rows_to.write_bytes(pickle.dumps(rows))
    return status


def markdown(info: dict[str, object], rows: Sequence[Row], wall_s: float, kind: str) -> str:
    """BENCHMARKS.md: the machine, the table, how it was measured."""
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "Written by `python benchmarks/run.py` (a "
            f"{kind}, {wall_s / 60:.1f} minutes). Every ratio is chatcli ÷ its reference, both "
            "measured in this run, alternating, repeated; the figures are medians and the ratio "
            "is the median of the paired ratios; the spread gives min–max of each side. Never "
            "compare a figure here with one from another run or machine.",
            "",
            f"Machine: {harness.describe(info)}.",
            "",
            harness.table(rows, markdown=True),
            "",
            BEFORE_AFTER,
        ]
    )


BEFORE_AFTER = (ROOT / "benchmarks" / "BEFORE_AFTER.md").read_text(encoding="utf-8")
"""The hand-written part of BENCHMARKS.md: what was changed for which row, before and after."""


def run_kind(args: argparse.Namespace) -> str:
    """How this run was chosen, in words."""
    kind = "quick run (`--quick`)" if args.quick else "full run"
    if args.only:
        kind = f"{'quick ' if args.quick else ''}run of {', '.join(args.only)} (`--only`)"
    return kind


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print, write; 1 if a benchmark broke (missed goals do not count)."""
    args = parse_args(argv)
    if args.entry:
        return run_entry(args.entry, args.quick, args.rows_to)
    if args.list:
        for entry in ENTRIES:
            print(f"{entry.name:<12} {'quick and full' if entry.in_quick else 'full only'}")
        return 0
    info = harness.machine()
    harness.compile_bytecode()
    started = time.perf_counter()
    rows, broke = measure(chosen(args), args.quick)
    wall_s = time.perf_counter() - started
    if args.json:
        print(harness.as_json(info, rows, wall_s))
    else:
        print(harness.describe(info))
        print(harness.table(rows))
        print(f"({wall_s:.0f} s)")
    if args.write or not (args.quick or args.only):
        (ROOT / "BENCHMARKS.md").write_text(
            markdown(info, rows, wall_s, run_kind(args)), encoding="utf-8"
        )
    return 1 if broke else 0


if __name__ == "__main__":
    sys.exit(main())
