#!/usr/bin/env bash
# chatcli on an NVIDIA GPU: build llama-cpp-python with CUDA into a venv (the wheel is cached),
# install chatcli beside it, then measure: `chatcli doctor`, `chatcli bench` with every layer on
# the GPU against none, and one `chatcli ask --gpu-layers -1 --stats`.
#
# Usage: scripts/gpu-check.sh [all|build|check]     (default: all)
#   build   venv + CUDA wheel (cached) + chatcli; the slow part (CUDA kernels compile for minutes)
#   check   the measurements, with the venv that `build` made
#
# Settings (environment):
#   GPU_CACHE        where the venv and the wheel live (default: <repo>/.gpu-cache; git ignores it)
#   LLAMA_CPP_SPEC   what to build: a pip requirement or a path to a source tree or sdist
#                    (default: llama-cpp-python==<the version installed here, else 0.3.36>)
#   CUDA_ARCHS       CMAKE_CUDA_ARCHITECTURES (default: native, i.e. the GPUs of this machine)
#   PIP_OPTIONS      extra pip options, e.g. "--no-index --find-links /wheelhouse" when offline
#   MODEL            --model for the measurements (default: chatcli's default model)
#   OUT              a folder to copy the log into (optional)
#   CHATCLI_HOME     defaults to a temporary folder: nothing of the user's is read or written
set -euo pipefail

stage="${1:-all}"
case "$stage" in
    all | build | check) ;;
    *)
        echo "usage: $0 [all|build|check]" >&2
        exit 2
        ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${GPU_CACHE:-$repo/.gpu-cache}"
venv="$cache/venv"
wheels="$cache/wheels"
log="$cache/gpu-check.log"
mkdir -p "$cache" "$wheels"
: >"$log"
keep_log() {
    if [[ -n "${OUT:-}" ]]; then
        cp "$log" "$OUT/" || true
    fi
}
trap keep_log EXIT

say() { printf '%s\n' "$*" | tee -a "$log" >&2; }
fail() {
    say "gpu-check: error: $*"
    exit 1
}

require_gpu_tools() {
    if ! command -v nvidia-smi >/dev/null 2>&1; then
        fail "nvidia-smi not found: this needs an NVIDIA GPU with its driver installed"
    fi
    if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
        export PATH="/usr/local/cuda/bin:$PATH"
    fi
    if ! command -v nvcc >/dev/null 2>&1; then
        fail "nvcc not found: install the CUDA toolkit (or put its bin/ on PATH) to build llama.cpp for CUDA"
    fi
    say "== GPU"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$log" >&2
    nvcc --version | tail -n 1 | tee -a "$log" >&2
}

default_spec() {
    local version
    version="$(python3 -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))' \
        2>/dev/null || true)"
    printf 'llama-cpp-python==%s\n' "${version:-0.3.36}"
}

build() {
    require_gpu_tools
    local spec version pip wheel started
    spec="${LLAMA_CPP_SPEC:-$(default_spec)}"
    version="*"
    if [[ "$spec" == *==* ]]; then
        version="${spec##*==}"
    fi
    read -r -a pip_options <<<"${PIP_OPTIONS:-}"
    if [[ ! -x "$venv/bin/python" ]]; then
        say "== venv $venv"
        python3 -m venv "$venv"
    fi
    pip=("$venv/bin/python" -m pip)
    # The wheel folder holds CUDA builds only: a wheel there of the wanted version will do.
    wheel="$(find "$wheels" -maxdepth 1 -name "llama_cpp_python-$version-*.whl" | sort | tail -n 1)"
    if [[ -z "$wheel" ]]; then
        say "== building $spec with CUDA (minutes: CUDA kernels compile)"
        started=$SECONDS
        if ! CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHS:-native}" \
            FORCE_CMAKE=1 CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
            "${pip[@]}" wheel --no-deps --no-binary llama-cpp-python "${pip_options[@]}" \
            --wheel-dir "$wheels" "$spec" >>"$log" 2>&1; then
            tail -n 30 "$log" >&2
            fail "the CUDA build of $spec failed (the end of pip's output is above)"
        fi
        wheel="$(find "$wheels" -maxdepth 1 -name "llama_cpp_python-$version-*.whl" | sort | tail -n 1)"
        [[ -n "$wheel" ]] || fail "the CUDA build of $spec made no wheel (see $log)"
        say "   built in $((SECONDS - started)) s: $(basename "$wheel")"
    else
        say "== cached wheel $wheel"
    fi
    say "== installing chatcli with $(basename "$wheel")"
    "${pip[@]}" install --quiet "${pip_options[@]}" --force-reinstall --no-deps "$wheel"
    "${pip[@]}" install --quiet "${pip_options[@]}" "$wheel" "$repo"
    "$venv/bin/python" -c 'import llama_cpp, sys
sys.exit(0 if llama_cpp.llama_supports_gpu_offload() else "this llama-cpp-python cannot offload to a GPU")'
}

chatcli() {
    "$venv/bin/chatcli" "$@" </dev/null
}

has_command() {
    chatcli "$1" --help >/dev/null 2>&1
}

check() {
    [[ -x "$venv/bin/chatcli" ]] || fail "no chatcli in $venv: run '$0 build' first"
    local home model stats
    home="${CHATCLI_HOME:-$(mktemp -d)}"
    export CHATCLI_HOME="$home"
    model=()
    if [[ -n "${MODEL:-}" ]]; then
        model=(--model "$MODEL")
    fi
    say "== $(chatcli --version)"
    if has_command doctor; then
        say "== chatcli doctor"
        chatcli doctor 2>&1 | tee -a "$log" >&2 || say "(doctor failed)"
    else
        say "== (this chatcli has no doctor command)"
    fi
    if has_command bench; then
        for layers in -1 0; do
            say "== chatcli bench --gpu-layers $layers"
            chatcli bench "${model[@]}" --gpu-layers "$layers" 2>&1 |
                tee -a "$log" >&2 || say "(bench failed)"
        done
    else
        say "== (this chatcli has no bench command)"
    fi
    for layers in -1 0; do
        say "== chatcli ask --gpu-layers $layers --stats"
        stats="$(chatcli ask "${model[@]}" --no-save --gpu-layers "$layers" --stats \
            --temperature 0 --seed 1 --max-tokens 256 --ignore-eos \
            "Write a long story about a lighthouse keeper." 2>&1 >/dev/null | grep '^{' || true)"
        [[ -n "$stats" ]] || fail "ask --gpu-layers $layers printed no stats"
        printf '%s\n' "$stats" | tee -a "$log" >&2
        printf '%s\n' "$stats" | "$venv/bin/python" -c 'import json, sys
print("   load {load_s} s, first token {ttft_s} s, {completion_tokens} tokens at "
      "{gen_tokens_per_s} tokens/s".format(**json.loads(sys.stdin.read())))' |
            tee -a "$log" >&2
    done
}

case "$stage" in
    build) build ;;
    check) check ;;
    all)
        build
        check
        ;;
esac
say "gpu-check: done ($log)"
