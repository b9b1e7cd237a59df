"""The benchmark suite (benchmarks/run.py): its JSON has the table's columns, and its
verdicts follow the goals. Nothing here is timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from harness import COLUMNS, Goal, Pair, Row, paired, skipped  # noqa: E402


def test_one_cheap_benchmark_prints_valid_json_with_the_tables_columns(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--only", "startup", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    report = json.loads(done.stdout)
    assert {"cpu", "physical_cores", "threads_used", "memory_gib", "llama_cpp_build"} <= set(
        report["machine"]
    )
    assert report["rows"], report
    for row in report["rows"]:
        assert set(COLUMNS) <= set(row)
        assert row["verdict"] in {"met", "MISSED", "report", "skipped", "n/a"}
        assert row["chatcli"] > 0 and row["reference"] > 0


def test_an_unknown_benchmark_name_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--only", "nosuch"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "nosuch" in done.stderr


@pytest.mark.parametrize(
    ("goal", "ratio", "verdict"),
    [
        (Goal(">=", 0.97), 0.98, "met"),
        (Goal(">=", 0.97), 0.96, "MISSED"),
        (Goal("<=", 0.45), 0.45, "met"),
        (Goal("<=", 0.45), 0.5, "MISSED"),
        (None, 0.5, "report"),
    ],
)
def test_a_rows_verdict_compares_its_ratio_with_its_goal(
    goal: Goal | None, ratio: float, verdict: str
) -> None:
    assert Row("x", 1.0, 2.0, "s", ratio=ratio, goal=goal).verdict == verdict


def test_an_absolute_goal_judges_chatclis_own_figure() -> None:
    row = Row("help", 0.12, 0.05, "s", ratio=2.4, goal=Goal("<=", 0.15, on="chatcli"))
    assert row.verdict == "met"
    assert skipped("native", "no cmake").verdict == "skipped"


def test_pairs_alternate_which_side_goes_first_and_ratio_pair_by_pair() -> None:
    calls: list[str] = []

    def ours() -> float:
        calls.append("ours")
        return 2.0 * len(calls)

    def theirs() -> float:
        calls.append("theirs")
        return 1.0 * len(calls)

    pair = paired(ours, theirs, reps=3)
    assert calls == ["theirs", "ours", "ours", "theirs", "theirs", "ours"]
    assert pair.ratios == [pytest.approx(4.0), pytest.approx(6 / 4), pytest.approx(12 / 5)]
    row = Pair([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]).row("r", "s", Goal(">=", 1.5), "ref")
    assert row.ratio == 2.0 and row.chatcli == 2.0 and "n=3" in row.spread


def test_a_benchmark_whose_process_breaks_is_reported_failed_and_the_run_goes_on() -> None:
    import run  # benchmarks/run.py: each benchmark runs in a child process of its own

    rows, ok = run.measure_in_child(run.Entry("nosuch", True, lambda quick: []), quick=True)
    assert not ok
    assert [row.verdict for row in rows] == ["skipped"]
    assert rows[0].skipped.startswith("FAILED: its process ended with status 1")
