"""What this llama-cpp-python build can do: GPU offload, its backends, the CPU features it uses.

llama_cpp is imported inside the functions: ``chatcli doctor`` and the engine call them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

GPU_BACKENDS = ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL", "OpenCL", "CANN", "MUSA")
"""llama.cpp backends that run layers on a GPU, as its system info names them."""


_warned: set[str] = set()
"""Notices already given in this process (a model switch must not repeat them)."""


@dataclass(frozen=True)
class BuildInfo:
    """The llama.cpp inside llama-cpp-python, as it describes itself."""

    version: str
    """llama-cpp-python's version."""
    gpu_offload: bool
    """Whether layers can be put on a GPU (``llama_supports_gpu_offload``)."""
    backends: tuple[str, ...]
    """The backends in the build (CUDA, Metal, Vulkan..., CPU)."""
    cpu_features: tuple[str, ...] = field(default_factory=tuple)
    """The CPU features the build uses (AVX2, FMA, NEON...)."""
    system_info: str = ""
    """llama.cpp's own one-line summary."""

    @property
    def backend(self) -> str:
        """The backend layers run on: the first GPU backend in the build, else CPU."""
        gpus = [name for name in self.backends if name in GPU_BACKENDS]
        return gpus[0] if gpus and self.gpu_offload else "CPU"


def build_info() -> BuildInfo:
    """Ask llama.cpp what it was built with."""
    import llama_cpp

    text = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    sections = parse_system_info(text)
    return BuildInfo(
        version=str(llama_cpp.__version__),
        gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()),
        backends=tuple(sections),
        cpu_features=tuple(sections.get("CPU", ())),
        system_info=text,
    )


def parse_system_info(text: str) -> dict[str, list[str]]:
    """``CUDA : ARCHS = 890 | ... | CPU : SSE3 = 1 | AVX2 = 1 |`` -> backend: features on.

    A feature is listed when its value is 1 (a flag); other values (ARCHS = 890) are kept as
    ``NAME=VALUE``.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for part in (piece.strip() for piece in text.split("|")):
        if not part:
            continue
        if " : " in part:
            backend, _, part = part.partition(" : ")
            current = sections.setdefault(backend.strip(), [])
        if current is None:
            continue
        name, _, value = (item.strip() for item in part.partition("="))
        if value == "1":
            current.append(name)
        elif value and value != "0":
            current.append(f"{name}={value}")
    return sections


def offload_supported() -> bool:
    """Whether this build can put layers on a GPU."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def layers_offloaded(requested: int, model_layers: int, supported: bool) -> int:
    """How many layers llama.cpp really puts on the GPU (it counts the output layer too)."""
    if not supported or requested == 0:
        return 0
    total = model_layers + 1
    return total if requested < 0 else min(requested, total)


def cpu_only_notice(requested: int | None, supported: bool) -> str | None:
    """What to tell a user who asked for GPU layers on a build that has no GPU backend."""
    if requested is None or requested == 0 or supported:
        return None
    asked = "all layers" if requested < 0 else f"{requested} layers"
    return (
        f"--gpu-layers asked for {asked} on the GPU, but this llama-cpp-python build is CPU "
        "only: running on the CPU (see README, 'GPU offload', to build it for your GPU)"
    )


def warn_once(log: logging.Logger, notice: str | None) -> None:
    """Log ``notice`` as a warning the first time this process sees it."""
    if notice and notice not in _warned:
        _warned.add(notice)
        log.warning(notice)
