"""What the llama.cpp build says about itself: backends, CPU features, layers on the GPU."""

from __future__ import annotations

import pytest

from chatcli.engine.llama_system import (
    BuildInfo,
    build_info,
    cpu_only_notice,
    layers_offloaded,
    parse_system_info,
)

CUDA_BUILD = (
    "CUDA : ARCHS = 890 | USE_GRAPHS = 1 | PEER_MAX_BATCH_SIZE = 128 | "
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX_VNNI = 0 | AVX2 = 1 | F16C = 1 | FMA = 1 | "
    "OPENMP = 1 | REPACK = 1 | "
)


def test_system_info_is_split_by_backend() -> None:
    sections = parse_system_info(CUDA_BUILD)

    assert list(sections) == ["CUDA", "CPU"]
    assert sections["CUDA"] == ["ARCHS=890", "USE_GRAPHS", "PEER_MAX_BATCH_SIZE=128"]
    assert sections["CPU"] == ["SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "OPENMP", "REPACK"]


@pytest.mark.parametrize(
    ("backends", "offload", "expected"),
    [
        (("CUDA", "CPU"), True, "CUDA"),
        (("Metal", "BLAS", "CPU"), True, "Metal"),
        (("Vulkan", "CPU"), False, "CPU"),  # built with it, but no device to offload to
        (("CPU",), False, "CPU"),
    ],
)
def test_the_backend_is_the_first_gpu_one_when_offload_works(
    backends: tuple[str, ...], offload: bool, expected: str
) -> None:
    assert BuildInfo("0.3.36", offload, backends).backend == expected


def test_this_machines_build_is_cpu_only_with_its_features() -> None:
    info = build_info()

    assert info.version
    assert "CPU" in info.backends
    if not info.gpu_offload:
        assert info.backend == "CPU"
    assert all(" " not in feature for feature in info.cpu_features)


@pytest.mark.parametrize(
    ("requested", "supported", "expected"),
    [(-1, True, 31), (10, True, 10), (99, True, 31), (0, True, 0), (-1, False, 0), (8, False, 0)],
)
def test_layers_offloaded_counts_the_output_layer(
    requested: int, supported: bool, expected: int
) -> None:
    assert layers_offloaded(requested, 30, supported) == expected


def test_asking_for_gpu_layers_on_a_cpu_build_gets_a_notice() -> None:
    assert cpu_only_notice(None, False) is None  # not asked: CPU is the default
    assert cpu_only_notice(0, False) is None
    assert cpu_only_notice(8, True) is None
    notice = cpu_only_notice(-1, False)
    assert notice is not None and "all layers" in notice and "\n" not in notice
    assert "8 layers" in (cpu_only_notice(8, False) or "")


def test_a_notice_is_logged_once_per_process(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from chatcli.engine.llama_system import warn_once

    log = logging.getLogger("chatcli.engine.test")
    with caplog.at_level(logging.WARNING, logger="chatcli.engine.test"):
        warn_once(log, "only once, please")
        warn_once(log, "only once, please")
        warn_once(log, None)

    assert [record.getMessage() for record in caplog.records] == ["only once, please"]
