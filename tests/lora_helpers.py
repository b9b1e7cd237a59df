"""Small real LoRA adapters for the default model (SmolLM2-135M, llama architecture).

Written with the ``gguf`` package as llama.cpp reads them: for each adapted weight
``blk.N.attn_q.weight`` a pair ``.lora_a`` (numpy shape [rank, n_in]) and ``.lora_b``
([n_out, rank]), so that the weight acts as W + scale * alpha / rank * B @ A. The weights
are random and large enough that greedy replies change.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

N_EMBD = 576
"""The default model's embedding size (attn_q maps 576 -> 576)."""
N_LAYERS = 30


def write_lora_adapter(
    path: Path,
    *,
    seed: int = 0,
    rank: int = 8,
    alpha: float = 8.0,
    architecture: str = "llama",
    layers: range = range(N_LAYERS),
) -> Path:
    """Write a LoRA adapter GGUF on every listed layer's attn_q to ``path``; return it."""
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), arch=architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", alpha)
    for layer in layers:
        a = rng.normal(0.0, 1.0 / np.sqrt(N_EMBD), (rank, N_EMBD)).astype(np.float32)
        b = rng.normal(0.0, 1.0, (N_EMBD, rank)).astype(np.float32)
        writer.add_tensor(f"blk.{layer}.attn_q.weight.lora_a", a)
        writer.add_tensor(f"blk.{layer}.attn_q.weight.lora_b", b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
