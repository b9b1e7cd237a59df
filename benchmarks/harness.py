"""The suite's common parts: a row of the table, side-by-side pairs, the machine, the output.

Every comparison is measured in one run, alternating the two sides (A B, B A, A B, ...) so that
the machine's drift hits both alike; a row shows the medians, the median of the paired ratios
and the spread, never a figure from another run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("name", "chatcli", "reference", "ratio", "goal", "verdict", "spread", "note")


@dataclass(frozen=True)
class Goal:
    """What a row must reach: ``ratio <= 0.45``, or an absolute ``chatcli <= 0.15``."""

    op: str  # "<=" or ">=" (nothing else)
    value: float
    on: str = "ratio"  # "ratio" or "chatcli"

    def __post_init__(self) -> None:
        if self.op not in ("<=", ">="):
            raise ValueError(f"a goal is <= or >=, not {self.op}")

    def met(self, row: Row) -> bool | None:
        """Whether ``row`` reaches the goal (None when the figure is missing)."""
        figure = row.ratio if self.on == "ratio" else row.chatcli
        if figure is None:
            return None
        return figure <= self.value if self.op == "<=" else figure >= self.value

    def __str__(self) -> str:
        what = "ratio" if self.on == "ratio" else "chatcli"
        return f"{what} {self.op} {self.value:g}"


@dataclass
class Row:
    """One line of the table."""

    name: str
    chatcli: float | None
    reference: float | None
    unit: str
    ratio: float | None = None
    goal: Goal | None = None
    spread: str = ""
    note: str = ""
    chatcli_label: str = "chatcli"
    reference_label: str = ""
    skipped: str = ""
    """Why the row was not measured ("" when it was)."""
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """met / MISSED / report (no goal) / skipped."""
        if self.skipped:
            return "skipped"
        if self.goal is None:
            return "report"
        met = self.goal.met(self)
        return "n/a" if met is None else ("met" if met else "MISSED")

    def as_json(self) -> dict[str, object]:
        """The row with the table's columns (and the raw samples)."""
        return {
            "name": self.name,
            "chatcli": self.chatcli,
            "reference": self.reference,
            "ratio": self.ratio,
            "goal": str(self.goal) if self.goal else None,
            "verdict": self.verdict,
            "spread": self.spread,
            "note": self.skipped or self.note,
            "unit": self.unit,
            "chatcli_label": self.chatcli_label,
            "reference_label": self.reference_label,
            "samples": self.samples,
        }


def skipped(name: str, why: str) -> Row:
    """A row that could not be measured here, with the reason."""
    return Row(name, None, None, "", skipped=why)


@dataclass(frozen=True)
class Pair:
    """Samples of chatcli and of its reference, taken alternately in one run."""

    ours: list[float]
    theirs: list[float]

    @property
    def ratios(self) -> list[float]:
        """chatcli ÷ reference, pair by pair."""
        return [o / t for o, t in zip(self.ours, self.theirs, strict=True) if t]

    def row(self, name: str, unit: str, goal: Goal | None, reference: str, note: str = "") -> Row:
        """A table row: medians, median of the paired ratios, and the spreads."""
        ratios = self.ratios
        return Row(
            name,
            statistics.median(self.ours),
            statistics.median(self.theirs),
            unit,
            ratio=statistics.median(ratios) if ratios else None,
            goal=goal,
            spread=(
                f"ratio {spread_of(ratios, 2)}; chatcli {spread_of(self.ours)}; "
                f"ref {spread_of(self.theirs)}; n={len(self.ours)}"
            ),
            note=note,
            reference_label=reference,
            samples={"chatcli": self.ours, "reference": self.theirs},
        )


def spread_of(values: Sequence[float], digits: int | None = None) -> str:
    """``min–max`` of ``values``, in a precision that suits their size."""
    if not values:
        return "-"
    return f"{number(min(values), digits)}–{number(max(values), digits)}"


def number(value: float | None, digits: int | None = None) -> str:
    """A figure in few characters."""
    if value is None:
        return "-"
    if digits is not None:
        return f"{value:.{digits}f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) >= 0.01 else f"{value:.2g}"


def paired(ours: Callable[[], float], theirs: Callable[[], float], reps: int) -> Pair:
    """``reps`` samples of each side, alternating which side goes first."""
    mine: list[float] = []
    other: list[float] = []
    for rep in range(reps):
        if rep % 2 == 0:
            other.append(theirs())
            mine.append(ours())
        else:
            mine.append(ours())
            other.append(theirs())
    return Pair(mine, other)


def wall_time(command: Sequence[str], env: dict[str, str] | None = None) -> float:
    """Seconds a whole process takes, start to exit (its output discarded)."""
    started = time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    return time.perf_counter() - started


def chatcli_command(*args: str) -> list[str]:
    """The ``chatcli`` command line run with this interpreter."""
    return [sys.executable, "-m", "chatcli", *args]


def compile_bytecode() -> None:
    """Bring chatcli's cached bytecode up to date, as ``pip install`` does for an install.

    With PYTHONDONTWRITEBYTECODE set (it is on these machines) a working tree's edited modules
    would be compiled from source on every run, costing chatcli tenths of a second that llm
    and llama_cpp, installed with their bytecode, never pay.
    """
    import compileall

    import chatcli

    compileall.compile_dir(Path(chatcli.__file__).parent, quiet=1)


def isolated_env(home: str, **extra: str) -> dict[str, str]:
    """The environment with chatcli's (and llm's) data kept in ``home``."""
    return {**os.environ, "CHATCLI_HOME": home, "LLM_USER_PATH": f"{home}/llm", **extra}


# --- the machine ----------------------------------------------------------------------------


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    from chatcli.engine.hardware import physical_cores

    return {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "physical_cores": physical_cores(),
        "threads_used": physical_cores(),
        "memory_gib": round(_meminfo_kib("MemTotal") / (1 << 20), 1),
        "python": platform.python_version(),
        "llama_cpp_python": _llama_version(),
        "llama_cpp_build": llama_build(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _meminfo_kib(key: str) -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _llama_version() -> str:
    from importlib.metadata import version

    return version("llama-cpp-python")


def llama_build() -> str:
    """CPU, CUDA, Metal, Vulkan...: the ggml backends llama-cpp-python was built with."""
    import llama_cpp

    folder = Path(llama_cpp.__file__).parent / "lib"
    names = {p.name for p in folder.glob("*")} if folder.is_dir() else set()
    gpus = [
        label
        for label, part in (("CUDA", "cuda"), ("Metal", "metal"), ("Vulkan", "vulkan"))
        if any(part in name for name in names)
    ]
    features = llama_cpp.llama_print_system_info().decode(errors="replace")
    simd = [f for f in ("AVX512", "AVX2", "NEON") if f"{f} = 1" in features]
    return "+".join(["CPU", *gpus]) + (f" ({', '.join(simd)})" if simd else "")


# --- output ---------------------------------------------------------------------------------


def table(rows: Sequence[Row], markdown: bool = False) -> str:
    """The rows as one table (plain text, or Markdown)."""
    header = ["name", "chatcli", "reference", "ratio", "goal", "verdict", "spread"]
    lines = [[*_cells(row)] for row in rows]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    widths[-1] = len(header[-1])  # the spread goes last, unpadded
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)


def _cells(row: Row) -> list[str]:
    if row.skipped:
        return [row.name, "-", "-", "-", "-", "skipped", row.skipped]
    unit = f" {row.unit}" if row.unit else ""
    ours = number(row.chatcli) + unit
    theirs = number(row.reference) + unit if row.reference is not None else "-"
    if row.reference_label:
        theirs += f" ({row.reference_label})"
    ratio = number(row.ratio, 3) if row.ratio is not None else "-"
    spread = row.spread + (f"; {row.note}" if row.note else "")
    return [row.name, ours, theirs, ratio, str(row.goal or "-"), row.verdict, spread]


def describe(info: dict[str, object]) -> str:
    """The machine in one paragraph."""
    return (
        f"CPU {info['cpu']}: {info['logical_cpus']} logical CPUs, {info['physical_cores']} "
        f"physical cores, {info['threads_used']} threads used; {info['memory_gib']} GiB memory; "
        f"Python {info['python']}; llama-cpp-python {info['llama_cpp_python']} "
        f"({info['llama_cpp_build']}); load average {info['load_average']} at the start; "
        f"{info['date_utc']} UTC"
    )


def as_json(info: dict[str, object], rows: Sequence[Row], wall_s: float) -> str:
    """The whole run as one JSON document."""
    return json.dumps(
        {"machine": info, "wall_s": round(wall_s, 1), "rows": [r.as_json() for r in rows]},
        indent=2,
    )
