"""What the machine offers the engine: CPU cores to generate with."""

from __future__ import annotations

import os
from pathlib import Path


def physical_cores() -> int:
    """Physical CPU cores this process may use (hyper-threads share a core's arithmetic units)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    logical = usable or os.cpu_count() or 1
    cores = _cores_from_cpuinfo(Path("/proc/cpuinfo"))
    return max(1, min(cores, logical)) if cores else logical


def _cores_from_cpuinfo(path: Path) -> int:
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0
    cores: set[tuple[str, str]] = set()
    physical = core = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical = value.strip()
        elif key == "core id":
            core = value.strip()
            cores.add((physical, core))
    return len(cores)
