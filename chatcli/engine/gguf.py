"""A small GGUF reader: checks that a file is a complete GGUF before llama.cpp sees it.

llama.cpp answers a wrong or cut-short file with a generic load failure; reading the header
here lets chatcli say exactly what is wrong ("not a GGUF file", "truncated: 40 MB of 96 MB").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from chatcli.errors import ModelError

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# ggml tensor type id -> (bytes per block, elements per block).
_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (4, 1), 1: (2, 1), 2: (18, 32), 3: (20, 32), 6: (22, 32), 7: (24, 32),
    8: (34, 32), 9: (36, 32), 10: (84, 256), 11: (110, 256), 12: (144, 256),
    13: (176, 256), 14: (210, 256), 15: (292, 256), 16: (66, 256), 17: (74, 256),
    18: (98, 256), 19: (50, 256), 20: (18, 32), 21: (110, 256), 22: (82, 256),
    23: (136, 256), 24: (1, 1), 25: (2, 1), 26: (4, 1), 27: (8, 1), 28: (8, 1),
    29: (56, 256), 30: (2, 1), 34: (54, 256), 35: (66, 256), 39: (17, 32),
}  # fmt: skip

# GGUF metadata value type id -> struct format (scalars only).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip
_STRING, _ARRAY = 8, 9

# llama.cpp's file types (general.file_type, enum llama_ftype): the quantization of a file.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0",
}  # fmt: skip


@dataclass(frozen=True)
class GGUFInfo:
    """What the header of a GGUF file says."""

    version: int
    metadata: dict[str, Any] = field(repr=False)
    expected_size: int | None
    """Bytes the file must have to hold every tensor (None if a tensor type is unknown)."""
    parameters: int = 0
    """Weights in all its tensors."""

    @property
    def architecture(self) -> str:
        """The model's architecture (llama, qwen2, gemma2...), '' if the header has none."""
        return str(self.metadata.get("general.architecture", ""))

    @property
    def context_length(self) -> int | None:
        """The context the model was trained for, if the header says."""
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if isinstance(value, int) else None

    @property
    def quantization(self) -> str:
        """The file's quantization (Q4_K_M...), from ``general.file_type``."""
        file_type = self.metadata.get("general.file_type")
        if not isinstance(file_type, int):
            return "unknown"
        return FILE_TYPES.get(file_type, f"type {file_type}")

    @property
    def chat_template(self) -> str:
        """The chat template the file carries ('' if none)."""
        return str(self.metadata.get("tokenizer.chat_template", ""))


class _Truncated(Exception):
    pass


def inspect_gguf(path: Path) -> GGUFInfo:
    """Read and check a GGUF header; raise ModelError if the file is missing, foreign or short."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            info = _read(handle)
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except IsADirectoryError:
        raise ModelError(f"model path is a directory, not a .gguf file: {path}") from None
    except _Truncated:
        raise ModelError(f"model file is truncated (header cut short): {path}") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"model file cannot be read: {path} ({exc})") from None
    if info.expected_size is not None and size < info.expected_size:
        raise ModelError(
            f"model file is truncated: {path} has {size:,} bytes of {info.expected_size:,}"
        )
    return info


def check_magic(path: Path) -> None:
    """Cheap first check (4 bytes) so llama.cpp is never handed a missing or foreign file."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except IsADirectoryError:
        raise ModelError(f"model path is a directory, not a .gguf file: {path}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if magic != MAGIC:
        raise ModelError(f"not a GGUF model file: {path}")


def _read(handle: BinaryIO) -> GGUFInfo:
    magic = handle.read(4)
    if magic != MAGIC:
        raise ModelError(f"not a GGUF model file: {getattr(handle, 'name', '?')}")
    version, n_tensors, n_kv = _unpack(handle, "<IQQ")
    if version < 2:
        raise ModelError(f"GGUF version {version} is too old: {getattr(handle, 'name', '?')}")
    metadata = {_read_string(handle): _read_value(handle) for _ in range(n_kv)}
    tensors = [_read_tensor_info(handle) for _ in range(n_tensors)]
    alignment = int(metadata.get("general.alignment", DEFAULT_ALIGNMENT))
    if alignment <= 0:
        raise ValueError(f"invalid alignment {alignment} in header")
    data_start = -(-handle.tell() // alignment) * alignment
    ends = [offset + nbytes for offset, nbytes, _ in tensors if nbytes is not None]
    expected = data_start + max(ends, default=0) if len(ends) == len(tensors) else None
    return GGUFInfo(version, metadata, expected, sum(count for _, _, count in tensors))


def _unpack(handle: BinaryIO, fmt: str) -> tuple[Any, ...]:
    size = struct.calcsize(fmt)
    data = handle.read(size)
    if len(data) < size:
        raise _Truncated
    return struct.unpack(fmt, data)


def _read_string(handle: BinaryIO) -> str:
    (length,) = _unpack(handle, "<Q")
    if length > 1 << 28:
        raise ValueError("implausible string length in header")
    data = handle.read(length)
    if len(data) < length:
        raise _Truncated
    return data.decode("utf-8")


def _read_value(handle: BinaryIO, value_type: int | None = None) -> Any:
    if value_type is None:
        (value_type,) = _unpack(handle, "<I")
    if value_type in _SCALARS:
        return _unpack(handle, _SCALARS[value_type])[0]
    if value_type == _STRING:
        return _read_string(handle)
    if value_type == _ARRAY:
        item_type, count = _unpack(handle, "<IQ")
        return [_read_value(handle, item_type) for _ in range(count)]
    raise ValueError(f"unknown metadata type {value_type}")


def _read_tensor_info(handle: BinaryIO) -> tuple[int, int | None, int]:
    """Return (offset, size in bytes or None if the type is unknown, elements) of one tensor."""
    _read_string(handle)
    (n_dims,) = _unpack(handle, "<I")
    if n_dims > 8:
        raise ValueError("implausible tensor rank in header")
    dims = _unpack(handle, f"<{n_dims}Q")
    tensor_type, offset = _unpack(handle, "<IQ")
    elements = 1
    for dim in dims:
        elements *= dim
    block = _TYPE_SIZES.get(tensor_type)
    if block is None:
        return offset, None, elements
    block_bytes, block_elements = block
    return offset, elements // block_elements * block_bytes, elements


def trained_context(path: Path) -> int | None:
    """The context length the model was trained with (``<arch>.context_length``), if known.

    Reads only the header's keys up to that one, skipping over values, so it costs a few
    reads even on a large model. None when the file does not say (or is not a GGUF).
    """
    try:
        with path.open("rb") as handle:
            if handle.read(4) != MAGIC:
                return None
            _version, _tensors, n_kv = _unpack(handle, "<IQQ")
            for _ in range(n_kv):
                key = _read_string(handle)
                (value_type,) = _unpack(handle, "<I")
                if key.endswith(".context_length") and value_type in _INTEGERS:
                    return int(_unpack(handle, _SCALARS[value_type])[0])
                _skip_value(handle, value_type)
    except (OSError, ValueError, UnicodeDecodeError, struct.error, _Truncated):
        return None
    return None


_INTEGERS = frozenset({0, 1, 2, 3, 4, 5, 10, 11})


def _skip_value(handle: BinaryIO, value_type: int) -> None:
    if value_type in _SCALARS:
        handle.seek(struct.calcsize(_SCALARS[value_type]), 1)
    elif value_type == _STRING:
        (length,) = _unpack(handle, "<Q")
        handle.seek(length, 1)
    elif value_type == _ARRAY:
        item_type, count = _unpack(handle, "<IQ")
        if item_type in _SCALARS:
            handle.seek(count * struct.calcsize(_SCALARS[item_type]), 1)
        else:
            for _ in range(count):
                _skip_value(handle, item_type)
    else:
        raise ValueError(f"unknown metadata type {value_type}")


def check_context(path: Path, context_length: int, default: int) -> None:
    """Refuse a context larger than both the model's trained one and ``default``.

    llama.cpp would try to allocate it: a context of billions of tokens gets the process
    killed for memory instead of an error.
    """
    trained = trained_context(path)
    if trained is not None and context_length > max(trained, default):
        raise ModelError(
            f"a context of {context_length:,} tokens is more than {path.name} was trained "
            f"for ({trained:,})"
        )
