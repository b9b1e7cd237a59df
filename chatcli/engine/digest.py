"""Model file digests, remembered per (path, size, mtime) so a big file is hashed once."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from stat import S_ISREG

from chatcli import paths


def model_digest(path: Path) -> str | None:
    """sha256 of the model file, from the digest cache when the file has not changed."""
    try:
        stat = path.stat()
    except OSError:
        return None  # loading will report the missing file
    if not S_ISREG(stat.st_mode):
        return None  # a directory or device: loading reports it as a model error
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    cache_file = paths.cache_dir() / "digests.json"
    cache = _read_cache(cache_file)
    if key in cache:
        return cache[key]
    try:
        digest = file_sha256(path)
    except OSError:
        return None  # unreadable: loading reports it as a model error
    cache[key] = digest
    try:
        paths.ensure_private_dir(cache_file.parent)
        paths.write_private_file(cache_file, json.dumps(cache).encode(), temporary_suffix=".tmp")
    except OSError:
        pass  # a read-only or full cache only costs hashing again next time
    return digest


def _read_cache(cache_file: Path) -> dict[str, str]:
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a missing or damaged cache is simply rebuilt
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def file_sha256(path: Path) -> str:
    """Digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
