"""Tests of CPU core detection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatcli.engine import hardware
from chatcli.engine.hardware import _cores_from_cpuinfo, physical_cores


def _cpuinfo(sockets: int, cores: int, threads: int) -> str:
    """An x86-style /proc/cpuinfo with one block per logical processor."""
    blocks = []
    processor = 0
    for thread in range(threads):
        for socket in range(sockets):
            for core in range(cores):
                blocks.append(
                    f"processor\t: {processor}\n"
                    "vendor_id\t: GenuineIntel\n"
                    "model name\t: Test CPU @ 2.00GHz\n"
                    f"physical id\t: {socket}\n"
                    f"siblings\t: {cores * threads}\n"
                    f"core id\t\t: {core}\n"
                    f"cpu cores\t: {cores}\n"
                    f"apicid\t\t: {socket * 64 + core * 2 + thread}\n"
                    "flags\t\t: fpu vme de pse\n"
                )
                processor += 1
    return "\n".join(blocks)


def test_hyper_threads_on_two_sockets_count_once(tmp_path: Path) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(_cpuinfo(sockets=2, cores=4, threads=2), encoding="ascii")

    assert path.read_text(encoding="ascii").count("processor") == 16
    assert _cores_from_cpuinfo(path) == 8


def test_same_core_id_on_different_sockets_are_different_cores(tmp_path: Path) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(_cpuinfo(sockets=2, cores=1, threads=1), encoding="ascii")

    assert _cores_from_cpuinfo(path) == 2


def test_cpuinfo_without_core_ids_gives_zero(tmp_path: Path) -> None:
    # Many ARM kernels list processors without physical/core ids.
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nBogoMIPS\t: 48.00\n\nprocessor\t: 1\n", encoding="ascii")

    assert _cores_from_cpuinfo(path) == 0


def test_missing_cpuinfo_gives_zero(tmp_path: Path) -> None:
    assert _cores_from_cpuinfo(tmp_path / "no-such-cpuinfo") == 0


def test_physical_cores_is_at_least_one() -> None:
    cores = physical_cores()

    assert isinstance(cores, int)
    assert cores >= 1
    assert cores <= (os.cpu_count() or 1)


def test_physical_cores_falls_back_to_logical_without_cpuinfo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hardware, "_cores_from_cpuinfo", lambda path: 0)
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    assert physical_cores() == logical


def test_physical_cores_never_exceed_usable_logical_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "_cores_from_cpuinfo", lambda path: 10_000)
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    assert physical_cores() == logical
