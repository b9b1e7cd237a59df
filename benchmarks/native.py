"""Native llama.cpp for comparison: `llama-bench` built once from the llama.cpp vendored in the
installed llama-cpp-python's sdist, cached under ~/.cache/chatcli-bench (never in the repo).

    python benchmarks/native.py        # build (or find) it and print its path
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

CACHE = Path(os.environ.get("CHATCLI_BENCH_CACHE", Path.home() / ".cache" / "chatcli-bench"))
BUILD_TIMEOUT_S = 3600


@dataclass(frozen=True)
class NativeBench:
    """A built llama-bench binary."""

    binary: Path

    @staticmethod
    def find_or_build() -> NativeBench | str:
        """The cached binary, building it first if needed; else why it cannot be had."""
        release = version("llama-cpp-python")
        if _binary(release).is_file():
            return NativeBench(_binary(release))
        try:
            built = _build(release)
        except (OSError, subprocess.SubprocessError, tarfile.TarError) as error:
            return f"llama-bench could not be built: {error}"[:200]
        return NativeBench(built) if isinstance(built, Path) else built

    def tokens_per_s(self, model: Path, count: int, depth: int, threads: int) -> float:
        """Generation tokens/s of one llama-bench repetition at ``depth`` tokens of context."""
        command = [str(self.binary), "-m", str(model), "-p", "0", "-n", str(count)]
        command += ["-t", str(threads), "-fa", "0", "-r", "1", "-o", "json", "-d", str(depth)]
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
        results = json.loads(done.stdout)
        return float(results[0]["avg_ts"])

    def __str__(self) -> str:
        return str(self.binary)


def _binary(release: str) -> Path:
    """Where the build leaves llama-bench (beside the shared libraries it links)."""
    return (
        CACHE
        / f"llama_cpp_python-{release}"
        / "vendor"
        / "llama.cpp"
        / "build"
        / "bin"
        / ("llama-bench")
    )


def _build(release: str) -> Path | str:
    """Download the sdist, configure llama.cpp like the wheel (CPU, Release) and build."""
    if shutil.which("cmake") is None:
        return "cmake is not installed (pip install cmake)"
    CACHE.mkdir(parents=True, exist_ok=True)
    source = CACHE / f"llama_cpp_python-{release}"
    if not source.is_dir():
        archive = CACHE / f"llama_cpp_python-{release}.tar.gz"
        if not archive.is_file():
            pip = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps"]
            pip += [f"llama-cpp-python=={release}", "-d", str(CACHE)]
            subprocess.run(pip, check=True, capture_output=True)
        with tarfile.open(archive) as sdist:
            sdist.extractall(CACHE, filter="data")
    llama_cpp = source / "vendor" / "llama.cpp"
    build = llama_cpp / "build"
    flags = ["-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF", "-DLLAMA_OPENSSL=OFF"]
    flags += ["-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_SERVER=OFF"]
    subprocess.run(["cmake", "-S", str(llama_cpp), "-B", str(build), *flags], check=True)
    jobs = str(os.cpu_count() or 1)
    subprocess.run(
        ["cmake", "--build", str(build), "--target", "llama-bench", "-j", jobs],
        check=True,
        timeout=BUILD_TIMEOUT_S,
    )
    binary = _binary(release)
    return binary if binary.is_file() else f"no llama-bench in {binary.parent} after the build"


if __name__ == "__main__":
    print(NativeBench.find_or_build())
